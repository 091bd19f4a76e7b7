"""Changed rows of the API's bulk write are written set-based (D-19.512) and are the row-by-row edits.

The oracle is independent of the bulk write's update path: the same rows written one by one through the
single-record API (`Transaction.insert_record` for a key not stored, `Transaction.update_record` with the
row's values for a stored one, which ignores unchanged values). For lab rows — whose edit checks do not
read the subject's other labs, so that writing all rows first and judging each after (D-19.433) is judging
each alone — the stored records (their versions included), the update audit rows (record, subject, field,
old and new value, reason, in row order), the data queries and whether the call is refused must be the
same, for batches of new, changed and unchanged rows mixed, on both backends. Committed, the trail
replays to the stored records (`audit verify`).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import and_, func, select
from sqlalchemy.event import listen as event_listen
from sqlalchemy.event import remove as event_remove
from tests.conftest import property_examples

from cartrial.errors import CartrialError, ConflictError, InputError, InternalError
from cartrial.store import StudyService, bulk, edit_checks
from cartrial.store.audit import AuditEntry
from cartrial.store.models import STUDY_TABLES, AuditLog
from cartrial.store.tables import table_of
from cartrial.store.tamper import verify_complete

from .conftest import StudyDb

NOW_COLUMNS = frozenset({"created_at", "updated_at", "raised_at"})
CHINA = dt.timezone(dt.timedelta(hours=8))
UPDATE_FIELDS = slice(3, 11)
"""`AuditEntry` fields compared: action, table, record id, subject, field, old, new, reason."""

_KEYS = [
    (subject, analyte, at)
    for subject in ("CT-001", "CT-002", "CT-101")
    for analyte in ("wbc", "crp")
    for at in (dt.datetime(2021, 7, 2, 8, tzinfo=dt.UTC), dt.datetime(2021, 7, 3, 8, tzinfo=dt.UTC))
]
_UNITS = {"wbc": ("10^9/l", 4.0), "crp": ("mg/l", 0.0)}


def _lab(
    key: tuple[str, str, dt.datetime], value: float, unit: str | None, uln: float | None
) -> dict[str, Any]:
    subject, analyte, at = key
    row: dict[str, Any] = {"subject_id": subject, "analyte": analyte, "collected_at": at, "value": value}
    row["unit"], row["lln"] = _UNITS[analyte]
    if unit is not None:
        row["unit"] = unit  # another test's unit: refused by the field rules
    if uln is not None:
        row["uln"] = uln
    return row


_ROWS = st.builds(
    _lab,
    st.sampled_from(_KEYS),
    st.sampled_from([5.0, 6.5, 3.0, -1.0, 5000.0]),  # -1: refused; 5000: a unit slip (soft query)
    st.sampled_from([None, None, None, None, "mg/l"]),
    st.sampled_from([None, 10.0, 12.0]),
)


def _unique(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        seen.setdefault((row["subject_id"], row["analyte"], row["collected_at"]), row)
    return list(seen.values())


def _in_zone(row: dict[str, Any], zone: bool) -> dict[str, Any]:
    """The row with its key time given in another zone (the same instant) when `zone`."""
    return {**row, "collected_at": row["collected_at"].astimezone(CHINA)} if zone else dict(row)


class _Done(Exception):
    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome


def _state(tx: Any, audited_before: int) -> tuple[Any, ...]:
    tables = {}
    for name in ("lab_result", "data_query"):
        table = table_of(STUDY_TABLES[name])
        tables[name] = [
            {k: v for k, v in row.items() if k not in NOW_COLUMNS}
            for row in tx.connection.execute(select(table).order_by(table.c.id)).mappings()
        ]
    # the update audit rows of this call: those already written onto the chain (a single insert flushes
    # the queue first, D-19.643) and those still queued
    audit = AuditLog.__table__
    written = tx.connection.execute(
        select(*(audit.c[name] for name in AuditEntry._fields))
        .where(audit.c.id > audited_before)
        .order_by(audit.c.id)
    ).all()
    entries = [*(tuple(row) for row in written), *(tuple(entry) for entry in tx._pending)]
    updates = [entry[UPDATE_FIELDS] for entry in entries if entry[3] == "update"]
    queries = [(q.check, q.table, q.record_id, q.field) for q in tx.raised_queries]
    return tables, [u for u in updates if u[1] == "lab_result"], queries


def _one_by_one(tx: Any, rows: list[dict[str, Any]]) -> None:
    """Each row through the single-record API: an insert for a key not stored, else an edit of the stored
    record with the row's values (unchanged values are no change)."""
    labs = table_of(STUDY_TABLES["lab_result"])
    for row in rows:
        stored = (
            tx.connection.execute(
                select(labs.c.id, labs.c.version).where(
                    and_(*(labs.c[k] == row[k] for k in ("subject_id", "analyte", "collected_at")))
                )
            )
            .mappings()
            .first()
        )
        if stored is None:
            tx.insert_record("lab_result", row)
        else:
            tx.update_record("lab_result", int(stored["id"]), row, int(stored["version"]), "feed")


