"""D-19.788: a late ICAHT / T-ICAHT grade whose counts stop inside days 31-100 before the end of follow-up is
a lower bound when the counts seen imply it can still rise, as the early grade (D-19.717): flagged, "at least"
in the rule, shown "≥ N"; the grade itself is that of the counts seen.

Expected values by hand from the EHA/EBMT 2023 late tables (toxicity-grading.md §5.2-5.3): late ICAHT is the
grade of the second-lowest ANC of days 31-100 (≤ 1500 → 1, ≤ 1000 → 2, ≤ 500 → 3, ≤ 100 → 4; non-transient:
two values); late T-ICAHT: < 20 ×10^9/L for 1-13 days → 3, ≥ 14 days → 4 (two tests below)."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.analysis.toxicity import icaht_grade_text, late_icaht_pending
from cartrial.grading import grade_icaht, grade_t_icaht


def test_counts_stopping_at_a_lower_nadir_make_the_late_grade_a_lower_bound() -> None:
    """ANC 800 on day 35, 90 on day 45, no later count, followed to day 200: second-lowest 800 → grade 2;
    one more value at 90 would make the second-lowest 90 → grade 4: grade 2 is a lower bound."""
    g = grade_icaht([35, 45], [800.0, 90.0], follow_up_day=200)
    assert (g.late_grade, g.late_lower_bound) == (2, True)
    assert "at least" in g.late_rule and "day 45" in g.late_rule and "day 100" in g.late_rule


def test_no_follow_up_day_or_follow_up_ending_on_the_last_count_is_no_bound() -> None:
    """Without a follow-up day the last count is the end of follow-up (D-19.682); a death on day 45 too."""
    assert not grade_icaht([35, 45], [800.0, 90.0]).late_lower_bound
    assert not grade_icaht([35, 45], [800.0, 90.0], follow_up_day=45).late_lower_bound


def test_a_recovered_count_after_day_100_clears_the_flag_only_within_7_days_of_day_100() -> None:
    """ANC 800 d35, 90 d45 (grade 2; days 46-100 open at 90 → grade 4: a lower bound). ANC 3000 on day 103
    (within 7 days of day 100) bounds those days: read at 3000 the second-lowest stays 800: not flagged.
    On day 120 it says only that follow-up went on (round-2 review, D-19.790; this test asserted "not
    flagged" for day 120 before, changed by design): the days stay open at 90: flagged."""
    assert not grade_icaht([35, 45, 103], [800.0, 90.0, 3000.0], follow_up_day=200).late_lower_bound
    assert grade_icaht([35, 45, 120], [800.0, 90.0, 3000.0], follow_up_day=200).late_lower_bound


def test_a_last_count_that_cannot_raise_the_grade_is_no_bound() -> None:
    """ANC 90 on day 35, 800 on day 45 (recovering): second-lowest 800 → 2; another 800 keeps 2."""
    g = grade_icaht([35, 45], [90.0, 800.0], follow_up_day=200)
    assert (g.late_grade, g.late_lower_bound) == (2, False)


def test_a_single_late_value_is_grade_0_not_flagged() -> None:
    """ANC 1200 on day 40 only, followed to day 150: one value (two needed) → grade 0; a second at 1200 would
    give grade 1, but a grade 0 is not flagged (never "≥ 0", D-19.790; changed by design from D-19.788)."""
    g = grade_icaht([40], [1200.0], follow_up_day=150)
    assert (g.late_grade, g.late_lower_bound) == (0, False)


def test_late_t_icaht_days_below_20_still_counting() -> None:
    """Platelets 15 ×10^9/L on days 31 and 35, no later count, followed to day 100: < 20 on days 31-35, 5
    days → grade 3; staying at 15 to day 100 would be 70 days → grade 4: a lower bound."""
    t = grade_t_icaht([31, 35], [15.0, 15.0], follow_up_day=100)
    assert (t.late_grade, t.late_days_plt_lt_20, t.late_lower_bound) == (3, 5, True)
    assert not grade_t_icaht([31, 35], [15.0, 15.0]).late_lower_bound


def test_the_analysis_shows_the_late_bound_and_clears_it_while_pending() -> None:
    """A complete late window (followed to day 200) shows "≥ 2"; a pending one (alive, on study, followed to
    day 60) shows its grade reached "≥ 2 (pending)", never also the flag."""
    icaht = pd.DataFrame(
        {
            "subject_id": ["A", "B"],
            "late_icaht_grade": pd.array([2, 2], dtype="Int64"),
            "late_icaht_rule": ["r", "r"],
            "late_icaht_lower_bound": [True, True],
            "t_late_grade": pd.array([None, None], dtype="Int64"),
            "t_late_reason": ["", ""],
            "t_late_lower_bound": [False, False],
        }
    )
    membership = pd.DataFrame(
        {
            "subject_id": ["A", "B"],
            "follow_up_days": [200, 60],
            "died": [False, False],
            "study_status": ["ongoing", "ongoing"],
        }
    )
    out = late_icaht_pending(icaht, membership)
    rows = {r["subject_id"]: r for r in out.to_dict("records")}
    assert icaht_grade_text(rows["A"], "late_icaht_grade") == "≥ 2"
    assert icaht_grade_text(rows["B"], "late_icaht_grade") == "≥ 2 (pending)"
    assert not rows["B"]["late_icaht_lower_bound"]


LATE_DAY = st.integers(min_value=31, max_value=100)
ANC = st.sampled_from([50.0, 90.0, 300.0, 700.0, 1200.0, 2000.0])
PLT = st.sampled_from([10.0, 15.0, 30.0, 60.0, 120.0])


@settings(max_examples=property_examples(60), deadline=None)
@given(
    st.lists(st.tuples(LATE_DAY, ANC), min_size=1, max_size=5),
    st.lists(st.tuples(LATE_DAY, ANC), min_size=0, max_size=3),
    st.integers(min_value=31, max_value=300),
)
def test_later_counts_never_lower_the_late_grade_below_the_bound(
    seen: list[tuple[int, float]], later: list[tuple[int, float]], follow_up: int
) -> None:
    """The follow-up day changes no grade; counts added after the last one never lower the late grade (its
    second-lowest value can only fall); and one more count at the last count's level by day 100 raises a
    flagged grade above its bound."""
    days, anc = [d for d, _ in seen], [a for _, a in seen]
    g = grade_icaht(days, anc, follow_up_day=follow_up)
    assert g.late_grade == grade_icaht(days, anc).late_grade
    last = max(days)
    extra = [(d, a) for d, a in later if d > last]
    if extra:
        more = grade_icaht(days + [d for d, _ in extra], anc + [a for _, a in extra])
        assert more.late_grade is not None and g.late_grade is not None and more.late_grade >= g.late_grade
    if g.late_lower_bound:
        level = min(a for d, a in seen if d == last)
        raised = grade_icaht([*days, min(100, follow_up)], [*anc, level])
        assert raised.late_grade is not None and g.late_grade is not None and raised.late_grade > g.late_grade


@settings(max_examples=property_examples(60), deadline=None)
@given(
    st.lists(st.tuples(LATE_DAY, PLT), min_size=1, max_size=5),
    st.lists(st.tuples(LATE_DAY, PLT), min_size=0, max_size=3),
    st.integers(min_value=31, max_value=300),
)
def test_later_platelet_counts_never_lower_the_late_t_icaht_grade(
    seen: list[tuple[int, float]], later: list[tuple[int, float]], follow_up: int
) -> None:
    """As for ANC: the follow-up day changes no late T-ICAHT grade; later counts never lower it; a flagged
    grade is raised by the platelets staying at the last count's level to the end of the window."""
    days, plt = [d for d, _ in seen], [p for _, p in seen]
    t = grade_t_icaht(days, plt, follow_up_day=follow_up)
    assert t.late_grade == grade_t_icaht(days, plt).late_grade
    last = max(days)
    extra = [(d, p) for d, p in later if d > last]
    if extra:
        more = grade_t_icaht(days + [d for d, _ in extra], plt + [p for _, p in extra])
        assert more.late_grade is not None and t.late_grade is not None and more.late_grade >= t.late_grade
    if t.late_lower_bound:
        level = min(p for d, p in seen if d == last)
        raised = grade_t_icaht([*days, min(100, follow_up)], [*plt, level])
        assert raised.late_grade is not None and t.late_grade is not None and raised.late_grade > t.late_grade
