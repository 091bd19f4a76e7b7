"""Reconciliation of the exported datasets with the store snapshot and the analysis layer, and the documented
representation of awkward data (partial dates, ongoing AEs, "<0.1" lab values, BLQ samples).

Expected numbers are counted here directly from the snapshot tables or read from the analysis datasets —
never from the CDISC code under test."""

from __future__ import annotations

import dataclasses
import math

import pandas as pd

from cartrial.cdisc.spec import dataset_specs


def _n_nonblank(frame: pd.DataFrame, columns: list[str]) -> int:
    return int(sum((frame[c].astype(str).str.strip() != "").sum() for c in columns))


def test_record_counts_equal_the_store_at_the_cutoff(exported_each) -> None:  # type: ignore[no-untyped-def]
    t = exported_each.snapshot.tables
    f = exported_each.frames
    a = exported_each.analysis
    # AE = AE-form rows that are not CRS/ICANS + one per CRS/ICANS episode + reported CRS/ICANS rows left over
    ae = t["adverse_events"]
    other = int((~ae["category"].isin(["crs", "icans"])).sum())
    n_episodes = 0
    leftover = 0
    for kind in ("crs", "icans"):
        episodes = a.datasets[f"{kind}_episodes"].table
        episodes = episodes[episodes["episode"] >= 1]
        n_episodes += len(episodes)
        reported = ae[ae["category"] == kind].groupby("subject_id").size()
        per_subject = episodes.groupby("subject_id").size()
        for sid, n in reported.items():
            leftover += max(0, int(n) - int(per_subject.get(sid, 0)))
    assert len(f["AE"]) == other + n_episodes + leftover
    assert n_episodes == 12 and other == 57  # the example study: 12 CRS episodes, 57 other AEs
    # LB = lab results + every non-blank immunology value of the PD form
    pd_columns = [
        "aqp4_igg_titre",
        "cd19_b_cells_per_ul",
        "bcma_plasma_cells_per_ul",
        "igg_g_per_l",
        "iga_g_per_l",
        "igm_g_per_l",
    ]
    assert len(f["LB"]) == len(t["labs"]) + _n_nonblank(t["pd_samples"], pd_columns)
    assert (f["LB"]["LBREFID"].str.startswith("LB-")).sum() == len(t["labs"])
    assert len(f["PC"]) == len(t["pk_samples"])
    assert len(f["EX"]) == len(t["infusions"]) + len(t["lymphodepletion"])
    assert len(f["CM"]) == len(t["therapies"])  # no treatment history in the example
    assert len(f["DM"]) == len(t["subjects"])
    # relapses: on/after the infusion in CE, before in MH (never dropped)
    assert len(f["CE"]) + int((f["MH"]["MHCAT"] == "NMOSD ATTACK HISTORY").sum()) == len(t["relapses"])
    # OE: one record per eye and assessment; FT: one per non-blank trial
    assert len(f["OE"]) == len(t["visual_acuity"])
    assert len(f["FT"]) == _n_nonblank(t["timed_walk"], ["trial_1_seconds", "trial_2_seconds"])
    # QS (or RS with the option rs; the other is not written): EDSS score + non-blank FS per assessment;
    # SUPPQS (SUPPRS): non-blank ambulation score, walking distance, assistance and method (D-15.12), so
    # QS + SUPPQS = every EDSS-related value of the store + the EDSS scores
    fs = ["pyramidal", "cerebellar", "brainstem", "sensory", "bowel_bladder", "visual", "cerebral"]
    edss = a.datasets["edss_scored"].table
    (domain,) = {"QS", "RS"} & set(f)
    n_scores = int(edss["edss"].notna().sum())
    qualifiers = ["ambulation", "walking_distance_m", "assistance", "method"]
    n_moved = _n_nonblank(t["edss"], qualifiers)
    assert len(f[domain]) == n_scores + _n_nonblank(t["edss"], fs)
    assert len(f[f"SUPP{domain}"]) == n_moved > 0
    assert len(f[domain]) + len(f[f"SUPP{domain}"]) == n_scores + _n_nonblank(t["edss"], [*fs, *qualifiers])
    # FA: every non-blank component cell of the CRS and ICANS forms
    crs_cols = [
        "temperature_c",
        "hypotension",
        "systolic_bp_mmhg",
        "vasopressors",
        "vasopressin",
        "oxygen",
        "oxygen_l_min",
        "fio2_pct",
    ]
    icans_cols = [
        "ice_orientation",
        "ice_naming",
        "ice_command",
        "ice_writing",
        "ice_attention",
        "ice_total",
        "consciousness",
        "seizure",
        "motor",
        "cerebral_edema",
    ]
    assert len(f["FA"]) == _n_nonblank(t["crs_assessments"], crs_cols) + _n_nonblank(
        t["icans_assessments"], icans_cols
    )
    # PP: nine parameters per subject and analyte of the analysis layer's NCA
    assert len(f["PP"]) == 9 * len(a.datasets["nca_by_subject"].table)


