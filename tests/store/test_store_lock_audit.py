"""Data lock at a cut-off, and the append-only hash-chained audit trail (tamper detection).

Requirements: decisions §7 ("`cartrial db lock --cutoff DATE --reason …` freezes all data up to the cut-off;
later edits to locked records are refused with a clear message; unlock is an audited admin action with a
reason"; "The audit table is append-only in the database itself (triggers on both SQLite and PostgreSQL
refuse UPDATE/DELETE on it), and rows are hash-chained; `cartrial audit verify` recomputes the chain and
names the first broken row"; "Tamper: editing or deleting an audit row by raw SQL is refused by the
trigger; removing the trigger and editing is found by `audit verify`"); data-standards.md 8.2 (hash chain,
lock = frozen hashed snapshot, logged unlock with reason).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from tests.conftest import property_examples

from cartrial.errors import ConflictError, InputError
from cartrial.store import StudyService
from cartrial.store.audit import (
    AUDIT_COLUMNS,
    GENESIS_HASH,
    AuditEntry,
    _digest,
    canonical_json,
    format_timestamp,
    row_digest,
)

CUTOFF = dt.date(2022, 3, 20)


def add_labs(service: StudyService) -> dict[str, int]:
    """Three labs of CT-001: the last second of the cut-off day, the first second after it, and later."""
    times = {
        "at_cutoff": "2022-03-20T23:59:59Z",
        "after_cutoff": "2022-03-21T00:00:00Z",
        "later": "2022-04-01T08:00:00Z",
    }
    ids = {}
    for name, moment in times.items():
        ids[name] = service.insert_record(
            "dm",
            "lab_result",
            {
                "subject_id": "CT-001",
                "analyte": "wbc",
                "collected_at": moment,
                "value": 4.0,
                "unit": "10^9/L",
                "lln": 4.0,
            },
        )
    return ids


def edit(service: StudyService, record_id: int, value: float, user: str = "dm") -> int:
    version = int(service.get_record(user, "lab_result", record_id)["version"])
    return service.update_record(
        user, "lab_result", record_id, {"value": value}, version, "transcription error"
    )


def test_lock_freezes_records_up_to_and_including_the_cutoff_day(study) -> None:
    """Records dated on or before the cut-off (UTC date) are frozen; later ones stay editable."""
    service: StudyService = study.service
    ids = add_labs(service)
    lock = service.lock("stat", CUTOFF, "primary analysis data cut-off")
    assert lock.cutoff == CUTOFF and lock.records_locked == 3 + 1  # 3 subjects (consent dates) + 1 lab
    with pytest.raises(ConflictError, match="frozen by data lock #1 at cut-off 2022-03-20 \\(by stat"):
        edit(service, ids["at_cutoff"], 5.0)
    with pytest.raises(ConflictError, match="frozen"):
        service.delete_record("dm", "lab_result", ids["at_cutoff"], "duplicate")
    assert edit(service, ids["after_cutoff"], 5.0) == 2
    # moving a record into the locked period is a change to locked data too
    version = int(service.get_record("dm", "lab_result", ids["later"])["version"])
    with pytest.raises(ConflictError, match="frozen"):
        service.update_record(
            "dm", "lab_result", ids["later"], {"collected_at": "2022-03-01T00:00:00Z"}, version, "wrong date"
        )
    # inserting new data into the locked period is refused; re-importing unchanged locked data is fine
    with (
        pytest.raises(ConflictError, match="dated on or before the cut-off"),
        service.transaction("dm", "import", "late entry") as tx,
    ):
        service.upsert_rows(
            tx,
            "lab_result",
            [
                {
                    "subject_id": "CT-002",
                    "analyte": "wbc",
                    "collected_at": "2022-03-19T00:00:00Z",
                    "value": 4.0,
                    "unit": "10^9/l",
                    "lln": 4.0,
                }
            ],
        )
    with service.transaction("dm", "import") as tx:
        result = service.upsert_rows(
            tx,
            "lab_result",
            [
                {
                    "subject_id": "CT-001",
                    "analyte": "wbc",
                    "collected_at": "2022-03-20T23:59:59Z",
                    "value": 4.0,
                }
            ],
        )
    assert result.unchanged == 1
    assert service.locked_snapshot_matches() is True


def test_unlock_is_an_audited_admin_action_with_reason(study) -> None:
    """Only admins unlock, with a reason; lock and unlock are in the audit trail; edits work again."""
    service: StudyService = study.service
    ids = add_labs(service)
    service.lock("stat", CUTOFF, "interim analysis")
    with pytest.raises(ConflictError, match="already locked"):
        service.lock("admin", CUTOFF, "again")
    with pytest.raises(InputError, match="reason is required"):
        service.unlock("admin", None)
    service.unlock("admin", "query resolution after interim")
    assert service.active_lock() is None
    assert edit(service, ids["at_cutoff"], 6.0) == 2
    actions = [
        (r["action"], r["username"], r["reason"])
        for r in service.audit_rows(actor="admin")
        if r["action"] in ("lock", "unlock")
    ]
    assert actions == [
        ("lock", "stat", "interim analysis"),
        ("unlock", "admin", "query resolution after interim"),
    ]
    with pytest.raises(ConflictError, match="not locked"):
        service.unlock("admin", "nothing to unlock")


def test_audit_log_refuses_update_and_delete_by_raw_sql(study) -> None:
    """The database itself refuses UPDATE and DELETE on audit_log (triggers), on both backends."""
    service: StudyService = study.service
    for statement in (
        "UPDATE audit_log SET reason = 'forged' WHERE id = 2",
        "DELETE FROM audit_log WHERE id = 2",
    ):
        with pytest.raises(DBAPIError, match="append-only"), service.engine.begin() as connection:
            connection.execute(text(statement))
    if study.backend == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), service.engine.begin() as connection:
            connection.execute(text("TRUNCATE audit_log"))
    assert service.verify_audit().ok


def drop_triggers(study) -> None:
    with study.service.engine.begin() as connection:
        if study.backend == "sqlite":
            connection.execute(text("DROP TRIGGER audit_log_no_update"))
            connection.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            connection.execute(text("DROP TRIGGER audit_log_no_update_delete ON audit_log"))


def test_edit_after_dropping_the_trigger_is_found_by_verify(study) -> None:
    """Removing the trigger and editing a row: verify names that row."""
    service: StudyService = study.service
    add_labs(service)
    total = service.table_counts()["audit_log"]
    assert service.verify_audit().ok and service.verify_audit().rows_checked == total
    drop_triggers(study)
    with service.engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET new_value = '\"forged\"' WHERE id = 7"))
    result = service.verify_audit()
    assert not result.ok and result.first_broken_id == 7 and result.rows_checked == 6
    assert "audit row 7" in result.message and "altered" in result.message


def test_recomputed_hash_does_not_hide_the_edit(study) -> None:
    """Even an editor who recomputes the edited row's own hash breaks the link to the next row."""
    service: StudyService = study.service
    add_labs(service)
    drop_triggers(study)
    with service.engine.connect() as connection:
        row = dict(connection.execute(text("SELECT * FROM audit_log WHERE id = 5")).mappings().one())
    row["reason"] = "forged"
    row["recorded_at"] = service.audit_rows(actor="admin", since_id=4, limit=1)[0]["recorded_at"]
    forged_hash = row_digest(row)
    with service.engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_log SET reason = 'forged', row_hash = :h WHERE id = 5"), {"h": forged_hash}
        )
    result = service.verify_audit()
    assert not result.ok and result.first_broken_id == 6
    assert "prev_hash does not match the hash of row 5" in result.message


