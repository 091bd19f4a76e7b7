"""The write transaction: the one handle through which data is written, bound to its acting user.

`open_transaction(engine, username, source, reason)` takes the chain lock first (SQLite `BEGIN IMMEDIATE`,
PostgreSQL transaction-scoped advisory lock), loads the acting user (role and site) once, the active data
lock and the audit chain head; these stay valid until commit. The `Transaction` it yields carries the
writes (`upsert_rows`, `insert_record`, `update_record`, `delete_record`, `record_import`), each checking the
bound user's permission, and queues the audit rows that are hash-chained onto the trail before commit, so
data and audit trail commit or roll back together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import repeat
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, select, text

from cartrial import __version__
from cartrial.errors import InternalError, PermissionDeniedError, Problem
from cartrial.store import audit as audit_chain
from cartrial.store import database
from cartrial.store.audit import AuditEntry
from cartrial.store.database import SQLITE_BEGIN_OPTION
from cartrial.store.locking import LockInfo, active_lock
from cartrial.store.models import User, utc_now
from cartrial.store.permissions import Action, check, check_write
from cartrial.store.tables import RowLike

if TYPE_CHECKING:
    from cartrial.store.bulk import UpsertResult
    from cartrial.store.writes import ValidatedUpdate

PENDING_BATCH_CHARS = 8_000_000
"""Queued batch audit rows are written once their documents hold this many characters."""
PG_CHAIN_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.cartrial.audit_chain'))"


@dataclass(frozen=True)
class Actor:
    """The acting user as loaded from `app_user`."""

    username: str
    role: str
    site_id: str | None


def load_actor(connection: Connection, username: str) -> Actor:
    """The user's role and site (`PermissionDeniedError` for unknown or deactivated users)."""
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


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A connection for reads: on SQLite in one read transaction (one consistent view); on PostgreSQL in
    autocommit mode, which reads the same as the default READ COMMITTED transaction (every statement sees the
    data committed when it starts) without the ``BEGIN`` and ``COMMIT`` round trips."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT")
            yield connection
            return
        with connection.begin():
            yield connection


