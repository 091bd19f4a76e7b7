"""The import's write path (`write_forms`: `bulk.upsert_columns` with the keys it tracks, D-19.934)
against the same validated forms written row by row (`bulk.upsert_rows`, which builds no tracked key set
of its own in `upsert_columns`), on SQLite, into two copies of one empty study.

What must be equal: every value of every form table with its SQLite storage class (``typeof``), every
audit row of those tables (all fields but the timestamp and the hashes that seal it), and both trails pass
`audit verify` (`verify_complete`: the chain and the data replayed against the trail). A second check
writes, in ONE transaction, a chunk whose keys were written by an earlier chunk of the same transaction
(the tracked keys then no longer tell the table's keys): the same counts, records and audit rows as the
row path. An import asked to (`pause_collector`) pauses the cyclic garbage collector and restores it,
also when it fails; by default it keeps it running (D-19.935).
"""

from __future__ import annotations

import gc
import math
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import run_cartrial
from tests.store.conftest import empty_study_copy
from tests.store.test_store_bulk_columns import by_columns, by_rows, labs
from tests.store.test_store_bulk_paths import _audit_rows, _records, two_studies

from cartrial import examples as cartrial_examples
from cartrial.errors import InputError
from cartrial.store import bulk
from cartrial.store.database import connect
from cartrial.store.importing import import_templates, pipeline, write_synthetic_study
from cartrial.store.importing.pipeline import (
    database_state,
    import_reason,
    read_template_dir,
    validate_all,
)
from cartrial.store.service import StudyService
from cartrial.store.study_setup import init_study
from cartrial.store.tamper import verify_complete

__all__ = ["two_studies"]  # the fixture, used by name

PROTOCOL = cartrial_examples.path("ct103a-nmosd") / "protocol.yaml"
SUBJECTS = 3
CHUNK_ROWS = 50
"""`pipeline.WRITE_CHUNK_ROWS` in the golden test: the larger forms (2,025 labs, 507 CRS rows of 3
subjects) then span several calls, so the tracked keys already hold earlier chunks' (D-19.934)."""
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
                chunk = pipeline.WRITE_CHUNK_ROWS  # read at the call: the test may set it
                for start in range(0, form.n_rows, chunk):
                    rows = form.rows(start, start + chunk)
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
    column_writes: list[str] = []
    row_writes: list[str] = []
    insert_columns, upsert_rows = bulk._insert_columns, bulk.upsert_rows

    in_row_path: list[bool] = []  # the row path may insert through `_insert_columns` itself: not counted

    def spied_columns(tx: Any, model: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        if not in_row_path:
            column_writes.append(table_name)
        return insert_columns(tx, model, table_name, *args, **kwargs)

    def spied_rows(tx: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        row_writes.append(table_name)
        in_row_path.append(True)
        try:
            return upsert_rows(tx, table_name, *args, **kwargs)
        finally:
            in_row_path.pop()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "WRITE_CHUNK_ROWS", CHUNK_ROWS)
        patch.setattr(bulk, "_insert_columns", spied_columns)
        patch.setattr(bulk, "upsert_rows", spied_rows)
        report = import_templates(imported, folder, "admin")
    # the fast path ran for every chunk of every table but the subject table (its privacy and site checks
    # take the row path, `bulk._columns_prepared`): one column write per chunk of CHUNK_ROWS rows
    forms = dict(zip(_forms_of(folder), _tables_of(folder), strict=True))
    assert row_writes == ["subject"]
    assert sorted(column_writes) == sorted(
        table
        for form, table in forms.items()
        if table != "subject"
        for _ in range(math.ceil(counts[form] / CHUNK_ROWS))
    )
    assert column_writes.count("lab_result") == 41  # 2,025 labs / 50 rows, rounded up
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "WRITE_CHUNK_ROWS", CHUNK_ROWS)
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


def _tables_of(folder: Path) -> list[str]:
    """The tables of the folder's forms in the import's order."""
    forms, _entries = read_template_dir(folder)
    return [form.spec.table for form in forms]


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


