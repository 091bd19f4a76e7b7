"""Bad-input robustness of protocol and candidate files and of `cartrial protocol show` (review of decisions
§2).

House rule (briefing): bad input never produces a traceback or a silent skip; the message names the file,
line, field, value and what is allowed, and the CLI exits 2.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cartrial import examples as cartrial_examples
from cartrial.cli import main
from cartrial.errors import InputError
from cartrial.protocol import load_candidate, load_protocol, parse_protocol


@pytest.fixture
def protocol_file(examples_dir: Path) -> Path:
    return examples_dir / "ct103a-nmosd" / "protocol.yaml"


def test_utf8_bom_is_accepted_in_yaml_and_json(tmp_path: Path, examples_dir: Path) -> None:
    """Editors on Windows write a UTF-8 byte-order mark; json.loads refuses it, so it is dropped first."""
    source = examples_dir / "ct103a-nmosd" / "candidates" / "cand-02-aqp4-negative.json"
    with_bom = tmp_path / "c.json"
    with_bom.write_bytes(b"\xef\xbb\xbf" + source.read_bytes())
    assert load_candidate(with_bom).id == "SCR-002"
    protocol = tmp_path / "p.yaml"
    protocol.write_bytes(b"\xef\xbb\xbf" + (examples_dir / "ct103a-nmosd" / "protocol.yaml").read_bytes())
    assert load_protocol(protocol).study.id == "CT103A-NMOSD"


def test_non_utf8_file_names_the_line_of_the_bad_byte(tmp_path: Path) -> None:
    """A Latin-1 'é' (0xe9) on line 3 is reported at line 3 with the byte, not as a traceback."""
    file = tmp_path / "c.yaml"
    file.write_bytes(b"id: X\nsex: female\nnotes: caf\xe9\n")
    with pytest.raises(InputError) as caught:
        load_candidate(file)
    problem = caught.value.problems[0]
    assert problem.line == 3 and "0xe9" in problem.message and "UTF-8" in problem.message


def test_unclosed_bracket_names_the_line_where_it_opened() -> None:
    """PyYAML notices an unclosed flow sequence on the next line; the message also names line 2."""
    with pytest.raises(InputError) as caught:
        parse_protocol("study:\n  id: [a, b\n  title: t\n", "p.yaml")
    problem = caught.value.problems[0]
    assert "malformed YAML" in problem.message and "started at line 2" in problem.message


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan"])
def test_non_finite_numbers_are_refused(value: str) -> None:
    """YAML .inf/.nan pass `gt=0` checks in pydantic unless finite numbers are required: an infinite
    cells/kg dose would give an infinite total dose."""
    text = (
        "study: {id: T, title: t, indication: i, phase: p, sponsor: s,\n"
        "        product: {name: x, target_antigen: B}}\n"
        f"dose_levels:\n  - {{level: 1, label: a, cells_per_kg: {value}}}\n"
        "escalation: {design: '3+3', dlt_window_days: 28}\n"
        "schedule: {visits: [{name: D28, study_day: 28, assessments: [edss]}]}\n"
        "eligibility: {criteria: [{id: a, kind: inclusion, text: t, rule: {type: manual}}]}\n"
    )
    with pytest.raises(InputError) as caught:
        parse_protocol(text, "p.yaml")
    problem = caught.value.problems[0]
    assert problem.field == "dose_levels[0].cells_per_kg" and problem.line == 4
    assert "finite" in problem.message


def test_candidate_dates_must_be_dates_not_numbers(tmp_path: Path) -> None:
    """pydantic reads a number as a Unix timestamp (0 → 1970-01-01); a candidate date must be YYYY-MM-DD.
    A NaN laboratory value is refused too."""
    file = tmp_path / "c.yaml"
    file.write_text(
        "id: X\nscreening_date: 0\nrelapses:\n  - onset_date: 20240101\nlabs:\n"
        "  - {analyte: alt, value: .nan, unit: U/L}\n"
    )
    with pytest.raises(InputError) as caught:
        load_candidate(file)
    located = {(p.line, p.field) for p in caught.value.problems}
    assert located == {(2, "screening_date"), (4, "relapses[0].onset_date"), (6, "labs[0].value")}


@pytest.mark.parametrize(
    ("option", "field"),
    [(["--weight", "nan"], "--weight"), (["--bsa", "inf"], "--bsa"), (["--weight", "-5"], "--weight")],
)
def test_show_refuses_bad_numbers_without_traceback(
    capsys: pytest.CaptureFixture[str], protocol_file: Path, option: list[str], field: str
) -> None:
    """`protocol show --weight nan --json` used to end in a JSON ValueError traceback (exit 1)."""
    code = main(["protocol", "show", str(protocol_file), "--json", *option])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and field in err
    assert err.count("(got") == 1  # the value is named once


# ----------------------------------------------------------- alias expansion ("billion laughs", decisions
# §19)


def _billion_laughs(levels: int = 9, fan_out: int = 9) -> str:
    """The classic alias bomb: level k is a list of `fan_out` aliases to level k-1 (9^9 ≈ 4×10^8 values
    from 10 lines)."""
    lines = ["a0: &a0 [" + ", ".join(['"lol"'] * fan_out) + "]"]
    lines += [f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * fan_out) + "]" for k in range(1, levels)]
    lines.append(f"id: *a{levels - 1}")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_at_once_with_its_line(tmp_path: Path) -> None:
    """Before: 60–90 s and 6 GB, then a crash. Now an `InputError` at the innermost list that alone expands
    beyond 100,000 values. By hand: size(a0) = 1 + 9 = 10, size(ak) = 1 + 9·size(ak-1): a4 = 66,430,
    a5 = 597,871, so a5 (line 6) is named."""
    import time

    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_billion_laughs())
    start = time.process_time()
    for loader in (load_protocol, load_candidate):
        with pytest.raises(InputError) as caught:
            loader(bomb)
        problem = caught.value.problems[0]
        assert problem.line == 6 and "aliases" in problem.message and "100,000" in (problem.allowed or "")
    assert time.process_time() - start < 5  # far below a second each; the bound only catches a regression


def test_alias_bomb_in_the_cli_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`protocol check`, `protocol show`, `screen` and `db init` refuse it with exit 2 and no traceback."""
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_billion_laughs())
    for args in (["protocol", "check"], ["protocol", "show"]):
        assert main([*args, str(bomb)]) == 2
        assert "billion laughs" in capsys.readouterr().err
    good = cartrial_examples.path("ct103a-nmosd") / "protocol.yaml"
    assert main(["screen", str(good), str(bomb)]) == 2
    err = capsys.readouterr().err
    assert "bomb.yaml, line 6" in err and "Traceback" not in err
    database = tmp_path / "study.db"
    assert (
        main(["db", "init", "--url", f"sqlite:///{database}", "--protocol", str(bomb), "--admin", "a"]) == 2
    )
    assert "billion laughs" in capsys.readouterr().err and not database.exists()


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    """An alias inside the value it names would expand forever (a: &a [1, *a])."""
    file = tmp_path / "rec.yaml"
    file.write_text("a: &a [1, *a]\nid: *a\n")
    with pytest.raises(InputError, match="recursive"):
        load_candidate(file)


