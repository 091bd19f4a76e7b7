"""Calendar-month arithmetic for look-back windows (eligibility relapse windows, pre-treatment ARR).

Convention (stated once, used everywhere): subtracting or adding *n* calendar months keeps the day of
the month, and when that day does not exist in the target month it is clamped to the month's last day.
So 2024-02-29 minus 12 months is 2023-02-28, 2024-03-31 minus 1 month is 2024-02-29, and 2023-02-28
plus 12 months is 2024-02-28 (the clamp is not undone). This is the "same day, end-of-month aligned"
convention of SAS ``INTNX('MONTH', date, n, 'SAMEDAY')``, of ``dateutil.relativedelta(months=n)`` and
of lubridate's ``%m-%`` / ``%m+%``; it is the usual reading of "in the last 12 months" in registry
eligibility text (e.g. NCT04561557, docs/science/ct103a-nmosd-trial.md §2). The alternative of a fixed
365/730-day look-back is not used because it drifts by a day across leap years.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date
from typing import Literal

from cartrial.allowed import Allowed, check_argument, check_instance
from cartrial.errors import InputError, Problem

WindowInclusive = Literal["both", "start", "end", "neither"]


_MONTHS = Allowed(integer=True, label="a whole number of calendar months")
_MONTHS_BACK = Allowed(low=0, integer=True, label="a whole number of calendar months ≥ 0")


def _check_date(field: str, value: object) -> None:
    """A date argument is a `datetime.date` (text, a number or None is refused, naming `field`)."""
    check_instance(field, value, date, "a datetime.date")


def add_months(d: date, months: int) -> date:
    """`d` moved by `months` calendar months (negative goes back), clamping to the end of the month.

    Source: calendar-month convention of this module's docstring (SAS INTNX 'SAMEDAY',
    dateutil.relativedelta). 31 January + 1 month is clamped to the last day of February (2024 is a leap
    year); going back works the same way:

    >>> add_months(date(2024, 1, 31), 1)
    datetime.date(2024, 2, 29)
    >>> add_months(date(2024, 3, 31), -1)
    datetime.date(2024, 2, 29)
    """
    _check_date("d", d)
    check_argument("months", months, _MONTHS)
    months = int(months)
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise InputError(
            Problem(
                f"{d.isoformat()} moved by {months} months leaves the calendar",
                field="months",
                value=months,
                allowed="a move that stays within the years 1 to 9999",
            )
        )
    last_day = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(d.day, last_day))


def months_before(d: date, months: int) -> date:
    """The date `months` calendar months before `d` (end-of-month clamping).

    `months` must be ≥ 0. Source: the calendar-month convention of this module's docstring; 29 February
    has no counterpart in 2023, so it is clamped to 28 February:

    >>> months_before(date(2024, 2, 29), 12)
    datetime.date(2023, 2, 28)
    """
    check_argument("months", months, _MONTHS_BACK)
    return add_months(d, -int(months))


def window_start(end: date, months: int) -> date:
    """First day of the `months`-month look-back window ending on `end` (= ``months_before(end, months)``)."""
    return months_before(end, months)


def _inclusive(inclusive: WindowInclusive | bool) -> WindowInclusive:
    # booleans as in pandas' historical ``between(inclusive=True/False)``: True = both ends, False = neither
    if inclusive is True:
        return "both"
    if inclusive is False:
        return "neither"
    if not isinstance(inclusive, str) or inclusive not in ("both", "start", "end", "neither"):
        raise InputError(
            Problem(
                "not an allowed value",
                field="inclusive",
                value=inclusive,
                allowed="both | start | end | neither",
            )
        )
    return inclusive


def in_window(d: date, end: date, months: int, inclusive: WindowInclusive | bool = "both") -> bool:
    """Whether `d` falls in the look-back window [months_before(end, months), end].

    `inclusive` says which ends belong to the window: "both" (default: an event exactly `months`
    calendar months before `end`, or on `end` itself, counts), "start", "end" or "neither"; True and
    False mean "both" and "neither". A date exactly 12 months before `end` is the window's first day:

    >>> in_window(date(2023, 3, 15), end=date(2024, 3, 15), months=12)
    True
    >>> in_window(date(2023, 3, 15), end=date(2024, 3, 15), months=12, inclusive="end")
    False
    """
    inclusive = _inclusive(inclusive)
    start = months_before(end, months)
    after_start = d >= start if inclusive in ("both", "start") else d > start
    before_end = d <= end if inclusive in ("both", "end") else d < end
    return after_start and before_end


def count_events_in_window(
    dates: Iterable[date], end: date, months: int, inclusive: WindowInclusive | bool = "both"
) -> int:
    """Number of `dates` in the `months`-calendar-month window ending on `end`.

    The window is [months_before(end, months), end]; `inclusive` decides whether its ends count (see
    `in_window`; default "both"). Used for the relapse-activity eligibility rule (NCT04561557: "≥ 2
    relapses in the last 12 months, or 3 in the last 24 months with ≥ 1 in the last 12") and for the
    pre-treatment ARR window (docs/science/neuro-outcomes.md §4.3). Dates after `end` never count.
    Relapses of the synthetic candidate SCR-001, screened on 2024-03-15 (windows start 2023-03-15 and
    2022-03-15):

    >>> onsets = [date(2022, 9, 20), date(2023, 7, 2), date(2024, 1, 8)]
    >>> screening = date(2024, 3, 15)
    >>> count_events_in_window(onsets, screening, 12), count_events_in_window(onsets, screening, 24)
    (2, 3)
    """
    inclusive = _inclusive(inclusive)
    return sum(1 for d in dates if in_window(d, end, months, inclusive))


def completed_years(born: date, on: date) -> int:
    """Age in completed years on `on` for someone born on `born`.

    A birthday is reached when ``add_months(born, 12 * years) <= on``; so someone born on 29 February
    turns a year older on 28 February in common years (the clamping convention of this module).

    >>> completed_years(date(1975, 6, 10), on=date(2024, 3, 15))  # birthday in 2024 not reached yet
    48
    >>> completed_years(date(2000, 2, 29), on=date(2018, 2, 28))
    18
    """
    _check_date("born", born)
    _check_date("on", on)
    if on < born:
        raise InputError(
            Problem("before the date of birth", field="on", value=on, allowed="on or after born")
        )
    years = on.year - born.year
    if add_months(born, 12 * years) > on:
        years -= 1
    return years


__all__ = [
    "WindowInclusive",
    "add_months",
    "completed_years",
    "count_events_in_window",
    "in_window",
    "months_before",
    "window_start",
]
