"""`cartrial.analysis.analyse` on the example study read from a real store: populations, safety, efficacy,
PK/PD and the key findings, checked against numbers derived independently from the example CSVs."""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from datetime import date

import pandas as pd
import pytest

from cartrial.analysis import Analysis, analyse
from cartrial.store.snapshot import StudySnapshot, read_snapshot

from .conftest import CUTOFF, rows


def test_populations_are_the_infused_patients_by_dose_level(analysis: Analysis) -> None:
    levels = Counter(int(r["dose_level"]) for r in rows("infusions"))
    assert levels == {1: 3, 2: 9}  # the example study's design, read from the CSV
    assert analysis.populations["safety"].n == 12
    assert analysis.populations["enrolled"].n == len(rows("subjects"))
    membership = analysis.datasets["populations"].table
    assert Counter(membership.loc[membership["safety"], "dose_level"].astype(int)) == levels
    # 28-day DLT window: every infusion is > 28 days before the cut-off in the example
    assert analysis.populations["dlt_evaluable"].n == 12


def test_crs_in_all_with_maximum_grade_1_to_2_and_no_icans(analysis: Analysis) -> None:
    # independent reading of the CRS form (ASTCT 2019): fever >= 38 C makes CRS grade >= 1; no vasopressor
    # and at most low-flow nasal cannula keeps it <= 2; the CRS adverse events record the same maximum
    fever = defaultdict(bool)
    for r in rows("crs_assessments"):
        fever[r["subject_id"]] |= float(r["temperature_c"]) >= 38.0
        assert int(r["vasopressors"]) == 0 and r["vasopressin"] == "false"
        assert r["oxygen"] in ("none", "nasal_cannula") and float(r["oxygen_l_min"] or 0) <= 6
    assert all(fever.values()) and len(fever) == 12
    recorded = {r["subject_id"]: int(r["grade"]) for r in rows("adverse_events") if r["category"] == "crs"}
    # ICANS form: full ICE score (4+3+1+1+1 = 10), alert, no seizure / motor / oedema finding -> grade 0
    for r in rows("icans_assessments"):
        items = [r[f"ice_{k}"] for k in ("orientation", "naming", "command", "writing", "attention")]
        assert sum(map(int, items)) == 10 and r["consciousness"] == "alert"
        assert (r["seizure"], r["motor"], r["cerebral_edema"]) == ("none", "none", "none")

    by_subject = analysis.datasets["crs_icans_by_subject"].table.set_index("subject_id")
    assert by_subject["crs_any"].all()
    assert dict(by_subject["crs_max_grade"].astype(int)) == recorded
    assert set(by_subject["crs_max_grade"]) <= {1, 2}
    assert not by_subject["icans_any"].any()
    summary = analysis.datasets["crs_icans_summary"].table
    overall = summary[(summary["group"] == "all") & (summary["measure"] == "crs_any")].iloc[0]
    assert (overall["k"], overall["n"], overall["percent"]) == (12, 12, 100.0)
    assert overall["ci_low_pct"] == pytest.approx(100 * 0.025 ** (1 / 12), abs=1e-3)  # exact bound, k = n
    level1 = summary[(summary["group"] == "dose level 1") & (summary["measure"] == "crs_any")].iloc[0]
    assert (level1["k"], level1["n"]) == (3, 3)

    statements = [f.statement for f in analysis.findings]
    assert "CRS occurred in 12 of 12 infused patients (100 %), all grade 1–2." in statements
    assert "No patient had ICANS (0 of 12 infused patients)." in statements


def test_every_finding_states_population_definition_and_source(analysis: Analysis) -> None:
    assert {f.domain for f in analysis.findings} >= {"safety", "efficacy", "pk", "pd", "data"}
    for finding in analysis.findings:
        assert finding.population and finding.definition
        assert finding.source == "snapshot" or finding.source in analysis.datasets
        if finding.denominator is not None:
            assert finding.numerator is not None and 0 <= finding.numerator <= finding.denominator
    for dataset in analysis.datasets.values():
        assert dataset.population and dataset.derivation and dataset.source_tables


