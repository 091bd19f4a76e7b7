"""The synthetic example study has no DLT under the example protocol's DLT rules.

Source: the CT103A NMOSD trial escalated from 0.5 to 1.0 x10^6 CAR+ T cells/kg and expanded at 1.0 x10^6/kg
(``ct103a-nmosd-trial.md``), which a 3+3 design allows only without DLTs; the published summary reports
grade >= 3 AEs that were mostly haematological. The DLT rules are those of
``examples/ct103a-nmosd/protocol.yaml`` (notably "grade 3 haematological toxicity lasting > 7 days, excluding
lymphopenia"), evaluated by `cartrial.escalation.assess_dlt` on the events built by the grading engine
(CTCAE v5.0 lab runs, ASTCT 2019 CRS/ICANS episodes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cartrial.columns import RowProblems
from cartrial.escalation.dlt import assess_dlt
from cartrial.grading import (
    crs_episodes,
    episode_events,
    grade_labs_arrays,
    icans_episodes,
    lab_events,
    lab_runs,
    parse_crs_frame,
    parse_icans_frame,
    parse_infusions_frame,
    parse_labs_frame,
)
from cartrial.protocol.dlt import GradedEvent, ToxicityCategory
from cartrial.protocol.model import load_protocol
from cartrial.tabular import read_csv


def _example_events(study: Path) -> tuple[list[GradedEvent], dict[str, object]]:
    problems = RowProblems(study / "infusions.csv")
    infusions = parse_infusions_frame(read_csv(study / "infusions.csv", required=["subject_id"]), problems)
    labs_problems = RowProblems(study / "labs.csv")
    labs = parse_labs_frame(read_csv(study / "labs.csv", required=["subject_id"]), labs_problems)
    crs_problems = RowProblems(study / "crs_assessments.csv")
    crs = parse_crs_frame(read_csv(study / "crs_assessments.csv", required=["subject_id"]), crs_problems)
    icans_problems = RowProblems(study / "icans_assessments.csv")
    icans_frame = read_csv(study / "icans_assessments.csv", required=["subject_id"])
    icans = parse_icans_frame(icans_frame, icans_problems)
    for p in (problems, labs_problems, crs_problems, icans_problems):
        p.raise_if_any(False)
    graded = grade_labs_arrays(labs.analyte_code, labs.value_canonical, labs.lln_canonical)
    runs = lab_runs(labs.subject_id, labs.collected_at, labs.analyte_code, graded.grade)
    events = [
        *lab_events(runs, infusions),
        *episode_events(crs_episodes(crs, infusions).episodes),
        *episode_events(icans_episodes(icans, infusions)),
    ]
    return events, dict(infusions)


def test_example_study_has_no_dlt(examples_dir: Path) -> None:
    """No event of any example subject is a DLT under the example protocol's rules (the escalation
    proceeded), while grade >= 3 haematological events stay common (published: grade >= 3 AEs mostly
    haematological) and each non-lymphocyte grade >= 3 cytopenia resolves within 7 days."""
    root = examples_dir / "ct103a-nmosd"
    protocol = load_protocol(root / "protocol.yaml")
    rules = protocol.escalation.dlt_rules
    assert any(r.id == "hematologic_grade_3_over_7_days" for r in rules)
    events, infusions = _example_events(root / "study")
    assert len(infusions) == 12
    dlts = [
        (e.subject_id, e.term, e.grade, e.onset_day, e.duration_days)
        for e in events
        if assess_dlt(e, rules, protocol.escalation.dlt_window_days).is_dlt
    ]
    assert dlts == []
    severe = [
        e
        for e in events
        if e.category is ToxicityCategory.HEMATOLOGIC
        and e.grade >= 3
        and e.term != "Lymphocyte count decreased"
    ]
    neutropenic = {e.subject_id for e in severe if e.term == "Neutrophil count decreased"}
    assert len(neutropenic) >= 8
    for e in severe:
        assert e.duration_days is not None and e.duration_days <= 7, e
    assert np.all([e.grade <= 2 for e in events if e.category is ToxicityCategory.CRS])
