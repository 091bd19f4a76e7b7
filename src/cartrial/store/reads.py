"""Reads of the study database: records, counts and the audit trail (each on an open connection).

The permission to read is checked by the caller (the `StudyService` facade).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from cartrial.errors import InputError, Problem
from cartrial.store.models import STUDY_TABLES, AuditLog, DataLock
from cartrial.store.tables import coerce, columns_of, is_datetime, model_of, table_of
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


def page_records(
    connection: Connection,
    table_name: str,
    *,
    equals: dict[str, Any] | None = None,
    sites: tuple[str | None, ...] | None = None,
    date_from: Any = None,
    date_to: Any = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """One page of the records of `table_name` (in id order) and the number of all that match.

    `equals`: column values (as `find_records`); `sites`: only records of subjects at these sites (None:
    every site; a table without a subject column is not restricted); `date_from` / `date_to`: the table's
    clinical date (`clinical_date_column`) on or after / on or before these days (a table without one
    ignores them); `limit` / `offset`: the page."""
    import datetime as dt

    from cartrial.store.models import Subject

    model = model_of(table_name)
    columns = columns_of(model)
    equals = equals or {}
    bad = [name for name in equals if name not in columns]
    if bad:
        raise InputError(Problem("unknown column", field=table_name, value=", ".join(bad)))
    table = table_of(model)
    conditions = [table.c[k] == coerce(columns[k], v, table_name) for k, v in equals.items()]
    if sites is not None:
        if model is Subject:
            conditions.append(table.c.site_id.in_(list(sites)))
        elif model.subject_column and model.subject_column in columns:
            at_sites = select(Subject.subject_id).where(Subject.site_id.in_(list(sites)))
            conditions.append(table.c[model.subject_column].in_(at_sites))
    date_column = getattr(model, "clinical_date_column", None)
    if date_column and date_column in columns:
        column = table.c[date_column]
        as_datetime = is_datetime(columns[date_column])
        if date_from is not None:
            start = dt.datetime.combine(date_from, dt.time(), dt.UTC) if as_datetime else date_from
            conditions.append(column >= start)
        if date_to is not None:
            end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), dt.UTC)
            conditions.append(column < end if as_datetime else column <= date_to)
    total = int(connection.execute(select(func.count()).select_from(table).where(*conditions)).scalar_one())
    query = select(table).where(*conditions).order_by(table.c.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [dict(row) for row in connection.execute(query).mappings()], total


def record_sites(connection: Connection, table_name: str, records: list[dict[str, Any]]) -> set[str | None]:
    """The sites of the subjects the records belong to (empty for a table without subjects)."""
    from cartrial.store.bulk import subject_sites
    from cartrial.store.models import Subject

    model = model_of(table_name)
    if model is Subject:
        return {r.get("site_id") for r in records}
    column = model.subject_column
    if not column or column not in columns_of(model):
        return set()
    subjects = {r.get(column) for r in records} - {None}
    found = subject_sites(connection, subjects)
    return {found.get(str(s)) for s in subjects}


def record_audit(connection: Connection, table_name: str, record_id: int) -> list[dict[str, Any]]:
    """Every audit row about one record (its insert, each changed field, its deletion), in chain order."""
    table = table_of(AuditLog)
    rows = connection.execute(
        select(table)
        .where(table.c.table_name == table_name, table.c.record_id == record_id)
        .order_by(table.c.id)
    ).mappings()
    return [dict(row) for row in rows]
