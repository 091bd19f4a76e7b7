"""EPOCH of a record dated before the subject's informed consent is null (D-19.1211).

SDTMIG v3.4 §4.1.3.1: EPOCH is a study-design construct (the epoch of the element the subject was in), so a
record that began before the subject's participation (a prior medication, a historical lab) has no epoch:
EPOCH is null. The export called every date before the first lymphodepletion SCREENING, whatever its
distance from the consent: a prior immunotherapy from the subject's treatment history (CMCAT PRIOR
IMMUNOTHERAPY, started years before the study) and a lab drawn before consent were exported in the
SCREENING epoch, while SE's screening element of the same subject starts at the consent (RFICDTC).

By hand, for the example's CT-001 (consent 2021-04-01, first lymphodepletion 2021-04-23, infusion
2021-04-27): a therapy given 2019-03-01 and a lab drawn 2021-03-20 are before the consent (EPOCH null);
a therapy given on 2021-04-01 (the consent day) and one on 2021-04-05 are in SCREENING.
"""

from __future__ import annotations

import dataclasses
import json

import pandas as pd

SID = "CT-001"
CONSENT = "2021-04-01"  # subjects.csv of the example [by hand]


def _frames(exported):  # type: ignore[no-untyped-def]
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all

    tables = dict(exported.snapshot.tables)
    subjects = tables["subjects"].copy()
    assert subjects.set_index("subject_id").loc[SID, "consent_date"] == CONSENT
    history = [{"drug": "rituximab", "started_on": "2019-03-01", "stopped_on": "2020-01-05"}]
    subjects.loc[subjects["subject_id"] == SID, "treatment_history"] = json.dumps(history)
    tables["subjects"] = subjects
    therapies = tables["therapies"]
    base = {c: "" for c in therapies.columns} | {"subject_id": SID, "therapy": "antipyretic", "unit": "mg"}
    rows = [
        base | {"given_at": "2021-03-15", "agent": "ibuprofen", "record_id": "999981"},
        base | {"given_at": CONSENT, "agent": "aspirin", "record_id": "999982"},
        base | {"given_at": "2021-04-05", "agent": "naproxen", "record_id": "999983"},
    ]
    tables["therapies"] = pd.concat([therapies, pd.DataFrame(rows)], ignore_index=True)
    labs = tables["labs"]
    first = labs[labs["subject_id"] == SID].iloc[0].to_dict()
    early = first | {"collected_at": "2021-03-20T02:00:00Z", "record_id": "999984"}
    # after the consent, in the Screening visit's window (day -25: days -42 to -21) [by hand]
    screening = first | {"collected_at": "2021-04-02T02:00:00Z", "record_id": "999985"}
    tables["labs"] = pd.concat([labs, pd.DataFrame([early, screening])], ignore_index=True)
    snapshot = dataclasses.replace(exported.snapshot, tables=tables)
    frames = build_all(snapshot, analyse(snapshot), {"TJH": "China"})
    usubjid = frames["DM"].set_index("SUBJID").loc[SID, "USUBJID"]
    return frames, usubjid


def test_a_record_before_consent_has_no_epoch_and_one_from_consent_is_in_screening(exported) -> None:  # type: ignore[no-untyped-def]
    frames, usubjid = _frames(exported)
    assert frames["DM"].set_index("USUBJID").loc[usubjid, "RFICDTC"] == CONSENT
    cm = frames["CM"][frames["CM"]["USUBJID"] == usubjid].set_index("CMTRT")
    assert cm.loc["RITUXIMAB", "CMCAT"] == "PRIOR IMMUNOTHERAPY"
    assert cm.loc["RITUXIMAB", "CMSTDTC"] == "2019-03-01"
    assert cm.loc["RITUXIMAB", "EPOCH"] == ""  # years before the study
    assert cm.loc["IBUPROFEN", "EPOCH"] == ""  # before the consent
    assert cm.loc["ASPIRIN", "EPOCH"] == "SCREENING"  # the consent day: the screening element's first day
    assert cm.loc["NAPROXEN", "EPOCH"] == "SCREENING"
    lb = frames["LB"]
    early = lb[(lb["USUBJID"] == usubjid) & (lb["LBDTC"].str[:10] == "2021-03-20")]
    assert len(early) == 1
    assert early["EPOCH"].tolist() == [""]
    # the study day stays: --DY counts from RFSTDTC whatever the epoch (SDTMIG v3.4 §4.4.4)
    assert early["LBDY"].tolist() == [-38.0]  # 2021-03-20 is 38 days before 2021-04-27


def test_every_record_with_an_epoch_falls_in_one_of_its_subjects_elements(exported) -> None:  # type: ignore[no-untyped-def]
    """SE and EPOCH agree: no record has an epoch before the subject's first element (SCRN at RFICDTC)."""
    frames, _ = _frames(exported)
    first = frames["SE"].sort_values("SESEQ").groupby("USUBJID")["SESTDTC"].first().str[:10]
    checked = 0
    for name, frame in frames.items():
        if name == "SE" or "EPOCH" not in frame.columns or "USUBJID" not in frame.columns:
            continue
        dtc = next((c for c in frame.columns if c in (f"{name}DTC", f"{name}STDTC")), None)
        if dtc is None:
            continue
        day = frame[dtc].astype(str).str[:10]
        start = frame["USUBJID"].map(first)
        dated = (frame["EPOCH"] != "") & (day.str.len() == 10) & start.notna()
        assert not (dated & (day < start)).any(), name
        checked += int(dated.sum())
        if "VISIT" in frame.columns:
            # a record in a visit is in the study: it has an EPOCH and is not before the first element
            visited = frame["VISIT"].astype(str) != ""
            assert not (visited & (frame["EPOCH"] == "")).any(), name
            assert not (visited & (day.str.len() == 10) & start.notna() & (day < start)).any(), name
    assert checked > 100


def test_a_record_before_consent_is_in_no_visit_and_the_screening_visit_starts_at_consent(exported) -> None:  # type: ignore[no-untyped-def]
    """By hand: the protocol's Screening visit (day -28, window -14/+7: days -42 to -21) holds 2021-03-20
    (day -38 from the infusion on 2021-04-27), but the lab of that day is before CT-001's consent
    (2021-04-01): it is pre-study, in no visit (VISITNUM/VISIT null), and SV's visit 1 is built from the
    in-study records only (the lab of 2021-04-02, day -25): it starts on 2021-04-02, on or after RFICDTC,
    and is in the SCREENING epoch (SDTMIG v3.4 §4.1.3.1; D-19.1213)."""
    frames, usubjid = _frames(exported)
    lb = frames["LB"]
    early = lb[(lb["USUBJID"] == usubjid) & (lb["LBDTC"].str[:10] == "2021-03-20")]
    assert len(early) == 1
    assert early["VISIT"].tolist() == [""]
    assert early["VISITNUM"].isna().all()
    sv = frames["SV"][frames["SV"]["USUBJID"] == usubjid].set_index("VISITNUM")
    assert sv.loc[1.0, "VISIT"].upper() == "SCREENING"
    assert sv.loc[1.0, "EPOCH"] == "SCREENING"
    assert sv.loc[1.0, "SVSTDTC"][:10] == "2021-04-02"
    assert (sv["SVSTDTC"].str[:10] >= CONSENT).all()
    assert (sv["EPOCH"] != "").all()