def test_responders_follow_the_protocol_definitions_and_name_the_not_evaluable(analysis: Analysis) -> None:
    summary = analysis.datasets["responders_summary"].table
    overall = summary[summary["group"] == "all"].set_index("endpoint")
    assert set(overall.index) == {"visual_acuity_response", "walking_response", "bladder_response"}
    for endpoint, row in overall.iterrows():
        population = analysis.populations[f"efficacy:{endpoint}"]
        assert row["n_evaluable"] == population.n
        assert row["not_evaluable"] == 12 - population.n
        named = sorted(s for ids in population.excluded.values() for s in ids)
        assert row["not_evaluable_subjects"] == ";".join(named)
    # bladder: evaluable needs a baseline bowel/bladder FS >= 1 (room for a decrease of 1) — from the CSV
    baseline: dict[str, int] = {}
    day0 = {r["subject_id"]: r["infused_at"][:10] for r in rows("infusions")}
    for r in sorted(rows("edss"), key=lambda r: r["assessed_at"]):
        if r["assessed_at"][:10] <= day0[r["subject_id"]]:
            baseline[r["subject_id"]] = int(r["bowel_bladder"])
    assert overall.loc["bladder_response", "n_evaluable"] == sum(v >= 1 for v in baseline.values())


def test_missing_baseline_is_counted_and_named(snapshot: StudySnapshot) -> None:
    # drop every visual acuity of CT-002 and CT-004 on or before day 0: both become "not evaluable"
    va = snapshot.tables["visual_acuity"]
    day0 = {r["subject_id"]: r["infused_at"][:10] for r in rows("infusions")}
    drop = va["subject_id"].isin(["CT-002", "CT-004"]) & (
        va["assessed_at"].str[:10] <= va["subject_id"].map(day0)
    )
    tables = {**snapshot.tables, "visual_acuity": va[~drop].reset_index(drop=True)}
    result = analyse(dataclasses.replace(snapshot, tables=tables))
    population = result.populations["efficacy:visual_acuity_response"]
    excluded = {s for ids in population.excluded.values() for s in ids}
    assert {"CT-002", "CT-004"} <= excluded
    finding = next(f for f in result.findings if f.source == "responders_summary" and "Visual" in f.statement)
    assert "Not evaluable:" in finding.statement and "CT-002" in finding.statement


def test_relapses_kinetics_and_titres(analysis: Analysis) -> None:
    # post-infusion relapses from the CSV (onset after the infusion day, on or before the cut-off)
    day0 = {r["subject_id"]: r["infused_at"][:10] for r in rows("infusions")}
    relapsed = {
        r["subject_id"] for r in rows("relapses") if day0[r["subject_id"]] < r["onset_date"] <= str(CUTOFF)
    }
    km = analysis.datasets["relapse_free_km"]
    assert f"{12 - len(relapsed)} of 12" in km.notes[0]
    persistence = analysis.datasets["persistence"].table
    # last quantifiable day per subject/analyte straight from the PK CSV
    last: dict[tuple[str, str], float] = {}
    for r in rows("pk_samples"):
        if r["blq"] == "false" and r["value"]:
            key = (r["subject_id"], r["analyte"])
            last[key] = max(last.get(key, 0.0), float(r["actual_day"]))
    for _, row in persistence.iterrows():
        assert row["last_quantifiable_day"] == pytest.approx(last[(row["subject_id"], row["analyte"])])
        assert row["detectable_beyond_day_180"] == (last[(row["subject_id"], row["analyte"])] > 180)
    nca = analysis.datasets["nca_summary"].table
    cmax = nca[(nca["parameter"] == "cmax") & (nca["group"] == "all")]
    assert set(cmax["n"]) == {12}
    titre = analysis.datasets["aqp4_titre_change"].table
    assert titre["evaluable"].sum() == analysis.populations["efficacy:aqp4_titre"].n
    assert isinstance(titre, pd.DataFrame)


