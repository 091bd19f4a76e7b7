"""A late ICAHT grade needs the late window (days 31-100) observed, or a follow-up that ended (D-19.230).

Late ICAHT (EHA/EBMT 2023, toxicity-grading.md §5.2) is the grade of the `late_min_values`-th lowest ANC of
days 31-100. At an interim cut-off the analysis graded the counts seen so far as if the window were complete:
at 2021-11-01 the example's CT-006 (infused 2021-08-24, infusions.csv; day 69) has one late count, 1.30 on
2021-10-23 (labs.csv), and was graded late ICAHT 0 ("only 1 ANC on days 31-100"); its second late count
(1.40 on 2021-11-22, day 90) makes it grade 1 at the README cut-off. CT-007 (day 34), with no late count yet,
read "not gradable". More counts can only lower the k-th lowest, so the grade of the counts seen is a lower
bound: reported as `late_icaht_at_least` while the window is open.

By hand from infusions.csv at 2021-11-01: CT-001..CT-004 have followed day 100 (days 188, 167, 146, 111);
CT-005..CT-009 have not (days 90, 69, 34, 20, 6).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.analysis import Analysis, analyse
from cartrial.grading.icaht import grade_icaht, grade_t_icaht
from cartrial.store.snapshot import read_snapshot

from .conftest import rows

INTERIM = dt.date(2021, 11, 1)
SECOND_COUNT = dt.date(2021, 11, 25)  # CT-006 day 93: both late counts seen, window still open


def _followed_days(cutoff: dt.date) -> dict[str, int]:
    return {
        r["subject_id"]: (cutoff - dt.date.fromisoformat(r["infused_at"][:10])).days
        for r in rows("infusions")
        if r["infused_at"][:10] <= cutoff.isoformat()
    }


def test_an_incomplete_late_window_is_pending_not_graded(example_sqlite: str) -> None:
    table = analyse(read_snapshot(example_sqlite, INTERIM)).datasets["icaht"].table.set_index("subject_id")
    days = _followed_days(INTERIM)
    pending = sorted(s for s, d in days.items() if d < 100)
    assert pending == ["CT-005", "CT-006", "CT-007", "CT-008", "CT-009"]
    for subject, followed in days.items():
        assert bool(table.loc[subject, "late_icaht_pending"]) == (followed < 100)
        if followed < 100:
            assert pd.isna(table.loc[subject, "late_icaht_grade"])
            assert pd.isna(table.loc[subject, "t_late_grade"])
            assert (
                "late window (days 31-100) not complete at the cut-off"
                in table.loc[subject, "late_icaht_rule"]
            )
            assert "not complete at the cut-off" in table.loc[subject, "t_late_reason"]
        else:
            assert not pd.isna(table.loc[subject, "late_icaht_grade"])
    # one late count of CT-006 (1300/µL): no grade reached yet, not "grade 0"
    assert pd.isna(table.loc["CT-006", "late_icaht_at_least"])


def test_a_grade_reached_in_an_open_window_is_a_lower_bound(example_sqlite: str, analysis: Analysis) -> None:
    """`analysis`: the example's default analysis at CUTOFF (conftest.py)."""
    interim = analyse(read_snapshot(example_sqlite, SECOND_COUNT)).datasets["icaht"].table
    final = analysis.datasets["icaht"].table
    interim, final = interim.set_index("subject_id"), final.set_index("subject_id")
    assert bool(interim.loc["CT-006", "late_icaht_pending"])
    assert pd.isna(interim.loc["CT-006", "late_icaht_grade"])
    # two counts <= 1500/µL on days 60 and 90 (labs.csv): grade >= 1 already, and the final grade is 1
    assert interim.loc["CT-006", "late_icaht_at_least"] == 1
    assert "at least grade 1" in interim.loc["CT-006", "late_icaht_rule"]
    assert final.loc["CT-006", "late_icaht_grade"] >= interim.loc["CT-006", "late_icaht_at_least"]
    assert not final["late_icaht_pending"].any()
    assert final["late_icaht_at_least"].isna().all()  # complete windows: the grade itself


def test_a_death_inside_the_late_window_keeps_the_grade(example_sqlite: str) -> None:
    """CT-006 dies on 2021-11-24 (day 92), after both late counts: its follow-up ended, graded as seen."""
    from cartrial.store import StudyService, connect

    service = StudyService(connect(example_sqlite))
    death = {
        "subject_id": "CT-006",
        "term": "Death NOS",
        "category": "death",
        "started_on": dt.date(2021, 11, 24),
        "ended_on": dt.date(2021, 11, 24),
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
    table = (
        analyse(read_snapshot(example_sqlite, SECOND_COUNT)).datasets["icaht"].table.set_index("subject_id")
    )
    assert not bool(table.loc["CT-006", "late_icaht_pending"])
    assert table.loc["CT-006", "late_icaht_grade"] == 1


late_series = st.lists(
    st.tuples(st.integers(min_value=31, max_value=100), st.floats(min_value=0, max_value=3000)),
    min_size=1,
    max_size=12,
)


@settings(max_examples=property_examples(80), deadline=None)
@given(series=late_series, cut=st.integers(min_value=31, max_value=100), k=st.sampled_from([1, 2]))
def test_the_late_grade_of_a_partial_window_never_exceeds_the_complete_one(
    series: list[tuple[int, float]], cut: int, k: int
) -> None:
    """Property behind `late_icaht_at_least`: the late ICAHT and T-ICAHT grades of the counts up to any day
    are at most those of the whole window (more counts lower the k-th lowest value and add days below)."""
    from cartrial.grading.icaht import IcahtOptions

    options = IcahtOptions(late_min_values=k)
    days = [d for d, _ in series]
    values = [v for _, v in series]
    part = [(d, v) for d, v in series if d <= cut]
    whole_n = grade_icaht(days, values, options).late_grade or 0
    whole_t = grade_t_icaht(days, [v / 10 for v in values], options).late_grade or 0
    part_n = grade_icaht([d for d, _ in part], [v for _, v in part], options).late_grade or 0
    part_t = grade_t_icaht([d for d, _ in part], [v / 10 for _, v in part], options).late_grade or 0
    assert part_n <= whole_n
    assert part_t <= whole_t
