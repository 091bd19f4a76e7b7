"""An adverse event's grade in a caller's own table (the Python API) that is no CTCAE grade: ``three``
stopped `analyse` with a bare ValueError quoting it, ``2.5`` with a TypeError, and ``7`` was silently a worst
grade 7 counted in the grade >= 3 incidence. The import's own validator of the field (`validate_form`: a whole
number 1-5, CTCAE v5.0, and the import's edge-character rule) now reads the column where the caller's table
enters the analysis, naming the record, the caller's row and the field, never the value; an accepted grade is
written as the import stores it, ``3`` (D-19.1079, D-19.1080, D-19.1081)."""

from __future__ import annotations

import dataclasses

import pytest

from cartrial.analysis import analyse
from cartrial.errors import InputError
from cartrial.store.snapshot import StudySnapshot, snapshot_table


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
    assert problem.field == "adverse_events.grade"
    assert "1" in (problem.allowed or "") and "5" in (problem.allowed or "")
    assert problem.value is None  # never the value (D-12.2), also for 7, 0, -1
    if grade in ("three", "2.5", "٣"):  # digits may be in the record id
        assert grade not in str(caught.value)


@pytest.mark.parametrize("grade", ["3\xa0", "\u30003"])
def test_a_grade_with_an_edge_character_the_import_refuses_is_refused(
    snapshot: StudySnapshot, grade: str
) -> None:
    # `cartrial db import` / `validate_record` refuse a no-break or ideographic space at a cell's edge (it
    # is no blank): "3\xa0" was accepted by the check, then read as blank by the counts (CT-004's infection
    # not of grade >= 3 while the DLT evaluation read 3)
    edited, record_id = _with_grade(snapshot, grade)
    with pytest.raises(InputError) as caught:
        analyse(edited)
    (problem,) = caught.value.problems
    assert (problem.record, problem.field, problem.value) == (
        f"adverse_event record {record_id}",
        "adverse_events.grade",
        None,
    )


def test_whole_grades_are_read(snapshot: StudySnapshot) -> None:
    # a guard (it passed before the fix too): "3.0" and " 3" are grade 3, CT-004 then has an infection of
    # grade >= 3 (by hand: the UTI raised to 3)
    for grade in ("3.0", " 3"):
        edited, _ = _with_grade(snapshot, grade)
        table = analyse(edited).datasets["teae_by_subject"].table.set_index("subject_id")
        assert bool(table.loc["CT-004", "infection_grade_ge3"])


@pytest.mark.parametrize("grade", ["+3", "3e0"])
def test_numbers_the_import_accepts_are_grade_3(snapshot: StudySnapshot, grade: str) -> None:
    # `validate_record("adverse_event", {"grade": "+3"})` accepts "+3" and "3e0" (pandas' number reading):
    # the same table must not be refused by the API; read as 3, CT-004's UTI raised to grade 3
    edited, _ = _with_grade(snapshot, grade)
    table = analyse(edited).datasets["teae_by_subject"].table.set_index("subject_id")
    assert bool(table.loc["CT-004", "infection_grade_ge3"])


@pytest.mark.parametrize("grade", ["3.0", "03", "3.", " 3", "+3"])
def test_an_accepted_grade_is_exported_as_the_import_stores_it(snapshot: StudySnapshot, grade: str) -> None:
    # the import stores the whole number 3 (text "3"); "3.0" copied verbatim into AETOXGR / ATOXGR is no
    # term of the TOXGR codelist (1-5), and validate_all refused the export
    from cartrial.cdisc.export import build_all, validate_all

    edited, record_id = _with_grade(snapshot, grade)
    frames = build_all(edited, analyse(edited), {"TJH": "China"})
    ae = frames["AE"].set_index("AESPID")
    assert ae.loc[f"AE-{record_id}", "AETOXGR"] == "3"
    assert set(frames["ADAE"]["ATOXGR"]) <= {"", "1", "2", "3", "4", "5"}
    findings = validate_all({name: frames[name] for name in ("AE", "ADAE")})
    assert findings == {"AE": [], "ADAE": []}


def test_a_refused_grade_in_a_table_without_record_id_names_the_callers_row(snapshot: StudySnapshot) -> None:
    # no record_id, the rows given in reverse: the problem names the column and the row the caller can
    # find (its iloc position + 1), not the position after the snapshot's sort
    ae = snapshot.tables["adverse_events"].drop(columns=["record_id"]).iloc[::-1].reset_index(drop=True)
    position = int(ae.index[(ae["subject_id"] == "CT-004") & (ae["term"] == "Urinary tract infection")][0])
    ae.loc[position, "grade"] = "7"
    edited = dataclasses.replace(snapshot, tables=dict(snapshot.tables) | {"adverse_events": ae})
    with pytest.raises(InputError) as caught:
        analyse(edited)
    (problem,) = caught.value.problems
    # `analyse` keeps no bare row number (stored_rows_errors): the row is named as the record, as a record
    # dated after the cut-off is (D-19.929)
    assert (problem.field, problem.record, problem.value) == (
        "adverse_events.grade",
        f"row {position + 1} of the given table (1 = its first row)",
        None,
    )
    with pytest.raises(InputError) as direct:
        snapshot_table("adverse_events", ae)
    (problem,) = direct.value.problems
    assert (problem.field, problem.row) == ("adverse_events.grade", position + 1)
    # the reversed frame: the snapshot's sorted position of that row differs from the caller's
    ordered = snapshot_table("adverse_events", ae.assign(grade=ae["grade"].replace("7", "2")))
    uti = (ordered["subject_id"] == "CT-004") & (ordered["term"] == "Urinary tract infection")
    assert int(ordered.index[uti][0]) != position
