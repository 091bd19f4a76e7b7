"""ADSL variables a regulatory reviewer expects (D-19.1435): the full analysis set flag FASFL, the total
treatment duration TRTDURD and the date last known alive LSTALVDT.

Sources: reference data-standards.md §3 (ADSL key variables "SAFFL, ITTFL/FASFL ... DTHFL, DTHDT");
CDISC ADaMIG v1.3 §3.2 ADSL (population flags FASFL/ITTFL Cond, Y/N, never null); ICH E9 §5.2.1 (the full
analysis set: as close as possible to all subjects treated as intended; ITT "all randomised" has no meaning
in this non-randomised single-arm study, so no ITTFL); TRTDURD and LSTALVDT are sponsor-defined, Perm, by
the pharmaverse admiral conventions (`derive_var_trtdurd`: TRTDURD = TRTEDT - TRTSDT + 1 days; LSTALVDT the
latest date the subject is known alive, D-19.1437).

Expected values by hand from the example study's CSVs (examples/ct103a-nmosd/study): every subject has one
CAR-T infusion (infusions.csv), so TRTSDT = TRTEDT and TRTDURD = 0 + 1 = 1; the latest dated record of the
contact forms (assessments, labs, PK/PD samples, the infusion) on the site's calendar (Asia/Shanghai,
UTC+8) is CT-001 2022-02-01 (edss.csv 2022-02-01T09:00:00Z = 17:00 local), CT-009 2022-03-15 and CT-012
2022-03-12; no adverse event (latest end: CT-001 2021-06-26, CT-009 2022-01-02, CT-012 2022-02-05) nor
relapse onset (all before the infusions) is later, so LSTALVDT is that last contact; all 12 subjects are
infused, so all are in the full analysis set."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
from tests.cdisc.conftest import frames_with_a_subject_never_infused

NEW = "CT-099"


def test_adsl_has_fasfl_trtdurd_lstalvdt_with_hand_derived_values(example_frames) -> None:  # type: ignore[no-untyped-def]
    adsl = example_frames["ADSL"].set_index("SUBJID")
    assert {"FASFL", "TRTDURD", "LSTALVDT"} <= set(adsl.columns)
    assert "ITTFL" not in adsl.columns  # not randomised: no intent-to-treat set (ICH E9 §5.2.1)
    assert (adsl["FASFL"] == "Y").all() and len(adsl) == 12
    assert (adsl["TRTDURD"] == 1).all()
    assert adsl.loc["CT-001", "LSTALVDT"] == dt.date(2022, 2, 1)
    assert adsl.loc["CT-009", "LSTALVDT"] == dt.date(2022, 3, 15)
    assert adsl.loc["CT-012", "LSTALVDT"] == dt.date(2022, 3, 12)


def test_adsl_variable_order_and_cores() -> None:
    """FASFL sits with the population flags (after ENRLFL, before SAFFL, ADaMIG v1.3 §3.2 table order),
    TRTDURD after the treatment dates, LSTALVDT with the death and end-of-study dates."""
    from cartrial.cdisc.spec import dataset_specs

    adsl = dataset_specs()["ADSL"]
    names = [v.name for v in adsl.variables]
    assert names.index("ENRLFL") < names.index("FASFL") < names.index("SAFFL")
    assert names.index("TRTEDTM") < names.index("TRTDURD") < names.index("LDSTDT")
    assert names.index("DTHDT") < names.index("LSTALVDT") < names.index("EOSSTT")
    core = {v.name: v.core for v in adsl.variables}
    assert core["FASFL"] == "Cond" and core["TRTDURD"] == "Perm" and core["LSTALVDT"] == "Perm"
    assert adsl.variable("FASFL").codelist == "NYA"
    assert adsl.variable("LSTALVDT").date == "sasdate"


def test_a_subject_never_infused_is_not_in_the_full_analysis_set(exported) -> None:  # type: ignore[no-untyped-def]
    """FASFL is Y/N, never null (ADaMIG v1.3 population flags): N for a subject consented, never infused;
    TRTDURD null without a treatment start (no exposure)."""
    from cartrial.cdisc.export import validate_all

    frames = frames_with_a_subject_never_infused(exported, NEW)
    findings = validate_all(frames)
    assert all(v == [] for v in findings.values()), {k: v[:2] for k, v in findings.items() if v}
    adsl = frames["ADSL"].set_index("SUBJID")
    assert adsl.loc[NEW, "FASFL"] == "N"
    assert pd.isna(adsl.loc[NEW, "TRTDURD"])
    # never infused: the analysis starts no follow-up, so no date last known alive (D-19.1435, D-19.1437)
    assert pd.isna(adsl.loc[NEW, "LSTALVDT"])
    assert (adsl.drop(index=NEW)["FASFL"] == "Y").all()


def test_fasfl_is_the_analysis_full_analysis_set(example_frames, exported) -> None:  # type: ignore[no-untyped-def]
    """One derivation: FASFL is membership of the analysis population 'full_analysis' (every infused
    subject), LSTALVDT the analysis populations' date last known alive (`populations.last_known_alive`)."""
    from cartrial.analysis import analyse

    analysis = analyse(exported.snapshot)
    pop = analysis.populations["full_analysis"]
    adsl = example_frames["ADSL"].set_index("SUBJID")
    assert set(adsl.index[adsl["FASFL"] == "Y"]) == set(pop.subject_ids)
    membership = analysis.datasets["populations"].table.set_index("subject_id")
    assert membership.loc["CT-001", "last_contact_date"] == "2022-02-01"
    assert membership.loc["CT-001", "last_known_alive_date"] == "2022-02-01"


