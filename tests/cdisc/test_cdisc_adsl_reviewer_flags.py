"""ADSL variables a regulatory reviewer expects (D-19.1435): the full analysis set flag FASFL, the total
treatment duration TRTDURD and the date last known alive LSTALVDT.

Sources: reference data-standards.md §3 (ADSL key variables "SAFFL, ITTFL/FASFL ... DTHFL, DTHDT");
CDISC ADaMIG v1.3 §3.2 ADSL (population flags FASFL/ITTFL Cond, Y/N, never null; TRTDURD and LSTALVDT
Perm); ICH E9 §5.2.1 (the full analysis set: as close as possible to all subjects treated as intended; ITT
"all randomised" has no meaning in this non-randomised single-arm study, so no ITTFL); pharmaverse admiral
`derive_var_trtdurd` (TRTDURD = TRTEDT - TRTSDT + 1 days).

Expected values by hand from the example study's CSVs (examples/ct103a-nmosd/study): every subject has one
CAR-T infusion (infusions.csv), so TRTSDT = TRTEDT and TRTDURD = 0 + 1 = 1; the latest dated record of the
contact forms (assessments, labs, PK/PD samples, the infusion) on the site's calendar (Asia/Shanghai,
UTC+8) is CT-001 2022-02-01 (edss.csv 2022-02-01T09:00:00Z = 17:00 local), CT-009 2022-03-15 and CT-012
2022-03-12; all 12 subjects are infused, so all are in the full analysis set."""

from __future__ import annotations

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
    assert (adsl.drop(index=NEW)["FASFL"] == "Y").all()


def test_fasfl_is_the_analysis_full_analysis_set(example_frames, exported) -> None:  # type: ignore[no-untyped-def]
    """One derivation: FASFL is membership of the analysis population 'full_analysis' (every infused
    subject), LSTALVDT the analysis populations' last contact (`populations.last_contact`)."""
    from cartrial.analysis import analyse

    analysis = analyse(exported.snapshot)
    pop = analysis.populations["full_analysis"]
    adsl = example_frames["ADSL"].set_index("SUBJID")
    assert set(adsl.index[adsl["FASFL"] == "Y"]) == set(pop.subject_ids)
    membership = analysis.datasets["populations"].table.set_index("subject_id")
    assert membership.loc["CT-001", "last_contact_date"] == "2022-02-01"
