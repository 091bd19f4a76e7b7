"""Independent reference cells for ICAHT (EHA/EBMT 2023, Rejeski K et al. Blood 2023;142:865-877;
docs/science/toxicity-grading.md §5.1-5.2, §5.5): early and late grades of many random ANC series under each
`unsampled_days` setting, against the rules written out here day by day (not the engine's episode code).

Early: a day is at or below a threshold (500 or 100/µL) by the lowest count of the day, or, unsampled, by
`unsampled_days` (H4): ``linear`` interpolation between the neighbouring counts (no day before the first or
after the last count; with a gap limit of 7, no day in a run of more than 7 unsampled days, which still counts
as a calendar day of recovery: D-19.680), ``locf`` (the last count on or before the day, counts before day 0
included), or ``sampled_only``; runs separated by fewer than 3 days above (sampled days with `sampled_only`,
D-19.678) are one episode, gap days counted (H2); the longest episode decides (ANC <= 500: 1-6 days 1, 7-13 2,
14-30 3, >= 31 4 (H1); ANC <= 100: 7-13 3, >= 14 4); an ANC <= 500 episode starting by day 3 and lasting to
the end of follow-up (day 30 when a count follows day 30, else the last count of days 0-30; D-19.673) is grade
4; with `sampled_only` it must reach the last sampled day of that window, and when days after it are unsampled
the first count after it on days 31-100 must still be <= 500 (no recovery seen, D-19.681).
Late: the grade of the second-lowest ANC of days 31-100 (<= 1500 1, <= 1000 2, <= 500 3, <= 100 4; H3, two
values needed).
"""

from __future__ import annotations

import random

import pytest

from cartrial.grading.icaht import IcahtOptions, grade_icaht


def _below_days(days: list[int], anc: list[float], threshold: float, mode: str, last: int) -> list[bool]:
    lowest: dict[int, float] = {}
    for d, a in zip(days, anc, strict=True):
        lowest[d] = min(lowest.get(d, float("inf")), a)
    sampled = sorted(lowest)
    out = []
    for day in range(last + 1):
        if mode == "sampled_only":
            out.append(day in lowest and lowest[day] <= threshold)
        elif mode == "locf":
            before = [d for d in sampled if d <= day]
            out.append(bool(before) and lowest[before[-1]] <= threshold)
        elif day < sampled[0] or day > sampled[-1]:
            out.append(False)
        elif day in lowest:
            out.append(lowest[day] <= threshold)
        else:
            lo = max(d for d in sampled if d < day)
            hi = min(d for d in sampled if d > day)
            if mode == "linear_gap7" and hi - lo - 1 > 7:
                out.append(False)  # missing beyond the grader's gap limit: not below (D-19.680)
                continue
            value = lowest[lo] + (lowest[hi] - lowest[lo]) * (day - lo) / (hi - lo)
            out.append(value <= threshold)
    return out


def _episodes(below: list[bool], min_recovery: int = 3, sampled: set[int] | None = None) -> list[list[int]]:
    runs: list[list[int]] = []
    for day, is_below in enumerate(below):
        if not is_below:
            continue
        if runs and runs[-1][1] == day - 1:
            runs[-1][1] = day
        else:
            runs.append([day, day])
    merged: list[list[int]] = []
    for start, end in runs:
        # with sampled_only the recovery is counted in sampled days (values on different days, D-19.678)
        gap_days = range(merged[-1][1] + 1, start) if merged else range(0)
        gap = sum(1 for k in gap_days if k in sampled) if sampled is not None else len(gap_days)
        if merged and gap < min_recovery:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    return merged