@contextmanager
def open_transaction(
    engine: Engine, username: str, source: str, reason: str | None = None
) -> Iterator[Transaction]:
    """One atomic write transaction by `username` (see the module docstring); `source` says where the data
    came from (``cli``, ``import templates/infusions.csv sha256:…``); `reason` is used for every update made
    through it."""
    from cartrial.store.tables import check_reason, shows_nothing

    # a reason that shows nothing is none (D-19.819, D-19.724)
    reason = None if reason is None or shows_nothing(reason) else check_reason(reason)
    with engine.connect() as connection:
        backend = connection.dialect.name
        if backend == "sqlite":
            connection.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        with connection.begin():
            if backend == "postgresql":
                # wait for another writer as long as SQLite does, then fail in one line (not forever)
                connection.execute(text(f"SET LOCAL lock_timeout = {int(database.SQLITE_BUSY_TIMEOUT_MS)}"))
                connection.execute(text(PG_CHAIN_LOCK_SQL))
                connection.execute(text("SET LOCAL lock_timeout TO DEFAULT"))
            tx = Transaction(
                connection=connection,
                actor=load_actor(connection, username),
                source=source,
                reason=reason,
                lock=active_lock(connection),
                _head=audit_chain.read_head(connection),
            )
            yield tx
            tx.flush()


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
    _pending_chars: int = 0
    """Characters of the batch documents queued (flushed early past `PENDING_BATCH_CHARS`: flat memory)."""
    audit_rows_written: int = 0
    raised_queries: list[Any] = field(default_factory=list)
    """The data queries the edit checks raised in this transaction
    (`cartrial.store.edit_checks.RaisedQuery`, added by `record_queries`; D-19.130)."""
    unchecked: list[Problem] = field(default_factory=list)
    """The records an edit's checks could not read (a stored date no reader reads), by record and field,
    never the value (D-19.562)."""
    written_subjects: set[str] = field(default_factory=set)
    """The subjects whose records an import wrote in this transaction (`reconcile_queries` judges their
    edit-check queries at its end, D-19.164)."""
    _new_table_keys: dict[str, tuple[tuple[str, ...], set[tuple[Any, ...]]]] = field(default_factory=dict)
    """Per table that was empty when this transaction first upserted into it: the key columns used and
    every key inserted since, i.e. exactly the keys the table holds (later chunks skip the SELECT)."""

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return str(self.connection.dialect.name)

    def require(self, action: Action, what: str = "") -> None:
        """Raise `PermissionDeniedError` unless the bound user's role allows `action`."""
        check(self.actor.username, self.actor.role, action, what)

    def require_write(self, table_name: str, action: Action) -> None:
        """Raise `PermissionDeniedError` unless the bound user may make write `action` to `table_name`
        (`permissions.check_write`)."""
        check_write(self.actor.username, self.actor.role, table_name, action)

    # -- writes (the permission of each is checked against the bound user) ----------------------------

    def upsert_rows(
        self, table_name: str, rows: Sequence[RowLike], key_columns: Sequence[str] | None = None
    ) -> UpsertResult:
        """Bulk insert-or-update matched on the natural key (`cartrial.store.bulk.upsert_rows`); returns an
        `UpsertResult`. Inserts need the table's enter permission, updates its edit permission. Every row
        meets the checks of a single-record write — field rules, edit checks (hard ones refuse, soft ones
        raise data queries), protected tables, password columns, user names free in any case, the last
        active admin (after the whole call) — and a refused row writes nothing
        (`cartrial.store.writes.upsert_checked_rows`, D-19.430, D-19.432)."""
        from cartrial.store import writes
        from cartrial.store.tables import plain_rows

        return writes.upsert_checked_rows(self, table_name, plain_rows(rows, table_name), key_columns)

    def insert_record(self, table_name: str, values: RowLike) -> int:
        """Insert one new record (`ConflictError` if its natural key exists); returns its id."""
        from cartrial.store import writes

        return writes.insert_record(self, table_name, values)

    def update_record(
        self,
        table_name: str,
        record_id: int,
        changes: RowLike,
        expected_version: int,
        reason: str,
        validated: ValidatedUpdate | None = None,
    ) -> int:
        """Change fields of one record still at `expected_version`; returns the new version
        (`validated`: see `cartrial.store.writes.update_record`)."""
        from cartrial.store import writes

        self.require_write(table_name, Action.EDIT)
        return writes.update_record(self, table_name, record_id, changes, expected_version, reason, validated)

    def delete_record(
        self, table_name: str, record_id: int, reason: str, expected_version: int | None = None
    ) -> None:
        """Delete one record (audited with the whole record as the old value); `expected_version` as for
        `writes.delete_record` (D-19.817)."""
        from cartrial.store import writes

        self.require_write(table_name, Action.DELETE)
        writes.delete_record(self, table_name, record_id, reason, expected_version)

    def record_import(self, file_name: str, sha256: str, kind: str, row_counts: RowLike) -> int:
        """Write the manifest of one imported file (audited ``import``); returns its id."""
        from cartrial.store import provenance

        self.require(Action.IMPORT, "import")
        return provenance.record_import(self, file_name, sha256, kind, row_counts)

    # -- audit rows --------------------------------------------------------------------------------------

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

    def audit_batch(
        self,
        table_name: str,
        first_id: int,
        last_id: int,
        subject_id: str | None,
        records_json: str,
        recorded_at: dt.datetime,
    ) -> None:
        """Queue the batch row sealing the new records `first_id`..`last_id` of one subject
        (`audit.batch_json`; decisions D-19.10), with the transaction's reason."""
        self._pending.append(
            (
                recorded_at,
                self.actor.username,
                self.actor.role,
                audit_chain.BATCH_ACTION,
                table_name,
                first_id,
                subject_id,
                audit_chain.batch_field(first_id, last_id),
                None,
                records_json,
                self.reason,
                self.source,
                __version__,
            )
        )
        self._pending_chars += len(records_json)
        if len(self._pending) >= 50_000 or self._pending_chars >= PENDING_BATCH_CHARS:
            self.flush()

    def note_partial_checks(self, table_name: str, record_id: int, unseen: Sequence[Problem]) -> None:
        """Name the records `unseen` (those an insert's edit checks left out, D-19.643) in the reason of the
        still queued audit rows of the new record `record_id` of `table_name`
        (`stored_dates.partial_checks_reason`): an insert writes its audit row before its checks run. A
        single insert flushes the queue first (`writes.insert_record`), so its rows are still queued."""
        from cartrial.store.stored_dates import partial_checks_reason

        if not unseen:
            return
        fields = AuditEntry._fields
        at = {name: fields.index(name) for name in ("table_name", "record_id", "reason")}
        amended = 0
        for index, row in enumerate(self._pending):
            if row[at["table_name"]] == table_name and row[at["record_id"]] == record_id:
                reason = partial_checks_reason(row[at["reason"]] or "", unseen)
                entry = AuditEntry._make(row)._replace(reason=reason)
                self._pending[index] = entry if isinstance(row, AuditEntry) else tuple(entry)
                amended += 1
        if not amended:  # never a partial check the trail does not say
            raise InternalError(f"the audit row of {table_name} record {record_id} was not queued")

    def queued_highest_id(self, table_name: str) -> int:
        """The highest record id of `table_name` the audit rows still queued name (0: none): a row's
        `record_id`, a batch row's last id (`audit.batch_ids`). What the written trail does not yet tell
        `bulk.highest_id_given` — a record inserted and deleted earlier in this transaction (D-19.994)."""
        fields = AuditEntry._fields
        at_table, at_id = fields.index("table_name"), fields.index("record_id")
        at_action, at_field = fields.index("action"), fields.index("field")
        highest = 0
        for row in self._pending:
            if row[at_table] != table_name or row[at_id] is None:
                continue
            ids = audit_chain.batch_ids(
                {"action": row[at_action], "record_id": row[at_id], "field": row[at_field]}
            )
            highest = max(highest, int(row[at_id]), 0 if ids is None else ids[1])
        return highest

    def flush(self) -> None:
        """Write the queued audit rows onto the chain (inside this transaction)."""
        if self._pending:
            self.audit_rows_written += audit_chain.append(self.connection, self._head, self._pending)
            self._pending = []
            self._pending_chars = 0
