"""A deleted record's id is never given to a new record (D-19.992): on SQLite a table without AUTOINCREMENT
gives a new row max(id) + 1, so after the newest record of a table was deleted, the next insert took its id
and the audit trail's key (table, record id) then named two records: `record_audit` of the new record
listed the deleted one's insert and delete, and a data query raised on the deleted record was shown on
the new one. PostgreSQL's sequences never reuse a value; SQLite's AUTOINCREMENT (its ``sqlite_sequence``)
does not either, but cartrial assigns the ids itself (`bulk._IdCounter`) on both backends. Both backends
(a real SQLite file, the real PostgreSQL server)."""

from __future__ import annotations

from cartrial.store import StudyService

from .conftest import StudyDb

HEADACHE = {"subject_id": "CT-001", "term": "Headache", "started_on": "2021-06-10", "grade": 1}
NAUSEA = {"subject_id": "CT-001", "term": "Nausea", "started_on": "2021-06-11", "grade": 1}


def _delete_newest_then_insert(service: StudyService) -> tuple[int, int]:
    deleted = service.insert_record("admin", "adverse_event", HEADACHE)
    service.as_user("mon").raise_query("adverse_event", deleted, "onset date?")
    service.delete_record("admin", "adverse_event", deleted, "entered for the wrong subject")
    return deleted, service.insert_record("admin", "adverse_event", NAUSEA)


def test_a_new_record_never_takes_a_deleted_records_id(study: StudyDb) -> None:
    deleted, new = _delete_newest_then_insert(study.service)
    assert new != deleted
    admin = study.service.as_user("admin")
    assert [r["action"] for r in admin.record_audit("adverse_event", new)] == ["insert"]
    assert [r["action"] for r in admin.record_audit("adverse_event", deleted)] == ["insert", "delete"]
    queries = admin.find_records("data_query")
    on = [int(q["record_id"]) for q in queries if q["table_name"] == "adverse_event"]
    assert on == [deleted]  # the query stays on the deleted record, none on the new one


def test_the_id_of_a_deleted_record_of_an_imported_batch_is_not_reused(example_sqlite: str) -> None:
    """The example study's PD samples were imported in batches (one audit row per subject, ``ids 64..68``
    the last one): its newest sample deleted, the same sample entered again takes a new id (69), not 68,
    which only the batch row's id range names."""
    service = StudyService(example_sqlite)
    newest = max(service.find_records("admin", "pd_sample"), key=lambda r: int(r["id"]))
    deleted = int(newest["id"])
    values = {k: v for k, v in newest.items() if k not in ("id", "version", "created_at", "updated_at")}
    service.delete_record("admin", "pd_sample", deleted, "entered twice")
    new = service.insert_record("admin", "pd_sample", values)
    assert new == deleted + 1
    assert [r["action"] for r in service.as_user("admin").record_audit("pd_sample", new)] == ["insert"]
    service.engine.dispose()
