"""Immune effector cell-associated haematotoxicity (ICAHT) grade from a subject's ANC time series.

Source: Rejeski K et al. EHA/EBMT consensus grading of ICAHT, *Blood* 2023;142:865-877; cut-offs as in
docs/science/toxicity-grading.md §5.1-5.2 (following an open-source grader, consistent with the published
table; the
exact published wording is [U]). Ambiguities H1-H4 (§5.5) are options of `IcahtOptions`.

Days are whole days relative to the infusion (day 0 = infusion day). Early ICAHT uses days 0-30, late ICAHT
days 31-100 (as T-ICAHT), both censored at a new therapy when its day is given. The lowest count of a day
decides that day. ANC is in cells/µL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from cartrial.allowed import Allowed, allowed, check_argument, check_fields, enum_member
from cartrial.errors import InputError, OptionError, Problem
from cartrial.grading.choices import UnsampledDays

ICAHT_SOURCE = (
    "Rejeski K et al. EHA/EBMT consensus grading of ICAHT, Blood 2023;142:865-877 "
    "(thresholds as in docs/science/toxicity-grading.md §5.1-5.2)"
)
ICAHT_SCALE = "EHA/EBMT ICAHT 2023"
EARLY_LAST_DAY = 30
LATE_LAST_DAY = 100
"""Late ICAHT and T-ICAHT use days 31-100: the T-ICAHT table states day 31-100 (EHA/EBMT 2023, ASH table), and
the grader published with the consensus grades late ICAHT on "ANC values from day +31 to the earliest of day
+100, date of subsequent therapy, date of relapse/progression, or date of last follow-up" (github.com/
emilyliangmd/automatedicahtgrading, index.Rmd; it adds that extending to day +180 or +365 "could be
reasonable"); the consensus itself says "after day +30" (D-19.718)."""
TRAILING_CARRY_DAYS = 7
"""With a day of last follow-up after the last early count (and no count after day 30), the last count is
carried over at most this many trailing days when `max_interpolated_days` is not set: the published grader's
zoo ``na.approx(maxgap = 7, rule = 2)`` fills a trailing run of ≤ 7 missing days with the last count and
leaves a longer run wholly missing (D-19.717)."""


@dataclass(frozen=True)
class IcahtOptions:
    """Choices of docs/science/toxicity-grading.md §5.5.

    - `early_g4_min_days` (H1): days of ANC ≤ 500/µL for early grade 4; default **31** (grader; the
      published table's day-30/31 boundary awaits confirmation [U]).
    - `min_recovery_days` (H2): consecutive days above the threshold that count as a recovery; shorter gaps
      merge two episodes into one (gap days counted). Default **3**; range 1-100 (the grading window ends
      at day 100: a longer recovery cannot be observed).
    - `late_min_values` (H3): values at or below a late threshold needed (non-transient neutropenia);
      default **2** (consensus); 1 = the nadir alone decides. (The open-source grader grades the nadir
      when a second value is ≤ 1500/µL or the nadir is the only value: neither setting is exactly that;
      decisions D-3.5.)
    - `unsampled_days` (H4): default **linear** — unsampled days interpolated linearly between counts, as
      the grader published with the consensus does (Rejeski et al. Blood 2023); ``locf`` (the previous
      default, a project proposal) and ``sampled_only`` remain options.
    - `max_interpolated_days` (H4, with ``linear``): the longest run of consecutive unsampled days that is
      interpolated; the days of a longer run are not below any threshold and count as calendar days of
      recovery, so they split episodes, as the grader's missing days do (heatwaveR ``exceedance`` counts a
      missing day as not below and joins runs only across ≤ 2 days; D-19.680). (Unsampled days under
      ``sampled_only`` are instead no recovery, D-19.678.) Default **None** (every gap interpolated; a
      trailing run after the last count with a follow-up day: at most 7, D-19.717); **7** is the grader's
      limit (zoo ``na.approx(maxgap = 7)``: "ANC values that are missing for > 7 consecutive days
      remain missing"). Range 1-100.
    - `never_recovered_from_day` (grader rule of §5.1): an ANC ≤ 500/µL episode starting by this day and
      lasting to the end of follow-up (`_no_recovery_after`) is grade 4. Default **3**; range 0-30 (the early
      window).
    G-CSF and transfusions (H5): counts are used as given [P].
    """

    early_g4_min_days: int = field(default=31, metadata=allowed(low=15, high=31, integer=True, unit="days"))
    min_recovery_days: int = field(default=3, metadata=allowed(low=1, high=100, integer=True, unit="days"))
    late_min_values: int = field(default=2, metadata=allowed(values=(1, 2)))
    unsampled_days: UnsampledDays = UnsampledDays.LINEAR
    never_recovered_from_day: int = field(
        default=3, metadata=allowed(low=0, high=30, integer=True, unit="days")
    )
    max_interpolated_days: int | None = field(
        default=None, metadata=allowed(low=1, high=100, integer=True, optional=True, unit="days")
    )

    def __post_init__(self) -> None:
        check_fields(self)
        object.__setattr__(
            self, "unsampled_days", enum_member(UnsampledDays, self.unsampled_days, "unsampled_days")
        )
        if self.max_interpolated_days is not None and self.unsampled_days is not UnsampledDays.LINEAR:
            raise OptionError(
                Problem(
                    "applies to linear interpolation of unsampled days only, "
                    f"not {self.unsampled_days.value}",
                    field="max_interpolated_days",
                    value=self.max_interpolated_days,
                    allowed="none unless unsampled days are interpolated (linear)",
                )
            )

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["unsampled_days"] = self.unsampled_days.value
        return values