def _early_reference(days: list[int], anc: list[float], mode: str) -> int | None:
    early_days = [d for d in days if 0 <= d <= 30]
    if not early_days:
        return None
    # end of the window's follow-up: day 30 when a count follows day 30, else the last early count (D-19.673);
    # every count bounds the unsampled days
    last = 30 if max(days) > 30 else max(early_days)
    window = list(zip(days, anc, strict=True))
    sampled = set(early_days)
    result = []
    for threshold in (500.0, 100.0):
        below = _below_days([d for d, _ in window], [a for _, a in window], threshold, mode, last)
        best: tuple[int, int, int] = (0, -1, -1)
        for start, end in _episodes(below, sampled=sampled if mode == "sampled_only" else None):
            length = (
                sum(1 for k in range(start, end + 1) if k in sampled)
                if mode == "sampled_only"
                else end - start + 1
            )
            if length > best[0]:
                best = (length, start, end)
        result.append((best, below))
    (days500, start, end), below500 = result[0]
    days100 = result[1][0][0]
    g500 = 4 if days500 >= 31 else 3 if days500 >= 14 else 2 if days500 >= 7 else 1 if days500 >= 1 else 0
    g100 = 4 if days100 >= 14 else 3 if days100 >= 7 else 0
    # the episode must reach the window's last day with a value; when later days are unknown (sampled_only,
    # no count on days after it to day 30), the first count after it must still be <= 500 (no recovery seen;
    # D-19.681)
    last_known = max(d for d in range(last + 1) if mode != "sampled_only" or d in sampled)
    after = [a for d, a in window if d == min((k for k in days if last_known < k <= 100), default=-1)]
    no_recovery = last_known == last or (bool(after) and min(after) <= 500)
    never_recovered = 0 <= start <= 3 and end == last_known and below500[last_known] and no_recovery
    return max(g500, g100, 4 if never_recovered else 0)


def _late_reference(days: list[int], anc: list[float]) -> int | None:
    late = sorted(a for d, a in zip(days, anc, strict=True) if 30 < d <= 100)
    if not late:
        return None
    if len(late) < 2:
        return 0
    v = late[1]
    return 4 if v <= 100 else 3 if v <= 500 else 2 if v <= 1000 else 1 if v <= 1500 else 0


@pytest.mark.parametrize("mode", ["linear", "locf", "sampled_only", "linear_gap7"])
def test_icaht_on_random_series_equals_the_day_by_day_rule(mode: str) -> None:
    """1,500 random series: counts on the threshold (100, 500, 1000, 1500) and one above, days -5..100.
    ``linear_gap7``: ``linear`` with `max_interpolated_days` 7, the grader's rule (a day in a run of more
    than 7 unsampled days is not below and a calendar day of recovery, D-19.680)."""
    rng = random.Random(f"icaht-{mode}")
    if mode == "linear_gap7":
        options = IcahtOptions(max_interpolated_days=7)
    else:
        options = IcahtOptions(unsampled_days=mode)  # type: ignore[arg-type]
    levels = [0, 50, 100, 101, 300, 500, 501, 900, 1000, 1001, 1200, 1500, 1501, 3000]
    for _ in range(1500):
        days = sorted(rng.sample(range(-5, 101), rng.randint(1, 25)))
        anc = [float(rng.choice(levels)) for _ in days]
        got = grade_icaht(days, anc, options)
        assert (got.early_grade, got.late_grade) == (
            _early_reference(days, anc, mode),
            _late_reference(days, anc),
        ), list(zip(days, anc, strict=True))


def test_icaht_reference_rule_by_hand() -> None:
    """The rule above on hand-made series (so the reference itself is checked): ANC 400/µL on days 0-6 and
    2000 from day 7 (sampled daily) is 7 days <= 500: grade 2; two 5-day runs separated by a 2-day recovery
    merge into 12 days (grade 2), by a 3-day recovery stay apart (5 days: grade 1)."""
    days = list(range(0, 12))
    assert _early_reference(days, [400.0] * 7 + [2000.0] * 5, "sampled_only") == 2
    merged = [400.0] * 5 + [2000.0] * 2 + [400.0] * 5 + [2000.0] * 3
    assert _early_reference(list(range(15)), merged, "sampled_only") == 2
    apart = [400.0] * 5 + [2000.0] * 3 + [400.0] * 5 + [2000.0] * 3
    assert _early_reference(list(range(16)), apart, "sampled_only") == 1
    for series, expected in ((merged, 2), (apart, 1)):
        got = grade_icaht(list(range(len(series))), series, IcahtOptions(unsampled_days="sampled_only"))
        assert got.early_grade == expected
