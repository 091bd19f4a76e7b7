"""The simulation's site-clock arithmetic holds for every accrual start the scenario allows (up to
`LATEST_ACCRUAL_START`, year 9899), not only within pandas' nanosecond range (up to 2262-04-11): a start
date of 2300-01-01 crashed `simulate trial` with OutOfBoundsDatetime (`site_days_later`, `consent_gap_days`;
review of simfix, finding 4). The wall clock is the one of `zoneinfo` (as `infusion_instant` of the
written study): the IANA rules carry daylight saving time on after 2037 (pytz, pandas' default for a zone
name, stops at 2037 and put New York on standard time in July 2100).

Expected values are computed here with `datetime` and `zoneinfo`, independently of the code under test.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import yaml
from tests.conftest import Cli

from cartrial.simulation import load_scenario
from cartrial.simulation.trials import consent_gap_days, site_days_later

EXAMPLE = Path("examples/ct103a-nmosd")


def _scenario(start: str, zone: str) -> object:
    scenario, _ = load_scenario(EXAMPLE / "scenario.yaml")
    accrual = scenario.accrual.model_copy(update={"start_date": start, "site_time_zone": zone})
    return scenario.model_copy(update={"accrual": accrual})


def _expected_later(start: str, zone: str, day: float, later: int) -> float:
    z = ZoneInfo(zone)
    t0 = dt.datetime.combine(dt.date.fromisoformat(start), dt.time(8, 0), tzinfo=dt.UTC)
    instant = t0 + dt.timedelta(days=day)
    wall = instant.astimezone(z).replace(tzinfo=None) + dt.timedelta(days=later)
    moved = wall.replace(tzinfo=z).astimezone(dt.UTC)  # fold=0: the first of an ambiguous time
    if moved.astimezone(z).replace(tzinfo=None) != wall:  # skipped: forward by the gap
        moved = (wall.replace(tzinfo=z, fold=1)).astimezone(dt.UTC)
    return (moved - t0).total_seconds() / 86400


@pytest.mark.parametrize("start", ["2100-03-01", "2300-03-01", "9899-03-01"])
def test_site_days_later_crosses_the_spring_forward_of_a_far_year(start: str) -> None:
    # New York springs forward on the second Sunday of March: 14 site days from 1 March is 23 h × 1 short
    sc = _scenario(start, "America/New_York")
    days = np.array([0.25, 3.5, 40.0])
    got = site_days_later(sc, days, 14)
    expected = [_expected_later(start, "America/New_York", d, 14) for d in days]
    assert got.tolist() == pytest.approx(expected, abs=1e-9)
    assert got[0] == pytest.approx(14.25 - 1 / 24, abs=1e-9)  # by hand: an hour short across the change


@pytest.mark.parametrize("start", ["2100-07-01", "2300-07-01", "9899-07-01"])
def test_consent_gap_days_in_a_far_year(start: str) -> None:
    # day 0 is 08:00 UTC = 04:00 in New York (EDT, UTC−4); consent 42.5 days earlier at 16:00 → 43 dates
    sc = _scenario(start, "America/New_York")
    assert consent_gap_days(sc, np.array([0.0]), np.array([28.5])).tolist() == [43.0]


def test_simulate_trial_runs_from_2300(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "study"
    shutil.copytree(EXAMPLE, folder)
    path = folder / "scenario.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["accrual"]["start_date"] = "2300-01-01"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    code, _out, err = cli("simulate", "trial", "--scenario", str(path), "--trials", "3", "--json")
    assert code == 0, err
