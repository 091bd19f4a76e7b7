"""Bulk upsert: the write path of imports and every multi-row write, with its SQLite fast path.

`upsert_rows(tx, table_name, rows, key_columns)` inserts or updates rows matched on the natural key. It is
idempotent (an unchanged row writes nothing), audits every insert (the record as JSON; each run of new
records of one subject sealed by one batch row, decisions D-19.10) and every changed value (old, new, the
transaction's reason), refuses writes to records frozen by a data lock, and checks the
acting user's enter/edit permission and site. Bulk: one SELECT of existing keys per chunk (none while the
table was empty at the start of the transaction), executemany inserts with ids assigned under the write
lock, no per-row ORM objects; on SQLite the existence check compares rows in storage form at driver level
and the inserts go through the driver directly (benchmarks/bench_store.py). On PostgreSQL
(`cartrial.store.pg_bulk`, issue 19 section 5) a chunk's keys are COPYed into a temporary staging table and
joined with the table by the server (a set-based diff: no expanded ``IN (...)`` lists), matched rows are
compared in driver form first (only possible changes are re-read typed), and new rows and their audit rows
are written by binary COPY; the audit digests are computed exactly as before. `upsert_columns` takes the
rows column by column (an import's validated forms) and writes new rows without building them as dicts.
Neither applies the field rules or edit checks: their callers validate first (the import, its forms as a
whole) or write computed rows (derived values, data queries); the API's bulk write, `Transaction.upsert_rows`,
judges each row as a single-record write does (`cartrial.store.writes.upsert_checked_rows`, D-19.430).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain, compress, islice, repeat
from numbers import Integral, Real
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from sqlalchemy import JSON, Boolean, Connection, Date, Select, bindparam, func, select, text, tuple_, update
from sqlalchemy.exc import IntegrityError

from cartrial.allowed import choice_text
from cartrial.columns import bounds_text
from cartrial.errors import ConflictError, InputError, InternalError, Problem
from cartrial.store import audit as audit_chain
from cartrial.store import pg_bulk
from cartrial.store.locking import is_locked, lock_zones, refuse_calendar_change
from cartrial.store.models import (
    STUDY_TABLES,
    Site,
    StoredDate,
    StoredInteger,
    StoredJSON,
    StoredNumber,
    StudyData,
    Subject,
    UtcDateTime,
    utc_now,
)
from cartrial.store.permissions import (
    Action,
    check_sites,
    held_key_refusal,
    readable_sites,
    write_action,
)
from cartrial.store.stored_dates import (
    STORED_INTEGER_BOUNDS,
    any_non_finite,
    non_finite,
    readable_integer,
    readable_number,
    unreadable_integer_cells,
)
from cartrial.store.tables import (
    MASKED_COLUMNS,
    RowLike,
    audit_value,
    chunks,
    coerce,
    columns_of,
    data_columns,
    integrity_error,
    is_datetime,
    is_temporal,
    model_of,
    plain_temporal,
    python_default,
    record_json,
    restates,
    same_value,
    site_table,
    table_of,
)
from cartrial.store.tables import (
    masked as mask_value,
)

if TYPE_CHECKING:
    from sqlalchemy import Table

    from cartrial.store.transaction import Transaction


_TZINFO = operator.attrgetter("tzinfo")

PG_CHUNK_ROWS = 20_000
"""Rows per staged diff and COPY on PostgreSQL (the import pipeline passes at most this many per call)."""


@dataclass(frozen=True)
class UpsertResult:
    """What `upsert_rows` did: rows inserted, updated (at least one value changed) and unchanged; `deleted`:
    rows a derivation removed as superseded (`cartrial.store.derive.derive_crs_grades`, D-19.1373; not in
    `total`)."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    def __add__(self, other: UpsertResult) -> UpsertResult:
        return UpsertResult(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.deleted + other.deleted,
        )

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged


@dataclass
class _IdCounter:
    """Ids for new records, assigned under the write lock (bulk inserts without RETURNING)."""

    last: int

    def take(self, n: int) -> int:
        """Reserve `n` consecutive ids; returns the first."""
        first = self.last + 1
        self.last += n
        return first


def highest_id_given(tx: Transaction, table_name: str) -> int:
    """The highest id `table_name` has ever given a record (0: none): its highest stored id, or a higher
    one the audit trail names — a deleted record's (every write is audited: a row's `record_id`, a batch
    row's id range ``ids first..last``, `audit.batch_ids`), written or still queued in `tx` (a record
    inserted and deleted earlier in this transaction, its audit rows not yet flushed; D-19.994). New ids
    count on from it (`_IdCounter`), so a deleted record's id is never given to another record, whose
    audit rows, data queries and trail key (table, record id) would then be the deleted one's too
    (D-19.992). Both backends assign the ids here; SQLite's max(id) + 1 (a table without AUTOINCREMENT)
    and a bare max(id) both reused the id of a deleted newest record. Three lookups on indexes: the
    table's highest id (its primary key), the trail's highest record id of the table and its newest batch
    row, both on the trail's (table_name, record_id) index; the batch row is looked for only among record
    ids above the highest named one less `audit.BATCH_MAX_RECORDS` (a batch row's `record_id` is the first
    id of its range, at most that many long: an older batch ends below the highest named id), so the
    lookup reads a bounded range of the index, not every audit row of the table (D-19.995)."""
    from cartrial.store.models import AuditLog

    connection = tx.connection
    table = table_of(model_of(table_name))
    audit = table_of(AuditLog)
    stored = int(connection.execute(select(func.max(table.c.id))).scalar() or 0)
    named = int(
        connection.execute(
            select(func.max(audit.c.record_id)).where(audit.c.table_name == table_name)
        ).scalar()
        or 0
    )
    batch = (
        connection.execute(newest_batch_row_query(table_name, named)).mappings().first() if named else None
    )
    ids = None if batch is None else audit_chain.batch_ids(batch)
    return max(stored, named, 0 if ids is None else ids[1], tx.queued_highest_id(table_name))


def newest_batch_row_query(table_name: str, named: int) -> Select[Any]:
    """The lookup of `table_name`'s newest batch-import audit row (`highest_id_given`): among the record
    ids above `named` (the table's highest record id in the trail) less `audit.BATCH_MAX_RECORDS`, the
    only ones a batch reaching above `named` can start at (D-19.995)."""
    from cartrial.store.models import AuditLog

    audit = table_of(AuditLog)
    return (
        select(audit.c.action, audit.c.record_id, audit.c.field)
        .where(
            audit.c.table_name == table_name,
            audit.c.record_id > named - audit_chain.BATCH_MAX_RECORDS,
            audit.c.action == audit_chain.BATCH_ACTION,
        )
        .order_by(audit.c.record_id.desc())
        .limit(1)
    )


_SQLITE_INSERTS: dict[str, tuple[str, tuple[str, ...], list[tuple[int, Any]]]] = {}
_SQLITE_OMISSIBLE: dict[str, frozenset[int]] = {}
_SQLITE_BOOLEANS: dict[str, tuple[int, ...]] = {}
_BOOL_TYPES = frozenset({bool, np.bool_, type(None)})
_BOOL_INT: dict[Any, Any] = {True: 1, False: 0, None: None}
"""A boolean column's values as SQLite stores them, bound as ints (a bool binds through the driver's
adapter lookup, ~0.2 µs a value; only columns holding nothing but bools and None are mapped). A numpy
bool is mapped too (it equals and hashes as the bool): the driver would store it as a one-byte BLOB."""
_NOW = "<now>"
"""Marker of the insert's time in `_sqlite_insert`'s statement (replaced by a text literal)."""


def _text_literal(value: str) -> str:
    """`value` as an SQL text literal (what binding it as text would store)."""
    return "'" + value.replace("'", "''") + "'"


