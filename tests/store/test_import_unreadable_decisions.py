"""The known limit of D-19.796, closed (D-19.836). Verified 2026-12-07 before the change: with one
infusion's ``infused_at`` unreadable (a direct database change), an import restating the study's
``escalation_decisions.csv`` unchanged (as every partial re-import of the full folder reads it) with one
new lab of another subject was refused whole (`StoredValueError`, nothing written): the decision check
read every infusion, adverse event and subject for decisions that are not written. An unchanged decision
row now gets nothing, as a single write changing nothing; a new or changed decision is still refused
naming the record to repair, as its single write is (the replay needs every infusion). SQLite only: the
typed columns of PostgreSQL refuse such text at the write."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cartrial import examples as cartrial_examples
from cartrial.errors import StoredValueError
from cartrial.store import StudyService, connect
from cartrial.store.importing import import_templates

from .test_import_unreadable_subject import _plant_unreadable_infusion

DECISIONS = cartrial_examples.path("ct103a-nmosd") / "study" / "escalation_decisions.csv"
LAB = "subject_id,collected_at,analyte,value,unit,lln\n{},2021-09-08T07:00:00Z,neutrophils,0.45,10^9/L,1.8\n"


def _folder(tmp_path: Path, other: str, decisions: str | None = None) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    target = folder / "escalation_decisions.csv"
    if decisions is None:
        shutil.copyfile(DECISIONS, target)
    else:
        target.write_text(decisions, "utf-8")
    (folder / "labs.csv").write_text(LAB.format(other), "utf-8")
    return folder


def _new_labs(service: StudyService, subject: str) -> int:
    return sum(
        1
        for r in service.find_records("admin", "lab_result", subject_id=subject)
        if r["analyte"] == "neutrophils" and str(r["collected_at"]).startswith("2021-09-08")
    )


@pytest.mark.parametrize("stream_bytes", [None, 100], ids=["whole", "streamed"])
def test_unchanged_decisions_do_not_hold_back_another_subjects_data(
    example_sqlite: str, tmp_path: Path, stream_bytes: int | None
) -> None:
    subject, _infusion = _plant_unreadable_infusion(example_sqlite)
    other = "CT-001" if subject != "CT-001" else "CT-002"
    service = StudyService(connect(example_sqlite))
    decisions = service.find_records("admin", "escalation_decision")
    report = import_templates(example_sqlite, _folder(tmp_path, other), "admin", stream_bytes=stream_bytes)
    assert report.totals["inserted"] == 1
    assert _new_labs(service, other) == 1
    assert service.find_records("admin", "escalation_decision") == decisions


def test_a_changed_decision_is_refused_naming_the_record_as_its_single_write(
    example_sqlite: str, tmp_path: Path
) -> None:
    subject, infusion = _plant_unreadable_infusion(example_sqlite)
    other = "CT-001" if subject != "CT-001" else "CT-002"
    service = StudyService(connect(example_sqlite))
    lines = DECISIONS.read_text("utf-8").splitlines()
    changed = "\n".join([*lines[:-1], lines[-1].replace("safety review committee", "the DSMB")]) + "\n"
    with pytest.raises(StoredValueError) as refused:
        import_templates(example_sqlite, _folder(tmp_path, other, changed), "admin")
    assert f"infusion record {infusion}, infused_at" in str(refused.value)
    assert "zzzz" not in str(refused.value)
    assert _new_labs(service, other) == 0  # nothing written
