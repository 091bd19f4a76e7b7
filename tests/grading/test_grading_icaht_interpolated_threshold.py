"""An unsampled day whose linearly interpolated count is exactly on an ICAHT threshold is on it (D-19.1121).

Early ICAHT counts days with ANC ≤ 500/µL (and ≤ 100/µL); T-ICAHT days with platelets < 50 and < 20 ×10^9/L
(docs/science/toxicity-grading.md §5.1, §5.3). Unsampled days are interpolated linearly between counts, as
the grader published with the consensus does (zoo ``na.approx``, which calls R's ``approx``:
y0 + (y1 - y0) · ((x - x0) / (x1 - x0))). `numpy.interp` computes the same line as slope · (x - x0) + y0 and
rounds: 960/µL on day 0 and 40/µL on day 14 gave 500.00000000000006 on day 7, where the line is exactly
960 - 7 · 920 / 14 = 500, so day 7 was not counted ≤ 500/µL. Expected values below are by hand.
"""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

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


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 3000),
    st.integers(0, 3000),
    st.integers(2, 30),
    st.sampled_from([100, 500]),
)
def test_early_days_at_or_below_match_the_exact_line(
    first: int, second: int, gap: int, threshold: int
) -> None:
    """Two whole counts `gap` days apart, every day between on the straight line: the days ≤ the threshold,
    counted in exact rational arithmetic, are the days the grading counts below (its longest episode)."""
    options = IcahtOptions(min_recovery_days=100)  # one episode: every day at or below counts
    graded = grade_icaht([0, gap], [float(first), float(second)], options)
    line = [Fraction(first) + Fraction(second - first, gap) * k for k in range(gap + 1)]
    below = [k for k, value in enumerate(line) if value <= threshold]
    expected = below[-1] - below[0] + 1 if below else 0
    counted = graded.early_days_anc_le_500 if threshold == 500 else graded.early_days_anc_le_100
    assert counted == expected


@settings(max_examples=300, deadline=None)
@given(st.integers(2, 30), st.data(), st.sampled_from([100, 500]))
def test_a_line_through_the_threshold_on_a_whole_day_counts_that_day(
    gap: int, data: st.DataObject, threshold: int
) -> None:
    """A line between two whole counts that crosses the threshold exactly on day k (by construction): the
    days at or below are counted in exact rational arithmetic, the tie day k included."""
    k = data.draw(st.integers(1, gap - 1))
    second = data.draw(st.integers(0, 3000))
    first = Fraction(threshold * gap - second * k, gap - k)  # first·(gap-k) + second·k = threshold·gap
    if first.denominator != 1 or not 0 <= first <= 5000 or first == second:
        return
    options = IcahtOptions(min_recovery_days=100)
    graded = grade_icaht([0, gap], [float(first), float(second)], options)
    line = [first + Fraction(second - first, gap) * j for j in range(gap + 1)]
    assert line[k] == threshold
    below = [j for j, value in enumerate(line) if value <= threshold]
    counted = graded.early_days_anc_le_500 if threshold == 500 else graded.early_days_anc_le_100
    assert counted == below[-1] - below[0] + 1