def test_adsl_has_one_row_per_subject_and_the_analysis_populations(exported) -> None:  # type: ignore[no-untyped-def]
    adsl = exported.frames["ADSL"]
    pops = exported.analysis.populations
    assert adsl["USUBJID"].is_unique
    assert len(adsl) == pops["enrolled"].n
    for flag, pop in (
        ("SAFFL", "safety"),
        ("DLTEVLFL", "dlt_evaluable"),
        ("PKFL", "pk"),
        ("ENRLFL", "enrolled"),
        ("VAEFL", "efficacy:visual_acuity_response"),
        ("BLADEFL", "efficacy:bladder_response"),
    ):
        assert set(adsl.loc[adsl[flag] == "Y", "SUBJID"]) == set(pops[pop].subject_ids), flag
    assert pops["efficacy:visual_acuity_response"].n < pops["enrolled"].n  # the check can tell flags apart


def test_adae_worst_crs_grade_per_subject_equals_the_analysis_layer(exported) -> None:  # type: ignore[no-untyped-def]
    adae = exported.frames["ADAE"]
    by_subject = exported.analysis.datasets["crs_icans_by_subject"].table
    crs = adae[adae["CQ01NAM"] == "CRS"]
    worst = crs.groupby("USUBJID")["ATOXGRN"].max()
    for r in by_subject.to_dict("records"):
        usubjid = f"CT103A-NMOSD-{r['subject_id']}"
        if r["crs_any"]:
            assert worst[usubjid] == r["crs_max_grade"], usubjid
        else:
            assert usubjid not in worst.index
    assert sorted(set(worst)) == [1.0, 2.0]  # the example has grade 1 and grade 2 CRS
    # TRTEMFL comes from the analysis layer's teae_listing
    teae = exported.analysis.datasets["teae_listing"].table
    expected = {f"AE-{r}" for r, e in zip(teae["record_id"], teae["treatment_emergent"], strict=True) if e}
    flagged = set(adae.loc[(adae["TRTEMFL"] == "Y") & adae["AESPID"].str.startswith("AE-"), "AESPID"])
    assert flagged == expected - {f"AE-{r}" for r in teae.loc[teae["category"] == "crs", "record_id"]}
    # one first-occurrence flag per subject with a treatment-emergent AE
    assert (adae.groupby("USUBJID")["AOCCFL"].apply(lambda s: (s == "Y").sum()) <= 1).all()


def test_responder_proportions_equal_the_analysis_layer(exported) -> None:  # type: ignore[no-untyped-def]
    from cartrial.cdisc.adam import RESPONDER_PARAMS

    adrs = exported.frames["ADRS"]
    summary = exported.analysis.datasets["responders_summary"].table
    for r in summary[summary["group"] == "all"].to_dict("records"):
        code = RESPONDER_PARAMS[r["endpoint"]][0]
        part = adrs[adrs["PARAMCD"] == code]
        assert int((part["AVALC"] == "Y").sum()) == r["n_responders"], code
        assert int((part["ANL01FL"] == "Y").sum()) == r["n_evaluable"], code


