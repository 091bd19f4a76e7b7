"""D-19.789: the early ICAHT grade-4 edges checked against the sources and kept (no code change).

toxicity-grading.md §5.1: grade 4 for ANC ≤ 500/µL ≥ 31 days, and (grader rule [V]) an ANC ≤ 500/µL episode
starting by day 3 and lasting to the end of follow-up; days before the first count carry no value (the table
counts days at or below the threshold; the grader's back-fill is an implementation step, D-3.5 point 2).
Counts: ANC 300/µL on the first day, on day 30 and on day 31 (a count after day 30 ends the window at day 30,
D-19.673); linear interpolation makes every day between ≤ 500/µL."""

from __future__ import annotations

from cartrial.grading import grade_icaht


def test_an_episode_from_day_3_to_day_30_never_recovered_is_grade_4() -> None:
    """Days 3-30: 28 days (< 31) but starting by day 3 and reaching day 30: grade 4."""
    g = grade_icaht([3, 30, 31], [300.0, 300.0, 300.0])
    assert (g.early_grade, g.early_days_anc_le_500) == (4, 28)


def test_an_episode_from_day_4_is_graded_by_its_days() -> None:
    """Days 4-30: 27 days, 14-30 → grade 3; it starts after day 3, so not "never recovered"."""
    g = grade_icaht([4, 30, 31], [300.0, 300.0, 300.0])
    assert (g.early_grade, g.early_days_anc_le_500) == (3, 27)


def test_no_value_before_the_first_count() -> None:
    """First count on day 5: days 0-4 are not counted (the grader's 7-day back-fill would give 31 days, 4);
    days 5-30 = 26 days → grade 3."""
    g = grade_icaht([5, 30, 31], [300.0, 300.0, 300.0])
    assert (g.early_grade, g.early_days_anc_le_500) == (3, 26)
