"""The earliest possible date of birth and "dated before birth": the one rule of the screening candidate
(`cartrial.protocol.candidate`), the relapse engine (`cartrial.neuro.tables`) and the store's hard edit
check RELAPSE-BEFORE-BIRTH (D-19.1206). Pure: dates in, a date or a truth value out."""

from __future__ import annotations

import datetime as dt

from cartrial.protocol.calendar import add_months


def earliest_birth(
    birth_date: dt.date | None = None,
    birth_year: int | None = None,
    age_years: int | None = None,
    age_on: dt.date | None = None,
) -> dt.date | None:
    """The earliest day the person can have been born on, from the most precise record given: the date of
    birth itself; else 1 January of the birth year (D-19.553); else, for an age in completed years on
    `age_on`, `age_on` − (age + 1) years + 1 day (born a day earlier, they would be age + 1 on `age_on`;
    calendar-month clamping of `add_months`, D-19.1207). None when none is known: no before-birth check.
    Never later than a possible birth, so "before birth" is never a false alarm.

    >>> earliest_birth(birth_year=1975), earliest_birth(age_years=45, age_on=dt.date(2024, 3, 15))
    (datetime.date(1975, 1, 1), datetime.date(1978, 3, 16))
    """
    if birth_date is not None:
        return birth_date
    if birth_year is not None:
        return dt.date(int(birth_year), 1, 1)
    if age_years is not None and age_on is not None:
        return add_months(age_on, -12 * (int(age_years) + 1)) + dt.timedelta(days=1)
    return None


def before_birth(day: dt.date, born: dt.date | None) -> bool:
    """Whether `day` is strictly before `born` (`earliest_birth`): a record on the birthday is kept; nothing
    known of the birth (None), nothing is before it.

    >>> born = dt.date(1975, 6, 10)
    >>> before_birth(dt.date(1975, 6, 9), born), before_birth(born, born), before_birth(born, None)
    (True, False, False)
    """
    return born is not None and day < born


__all__ = ["before_birth", "earliest_birth"]
