"""Complete audit verification: the chain, its keyed seals, its anchors, and the data it describes.

A hash chain alone (`cartrial.store.audit.verify_chain`) proves only that the audit rows agree with each
other. Issue 19 section 3 lists what it misses, and this module closes each gap:

(a) **the data**: `replay_state` replays the trail (insert, import, update, delete rows) table by table and
    compares the state it implies with every study-data table and with `data_lock`. A row inserted, updated
    or deleted without its audit record is reported by table, record id, natural-key column names and field
    names — never by value (the report may be shown to people not allowed to read the data). An audited
    update whose recorded old value differs from the state the trail implies reveals an earlier change made
    outside the application, even when a later audited edit hid it;
(b) **the head**: a chain with its newest rows removed is still a valid chain. `make_checkpoint` records the
    head (row count, head hash, time) in a file the user keeps; `verify_checkpoint` then detects truncation
    and any rewrite at or before the checkpoint. Every data lock records the head too (migration 0004),
    checked by `verify_lock_anchors`;
(c) **the key**: whoever can write the database can recompute an unkeyed chain. With an audit key
    (`CARTRIAL_AUDIT_KEY_FILE`, kept outside the database) every row carries an HMAC seal
    (`cartrial.store.audit.row_mac`); `verify_seals` requires a valid seal on every row (or every row from
    the checkpoint's `keyed_from`).

`verify_complete` runs all of them and returns a `CompleteVerification`.

Sources: 21 CFR 11.10(a) (ability to discern invalid or altered records) and 11.10(e) (audit trail);
ICH E6(R3) 4.2.2; docs/science/data-standards.md §8; RFC 2104 (HMAC).
"""

from __future__ import annotations

import datetime as dt
import heapq
import hmac
import itertools
import math
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import orjson
from sqlalchemy import JSON, Connection, Engine, Float, Integer, Numeric, Table, func, select, type_coerce
from sqlalchemy.types import TypeDecorator

from cartrial import __version__
from cartrial.errors import ConfigurationError, InputError, Problem, StoredValueError
from cartrial.store import audit as audit_chain
from cartrial.store.models import (
    STUDY_TABLES,
    AuditLog,
    DataLock,
    StoredInteger,
    StoredJSON,
    StoredNumber,
    StudyData,
    UtcDateTime,
)
from cartrial.store.service import HOUSEKEEPING_COLUMNS, MASKED_COLUMNS
from cartrial.store.stored_dates import UNREADABLE_STORED, non_finite
from cartrial.store.tables import MASK_PREFIX, masked

CHECKPOINT_FORMAT = "cartrial-audit-checkpoint/1"
HOUSEKEEPING = HOUSEKEEPING_COLUMNS
"""Columns the service maintains itself (not in the audit records)."""
MASKED = MASKED_COLUMNS
"""Columns the audit trail records only as set / not set."""
DATA_ACTIONS = ("insert", "import", "update", "delete")
"""Audit actions that change a study-data record (``import`` writes the import manifest)."""
MAX_FINDINGS = 1_000
"""Reporting stops after this many findings (a wholesale rewrite would otherwise list every row)."""


