"""Calendar-month look-back windows (`cartrial.protocol.calendar`).

Convention under test: same day of month, clamped to the month's end (SAS INTNX 'SAMEDAY',
dateutil.relativedelta, lubridate %m-%), as documented in the module. Expected dates are worked out by
hand from the calendar; dateutil (installed with pandas) serves as an independent oracle.
"""

from __future__ import annotations

from datetime import date

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from cartrial.errors import InputError
from cartrial.protocol import add_months, completed_years, count_events_in_window, in_window, months_before


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2024, 2, 29), 12, date(2023, 2, 28)),  # leap day back to a common year: clamp to 28 Feb
        (date(2024, 2, 29), 24, date(2022, 2, 28)),
        (date(2024, 2, 29), 48, date(2020, 2, 29)),  # leap year to leap year keeps 29 Feb
        (date(2025, 2, 28), 12, date(2024, 2, 28)),  # not moved to 29 Feb
        (date(2024, 3, 31), 1, date(2024, 2, 29)),
        (date(2023, 3, 31), 1, date(2023, 2, 28)),
        (date(2024, 5, 31), 1, date(2024, 4, 30)),
        (date(2024, 1, 15), 1, date(2023, 12, 15)),  # across a year boundary
        (date(2024, 6, 15), 0, date(2024, 6, 15)),
        (date(2024, 6, 15), 12, date(2023, 6, 15)),
    ],
)
def test_months_before_hand_worked_dates(start: date, months: int, expected: date) -> None:
    """Calendar months with end-of-month clamping (module docstring convention; hand-worked)."""
    assert months_before(start, months) == expected


def test_add_months_forward_clamps_and_is_not_inverse() -> None:
    """2024-01-31 + 1 month = 2024-02-29 (clamp); 2023-02-28 + 12 months = 2024-02-28 (clamp not undone)."""
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 2, 28), 12) == date(2024, 2, 28)


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_months_before_rejects_non_natural_months(bad: object) -> None:
    """A window length must be a whole, non-negative number of months."""
    with pytest.raises(InputError, match="months"):
        months_before(date(2024, 1, 1), bad)  # type: ignore[arg-type]


@given(st.dates(min_value=date(1902, 1, 1), max_value=date(2099, 12, 31)), st.integers(0, 200))
def test_months_before_matches_dateutil_relativedelta(d: date, months: int) -> None:
    """Independent oracle: dateutil.relativedelta(months=n) uses the same end-of-month clamping."""
    assert months_before(d, months) == d - relativedelta(months=months)


@given(st.dates(min_value=date(1902, 1, 1), max_value=date(2099, 12, 31)), st.integers(0, 200))
def test_months_before_invariants(d: date, months: int) -> None:
    """The result is never after `d`, lies exactly `months` calendar months back, and keeps the day or
    clamps it to the end of its month."""
    back = months_before(d, months)
    assert back <= d
    assert (d.year * 12 + d.month) - (back.year * 12 + back.month) == months
    assert back.day == d.day or back.day < d.day


RELAPSES = [date(2022, 3, 15), date(2023, 3, 14), date(2023, 3, 15), date(2023, 9, 1), date(2024, 3, 15)]


@pytest.mark.parametrize(
    ("inclusive", "expected"),
    # window [2023-03-15, 2024-03-15]: 2023-03-15 is the start, 2024-03-15 the end
    [("both", 3), ("start", 2), ("end", 2), ("neither", 1)],
)
def test_count_events_in_window_ends(inclusive: str, expected: int) -> None:
    """A 12-month window ending 2024-03-15 starts 2023-03-15 (same day); `inclusive` decides whether the
    events on 2023-03-15 and on 2024-03-15 count (hand count)."""
    assert count_events_in_window(RELAPSES, date(2024, 3, 15), 12, inclusive=inclusive) == expected  # type: ignore[arg-type]


def test_count_events_in_window_leap_day_screening() -> None:
    """Screening 2024-02-29: the 12-month window starts 2023-02-28 (clamp), so a relapse on 2023-02-28
    counts (inclusive start), 2023-02-27 does not, 2023-03-01 does."""
    end = date(2024, 2, 29)
    assert count_events_in_window([date(2023, 2, 28)], end, 12) == 1
    assert count_events_in_window([date(2023, 2, 27)], end, 12) == 0
    assert count_events_in_window([date(2023, 3, 1)], end, 12) == 1
    assert count_events_in_window([date(2023, 2, 28)], end, 12, inclusive="neither") == 0


def test_events_after_the_window_end_never_count() -> None:
    """Only events on or before the end date are in a look-back window."""
    assert count_events_in_window([date(2024, 3, 16)], date(2024, 3, 15), 12) == 0
    assert not in_window(date(2024, 3, 16), date(2024, 3, 15), 12)


def test_count_events_rejects_unknown_inclusive() -> None:
    """Only the four documented window-end settings are accepted (calendar module docstring)."""
    with pytest.raises(InputError, match="inclusive"):
        count_events_in_window([], date(2024, 1, 1), 12, inclusive="left")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("born", "on", "years"),
    [
        (date(2006, 3, 15), date(2024, 3, 14), 17),
        (date(2006, 3, 15), date(2024, 3, 15), 18),  # birthday reached on the day
        (date(2000, 2, 29), date(2018, 2, 28), 18),  # leap-day birthday reached 28 Feb (clamp convention)
        (date(2000, 2, 29), date(2018, 2, 27), 17),
        (date(1948, 6, 1), date(2024, 5, 31), 75),
    ],
)
def test_completed_years(born: date, on: date, years: int) -> None:
    """Age in completed years, with the module's clamping convention for 29 February birthdays."""
    assert completed_years(born, on) == years


def test_boolean_inclusive_means_both_or_neither() -> None:
    """As pandas' historical between(inclusive=True/False): True counts both ends, False neither."""
    assert count_events_in_window(RELAPSES, date(2024, 3, 15), 12, inclusive=True) == 3
    assert count_events_in_window(RELAPSES, date(2024, 3, 15), 12, inclusive=False) == 1
