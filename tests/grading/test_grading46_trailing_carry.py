"""The last count carried over a short trailing gap before the end of follow-up (grading46 review; D-19.717).

Expected values are hand-derived from the grader published with the EHA/EBMT consensus
(github.com/emilyliangmd/automatedicahtgrading, index.Rmd): its early grid runs from day 0 to day 30 or the
date of last follow-up, whichever is earlier (`replicate_ids`); zoo `na.approx(anc, maxgap = 7, rule = 2)`
fills a run of at most 7 missing days, a trailing run with the last count (`rule = 2`), and leaves a longer
run wholly missing; the never-recovered grade 4 needs an exceedance starting on days 0-3 to end on the grid's
last row (`last_lab_date`). Durations graded per toxicity-grading.md §5.1 (≤ 500/µL: 1-6 days → 1, 7-13 → 2,
14-30 → 3, ≥ 31 → 4; ≤ 100/µL: 7-13 → 3, ≥ 14 → 4).
"""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.grading.icaht import EARLY_LAST_DAY, IcahtOptions, UnsampledDays, grade_icaht

DAYS_0_12 = list(range(13))
ANC_300 = [300.0] * 13


def test_death_the_day_after_the_last_count_is_never_recovered() -> None:
    # grid days 0-13; day 13 missing (1 day ≤ 7) → filled with 300; exceedance days 0-13 ends on the
    # grid's last row and starts on day 0: grade 4
    g = grade_icaht(DAYS_0_12, ANC_300, follow_up_day=13)
    assert g.early_grade == 4
    assert g.early_days_anc_le_500 == 14
    assert not g.early_lower_bound
    assert "at least" not in g.early_rule


def test_death_seven_days_after_the_last_count_is_never_recovered() -> None:
    # grid days 0-19; days 13-19 missing (7 days ≤ 7) → filled: exceedance 0-19 to the last row: grade 4
    g = grade_icaht(DAYS_0_12, ANC_300, follow_up_day=19)
    assert g.early_grade == 4
    assert g.early_days_anc_le_500 == 20
    assert not g.early_lower_bound


def test_death_eight_days_after_the_last_count_is_the_grade_seen_and_a_lower_bound() -> None:
    # grid days 0-20; days 13-20 missing (8 days > 7) → stay missing: exceedance 0-12, 13 days (grade 2),
    # ending on day 12, not the last row (day 20): not never recovered
    g = grade_icaht(DAYS_0_12, ANC_300, follow_up_day=20)
    assert g.early_grade == 2
    assert g.early_days_anc_le_500 == 13
    assert g.early_lower_bound
    assert "at least" in g.early_rule


def test_counts_to_day_25_followed_to_day_100_fill_to_day_30() -> None:
    # grid days 0-30 (follow-up past day 30); days 26-30 missing (5 days) → filled: 31 days ≤ 500/µL: grade 4
    g = grade_icaht(list(range(26)), [300.0] * 26, follow_up_day=100)
    assert g.early_grade == 4
    assert g.early_days_anc_le_500 == 31
    assert not g.early_lower_bound


def test_the_filled_days_count_toward_the_100_threshold() -> None:
    # 2000/µL days 0-19, 50/µL days 20-25, followed to day 100: days 26-30 filled with 50 → ≤ 100/µL on days
    # 20-30 = 11 days (7-13 → grade 3); unfilled it would be 6 days ≤ 500/µL (grade 1)
    days = list(range(26))
    anc = [2000.0] * 20 + [50.0] * 6
    g = grade_icaht(days, anc, follow_up_day=100)
    assert g.early_days_anc_le_100 == 11
    assert g.early_grade == 3


def test_max_interpolated_days_sets_the_carry_limit() -> None:
    opts = IcahtOptions(max_interpolated_days=3)
    # follow-up 3 days past the last count: carried, grade 4; 4 days: left unknown, 13 days seen: grade 2
    assert grade_icaht(DAYS_0_12, ANC_300, opts, follow_up_day=15).early_grade == 4
    g = grade_icaht(DAYS_0_12, ANC_300, opts, follow_up_day=16)
    assert g.early_grade == 2
    assert g.early_lower_bound


def test_sampled_only_reads_a_death_within_the_carry_as_the_end_of_follow_up() -> None:
    opts = IcahtOptions(unsampled_days=UnsampledDays.SAMPLED_ONLY)
    assert grade_icaht(DAYS_0_12, ANC_300, opts, follow_up_day=13).early_grade == 4
    g = grade_icaht(DAYS_0_12, ANC_300, opts, follow_up_day=20)
    assert g.early_grade == 2  # 13 sampled days ≤ 500/µL
    assert g.early_lower_bound


# ------------------------------------------------ the lower bound flag (review cases2.py)


def test_a_shorter_last_episode_reaching_the_last_count_is_flagged() -> None:
    # ≤ 500 on days 0-9 (10 days: grade 2), 2000 on 10-14, ≤ 500 on 15-16, no count after, followed to day
    # 100: days 17-30 (14 > 7) unknown; read as below, the last episode would run 15-30 (16 days: grade 3)
    days = list(range(17))
    anc = [300.0] * 10 + [2000.0] * 5 + [300.0] * 2
    g = grade_icaht(days, anc, follow_up_day=100)
    assert g.early_grade == 2
    assert g.early_lower_bound
    assert "at least" in g.early_rule


