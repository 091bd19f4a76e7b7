"""The end of study in the CDISC export comes from the analysis layer (D-19.92): ADSL EOSSTT/DCSREAS and the
DS disposition event agree with the subjects form's disposition and a recorded death. The export said EOSSTT
ONGOING for a subject whose DS record said WITHDRAWAL BY SUBJECT, and wrote no DS disposition event for a
death recorded only as a fatal adverse event."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd


def _frames(exported, dispositions: dict[str, tuple[str, str]], extra_ae: list[dict[str, str]] = ()):  # type: ignore[no-untyped-def,assignment]
    return _frames_and_analysis(exported, dispositions, extra_ae)[0]


def _frames_and_analysis(  # type: ignore[no-untyped-def]
    exported,
    dispositions: dict[str, tuple[str, str]],
    extra_ae: list[dict[str, str]] = (),  # type: ignore[assignment]
):
    """The export's frames (every dataset validated clean) and the analysis of the example with the
    subjects' `dispositions` (text, date) and the `extra_ae` adverse events."""
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all, validate_all

    tables = dict(exported.snapshot.tables)
    subjects = tables["subjects"].copy()
    for sid, (text, date) in dispositions.items():
        subjects.loc[subjects["subject_id"] == sid, ["disposition", "disposition_date"]] = [text, date]
    tables["subjects"] = subjects
    if extra_ae:
        ae = tables["adverse_events"]
        rows = [{c: "" for c in ae.columns} | r for r in extra_ae]
        tables["adverse_events"] = pd.concat([ae, pd.DataFrame(rows)], ignore_index=True)
    snapshot = dataclasses.replace(exported.snapshot, tables=tables)
    analysis = analyse(snapshot)
    frames = build_all(snapshot, analysis, {"TJH": "China"})
    findings = validate_all(frames)
    assert all(v == [] for v in findings.values()), {k: v[:2] for k, v in findings.items() if v}
    return frames, analysis


def test_adsl_and_ds_agree_on_each_end_of_study(exported) -> None:  # type: ignore[no-untyped-def]
    frames = _frames(
        exported,
        {
            "CT-001": ("withdrawn: moved abroad", "2021-12-01"),
            "CT-002": ("Completed", "2022-03-01"),
            "CT-004": ("lost", ""),  # an end stored undated before D-19.92: no date (D-19.126)
        },
    )
    adsl = frames["ADSL"].set_index("SUBJID")
    assert adsl.loc["CT-001", "EOSDT"] == dt.date(2021, 12, 1) and pd.isna(adsl.loc["CT-004", "EOSDT"])
    assert adsl.loc["CT-001", ["EOSSTT", "DCSREAS"]].tolist() == ["DISCONTINUED", "WITHDRAWAL BY SUBJECT"]
    assert adsl.loc["CT-002", ["EOSSTT", "DCSREAS"]].tolist() == ["COMPLETED", ""]
    assert adsl.loc["CT-004", ["EOSSTT", "DCSREAS"]].tolist() == ["DISCONTINUED", "LOST TO FOLLOW-UP"]
    assert set(adsl.drop(index=["CT-001", "CT-002", "CT-004"])["EOSSTT"]) == {"ONGOING"}
    ds = frames["DS"]
    events = ds[ds["DSCAT"] == "DISPOSITION EVENT"].set_index("USUBJID")
    study = str(ds["STUDYID"].iloc[0])
    assert events.loc[f"{study}-CT-001", ["DSTERM", "DSDECOD"]].tolist() == [
        "WITHDRAWN: MOVED ABROAD",
        "WITHDRAWAL BY SUBJECT",
    ]
    assert events.loc[f"{study}-CT-001", "DSSTDTC"] == "2021-12-01"
    assert events.loc[f"{study}-CT-002", ["DSDECOD", "DSSTDTC"]].tolist() == ["COMPLETED", "2022-03-01"]
    assert events.loc[f"{study}-CT-004", "DSDECOD"] == "LOST TO FOLLOW-UP"
    assert len(events) == 3


