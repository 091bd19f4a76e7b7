"""The bulk path (issue 19 section 5) against the path it replaced, on both backends.

The reference ("old") path is the upsert as it was before the bulk path: every stored row looked up with
an expanded ``IN (...)`` list and read back typed through SQLAlchemy, new rows and audit rows written with
SQLAlchemy executemany INSERTs (on SQLite: without the storage-form pre-sort). It is obtained here by
replacing the bulk functions with that code; the same mixed batches then go through both paths into two
copies of one study, and everything observable must be equal: the inserted/updated/unchanged counts, the
stored records, and the audit rows (all fields but the timestamps and the hashes that seal them), with
both chains verifying and every stored digest recomputing from the row (the audit row format did not
change).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Table, create_engine, insert, select, text, tuple_
from tests.conftest import schema_url
from tests.store.conftest import BACKENDS, StudyDb, make_study, postgres_copy

from cartrial.store import StudyService, bulk, connect, pg_bulk
from cartrial.store.audit import row_digest, verify_chain
from cartrial.store.bulk import UpsertResult
from cartrial.store.models import AuditLog, StudyData
from cartrial.store.tables import model_of, table_of


@pytest.fixture(params=BACKENDS)
def two_studies(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[StudyDb, StudyDb]]:
    """Two identical copies of the small test study (`make_study`) on one backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        studies = []
        for name in ("new", "old"):
            shutil.copyfile(template, tmp_path / f"{name}.db")
            url = f"sqlite:///{tmp_path / f'{name}.db'}"
            studies.append(StudyDb(url, StudyService(connect(url))))
        yield studies[0], studies[1]
        for db in studies:
            db.service.engine.dispose()
        return
    template_url = request.getfixturevalue("postgres_template")
    if template_url is not None:
        with postgres_copy(template_url) as first, postgres_copy(template_url) as second:
            pair = (
                StudyDb(first, StudyService(connect(first))),
                StudyDb(second, StudyService(connect(second))),
            )
            yield pair
            for db in pair:
                db.service.engine.dispose()
        return
    server: str = request.getfixturevalue("postgres_server")
    with _schema(server) as first, _schema(server) as second:
        pair = (make_study(first), make_study(second))
        yield pair
        for db in pair:
            db.service.engine.dispose()