def _adverse_event(subject_id: str, started: str, ended: str, record_id: str, **extra: str) -> dict[str, str]:
    return {
        "subject_id": subject_id,
        "term": "Nasopharyngitis",
        "category": "infection",
        "started_on": started,
        "ended_on": ended,
        "grade": "1",
        "grading_scale": "CTCAE",
        "grading_scale_version": "5.0",
        "serious": "false",
        "relatedness": "unrelated",
        "dlt": "false",
        "outcome": "recovered",
        "record_id": record_id,
    } | extra


def test_lstalvdt_counts_an_adverse_event_after_the_last_assessment(exported) -> None:  # type: ignore[no-untyped-def]
    """D-19.1437, a hand case: CT-001's last contact is 2022-02-01 (an EDSS); an adverse event with onset
    2022-02-05 and end 2022-02-20 shows the subject alive on 2022-02-20, so LSTALVDT is 2022-02-20, not
    before AEENDT as a reviewer's "LSTALVDT >= every event date" check would flag; the relapse follow-up
    still ends at the last contact (2022-02-01). CT-009 (last contact 2022-03-15) gets a relapse with onset
    2022-03-18: LSTALVDT 2022-03-18. CT-012 (last contact 2022-03-12) gets an adverse event with onset
    2022-03-10 ending after the cut-off 2022-03-20 (read as ongoing at it): LSTALVDT stays 2022-03-12."""
    from tests.cdisc.conftest import frames_of

    events = exported.snapshot.tables["adverse_events"]
    relapses = exported.snapshot.tables["relapses"]
    blank = dict.fromkeys(events.columns, "")
    added = [
        blank | _adverse_event("CT-001", "2022-02-05", "2022-02-20", "999990"),
        blank | _adverse_event("CT-012", "2022-03-10", "2022-03-25", "999991"),
    ]
    relapse = dict.fromkeys(relapses.columns, "") | {
        "subject_id": "CT-009",
        "onset_date": "2022-03-18",
        "phenotype": "myelitis",
        "severity": "moderate",
        "lasted_over_24h": "true",
        "fever_or_infection": "false",
        "record_id": "999992",
    }
    tables = {
        **exported.snapshot.tables,
        "adverse_events": pd.concat([events, pd.DataFrame(added)], ignore_index=True),
        "relapses": pd.concat([relapses, pd.DataFrame([relapse])], ignore_index=True),
    }
    frames = frames_of(exported, dataclasses.replace(exported.snapshot, tables=tables))
    adsl = frames["ADSL"].set_index("SUBJID")
    assert adsl.loc["CT-001", "LSTALVDT"] == dt.date(2022, 2, 20)
    assert adsl.loc["CT-009", "LSTALVDT"] == dt.date(2022, 3, 18)
    assert adsl.loc["CT-012", "LSTALVDT"] == dt.date(2022, 3, 12)
    # every complete AE start/end on or before the cut-off is on or before LSTALVDT
    alive = frames["ADSL"].set_index("USUBJID")["LSTALVDT"]
    adae = frames["ADAE"]
    for column in ("ASTDT", "AENDT"):
        dated = adae.dropna(subset=[column])
        dated = dated[dated[column] <= dt.date(2022, 3, 20)]
        assert all(day <= alive[u] for u, day in zip(dated["USUBJID"], dated[column], strict=True))


def test_lstalvdt_is_never_after_the_death(exported) -> None:  # type: ignore[no-untyped-def]
    """D-19.1437: CT-002 dies on 2022-03-01 (a fatal adverse event); an adverse event it is recorded to have
    ended on 2022-03-10 (after the death: a RECORD-AFTER-DEATH query, not a sign of life) leaves LSTALVDT at
    the death date 2022-03-01, the death's own AE end date the latest date it was alive."""
    from tests.cdisc.conftest import CT002_DEATH_2022_03_01, frames_of

    events = exported.snapshot.tables["adverse_events"]
    blank = dict.fromkeys(events.columns, "")
    added = [
        blank | CT002_DEATH_2022_03_01,
        blank | _adverse_event("CT-002", "2022-02-25", "2022-03-10", "999990"),
    ]
    events = pd.concat([events, pd.DataFrame(added)], ignore_index=True)
    tables = {**exported.snapshot.tables, "adverse_events": events}
    frames = frames_of(exported, dataclasses.replace(exported.snapshot, tables=tables))
    adsl = frames["ADSL"].set_index("SUBJID")
    assert adsl.loc["CT-002", "DTHDT"] == dt.date(2022, 3, 1)
    assert adsl.loc["CT-002", "LSTALVDT"] == dt.date(2022, 3, 1)
