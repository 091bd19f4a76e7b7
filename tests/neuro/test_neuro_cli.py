"""`cartrial score edss|va|osis|responders` and `cartrial relapses`: output columns, bad input (exit 2,
nothing written, every bad row listed), --keep-going, and the shipped example study's consistency with the
published CT103A summary (ct103a-nmosd-trial.md §5: vision 50 %, walking 67 %, bladder 75 %, 11/12
relapse-free at median 5.5 months, cut-off 2022-03-20; eligibility relapse rule §2)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from cartrial import templates as cartrial_templates
from cartrial.columns import RowProblems
from cartrial.neuro.relapses import merge_attacks
from cartrial.neuro.tables import parse_relapse_table
from cartrial.protocol.calendar import count_events_in_window
from cartrial.tabular import read_csv

from ..conftest import run_cartrial
from ..conftest import write_file as write


class Run:
    """A CLI run as `cartrial.cli.main` reports it (a `CartrialError` is exit 2 with its message on stderr):
    `message` is everything printed, stdout then stderr."""

    def __init__(self, args: list[str]) -> None:
        result = run_cartrial(*args)
        self.stdout = result.stdout
        self.exit_code = result.exit_code
        self.message = result.output


def cli(*args: str) -> Run:
    return Run(list(args))


EDSS_HEADER = (
    "subject_id,assessed_at,visual,brainstem,pyramidal,cerebellar,sensory,bowel_bladder,cerebral,ambulation\n"
)


@pytest.fixture
def study(examples_dir: Path) -> Path:
    return examples_dir / "ct103a-nmosd" / "study"


def test_score_edss_adds_edss_and_rule(tmp_path: Path) -> None:
    """§1.9 worked illustration through the CLI: raw (3,1,2,2,1,4,1), ambulation 0 -> 4.0."""
    src = write(
        tmp_path, "e.csv", EDSS_HEADER + "S1,2021-01-01,3,1,2,2,1,4,1,0\nS1,2021-02-01,0,0,0,0,0,0,0,4\n"
    )
    result = cli(*["score", "edss", str(src)])
    assert result.exit_code == 0, result.message
    lines = result.stdout.strip().splitlines()
    assert lines[0].endswith("edss,edss_rule,edss_options")
    assert ",4.0,fs3_one_with_3plus_grade2," in lines[1]
    assert ",5.5,ambulation_ge3," in lines[2]
    # the options used are recorded on every CSV row (house rule: every output records its options)
    assert lines[1].endswith(
        "method=neurostatus_16;cerebral_grade1_as_zero=True;fs4_with_grade2_step=4.5;"
        "fs4_with_3plus_grade3_step=5.0;ambulation1_catchall_first=False;ambulation2_catchall_first=False;"
        "ambulation1_floor=2.0;preset=neurostatus_default"
    )


def test_score_edss_options_are_recorded_in_json(tmp_path: Path) -> None:
    """Option values used are recorded in every output (house rule); preset edsscalculator_r gives 4.0 for
    one FS 4 with an FS 2 (§1.10 b)."""
    src = write(tmp_path, "e.csv", EDSS_HEADER + "S1,2021-01-01,0,0,4,2,0,0,0,0\n")
    result = cli(*["score", "edss", str(src), "--json", "--preset", "edsscalculator_r"])
    payload = json.loads(result.stdout)
    assert payload["options"]["fs4_with_grade2_step"] == 4.0
    assert payload["rows"][0]["edss"] == 4.0
    default = json.loads(cli(*["score", "edss", str(src), "--json"]).stdout)
    assert default["rows"][0]["edss"] == 4.5


def test_score_edss_bad_rows_fail_and_write_nothing(tmp_path: Path) -> None:
    """FS out of range, ambulation outside 0-16, dates out of order: every bad row listed with row, column,
    value and what is allowed; exit 2; the output file is not created."""
    src = write(
        tmp_path,
        "e.csv",
        EDSS_HEADER
        + "S1,2021-03-01,7,0,0,0,0,0,0,0\n"  # row 2: visual 7
        + "S1,2021-02-01,0,0,0,0,0,0,0,0\n"  # row 3: earlier than row 2
        + "S2,2021-01-01,0,0,0,0,0,0,0,17\n",  # row 4: ambulation 17
    )
    out = tmp_path / "out.csv"
    result = cli(*["score", "edss", str(src), "--out", str(out)])
    assert result.exit_code == 2
    message = result.message
    assert not out.exists()
    assert "row 2, visual" in message and "≤ 6" in message
    assert "row 3, assessed_at" in message and "out of order" in message
    assert "row 4, ambulation" in message


def test_conflicting_duplicates_and_a_later_row_out_of_order_are_all_listed(tmp_path: Path) -> None:
    """Rows 3 and 4 give one date twice with different FS (both refused: which is right is not known); row 5
    is dated before them and is still reported out of order in the same pass (decisions D-19.18)."""
    src = write(
        tmp_path,
        "e.csv",
        EDSS_HEADER
        + "S1,2021-01-01,0,0,0,0,0,0,0,0\n"
        + "S1,2021-03-01,1,0,0,0,0,0,0,0\n"
        + "S1,2021-03-01,2,0,0,0,0,0,0,0\n"
        + "S1,2021-02-01,0,0,0,0,0,0,0,0\n",
    )
    message = cli(*["score", "edss", str(src)]).message
    assert "row 3, assessed_at: conflicts with row 4" in message
    assert "row 4, assessed_at: duplicate of row 3" in message and "differs in visual" in message
    assert "row 5, assessed_at" in message and "out of order: earlier than row 3" in message


def test_score_edss_keep_going(tmp_path: Path) -> None:
    """--keep-going scores the good rows and fills an error column for the bad ones; no row is dropped."""
    src = write(
        tmp_path, "e.csv", EDSS_HEADER + "S1,2021-01-01,0,0,1,0,0,0,0,0\nS2,2021-01-01,0,9,0,0,0,0,0,0\n"
    )
    out = tmp_path / "out.csv"
    result = cli(*["score", "edss", str(src), "--keep-going", "--out", str(out)])
    assert result.exit_code == 0, result.message
    frame = pd.read_csv(out, keep_default_na=False)
    assert len(frame) == 2
    assert frame.loc[0, "edss"] == "1.0" and frame.loc[0, "error"] == ""
    assert "brainstem" in frame.loc[1, "error"] and frame.loc[1, "edss"] == ""


def test_score_edss_cutoff(tmp_path: Path) -> None:
    """An assessment after the data cut-off is an error."""
    src = write(tmp_path, "e.csv", EDSS_HEADER + "S1,2022-04-01,0,0,0,0,0,0,0,0\n")
    result = cli(*["score", "edss", str(src), "--cutoff", "2022-03-20"])
    assert result.exit_code == 2


def test_score_edss_visual_from_acuity(tmp_path: Path) -> None:
    """A blank visual FS is derived from both eyes' acuity on that date (§1.2), and marked as derived."""
    src = write(tmp_path, "e.csv", EDSS_HEADER + "S1,2021-01-01,,0,0,0,0,0,0,0\n")
    va = write(
        tmp_path,
        "va.csv",
        "subject_id,assessed_at,eye,acuity\nS1,2021-01-01,OD,20/60\nS1,2021-01-01,OS,20/20\n",
    )
    result = cli(*["score", "edss", str(src), "--visual-acuity", str(va), "--json"])
    assert result.exit_code == 0, result.message
    row = json.loads(result.stdout)["rows"][0]
    assert row["visual"] == "3" and row["visual_source"] == "derived_from_acuity"
    assert row["edss"] == 2.0  # visual 3 -> converted 2 -> one FS 2


def test_score_va(tmp_path: Path) -> None:
    """§2.1: 20/40 -> logMAR 0.301, decimal 0.5, Snellen 20/40; unparseable acuity -> exit 2."""
    src = write(
        tmp_path, "va.csv", "subject_id,assessed_at,eye,acuity\nS1,2021-01-01,OD,6/12\nS1,2021-01-01,OS,CF\n"
    )
    result = cli(*["score", "va", str(src), "--json"])
    rows = json.loads(result.stdout)["rows"]
    assert (
        rows[0]["logmar"] == pytest.approx(0.301)
        and rows[0]["decimal"] == 0.5
        and rows[0]["snellen_20"] == "20/40"
        and rows[0]["snellen_20_denominator"] == 40.0
    )
    assert rows[1]["logmar"] is None and rows[1]["off_chart"] == "CF"
    assert rows[0]["visual_fs_from_acuity"] == 5.0  # worse eye CF
    bad = write(tmp_path, "bad.csv", "subject_id,assessed_at,eye,acuity\nS1,2021-01-01,OX,banana\n")
    result = cli(*["score", "va", str(bad)])
    assert result.exit_code == 2


