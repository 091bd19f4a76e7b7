"""EPOCH and SE follow the DLT window the escalation engine applies (D-19.1019).

The engine counts an event in a 28-day DLT window when 0 <= onset day <= 28 (`assess_dlt`, days 0 to 28
inclusive), but EPOCH was TREATMENT only while (date - infusion) < 28 and SE's follow-up element started on
infusion + 28 days: a DLT on day 28 was exported with EPOCH FOLLOW-UP. By hand, for a 28-day window: day 28
after the infusion is the last day of TREATMENT, follow-up starts on day 29 (study day 30, as study day 1 is
the infusion day), and an event on day 29 is in FOLLOW-UP.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd

SID = "CT-001"


def test_a_day_28_dlt_is_in_treatment_and_follow_up_starts_on_day_29(exported) -> None:  # type: ignore[no-untyped-def]
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all

    window = int(exported.snapshot.protocol.escalation.dlt_window_days)
    assert window == 28  # the example protocol's window [P]
    tables = dict(exported.snapshot.tables)
    infused = dt.date.fromisoformat(
        str(tables["infusions"].set_index("subject_id").loc[SID, "infused_at"])[:10]
    )
    day_28 = (infused + dt.timedelta(days=28)).isoformat()
    day_29 = (infused + dt.timedelta(days=29)).isoformat()
    ae = tables["adverse_events"]
    base = {c: "" for c in ae.columns} | {
        "subject_id": SID,
        "category": "non_hematologic",
        "grade": "4",
        "grading_scale": "CTCAE",
        "grading_scale_version": "5.0",
        "serious": "false",
        "relatedness": "definite",
        "outcome": "recovered",
    }
    rows = [
        base | {"term": "Hepatic failure", "started_on": day_28, "ended_on": day_28, "dlt": "true",
                "record_id": "999991"},
        base | {"term": "Pancreatitis", "started_on": day_29, "ended_on": day_29, "dlt": "false",
                "record_id": "999992"},
    ]  # fmt: skip
    tables["adverse_events"] = pd.concat([ae, pd.DataFrame(rows)], ignore_index=True)
    snapshot = dataclasses.replace(exported.snapshot, tables=tables)
    analysis = analyse(snapshot)
    # the engine: the day-28 event is inside the window
    assessed = analysis.datasets["dlt_assessments"].table
    hepatic = assessed[(assessed["subject_id"] == SID) & (assessed["term"] == "Hepatic failure")]
    assert hepatic["in_window"].tolist() == [True] and hepatic["onset_day"].tolist() == [28.0]
    frames = build_all(snapshot, analysis, {"TJH": "China"})
    dm = frames["DM"].set_index("SUBJID")
    usubjid = dm.loc[SID, "USUBJID"]
    ae_out = frames["AE"][frames["AE"]["USUBJID"] == usubjid].set_index("AETERM")
    assert ae_out.loc["Hepatic failure", "EPOCH"] == "TREATMENT"
    assert ae_out.loc["Pancreatitis", "EPOCH"] == "FOLLOW-UP"
    se = frames["SE"][frames["SE"]["USUBJID"] == usubjid].set_index("ETCD")
    assert se.loc["FU", "SESTDTC"] == day_29 and se.loc["FU", "SESTDY"] == 30
    assert se.loc["CART", "SEENDTC"] == day_29
    te = frames["TE"].set_index("ETCD")
    assert te.loc["CART", "TEDUR"] == "P29D"  # days 0 to 28
