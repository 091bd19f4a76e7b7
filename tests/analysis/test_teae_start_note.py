"""The `teae_listing` note counts the adverse events before each subject's own treatment-emergent start
(`cartrial.analysis.populations.treatment_start_days`): the first lymphodepletion dose, or the infusion day
for a subject with no lymphodepletion dose recorded before it. It said "before the first lymphodepletion
dose" for every event under the rule ``lymphodepletion``, also for a subject with no lymphodepletion record.

By hand from the example study (no adverse event before its subject's start): CT-001's anaemia moved to
2020-01-01, before its first lymphodepletion dose (2021-04-23); CT-002's lymphodepletion records removed and
its upper respiratory tract infection moved to 2021-05-16, before its infusion day (2021-05-18)."""

from __future__ import annotations

import dataclasses

from cartrial.analysis import analyse
from cartrial.store.snapshot import StudySnapshot

from .test_note_wording import counted_wrong


def _moved(snapshot: StudySnapshot, anaemia: bool, urti: bool) -> StudySnapshot:
    tables = dict(snapshot.tables)
    events = tables["adverse_events"].copy()
    moves = [("CT-001", "Anaemia", "2020-01-01", "2020-01-02")] if anaemia else []
    if urti:
        moves.append(("CT-002", "Upper respiratory tract infection", "2021-05-16", "2021-05-17"))
        ld = tables["lymphodepletion"]
        tables["lymphodepletion"] = ld[ld["subject_id"] != "CT-002"].reset_index(drop=True)
    for sid, term, start, end in moves:
        (row,) = events.index[(events["subject_id"] == sid) & (events["term"] == term)]
        events.loc[row, ["started_on", "ended_on"]] = [start, end]
    tables["adverse_events"] = events
    return dataclasses.replace(snapshot, tables=tables)


def _note(snapshot: StudySnapshot) -> str:
    notes = analyse(snapshot).datasets["teae_listing"].notes
    (note,) = [n for n in notes if "not treatment-emergent" in n]
    assert not counted_wrong(note)
    return note


def test_each_event_is_counted_before_its_subject_s_own_start(snapshot: StudySnapshot) -> None:
    assert _note(_moved(snapshot, anaemia=True, urti=True)) == (
        "1 adverse event before the first lymphodepletion dose and 1 before the infusion day (no "
        "lymphodepletion dose recorded before it) are not treatment-emergent"
    )


def test_a_subject_without_lymphodepletion_counts_before_its_infusion_day(snapshot: StudySnapshot) -> None:
    assert _note(_moved(snapshot, anaemia=False, urti=True)) == (
        "1 adverse event before the infusion day (no lymphodepletion dose recorded before it) is not "
        "treatment-emergent"
    )


def test_events_before_lymphodepletion_keep_their_wording(snapshot: StudySnapshot) -> None:
    assert _note(_moved(snapshot, anaemia=True, urti=False)) == (
        "1 adverse event before the first lymphodepletion dose is not treatment-emergent"
    )
