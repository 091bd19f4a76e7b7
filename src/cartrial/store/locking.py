"""The data lock: freeze every record dated on or before a cut-off, with a hash of the frozen snapshot.

`lock(tx, cutoff, reason)` stores a SHA-256 of the frozen records (canonical JSON, id order, per table) with
the lock, so the locked snapshot can be re-hashed later (`snapshot_matches`). Records are frozen by their
clinical date column (`StudyData.clinical_date_column`): dates up to the cut-off, date-times whose date on the
calendar of their subject's site is on or before it — the snapshot's one cut-off rule
(`cartrial.store.snapshot.on_or_before_cutoff`, D-19.729, D-19.730). Writes that would insert, change or
delete a frozen record are refused by the write modules (`is_locked`). `unlock(tx, reason)` lifts the lock
(audited).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.sql.elements import ColumnElement

from cartrial.errors import ConflictError, InputError, Problem
from cartrial.store.audit import canonical_json
from cartrial.store.models import STUDY_TABLES, DataLock, Site, StudyData, Subject, utc_now
from cartrial.store.tables import RowLike, columns_of, is_datetime, table_of

if TYPE_CHECKING:
    from cartrial.store.transaction import Transaction


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
    zones: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    """subject_id → IANA zone of the subject's site (`lock_zones`): the calendar `is_locked` reads a
    date-time's date on (D-19.730). Not part of the lock's description (`fields`)."""

    SITE_FIELDS: ClassVar[tuple[str, ...]] = ("id", "cutoff", "locked_by", "locked_at", "reason")
    """What a site-restricted user reads of the lock (the web banner, `db summary`: which lock, the cut-off,
    who, when and why); the digest and the number of every site's locked records are not theirs (D-19.453,
    D-19.485)."""

    def fields(self, sites: tuple[str | None, ...] | None = None) -> dict[str, Any]:
        """The lock as field -> value: every field (`sites` None: a study-wide reader), or for a reader of
        `sites` only `SITE_FIELDS`."""
        values = {k: v for k, v in vars(self).items() if k != "zones"}
        return values if sites is None else {k: values[k] for k in self.SITE_FIELDS}

    def describe(self) -> str:
        return (
            f"data lock #{self.id} at cut-off {self.cutoff.isoformat()} "
            f"(by {self.locked_by} on {self.locked_at:%Y-%m-%d %H:%M} UTC: {self.reason})"
        )


def is_locked(model: type[StudyData], values: RowLike, lock: LockInfo | None) -> bool:
    """Whether a record with these values is frozen by `lock` (its clinical date on or before the cut-off)."""
    column = model.clinical_date_column
    if lock is None or column is None:
        return False
    value = values.get(column)
    if value is None:
        return False
    if isinstance(value, dt.date):  # a date as typed; a date-time on its subject's site calendar (D-19.730)
        from cartrial.store.snapshot import on_or_before_cutoff

        return bool(on_or_before_cutoff([value], [values.get("subject_id")], lock.zones, lock.cutoff)[0])
    return False


def _zone_text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def refuse_calendar_change(
    lock: LockInfo | None,
    model: type[StudyData],
    record: str,
    before: RowLike | None,
    after: RowLike | None,
    connection: Connection,
) -> None:
    """While `lock` is active, refuse (`ConflictError`, naming the record, the field and the lock) a write
    that changes the calendar the lock reads a date-time's date on (D-19.733): the ``time_zone`` of a site
    that has subjects changed or cleared, and a subject's ``site_id`` changed. Either would silently change
    which records are frozen (the locked hash then no longer verifies); the audited way is unlock, change,
    lock again. A site without subjects dates no record, so its zone may be set or changed, and inserting
    a site (it has no subjects yet) or deleting one (a site with subjects cannot be deleted) is accepted.
    `before`/`after`: the record before and after the write (None: inserted / deleted)."""
    if lock is None:
        return
    field_name = "time_zone" if model is Site else "site_id" if model is Subject else None
    if field_name is None or before is None or after is None:
        return  # a new site or subject is read on its calendar from the start; a deleted one dates nothing
    if _zone_text(before.get(field_name)) == _zone_text(after.get(field_name)):
        return
    if model is Site:
        site = before.get("site_id")
        held = connection.execute(select(Subject.id).where(Subject.site_id == site).limit(1)).first()
        if held is None:
            return  # no subject is dated on this site's calendar
    raise ConflictError(
        f"{record}: its {field_name} sets the calendar on which {lock.describe()} dates the records it "
        "freezes, so it cannot change while the lock is active; an admin must unlock (with a reason), "
        "change it, and lock again"
    )


def lock_zones(connection: Connection) -> dict[str, str]:
    """subject_id → IANA zone of the subject's site, the calendar the lock compares a date-time with its
    cut-off on (`cartrial.store.snapshot.subject_site_zones`, D-19.730). A stored zone the zoneinfo
    database does not know is left out here (that subject's date-times in UTC) rather than refused: the
    lock is read by every write, and a write elsewhere in the study must not be refused for it; the
    snapshot, the analysis, the store's checks and taking a lock (`snapshot`, strict) refuse such a zone,
    located by its site. Its repair changes the site's zone, which an active lock refuses
    (`refuse_calendar_change`): unlock, repair, lock again (D-19.733)."""
    from cartrial.store.snapshot import subject_site_zones

    return subject_site_zones(connection, strict=False)


def locked_condition(model: type[StudyData], cutoff: dt.date) -> ColumnElement[bool] | None:
    """SQL condition selecting the records of `model` that may be frozen at `cutoff` (None: the table is
    never locked): a date column exactly (on or before the cut-off); a date-time column a superset, every
    instant before the end of the UTC day after the cut-off (every zone is within a day of UTC), which
    `snapshot` narrows to those on or before the cut-off on their site's calendar (D-19.730)."""
    name = model.clinical_date_column
    if name is None:
        return None
    column = columns_of(model)[name]
    if is_datetime(column):
        if cutoff >= dt.date.max:  # the end of the last representable day: every dated record
            return column.is_not(None)
        if cutoff >= dt.date.max - dt.timedelta(days=1):
            return column.is_not(None)
        # generous: up to the end of the next UTC day (every zone is within a day of UTC); `snapshot`
        # then keeps exactly those on or before the cut-off on their site's calendar (D-19.730)
        end = dt.datetime.combine(cutoff + dt.timedelta(days=2), dt.time(), tzinfo=dt.UTC)
        return column < end
    return column <= cutoff


def active_lock(connection: Connection, *, zones: bool = True) -> LockInfo | None:
    """The active data lock, if any. `zones` False: without its subject → zone map (`LockInfo.zones`
    empty), for a reader that only describes the lock (the page banner, `db summary`): the map reads every
    subject, and only `is_locked` needs it."""
    table = table_of(DataLock)
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
        zones=lock_zones(connection) if zones else {},
    )


