"""An early ICAHT grade needs the early window (days 0-30) observed, or a follow-up that ended (D-19.188).

The grader's rule "an ANC <= 500/µL episode starting by day 3 and lasting to the end of follow-up is grade 4"
(toxicity-grading.md §5.1) read the data cut-off as the end of follow-up. At a cut-off of 2021-09-01 the
example's CT-006 (infused 2021-08-24, infusions.csv) has counts to day 7, below 500/µL from day 3 (labs.csv):
it was graded early ICAHT 4 "without recovery", and the finding said "Early ICAHT grade ≥ 3 occurred in 1 of
6" — at the README cut-off, with its whole window, CT-006 is not grade ≥ 3 (0 of 12). Its neutrophils had not
failed to recover: they had not been followed long enough to tell.

By hand from infusions.csv: at 2021-09-01 CT-001..CT-004 have followed day 30 (days 127, 106, 85, 50), CT-005
(day 29) and CT-006 (day 8) have not: their early grades are pending, blank, and the finding's denominator
is 4, naming them. A subject whose follow-up ended inside the window (a death) keeps the grade.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cartrial.analysis import analyse
from cartrial.store.snapshot import read_snapshot

from .conftest import rows

INTERIM = dt.date(2021, 9, 1)


def _followed_days() -> dict[str, int]:
    return {
        r["subject_id"]: (INTERIM - dt.date.fromisoformat(r["infused_at"][:10])).days
        for r in rows("infusions")
        if r["infused_at"][:10] <= INTERIM.isoformat()
    }


def test_an_incomplete_early_window_is_pending_not_graded(example_sqlite: str) -> None:
    analysis = analyse(read_snapshot(example_sqlite, INTERIM))
    days = _followed_days()
    pending = sorted(s for s, d in days.items() if d < 30)
    assert pending == ["CT-005", "CT-006"]
    table = analysis.datasets["icaht"].table.set_index("subject_id")
    for subject, followed in days.items():
        assert bool(table.loc[subject, "early_icaht_pending"]) == (followed < 30)
        if followed < 30:
            assert pd.isna(table.loc[subject, "early_icaht_grade"])
            assert pd.isna(table.loc[subject, "t_early_grade"])
            assert "not complete at the cut-off" in table.loc[subject, "early_icaht_rule"]
        else:
            assert not pd.isna(table.loc[subject, "early_icaht_grade"])
    finding = next(f for f in analysis.findings if f.statement.startswith("Early ICAHT"))
    assert finding.denominator == len(days) - len(pending)
    assert finding.numerator == int((table["early_icaht_grade"].fillna(0) >= 3).sum())
    assert "CT-005, CT-006" in finding.statement


def test_a_death_inside_the_window_keeps_the_grade(example_sqlite: str) -> None:
    """CT-006 dies on day 7 (a fatal adverse event, added in the store): its follow-up ended, so the
    grader's never-recovered rule applies to it as written."""
    from cartrial.store import StudyService, connect

    service = StudyService(connect(example_sqlite))
    death = {
        "subject_id": "CT-006",
        "term": "Death NOS",
        "category": "death",
        "started_on": dt.date(2021, 8, 31),
        "ended_on": dt.date(2021, 8, 31),
        "grade": 5,
        "grading_scale": "CTCAE",
        "grading_scale_version": "5.0",
        "serious": True,
        "relatedness": "unlikely",
        "dlt": False,
        "outcome": "fatal",
    }
    service.insert_record("admin", "adverse_event", death, "source check")
    service.engine.dispose()
    analysis = analyse(read_snapshot(example_sqlite, INTERIM))
    table = analysis.datasets["icaht"].table.set_index("subject_id")
    assert not bool(table.loc["CT-006", "early_icaht_pending"])
    assert table.loc["CT-006", "early_icaht_grade"] == 4
