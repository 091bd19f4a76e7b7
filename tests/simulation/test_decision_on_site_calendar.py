"""The simulated escalation decision and the next cohort's gate are counted in days of the site's calendar,
as the sentinel interval is (D-19.1205) and as the replay counts the DLT window (D-19.1203): D-19.1318.

Hand calculation, America/Anchorage (AKDT UTC-8 until 2021-11-07 02:00, then AKST UTC-9); accrual start
2021-09-09 (study day 0 = 08:00 UTC), every candidate listed on 2021-09-12 (day 3), vein-to-vein exactly
28 days, no sentinel interval: the first cohort is infused together on day 31 = 2021-10-10 08:00 UTC =
00:00 AKDT on 10 October. DLT window 28 days; the decision is dated the window + 1 day after the last
infusion, on the site's calendar: 10 October + 29 days = 8 November. Counted as 29 x 24 h it is
2021-11-08 08:00 UTC = 23:00 AKST on 7 November (the extra hour of the fall-back change): a day early.
The next cohort waits for the window + 2 days (`DECISION_LAG_DAYS`): from 9 November (site date), not
23:00 AKST on 8 November.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare
from cartrial.simulation.study import simulate_study

SITE = ZoneInfo("America/Anchorage")


def _study(make_scenario: Callable[..., Path]) -> dict[str, pd.DataFrame]:
    path = make_scenario(
        {
            "accrual": {
                "start_date": "2021-09-09",
                "dates": ["2021-09-12"] * 200,
                "site_time_zone": "America/Anchorage",
                "site_country": "United States",
            },
            "manufacturing": {"failure_probability": 0.0, "vein_to_vein_days": {"median": 28, "sd_log": 0.0}},
            "dropout": {"hazard_per_year": 0.0},
        },
        {"escalation": {"stagger_days": 0, "dlt_window_days": 28}},
    )
    scenario, protocol = load_scenario(path)
    return simulate_study(prepare(scenario, load_protocol(protocol), 1), 1).forms


def test_the_decision_is_dated_window_plus_one_site_days_across_a_dst_change(
    make_scenario: Callable[..., Path],
) -> None:
    forms = _study(make_scenario)
    infused = sorted(pd.to_datetime(forms["infusions"]["infused_at"], utc=True).tolist())
    dates = [t.to_pydatetime().astimezone(SITE).date() for t in infused]
    assert dates[:3] == [dt.date(2021, 10, 10)] * 3  # the hand calculation's first cohort
    first = forms["escalation_decisions"].sort_values("cohort").iloc[0]
    assert first["decided_on"] == "2021-11-08"
    # the next cohort is infused after the decision, from the window + 2 site days
    assert dates[3] >= dt.date(2021, 11, 9)