def test_ordinary_aliases_still_work(tmp_path: Path) -> None:
    """Anchors used as intended (a repeated value) are expanded as before."""
    file = tmp_path / "c.yaml"
    file.write_text("id: &who SCR-9\nnotes: *who\n")
    candidate = load_candidate(file)
    assert candidate.id == "SCR-9" and candidate.notes == "SCR-9"


def test_a_document_just_within_the_budget_is_read(tmp_path: Path) -> None:
    """The limit counts values after expansion: levels a0–a4 alone expand to 1 + 5 keys + 10 + 91 + 820 +
    7,381 + 66,430 = 74,738 values and are read; one more alias to a4 (+66,430) is refused."""
    from cartrial.protocol.yaml_source import MAX_YAML_VALUES, read_yaml

    text = _billion_laughs(levels=5).replace("id: *a4\n", "")
    data, _, problems = read_yaml(text, "ok.yaml")
    assert not problems and len(data["a4"]) == 9 and MAX_YAML_VALUES == 100_000
    with pytest.raises(InputError):
        read_yaml(text + "again: *a4\n", "bomb.yaml")


# ------------------------------------------------------------- screening candidates: bad values (decisions
# §19)


def _candidate(tmp_path: Path, body: str) -> Path:
    file = tmp_path / "cand.yaml"
    file.write_text("id: SCR-X\nscreening_date: 2024-03-15\n" + body)
    return file


def test_unknown_sex_is_a_located_error(tmp_path: Path) -> None:
    """`sex: banana` was accepted; the CDISC SEX values (in words, or F/M/U) are allowed."""
    with pytest.raises(InputError) as caught:
        load_candidate(_candidate(tmp_path, "sex: banana\n"))
    problem = caught.value.problems[0]
    assert problem.line == 3 and problem.field == "sex" and "female" in (problem.allowed or "")
    assert load_candidate(_candidate(tmp_path, "sex: F\n")).sex == "female"
    assert load_candidate(_candidate(tmp_path, "sex: Male\n")).sex == "male"


