"""Reads of the study database: records, counts and the audit trail (each on an open connection).

The permission to read is checked by the caller (the `StudyService` facade).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from cartrial.errors import InputError, Problem
from cartrial.store.models import STUDY_TABLES, AuditLog, DataLock
from cartrial.store.tables import coerce, columns_of, model_of, table_of
from cartrial.store.writes import current_record


def get_record(connection: Connection, table_name: str, record_id: int) -> dict[str, Any]:
    """One record with its `id` and `version` (`InputError` if there is none)."""
    return dict(current_record(connection, model_of(table_name), table_name, record_id))


def find_records(connection: Connection, table_name: str, equals: dict[str, Any]) -> list[dict[str, Any]]:
    """Records of `table_name` whose columns equal the given values (ISO text accepted for dates), by id."""
    model = model_of(table_name)
    columns = columns_of(model)
    bad = [name for name in equals if name not in columns]
    if bad:
        raise InputError(Problem("unknown column", field=table_name, value=", ".join(bad)))
    table = table_of(model)
    query = select(table).where(*(table.c[k] == coerce(columns[k], v, table_name) for k, v in equals.items()))
    return [dict(row) for row in connection.execute(query.order_by(table.c.id)).mappings()]


def table_counts(connection: Connection) -> dict[str, int]:
    """Row count of every table (study data, data_lock and audit_log), by table name."""
    models: list[type[Any]] = [*STUDY_TABLES.values(), DataLock, AuditLog]
    tables = [table_of(m) for m in models]
    return {t.name: int(connection.execute(select(func.count()).select_from(t)).scalar_one()) for t in tables}


def audit_history(connection: Connection, subject_id: str) -> list[dict[str, Any]]:
    """Every audit row about subject `subject_id` (its subject record and all its data), in chain order."""
    table = table_of(AuditLog)
    rows = connection.execute(
        select(table).where(table.c.subject_id == subject_id).order_by(table.c.id)
    ).mappings()
    return [dict(row) for row in rows]


def audit_rows(connection: Connection, since_id: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
    """Audit rows with id above `since_id`, in chain order (at most `limit`)."""
    table = table_of(AuditLog)
    query = select(table).where(table.c.id > since_id).order_by(table.c.id)
    if limit is not None:
        query = query.limit(limit)
    return [dict(row) for row in connection.execute(query).mappings()]
