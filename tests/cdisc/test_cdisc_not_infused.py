"""A subject who consented but was never infused is exported (D-19.84): SDTM DM has ARM/ACTARM null with
ARMNRS, and ADSL copies them (ADaMIG v1.3 §3.1.1 rule 3, same name same values), with TRT01P/TRT01A null —
no dose level is recorded for the subject (the store records the level at the infusion). ADaMIG "Req" means
the variable is in the dataset, not that every record has a value; ACTARM is Perm and TRT01A Cond in the
ADaMIG v1.3 ADSL table. The export failed (exit 2, nothing written) with ADSL ARM/ACTARM/TRT01P/TRT01A
"required variable is empty"."""

from __future__ import annotations

import dataclasses

import pandas as pd
from tests.cdisc.conftest import frames_with_a_subject_never_infused

NEW = "CT-099"


def test_a_subject_never_infused_is_exported(exported) -> None:  # type: ignore[no-untyped-def]
    from cartrial.cdisc.export import validate_all

    frames = frames_with_a_subject_never_infused(exported, NEW)
    findings = validate_all(frames)
    assert all(v == [] for v in findings.values()), {k: v[:2] for k, v in findings.items() if v}
    dm = frames["DM"].set_index("SUBJID")
    adsl = frames["ADSL"].set_index("SUBJID")
    assert NEW in adsl.index  # every enrolled subject has its one ADSL record
    for name in ("ARMCD", "ARM", "ACTARMCD", "ACTARM"):
        assert adsl.loc[NEW, name] == dm.loc[NEW, name] == ""
    assert adsl.loc[NEW, "TRT01P"] == "" and adsl.loc[NEW, "TRT01A"] == ""
    assert pd.isna(adsl.loc[NEW, "TRT01PN"]) and pd.isna(adsl.loc[NEW, "TRT01AN"])
    assert adsl.loc[NEW, "ENRLFL"] == "Y" and adsl.loc[NEW, "SAFFL"] == "N"
    # the treated subjects keep their arm and treatment
    treated = adsl.drop(index=NEW)
    assert (treated["ARM"] != "").all() and (treated["TRT01P"] == treated["ARM"]).all()
    assert (treated["TRT01A"] == treated["ACTARM"]).all()


def test_adam_required_means_included_not_populated() -> None:
    """The ADSL spec follows the ADaMIG v1.3 core of each variable, and an ADaM Req variable that may be
    null by its source (ARM: DM.ARM) is not Mandatory in Define-XML."""
    from cartrial.cdisc.spec import dataset_specs

    adsl = dataset_specs()["ADSL"]
    core = {v.name: v.core for v in adsl.variables}
    assert core["ARM"] == "Req" and core["TRT01P"] == "Req"
    assert core["ACTARM"] == "Perm" and core["TRT01A"] == "Cond"
    assert adsl.variable("ARM").may_be_null and adsl.variable("TRT01P").may_be_null
    assert not adsl.variable("USUBJID").may_be_null


def test_a_subject_never_infused_with_an_adverse_event_after_consent_is_exported(exported) -> None:  # type: ignore[no-untyped-def]
    """AEs are collected from consent: a subject never infused may have one (and screening labs), and ADAE,
    ADLB... copy ADSL's null TRT01A. Their specs marked TRT01A Req without `may_be_null`, so the export failed
    ("ADAE.TRT01A required variable is empty")."""
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all, validate_all

    tables = dict(exported.snapshot.tables)
    subjects = tables["subjects"]
    tables["subjects"] = pd.concat(
        [
            subjects,
            pd.DataFrame(
                [
                    subjects.iloc[0].to_dict()
                    | {"subject_id": NEW, "screening_number": "S-099", "record_id": "999999"}
                ]
            ),
        ],
        ignore_index=True,
    )
    events = tables["adverse_events"]
    event = events.iloc[0].to_dict() | {
        "subject_id": NEW,
        "term": "Headache",
        "category": "non_hematologic",
        "grade": "1",
        "relatedness": "unrelated",
        "record_id": "999998",
    }
    tables["adverse_events"] = pd.concat([events, pd.DataFrame([event])], ignore_index=True)
    snapshot = dataclasses.replace(exported.snapshot, tables=tables)
    frames = build_all(snapshot, analyse(snapshot), {"TJH": "China"})
    findings = validate_all(frames)
    assert all(v == [] for v in findings.values()), {k: v[:2] for k, v in findings.items() if v}
    adae = frames["ADAE"]
    own = adae[adae["USUBJID"].astype(str).str.endswith(NEW)]
    assert len(own) == 1 and (own["TRT01A"] == "").all()
    from cartrial.cdisc.spec import dataset_specs

    for name, spec in dataset_specs().items():
        if name.startswith("AD") and name != "ADSL" and any(v.name == "TRT01A" for v in spec.variables):
            assert spec.variable("TRT01A").may_be_null, name


