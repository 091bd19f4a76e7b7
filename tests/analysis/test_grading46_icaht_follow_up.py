"""The analysis passes each subject's follow-up to early ICAHT (D-19.717; grading46 review).

Example study at the cut-off 2021-09-01 (infusions.csv), neutrophils replaced by hand:
- CT-004 (infused 2021-07-13, alive and on study, followed to day 50): 0.3 × 10^9/L = 300/µL daily on days
  0-10, no later count. The grader published with the consensus (emilyliangmd/automatedicahtgrading,
  index.Rmd) builds days 0-30 (followed past day 30); days 11-30 are 20 > 7 missing days, left missing by
  `na.approx(maxgap = 7)`: 11 days ≤ 500/µL, grade 2 (7-13 days), not never recovered (the exceedance ends on
  day 10, not the grid's last day 30). A lower bound: "≥ 2". Reading the last count as the end (no follow-up
  passed) gives 4.
- CT-003 (infused 2021-06-08): 300/µL daily on days 0-10 and a fatal adverse event on 2021-06-19 (day 11):
  follow-up ends on day 11; the grid is days 0-11, day 11 (1 missing day ≤ 7) filled with 300: the
  exceedance days 0-11 starts on day 0 and ends on the grid's last row: grade 4, not a lower bound.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd

from cartrial.analysis import analyse
from cartrial.analysis.toxicity import icaht_grade_text
from cartrial.store.snapshot import read_snapshot

CUTOFF = dt.date(2021, 9, 1)


def _daily(subject: str, first: dt.date, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject_id": subject,
            "analyte": "neutrophils",
            "collected_at": [f"{first + dt.timedelta(days=k)}T07:00:00Z" for k in range(n)],
            "value": "0.3",
            "unit": "10^9/L",
            "lln": "1.8",
        }
    )


def _analysis(example_sqlite: str, cutoff: dt.date = CUTOFF) -> pd.DataFrame:
    snapshot = read_snapshot(example_sqlite, cutoff)
    labs = snapshot.tables["labs"]
    neutrophils = labs["subject_id"].isin(["CT-003", "CT-004"]) & (labs["analyte"] == "neutrophils")
    labs = pd.concat(
        [
            labs[~neutrophils],
            _daily("CT-003", dt.date(2021, 6, 8), 11),
            _daily("CT-004", dt.date(2021, 7, 13), 11),
        ],
        ignore_index=True,
    ).fillna("")
    events = snapshot.tables["adverse_events"]
    death = {column: "" for column in events.columns} | {
        "subject_id": "CT-003",
        "term": "Death NOS",
        "category": "death",
        "started_on": "2021-06-19",
        "ended_on": "2021-06-19",
        "grade": "5",
        "grading_scale": "CTCAE",
        "grading_scale_version": "5.0",
        "serious": "true",
        "relatedness": "unlikely",
        "dlt": "false",
        "outcome": "fatal",
        "record_id": "999999",
    }
    events = pd.concat([events, pd.DataFrame([death])], ignore_index=True)
    tables = {**snapshot.tables, "labs": labs, "adverse_events": events}
    return analyse(dataclasses.replace(snapshot, tables=tables))


def test_labs_stopping_in_a_followed_subject_and_a_death_after_the_last_count(example_sqlite: str) -> None:
    analysis = _analysis(example_sqlite)
    followed = analysis.datasets["populations"].table.set_index("subject_id")["follow_up_days"]
    assert int(followed["CT-004"]) == 50 and int(followed["CT-003"]) == 11
    table = analysis.datasets["icaht"].table.set_index("subject_id")
    assert int(table.loc["CT-004", "early_icaht_grade"]) == 2
    assert bool(table.loc["CT-004", "early_icaht_lower_bound"])
    assert icaht_grade_text(table.loc["CT-004"].to_dict(), "early_icaht_grade") == "≥ 2"
    assert int(table.loc["CT-003", "early_icaht_grade"]) == 4
    assert not bool(table.loc["CT-003", "early_icaht_lower_bound"])
    finding = next(f for f in analysis.findings if f.statement.startswith("Early ICAHT"))
    assert "CT-004 (≥ 2)" in finding.statement
    # CT-001-CT-004 followed to day 30 (CT-005, CT-006 pending); only CT-003 (4) is ≥ 3; CT-004's bound 2 is
    # named, not counted as ≥ 3
    assert "in 1 of 4 " in finding.statement
    assert "CT-003" not in finding.statement.split("lower bound")[-1]
    assert "early_icaht_lower_bound" in analysis.datasets["icaht"].columns


def test_the_report_table_shows_an_early_lower_bound_as_at_least() -> None:
    from cartrial.analysis.toxicity import icaht_shown
    from cartrial.report.render import ICAHT_GRADE_NOTE

    frame = pd.DataFrame(
        {
            "subject_id": ["S1", "S2"],
            "early_icaht_grade": pd.array([2, 3], dtype="Int64"),
            "early_icaht_pending": [False, False],
            "early_icaht_lower_bound": [True, False],
        }
    )
    shown = icaht_shown(frame)
    assert list(shown["early_icaht_grade"]) == ["≥ 2", "3"]
    assert "early_icaht_lower_bound" not in shown  # folded into the grade cell, kept in the CSV
    assert "early_icaht_lower_bound" in ICAHT_GRADE_NOTE


def test_a_pending_subject_is_not_a_lower_bound(example_sqlite: str) -> None:
    # cut-off 2021-08-02: CT-004 (infused 2021-07-13) is followed to day 20 < 30, pending; its counts (days
    # 0-10, then 10 > 7 unknown days to day 20) alone would flag a lower bound, but a pending grade is blank
    # and its flag false (D-19.719)
    analysis = _analysis(example_sqlite, dt.date(2021, 8, 2))
    table = analysis.datasets["icaht"].table.set_index("subject_id")
    assert bool(table.loc["CT-004", "early_icaht_pending"])
    assert pd.isna(table.loc["CT-004", "early_icaht_grade"])
    assert not bool(table.loc["CT-004", "early_icaht_lower_bound"])
    finding = next(f for f in analysis.findings if f.statement.startswith("Early ICAHT"))
    assert "lower bound" not in finding.statement


def test_without_follow_up_days_the_method_note_says_the_last_count_ends_follow_up(
    example_sqlite: str,
) -> None:
    from cartrial.analysis.safety import graded_icaht

    tables = read_snapshot(example_sqlite, CUTOFF).tables
    without = graded_icaht(tables)
    assert any(n.startswith("method: no follow-up days") for n in without.notes)
    with_days = graded_icaht(tables, {"CT-001": 100})
    assert not any(n.startswith("method: no follow-up days") for n in with_days.notes)
