"""The one "before birth" rule (D-19.1206): the earliest possible date of birth from what was recorded, and
a date strictly before it. Used by the screening candidate (`Candidate`), the relapse engine
(`cartrial.neuro.tables.parse_relapse_table`, `parse_birth_dates`) and the store's RELAPSE-BEFORE-BIRTH.

Hand-worked values: a date of birth is itself; a birth year Y only is 1 January Y (the earliest day of the
year, so "before birth" is never a false alarm; D-19.553); an age A in completed years on a date S only is
S − (A + 1) years + 1 day (someone born that day turns A + 1 the day after S; born a day earlier, they
would be A + 1 on S; D-19.1207).
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from cartrial.protocol.birth import before_birth, earliest_birth
from cartrial.protocol.calendar import completed_years


def test_the_earliest_birth_of_each_record() -> None:
    assert earliest_birth(birth_date=dt.date(1975, 6, 10), birth_year=1970) == dt.date(1975, 6, 10)
    assert earliest_birth(birth_year=1975) == dt.date(1975, 1, 1)
    # 45 on 2024-03-15: born 1978-03-16 at the earliest (46 on 2024-03-16)
    assert earliest_birth(age_years=45, age_on=dt.date(2024, 3, 15)) == dt.date(1978, 3, 16)
    # 45 on 2024-02-29: born 1978-03-01 at the earliest (born 1978-02-28, 46 on 2024-02-28)
    assert earliest_birth(age_years=45, age_on=dt.date(2024, 2, 29)) == dt.date(1978, 3, 1)
    assert earliest_birth(age_years=0, age_on=dt.date(2024, 12, 31)) == dt.date(2024, 1, 1)
    assert earliest_birth() is None
    assert earliest_birth(age_years=45) is None  # an age without its date says nothing


def test_before_birth_is_strict() -> None:
    born = dt.date(1975, 6, 10)
    assert before_birth(dt.date(1975, 6, 9), born)
    assert not before_birth(born, born)  # the birthday is kept
    assert not before_birth(dt.date(1960, 1, 1), None)  # nothing known: no check


@given(
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2030, 12, 31)),
    st.integers(min_value=0, max_value=47_000),
)
def test_the_age_bound_never_refuses_a_possible_birth(born: dt.date, days: int) -> None:
    # any birth date consistent with the age (completed years, the calendar module's rule) is on or after
    # the bound: a record on that birth date is never called "before birth"
    on = born + dt.timedelta(days=days)
    if on.year > 9999:
        return
    bound = earliest_birth(age_years=completed_years(born, on), age_on=on)
    assert bound is not None and not before_birth(born, bound)
    # and the day before the bound is too old for that age
    earlier = bound - dt.timedelta(days=1)
    assert completed_years(earlier, on) > completed_years(born, on)
