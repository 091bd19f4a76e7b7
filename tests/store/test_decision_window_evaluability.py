"""DECISION-BEFORE-DLT-WINDOW agrees with the escalation engine's rule of DLT evaluability (D-19.248): the
decision waits for the DLT window of its cohort's patients without a DLT (a patient with a DLT is
DLT-evaluable already, `cartrial.protocol.dlt.dlt_evaluable`), and a patient who died or left the study
inside the window without a DLT is replaced (takes no outcome letter, D-19.123) — as the analysis's replay
(`escalation_replay`) reads the same records.

Example study, 28-day window, cohort 1 at level 1: CT-001 infused 2021-04-27, CT-002 2021-05-18, CT-003
2021-06-08; decision 2021-07-06 (hand counts below)."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from cartrial.store.edit_checks import Finding
from cartrial.store.importing import import_templates

from .conftest import PROTOCOL

EXAMPLE_STUDY = PROTOCOL.parent / "study"


def cohort_one(findings: Sequence[Finding]) -> list[Finding]:
    """The DECISION-BEFORE-DLT-WINDOW findings on cohort 1's decision (escalation_decisions.csv row 2)."""
    return [f for f in findings if f.check.id == "DECISION-BEFORE-DLT-WINDOW" and f.record.row == 2]


def example(tmp_path: Path, decided_on: str, outcomes: str = "1NNN", replaced: bool = False) -> Path:
    """The example study, cohort 1 decided on `decided_on` with `outcomes`; `replaced`: cohort 3 (the last,
    2021-12-07) recorded with one patient less (``2NNNNN``), as the study then has one evaluable patient
    less to letter."""
    folder = tmp_path / "example"
    shutil.copytree(EXAMPLE_STUDY, folder)
    decisions = pd.read_csv(folder / "escalation_decisions.csv", dtype=str, keep_default_na=False)
    decisions.loc[decisions["cohort"] == "1", ["decided_on", "outcomes"]] = [decided_on, outcomes]
    if replaced:
        decisions.loc[decisions["cohort"] == "3", "outcomes"] = "2NNNNN"
    decisions.to_csv(folder / "escalation_decisions.csv", index=False)
    return folder


def test_a_decision_before_the_window_of_a_patient_with_a_dlt_is_not_queried(
    empty_study_url: str, tmp_path: Path
) -> None:
    """Cohort 1 recorded as 1NNT (CT-003 had a DLT) decided on 2021-06-26: 18 days after CT-003's
    infusion, but CT-003 is DLT-evaluable by its DLT, and CT-002 (2021-05-18) completed its window 39 days
    before. Before, the check asked about the 10 missing days of CT-003's window."""
    folder = example(tmp_path, "2021-06-26", "1NNT")
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
    assert cohort_one(planned) == []
    # without the DLT the same date is inside CT-003's window: queried (the case is not vacuous)
    planned = import_templates(empty_study_url, example(tmp_path / "n", "2021-06-26"), "admin", dry_run=True)
    assert len(cohort_one(planned.edit_checks)) == 1


def test_a_replaced_patient_is_not_waited_for_but_its_replacement_is(
    empty_study_url: str, tmp_path: Path
) -> None:
    """CT-001 dies on 2021-05-02 (day 5) without a DLT: not DLT-evaluable, replaced by CT-004, infused at
    level 1 on 2021-06-20. The decision of 2021-07-06 is then 16 days into CT-004's window: queried. Before,
    the check ignored evaluability, gave CT-001 the first letter and waited for CT-003 only (28 days)."""
    folder = example(tmp_path, "2021-07-06", replaced=True)
    infusions = pd.read_csv(folder / "infusions.csv", dtype=str, keep_default_na=False)
    infusions.loc[infusions["subject_id"] == "CT-004", ["dose_level", "infused_at"]] = [
        "1",
        "2021-06-20T02:00:00Z",
    ]
    infusions.to_csv(folder / "infusions.csv", index=False)
    events = pd.read_csv(folder / "adverse_events.csv", dtype=str, keep_default_na=False)
    fatal = {column: "" for column in events.columns}
    fatal.update(
        subject_id="CT-001",
        term="Sepsis",
        category="infection",
        started_on="2021-04-30",
        ended_on="2021-05-02",
        grade="5",
        grading_scale="CTCAE",
        grading_scale_version="5.0",
        serious="true",
        relatedness="unlikely",
        dlt="false",
        outcome="fatal",
    )
    pd.concat([events, pd.DataFrame([fatal])]).to_csv(folder / "adverse_events.csv", index=False)
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
    (finding,) = cohort_one(planned)
    assert "28-day DLT window" in finding.message


def test_a_dlt_flagged_adverse_event_keeps_the_patient_evaluable(
    empty_study_url: str, tmp_path: Path
) -> None:
    """The same death, but the fatal event is flagged DLT (inside the window): CT-001 is DLT-evaluable and
    keeps its letter; cohort 1 is CT-001, CT-002, CT-003 and the decision (28 days after CT-003) is not
    queried."""
    folder = example(tmp_path, "2021-07-06", "1TNN")
    events = pd.read_csv(folder / "adverse_events.csv", dtype=str, keep_default_na=False)
    fatal = {column: "" for column in events.columns}
    fatal.update(
        subject_id="CT-001",
        term="Sepsis",
        category="infection",
        started_on="2021-04-30",
        ended_on="2021-05-02",
        grade="5",
        grading_scale="CTCAE",
        grading_scale_version="5.0",
        serious="true",
        relatedness="possible",
        dlt="true",
        outcome="fatal",
    )
    pd.concat([events, pd.DataFrame([fatal])]).to_csv(folder / "adverse_events.csv", index=False)
    infusions = pd.read_csv(folder / "infusions.csv", dtype=str, keep_default_na=False)
    infusions.loc[infusions["subject_id"] == "CT-004", ["dose_level", "infused_at"]] = [
        "1",
        "2021-06-20T02:00:00Z",
    ]
    infusions.to_csv(folder / "infusions.csv", index=False)
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
    assert cohort_one(planned) == []