# ------------------------------------------------------------------------------------------------------
# results
# ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One discrepancy. `kind`: ``chain``, ``seal``, ``checkpoint``, ``lock-anchor``, ``unaudited-insert``,
    ``unaudited-delete``, ``unaudited-update`` or ``trail-inconsistent``. Messages name tables, ids, key
    column names and field names only, never a stored value."""

    kind: str
    message: str
    table: str | None = None
    record_id: int | None = None
    fields: tuple[str, ...] = ()
    audit_row_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "table": self.table,
            "record_id": self.record_id,
            "fields": list(self.fields),
            "audit_row_id": self.audit_row_id,
        }


@dataclass
class CompleteVerification:
    """What `verify_complete` checked and found; `ok` when nothing was found."""

    rows_checked: int
    head_id: int
    head_hash: str | None
    chain_message: str
    checks: list[str] = field(default_factory=list)
    """Human-readable list of what was checked (e.g. ``"keyed seals: 120 rows, key id 1a2b…"``)."""
    warnings: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    truncated_report: bool = False

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows_checked": self.rows_checked,
            "head_id": self.head_id,
            "head_hash": self.head_hash,
            "chain": self.chain_message,
            "checks": self.checks,
            "warnings": self.warnings,
            "findings": [f.as_dict() for f in self.findings],
            "report_truncated": self.truncated_report,
        }


# ------------------------------------------------------------------------------------------------------
# (a) replay the trail against the data
# ------------------------------------------------------------------------------------------------------


def _loads(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def _plain_row(row: Mapping[Any, Any], columns: Sequence[str]) -> dict[str, Any]:
    """A stored row's data columns as plain JSON values, serialised exactly as the audit trail does
    (`canonical_json`), masked columns as their fingerprint (`masked`)."""
    values = {name: (masked(row[name]) if name in MASKED else row[name]) for name in columns}
    return cast(dict[str, Any], orjson.loads(audit_chain.canonical_json(values)))


def _same(expected: Any, actual: Any, numeric: bool, masked_column: bool = False) -> bool:
    """Type-strict equality of two plain JSON values (D-19.357): Python's ``==`` calls ``True == 1 == 1.0``
    equal, also inside a JSON document, so a stored ``true`` rewritten as ``1`` (or ``1`` as ``1.0``) would
    pass. Values are equal when their canonical JSON texts are; only a top-level number of a numeric column
    compares by value (an integer audited for a float column reads back as a float)."""
    if expected is None or actual is None:
        return expected is actual
    if masked_column and LEGACY_MASK in (expected, actual):  # a masked value recorded before D-19.360
        return all(isinstance(v, str) and v.startswith(MASK_PREFIX) for v in (expected, actual))
    if numeric and type(expected) in (int, float) and type(actual) in (int, float):
        return bool(expected == actual)
    if type(expected) is type(actual) and type(expected) in (str, int, bool):
        return bool(expected == actual)
    return audit_chain.canonical_json(expected) == audit_chain.canonical_json(actual)


def _differing(
    expected: Mapping[str, Any],
    actual: Mapping[str, Any],
    columns: Sequence[str],
    numeric: frozenset[str] = frozenset(),
) -> list[str]:
    """Columns whose values differ (a column the trail never mentions is expected blank: it was added by a
    later migration); compared type-strictly (`_same`)."""
    return [
        name
        for name in columns
        if not _same(expected.get(name), actual.get(name), name in numeric, name in MASKED)
    ]


LEGACY_MASK = "<set>"
"""A masked value as trails before D-19.360 recorded it: only set / not set can be compared."""
_UNREADABLE = object()
"""Stands for a stored value the application cannot read (or stores otherwise): differs from any value."""


def _stored_rows(
    connection: Connection, table: Table, columns: Sequence[str]
) -> Iterator[tuple[int, dict[str, Any], list[str]]]:
    """The stored rows of `table` in id order: (id, {column: value as the application reads it}, columns
    whose stored form is not the one the application writes). On PostgreSQL the column types fix the stored
    form. SQLite keeps whatever is written (dynamic typing): each value is read raw, parsed by the column's
    type and written back by it, and must come out identical, type included (D-19.358). Otherwise the column
    is listed and its value is unreadable: a date ``2021-01-01 00:00:00`` or ``2021-01-01x`` (which the
    date reader refuses, or reads as 2021-01-01), a boolean stored ``2`` or ``'false'`` (read as true), a
    date-time stored with another offset or without microseconds all change the record without changing
    what the replay would otherwise compare; so does any value stored as another type than text, integer or
    real (a BLOB ``x'4142'``). JSON columns are compared by their parsed value only (the
    spacing of a JSON text is no part of the value). On both backends a NaN or an infinity (a number
    column, or inside a JSON document) is unreadable too: cartrial never stores one, and the trail's JSON
    would read it as blank (D-19.1062)."""
    dialect = connection.dialect
    if dialect.name != "sqlite":
        # a date or date-time is read by its driver type, then its column type: a stored 'infinity' is
        # marked unreadable for this column, not refused for the whole read (D-19.1062 amended)
        dated = {name: table.c[name].type for name in columns if hasattr(table.c[name].type, "stored_timed")}
        rows = connection.execute(
            select(
                table.c.id,
                *(
                    type_coerce(table.c[name], cast(TypeDecorator[Any], dated[name]).impl).label(name)
                    if name in dated
                    # a number raw: its column type refuses NaN, which is a finding here (D-19.1096)
                    else type_coerce(table.c[name], type(cast(Any, table.c[name].type).impl)()).label(name)
                    if isinstance(table.c[name].type, StoredNumber | StoredJSON)
                    else table.c[name]
                    for name in columns
                ),
            ).order_by(table.c.id),
            execution_options={"yield_per": 5_000},
        )
        # PostgreSQL stores NaN and ±Infinity in a double precision column (D-19.1062)
        inexact = [
            name
            for name in columns
            if isinstance(table.c[name].type, Float | StoredNumber | Numeric | JSON | StoredJSON)
        ]
        for row in rows.mappings():
            read_values = dict(row)
            flagged = [name for name in inexact if non_finite(read_values[name])]
            for name, kind in dated.items():
                value = read_values[name]
                if value is UNREADABLE_STORED:
                    flagged.append(name)
                elif value is not None and isinstance(kind, UtcDateTime):
                    read_values[name] = kind.process_result_value(value, dialect)
            for name in flagged:
                read_values[name] = _UNREADABLE
            yield int(row["id"]), read_values, flagged
        return
    converters = []
    for name in columns:
        impl = table.c[name].type.dialect_impl(dialect)
        kind = table.c[name].type
        read, write = impl.result_processor(dialect, None), impl.bind_processor(dialect)
        converters.append(
            (
                name,
                read,
                write,
                isinstance(kind, JSON | StoredJSON),
                isinstance(kind, Integer | StoredInteger),
            )
        )
    quoted = ", ".join(dialect.identifier_preparer.quote(name) for name in ("id", *columns))
    sql = f"SELECT {quoted} FROM {dialect.identifier_preparer.quote(table.name)} ORDER BY id"
    for raw in connection.exec_driver_sql(sql, execution_options={"yield_per": 5_000}):
        values: dict[str, Any] = {}
        odd: list[str] = []
        for (name, read, write, is_json, integer), stored in zip(converters, raw[1:], strict=True):
            try:
                if type(stored) not in (str, int, float, type(None)):  # a BLOB: cartrial writes none
                    raise TypeError("not a type cartrial stores")
                value = read(stored) if read is not None and stored is not None else stored
                if not is_json and stored is not None:
                    again = write(value) if write is not None else value
                    if (
                        type(again) is not type(stored)
                        or again != stored
                        or (integer and type(stored) is not int)
                    ):
                        raise ValueError("not the stored form")
                if non_finite(value):  # NaN or ±Infinity, as a REAL or in a JSON text (D-19.1062)
                    raise ValueError("not a value cartrial stores")
            except (
                ValueError,
                TypeError,
                OverflowError,
                StoredValueError,
            ):  # its reader's refusal (D-19.556)
                values[name] = _UNREADABLE
                odd.append(name)
                continue
            values[name] = value
        yield int(raw[0]), values, odd


def _key_text(model: type[StudyData]) -> str:
    return f"natural key {', '.join(model.natural_key)}"


def _event_order(event: Mapping[Any, Any]) -> tuple[int, int]:
    return int(event["record_id"]), int(event["id"])


def _audit_events(
    connection: Connection, table_name: str, model: type[StudyData], findings: list[Finding]
) -> Iterator[Mapping[Any, Any]]:
    """The audit events of one table's records in (record id, audit row id) order: the per-record rows as
    stored, merged with the records of every batch row expanded (`_batch_events`)."""
    audit = cast(Table, AuditLog.__table__)
    query = (
        select(
            audit.c.id, audit.c.action, audit.c.record_id, audit.c.field, audit.c.old_value, audit.c.new_value
        )
        .where(
            audit.c.table_name == table_name,
            audit.c.action.in_(DATA_ACTIONS),
            audit.c.record_id.is_not(None),
        )
        .order_by(audit.c.record_id, audit.c.id)
    )
    single: Iterator[Mapping[Any, Any]] = iter(
        connection.execute(query, execution_options={"yield_per": 5_000}).mappings()
    )
    batched: Iterator[Mapping[Any, Any]] = _batch_events(connection, table_name, model, findings)
    yield from heapq.merge(single, batched, key=_event_order)


def _batch_events(
    connection: Connection, table_name: str, model: type[StudyData], findings: list[Finding]
) -> Iterator[dict[str, Any]]:
    """Every record sealed by a batch row of `table_name` (decisions D-19.10) as an insert event carrying
    its state, in (record id, audit row id) order. Batch rows are read in order of their first id; their
    records are held in a heap only until no later batch can precede them (batches of one import are
    disjoint id ranges, so memory holds about one batch). A batch row whose document, id range or subject
    does not agree with itself is a finding (it was rewritten) and seals nothing."""
    audit = cast(Table, AuditLog.__table__)
    query = (
        select(audit.c.id, audit.c.action, audit.c.record_id, audit.c.subject_id, audit.c.field)
        .add_columns(audit.c.new_value)
        .where(audit.c.table_name == table_name, audit.c.action == audit_chain.BATCH_ACTION)
        .order_by(audit.c.record_id, audit.c.id)
    )
    subject_column = model.subject_column
    pending: list[tuple[int, int, dict[str, Any]]] = []
    for row in connection.execute(query, execution_options={"yield_per": 500}).mappings():
        audit_id = int(row["id"])
        ids = audit_chain.batch_ids(row)
        try:
            if ids is None:
                raise ValueError("a batch row without a valid id range")
            records = audit_chain.expand_batch(row["new_value"])
            if not records or records[0][0] != ids[0] or records[-1][0] != ids[1]:
                raise ValueError("a batch row whose records are not its id range")
            if subject_column is not None and any(
                state.get(subject_column) != row["subject_id"] for _, state in records
            ):
                raise ValueError("a batch row whose records are not all of its subject")
        except ValueError as exc:
            findings.append(
                Finding(
                    "trail-inconsistent",
                    f"audit row {audit_id}: {exc} ({table_name}); it was altered after writing",
                    table_name,
                    audit_row_id=audit_id,
                )
            )
            continue
        while pending and pending[0][0] < ids[0]:
            record_id, event_id, state = heapq.heappop(pending)
            yield _batch_event(record_id, event_id, state)
        for record_id, state in records:
            heapq.heappush(pending, (record_id, audit_id, state))
    while pending:
        record_id, event_id, state = heapq.heappop(pending)
        yield _batch_event(record_id, event_id, state)


def _batch_event(record_id: int, audit_id: int, state: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": audit_id,
        "action": audit_chain.BATCH_ACTION,
        "record_id": record_id,
        "field": audit_chain.INSERT_FIELD,
        "old_value": None,
        "new_value": None,
        "state": state,
    }


def _replay_record(
    table_name: str,
    record_id: int,
    events: Sequence[Mapping[Any, Any]],
    findings: list[Finding],
    numeric: frozenset[str] = frozenset(),
) -> dict[str, Any] | None:
    """The state of one record after its audit events (None: absent); inconsistencies are findings.
    `numeric`: the table's numeric (Float) columns, whose numbers compare by value (`_same`)."""
    state: dict[str, Any] | None = None
    for event in events:
        action, audit_id = event["action"], int(event["id"])
        if action in ("insert", "import", audit_chain.BATCH_ACTION):
            if state is not None:
                findings.append(
                    Finding(
                        "trail-inconsistent",
                        f"audit row {audit_id}: inserts {table_name} id {record_id}, which the trail "
                        "shows as already present",
                        table_name,
                        record_id,
                        audit_row_id=audit_id,
                    )
                )
            if action == audit_chain.BATCH_ACTION:
                state = dict(event["state"])
            else:
                state = dict(_loads(event["new_value"]) or {})
        elif action == "update":
            name = str(event["field"])
            if state is None:
                findings.append(
                    Finding(
                        "trail-inconsistent",
                        f"audit row {audit_id}: updates field {name} of {table_name} id {record_id}, which "
                        "the trail never created (inserted outside the application)",
                        table_name,
                        record_id,
                        (name,),
                        audit_id,
                    )
                )
                state = {}
            elif not _same(state.get(name), _loads(event["old_value"]), name in numeric, name in MASKED):
                findings.append(
                    Finding(
                        "trail-inconsistent",
                        f"audit row {audit_id}: the old value of field {name} of {table_name} id "
                        f"{record_id} is not the value the trail implies: it was changed outside the "
                        "application before this audited update",
                        table_name,
                        record_id,
                        (name,),
                        audit_id,
                    )
                )
            state[name] = _loads(event["new_value"])
        elif action == "delete":
            if state is None:
                findings.append(
                    Finding(
                        "trail-inconsistent",
                        f"audit row {audit_id}: deletes {table_name} id {record_id}, which the trail "
                        "never created",
                        table_name,
                        record_id,
                        audit_row_id=audit_id,
                    )
                )
            else:
                old = dict(_loads(event["old_value"]) or {})
                changed = sorted(
                    k
                    for k in set(old) | set(state)
                    if not _same(old.get(k), state.get(k), k in numeric, k in MASKED)
                )
                if changed:
                    findings.append(
                        Finding(
                            "trail-inconsistent",
                            f"audit row {audit_id}: the deleted {table_name} id {record_id} differed from "
                            f"the trail in field(s) {', '.join(changed)}: changed outside the application "
                            "before its deletion",
                            table_name,
                            record_id,
                            tuple(changed),
                            audit_id,
                        )
                    )
            state = None
    return state


