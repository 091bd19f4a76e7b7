"""The import's write path (`write_forms`: `bulk.upsert_columns` with the keys it tracks, D-19.934)
against the same validated forms written row by row (`bulk.upsert_rows`, which builds no tracked key set
of its own in `upsert_columns`), on SQLite, into two copies of one empty study.

What must be equal: every value of every form table with its SQLite storage class (``typeof``), every
audit row of those tables (all fields but the timestamp and the hashes that seal it), and both trails pass
`audit verify` (`verify_complete`: the chain and the data replayed against the trail). A second check
writes, in ONE transaction, a chunk whose keys were written by an earlier chunk of the same transaction
(the tracked keys then no longer tell the table's keys): the same counts, records and audit rows as the
row path. The import pauses the cyclic garbage collector and restores it (D-19.935).
"""

from __future__ import annotations

import gc
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from tests.store.conftest import empty_study_copy
from tests.store.test_store_bulk_columns import by_columns, by_rows, labs
from tests.store.test_store_bulk_paths import _audit_rows, _records, two_studies

from cartrial.store import bulk
from cartrial.store.database import connect
from cartrial.store.importing import import_templates, pipeline, write_synthetic_study
from cartrial.store.importing.pipeline import (
    WRITE_CHUNK_ROWS,
    database_state,
    import_reason,
    read_template_dir,
    validate_all,
)
from cartrial.store.service import StudyService
from cartrial.store.tamper import verify_complete

__all__ = ["two_studies"]  # the fixture, used by name

SUBJECTS = 3
_TIMED = ("created_at", "updated_at")
_SEALED_BY_TIME = ("recorded_at", "prev_hash", "row_hash", "row_mac")


def _stored(path: Path, tables: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of `tables` as (storage class, value) per column, but the write times, by id (sqlite3
    directly: what the file holds, not what SQLAlchemy reads)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with sqlite3.connect(path) as connection:
        for table in tables:
            names = [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]
            kept = [name for name in names if name not in _TIMED]
            columns = ", ".join(f"typeof({name}), {name}" for name in kept)
            out[table] = connection.execute(f"SELECT {columns} FROM {table} ORDER BY id").fetchall()
    return out


def _trail(path: Path, tables: list[str]) -> list[tuple[Any, ...]]:
    """The audit rows of `tables` (storage class and value of every field but the time and the seals)."""
    with sqlite3.connect(path) as connection:
        names = [row[1] for row in connection.execute("PRAGMA table_info(audit_log)")]
        kept = [name for name in names if name not in _SEALED_BY_TIME and name != "id"]
        columns = ", ".join(f"typeof({name}), {name}" for name in kept)
        marks = ", ".join("?" * len(tables))
        return connection.execute(
            f"SELECT {columns} FROM audit_log WHERE table_name IN ({marks}) ORDER BY id", tables
        ).fetchall()


def _write_row_by_row(url: str, folder: Path) -> list[str]:
    """The folder's forms validated as the import validates them, then written through `bulk.upsert_rows`
    in one transaction with the import's reason and source per file and its chunks; returns the tables."""
    engine = connect(url)
    try:
        forms, _entries = read_template_dir(folder)
        validated = validate_all(forms, database_state(engine, "admin"))
        tables: list[str] = []
        first = validated[0]
        user = StudyService(engine).as_user("admin")
        with user.transaction(
            source="templates import", reason=import_reason("templates", first.file, None)
        ) as tx:
            for form in validated:
                tx.reason = import_reason("templates", form.file, None)
                tx.source = f"templates import {Path(form.file).name} sha256:{form.sha256}"
                for start in range(0, form.n_rows, WRITE_CHUNK_ROWS):
                    rows = form.rows(start, start + WRITE_CHUNK_ROWS)
                    bulk.upsert_rows(tx, form.spec.table, rows, form.spec.key_columns)
                tables.append(form.spec.table)
    finally:
        engine.dispose()
    return tables


def test_import_stores_what_the_row_path_stores(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    folder = tmp_path / "study"
    folder.mkdir()
    counts = write_synthetic_study(folder, SUBJECTS)
    imported = empty_study_copy(request, "sqlite", tmp_path, "imported")
    by_row = empty_study_copy(request, "sqlite", tmp_path, "by_row")
    report = import_templates(imported, folder, "admin")
    tables = _write_row_by_row(by_row, folder)
    assert report.totals["inserted"] == sum(counts.values())
    imported_path = Path(imported.removeprefix("sqlite:///"))
    by_row_path = Path(by_row.removeprefix("sqlite:///"))
    stored = _stored(imported_path, tables)
    assert {table: len(rows) for table, rows in stored.items()} == {
        table: counts[form] for table, form in zip(tables, _forms_of(folder), strict=True)
    }
    assert stored == _stored(by_row_path, tables)
    trail = _trail(imported_path, tables)
    assert trail and trail == _trail(by_row_path, tables)
    for url in (imported, by_row):
        engine = connect(url)
        try:
            assert verify_complete(engine).ok
        finally:
            engine.dispose()


def _forms_of(folder: Path) -> list[str]:
    """The form names of the folder's files in the import's order (that of `read_template_dir`)."""
    forms, _entries = read_template_dir(folder)
    return [form.spec.name for form in forms]


@pytest.mark.parametrize("two_studies", ["sqlite"], indirect=True)
def test_a_chunk_repeating_keys_written_earlier_in_the_transaction(two_studies: Any) -> None:
    columns, rows = two_studies
    results = []
    for db, upsert in ((columns, by_columns), (rows, by_rows)):
        with db.service.as_user("admin").transaction(source="test", reason="correction") as tx:
            first = upsert(tx, "lab_result", labs(6, subject="CT-002"))
            again = upsert(
                tx, "lab_result", labs(4, subject="CT-002", value=9.0) + labs(8, subject="CT-002")[6:]
            )
            more = upsert(tx, "lab_result", labs(10, subject="CT-002")[8:])
        results.append((first, again, more))
    # 6 new; 4 of them changed, 2 new (ids 7 and 8); then 2 new
    expected = (bulk.UpsertResult(6, 0, 0), bulk.UpsertResult(2, 4, 0), bulk.UpsertResult(2, 0, 0))
    assert results[0] == results[1] == expected
    assert _records(columns, "lab_result") == _records(rows, "lab_result")
    assert _audit_rows(columns) == _audit_rows(rows)


def test_the_collector_is_paused_during_an_import_and_restored_after(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "study"
    folder.mkdir()
    write_synthetic_study(folder, 1)
    seen: list[bool] = []
    validate = pipeline.validate_all

    def watched(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return validate(*args, **kwargs)

    monkeypatch.setattr(pipeline, "validate_all", watched)
    assert gc.isenabled()
    import_templates(empty_study_copy(request, "sqlite", tmp_path), folder, "admin")
    assert seen == [False]
    assert gc.isenabled()


def test_nested_pauses_restore_the_collector_state_of_the_first() -> None:
    assert gc.isenabled()
    with pipeline.collector_paused():
        with pipeline.collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block still runs
    assert gc.isenabled()
    gc.disable()
    try:
        with pipeline.collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # disabled before: left disabled
    finally:
        gc.enable()