def _outcome(service: StudyService, rows: list[dict[str, Any]], batched: bool) -> Any:
    try:
        with service.as_user("dm").transaction(source="lab feed", reason="feed") as tx:
            audit = AuditLog.__table__
            audited_before = int(
                tx.connection.execute(select(func.coalesce(func.max(audit.c.id), 0))).scalar()
            )
            if batched:
                tx.upsert_rows("lab_result", [dict(row) for row in rows])
            else:
                _one_by_one(tx, [dict(row) for row in rows])
            raise _Done(_state(tx, audited_before))
    except _Done as done:
        return done.outcome
    except CartrialError as exc:
        return type(exc).__name__


def _store(service: StudyService, rows: list[dict[str, Any]]) -> None:
    with service.as_user("dm").transaction(source="seed", reason="seed") as tx:
        tx.upsert_rows("lab_result", rows)


@settings(
    max_examples=property_examples(30),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    stored=st.lists(
        _ROWS.filter(lambda r: r["value"] > 0 and r.get("unit") == _UNITS[r["analyte"]][0]), max_size=8
    ),
    rows=st.lists(_ROWS, min_size=1, max_size=8),
    zone=st.booleans(),
)
def test_changed_rows_are_the_row_by_row_edits(study: StudyDb, stored, rows, zone) -> None:
    """A batch of new, changed and unchanged lab rows (values, an optional field added or changed, a key
    time in another zone, field refusals, soft edit checks) gives the stored records, update audit rows and
    data queries of the same rows written one by one through the single-record API."""
    service = study.service
    stored, rows = _unique(stored), [_in_zone(r, zone) for r in _unique(rows)]
    with service.as_user("dm").transaction(source="seed", reason="seed") as tx:
        tx.connection.execute(table_of(STUDY_TABLES["lab_result"]).delete())  # each example from scratch
        tx.connection.execute(table_of(STUDY_TABLES["data_query"]).delete())
    if stored:
        _store(service, stored)
    batched = _outcome(service, rows, batched=True)
    if isinstance(batched, str):
        event(f"refused: {batched}")
    else:
        event(f"updates: {bool(batched[1])}, queries: {bool(batched[2])}")
    assert batched == _outcome(service, rows, batched=False)


def test_a_committed_batch_of_changed_rows_replays_to_the_stored_records(study: StudyDb) -> None:
    """New, changed and unchanged rows in one committed call: one update audit row per changed value,
    with the stored value before as old and the row's as new; `audit verify` (chain and replay) passes."""
    service = study.service
    first = [_lab(key, 5.0, None, None) for key in _KEYS]
    _store(service, first)
    again = [
        _lab(key, 6.5 if number % 3 == 0 else 5.0, None, 12.0 if number % 4 == 0 else None)
        for number, key in enumerate(_KEYS)
    ]
    with service.as_user("dm").transaction(source="lab feed", reason="correction") as tx:
        result = tx.upsert_rows("lab_result", again)
        updates = [tuple(e)[UPDATE_FIELDS] for e in tx._pending if tuple(e)[3] == "update"]
    changed = [n for n in range(len(_KEYS)) if n % 3 == 0 or n % 4 == 0]
    assert (result.inserted, result.updated, result.unchanged) == (0, len(changed), len(_KEYS) - len(changed))
    expected = []
    for n in changed:
        if n % 3 == 0:
            expected.append(("value", "5.0", "6.5"))
        if n % 4 == 0:
            expected.append(("uln", None, "12.0"))
    assert [(u[4], u[5], u[6]) for u in updates] == expected
    assert {u[7] for u in updates} == {"correction"} and [u[3] for u in updates] == [
        _KEYS[n][0] for n in changed for _ in range((n % 3 == 0) + (n % 4 == 0))
    ]
    labs = table_of(STUDY_TABLES["lab_result"])
    with service.engine.connect() as connection:
        versions = [int(v) for v in connection.execute(select(labs.c.version).order_by(labs.c.id)).scalars()]
    assert versions == [2 if n in changed else 1 for n in range(len(_KEYS))]
    verified = verify_complete(service)
    assert verified.ok, verified.findings


