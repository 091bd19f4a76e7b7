"""An adverse event's grade in a caller's own table (the Python API) that is no CTCAE grade: ``three``
stopped `analyse` with a bare ValueError quoting it, ``2.5`` with a TypeError, and ``7`` was silently a worst
grade 7 counted in the grade >= 3 incidence. The store's field rule (a whole number 1-5, CTCAE v5.0) now
refuses it before any count, naming the record and the field, never the value (D-19.1079)."""

from __future__ import annotations

import dataclasses

import pytest

from cartrial.analysis import analyse
from cartrial.errors import InputError
from cartrial.store.snapshot import StudySnapshot


def _with_grade(snapshot: StudySnapshot, grade: str) -> tuple[StudySnapshot, str]:
    ae = snapshot.tables["adverse_events"].copy()
    # CT-004's urinary tract infection, grade 2 in the example
    index = ae.index[(ae["subject_id"] == "CT-004") & (ae["term"] == "Urinary tract infection")][0]
    ae.loc[index, "grade"] = grade
    return dataclasses.replace(snapshot, tables=dict(snapshot.tables) | {"adverse_events": ae}), str(
        ae.loc[index, "record_id"]
    )


@pytest.mark.parametrize("grade", ["three", "2.5", "7", "0", "-1", "٣"])
def test_a_grade_that_is_no_ctcae_grade_is_refused(snapshot: StudySnapshot, grade: str) -> None:
    edited, record_id = _with_grade(snapshot, grade)
    with pytest.raises(InputError) as caught:
        analyse(edited)
    (problem,) = caught.value.problems
    assert problem.record == f"adverse_event record {record_id}"
    assert problem.field == "grade"
    assert "1" in (problem.allowed or "") and "5" in (problem.allowed or "")
    if grade in ("three", "2.5", "٣"):  # never the value (D-12.2); digits may be in the record id
        assert grade not in str(caught.value)


def test_whole_grades_are_read(snapshot: StudySnapshot) -> None:
    # "3.0" and " 3" are grade 3: CT-004 then has an infection of grade >= 3 (by hand: the UTI raised to 3)
    for grade in ("3.0", " 3"):
        edited, _ = _with_grade(snapshot, grade)
        table = analyse(edited).datasets["teae_by_subject"].table.set_index("subject_id")
        assert bool(table.loc["CT-004", "infection_grade_ge3"])
