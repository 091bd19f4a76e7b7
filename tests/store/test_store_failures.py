"""Store failures give one line and exit 2, never a traceback, and never show record values (decisions §19):
a text or binary file as the database, disk full, a lock held longer than the wait, a lost PostgreSQL
connection; a read-only archived copy opens for reading; `db records --json` of every table; the foreign-key
error of an edit names value and table; a cut-off at the last representable day."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import stat
import time
import traceback
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, text

from cartrial import examples as cartrial_examples
from cartrial.errors import InputError
from cartrial.store import StudyService, connect, init_study
from cartrial.store.database import DatabaseError
from cartrial.store.importing import import_templates
from cartrial.store.transaction import PG_CHAIN_LOCK_SQL

from ..conftest import Cli
from .conftest import PROTOCOL, empty_sqlite_copy

STUDY_FOLDER = cartrial_examples.path("ct103a-nmosd") / "study"
SECRET_VALUE = 987654.321
"""A lab value written in the failing batch: it must never appear in an error."""


def full_text(error: BaseException) -> str:
    """Everything a traceback (with --debug) would show: message, causes and contexts."""
    return "".join(traceback.format_exception(error))


def secret_labs(n: int) -> list[dict[str, object]]:
    return [
        {
            "subject_id": "CT-001",
            "analyte": f"secret{i}",
            "collected_at": "2021-06-02T00:00:00Z",
            "value": SECRET_VALUE,
        }
        for i in range(n)
    ]


@pytest.mark.parametrize("content", [b"patient list\nCT-001, F, 1987\n", os.urandom(4096)])
@pytest.mark.parametrize(
    "command",
    [
        ("db", "summary"),
        ("audit", "verify"),
        ("db", "records", "subject", "--user", "admin"),
        ("db", "init", "--protocol", str(PROTOCOL), "--admin", "admin"),
        ("import", "templates", str(STUDY_FOLDER), "--user", "admin"),
    ],
)
def test_a_file_that_is_not_a_database(
    content: bytes, command: tuple[str, ...], tmp_path: Path, cli: Cli
) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    result = cli(*command, "--url", f"sqlite:///{path}")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "not a SQLite database file" in result.stderr
    assert "Traceback" not in result.stderr
    assert path.read_bytes() == content  # untouched


@pytest.mark.parametrize(
    "command",
    [
        ("db", "summary"),
        ("audit", "verify"),
        ("audit", "log"),
        ("db", "records", "subject", "--user", "admin"),
        ("import", "templates", str(STUDY_FOLDER), "--user", "admin"),
        ("analyse", "--cutoff", "2022-03-20", "--user", "admin"),
        ("report", "--cutoff", "2022-03-20", "--user", "admin"),
        ("export", "cdisc", "--cutoff", "2022-03-20", "--user", "admin"),
        ("serve", "--port", "8765"),
    ],
)
def test_a_mistyped_database_path_is_refused_and_creates_nothing(
    command: tuple[str, ...], tmp_path: Path, cli: Cli
) -> None:
    """A study database that does not exist is refused naming --url, with how to make one; a mistyped path
    used to leave an empty 16 KB SQLite file behind (the message after it was right)."""
    path = tmp_path / "stduy.db"
    out = ("--out", str(tmp_path / "out")) if command[0] in ("analyse", "report", "export") else ()
    result = cli(*command, *out, "--url", f"sqlite:///{path}")
    assert result.exit_code == 2, result.stderr
    assert "no study database at this path" in result.stderr and "db init" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "command",
    [
        ("db", "summary"),
        ("audit", "verify"),
        ("audit", "log"),
        ("db", "records", "subject", "--user", "admin"),
        ("import", "templates", str(STUDY_FOLDER), "--user", "admin"),
        ("analyse", "--cutoff", "2022-03-20", "--user", "admin"),
        ("export", "cdisc", "--cutoff", "2022-03-20", "--user", "admin"),
    ],
)
def test_an_empty_file_as_the_database_is_refused_and_left_empty(
    command: tuple[str, ...], tmp_path: Path, cli: Cli
) -> None:
    """An empty file given as --url to a command that does not create a study (a placeholder, a file
    truncated by a full disk) is refused naming --url; SQLite used to write a 16 KB database header into it
    before the command said "not a cartrial study database" (cli-audit, D-19.497)."""
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    out = ("--out", str(tmp_path / "out")) if command[0] in ("analyse", "export") else ()
    result = cli(*command, *out, "--url", f"sqlite:///{path}")
    assert result.exit_code == 2, result.stderr
    assert "an empty file, not a study database" in result.stderr and "db init" in result.stderr
    assert "Traceback" not in result.stderr
    assert path.stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


def test_db_init_creates_the_database_file(tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "new.db"
    result = cli("db", "init", "--protocol", str(PROTOCOL), "--admin", "admin", "--url", f"sqlite:///{path}")
    assert result.exit_code == 0, result.stderr
    assert path.is_file()


def test_an_unreachable_server_is_one_line(cli: Cli) -> None:
    result = cli("db", "summary", "--url", "postgresql://postgres@127.0.0.1:1/nowhere")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: cannot connect to the database server")


def test_disk_full_is_one_line_and_nothing_is_kept(tmp_path: Path, cli: Cli) -> None:
    """SQLite `max_page_count` stands in for a full disk."""
    url = f"sqlite:///{tmp_path / 'full.db'}"
    init_study(url, PROTOCOL, "admin")
    service = StudyService(url)
    before = service.table_counts()
    pages = int(service.engine.connect().exec_driver_sql("PRAGMA page_count").scalar() or 0)

    @event.listens_for(service.engine, "connect")
    def _limit(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.execute(f"PRAGMA max_page_count={pages + 3}")

    with pytest.raises(DatabaseError, match="the database is full") as caught:
        import_templates(service.engine, STUDY_FOLDER, "admin")
    assert "\n" not in str(caught.value)
    assert service.table_counts() == before
    assert service.verify_audit().ok


def test_a_lock_held_longer_than_the_wait(study, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another writer holds the write lock (SQLite) or the audit-chain lock (PostgreSQL) past the wait."""
    monkeypatch.setattr("cartrial.store.database.SQLITE_BUSY_TIMEOUT_MS", 300)
    service = StudyService(connect(study.url))
    before = service.table_counts()
    holder = create_engine(study.url)
    with holder.connect() as connection:
        if study.backend == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.begin()
            connection.execute(text(PG_CHAIN_LOCK_SQL))
        with pytest.raises(
            DatabaseError, match="stayed locked by another writer longer than the wait"
        ) as caught:
            service.as_user("dm").insert_record("lab_result", secret_labs(1)[0])
        connection.rollback()
    holder.dispose()
    assert str(SECRET_VALUE) not in full_text(caught.value)
    assert service.table_counts() == before