def test_deleting_a_row_after_dropping_the_trigger_is_found(study) -> None:
    """A removed row shows as a gap in the chain, named at the next row."""
    service: StudyService = study.service
    add_labs(service)
    drop_triggers(study)
    with service.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE id = 4"))
    result = service.verify_audit()
    assert not result.ok and result.first_broken_id == 5 and "row(s) 4..4 were removed" in result.message


def sample_row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": 1,
        "recorded_at": dt.datetime(2022, 3, 20, 8, 0, 0, 123456, tzinfo=dt.UTC),
        "username": "dm",
        "user_role": "data_manager",
        "action": "update",
        "table_name": "lab_result",
        "record_id": 3,
        "subject_id": "CT-001",
        "field": "value",
        "old_value": "4.0",
        "new_value": "5.0",
        "reason": "transcription error",
        "source": "cli",
        "software_version": "0.1.0",
        "prev_hash": GENESIS_HASH,
    }
    row.update(changes)
    return row


FIELDS_AND_VALUES = st.sampled_from(
    [
        "username",
        "user_role",
        "action",
        "table_name",
        "subject_id",
        "field",
        "old_value",
        "new_value",
        "reason",
        "source",
        "software_version",
        "prev_hash",
    ]
)


@settings(max_examples=property_examples(60), deadline=None)
@given(field=FIELDS_AND_VALUES, replacement=st.text(min_size=0, max_size=12))
def test_any_change_of_a_hashed_field_changes_the_digest(field: str, replacement: str) -> None:
    """Property: altering any audited field (or the link) changes the row hash (data-standards.md 8.2)."""
    original = sample_row()
    changed = sample_row(**{field: replacement})
    if changed[field] == original[field]:
        return
    assert row_digest(changed) != row_digest(original)


