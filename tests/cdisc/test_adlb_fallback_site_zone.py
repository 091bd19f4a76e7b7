"""ADLB regraded from the snapshot (an `Analysis` without its graded labs) keeps the site's calendar (review 2
of D-19.710; D-19.714): the site is in Wuhan (UTC+8); CT-001's lymphodepletion starts on 2021-04-23 (site
date). A lymphocyte count drawn 2021-04-23T20:00Z is 2021-04-24 04:00 in Wuhan: after the start day, on
treatment (ONTRTFL Y, not the baseline). In UTC days it was on the start day and, the lymphodepletion having
no time, pre-dose: the regraded path made it the baseline (BASE 0.3) while its ADT said 2021-04-24. The
baseline is the last value before: 1.26 of 2021-04-22T07:00Z. Hand-built tables (review 3: the export built
twice took ~10 s); the fallbacks of ADaM (`adam._graded_labs`) and SDTM (`SdtmContext.graded_labs`) read."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pandas as pd

ZONES = {"CT-001": "Asia/Shanghai"}
LABS = ["2021-04-20T07:00:00Z", "2021-04-22T07:00:00Z", "2021-04-23T20:00:00Z"]


def _tables() -> dict[str, pd.DataFrame]:
    return {
        "subjects": pd.DataFrame({"subject_id": ["CT-001"]}),
        "infusions": pd.DataFrame({"subject_id": ["CT-001"], "infused_at": ["2021-04-28T02:00:00Z"]}),
        "lymphodepletion": pd.DataFrame({"subject_id": ["CT-001"], "administered_on": ["2021-04-23"]}),
        "labs": pd.DataFrame(
            {
                "subject_id": ["CT-001"] * 3,
                "collected_at": LABS,
                "analyte": ["lymphocytes"] * 3,
                "value": ["1.5", "1.26", "0.3"],
                "unit": ["10^9/L"] * 3,
                "lln": ["1.1"] * 3,
                "uln": [""] * 3,
            }
        ),
    }


def _check(graded: pd.DataFrame, path: str) -> None:
    from cartrial.analysis.populations import site_days
    from cartrial.columns import iso_instants

    own = graded[graded["analyte"] == "lymphocytes"].sort_values("collected_at")
    drawn = own[own["value_canonical"].astype(float) == 0.3].iloc[0]
    # ADT: the site day (as ADLB dates it)
    day = site_days(iso_instants(pd.Series([drawn["collected_at"]])), pd.Series(["Asia/Shanghai"]))
    assert day.iloc[0].date() == dt.date(2021, 4, 24)
    # ONTRTFL Y, ABLFL "": not a pre-treatment value
    assert not bool(drawn["pre_treatment"]), path
    # BASE 1.26: the last pre-treatment value
    before = own[own["pre_treatment"].astype(bool)]
    assert float(before["value_canonical"].iloc[-1]) == 1.26, path


def test_the_regraded_adlb_baseline_uses_the_site_calendar() -> None:
    from cartrial.analysis import safety
    from cartrial.cdisc import adam
    from cartrial.cdisc.sdtm import SdtmContext

    tables = _tables()
    _check(safety.graded_labs(tables, zones=ZONES).table, "analysis")
    analysis = SimpleNamespace(intermediates={"time_zones": ZONES}, options={})
    protocol = SimpleNamespace(
        escalation=SimpleNamespace(dlt_window_days=28), schedule=SimpleNamespace(visits=[])
    )
    snapshot = SimpleNamespace(tables=tables, protocol=protocol)
    _check(adam._graded_labs(analysis, snapshot), "adam regraded")
    context = SdtmContext(snapshot=snapshot, analysis=analysis)
    _check(context.graded_labs(), "sdtm regraded")
