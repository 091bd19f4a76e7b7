"""The hash-chained audit trail: canonical serialisation, row digests, appending and verification.

Design (docs/science/data-standards.md §8.2; 21 CFR 11.10(e); ICH E6(R3) 4.2.2):

- every audit row records who (username and role), when (UTC, server clock), what (action, table, record id,
  subject, field), the old and new value (canonical JSON), why (reason) and the source (CLI, import file with
  its SHA-256, derivation), plus the cartrial version;
- `row_hash` = SHA-256 over the canonical JSON list of all those fields, the row id and `prev_hash`;
  `prev_hash` = the previous row's `row_hash` (the first row links to `GENESIS_HASH`). Altering any stored
  field breaks that row's hash; removing or inserting a row breaks the link of the next row;
- a bulk insert (an import) is sealed per table, subject and run of new ids by one ``insert-batch`` row
  whose `new_value` holds every record's id and values (`batch_json`, decisions D-19.10); readers expand
  it (`expand_batch`): the replay of `cartrial.store.tamper`, the record and subject histories;
- rows are appended only inside a write transaction holding the chain lock (SQLite `BEGIN IMMEDIATE`,
  PostgreSQL advisory lock), with ids assigned consecutively from the chain head, so concurrent writers keep
  one linear chain; the database triggers refuse UPDATE and DELETE of audit rows;
- optionally keyed (docs/science/decisions.md D-19.4): when `CARTRIAL_AUDIT_KEY_FILE` names a key file, every
row also
  gets `row_mac` = HMAC-SHA256(key, ``cartrial-audit-v1:`` + `row_hash`) (RFC 2104). The key is kept outside
  the database, so whoever rewrites rows and recomputes the unkeyed hashes cannot produce the seals. Once a
  chain is keyed, writing without the key (or with another key) is refused. Verification:
  `cartrial.store.tamper`.
"""

from __future__ import annotations

import datetime as dt
import hmac
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import Any, NamedTuple, cast

import orjson
from sqlalchemy import Connection, Table, func, insert, select

from cartrial.errors import ConfigurationError
from cartrial.sources import refuse_special_source
from cartrial.store.models import AuditLog

GENESIS_HASH = "0" * 64
"""`prev_hash` of the first audit row."""
INSERT_FIELD = "*"
"""`field` of the audit row of an inserted or deleted record (the value is the whole record as JSON)."""
AUDIT_INSERT_CHUNK = 5_000
BATCH_ACTION = "insert-batch"
"""`action` of an audit row sealing a batch of records inserted together by a bulk write (an import): one row
per table, subject and consecutive run of new ids (decisions D-19.10). `record_id` is the first id, `field`
the id range (`batch_field`), `new_value` the records (`batch_json`); `subject_id` the records' subject."""
BATCH_MAX_RECORDS = 5_000
"""At most this many records are sealed by one batch row (the id range a record lookup searches back)."""
_BATCH_KEYS = ("columns", "first_id", "records")
AUDIT_KEY_ENVIRONMENT_VARIABLE = "CARTRIAL_AUDIT_KEY_FILE"
"""Names the file holding the audit key (at least 32 bytes of secret; kept outside the database)."""
MIN_AUDIT_KEY_BYTES = 32
_MAC_PREFIX = b"cartrial-audit-v1:"
_KEY_ID_MESSAGE = b"cartrial-audit-key-id"


def load_audit_key(path: str | os.PathLike[str] | None = None) -> bytes | None:
    """The audit key from `path`, else from the file named by `$CARTRIAL_AUDIT_KEY_FILE` (None: no key).

    The file's content, stripped of surrounding white space, is the key; it must hold at least 32 bytes
    (`cartrial audit keygen` writes 64 random hex digits). The key itself never appears in messages."""
    chosen = path if path is not None else os.environ.get(AUDIT_KEY_ENVIRONMENT_VARIABLE)
    if not chosen:
        return None
    refuse_special_source(chosen, field=AUDIT_KEY_ENVIRONMENT_VARIABLE if path is None else None)
    try:
        key = open(chosen, "rb").read().strip()  # noqa: SIM115 - small file, read once
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the audit key file {os.fspath(chosen)} ({AUDIT_KEY_ENVIRONMENT_VARIABLE}): "
            f"{exc.strerror or exc}"
        ) from None
    if len(key) < MIN_AUDIT_KEY_BYTES:
        raise ConfigurationError(
            f"the audit key file {os.fspath(chosen)} holds {len(key)} bytes; at least "
            f"{MIN_AUDIT_KEY_BYTES} are required (`cartrial audit keygen` writes one)"
        )
    return key