@settings(max_examples=property_examples(40), deadline=None)
@given(seconds=st.integers(min_value=1, max_value=10**6), record=st.integers(min_value=1, max_value=10**6))
def test_timestamp_and_record_changes_change_the_digest(seconds: int, record: int) -> None:
    """Property: moving the timestamp (even by a microsecond) or the record id changes the hash."""
    original = sample_row()
    base = original["recorded_at"]
    assert isinstance(base, dt.datetime)
    assert row_digest(sample_row(recorded_at=base + dt.timedelta(microseconds=seconds))) != row_digest(
        original
    )
    if record != 3:
        assert row_digest(sample_row(record_id=record)) != row_digest(original)


def test_timestamp_canonical_form_is_utc_with_z() -> None:
    """The hashed timestamp is ISO 8601 UTC with microseconds and Z (ICH E6(R3) 4.2.2(e): unambiguous)."""
    plus_two = dt.timezone(dt.timedelta(hours=2))
    assert format_timestamp(dt.datetime(2022, 3, 20, 10, 0, tzinfo=plus_two)) == "2022-03-20T08:00:00.000000Z"


@settings(max_examples=property_examples(200), deadline=None)
@given(
    values=st.lists(
        st.one_of(st.none(), st.integers(min_value=-(2**63), max_value=2**63 - 1), st.text()), max_size=16
    )
)
def test_row_digest_serialisation_is_the_documented_json_list(values: list[object]) -> None:
    """Property: the bytes hashed for a row are exactly `json.dumps(fields, separators=(",", ":"),
    ensure_ascii=False)` in UTF-8 (the documented canonical form, so anyone can re-verify the chain with
    the standard library), although the fast path serialises with orjson."""
    expected = json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert _digest(values) == hashlib.sha256(expected).hexdigest()


def test_canonical_json_sorts_keys_and_writes_utc_dates() -> None:
    """Record JSON in the audit trail: sorted keys, no spaces, UTC date-times with Z (microseconds only when
    present, as `datetime.isoformat`), ISO dates, sets sorted (data-standards.md 8.2: unambiguous times)."""
    record = {
        "b": dt.datetime(2021, 6, 5, 8, 30, tzinfo=dt.UTC),
        "a": dt.date(2021, 6, 5),
        "c": {2, 1},
        "d": dt.datetime(2021, 6, 5, 8, 30, 0, 5, tzinfo=dt.UTC),
    }
    assert canonical_json(record) == (
        '{"a":"2021-06-05","b":"2021-06-05T08:30:00Z","c":[1,2],"d":"2021-06-05T08:30:00.000005Z"}'
    )


def test_service_stores_and_audits_date_times_in_utc(study) -> None:
    """A date-time given with another offset is converted to UTC before it is stored and audited, and one
    without a zone is refused (ICH E6(R3) 4.2.2(e); data-standards.md 8.2)."""
    service: StudyService = study.service
    plus_two = dt.timezone(dt.timedelta(hours=2))
    row = {"subject_id": "CT-001", "analyte": "wbc", "value": 4.0, "unit": "10^9/L", "lln": 4.0}
    record_id = service.insert_record(
        "dm", "lab_result", {**row, "collected_at": dt.datetime(2021, 6, 5, 10, 30, tzinfo=plus_two)}
    )
    stored = service.get_record("dm", "lab_result", record_id)
    assert stored["collected_at"] == dt.datetime(2021, 6, 5, 8, 30, tzinfo=dt.UTC)
    audited = [r for r in service.audit_rows(actor="dm") if r["record_id"] == record_id]
    assert '"collected_at":"2021-06-05T08:30:00Z"' in audited[-1]["new_value"]
    with pytest.raises(InputError, match="without a time zone"):
        service.insert_record("dm", "lab_result", {**row, "collected_at": dt.datetime(2021, 6, 6, 10, 30)})


def test_audit_entry_fields_are_the_hashed_columns_in_order() -> None:
    """The chain writer hashes `[id, *entry, prev_hash]` positionally (fast path); this holds only while
    AuditEntry lists the audit columns between `id` and `prev_hash` in table order."""
    assert AuditEntry._fields == AUDIT_COLUMNS[1:-2]
