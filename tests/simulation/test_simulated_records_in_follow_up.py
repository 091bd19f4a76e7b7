"""Nothing of a virtual patient is written after its follow-up ends (D-19.877, D-19.878).

A record's date is read on the site's calendar (the store's cut-off rule `on_or_before_cutoff`, D-19.729,
D-19.607): a date as written, a date-time as its date on the site's clock. Each record must be dated on or
before the subject's disposition date (withdrawal, death, completion) and on or before the study's data
cut-off (`summary["data_cutoff"]`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare
from cartrial.simulation.study import RECORD_DATES, simulate_study

FORMS = {**RECORD_DATES, "infusions": "infused_at"}


def _site_dates(values: pd.Series, zone: str) -> pd.Series:
    """Each value's date on the site's calendar (a date as written)."""
    return values.astype(str).map(
        lambda v: v if len(v) == 10 else pd.Timestamp(v).tz_convert(zone).date().isoformat()
    )


def _late_records(
    make_scenario: Callable[..., Path], zone: str, cutoff: float, seed: int
) -> dict[str, dict[str, int]]:
    changes = {
        "accrual": {"candidates_per_month": 30, "site_time_zone": zone},
        "design": {"expansion_patients": 150},
        "dropout": {"hazard_per_year": 1.0},
        "data_cutoff_day": cutoff,
    }
    scenario, protocol = load_scenario(make_scenario(changes))
    prepared = prepare(scenario.model_copy(update={"pool_size": 300}), load_protocol(protocol), 3)
    study = simulate_study(prepared, seed)
    forms, cut = study.forms, study.summary["data_cutoff"]
    subjects = forms["subjects"].set_index("subject_id")
    late: dict[str, dict[str, int]] = {"after disposition": {}, "after cut-off": {}}
    for form, column in FORMS.items():
        frame = forms.get(form)
        if frame is None or frame.empty:
            continue
        dates = _site_dates(frame[column], zone)
        ended = frame["subject_id"].map(subjects["disposition_date"]).fillna("").astype(str)
        n_disp = int(((ended != "") & (dates > ended)).sum())
        n_cut = int((dates > cut).sum())
        if n_disp:
            late["after disposition"][form] = n_disp
        if n_cut:
            late["after cut-off"][form] = n_cut
    return late


@pytest.mark.parametrize("seed", [0, 1])
def test_no_adverse_event_starts_after_a_withdrawal(make_scenario: Callable[..., Path], seed: int) -> None:
    """Before D-19.877 the CRS/ICANS schedule's last day (day 14 or the episode's end) replaced the last day
    followed in `simulate_study`, so a CRS (or the cytopenia) starting after a dropout on day 1 or 2 was
    written as an adverse event dated after the withdrawal (4 and 2 such events in these two studies)."""
    late = _late_records(make_scenario, "UTC", 300.0, seed)
    assert late == {"after disposition": {}, "after cut-off": {}}


@pytest.mark.parametrize(("zone", "cutoff"), [("Asia/Shanghai", 301.6), ("Pacific/Kiritimati", 250.3)])
def test_no_record_after_the_data_cutoff_at_a_site_east_of_utc(
    make_scenario: Callable[..., Path], zone: str, cutoff: float
) -> None:
    """The cut-off instant 301.6 days after 2021-04-01 08:00 UTC is 2022-01-27 22:24 UTC, 2022-01-28 06:24
    in Shanghai. Before D-19.878 the study's data cut-off was the UTC date (2022-01-27) while the records
    are dated on the site's calendar: a patient infused 2021-05-02 17:33 UTC (05-03 01:33 in Shanghai) had
    its day-270 labs, PK and PD samples on 2022-01-28, after the study's own cut-off (and Kiritimati,
    UTC+14, likewise for day-8 assessments at 250.3 days)."""
    late = _late_records(make_scenario, zone, cutoff, 0)
    assert late == {"after disposition": {}, "after cut-off": {}}


def test_a_utc_site_keeps_the_utc_cutoff_date(make_scenario: Callable[..., Path]) -> None:
    """At a UTC site the site's date of the cut-off instant is its UTC date: 301.6 days after 2021-04-01
    08:00 UTC is 2022-01-27 22:24 UTC (by hand: 2021-04-01 + 301 days = 2022-01-27, + 14.4 h)."""
    changes = {"accrual": {"candidates_per_month": 30, "site_time_zone": "UTC"}, "data_cutoff_day": 301.6}
    scenario, protocol = load_scenario(make_scenario(changes))
    prepared = prepare(scenario.model_copy(update={"pool_size": 100}), load_protocol(protocol), 3)
    assert simulate_study(prepared, 0).summary["data_cutoff"] == "2022-01-27"