def _sqlite_insert(model: type[StudyData]) -> tuple[str, tuple[str, ...], list[tuple[int, Any]]]:
    """For the driver-level bulk insert on SQLite: the INSERT statement (parameters id, then the data
    columns; created_at and updated_at the marker `_NOW` for the insert's time, one text literal for the
    whole statement, version 1: constants are not bound a million times), the data column names, and
    (index, converter) for the data columns whose values need converting to SQLAlchemy's SQLite storage
    format (what the column types' bind processors would do: UTC date-times as text, dates as ISO text,
    JSON as text)."""
    table = table_of(model)
    cached = _SQLITE_INSERTS.get(table.name)
    if cached is not None:
        return cached
    names = tuple(data_columns(model))
    columns = columns_of(model)
    conversions: list[tuple[int, Any]] = []
    for index, name in enumerate(names):
        kind = columns[name].type
        if isinstance(kind, UtcDateTime):
            conversions.append((index, audit_chain.sqlite_timestamp))
        elif isinstance(kind, Date | StoredDate):
            conversions.append((index, _iso_date))
        elif isinstance(kind, JSON | StoredJSON):
            conversions.append((index, _json_text))
    all_names = ("id", *names, "created_at", "updated_at", "version")
    marks = ", ".join("?" * (1 + len(names)))
    sql = f"INSERT INTO {table.name} ({', '.join(all_names)}) VALUES ({marks}, {_NOW}, {_NOW}, 1)"
    _SQLITE_INSERTS[table.name] = (sql, names, conversions)
    return sql, names, conversions


def _sqlite_insert_of(model: type[StudyData], kept: tuple[int, ...]) -> str:
    """`_sqlite_insert`'s statement with only the data columns at the positions `kept` (the others are
    nullable, have no server default and are NULL in every row: left out, they are stored as NULL)."""
    sql, names, _conversions = _sqlite_insert(model)
    if len(kept) == len(names):
        return sql
    return _partial_sqlite_insert(table_of(model).name, tuple(names[i] for i in kept))


@functools.lru_cache(maxsize=256)
def _partial_sqlite_insert(table_name: str, kept_names: tuple[str, ...]) -> str:
    """The INSERT of `_sqlite_insert` over the data columns `kept_names` only. Bounded: a web server's
    bulk writes bring ever new patterns of blank columns (2^20 for crs_assessment), and a cache keyed by
    them must not grow with the server's life."""
    all_names = ("id", *kept_names, "created_at", "updated_at", "version")
    marks = ", ".join("?" * (1 + len(kept_names)))
    return f"INSERT INTO {table_name} ({', '.join(all_names)}) VALUES ({marks}, {_NOW}, {_NOW}, 1)"


def _sqlite_omissible(model: type[StudyData]) -> frozenset[int]:
    """Positions (in `_sqlite_insert`'s data columns) of the columns an insert may leave out when every
    value is None: nullable, without a server default (left out, SQLite stores NULL, as bound)."""
    table = table_of(model)
    cached = _SQLITE_OMISSIBLE.get(table.name)
    if cached is None:
        _sql, names, _conversions = _sqlite_insert(model)
        columns = columns_of(model)
        cached = frozenset(
            i
            for i, name in enumerate(names)
            if columns[name].nullable and columns[name].server_default is None
        )
        _SQLITE_OMISSIBLE[table.name] = cached
    return cached


def _sqlite_booleans(model: type[StudyData]) -> tuple[int, ...]:
    """Positions (in `_sqlite_insert`'s data columns) of the boolean columns."""
    table = table_of(model)
    cached = _SQLITE_BOOLEANS.get(table.name)
    if cached is None:
        _sql, names, _conversions = _sqlite_insert(model)
        columns = columns_of(model)
        cached = tuple(i for i, name in enumerate(names) if isinstance(columns[name].type, Boolean))
        _SQLITE_BOOLEANS[table.name] = cached
    return cached


