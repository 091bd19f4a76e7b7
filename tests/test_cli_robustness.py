"""Root CLI safety net (review sweep): files that cannot be written are user errors (exit 2, message naming
the file), never a traceback. House rule of the briefing: bad input never produces a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cartrial.cli import main
from cartrial.errors import InputError
from cartrial.tabular import write_atomic


def test_write_atomic_to_a_folder_is_an_input_error(tmp_path: Path) -> None:
    """`--out some_folder` used to end in IsADirectoryError from os.replace; nothing is left behind."""
    with pytest.raises(InputError, match="is a folder"):
        write_atomic(tmp_path, "x")
    assert list(tmp_path.iterdir()) == []


def test_write_atomic_under_a_file_is_an_input_error(tmp_path: Path) -> None:
    """A parent that is a file cannot hold the output."""
    parent = tmp_path / "afile"
    parent.write_text("x")
    with pytest.raises(InputError, match="cannot write"):
        write_atomic(parent / "out.csv", "x")


def test_demo_out_that_is_a_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`cartrial demo --out FILE` used to end in FileExistsError."""
    target = tmp_path / "afile"
    target.write_text("x")
    code = main(["demo", "--out", str(target)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "--out" in err


def test_screen_out_folder_exits_2(
    tmp_path: Path, examples_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`cartrial screen … --out FOLDER` is refused with the folder named."""
    study = examples_dir / "ct103a-nmosd"
    code = main(
        [
            "screen",
            str(study / "protocol.yaml"),
            str(study / "candidates" / "cand-01-eligible.yaml"),
            "--json",
            "--out",
            str(tmp_path),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "is a folder" in err


# ---------------------------------------------------------------------------------------------------------
# review sweep 2: inputs that ended in a traceback or were silently ignored
# ---------------------------------------------------------------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parents[1]
STUDY = REPO_ROOT / "examples" / "ct103a-nmosd" / "study"
POPFIT_DATA = REPO_ROOT / "tests" / "data" / "popfit"


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.err


def test_icaht_huge_neutrophil_value_is_a_row_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A neutrophil count of 1e308 ×10^9/L overflowed to inf in ICAHT's cells/µL and ended in ValueError
    (exit 1); it is now out of range at its row, for `grade labs` and `grade icaht` alike."""
    lines = (STUDY / "labs.csv").read_text(encoding="utf-8").splitlines()
    assert ",neutrophils,3.72," in lines[1]
    lines[1] = lines[1].replace(",neutrophils,3.72,", ",neutrophils,1e308,")
    labs = tmp_path / "labs.csv"
    labs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for args in (
        ["grade", "icaht", str(labs), "--infusion-dates", str(STUDY / "infusions.csv")],
        ["grade", "labs", str(labs)],
    ):
        code, err = _run(args, capsys)
        assert code == 2, err
        assert "row 2, value: out of range" in err and "1e308" in err, err


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["weight_kg=abc", "sex=F"], "weight_kg: not a finite number (got 'abc')"),  # was ValueError
        (["weight_kg=1e308", "sex=F"], "cmax: the covariate values put the typical value"),  # OverflowError
        (["weight_kg=nan", "sex=F"], "weight_kg: not a finite number (got 'nan')"),  # was exit 0, NaN
        (["weight_kg=inf", "sex=F"], "weight_kg: not a finite number (got 'inf')"),  # was exit 0
        (["weight_kg=60", "sex=banana"], "sex: not a level of this covariate in the fit"),  # taken as F
        (["weight_kg=60", "sex=F", "height=170"], "no effect of this covariate (got 'height')"),  # ignored
        (["weight_kg=60", "sex=F", "weight_kg=90"], "NAME given more than once"),  # the last one won
    ],
)
def test_map_covariate_values_are_checked(
    values: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["kinetics", "map", str(STUDY / "pk_samples.csv"), "--patient", "CT-001"]
    args += ["--population", str(POPFIT_DATA / "estimates_covariates.json")]
    for value in values:
        args += ["--covariate-value", value]
    code, err = _run(args, capsys)
    assert code == 2 and expected in err, err


def test_map_covariate_value_without_covariates_in_the_model(capsys: pytest.CaptureFixture[str]) -> None:
    """A model without covariate effects used to ignore --covariate-value silently."""
    args = ["kinetics", "map", str(STUDY / "pk_samples.csv"), "--patient", "CT-001"]
    args += ["--population", str(POPFIT_DATA / "estimates.json"), "--covariate-value", "weight_kg=60"]
    code, err = _run(args, capsys)
    assert code == 2 and "no effect of this covariate" in err and "none (the model has no covariate)" in err


def test_popfit_initial_value_not_a_number_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--initial cmax=abc` ended in ValueError from float()."""
    args = ["kinetics", "popfit", str(STUDY / "pk_samples.csv"), "--k1", "2", "--k2", "1", "--no-figures"]
    args += ["--out", str(tmp_path / "fit"), "--initial", "cmax=abc"]
    code, err = _run(args, capsys)
    assert code == 2 and "--initial: not a number (got 'cmax=abc')" in err, err


def _replay(decisions: Path, infusions: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    protocol = STUDY.parent / "protocol.yaml"
    args = ["escalate", "replay", "--decisions", str(decisions), "--infusions", str(infusions)]
    return _run([*args, "--protocol", str(protocol)], capsys)


def test_replay_refuses_a_subject_infused_twice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A second infusion row of CT-001 was counted as another patient: every cohort shifted and the replay
    reported 3 spurious deviations with exit 0 (grading, relapses and the neuro scores refuse the file)."""
    infusions = tmp_path / "infusions.csv"
    text = (STUDY / "infusions.csv").read_text(encoding="utf-8")
    infusions.write_text(text + "CT-001,1,2021-06-27T02:00:00Z,58.0,500000,29000000,L21-001,92\n")
    code, err = _replay(STUDY / "escalation_decisions.csv", infusions, capsys)
    assert code == 2 and "row 14, subject_id: subject infused twice in this file" in err, err


def test_replay_refuses_a_cohort_listed_twice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Was reported as a 3+3 history error of `--outcomes`, an option `escalate replay` does not have."""
    decisions = tmp_path / "decisions.csv"
    lines = (STUDY / "escalation_decisions.csv").read_text(encoding="utf-8").splitlines()
    decisions.write_text("\n".join([*lines, lines[1].replace(",escalate,", ",stay,")]) + "\n")
    code, err = _replay(decisions, STUDY / "infusions.csv", capsys)
    assert code == 2 and "row 5, cohort: cohort listed twice (got '1')" in err, err


def test_replay_errors_name_the_files_given(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`escalate replay` named the form ('infusions', 'dlts') instead of the file, and an outcome string of
    the decisions file as the option `--outcomes` without file or row; each names the path given now."""
    infusions = tmp_path / "inf.csv"
    text = (STUDY / "infusions.csv").read_text(encoding="utf-8")
    infusions.write_text(text.replace("CT-002,1,2021-05-18T02:30:00Z", "CT-002,1,notadate", 1))
    code, err = _replay(STUDY / "escalation_decisions.csv", infusions, capsys)
    assert code == 2 and f"{infusions}, row 3, infused_at: not an ISO 8601 date" in err, err
    decisions = tmp_path / "dec.csv"
    text = (STUDY / "escalation_decisions.csv").read_text(encoding="utf-8")
    decisions.write_text(text.replace(",1NNN,", ",1NXN,", 1))
    code, err = _replay(decisions, STUDY / "infusions.csv", capsys)
    assert code == 2 and f"{decisions}, row 2, outcomes: cohort 1: unknown symbol" in err, err
    assert "--outcomes" not in err
    dlts = tmp_path / "dlt.csv"
    dlts.write_text("subject_id,dlt\nCT-001,maybe\n")
    code, err = _run(
        [
            *("escalate", "replay", "--decisions", str(STUDY / "escalation_decisions.csv")),
            *("--infusions", str(STUDY / "infusions.csv"), "--dlts", str(dlts)),
            *("--protocol", str(STUDY.parent / "protocol.yaml")),
        ],
        capsys,
    )
    assert code == 2 and f"{dlts}, row 2, dlt: not true or false" in err, err
    short = tmp_path / "short.csv"  # the decisions need more patients than the infusions hold
    lines = (STUDY / "infusions.csv").read_text(encoding="utf-8").splitlines()
    short.write_text("\n".join(lines[:4]) + "\n")
    code, err = _replay(STUDY / "escalation_decisions.csv", short, capsys)
    assert code == 2 and "escalation_decisions.csv, row " in err and f"infusions remain in {short}" in err, (
        err
    )


def test_replay_refuses_a_dlt_assessment_it_cannot_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--dlts` rows the replay cannot use were dropped with exit 0 and no deviation (D-19.148): a subject
    of no infusion (a typo, `CT-01` for CT-001, left CT-001's DLT unchecked against its letter), and a
    patient with a DLT marked not DLT-evaluable (a DLT in the window makes the patient evaluable: the
    analysis never writes this pair). Each is refused at its row and field, as the other engine readers
    refuse a subject without an infusion; the good file still replays."""
    dlts = tmp_path / "dlt.csv"
    dlts.write_text("subject_id,dlt,evaluable\nCT-01,true,true\nCT-002,true,false\nCT-003,false,false\n")
    code, err = _run(
        [
            *("escalate", "replay", "--decisions", str(STUDY / "escalation_decisions.csv")),
            *("--infusions", str(STUDY / "infusions.csv"), "--dlts", str(dlts)),
            *("--protocol", str(STUDY.parent / "protocol.yaml")),
        ],
        capsys,
    )
    assert code == 2, err
    assert f"{dlts}, row 2, subject_id: subject has no infusion" in err, err
    assert f"allowed: a subject_id of {STUDY / 'infusions.csv'}" in err, err
    assert f"{dlts}, row 3, evaluable: a patient with a DLT is DLT-evaluable" in err, err
    assert "row 4" not in err  # not evaluable without a DLT: replaced (D-19.123)


def test_a_huge_cell_is_shown_shortened(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 2 MB cell was echoed whole in the one-line message (and in the API's JSON value)."""
    from cartrial.errors import Problem

    lines = (STUDY / "edss.csv").read_text(encoding="utf-8").splitlines()
    cells = lines[1].split(",")
    cells[2] = "1" * 2_000_000
    lines[1] = ",".join(cells)
    edss = tmp_path / "edss.csv"
    edss.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, err = _run(["score", "edss", str(edss)], capsys)
    assert code == 2 and "(2,000,000 characters)" in err and len(err) < 1000, err[:2000]
    problem = Problem("too long", field="x", value="y" * 5000)
    assert len(str(problem)) < 300 and len(problem.as_dict()["value"]) < 300


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--titre", "centre"], "--titre: --titre applies to the PD model only"),  # ignored, exit 0
        (["--covariates", "COVARIATES"], "--covariate: --covariates gives the values"),  # file ignored
        (["--iiv", ""], "--iiv: a comma-separated list of distinct parameter names (got '')"),  # taken as all
        (["--iiv", "cmax,cmax"], "(got 'cmax,cmax')"),  # fitted as given (and 3x slower)
    ],
)
def test_popfit_options_that_were_ignored(
    extra: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    covariates = tmp_path / "covariates.csv"
    covariates.write_text("subject_id,weight_kg\nCT-001,58\n")
    extra = [str(covariates) if e == "COVARIATES" else e for e in extra]
    args = ["kinetics", "popfit", str(STUDY / "pk_samples.csv"), "--k1", "2", "--k2", "1", "--no-figures"]
    code, err = _run([*args, "--out", str(tmp_path / "fit"), *extra], capsys)
    assert code == 2 and expected in err, err


def test_simulated_study_past_year_9999_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`simulate study --expansion-patients 100000` (inside the documented 1..100000) ran 3.5 minutes and
    ended in OverflowError (date value out of range): the calendar passed the year 9999. Checked once the
    trial calendar is known, before any row is written; a late accrual start reproduces it in seconds."""
    protocol = REPO_ROOT / "examples" / "ct103a-nmosd" / "protocol.yaml"
    scenario = tmp_path / "late.yaml"
    scenario.write_text(
        f"name: late\nprotocol: {protocol}\npool_size: 60\nfollow_up_days: 180\n"
        # the latest start (D-19.370)
        'accrual: {candidates_per_month: 0.1, start_date: "9899-12-31"}\n'
    )
    out = tmp_path / "study"
    args = ["simulate", "study", "--scenario", str(scenario), "--out", str(out)]
    args += ["--expansion-patients", "2000"]
    code, err = _run(args, capsys)
    assert code == 2 and "runs past the year 9999" in err and "expansion_patients" in err, err
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["kinetics", "simulate", "--subjects", "1.5"],
            "error: --subjects: not a whole number (got '1.5'); allowed: a whole number",
        ),
        (
            ["escalate", "table", "--design", "3+3", "--max-n", "abc"],
            "error: --max-n: not a whole number (got 'abc'); allowed: a whole number",
        ),
        (
            ["escalate", "next", "--design", "boin", "--doses", "2", "--outcomes", "1NNN", "--target", "x"],
            # the declared range of the option (its help states it), not only the type
            "error: --target: not a number (got 'x'); allowed: 0.05 to 0.6",
        ),
        # a typer min/max: the parser's "Input should be less than or equal to 65535" read as every range
        (["serve", "--port", "99999"], "error: --port: out of range (got 99999); allowed: 1 to 65535"),
        (["serve", "--port", "abc"], "error: --port: not a whole number (got 'abc'); allowed: 1 to 65535"),
        (
            ["serve", "--session-minutes", "0.5"],
            "error: --session-minutes: out of range (got 0.5); allowed: 1 to 30",
        ),
        (
            ["audit", "log", "--limit", "0"],
            "error: --limit: out of range (got 0); allowed: 1 to 100000",
        ),
    ],
)
def test_a_value_the_parser_cannot_convert_names_option_value_and_allowed(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The parser's own message ("Invalid value for '--subjects': Input should be a valid integer, unable to
    parse string as an integer") named neither the value nor what is allowed; now it reads like every other
    bad input (option, value, allowed), exit 2, with the pointer to --help."""
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2 and expected in err and "Traceback" not in err
    command = " ".join(args[: next(i for i, a in enumerate(args) if a.startswith("--"))])
    assert f"Try 'cartrial {command} --help' for help." in err


def test_an_expected_version_below_one_is_not_a_version(capsys: pytest.CaptureFixture[str]) -> None:
    """A version is ≥ 1: -1 was read as "someone changed it since you read it" (D-19.371); the option is
    read as text by the one version rule of the API and the record page (D-19.413), so it is refused by the
    command, before any database is opened, naming the option, the text typed and the range."""
    args = ["db", "edit", "--set", "a=1", "--reason", "r", "--expected-version", "-1", "infusion", "1"]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "error: --expected-version: not a version of the record (got '-1')" in err
    assert "a whole number from 1 to 1000000000" in err


def test_usage_errors_and_help_keep_their_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown option or command stays the parser's usage error (exit 2); --help and --version exit 0."""
    assert main(["grade", "crs", "--no-such-option"]) == 2
    assert "No such option" in capsys.readouterr().err
    assert main(["escalate", "nxt"]) == 2
    assert main(["grade", "crs", "--help"]) == 0
    assert main(["--version"]) == 0


def _commands_with_required_parameters() -> list[tuple[list[str], str]]:
    """(command path, first required parameter as the parser names it) of every command of the CLI."""
    import typer

    from cartrial.cli import app

    found: list[tuple[list[str], str]] = []

    def walk(command: Any, path: list[str]) -> None:
        context = command.make_context(path[-1] if path else "cartrial", [], resilient_parsing=True)
        if hasattr(command, "list_commands"):  # a group (the root's commands load on demand)
            for name in command.list_commands(context):
                if hasattr(command, "resolve_command"):
                    command.resolve_command(context, [name])
                walk(command.get_command(context, name), [*path, name])
            return
        required = [p for p in command.params if p.required]
        if required:
            label = next((o for o in required[0].opts if o.startswith("--")), required[0].name)
            found.append((path, str(label)))

    walk(typer.main.get_command(app), [])
    return found


@pytest.mark.parametrize(("path", "parameter"), _commands_with_required_parameters())
def test_a_missing_required_parameter_is_named(
    path: list[str], parameter: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A required option or argument not given: the parser's message naming it, exit 2. The rule that
    words conversion errors (`_bad_parameter`) had turned it into an empty `error: --cutoff: `, since the
    parser builds that message itself."""
    code = main(path)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    assert "Missing" in err and parameter in err, err


@pytest.mark.parametrize("text", ["20220320", "2022-W11-7", "2022-079", "2022-3-20"])
@pytest.mark.parametrize(
    "args",
    [
        ["analyse", "--cutoff"],
        ["screen", "protocol.yaml", "c.yaml", "--screening-date"],
    ],
)
def test_a_date_option_takes_only_the_form_its_help_states(
    args: list[str],
    text: str,
    example_sqlite_template: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every date option reads YYYY-MM-DD (`cartrial.columns.iso_date`): Python's `date.fromisoformat`
    had also taken the basic, week and ordinal forms (`20220320`, `2022-W11-7`, `2022-079`), which the
    help and the Python API's cut-off did not allow. (`db lock --cutoff` and `kinetics fit --cutoff` read
    the same parser, after signing in.)"""
    import shutil

    database = tmp_path / "study.db"
    shutil.copyfile(example_sqlite_template, database)
    url = ["--url", f"sqlite:///{database}"] if args[0] != "screen" else []
    code = main([*args, text, *url])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"not a date (got '{text}'); allowed: YYYY-MM-DD" in err, err


@pytest.mark.parametrize(
    "text", ["20220320", "2022-W11-7", "2022-079", "2022-3-20", "2022-02-30", "２０２２-03-20"]
)
def test_iso_date_takes_only_yyyy_mm_dd(text: str) -> None:
    from cartrial.columns import cutoff_date, iso_date

    assert iso_date("2022-03-20", "--cutoff").isoformat() == "2022-03-20"
    # a date of the form on no day of the calendar is said to be so (D-19.648; "not a date" before,
    # changed by design); every other text keeps "not a date"
    said = "not a real calendar date" if text == "2022-02-30" else "not a date"
    with pytest.raises(InputError, match=said):
        iso_date(text, "--cutoff")
    with pytest.raises(InputError, match="cutoff"):
        cutoff_date(text)


def test_a_true_probability_out_of_range_is_named_by_its_dose_level(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`escalate simulate --truth 0.1,1.5` printed the list as Python writes it: "(got [0.1, 1.5])"."""
    code, err = _run(
        ["escalate", "simulate", "--design", "boin", "--target", "0.3", "--truth", "0.1,1.5"], capsys
    )
    assert code == 2, err
    assert (
        "the true toxicity probability of dose level 2 is out of range (got 1.5); allowed: 0 to 1" in err
    ), err
    assert "[" not in err, err