def _replay_table(
    connection: Connection, table_name: str, model: type[StudyData], findings: list[Finding]
) -> int:
    """Merge the replayed records of one table with its rows (both in id order); returns rows compared."""
    table = cast(Table, getattr(model, "__table__"))  # noqa: B009
    columns = [c.name for c in table.columns if c.name not in HOUSEKEEPING]
    key = _key_text(model)
    numeric = frozenset(
        name for name in columns if isinstance(table.c[name].type, Float | StoredNumber | Numeric)
    )
    replayed = (
        (int(record_id), _replay_record(table_name, int(record_id), list(events), findings, numeric))
        for record_id, events in itertools.groupby(
            _audit_events(connection, table_name, model, findings), key=lambda e: e["record_id"]
        )
    )
    stored = _stored_rows(connection, table, columns)
    compared = 0
    expected_iter = iter(replayed)
    next_expected = next(expected_iter, None)

    def report(kind: str, record_id: int, text: str, fields: tuple[str, ...] = ()) -> None:
        message = f"{table_name} id {record_id} ({key}): {text}"
        findings.append(Finding(kind, message, table_name, record_id, fields))

    for row_id, row, odd in stored:
        while next_expected is not None and next_expected[0] < row_id:
            if next_expected[1] is not None:
                report("unaudited-delete", next_expected[0], "missing: deleted without an audit record")
            next_expected = next(expected_iter, None)
        compared += 1
        if next_expected is None or next_expected[0] != row_id or next_expected[1] is None:
            report("unaudited-insert", row_id, "present without an audit record of its insertion")
            if next_expected is not None and next_expected[0] == row_id:
                next_expected = next(expected_iter, None)
            continue
        plain = _plain_row({k: (None if v is _UNREADABLE else v) for k, v in row.items()}, columns)
        differing = sorted(set(_differing(next_expected[1], plain, columns, numeric)) | set(odd))
        differing = [name for name in columns if name in differing]
        if differing:
            report(
                "unaudited-update",
                row_id,
                f"field(s) {', '.join(differing)} differ from the audit trail: changed without an audit "
                "record",
                tuple(differing),
            )
        next_expected = next(expected_iter, None)
        if len(findings) >= MAX_FINDINGS:
            return compared
    while next_expected is not None:
        if next_expected[1] is not None:
            report("unaudited-delete", next_expected[0], "missing: deleted without an audit record")
        next_expected = next(expected_iter, None)
    return compared