def test_a_death_recorded_only_as_an_adverse_event_has_its_ds_event_on_the_death_date(exported) -> None:  # type: ignore[no-untyped-def]
    death = {
        "subject_id": "CT-003",
        "term": "Death NOS",
        "category": "death",
        "started_on": "2021-06-18",
        "ended_on": "2021-06-18",
        "grade": "5",
        "outcome": "fatal",
        "record_id": "999999",
    }
    frames = _frames(exported, {}, [death])
    ds = frames["DS"]
    event = ds[(ds["DSCAT"] == "DISPOSITION EVENT")]
    assert event[["DSTERM", "DSDECOD", "DSSTDTC"]].values.tolist() == [["DEATH", "DEATH", "2021-06-18"]]
    dm = frames["DM"].set_index("SUBJID")
    assert dm.loc["CT-003", "DTHDTC"] == "2021-06-18"
    adsl = frames["ADSL"].set_index("SUBJID")
    assert adsl.loc["CT-003", ["EOSSTT", "DCSREAS"]].tolist() == ["DISCONTINUED", "DEATH"]


def test_the_reported_term_of_a_death_never_names_another_disposition(exported) -> None:  # type: ignore[no-untyped-def]
    """A recorded death outranks the form (D-19.92), so DSDECOD is DEATH whatever the form says; DSTERM took
    the form's text, giving a disposition event reported as ONGOING (or WITHDRAWN: ...) and coded DEATH.
    The form's text is the reported term only when it records the event coded (review of D-19.92). Each case
    is one subject's death (a fatal adverse event on 2021-06-18, after its infusion) and form, all in one
    export: a subject's reported term is its own."""
    cases = {
        "CT-001": ("ongoing", "", "DEATH"),
        # dated after the death: the death ends it
        "CT-002": ("withdrawn: moved abroad", "2021-06-25", "DEATH"),
        "CT-003": ("Death: sepsis", "2021-06-18", "DEATH: SEPSIS"),
    }
    deaths = [
        {
            "subject_id": sid,
            "term": "Death NOS",
            "category": "death",
            "started_on": "2021-06-18",
            "ended_on": "2021-06-18",
            "grade": "5",
            "outcome": "fatal",
            "record_id": str(999997 + number),
        }
        for number, sid in enumerate(cases)
    ]
    frames = _frames(exported, {sid: (text, date) for sid, (text, date, _term) in cases.items()}, deaths)
    ds = frames["DS"]
    study = str(ds["STUDYID"].iloc[0])
    event = ds[ds["DSCAT"] == "DISPOSITION EVENT"]
    assert sorted(event["USUBJID"]) == [f"{study}-{sid}" for sid in cases]
    coded = event.set_index("USUBJID")[["DSTERM", "DSDECOD"]]
    for sid, (text, _date, term) in cases.items():
        assert coded.loc[f"{study}-{sid}"].tolist() == [term, "DEATH"], text


def test_the_end_of_participation_is_never_before_the_disposition_event(exported) -> None:  # type: ignore[no-untyped-def]
    """DM.RFPENDTC (SDTMIG 3.4: the end of participation, "last known date of contact", e.g. a withdrawal or
    completion date) was the last dated record only, so a completion dated after the subject's last record
    gave a DS disposition event after the end of participation (D-19.111). CT-002's last record in the
    example is 2022-02-11 (pd_samples.csv); completed on 2022-03-01: RFPENDTC 2022-03-01. A subject whose
    records run past an earlier end (CT-001) keeps its last record."""
    frames = _frames(
        exported,
        {"CT-001": ("withdrawn", "2021-12-01"), "CT-002": ("completed", "2022-03-01")},
    )
    dm = frames["DM"].set_index("SUBJID")
    assert dm.loc["CT-002", "RFPENDTC"] == "2022-03-01"
    assert dm.loc["CT-001", "RFPENDTC"] > "2021-12-01"
    ds = frames["DS"]
    latest = ds.groupby("USUBJID")["DSSTDTC"].max()
    ends = frames["DM"].set_index("USUBJID")["RFPENDTC"]
    assert all(ends[u] >= day for u, day in latest.items()), {u: (ends[u], d) for u, d in latest.items()}