def test_adlb_grades_and_shift_equal_the_analysis_layer(exported) -> None:  # type: ignore[no-untyped-def]
    from cartrial.cdisc.sdtm import LB_TESTS

    adlb = exported.frames["ADLB"]
    shift = exported.analysis.datasets["lab_shift"].table
    worst = adlb[adlb["WGRFL"] == "Y"]
    for r in shift.to_dict("records"):
        code = LB_TESTS[r["analyte"]][0]
        row = worst[(worst["USUBJID"] == f"CT103A-NMOSD-{r['subject_id']}") & (worst["PARAMCD"] == code)]
        assert len(row) == 1
        assert row["ATOXGRN"].iloc[0] == r["worst_post_grade"]
        assert row["SHIFT1"].iloc[0] == r["shift"].replace("->", " to ")


def test_pp_values_equal_the_analysis_nca(exported) -> None:  # type: ignore[no-untyped-def]
    pp = exported.frames["PP"]
    nca = exported.analysis.datasets["nca_by_subject"].table
    for r in nca.to_dict("records"):
        mine = pp[(pp["USUBJID"] == f"CT103A-NMOSD-{r['subject_id']}") & (pp["PPTESTCD"] == "CMAX")]
        assert len(mine) == 2  # one per analyte
        assert r["cmax"] in set(mine["PPSTRESN"])
    aucint = pp[pp["PPTESTCD"] == "AUCINT"]
    assert set(aucint["PPSTINT"]) == {"P0D"} and set(aucint["PPENINT"]) == {"P28D"}


def test_time_to_first_relapse_events_equal_the_analysis(exported) -> None:  # type: ignore[no-untyped-def]
    adtte = exported.frames["ADTTE"]
    rel = exported.analysis.datasets["relapses_by_subject"].table
    events = adtte[(adtte["PARAMCD"] == "TTRELAP") & (adtte["CNSR"] == 0)]
    assert len(events) == int((~rel["relapse_free"].astype(bool)).sum())
    assert set(events["AVAL"]) == {float(x) for x in rel["first_post_attack_day"] if str(x) != ""}


def test_study_days_have_no_day_zero_and_are_relative_to_the_infusion(exported_each) -> None:  # type: ignore[no-untyped-def]
    dm = exported_each.frames["DM"].set_index("USUBJID")
    lb = exported_each.frames["LB"]
    for r in lb.head(200).to_dict("records"):
        if not r["LBDTC"]:
            continue
        ref = pd.Timestamp(dm.loc[r["USUBJID"], "RFSTDTC"][:10])
        delta = (pd.Timestamp(r["LBDTC"][:10]) - ref).days
        assert r["LBDY"] == (delta + 1 if delta >= 0 else delta)
    for name, frame in exported_each.frames.items():
        if dataset_specs()[name].standard != "SDTMIG":
            continue
        for column in [c for c in frame.columns if c.endswith("DY") and c != "VISITDY"]:
            assert not (frame[column] == 0).any(), (name, column)


def test_baseline_flag_is_the_last_result_before_the_infusion(exported) -> None:  # type: ignore[no-untyped-def]
    lb = exported.frames["LB"]
    dm = exported.frames["DM"].set_index("USUBJID")
    flagged = lb[lb["LBLOBXFL"] == "Y"]
    assert flagged.groupby(["USUBJID", "LBTESTCD"]).size().max() == 1
    for r in flagged.head(50).to_dict("records"):
        assert r["LBDTC"] < dm.loc[r["USUBJID"], "RFSTDTC"]
        later = lb[
            (lb["USUBJID"] == r["USUBJID"])
            & (lb["LBTESTCD"] == r["LBTESTCD"])
            & (lb["LBDTC"] > r["LBDTC"])
            & (lb["LBDTC"] < dm.loc[r["USUBJID"], "RFSTDTC"])
        ]
        assert later.empty


