"""The study-data service: every read and write of the study database, with permissions, lock and audit.

Every call names the acting user (a username in `app_user`); the service loads the user's role and checks
`cartrial.store.permissions` before touching data, so the rules hold whatever the front end (CLI, importer,
a later web layer). Every write runs in one database transaction that also appends its audit rows to the
hash chain (`cartrial.store.audit`), so data and audit trail commit or roll back together.

Writes:

- `StudyService.transaction(actor, source, reason)` opens a write transaction (`Transaction`); everything
  done with it commits atomically at the end of the `with` block, or not at all. Importers use it with
  `upsert_rows` (bulk, idempotent: matched on the natural key; unchanged rows write nothing; changed values
  become audited updates carrying the transaction's reason, which is then required).
- `insert_record`, `update_record` (optimistic concurrency: `expected_version`, stale -> `ConflictError`),
  `delete_record`: single-record writes, each its own transaction; update and delete need a reason.
- `lock(actor, cutoff, reason)` freezes every record whose clinical date is on or before the cut-off (dates
  and UTC date-times up to the end of that day); writes that would insert, change or delete such a record
  are refused with `ConflictError` naming the lock. `unlock(actor, reason)`: admin only, audited.
- users, roles, sites, queries and derived values have their own audited calls.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    Table,
    and_,
    delete,
    func,
    insert,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from cartrial import __version__
from cartrial.errors import ConflictError, InputError, PermissionDeniedError, Problem
from cartrial.store import audit as audit_chain
from cartrial.store.audit import AuditEntry, AuditVerification, canonical_json
from cartrial.store.database import SQLITE_BEGIN_OPTION, connect, require_current_schema
from cartrial.store.fields import check_record_write
from cartrial.store.models import (
    ROLES,
    STUDY_TABLES,
    AuditLog,
    DataLock,
    StudyData,
    Subject,
    User,
    UtcDateTime,
    utc_now,
)
from cartrial.store.permissions import Action, check, check_sites, write_action

RowLike = Mapping[Any, Any]
"""A record as a mapping of column name to value (a dict or a SQLAlchemy `RowMapping`)."""

HOUSEKEEPING_COLUMNS = frozenset({"id", "version", "created_at", "updated_at"})
"""Columns the service maintains itself; they cannot be written through the API."""
MASKED_COLUMNS = frozenset({"password_hash"})
"""Columns whose values never enter the audit trail (recorded as ``"<set>"``)."""
PG_CHAIN_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.cartrial.audit_chain'))"


@dataclass(frozen=True)
class Actor:
    """The acting user as loaded from `app_user`."""

    username: str
    role: str
    site_id: str | None


@dataclass(frozen=True)
class UpsertResult:
    """What `upsert_rows` did: rows inserted, updated (at least one value changed) and unchanged."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertResult) -> UpsertResult:
        return UpsertResult(
            self.inserted + other.inserted, self.updated + other.updated, self.unchanged + other.unchanged
        )

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged


@dataclass(frozen=True)
class LockInfo:
    """The active data lock."""

    id: int
    cutoff: dt.date
    locked_by: str
    locked_at: dt.datetime
    reason: str
    snapshot_sha256: str | None
    records_locked: int = 0

    def describe(self) -> str:
        return (
            f"data lock #{self.id} at cut-off {self.cutoff.isoformat()} "
            f"(by {self.locked_by} on {self.locked_at:%Y-%m-%d %H:%M} UTC: {self.reason})"
        )


@dataclass(frozen=True)
class InitResult:
    """What `init_study` created."""

    study_code: str
    protocol_version: str
    protocol_sha256: str
    admin_username: str
    revision: str | None
    created: bool


@dataclass
class Transaction:
    """An open write transaction: connection, acting user, source and reason, and its pending audit rows."""

    connection: Connection
    actor: Actor
    source: str
    reason: str | None
    lock: LockInfo | None
    _head: audit_chain.ChainHead
    _pending: list[Sequence[Any]] = field(default_factory=list)
    """Queued audit rows: `AuditEntry`s, or plain tuples of its fields in order (bulk inserts)."""
    audit_rows_written: int = 0
    _new_table_keys: dict[str, tuple[tuple[str, ...], set[tuple[Any, ...]]]] = field(default_factory=dict)
    """Per table that was empty when this transaction first upserted into it: the key columns used and
    every key inserted since, i.e. exactly the keys the table holds (later chunks skip the SELECT)."""

    def audit(
        self,
        action: str,
        table_name: str | None,
        record_id: int | None,
        subject_id: str | None,
        field_name: str | None,
        old_value: str | None,
        new_value: str | None,
        reason: str | None = None,
        recorded_at: dt.datetime | None = None,
    ) -> None:
        """Queue one audit row (written, hash-chained, before the transaction commits); `recorded_at`
        defaults to now (UTC)."""
        self._pending.append(
            AuditEntry(
                recorded_at=recorded_at or utc_now(),
                username=self.actor.username,
                user_role=self.actor.role,
                action=action,
                table_name=table_name,
                record_id=record_id,
                subject_id=subject_id,
                field=field_name,
                old_value=old_value,
                new_value=new_value,
                reason=reason if reason is not None else self.reason,
                source=self.source,
                software_version=__version__,
            )
        )
        if len(self._pending) >= 50_000:
            self.flush()

    def audit_inserts(
        self,
        table_name: str,
        first_id: int,
        subjects: Sequence[str | None],
        records_json: Sequence[str],
        recorded_at: dt.datetime,
    ) -> None:
        """Queue the audit rows of consecutive new records (ids from `first_id`): one row each, the record
        as JSON, the transaction's reason (bulk form of `audit`)."""
        n = len(records_json)
        # plain tuples in AuditEntry's field order, built by zip (a million rows in a large import)
        self._pending.extend(
            zip(
                repeat(recorded_at, n),
                repeat(self.actor.username, n),
                repeat(self.actor.role, n),
                repeat("insert", n),
                repeat(table_name, n),
                range(first_id, first_id + n),
                subjects,
                repeat(audit_chain.INSERT_FIELD, n),
                repeat(None, n),
                records_json,
                repeat(self.reason, n),
                repeat(self.source, n),
                repeat(__version__, n),
                strict=True,
            )
        )
        if len(self._pending) >= 50_000:
            self.flush()

    def flush(self) -> None:
        """Write the queued audit rows onto the chain (inside this transaction)."""
        if self._pending:
            self.audit_rows_written += audit_chain.append(self.connection, self._head, self._pending)
            self._pending = []


