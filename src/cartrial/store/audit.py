"""The hash-chained audit trail: canonical serialisation, row digests, appending and verification.

Design (`data-standards.md` section 8.2; 21 CFR 11.10(e); ICH E6(R3) 4.2.2):

- every audit row records who (username and role), when (UTC, server clock), what (action, table, record id,
  subject, field), the old and new value (canonical JSON), why (reason) and the source (CLI, import file with
  its SHA-256, derivation), plus the cartrial version;
- `row_hash` = SHA-256 over the canonical JSON list of all those fields, the row id and `prev_hash`;
  `prev_hash` = the previous row's `row_hash` (the first row links to `GENESIS_HASH`). Altering any stored
  field breaks that row's hash; removing or inserting a row breaks the link of the next row;
- rows are appended only inside a write transaction holding the chain lock (SQLite `BEGIN IMMEDIATE`,
  PostgreSQL advisory lock), with ids assigned consecutively from the chain head, so concurrent writers keep
  one linear chain; the database triggers refuse UPDATE and DELETE of audit rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table, func, insert, select

from cartrial.store.models import AuditLog

GENESIS_HASH = "0" * 64
"""`prev_hash` of the first audit row."""
INSERT_FIELD = "*"
"""`field` of the audit row of an inserted or deleted record (the value is the whole record as JSON)."""
AUDIT_INSERT_CHUNK = 5_000


def jsonable(value: Any) -> Any:
    """A value as plain JSON data: date-times as ISO 8601 UTC with ``Z``, dates as ISO dates."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} in audited data")
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def canonical_json(value: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces, UTF-8 text) of `value`, the form stored and hashed."""
    return json.dumps(jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def format_timestamp(value: dt.datetime) -> str:
    """The canonical text of an audit timestamp: ISO 8601, UTC, microseconds, ``Z``."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class AuditEntry:
    """One audit row before it is placed in the chain (no id or hashes yet)."""

    recorded_at: dt.datetime
    username: str
    user_role: str
    action: str
    table_name: str | None
    record_id: int | None
    subject_id: str | None
    field: str | None
    old_value: str | None
    new_value: str | None
    reason: str | None
    source: str | None
    software_version: str


_HASHED_FIELDS = (
    "id",
    "recorded_at",
    "username",
    "user_role",
    "action",
    "table_name",
    "record_id",
    "subject_id",
    "field",
    "old_value",
    "new_value",
    "reason",
    "source",
    "software_version",
    "prev_hash",
)


def row_digest(row: Mapping[Any, Any]) -> str:
    """SHA-256 (hex) of an audit row's canonical serialisation: the JSON list of `_HASHED_FIELDS` in order,
    the timestamp as `format_timestamp`, `prev_hash` included (so each row seals its predecessor)."""
    values = [format_timestamp(row[name]) if name == "recorded_at" else row[name] for name in _HASHED_FIELDS]
    payload = json.dumps(values, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass
class ChainHead:
    """The last row of the chain as seen inside the current (chain-locked) transaction."""

    last_id: int
    last_hash: str


def read_head(connection: Connection) -> ChainHead:
    """The chain head; call only while holding the chain lock."""
    last_id = connection.execute(select(func.max(AuditLog.id))).scalar()
    if last_id is None:
        return ChainHead(0, GENESIS_HASH)
    last_hash = connection.execute(select(AuditLog.row_hash).where(AuditLog.id == last_id)).scalar_one()
    return ChainHead(int(last_id), str(last_hash))


def append(connection: Connection, head: ChainHead, entries: Iterable[AuditEntry]) -> int:
    """Seal `entries` onto the chain after `head` (updated in place) and insert them; returns the count."""
    table = cast(Table, AuditLog.__table__)
    batch: list[dict[str, Any]] = []
    count = 0
    for entry in entries:
        head.last_id += 1
        row = {
            "id": head.last_id,
            "recorded_at": entry.recorded_at,
            "username": entry.username,
            "user_role": entry.user_role,
            "action": entry.action,
            "table_name": entry.table_name,
            "record_id": entry.record_id,
            "subject_id": entry.subject_id,
            "field": entry.field,
            "old_value": entry.old_value,
            "new_value": entry.new_value,
            "reason": entry.reason,
            "source": entry.source,
            "software_version": entry.software_version,
            "prev_hash": head.last_hash,
        }
        row["row_hash"] = head.last_hash = row_digest(row)
        batch.append(row)
        count += 1
        if len(batch) >= AUDIT_INSERT_CHUNK:
            connection.execute(insert(table), batch)
            batch = []
    if batch:
        connection.execute(insert(table), batch)
    return count


@dataclass(frozen=True)
class AuditVerification:
    """Result of recomputing the chain: `ok`, rows checked, the first broken row's id and what is wrong."""

    ok: bool
    rows_checked: int
    first_broken_id: int | None
    message: str


def _rows(connection: Connection, batch_size: int = 20_000) -> Iterator[Mapping[Any, Any]]:
    table = cast(Table, AuditLog.__table__)
    last = None
    while True:
        query = select(table).order_by(table.c.id).limit(batch_size)
        if last is not None:
            query = query.where(table.c.id > last)
        rows = connection.execute(query).mappings().all()
        if not rows:
            return
        yield from rows
        last = rows[-1]["id"]


def verify_chain(connection: Connection) -> AuditVerification:
    """Recompute every row's hash and every link, in id order; report the first row that does not verify."""
    previous_hash = GENESIS_HASH
    previous_id = 0
    checked = 0
    for row in _rows(connection):
        row_id = int(row["id"])
        if row_id != previous_id + 1:
            return AuditVerification(
                False,
                checked,
                row_id,
                f"audit row {row_id}: ids jump from {previous_id} to {row_id}; "
                f"row(s) {previous_id + 1}..{row_id - 1} were removed",
            )
        if row["prev_hash"] != previous_hash:
            return AuditVerification(
                False,
                checked,
                row_id,
                f"audit row {row_id}: prev_hash does not match the hash of row {previous_id}; "
                "the chain was broken (a row was altered, removed or inserted)",
            )
        recomputed = row_digest(row)
        if recomputed != row["row_hash"]:
            return AuditVerification(
                False,
                checked,
                row_id,
                f"audit row {row_id}: content does not match its hash; the row was altered after writing",
            )
        previous_hash = str(row["row_hash"])
        previous_id = row_id
        checked += 1
    return AuditVerification(True, checked, None, f"audit trail intact: {checked} rows verified")