def test_score_osis_range(tmp_path: Path) -> None:
    """OSIS ranges (Wingerchuk 1999): motor 0-6, sphincter 0-4."""
    header = "subject_id,assessed_at,visual_od,visual_os,motor,sensory,sphincter\n"
    ok = write(tmp_path, "o.csv", header + "S1,2021-01-01,2,0,3,1,2\n")
    assert cli(*["score", "osis", str(ok)]).exit_code == 0
    bad = write(tmp_path, "b.csv", header + "S1,2021-01-01,2,0,7,1,5\n")
    assert cli(*["score", "osis", str(bad)]).exit_code == 2


RELAPSE_HEADER = "subject_id,onset_date,phenotype,severity\n"
INFUSIONS = "subject_id,infused_at\nS1,2021-06-01T02:00:00Z\n"
SUBJECTS = "subject_id,birth_year\nS1,1980\n"


def test_relapses_bad_input(tmp_path: Path) -> None:
    """Relapse before birth, after the cut-off, unknown phenotype: exit 2 with each row located."""
    src = write(
        tmp_path,
        "r.csv",
        RELAPSE_HEADER
        + "S1,1975-01-01,myelitis,mild\nS1,2020-01-01,hiccups,mild\nS1,2022-05-01,myelitis,mild\n",
    )
    inf = write(tmp_path, "i.csv", INFUSIONS)
    subjects = write(tmp_path, "s.csv", SUBJECTS)
    result = cli(
        *[
            "relapses",
            str(src),
            "--infusion-dates",
            str(inf),
            "--subjects",
            str(subjects),
            "--cutoff",
            "2022-03-20",
        ]
    )
    assert result.exit_code == 2
    message = result.message
    assert "row 2, onset_date" in message and "before birth" in message
    assert "row 3, phenotype" in message
    assert "row 4, onset_date" in message and "cut-off" in message


def test_relapses_json(tmp_path: Path) -> None:
    """ARR before (24 months = 731 days before 2021-06-01) and after, with exact CI and KM in the JSON."""
    src = write(
        tmp_path,
        "r.csv",
        RELAPSE_HEADER + "S1,2020-01-01,myelitis,mild\nS1,2021-01-01,optic neuritis,severe\n",
    )
    inf = write(tmp_path, "i.csv", INFUSIONS)
    result = cli(*["relapses", str(src), "--infusion-dates", str(inf), "--cutoff", "2022-03-20", "--json"])
    assert result.exit_code == 0, result.message
    payload = json.loads(result.stdout)
    assert payload["pooled"]["pre"]["attacks"] == 2
    assert payload["pooled"]["pre"]["arr"] == pytest.approx(2 / (731 / 365.25))
    assert payload["pooled"]["post"]["attacks"] == 0
    assert payload["relapse_free_survival"]["relapse_free_at_last_assessment"] == 1
    assert payload["options"]["merge_window_days"] == 30


def test_relapses_csv_records_options_and_per_patient_ci(tmp_path: Path) -> None:
    """§4.3 per patient with exact Poisson CI: 2 attacks in 731 days -> limits chi2.ppf(0.025, 4)/2 = 0.2422
    and chi2.ppf(0.975, 6)/2 = 7.2247 events over 2.0014 PY; options used recorded on every CSV row."""
    src = write(
        tmp_path,
        "r.csv",
        RELAPSE_HEADER + "S1,2020-01-01,myelitis,mild\nS1,2021-01-01,optic neuritis,severe\n",
    )
    inf = write(tmp_path, "i.csv", INFUSIONS)
    args = ["relapses", str(src), "--infusion-dates", str(inf), "--cutoff", "2022-03-20"]
    result = cli(*args, "--merge-window-days", "14")
    assert result.exit_code == 0, result.message
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    py = 731 / 365.25
    assert float(rows[0]["pre_arr_ci_low"]) == pytest.approx(0.2422 / py, abs=1e-4)
    assert float(rows[0]["pre_arr_ci_high"]) == pytest.approx(7.2247 / py, abs=1e-4)
    assert "merge_window_days=14" in rows[0]["arr_options"]
    assert "pre_window_months=24" in rows[0]["arr_options"]


# --- the example study --------------------------------------------------------------------------------