def test_a_subject_lymphodepleted_but_never_infused_is_exported_consistently(exported) -> None:  # type: ignore[no-untyped-def]
    """D-19.88: a subject lymphodepleted but not infused is exported (every SDTM AE record in ADAE), out of
    the safety set (ADSL SAFFL N, ENRLFL Y, LDSTDT the first lymphodepletion dose, TRTSDT null), and ADAE
    TRTEMFL says what the analysis layer's ``ae_not_infused`` says: the event on or after the first
    lymphodepletion dose is treatment-emergent by the study's rule (D-19.88), the one before is not (null,
    as for every event that is not treatment-emergent)."""
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all, validate_all

    from ..analysis.test_not_infused_adverse_events import (
        AFTER,
        BEFORE,
        CONSENT_ONLY,
        LD_DAYS,
        LD_ONLY,
        with_ld_only_subject,
    )

    snapshot = with_ld_only_subject(exported.snapshot)
    analysis = analyse(snapshot)
    frames = build_all(snapshot, analysis, {"TJH": "China"})
    findings = validate_all(frames)
    assert all(v == [] for v in findings.values()), {k: v[:2] for k, v in findings.items() if v}
    adsl = frames["ADSL"].set_index("SUBJID")
    for sid in (LD_ONLY, CONSENT_ONLY):
        assert adsl.loc[sid, "ENRLFL"] == "Y" and adsl.loc[sid, "SAFFL"] == "N"
        assert adsl.loc[sid, "DLTEVLFL"] == "N" and pd.isna(adsl.loc[sid, "TRTSDT"])
    assert str(adsl.loc[LD_ONLY, "LDSTDT"]) == LD_DAYS[0] and pd.isna(adsl.loc[CONSENT_ONLY, "LDSTDT"])
    adae = frames["ADAE"]
    own = adae[adae["USUBJID"].astype(str).str.endswith(LD_ONLY)].set_index("AETERM")
    assert sorted(own.index) == sorted([BEFORE["term"], AFTER["term"]])
    assert (own["SAFFL"] == "N").all()
    # ADaMIG OCCDS: TRTEMFL is Y or null, as for an infused subject's event before lymphodepletion
    assert own.loc[AFTER["term"], "TRTEMFL"] == "Y" and own.loc[BEFORE["term"], "TRTEMFL"] == ""
    listing = analysis.datasets["ae_not_infused"].table.set_index("term")
    for term in own.index:
        assert (own.loc[term, "TRTEMFL"] == "Y") == bool(listing.loc[term, "treatment_emergent"])


def test_a_subject_never_infused_has_no_reference_period(exported) -> None:  # type: ignore[no-untyped-def]
    """SDTMIG 3.4 DM: RFSTDTC and RFENDTC bound the reference period (usually the exposure to study
    treatment), both null for a subject never treated; the end of participation is RFPENDTC. A subject never
    infused had RFENDTC (its last contact) without RFSTDTC: a reference period with an end and no start
    (D-19.254)."""
    dm = frames_with_a_subject_never_infused(exported, NEW)["DM"].set_index("SUBJID")
    assert dm.loc[NEW, "RFPENDTC"] != ""  # the subject's participation is still dated
    assert dm.loc[NEW, "RFSTDTC"] == "" and dm.loc[NEW, "RFENDTC"] == ""
    treated = dm.drop(index=NEW)
    assert (treated["RFSTDTC"] != "").all() and (treated["RFENDTC"] == treated["RFPENDTC"]).all()
