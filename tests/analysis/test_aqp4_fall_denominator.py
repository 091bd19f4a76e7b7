"""The AQP4-IgG "titre fell" finding counts only the patients whose baseline titre can fall (D-19.625).

A patient whose baseline AQP4-IgG titre is negative (the bottom of the dilution series, `parse_titre_step`
index 0) cannot fall by a dilution step, yet the key finding "AQP4-IgG titre fell by ≥ 1 dilution step in k
of n evaluable patients" counted such a patient in n (as not fallen): the rate was biased down — the same
rule as every responder definition of the neuro engine ("the baseline leaves room for the required
improvement", `cartrial.neuro.responders`) and D-19.623 for EDSS improvement.

Case built by hand on the example (src/cartrial/examples/ct103a-nmosd/study/pd_samples.csv, the
demo's aqp4_titre_change): 11 of 12 patients fell (CT-009 stayed at 1:100). CT-001's only pre-infusion PD
titre (day -7, 1:320) is set to "negative": its baseline is negative, its last titre 1:10 (one step up).
Expected: 10 fallers (the 11 minus CT-001) of 11 patients whose baseline can fall (12 minus CT-001), 91 %;
CT-001 is named; it stays in the AQP4 population (its change in steps, +1, is defined).
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from cartrial.analysis import analyse
from cartrial.store.snapshot import StudySnapshot

SUBJECT = "CT-001"


def _negative_baseline(snapshot: StudySnapshot) -> StudySnapshot:
    pdt = snapshot.tables["pd_samples"].copy()
    pre = (pdt["subject_id"] == SUBJECT) & (pd.to_numeric(pdt["nominal_day"]) <= 0)
    assert pre.sum() == 1
    pdt.loc[pre, "aqp4_igg_titre"] = "negative"
    return dataclasses.replace(snapshot, tables={**snapshot.tables, "pd_samples": pdt})


def test_a_negative_baseline_is_not_in_the_fall_denominator(snapshot: StudySnapshot) -> None:
    analysis = analyse(_negative_baseline(snapshot))
    table = analysis.datasets["aqp4_titre_change"].table.set_index("subject_id")
    assert table.loc[SUBJECT, "baseline_titre"] == "negative"
    assert table.loc[SUBJECT, "change_steps"] == 1
    assert SUBJECT in analysis.populations["efficacy:aqp4_titre"].subject_ids
    finding = next(f for f in analysis.findings if f.statement.startswith("AQP4-IgG titre fell"))
    assert (finding.numerator, finding.denominator) == (10, 11)
    assert "in 10 of 11 evaluable patients (91 %)" in finding.statement
    assert "baseline titre negative" in finding.statement and SUBJECT in finding.statement


def test_every_baseline_can_fall_in_the_example(snapshot: StudySnapshot) -> None:
    finding = next(f for f in analyse(snapshot).findings if f.statement.startswith("AQP4-IgG titre fell"))
    assert (finding.numerator, finding.denominator) == (11, 12)
    assert "baseline titre negative" not in finding.statement
