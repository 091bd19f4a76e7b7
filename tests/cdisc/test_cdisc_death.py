"""A subject with a fatal adverse event is dead in the CDISC export: DM.DTHFL = Y and DM.DTHDTC the date of
death, ADSL.DTHFL = Y, EOSSTT DISCONTINUED and the follow-up (FUPDUR) ending at the death (D-19.83). The
export left DTHFL/DTHDTC blank and EOSSTT ONGOING for everyone, and FUPDUR ran to the cut-off."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd

SUBJECT = "CT-003"
DEATH = dt.date(2021, 6, 18)  # day 10 after the example's CT-003 infusion (2021-06-08)


def test_a_fatal_adverse_event_is_a_death_in_dm_and_adsl(exported) -> None:  # type: ignore[no-untyped-def]
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all, validate_all

    ae = exported.snapshot.tables["adverse_events"]
    death = {column: "" for column in ae.columns} | {
        "subject_id": SUBJECT,
        "term": "Death NOS",
        "category": "death",
        "started_on": DEATH.isoformat(),
        "ended_on": DEATH.isoformat(),
        "grade": "5",
        "grading_scale": "CTCAE",
        "grading_scale_version": "5.0",
        "serious": "true",
        "relatedness": "unrelated",
        "dlt": "false",
        "outcome": "fatal",
        "record_id": "999999",
    }
    tables = {
        **exported.snapshot.tables,
        "adverse_events": pd.concat([ae, pd.DataFrame([death])], ignore_index=True),
    }
    snapshot = dataclasses.replace(exported.snapshot, tables=tables)
    frames = build_all(snapshot, analyse(snapshot), {"TJH": "China"})
    dm = frames["DM"].set_index("SUBJID")
    assert dm.loc[SUBJECT, "DTHFL"] == "Y" and dm.loc[SUBJECT, "DTHDTC"] == DEATH.isoformat()
    assert set(dm.drop(index=SUBJECT)["DTHFL"]) == {""}  # nobody else died
    adsl = frames["ADSL"].set_index("SUBJID")
    assert adsl.loc[SUBJECT, "DTHFL"] == "Y" and adsl.loc[SUBJECT, "EOSSTT"] == "DISCONTINUED"
    assert adsl.loc[SUBJECT, "FUPDUR"] == 10
    assert set(adsl.drop(index=SUBJECT)["EOSSTT"]) == {"ONGOING"}
    findings = validate_all(frames)
    assert all(v == [] for v in findings.values()), {k: v[:2] for k, v in findings.items() if v}