def _replay_locks(connection: Connection, findings: list[Finding]) -> int:
    """`data_lock` rows against the ``lock`` / ``unlock`` audit rows (D-19.359). The lock row records its
    cut-off and snapshot hash; the audit row's user and reason are who locked (unlocked) and why; the
    chain lock is taken before anything is written, so the time of the lock (unlock) lies between the
    audit row before its own and its own; a lock never unlocked has no unlock fields; the audit head the
    lock recorded lies before its own audit row and, once one lock recorded a head, every later lock does."""
    audit = cast(Table, AuditLog.__table__)
    expected: dict[int, dict[str, Any]] = {}
    for event in connection.execute(
        select(audit.c.id, audit.c.action, audit.c.record_id, audit.c.new_value)
        .add_columns(audit.c.username, audit.c.reason, audit.c.recorded_at)
        .where(audit.c.table_name == "data_lock", audit.c.action.in_(("lock", "unlock")))
        .order_by(audit.c.id)
    ).mappings():
        at = event["recorded_at"]
        previous_at = connection.execute(
            select(audit.c.recorded_at).where(audit.c.id == int(event["id"]) - 1)
        ).scalar()
        record_id = int(event["record_id"])
        if event["action"] == "lock":
            value = dict(_loads(event["new_value"]) or {})
            expected[record_id] = {
                "cutoff": value.get("cutoff"),
                "snapshot_sha256": value.get("snapshot_sha256"),
                "active": True,
                "locked_by": event["username"],
                "reason": event["reason"],
                "locked_at": (previous_at, at),
                "unlocked_by": None,
                "unlock_reason": None,
                "unlocked_at": None,
                "audit_head_id": int(event["id"]),
            }
        elif record_id in expected:
            expected[record_id].update(
                active=False,
                unlocked_by=event["username"],
                unlock_reason=event["reason"],
                unlocked_at=(previous_at, at),
            )
    locks = cast(Table, DataLock.__table__)
    columns = [c.name for c in locks.columns if c.name != "id"]
    count = 0
    head_recorded = False
    for lock_id, row, odd in _stored_rows(connection, locks, columns):
        count += 1
        want = expected.pop(lock_id, None)
        if want is None:
            findings.append(
                Finding(
                    "unaudited-insert",
                    f"data_lock id {lock_id}: present without an audit record of the lock",
                    "data_lock",
                    lock_id,
                )
            )
            continue
        differing = set(odd)
        for name in (
            "cutoff",
            "snapshot_sha256",
            "active",
            "locked_by",
            "reason",
            "unlocked_by",
            "unlock_reason",
        ):
            stored = row[name]
            if isinstance(stored, dt.date):
                stored = stored.isoformat()
            if stored is _UNREADABLE or not _same(want[name], stored, False):
                differing.add(name)
        for name in ("locked_at", "unlocked_at"):
            stored, window = row[name], want[name]
            if window is None or stored is None or stored is _UNREADABLE:
                if not (window is None and stored is None):
                    differing.add(name)
            elif not ((window[0] is None or window[0] <= stored) and stored <= window[1]):
                differing.add(name)
        head = row["audit_head_id"]
        if (
            head is _UNREADABLE
            or (head is None and head_recorded)
            or (head is not None and (type(head) is not int or not 0 <= head < want["audit_head_id"]))
        ):
            differing.add("audit_head_id")
        head_recorded = head_recorded or head is not None
        if differing:
            names = [name for name in columns if name in differing]
            findings.append(
                Finding(
                    "unaudited-update",
                    f"data_lock id {lock_id}: field(s) {', '.join(names)} differ from the audit trail: "
                    "changed without an audit record",
                    "data_lock",
                    lock_id,
                    tuple(names),
                )
            )
    for lock_id in sorted(expected):
        findings.append(
            Finding(
                "unaudited-delete",
                f"data_lock id {lock_id}: missing: deleted without an audit record",
                "data_lock",
                lock_id,
            )
        )
    return count


