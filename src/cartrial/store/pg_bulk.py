"""The PostgreSQL bulk path of the store: COPY for new rows and audit rows, a staging table for re-imports.

Measured with the 1,000-subject synthetic study (issue 19 section 5): executemany inserts and existence
checks with expanded ``IN (...)`` lists of thousands of keys made a PostgreSQL import about 20x and an
unchanged re-import about 80x slower than a plain ``COPY`` of the same rows. Here:

- `copy_rows` writes rows with binary ``COPY ... FROM STDIN`` (psycopg 3 `Cursor.copy`, `Copy.write_row`,
  each column dumped as its table column's exact type, 4x faster than text COPY here) after
  passing every value through the column type's SQLAlchemy bind processor, so what is stored is exactly
  what an ``INSERT`` through SQLAlchemy would have stored (UTC date-times, JSON documents);
- `stored_rows_by_key` COPYs the natural keys of a batch into a temporary staging table (dropped at
  commit) and reads the stored rows with one ``SELECT ... JOIN`` on the key: a set-based diff whose
  statement has a fixed size whatever the batch.

Database errors come back as SQLAlchemy's `DBAPIError` subclasses (`IntegrityError`, `DataError`, ...) with
the statement only, never the row values (issue 19 section 4: no record values in errors).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Boolean, Connection, Table, and_, column, select, table
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import DBAPIError

from cartrial.store.models import UtcDateTime

COPY_BLOCK_ROWS = 5_000
"""Rows converted column by column at a time before they are written (bounded memory)."""
COPY_FORMAT = "COPY {table} ({columns}) FROM STDIN (FORMAT binary)"


def bind_processors(target: Table, column_names: Sequence[str], connection: Connection) -> list[Any]:
    """The SQLAlchemy bind processor (or None) of each named column of `target` on this connection's
    dialect: what `connection.execute(insert(...))` would apply to each value before the driver."""
    dialect = connection.dialect
    return [target.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in column_names]


def copy_rows(
    connection: Connection,
    target: Table,
    column_names: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    table_name: str | None = None,
    leading: Sequence[str] = (),
) -> int:
    """``COPY`` `rows` (tuples in `column_names` order) into `target` (or the table named `table_name`,
    e.g. a staging table with the same columns) inside the connection's transaction; returns the count.
    Values go through the columns' bind processors first (see the module docstring). `leading`: names
    of extra columns of `table_name` given first in each row, written as they are."""
    processors = bind_processors(target, column_names, connection)
    skip = len(leading)
    # date-times repeat (created_at, recorded_at, shared collection times) and booleans take three values:
    # each distinct one converted once
    converting: list[tuple[int, Any, dict[Any, Any] | None]] = [
        (skip + index, process, {} if isinstance(target.c[name].type, UtcDateTime | Boolean) else None)
        for index, (name, process) in enumerate(zip(column_names, processors, strict=True))
        if process is not None
    ]
    name = table_name or target.fullname
    all_names = (*leading, *column_names)
    sql = COPY_FORMAT.format(table=name, columns=", ".join(all_names))
    count = 0
    driver = connection.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor() as cursor:
            types = _column_types(cursor, name, all_names)
            with cursor.copy(sql) as copy:
                copy.set_types(types)
                write_row = copy.write_row
                if converting:
                    # column by column, a block of rows at a time (no per-value Python loop for the
                    # memoised columns: a set of the distinct values, then one C-level lookup per value)
                    iterator = iter(rows)
                    while block := list(itertools.islice(iterator, COPY_BLOCK_ROWS)):
                        columns: list[Any] = list(zip(*block, strict=True))
                        for index, process, memo in converting:
                            columns[index] = _converted(columns[index], process, memo)
                        for values in zip(*columns, strict=True):
                            write_row(values)
                        count += len(block)
                else:
                    for row in rows:
                        write_row(row)
                        count += 1
    except Exception as exc:
        raise _as_dbapi_error(exc, sql) from None
    return count


def _converted(values: Sequence[Any], process: Any, memo: dict[Any, Any] | None) -> list[Any]:
    """`process` applied to each value; with `memo` (hashable values) each distinct value once."""
    if memo is None:
        return [process(value) for value in values]
    for value in set(values).difference(memo):
        memo[value] = process(value)
    return list(map(memo.__getitem__, values))


def _column_types(cursor: Any, table_name: str, column_names: Sequence[str]) -> list[int]:
    """The type OIDs of the named columns (binary COPY needs each column's exact type)."""
    cursor.execute(
        "SELECT attname, atttypid FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
        (table_name,),
    )
    oids = {str(name): int(oid) for name, oid in cursor.fetchall()}
    return [oids[name] for name in column_names]


def _as_dbapi_error(exc: Exception, sql: str) -> Exception:
    """A driver error as the SQLAlchemy exception SQLAlchemy itself would raise (statement, no values);
    anything else (a bind processor refusing a value) unchanged."""
    import psycopg

    if isinstance(exc, psycopg.Error):
        return DBAPIError.instance(sql, None, exc, psycopg.Error)
    return exc


ROW_NUMBER_COLUMN = "cartrial_row"
"""The staging table's column numbering the batch's rows (0-based), so matches need no key hashing."""


def _stage_name(target: Table, keys: Sequence[str]) -> str:
    digest = hashlib.sha256(f"{target.name}:{','.join(keys)}".encode()).hexdigest()[:8]
    return f"cartrial_stage_{target.name}_{digest}"[:63]


def stage_keys(
    connection: Connection, target: Table, keys: Sequence[str], wanted: Iterable[Sequence[Any]]
) -> str:
    """COPY the natural keys `wanted` (with their position in the batch, column `cartrial_row`) into a
    temporary staging table of the key columns' types (``ON COMMIT DROP``, emptied before each use);
    returns its name."""
    stage_name = _stage_name(target, keys)
    driver = connection.connection.driver_connection
    assert driver is not None
    columns = ", ".join(keys)
    create = (
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage_name} ON COMMIT DROP AS "
        f"SELECT 0 AS {ROW_NUMBER_COLUMN}, {columns} FROM {target.fullname} WITH NO DATA"
    )
    try:
        with driver.cursor() as cursor:
            cursor.execute(create)
            cursor.execute(f"TRUNCATE {stage_name}")
    except Exception as exc:
        raise _as_dbapi_error(exc, create) from None
    copy_rows(
        connection,
        target,
        keys,
        ((number, *key) for number, key in enumerate(wanted)),
        table_name=stage_name,
        leading=(ROW_NUMBER_COLUMN,),
    )
    return stage_name


