"""Demographics table and DLT evaluation against the protocol's DLT rules, on the example study read from a
real store; expectations derived by hand from the example CSVs (and from the protocol's DLT rule text)."""

from __future__ import annotations

import dataclasses
import statistics
from collections import Counter
from datetime import date

import pandas as pd
import pytest

from cartrial.analysis import Analysis, analyse
from cartrial.store.snapshot import StudySnapshot, read_snapshot

from .conftest import CUTOFF, rows


def cell(table: pd.DataFrame, characteristic: str, statistic: str, group: str = "all") -> str:
    hit = table[(table["characteristic"] == characteristic) & (table["statistic"] == statistic)]
    assert len(hit) == 1, (characteristic, statistic)
    return str(hit[group].iloc[0])


def test_demographics_table_matches_the_subject_records(analysis: Analysis) -> None:
    table = analysis.datasets["demographics"].table
    subjects = {r["subject_id"]: r for r in rows("subjects")}
    infused = {r["subject_id"]: r for r in rows("infusions")}
    # age at infusion with only the birth year captured: infusion year minus birth year (1 January)
    ages = [int(infused[s]["infused_at"][:4]) - int(subjects[s]["birth_year"]) for s in infused]
    assert ages[:3] == [49, 56, 40]  # CT-001 1972 -> 2021; CT-002 1965; CT-003 1981
    # whole years: mean, SD and median to one decimal, range in whole years (D-19.232); no tie here
    assert cell(table, "Age at infusion, years", "mean (SD)") == (
        f"{statistics.mean(ages):.1f} ({statistics.stdev(ages):.1f})"
    )
    assert cell(table, "Age at infusion, years", "median (min-max)") == (
        f"{statistics.median(ages):.1f} ({min(ages)}-{max(ages)})"
    )
    level1 = [a for s, a in zip(infused, ages, strict=True) if infused[s]["dose_level"] == "1"]
    assert cell(table, "Age at infusion, years", "n", "dose level 1") == str(len(level1)) == "3"
    # sex: 10 women, 2 men (CT-004, CT-010)
    sexes = Counter(subjects[s]["sex"] for s in infused)
    assert sexes == {"F": 10, "M": 2}
    assert cell(table, "Sex", "F") == "10 (83.3 %)"
    assert cell(table, "Sex", "M", "dose level 2") == "2 (22.2 %)"
    assert cell(table, "Sex", "M", "dose level 1") == "0 (0.0 %)"
    weights = [float(subjects[s]["weight_kg"]) for s in infused]
    assert cell(table, "Weight at screening, kg", "mean (SD)") == (
        f"{statistics.mean(weights):.2f} ({statistics.stdev(weights):.2f})"
    )
    # titres at screening: 1:32 x1, 1:100 x4, 1:320 x4, 1:1000 x3
    assert cell(table, "AQP4-IgG titre at screening", "1:100") == "4 (33.3 %)"
    assert cell(table, "AQP4-IgG titre at screening", "1:1000") == "3 (25.0 %)"
    assert list(table.loc[table["characteristic"] == "AQP4-IgG titre at screening", "statistic"]) == [
        "n",
        "1:32",
        "1:100",
        "1:320",
        "1:1000",
        "missing",
    ]
    assert cell(table, "Subjects (safety set)", "N", "dose level 2") == "9"


def test_characteristics_the_store_does_not_hold_are_named_not_dropped(analysis: Analysis) -> None:
    table = analysis.datasets["demographics"].table
    # the example's subjects.csv has no diagnosis_date and no treatment_history column
    assert "diagnosis_date" not in rows("subjects")[0]
    for label in ("Disease duration at infusion, years", "Prior immunosuppressants, number of agents"):
        assert cell(table, label, "not captured") == "not captured for any of 12"
    notes = " ".join(analysis.datasets["demographics"].notes)
    assert "not captured in the store: Disease duration at infusion, years" in notes


def test_relapses_before_infusion_and_baseline_edss_by_hand(analysis: Analysis) -> None:
    per_subject = analysis.datasets["demographics_by_subject"].table.set_index("subject_id")
    infused = {r["subject_id"]: r["infused_at"][:10] for r in rows("infusions")}
    # attacks with onset in the 24 calendar months before the infusion day; onsets < 30 days after the
    # first onset of an attack belong to it (neuro-outcomes.md §4.2: merge window 30 days, anchor first);
    # an episode with fever or infection, or lasting <= 24 h, is not a relapse (pseudo-relapse)
    for sid, day0 in infused.items():
        start = f"{int(day0[:4]) - 2}{day0[4:]}"
        onsets = sorted(
            date.fromisoformat(r["onset_date"])
            for r in rows("relapses")
            if r["subject_id"] == sid
            and start <= r["onset_date"] < day0
            and r["fever_or_infection"] != "true"
            and r["lasted_over_24h"] == "true"
        )
        attacks: list[date] = []
        for onset in onsets:
            if not attacks or (onset - attacks[-1]).days >= 30:
                attacks.append(onset)
        assert per_subject.loc[sid, "relapses_pre_window"] == len(attacks), sid
    assert per_subject.loc["CT-006", "relapses_pre_window"] == 3  # 2020-11-21 and 12-09 are one attack
    assert per_subject.loc["CT-001", "relapses_pre_window"] == 3  # 2019-07-01, 2020-06-05, 2021-01-01
    # CT-001 baseline EDSS form 2021-04-24: FS visual 0, brainstem 1, pyramidal 3, cerebellar 1, sensory 2,
    # bowel-bladder 2, cerebral 1, ambulation 3 -> EDSS 5.0 (Neurostatus: ambulation score 3 = EDSS 5.0)
    assert per_subject.loc["CT-001", "baseline_edss"] == 5.0