@contextmanager
def _counted_checks() -> Iterator[list[str]]:
    """`prepare_rows` and `check_subjects_and_sites` counted into one list wherever they are called from:
    `bulk`'s own names and the names `writes` imports (a call through either is one call)."""
    from cartrial.store import bulk, writes

    calls: list[str] = []
    real_prepare, real_sites = bulk.prepare_rows, bulk.check_subjects_and_sites

    def prepare(*args: Any) -> Any:
        calls.append("prepare_rows")
        return real_prepare(*args)

    def sites(*args: Any) -> Any:
        calls.append("check_subjects_and_sites")
        return real_sites(*args)

    with (
        patch.object(bulk, "prepare_rows", prepare),
        patch.object(bulk, "check_subjects_and_sites", sites),
        patch.object(writes, "prepare_rows", prepare),
        patch.object(writes, "check_subjects_and_sites", sites),
    ):
        yield calls


def test_a_checked_call_prepares_and_checks_its_rows_once(study: StudyDb) -> None:
    """`Transaction.upsert_rows` runs the bulk write's own checks (`prepare_rows`, the subjects and sites)
    once per call, not once for its field rules and again for the write (D-19.511); and still refuses
    what they refuse (an unknown subject), writing nothing."""
    service = study.service
    rows = [_lab(key, 5.0, None, None) for key in _KEYS[:4]]
    with (
        _counted_checks() as calls,
        service.as_user("dm").transaction(source="lab feed", reason="feed") as tx,
    ):
        assert tx.upsert_rows("lab_result", rows).inserted == 4
    assert calls == ["prepare_rows", "check_subjects_and_sites"]
    unknown = [{**rows[0], "subject_id": "CT-999"}]
    assert _outcome(service, unknown, batched=True) == "InputError"


def test_insert_record_prepares_and_checks_its_row_once(study: StudyDb) -> None:
    """`Transaction.insert_record` normalises its row and checks its subject and site once (D-19.515), and
    still refuses a key taken (409) and an unknown subject, writing nothing."""
    service = study.service
    row = _lab(_KEYS[0], 5.0, None, None)
    with (
        _counted_checks() as calls,
        service.as_user("dm").transaction(source="entry", reason="entry") as tx,
    ):
        tx.insert_record("lab_result", dict(row))
    assert calls == ["prepare_rows", "check_subjects_and_sites"]
    for values, refusal in ((row, ConflictError), ({**row, "subject_id": "CT-999"}, InputError)):
        with (
            pytest.raises(refusal),
            service.as_user("dm").transaction(source="entry", reason="entry") as tx,
        ):
            tx.insert_record("lab_result", dict(values))
    assert _lab_rows(service) == [(1, 5.0)]


def _lab_rows(service: StudyService) -> list[tuple[int, float]]:
    """(version, value) of every stored lab record, in id order."""
    labs = table_of(STUDY_TABLES["lab_result"])
    with service.engine.connect() as connection:
        return [
            (int(version), float(value))
            for version, value in connection.execute(select(labs.c.version, labs.c.value).order_by(labs.c.id))
        ]


def _audit_count(service: StudyService) -> int:
    with service.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(AuditLog)).scalar_one())