def test_an_interim_cutoff_counts_the_not_yet_infused_and_the_later_records(example_sqlite: str) -> None:
    cutoff = date(2021, 9, 30)
    result = analyse(read_snapshot(example_sqlite, cutoff))
    consented = {r["subject_id"] for r in rows("subjects") if r["consent_date"] <= str(cutoff)}
    infused = {r["subject_id"] for r in rows("infusions") if r["infused_at"][:10] <= str(cutoff)}
    assert set(result.populations["enrolled"].subject_ids) == consented
    assert set(result.populations["safety"].subject_ids) == infused
    assert set(result.populations["safety"].excluded["not infused by the cut-off"]) == consented - infused
    window = 28
    completed = {
        r["subject_id"]
        for r in rows("infusions")
        if r["subject_id"] in infused and (cutoff - date.fromisoformat(r["infused_at"][:10])).days >= window
    }
    assert set(result.populations["dlt_evaluable"].subject_ids) == completed
    data = result.findings[0]
    assert data.domain == "data" and "dated after the cut-off left out" in data.statement


def test_a_cutoff_on_the_first_infusion_day_has_no_post_infusion_rate(example_sqlite: str) -> None:
    """At a cut-off on the day of the first infusion (CT-001, 2021-04-27) no patient-time after the
    infusion has accrued: the post-infusion ARR is not estimable (0 patient-years, `relapse_rates` blank).
    The finding says so, as `cartrial relapses` does, where it printed "nan (nan–nan) after" (D-19.147)."""
    result = analyse(read_snapshot(example_sqlite, date(2021, 4, 27)))
    rates = result.datasets["relapse_rates"].table.set_index("measure")
    assert rates.loc["ARR after infusion", "patient_years"] == 0
    assert pd.isna(rates.loc["ARR after infusion", "estimate"])
    (finding,) = [f for f in result.findings if f.source == "relapse_rates"]
    assert "nan" not in finding.statement
    assert finding.statement.startswith("Annualised relapse rate 1.50 (95 % CI 0.31–4.38) before infusion")
    assert "and not estimable after (no follow-up time: 0 patient-years)." in finding.statement


def test_a_subject_without_any_assessment_is_named_everywhere(snapshot: StudySnapshot) -> None:
    tables = {
        name: (frame[frame["subject_id"] != "CT-003"].reset_index(drop=True) if name not in (
            "subjects", "infusions", "lymphodepletion", "therapies", "escalation_decisions"
        ) else frame)
        for name, frame in snapshot.tables.items()
    }  # fmt: skip
    result = analyse(dataclasses.replace(snapshot, tables=tables))
    assert result.populations["safety"].n == 12
    assert result.populations["pk"].excluded == {"no PK sample": ("CT-003",)}
    for name in ("efficacy:edss_change", "efficacy:aqp4_titre", "efficacy:walking_response"):
        assert "CT-003" in {s for ids in result.populations[name].excluded.values() for s in ids}, name
    by_subject = result.datasets["crs_icans_by_subject"].table.set_index("subject_id")
    assert not by_subject.loc["CT-003", "crs_assessed"] and pd.isna(by_subject.loc["CT-003", "crs_max_grade"])
    crs = next(f for f in result.findings if f.statement.startswith("CRS occurred"))
    assert "Not assessed: 1 — CT-003" in crs.statement


def test_escalation_replay_lists_deviations_from_the_design(
    snapshot: StudySnapshot, analysis: Analysis
) -> None:
    # 3+3 by hand: 0/3 at level 1 -> escalate to 2; 0/3 at level 2 (top level) -> expansion at 2; after the
    # 6-patient expansion the design ends (protocol: expansion of 6 at level 2): the recorded "stop" agrees
    replay = analysis.datasets["escalation_replay"].table.set_index("cohort")
    assert list(replay["design_next_dose"].isna()) == [False, False, True]
    assert (replay.loc[1, "design_next_dose"], replay.loc[2, "design_next_dose"]) == (2, 2)
    assert list(replay["deviation"] != "") == [False, False, False]
    decisions = snapshot.tables["escalation_decisions"].copy()
    decisions.loc[decisions["cohort"] == "1", "decision"] = "stay"
    changed = analyse(
        dataclasses.replace(snapshot, tables={**snapshot.tables, "escalation_decisions": decisions})
    )
    replay = changed.datasets["escalation_replay"].table
    assert list(replay["deviation"] != "") == [True, False, False]
    dlt = analysis.datasets["dlt_by_dose_level"].table
    assert dlt.loc[dlt["group"] == "all", "k"].item() == sum(
        r["dlt"] == "true" for r in rows("adverse_events")
    )
