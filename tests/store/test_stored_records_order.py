"""The edit checks see a subject's stored records in id order (D-19.438): an update that moves a record
in PostgreSQL's storage (an UPDATE writes a new row version at the end of the table) does not reorder the
findings of a write, so a refusal or the data queries of an import or single write list them by record
id whatever the database's plan."""

from __future__ import annotations

import pytest

from cartrial.store import StudyService
from cartrial.store.writes import preview_write_checks

LABS = [
    {
        "subject_id": "CT-001",
        "analyte": a,
        "collected_at": "2021-07-10T08:00:00Z",
        "unit": u,
        "value": 5.0,
        "lln": 0.0,
    }
    for a, u in (("wbc", "10^9/l"), ("crp", "mg/l"), ("alt", "u/l"))
]
FATAL = {
    "subject_id": "CT-001",
    "term": "Sepsis",
    "category": "infection",
    "started_on": "2021-06-03",
    "ended_on": "2021-06-05",
    "grade": 5,
    "grading_scale": "CTCAE",
    "grading_scale_version": "5.0",
    "outcome": "fatal",
}


@pytest.mark.parametrize("study", ["postgresql"], indirect=True)
def test_findings_on_stored_records_come_in_id_order_after_an_update(study) -> None:
    service: StudyService = study.service
    with service.as_user("dm").transaction(source="seed", reason="seed") as tx:
        ids = [tx.insert_record("lab_result", lab) for lab in LABS]
    with service.as_user("dm").transaction(source="edit", reason="correction") as tx:
        tx.update_record("lab_result", ids[0], {"value": 6.0}, 1, "correction")  # now stored last
    with service.engine.connect() as connection:
        findings = preview_write_checks(connection, "adverse_event", FATAL)
    after_death = [f.record.record_id for f in findings if f.record.table == "lab_result"]
    assert sorted(after_death) == ids  # every lab is after the date of death
    assert after_death == ids
