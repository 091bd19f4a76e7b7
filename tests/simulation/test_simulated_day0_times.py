"""Day-0 assessments of a virtual patient are on the right side of the infusion instant (D-19.856).

The protocol's day-0 visit (example protocol: "Day 0 (infusion)") holds the infusion, CRS monitoring, ICE,
labs and PK. CRS and ICANS monitoring follow the infusion; the day-0 safety labs are the pre-infusion
baseline (a lab of the treatment's start day is pre-dose in the analysis, `safety.pre_treatment`). Times
are stored in UTC and read on the site's clock: Asia/Shanghai (UTC+8) for the reference study's site.
Before, every day-0 assessment was at a fixed UTC hour of the infusion's UTC day (labs 07:00, CRS 10:00,
ICANS 11:00): a patient infused in the afternoon had the day-0 CRS assessment before the infusion."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from functools import cache

import pandas as pd
import pytest

from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare
from cartrial.simulation.study import simulate_study

from .conftest import EXAMPLE


@cache
def _forms(zone: str | None) -> dict[str, pd.DataFrame]:
    """A virtual study of about 50 patients (fast accrual, expansion of 40); `zone`: the site's time zone
    (None: the example scenario's, Asia/Shanghai since D-19.879; the model's default is UTC)."""
    scenario, protocol = load_scenario(EXAMPLE / "scenario.yaml")
    accrual = {"candidates_per_month": 30.0} | ({"site_time_zone": zone} if zone else {})
    design = scenario.design.model_copy(update={"expansion_patients": 40})
    scenario = scenario.model_copy(
        update={"accrual": scenario.accrual.model_copy(update=accrual), "design": design, "pool_size": 100}
    )
    return simulate_study(prepare(scenario, load_protocol(protocol), 3), 3).forms


def _instants(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_datetime(frame[column], utc=True)


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC"])
def test_day0_assessments_are_timed_by_the_infusion(zone: str | None) -> None:
    forms = _forms(zone)
    tz = zoneinfo.ZoneInfo(zone or "UTC")
    infused = dict(
        zip(forms["infusions"]["subject_id"], _instants(forms["infusions"], "infused_at"), strict=True)
    )
    local_day0 = {s: t.tz_convert(tz).date() for s, t in infused.items()}
    # the check means something: some infusions are later in the site's day than the old fixed hours
    assert sum(t.tz_convert(tz).time() > dt.time(11) for t in infused.values()) >= 3
    checked = 0
    for form, column, after in (
        ("crs_assessments", "assessed_at", True),
        ("icans_assessments", "assessed_at", True),
        ("labs", "collected_at", False),
    ):
        frame = forms[form]
        moments = _instants(frame, column)
        for sid, moment in zip(frame["subject_id"], moments, strict=True):
            if moment.tz_convert(tz).date() != local_day0[sid]:
                continue
            checked += 1
            if after:
                assert moment > infused[sid], (form, sid)
            else:
                assert moment < infused[sid], (form, sid)
    # every patient has a day-0 CRS, ICANS and (two analytes') lab record on the infusion's site day
    assert checked == 4 * len(infused)


def test_the_site_time_zone_is_written() -> None:
    assert _forms("Asia/Shanghai")["sites"]["time_zone"].tolist() == ["Asia/Shanghai"]
    assert _forms("UTC")["sites"]["time_zone"].tolist() == ["UTC"]
    # the example scenario names its site's zone (D-19.879); a scenario without one is UTC
    assert _forms(None)["sites"]["time_zone"].tolist() == ["Asia/Shanghai"]
    assert (
        type(load_scenario(EXAMPLE / "scenario.yaml")[0].accrual).model_fields["site_time_zone"].default
        == "UTC"
    )


def test_study_days_are_the_sites_calendar_days() -> None:
    """Day k's CRS assessment is on the site's calendar day infusion day + k (Asia/Shanghai)."""
    forms = _forms("Asia/Shanghai")
    tz = zoneinfo.ZoneInfo("Asia/Shanghai")
    day0 = {
        s: t.tz_convert(tz).date()
        for s, t in zip(
            forms["infusions"]["subject_id"], _instants(forms["infusions"], "infused_at"), strict=True
        )
    }
    crs = forms["crs_assessments"]
    days = [
        (moment.tz_convert(tz).date() - day0[sid]).days
        for sid, moment in zip(crs["subject_id"], _instants(crs, "assessed_at"), strict=True)
    ]
    by_subject = pd.Series(days).groupby(crs["subject_id"].to_numpy()).apply(list)
    for sid, seq in by_subject.items():
        assert seq == list(range(len(seq))), sid  # daily from day 0, one a day