def test_two_equal_episodes_the_later_reaching_the_last_count_is_flagged() -> None:
    # ≤ 500 on days 0-7 and 12-19 (8 days each: grade 2), 2000 on 8-11; followed to day 100: days 20-30
    # unknown; read as below, days 12-30 = 19 days: grade 3
    days = list(range(20))
    anc = [300.0] * 8 + [2000.0] * 4 + [300.0] * 8
    g = grade_icaht(days, anc, follow_up_day=100)
    assert g.early_grade == 2
    assert g.early_lower_bound


def test_a_recovered_last_count_is_not_a_lower_bound() -> None:
    # ≤ 500 on days 0-9 (10 days: grade 2), recovered (2000) on days 10-15, followed to day 100
    days = list(range(16))
    anc = [300.0] * 10 + [2000.0] * 6
    g = grade_icaht(days, anc, follow_up_day=100)
    assert g.early_grade == 2
    assert not g.early_lower_bound
    assert "at least" not in g.early_rule


def test_without_a_follow_up_day_nothing_is_a_lower_bound() -> None:
    g = grade_icaht(list(range(17)), [300.0] * 10 + [2000.0] * 5 + [300.0] * 2)
    assert not g.early_lower_bound


counts = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=EARLY_LAST_DAY),
        st.sampled_from([50.0, 300.0, 800.0, 2000.0]),
    ),
    min_size=1,
    max_size=20,
)


@settings(max_examples=property_examples(80), deadline=None)
@given(series=counts, mode=st.sampled_from(list(UnsampledDays)))
def test_follow_up_ending_on_the_last_count_equals_no_follow_up_day(
    series: list[tuple[int, float]], mode: UnsampledDays
) -> None:
    days = [d for d, _ in series]
    anc = [a for _, a in series]
    opts = IcahtOptions(unsampled_days=mode)
    plain = grade_icaht(days, anc, opts)
    ended = grade_icaht(days, anc, opts, follow_up_day=max(days))
    assert (ended.early_grade, ended.early_rule) == (plain.early_grade, plain.early_rule)
    assert (ended.early_days_anc_le_500, ended.early_days_anc_le_100) == (
        plain.early_days_anc_le_500,
        plain.early_days_anc_le_100,
    )
    assert not ended.early_lower_bound


@settings(max_examples=property_examples(80), deadline=None)
@given(
    series=counts,
    beyond=st.integers(min_value=8, max_value=100),
    mode=st.sampled_from([UnsampledDays.LINEAR, UnsampledDays.SAMPLED_ONLY]),
)
def test_follow_up_beyond_the_carry_never_raises_the_grade(
    series: list[tuple[int, float]], beyond: int, mode: UnsampledDays
) -> None:
    # the days past the last count are unknown: the grade is that of the days seen, never above the reading
    # that follow-up ended on the last count (which may add never recovered)
    days = [d for d, _ in series]
    anc = [a for _, a in series]
    assume(EARLY_LAST_DAY - max(days) > 7)  # the window's end (day 30 at most) is past the carry too
    opts = IcahtOptions(unsampled_days=mode)
    plain = grade_icaht(days, anc, opts).early_grade
    later = grade_icaht(days, anc, opts, follow_up_day=max(days) + beyond)
    assert plain is not None and later.early_grade is not None
    assert later.early_grade <= plain
    if later.early_grade < plain:  # only the never-recovered reading was lost: the grade is a lower bound
        assert later.early_lower_bound


def test_a_new_therapy_ends_the_follow_up_of_the_early_window() -> None:
    # ANC 300/µL days 0-14, new therapy on day 15 (counts from then on censored: not this product's), alive
    # to day 100: the product's follow-up ends on day 14, the last count: the episode from day 0 never
    # recovered, grade 4, as without a follow-up day (D-19.717); not 15 days seen with days 15-30 unknown
    days = list(range(20))
    anc = [300.0] * 20
    g = grade_icaht(days, anc, censor_day=15, follow_up_day=100)
    assert g.early_grade == grade_icaht(days, anc, censor_day=15).early_grade == 4
    assert not g.early_lower_bound


def test_locf_carries_the_last_count_over_any_trailing_run() -> None:
    # ANC 2000/µL on days 0-4, 300/µL on days 5-10, followed to day 100 (window to day 30). LOCF (the option's
    # meaning) carries day 10's 300 over days 11-30, however long: days 5-30 = 26 days ≤ 500/µL → grade 3
    # (14-30 days, §5.1), not never recovered (the episode starts on day 5 > 3), and no lower bound (every
    # day of the window has a value). Under linear the 20 trailing days (> 7) stay unknown: 6 days → grade 1,
    # a lower bound (D-19.717).
    days, anc = list(range(11)), [2000.0] * 5 + [300.0] * 6
    g = grade_icaht(days, anc, IcahtOptions(unsampled_days=UnsampledDays.LOCF), follow_up_day=100)
    assert (g.early_grade, g.early_days_anc_le_500, g.early_lower_bound) == (3, 26, False)
    g = grade_icaht(days, anc, follow_up_day=100)
    assert (g.early_grade, g.early_days_anc_le_500, g.early_lower_bound) == (1, 6, True)


def test_a_single_count_is_carried_to_a_death_within_the_carry() -> None:
    # D-19.717 caveat (b): ANC 300/µL on day 0 only, death day 3. zoo's na.approx needs two points and
    # would fill nothing; cartrial carries the single count over days 1-3 (3 ≤ 7): exceedance days 0-3
    # starts on day 0 and ends on the grid's last row: grade 4 without recovery, not a lower bound
    g = grade_icaht([0], [300.0], follow_up_day=3)
    assert g.early_grade == 4
    assert g.early_days_anc_le_500 == 4
    assert not g.early_lower_bound
    assert "at least" not in g.early_rule
