"""Boundary and property tests from the source tables (grading46; D-19.717, D-19.718).

Expected values are hand-computed from toxicity-grading.md §4, §5.1 and the grader published with the
EHA/EBMT consensus (github.com/emilyliangmd/automatedicahtgrading, index.Rmd: the early grid runs to day 30
or the date of last follow-up, whichever is earlier; the never-recovered grade 4 needs the episode to end on
the grid's last day, not on the last count).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import CartrialError
from cartrial.grading.icaht import IcahtOptions, UnsampledDays, grade_icaht


def test_labs_stopping_while_follow_up_continues_are_not_never_recovered() -> None:
    # 300/µL daily on days 0-10, followed to day 100 without further counts: 11 days ≤ 500/µL seen
    # (§5.1: 7-13 days → grade 2); the counts do not show no recovery to the end of follow-up
    g = grade_icaht(list(range(11)), [300.0] * 11, follow_up_day=100)
    assert g.early_grade == 2
    assert g.early_days_anc_le_500 == 11
    assert "at least" in g.early_rule
    assert "day 10" in g.early_rule


def test_without_a_follow_up_day_the_last_count_ends_the_window_as_before() -> None:
    g = grade_icaht(list(range(11)), [300.0] * 11)
    assert g.early_grade == 4


def test_follow_up_ending_on_the_last_count_is_never_recovered() -> None:
    # died on day 10 without recovery (the grader's patient #8 scenario): grade 4
    g = grade_icaht(list(range(11)), [300.0] * 11, follow_up_day=10)
    assert g.early_grade == 4
    assert "at least" not in g.early_rule


def test_follow_up_past_day_30_with_counts_to_day_30_is_unchanged() -> None:
    g = grade_icaht(list(range(31)), [300.0] * 31, follow_up_day=100)
    assert g.early_grade == 4


@pytest.mark.parametrize("bad", [-1, 2.5, "x"])
def test_a_follow_up_day_that_is_not_a_whole_day_from_0_is_refused(bad: object) -> None:
    with pytest.raises(CartrialError):
        grade_icaht([0, 1], [300.0, 300.0], follow_up_day=bad)  # type: ignore[arg-type]


@settings(max_examples=property_examples(60), deadline=None)
@given(
    n=st.integers(min_value=1, max_value=31),
    extra=st.integers(min_value=0, max_value=100),
    mode=st.sampled_from(list(UnsampledDays)),
)
def test_a_later_end_of_follow_up_never_raises_the_grade(n: int, extra: int, mode: UnsampledDays) -> None:
    # ANC ≤ 500/µL on days 0..n-1 and no later count: knowing follow-up went on can only remove the
    # never-recovered reading, never add days below
    days, anc = list(range(n)), [300.0] * n
    opts = IcahtOptions(unsampled_days=mode)
    plain = grade_icaht(days, anc, opts).early_grade
    later = grade_icaht(days, anc, opts, follow_up_day=n - 1 + extra).early_grade
    assert plain is not None and later is not None
    assert later <= plain
    if extra == 0:
        assert later == plain


def test_derive_icaht_passes_each_subjects_follow_up_day() -> None:
    import pandas as pd

    from cartrial.grading import derive_icaht

    dates = [f"2024-01-{10 + d:02d}" for d in range(11)]  # days 0-10 after the infusion
    labs = pd.DataFrame(
        {
            "subject_id": ["S1"] * 11 + ["S2"] * 11,
            "collected_at": dates * 2,
            "analyte": ["neutrophils"] * 22,
            "value": [0.3] * 22,
            "unit": ["10^9/L"] * 22,
            "lln": [1.8] * 22,
        }
    )
    infused = pd.DataFrame({"subject_id": ["S1", "S2"], "infused_at": ["2024-01-10"] * 2})
    table = derive_icaht(labs, infused, follow_up_days={"S1": 100, "S2": 10}).table.set_index("subject_id")
    assert table.loc["S1", "early_grade"] == 2  # 11 days seen, followed on: at least grade 2
    assert table.loc["S2", "early_grade"] == 4  # follow-up ended on the last count without recovery


def test_a_follow_up_day_before_the_last_count_is_named_not_silently_ignored() -> None:
    # 300/µL daily on days 0-10, "last follow-up" day 5: the counts show follow-up to day 10 at least, so the
    # day is ignored (the window never ends before the last count, D-19.717) and the rule says so; the grade
    # is that without a follow-up day (day 10 ends follow-up, never recovered: 4)
    g = grade_icaht(list(range(11)), [300.0] * 11, follow_up_day=5)
    assert g.early_grade == 4
    assert "follow-up day 5 is before the count of day 10: ignored" in g.early_rule
    # a count after day 30 bounds the window at day 30: a follow-up day before it is named too
    g = grade_icaht([0, 10, 40], [300.0, 300.0, 2000.0], follow_up_day=20)
    assert "follow-up day 20 is before the count of day 30" not in g.early_rule
    assert "follow-up day 20 is before the count of day 40: ignored" in g.early_rule
    assert "ignored" not in grade_icaht(list(range(11)), [300.0] * 11, follow_up_day=10).early_rule
