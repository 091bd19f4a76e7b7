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
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import and_, select

from cartrial.errors import CartrialError
from cartrial.store import StudyService
from cartrial.store.models import STUDY_TABLES
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


def _state(tx: Any) -> tuple[Any, ...]:
    tables = {}
    for name in ("lab_result", "data_query"):
        table = table_of(STUDY_TABLES[name])
        tables[name] = [
            {k: v for k, v in row.items() if k not in NOW_COLUMNS}
            for row in tx.connection.execute(select(table).order_by(table.c.id)).mappings()
        ]
    updates = [tuple(entry)[UPDATE_FIELDS] for entry in tx._pending if tuple(entry)[3] == "update"]
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
            if batched:
                tx.upsert_rows("lab_result", [dict(row) for row in rows])
            else:
                _one_by_one(tx, [dict(row) for row in rows])
            raise _Done(_state(tx))
    except _Done as done:
        return done.outcome
    except CartrialError as exc:
        return type(exc).__name__


def _store(service: StudyService, rows: list[dict[str, Any]]) -> None:
    with service.as_user("dm").transaction(source="seed", reason="seed") as tx:
        tx.upsert_rows("lab_result", rows)


@settings(
    max_examples=30,
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


def test_a_checked_call_prepares_and_checks_its_rows_once(study: StudyDb) -> None:
    """`Transaction.upsert_rows` runs the bulk write's own checks (`prepare_rows`, the subjects and sites)
    once per call, not once for its field rules and again for the write (D-19.511); and still refuses
    what they refuse (an unknown subject), writing nothing."""
    from unittest.mock import patch

    from cartrial.store import bulk

    service = study.service
    calls: list[str] = []
    real_prepare, real_sites = bulk.prepare_rows, bulk.check_subjects_and_sites

    def prepare(*args: Any) -> Any:
        calls.append("prepare_rows")
        return real_prepare(*args)

    def sites(*args: Any) -> Any:
        calls.append("check_subjects_and_sites")
        return real_sites(*args)

    rows = [_lab(key, 5.0, None, None) for key in _KEYS[:4]]
    with (
        patch.object(bulk, "prepare_rows", prepare),
        patch.object(bulk, "check_subjects_and_sites", sites),
        service.as_user("dm").transaction(source="lab feed", reason="feed") as tx,
    ):
        assert tx.upsert_rows("lab_result", rows).inserted == 4
    assert calls == ["prepare_rows", "check_subjects_and_sites"]
    unknown = [{**rows[0], "subject_id": "CT-999"}]
    assert _outcome(service, unknown, batched=True) == "InputError"


def test_rows_checked_in_another_transaction_are_not_written(study: StudyDb) -> None:
    """`bulk.upsert_prepared` writes only rows `prepare_upsert` checked in the same transaction, and a part
    of them only of those rows (`InternalError` otherwise: a write may not skip the checks)."""
    import pytest

    from cartrial.errors import InternalError
    from cartrial.store import bulk

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