def test_a_disposition_with_an_empty_reason_reports_the_word(exported) -> None:  # type: ignore[no-untyped-def]
    """D-19.115: the form accepts ``word:`` with an empty reason (the pattern's reason is any text, none
    included); DSTERM was the text upper-cased with its dangling colon, "DEATH:" or "WITHDRAWN :". The
    reported term is the word when the reason is empty, the text with its reason otherwise. Each text is
    one subject's end of study (infused before it), all in one export: a subject's reported term is its
    own."""
    cases = {
        "CT-001": ("withdrawn: ", "WITHDRAWN"),
        "CT-002": ("Lost to follow-up :", "LOST TO FOLLOW-UP"),
        "CT-003": ("withdrawn: moved abroad", "WITHDRAWN: MOVED ABROAD"),
    }
    frames = _frames(exported, {sid: (text, "2021-12-01") for sid, (text, _term) in cases.items()})
    ds = frames["DS"]
    study = str(ds["STUDYID"].iloc[0])
    event = ds[ds["DSCAT"] == "DISPOSITION EVENT"]
    assert sorted(event["USUBJID"]) == [f"{study}-{sid}" for sid in cases]
    terms = event.set_index("USUBJID")["DSTERM"]
    for sid, (text, term) in cases.items():
        assert terms[f"{study}-{sid}"] == term, text


def test_dsseq_is_chronological_with_consent_first_on_the_same_day(exported) -> None:  # type: ignore[no-untyped-def]
    """D-19.125: a withdrawal on the day of consent (CT-003 consented 2021-05-13) comes after the informed
    consent in DSSEQ, as in the subject's study; DSSEQ follows DSSTDTC for every subject."""
    frames = _frames(exported, {"CT-003": ("withdrawn: changed mind", "2021-05-13")})
    ds = frames["DS"]
    study = str(ds["STUDYID"].iloc[0])
    ct003 = ds[ds["USUBJID"] == f"{study}-CT-003"].sort_values("DSSEQ")
    assert ct003[["DSSEQ", "DSDECOD", "DSSTDTC"]].values.tolist() == [
        [1.0, "INFORMED CONSENT OBTAINED", "2021-05-13"],
        [2.0, "WITHDRAWAL BY SUBJECT", "2021-05-13"],
    ]
    for _, records in ds.groupby("USUBJID"):
        ordered = records.sort_values("DSSEQ")
        assert ordered["DSSTDTC"].tolist() == sorted(ordered["DSSTDTC"].tolist())
        assert ordered["DSDECOD"].iloc[0] == "INFORMED CONSENT OBTAINED"


def test_an_undated_end_of_study_is_undated_in_both_adsl_and_ds(exported) -> None:  # type: ignore[no-untyped-def]
    """D-19.126: an end stored without a date (before D-19.92) has no EOSDT and no DSSTDTC — one value, the
    analysis's end_of_study_date, never imputed — while the follow-up still ends at the last contact; the
    undated disposition event is the subject's last DS record, and the populations dataset names it."""
    frames, analysis = _frames_and_analysis(exported, {"CT-004": ("lost", "")})
    adsl = frames["ADSL"].set_index("SUBJID")
    assert pd.isna(adsl.loc["CT-004", "EOSDT"])
    assert adsl.loc["CT-004", ["EOSSTT", "DCSREAS"]].tolist() == ["DISCONTINUED", "LOST TO FOLLOW-UP"]
    ds = frames["DS"]
    study = str(ds["STUDYID"].iloc[0])
    ct004 = ds[ds["USUBJID"] == f"{study}-CT-004"].sort_values("DSSEQ")
    assert ct004["DSDECOD"].tolist() == ["INFORMED CONSENT OBTAINED", "LOST TO FOLLOW-UP"]
    event = ct004.iloc[1]
    assert event["DSSTDTC"] == "" and pd.isna(event["DSSTDY"]) and event["EPOCH"] == ""
    populations = analysis.datasets["populations"]
    row = populations.table.set_index("subject_id").loc["CT-004"]
    assert row["end_of_study_date"] == "" and row["follow_up_days"] > 0  # followed to the last contact
    assert any("CT-004" in note and "not dated" in note for note in populations.notes)