@dataclass(frozen=True)
class IcahtGrade:
    """Early and late ICAHT grades of one subject (None: not gradable, reason in the rule)."""

    early_grade: int | None
    early_rule: str
    early_days_anc_le_500: int
    early_days_anc_le_100: int
    late_grade: int | None
    late_rule: str
    late_nadir_per_ul: float | None
    options: IcahtOptions = field(default_factory=IcahtOptions)
    scale: str = ICAHT_SCALE
    source: str = ICAHT_SOURCE
    early_lower_bound: bool = False
    """The early grade is a lower bound (D-19.717): the counts stop with ANC ≤ 500/µL while follow-up goes on
    past the carried days, and reading the unknown days after the last count as still below would give a
    higher grade."""
    late_lower_bound: bool = False
    """The late grade is a lower bound (D-19.788): the counts stop inside the late window before the day of
    last follow-up (capped at day 100) or before day 100 when a count follows day 100, and one more count at
    the level the open days may stay at would give a higher grade (the second value of a non-transient
    neutropenia): the last count's, or the higher of it and a count within 7 days after day 100 (D-19.790);
    a grade 0 is never flagged."""


def _daily_values(days: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One value per sampled day: the lowest count of the day (a measured count at or below a threshold
    makes the day cytopenic, whatever else was measured that day)."""
    unique_days = np.unique(days)
    lowest = np.array([values[days == d].min() for d in unique_days], dtype=float)
    return unique_days, lowest


def _is_below(value: float, threshold: float, strict: bool) -> bool:
    """`value` ≤ `threshold`, or < with `strict`."""
    return value < threshold if strict else value <= threshold


def _decimal(value: float) -> Fraction:
    """The decimal a count was written as, exactly: the shortest text that reads back as the same double
    (`repr`; 71.6 → 716/10, where the double itself is 71.599999999999994315658113919198513031005859375). A
    count converted to the grading's unit by a decimal shift (cells/µL to ×10^9/L, `to_canonical`,
    D-19.849) is the correctly rounded double of that decimal, so its shortest text is the decimal."""
    return Fraction(repr(float(value)))


NEAR_TIE = 1e-12
"""Distance of an interpolated day's weighted sum from the threshold's, relative to
max(|y0|, |y1|, threshold)·(x1 - x0), within which the day is compared again in exact rational arithmetic
(`_line_below`): the floating-point comparison errs by a few units in the last place (about 1e-16
relative), so every day it could misplace is within this band, and only near ties are (D-19.1122)."""


def _line_below(
    grid: np.ndarray, sampled_days: np.ndarray, lowest: np.ndarray, threshold: float, strict: bool
) -> npt.NDArray[np.bool_]:
    """Whether the straight line between the sampled days (`lowest`, one value a day) is at or below
    `threshold` (strictly below with `strict`) on each day of `grid` within the sampled range: a sampled day
    by its own value; a day x between sampled days x0 < x < x1 by the line
    y0 + (y1 - y0)·(x - x0)/(x1 - x0), compared without dividing: y0·(x1 - x) + y1·(x - x0) against
    threshold·(x1 - x0). That comparison is made in floating point for every day and, for the days within
    `NEAR_TIE` of the threshold, again exactly on the counts as written (`_decimal`, `fractions.Fraction`):
    exact for whole counts and for decimal ones alike. In doubles the line rounds: 960/µL on day 0 and
    40/µL on day 14 gave 500.00000000000006 on day 7 by `numpy.interp` (slope·(x - x0) + y0), and platelets
    71.6 on day 0 and 42.8 ×10^9/L on day 4 give 71.6·1 + 42.8·3 = 199.99999999999997 < 4·50 on day 3,
    where the line — and the published grader's zoo ``na.approx``, R ``approx``:
    y0 + (y1 - y0)·((x - x0)/(x1 - x0)) — is exactly on the threshold (500; 50, not < 50) (D-19.1121,
    D-19.1122). Days outside the sampled range are False (the caller's `known` is False there)."""
    inside = (grid >= sampled_days[0]) & (grid <= sampled_days[-1])
    out = np.zeros(len(grid), dtype=bool)
    x = grid[inside]
    right = np.searchsorted(sampled_days, x, side="left")  # the first sampled day ≥ x
    on_sample = sampled_days[right] == x
    result = np.zeros(len(x), dtype=bool)
    values = lowest[right[on_sample]]
    result[on_sample] = values < threshold if strict else values <= threshold
    between = ~on_sample
    if between.any():
        j1 = right[between]
        x0, x1 = sampled_days[j1 - 1].astype(float), sampled_days[j1].astype(float)
        y0, y1 = lowest[j1 - 1], lowest[j1]
        xs = x[between].astype(float)
        weighted = y0 * (x1 - xs) + y1 * (xs - x0)
        bound = threshold * (x1 - x0)
        compared = weighted < bound if strict else weighted <= bound
        scale = np.maximum(np.maximum(np.abs(y0), np.abs(y1)), abs(threshold)) * (x1 - x0)
        for i in np.flatnonzero(np.abs(weighted - bound) <= NEAR_TIE * scale):  # near ties: exactly
            exact = _decimal(y0[i]) * int(x1[i] - xs[i]) + _decimal(y1[i]) * int(xs[i] - x0[i])
            exact_bound = _decimal(threshold) * int(x1[i] - x0[i])
            compared[i] = exact < exact_bound if strict else exact <= exact_bound
        result[between] = compared
    out[inside] = result
    return out


def _daily_below(
    days: np.ndarray,
    anc: np.ndarray,
    threshold: float,
    last_day: int,
    mode: UnsampledDays,
    max_gap: int | None = None,
    strict: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(below, known), booleans per day 0..last_day: the day's value is at or below (≤) `threshold` (strictly
    below (<) with `strict`), and the day has a value at all.

    Sampled days use the lowest count of the day. Unsampled days: ``linear`` interpolates between the
    neighbouring sampled days, compared with the threshold on the line itself (`_line_below`: a day the line
    puts exactly on the threshold is on it, for whole and decimal counts, D-19.1121, D-19.1122) (days before
    the first count have no value; with `max_gap`, the days of a run
    of more than `max_gap` consecutive unsampled days are not below but counted as calendar days, a recovery,
    as the published grader counts its missing days: D-19.680); ``locf`` carries the last sampled day
    forward (from a count before day 0 too); ``sampled_only`` gives them no value. A day without a value
    (`known` false) is unknown: not below, and no recovery either (`_episodes`, D-19.678)."""
    below = np.zeros(last_day + 1, dtype=bool)
    known = np.zeros(last_day + 1, dtype=bool)
    if len(days) == 0:
        return below, known
    sampled_days, lowest = _daily_values(days, anc)
    if mode is UnsampledDays.LINEAR:
        grid = np.arange(last_day + 1)
        known = (grid >= sampled_days[0]) & (grid <= sampled_days[-1])
        below = known & _line_below(grid, sampled_days, lowest, threshold, strict)
        if max_gap is not None:
            # an unsampled day between sampled days s_i < day < s_i+1 lies in a run of s_i+1 - s_i - 1 days;
            # the grader leaves a longer run missing and its exceedance counts a missing day as not below:
            # not below, but a calendar day of recovery, so the run splits episodes (D-19.680)
            following = np.clip(np.searchsorted(sampled_days, grid), 1, len(sampled_days) - 1)
            run = sampled_days[following] - sampled_days[following - 1] - 1
            below &= np.isin(grid, sampled_days) | (run <= max_gap)
        return below, known
    if mode is UnsampledDays.LOCF:
        current: bool | None = None
        by_day = dict(zip(sampled_days.tolist(), lowest.tolist(), strict=True))
        before = sampled_days < 0
        if before.any():
            current = _is_below(float(lowest[before][-1]), threshold, strict)
        for day in range(last_day + 1):
            if day in by_day:
                current = _is_below(by_day[day], threshold, strict)
            below[day] = bool(current)
            known[day] = current is not None
        return below, known
    for d, a in zip(sampled_days, lowest, strict=True):
        if 0 <= d <= last_day:
            below[int(d)] = _is_below(float(a), threshold, strict)
            known[int(d)] = True
    return below, known


def _episodes(below: np.ndarray, known: np.ndarray, min_recovery_days: int) -> list[tuple[int, int]]:
    """Runs of below days as (first, last) day, merging runs separated by fewer than `min_recovery_days`.

    The recovery between two runs is counted in days with a value (`known`): ANC recovery is three
    consecutive values on different days (toxicity-grading.md §5.4), so an unknown day (not sampled under
    ``sampled_only``) is no recovery (D-19.678). Under ``linear`` (a day beyond the gap limit included: the
    grader's rule, D-19.680) and ``locf`` every day between two runs counts: calendar days."""
    runs: list[tuple[int, int]] = []
    day = 0
    while day < len(below):
        if below[day]:
            start = day
            while day + 1 < len(below) and below[day + 1]:
                day += 1
            runs.append((start, day))
        day += 1
    merged: list[tuple[int, int]] = []
    for start, end in runs:
        gap = int(known[merged[-1][1] + 1 : start].sum()) if merged else 0
        if merged and gap < min_recovery_days:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _longest(
    below: np.ndarray, known: np.ndarray, min_recovery_days: int
) -> tuple[int, tuple[int, int] | None]:
    """Length in days with a value of the longest episode, and that episode (first, last day)."""
    best, best_episode = 0, None
    for start, end in _episodes(below, known, min_recovery_days):
        length = int(known[start : end + 1].sum())
        if length > best:
            best, best_episode = length, (start, end)
    return best, best_episode


def _early_window_end(days: np.ndarray, early_mask: np.ndarray, follow_up_day: int | None = None) -> int:
    """Last day of the early window's follow-up (D-19.673, D-19.717): day 30 when the subject has a count
    after day 30 (follow-up continues past the window, and that count bounds the unsampled days before it);
    otherwise, when the subject's last day of follow-up (`follow_up_day`: death, loss, or the data cut-off)
    is given, that day capped at day 30 (the published grader's grid runs to day 30 or the date of last
    follow-up, whichever is earlier), and never before the last count; otherwise the last count of days
    0-30. Without a follow-up day the counts do not say why they stop there (a death, a loss to follow-up,
    or labs no longer drawn) and the last count is read as the end of follow-up (D-19.682). (`grade_icaht`
    carries the last count over a short trailing run to this day, D-19.717.) An episode
    lasting "to the end of follow-up" (§5.1) must reach this day or, when the days before it are unknown,
    the last day with a value (`_no_recovery_after`)."""
    if (days > EARLY_LAST_DAY).any():
        return EARLY_LAST_DAY
    last_count = int(days[early_mask].max())
    if follow_up_day is not None:
        return max(last_count, min(EARLY_LAST_DAY, int(follow_up_day)))
    return last_count


def _no_recovery_after(days: np.ndarray, anc: np.ndarray, last_known: int, last_day: int) -> bool:
    """An ANC ≤ 500/µL episode reaching the window's last day with a value (`last_known`) lasts to the end of
    follow-up (§5.1; D-19.673, D-19.681): when that day is the window's end (`last_day`: day 30 when a count
    follows day 30, else the last count), or when the days after it are unknown (not sampled under
    ``sampled_only``) and the first count after it, on days 31-100 (the late window's range; a later count
    says nothing about the early window), is still ≤ 500/µL (its lowest of the day): no recovery is seen,
    and a later low count is more evidence of not recovering, never less. No count on days 31-100: no
    evidence, not never recovered. (Under ``linear`` and ``locf`` every day to the window's end has a value,
    so this look-ahead is ``sampled_only``'s only; beyond a gap limit the grader reads only days 0-30.)"""
    if last_known == last_day:
        return True
    later = (days > last_known) & (days <= LATE_LAST_DAY)
    if not later.any():
        return False
    first = days[later].min()
    return bool(anc[later & (days == first)].min() <= 500.0)


def _early_grade(
    below500: np.ndarray,
    below100: np.ndarray,
    known: np.ndarray,
    opts: IcahtOptions,
    days: np.ndarray,
    anc: np.ndarray,
    last_day: int,
) -> tuple[int, int, int, int, int, tuple[int, int] | None, bool, int]:
    """(grade, grade by ≤ 500, grade by ≤ 100, days ≤ 500, days ≤ 100, longest ≤ 500 episode (the one reaching
    the last day with a value when never recovered), never recovered, last day with a value) of the early
    window from its daily below/known flags (§5.1)."""
    days500, episode500 = _longest(below500, known, opts.min_recovery_days)
    days100, _ = _longest(below100, known, opts.min_recovery_days)
    g500 = 0
    if days500 >= opts.early_g4_min_days:
        g500 = 4
    elif days500 >= 14:
        g500 = 3
    elif days500 >= 7:
        g500 = 2
    elif days500 >= 1:
        g500 = 1
    g100 = 4 if days100 >= 14 else 3 if days100 >= 7 else 0
    last_known = int(np.flatnonzero(known).max())  # a sampled day of the window always has a value
    # never recovered: the episode reaching the last known day, whichever is the longest (D-19.792)
    final = [e for e in _episodes(below500, known, opts.min_recovery_days) if e[1] == last_known]
    never_recovered = bool(
        final
        and final[0][0] <= opts.never_recovered_from_day
        and _no_recovery_after(days, anc, last_known, last_day)
    )
    if never_recovered:
        episode500 = final[0]
    grade = max(g500, g100, 4 if never_recovered else 0)
    return grade, g500, g100, days500, days100, episode500, never_recovered, last_known


def _series(
    days: Sequence[int], counts: Sequence[float], name: str, censor_day: int | None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """(days, counts) of one subject sorted by day; an `InputError` naming the argument for series of
    different lengths, a count that is not a finite number ≥ 0, a day or censoring day that is not a whole
    number (D-19.79), a censoring day before day 0 (a therapy before the infusion is not subsequent to it,
    D-19.1120)."""
    try:
        d = np.asarray(days, dtype=float)
        values = np.asarray(counts, dtype=float)
    except (TypeError, ValueError):
        raise InputError(
            Problem("not a sequence of numbers", field=f"days / {name}", allowed="numbers")
        ) from None
    if d.ndim != 1 or values.ndim != 1 or len(d) != len(values):
        raise InputError(
            Problem(
                f"days and {name} differ in length or shape ({d.shape} and {values.shape})",
                field=name,
                allowed="one count per day",
            )
        )
    bad_days = ~np.isfinite(d) | (d != np.round(d))
    if bad_days.any():
        value = d[np.flatnonzero(bad_days)[0]]
        raise InputError(Problem("not a whole number", field="days", value=value, allowed="whole days"))
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        value = values[np.flatnonzero(bad)[0]]
        raise InputError(Problem("not a finite number ≥ 0", field=name, value=value, allowed="a count ≥ 0"))
    # a new therapy is censored from its day on; one before the infusion is not subsequent to the product
    # (EHA/EBMT 2023) and would censor every count of it: refused (D-19.1120)
    check_argument("censor_day", censor_day, Allowed(low=0, integer=True, optional=True, unit="days"))
    order = np.argsort(d, kind="stable")
    return d[order].astype(np.int64), values[order]


class _LateOpen(NamedTuple):
    """The late window's open days (D-19.788): after `last` (the last count of days 31-100) to `end`."""

    last: int
    end: int
    level: float
    last_value: float
    near: tuple[int, float] | None
    """The first count after day 100 when it lies within `TRAILING_CARRY_DAYS` of day 100 (D-19.790)."""

    def reading(self, unit: str, name: str) -> str:
        """The counts the open days are read at, each on its day (the rule text)."""
        if self.near is None:
            return f"{name} {self.last_value:g}{unit} on day {self.last}"
        return (
            f"{name} {self.last_value:g}{unit} on day {self.last} and {self.near[1]:g}{unit} on day "
            f"{self.near[0]} (the higher read)"
        )


def _near_after(days: np.ndarray, values: np.ndarray) -> tuple[int, float] | None:
    """The first count after day 100 when it is within `TRAILING_CARRY_DAYS` of day 100 (the grader's carry,
    as the early window's trailing days, D-19.717): only such a count bounds the days up to day 100 and
    fills the late grid toward it (D-19.790); a later one says only that follow-up went on."""
    after = days > LATE_LAST_DAY
    if not after.any():
        return None
    first = int(days[after].min())
    if first > LATE_LAST_DAY + TRAILING_CARRY_DAYS:
        return None
    return first, float(values[days == first].min())


def _late_open_end(days: np.ndarray, values: np.ndarray, follow_up_day: int | None) -> _LateOpen | None:
    """The late window's days after its last count that no count of it covers (D-19.788), else None. `last`:
    the last count of days 31-100; `end`: day 100 (`LATE_LAST_DAY`) when a count follows day 100 (follow-up
    went on past the window, D-19.720), otherwise `follow_up_day` (death, loss, the cut-off; already ended
    the day before a new therapy) capped at day 100; None when `end` is not after `last`. `level`: the level
    the days after `last` may stay at, the last count's (its lowest of the day); with a count within
    `TRAILING_CARRY_DAYS` after day 100 the higher of it and that count (both bound those days: as the first
    count after an early episode, D-19.681, a later count at a level that would not raise the grade clears
    the flag); a count further after day 100 does not bound them (D-19.681 rejected "the first later count on
    any day"): the level stays the last count's. Without a follow-up day or a later count the last count is
    read as the end of follow-up, as for the early window (D-19.682): no open days."""
    late = (days > EARLY_LAST_DAY) & (days <= LATE_LAST_DAY)
    if not late.any():
        return None
    last = int(days[late].max())
    last_value = float(values[days == last].min())
    level = last_value
    near = _near_after(days, values)
    if near is not None:
        level = max(level, near[1])
    if (days > LATE_LAST_DAY).any():
        end = LATE_LAST_DAY
    elif follow_up_day is None:
        return None
    else:
        end = min(LATE_LAST_DAY, int(follow_up_day))
    return _LateOpen(last, end, level, last_value, near) if end > last else None


def _late_anc_grade(days: np.ndarray, anc: np.ndarray, k: int) -> tuple[int | None, str, float | None]:
    """(grade, rule, nadir) of late ICAHT (§5.2) from the counts of days 31-100: the grade of the `k`-th
    lowest daily value (the lowest count of each day, D-19.676)."""
    late_mask = (days > EARLY_LAST_DAY) & (days <= LATE_LAST_DAY)
    late_values = np.sort(_daily_values(days[late_mask], anc[late_mask])[1])
    nadir = float(late_values[0]) if len(late_values) else None
    if not len(late_values):
        return None, f"not gradable: no ANC on days {EARLY_LAST_DAY + 1}-{LATE_LAST_DAY}", None
    if len(late_values) < k:
        return (
            0,
            f"grade 0: ANC on {len(late_values)} day(s) of days 31-100; late_min_values={k} needed",
            nadir,
        )
    reference = float(late_values[k - 1])
    grade = (
        4
        if reference <= 100
        else 3
        if reference <= 500
        else 2
        if reference <= 1000
        else 1
        if reference <= 1500
        else 0
    )
    if grade == 0:
        return 0, f"grade 0: fewer than {k} ANC value(s) ≤ 1500/µL on days 31-100", nadir
    bound = {1: 1500, 2: 1000, 3: 500, 4: 100}[grade]
    return grade, f"grade {grade}: {k} ANC value(s) ≤ {bound}/µL on days 31-100 (nadir {nadir:g}/µL)", nadir


def grade_icaht(
    days: Sequence[int],
    anc_per_ul: Sequence[float],
    options: IcahtOptions | None = None,
    *,
    censor_day: int | None = None,
    follow_up_day: int | None = None,
) -> IcahtGrade:
    """Early (day 0-30) and late (> day 30) ICAHT grades from one subject's ANC series (cells/µL).

    `follow_up_day` (optional): the subject's last day of follow-up relative to the infusion (death, loss
    to follow-up, or the data cut-off). When the counts stop before it and before day 30, the window ends at
    day 30 or that day; the last count is carried over at most `max_interpolated_days` (default 7) trailing
    days to the window's end, as the published grader's ``na.approx(maxgap = 7, rule = 2)`` (``sampled_only``:
    the last count is then read as the end); a longer trailing run is unknown: an episode reaching the last
    count is not "never recovered", the grade is that of the days seen, and when reading the unknown days as
    still below would raise it, `early_lower_bound` is set and the rule says "at least" (D-19.717). Without
    it the last count is read as the end of follow-up (D-19.682). Likewise for the late window (D-19.788):
    when the counts stop inside days 31-100 before that day (capped at day 100; or before day 100 with a
    count after day 100, D-19.790) and one more count at the level the days after may stay at would raise a
    late grade above 0, `late_lower_bound` is set and the rule says "at least"
    (the grade itself is that of the counts seen).

    Early (§5.1): grade from the longest episode of ANC ≤ 500/µL (1-6 days → 1, 7-13 → 2, 14 to
    `early_g4_min_days`-1 → 3, ≥ `early_g4_min_days` → 4) and of ANC ≤ 100/µL (7-13 days → 3, ≥ 14 → 4),
    the higher of the two; episodes separated by a recovery shorter than `min_recovery_days` are merged; an
    ANC ≤ 500 episode starting by day `never_recovered_from_day` and lasting to the end of follow-up is grade
    4 (the end of follow-up of the window: day 30 when there is a count after day 30, which bounds the
    unsampled days before it, otherwise the last count of days 0-30; D-19.673; when the days after the
    episode's last known day are unknown, the first count after it on days 31-100 must still be ≤ 500/µL,
    D-19.681). Unsampled days under ``sampled_only`` are unknown: not below, no recovery, not counted
    (D-19.678); days beyond `max_interpolated_days` are not below and count as calendar days of recovery,
    the grader's rule (D-19.680). Late (§5.2): grade of the
    `late_min_values`-th lowest ANC after day 30 (≤ 1500 → 1, ≤ 1000 → 2, ≤ 500 → 3, ≤ 100 → 4), so that
    grade needs that many values at or below its threshold (non-transient neutropenia); each day contributes
    one value, its lowest (D-19.676). Source: Rejeski et al. Blood 2023 (see module docstring).

    >>> grade_icaht([7, 14], [400.0, 2000.0]).early_grade  # interpolated: only day 7 <= 500/µL
    1
    """
    opts = options or IcahtOptions()
    d, a = _series(days, anc_per_ul, "anc_per_ul", censor_day)
    check_argument("follow_up_day", follow_up_day, Allowed(low=0, integer=True, optional=True, unit="days"))
    if censor_day is not None:  # new therapy: counts from that day on are not attributed to this product
        keep = d < censor_day
        d, a = d[keep], a[keep]
        if follow_up_day is not None:  # and the product's follow-up ends the day before (D-19.717)
            follow_up_day = max(0, min(follow_up_day, censor_day - 1))

    early_mask = (d >= 0) & (d <= EARLY_LAST_DAY)
    early_lower_bound = False
    if not early_mask.any():
        early_grade: int | None = None
        early_rule = "not gradable: no ANC on days 0-30"
        days500 = days100 = 0
    else:
        last_day = _early_window_end(d, early_mask, follow_up_day)
        mode = opts.unsampled_days
        gap = opts.max_interpolated_days
        last_count = int(d[early_mask].max())
        last_value = float(a[d == last_count].min())
        # days from the last count to the end of follow-up, when no count follows (D-19.717)
        open_days = 0 if (d > last_count).any() else last_day - last_count
        carry = gap if gap is not None else TRAILING_CARRY_DAYS
        carried = 0 < open_days <= carry and mode is not UnsampledDays.LOCF
        fill_d, fill_a = d, a
        if carried and mode is UnsampledDays.LINEAR:
            # the grader fills a trailing run of ≤ maxgap missing days with the last count (rule = 2)
            fill_d, fill_a = np.append(d, last_day), np.append(a, last_value)
        elif carried:  # sampled_only: unsampled days stay unknown; follow-up ending so soon ends it here
            last_day = last_count
        # every count (after censoring) informs the unsampled days of the window, a later one included
        below500, known = _daily_below(fill_d, fill_a, 500.0, last_day, mode, gap)
        below100, _ = _daily_below(fill_d, fill_a, 100.0, last_day, mode, gap)
        early_grade, g500, g100, days500, days100, episode500, never_recovered, last_known = _early_grade(
            below500, below100, known, opts, d, a, last_day
        )
        if early_grade == 0:
            early_rule = "grade 0: no day with ANC ≤ 500/µL on days 0-30"
        elif never_recovered and early_grade == 4 and g500 < 4 and g100 < 4:
            assert episode500 is not None  # never_recovered needs the episode
            early_rule = f"grade 4: ANC ≤ 500/µL from day {episode500[0]} to day {last_known}, " + (
                f"the end of follow-up (the last count, day {last_count}, carried over {open_days} day(s): "
                f"a gap of ≤ {carry} days is filled), without recovery seen"
                if carried and mode is UnsampledDays.LINEAR and last_known == last_day
                else "the last count, without recovery seen (the counts end there)"
                + (f"; follow-up ends {open_days} day(s) later (≤ {carry})" if carried else "")
                if last_known == last_day and last_day < EARLY_LAST_DAY
                else f"day {last_day} of the window, without recovery"
                if last_known == last_day
                else "the last day with a value; the next count is still ≤ 500/µL: without recovery"
            )
        elif g100 >= g500:
            early_rule = f"grade {early_grade}: ANC ≤ 100/µL for {days100} days"
        else:
            early_rule = f"grade {early_grade}: ANC ≤ 500/µL for {days500} days"
        tail = np.arange(last_day + 1) > last_known
        if early_grade < 4 and tail.any() and open_days > 0 and last_value <= 500.0:
            # the counts end inside the window with ANC ≤ 500/µL while follow-up goes on past the carried days
            # (D-19.717): read the unknown days after the last count as still below; a higher grade makes
            # the grade seen a lower bound
            upper = _early_grade(
                below500 | tail,
                below100 | (tail & (last_value <= 100.0)),
                known | tail,
                opts,
                d,
                a,
                last_day,
            )[0]
            if upper > early_grade:
                early_lower_bound = True
                early_rule += (
                    f"; at least: the counts end on day {last_count} with ANC ≤ "
                    f"{100 if last_value <= 100.0 else 500}/µL, follow-up to day {last_day} of the window"
                )
        graded = d[d <= LATE_LAST_DAY]
        if follow_up_day is not None and follow_up_day < int(graded.max()):
            # a count after the day of last follow-up: the counts show follow-up went on (D-19.720)
            early_rule += (
                f"; follow-up day {follow_up_day} is before the count of day {int(graded.max())}: ignored"
            )

    # the lowest count of each day (two draws of one day are one value: non-transient needs two days;
    # D-19.676)
    late_grade, late_rule, nadir = _late_anc_grade(d, a, opts.late_min_values)
    late_lower_bound = False
    open_late = _late_open_end(d, a, follow_up_day)
    if open_late is not None and late_grade is not None and 0 < late_grade < 4:  # a 0 is no bound
        # the counts stop inside the late window while follow-up goes on (D-19.788): one more count at the
        # level the unsampled days may stay at, by the window's end; a higher grade makes the grade seen a
        # lower bound
        k = opts.late_min_values
        late_upper = _late_anc_grade(np.append(d, open_late.end), np.append(a, open_late.level), k)[0]
        if late_upper is not None and late_upper > late_grade:
            late_lower_bound = True
            late_rule += (
                f"; at least: no count from day {open_late.last + 1} to day {open_late.end} of the window, "
                + open_late.reading("/µL", "ANC")
            )
    return IcahtGrade(
        early_grade=early_grade,
        early_rule=early_rule,
        early_days_anc_le_500=int(days500),
        early_days_anc_le_100=int(days100),
        late_grade=late_grade,
        late_rule=late_rule,
        late_nadir_per_ul=nadir,
        options=opts,
        early_lower_bound=early_lower_bound,
        late_lower_bound=late_lower_bound,
    )


T_ICAHT_SOURCE = (
    "Rejeski K et al. EHA/EBMT ICAHT consensus, Blood 2023;142:865-877, thrombocytopenia extension (T-ICAHT; "
    "ASH table ash-sap.org/view-large/12809257; docs/science/toxicity-grading.md §5.3)"
)
LATE_LAST_DAY = 100


@dataclass(frozen=True)
class TIcahtGrade:
    """Early and late T-ICAHT grades of one subject (None: not gradable, reason in the rule)."""

    early_grade: int | None
    early_rule: str
    early_days_plt_lt_50: int
    early_days_plt_lt_20: int
    late_grade: int | None
    late_rule: str
    late_days_plt_lt_20: int
    options: IcahtOptions = field(default_factory=IcahtOptions)
    scale: str = "EHA/EBMT T-ICAHT 2023"
    source: str = T_ICAHT_SOURCE
    late_lower_bound: bool = False
    """The late grade is a lower bound (D-19.788): the counts stop inside the late window while follow-up
    goes on to a later day of it (to day 100 when a count follows day 100), and the platelets staying to that
    day at the last count's level (or the higher of it and a count within 7 days after day 100, D-19.790)
    would give a higher grade (more days < 20 ×10^9/L, or a second test below a threshold), whatever the
    unsampled-day option (D-19.791); a grade 0 is never flagged."""


def _daily_below_strict(
    days: np.ndarray,
    values: np.ndarray,
    threshold: float,
    first_day: int,
    last_day: int,
    mode: UnsampledDays,
    max_gap: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(below, known) per day first_day..last_day: platelets strictly below `threshold` (× 10^9/L), and the
    day has a value (`_daily_below`)."""
    # shift so that the window starts at index 0; earlier counts carry (LOCF) or interpolate into it, and a
    # later one bounds the unsampled days before it (D-19.673)
    return _daily_below(days - first_day, values, threshold, last_day - first_day, mode, max_gap, strict=True)


def _cumulative(below_known: tuple[np.ndarray, np.ndarray], min_recovery_days: int) -> int:
    """Days with a value in the episodes below a threshold (non-stable recoveries counted as below)."""
    below, known = below_known
    return int(sum(known[a : b + 1].sum() for a, b in _episodes(below, known, min_recovery_days)))


def _late_t_grade(
    late_values: np.ndarray, below20: np.ndarray, known20: np.ndarray, k: int, min_recovery_days: int
) -> tuple[int, str, int]:
    """(grade, rule, days < 20) of late T-ICAHT from the daily lowest tests of days 31-100 and the daily
    < 20 ×10^9/L flags of the late grid (§5.3)."""
    l20 = _cumulative((below20, known20), min_recovery_days)
    n_below = {t: int((late_values < t).sum()) for t in (100.0, 50.0, 20.0)}
    grade = 0
    rule = f"grade 0: fewer than {k} platelet count(s) < 100 ×10^9/L on days 31-100"
    if n_below[100.0] >= k:
        grade, rule = 1, f"grade 1: {n_below[100.0]} count(s) < 100 ×10^9/L on days 31-100"
    if n_below[50.0] >= k:
        grade, rule = 2, f"grade 2: {n_below[50.0]} count(s) < 50 ×10^9/L on days 31-100"
    if n_below[20.0] >= k and l20 >= 1:
        grade = 4 if l20 >= 14 else 3
        rule = f"grade {grade}: platelets < 20 ×10^9/L for {l20} days on days 31-100"
    return grade, rule, l20


def grade_t_icaht(
    days: Sequence[int],
    platelets_10e9_l: Sequence[float],
    options: IcahtOptions | None = None,
    *,
    censor_day: int | None = None,
    follow_up_day: int | None = None,
) -> TIcahtGrade:
    """Early (day 0-30) and late (day 31-100) T-ICAHT grades from one subject's platelet series (× 10^9/L).

    docs/science/toxicity-grading.md §5.3 (ASH table of the EHA/EBMT consensus): early: PLT < 50 for 1-6 days
    grade 1,
    ≥ 7 days grade 2; PLT < 20 for 1-13 days grade 3, ≥ 14 days grade 4. Late: PLT < 100 grade 1, < 50
    grade 2 (≥ 1 day), < 20 for 1-13 days grade 3, ≥ 14 days grade 4. Days below a threshold are cumulative;
    recoveries shorter than `min_recovery_days` (non-stable) count as days below; late grades need at least
    `late_min_values` (default 2) tests below the threshold, on different days (the lowest test of a day
    counts once, D-19.676). Unsampled days follow `unsampled_days` (H4).
    Censoring at progression, new therapy or death and the transfusion-free platelet recovery definition
    need data this function does not take: pass counts up to the censoring date. Thresholds are strict (<).
    `follow_up_day` (optional, as for `grade_icaht`: death, loss or the cut-off) flags a late grade that is a
    lower bound (`late_lower_bound`, "at least" in the rule): the counts stop inside days 31-100 before it
    (capped at day 100; before day 100 with a count after day 100, D-19.790) and the platelets staying at the
    last count's level to that day would give a higher grade than a grade ≥ 1 seen (D-19.788); those days are
    read below directly, whatever `unsampled_days` (D-19.791). A count after day 100 extends the late day grid
    to day 100 (filled toward it under `unsampled_days`, D-19.790). The flag changes no grade; the early grade
    is not flagged (no never-recovered rule, D-19.717).

    >>> grade_t_icaht(list(range(8)), [30.0] * 7 + [200.0]).early_grade  # < 50 x10^9/L for 7 days
    2
    """
    opts = options or IcahtOptions()
    d, v = _series(days, platelets_10e9_l, "platelets_10e9_l", censor_day)
    check_argument("follow_up_day", follow_up_day, Allowed(low=0, integer=True, optional=True, unit="days"))
    if censor_day is not None:  # censored at new therapy (EHA/EBMT 2023, T-ICAHT table)
        keep = d < censor_day
        d, v = d[keep], v[keep]
        if follow_up_day is not None:  # the product's follow-up ends the day before (D-19.717)
            follow_up_day = max(0, min(follow_up_day, censor_day - 1))
    mode = opts.unsampled_days
    gap = opts.max_interpolated_days

    def window(first: int, last_allowed: int) -> int | None:
        mask = (d >= first) & (d <= last_allowed)
        if not mask.any():
            return None
        if last_allowed == EARLY_LAST_DAY:
            return _early_window_end(d, mask)
        # a count after day 100 bounds the unsampled days before it: the grid runs to day 100, as the early
        # one to day 30 (D-19.673, D-19.790)
        # (only a count within TRAILING_CARRY_DAYS of day 100 does: a later one leaves the days open)
        return LATE_LAST_DAY if _near_after(d, v) is not None else int(d[mask].max())

    early = window(0, EARLY_LAST_DAY)
    if early is None:
        early_grade: int | None = None
        early_rule = "not gradable: no platelet count on days 0-30"
        e50 = e20 = 0
    else:
        e50 = _cumulative(_daily_below_strict(d, v, 50.0, 0, early, mode, gap), opts.min_recovery_days)
        e20 = _cumulative(_daily_below_strict(d, v, 20.0, 0, early, mode, gap), opts.min_recovery_days)
        g50 = 2 if e50 >= 7 else 1 if e50 >= 1 else 0
        g20 = 4 if e20 >= 14 else 3 if e20 >= 1 else 0
        early_grade = max(g50, g20)
        if early_grade == 0:
            early_rule = "grade 0: no day with platelets < 50 ×10^9/L on days 0-30"
        elif g20 >= g50:
            early_rule = f"grade {early_grade}: platelets < 20 ×10^9/L for {e20} days"
        else:
            early_rule = f"grade {early_grade}: platelets < 50 ×10^9/L for {e50} days"

    late = window(EARLY_LAST_DAY + 1, LATE_LAST_DAY)
    k = opts.late_min_values
    late_lower_bound = False
    if late is None:
        late_grade: int | None = None
        late_rule = "not gradable: no platelet count on days 31-100"
        l20 = 0
    else:
        late_mask = (d > EARLY_LAST_DAY) & (d <= LATE_LAST_DAY)
        late_values = _daily_values(d[late_mask], v[late_mask])[1]  # one test a day, its lowest (D-19.676)
        open_late = _late_open_end(d, v, follow_up_day)
        grid_end = late if open_late is None else max(late, open_late.end)
        below20, known20 = _daily_below_strict(d, v, 20.0, EARLY_LAST_DAY + 1, grid_end, mode, gap)
        seen = np.arange(grid_end - EARLY_LAST_DAY) <= late - EARLY_LAST_DAY - 1
        late_grade, late_rule, l20 = _late_t_grade(
            late_values, below20 & seen, known20 & seen, k, opts.min_recovery_days
        )
        if open_late is not None and 0 < late_grade < 4:  # a grade 0 is not flagged (D-19.790)
            # the counts stop inside the late window while follow-up goes on (D-19.788, D-19.791): the days
            # after the last day with a value, to the window's end, read as known and at the level the
            # platelets may stay at, whatever the option for unsampled days; a higher grade makes the grade
            # seen a lower bound
            tail = np.arange(grid_end - EARLY_LAST_DAY) > open_late.last - EARLY_LAST_DAY - 1
            if tail.any():
                # the option's filled values on the open days are masked for the bound only: the flag does
                # not depend on the option (D-19.791)
                below = open_late.level < 20.0
                upper = _late_t_grade(
                    np.append(late_values, open_late.level),
                    (below20 & seen & ~tail) | (tail & below),
                    (known20 & seen & ~tail) | tail,
                    k,
                    opts.min_recovery_days,
                )[0]
                if upper > late_grade:
                    late_lower_bound = True
                    late_rule += (
                        f"; at least: no count from day {open_late.last + 1} to day {open_late.end} of the "
                        "window, " + open_late.reading(" ×10^9/L", "platelets")
                    )
    return TIcahtGrade(
        early_grade=early_grade,
        early_rule=early_rule,
        early_days_plt_lt_50=e50,
        early_days_plt_lt_20=e20,
        late_grade=late_grade,
        late_rule=late_rule,
        late_days_plt_lt_20=l20,
        options=opts,
        late_lower_bound=late_lower_bound,
    )


__all__ = [
    "ICAHT_SCALE",
    "ICAHT_SOURCE",
    "T_ICAHT_SOURCE",
    "IcahtGrade",
    "IcahtOptions",
    "TIcahtGrade",
    "UnsampledDays",
    "grade_icaht",
    "grade_t_icaht",
]
