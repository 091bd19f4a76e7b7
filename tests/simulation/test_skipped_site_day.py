"""`site_days_later` never gives a site date fewer than `later` days on, even across a skipped day
(review of simfix, finding 6). Samoa (Pacific/Apia) moved from UTC−10 to UTC+14 after 29 December 2011:
30 December 2011 never happened there. A moment on the 29th one site day later falls on the skipped day;
the nonexistent wall time was "shifted forward" to a moment still on the 29th, so a 1-day sentinel
interval was 0 site days.

Hand calculation: the accrual start is 2011-12-28 08:00 UTC (27 December 22:00 in Apia). Day 1.3 is
2011-12-29 15:12 UTC = 29 December 05:12 in Apia. One site day later is 30 December, skipped: the first
moment on or after it is 31 December 00:00 (UTC+14) = 2011-12-30 10:00 UTC = study day 2 + 2/24.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from tests.simulation.conftest import EXAMPLE

from cartrial.simulation import load_scenario
from cartrial.simulation.trials import site_days_later

APIA = ZoneInfo("Pacific/Apia")
START = dt.datetime(2011, 12, 28, 8, tzinfo=dt.UTC)


def _apia() -> object:
    scenario, _ = load_scenario(EXAMPLE / "scenario.yaml")
    accrual = scenario.accrual.model_copy(
        update={"start_date": "2011-12-28", "site_time_zone": "Pacific/Apia"}
    )
    return scenario.model_copy(update={"accrual": accrual})


def _site_date(day: float) -> dt.date:
    return (START + dt.timedelta(days=day)).astimezone(APIA).date()


def test_one_site_day_after_29_december_is_the_start_of_31_december() -> None:
    got = site_days_later(_apia(), np.array([1.3]), 1)
    assert got[0] == pytest.approx(2 + 2 / 24, abs=1e-9)
    assert _site_date(float(got[0])) == dt.date(2011, 12, 31)


@pytest.mark.parametrize("later", [1, 2, 3])
def test_no_site_date_is_short_of_later_days(later: int) -> None:
    days = np.linspace(0.0, 2.5, 61)
    got = site_days_later(_apia(), days, later)
    for day, moved in zip(days.tolist(), got.tolist(), strict=True):
        assert moved >= day
        assert (_site_date(moved) - _site_date(day)).days >= later