def replay_state(connection: Connection, tables: Collection[str] | None = None) -> tuple[list[Finding], int]:
    """Replay the audit trail and compare it with every study-data table and `data_lock` (see the module
    docstring, part a). Returns the findings and the number of stored rows compared.

    `tables`: replay only these (study-data table names and/or ``data_lock``; default all). Each table is
    replayed on its own, so a table's findings are the same whether it is replayed alone or with the rest
    (a check of one table after a restore; the tamper sweep of the tests). An unknown name is a
    `ConfigurationError` naming the tables allowed.

    Streams: audit rows of one table at a time in (record id, audit id) order, merged with the table's rows
    in id order, so memory does not grow with the study."""
    allowed = (*STUDY_TABLES, DataLock.__tablename__)
    wanted = set(allowed if tables is None else tables)
    if unknown := sorted(wanted - set(allowed)):
        raise ConfigurationError(
            f"cannot replay {', '.join(unknown)}: not a study-data table; allowed: {', '.join(allowed)}"
        )
    findings: list[Finding] = []
    compared = 0
    for table_name, model in STUDY_TABLES.items():
        if table_name not in wanted:
            continue
        compared += _replay_table(connection, table_name, model, findings)
        if len(findings) >= MAX_FINDINGS:
            return findings, compared
    if DataLock.__tablename__ in wanted:
        compared += _replay_locks(connection, findings)
    return findings, compared


# ------------------------------------------------------------------------------------------------------
# (b) anchors: checkpoint file and data locks
# ------------------------------------------------------------------------------------------------------


def _row_hash(connection: Connection, row_id: int) -> str | None:
    value = connection.execute(select(AuditLog.row_hash).where(AuditLog.id == row_id)).scalar()
    return None if value is None else str(value)


def _head(connection: Connection) -> tuple[int, str | None]:
    last_id = connection.execute(select(func.max(AuditLog.id))).scalar()
    if last_id is None:
        return 0, None
    return int(last_id), _row_hash(connection, int(last_id))


def _first_keyed(connection: Connection) -> int | None:
    value = connection.execute(select(func.min(AuditLog.id)).where(AuditLog.row_mac.is_not(None))).scalar()
    return None if value is None else int(value)


def make_checkpoint(connection: Connection, *, key: bytes | None = None) -> dict[str, Any]:
    """The checkpoint of the trail as it is now: head row id (= row count: ids are consecutive from 1), its
    hash, the genesis row's hash (identifies the study database), the time (UTC), and, when keyed, the
    first keyed row and the key id. Keep it outside the database (`save_checkpoint`)."""
    head_id, head_hash = _head(connection)
    keyed_from = _first_keyed(connection)
    if keyed_from is None and key is not None:
        keyed_from = head_id + 1  # keying starts with the next row written with this key
    checkpoint: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "rows": head_id,
        "head_id": head_id,
        "head_hash": head_hash,
        "genesis_hash": _row_hash(connection, 1) if head_id else None,
        "recorded_at": audit_chain.format_timestamp(dt.datetime.now(dt.UTC)),
        "keyed_from": keyed_from,
        "key_id": audit_chain.key_id(key) if key is not None else None,
        "cartrial_version": __version__,
    }
    if key is not None:
        checkpoint["seal"] = checkpoint_seal(checkpoint, key)
    return checkpoint


_CHECKPOINT_MAC_PREFIX = b"cartrial-audit-checkpoint-v1:"


def checkpoint_seal(checkpoint: Mapping[str, Any], key: bytes) -> str:
    """The keyed seal of a checkpoint (D-19.361): HMAC-SHA256 (RFC 2104) with the audit key of
    ``cartrial-audit-checkpoint-v1:`` + the canonical JSON of every field but ``seal``. A checkpoint edited
    by hand (its head moved to the head of a truncated trail, `keyed_from` raised, `key_id` blanked) no
    longer verifies; without the key nobody can seal an edited one."""
    fields = {name: value for name, value in checkpoint.items() if name != "seal"}
    message = _CHECKPOINT_MAC_PREFIX + audit_chain.canonical_json(fields).encode()
    return hmac.digest(key, message, "sha256").hex()


