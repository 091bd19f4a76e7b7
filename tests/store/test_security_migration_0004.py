"""Migration 0004 (audit seal column, lock anchor, authentication tables) upgrades a 0003 database in place
on SQLite and PostgreSQL, keeps its rows and its append-only triggers, and anchors the next lock."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import inspect, text

from cartrial.store import StudyService, connect, upgrade

from .conftest import PROTOCOL


def test_upgrade_from_0003_keeps_data_and_triggers(db_url: str) -> None:
    from cartrial.store import init_study

    engine = connect(db_url, create=True)
    assert upgrade(engine, "0003") == "0003"
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO data_lock (cutoff, locked_by, locked_at, reason, active) "
                "VALUES ('2021-01-01', 'old', '2021-01-02 00:00:00', 'before 0004', false)"
            )
        )
    assert upgrade(engine, "0004") == "0004"
    columns = {c["name"] for c in inspect(engine).get_columns("data_lock")}
    assert {"audit_head_id", "audit_head_hash"} <= columns
    assert "row_mac" in {c["name"] for c in inspect(engine).get_columns("audit_log")}
    assert {"auth_session", "auth_throttle"} <= set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        assert connection.execute(text("SELECT reason, audit_head_id FROM data_lock")).one() == (
            "before 0004",
            None,
        )
    init_study(engine, PROTOCOL, "admin")
    service = StudyService(engine)
    lock = service.lock("admin", dt.date(2021, 1, 1), "first anchored lock")
    with engine.connect() as connection:
        head = connection.execute(
            text("SELECT audit_head_id FROM data_lock WHERE id = :i"), {"i": lock.id}
        ).scalar_one()
    assert head is not None and head >= 1
    with pytest.raises(Exception, match="append-only"), engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log"))
    engine.dispose()
