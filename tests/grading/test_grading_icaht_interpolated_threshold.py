"""An unsampled day whose linearly interpolated count is exactly on an ICAHT threshold is on it (D-19.1121).

Early ICAHT counts days with ANC ≤ 500/µL (and ≤ 100/µL); T-ICAHT days with platelets < 50 and < 20 ×10^9/L
(docs/science/toxicity-grading.md §5.1, §5.3). Unsampled days are interpolated linearly between counts, as
the grader published with the consensus does (zoo ``na.approx``, which calls R's ``approx``:
y0 + (y1 - y0) · ((x - x0) / (x1 - x0))). `numpy.interp` computes the same line as slope · (x - x0) + y0 and
rounds: 960/µL on day 0 and 40/µL on day 14 gave 500.00000000000006 on day 7, where the line is exactly
960 - 7 · 920 / 14 = 500, so day 7 was not counted ≤ 500/µL. Counts with decimals (platelets in
×10^9/L converted from cells/µL) round in any floating-point form of the line: 71.6 on day 0 and 42.8 on
day 4 give 71.6 · 1 + 42.8 · 3 = 199.99999999999997 < 4 · 50 on day 3, where the line is exactly 50. Expected
values below are by hand, or by exact rational arithmetic on the counts as written (`fractions.Fraction`).
"""

from __future__ import annotations

import math
from fractions import Fraction

from hypothesis import example, given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.grading import IcahtOptions, grade_icaht, grade_t_icaht


def test_a_day_interpolated_exactly_to_500_is_at_or_below_500() -> None:
    # day 7 lies on the line 960 → 40 at exactly 500/µL; days 7-20 are ≤ 500/µL (day 14: 40, days 15-20:
    # 200), day 21 recovers: 14 days is early grade 3 (§5.1: 14-30 days), not 13 days grade 2; only day 14
    # is ≤ 100/µL (days 12-13 interpolate to 171 and 106)
    days = [0, 14, 15, 16, 17, 18, 19, 20, 21, 25, 30]
    anc = [960.0, 40.0, *[200.0] * 6, 2000.0, 2000.0, 2000.0]
    graded = grade_icaht(days, anc)
    assert graded.early_days_anc_le_500 == 14
    assert graded.early_days_anc_le_100 == 1
    assert graded.early_grade == 3


def test_a_day_interpolated_exactly_to_50_is_not_below_50() -> None:
    # platelets 108 on day 0 and 21 ×10^9/L on day 21: day 14 lies on the line at exactly
    # 108 - 14 · 87 / 21 = 50, not < 50; days 15-21 are < 50 (7 days): early T-ICAHT grade 2 (≥ 7 days),
    # and < 20 on no day; numpy.interp gave 49.99999999999999 on day 14 (8 days)
    days = [0, 21, 22, 30]
    platelets = [108.0, 21.0, 150.0, 150.0]
    graded = grade_t_icaht(days, platelets)
    assert graded.early_days_plt_lt_50 == 7
    assert graded.early_grade == 2


def test_a_decimal_platelet_count_interpolated_exactly_to_50_is_not_below_50() -> None:
    # platelets 71.6 on day 0 and 42.8 ×10^9/L on days 4-9 (42,800 cells/µL), 150 from day 10: the line is
    # 64.4, 57.2 and exactly 50.0 on days 1-3 (71.6 - 3 · 28.8 / 4), so days 4-9 are < 50 (6 days): early
    # T-ICAHT grade 1 (§5.3: 1-6 days), not 7 days grade 2; < 20 on no day
    days = [0, 4, 5, 6, 7, 8, 9, 10, 20, 30]
    platelets = [71.6, *[42.8] * 6, 150.0, 150.0, 150.0]
    graded = grade_t_icaht(days, platelets)
    assert graded.early_days_plt_lt_50 == 6
    assert graded.early_days_plt_lt_20 == 0
    assert graded.early_grade == 1


def _days_counted(line: list[Fraction], threshold: int, strict: bool) -> int:
    """Days of a monotone line at or below (strictly below) `threshold`: one run, first to last."""
    below = [j for j, value in enumerate(line) if (value < threshold if strict else value <= threshold)]
    return below[-1] - below[0] + 1 if below else 0


@settings(max_examples=property_examples(300), deadline=None)
@given(
    st.integers(0, 3000),
    st.integers(0, 3000),
    st.integers(2, 30),
    st.sampled_from([100, 500]),
)
@example(960, 40, 14, 500)  # day 7 exactly 500 (the hand case above)
def test_early_days_at_or_below_match_the_exact_line(
    first: int, second: int, gap: int, threshold: int
) -> None:
    """Two whole counts `gap` days apart, every day between on the straight line: the days ≤ the threshold,
    counted in exact rational arithmetic, are the days the grading counts below (its longest episode)."""
    options = IcahtOptions(min_recovery_days=100)  # one episode: every day at or below counts
    graded = grade_icaht([0, gap], [float(first), float(second)], options)
    line = [Fraction(first) + Fraction(second - first, gap) * k for k in range(gap + 1)]
    counted = graded.early_days_anc_le_500 if threshold == 500 else graded.early_days_anc_le_100
    assert counted == _days_counted(line, threshold, strict=False)