def snapshot(connection: Connection, cutoff: dt.date, *, strict: bool = False) -> tuple[str, int]:
    """SHA-256 (hex) of every record frozen at `cutoff` and their number. `strict` (taking a lock): a stored
    zone the zoneinfo database does not know is refused, located by its site, as `read_snapshot` refuses
    it (D-19.733); otherwise (re-hashing under an active lock, whose zones cannot change) `lock_zones`.
    Rows are hashed as they are read (no list of every row; no server-side cursor: a read connection on
    PostgreSQL is in autocommit mode); only a date-time whose UTC date is the cut-off or the day after is
    read on its site's clock (earlier ones are on or before the cut-off on every calendar)."""
    from cartrial.store.snapshot import on_or_before_cutoff, subject_site_zones

    digest = hashlib.sha256()
    count = 0
    zones = subject_site_zones(connection, strict=True) if strict else lock_zones(connection)
    for name, model in sorted(STUDY_TABLES.items()):
        condition = locked_condition(model, cutoff)
        if condition is None:
            continue
        table = table_of(model)
        digest.update(f"\n#{name}\n".encode())
        column = model.clinical_date_column or ""
        exact = bool(column) and is_datetime(columns_of(model)[column])
        query = select(table).where(condition).order_by(table.c.id)
        for row in connection.execute(query).mappings():
            if exact:
                value = row[column]
                sure = (
                    isinstance(value, dt.datetime)
                    and (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).date()
                    < cutoff
                )
                # the exact rule near the cut-off: the date on the subject's site calendar (D-19.730)
                if not sure and not on_or_before_cutoff([value], [row.get("subject_id")], zones, cutoff)[0]:
                    continue
            values = {k: v for k, v in row.items() if k not in ("created_at", "updated_at")}
            digest.update(canonical_json(values).encode())
            digest.update(b"\n")
            count += 1
    return digest.hexdigest(), count