def _stored_labs(tx: Any) -> list[dict[str, Any]]:
    labs = table_of(STUDY_TABLES["lab_result"])
    return [dict(r) for r in tx.connection.execute(select(labs).order_by(labs.c.id)).mappings()]


def test_a_record_changed_meanwhile_in_a_run_refuses_the_call(study: StudyDb) -> None:
    """`bulk.apply_updates` given a stale version for the middle record of a run of three (the same column
    changed) refuses with `ConflictError` naming that record by id, never a value (D-19.516); rolled back,
    the stored values, versions and audit trail are those before the call (D-19.512)."""
    service = study.service
    _store(service, [_lab(key, 5.0, None, None) for key in _KEYS[:3]])
    before, audited = _lab_rows(service), _audit_count(service)
    model = STUDY_TABLES["lab_result"]
    with (
        pytest.raises(ConflictError) as refused,
        service.as_user("dm").transaction(source="lab feed", reason="feed") as tx,
    ):
        stored = _stored_labs(tx)
        # read before one change by someone else: the version stored is the one the UPDATE would give
        stored[1]["version"] = int(stored[1]["version"]) - 1
        bulk.apply_updates(tx, model, "lab_result", [(s, {"value": 6.5}) for s in stored], "feed")
    message = str(refused.value)
    assert f"record {stored[1]['id']})" in message
    assert "6.5" not in message and "5.0" not in message and "CT-0" not in message
    assert before == [(1, 5.0)] * 3
    assert _lab_rows(service) == before and _audit_count(service) == audited


def test_a_record_changed_twice_in_the_same_clock_tick_is_named(study: StudyDb) -> None:
    """Another writer stamping the same `updated_at` (a coarse clock) is not taken for this write: a record
    changed twice meanwhile in that tick (its version is not the stored one + 1) is named (D-19.516)."""
    service = study.service
    _store(service, [_lab(key, 5.0, None, None) for key in _KEYS[:3]])
    labs = table_of(STUDY_TABLES["lab_result"])
    tick = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    with (
        patch.object(bulk, "utc_now", lambda: tick),
        pytest.raises(ConflictError) as refused,
        service.as_user("dm").transaction(source="lab feed", reason="feed") as tx,
    ):
        stored = _stored_labs(tx)
        tx.connection.execute(  # someone else, twice, in the same tick
            labs.update()
            .where(labs.c.id == stored[1]["id"])
            .values(version=labs.c.version + 2, updated_at=tick)
        )
        model = STUDY_TABLES["lab_result"]
        bulk.apply_updates(tx, model, "lab_result", [(s, {"value": 6.5}) for s in stored], "feed")
    assert f"(the first: record {stored[1]['id']})" in str(refused.value)


def test_a_run_written_before_a_refused_run_is_audited(study: StudyDb) -> None:
    """A caller that catches the refusal of a later run inside its transaction and commits keeps the
    earlier run's update with its audit rows (written right after the run, D-19.513): the trail replays."""
    service = study.service
    _store(service, [_lab(key, 5.0, None, None) for key in _KEYS[:2]])
    model = STUDY_TABLES["lab_result"]
    with service.as_user("dm").transaction(source="lab feed", reason="feed") as tx:
        first, second = _stored_labs(tx)
        second["version"] = int(second["version"]) + 1  # changed meanwhile: its run is refused
        with pytest.raises(ConflictError):
            bulk.apply_updates(
                tx, model, "lab_result", [(first, {"value": 6.5}), (second, {"uln": 12.0})], "fix"
            )
    assert _lab_rows(service) == [(2, 6.5), (1, 5.0)]
    verified = verify_complete(service)
    assert verified.ok, verified.findings


def test_changed_rows_changing_one_column_are_one_update_statement(study: StudyDb) -> None:
    """n stored lab rows whose value changes, in one call: one UPDATE statement on `lab_result` (an
    executemany), not one per row (D-19.512); each row changed once."""
    service = study.service
    keys = _KEYS[:5]
    _store(service, [_lab(key, 5.0, None, None) for key in keys])
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(" ".join(statement.split()).lower())

    event_listen(service.engine, "before_cursor_execute", record)
    try:
        with service.as_user("dm").transaction(source="lab feed", reason="feed") as tx:
            assert tx.upsert_rows("lab_result", [_lab(key, 6.5, None, None) for key in keys]).updated == len(
                keys
            )
    finally:
        event_remove(service.engine, "before_cursor_execute", record)
    assert len([s for s in statements if s.startswith("update lab_result")]) == 1
    assert _lab_rows(service) == [(2, 6.5)] * len(keys)


