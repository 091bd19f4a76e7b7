"""Writes through the study service: bulk upsert (idempotent, audited), single-record update/delete with a
reason and optimistic concurrency, atomic transactions, UTC timestamps.

Requirements: decisions §7 ("Every insert, update and delete of study data writes audit rows: who, when (UTC),
table, record id, field, old value, new value, and a reason, which is required for every update and
delete"; imports idempotent and atomic); 21 CFR 11.10(e) and ICH E6(R3) 4.2.2/4.2.4 as summarised in
data-standards.md section 8.1-8.2 (changes must not obscure earlier values; corrections justified).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from cartrial.errors import ConflictError, InputError, PermissionDeniedError
from cartrial.store import StudyService, UpsertResult

UTC = dt.UTC


def infusion_rows() -> list[dict[str, object]]:
    return [
        {"subject_id": "CT-001", "infused_at": "2021-06-01T02:00:00Z", "dose_level": 1, "weight_kg": 58.0},
        {"subject_id": "CT-002", "infused_at": "2021-06-22T02:30:00Z", "dose_level": 1, "weight_kg": 62.5},
    ]


def test_upsert_is_idempotent_and_audits_each_insert_once(study) -> None:
    """Re-importing the same rows changes nothing and writes no audit row (decisions §7: idempotent
    import)."""
    service: StudyService = study.service
    with service.transaction("dm", "import infusions.csv") as tx:
        first = service.upsert_rows(tx, "infusion", infusion_rows())
    audit_after_first = service.table_counts()["audit_log"]
    with service.transaction("dm", "import infusions.csv") as tx:
        second = service.upsert_rows(tx, "infusion", infusion_rows())
    assert first == UpsertResult(inserted=2, updated=0, unchanged=0)
    assert second == UpsertResult(inserted=0, updated=0, unchanged=2)
    counts = service.table_counts()
    assert counts["infusion"] == 2
    assert counts["audit_log"] == audit_after_first
    history = service.audit_history("CT-001", actor="mon")
    inserts = [row for row in history if row["table_name"] == "infusion"]
    assert len(inserts) == 1
    assert inserts[0]["action"] == "insert" and inserts[0]["username"] == "dm"
    assert inserts[0]["user_role"] == "data_manager"
    record = json.loads(inserts[0]["new_value"])
    assert record["infused_at"] == "2021-06-01T02:00:00Z" and record["weight_kg"] == 58.0
    assert inserts[0]["source"] == "import infusions.csv"


def test_changed_value_is_an_audited_update_with_the_transaction_reason(study) -> None:
    """A changed value on re-import is an update carrying the import's reason, old and new value kept."""
    service: StudyService = study.service
    with service.transaction("dm", "import v1") as tx:
        service.upsert_rows(tx, "infusion", infusion_rows())
    changed = infusion_rows()
    changed[1]["weight_kg"] = 63.0
    with service.transaction("dm", "import v2", reason="source document corrected") as tx:
        result = service.upsert_rows(tx, "infusion", changed)
    assert result == UpsertResult(inserted=0, updated=1, unchanged=1)
    updates = [r for r in service.audit_history("CT-002", actor="dm") if r["action"] == "update"]
    assert [(u["field"], u["old_value"], u["new_value"], u["reason"]) for u in updates] == [
        ("weight_kg", "62.5", "63.0", "source document corrected")
    ]
    record = service.find_records("dm", "infusion", subject_id="CT-002")[0]
    assert record["weight_kg"] == 63.0 and record["version"] == 2


def test_update_through_import_without_reason_is_refused(study) -> None:
    """A reason is required for every update (decisions §7), also when the update comes from an import."""
    service: StudyService = study.service
    with service.transaction("dm", "import v1") as tx:
        service.upsert_rows(tx, "infusion", infusion_rows())
    changed = infusion_rows()
    changed[0]["dose_level"] = 2
    with pytest.raises(InputError, match="reason is required"), service.transaction("dm", "import v2") as tx:
        service.upsert_rows(tx, "infusion", changed)
    assert service.find_records("dm", "infusion", subject_id="CT-001")[0]["dose_level"] == 1


def test_transaction_is_atomic(study) -> None:
    """All writes of a transaction or none (decisions §7: every import is atomic)."""
    service: StudyService = study.service
    before = service.table_counts()
    with pytest.raises(InputError), service.transaction("dm", "import") as tx:
        service.upsert_rows(tx, "infusion", infusion_rows())
        service.upsert_rows(
            tx,
            "lab_result",
            [{"subject_id": "CT-999", "analyte": "wbc", "collected_at": "2021-06-02T00:00:00Z"}],
        )
    assert service.table_counts() == before
    assert service.verify_audit().ok