def test_birth_year_only_is_a_partial_iso_date_and_age_is_kept(exported) -> None:  # type: ignore[no-untyped-def]
    """Partial date (ISO 8601 right truncation): the example has birth years only, so BRTHDTC is 'YYYY'."""
    dm = exported.frames["DM"]
    subjects = exported.snapshot.tables["subjects"].set_index("subject_id")
    for r in dm.to_dict("records"):
        assert r["BRTHDTC"] == subjects.loc[r["SUBJID"], "birth_year"]
        assert len(r["BRTHDTC"]) == 4
        consent_year = int(subjects.loc[r["SUBJID"], "consent_date"][:4])
        assert r["AGE"] == consent_year - int(r["BRTHDTC"])


def _modified(exported, **tables: pd.DataFrame):  # type: ignore[no-untyped-def]
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all

    snapshot = dataclasses.replace(exported.snapshot, tables={**exported.snapshot.tables, **tables})
    return build_all(snapshot, analyse(snapshot), {"TJH": "China"})


def test_bad_data_representation(exported) -> None:  # type: ignore[no-untyped-def]
    """'<0.1' lab value → LBORRES/LBSTRESC '<0.1', LBSTRESN empty (record kept); an AE without end date →
    AEENDTC empty, AEENRTPT ONGOING with the cut-off as reference; a month-only date stays 'YYYY-MM' with an
    empty study day; every dataset still validates."""
    from cartrial.cdisc.export import validate_all

    labs = exported.snapshot.tables["labs"].copy()
    row = labs.index[labs["analyte"] == "neutrophils"][5]
    labs.loc[row, "value"] = "<0.1"
    ae = exported.snapshot.tables["adverse_events"].copy()
    hem = ae.index[ae["category"] == "hematologic"]
    ae.loc[hem[0], "ended_on"] = ""
    therapies = exported.snapshot.tables["therapies"].copy()
    therapies.loc[therapies.index[0], "stopped_at"] = "2021-05"
    frames = _modified(exported, labs=labs, adverse_events=ae, therapies=therapies)
    lb = frames["LB"]
    assert len(lb) == len(exported.frames["LB"])
    lt = lb[lb["LBREFID"] == f"LB-{labs.loc[row, 'record_id']}"].iloc[0]
    assert lt["LBORRES"] == "<0.1" and lt["LBSTRESC"] == "<0.1" and math.isnan(lt["LBSTRESN"])
    assert lt["LBTOXGR"] == ""  # not gradeable: left empty, never guessed
    ongoing = frames["AE"][frames["AE"]["AESPID"] == f"AE-{ae.loc[hem[0], 'record_id']}"].iloc[0]
    assert ongoing["AEENDTC"] == "" and ongoing["AEENRTPT"] == "ONGOING"
    assert ongoing["AEENTPT"] == exported.snapshot.cutoff.isoformat() and math.isnan(ongoing["AEENDY"])
    adae = frames["ADAE"]
    assert adae.loc[adae["AESPID"] == ongoing["AESPID"], "AENRF"].iloc[0] == "ONGOING"
    cm = frames["CM"][frames["CM"]["CMSPID"] == f"CM-{therapies.loc[therapies.index[0], 'record_id']}"].iloc[
        0
    ]
    assert cm["CMENDTC"] == "2021-05" and math.isnan(cm["CMENDY"])
    findings = validate_all(frames)
    assert all(v == [] for v in findings.values()), {k: v[:2] for k, v in findings.items() if v}


def test_blq_samples_are_text_with_lloq_and_no_number(exported) -> None:  # type: ignore[no-untyped-def]
    pc = exported.frames["PC"]
    pk = exported.snapshot.tables["pk_samples"]
    n_blq = int((pk["blq"] == "true").sum())
    blq = pc[pc["PCORRES"].str.startswith("<")]
    assert len(blq) == n_blq > 0
    assert blq["PCSTRESN"].isna().all() and blq["PCLLOQ"].notna().all()
    assert (blq["PCORRES"] == "<" + blq["PCLLOQ"].map(lambda x: f"{x:g}")).all()