def test_the_edit_checks_judge_a_changed_row_once_when_nothing_fires(study: StudyDb) -> None:
    """A changed row after which no edit check fires is judged once (the state after the write), not also
    in the state before it (D-19.512): one `run_edit_checks` from `write_findings` per changed row."""
    service = study.service
    keys = _KEYS[:4]
    _store(service, [_lab(key, 5.0, None, None) for key in keys])
    real = edit_checks.run_edit_checks
    callers: list[str] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        callers.append(sys._getframe(1).f_code.co_name)
        return real(*args, **kwargs)

    with (
        patch.object(edit_checks, "run_edit_checks", counted),
        service.as_user("dm").transaction(source="lab feed", reason="feed") as tx,
    ):
        assert tx.upsert_rows("lab_result", [_lab(key, 6.5, None, None) for key in keys]).updated == len(keys)
        assert tx.raised_queries == []
    assert callers.count("write_findings") == len(keys)


def test_rows_checked_in_another_transaction_are_not_written(study: StudyDb) -> None:
    """`bulk.upsert_prepared` writes only rows `prepare_upsert` checked in the same transaction, and a part
    of them only of those rows (`InternalError` otherwise: a write may not skip the checks)."""
    service = study.service
    rows = [_lab(key, 5.0, None, None) for key in _KEYS[:2]]
    with service.as_user("dm").transaction(source="lab feed", reason="feed") as first:
        checked = bulk.prepare_upsert(first, "lab_result", rows)
        with pytest.raises(InternalError):
            checked.part([dict(checked.rows[0])])
    with (
        pytest.raises(InternalError),
        service.as_user("dm").transaction(source="lab feed", reason="feed") as second,
    ):
        bulk.upsert_prepared(second, checked)


def test_checked_rows_cannot_be_changed_after_their_checks(study: StudyDb) -> None:
    """The rows `prepare_upsert` checked are read-only copies: a subject changed after the subject and site
    check (to one the check refuses) is refused by Python, and changing the caller's own dict afterwards
    does not reach what is written (D-19.514)."""
    service = study.service
    rows = [_lab(key, 5.0, None, None) for key in _KEYS[:1]]
    with service.as_user("dm").transaction(source="lab feed", reason="feed") as tx:
        checked = bulk.prepare_upsert(tx, "lab_result", rows)
        with pytest.raises(TypeError):
            checked.rows[0]["subject_id"] = "CT-999"  # type: ignore[index]
        rows[0]["subject_id"] = "CT-999"
        assert checked.rows[0]["subject_id"] == "CT-001"
        assert bulk.upsert_prepared(tx, checked).inserted == 1


def test_checked_rows_built_directly_are_not_written(study: StudyDb) -> None:
    """`CheckedRows` built past `prepare_upsert` — directly, or by `dataclasses.replace` of checked rows
    with other rows — is refused by `upsert_prepared` (`InternalError`: the checks would be skipped), and so
    is a part of it; nothing is written (D-19.514)."""
    from dataclasses import replace

    service = study.service
    rows = [_lab(key, 5.0, None, None) for key in _KEYS[:2]]
    unknown = {**rows[0], "subject_id": "CT-999"}  # what `prepare_upsert` refuses
    with service.as_user("dm").transaction(source="lab feed", reason="feed") as tx:
        keys = ("subject_id", "analyte", "collected_at")
        checked = bulk.prepare_upsert(tx, "lab_result", rows)
        unchecked = [
            bulk.CheckedRows(tx, "lab_result", keys, (unknown,)),
            replace(checked, rows=(unknown,)),
        ]
        for built in unchecked:
            with pytest.raises(InternalError):
                bulk.upsert_prepared(tx, built)
            with pytest.raises(InternalError):
                built.part(list(built.rows))
        assert isinstance(checked.rows, tuple)
    assert _lab_rows(service) == []