def row_mac(key: bytes, row_hash: str) -> str:
    """The keyed seal of an audit row: HMAC-SHA256 (RFC 2104) of ``cartrial-audit-v1:`` + `row_hash`, hex."""
    return hmac.digest(key, _MAC_PREFIX + row_hash.encode("ascii"), "sha256").hex()


def key_id(key: bytes) -> str:
    """A public identifier of the key (16 hex digits of an HMAC of a fixed text): names the key in
    checkpoints and messages without revealing it."""
    return hmac.digest(key, _KEY_ID_MESSAGE, "sha256").hex()[:16]


def _json_default(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot store {type(value).__name__} value {value!r} in the audit trail")


_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z | orjson.OPT_SERIALIZE_NUMPY


def canonical_json(value: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces, UTF-8 text) of `value`, the form stored and hashed.

    Dates are ISO dates; date-times ISO 8601 with ``Z`` (stored date-times are UTC: the service converts
    every date-time to UTC, and refuses one without a zone, before it is written or audited; another
    offset would be kept as written); floats their shortest round-trip decimal (``0.00001``, ``1e+16``);
    non-finite floats ``null`` (study data never holds them: the readers refuse them). Serialised by
    orjson: this runs once per audited value, a million times in a large import."""
    return canonical_json_many((value,))[0]


def canonical_json_many(values: Iterable[Any]) -> list[str]:
    """`canonical_json` of each value (the bulk path of an import: one call for a chunk of records)."""
    dumps, option = orjson.dumps, _CANONICAL
    try:
        return [dumps(value, default=_json_default, option=option).decode() for value in values]
    except orjson.JSONEncodeError as exc:
        raise TypeError(str(exc)) from None


def batch_field(first_id: int, last_id: int) -> str:
    """`field` of a batch row: the id range it seals, ``ids FIRST..LAST`` (both included)."""
    return f"ids {first_id}..{last_id}"


def batch_json(columns: Sequence[str], first_id: int, records: Iterable[Sequence[Any]]) -> str:
    """`new_value` of a batch row: canonical JSON ``{"columns": [...], "first_id": N, "records": [[...],
    ...]}``, the records' values in `columns` order (sorted names), record i having id `first_id` + i. Each
    value is serialised exactly as in a single-record insert row (`canonical_json`), so expanding a batch
    (`expand_batch`) gives the very records a per-record trail would hold."""
    document = {"columns": list(columns), "first_id": int(first_id), "records": list(records)}
    return canonical_json_many((document,))[0]


def expand_batch(new_value: str | None) -> list[tuple[int, dict[str, Any]]]:
    """The records a batch row seals, as (record id, {column: plain JSON value}) in id order.
    `ValueError` when the text is not a batch document (a rewritten row)."""
    if new_value is None:
        raise ValueError("a batch row without records")
    try:
        document = orjson.loads(new_value)
    except orjson.JSONDecodeError:
        raise ValueError("a batch row whose records are not JSON") from None
    if not isinstance(document, dict) or sorted(document) != list(_BATCH_KEYS):
        raise ValueError("a batch row whose records are not a batch document")
    columns, first_id, records = (document[k] for k in _BATCH_KEYS)
    if (
        not isinstance(columns, list)
        or not all(isinstance(c, str) for c in columns)
        or not isinstance(first_id, int)
        or not isinstance(records, list)
        or not all(isinstance(r, list) and len(r) == len(columns) for r in records)
    ):
        raise ValueError("a batch row whose records are malformed")
    return [(first_id + i, dict(zip(columns, values, strict=True))) for i, values in enumerate(records)]


def _ascii_digits(text: str) -> bool:
    """Only ASCII digits (``str.isdigit`` is also true of ``²`` and other digits `int` refuses or reads)."""
    return text.isascii() and text.isdigit()


def batch_ids(row: Mapping[Any, Any]) -> tuple[int, int] | None:
    """(first, last) id of a batch row from its `record_id` and `field` (None: not a batch row or a field
    that is not a range); what a record lookup filters on before expanding (`expand_batch`)."""
    if row.get("action") != BATCH_ACTION or row.get("record_id") is None:
        return None
    field_text = str(row.get("field") or "")
    first_text, _, last_text = field_text.removeprefix("ids ").partition("..")
    if not (_ascii_digits(first_text) and _ascii_digits(last_text)):
        return None
    if int(first_text) != int(row["record_id"]):
        return None
    return int(first_text), int(last_text)


def format_timestamp(value: dt.datetime) -> str:
    """The canonical text of an audit timestamp: ISO 8601, UTC, microseconds, ``Z``."""
    if value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def sqlite_timestamp(value: dt.datetime) -> str:
    """A UTC date-time in SQLAlchemy's SQLite storage format (what `UtcDateTime` stores on SQLite)."""
    if value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    return value.isoformat(" ", "microseconds")[:26]  # drop the "+00:00" (hot path: no replace())


class AuditEntry(NamedTuple):
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


AUDIT_COLUMNS = (
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
    "row_hash",
)
_HASHED_FIELDS = AUDIT_COLUMNS[:-1]
AUDIT_DISPLAY_COLUMNS = AUDIT_COLUMNS[: AUDIT_COLUMNS.index("software_version")]
"""What an audit trail shows a person (who, when, what, old → new, reason, source); not the chain hashes."""
_STORED_COLUMNS = (*AUDIT_COLUMNS, "row_mac")
"""What `append` writes: the hashed columns, `row_hash`, and the keyed seal `row_mac` (NULL unkeyed)."""


def _digest(values: Sequence[Any]) -> str:
    # orjson writes a list of text, integers and nulls byte for byte as json.dumps(values,
    # separators=(",", ":"), ensure_ascii=False) does (tested), at a fraction of the cost
    return sha256(orjson.dumps(values)).hexdigest()


def row_digest(row: Mapping[Any, Any]) -> str:
    """SHA-256 (hex) of an audit row's canonical serialisation: the JSON list (no spaces, UTF-8) of the
    fields `id, recorded_at, username, user_role, action, table_name, record_id, subject_id, field,
    old_value, new_value, reason, source, software_version, prev_hash` in this order, the timestamp as
    `format_timestamp`. `prev_hash` is included, so each row seals its predecessor."""
    return _digest(
        [format_timestamp(row[name]) if name == "recorded_at" else row[name] for name in _HASHED_FIELDS]
    )


@dataclass
class ChainHead:
    """The last row of the chain as seen inside the current (chain-locked) transaction."""

    last_id: int
    last_hash: str
    last_mac: str | None = None
    """`row_mac` of the last row: not None once the chain is keyed."""


def read_head(connection: Connection) -> ChainHead:
    """The chain head; call only while holding the chain lock."""
    last_id = connection.execute(select(func.max(AuditLog.id))).scalar()
    if last_id is None:
        return ChainHead(0, GENESIS_HASH)
    last_hash, last_mac = connection.execute(
        select(AuditLog.row_hash, AuditLog.row_mac).where(AuditLog.id == last_id)
    ).one()
    return ChainHead(int(last_id), str(last_hash), None if last_mac is None else str(last_mac))


def _writing_key(head: ChainHead) -> bytes | None:
    """The key to seal new rows with; refuses to extend a keyed chain without its key (or with another)."""
    key = load_audit_key()
    if head.last_mac is None:
        return key
    if key is None:
        raise ConfigurationError(
            "this study's audit trail is keyed: set CARTRIAL_AUDIT_KEY_FILE to the study's audit key file "
            "before writing (rows written without it would not verify)"
        )
    if not hmac.compare_digest(row_mac(key, head.last_hash), head.last_mac):
        raise ConfigurationError(
            f"the audit key in CARTRIAL_AUDIT_KEY_FILE (key id {key_id(key)}) is not the key this study's "
            "audit trail was sealed with; nothing was written"
        )
    return key


def check_writing_key(connection: Connection) -> None:
    """Raise the `ConfigurationError` (`InputError` for a key path that is no regular file) that `append`
    would raise now: a keyed trail with `CARTRIAL_AUDIT_KEY_FILE` unset, unreadable or naming another key
    (`_writing_key` on the current head). A check before costly work whose rows would be refused; the head
    read outside the chain lock is enough, since a keyed trail stays keyed with the same key."""
    _writing_key(read_head(connection))


def append(connection: Connection, head: ChainHead, entries: Iterable[Sequence[Any]]) -> int:
    """Seal `entries` onto the chain after `head` (updated in place) and insert them; returns the count.

    Each entry is an `AuditEntry` or a plain tuple of the same fields in the same order (the bulk path).

    On SQLite the rows go straight to the driver's executemany (values already in SQLAlchemy's storage
    format), on PostgreSQL through ``COPY`` (`cartrial.store.pg_bulk.copy_rows`, values bound as SQLAlchemy
    would), which is what makes auditing a million-row import affordable."""
    sqlite = connection.dialect.name == "sqlite"
    table = cast(Table, AuditLog.__table__)
    key = _writing_key(head)
    placeholders = ", ".join("?" * len(_STORED_COLUMNS))
    sql = f"INSERT INTO audit_log ({', '.join(_STORED_COLUMNS)}) VALUES ({placeholders})"
    batch: list[Any] = []
    count = 0
    last_id, last_hash = head.last_id, head.last_hash
    stamp: dt.datetime | None = None
    stamp_text = stamp_stored = ""
    for entry in entries:
        last_id += 1
        recorded_at = entry[0]
        if recorded_at is not stamp:  # bulk writes share one timestamp object: format it once
            stamp = recorded_at
            stamp_text = format_timestamp(stamp)
            stamp_stored = sqlite_timestamp(stamp) if sqlite else stamp_text
        # an entry's fields after `recorded_at` are the hashed columns after it, in order (AuditEntry)
        fields = entry[1:]
        row_hash = _digest((last_id, stamp_text, *fields, last_hash))
        mac = None if key is None else row_mac(key, row_hash)
        if sqlite:
            batch.append((last_id, stamp_stored, *fields, last_hash, row_hash, mac))
        else:
            batch.append((last_id, recorded_at, *fields, last_hash, row_hash, mac))
        last_hash = row_hash
        count += 1
        if len(batch) >= AUDIT_INSERT_CHUNK:
            _insert(connection, table, sql, batch, sqlite)
            batch = []
    if batch:
        _insert(connection, table, sql, batch, sqlite)
    head.last_id, head.last_hash = last_id, last_hash
    if count:
        head.last_mac = None if key is None else row_mac(key, last_hash)
    return count


def _insert(connection: Connection, table: Table, sql: str, batch: list[Any], sqlite: bool) -> None:
    if sqlite:
        connection.exec_driver_sql(sql, batch)
    elif connection.dialect.name == "postgresql":
        from cartrial.store import pg_bulk  # the rows as sealed above, written by COPY (issue 19 section 5)

        pg_bulk.copy_rows(connection, table, _STORED_COLUMNS, batch)
    else:
        connection.execute(insert(table), [dict(zip(_STORED_COLUMNS, row, strict=True)) for row in batch])


@dataclass(frozen=True)
class AuditVerification:
    """Result of recomputing the chain: `ok`, rows checked, the first broken row's id and what is wrong."""

    ok: bool
    rows_checked: int
    first_broken_id: int | None
    message: str
    head_hash: str | None = None
    """`row_hash` of the last verified row: record it elsewhere to detect a later removal of the newest rows
    (the one change a hash chain alone cannot reveal)."""


def verification_for_one_site(result: AuditVerification) -> AuditVerification:
    """`result` as a site-restricted user sees it (D-19.411): whether the chain verifies, without the row
    count, the first broken row's id or the head hash — each moves with every other site's entries, which
    are as absent for that user as their records. `rows_checked` is 0 (not told); the data manager, a
    monitor or an administrator sees the full result (`cartrial audit verify`)."""
    message = (
        "audit trail intact"
        if result.ok
        else "the audit trail does not verify: a data manager or an administrator sees where "
        "(cartrial audit verify)"
    )
    return AuditVerification(result.ok, 0, None, message)


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
    return AuditVerification(
        True,
        checked,
        None,
        f"audit trail intact: {checked} rows verified (head {previous_hash[:16]}…)",
        previous_hash,
    )