def test_example_responders_reproduce_published_percentages(study: Path, tmp_path: Path) -> None:
    """Default definitions give vision 50 %, walking 67 %, bladder 75 % of evaluable (ct103a §5)."""
    out = tmp_path / "resp.csv"
    result = cli(
        *["score", "responders", "--infusions", str(study / "infusions.csv"),
          "--edss", str(study / "edss.csv"), "--va", str(study / "visual_acuity.csv"),
          "--osis", str(study / "osis.csv"), "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.message
    frame = pd.read_csv(out).set_index("definition")
    assert round(frame.loc["logmar_improved_0_2", "percent"]) == 50
    assert round(frame.loc["ambulation_score_decrease_1", "percent"]) == 67
    assert round(frame.loc["bowel_bladder_fs_decrease_1", "percent"]) == 75


def test_example_relapse_free_and_follow_up(study: Path) -> None:
    """11 of 12 relapse-free; the plain median follow-up (last EDSS visit) is the published 5.5 months,
    cut-off 2022-03-20. Decisions §12: the default is now the reverse Kaplan-Meier median (Schemper & Smith
    1996). Hand calculation (D-19.91, no deaths): the 12 follow-ups to the last EDSS visit, CT-003's to day
    245 past its relapse on day 120, are all ends of follow-up: the curve is at exactly 0.5 from the 6th of
    95, 110, 125, 140, 150, 153, 182, ... to the 7th, so the median is the midpoint (R survival, SAS;
    D-19.201) (153 + 182) / 2 = day 167.5 = 5.50 months (/ 30.4375) — the published 5.5 — and by the
    smallest rule (lifelines) day 153 = 5.03 months. With the relapse-free curve's indicator
    reversed (`relapse_free_censorings`) the relapse is censored at day 120: 95 (12 at risk) -> 11/12; 110
    (11) -> 10/12; 120 censored; 125 (9) -> 0.7407; 140 (8) -> 0.6481; 150 (7) -> 0.5556; 153 (6) -> 0.4630
    <= 0.5: also day 153."""
    args = ["relapses", str(study / "relapses.csv"), "--infusion-dates", str(study / "infusions.csv"),
            "--assessments", str(study / "edss.csv"), "--subjects", str(study / "subjects.csv"),
            "--cutoff", "2022-03-20", "--json"]  # fmt: skip
    result = cli(*args)
    assert result.exit_code == 0, result.message
    km = json.loads(result.stdout)["relapse_free_survival"]
    assert km["relapse_free_at_last_assessment"] == 11 and km["n_subjects"] == 12
    assert km["median_follow_up_method"] == "reverse_km"
    assert km["median_follow_up_days"] == 167.5
    assert round(km["median_follow_up_months"], 2) == 5.50
    smallest = json.loads(cli(*args, "--km-median", "smallest").stdout)["relapse_free_survival"]
    assert smallest["median_follow_up_days"] == 153.0
    assert round(smallest["median_follow_up_months"], 2) == 5.03
    assert round(km["observed_median_follow_up_days"] / 30.4375, 1) == 5.5
    assert km["reverse_km_events"] == "follow_up_ends" and km["n_deaths"] == 0
    reversed_ = json.loads(cli(*args, "--reverse-km-events", "relapse_free_censorings").stdout)
    assert reversed_["relapse_free_survival"]["median_follow_up_days"] == 153.0
    plain = cli(*args, "--follow-up-method", "observed_median")
    assert round(json.loads(plain.stdout)["relapse_free_survival"]["median_follow_up_months"], 1) == 5.5


def test_example_pre_treatment_histories_meet_eligibility(study: Path) -> None:
    """Eligibility (ct103a-nmosd-trial.md §2): >= 2 relapses in the 12 months before screening, or 3 in 24
    months with >= 1 in the last 12 - counted after merging and excluding non-relapses (§4.2)."""
    subjects = read_csv(study / "subjects.csv")
    consent = {r.subject_id: date.fromisoformat(r.consent_date) for r in subjects.itertuples()}
    problems = RowProblems("relapses.csv")
    records = [r for r in parse_relapse_table(read_csv(study / "relapses.csv"), problems) if r is not None]
    assert not problems
    attacks = merge_attacks(records)
    for sid, screening in consent.items():
        own = [a.onset for a in attacks if a.subject_id == sid]
        in_12 = count_events_in_window(own, screening, 12)
        in_24 = count_events_in_window(own, screening, 24)
        assert in_12 >= 2 or (in_24 >= 3 and in_12 >= 1), sid


def test_example_edss_generally_reduced_and_dates_consistent(study: Path) -> None:
    """EDSS generally reduced (press summary): most patients lower at the last visit than at baseline; every
    assessment on or before the cut-off."""
    result = cli(*["score", "edss", str(study / "edss.csv"), "--cutoff", "2022-03-20", "--json"])
    assert result.exit_code == 0, result.message
    rows = pd.DataFrame(json.loads(result.stdout)["rows"])
    first_last = rows.groupby("subject_id")["edss"].agg(["first", "last"])
    assert (first_last["last"] < first_last["first"]).sum() >= 8
    assert (first_last["last"] > first_last["first"]).sum() == 0
    assert all(
        datetime.fromisoformat(v.replace("Z", "+00:00")).date() <= date(2022, 3, 20)
        for v in rows["assessed_at"]
    )


def test_demo_writes_results(tmp_path: Path, examples_dir: Path) -> None:
    """The demo step scores the example forms and writes its results under demo-output/neuro/."""
    from rich.console import Console

    from cartrial.demo import DemoContext
    from cartrial.demo.neuro import run

    ctx = DemoContext(examples_dir, cartrial_templates.path(), tmp_path, Console(record=True))
    run(ctx)
    for name in (
        "edss_scored.csv",
        "visual_acuity_scored.csv",
        "osis_scored.csv",
        "responders.csv",
        "relapses.json",
        "responders_protocol.csv",
        "disability_change.csv",
    ):
        assert (tmp_path / "neuro" / name).exists()
    text = ctx.console.export_text()
    assert "11/12" in text
    # decisions §12: proportions under the all-infused denominator too, and the regression-to-the-mean caveat
    assert "infused" in text and "regression to the mean" in text


def test_real_process_exit_code_and_nothing_written(tmp_path: Path) -> None:
    """Through the installed entry point: bad input -> exit 2, message on stderr, no traceback, no output."""
    import subprocess
    import sys

    src = write(tmp_path, "e.csv", EDSS_HEADER + "S1,2021-01-01,0,0,0,0,0,0,0,x\n")
    out = tmp_path / "out.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "cartrial.cli", "score", "edss", str(src), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "row 2, ambulation" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_timed_walk_form(tmp_path: Path) -> None:
    """T25FW = mean of two trials (MSFC manual, Fischer 2001); 10.0 s -> 8.0 s is 20 % faster; a missing
    second trial without unable_to_walk, or a time over 180 s, is an error."""
    header = "subject_id,assessed_at,trial_1_seconds,trial_2_seconds,unable_to_walk\n"
    good = write(tmp_path, "w.csv", header + "S1,2021-05-30,9.8,10.2,false\nS1,2021-09-01,7.9,8.1,false\n")
    inf = write(tmp_path, "i.csv", INFUSIONS)
    result = cli("score", "responders", "--infusions", str(inf), "--timed-walk", str(good), "--json",
                 "--definition", "t25fw_20pct_faster")  # fmt: skip
    assert result.exit_code == 0, result.message
    row = json.loads(result.stdout)["rows"][0]
    assert (row["n_evaluable"], row["n_responders"]) == (1, 1)
    bad = write(tmp_path, "b.csv", header + "S1,2021-05-30,9.8,,false\nS1,2021-09-01,200,8,false\n")
    result = cli("score", "responders", "--infusions", str(inf), "--timed-walk", str(bad))
    assert result.exit_code == 2
    assert "row 2, trial_2_seconds" in result.message and "row 3, trial_1_seconds" in result.message


def test_bad_option_values_are_clear_errors(tmp_path: Path) -> None:
    """Unknown option values exit 2 with the allowed values, never a traceback."""
    inf = write(tmp_path, "i.csv", INFUSIONS)
    result = cli("score", "responders", "--infusions", str(inf), "--follow-up", "worst")
    assert (
        result.exit_code == 2 and "--follow-up" in result.message and "allowed: last | best" in result.message
    )
    va = write(tmp_path, "va.csv", "subject_id,assessed_at,eye,acuity\nS1,2021-01-01,OD,CF\n")
    result = cli("score", "va", str(va), "--offchart-convention", "guess")
    assert result.exit_code == 2 and "lange_2009" in result.message
    result = cli("score", "responders", "--infusions", str(inf), "--definition", "nope")
    assert result.exit_code == 2


def test_timed_walk_unable_at_follow_up_is_not_improved(tmp_path: Path) -> None:
    """A patient unable to walk at follow-up is evaluable and not improved (not treated as missing)."""
    header = "subject_id,assessed_at,trial_1_seconds,trial_2_seconds,unable_to_walk\n"
    walk = write(tmp_path, "w.csv", header + "S1,2021-05-30,9.8,10.2,false\nS1,2021-09-01,,,true\n")
    inf = write(tmp_path, "i.csv", INFUSIONS)
    result = cli("score", "responders", "--infusions", str(inf), "--timed-walk", str(walk), "--json",
                 "--definition", "t25fw_20pct_faster")  # fmt: skip
    row = json.loads(result.stdout)["rows"][0]
    assert (row["n_evaluable"], row["n_responders"]) == (1, 0)


def test_relapses_without_end_of_follow_up_warns_and_records_it(tmp_path: Path) -> None:
    """`cartrial relapses FILE --infusion-dates FILE` (the issue's invocation) runs; the end of follow-up
    it had to assume is stated, never silent."""
    src = write(
        tmp_path, "r.csv", RELAPSE_HEADER + "S1,2020-01-01,myelitis,mild\nS1,2021-09-01,myelitis,mild\n"
    )
    inf = write(tmp_path, "i.csv", INFUSIONS)
    result = cli("relapses", str(src), "--infusion-dates", str(inf), "--json")
    assert result.exit_code == 0, result.message
    payload = json.loads(result.stdout)
    assert "latest date in the data (2021-09-01)" in payload["end_of_follow_up"]
    assert payload["pooled"]["post"]["attacks"] == 1


def test_relapses_last_assessment_column_and_birth_year_in_form(tmp_path: Path) -> None:
    """A last-assessment column in the infusions form ends follow-up; a birth_year column in the relapse
    form is checked (relapse before birth -> exit 2)."""
    inf = write(tmp_path, "i.csv", "subject_id,infusion_date,last_assessed_at\nS1,2021-06-01,2021-12-01\n")
    src = write(tmp_path, "r.csv", RELAPSE_HEADER.strip() + ",birth_year\nS1,2020-01-01,myelitis,mild,1980\n")
    result = cli("relapses", str(src), "--infusion-dates", str(inf), "--json")
    assert result.exit_code == 0, result.message
    assert json.loads(result.stdout)["subjects"][0]["post_days"] == 183
    bad = write(tmp_path, "b.csv", RELAPSE_HEADER.strip() + ",birth_year\nS1,1979-01-01,myelitis,mild,1980\n")
    result = cli("relapses", str(bad), "--infusion-dates", str(inf))
    assert result.exit_code == 2 and "before birth" in result.message


def test_osis_single_visual_column(tmp_path: Path) -> None:
    """An OSIS form with one `visual` grade (worse eye) instead of per-eye grades is accepted."""
    osis = write(
        tmp_path, "o.csv", "subject_id,assessed_at,visual,motor,sensory,sphincter\nS1,2021-01-01,3,2,1,1\n"
    )
    result = cli("score", "osis", str(osis), "--json")
    assert result.exit_code == 0, result.message
    assert json.loads(result.stdout)["rows"][0]["visual_worse_eye"] == 3


def test_eye_synonyms(tmp_path: Path) -> None:
    """right/left are accepted for OD/OS (oculus dexter / sinister)."""
    src = write(
        tmp_path,
        "va.csv",
        "subject_id,assessed_at,eye,acuity\nS1,2021-01-01,right,20/20\nS1,2021-01-01,L,20/40\n",
    )
    result = cli("score", "va", str(src), "--json")
    assert result.exit_code == 0, result.message
    assert [r["visual_fs_from_acuity"] for r in json.loads(result.stdout)["rows"]] == [2.0, 2.0]


def test_score_edss_kurtzke_method(tmp_path: Path) -> None:
    """Kurtzke variant (neuro-outcomes §1.7): 150 m with bilateral aid -> 6.5 (Neurostatus would give 6.0);
    the walking rule is reported; a walking patient without a distance is an error."""
    header = "subject_id,assessed_at,visual,brainstem,pyramidal,cerebellar,sensory,bowel_bladder,cerebral,"
    src = write(
        tmp_path,
        "k.csv",
        header + "walking_distance_m,assistance\nS1,2021-01-01,0,0,3,0,0,0,0,150,bilateral\n"
        "S2,2021-01-01,0,0,1,0,0,0,0,,wheelchair_self\nS3,2021-01-01,0,0,1,0,0,0,0,600,none\n",
    )
    result = cli("score", "edss", str(src), "--method", "kurtzke", "--json")
    assert result.exit_code == 0, result.message
    payload = json.loads(result.stdout)
    rows = payload["rows"]
    assert (rows[0]["edss"], rows[0]["edss_rule"]) == (6.5, "kurtzke_gap_bilateral_over_20m")
    assert rows[1]["edss"] == 7.0 and rows[2]["edss"] == 1.0
    assert payload["method"] == "kurtzke" and payload["kurtzke_gaps"]["bilateral_over_20m_step"] == 6.5
    option = cli(
        "score", "edss", str(src), "--method", "kurtzke", "--bilateral-over-20m-step", "6.0", "--json"
    )
    assert json.loads(option.stdout)["rows"][0]["edss"] == 6.0
    bad = write(
        tmp_path, "b.csv", header + "walking_distance_m,assistance\nS1,2021-01-01,0,0,3,0,0,0,0,,none\n"
    )
    result = cli("score", "edss", str(bad), "--method", "kurtzke")
    assert result.exit_code == 2 and "walking_distance_m" in result.message


def test_kurtzke_bad_distance_reported_once_and_options_before_error(tmp_path: Path) -> None:
    """Bad input names row, column, value and what is allowed, once per problem: a negative or non-numeric
    walking distance is not also reported as "required"; with --keep-going the `error` column stays last."""
    header = "subject_id,assessed_at,visual,brainstem,pyramidal,cerebellar,sensory,bowel_bladder,cerebral,"
    src = write(
        tmp_path,
        "k.csv",
        header + "walking_distance_m,assistance\n"
        "S1,2021-01-01,0,0,3,0,0,0,0,-5,none\nS2,2021-01-01,0,0,3,0,0,0,0,abc,none\n"
        "S3,2021-01-01,0,0,3,0,0,0,0,150,bilateral\n",
    )
    result = cli("score", "edss", str(src), "--method", "kurtzke")
    assert result.exit_code == 2
    assert result.message.count("row 2, walking_distance_m") == 1
    assert result.message.count("row 3, walking_distance_m") == 1
    assert "required" not in result.message
    kept = cli("score", "edss", str(src), "--method", "kurtzke", "--keep-going")
    assert kept.exit_code == 0, kept.message
    rows = list(csv.DictReader(io.StringIO(kept.stdout)))
    assert list(rows[0])[-2:] == ["edss_options", "error"]
    assert rows[2]["edss"] == "6.5" and rows[2]["error"] == ""


def test_osis_keep_going_bad_eye_grade_leaves_worse_eye_blank(tmp_path: Path) -> None:
    """Wingerchuk 1999 Table 1 visual grade 0-7: with the right eye's grade out of range the worse eye is
    unknown, so `visual_worse_eye` is blank on that row (it was the left eye's grade), and whole grades on
    good rows."""
    osis = write(
        tmp_path,
        "o.csv",
        "subject_id,assessed_at,visual_od,visual_os,motor,sensory,sphincter\n"
        "S1,2021-01-01,8,1,2,1,1\nS2,2021-01-01,3,1,2,1,1\n",
    )
    result = cli("score", "osis", str(osis), "--keep-going")
    assert result.exit_code == 0, result.message
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0]["visual_worse_eye"] == "" and "visual_od" in rows[0]["error"]
    assert rows[1]["visual_worse_eye"] == "3"


def test_responder_definition_without_its_form_is_an_error(study: Path) -> None:
    """A definition asked for by name whose measure's form is not given is refused (exit 2, names the
    definition and the option), instead of reporting 0 of 0 subjects."""
    infusions = str(study / "infusions.csv")
    result = cli("score", "responders", "--infusions", infusions, "--definition", "t25fw_20pct_faster")
    assert result.exit_code == 2
    assert "t25fw_20pct_faster" in result.message and "--timed-walk" in result.message


def test_responders_name_subjects_assessed_but_never_infused(study: Path, tmp_path: Path) -> None:
    """A subject with EDSS rows but no infusion has no day 0 and is left out of every denominator; that was
    silent. It is now a warning on stderr and listed in the JSON (`subjects_without_infusion`)."""
    edss = (study / "edss.csv").read_text()
    extra = edss.splitlines()[1].split(",", 1)[1]
    edss_file = write(tmp_path, "edss.csv", edss.rstrip("\n") + f"\nCT-999,{extra}\n")
    result = cli("score", "responders", "--infusions", str(study / "infusions.csv"), "--edss", str(edss_file))
    assert result.exit_code == 0 and "CT-999" in result.message and "no infusion" in result.message
    as_json = cli(
        "score", "responders", "--infusions", str(study / "infusions.csv"), "--edss", str(edss_file), "--json"
    )
    assert json.loads(as_json.stdout)["subjects_without_infusion"] == ["CT-999"]


def test_va_numeric_notation_option_and_bad_notation_cell(tmp_path: Path) -> None:
    """§2.1: a bare number is read as decimal, logMAR or ETDRS letters only; --numeric-notation names those
    three when refused. A row whose own `notation` is bad is not read with the fallback notation, and the
    visual FS derived from both eyes that day (§1.2) is left blank instead of using it."""
    src = write(
        tmp_path,
        "va.csv",
        "subject_id,assessed_at,eye,acuity,notation\nS1,2021-01-01,OD,0.5,decimal\nS1,2021-01-01,OS,0.5,feet\n",
    )
    refused = cli("score", "va", str(src), "--numeric-notation", "snellen")
    assert refused.exit_code == 2
    assert (
        "--numeric-notation" in refused.message
        and "allowed: decimal | logmar | etdrs_letters" in refused.message
    )
    kept = cli("score", "va", str(src), "--numeric-notation", "logmar", "--keep-going")
    assert kept.exit_code == 0, kept.message
    rows = list(csv.DictReader(io.StringIO(kept.stdout)))
    assert rows[1]["logmar"] == "" and "notation" in rows[1]["error"]
    assert rows[0]["logmar"] == "0.301" and rows[0]["visual_fs_from_acuity"] == ""


def test_relapses_median_follow_up_not_reached_is_said_not_a_number(tmp_path: Path) -> None:
    """D-19.100: S1 infused 2021-06-01, last assessed 2021-12-01 (183 days), relapse on 2021-09-01 (day 92).
    With the relapse-free curve's indicator reversed the relapse censors its only subject: the reverse curve
    never falls to 1/2, the median follow-up is not reached (it was printed as 3.0 months, day 92)."""
    inf = write(tmp_path, "i.csv", "subject_id,infusion_date,last_assessed_at\nS1,2021-06-01,2021-12-01\n")
    src = write(tmp_path, "r.csv", RELAPSE_HEADER + "S1,2021-09-01,myelitis,mild\n")
    args = [
        "relapses",
        str(src),
        "--infusion-dates",
        str(inf),
        "--reverse-km-events",
        "relapse_free_censorings",
    ]
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.message
    km = json.loads(result.stdout)["relapse_free_survival"]
    assert km["median_follow_up_days"] is None and km["median_follow_up_reached"] is False
    assert "median follow-up not reached (reverse Kaplan-Meier; longest follow-up 183 days)" in result.message
    assert "months" not in result.message.split("relapse-free", 1)[1].split("at risk", 1)[0]


# --- relapses --adverse-events: deaths censored, follow-up ends at the death (D-19.107) -------------------

AE_HEADER = (
    "subject_id,term,meddra_code,category,started_on,ended_on,grade,grading_scale,grading_scale_version,"
    "serious,relatedness,dlt,action_taken,outcome,pathogen,infection_site\n"
)
TWO_INFUSED = "subject_id,infused_at\nS1,2021-01-01T00:00:00Z\nS2,2021-01-01T00:00:00Z\n"
# S1 has a record on day 30 although they died on day 10 (impossible data, queried by the store)
LAST_SEEN = "subject_id,assessed_at\nS1,2021-01-31T00:00:00Z\nS2,2021-03-02T00:00:00Z\n"


def _follow_up(tmp_path: Path, *extra: str) -> dict[str, object]:
    src = write(tmp_path, "r.csv", RELAPSE_HEADER)
    inf = write(tmp_path, "i.csv", TWO_INFUSED)
    seen = write(tmp_path, "seen.csv", LAST_SEEN)
    result = cli(
        "relapses", str(src), "--infusion-dates", str(inf), "--assessments", str(seen), "--cutoff",
        "2021-06-30", "--json", *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.message
    return dict(json.loads(result.stdout)["relapse_free_survival"])


def test_relapses_adverse_events_censor_a_death_and_end_its_follow_up(tmp_path: Path) -> None:
    """S1 and S2 infused 2021-01-01, last seen on days 30 and 60; S1 died on day 10 (a fatal adverse event,
    grade 5, ended 2021-01-11). Reverse Kaplan-Meier of the ends of follow-up (Schemper & Smith 1996), by
    hand. Without the deaths: ends at days 30 and 60 both events; S(30) = 1 - 1/2 = 0.5 up to day 60 ->
    median 45 days (the midpoint, D-19.201).
    With them: S1's follow-up ends at the death, day 10 (the day-30 record is not a contact, D-19.94), and
    is censored there (D-19.90); S2's end at day 60 is the one event, 1 at risk: S(60) = 0 -> median 60."""
    without = _follow_up(tmp_path)
    assert without["median_follow_up_days"] == 45 and without["n_deaths"] == 0
    fatal = write(
        tmp_path,
        "ae.csv",
        AE_HEADER + "S1,Cardiac arrest,,non_hematologic,2021-01-10,2021-01-11,5,CTCAE,5.0,true,unrelated,"
        "false,,fatal,,\n"
        "S2,Nausea,,non_hematologic,2021-01-05,2021-01-06,1,CTCAE,5.0,false,unrelated,false,,recovered,,\n",
    )
    with_deaths = _follow_up(tmp_path, "--adverse-events", str(fatal))
    assert with_deaths["median_follow_up_days"] == 60 and with_deaths["n_deaths"] == 1
    assert with_deaths["longest_follow_up_days"] == 60
    # the relapse-free curve too: S1 is censored at the death (day 10), not at the record after it (day 30)
    censored = {row["time_days"]: row["censored"] for row in with_deaths["table"]}  # type: ignore[attr-defined]
    assert censored.get(10) == 1 and 30 not in censored
    censored = {row["time_days"]: row["censored"] for row in without["table"]}  # type: ignore[attr-defined]
    assert censored.get(30) == 1 and 10 not in censored


def test_relapses_adverse_events_bad_input_is_located(tmp_path: Path) -> None:
    """A bad adverse-events file: exit 2 naming the file, row and field, never the value."""
    src = write(tmp_path, "r.csv", RELAPSE_HEADER)
    inf = write(tmp_path, "i.csv", TWO_INFUSED)
    bad = write(
        tmp_path,
        "ae.csv",
        AE_HEADER
        + "S1,Cardiac arrest,,non_hematologic,2021-13-45,,5,CTCAE,5.0,true,unrelated,false,,fatal,,\n",
    )
    result = cli("relapses", str(src), "--infusion-dates", str(inf), "--cutoff", "2021-06-30",
                 "--adverse-events", str(bad))  # fmt: skip
    assert result.exit_code == 2
    assert "ae.csv" in result.message and "row 2" in result.message and "started_on" in result.message
    # the value only as the command line shows Problem.value, "(got …)", never in the message itself
    assert "2021-13-45" not in result.message.replace("(got '2021-13-45')", "")
    missing = write(tmp_path, "ae2.csv", "subject_id,term\nS1,Cardiac arrest\n")
    result = cli("relapses", str(src), "--infusion-dates", str(inf), "--cutoff", "2021-06-30",
                 "--adverse-events", str(missing))  # fmt: skip
    assert result.exit_code == 2 and "ae2.csv" in result.message and "started_on" in result.message


# --- relapses --subjects: the disposition ends the follow-up, a death of the form is a death (D-19.133) -----

THREE_INFUSED = (
    "subject_id,infused_at\nS1,2021-01-01T00:00:00Z\nS2,2021-01-01T00:00:00Z\nS3,2021-01-01T00:00:00Z\n"
)
# S1 is seen on day 90 after a withdrawal on day 30, S2 on day 60 after a death on day 40 (records the store
# queries: RECORD-AFTER-END-OF-STUDY, RECORD-AFTER-DEATH); S3 is on study, last seen on day 120
THREE_SEEN = (
    "subject_id,assessed_at\nS1,2021-04-01T00:00:00Z\nS2,2021-03-02T00:00:00Z\nS3,2021-05-01T00:00:00Z\n"
)
# S1 relapses on day 60 (after the withdrawal), S3 on day 100
THREE_RELAPSES = RELAPSE_HEADER + "S1,2021-03-02,myelitis,severe\nS3,2021-04-11,optic_neuritis,mild\n"
DISPOSED = (
    "subject_id,birth_year,disposition,disposition_date\n"
    "S1,1980,withdrawn: moved abroad,2021-01-31\nS2,1975,death,2021-02-10\nS3,1990,ongoing,\n"
)


def _disposed(tmp_path: Path, subjects: str, *extra: str) -> Run:
    src = write(tmp_path, "r.csv", THREE_RELAPSES)
    inf = write(tmp_path, "i.csv", THREE_INFUSED)
    seen = write(tmp_path, "seen.csv", THREE_SEEN)
    people = write(tmp_path, "subjects.csv", subjects)
    return cli(
        "relapses", str(src), "--infusion-dates", str(inf), "--assessments", str(seen), "--cutoff",
        "2021-06-30", "--subjects", str(people), "--json", *extra,
    )  # fmt: skip


def test_relapses_subjects_disposition_ends_the_follow_up(tmp_path: Path) -> None:
    """Three infused 2021-01-01. S1 withdrawn on 2021-01-31 (day 30), seen on day 90; S2 dead per the form
    on 2021-02-10 (day 40), no adverse-events file, seen on day 60; S3 ongoing, seen on day 120. By hand, as
    `cartrial analyse` reads the same records (`populations.last_contact`: the last contact capped at the
    dated end of study, D-19.110; the form's death censored in the reverse Kaplan-Meier, D-19.112):
    follow-up S1 30 days (its day-60 relapse is after the end, not counted), S2 40, S3 120 (one relapse on
    day 100). Post-infusion exposure 30 + 40 + 120 = 190 days; pooled post ARR 1 / (190 / 365.25) =
    1.9224 attacks/year. Reverse Kaplan-Meier of the ends: day 30 an end (3 at risk, S = 2/3), day 40 the
    death censored, day 120 an end (1 at risk, S = 0): median 120 days, n_deaths 1. Before D-19.133 the
    form was ignored: 90 + 60 + 120 days, S1's relapse counted, median 90 (S = 1/3 at day 90), no death."""
    result = _disposed(tmp_path, DISPOSED)
    assert result.exit_code == 0, result.message
    payload = json.loads(result.stdout)
    rows = {row["subject_id"]: row for row in payload["subjects"]}
    assert {sid: rows[sid]["post_days"] for sid in rows} == {"S1": 30, "S2": 40, "S3": 120}
    assert {sid: rows[sid]["post_attacks"] for sid in rows} == {"S1": 0, "S2": 0, "S3": 1}
    post = payload["pooled"]["post"]
    assert post["attacks"] == 1
    assert post["patient_years"] == round(190 / 365.25, 4)
    assert post["arr"] == pytest.approx(365.25 / 190)
    km = payload["relapse_free_survival"]
    assert km["n_deaths"] == 1
    assert km["reverse_km_median_follow_up_days"] == 120 and km["median_follow_up_days"] == 120
    censored = {row["time_days"]: row["censored"] for row in km["table"]}
    assert censored.get(30) == 1 and censored.get(40) == 1 and 90 not in censored and 60 not in censored


def test_relapses_subjects_without_disposition_is_unchanged(tmp_path: Path) -> None:
    """The same records with a subjects file of birth years only: nobody's study ended, follow-up to the
    last record (90, 60, 120 days; S1's day-60 relapse counted), no death, median 90 days (by hand: S(60)
    = 2/3, S(90) = 1/3)."""
    result = _disposed(tmp_path, "subject_id,birth_year\nS1,1980\nS2,1975\nS3,1990\n")
    assert result.exit_code == 0, result.message
    payload = json.loads(result.stdout)
    rows = {row["subject_id"]: row for row in payload["subjects"]}
    assert {sid: rows[sid]["post_days"] for sid in rows} == {"S1": 90, "S2": 60, "S3": 120}
    km = payload["relapse_free_survival"]
    assert km["n_deaths"] == 0 and km["median_follow_up_days"] == 90


def test_relapses_subjects_disposition_joins_the_adverse_events_deaths(tmp_path: Path) -> None:
    """With an adverse-events file: S3's fatal event on day 50 (2021-02-20) is a death too (its follow-up
    ends there, censored); S1, withdrawn on day 30 and dead of an adverse event on day 50, keeps the
    withdrawal as its end and is not a death for the median (a dated end before the death is the end,
    `ended_before_death`, D-19.112). By hand: ends S1 30 (an end, 3 at risk, S = 2/3), S2 40 censored, S3 50
    censored: the curve never reaches 0.5, median not reached, n_deaths 2; longest follow-up 50 days."""
    fatal = write(
        tmp_path,
        "ae.csv",
        AE_HEADER + "S3,Cardiac arrest,,non_hematologic,2021-02-19,2021-02-20,5,CTCAE,5.0,true,unrelated,"
        "false,,fatal,,\n"
        "S1,Sepsis,,infection,2021-02-15,2021-02-20,5,CTCAE,5.0,true,unrelated,false,,fatal,,\n",
    )
    result = _disposed(tmp_path, DISPOSED, "--adverse-events", str(fatal))
    assert result.exit_code == 0, result.message
    payload = json.loads(result.stdout)
    rows = {row["subject_id"]: row for row in payload["subjects"]}
    assert {sid: rows[sid]["post_days"] for sid in rows} == {"S1": 30, "S2": 40, "S3": 50}
    km = payload["relapse_free_survival"]
    assert km["n_deaths"] == 2
    assert km["median_follow_up_days"] is None and km["longest_follow_up_days"] == 50


HEADER = "subject_id,birth_year,disposition,disposition_date\n"
OTHERS = "S2,1975,,\nS3,1990,,\n"


@pytest.mark.parametrize(
    ("subjects", "field"),
    [
        # outside the vocabulary (the field's pattern)
        (f"{HEADER}S1,1980,left the study,2021-01-31\n{OTHERS}", "disposition"),
        # an end of study without its date (DISPOSITION-UNDATED)
        (f"{HEADER}S1,1980,withdrawn,\n{OTHERS}", "disposition_date"),
        # not a date
        (f"{HEADER}S1,1980,withdrawn,2021-02-30\n{OTHERS}", "disposition_date"),
        # a date while ongoing (DISPOSITION-DATE-WITHOUT-END), the disposition column absent
        ("subject_id,birth_year,disposition_date\nS1,1980,2021-01-31\nS2,1975,\nS3,1990,\n",
         "disposition_date"),
    ],
)  # fmt: skip
def test_relapses_subjects_disposition_is_checked_by_the_field_rules(
    tmp_path: Path, subjects: str, field: str
) -> None:
    """The disposition columns are checked by the store's field and record rules, as the import checks
    them: exit 2 naming the file, row and field, never the value in the message."""
    result = _disposed(tmp_path, subjects)
    assert result.exit_code == 2, result.message
    assert "subjects.csv" in result.message and "row 2" in result.message and field in result.message
    for value in ("left the study", "2021-02-30", "2021-01-31"):
        assert value not in result.message.replace(f"(got '{value}')", "")


def test_relapses_subjects_disposition_agrees_with_the_analysis(tmp_path: Path) -> None:
    """The command and `cartrial analyse`'s relapse datasets (`analysis.efficacy.relapse_datasets`, default
    follow-up to the last contact) on the same records give the same follow-up, exposure, attacks and median
    follow-up (the values by hand in `test_relapses_subjects_disposition_ends_the_follow_up`)."""
    from types import SimpleNamespace

    from cartrial.analysis.efficacy import relapse_datasets
    from cartrial.analysis.model import Population
    from cartrial.analysis.populations import CONTACT_COLUMNS, SAFETY

    def frame(text: str) -> pd.DataFrame:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)

    infusions = frame(THREE_INFUSED)
    infusions["dose_level"] = "1"
    seen = frame(THREE_SEEN)
    tables = {name: pd.DataFrame({"subject_id": [], column: []}) for name, column in CONTACT_COLUMNS.items()}
    tables |= {
        "edss": seen,
        "infusions": infusions,
        "subjects": frame(DISPOSED),
        "relapses": frame(THREE_RELAPSES),
        "adverse_events": frame(AE_HEADER),
    }
    ids = ("S1", "S2", "S3")
    datasets, _ = relapse_datasets(
        tables, SimpleNamespace(endpoints={}), date(2021, 6, 30), {SAFETY: Population(SAFETY, "infused", ids)}
    )
    analysed = datasets["relapses_by_subject"].table.set_index("subject_id")
    result = _disposed(tmp_path, DISPOSED)
    assert result.exit_code == 0, result.message
    payload = json.loads(result.stdout)
    command = pd.DataFrame(payload["subjects"]).set_index("subject_id")
    for column in ("post_days", "post_attacks", "pre_attacks"):
        assert command[column].tolist() == analysed.loc[list(ids), column].tolist(), column
    assert command["post_days"].tolist() == [30, 40, 120]
    # the same median follow-up text (120 days = 3.9 months), from the same reverse Kaplan-Meier
    (note,) = datasets["relapse_free_km"].notes
    assert payload["relapse_free_survival"]["median_follow_up"] in note
    assert payload["relapse_free_survival"]["median_follow_up_days"] == 120


def test_relapses_after_the_last_contact_agree_with_the_analysis(tmp_path: Path) -> None:
    """A relapse after the last contact (D-19.587), the command and `cartrial analyse` on the same records,
    both handing the engine `populations.study_ends`. Infused 2021-01-01. S1 withdrawn 2021-01-31 (day 30),
    last seen day 20, relapse on day 60, after the end: not on study, follow-up 20 days, 0 attacks (the old
    engine reached the withdrawal, 30 days). S3 ongoing, last seen day 120 (2021-05-01), relapses on day 100
    and day 150 (2021-05-31, before the cut-off 2021-06-30): followed to day 150, 2 attacks. S2 dead on day
    40 (the form), seen day 10: 10 days. The note counts 1 subject followed past the last contact. An end
    of study without its date is refused by the command (`test_relapses_subjects_disposition_is_checked`);
    `analyse` ends such a follow-up at the last contact
    (`tests/analysis/test_relapse_after_last_contact.py`)."""
    from types import SimpleNamespace

    from cartrial.analysis.efficacy import relapse_datasets
    from cartrial.analysis.model import Population
    from cartrial.analysis.populations import CONTACT_COLUMNS, SAFETY

    seen_text = (
        "subject_id,assessed_at\nS1,2021-01-21T00:00:00Z\nS2,2021-01-11T00:00:00Z\nS3,2021-05-01T00:00:00Z\n"
    )
    relapses_text = RELAPSE_HEADER + (
        "S1,2021-03-02,myelitis,severe\nS3,2021-04-11,optic_neuritis,mild\nS3,2021-05-31,myelitis,severe\n"
    )

    def frame(text: str) -> pd.DataFrame:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)

    infusions = frame(THREE_INFUSED)
    infusions["dose_level"] = "1"
    tables = {name: pd.DataFrame({"subject_id": [], column: []}) for name, column in CONTACT_COLUMNS.items()}
    tables |= {
        "edss": frame(seen_text),
        "infusions": infusions,
        "subjects": frame(DISPOSED),
        "relapses": frame(relapses_text),
        "adverse_events": frame(AE_HEADER),
    }
    ids = ("S1", "S2", "S3")
    datasets, _ = relapse_datasets(
        tables, SimpleNamespace(endpoints={}), date(2021, 6, 30), {SAFETY: Population(SAFETY, "infused", ids)}
    )
    analysed = datasets["relapses_by_subject"].table.set_index("subject_id")
    src = write(tmp_path, "r.csv", relapses_text)
    inf = write(tmp_path, "i.csv", THREE_INFUSED)
    seen = write(tmp_path, "seen.csv", seen_text)
    people = write(tmp_path, "subjects.csv", DISPOSED)
    result = cli(
        "relapses", str(src), "--infusion-dates", str(inf), "--assessments", str(seen), "--cutoff",
        "2021-06-30", "--subjects", str(people), "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.message
    payload = json.loads(result.stdout)
    command = pd.DataFrame(payload["subjects"]).set_index("subject_id")
    assert command["post_days"].tolist() == [20, 10, 150]
    assert command["post_attacks"].tolist() == [0, 0, 2]
    for column in ("post_days", "post_attacks", "pre_attacks"):
        assert command[column].tolist() == analysed.loc[list(ids), column].tolist(), column
    (note,) = datasets["relapses_by_subject"].notes
    assert note.startswith("follow-up extended past the last assessment to a later relapse onset: 1 subject")
    assert note in payload["notes"]
    assert f"note: {note}" in result.message  # said on stderr too


_EDSS_HEADER = (
    "subject_id,assessed_at,visual,brainstem,pyramidal,cerebellar,sensory,bowel_bladder,cerebral,ambulation\n"
)


def test_responders_with_an_infusion_after_today_is_a_located_error(tmp_path: Path) -> None:
    """An infusion dated 9999-01-01 made every assessment a baseline: 0 evaluable subjects, exit 0, no
    word. An infusion after today cannot have happened: exit 2 at its file, row and field (cli-audit,
    D-19.504)."""
    infusions = write(tmp_path, "inf.csv", "subject_id,infused_at\nS1,2021-03-01\nS2,9999-01-01\n")
    edss = write(
        tmp_path,
        "edss.csv",
        _EDSS_HEADER + "S1,2021-02-20,0,0,3,0,0,2,0,2\nS1,2021-09-01,0,0,2,0,0,1,0,1\n"
        "S2,2021-02-20,0,0,3,0,0,2,0,2\n",
    )
    run = cli("score", "responders", "--infusions", str(infusions), "--edss", str(edss))
    assert run.exit_code == 2
    assert "inf.csv, row 3, infused_at" in run.message and "an infusion cannot be after today" in run.message


def test_responders_with_no_evaluable_subject_says_why_per_subject(tmp_path: Path) -> None:
    """No follow-up after the infusion for any subject: still a result (0 evaluable), but stderr and the
    JSON say so, naming each subject and the reason, without their values (cli-audit, D-19.504)."""
    infusions = write(tmp_path, "inf.csv", "subject_id,infused_at\nS1,2021-03-01\nS2,2021-03-01\n")
    edss = write(
        tmp_path,
        "edss.csv",
        _EDSS_HEADER + "S1,2021-02-20,0,0,3,0,0,2,0,2\nS2,2021-03-20,0,0,3,0,0,2,0,2\n",
    )
    args = ("score", "responders", "--infusions", str(infusions), "--edss", str(edss))
    args += ("--definition", "bowel_bladder_fs_decrease_1")
    run = cli(*args)
    assert run.exit_code == 0
    assert "no subject is evaluable for bowel_bladder_fs_decrease_1" in run.message
    assert "no assessment after the infusion: S1" in run.message
    assert "no assessment on or before the infusion (no baseline): S2" in run.message
    payload = json.loads(cli(*args, "--json").stdout)
    (warning,) = payload["warnings"]
    assert "S1" in warning and "S2" in warning


def test_va_notation_column_may_state_the_acuitys_own_notation(tmp_path: Path) -> None:
    """`score va` writes the notation of each acuity (snellen_20, snellen_6, off_chart, …) into `notation`,
    which is also the input's hint for bare numbers: a scored file was refused on the next run ("unknown
    category (got 'snellen_20')"; attackcli review L1, D-19.580). A notation the acuity states itself is
    accepted when it agrees with the acuity, refused at its row when it does not."""
    good = write(
        tmp_path,
        "good.csv",
        "subject_id,assessed_at,eye,acuity,notation\nS1,2021-01-01,OD,20/40,snellen_20\n"
        "S1,2021-01-01,OS,CF,off_chart\nS2,2021-01-01,OD,6/12,snellen_6\nS2,2021-01-01,OS,0.5,decimal\n",
    )
    scored = cli("score", "va", str(good))
    assert scored.exit_code == 0, scored.message
    rows = list(csv.DictReader(io.StringIO(scored.stdout)))
    assert [r["notation"] for r in rows] == ["snellen_20", "off_chart", "snellen_6", "decimal"]
    assert [r["logmar"] for r in rows[::2]] == ["0.301", "0.301"]  # 20/40 = 6/12 = logMAR log10(2)
    bad = write(
        tmp_path,
        "bad.csv",
        "subject_id,assessed_at,eye,acuity,notation\nS1,2021-01-01,OD,20/40,snellen_6\n"
        "S1,2021-01-01,OS,20/40,\n",
    )
    refused = cli("score", "va", str(bad))
    assert refused.exit_code == 2
    assert (
        "row 2, notation: does not match the acuity (got 'snellen_6'); allowed: blank, or the notation the "
        "acuity states itself (20/x: snellen_20; 6/x: snellen_6; CF/HM/LP/NLP: off_chart)"
    ) in refused.message
    assert "row 3" not in refused.message
    # the allowed text is fixed: it is never derived from the acuity read from the file (D-12.2)
    assert "(snellen_20)" not in refused.message


def test_relapses_leaves_out_a_subject_infused_after_the_cutoff_as_the_analysis_does(tmp_path: Path) -> None:
    """S4 is infused on 2021-07-15, after the 2021-06-30 cut-off, with a relapse and a visit before it. The
    study snapshot leaves that infusion out, so `cartrial analyse` has no S4 in its relapse datasets; the
    command leaves S4 out with their relapse, naming them in a warning, and gives the other three subjects
    the analysis' values (attackcli review M2, D-19.577)."""
    from types import SimpleNamespace

    from cartrial.analysis.efficacy import relapse_datasets
    from cartrial.analysis.model import Population
    from cartrial.analysis.populations import CONTACT_COLUMNS, SAFETY

    def frame(text: str) -> pd.DataFrame:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)

    late_infusion = "S4,2021-07-15T00:00:00Z\n"
    late_relapse = "S4,2021-03-01,myelitis,severe\n"
    late_visit = "S4,2021-05-01T00:00:00Z\n"
    subjects = DISPOSED + "S4,1985,ongoing,\n"
    infusions = frame(THREE_INFUSED)  # as the snapshot gives it: S4's infusion is after the cut-off
    infusions["dose_level"] = "1"
    tables = {name: pd.DataFrame({"subject_id": [], column: []}) for name, column in CONTACT_COLUMNS.items()}
    tables |= {
        "edss": frame(THREE_SEEN + late_visit),
        "infusions": infusions,
        "subjects": frame(subjects),
        "relapses": frame(THREE_RELAPSES + late_relapse),
        "adverse_events": frame(AE_HEADER),
    }
    ids = ("S1", "S2", "S3")
    datasets, _ = relapse_datasets(
        tables, SimpleNamespace(endpoints={}), date(2021, 6, 30), {SAFETY: Population(SAFETY, "infused", ids)}
    )
    analysed = datasets["relapses_by_subject"].table.set_index("subject_id")
    assert sorted(analysed.index) == list(ids)
    src = write(tmp_path, "r.csv", THREE_RELAPSES + late_relapse)
    inf = write(tmp_path, "i.csv", THREE_INFUSED + late_infusion)
    seen = write(tmp_path, "seen.csv", THREE_SEEN + late_visit)
    people = write(tmp_path, "subjects.csv", subjects)
    result = cli(
        "relapses", str(src), "--infusion-dates", str(inf), "--assessments", str(seen), "--cutoff",
        "2021-06-30", "--subjects", str(people), "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.message
    assert "infused after the data cut-off 2021-06-30" in result.message and ": S4" in result.message
    command = pd.DataFrame(json.loads(result.stdout)["subjects"]).set_index("subject_id")
    assert list(command.index) == list(ids)
    for column in ("post_days", "post_attacks", "pre_attacks"):
        assert command[column].tolist() == analysed.loc[list(ids), column].tolist(), column
    assert command["post_days"].tolist() == [30, 40, 120]  # as without S4 (the test above, by hand)


_MIXED_HEADER = (
    "subject_id,assessed_at,visual,brainstem,pyramidal,cerebellar,sensory,bowel_bladder,cerebral,ambulation,"
    "walking_distance_m,assistance,method\n"
)


def test_score_edss_scores_each_row_by_its_own_method(tmp_path: Path) -> None:
    """D-19.746: without --method each row is scored by its own ``method`` cell (blank or no column:
    Neurostatus). Hand: pyramidal 2, sensory 1, Kurtzke unilateral aid 50 m is the gap "unilateral aid,
    < 100 m" (Kurtzke 1983 gives 6.0 for about 100 m; default gap step 6.5, neuro-outcomes §1.7) -> 6.5;
    Neurostatus ambulation 3 (>= 200 and < 300 m) -> 5.0 (§1.6). Before: the default --method neurostatus_16
    scored the Kurtzke row from its ambulation cell (2.0, exit 0) and a mixed file was refused."""
    k = write(tmp_path, "k.csv", _MIXED_HEADER + "S1,2021-06-01,0,0,2,0,1,0,0,1,50,unilateral,kurtzke\n")
    result = cli("score", "edss", str(k), "--json")
    assert result.exit_code == 0, result.message
    assert [r["edss"] for r in json.loads(result.stdout)["rows"]] == [6.5]
    mixed = write(
        tmp_path,
        "mixed.csv",
        _MIXED_HEADER + "S1,2021-03-01,0,0,2,0,1,0,0,3,,,NEUROSTATUS_16\n"
        "S1,2021-06-01,0,0,2,0,1,0,0,,50,unilateral,kurtzke\n",
    )
    result = cli("score", "edss", str(mixed), "--json")
    assert result.exit_code == 0, result.message
    assert [r["edss"] for r in json.loads(result.stdout)["rows"]] == [5.0, 6.5]


def test_score_edss_method_option_disagreeing_with_a_row_is_refused(tmp_path: Path) -> None:
    """D-19.746: --method given and a non-blank ``method`` cell saying another method: exit 2 naming the
    file, row and field (the user's own cell shown), nothing written; a blank cell follows --method."""
    k = write(
        tmp_path,
        "k.csv",
        _MIXED_HEADER + "S1,2021-06-01,0,0,2,0,1,0,0,1,50,unilateral,kurtzke\n"
        "S2,2021-06-01,0,0,2,0,1,0,0,1,,,\n",
    )
    out = tmp_path / "out.csv"
    result = cli("score", "edss", str(k), "--method", "neurostatus_16", "--out", str(out))
    assert result.exit_code == 2
    assert "k.csv" in result.message and "row 2, method" in result.message
    assert "row 3" not in result.message
    assert not out.exists()
    both = write(
        tmp_path,
        "both.csv",
        _MIXED_HEADER + "S1,2021-06-01,0,0,2,0,1,0,0,1,50,unilateral,kurtzke\n"
        "S2,2021-06-01,0,0,2,0,1,0,0,1,100,unilateral,\n",
    )
    agreeing = cli("score", "edss", str(both), "--method", "kurtzke", "--json")
    assert agreeing.exit_code == 0, agreeing.message
    # unilateral aid about 100 m is Kurtzke 6.0 (1983); the FS step 2.0 is lower
    assert [r["edss"] for r in json.loads(agreeing.stdout)["rows"]] == [6.5, 6.0]


def test_score_edss_without_a_method_column_stays_neurostatus(tmp_path: Path) -> None:
    """Backward compatible (D-19.746): no ``method`` column -> every row Neurostatus; ambulation 3 -> 5.0
    (§1.6), and the ambulation column is still required."""
    header = "subject_id,assessed_at,visual,brainstem,pyramidal,cerebellar,sensory,bowel_bladder,cerebral"
    src = write(tmp_path, "n.csv", header + ",ambulation\nS1,2021-06-01,0,0,2,0,1,0,0,3\n")
    result = cli("score", "edss", str(src), "--json")
    assert result.exit_code == 0, result.message
    assert [r["edss"] for r in json.loads(result.stdout)["rows"]] == [5.0]
    bare = write(tmp_path, "bare.csv", header + "\nS1,2021-06-01,0,0,2,0,1,0,0\n")
    missing = cli("score", "edss", str(bare))
    assert missing.exit_code == 2 and "ambulation" in missing.message


def test_responders_with_no_evaluable_subject_name_the_engines_reason(tmp_path: Path) -> None:
    """The warning of a definition no subject is evaluable for names each subject's reason. It was guessed
    from the shown values: a walk time on day -9, 19 days after an attack onset, is not the baseline
    (--baseline-visit outside_relapse, D-19.896), and the warning said "no assessment on or before the
    infusion (no baseline)" — the subject has one; the engine's reason is that it is during an attack. The
    warning now reads the engine's reason, still without the subject's values (D-19.1135)."""
    infusions = write(tmp_path, "inf.csv", "subject_id,infused_at\nS1,2021-03-01\n")
    walk = write(
        tmp_path,
        "walk.csv",
        "subject_id,assessed_at,trial_1_seconds,trial_2_seconds\nS1,2021-02-20,10.5,10.5\n"
        "S1,2021-06-01,6.25,6.25\n",
    )
    relapses = write(
        tmp_path, "rel.csv", "subject_id,onset_date,phenotype,severity\nS1,2021-02-01,myelitis,severe\n"
    )
    args = ("score", "responders", "--infusions", str(infusions), "--timed-walk", str(walk))
    args += ("--relapses", str(relapses), "--definition", "t25fw_20pct_faster")
    run = cli(*args)
    assert run.exit_code == 0
    assert "no subject is evaluable for t25fw_20pct_faster" in run.message
    assert "no assessment on or before the infusion" not in run.message
    assert "baseline only during an attack" in run.message and ": S1" in run.message
    assert "10.5" not in run.message and "6.25" not in run.message  # value-free (D-12.2)
    # the same walk with the last value whatever its timing: evaluable (a 40 % faster walk)
    assert cli(*args, "--baseline-visit", "last").exit_code == 0


def test_responders_warning_on_an_undecided_kurtzke_ambulation_names_it(tmp_path: Path) -> None:
    """Neurostatus ambulation 1, then a Kurtzke visit walking 600 m without aid: score 0 or 1 (§1.6), a fall
    of 1 under one reading only, so not evaluable (D-19.1006). The "0 or 1" follow-up is shown blank, and
    the warning said "no assessment after the infusion"; it now names the undecided reading (D-19.1135)."""
    infusions = write(tmp_path, "inf.csv", "subject_id,infused_at\nC,2021-01-02\n")
    edss = write(
        tmp_path,
        "edss.csv",
        "subject_id,assessed_at,visual,brainstem,pyramidal,cerebellar,sensory,bowel_bladder,cerebral,"
        "ambulation,walking_distance_m,assistance,method\n"
        "C,2021-01-01,0,0,3,0,0,0,0,1,,,neurostatus_16\nC,2021-04-01,0,0,3,0,0,0,0,,600,none,kurtzke\n",
    )
    run = cli(
        "score", "responders", "--infusions", str(infusions), "--edss", str(edss),
        "--definition", "ambulation_score_decrease_1",
    )  # fmt: skip
    assert run.exit_code == 0
    assert "no assessment after the infusion" not in run.message
    assert "0 or 1" in run.message and ": C" in run.message


def test_relapses_summary_line_rounds_as_the_report_does(tmp_path: Path) -> None:
    """The summary line of `cartrial relapses` wrote its ARR with Python's format (a tie to the even digit on
    the binary value), the report's finding with the one rounding of reported numbers, a tie half away from
    zero (D-19.189). Two patients followed 1461 days each (2021-01-01 to the cut-off 2025-01-01), one
    attack after the infusion: ARR = 1 / (2922 / 365.25) = 1 / 8 = 0.125 exactly (hand), which the line
    wrote "0.12" and the report "0.13". The line now reads "0.13" (D-19.1137)."""
    infusions = write(tmp_path, "inf.csv", "subject_id,infused_at\nS1,2021-01-01\nS2,2021-01-01\n")
    relapses = write(
        tmp_path, "rel.csv", "subject_id,onset_date,phenotype,severity\nS1,2022-06-01,myelitis,severe\n"
    )
    run = cli("relapses", str(relapses), "--infusion-dates", str(infusions), "--cutoff", "2025-01-01")
    assert run.exit_code == 0
    assert "after 0.13 (" in run.message and "1 attacks / 8.00 PY" in run.message


def test_the_demo_neuro_cells_round_as_the_report_does() -> None:
    """The demo's ARR and percent cells rounded with Python's format (a tie to the even digit): an ARR of
    1 / 8 = 0.125 read "0.12" and 1 responder of 8 (12.5 %) "12%", where the report writes 0.13 and 13 %
    (the one rounding, half away from zero; D-19.189, D-19.1137). Hand values: 0.125 -> 0.13, 12.5 -> 13."""
    from cartrial.demo.neuro import _percent, _rate_cell
    from cartrial.neuro.relapses import RateEstimate

    assert _percent(12.5) == "13%" and _percent(None) == "n/a"
    cell = _rate_cell(RateEstimate(1, 8.0, 0.125, 0.003125, 0.625))
    assert cell == "0.13 (95% CI 0.00-0.63)"
    # the responder line the demo prints (ResponderSummary.label): 1 of 8 evaluable
    from cartrial.neuro.responders import responder_rate

    measures = {f"S{i}": ({"bowel_bladder": 2}, {"bowel_bladder": 1 if i == 0 else 2}) for i in range(8)}
    assert responder_rate("bowel_bladder_fs_decrease_1", measures).label().startswith("1/8 evaluable (13%)")