def test_a_lost_postgresql_connection_shows_no_record_values(study) -> None:
    if study.backend != "postgresql":
        pytest.skip("terminating a server backend is a PostgreSQL test")
    service = study.service
    before = service.table_counts()
    killer = create_engine(study.url, isolation_level="AUTOCOMMIT")
    with pytest.raises(DatabaseError) as caught, service.as_user("dm").transaction("feed", "r") as tx:
        tx.upsert_rows("lab_result", secret_labs(10))
        pid = tx.connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with killer.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        tx.upsert_rows("lab_result", secret_labs(20))
    killer.dispose()
    assert "connection to the database server was lost" in str(caught.value)
    shown = full_text(caught.value)
    assert str(SECRET_VALUE) not in shown and "secret1" not in shown and "CT-001" not in shown
    assert service.table_counts() == before
    assert service.verify_audit().ok


def test_a_pooled_connection_closed_by_the_server_is_replaced(study) -> None:
    """A pooled PostgreSQL connection whose backend was terminated while idle is replaced at checkout
    (no error for the next request), without a ping query per checkout."""
    if study.backend != "postgresql":
        pytest.skip("terminating a server backend is a PostgreSQL test")
    engine = study.service.engine
    before = study.service.table_counts()
    engine.dispose()
    with engine.connect() as connection:  # the pool now holds exactly this connection
        old_pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    killer = create_engine(study.url, isolation_level="AUTOCOMMIT")
    with killer.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": old_pid})
        for _ in range(500):  # the backend has exited (and closed the socket): at most 5 s
            gone = connection.execute(
                text("SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = :pid"), {"pid": old_pid}
            ).scalar_one()
            if gone:
                break
            time.sleep(0.01)
    killer.dispose()
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    assert study.service.table_counts() == before
    with engine.connect() as connection:
        assert connection.execute(text("SELECT pg_backend_pid()")).scalar_one() != old_pid
    assert not any(statement.strip() in {"", ";", "SELECT 1"} for statement in statements)