def test_no_dlt_in_the_example_and_rule_verdicts_are_explained(analysis: Analysis) -> None:
    by_subject = analysis.datasets["dlt_by_subject"].table
    assert not by_subject["dlt_in_window"].any()
    assert set(by_subject["agreement"]) == {"agree"}
    assert analysis.datasets["dlt_disagreements"].table.empty
    events = analysis.datasets["dlt_assessments"].table
    # CT-001 neutrophils: grade 3 on 2021-05-01 (day 4) until 2021-05-07 -> 6 days, not "> 7 days"
    ct1 = events[(events["subject_id"] == "CT-001") & (events["term"] == "Neutrophil count decreased")]
    assert len(ct1) == 1 and not ct1["is_dlt"].item()
    assert "duration 6 days is not > 7 days" in ct1["not_fired"].item()
    # lymphopenia is excluded by the protocol rule's exclude_terms
    lymph = events[events["term"] == "Lymphocyte count decreased"]
    assert len(lymph) == 12 and "is excluded" in lymph["not_fired"].iloc[0]


def _with(snapshot: StudySnapshot, **tables: pd.DataFrame) -> StudySnapshot:
    return dataclasses.replace(snapshot, tables={**snapshot.tables, **tables})


def test_a_longer_neutropenia_is_a_dlt_by_the_rules_and_a_disagreement(snapshot: StudySnapshot) -> None:
    labs = snapshot.tables["labs"].copy()
    # CT-005 neutrophils 781 (08-07), 710 (08-10), 1070 (08-13), 1600 (08-17) /mm3: making 08-13 900/mm3
    # (CTCAE grade 3: < 1000) extends the grade >= 3 run from 08-07 to 08-17 = 10 days > 7 days
    hit = (
        (labs["subject_id"] == "CT-005")
        & (labs["analyte"] == "neutrophils")
        & (labs["collected_at"] == "2021-08-13T07:00:00Z")
    )
    assert hit.sum() == 1
    labs.loc[hit, "value"] = "900"
    changed = analyse(_with(snapshot, labs=labs))
    listing = changed.datasets["dlt_assessments"].table
    dlts = listing[listing["is_dlt"]]
    assert list(dlts["subject_id"]) == ["CT-005"]
    row = dlts.iloc[0]
    assert row["rules_fired"] == "hematologic_grade_3_over_7_days"
    assert row["duration_days"] == pytest.approx(10.0)
    assert "labs" in row["source"]
    by_subject = changed.datasets["dlt_by_subject"].table.set_index("subject_id")
    assert by_subject.loc["CT-005", "agreement"] == "protocol rules only"
    assert list(changed.datasets["dlt_disagreements"].table["subject_id"]) == ["CT-005"]
    summary = changed.datasets["dlt_by_dose_level"].table.set_index("group")
    assert (summary.loc["dose level 2", "k"], summary.loc["dose level 2", "investigator_k"]) == (1, 0)
    statements = " ".join(f.statement for f in changed.findings)
    assert "1 of 12 DLT-evaluable patients had a dose-limiting toxicity" in statements
    assert "disagree for 1 of 12 infused patients: CT-005 (protocol rules only)" in statements
    # the escalation replay now sees a DLT the cohort's outcome letters do not
    replay = changed.datasets["escalation_replay"].table
    assert replay["deviation"].str.contains("CT-005").any()