def save_checkpoint(checkpoint: Mapping[str, Any], path: str | Path) -> Path:
    """Write `checkpoint` as JSON to `path` (atomically)."""
    from cartrial.tabular import write_atomic

    target = Path(path)
    write_atomic(target, orjson.dumps(dict(checkpoint), option=orjson.OPT_INDENT_2).decode() + "\n")
    return target


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read and check a checkpoint file written by `save_checkpoint` (`InputError` when it is not one)."""
    from cartrial.sources import refuse_special_source

    target = Path(path)
    refuse_special_source(target, field="checkpoint")  # a FIFO would block the read for ever (D-19.1063)
    try:
        data = orjson.loads(target.read_bytes())
    except OSError as exc:
        raise InputError(
            Problem(f"cannot read the checkpoint: {exc.strerror or exc}", file=str(target))
        ) from None
    except orjson.JSONDecodeError:
        raise InputError(Problem("not a JSON checkpoint file", file=str(target))) from None
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise InputError(
            Problem("not a cartrial audit checkpoint", file=str(target), allowed=CHECKPOINT_FORMAT)
        )
    head_id = data.get("head_id")
    # a JSON true is no row number (D-19.1063)
    if type(head_id) is not int or head_id < 0:
        raise InputError(Problem("checkpoint without a valid head", file=str(target), field="head_id"))
    _check_checkpoint_fields(data, head_id, target)
    return cast(dict[str, Any], data)


_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_KEY_ID_HEX = re.compile(r"[0-9a-f]{16}")
_CHECKPOINT_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
"""The form of a checkpoint's ``recorded_at`` (digits 0-9 only: ``\\d`` took ``２``); a real date-time is
checked by `_checkpoint_time` (no month 13, no 30 February)."""


def _checkpoint_time(text: Any) -> bool:
    """`text` is the audit trail's canonical UTC text of a real date-time
    (``YYYY-MM-DDTHH:MM:SS.ffffffZ``)."""
    if not (isinstance(text, str) and _CHECKPOINT_TIME.fullmatch(text)):
        return False
    try:
        dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        return False
    return True


def _check_checkpoint_fields(data: Mapping[str, Any], head_id: int, target: Path) -> None:
    """Each field of a checkpoint as `make_checkpoint` writes it, or an `InputError` naming the field: a
    damaged or hand-edited file must not pass with a check skipped (a genesis hash that is not text left the
    study's identity unchecked, exit 0) nor put any JSON value into the report (D-19.1422). A field
    `make_checkpoint` writes only with a key (``seal``) or that an edit may blank (``keyed_from``,
    ``key_id``: tested by the keyed seal, D-19.361) may be absent or null; a valid but wrong value is a
    finding of `verify_complete`, not a refusal."""

    def refuse(field: str, allowed: str) -> None:
        raise InputError(
            Problem("not a valid checkpoint field", file=str(target), field=field, allowed=allowed)
        )

    def whole(value: Any, low: int) -> bool:
        return type(value) is int and value >= low

    hashes = "64 hexadecimal digits (SHA-256)" + ("" if head_id else ", or null for an empty trail")
    for name in ("head_hash", "genesis_hash"):
        value = data.get(name)
        if not (isinstance(value, str) and _SHA256_HEX.fullmatch(value)) and not (
            head_id == 0 and value is None
        ):
            refuse(name, hashes)
    if not whole(data.get("rows"), 0):
        refuse("rows", "a whole number ≥ 0 (the audit rows counted)")
    recorded_at = data.get("recorded_at")
    if not _checkpoint_time(recorded_at):
        refuse("recorded_at", "a UTC date-time YYYY-MM-DDTHH:MM:SS.ffffffZ")
    if data.get("keyed_from") is not None and not whole(data.get("keyed_from"), 1):
        refuse("keyed_from", "a row id (a whole number ≥ 1), or null")
    key_id = data.get("key_id")
    if key_id is not None and not (isinstance(key_id, str) and _KEY_ID_HEX.fullmatch(key_id)):
        refuse("key_id", "16 hexadecimal digits, or null")
    if data.get("seal") is not None and not isinstance(data.get("seal"), str):
        refuse("seal", "text (hexadecimal digits), or null")


def verify_checkpoint(connection: Connection, checkpoint: Mapping[str, Any]) -> list[Finding]:
    """Truncation and rewrites up to the checkpoint: the checkpoint's head row must still exist with the
    same hash (with an intact chain this proves every earlier row unchanged), and the genesis row too."""
    findings: list[Finding] = []
    head_id = int(checkpoint["head_id"])
    if head_id == 0:
        return findings
    last_id, _ = _head(connection)
    # a head beyond the trail's last row is truncation; not looked up, so a number beyond the id column's
    # range (PostgreSQL INTEGER, SQLite's 64 bits) is reported like any other, not a driver error (D-19.1063)
    stored = _row_hash(connection, head_id) if head_id <= last_id else None
    if stored is None:
        findings.append(
            Finding(
                "checkpoint",
                f"the checkpoint of {checkpoint.get('recorded_at')} recorded {head_id} audit rows; the trail "
                f"now ends at row {last_id}: rows {last_id + 1}..{head_id} were removed (truncation)",
                audit_row_id=last_id + 1,
            )
        )
    elif not hmac.compare_digest(stored, str(checkpoint["head_hash"])):
        findings.append(
            Finding(
                "checkpoint",
                f"audit row {head_id} does not have the hash the checkpoint of "
                f"{checkpoint.get('recorded_at')} recorded: the trail was rewritten at or before that "
                "row (and the hashes recomputed), or this is another study database",
                audit_row_id=head_id,
            )
        )
    genesis = checkpoint.get("genesis_hash")
    if isinstance(genesis, str):
        first = _row_hash(connection, 1)
        # also when the head is gone: a longer study's checkpoint is not this trail's truncation (D-19.1063)
        if (first is None and stored is not None) or (
            first is not None and not hmac.compare_digest(first, genesis)
        ):
            findings.append(
                Finding(
                    "checkpoint",
                    "audit row 1 does not have the hash the checkpoint recorded: another study database, "
                    "or the trail was rewritten from its start",
                    audit_row_id=1,
                )
            )
    return findings


def verify_lock_anchors(connection: Connection) -> tuple[list[Finding], int]:
    """Every data lock recorded the chain head when it was taken: that row must still exist with that hash."""
    findings: list[Finding] = []
    locks = cast(Table, DataLock.__table__)
    count = 0
    last_id, _ = _head(connection)
    for row in connection.execute(
        select(locks.c.id, locks.c.audit_head_id, locks.c.audit_head_hash)
        .where(locks.c.audit_head_id.is_not(None))
        .order_by(locks.c.id)
    ).mappings():
        count += 1
        lock_id = int(row["id"])
        head_id = _row_number(row["audit_head_id"])
        if head_id is None:  # SQLite keeps any value: 2.5, 'x' (D-19.1063 amended)
            findings.append(
                Finding(
                    "lock-anchor",
                    f"data lock #{lock_id} recorded an audit head that is not a row number (changed outside "
                    "cartrial)",
                    "data_lock",
                    lock_id,
                )
            )
            continue
        # a head beyond the trail's last row is not looked up: on SQLite 2**63 or 1e300 is stored as REAL and
        # its int() overflows the driver's INTEGER (as `verify_checkpoint`, D-19.1063 amended)
        stored = _row_hash(connection, head_id) if 1 <= head_id <= last_id else None
        if stored is None or row["audit_head_hash"] is None or stored != row["audit_head_hash"]:
            what = "no longer exists (truncation)" if stored is None else "has another hash (rewritten)"
            where = f"row {head_id}" if head_id <= last_id else f"a row beyond the trail's last row {last_id}"
            findings.append(
                Finding(
                    "lock-anchor",
                    f"data lock #{lock_id} recorded the audit head at {where}; that row {what}",
                    "data_lock",
                    lock_id,
                    audit_row_id=head_id if head_id <= last_id else last_id + 1,
                )
            )
    return findings, count


def _row_number(value: object) -> int | None:
    """A stored audit head as a row number: an integer, or a whole finite float (SQLite stores an integer
    beyond 64 bits as REAL); None for anything else (a fraction, NaN, text, a boolean)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


# ------------------------------------------------------------------------------------------------------
# (c) keyed seals
# ------------------------------------------------------------------------------------------------------


def verify_seals(
    connection: Connection, key: bytes, *, keyed_from: int | None = 1
) -> tuple[list[Finding], int]:
    """Check every row's HMAC seal with `key`. Rows before `keyed_from` may be unsealed (a study keyed after
    it began: the checkpoint records from which row); from it on every row must carry a valid seal, so a
    chain rewritten and recomputed without the key fails. `keyed_from=None`: rows may be unkeyed up to the
    first keyed row (only when nothing else says where keying began: weaker, reported as a warning by
    `verify_complete`). Reports the first failing row only (later rows depend on it)."""
    audit = cast(Table, AuditLog.__table__)
    checked = 0
    seen_keyed = False
    query = select(audit.c.id, audit.c.row_hash, audit.c.row_mac).order_by(audit.c.id)
    for row in connection.execute(query, execution_options={"yield_per": 20_000}).mappings():
        row_id, mac = int(row["id"]), row["row_mac"]
        if mac is None:
            required = seen_keyed or (keyed_from is not None and row_id >= keyed_from)
            if required:
                return [
                    Finding(
                        "seal",
                        f"audit row {row_id} carries no keyed seal although the trail is keyed from row "
                        f"{keyed_from if keyed_from is not None else 'before it'}: written or rewritten "
                        "without the audit key",
                        audit_row_id=row_id,
                    )
                ], checked
            continue
        seen_keyed = True
        if not hmac.compare_digest(audit_chain.row_mac(key, str(row["row_hash"])), str(mac)):
            return [
                Finding(
                    "seal",
                    f"audit row {row_id}: its keyed seal does not match its hash under this key (key id "
                    f"{audit_chain.key_id(key)}): the row was rewritten and its hash recomputed, or the key "
                    "is not this study's",
                    audit_row_id=row_id,
                )
            ], checked
        checked += 1
    return [], checked


# ------------------------------------------------------------------------------------------------------
# everything
# ------------------------------------------------------------------------------------------------------


LISTED_WRITES = 50
"""Most audit rows `writes_without_permission` lists (the count says how many in all)."""


def writes_without_permission(connection: Connection, table_name: str) -> tuple[list[tuple[int, str]], int]:
    """The audit rows of writes to `table_name` (insert, batch, change, delete) whose user's role does not
    hold the table's write action under the current matrix (`permissions.write_action`): the first
    `LISTED_WRITES` as (audit row id, role), and how many in all. Ids and roles only, never a value
    (D-12.2). Such a row was permitted when written under an older matrix (an investigator's escalation
    decision before D-19.410): the trail is intact, so it is reported for review, not as tampering
    (D-19.419)."""
    from cartrial.store.permissions import PERMISSIONS, Action, write_action

    action = write_action(table_name, Action.ENTER)
    holders = [role for role, actions in PERMISSIONS.items() if action in actions]
    table = cast(Table, AuditLog.__table__)
    where = (table.c.table_name == table_name, table.c.user_role.not_in(holders))
    count = int(connection.execute(select(func.count()).select_from(table).where(*where)).scalar_one())
    listed = connection.execute(
        select(table.c.id, table.c.user_role).where(*where).order_by(table.c.id).limit(LISTED_WRITES)
    ).all()
    return [(int(row_id), str(role)) for row_id, role in listed], count


def _escalation_writers_warning(connection: Connection) -> str | None:
    """The `audit verify` warning naming the escalation-decision writes of roles without
    `record_escalation` (`writes_without_permission`), None when there are none."""
    listed, count = writes_without_permission(connection, "escalation_decision")
    if not count:
        return None
    rows = ", ".join(f"{row_id} ({role})" for row_id, role in listed)
    more = f", and {count - len(listed)} more" if count > len(listed) else ""
    return (
        f"{count} audit row(s) of escalation_decision writes by a role that does not hold record_escalation "
        f"under the current role matrix (recorded before D-19.410; review each against the committee's "
        f"minutes): audit rows {rows}{more}"
    )


def verify_complete(
    target: Any,
    *,
    key: bytes | None = None,
    checkpoint: Mapping[str, Any] | None = None,
    replay: bool = True,
) -> CompleteVerification:
    """Every check in one read transaction: the hash chain; with `key`, every row's seal; with `checkpoint`,
    truncation and rewrites up to it; every lock's recorded head; with `replay` (default), the data against
    the trail. `target`: a `StudyService` (anything with an `engine`) or an `Engine`."""
    engine = cast(Engine, getattr(target, "engine", target))
    with engine.connect() as connection, connection.begin():
        chain = audit_chain.verify_chain(connection)
        head_id, head_hash = _head(connection)
        result = CompleteVerification(chain.rows_checked, head_id, head_hash, chain.message)
        result.checks.append(f"hash chain: {chain.rows_checked} rows")
        if not chain.ok:
            result.findings.append(Finding("chain", chain.message, audit_row_id=chain.first_broken_id))
        if key is not None:
            recorded_from = checkpoint.get("keyed_from") if checkpoint else None
            keyed_from = int(recorded_from) if isinstance(recorded_from, int) else 1
            findings, sealed = verify_seals(connection, key, keyed_from=keyed_from)
            result.findings += findings
            result.checks.append(f"keyed seals: {sealed} rows (key id {audit_chain.key_id(key)})")
            if checkpoint and checkpoint.get("key_id") not in (None, audit_chain.key_id(key)):
                result.findings.append(
                    Finding("seal", "the audit key is not the key named in the checkpoint (key id differs)")
                )
        else:
            first = _first_keyed(connection)
            if first is None:
                result.warnings.append(
                    "login sessions are not keyed (no audit key, CARTRIAL_AUDIT_KEY_FILE): whoever can write "
                    "the database can insert a session and act as any user, under that user's name in the "
                    "trail (D-19.366)"
                )
            else:
                result.warnings.append(
                    f"the trail is keyed from row {first} but no audit key was given "
                    "(CARTRIAL_AUDIT_KEY_FILE): the keyed seals were not checked"
                )
        if checkpoint is not None and key is not None:
            seal = checkpoint.get("seal")
            if seal is None and checkpoint.get("key_id") is not None:  # written with a key (D-19.377)
                result.findings.append(
                    Finding(
                        "checkpoint",
                        f"the checkpoint of {checkpoint.get('recorded_at')} names an audit key (key id "
                        f"{checkpoint.get('key_id')}) but carries no seal: the seal was removed after it was "
                        "written; its head is not evidence",
                    )
                )
            elif seal is None:
                result.warnings.append(
                    "the checkpoint carries no keyed seal (written without the audit key, or by a cartrial "
                    "before D-19.361): an edit of the checkpoint file itself cannot be detected"
                )
            elif not hmac.compare_digest(str(seal), checkpoint_seal(checkpoint, key)):
                result.findings.append(
                    Finding(
                        "checkpoint",
                        f"the checkpoint of {checkpoint.get('recorded_at')} does not carry a valid seal "
                        f"under this key (key id {audit_chain.key_id(key)}): the file was edited after it "
                        "was written, or sealed with another key; its head is not evidence",
                    )
                )
        if checkpoint is not None:
            result.findings += verify_checkpoint(connection, checkpoint)
            when = checkpoint.get("recorded_at")
            result.checks.append(f"checkpoint: head row {checkpoint['head_id']} of {when}")
        else:
            result.warnings.append(
                "no checkpoint given: removal of the newest audit rows cannot be detected "
                "(`cartrial audit checkpoint`, then `audit verify --checkpoint FILE`)"
            )
        findings, locks = verify_lock_anchors(connection)
        result.findings += findings
        result.checks.append(f"lock anchors: {locks} lock(s)")
        escalation_writers = _escalation_writers_warning(connection)  # for review, not tampering (D-19.419)
        result.checks.append("escalation decision writers: checked against the role matrix")
        if escalation_writers is not None:
            result.warnings.append(escalation_writers)
        if replay:
            findings, compared = replay_state(connection)
            result.findings += findings
            result.checks.append(f"data against the trail: {compared} stored rows")
    if len(result.findings) > MAX_FINDINGS:
        result.findings = result.findings[:MAX_FINDINGS]
        result.truncated_report = True
    return result