def test_read_only_archive_opens_for_reading(tmp_path: Path, sqlite_template: Path, cli: Cli) -> None:
    """An archived copy (file 0444, then also its folder read-only) opens for audit verify, db summary,
    db records and audit log; a write is refused in one line."""
    folder = tmp_path / "archive"
    folder.mkdir()
    archive = folder / "study.db"
    shutil.copyfile(sqlite_template, archive)
    if Path(f"{sqlite_template}-wal").exists():
        shutil.copyfile(f"{sqlite_template}-wal", f"{archive}-wal")
    url = f"sqlite:///{archive}"
    archive.chmod(0o444)
    try:
        for read_only_folder in (False, True):
            if read_only_folder:
                folder.chmod(0o555)
            verify = cli("audit", "verify", "--url", url)
            assert verify.exit_code == 0 and verify.stdout.startswith("OK"), verify.stderr
            summary = cli("db", "summary", "--url", url, "--json")
            assert summary.exit_code == 0 and json.loads(summary.stdout)["tables"]["subject"] == 3
            records = cli("db", "records", "subject", "--url", url, "--user", "mon", "--json")
            assert [r["subject_id"] for r in json.loads(records.stdout)] == ["CT-001", "CT-002", "CT-101"]
            log = cli("audit", "log", "--subject", "CT-001", "--url", url, "--user", "mon", "--json")
            assert log.exit_code == 0 and json.loads(log.stdout)
            write = cli("db", "site", "add", "NEW", "--url", url, "--user", "admin")
            assert write.exit_code == 2 and "the database is read-only" in write.stderr
            assert write.stderr.count("\n") == 1
    finally:
        folder.chmod(0o755)
        archive.chmod(0o644)
    assert stat.S_IMODE(archive.stat().st_mode) == 0o644


def test_db_records_json_of_every_table_on_the_example_study(
    tmp_path: Path, password_sqlite_template: Path, cli: Cli
) -> None:
    """`db records subject --json` and `escalation_decision --json` crashed with "Circular reference
    detected" (decisions §19): every table of the example study prints as JSON equal to the stored rows."""
    url = empty_sqlite_copy(password_sqlite_template, tmp_path / "example.db")
    import_templates(url, STUDY_FOLDER, "admin")
    service = StudyService(url)
    for table in ("subject", "escalation_decision", "infusion", "lab_result", "import_manifest"):
        result = cli("db", "records", table, "--url", url, "--user", "admin", "--json")
        assert result.exit_code == 0, result.stderr
        printed = json.loads(result.stdout)
        stored = service.as_user("admin").find_records(table)
        assert len(printed) == len(stored) > 0
        assert [row["id"] for row in printed] == [row["id"] for row in stored]
    subjects = json.loads(cli("db", "records", "subject", "--url", url, "--user", "admin", "--json").stdout)
    stored_subjects = service.as_user("admin").find_records("subject")
    for key in ("subject_id", "treatment_history", "relapse_history"):
        if key in stored_subjects[0]:
            assert [row[key] for row in subjects] == [row[key] for row in stored_subjects]


def test_the_foreign_key_error_of_an_edit_names_column_and_table_not_the_value(study, cli: Cli) -> None:
    """Changed by design (D-19.885): the refusal named the value typed; now the column and table only."""
    subject = study.service.as_user("dm").find_records("subject", subject_id="CT-001")[0]
    result = cli(
        *("db", "edit", "subject", subject["id"], "--set", "site_id=NOWHERE", "--expected-version", "1"),
        *("--reason", "moved", "--url", study.url, "--user", "dm"),
    )
    assert result.exit_code == 2
    assert "NOWHERE" not in result.stderr and "no site with this site_id" in result.stderr
    with pytest.raises(InputError, match="refers to table site"):
        study.service.as_user("dm").update_record("subject", subject["id"], {"site_id": "X"}, 1, "moved")


def test_a_cutoff_at_the_last_representable_day(study, cli: Cli) -> None:
    result = cli(
        "db", "lock", "--cutoff", "9999-12-31", "--reason", "all", "--url", study.url, "--user", "stat"
    )
    assert result.exit_code == 0, result.stderr
    assert "locked 3 records dated on or before 9999-12-31" in result.stdout
    assert study.service.active_lock() is not None
    assert study.service.active_lock().cutoff == dt.date.max  # type: ignore[union-attr]