def test_bad_rows_are_reported_with_row_and_column(study) -> None:
    """Unknown columns, unknown subjects, duplicate keys, naive times: clear errors, nothing written."""
    service: StudyService = study.service
    cases = [
        (
            [{"subject_id": "CT-001", "infused_at": "2021-06-01T02:00:00Z", "dose_level": 1, "colour": "x"}],
            "colour",
        ),
        ([{"subject_id": "CT-404", "infused_at": "2021-06-01T02:00:00Z", "dose_level": 1}], "CT-404"),
        (infusion_rows() + infusion_rows()[:1], "duplicate natural key"),
        ([{"subject_id": "CT-001", "infused_at": "2021-06-01T02:00:00", "dose_level": 1}], "time zone"),
        ([{"subject_id": "CT-001", "infused_at": "yesterday", "dose_level": 1}], "ISO 8601"),
    ]
    for rows, fragment in cases:
        with pytest.raises(InputError, match=fragment), service.transaction("dm", "import") as tx:
            service.upsert_rows(tx, "infusion", rows)
    assert service.table_counts()["infusion"] == 0


def test_update_record_needs_reason_and_current_version(study) -> None:
    """Optimistic concurrency: a stale version is a ConflictError; missing reason is an InputError."""
    service: StudyService = study.service
    record_id = service.insert_record("dm", "infusion", infusion_rows()[0])
    with pytest.raises(InputError, match="reason is required"):
        service.update_record("dm", "infusion", record_id, {"weight_kg": 59.0}, 1, None)
    with pytest.raises(InputError, match="reason is required"):
        service.update_record("dm", "infusion", record_id, {"weight_kg": 59.0}, 1, "   ")
    assert (
        service.update_record("dm", "infusion", record_id, {"weight_kg": 59.0}, 1, "scale recalibrated") == 2
    )
    with pytest.raises(ConflictError, match="version 2, not 1"):
        service.update_record("dm", "infusion", record_id, {"weight_kg": 60.0}, 1, "second edit")
    # an unchanged value is no change: no new version, no audit row
    audit_rows = service.table_counts()["audit_log"]
    assert service.update_record("dm", "infusion", record_id, {"weight_kg": 59.0}, 2, "same") == 2
    assert service.table_counts()["audit_log"] == audit_rows
    with pytest.raises(InputError, match="read-only"):
        service.update_record("dm", "infusion", record_id, {"version": 7}, 2, "hack")


def test_delete_is_audited_with_the_old_record_and_reason(study) -> None:
    """A delete keeps the whole old record and the reason in the audit trail (11.10(e): earlier values are
    not obscured)."""
    service: StudyService = study.service
    record_id = service.insert_record("dm", "infusion", infusion_rows()[0])
    with pytest.raises(InputError, match="reason is required"):
        service.delete_record("dm", "infusion", record_id, "")
    service.delete_record("dm", "infusion", record_id, "entered for the wrong subject")
    deleted = [r for r in service.audit_history("CT-001", actor="dm") if r["action"] == "delete"]
    assert len(deleted) == 1
    assert json.loads(deleted[0]["old_value"])["weight_kg"] == 58.0
    assert deleted[0]["new_value"] is None and deleted[0]["reason"] == "entered for the wrong subject"
    assert service.table_counts()["infusion"] == 0
    assert service.verify_audit().ok


def test_deleting_a_referenced_subject_is_refused(study) -> None:
    """Foreign keys are enforced (SQLite foreign_keys=ON; decisions §7): a subject with data cannot vanish."""
    service: StudyService = study.service
    service.insert_record("dm", "infusion", infusion_rows()[0])
    subject = service.find_records("dm", "subject", subject_id="CT-001")[0]
    with pytest.raises(ConflictError, match="other records refer to it"):
        service.delete_record("admin", "subject", subject["id"], "test")
    assert service.table_counts()["subject"] == 3


def test_timestamps_are_timezone_aware_utc(study) -> None:
    """Times are stored and returned as timezone-aware UTC (README rule; ICH E6(R3) 4.2.2(e))."""
    service: StudyService = study.service
    plus_eight = dt.timezone(dt.timedelta(hours=8))
    record_id = service.insert_record(
        "dm",
        "infusion",
        {
            "subject_id": "CT-001",
            "infused_at": dt.datetime(2021, 6, 1, 10, 0, tzinfo=plus_eight),
            "dose_level": 1,
        },
    )
    record = service.get_record("mon", "infusion", record_id)
    assert record["infused_at"] == dt.datetime(2021, 6, 1, 2, 0, tzinfo=UTC)
    assert record["infused_at"].utcoffset() == dt.timedelta(0)
    assert record["created_at"].tzinfo is not None
    audit = service.audit_history("CT-001", actor="mon")[-1]
    assert audit["recorded_at"].utcoffset() == dt.timedelta(0)
    with pytest.raises(InputError, match="time zone"):
        service.insert_record(
            "dm", "infusion", {"subject_id": "CT-002", "infused_at": dt.datetime(2021, 6, 1), "dose_level": 1}
        )