def _tie(threshold: int, gap: int, k: int, step: Fraction, falling: bool) -> tuple[Fraction, Fraction]:
    """Counts on day 0 and day `gap` whose line is exactly `threshold` on day k: it moves by `step` a day,
    first = threshold + step·k and second = threshold - step·(gap - k) (falling), or the mirror (rising)."""
    if falling:
        return threshold + step * k, threshold - step * (gap - k)
    return threshold - step * k, threshold + step * (gap - k)


@st.composite
def _ties(draw: st.DrawFn, thresholds: list[int], scales: list[int]) -> tuple[int, int, int, Fraction, bool]:
    """(threshold, gap, k, step, falling): every draw puts the line exactly on the threshold on day k, both
    counts ≥ 0 (the step is at most threshold / the days from k to the lower end). The step is n/(d·scale)
    with d a divisor of gcd(k, gap), so that step·k and step·(gap - k) are whole (scale 1) or decimals
    (scale 10, 100, 1000): a step that is not whole (960 → 40 over 14 days: 460/7 a day) is the case where
    a floating-point line rounds."""
    threshold = draw(st.sampled_from(thresholds))
    gap = draw(st.integers(2, 30))
    k = draw(st.integers(1, gap - 1))
    falling = draw(st.booleans())
    common = math.gcd(k, gap)
    divisor = draw(st.sampled_from([c for c in range(1, common + 1) if common % c == 0]))
    divisor *= draw(st.sampled_from(scales))
    lower_side = gap - k if falling else k
    step = Fraction(draw(st.integers(1, threshold * divisor // lower_side)), divisor)
    return threshold, gap, k, step, falling


@settings(max_examples=property_examples(300), deadline=None)
@given(_ties([100, 500], [1]))
@example((500, 14, 7, Fraction(460, 7), True))  # 960 → 40/µL: day 7 exactly 500 (the hand case above)
def test_a_line_through_the_threshold_on_a_whole_day_counts_that_day(
    tie: tuple[int, int, int, Fraction, bool],
) -> None:
    """A line between two whole counts that is exactly on the threshold on day k (by construction, every
    draw): the days at or below are counted in exact rational arithmetic, the tie day k included."""
    threshold, gap, k, step, falling = tie
    first, second = _tie(threshold, gap, k, step, falling)
    options = IcahtOptions(min_recovery_days=100)
    graded = grade_icaht([0, gap], [float(first), float(second)], options)
    line = [first + Fraction(second - first, gap) * j for j in range(gap + 1)]
    assert line[k] == threshold
    counted = graded.early_days_anc_le_500 if threshold == 500 else graded.early_days_anc_le_100
    assert counted == _days_counted(line, threshold, strict=False)


@settings(max_examples=property_examples(300), deadline=None)
@given(
    st.integers(0, 300_000),
    st.integers(0, 300_000),
    st.integers(2, 30),
    st.sampled_from([20, 50]),
    st.sampled_from([10, 100, 1000]),
)
@example(1080, 210, 21, 50, 10)  # 108 → 21 ×10^9/L: day 14 exactly 50 (the hand case above)
@example(716, 428, 4, 50, 10)  # 71.6 → 42.8 ×10^9/L: day 3 exactly 50
def test_early_days_below_match_the_exact_line_for_decimal_platelets(
    first: int, second: int, gap: int, threshold: int, divisor: int
) -> None:
    """Two decimal platelet counts (first/divisor, second/divisor ×10^9/L: a count in cells/µL converted)
    `gap` days apart: the days strictly below the threshold (T-ICAHT's '<'), counted in exact rational
    arithmetic on the decimals, are the days the grading counts."""
    a, b = Fraction(first, divisor), Fraction(second, divisor)
    options = IcahtOptions(min_recovery_days=100)
    graded = grade_t_icaht([0, gap], [first / divisor, second / divisor], options)
    line = [a + (b - a) / gap * j for j in range(gap + 1)]
    counted = graded.early_days_plt_lt_50 if threshold == 50 else graded.early_days_plt_lt_20
    assert counted == _days_counted(line, threshold, strict=True)


@settings(max_examples=property_examples(300), deadline=None)
@given(_ties([20, 50], [10, 100, 1000]))
@example((50, 21, 14, Fraction(29, 7), True))  # 108 → 21 ×10^9/L: day 14 exactly 50
@example((50, 4, 3, Fraction(72, 10), True))  # 71.6 → 42.8 ×10^9/L: day 3 exactly 50
def test_a_decimal_platelet_line_through_the_threshold_is_not_below_it_that_day(
    tie: tuple[int, int, int, Fraction, bool],
) -> None:
    """A line between two decimal platelet counts that is exactly on the threshold on day k (by
    construction, every draw): that day is not < the threshold; the days strictly below are counted in exact
    rational arithmetic on the decimals."""
    threshold, gap, k, step, falling = tie
    first, second = _tie(threshold, gap, k, step, falling)
    options = IcahtOptions(min_recovery_days=100)
    graded = grade_t_icaht([0, gap], [float(first), float(second)], options)
    line = [first + (second - first) / gap * j for j in range(gap + 1)]
    assert line[k] == threshold
    counted = graded.early_days_plt_lt_50 if threshold == 50 else graded.early_days_plt_lt_20
    assert counted == _days_counted(line, threshold, strict=True)