def snapshot_matches(connection: Connection) -> bool | None:
    """Whether the records frozen by the active lock still hash to the stored snapshot (None: no lock)."""
    lock = active_lock(connection)
    if lock is None:
        return None
    return snapshot(connection, lock.cutoff)[0] == lock.snapshot_sha256


def lock(tx: Transaction, cutoff: dt.date, reason: str) -> LockInfo:
    """Freeze every record dated on or before `cutoff` (inside `tx`; audited ``lock``). `cutoff`: a date or
    ``YYYY-MM-DD`` text, as every cut-off (`cartrial.columns.cutoff_date`, D-19.67); a planned date after
    today is allowed (a lock as of a planned date freezes what is entered up to it; D-19.51, D-19.380).
    A cut-off before every record of a study that has records (it would freeze none) is an `InputError`
    naming ``cutoff`` (D-19.505)."""
    from cartrial.columns import cutoff_date

    cutoff = cutoff_date(cutoff, allow_future=True)
    if tx.lock is not None:
        raise ConflictError(f"the database is already locked: {tx.lock.describe()}; unlock it first")
    digest, count = snapshot(tx.connection, cutoff, strict=True)  # an unknown zone refused (D-19.733)
    # a cut-off before every record of a study that has records is a mistyped cut-off, not a lock; a study
    # without records may be locked (it guards the period against entry) (D-19.505)
    if count == 0 and snapshot(tx.connection, dt.date.max)[1] > 0:
        raise InputError(
            Problem(
                "the cut-off is before every record of the study: the lock would freeze no record",
                field="cutoff",
                value=cutoff.isoformat(),
                allowed="a cut-off on or after the study's earliest record date (a lock freezes the records "
                "dated on or before it; `db records` lists them)",
            )
        )
    now = utc_now()
    table = table_of(DataLock)
    lock_id = tx.connection.execute(
        insert(table).returning(table.c.id),
        {
            "cutoff": cutoff,
            "locked_by": tx.actor.username,
            "locked_at": now,
            "reason": reason,
            "snapshot_sha256": digest,
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
        canonical_json({"cutoff": cutoff, "snapshot_sha256": digest, "records": count}),
        reason=reason,
    )
    return LockInfo(int(lock_id), cutoff, tx.actor.username, now, reason, digest, count)


def unlock(tx: Transaction, reason: str) -> LockInfo:
    """Lift the active lock (inside `tx`; audited ``unlock``); returns the lock that was lifted."""
    if tx.lock is None:
        raise ConflictError("the database is not locked")
    table = table_of(DataLock)
    tx.connection.execute(
        update(table)
        .where(table.c.id == tx.lock.id)
        .values(active=False, unlocked_by=tx.actor.username, unlocked_at=utc_now(), unlock_reason=reason)
    )
    tx.audit("unlock", "data_lock", tx.lock.id, None, "active", "true", "false", reason=reason)
    return tx.lock
