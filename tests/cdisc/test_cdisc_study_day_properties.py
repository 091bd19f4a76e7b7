"""Invariants of the SDTM study day (SDTMIG 3.4 §4.4.4: --DY = (date - RFSTDTC) + 1 on or after the
reference date, (date - RFSTDTC) before it; "there is no study day 0") and of ADSL.TRTDURD
(TRTEDT - TRTSDT + 1, the admiral convention `derive_var_trtdurd`;
`cartrial.cdisc.adam.treatment_duration_days`, which ADSL derives it by; D-19.1435), for any pair of dates.

Worked examples by hand: reference 2021-04-27 (CT-001's infusion): 2021-04-27 is day 1, 2021-04-28 day 2,
2021-04-26 day -1, 2021-04-01 (consent) day -26 (DM.DMDY of the example)."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.cdisc.adam import treatment_duration_days
from cartrial.cdisc.common import study_day, study_day_column

DATES = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2060, 12, 31))


def test_study_day_worked_examples() -> None:
    ref = dt.date(2021, 4, 27)
    assert study_day(ref, ref) == 1
    assert study_day(dt.date(2021, 4, 28), ref) == 2
    assert study_day(dt.date(2021, 4, 26), ref) == -1
    assert study_day("2021-04-01", ref) == -26
    assert math.isnan(study_day("2021-04", ref))  # a partial date has no study day
    assert math.isnan(study_day(ref, None))


@settings(max_examples=property_examples(200), deadline=None)
@given(DATES, DATES)
def test_study_day_is_never_zero_and_steps_over_zero(day: dt.date, ref: dt.date) -> None:
    value = study_day(day, ref)
    assert value != 0
    # one calendar day later is one study day later, except that day -1 is followed by day 1
    following = study_day(day + dt.timedelta(days=1), ref)
    assert following - value == (2 if value == -1 else 1)
    # the sign says on/after (positive) or before (negative) the reference
    assert (value > 0) == (day >= ref)


@settings(max_examples=property_examples(60), deadline=None)
@given(st.lists(st.tuples(DATES, DATES), min_size=1, max_size=20))
def test_study_day_column_equals_the_record_by_record_rule(pairs: list[tuple[dt.date, dt.date]]) -> None:
    days = pd.Series(pd.to_datetime([d for d, _ in pairs]))
    refs = pd.Series(pd.to_datetime([r for _, r in pairs]))
    assert list(study_day_column(days, refs)) == [study_day(d, r) for d, r in pairs]


@settings(max_examples=property_examples(100), deadline=None)
@given(DATES, st.integers(min_value=0, max_value=400))
def test_trtdurd_counts_both_ends_and_equals_the_study_day_of_the_last_exposure(
    start: dt.date, length: int
) -> None:
    """TRTDURD (`treatment_duration_days`, ADSL's one derivation) is the number of calendar days from TRTSDT
    to TRTEDT, both counted: at least 1 (one day of exposure, the one CAR-T infusion), one more for each later
    day, and the study day of TRTEDT counted from TRTSDT."""
    end = start + dt.timedelta(days=length)
    trtdurd = treatment_duration_days(start, end)
    exposed_days = len(pd.date_range(start, end, freq="D"))  # the days of exposure, enumerated
    assert trtdurd == exposed_days >= 1
    assert trtdurd == study_day(end, start)
    assert treatment_duration_days(start, end + dt.timedelta(days=1)) == trtdurd + 1


@settings(max_examples=property_examples(50), deadline=None)
@given(DATES, st.integers(min_value=1, max_value=400))
def test_trtdurd_is_missing_without_an_exposure_period(start: dt.date, before: int) -> None:
    """No TRTSDT or no TRTEDT (never infused), or an end before the start: no duration (null, never 0 or
    negative)."""
    assert math.isnan(treatment_duration_days(None, start))
    assert math.isnan(treatment_duration_days(start, None))
    assert math.isnan(treatment_duration_days(start, start - dt.timedelta(days=before)))