def _tuple_getter(items: Sequence[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """A function returning the given items (positions or keys) of a row as a tuple, also for 0 or 1 item
    (itemgetter: this runs for every row of a large import)."""
    if len(items) > 1:
        return operator.itemgetter(*items)
    if items:
        only = items[0]
        return lambda row: (row[only],)
    return lambda row: ()


def _convert_column(values: Sequence[Any], convert: Any) -> list[Any]:
    """`convert` applied to the non-null values of one column (memoised unless JSON: lists are unhashable):
    each distinct value converted once, in the order of first appearance (so a refused value is the first
    one in row order), the results mapped back to the rows in C."""
    if convert is _json_text:
        return [None if value is None else convert(value) for value in values]
    memo: dict[Any, Any] = {value: convert(value) for value in dict.fromkeys(values) if value is not None}
    memo[None] = None
    return list(map(memo.__getitem__, values))


def _iso_date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        raise InputError(Problem("a date-time given where a date is expected", value=value))
    return str(value.isoformat())


def _json_text(value: Any) -> str:
    return json.dumps(value)


def upsert_rows(
    tx: Transaction,
    table_name: str,
    rows: Sequence[RowLike],
    key_columns: Sequence[str] | None = None,
    *,
    known_new: bool = False,
) -> UpsertResult:
    """Insert or update `rows` of `table_name`, matched on `key_columns` (default: the natural key).

    `known_new`: the caller guarantees that no row's key is stored (the table was empty when the
    transaction began and the keys are unique across calls: a streamed import, `importing.streaming`),
    so nothing is looked up and no key is kept in memory.

    Idempotent: a row whose given values all equal the stored ones writes nothing. Columns absent from a
    row are left as they are (on insert: their default). New records are audited per subject: each run of
    consecutive new records of one subject by one ``insert-batch`` row holding their ids and values, a
    lone record by its own insert row (the record as JSON; decisions D-19.10); each changed value of an
    existing record gets an audit row with old and new value and the
    transaction's reason, which is then required (`InputError` otherwise). Records dated on or before an
    active lock's cut-off cannot be inserted or changed (`ConflictError`). Date and date-time columns
    accept ISO 8601 text; date-times must carry a zone. Bulk: one SELECT of existing keys per chunk
    (none when the table is empty), executemany inserts with ids assigned under the write lock, no
    per-row ORM objects.
    """
    return upsert_prepared(tx, prepare_upsert(tx, table_name, rows, key_columns), known_new=known_new)


_CHECKED = object()
"""The mark only `prepare_upsert` and `CheckedRows.part` set on the `CheckedRows` they return (D-19.514)."""


@dataclass(frozen=True)
class CheckedRows:
    """Rows of one table that met the bulk write's own checks in the open transaction `tx`
    (`prepare_upsert`: `prepare_rows` and `check_subjects_and_sites`), ready for `upsert_prepared`. Made
    by `prepare_upsert` only, so that a caller that judges the prepared rows further (the API's bulk
    write, `writes.upsert_checked_rows`) runs those checks once and cannot skip them (D-19.511): one built
    directly (or by `dataclasses.replace`) lacks the mark `_checked`, which `upsert_prepared` requires, and
    the rows are held in a tuple (D-19.514)."""

    tx: Transaction
    table_name: str
    keys: tuple[str, ...]
    rows: tuple[Mapping[str, Any], ...]
    _checked: object = field(default=None, init=False, repr=False, compare=False)

    def part(self, rows: Sequence[Mapping[str, Any]]) -> CheckedRows:
        """The same checked rows, some of them (each one of `rows`, as given by `self.rows`): a part of
        rows that met the checks meets them (keys unique, subjects and sites known and allowed)."""
        held = {id(row) for row in self.rows}
        if self._checked is not _CHECKED or not all(id(row) in held for row in rows):
            raise InternalError(f"{self.table_name}: rows written that were not checked")
        return _checked_rows(self.tx, self.table_name, self.keys, rows)


def _checked_rows(
    tx: Transaction, table_name: str, keys: tuple[str, ...], rows: Sequence[Mapping[str, Any]]
) -> CheckedRows:
    """`CheckedRows` with the mark of rows checked (callers: `prepare_upsert`, `CheckedRows.part`), each row
    read-only (a `MappingProxyType` of a copy), so that a row changed after its checks cannot be written
    (D-19.514)."""
    frozen = tuple(row if isinstance(row, MappingProxyType) else MappingProxyType(dict(row)) for row in rows)
    checked = CheckedRows(tx, table_name, keys, frozen)
    object.__setattr__(checked, "_checked", _CHECKED)
    return checked


def prepare_upsert(
    tx: Transaction,
    table_name: str,
    rows: Sequence[RowLike],
    key_columns: Sequence[str] | None = None,
    each: Callable[[list[dict[str, Any]]], None] | None = None,
) -> CheckedRows:
    """The checks of `upsert_rows` before anything is looked up or written: known key columns, every row
    normalised and checked by `prepare_rows` (known columns, dates, keys given and unique), then `each`
    on the prepared rows (a caller's checks of them, in that order), then the rows' subjects and sites
    (`check_subjects_and_sites`). No rows: nothing to check."""
    model = model_of(table_name)
    columns = columns_of(model)
    keys = tuple(key_columns or model.natural_key)
    unknown_keys = [k for k in keys if k not in columns]
    if unknown_keys:
        raise InputError(Problem("unknown key column", field=f"{table_name}", value=", ".join(unknown_keys)))
    if not rows:
        return _checked_rows(tx, table_name, keys, [])
    prepared = prepare_rows(model, table_name, rows, keys)
    if each is not None:
        each(prepared)
    check_subjects_and_sites(tx, model, table_name, prepared)
    return _checked_rows(tx, table_name, keys, prepared)


def upsert_prepared(tx: Transaction, checked: CheckedRows, *, known_new: bool = False) -> UpsertResult:
    """Write rows checked by `prepare_upsert` in this transaction (`upsert_rows` after its checks)."""
    if checked._checked is not _CHECKED:  # built past `prepare_upsert`: its checks skipped (D-19.514)
        raise InternalError(f"{checked.table_name}: rows written that were not checked")
    if checked.tx is not tx:
        raise InternalError(f"{checked.table_name}: rows checked in another transaction")
    if not checked.rows:
        return UpsertResult()
    table_name, keys, prepared = checked.table_name, checked.keys, checked.rows
    model = model_of(table_name)
    known = _known_keys(tx, table_name, keys, known_new)
    ids = _IdCounter(highest_id_given(tx, table_name))  # never a deleted record's id (D-19.992)
    chunk_size = key_chunk_rows(tx.backend, keys)
    result = UpsertResult()
    for chunk in chunks(prepared, chunk_size):
        result = result + _upsert_chunk(tx, model, table_name, keys, chunk, known, ids)
    _sync_sequence(tx, table_name, result, ids)
    return result


def _known_keys(
    tx: Transaction, table_name: str, keys: tuple[str, ...], known_new: bool
) -> set[tuple[Any, ...]] | frozenset[tuple[Any, ...]] | None:
    """Every key `table_name` holds when that is known without reading it: empty when `known_new`, the
    keys written in this transaction when the table was empty at its first write (tracked on `tx`), None
    otherwise (the stored rows are looked up)."""
    if known_new:
        # the table's keys now go past any set tracked earlier in this transaction: it no longer tells them
        tx._new_table_keys.pop(table_name, None)
        return frozenset()
    tracked = tx._new_table_keys.get(table_name)
    if tracked is not None and tracked[0] != keys:
        del tx._new_table_keys[table_name]  # other key columns: the tracked set no longer tells
        tracked = None
    if tracked is None and table_is_empty(tx, table_name):
        tracked = tx._new_table_keys[table_name] = (keys, set())
    return tracked[1] if tracked is not None else None


def table_is_empty(tx: Transaction, table_name: str) -> bool:
    """Whether `table_name` holds no record, read in `tx` (its own writes so far included): the one check
    of a table empty at a write — `_known_keys` (a tracked set of keys, D-19.934), the import's known-new
    writes (`pipeline.write_form`, D-19.1152; a streamed file's start, D-19.13)."""
    table = table_of(model_of(table_name))
    return tx.connection.execute(select(table.c.id).limit(1)).first() is None


def key_chunk_rows(backend: str, keys: Sequence[str]) -> int:
    """Rows per lookup of stored records by key (`stored_by_key`) and per bulk write chunk: on PostgreSQL
    `PG_CHUNK_ROWS` (the keys are staged by COPY, the statement does not grow with the chunk), elsewhere
    at most 30,000 bound parameters per ``IN`` (SQLite allows 32,766) and 5,000 rows."""
    if backend == "postgresql":
        return PG_CHUNK_ROWS
    return max(1, min(5_000, 30_000 // max(1, len(keys))))


def stored_by_key(
    connection: Connection, model: type[StudyData], keys: Sequence[str], wanted: Sequence[tuple[Any, ...]]
) -> dict[tuple[Any, ...], Any]:
    """The stored records of `model` whose `keys` columns are one of the `wanted` key tuples, by key
    tuple, typed as SQLAlchemy reads them: the one lookup of stored records by key of the bulk writes
    (D-19.438). PostgreSQL: the keys staged by COPY and joined with the table (`pg_bulk.stored_rows_by_key`;
    an ``IN`` of thousands of tuples is planned as a BitmapOr of as many index scans); SQLite: an ``IN``
    list. Both per chunk of `key_chunk_rows` keys."""
    table = table_of(model)
    key_of = _tuple_getter(keys)
    found: dict[tuple[Any, ...], Any] = {}
    postgresql = connection.dialect.name == "postgresql"
    for chunk in chunks(list(wanted), key_chunk_rows(connection.dialect.name, keys)):
        if postgresql:
            found.update(pg_bulk.stored_rows_by_key(connection, table, keys, chunk, key_of))
            continue
        key_cols = [table.c[k] for k in keys]
        condition = key_cols[0].in_([w[0] for w in chunk]) if len(keys) == 1 else tuple_(*key_cols).in_(chunk)
        found.update(
            (key_of(row), row) for row in connection.execute(select(table).where(condition)).mappings()
        )
    return found


def _sync_sequence(tx: Transaction, table_name: str, result: UpsertResult, ids: _IdCounter) -> None:
    if result.inserted and tx.backend == "postgresql":
        # ids were assigned explicitly: keep the table's sequence in step for other writers
        tx.connection.execute(
            text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :last)"),
            {"table": table_name, "last": ids.last},
        )


def upsert_columns(
    tx: Transaction,
    table_name: str,
    columns: Mapping[str, Sequence[Any]],
    key_columns: Sequence[str] | None = None,
    *,
    known_new: bool = False,
) -> UpsertResult:
    """`upsert_rows` for rows given column by column (column name -> one value per row, every column
    as long; the import's validated forms): the same rows, audit rows, results and errors.

    New rows of a table whose keys are known without reading it (`_known_keys`: a table empty when the
    transaction first wrote it, or `known_new`) are written straight from the columns, never as
    per-row dicts: their checks (known columns, dates and date-times as values in UTC, every natural key
    given, unique and not yet written) are made column by column, and the subjects' sites checked as
    for rows. Anything else — a stored key to compare, a data lock on the table, the subject table (its
    privacy and site checks), a value `prepare_rows` would convert or refuse — takes `upsert_rows` on
    the same rows as dicts, which decides and names it (decisions D-19.13)."""
    model = model_of(table_name)
    model_columns = columns_of(model)
    keys = tuple(key_columns or model.natural_key)
    names = list(columns)
    n = len(columns[names[0]]) if names else 0
    if any(len(columns[name]) != n for name in names):
        raise ValueError("upsert_columns: columns of different lengths")
    known = None
    if n and all(k in model_columns for k in keys) and _columns_prepared(tx, model, columns, keys):
        known = _known_keys(tx, table_name, keys, known_new)
    if isinstance(known, set):
        # the tracked keys of the table (`_known_keys`) take the chunk's keys in one pass (D-19.934): each
        # is new and unique exactly when the set grew by n; otherwise the set no longer tells which keys
        # the table holds, so it is dropped (the row path then looks the stored keys up)
        held = len(known)
        known.update(zip(*(columns[k] for k in keys), strict=True))
        if len(known) != held + n:
            tx._new_table_keys.pop(table_name, None)
            known = None
    elif known is not None and len(set(zip(*(columns[k] for k in keys), strict=True))) != n:
        known = None  # `known_new` (nothing stored): a key repeated in the chunk
    if known is None:  # the row path decides (and names whatever it refuses)
        rows = list(map(dict, map(zip, repeat(names), zip(*(columns[c] for c in names), strict=True))))
        return upsert_rows(tx, table_name, rows, keys, known_new=known_new)
    tracked = isinstance(known, set)  # the tracked keys hold the chunk's from here (not yet written)
    try:
        subject_column = model.subject_column
        if subject_column is not None and subject_column in model_columns:
            given_subjects = columns.get(subject_column)
            subject_ids = set(given_subjects) - {None} if given_subjects is not None else set()
            _check_subject_ids(tx, table_name, subject_column, subject_ids)
        ids = _IdCounter(highest_id_given(tx, table_name))  # never a deleted record's id (D-19.992)
        chunk_size = key_chunk_rows(tx.backend, keys)
        for start in range(0, n, chunk_size):
            stop = min(n, start + chunk_size)
            tx.require(write_action(table_name, Action.ENTER), f"insert into {table_name}")
            _insert_columns(
                tx, model, table_name, {name: columns[name][start:stop] for name in names}, stop - start, ids
            )
    except BaseException:
        if tracked:  # a refused or failed write: the tracked keys no longer tell the table's (D-19.937)
            tx._new_table_keys.pop(table_name, None)
        raise
    result = UpsertResult(inserted=n)
    _sync_sequence(tx, table_name, result, ids)
    return result


def _columns_prepared(
    tx: Transaction, model: type[StudyData], columns: Mapping[str, Sequence[Any]], keys: tuple[str, ...]
) -> bool:
    """Whether the column-wise write may take these columns as they are: what `_already_prepared` checks
    of rows (known columns, dates and date-times as values, date-times in UTC, every key column given
    with no blank), for a table other than the subject table with no data lock on its records."""
    if model is Subject or (tx.lock is not None and model.clinical_date_column is not None):
        return False
    if tx.lock is not None and model is Site:  # a zone change the lock refuses is judged row-wise (D-19.733)
        return False
    allowed = frozenset(data_columns(model))
    if not keys or not allowed.issuperset(columns) or not all(k in columns for k in keys):
        return False
    model_columns = columns_of(model)
    number_columns = _number_columns(model)
    # a NaN or an infinity, text in a number column: the row path refuses it, by row (D-19.1100, D-19.1163);
    # a numpy scalar, a whole number in a number column: the row path writes it as stored (D-19.1169)
    if any(
        _column_state(number_columns[name], values) != "plain"
        for name, values in columns.items()
        if name in number_columns
    ):
        return False
    for name, values in columns.items():
        if not is_temporal(model_columns[name]):
            continue
        given = set(map(type, values))
        kinds = given - {type(None)}
        if kinds - {dt.date, dt.datetime}:
            return False
        if dt.datetime in kinds:
            zones = (
                set(map(_TZINFO, values))
                if given == {dt.datetime}
                else {v.tzinfo for v in values if v.__class__ is dt.datetime}
            )
            if zones - {dt.UTC}:
                return False
    return not any(None in columns[k] for k in keys)


def prepare_rows(
    model: type[StudyData],
    table_name: str,
    rows: Sequence[RowLike],
    keys: tuple[str, ...],
) -> list[dict[str, Any]]:
    """Check and normalise rows: known columns only, ISO text for dates/date-times parsed (zone
    required), natural key present and unique within the batch. Rows needing no change are passed on
    as given (not copied; they are not modified later)."""
    columns = columns_of(model)
    allowed = frozenset(data_columns(model))
    temporal = {name: column for name, column in columns.items() if name in allowed and is_temporal(column)}
    temporal_items = list(temporal.items())
    rows = _refuse_unstorable(model, table_name, rows, allowed)
    if _already_prepared(rows, allowed, tuple(temporal_items), keys):
        return cast(list[dict[str, Any]], list(rows))
    key_of: Any = operator.itemgetter(*keys) if keys else None
    single_key = len(keys) == 1
    problems: list[Problem] = []
    prepared: list[RowLike] = []
    seen: dict[tuple[Any, ...], int] = {}
    bad_rows = 0  # rows refused: a row missing two key fields has two problems, one bad row
    counted = 0
    for number, row in enumerate(rows, start=1):
        if len(problems) > counted:
            bad_rows, counted = bad_rows + 1, len(problems)
        if not allowed.issuperset(row):
            bad = [name for name in row if name not in allowed]
            problems.append(
                Problem(
                    "unknown or read-only column",
                    field=f"{table_name}[{number}]",
                    value=", ".join(map(str, bad)),
                    allowed=choice_text(sorted(allowed)),
                )
            )
            continue
        clean: Any = row
        try:
            for name, column in temporal_items:
                value = row.get(name)
                if value is not None and not plain_temporal(
                    column, value
                ):  # text, a Timestamp, NaT… (D-19.74)
                    if clean is row:
                        clean = dict(row)
                    clean[name] = coerce(column, value, f"{table_name}[{number}]")
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        try:
            key = (key_of(clean),) if single_key else key_of(clean) if keys else ()
        except KeyError:
            key = (None,)
        if None in key:
            # located at each key field left without a value, as the field rules locate "value is
            # required" (it was ``table[row]`` with the column names in the value slot, D-19.1042)
            problems.extend(
                Problem(
                    "natural-key value missing",
                    field=f"{table_name}.{k}",
                    row=number,
                    allowed=f"a value: the record's natural key is {', '.join(keys)}",
                )
                for k in keys
                if clean.get(k) is None
            )
            continue
        if key in seen:
            problems.append(
                Problem(
                    f"duplicate natural key (also row {seen[key]} of this batch)",
                    field=f"{table_name}[{number}]",
                    value=", ".join(map(str, key)),
                )
            )
            continue
        seen[key] = number
        prepared.append(clean)
        if len(problems) >= 200:
            break
    if len(problems) > counted:
        bad_rows += 1
    if problems:
        raise InputError(problems, header=f"{bad_rows} bad row(s) for table {table_name}:")
    return cast(list[dict[str, Any]], prepared)


def _number_columns(model: type[StudyData]) -> dict[str, str]:
    """The number, whole-number and JSON columns of `model` (`models.StoredNumber`, `models.StoredInteger`,
    `models.StoredJSON`) by kind ("number", "integer", "json"): the columns whose reads refuse a value
    cartrial never writes (D-19.1096–1098), so that the bulk write never writes one (D-19.1163)."""
    kinds: dict[str, str] = {}
    for name, column in columns_of(model).items():
        if isinstance(column.type, StoredNumber):
            kinds[name] = "number"
        elif isinstance(column.type, StoredInteger):
            kinds[name] = "integer"
        elif isinstance(column.type, StoredJSON):
            kinds[name] = "json"
    return kinds


_INTEGER_ALLOWED = bounds_text(*STORED_INTEGER_BOUNDS, whole=True)
_NUMBER_ALLOWED = "a finite number or blank"
_NON_FINITE_ALLOWED = "a finite number or blank (in a JSON field: finite numbers, RFC 8259 §6)"


def _unstorable(kind: str, value: Any) -> tuple[str, str] | None:
    """(problem, allowed) of `value` given for a column of `kind` (`_number_columns`) that its reads would
    refuse, None when it is stored: the reads' own rule (`stored_dates.readable_number`, `readable_integer`,
    `non_finite`) applied to the value as written (`_stored_number`). A number column takes any real number
    (a whole number is stored as REAL), never text (``"abc"``, nor ``"1.5"``: computed rows are typed; the
    checked write reads a number typed as text by the import's parser, `writes.typed_texts`) nor a yes/no;
    a whole-number column an integer within `STORED_INTEGER_BOUNDS`; a JSON field finite numbers. A whole
    number beyond any double (``10**400``) is no finite number (D-19.1168)."""
    if value is None:
        return None
    if kind == "json":
        return ("not a finite number", _NON_FINITE_ALLOWED) if non_finite(value) else None
    if isinstance(value, bool):
        return (
            ("not a whole number", _INTEGER_ALLOWED)
            if kind == "integer"
            else ("not a number", _NUMBER_ALLOWED)
        )
    if kind == "integer":
        if isinstance(value, Integral) and readable_integer(int(value)):
            return None
        if isinstance(value, Real) and _whole_float(value):
            return None  # a whole number held as a float (a pandas column with blanks: 6.0), stored as 6
        return "not a whole number", _INTEGER_ALLOWED
    if isinstance(value, Real):
        try:
            stored = float(value)
        except OverflowError:  # an int beyond the largest double: no finite number
            return "not a finite number", _NON_FINITE_ALLOWED
        return None if readable_number(stored) else ("not a finite number", _NON_FINITE_ALLOWED)
    return "not a number", _NUMBER_ALLOWED


_PLAIN = {"number": frozenset({float, type(None)}), "integer": frozenset({int, type(None)})}


def _whole_float(value: Real) -> bool:
    """Whether a real number that is not an integer type holds a whole number a whole-number column reads."""
    try:
        number = float(value)
    except OverflowError:
        return False
    return math.isfinite(number) and number.is_integer() and readable_integer(int(number))


def _column_state(kind: str, values: Sequence[Any]) -> str:
    """How the bulk write takes one column of `kind` (`_number_columns`): "refused" when a value is
    `_unstorable`, "convert" when a value is not yet of the stored class (a numpy scalar, a whole number
    in a number column, a Decimal: `_stored_number`), else "plain". In C for the common columns (plain
    floats and blanks: `stored_dates.any_non_finite`; ints and blanks: `unreadable_integer_cells`; a JSON
    column: `any_non_finite`), else value by value (`_unstorable`)."""
    kinds = set(map(type, values))
    if kind == "json":
        return "refused" if any_non_finite(values) else "plain"
    if kinds <= _PLAIN[kind]:
        bad = any_non_finite(values) if kind == "number" else bool(unreadable_integer_cells(values).any())
        return "refused" if bad else "plain"
    return "refused" if any(_unstorable(kind, value) is not None for value in values) else "convert"


def _stored_number(kind: str, value: Any) -> Any:
    """`value` (storable, `_unstorable`) as written to a column of `kind`: a Python ``float`` in a number
    column, an ``int`` in a whole-number column. numpy's scalars are not what the drivers write as a
    number (SQLite keeps an ``np.float32`` as a BLOB, which every read then refuses, D-19.1169)."""
    if value is None or kind == "json":
        return value
    return int(value) if kind == "integer" else float(value)


def _refuse_unstorable(
    model: type[StudyData], table_name: str, rows: Sequence[RowLike], allowed: frozenset[str]
) -> Sequence[RowLike]:
    """Refuse rows holding a value a number column's reads refuse (`_unstorable`): a NaN or an infinity in a
    number or JSON column (D-19.1100), text or a yes/no in a number column, anything but a whole number in
    range in a whole-number column (D-19.1163). The bulk write takes computed rows without the field rules
    (derived values), and cartrial never writes such a value. Named by table, row and column, never the
    value; checked column by column (`_column_state`), each row only when one is found. Returns the rows
    with each number as stored (`_stored_number`): the given rows when every number column is plain, else
    a copy of each row holding a value to convert (D-19.1169)."""
    converting: dict[str, str] = {}
    problems: list[Problem] = []
    for name, kind in _number_columns(model).items():
        if name not in allowed:
            continue
        state = _column_state(kind, [row.get(name) for row in rows])
        if state == "convert":
            converting[name] = kind
        elif state == "refused":
            problems.extend(
                Problem(found[0], field=f"{table_name}.{name}", row=number, allowed=found[1])
                for number, row in enumerate(rows, start=1)
                if (found := _unstorable(kind, row.get(name))) is not None
            )
    if problems:
        raise InputError(
            problems[:200], header=f"rows not written to table {table_name} (nothing was written):"
        )
    if not converting:
        return rows
    converted: list[RowLike] = []
    for row in rows:
        changed = {
            name: _stored_number(kind, value)
            for name, kind in converting.items()
            if (value := row.get(name)) is not None and type(value) not in _PLAIN[kind]
        }
        converted.append({**row, **changed} if changed else row)
    return converted


def _already_prepared(
    rows: Sequence[RowLike],
    allowed: frozenset[str],
    temporal: tuple[tuple[str, Any], ...],
    keys: tuple[str, ...],
) -> bool:
    """True when `prepare_rows` would pass every row on unchanged (the import's validated rows): known
    columns only, no date or date-time as text or outside UTC, every natural key given and unique. Checked
    column by column (a million-row import); anything else takes the row-by-row path, which names it."""
    if not keys or not all(map(allowed.issuperset, rows)):
        return False
    for name, column in temporal:
        kinds = {value.__class__ for row in rows if (value := row.get(name)) is not None}
        if kinds - ({dt.datetime} if is_datetime(column) else {dt.date}):
            return False
        if dt.datetime in kinds and {
            value.tzinfo for row in rows if (value := row.get(name)).__class__ is dt.datetime
        } - {dt.UTC}:
            return False
    try:
        key_values = list(map(operator.itemgetter(*keys), rows))
    except KeyError:
        return False
    if len(keys) == 1:
        return None not in key_values and len(set(key_values)) == len(key_values)
    return not any(None in key for key in key_values) and len(set(key_values)) == len(key_values)


def check_subjects_and_sites(
    tx: Transaction, model: type[StudyData], table_name: str, rows: list[dict[str, Any]]
) -> None:
    subject_column = model.subject_column
    site_column = columns_of(model).get("site_id")
    sites = {row.get("site_id") for row in rows if "site_id" in row}
    if model is Subject:  # before the site is looked up: another site, existing or not, alike (D-19.415)
        check_sites(tx.actor.username, tx.actor.role, tx.actor.site_id, sites, "subject data written")
    if site_column is not None and site_column.foreign_keys:  # a subject's or a user's site
        known = set(tx.connection.execute(select(site_table().c.site_id)).scalars())
        unknown = sorted(str(s) for s in sites if s is not None and s not in known)
        if unknown:
            raise InputError(
                Problem(
                    "unknown site; add it first (`cartrial db site add`, or a site row in the import)",
                    field=f"{table_name}.site_id",
                    value=", ".join(unknown),
                    allowed="a site_id of the study's sites (`cartrial db records site`)",
                )
            )
    if model is Subject:
        check_birth_date_privacy(tx.connection, rows)
        existing_sites = subject_sites(tx.connection, {row["subject_id"] for row in rows})
        refusal = held_key_refusal(  # a subject id another site holds: not said so (D-19.297)
            table_name,
            ("subject_id",),
            {str(s): (site,) for s, site in existing_sites.items()},
            readable_sites(tx.actor.role, tx.actor.site_id),
        )
        if refusal is not None:
            raise refusal
        return
    if subject_column is None or subject_column not in columns_of(model):
        return
    _check_subject_ids(tx, table_name, subject_column, {row.get(subject_column) for row in rows} - {None})


def _check_subject_ids(tx: Transaction, table_name: str, subject_column: str, subject_ids: set[Any]) -> None:
    """Every subject of the rows exists, and the acting user may write at its site."""
    sites_of_subjects = subject_sites(tx.connection, subject_ids)
    unknown = sorted(str(s) for s in subject_ids if s not in sites_of_subjects)
    if unknown:
        shown = ", ".join(unknown[:20]) + (" …" if len(unknown) > 20 else "")
        raise InputError(
            Problem(
                f"unknown subject(s) in {table_name}; import or add the subject first",
                field=f"{table_name}.{subject_column}",
                value=shown,
            )
        )
    check_sites(
        tx.actor.username,
        tx.actor.role,
        tx.actor.site_id,
        sites_of_subjects.values(),
        f"data written to {table_name}",
    )


def check_birth_date_privacy(connection: Connection, rows: Sequence[RowLike]) -> None:
    study = table_of(STUDY_TABLES["study"])
    precision = connection.execute(select(study.c.birth_date_precision).limit(1)).scalar() or "year"
    if precision == "date":
        return
    offending = [row["subject_id"] for row in rows if row.get("birth_date") is not None]
    if offending:
        raise InputError(
            Problem(
                "the study's privacy setting keeps the birth year only (birth_date_precision=year); "
                "give birth_year instead of birth_date",
                field="subject.birth_date",
                value=", ".join(map(str, offending[:10])),
            )
        )


def subject_sites(connection: Connection, subject_ids: Iterable[Any]) -> dict[str, str]:
    wanted = list(subject_ids)
    found: dict[str, str] = {}
    for chunk in chunks(wanted, 10_000):
        for subject_id, site_id in connection.execute(
            select(Subject.subject_id, Subject.site_id).where(Subject.subject_id.in_(chunk))
        ):
            found[subject_id] = site_id
    return found


def _upsert_chunk(
    tx: Transaction,
    model: type[StudyData],
    table_name: str,
    keys: tuple[str, ...],
    chunk: Sequence[dict[str, Any]],
    known: set[tuple[Any, ...]] | frozenset[tuple[Any, ...]] | None,
    ids: _IdCounter,
) -> UpsertResult:
    """`known`: every key the table holds (it was empty when this transaction began writing it), or
    None when unknown (then the stored rows are looked up)."""
    inserts: list[dict[str, Any]] = []
    updates: list[tuple[RowLike, dict[str, Any]]] = []
    unchanged = 0
    key_of = _tuple_getter(keys)
    candidates: list[dict[str, Any]] = []
    chunk_keys: list[tuple[Any, ...]] = []
    if known is not None:
        chunk_keys = list(map(key_of, chunk))
        for row, key in zip(chunk, chunk_keys, strict=True):
            (candidates if key in known else inserts).append(row)
    elif tx.backend == "sqlite":
        candidates, inserts, unchanged = _presort_sqlite(tx, model, keys, chunk)
    elif tx.backend == "postgresql":
        candidates, inserts, unchanged = _presort_postgresql(tx, model, keys, chunk)
    else:
        candidates = list(chunk)
    if candidates:
        wanted = list(map(key_of, candidates))
        existing = stored_by_key(tx.connection, model, keys, wanted)
        for row, key in zip(candidates, wanted, strict=True):
            current = existing.get(key)
            if current is None:
                inserts.append(row)
                continue
            if restates(current, row):
                unchanged += 1
            else:
                updates.append((current, {n: v for n, v in row.items() if not same_value(current[n], v)}))
    if inserts:
        tx.require(write_action(table_name, Action.ENTER), f"insert into {table_name}")
    if updates:
        tx.require(write_action(table_name, Action.EDIT), f"update {table_name}")
        if tx.reason is None:
            first = f"record {updates[0][0]['id']}"  # the store's id, never the key's values (D-19.1330)
            raise InputError(
                Problem(
                    f"{len(updates)} existing record(s) of {table_name} would change (first: {first}); "
                    "a reason is required for every update (give the import a reason)",
                    field="reason",
                )
            )
    if tx.lock is not None and model in (Site, Subject):  # the lock's calendar is frozen (D-19.733)
        for stored, changes in updates:  # an insert dates nothing yet
            where = f"{table_name} record {stored['id']}"
            refuse_calendar_change(tx.lock, model, where, stored, {**stored, **changes}, tx.connection)
    if tx.lock is not None and model.clinical_date_column is not None:
        locked: list[RowLike] = [row for row in inserts if is_locked(model, row, tx.lock)]
        locked += [
            stored
            for stored, changes in updates
            if is_locked(model, stored, tx.lock) or is_locked(model, {**stored, **changes}, tx.lock)
        ]
        _refuse_locked(tx, model, table_name, locked, keys)
    if inserts:
        _insert_rows(tx, model, table_name, inserts, ids)
        if model is Subject and tx.lock is not None:
            # a new subject's date-times are read on its site's calendar by the lock from this write on,
            # also later in this transaction (the map was loaded when it began; D-19.733)
            tx.lock = replace(tx.lock, zones=lock_zones(tx.connection))
        if isinstance(known, set):
            known.update(chunk_keys if len(inserts) == len(chunk) else map(key_of, inserts))
    if updates:
        apply_updates(tx, model, table_name, updates, tx.reason)
    return UpsertResult(len(inserts), len(updates), unchanged)


def _presort_sqlite(
    tx: Transaction,
    model: type[StudyData],
    keys: tuple[str, ...],
    chunk: Sequence[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """SQLite fast path of the existence check: compare the rows with the stored values in storage form
    (driver level, no type processing). Returns (rows that may have changed, rows to insert, number of
    rows certainly unchanged); the first group is re-checked with full typing by the caller.

    Rows are compared column by column (each distinct date or date-time converted once) and as whole
    tuples; rows giving different sets of columns are compared per set."""
    table = table_of(model)
    _sql, names, conversions = _sqlite_insert(model)
    position = {name: index for index, name in enumerate(names)}
    convert_at = dict(conversions)
    key_positions = [position[k] for k in keys]
    by_columns: dict[tuple[str, ...], list[int]] = {}
    for number, row in enumerate(chunk):
        by_columns.setdefault(tuple(row), []).append(number)
    # each row's (key, other plain columns, JSON columns) in storage form
    prepared: list[tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]]] = [((), (), ())] * len(chunk)
    layouts: dict[tuple[str, ...], tuple[Callable[[Any], tuple[Any, ...]], list[int]]] = {}
    for given, numbers in by_columns.items():
        plain = [n for n in given if n not in keys and convert_at.get(position[n]) is not _json_text]
        as_json = [n for n in given if n not in keys and convert_at.get(position[n]) is _json_text]
        layouts[given] = (_tuple_getter([position[n] for n in plain]), [position[n] for n in as_json])

        def column(name: str, numbers: list[int] = numbers) -> list[Any]:
            convert = convert_at.get(position[name])
            values = [chunk[n][name] for n in numbers]
            return values if convert in (None, _json_text) else _convert_column(values, convert)

        empty = [()] * len(numbers)
        key_values = list(zip(*(column(k) for k in keys), strict=True))
        plain_values = list(zip(*(column(n) for n in plain), strict=True)) if plain else empty
        json_values = list(zip(*(column(n) for n in as_json), strict=True)) if as_json else empty
        for number, key, others, documents in zip(
            numbers, key_values, plain_values, json_values, strict=True
        ):
            prepared[number] = (key, others, documents)
    placeholders = ", ".join([f"({', '.join('?' * len(keys))})"] * len(chunk))
    sql = f"SELECT {', '.join(names)} FROM {table.name} WHERE ({', '.join(keys)}) IN (VALUES {placeholders})"
    parameters = tuple(value for key, _, _ in prepared for value in key)
    key_of = _tuple_getter(key_positions)
    found = {key_of(raw): raw for raw in tx.connection.exec_driver_sql(sql, parameters).fetchall()}
    maybe_changed: list[dict[str, Any]] = []
    inserts: list[dict[str, Any]] = []
    unchanged = 0
    for row, (key, others, documents) in zip(chunk, prepared, strict=True):
        raw = found.get(key)
        if raw is None:
            inserts.append(row)
            continue
        plain_at, json_at = layouts[tuple(row)]
        same = plain_at(raw) == others and all(
            (None if raw[i] is None else json.loads(raw[i])) == value
            for i, value in zip(json_at, documents, strict=True)
        )
        if same:
            unchanged += 1
        else:
            maybe_changed.append(row)
    return maybe_changed, inserts, unchanged


def _presort_postgresql(
    tx: Transaction,
    model: type[StudyData],
    keys: tuple[str, ...],
    chunk: Sequence[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """PostgreSQL fast path of the existence check (a set-based diff): the chunk's keys are COPYed into a
    staging table and joined with the table by the server (`pg_bulk.stored_storage_rows`); each matched
    row's given values are compared with the stored values as the driver returns them. Returns (rows
    that may have changed, rows to insert, number of rows certainly unchanged); the first group is
    re-checked with full typing by the caller (equal driver values imply `same_value`; the converse is
    left to that check)."""
    table = table_of(model)
    names = tuple(data_columns(model))
    position = {name: index for index, name in enumerate(names)}
    found = pg_bulk.stored_storage_rows(
        tx.connection, table, keys, list(map(_tuple_getter(keys), chunk)), names
    )
    layouts: dict[
        tuple[str, ...], tuple[Callable[[Any], tuple[Any, ...]], Callable[[Any], tuple[Any, ...]]]
    ] = {}
    maybe_changed: list[dict[str, Any]] = []
    inserts: list[dict[str, Any]] = []
    unchanged = 0
    for number, row in enumerate(chunk):
        stored = found.get(number)
        if stored is None:
            inserts.append(row)
            continue
        given = tuple(row)
        layout = layouts.get(given)
        if layout is None:
            layout = layouts[given] = (_tuple_getter([position[n] for n in given]), _tuple_getter(given))
        stored_values, given_values = layout
        if stored_values(stored) == given_values(row):
            unchanged += 1
        else:
            maybe_changed.append(row)
    return maybe_changed, inserts, unchanged


def _insert_rows(
    tx: Transaction,
    model: type[StudyData],
    table_name: str,
    rows: Sequence[dict[str, Any]],
    ids: _IdCounter,
) -> None:
    data_names = data_columns(model)
    columns = columns_of(model)
    defaults = {name: python_default(columns[name]) for name in data_names}
    records = [{**defaults, **row} for row in rows]
    by_name = {name: [record[name] for record in records] for name in data_names}
    _insert_columns(tx, model, table_name, by_name, len(records), ids)


def _insert_columns(
    tx: Transaction,
    model: type[StudyData],
    table_name: str,
    given: Mapping[str, Sequence[Any]],
    n: int,
    ids: _IdCounter,
) -> None:
    """Insert `n` new records given column by column (a data column not given takes its default), with
    consecutive ids, and queue their audit rows (`_audit_new_records`)."""
    columns = columns_of(model)
    data_names = data_columns(model)
    by_name: dict[str, Sequence[Any]] = {
        name: given[name] if name in given else [python_default(columns[name])] * n for name in data_names
    }
    now = utc_now()
    first_id = ids.take(n)
    try:
        if tx.backend == "sqlite":
            _sql, names, conversions = _sqlite_insert(model)
            # column by column: each distinct date or date-time is converted once (labs share times)
            by_column = [by_name[name] for name in names]
            for index, convert in conversions:
                by_column[index] = _convert_column(by_column[index], convert)
            for index in _sqlite_booleans(model):  # True/False as 1/0 (what SQLite stores for them)
                if _BOOL_TYPES.issuperset(map(type, by_column[index])):
                    by_column[index] = list(map(_BOOL_INT.__getitem__, by_column[index]))
            # a nullable column without a server default that is NULL in every row is left out of the
            # statement: it is stored as NULL all the same, and the driver binds each None through its
            # adapter lookup (~0.3 µs a value: a million-row import binds millions of them)
            omissible = _sqlite_omissible(model)
            kept = tuple(
                i
                for i, values in enumerate(by_column)
                if i not in omissible
                or next(iter(values), None) is not None
                or operator.countOf(values, None) != n
            )
            sql = _sqlite_insert_of(model, kept).replace(
                _NOW, _text_literal(audit_chain.sqlite_timestamp(now))
            )
            values = list(zip(range(first_id, first_id + n), *(by_column[i] for i in kept), strict=True))
            tx.connection.exec_driver_sql(sql, values)
        else:
            pg_bulk.copy_rows(
                tx.connection,
                table_of(model),
                ("id", "created_at", "updated_at", "version", *data_names),
                zip(
                    range(first_id, first_id + n),
                    repeat(now, n),
                    repeat(now, n),
                    repeat(1, n),
                    *(by_name[name] for name in data_names),
                    strict=True,
                ),
            )
    except IntegrityError as exc:
        raise integrity_error(exc, table_name) from None
    subject_column = model.subject_column
    subjects = by_name[subject_column] if subject_column in by_name else [None] * n
    _audit_new_records(tx, table_name, by_name, n, subjects, first_id, now)


def _audit_new_records(
    tx: Transaction,
    table_name: str,
    by_name: Mapping[str, Sequence[Any]],
    n: int,
    subjects: Sequence[Any],
    first_id: int,
    now: dt.datetime,
) -> None:
    """Queue the audit rows of `n` new records (every data column in `by_name`) with consecutive ids from
    `first_id` (decisions D-19.10): each run of consecutive records of one subject (at most
    `BATCH_MAX_RECORDS`) is sealed by one batch row (`audit.BATCH_ACTION`, the records' ids and values),
    a record alone in its run by its own insert row (the record as JSON, as a single-record insert
    writes it). A record that is its own site (a site, `writes.own_site_column`) is always alone: a batch
    row would show every site of the run to an investigator of its first one (D-19.484)."""
    from cartrial.store.writes import own_site_column

    most = 1 if own_site_column(STUDY_TABLES[table_name]) is not None else audit_chain.BATCH_MAX_RECORDS
    columns = sorted(by_name)
    masked = [index for index, name in enumerate(columns) if name in MASKED_COLUMNS]
    # each record's values in sorted column order (what a batch row holds), built by zip in C
    records = list(zip(*(by_name[name] for name in columns), strict=True)) if columns else [()] * n
    singles: list[int] = []
    for start, end in _subject_runs(subjects, n, most):
        subject = subjects[start]
        if end - start == 1:
            singles.append(start)
        else:
            if singles:
                _audit_singles(tx, table_name, columns, records, subjects, first_id, singles, now)
                singles = []
            rows: list[Any] = records[start:end]
            if masked:
                rows = [[(mask_value(v) if i in masked else v) for i, v in enumerate(row)] for row in rows]
            first = first_id + start
            tx.audit_batch(
                table_name,
                first,
                first + (end - start) - 1,
                subject,
                audit_chain.batch_json(columns, first, rows),
                now,
            )
    if singles:
        _audit_singles(tx, table_name, columns, records, subjects, first_id, singles, now)


def _subject_runs(subjects: Sequence[Any], n: int, most: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each run of consecutive equal subjects among the first `n`, a run longer than
    `most` split every `most` records from its start. The boundaries are found in C (a million records)."""
    if n == 0:
        return
    changes = compress(range(1, n), map(operator.ne, islice(subjects, 1, n), subjects))
    start = 0
    for boundary in chain(changes, (n,)):
        while boundary - start > most:
            yield start, start + most
            start += most
        yield start, boundary
        start = boundary


def _audit_singles(
    tx: Transaction,
    table_name: str,
    columns: Sequence[str],
    records: Sequence[tuple[Any, ...]],
    subjects: Sequence[Any],
    first_id: int,
    positions: Sequence[int],
    now: dt.datetime,
) -> None:
    """One insert audit row per record at `positions` (consecutive positions give consecutive rows)."""
    chosen = [dict(zip(columns, records[p], strict=True)) for p in positions]
    if MASKED_COLUMNS.isdisjoint(columns):  # every record has the same columns (defaults filled in)
        records_json = audit_chain.canonical_json_many(chosen)
    else:
        records_json = [record_json(record) for record in chosen]
    start = 0
    while start < len(positions):
        end = start + 1
        while end < len(positions) and positions[end] == positions[end - 1] + 1:
            end += 1
        tx.audit_inserts(
            table_name,
            first_id + positions[start],
            [subjects[p] for p in positions[start:end]],
            records_json[start:end],
            now,
        )
        start = end


MAX_LOCKED_LISTED = 100
"""Frozen records a bulk write's lock refusal lists one problem each; the rest are counted in one more."""


def _refuse_locked(
    tx: Transaction,
    model: type[StudyData],
    table_name: str,
    locked: Sequence[RowLike],
    keys: Sequence[str],
) -> None:
    """Refuse a bulk write meeting records `tx.lock` freezes: one problem per record (at most
    `MAX_LOCKED_LISTED`; the rest counted in `ConflictError.more`, the total in `records_total`) at the
    clinical-date column the lock compares (``table.column``), a stored record by the store's id
    (`Problem.record`), a new row by its key as the problem's value only (the user's own input; D-12.2).
    No message shows a key or a date (D-19.1330, D-19.1331, D-19.1364)."""
    if not locked or tx.lock is None:
        return
    # named by the store's record ids, never by their keys or dates in a text (a subject id, a clinical
    # date: D-12.2, D-19.1330); a new record dated before the cut-off has no id yet: its key is the value
    ids = [str(row["id"]) for row in locked if row.get("id") is not None]
    shown = f" (stored records {', '.join(ids[:5])}{' and more' if len(ids) > 5 else ''})" if ids else ""
    message = (
        f"{len(locked)} record(s) of {table_name} dated on or before the cut-off are frozen by "
        f"{tx.lock.describe()}{shown}; an admin must unlock (with a reason) first."
    )
    at = f"{table_name}.{model.clinical_date_column}"
    allowed = "a date after the cut-off, or an unlock (admin, with a reason) first"
    problems: list[Problem] = []
    for row in locked[:MAX_LOCKED_LISTED]:
        if row.get("id") is not None:
            problems.append(
                Problem(
                    f"this {table_name} record is dated on or before the cut-off of {tx.lock.describe()}",
                    record=f"{table_name} record {row['id']}",
                    field=at,
                    allowed=allowed,
                )
            )
        else:
            key = [row.get(k) for k in keys]
            problems.append(
                Problem(
                    # no record id yet, and the import's file and row are not carried here (D-19.1330):
                    # the message promises nothing else (D-19.1366)
                    f"a new {table_name} record (not stored yet: no record id) dated on or before the "
                    f"cut-off of {tx.lock.describe()}",
                    field=at,
                    value=key[0] if len(key) == 1 else ", ".join(_key_text(v) for v in key),
                    allowed=allowed,
                )
            )
    more = (
        Problem(
            f"{len(locked) - MAX_LOCKED_LISTED} more record(s) of {table_name} dated on or before the "
            f"cut-off of {tx.lock.describe()}",
            field=at,
            allowed=allowed,
        )
        if len(locked) > MAX_LOCKED_LISTED
        else None
    )
    # the true count and the "N more" apart from the records: a caption and a footer, not a row (D-19.1364)
    raise ConflictError(message, problems=problems, records_total=len(locked), more=more)


def _key_text(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def apply_updates(
    tx: Transaction,
    model: type[StudyData],
    table_name: str,
    updates: Sequence[tuple[RowLike, RowLike]],
    reason: str | None,
) -> None:
    """`apply_update` of each (stored record, changes) at its stored version, set-based (D-19.512): each
    run of consecutive updates changing the same columns is one executemany UPDATE (matched by id and
    version, as `apply_update`: a record changed meanwhile refuses the whole call), and every changed
    value gets its audit row as `apply_update` writes it, in the updates' order, each run's right after
    the run is written (D-19.513)."""
    table = table_of(model)
    tx._new_table_keys.pop(table_name, None)  # an update may change key columns
    now = utc_now()
    subject_column = model.subject_column
    start = 0
    while start < len(updates):
        names = tuple(updates[start][1])
        end = start + 1
        while end < len(updates) and tuple(updates[end][1]) == names:
            end += 1
        run = updates[start:end]
        statement = (
            update(table)
            .where(
                table.c.id == bindparam("_id", type_=table.c.id.type),
                table.c.version == bindparam("_version", type_=table.c.version.type),
            )
            .values(
                {
                    **{
                        table.c[name]: bindparam(f"_new_{index}", type_=table.c[name].type)
                        for index, name in enumerate(names)
                    },
                    table.c.version: table.c.version + 1,
                    table.c.updated_at: now,
                }
            )
        )
        parameters = [
            {
                "_id": int(stored["id"]),
                "_version": int(stored["version"]),
                **{f"_new_{index}": changes[name] for index, name in enumerate(names)},
            }
            for stored, changes in run
        ]
        try:
            result = tx.connection.execute(statement, parameters)
        except IntegrityError as exc:
            raise integrity_error(exc, table_name) from None
        if result.rowcount != len(run):
            first = _first_not_written(tx, table, run, now)
            raise ConflictError(
                f"{len(run) - max(result.rowcount, 0)} record(s) of {table_name} were changed by someone "
                f"else during this write{'' if first is None else f' (the first: record {first})'}; "
                "reload them and apply your change again"
            )
        # the run's audit rows at once: no update written stays unaudited if a later run is refused (D-19.513)
        for current, changes in run:
            audit_update(tx, table_name, subject_column, current, changes, reason)
        start = end


def _first_not_written(
    tx: Transaction, table: Table, run: Sequence[tuple[RowLike, RowLike]], now: Any
) -> int | None:
    """The id of the first record of `run` its UPDATE did not match (changed or deleted meanwhile): the
    first, in the run's order, whose row is not both stamped `updated_at` = `now` and at its stored version
    + 1 (neither alone tells: a record changed once meanwhile has the version the UPDATE would have given it,
    and another writer may stamp the same clock tick). Best effort: a record changed meanwhile by a writer
    in the same tick to the same version, or the same record in two runs of one call, may be taken as
    written and a later one named; the refusal's count (the UPDATE's rowcount) is exact. Read on the
    refusal only, by chunks of ids; a record id is no record value (D-19.516). None when none is found."""
    expected = {int(stored["id"]): int(stored["version"]) + 1 for stored, _ in run}
    ids = [int(stored["id"]) for stored, _ in run]
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        written = {
            record_id
            for record_id, version, updated_at in tx.connection.execute(
                select(table.c.id, table.c.version, table.c.updated_at).where(table.c.id.in_(part))
            )
            if updated_at == now and version == expected[record_id]
        }
        missed = next((record_id for record_id in part if record_id not in written), None)
        if missed is not None:
            return missed
    return None


def apply_update(
    tx: Transaction,
    model: type[StudyData],
    table_name: str,
    current: RowLike,
    changes: RowLike,
    expected_version: int,
    reason: str | None,
) -> int:
    table = table_of(model)
    record_id = int(current["id"])
    tx._new_table_keys.pop(table_name, None)  # an update may change key columns
    try:
        result = tx.connection.execute(
            update(table)
            .where(table.c.id == record_id, table.c.version == expected_version)
            .values(**changes, version=table.c.version + 1, updated_at=utc_now())
        )
    except IntegrityError as exc:
        raise integrity_error(exc, table_name) from None
    if result.rowcount != 1:
        raise ConflictError(
            f"{table_name} record {record_id} was changed by someone else (expected version "
            f"{expected_version}); reload it and apply your change again"
        )
    audit_update(tx, table_name, model.subject_column, current, changes, reason)
    return expected_version + 1


def audit_update(
    tx: Transaction,
    table_name: str,
    subject_column: str | None,
    current: RowLike,
    changes: RowLike,
    reason: str | None,
) -> None:
    """One audit row per changed field of the record `current`: old and new value, the subject (as
    changed, else as stored) and the reason."""
    subject = (changes.get(subject_column) or current.get(subject_column)) if subject_column else None
    record_id = int(current["id"])
    for name, value in changes.items():
        tx.audit(
            "update",
            table_name,
            record_id,
            subject,
            name,
            audit_value(name, current[name]),
            audit_value(name, value),
            reason=reason,
        )
