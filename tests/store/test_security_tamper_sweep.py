"""Issue 19 §3 sweep: a direct change of ANY column of ANY table is found by the replay (D-19.357..360).

The tables and columns come from the SQLAlchemy metadata, so a table or column added by a later migration is
swept without editing this file (and a table the fixture leaves empty fails `test_every_table_has_a_row`).
The study is the imported example study plus the records the import does not make (a site with a time zone,
a user whose password changed, seriousness criteria of an adverse event, a screening result, queries, a
derived value, a lock and an unlock), on SQLite and PostgreSQL. Each tamper runs in a transaction that is
rolled back, as a user with write access to the database file or server would run it.

A tamper counts as made only when the stored form of the value changed (SQLite converts ``'5'`` written to
an integer column to ``5``: nothing changed); one the database refuses (constraints) is not made either.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    Table,
    create_engine,
    text,
)
from tests.conftest import schema_url

from cartrial.store import StudyService, connect
from cartrial.store.models import Base
from cartrial.store.tamper import HOUSEKEEPING, replay_state, verify_complete, verify_lock_anchors

NOT_DATA = frozenset({"audit_log", "auth_session", "auth_throttle"})
"""Tables that are not study data: the trail itself (chain, checkpoint and seals check it) and the login
sessions and throttle counters (not audited)."""
TABLES = [t for t in Base.metadata.sorted_tables if t.name not in NOT_DATA]
UNCOMPARED = HOUSEKEEPING
"""Columns the service maintains itself and the trail does not record (`tamper.HOUSEKEEPING`)."""


def build(url: str) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from conftest import build_example  # tests/conftest.py

    build_example(url)
    service = StudyService(connect(url))
    service.add_site("admin", "PUMCH", "Hôpital Café", "CN", "Asia/Shanghai")  # non-ASCII (NFC)
    service.add_user("admin", "dm", "data_manager", password="test-password-0123", full_name="Dana")
    service.set_password("admin", "dm", "another password 12")
    ae = service.find_records("admin", "adverse_event")[0]
    service.update_record(
        "admin",
        "adverse_event",
        ae["id"],
        {"serious": True, "serious_hospitalisation": True, "serious_death": False},
        ae["version"],
        "seriousness",
    )
    with service.transaction("admin", "screen") as tx:
        service.upsert_rows(
            tx,
            "screening_result",
            [
                {
                    "subject_id": ae["subject_id"],
                    "screened_on": "2021-01-01",
                    "eligible": True,
                    "result": {"n": 1, "ok": True, "off": False, "x": [1.5, None]},
                }
            ],
        )
    infusion = service.find_records("admin", "infusion")[0]
    code = service.raise_query("admin", "infusion", infusion["id"], "check lot", "viability_pct")
    service.answer_query("admin", code, "checked")
    service.store_derived(
        "admin",
        [
            {
                "subject_id": infusion["subject_id"],
                "engine": "grading",
                "engine_version": "1",
                "options": {"k": 1, "t": True},
                "source_table": "infusion",
                "source_record_id": infusion["id"],
                "parameter": "p",
                "value_number": 1.0,
                "value_text": "x",
                "rule": "r",
                "clinical_date": "2021-06-01",
                "computed_at": dt.datetime(2021, 6, 1, 2, tzinfo=dt.UTC),
            }
        ],
        source="test",
    )
    service.lock("admin", dt.date(2020, 1, 1), "first")
    service.unlock("admin", "done")
    service.lock("admin", dt.date(2020, 1, 2), "second")
    service.engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def swept(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sweep') / 'study.db'}"
        build(url)
        engine = connect(url)
        yield engine
        engine.dispose()
        return
    server = str(request.getfixturevalue("postgres_server"))
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(server)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = schema_url(server, schema)
    try:
        build(url)
        engine = connect(url)
        yield engine
        engine.dispose()
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _kind(table: Table, name: str) -> str:
    column_type = table.c[name].type
    for kind, types in (
        ("datetime", (DateTime,)),
        ("bool", (Boolean,)),
        ("float", (Float,)),
        ("int", (Integer,)),
        ("date", (Date,)),
        ("json", (JSON,)),
    ):
        if isinstance(column_type, types) or isinstance(getattr(column_type, "impl", None), types):
            return kind
    return "text"


def tampers(kind: str, raw: Any, sqlite: bool) -> list[tuple[str, Any]]:
    """(label, new stored value) for a column holding `raw` (as the driver returns it)."""
    if raw is None:
        filler = {"bool": False, "float": 1.0, "int": 1, "date": "2021-01-01", "text": "x"}
        out = [("NULL -> value", filler[kind])] if kind in filler else []
        if kind == "bool":
            out.append(("NULL -> 0", 0))
        return out
    out: list[tuple[str, Any]] = [("value -> NULL", None)]
    if sqlite:  # SQLite stores any type in any column: the same text as a BLOB (x'...')
        out.append(("as a BLOB", str(raw).encode()))
    if kind == "bool":
        out.append(("flip", (not raw) if not sqlite else int(not raw)))
        if sqlite:
            out += [("2 for true", 2 if raw else None), ("text 'false'", "false"), ("text 'true'", "true")]
    elif kind == "int" or kind == "float":
        out += [("+1", raw + 1), ("+0.5", raw + 0.5)]
    elif kind == "date":
        if sqlite:
            out += [("with 00:00:00", f"{raw} 00:00:00"), ("junk suffix", f"{raw}x")]
            out.append(("+1 day", (dt.date.fromisoformat(raw) + dt.timedelta(days=1)).isoformat()))
        else:
            out.append(("+1 day", raw + dt.timedelta(days=1)))
    elif kind == "datetime":
        plus2 = dt.timezone(dt.timedelta(hours=2))
        if sqlite:
            value = dt.datetime.fromisoformat(raw)
            out += [
                ("+1 h", (value + dt.timedelta(hours=1)).isoformat(" ", "microseconds")),
                ("same instant at +02:00", value.replace(tzinfo=dt.UTC).astimezone(plus2).isoformat()),
                ("wall time at +02:00", f"{value.isoformat()}+02:00"),
                ("without microseconds", value.isoformat(" ", "seconds")),
            ]
        else:
            out += [("+1 h", raw + dt.timedelta(hours=1)), ("wall time at +02:00", raw.replace(tzinfo=plus2))]
    elif kind == "json":
        document = json.dumps(raw if not sqlite else json.loads(raw))
        for old, new, label in (
            ("true", "1", "true -> 1"),
            ("false", "0", "false -> 0"),
            ("1,", "1.0,", "1 -> 1.0"),
        ):
            if old in document:
                out.append((label, document.replace(old, new, 1)))
    else:
        out += [("trailing space", f"{raw} "), ("upper case", raw.upper())]
        if unicodedata.normalize("NFD", raw) != raw:
            out.append(("NFC -> NFD", unicodedata.normalize("NFD", raw)))
    return [(label, value) for label, value in out if not (value is None and label != "value -> NULL")]


def found(connection: Connection, table: str) -> bool:
    """Whether the replay of `table` (alone: a table's findings do not depend on the others,
    `test_a_table_replayed_alone_has_the_findings_it_has_among_all`) or the lock anchors report it."""
    findings, _ = replay_state(connection, tables=[table])
    findings += verify_lock_anchors(connection)[0]
    return any(f.table == table for f in findings)


def try_tamper(engine: Engine, table: Table, sql: str, params: dict[str, Any], column: str | None) -> str:
    """'found', 'missed', 'no change' (same stored form) or 'refused' (the database refused it)."""
    raw_sql = None
    if column is not None:
        shown = f"quote({column})" if engine.dialect.name == "sqlite" else f"{column}::text"
        raw_sql = text(f"SELECT {shown} FROM {table.name} WHERE id = :i")
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            before = connection.execute(raw_sql, {"i": params["i"]}).scalar() if raw_sql is not None else 0
            try:
                with connection.begin_nested():
                    connection.execute(text(sql), params)
            except Exception:  # a constraint refused it
                return "refused"
            after = connection.execute(raw_sql, {"i": params["i"]}).scalar() if raw_sql is not None else 1
            if before == after:
                return "no change"
            return "found" if found(connection, table.name) else "missed"
        finally:
            transaction.rollback()


def test_the_swept_study_verifies(swept: Engine) -> None:
    result = verify_complete(swept)
    assert result.ok, [f.message for f in result.findings]


@pytest.mark.parametrize("table", TABLES, ids=[t.name for t in TABLES])
def test_every_table_has_a_row(swept: Engine, table: Table) -> None:
    with swept.connect() as connection:
        assert connection.execute(text(f"SELECT count(*) FROM {table.name}")).scalar()


@pytest.mark.parametrize("table", TABLES, ids=[t.name for t in TABLES])
def test_any_direct_change_of_any_column_is_found(swept: Engine, table: Table) -> None:
    """Every column of the newest row (for `adverse_event` the one with seriousness criteria): value to
    NULL and back, another value, and the same value in another type or form (true as 1 or 'false', 1 as
    1.0 in a JSON document, a date with a time, a date-time at another offset or without microseconds, a
    trailing space, NFD for NFC, on SQLite the value as a BLOB); then the row deleted and a copy inserted."""
    sqlite = swept.dialect.name == "sqlite"
    where = "WHERE serious IS NOT NULL " if table.name == "adverse_event" else ""
    with swept.connect() as connection:
        row = (
            connection.execute(text(f"SELECT * FROM {table.name} {where}ORDER BY id DESC LIMIT 1"))
            .mappings()
            .one()
        )
    missed = []
    for column in table.columns:
        if column.name == "id" or column.name in UNCOMPARED:
            continue
        kind = _kind(table, column.name)
        for label, value in tampers(kind, row[column.name], sqlite):
            value_sql = "CAST(:v AS json)" if kind == "json" and not sqlite and value is not None else ":v"
            sql = f"UPDATE {table.name} SET {column.name} = {value_sql} WHERE id = :i"
            if try_tamper(swept, table, sql, {"v": value, "i": row["id"]}, column.name) == "missed":
                missed.append(f"{column.name}: {label}")
    if (
        try_tamper(swept, table, f"DELETE FROM {table.name} WHERE id = :i", {"i": row["id"]}, None)
        == "missed"
    ):
        missed.append("delete")
    names = [c.name for c in table.columns if c.name != "id"]
    unique = {c.name for c in table.columns if c.unique} | {
        name
        for constraint in table.constraints
        if constraint.__class__.__name__ == "UniqueConstraint"
        for name in constraint.columns
    }
    copied = ", ".join(
        f"'Z' || {name}"
        if name in unique and _kind(table, name) == "text"
        else f"{name} + 1000"
        if name in unique and _kind(table, name) == "int"
        else name
        for name in names
    )
    insert = (
        f"INSERT INTO {table.name} (id, {', '.join(names)}) SELECT id + 100000, {copied} "
        f"FROM {table.name} WHERE id = :i"
    )
    if try_tamper(swept, table, insert, {"i": row["id"]}, None) == "missed":
        missed.append("insert")
    assert not missed, f"{table.name}: undetected {missed}"


def test_a_table_replayed_alone_has_the_findings_it_has_among_all(swept: Engine) -> None:
    """`replay_state(tables=[T])` reports of T exactly what the full replay reports of T (the sweep above
    replays one table per tamper), here with a change made without the trail in three tables at once."""
    with swept.connect() as connection:
        transaction = connection.begin()
        try:
            connection.execute(text("UPDATE infusion SET viability_pct = viability_pct + 1"))
            connection.execute(text("DELETE FROM lab_result WHERE id = (SELECT min(id) FROM lab_result)"))
            connection.execute(text("UPDATE data_lock SET reason = 'rewritten'"))
            everything, _ = replay_state(connection)
            assert {f.table for f in everything} >= {"infusion", "lab_result", "data_lock"}
            for table in [t.name for t in TABLES if t.name not in NOT_DATA]:
                alone, _ = replay_state(connection, tables=[table])
                assert [f.message for f in alone] == [f.message for f in everything if f.table == table], (
                    table
                )
        finally:
            transaction.rollback()


def test_replaying_an_unknown_table_is_refused(swept: Engine) -> None:
    from cartrial.errors import ConfigurationError

    with swept.connect() as connection, pytest.raises(ConfigurationError, match=r"audit_log.*allowed: "):
        replay_state(connection, tables=["audit_log"])