def test_negative_lab_value_is_a_located_error(tmp_path: Path) -> None:
    """A negative neutrophil count is a typing error, not a value to screen."""
    body = "labs:\n  - {analyte: neutrophils, value: -1.5, unit: 10^9/L, date: 2024-03-12}\n"
    with pytest.raises(InputError) as caught:
        load_candidate(_candidate(tmp_path, body))
    problem = caught.value.problems[0]
    assert problem.line == 4 and problem.field == "labs[0].value" and problem.value == -1.5


def test_records_dated_after_screening_are_located_errors_with_iso_dates(tmp_path: Path) -> None:
    """Labs, relapses (and every other dated record) after the candidate's screening date are refused, each
    at its line; the message shows ISO dates, never Python's `datetime.date(...)` repr."""
    body = (
        "date_of_birth: 2030-06-10\n"
        "relapses:\n  - {onset_date: 2024-01-08}\n  - {onset_date: 2024-04-01}\n"
        "edss: {score: 4.0, date: 2024-03-20}\n"
        "labs:\n  - {analyte: neutrophils, value: 2.8, unit: 10^9/L, date: 2024-03-16}\n"
    )
    with pytest.raises(InputError) as caught:
        load_candidate(_candidate(tmp_path, body))
    located = {(p.field, p.line) for p in caught.value.problems}
    assert located == {
        ("date_of_birth", 3),
        ("relapses[1].onset_date", 6),
        ("edss.date", 7),
        ("labs[0].date", 9),
    }
    text = str(caught.value)
    assert "datetime.date" not in text and "(got 2030-06-10)" in text
    # the other cell is named, never quoted: the screening date is not this record's value (D-12.2, D-19.502)
    assert "after screening_date" in text and "on or before screening_date" in text
    assert "2024-03-15" not in text and "neutrophils" not in text


def test_a_last_dose_before_the_start_names_the_start_field_not_its_date(tmp_path: Path) -> None:
    body = (
        "treatments:\n  - {agent: rituximab, therapy_classes: [anti_cd20], start_date: 2021-05-04, "
        "last_dose_date: 2021-01-02}\n"
    )
    with pytest.raises(InputError) as caught:
        load_candidate(_candidate(tmp_path, body))
    text = str(caught.value)
    assert "on or after start_date" in text and "2021-05-04" not in text


def test_screen_cli_reports_records_after_screening(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through `cartrial screen`: exit 2, located, no repr."""
    good = cartrial_examples.path("ct103a-nmosd") / "protocol.yaml"
    body = "labs:\n  - {analyte: neutrophils, value: 2.8, unit: 10^9/L, date: 2030-06-10}\n"
    assert main(["screen", str(good), str(_candidate(tmp_path, body))]) == 2
    err = capsys.readouterr().err
    assert "cand.yaml, line 4, labs[0].date" in err and "2030-06-10" in err and "datetime" not in err


def test_screening_date_option_still_screens_as_of_an_earlier_date(
    examples_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--screening-date` before the candidate's records screens as of that date (later records are not
    used, as the rules say); it is not a data error."""
    study = examples_dir / "ct103a-nmosd"
    code = main(
        [
            "screen",
            str(study / "protocol.yaml"),
            str(study / "candidates" / "cand-01-eligible.yaml"),
            "--screening-date",
            "2024-01-01",
            "--json",
        ]
    )
    assert code == 0 and '"SCR-001"' in capsys.readouterr().out


def test_problem_shows_dates_as_iso_8601() -> None:
    """`Problem.__str__` shows a date or date-time value in ISO 8601."""
    import datetime as dt

    from cartrial.errors import Problem

    assert str(Problem("late", value=dt.date(2030, 6, 10))) == "late (got 2030-06-10)"
    assert "2030-06-10T08:30:00" in str(Problem("late", value=dt.datetime(2030, 6, 10, 8, 30)))
    assert str(Problem("bad", value="x")) == "bad (got 'x')"


@pytest.mark.parametrize("born", ["0001-01-01", "1899-12-31"])
def test_a_date_of_birth_before_1900_is_a_located_error(tmp_path: Path, born: str) -> None:
    """`date_of_birth: 0001-01-01` was screened (a 2023-year-old candidate); the earliest date of birth is
    1 January 1900, the study forms' earliest birth_year (cli-audit, D-19.503)."""
    with pytest.raises(InputError) as caught:
        load_candidate(_candidate(tmp_path, f"date_of_birth: {born}\n"))
    (problem,) = caught.value.problems
    assert problem.line == 3 and problem.field == "date_of_birth"
    assert problem.allowed == "on or after 1900-01-01"
    assert load_candidate(_candidate(tmp_path, "date_of_birth: 1900-01-01\n")).date_of_birth is not None


def test_the_earliest_birth_is_the_store_birth_year_minimum() -> None:
    from cartrial.store.fields import DOMAIN_RULES

    assert DOMAIN_RULES["subject"]["birth_year"].minimum == 1900