def test_insert_record_refuses_an_existing_natural_key(study) -> None:
    """Single inserts never silently overwrite: the natural key must be new."""
    service: StudyService = study.service
    service.insert_record("dm", "infusion", infusion_rows()[0])
    with pytest.raises(ConflictError, match="already has this"):
        service.insert_record("dm", "infusion", infusion_rows()[0])


def test_birth_date_refused_when_privacy_setting_is_year(study) -> None:
    """Privacy setting (decisions §7: "birth year/date per privacy setting"): with the default 'year', a full
    birth date is refused; the birth year is accepted."""
    service: StudyService = study.service
    with pytest.raises(InputError, match="birth_date"):
        service.insert_record(
            "admin",
            "subject",
            {
                "subject_id": "CT-003",
                "site_id": "TJH",
                "consent_date": "2021-06-01",
                "birth_date": "1970-02-03",
            },
        )
    service.insert_record(
        "admin",
        "subject",
        {"subject_id": "CT-003", "site_id": "TJH", "consent_date": "2021-06-01", "birth_year": 1970},
    )


def test_unknown_user_is_refused(study) -> None:
    """Every call carries a known, active user (attributable: ALCOA+, data-standards.md 8.3)."""
    with pytest.raises(PermissionDeniedError, match="unknown user 'mallory'"):
        study.service.insert_record("mallory", "infusion", infusion_rows()[0])


def test_reimport_compares_every_column_type(study) -> None:
    """Idempotence holds for dates, UTC date-times, booleans, integers, floats, text and JSON; a change in
    any one of them is detected as an update (decisions §7: re-importing changes nothing; a changed value is
    an
    update)."""
    service: StudyService = study.service
    subject = {
        "subject_id": "CT-003",
        "site_id": "TJH",
        "consent_date": "2021-07-01",
        "birth_year": 1980,
        "weight_kg": 61.5,
        "sex": "F",
        "treatment_history": [{"drug": "rituximab", "last_dose": "2020-01-05"}],
    }
    event = {
        "subject_id": "CT-003",
        "term": "Neutropenia",
        "started_on": dt.date(2021, 7, 20),
        "grade": 3,
        "serious": False,
        "dlt": False,
        "ended_on": None,
    }
    crs = {
        "subject_id": "CT-003",
        "assessed_at": dt.datetime(2021, 7, 21, 8, 0, tzinfo=UTC),
        "temperature_c": 38.2,
        "fever_masked": False,
        "hypotension": False,
        "vasopressors": 0,
        "vasopressin": False,
        "oxygen": "none",
    }
    with service.transaction("dm", "first") as tx:
        service.upsert_rows(tx, "subject", [subject])
        service.upsert_rows(tx, "adverse_event", [event])
        service.upsert_rows(tx, "crs_assessment", [crs])
    with service.transaction("dm", "again") as tx:
        results = [
            service.upsert_rows(tx, "subject", [subject]),
            service.upsert_rows(tx, "adverse_event", [event]),
            service.upsert_rows(tx, "crs_assessment", [crs]),
        ]
    assert all(r == UpsertResult(0, 0, 1) for r in results)
    changes = [
        ("subject", subject, "treatment_history", [{"drug": "rituximab", "last_dose": "2020-02-05"}]),
        ("subject", subject, "weight_kg", 61.0),
        ("adverse_event", event, "serious", True),
        ("adverse_event", event, "ended_on", dt.date(2021, 7, 30)),
        ("crs_assessment", crs, "fever_masked", True),
        ("crs_assessment", crs, "oxygen", "blow_by"),
    ]
    for table, row, field, value in changes:
        with service.transaction("dm", "change", reason=f"corrected {field}") as tx:
            assert service.upsert_rows(tx, table, [{**row, field: value}]) == UpsertResult(0, 1, 0), field
    assert service.verify_audit().ok


def test_rows_giving_different_columns_are_compared_on_what_each_gives(study) -> None:
    """A batch mixing rows that give different columns (a column absent from a row leaves its stored value
    alone): each row is compared on its own columns, so an omitted column is never a change and a changed
    given column always is (decisions §7: idempotent import, changes audited)."""
    service: StudyService = study.service
    with service.transaction("dm", "import v1") as tx:
        service.upsert_rows(tx, "infusion", infusion_rows())
    mixed: list[dict[str, object]] = infusion_rows()
    del mixed[0]["weight_kg"]
    with service.transaction("dm", "import v2") as tx:
        assert service.upsert_rows(tx, "infusion", mixed) == UpsertResult(0, 0, 2)
    mixed[0]["dose_level"] = 2
    mixed[1]["infused_at"] = "2021-06-22T02:30:00+00:00"  # the same instant written differently
    with service.transaction("dm", "import v3", reason="dose level corrected") as tx:
        assert service.upsert_rows(tx, "infusion", mixed) == UpsertResult(0, 1, 1)
    stored = service.find_records("dm", "infusion", subject_id="CT-001")[0]
    assert stored["dose_level"] == 2 and stored["weight_kg"] == 58.0