@contextmanager
def _schema(server: str) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(server)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema_url(server, schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# -- the path before the bulk path ----------------------------------------------------------------------


def _all_candidates(
    tx: Any, model: Any, keys: Any, chunk: Sequence[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    return list(chunk), [], 0


def _stored_rows_in_list(
    connection: Connection, target: Table, keys: Sequence[str], wanted: Sequence[tuple[Any, ...]], key_of: Any
) -> dict[tuple[Any, ...], Any]:
    key_columns = [target.c[k] for k in keys]
    condition = (
        key_columns[0].in_([w[0] for w in wanted]) if len(keys) == 1 else tuple_(*key_columns).in_(wanted)
    )
    return {key_of(row): row for row in connection.execute(select(target).where(condition)).mappings()}


def _insert_executemany(
    connection: Connection, target: Table, column_names: Sequence[str], rows: Any, **_: Any
) -> int:
    batch = [dict(zip(column_names, row, strict=True)) for row in rows]
    connection.execute(insert(target), batch)
    return len(batch)


@contextmanager
def old_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with monkeypatch.context() as patch:
        patch.setattr(bulk, "_presort_postgresql", _all_candidates)
        patch.setattr(bulk, "_presort_sqlite", _all_candidates)
        patch.setattr(pg_bulk, "stored_rows_by_key", _stored_rows_in_list)
        patch.setattr(pg_bulk, "copy_rows", _insert_executemany)
        yield


# -- the batches -------------------------------------------------------------------------------------------


def labs(n: int, value: float = 4.0, subject: str = "CT-001") -> list[dict[str, Any]]:
    return [
        {
            "subject_id": subject,
            "analyte": "wbc",
            "collected_at": f"2021-06-{1 + i // 24:02d}T{i % 24:02d}:00:00Z",
            "value": value,
            "unit": "10^9/L",
            "life_threatening_anemia": False,
        }
        for i in range(n)
    ]


def mixed_lab_batch() -> list[dict[str, Any]]:
    """40 rows over the 30 stored: unchanged, changed values, a row giving fewer columns (value kept),
    a changed date-time given in another zone (the same instant: unchanged), a changed boolean, a value
    newly NULL, and 10 new rows."""
    rows = labs(40)
    rows[3]["value"] = 5.5
    rows[4]["unit"] = "G/L"
    rows[7] = {k: v for k, v in rows[7].items() if k != "value"}
    rows[8]["collected_at"] = "2021-06-01T10:00:00+02:00"  # = 08:00Z, the key of rows[8] itself
    rows[9]["life_threatening_anemia"] = True
    rows[10]["value"] = None
    rows[11]["value"] = 4  # an int equal to the stored float: unchanged
    return rows


SUBJECT_BATCH = [
    {"subject_id": "CT-001", "site_id": "TJH", "consent_date": "2021-05-06", "sex": "F"},
    {"subject_id": "CT-002", "site_id": "TJH", "consent_date": "2021-05-27", "sex": "F", "weight_kg": 61.5},
    {
        "subject_id": "CT-003",
        "site_id": "TJH",
        "consent_date": "2021-07-01",
        "sex": "M",
        "treatment_history": [{"drug": "rituximab", "cycles": 2}],
    },
]


def _scenario(db: StudyDb) -> list[UpsertResult]:
    user = db.service.as_user("dm")
    results = []
    with user.transaction("first import") as tx:
        results.append(bulk.upsert_rows(tx, "lab_result", labs(30)))
        results.append(bulk.upsert_rows(tx, "lab_result", labs(30, subject="CT-002")))
    with user.transaction("mixed re-import", "corrected after monitoring") as tx:
        results.append(bulk.upsert_rows(tx, "lab_result", mixed_lab_batch()))
        results.append(bulk.upsert_rows(tx, "lab_result", labs(30, subject="CT-002")))
        results.append(bulk.upsert_rows(tx, "subject", SUBJECT_BATCH))
    with user.transaction("JSON re-import", "history completed") as tx:
        results.append(bulk.upsert_rows(tx, "subject", SUBJECT_BATCH))
        changed = [dict(row) for row in SUBJECT_BATCH]
        changed[2]["treatment_history"] = [{"drug": "rituximab", "cycles": 3}]
        results.append(bulk.upsert_rows(tx, "subject", changed))
    return results


def _records(db: StudyDb, table_name: str) -> list[dict[str, Any]]:
    model: type[StudyData] = model_of(table_name)
    target = table_of(model)
    with db.service.engine.connect() as connection:
        rows = connection.execute(select(target).order_by(target.c.id)).mappings().all()
    return [{k: v for k, v in row.items() if k not in ("created_at", "updated_at")} for row in rows]


def _audit_rows(db: StudyDb) -> list[dict[str, Any]]:
    audit = AuditLog.__table__
    with db.service.engine.connect() as connection:
        rows = connection.execute(select(audit).order_by(audit.c.id)).mappings().all()
        assert verify_chain(connection).ok
    assert all(row_digest(row) == row["row_hash"] for row in rows)
    hashed_by_time = ("recorded_at", "prev_hash", "row_hash", "row_mac")
    return [{k: v for k, v in row.items() if k not in hashed_by_time} for row in rows]


def test_the_bulk_path_does_what_the_old_path_did_on_a_mixed_batch(
    two_studies: tuple[StudyDb, StudyDb], monkeypatch: pytest.MonkeyPatch
) -> None:
    new, old = two_studies
    new_results = _scenario(new)
    with old_path(monkeypatch):
        old_results = _scenario(old)
    assert new_results == old_results
    # the expected counts, derived by hand from the batches
    assert new_results == [
        UpsertResult(30, 0, 0),
        UpsertResult(30, 0, 0),
        UpsertResult(
            10, 4, 26
        ),  # rows 3, 4, 9, 10 changed; 7 (no value), 8 (same instant), 11 (4 == 4.0) not
        UpsertResult(0, 0, 30),
        UpsertResult(1, 1, 1),
        UpsertResult(0, 0, 3),
        UpsertResult(0, 1, 2),
    ]
    for table_name in ("lab_result", "subject"):
        assert _records(new, table_name) == _records(old, table_name)
    new_audit, old_audit = _audit_rows(new), _audit_rows(old)
    assert new_audit == old_audit
    updates = [row for row in new_audit if row["action"] == "update" and row["table_name"] == "lab_result"]
    assert sorted(row["field"] for row in updates) == ["life_threatening_anemia", "unit", "value", "value"]


def test_a_refused_bulk_insert_is_a_located_input_error_without_values(study: StudyDb) -> None:
    """A write the database refuses (here: ids that exist, as a racing writer would cause) reports the
    table, like the INSERT the COPY replaced, and the message carries no record value."""
    from cartrial.errors import InputError

    user = study.service.as_user("dm")
    model = model_of("lab_result")
    with user.transaction("import") as tx:
        bulk.upsert_rows(tx, "lab_result", labs(2))
    rows = bulk.prepare_rows(model, "lab_result", labs(3)[2:], model.natural_key)
    with (
        pytest.raises(InputError, match="refused the write to lab_result") as caught,
        user.transaction("import") as tx,
    ):
        bulk._insert_rows(tx, model, "lab_result", rows, bulk._IdCounter(0))
    assert "2021-06" not in str(caught.value) and "CT-001" not in str(caught.value)
