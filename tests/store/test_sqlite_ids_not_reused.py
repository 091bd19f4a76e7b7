"""A deleted record's id is never given to a new record (D-19.992): on SQLite a table without AUTOINCREMENT
gives a new row max(id) + 1, so after the newest record of a table was deleted, the next insert took its id
and the audit trail's key (table, record id) then named two records: `record_audit` of the new record
listed the deleted one's insert and delete, and a data query raised on the deleted record was shown on
the new one. PostgreSQL's sequences never reuse a value; SQLite's AUTOINCREMENT (its ``sqlite_sequence``)
does not either, but cartrial assigns the ids itself (`bulk._IdCounter`) on both backends. Both backends
(a real SQLite file, the real PostgreSQL server)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from cartrial.store import StudyService, bulk

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


def test_an_id_deleted_earlier_in_the_same_transaction_is_not_reused(study: StudyDb) -> None:
    """D-19.994: a record inserted and deleted in one transaction has its audit rows still queued (the
    transaction writes them at its end); the bulk writes (`upsert_rows`, `upsert_columns`) counted the
    ids from the written trail only and gave the next record the deleted one's id."""
    with study.service.transaction("admin", "web form") as tx:
        deleted = tx.insert_record("adverse_event", HEADACHE)
        tx.delete_record("adverse_event", deleted, "entered for the wrong subject")
        tx.upsert_rows("adverse_event", [NAUSEA])
        again = tx.insert_record("adverse_event", {**HEADACHE, "term": "Fever"})
        tx.delete_record("adverse_event", again, "entered twice")
        bulk.upsert_columns(tx, "adverse_event", {k: [v] for k, v in {**NAUSEA, "term": "Rash"}.items()})
    admin = study.service.as_user("admin")
    ids = {r["term"]: int(r["id"]) for r in admin.find_records("adverse_event")}
    assert ids["Nausea"] not in (deleted, again)
    assert ids["Rash"] not in (deleted, again)
    assert [r["action"] for r in admin.record_audit("adverse_event", ids["Nausea"])] == ["insert"]
    assert [r["action"] for r in admin.record_audit("adverse_event", ids["Rash"])] == ["insert"]


def _statements_of_an_insert(study: StudyDb) -> list[tuple[str, Any]]:
    """The statements one single-record insert runs that look up batch-import audit rows."""
    seen: list[tuple[str, Any]] = []

    def note(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "audit_log" in statement and "insert-batch" in str(parameters) + statement:
            seen.append((statement, parameters))

    study.service.insert_record("admin", "adverse_event", NAUSEA)  # the trail names the table's ids
    engine = study.service.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        study.service.insert_record("admin", "adverse_event", HEADACHE)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return seen


def test_the_newest_batch_row_lookup_reads_a_bounded_range_of_the_trail(study: StudyDb) -> None:
    """D-19.995: the lookup of a table's newest batch-import row (`highest_id_given`, run by every insert)
    filtered on the table and the action only, newest record id first: the (table_name, record_id) index
    was walked back over every audit row of the table to the newest batch row. It is bounded below on
    record_id (a batch starts at most `BATCH_MAX_RECORDS` ids before the highest id the trail names); on
    SQLite the plan searches the index on both columns (the plan, not a time, is asserted)."""
    seen = _statements_of_an_insert(study)
    assert seen, "no batch-row lookup ran"
    for statement, _parameters in seen:
        where = statement.split("WHERE", 1)[1]
        assert "audit_log.record_id >" in where
    if study.backend == "sqlite":
        with study.service.engine.connect() as connection:
            for statement, parameters in seen:
                plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
                details = " ".join(str(row[-1]) for row in plan)
                assert "ix_audit_log_record (table_name=? AND record_id>?)" in details
