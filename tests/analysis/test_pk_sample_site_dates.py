"""A sample's date-time read by the site's clock (D-19.947): exactly 00:00:00Z is a date typed without a time
only at a site west of UTC; at UTC and east of it it is a real time (D-19.1341, D-19.1342)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from cartrial.analysis.kinetics import sample_actual_days

INFUSED = "2021-05-18T02:30:00Z"


def _days(sampled_at: str, stored: float | None, zone: str) -> float:
    samples = pd.DataFrame({"subject_id": ["CT-002"], "actual_day": [stored], "sampled_at": [sampled_at]})
    infusions = pd.DataFrame({"subject_id": ["CT-002"], "infused_at": [INFUSED], "time_zone": [zone]})
    return float(sample_actual_days(samples, infusions).iloc[0])


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "", "Europe/London"])
def test_midnight_utc_at_or_east_of_utc_is_a_real_time(zone: str) -> None:
    """2021-05-25T00:00:00Z is 08:00 in Wuhan: 7 days − 2 h 30 min = 7 − 2.5/24 days after the infusion."""
    assert _days("2021-05-25T00:00:00Z", None, zone) == pytest.approx(7 - 2.5 / 24, abs=1e-9)


def test_midnight_utc_west_of_utc_is_a_date_without_time() -> None:
    assert math.isnan(_days("2021-05-25T00:00:00Z", None, "America/New_York"))


@pytest.mark.parametrize("sampled_at", ["2021-05-18", "2021-05-18T00:00:00Z"])
def test_a_date_without_time_keeps_its_stored_actual_day(sampled_at: str) -> None:
    """A date cannot show the sample was drawn before the 02:30Z infusion: the stored 0.5 is its time."""
    assert _days(sampled_at, 0.5, "America/New_York") == 0.5


def test_a_real_time_before_the_infusion_stays_pre_dose_east_of_utc() -> None:
    """08:00 in Wuhan is before the 10:30 Wuhan infusion: −2.5 h, whatever actual_day says (D-19.304)."""
    assert _days("2021-05-18T00:00:00Z", 0.5, "Asia/Shanghai") == pytest.approx(-2.5 / 24, abs=1e-9)


def test_a_wuhan_sample_at_midnight_utc_is_timed_by_the_analysis(example_sqlite_template) -> None:  # type: ignore[no-untyped-def]
    """Review of nca2, finding 1, end to end: CT-002's day-7 car_transgene sample with actual_day blank and
    sampled_at 2021-05-25T00:00:00Z (08:00 at its site, Asia/Shanghai) no longer stops the analysis."""
    import dataclasses
    import datetime as dt

    from cartrial.analysis import analyse
    from cartrial.store.snapshot import read_snapshot

    base = read_snapshot(f"sqlite:///{example_sqlite_template}", dt.date(2022, 3, 20))
    pk = base.tables["pk_samples"].copy()
    mask = (pk["subject_id"] == "CT-002") & (pk["analyte"] == "car_transgene")
    mask &= pd.to_numeric(pk["nominal_day"], errors="coerce") == 7
    assert mask.sum() == 1
    pk["actual_day"] = pk["actual_day"].astype(object)
    pk.loc[mask, "actual_day"] = None
    pk.loc[mask, "sampled_at"] = "2021-05-25T00:00:00Z"
    changed = dataclasses.replace(base, tables={**base.tables, "pk_samples": pk})
    nca = analyse(changed).datasets["nca_by_subject"].table
    key = (nca["subject_id"] == "CT-002") & (nca["analyte"] == "car_transgene")
    assert key.sum() == 1
