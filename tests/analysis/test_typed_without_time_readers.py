"""Readers of a stored 00:00:00Z after D-19.947 (review, D-19.948): the DLT onset day counted as elapsed time
from the infusion as the engine read it; a lab typed without a time on the infusion day stays pre-dose.
Hand counts in each test."""

from __future__ import annotations

import pandas as pd

from cartrial.analysis.dlt import dlt_onset_days
from cartrial.analysis.safety import pre_treatment


def _infusion(infused_at: str, zone: str) -> pd.DataFrame:
    return pd.DataFrame({"subject_id": ["A"], "infused_at": [infused_at], "time_zone": [zone]})


def test_dlt_onset_day_of_a_bare_infusion_date_west_of_utc() -> None:
    """Infusion typed 2 August without a time in Los Angeles: day 0 starts 00:00 PDT on 2 August. 0.2 d is
    04:48 PDT on 2 August (day 0), 3.1 d is 02:24 PDT on 5 August (day 3). Before: counted from 17:00 PDT
    on 1 August, -1 and 2."""
    frame = _infusion("2021-08-02T00:00:00Z", "America/Los_Angeles")
    assert dlt_onset_days(frame, {"A": (0.2,)}) == {"A": 0}
    assert dlt_onset_days(frame, {"A": (3.1,)}) == {"A": 3}


def test_dlt_onset_day_across_a_dst_change_is_elapsed_time() -> None:
    """Infused 00:30 PDT on 7 November 2021 (07:30Z); 23.75 h later is 07:15Z on 8 November, 23:15 PST on
    7 November (clocks went back at 02:00): day 0. Before: 23.75 h added to the wall clock, day 1."""
    frame = _infusion("2021-11-07T07:30:00Z", "America/Los_Angeles")
    assert dlt_onset_days(frame, {"A": (23.75 / 24,)}) == {"A": 0}


def test_a_bare_lab_date_on_the_infusion_day_west_of_utc_is_pre_dose() -> None:
    """Los Angeles, infused 10:00 PDT on 2 August (17:00Z); a lab typed 2 August without a time (00:00:00Z):
    on the infusion day without a time, so pre-dose (the usual SAP baseline, D-19.710)."""
    tables = {
        "infusions": _infusion("2021-08-02T17:00:00Z", "America/Los_Angeles"),
        "lymphodepletion": pd.DataFrame({"subject_id": ["A"], "administered_on": ["2021-07-29"]}),
    }
    graded = pd.DataFrame({"subject_id": ["A"], "collected_at": ["2021-08-02T00:00:00Z"]})
    assert pre_treatment(graded, tables, "infusion").tolist() == [True]
