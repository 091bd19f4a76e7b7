"""`stagger_days` is a sentinel interval: the cohort's later patients at least that many days after its
FIRST patient, not each patient after the previous one (D-19.1202).

The protocol defines the field as "minimum days between the first and the next patient of a cohort
(sentinel dosing)" (docs/protocol.md; `cartrial.protocol.escalation_spec.EscalationSpec`), from the
template NCT07488546: "the first subject of each cohort observed for at least 14 days before the next is
dosed" (docs/science/ct103a-nmosd-trial.md §4). The simulated calendar put every patient of a cohort
`stagger_days` after the previous one (days 0, 14, 28 for a cohort of 3 ready at once), so a 3-patient
escalation cohort took twice the sentinel interval and the simulated study durations were too long.

Hand calculation: with accrual fast enough that every candidate of the first cohort is ready within a few
days of the first (1,000 candidates a month, vein-to-vein exactly 28 days), the sentinel patient is infused
when ready (day r1), patients 2 and 3 from day r1 + 14 — both within a day or two of r1 + 14, never near
r1 + 28.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare
from cartrial.simulation.study import simulate_study

STAGGER = 14


def _first_cohort_days(scenario_file: Path, seed: int) -> list[float]:
    scenario, protocol = load_scenario(scenario_file)
    forms = simulate_study(prepare(scenario, load_protocol(protocol), seed), seed).forms
    infused = pd.to_datetime(forms["infusions"]["infused_at"], utc=True).sort_values().tolist()
    first = infused[0]
    return [(t - first).total_seconds() / 86400 for t in infused[:3]]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_stagger_is_counted_from_the_cohorts_first_patient(
    make_scenario: Callable[..., Path], seed: int
) -> None:
    path = make_scenario(
        {
            "accrual": {"candidates_per_month": 1000.0},
            "manufacturing": {"failure_probability": 0.0, "vein_to_vein_days": {"median": 28, "sd_log": 0.0}},
            "dropout": {"hazard_per_year": 0.0},
        },
        {"escalation": {"stagger_days": STAGGER}},
    )
    days = _first_cohort_days(path, seed)
    # the sentinel interval holds for both later patients (the protocol's rule)
    assert days[1] >= STAGGER and days[2] >= STAGGER
    # and it is the only wait: patients 2 and 3, ready long before, follow at about day 14, not day 28
    assert days[2] < STAGGER + 3


def test_the_sentinel_interval_holds_on_the_site_calendar_across_a_dst_change(
    make_scenario: Callable[..., Path],
) -> None:
    # The replay counts the interval on the site's calendar (D-19.1203), so the simulation must too. Hand
    # calculation, America/Anchorage (AKDT UTC-8 until 2021-11-07, then AKST UTC-9): every candidate listed
    # on 2021-10-04 (08:00 UTC of the start date + 3 days), vein-to-vein exactly 28 days: the sentinel is
    # infused 2021-11-01 08:00 UTC = 00:00 AKDT on 1 November. 14 × 24 h later is 2021-11-15 08:00 UTC =
    # 23:00 AKST on 14 November: 13 days on the site's calendar, a deviation in the replay. The later
    # patients must be on 15 November (site date) or after.
    path = make_scenario(
        {
            "accrual": {
                "start_date": "2021-10-01",
                "dates": ["2021-10-04"] * 200,
                "site_time_zone": "America/Anchorage",
                "site_country": "United States",
            },
            "manufacturing": {"failure_probability": 0.0, "vein_to_vein_days": {"median": 28, "sd_log": 0.0}},
            "dropout": {"hazard_per_year": 0.0},
        },
        {"escalation": {"stagger_days": STAGGER}},
    )
    scenario, protocol = load_scenario(path)
    forms = simulate_study(prepare(scenario, load_protocol(protocol), 1), 1).forms
    infused = sorted(pd.to_datetime(forms["infusions"]["infused_at"], utc=True).tolist())[:3]
    site = ZoneInfo("America/Anchorage")
    dates = [t.to_pydatetime().astimezone(site).date() for t in infused]
    assert dates[0] == dt.date(2021, 11, 1)  # the hand calculation's sentinel
    assert dates[1] >= dt.date(2021, 11, 15) and dates[2] >= dt.date(2021, 11, 15)
    # and no later than needed: the next site day at most
    assert dates[2] <= dt.date(2021, 11, 16)