# ------------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------------


def _table_of(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def _model(table_name: str) -> type[StudyData]:
    model = STUDY_TABLES.get(table_name)
    if model is None:
        raise InputError(
            Problem("unknown table", field="table", value=table_name, allowed=", ".join(sorted(STUDY_TABLES)))
        )
    return model


def _columns(model: type[StudyData]) -> dict[str, Column[Any]]:
    return {c.name: c for c in _table_of(model).columns}


def _data_columns(model: type[StudyData]) -> list[str]:
    return [name for name in _columns(model) if name not in HOUSEKEEPING_COLUMNS]


def _require_reason(reason: str | None, what: str) -> str:
    if reason is None or not reason.strip():
        raise InputError(
            Problem(
                f"a reason is required for every {what} (21 CFR 11.10(e), ICH E6(R3) 4.2.4)",
                field="reason",
                value=reason,
            )
        )
    return reason.strip()


def _require_identifier(value: str, what: str) -> None:
    """Refuse a blank identifier or one with leading/trailing spaces (easily mistyped, never matched)."""
    if not value.strip() or value != value.strip():
        raise InputError(
            Problem(
                f"not a usable {what}",
                field=what,
                value=value,
                allowed="non-blank text without leading or trailing spaces",
            )
        )


def _audit_value(column: str, value: Any) -> str | None:
    if value is None:
        return None
    if column in MASKED_COLUMNS:
        return '"<set>"'
    return canonical_json(value)


def _record_json(values: RowLike) -> str:
    if "password_hash" not in values:
        return canonical_json(values)
    return canonical_json(
        {k: ("<set>" if k in MASKED_COLUMNS and v is not None else v) for k, v in values.items()}
    )


def _coerce(column: Column[Any], value: Any, where: str) -> Any:
    """Accept ISO text for date and date-time columns; everything else is passed to the database."""
    if value is None or not isinstance(value, str):
        if _is_datetime(column) and isinstance(value, dt.datetime):
            if value.tzinfo is None:
                raise InputError(
                    Problem("date-time without a time zone", field=f"{where}.{column.name}", value=value)
                )
            return value.astimezone(dt.UTC)  # stored and audited in UTC
        return value
    if _is_datetime(column):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InputError(
                Problem("not an ISO 8601 date-time", field=f"{where}.{column.name}", value=value)
            ) from exc
        if parsed.tzinfo is None:
            raise InputError(
                Problem(
                    "date-time without a time zone",
                    field=f"{where}.{column.name}",
                    value=value,
                    allowed="ISO 8601 with Z or an offset",
                )
            )
        return parsed.astimezone(dt.UTC)
    if isinstance(column.type, Date):
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise InputError(
                Problem("not an ISO 8601 date (YYYY-MM-DD)", field=f"{where}.{column.name}", value=value)
            ) from exc
    return value


@dataclass
class _IdCounter:
    """Ids for new records, assigned under the write lock (bulk inserts without RETURNING)."""

    last: int

    def take(self, n: int) -> int:
        """Reserve `n` consecutive ids; returns the first."""
        first = self.last + 1
        self.last += n
        return first


_SQLITE_INSERTS: dict[str, tuple[str, tuple[str, ...], list[tuple[int, Any]]]] = {}


def _sqlite_insert(model: type[StudyData]) -> tuple[str, tuple[str, ...], list[tuple[int, Any]]]:
    """For the driver-level bulk insert on SQLite: the INSERT statement (columns id, created_at, updated_at,
    version, then the data columns), the data column names, and (index, converter) for the data columns
    whose values need converting to SQLAlchemy's SQLite storage format (what the column types' bind
    processors would do: UTC date-times as text, dates as ISO text, JSON as text)."""
    table = _table_of(model)
    cached = _SQLITE_INSERTS.get(table.name)
    if cached is not None:
        return cached
    names = tuple(_data_columns(model))
    columns = _columns(model)
    conversions: list[tuple[int, Any]] = []
    for index, name in enumerate(names):
        kind = columns[name].type
        if isinstance(kind, UtcDateTime):
            conversions.append((index, audit_chain.sqlite_timestamp))
        elif isinstance(kind, Date):
            conversions.append((index, _iso_date))
        elif isinstance(kind, JSON):
            conversions.append((index, _json_text))
    all_names = ("id", "created_at", "updated_at", "version", *names)
    sql = f"INSERT INTO {table.name} ({', '.join(all_names)}) VALUES ({', '.join('?' * len(all_names))})"
    _SQLITE_INSERTS[table.name] = (sql, names, conversions)
    return sql, names, conversions


def _tuple_getter(items: Sequence[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """A function returning the given items (positions or keys) of a row as a tuple, also for 0 or 1 item
    (itemgetter: this runs for every row of a large import)."""
    if len(items) > 1:
        return operator.itemgetter(*items)
    if items:
        only = items[0]
        return lambda row: (row[only],)
    return lambda row: ()


def _convert_column(values: list[Any], convert: Any) -> list[Any]:
    """`convert` applied to the non-null values of one column (memoised unless JSON: lists are unhashable)."""
    if convert is _json_text:
        return [None if value is None else convert(value) for value in values]
    memo: dict[Any, Any] = {None: None}
    out = []
    for value in values:
        converted = memo.get(value)
        if converted is None and value is not None:
            converted = memo[value] = convert(value)
        out.append(converted)
    return out


def _iso_date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        raise InputError(Problem("a date-time given where a date is expected", value=value))
    return str(value.isoformat())


def _json_text(value: Any) -> str:
    return json.dumps(value)


def _is_temporal(column: Column[Any]) -> bool:
    return isinstance(column.type, UtcDateTime | DateTime | Date)


def _is_datetime(column: Column[Any]) -> bool:
    return isinstance(column.type, UtcDateTime | DateTime)


def _same(old: Any, new: Any) -> bool:
    if old is None or new is None:
        return old is None and new is None
    if isinstance(old, float) or isinstance(new, float):
        try:
            return float(old) == float(new)
        except (TypeError, ValueError):
            return False
    return bool(old == new)


def _is_locked(model: type[StudyData], values: RowLike, lock: LockInfo | None) -> bool:
    column = model.clinical_date_column
    if lock is None or column is None:
        return False
    value = values.get(column)
    if value is None:
        return False
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).date() <= lock.cutoff
    if isinstance(value, dt.date):
        return value <= lock.cutoff
    return False


def _locked_condition(model: type[StudyData], cutoff: dt.date) -> ColumnElement[bool] | None:
    name = model.clinical_date_column
    if name is None:
        return None
    column = _columns(model)[name]
    if _is_datetime(column):
        end = dt.datetime.combine(cutoff + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        return column < end
    return column <= cutoff


def _integrity_error(exc: IntegrityError, table_name: str) -> InputError:
    detail = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
    return InputError(Problem(f"the database refused the write to {table_name}: {detail}", field=table_name))


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ------------------------------------------------------------------------------------------------------
# the service
# ------------------------------------------------------------------------------------------------------


class StudyService:
    """All reads and writes of one study database (see the module docstring).

    `engine` is a SQLAlchemy engine from `cartrial.store.connect`, or a URL. The schema must be at the
    shipped migration head (`cartrial db upgrade`); `check_schema=False` skips that check.
    """

    def __init__(self, engine: Engine | str | None = None, *, check_schema: bool = True) -> None:
        self.engine = engine if isinstance(engine, Engine) else connect(engine)
        if check_schema:
            require_current_schema(self.engine)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    # -- transactions ---------------------------------------------------------------------------------

    @contextmanager
    def transaction(self, actor: str, source: str, reason: str | None = None) -> Iterator[Transaction]:
        """One atomic write transaction by `actor`; `source` says where the data came from (``cli``,
        ``import templates/infusions.csv sha256:…``); `reason` is used for every update made through it.

        The chain lock is taken first (SQLite `BEGIN IMMEDIATE`, PostgreSQL advisory lock), so the data lock
        state and audit chain head read here stay valid until commit."""
        with self.engine.connect() as connection:
            if self.backend == "sqlite":
                connection.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            with connection.begin():
                if self.backend == "postgresql":
                    connection.execute(text(PG_CHAIN_LOCK_SQL))
                user = self._load_actor(connection, actor)
                tx = Transaction(
                    connection=connection,
                    actor=user,
                    source=source,
                    reason=reason.strip() if reason and reason.strip() else None,
                    lock=self._active_lock(connection),
                    _head=audit_chain.read_head(connection),
                )
                yield tx
                tx.flush()

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as connection, connection.begin():
            yield connection

    def _load_actor(self, connection: Connection, username: str) -> Actor:
        row = connection.execute(
            select(User.username, User.role, User.site_id, User.active).where(User.username == username)
        ).first()
        if row is None:
            raise PermissionDeniedError(
                f"unknown user '{username}': an admin must add it first (`cartrial db user add`)"
            )
        if not row.active:
            raise PermissionDeniedError(f"user '{username}' is deactivated")
        return Actor(row.username, row.role, row.site_id)

    def actor(self, username: str) -> Actor:
        """The user's role and site (raises `PermissionDeniedError` for unknown or inactive users)."""
        with self._read() as connection:
            return self._load_actor(connection, username)

    def check(self, actor: str, action: Action, what: str = "") -> Actor:
        """Raise `PermissionDeniedError` unless `actor` may perform `action`; returns the actor."""
        user = self.actor(actor)
        check(user.username, user.role, action, what)
        return user

    # -- bulk upsert ----------------------------------------------------------------------------------

    def upsert_rows(
        self,
        tx: Transaction,
        table_name: str,
        rows: Sequence[RowLike],
        key_columns: Sequence[str] | None = None,
    ) -> UpsertResult:
        """Insert or update `rows` of `table_name`, matched on `key_columns` (default: the natural key).

        Idempotent: a row whose given values all equal the stored ones writes nothing. Columns absent from a
        row are left as they are (on insert: their default). New records get one audit row each (the record
        as JSON); each changed value of an existing record gets an audit row with old and new value and the
        transaction's reason, which is then required (`InputError` otherwise). Records dated on or before an
        active lock's cut-off cannot be inserted or changed (`ConflictError`). Date and date-time columns
        accept ISO 8601 text; date-times must carry a zone. Bulk: one SELECT of existing keys per chunk
        (none when the table is empty), executemany inserts with ids assigned under the write lock, no
        per-row ORM objects.
        """
        model = _model(table_name)
        columns = _columns(model)
        keys = tuple(key_columns or model.natural_key)
        unknown_keys = [k for k in keys if k not in columns]
        if unknown_keys:
            raise InputError(
                Problem("unknown key column", field=f"{table_name}", value=", ".join(unknown_keys))
            )
        if not rows:
            return UpsertResult()
        prepared = self._prepare_rows(model, table_name, rows, keys)
        self._check_subjects_and_sites(tx, model, table_name, prepared)
        table = _table_of(model)
        connection = tx.connection
        tracked = tx._new_table_keys.get(table_name)
        if tracked is not None and tracked[0] != keys:
            del tx._new_table_keys[table_name]  # other key columns: the tracked set no longer tells
            tracked = None
        if tracked is None and connection.execute(select(table.c.id).limit(1)).first() is None:
            tracked = tx._new_table_keys[table_name] = (keys, set())
        known = tracked[1] if tracked is not None else None
        ids = _IdCounter(int(connection.execute(select(func.max(table.c.id))).scalar() or 0))
        chunk_size = max(1, min(5_000, 30_000 // max(1, len(keys))))
        result = UpsertResult()
        for chunk in _chunks(prepared, chunk_size):
            result = result + self._upsert_chunk(tx, model, table_name, keys, chunk, known, ids)
        if result.inserted and self.backend == "postgresql":
            # ids were assigned explicitly: keep the table's sequence in step for other writers
            connection.execute(
                text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :last)"),
                {"table": table_name, "last": ids.last},
            )
        return result

    def _prepare_rows(
        self,
        model: type[StudyData],
        table_name: str,
        rows: Sequence[RowLike],
        keys: tuple[str, ...],
    ) -> list[dict[str, Any]]:
        """Check and normalise rows: known columns only, ISO text for dates/date-times parsed (zone
        required), natural key present and unique within the batch. Rows needing no change are passed on
        as given (not copied; they are not modified later)."""
        columns = _columns(model)
        allowed = frozenset(_data_columns(model))
        temporal = {
            name: column for name, column in columns.items() if name in allowed and _is_temporal(column)
        }
        temporal_items = list(temporal.items())
        key_of: Any = operator.itemgetter(*keys) if keys else None
        single_key = len(keys) == 1
        problems: list[Problem] = []
        prepared: list[RowLike] = []
        seen: dict[tuple[Any, ...], int] = {}
        for number, row in enumerate(rows, start=1):
            if not allowed.issuperset(row):
                bad = [name for name in row if name not in allowed]
                problems.append(
                    Problem(
                        "unknown or read-only column",
                        field=f"{table_name}[{number}]",
                        value=", ".join(map(str, bad)),
                        allowed=", ".join(sorted(allowed)),
                    )
                )
                continue
            clean: Any = row
            try:
                for name, column in temporal_items:
                    value = row.get(name)
                    if value is not None and (
                        value.__class__ is str
                        or (value.__class__ is dt.datetime and value.tzinfo is not dt.UTC)
                    ):
                        if clean is row:
                            clean = dict(row)
                        clean[name] = _coerce(column, value, f"{table_name}[{number}]")
            except InputError as exc:
                problems.extend(exc.problems)
                continue
            try:
                key = (key_of(clean),) if single_key else key_of(clean) if keys else ()
            except KeyError:
                key = (None,)
            if None in key:
                missing = [k for k in keys if clean.get(k) is None]
                problems.append(
                    Problem(
                        "natural-key value missing", field=f"{table_name}[{number}]", value=", ".join(missing)
                    )
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
        if problems:
            raise InputError(problems, header=f"{len(problems)} bad row(s) for table {table_name}:")
        return cast(list[dict[str, Any]], prepared)

    def _check_subjects_and_sites(
        self, tx: Transaction, model: type[StudyData], table_name: str, rows: list[dict[str, Any]]
    ) -> None:
        subject_column = model.subject_column
        if model is Subject:
            self._check_birth_date_privacy(tx.connection, rows)
            sites = {row.get("site_id") for row in rows if "site_id" in row}
            known = set(tx.connection.execute(select(_site_table().c.site_id)).scalars())
            unknown = sorted(str(s) for s in sites if s is not None and s not in known)
            if unknown:
                raise InputError(
                    Problem(
                        "unknown site; add it first (`cartrial db site add`, or a site row in the import)",
                        field="subject.site_id",
                        value=", ".join(unknown),
                    )
                )
            existing_sites = self._subject_sites(tx.connection, {row["subject_id"] for row in rows})
            check_sites(
                tx.actor.username,
                tx.actor.role,
                tx.actor.site_id,
                sites | set(existing_sites.values()),
                "subject data written",
            )
            return
        if subject_column is None or subject_column not in _columns(model):
            return
        subject_ids = {row.get(subject_column) for row in rows} - {None}
        subject_sites = self._subject_sites(tx.connection, subject_ids)
        unknown = sorted(str(s) for s in subject_ids if s not in subject_sites)
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
            subject_sites.values(),
            f"data written to {table_name}",
        )

    @staticmethod
    def _check_birth_date_privacy(connection: Connection, rows: Sequence[RowLike]) -> None:
        study = _table_of(STUDY_TABLES["study"])
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

    @staticmethod
    def _subject_sites(connection: Connection, subject_ids: Iterable[Any]) -> dict[str, str]:
        wanted = list(subject_ids)
        found: dict[str, str] = {}
        for chunk in _chunks(wanted, 10_000):
            for subject_id, site_id in connection.execute(
                select(Subject.subject_id, Subject.site_id).where(Subject.subject_id.in_(chunk))
            ):
                found[subject_id] = site_id
        return found

    def _upsert_chunk(
        self,
        tx: Transaction,
        model: type[StudyData],
        table_name: str,
        keys: tuple[str, ...],
        chunk: Sequence[dict[str, Any]],
        known: set[tuple[Any, ...]] | None,
        ids: _IdCounter,
    ) -> UpsertResult:
        """`known`: every key the table holds (it was empty when this transaction began writing it), or
        None when unknown (then the stored rows are looked up)."""
        table = _table_of(model)
        columns = _columns(model)
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
        elif self.backend == "sqlite":
            candidates, inserts, unchanged = self._presort_sqlite(tx, model, keys, chunk)
        else:
            candidates = list(chunk)
        if candidates:
            key_cols = [columns[k] for k in keys]
            wanted = list(map(key_of, candidates))
            condition = (
                key_cols[0].in_([w[0] for w in wanted]) if len(keys) == 1 else tuple_(*key_cols).in_(wanted)
            )
            existing = {
                key_of(row): row for row in tx.connection.execute(select(table).where(condition)).mappings()
            }
            for row, key in zip(candidates, wanted, strict=True):
                current = existing.get(key)
                if current is None:
                    inserts.append(row)
                    continue
                changes = {name: value for name, value in row.items() if not _same(current[name], value)}
                if changes:
                    updates.append((current, changes))
                else:
                    unchanged += 1
        actor = tx.actor
        if inserts:
            check(
                actor.username,
                actor.role,
                write_action(table_name, Action.ENTER),
                f"insert into {table_name}",
            )
        if updates:
            check(actor.username, actor.role, write_action(table_name, Action.EDIT), f"update {table_name}")
            if tx.reason is None:
                first = ", ".join(str(updates[0][0][k]) for k in keys)
                raise InputError(
                    Problem(
                        f"{len(updates)} existing record(s) of {table_name} would change (first: {first}); "
                        "a reason is required for every update (give the import a reason)",
                        field="reason",
                    )
                )
        if tx.lock is not None and model.clinical_date_column is not None:
            locked: list[RowLike] = [row for row in inserts if _is_locked(model, row, tx.lock)]
            locked += [
                stored
                for stored, changes in updates
                if _is_locked(model, stored, tx.lock) or _is_locked(model, {**stored, **changes}, tx.lock)
            ]
            self._refuse_locked(tx, table_name, locked, keys)
        if inserts:
            self._insert_rows(tx, model, table_name, inserts, ids)
            if known is not None:
                known.update(chunk_keys if len(inserts) == len(chunk) else map(key_of, inserts))
        for stored, changes in updates:
            self._apply_update(tx, model, table_name, stored, changes, int(stored["version"]), tx.reason)
        return UpsertResult(len(inserts), len(updates), unchanged)

    def _presort_sqlite(
        self,
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
        table = _table_of(model)
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
        sql = (
            f"SELECT {', '.join(names)} FROM {table.name} "
            f"WHERE ({', '.join(keys)}) IN (VALUES {placeholders})"
        )
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

    def _insert_rows(
        self,
        tx: Transaction,
        model: type[StudyData],
        table_name: str,
        rows: Sequence[dict[str, Any]],
        ids: _IdCounter,
    ) -> None:
        table = _table_of(model)
        columns = _columns(model)
        data_names = _data_columns(model)
        defaults = {name: _python_default(columns[name]) for name in data_names}
        now = utc_now()
        records = [{**defaults, **row} for row in rows]
        first_id = ids.take(len(records))
        try:
            if self.backend == "sqlite":
                sql, names, conversions = _sqlite_insert(model)
                stored_now = audit_chain.sqlite_timestamp(now)
                # column by column: each distinct date or date-time is converted once (labs share times)
                by_column = [[record[name] for record in records] for name in names]
                for index, convert in conversions:
                    by_column[index] = _convert_column(by_column[index], convert)
                n = len(records)
                values = list(
                    zip(
                        range(first_id, first_id + n),
                        repeat(stored_now, n),
                        repeat(stored_now, n),
                        repeat(1, n),
                        *by_column,
                        strict=True,
                    )
                )
                tx.connection.exec_driver_sql(sql, values)
            else:
                housekeeping = {"created_at": now, "updated_at": now, "version": 1}
                tx.connection.execute(
                    insert(table),
                    [
                        {**record, **housekeeping, "id": record_id}
                        for record_id, record in enumerate(records, start=first_id)
                    ],
                )
        except IntegrityError as exc:
            raise _integrity_error(exc, table_name) from exc
        subject_column = model.subject_column
        subjects = (
            [record.get(subject_column) for record in records] if subject_column else [None] * len(records)
        )
        if MASKED_COLUMNS.isdisjoint(data_names):
            records_json = audit_chain.canonical_json_many(records)
        else:
            records_json = [_record_json(record) for record in records]
        tx.audit_inserts(table_name, first_id, subjects, records_json, now)

    def _refuse_locked(
        self,
        tx: Transaction,
        table_name: str,
        locked: Sequence[RowLike],
        keys: Sequence[str],
    ) -> None:
        if not locked or tx.lock is None:
            return
        shown = "; ".join(", ".join(str(row.get(k)) for k in keys) for row in locked[:5])
        more = f" and {len(locked) - 5} more" if len(locked) > 5 else ""
        raise ConflictError(
            f"{len(locked)} record(s) of {table_name} dated on or before the cut-off are frozen by "
            f"{tx.lock.describe()}: {shown}{more}; an admin must unlock (with a reason) first."
        )

    def _apply_update(
        self,
        tx: Transaction,
        model: type[StudyData],
        table_name: str,
        current: RowLike,
        changes: RowLike,
        expected_version: int,
        reason: str | None,
    ) -> int:
        table = _table_of(model)
        record_id = int(current["id"])
        tx._new_table_keys.pop(table_name, None)  # an update may change key columns
        try:
            result = tx.connection.execute(
                update(table)
                .where(table.c.id == record_id, table.c.version == expected_version)
                .values(**changes, version=table.c.version + 1, updated_at=utc_now())
            )
        except IntegrityError as exc:
            raise _integrity_error(exc, table_name) from exc
        if result.rowcount != 1:
            raise ConflictError(
                f"{table_name} record {record_id} was changed by someone else (expected version "
                f"{expected_version}); reload it and apply your change again"
            )
        subject_column = model.subject_column
        subject = (changes.get(subject_column) or current.get(subject_column)) if subject_column else None
        for name, value in changes.items():
            tx.audit(
                "update",
                table_name,
                record_id,
                subject,
                name,
                _audit_value(name, current[name]),
                _audit_value(name, value),
                reason=reason,
            )
        return expected_version + 1

    # -- single-record writes -------------------------------------------------------------------------

    def insert_record(self, actor: str, table_name: str, values: RowLike, source: str = "api") -> int:
        """Insert one new record (refused with `ConflictError` if its natural key exists); returns its id."""
        model = _model(table_name)
        with self.transaction(actor, source) as tx:
            keys = model.natural_key
            prepared = self._prepare_rows(model, table_name, [values], keys)
            existing = self._find_by_key(tx.connection, model, prepared[0], keys)
            if existing is not None:
                raise ConflictError(
                    f"{table_name} already has a record with {', '.join(keys)} = "
                    f"{', '.join(str(prepared[0][k]) for k in keys)} (id {existing['id']}); update it instead"
                )
            self.upsert_rows(tx, table_name, prepared, keys)
            found = self._find_by_key(tx.connection, model, prepared[0], keys)
            assert found is not None
            check_record_write(self, tx, table_name, None, found, int(found["id"]))  # refused: rolled back
            return int(found["id"])

    @staticmethod
    def _find_by_key(
        connection: Connection, model: type[StudyData], values: RowLike, keys: Sequence[str]
    ) -> RowLike | None:
        table = _table_of(model)
        return (
            connection.execute(select(table).where(and_(*(table.c[k] == values[k] for k in keys))))
            .mappings()
            .first()
        )

    def update_record(
        self,
        actor: str,
        table_name: str,
        record_id: int,
        changes: RowLike,
        expected_version: int,
        reason: str | None,
        source: str = "api",
    ) -> int:
        """Change fields of one record, if it is still at `expected_version`; returns the new version.

        Stale version -> `ConflictError` (reload and retry); locked record -> `ConflictError` naming the lock;
        missing reason -> `InputError`. Unchanged values are ignored (no change, no audit row)."""
        model = _model(table_name)
        reason = _require_reason(reason, "update")
        with self.transaction(actor, source, reason) as tx:
            check(
                tx.actor.username,
                tx.actor.role,
                write_action(table_name, Action.EDIT),
                f"update {table_name}",
            )
            current = self._current(tx.connection, model, table_name, record_id)
            if int(current["version"]) != int(expected_version):
                raise ConflictError(
                    f"{table_name} record {record_id} is at version {current['version']}, not "
                    f"{expected_version}: someone changed it since you read it; reload it and apply your "
                    "change again"
                )
            clean = self._prepare_rows(model, table_name, [changes], ())[0]
            diff = {name: value for name, value in clean.items() if not _same(current[name], value)}
            if not diff:
                return int(current["version"])
            self._check_record_sites(tx, model, table_name, [current, {**current, **diff}])
            if model is Subject:
                self._check_birth_date_privacy(tx.connection, [{**current, **diff}])
            if _is_locked(model, current, tx.lock) or _is_locked(model, {**current, **diff}, tx.lock):
                assert tx.lock is not None
                raise ConflictError(
                    f"{table_name} record {record_id} is dated on or before the cut-off and frozen by "
                    f"{tx.lock.describe()}; an admin must unlock (with a reason) before it can change"
                )
            check_record_write(self, tx, table_name, current, {**current, **diff}, record_id)
            return self._apply_update(tx, model, table_name, current, diff, int(expected_version), reason)

    def delete_record(
        self, actor: str, table_name: str, record_id: int, reason: str | None, source: str = "api"
    ) -> None:
        """Delete one record (audited with the whole record as the old value); reason required."""
        model = _model(table_name)
        reason = _require_reason(reason, "delete")
        with self.transaction(actor, source, reason) as tx:
            check(
                tx.actor.username,
                tx.actor.role,
                write_action(table_name, Action.DELETE),
                f"delete from {table_name}",
            )
            current = self._current(tx.connection, model, table_name, record_id)
            self._check_record_sites(tx, model, table_name, [current])
            if _is_locked(model, current, tx.lock):
                assert tx.lock is not None
                raise ConflictError(
                    f"{table_name} record {record_id} is frozen by {tx.lock.describe()}; it cannot be deleted"
                )
            table = _table_of(model)
            try:
                with tx.connection.begin_nested():
                    tx.connection.execute(delete(table).where(table.c.id == record_id))
            except IntegrityError as exc:
                raise ConflictError(
                    f"{table_name} record {record_id} cannot be deleted: other records refer to it "
                    f"({str(exc.orig).splitlines()[0]})"
                ) from exc
            values = {k: v for k, v in current.items() if k not in HOUSEKEEPING_COLUMNS}
            subject_column = model.subject_column
            tx.audit(
                "delete",
                table_name,
                record_id,
                current.get(subject_column) if subject_column else None,
                audit_chain.INSERT_FIELD,
                _record_json(values),
                None,
                reason=reason,
            )

    def _current(
        self, connection: Connection, model: type[StudyData], table_name: str, record_id: int
    ) -> RowLike:
        table = _table_of(model)
        row = connection.execute(select(table).where(table.c.id == record_id)).mappings().first()
        if row is None:
            raise InputError(Problem(f"no {table_name} record with this id", field="id", value=record_id))
        return row

    def _check_record_sites(
        self, tx: Transaction, model: type[StudyData], table_name: str, versions: Sequence[RowLike]
    ) -> None:
        if model is Subject:
            sites = {v.get("site_id") for v in versions}
        elif model.subject_column and model.subject_column in _columns(model):
            subjects = {v.get(model.subject_column) for v in versions} - {None}
            sites = set(self._subject_sites(tx.connection, subjects).values())
        else:
            sites = set()
        check_sites(tx.actor.username, tx.actor.role, tx.actor.site_id, sites, f"this {table_name} record")

    # -- reads ----------------------------------------------------------------------------------------

    def get_record(self, actor: str, table_name: str, record_id: int) -> dict[str, Any]:
        """One record with its `id` and `version` (READ permission)."""
        model = _model(table_name)
        self.check(actor, Action.READ, table_name)
        with self._read() as connection:
            return dict(self._current(connection, model, table_name, record_id))

    def find_records(self, actor: str, table_name: str, **equals: Any) -> list[dict[str, Any]]:
        """Records of `table_name` whose columns equal the given values, in id order (READ permission)."""
        model = _model(table_name)
        self.check(actor, Action.READ, table_name)
        columns = _columns(model)
        bad = [name for name in equals if name not in columns]
        if bad:
            raise InputError(Problem("unknown column", field=table_name, value=", ".join(bad)))
        table = _table_of(model)
        query = select(table).where(
            *(table.c[k] == _coerce(columns[k], v, table_name) for k, v in equals.items())
        )
        with self._read() as connection:
            return [dict(row) for row in connection.execute(query.order_by(table.c.id)).mappings()]

    def table_counts(self, actor: str | None = None) -> dict[str, int]:
        """Row count of every table (study data, data_lock and audit_log), by table name. Counts reveal no
        data, so `actor` is optional; when given, the READ permission is checked."""
        if actor is not None:
            self.check(actor, Action.READ, "table counts")
        models: list[type[Any]] = [*STUDY_TABLES.values(), DataLock, AuditLog]
        tables = [_table_of(m) for m in models]
        with self._read() as connection:
            return {
                t.name: int(connection.execute(select(func.count()).select_from(t)).scalar_one())
                for t in tables
            }

    def audit_history(self, subject_id: str, *, actor: str) -> list[dict[str, Any]]:
        """Every audit row about subject `subject_id` (its subject record and all its data), in order."""
        self.check(actor, Action.READ, "audit trail")
        table = _table_of(AuditLog)
        with self._read() as connection:
            rows = connection.execute(
                select(table).where(table.c.subject_id == subject_id).order_by(table.c.id)
            ).mappings()
            return [dict(row) for row in rows]

    def audit_rows(self, *, actor: str, since_id: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """Audit rows in chain order (for review listings)."""
        self.check(actor, Action.READ, "audit trail")
        table = _table_of(AuditLog)
        query = select(table).where(table.c.id > since_id).order_by(table.c.id)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    def verify_audit(self, actor: str | None = None) -> AuditVerification:
        """Recompute the audit hash chain; `first_broken_id` names the first row that fails. An integrity
        check that reveals no data, so `actor` is optional; when given, the READ permission is checked."""
        if actor is not None:
            self.check(actor, Action.READ, "audit verification")
        with self._read() as connection:
            return audit_chain.verify_chain(connection)

    # -- lock -----------------------------------------------------------------------------------------

    @staticmethod
    def _active_lock(connection: Connection) -> LockInfo | None:
        table = _table_of(DataLock)
        row = (
            connection.execute(select(table).where(table.c.active.is_(True)).order_by(table.c.id.desc()))
            .mappings()
            .first()
        )
        if row is None:
            return None
        return LockInfo(
            row["id"],
            row["cutoff"],
            row["locked_by"],
            row["locked_at"],
            row["reason"],
            row["snapshot_sha256"],
        )

    def active_lock(self) -> LockInfo | None:
        """The active data lock, if any."""
        with self._read() as connection:
            return self._active_lock(connection)

    def _snapshot(self, connection: Connection, cutoff: dt.date) -> tuple[str, int]:
        digest = hashlib.sha256()
        count = 0
        for name, model in sorted(STUDY_TABLES.items()):
            condition = _locked_condition(model, cutoff)
            if condition is None:
                continue
            table = _table_of(model)
            digest.update(f"\n#{name}\n".encode())
            for row in connection.execute(select(table).where(condition).order_by(table.c.id)).mappings():
                values = {k: v for k, v in row.items() if k not in ("created_at", "updated_at")}
                digest.update(canonical_json(values).encode())
                digest.update(b"\n")
                count += 1
        return digest.hexdigest(), count

    def lock(self, actor: str, cutoff: dt.date, reason: str | None, source: str = "api") -> LockInfo:
        """Freeze every record dated on or before `cutoff` (statistician or admin; reason required).

        Stores a SHA-256 of the frozen records (canonical JSON) with the lock: the locked snapshot can be
        re-hashed later (`locked_snapshot_matches`)."""
        reason = _require_reason(reason, "lock")
        with self.transaction(actor, source, reason) as tx:
            check(tx.actor.username, tx.actor.role, Action.LOCK, "data lock")
            if tx.lock is not None:
                raise ConflictError(f"the database is already locked: {tx.lock.describe()}; unlock it first")
            snapshot, count = self._snapshot(tx.connection, cutoff)
            now = utc_now()
            lock_id = tx.connection.execute(
                insert(_table_of(DataLock)).returning(_table_of(DataLock).c.id),
                {
                    "cutoff": cutoff,
                    "locked_by": tx.actor.username,
                    "locked_at": now,
                    "reason": reason,
                    "snapshot_sha256": snapshot,
                    "active": True,
                },
            ).scalar_one()
            tx.audit(
                "lock",
                "data_lock",
                int(lock_id),
                None,
                "cutoff",
                None,
                canonical_json({"cutoff": cutoff, "snapshot_sha256": snapshot, "records": count}),
                reason=reason,
            )
            return LockInfo(int(lock_id), cutoff, tx.actor.username, now, reason, snapshot, count)

    def locked_snapshot_matches(self) -> bool | None:
        """Whether the records frozen by the active lock still hash to the stored snapshot (None: no lock)."""
        with self._read() as connection:
            lock = self._active_lock(connection)
            if lock is None:
                return None
            return self._snapshot(connection, lock.cutoff)[0] == lock.snapshot_sha256

    def unlock(self, actor: str, reason: str | None, source: str = "api") -> LockInfo:
        """Lift the active lock (admin only; reason required; audited). Returns the lock that was lifted."""
        reason = _require_reason(reason, "unlock")
        with self.transaction(actor, source, reason) as tx:
            check(tx.actor.username, tx.actor.role, Action.UNLOCK, "data lock")
            if tx.lock is None:
                raise ConflictError("the database is not locked")
            tx.connection.execute(
                update(_table_of(DataLock))
                .where(_table_of(DataLock).c.id == tx.lock.id)
                .values(
                    active=False, unlocked_by=tx.actor.username, unlocked_at=utc_now(), unlock_reason=reason
                )
            )
            tx.audit(
                "unlock",
                "data_lock",
                tx.lock.id,
                None,
                "active",
                "true",
                "false",
                reason=reason,
            )
            return tx.lock

    # -- users, sites ---------------------------------------------------------------------------------

    def add_site(self, actor: str, site_id: str, name: str | None = None, country: str | None = None) -> int:
        """Add a clinical site (admin or data manager)."""
        _require_identifier(site_id, "site")
        return self.insert_record(
            actor, "site", {"site_id": site_id, "name": name, "country": country}, "cli"
        )

    def add_user(
        self,
        actor: str,
        username: str,
        role: str,
        site_id: str | None = None,
        password: str | None = None,
        full_name: str | None = None,
    ) -> int:
        """Add a user (admin only); investigators need a site. The password is stored as an argon2id hash."""
        _require_identifier(username, "username")
        _check_role(role)
        if role == "investigator" and not site_id:
            raise InputError(Problem("an investigator needs a site", field="site", value=site_id))
        values: dict[str, Any] = {
            "username": username,
            "role": role,
            "site_id": site_id,
            "full_name": full_name,
        }
        if password is not None:
            values["password_hash"] = hash_password(password)
        return self.insert_record(actor, "app_user", values, "cli")

    def set_role(
        self, actor: str, username: str, role: str, reason: str | None, site_id: str | None = None
    ) -> None:
        """Change a user's role (and site): admin only, reason required, audited."""
        _check_role(role)
        changes: dict[str, Any] = {"role": role}
        if site_id is not None:
            changes["site_id"] = site_id
        user = self._user_row(username)
        self.update_record(actor, "app_user", int(user["id"]), changes, int(user["version"]), reason, "cli")

    def set_password(
        self, actor: str, username: str, password: str, reason: str | None = "password change"
    ) -> None:
        """Set a password (a user may set their own; an admin anyone's)."""
        user = self._user_row(username)
        if actor != username:
            self.check(actor, Action.MANAGE_USERS, "set another user's password")
            self.update_record(
                actor,
                "app_user",
                int(user["id"]),
                {"password_hash": hash_password(password)},
                int(user["version"]),
                reason,
                "cli",
            )
            return
        with self.transaction(actor, "cli", reason) as tx:
            current = self._current(tx.connection, User, "app_user", int(user["id"]))
            self._apply_update(
                tx,
                User,
                "app_user",
                current,
                {"password_hash": hash_password(password)},
                int(current["version"]),
                _require_reason(reason, "password change"),
            )

    def verify_password(self, username: str, password: str) -> bool:
        """Whether `password` matches the user's stored argon2 hash (False for unknown users)."""
        from argon2 import PasswordHasher
        from argon2.exceptions import InvalidHashError, VerificationError

        with self._read() as connection:
            stored = connection.execute(
                select(User.password_hash).where(User.username == username, User.active.is_(True))
            ).scalar()
        if not stored:
            return False
        try:
            return bool(PasswordHasher().verify(stored, password))
        except (VerificationError, InvalidHashError):
            return False

    def _user_row(self, username: str) -> RowLike:
        with self._read() as connection:
            row = (
                connection.execute(select(_table_of(User)).where(User.username == username))
                .mappings()
                .first()
            )
        if row is None:
            raise InputError(Problem("unknown user", field="username", value=username))
        return row

    # -- queries --------------------------------------------------------------------------------------

    def raise_query(
        self, actor: str, table_name: str, record_id: int, text_: str, field_name: str | None = None
    ) -> str:
        """Raise a data query on one record (monitor, data manager, admin); returns its code ``Q-000001``."""
        model = _model(table_name)
        with self.transaction(actor, "cli") as tx:
            check(tx.actor.username, tx.actor.role, Action.RAISE_QUERY, "data query")
            current = self._current(tx.connection, model, table_name, record_id)
            if field_name is not None and field_name not in _columns(model):
                raise InputError(Problem("unknown field", field="field", value=field_name))
            count = tx.connection.execute(select(func.count()).select_from(_query_table())).scalar_one()
            code = f"Q-{int(count) + 1:06d}"
            subject = current.get(model.subject_column) if model.subject_column else None
            self.upsert_rows(
                tx,
                "data_query",
                [
                    {
                        "query_code": code,
                        "subject_id": subject,
                        "table_name": table_name,
                        "record_id": record_id,
                        "field": field_name,
                        "text": text_,
                        "status": "open",
                        "raised_by": tx.actor.username,
                        "raised_at": utc_now(),
                    }
                ],
            )
            return code

    def answer_query(self, actor: str, query_code: str, answer: str) -> None:
        """Answer an open query (investigator of the subject's site, data manager, admin)."""
        with self.transaction(actor, "cli", f"answer to query {query_code}") as tx:
            check(tx.actor.username, tx.actor.role, Action.ANSWER_QUERY, "data query")
            row = self._query_row(tx.connection, query_code)
            self._check_record_sites(tx, STUDY_TABLES["data_query"], "data_query", [row])
            self._apply_update(
                tx,
                STUDY_TABLES["data_query"],
                "data_query",
                row,
                {
                    "answer": answer,
                    "answered_by": tx.actor.username,
                    "answered_at": utc_now(),
                    "status": "answered",
                },
                int(row["version"]),
                f"answer to query {query_code}",
            )

    def close_query(self, actor: str, query_code: str, reason: str | None) -> None:
        """Close a query (monitor, data manager, admin; reason required)."""
        reason = _require_reason(reason, "query closure")
        with self.transaction(actor, "cli", reason) as tx:
            check(tx.actor.username, tx.actor.role, Action.RAISE_QUERY, "data query")
            row = self._query_row(tx.connection, query_code)
            self._apply_update(
                tx,
                STUDY_TABLES["data_query"],
                "data_query",
                row,
                {"status": "closed"},
                int(row["version"]),
                reason,
            )

    @staticmethod
    def _query_row(connection: Connection, query_code: str) -> RowLike:
        table = _query_table()
        row = connection.execute(select(table).where(table.c.query_code == query_code)).mappings().first()
        if row is None:
            raise InputError(Problem("unknown query", field="query", value=query_code))
        return row

    # -- imports and derived values -------------------------------------------------------------------

    def record_import(
        self,
        tx: Transaction,
        file_name: str,
        sha256: str,
        kind: str,
        row_counts: RowLike,
    ) -> int:
        """Write the manifest of one imported file (inside the import's transaction; audited: ``import``)."""
        check(tx.actor.username, tx.actor.role, Action.IMPORT, "import")
        now = utc_now()
        values = {
            "file_name": file_name,
            "sha256": sha256,
            "kind": kind,
            "row_counts": dict(row_counts),
            "imported_by": tx.actor.username,
            "imported_at": now,
            "reason": tx.reason,
        }
        table = _table_of(STUDY_TABLES["import_manifest"])
        manifest_id = tx.connection.execute(
            insert(table).returning(table.c.id),
            {**values, "created_at": now, "updated_at": now, "version": 1},
        ).scalar_one()
        tx.audit(
            "import",
            "import_manifest",
            int(manifest_id),
            None,
            audit_chain.INSERT_FIELD,
            None,
            _record_json(values),
        )
        return int(manifest_id)

    def store_derived(
        self, actor: str, rows: Sequence[RowLike], *, source: str, reason: str | None = None
    ) -> UpsertResult:
        """Persist engine results in `derived_value` (statistician or admin).

        Each row: `engine` (e.g. ``cartrial.grading.crs``), `engine_version` (the cartrial version),
        `options` (dict of the options used), `source_table`, `source_record_id`, `parameter`,
        `value_number` and/or `value_text`, `rule` (which rule fired and its source), `subject_id`,
        `clinical_date`, `computed_at`. Re-deriving with identical results writes nothing; a changed result
        is an audited update (reason defaults to "re-derived with cartrial <version>")."""
        with self.transaction(actor, source, reason or f"re-derived with cartrial {__version__}") as tx:
            check(tx.actor.username, tx.actor.role, Action.DERIVE, "derived values")
            return self.upsert_rows(tx, "derived_value", rows)


def _python_default(column: Column[Any]) -> Any:
    default: Any = column.default
    if default is None:
        return None
    if getattr(default, "is_callable", False):
        return default.arg(None)
    return getattr(default, "arg", None)


def _site_table() -> Any:
    return _table_of(STUDY_TABLES["site"])


def _query_table() -> Any:
    return _table_of(STUDY_TABLES["data_query"])


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InputError(Problem("unknown role", field="role", value=role, allowed=", ".join(ROLES)))


def hash_password(password: str) -> str:
    """An argon2id hash of `password` (argon2-cffi defaults, RFC 9106 low-memory profile)."""
    from argon2 import PasswordHasher

    if not password:
        raise InputError(Problem("empty password", field="password"))
    return str(PasswordHasher().hash(password))