def stored_storage_rows(
    connection: Connection,
    target: Table,
    keys: Sequence[str],
    wanted: Sequence[Sequence[Any]],
    column_names: Sequence[str],
) -> dict[int, tuple[Any, ...]]:
    """Position in `wanted` -> the stored values of `column_names` of the record with that natural key,
    as the driver returns them (no SQLAlchemy result processing): the fast first pass of a re-import's
    comparison. Matching is done by the server (staging table joined on the key)."""
    if not wanted:
        return {}
    stage_name = stage_keys(connection, target, keys, wanted)
    selected = ", ".join(f"t.{name}" for name in column_names)
    on = " AND ".join(f"t.{k} = s.{k}" for k in keys)
    sql = f"SELECT s.{ROW_NUMBER_COLUMN}, {selected} FROM {target.fullname} t JOIN {stage_name} s ON {on}"
    driver = connection.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor() as cursor:
            cursor.execute(sql)
            found = cursor.fetchall()
    except Exception as exc:
        raise _as_dbapi_error(exc, sql) from None
    return {int(row[0]): row[1:] for row in found}


def stored_rows_by_key(
    connection: Connection,
    target: Table,
    keys: Sequence[str],
    wanted: Sequence[tuple[Any, ...]],
    key_of: Callable[[Any], tuple[Any, ...]],
) -> dict[tuple[Any, ...], RowMapping]:
    """The stored rows of `target` whose natural key (`keys`) is one of `wanted`, by key, typed as
    SQLAlchemy reads them: the keys are staged (`stage_keys`) and joined with the table in one statement
    whose size does not depend on the batch."""
    if not wanted:
        return {}
    stage_name = stage_keys(connection, target, keys, wanted)
    stage = table(stage_name, *(column(k) for k in keys))
    query = select(target).join(stage, and_(*(target.c[k] == stage.c[k] for k in keys)))
    return {key_of(row): row for row in connection.execute(query).mappings().all()}