def test_adverse_event_grades_and_the_investigator_flag(snapshot: StudySnapshot) -> None:
    ae = snapshot.tables["adverse_events"]
    blank = dict.fromkeys(ae.columns, "")
    added = [
        # treatment-related death on day 10 of CT-002 (infused 2021-05-18), flagged DLT: both agree
        blank
        | {
            "subject_id": "CT-002",
            "term": "Death NOS",
            "category": "death",
            "started_on": "2021-05-28",
            "grade": "5",
            "relatedness": "possible",
            "dlt": "true",
            "record_id": "9001",
        },
        # grade 2 non-haematological event flagged DLT by the investigator: only the committee-judged rule
        # fires (it reads the flag, D-13.8)
        blank
        | {
            "subject_id": "CT-003",
            "term": "Rash maculo-papular",
            "category": "non_hematologic",
            "started_on": "2021-06-10",
            "ended_on": "2021-06-20",
            "grade": "2",
            "relatedness": "possible",
            "dlt": "true",
            "record_id": "9002",
        },
        # a related death on day 40 of CT-004 (infused 2021-07-13): outside the 28-day window
        blank
        | {
            "subject_id": "CT-004",
            "term": "Death NOS",
            "category": "death",
            "started_on": "2021-08-22",
            "grade": "5",
            "relatedness": "probable",
            "dlt": "false",
            "record_id": "9003",
        },
    ]
    changed = analyse(_with(snapshot, adverse_events=pd.concat([ae, pd.DataFrame(added)], ignore_index=True)))
    events = changed.datasets["dlt_assessments"].table
    death = events[(events["subject_id"] == "CT-002") & (events["category"] == "death")].iloc[0]
    # flagged DLT too: the committee-judged rule also fires
    assert bool(death["is_dlt"]) and death["rules_fired"] == "treatment_related_death;committee_judged"
    assert death["rule_descriptions"].startswith("Treatment-related death; ")
    rash = events[(events["subject_id"] == "CT-003") & (events["term"] == "Rash maculo-papular")].iloc[0]
    assert bool(rash["is_dlt"]) and rash["rules_fired"] == "committee_judged"
    assert death["source"].startswith("adverse_events record 9001")
    late = events[(events["subject_id"] == "CT-004") & (events["category"] == "death")].iloc[0]
    assert not late["is_dlt"] and not late["in_window"]
    by_subject = changed.datasets["dlt_by_subject"].table.set_index("subject_id")
    assert by_subject.loc["CT-002", "agreement"] == "agree" and by_subject.loc["CT-002", "dlt_in_window"]
    assert by_subject.loc["CT-003", "agreement"] == "agree" and by_subject.loc["CT-003", "dlt_in_window"]
    assert by_subject.loc["CT-004", "agreement"] == "agree" and not by_subject.loc["CT-004", "dlt_in_window"]
    assert changed.datasets["dlt_disagreements"].table.empty


def test_a_dlt_makes_a_subject_dlt_evaluable_before_the_window_ends(example_sqlite_template: object) -> None:
    # cut-off 2021-12-20: CT-012 (infused 2021-12-07) has 13 of 28 days; a related death on day 5 is a DLT
    cutoff = date(2021, 12, 20)
    base = read_snapshot(f"sqlite:///{example_sqlite_template}", cutoff)
    ae = base.tables["adverse_events"]
    death = dict.fromkeys(ae.columns, "") | {
        "subject_id": "CT-012",
        "term": "Death NOS",
        "category": "death",
        "started_on": "2021-12-12",
        "grade": "5",
        "relatedness": "definite",
        "dlt": "false",
        "record_id": "9004",
    }
    before = analyse(base)
    assert "CT-012" not in before.populations["dlt_evaluable"].subject_ids
    after = analyse(
        dataclasses.replace(
            base, tables={**base.tables, "adverse_events": pd.concat([ae, pd.DataFrame([death])])}
        )
    )
    assert "CT-012" in after.populations["dlt_evaluable"].subject_ids


def test_relapse_follow_up_ends_at_the_last_dated_record(analysis: Analysis) -> None:
    # last contact by hand: the latest date of any assessment, lab or sample record on or before the cut-off
    forms = {
        "edss": "assessed_at",
        "visual_acuity": "assessed_at",
        "osis": "assessed_at",
        "timed_walk": "assessed_at",
        "crs_assessments": "assessed_at",
        "icans_assessments": "assessed_at",
        "labs": "collected_at",
        "pk_samples": "sampled_at",
        "pd_samples": "sampled_at",
    }
    infused = {r["subject_id"]: date.fromisoformat(r["infused_at"][:10]) for r in rows("infusions")}
    last = dict(infused)
    for name, column in forms.items():
        for r in rows(name):
            day = date.fromisoformat(r[column][:10])
            if day <= CUTOFF and day > last[r["subject_id"]]:
                last[r["subject_id"]] = day
    by_subject = analysis.datasets["relapses_by_subject"].table.set_index("subject_id")
    for sid, day0 in infused.items():
        assert by_subject.loc[sid, "post_days"] == (last[sid] - day0).days, sid
    assert last["CT-001"] == date(2022, 2, 1)  # CT-001's last EDSS visit


def test_a_study_without_adverse_events_is_analysed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Subjects infused, no adverse event recorded yet (early in a trial): `analyse`, `report` and `export
    cdisc` ended in a traceback (KeyError 'subject_id'): selecting the DLTs of an empty assessments table by
    its empty object column selected columns, not rows. Now every infused subject is DLT-free."""
    import shutil

    from cartrial import examples
    from cartrial.store.importing import import_templates
    from cartrial.store.study_setup import init_study

    study = examples.path("ct103a-nmosd") / "study"
    forms = tmp_path / "forms"
    forms.mkdir()
    for name in ("sites", "subjects", "infusions"):
        shutil.copy(study / f"{name}.csv", forms)
    url = f"sqlite:///{tmp_path / 'study.db'}"
    init_study(url, examples.path("ct103a-nmosd") / "protocol.yaml", "admin")
    import_templates(url, forms, "admin")
    result = analyse(read_snapshot(url, CUTOFF))
    by_subject = result.datasets["dlt_by_subject"].table
    assert len(by_subject) == 12 and (by_subject["rules_fired"] == "").all()