def _watch_collector(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """`gc.isenabled()` at each `validate_all` of an import (inside the paused block when it pauses)."""
    seen: list[bool] = []
    validate = pipeline.validate_all

    def watched(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return validate(*args, **kwargs)

    monkeypatch.setattr(pipeline, "validate_all", watched)
    return seen


def test_the_collector_is_paused_during_an_import_and_restored_after(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "study"
    folder.mkdir()
    write_synthetic_study(folder, 1)
    seen = _watch_collector(monkeypatch)
    assert gc.isenabled()
    import_templates(empty_study_copy(request, "sqlite", tmp_path), folder, "admin", pause_collector=True)
    assert seen == [False]
    assert gc.isenabled()


def test_an_import_keeps_the_collector_running_unless_asked(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pause is process-wide: a library caller (and the web server's threads) keep it (D-19.935)."""
    folder = tmp_path / "study"
    folder.mkdir()
    write_synthetic_study(folder, 1)
    seen = _watch_collector(monkeypatch)
    url = empty_study_copy(request, "sqlite", tmp_path)
    import_templates(url, folder, "admin", dry_run=True)
    import_templates(url, folder, "admin")
    assert seen == [True, True]


def test_the_cli_import_pauses_the_collector_and_restores_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cartrial import templates`, a one-shot process, asks for the pause (D-19.935)."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    password = Path(os.environ["CARTRIAL_PASSWORD_FILE"]).read_text().strip()
    init_study(url, PROTOCOL, "admin", admin_password=password)
    folder = tmp_path / "study"
    folder.mkdir()
    write_synthetic_study(folder, 1)
    seen = _watch_collector(monkeypatch)
    result = run_cartrial("import", "templates", folder, "--user", "admin", "--url", url)
    assert result.exit_code == 0, result.output
    assert seen == [False]
    assert gc.isenabled()


def test_the_collector_is_restored_when_the_import_fails(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "study"
    folder.mkdir()
    write_synthetic_study(folder, 1)
    url = empty_study_copy(request, "sqlite", tmp_path)
    seen = _watch_collector(monkeypatch)

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("write failed")

    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "write_form", failing)
        with pytest.raises(RuntimeError):
            import_templates(url, folder, "admin", pause_collector=True)
    assert seen == [False]
    assert gc.isenabled()
    (folder / "sites.csv").write_text("site_id,name,country\n,Nowhere,X\n")  # refused: blank site_id
    with pytest.raises(InputError):
        import_templates(url, folder, "admin", pause_collector=True)
    assert seen == [False, False]
    assert gc.isenabled()


def test_overlapping_pauses_in_two_threads_restore_the_collector_after_the_last() -> None:
    """Two imports of one server overlapping: the first to end leaves the collector paused for the other,
    the last to end enables it again (one count under a lock, D-19.935)."""
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    states: dict[str, bool] = {}

    def first() -> None:
        with pipeline.collector_paused():
            first_in.set()
            assert second_in.wait(10)
        states["after first"] = gc.isenabled()
        first_out.set()

    def second() -> None:
        assert first_in.wait(10)
        with pipeline.collector_paused():
            second_in.set()
            assert first_out.wait(10)
            states["second still in"] = gc.isenabled()
        states["after second"] = gc.isenabled()

    assert gc.isenabled()
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert states == {"after first": False, "second still in": False, "after second": True}
    assert gc.isenabled()


@pytest.mark.parametrize("two_studies", ["sqlite"], indirect=True)
def test_a_refused_chunk_leaves_no_tracked_keys(two_studies: Any) -> None:
    """An unknown subject is refused after the chunk's keys went into the tracked set: the set must go
    with it, or the table would be taken to hold keys that were never written (D-19.937)."""
    columns, _rows = two_studies
    with columns.service.as_user("admin").transaction(source="test", reason="correction") as tx:
        with pytest.raises(InputError):
            by_columns(tx, "lab_result", labs(3, subject="CT-404"))
        assert "lab_result" not in tx._new_table_keys
        assert by_columns(tx, "lab_result", labs(3, subject="CT-002")) == bulk.UpsertResult(3, 0, 0)


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
