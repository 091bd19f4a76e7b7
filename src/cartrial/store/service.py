"""The study-data service: the one facade through which every front end (CLI, importer, a later web layer)
reads and writes the study database; it holds the permission checks.

The acting user is bound once: `StudyService(engine).as_user("alice")` returns a `StudyUser` whose calls
need no user argument; its writes run in one database transaction each, and
`StudyUser.transaction(source, reason)` opens a `Transaction` (the write handle, bound to the same user)
through which any number of writes commit atomically together with their audit rows:

    with service.as_user("dm").transaction("import …", "corrected lab units") as tx:
        tx.upsert_rows("lab_result", rows)

The work itself lives in one module per seam, each with its own tests:

- `cartrial.store.transaction`: the write transaction (chain lock, acting user, data lock, audit rows);
- `cartrial.store.bulk`: bulk upsert (idempotent on the natural key; SQLite fast path);
- `cartrial.store.writes`: single-record insert / update (optimistic concurrency) / delete;
- `cartrial.store.reads`: records, counts, the audit trail;
- `cartrial.store.locking`: the data lock at a cut-off and its snapshot hash;
- `cartrial.store.users`: users, roles, sites, passwords (argon2id);
- `cartrial.store.queries`: data queries;
- `cartrial.store.provenance`: import manifests and derived values.

The methods of `StudyService` that take the acting user as their first argument (or ``actor=``) are kept
for existing callers; each is ``self.as_user(actor).<same method>(…)``.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from cartrial import __version__
from cartrial.errors import ConflictError, InputError, Problem, StoredValueError
from cartrial.store import locking, provenance, queries, reads, users
from cartrial.store.audit import AuditVerification, verification_for_one_site, verify_chain
from cartrial.store.bulk import UpsertResult
from cartrial.store.database import connect, require_current_schema
from cartrial.store.edit_checks import Finding, RaisedQuery
from cartrial.store.locking import LockInfo
from cartrial.store.permissions import Action, allowed, check, check_write, read_action
from cartrial.store.tables import HOUSEKEEPING_COLUMNS, MASKED_COLUMNS, RowLike, model_of, require_reason
from cartrial.store.transaction import Actor, Transaction, load_actor, open_transaction, read_connection
from cartrial.store.users import hash_password

__all__ = [
    "HOUSEKEEPING_COLUMNS",
    "MASKED_COLUMNS",
    "Actor",
    "InitResult",
    "LockInfo",
    "StudyService",
    "StudyUser",
    "Transaction",
    "UpsertResult",
    "hash_password",
]


@dataclass(frozen=True)
class InitResult:
    """What `init_study` created."""

    study_code: str
    protocol_version: str
    protocol_sha256: str
    admin_username: str
    revision: str | None
    created: bool


class StudyService:
    """All reads and writes of one study database (see the module docstring).

    `engine` is a SQLAlchemy engine from `cartrial.store.connect`, or a URL. The schema must be at the
    shipped migration head (`cartrial db upgrade`); `check_schema=False` skips that check.
    """

    def __init__(
        self, engine: Engine | str | os.PathLike[str] | None = None, *, check_schema: bool = True
    ) -> None:
        self.engine = connect(engine)
        if check_schema:
            require_current_schema(self.engine)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def as_user(self, username: str, *, loaded: Actor | None = None) -> StudyUser:
        """The service acting as `username` (loaded and checked at each call: a role change or
        deactivation takes effect at once). `loaded`: the user's role and site as the caller has just
        loaded them from `app_user` (active users only; the web server's session check joins the user
        row): reads of this short-lived handle (one request) use it instead of loading the user again;
        write transactions always load the user inside the transaction."""
        return StudyUser(self, username, loaded=loaded)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection in one read transaction (no permission check: for callers that checked)."""
        with read_connection(self.engine) as connection:
            yield connection

    # -- checks that need no acting user ------------------------------------------------------------

    def actor(self, username: str) -> Actor:
        """The user's role and site (raises `PermissionDeniedError` for unknown or inactive users)."""
        with self.read() as connection:
            return load_actor(connection, username)

    def active_lock(self, *, zones: bool = True) -> LockInfo | None:
        """The active data lock, if any (`zones` False: without its subject → zone map, for a reader that
        only describes it; `locking.active_lock`)."""
        with self.read() as connection:
            return locking.active_lock(connection, zones=zones)

    def locked_snapshot_matches(self) -> bool | None:
        """Whether the records frozen by the active lock still hash to the stored snapshot (None: no lock)."""
        with self.read() as connection:
            return locking.snapshot_matches(connection)

    def verify_password(self, username: str, password: str) -> bool:
        """Whether `password` matches the user's stored argon2 hash (False for unknown users)."""
        with self.read() as connection:
            stored = users.active_password_hash(connection, username)
        return users.password_matches(stored, password)

    def table_counts(self, actor: str | None = None) -> dict[str, int]:
        """Row count of every table (study data, data_lock and audit_log). Counts name no subject and hold
        no value, so `actor` is optional (None: the whole study, the database holder's view); when given,
        the READ permission is checked and the counts are of what the actor may read (D-19.454)."""
        if actor is not None:
            return self.as_user(actor).table_counts()
        with self.read() as connection:
            return reads.table_counts(connection)

    def verify_audit(self, actor: str | None = None) -> AuditVerification:
        """Recompute the audit hash chain; `first_broken_id` names the first row that fails. An integrity
        check that reveals no data, so `actor` is optional; when given, the READ permission is checked."""
        if actor is not None:
            return self.as_user(actor).verify_audit()
        with self.read() as connection:
            return verify_chain(connection)

    # -- kept for existing callers: the acting user as an argument ---------------------------------

    def transaction(
        self, actor: str, source: str, reason: str | None = None
    ) -> AbstractContextManager[Transaction]:
        """`as_user(actor).transaction(source, reason)`."""
        return self.as_user(actor).transaction(source, reason)

    def upsert_rows(
        self,
        tx: Transaction,
        table_name: str,
        rows: Sequence[RowLike],
        key_columns: Sequence[str] | None = None,
    ) -> UpsertResult:
        """`tx.upsert_rows(table_name, rows, key_columns)`."""
        return tx.upsert_rows(table_name, rows, key_columns)

    def record_import(
        self, tx: Transaction, file_name: str, sha256: str, kind: str, row_counts: RowLike
    ) -> int:
        """`tx.record_import(file_name, sha256, kind, row_counts)`."""
        return tx.record_import(file_name, sha256, kind, row_counts)

    def check(self, actor: str, action: Action, what: str = "") -> Actor:
        return self.as_user(actor).check(action, what)

    def insert_record(
        self,
        actor: str,
        table_name: str,
        values: RowLike,
        source: str = "api",
        *,
        raised: list[RaisedQuery] | None = None,
        unchecked: list[Problem] | None = None,
    ) -> int:
        return self.as_user(actor).insert_record(
            table_name, values, source, raised=raised, unchecked=unchecked
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
        *,
        raised: list[RaisedQuery] | None = None,
        unchecked: list[Problem] | None = None,
    ) -> int:
        return self.as_user(actor).update_record(
            table_name,
            record_id,
            changes,
            expected_version,
            reason,
            source,
            raised=raised,
            unchecked=unchecked,
        )

    def delete_record(
        self,
        actor: str,
        table_name: str,
        record_id: int,
        reason: str | None,
        source: str = "api",
        *,
        raised: list[RaisedQuery] | None = None,
        unchecked: list[Problem] | None = None,
        expected_version: int | None = None,
    ) -> None:
        self.as_user(actor).delete_record(
            table_name,
            record_id,
            reason,
            source,
            raised=raised,
            unchecked=unchecked,
            expected_version=expected_version,
        )

    def get_record(self, actor: str, table_name: str, record_id: int) -> dict[str, Any]:
        return self.as_user(actor).get_record(table_name, record_id)

    def find_records(self, actor: str, table_name: str, **equals: Any) -> list[dict[str, Any]]:
        return self.as_user(actor).find_records(table_name, **equals)

    def audit_history(self, subject_id: str, *, actor: str) -> list[dict[str, Any]]:
        return self.as_user(actor).audit_history(subject_id)

    def audit_rows(self, *, actor: str, since_id: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        return self.as_user(actor).audit_rows(since_id=since_id, limit=limit)

    def lock(self, actor: str, cutoff: dt.date, reason: str | None, source: str = "api") -> LockInfo:
        return self.as_user(actor).lock(cutoff, reason, source)

    def unlock(self, actor: str, reason: str | None, source: str = "api") -> LockInfo:
        return self.as_user(actor).unlock(reason, source)

    def add_site(
        self,
        actor: str,
        site_id: str,
        name: str | None = None,
        country: str | None = None,
        time_zone: str | None = None,
    ) -> int:
        return self.as_user(actor).add_site(site_id, name, country, time_zone)

    def add_user(
        self,
        actor: str,
        username: str,
        role: str,
        site_id: str | None = None,
        password: str | None = None,
        full_name: str | None = None,
    ) -> int:
        return self.as_user(actor).add_user(username, role, site_id, password, full_name)

    def set_role(
        self, actor: str, username: str, role: str, reason: str | None, site_id: str | None = None
    ) -> None:
        self.as_user(actor).set_role(username, role, reason, site_id)

    def set_password(
        self, actor: str, username: str, password: str, reason: str | None = "password change"
    ) -> None:
        self.as_user(actor).set_password(username, password, reason)

    def raise_query(
        self, actor: str, table_name: str, record_id: int, text_: str, field_name: str | None = None
    ) -> str:
        return self.as_user(actor).raise_query(table_name, record_id, text_, field_name)

    def answer_query(self, actor: str, query_code: str, answer: str) -> None:
        self.as_user(actor).answer_query(query_code, answer)

    def close_query(self, actor: str, query_code: str, reason: str | None) -> None:
        self.as_user(actor).close_query(query_code, reason)

    def store_derived(
        self, actor: str, rows: Sequence[RowLike], *, source: str, reason: str | None = None
    ) -> UpsertResult:
        return self.as_user(actor).store_derived(rows, source=source, reason=reason)


def _collect(raised: list[RaisedQuery] | None, tx: Transaction) -> None:
    """Add the data queries committed by `tx` to the caller's list `raised` (if any)."""
    if raised is not None:
        raised.extend(tx.raised_queries)


class StudyUser:
    """The study service acting as one user: every call checks that user's permission first."""

    def __init__(self, service: StudyService, username: str, *, loaded: Actor | None = None) -> None:
        self.service = service
        self.username = username
        self._loaded = loaded if loaded is not None and loaded.username == username else None

    @property
    def engine(self) -> Engine:
        return self.service.engine

    @contextmanager
    def transaction(self, source: str, reason: str | None = None) -> Iterator[Transaction]:
        """One atomic write transaction by this user (`cartrial.store.transaction.open_transaction`)."""
        with open_transaction(self.engine, self.username, source, reason) as tx:
            yield tx

    def _write(self, source: str, reason: str | None = None) -> AbstractContextManager[Transaction]:
        return open_transaction(self.engine, self.username, source, reason)

    def check(self, action: Action, what: str = "") -> Actor:
        """Raise `PermissionDeniedError` unless this user may perform `action`; returns the user."""
        user = self._loaded or self.service.actor(self.username)
        check(user.username, user.role, action, what)
        return user

    def check_write(self, table_name: str, action: Action) -> None:
        """Raise `PermissionDeniedError` unless this user may make write `action` (enter, edit, delete) to
        `table_name` (`permissions.check_write`, the check the write itself makes): a front end calls it
        before it reads the values of a write, so a write the role may not make is refused first
        (D-19.725)."""
        user = self._loaded or self.service.actor(self.username)
        check_write(user.username, user.role, table_name, action)

    # -- single-record writes -----------------------------------------------------------------------

    def insert_record(
        self,
        table_name: str,
        values: RowLike,
        source: str = "api",
        *,
        raised: list[RaisedQuery] | None = None,
        unchecked: list[Problem] | None = None,
    ) -> int:
        """Insert one new record (`ConflictError` if its natural key exists); returns its id. Needs the
        table's enter permission (`permissions.write_action`). `raised`: a list the data queries the
        write's edit checks raised are added to, once committed (D-19.130); `unchecked` as for
        `update_record` (D-19.643)."""
        with self._write(source) as tx:
            record_id = int(tx.insert_record(table_name, values))
        _collect(raised, tx)
        if unchecked is not None:
            unchecked.extend(tx.unchecked)
        return record_id

    def update_record(
        self,
        table_name: str,
        record_id: int,
        changes: RowLike,
        expected_version: int,
        reason: str | None,
        source: str = "api",
        *,
        raised: list[RaisedQuery] | None = None,
        unchecked: list[Problem] | None = None,
    ) -> int:
        """Change fields of one record, if it is still at `expected_version`; returns the new version;
        `raised` as for `insert_record`; `unchecked`: a list the records the edit's checks could not
        read are added to (by record and field, never the value, D-19.562).

        Stale version -> `ConflictError` (reload and retry); locked record -> `ConflictError` naming the lock;
        missing reason -> `InputError`. Unchanged values are ignored (no change, no audit row)."""
        from cartrial.store.writes import prevalidate_update

        reason = require_reason(reason, "update")
        # the costly field validation before the audit-chain lock (re-checked inside when the record
        # changed meanwhile): concurrent writers wait on each other only for the write itself
        with self.service.read() as connection:
            validated = prevalidate_update(connection, table_name, record_id, changes)
        with self._write(source, reason) as tx:
            version = int(
                tx.update_record(table_name, record_id, changes, expected_version, reason, validated)
            )
        _collect(raised, tx)
        if unchecked is not None:
            unchecked.extend(tx.unchecked)
        return version

    def preview_write_checks(
        self,
        table_name: str,
        values: RowLike,
        record_id: int | None = None,
        unchecked: list[Problem] | None = None,
    ) -> list[Finding]:
        """The edit checks across forms that saving `values` (a new record, or changes to `record_id`)
        would fire, nothing written (`cartrial.store.writes.preview_write_checks`; READ permission);
        `unchecked` as there (D-19.650)."""
        from cartrial.store.writes import preview_write_checks

        model_of(table_name)  # unknown table: InputError before the permission check
        actor = self.check(read_action(table_name), table_name)  # the accounts: D-19.906
        if table_name == "escalation_decision" and not allowed(actor.role, Action.RECORD_ESCALATION):
            return []  # its check reads every site's infusions: only for who may record one (D-19.822)
        with self.service.read() as connection:
            return preview_write_checks(connection, table_name, values, record_id, unchecked)

    def delete_record(
        self,
        table_name: str,
        record_id: int,
        reason: str | None,
        source: str = "api",
        *,
        raised: list[RaisedQuery] | None = None,
        unchecked: list[Problem] | None = None,
        expected_version: int | None = None,
    ) -> None:
        """Delete one record (audited with the whole record as the old value); reason required; `raised`
        as for `insert_record` (a delete's reconciling checks raise queries on remaining records,
        D-19.103); `unchecked` as for `update_record` (D-19.562); `expected_version`: the version the
        deleter read, a record changed since is refused (`StaleVersionError`, D-19.817)."""
        reason = require_reason(reason, "delete")
        with self._write(source, reason) as tx:
            tx.delete_record(table_name, record_id, reason, expected_version)
        _collect(raised, tx)
        if unchecked is not None:
            unchecked.extend(tx.unchecked)

    # -- reads --------------------------------------------------------------------------------------

    def get_record(self, table_name: str, record_id: int) -> dict[str, Any]:
        """One record with its `id` and `version`, never its password hash (READ permission); a
        site-restricted user's read of another site's record is refused as for an unknown id
        (`reads.get_record`, D-19.428)."""
        model_of(table_name)  # unknown table: InputError before the permission check
        self.check(read_action(table_name), table_name)
        with self.service.read() as connection:
            return reads.get_record(
                connection,
                table_name,
                record_id,
                self._read_sites(connection, table_name),
                self._hidden(connection),
            )

    def find_records(self, table_name: str, **equals: Any) -> list[dict[str, Any]]:
        """Records of `table_name` whose columns equal the given values, in id order, never a password
        hash (READ permission); a site-restricted user finds only their own site's records, the
        condition of `table_counts` (`reads.find_records`, D-19.428)."""
        model_of(table_name)  # unknown table: InputError before the permission check
        self.check(read_action(table_name), table_name)
        with self.service.read() as connection:
            return reads.find_records(
                connection,
                table_name,
                equals,
                self._read_sites(connection, table_name),
                self._hidden(connection),
            )

    def held_key_refusal(self, table_name: str, values: RowLike) -> ConflictError | None:
        """The refusal a save of the new record `values` would meet because another site's record holds its
        key (`permissions.held_key_refusal`, D-19.297), None otherwise (READ permission); nothing of
        that record is returned."""
        from cartrial.store.permissions import held_key_refusal
        from cartrial.store.writes import find_by_key, record_sites

        model = model_of(table_name)
        keys = model.natural_key
        self.check(read_action(table_name), table_name)  # the accounts: user administration (D-19.906)
        if not keys or any(values.get(k) is None for k in keys):
            return None
        with self.service.read() as connection:
            held = find_by_key(connection, model, values, keys)
            if held is None:
                return None
            given = ", ".join(str(values[k]) for k in keys)
            sites = record_sites(connection, model, [held])
            return held_key_refusal(table_name, keys, {given: sites}, self._read_sites(connection))

    def read_sites(self) -> tuple[str | None, ...] | None:
        """The sites whose subjects this user may read: None (every site), or the user's own site for the
        site-restricted roles (`permissions.SITE_RESTRICTED_ROLES`; a front end lists no other site's
        subjects, the same restriction as on writes)."""
        with self.service.read() as connection:
            return self._read_sites(connection)

    def _read_sites(
        self, connection: Connection, table_name: str | None = None
    ) -> tuple[str | None, ...] | None:
        """`read_sites` on an open read connection (the user loaded in the same transaction). `table_name`:
        the records read are that table's, whose read may need more than READ (the user accounts need
        MANAGE_USERS, `permissions.read_action`, D-19.906)."""
        from cartrial.store.permissions import readable_sites

        user = self._loaded or load_actor(connection, self.username)
        check(user.username, user.role, Action.READ, "study data")
        if table_name is not None and read_action(table_name) is not Action.READ:
            check(user.username, user.role, read_action(table_name), table_name)
        return readable_sites(user.role, user.site_id)

    def _hidden(self, connection: Connection) -> tuple[str, ...]:
        """The tables whose records this user may not read though they read the study data: no data query
        on them is theirs to read or answer (`permissions.unreadable_tables`, D-19.913)."""
        from cartrial.store.permissions import unreadable_tables

        user = self._loaded or load_actor(connection, self.username)
        return unreadable_tables(user.role)

    def page_records(
        self,
        table_name: str,
        *,
        equals: dict[str, Any] | None = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        limit: int | None = None,
        offset: int = 0,
        sites: Sequence[str] | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of records and the count of all matching (READ permission; `reads.page_records`).
        Site-restricted roles see only their own site's subjects; `sites` narrows further."""
        model_of(table_name)
        with self.service.read() as connection:
            allowed_sites = self._read_sites(connection, table_name)
            if sites is not None:
                wanted = tuple(sites)
                allowed_sites = (
                    wanted if allowed_sites is None else tuple(s for s in wanted if s in allowed_sites)
                )
            return reads.page_records(
                connection,
                table_name,
                equals=equals,
                sites=allowed_sites,
                date_from=date_from,
                date_to=date_to,
                limit=limit,
                offset=offset,
                hidden=self._hidden(connection),
            )

    def visible_record(self, table_name: str, record_id: int) -> dict[str, Any]:
        """`get_record` without its READ check (the web checks the route's permission): a site-restricted
        user's read of another site's record is refused as for an unknown id (`reads.get_record`)."""
        model_of(table_name)
        with self.service.read() as connection:
            return reads.get_record(
                connection,
                table_name,
                record_id,
                self._read_sites(connection, table_name),
                self._hidden(connection),
            )

    def table_counts(self) -> dict[str, int]:
        """Row count of every table (READ permission); a site-restricted user counts only their sites'
        records and audit rows (`reads.table_counts`, D-19.418); the data queries and audit rows the user
        may not read are not counted (those about the user accounts without MANAGE_USERS): each count is
        the length of the user's own list (D-19.991)."""
        with self.service.read() as connection:
            sites, accounts = self._audit_scope(connection)
            return reads.table_counts(connection, sites, self._hidden(connection), accounts)

    def _audit_scope(self, connection: Connection) -> tuple[tuple[str | None, ...] | None, bool]:
        """The audit rows this user may read (READ permission): their sites' (`read_sites`) and whether
        the user accounts' rows too (a role that manages users; `reads.audit_reader_condition`, D-19.837)."""
        sites = self._read_sites(connection)
        user = self._loaded or load_actor(connection, self.username)
        return sites, allowed(user.role, Action.MANAGE_USERS)

    def audit_history(self, subject_id: str) -> list[dict[str, Any]]:
        """Every audit row about subject `subject_id` (its subject record and all its data), in order
        (READ permission). Another site's subject, for a site-restricted user: no rows, as a subject no one
        ever had (`reads.audit_site_condition`, D-19.418)."""
        with self.service.read() as connection:
            sites, accounts = self._audit_scope(connection)
            return reads.audit_history(connection, subject_id, sites, accounts=accounts)

    def record_audit(self, table_name: str, record_id: int) -> list[dict[str, Any]]:
        """Every audit row about one record, in order (READ permission). A site-restricted user gets only
        the rows of their sites (`reads.audit_site_condition`: a record of another site's subject or
        another site's record has none, a deleted one by the subject named in its audit rows); a user
        account's rows only a role that manages users (D-19.837), as a record with no rows to others."""
        model_of(table_name)
        with self.service.read() as connection:
            allowed_sites, accounts = self._audit_scope(connection)
            rows = reads.record_audit(connection, table_name, record_id)
            if (allowed_sites is None and accounts) or not rows:
                return rows
            visible = reads.visible_audit_ids(
                connection, [int(r["id"]) for r in rows], allowed_sites, accounts
            )
        return [row for row in rows if int(row["id"]) in visible]

    def record_trail(self, table_name: str, record_id: int) -> tuple[list[dict[str, Any]], bool]:
        """The audit trail of one record this user may see (`record_audit`) and whether the record is
        stored now: the one rule of the record's trail in the web page, the API and `cartrial audit log
        --table --record` (D-19.1038). The trail is found when the record is stored and visible
        (`visible_record`; a stored value no reader reads does not hide it: the trail reads none of its
        values) or when it was deleted and the user sees its deletion row; else an `InputError` at ``id``,
        the same words for an id no record had and for another site's record, with no value (D-19.174)."""
        try:
            self.visible_record(table_name, record_id)
            stored = True
        except StoredValueError:
            stored = True
        except InputError:
            stored = False
        rows = self.record_audit(table_name, record_id)
        if not stored and not any(row.get("action") == "delete" for row in rows):
            raise InputError(
                Problem(
                    f"no {table_name} record with this id that you may see",
                    field="id",
                    allowed="the id of a record you may see, stored or deleted",
                )
            )
        return rows, stored

    def audit_rows(self, since_id: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """Audit rows in chain order (for review listings; READ permission): a site-restricted user's
        only of their sites (`reads.audit_site_condition`, D-19.418); the user accounts' rows only to a
        role that manages users (D-19.837)."""
        with self.service.read() as connection:
            sites, accounts = self._audit_scope(connection)
            return reads.audit_rows(connection, since_id, limit, sites, accounts=accounts)

    def last_audit_rows(self, limit: int) -> list[dict[str, Any]]:
        """The newest `limit` audit rows this user may read, in chain order (READ permission; as
        `audit_rows`)."""
        with self.service.read() as connection:
            sites, accounts = self._audit_scope(connection)
            return reads.audit_rows(connection, 0, limit, sites, last=True, accounts=accounts)

    def verify_audit(self) -> AuditVerification:
        """Recompute the audit hash chain (READ permission). A site-restricted user is told whether the
        chain verifies, not how many rows the study's trail holds, where it breaks or its head hash: those
        move with every other site's entries (`audit.verification_for_one_site`, D-19.411)."""
        with self.service.read() as connection:
            allowed_sites = self._read_sites(connection)  # the READ permission
            result = verify_chain(connection)
        return result if allowed_sites is None else verification_for_one_site(result)

    # -- lock ---------------------------------------------------------------------------------------

    def lock(self, cutoff: dt.date, reason: str | None, source: str = "api") -> LockInfo:
        """Freeze every record dated on or before `cutoff` (statistician or admin; reason required).

        Stores a SHA-256 of the frozen records (canonical JSON) with the lock: the locked snapshot can be
        re-hashed later (`StudyService.locked_snapshot_matches`)."""
        reason = require_reason(reason, "lock")
        with self._write(source, reason) as tx:
            tx.require(Action.LOCK, "data lock")
            return locking.lock(tx, cutoff, reason)

    def unlock(self, reason: str | None, source: str = "api") -> LockInfo:
        """Lift the active lock (admin only; reason required; audited). Returns the lock that was lifted."""
        reason = require_reason(reason, "unlock")
        with self._write(source, reason) as tx:
            tx.require(Action.UNLOCK, "data lock")
            return locking.unlock(tx, reason)

    # -- users, sites -------------------------------------------------------------------------------

    def add_site(
        self,
        site_id: str,
        name: str | None = None,
        country: str | None = None,
        time_zone: str | None = None,
    ) -> int:
        """Add a clinical site (admin or data manager); `time_zone`: its IANA zone (D-19.285)."""
        return self.insert_record("site", users.new_site(site_id, name, country, time_zone), "cli")

    def add_user(
        self,
        username: str,
        role: str,
        site_id: str | None = None,
        password: str | None = None,
        full_name: str | None = None,
    ) -> int:
        """Add a user (admin only); investigators need a site. The password is stored as an argon2id hash
        (the one path that writes a new user's hash: the generic writes refuse it as a field, D-19.432)."""
        from cartrial.store.writes import insert_record

        self.check_write("app_user", Action.ENTER)  # before the name, role and site are judged (D-19.910)
        values = users.new_user(username, role, site_id, password, full_name)
        password_hash = values.pop("password_hash", None)
        with self._write("cli") as tx:
            return insert_record(tx, "app_user", values, password_hash=password_hash)

    def set_role(self, username: str, role: str, reason: str | None, site_id: str | None = None) -> None:
        """Change a user's role (and site): admin only, reason required, audited."""
        self.change_user(username, reason, role=role, site_id=site_id)

    def change_user(
        self,
        username: str,
        reason: str | None,
        *,
        role: str | None = None,
        site_id: str | None = None,
        active: bool | None = None,
    ) -> None:
        """Change a user's role, site and active flag as ONE audited update (admin only, reason required):
        every change is judged on the account as it would be after all of them (the last active admin, the
        site's existence, the actor's permission before any is written) and written together or not at all
        (D-19.835), the site rule too (`writes.check_user_site`, in the write: D-19.884). `site_id` alone
        keeps the role. A deactivated user's sessions end after the write
        (`cartrial.store.auth.end_sessions_of`)."""
        from cartrial.store.auth import end_sessions_of

        self.check_write("app_user", Action.EDIT)  # before the account is looked up (D-19.911)
        changes: dict[str, Any] = {} if role is None else users.role_change(role, site_id)  # role first
        with self.service.read() as connection:
            user = users.user_row(connection, username)
        if role is None and site_id is not None:
            changes.update(users.role_change(str(user["role"]), site_id))
        if active is not None:
            changes["active"] = bool(active)
        if not changes:
            raise InputError(Problem("nothing to change", field="role", allowed="role, site_id or active"))
        self.update_record("app_user", int(user["id"]), changes, int(user["version"]), reason, "cli")
        if active is False:
            end_sessions_of(self.engine, username)

    def set_password(self, username: str, password: str, reason: str | None = "password change") -> None:
        """Set a password (a user may set their own; an admin anyone's). Another user's password needs
        MANAGE_USERS, checked before the account is looked up: a role that may not manage users is refused
        alike whether the account exists or not (D-19.911); an unknown user is then an `InputError`."""
        if username != self.username:
            self.check(Action.MANAGE_USERS, "set another user's password")
            reason = require_reason(reason, "update")
        else:
            reason = require_reason(reason, "password change")
        with self.service.read() as connection:
            users.user_row(connection, username)  # unknown user: InputError (after the permission check)
        with self._write("cli", reason) as tx:
            users.set_password(tx, username, password, reason)

    def set_active(self, username: str, active: bool, reason: str | None) -> None:
        """Deactivate (or reactivate) a user: admin only, reason required, audited. A deactivated user can
        no longer log in and their sessions end (`cartrial.store.auth.end_sessions_of`)."""
        self.change_user(username, reason, active=bool(active))

    def list_users(self) -> list[dict[str, Any]]:
        """Every user without the password hash (MANAGE_USERS: the user accounts are read only by a role
        that manages users, `permissions.read_action`, D-19.906)."""
        rows = self.find_records("app_user")
        return [{k: v for k, v in row.items() if k not in MASKED_COLUMNS} for row in rows]

    # -- queries ------------------------------------------------------------------------------------

    def raise_query(self, table_name: str, record_id: int, text: str, field_name: str | None = None) -> str:
        """Raise a data query on one record (monitor, data manager, admin); returns its code ``Q-000001``."""
        model_of(table_name)  # unknown table: InputError before the permission check
        with self._write("cli") as tx:
            tx.require(Action.RAISE_QUERY, "data query")
            if read_action(table_name) is not Action.READ:  # a record the user may not read (D-19.906)
                tx.require(read_action(table_name), f"data query on {table_name} records")
            return queries.raise_query(tx, table_name, record_id, text, field_name)

    def answer_query(self, query_code: str, answer: str) -> None:
        """Answer an open query (investigator of the subject's site, data manager, admin)."""
        with self._write("cli", f"answer to query {query_code}") as tx:
            tx.require(Action.ANSWER_QUERY, "data query")
            queries.answer_query(tx, query_code, answer, self._hidden(tx.connection))

    def close_query(self, query_code: str, reason: str | None) -> None:
        """Close a query (monitor, data manager, admin; reason required)."""
        reason = require_reason(reason, "query closure")
        with self._write("cli", reason) as tx:
            tx.require(Action.RAISE_QUERY, "data query")
            queries.close_query(tx, query_code, reason, self._hidden(tx.connection))

    # -- derived values -----------------------------------------------------------------------------

    def store_derived(
        self, rows: Sequence[RowLike], *, source: str, reason: str | None = None
    ) -> UpsertResult:
        """Persist engine results in `derived_value` (statistician or admin).

        Each row: `engine` (e.g. ``cartrial.grading.crs``), `engine_version` (the cartrial version),
        `options` (dict of the options used), `source_table`, `source_record_id`, `parameter`,
        `value_number` and/or `value_text`, `rule` (which rule fired and its source), `subject_id`,
        `clinical_date`, `computed_at`. Re-deriving with identical results writes nothing; a changed result
        is an audited update (reason defaults to "re-derived with cartrial <version>")."""
        with self._write(source, reason or f"re-derived with cartrial {__version__}") as tx:
            tx.require(Action.DERIVE, "derived values")
            return provenance.store_derived(tx, rows)
