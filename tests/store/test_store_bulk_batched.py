"""The API's bulk write reads the stored records of the whole call at once (D-19.433): the same outcome as
reading them row by row.

`Transaction.upsert_rows` (`writes.upsert_checked_rows`) finds the stored records the rows match in one
query per chunk (`writes.find_by_keys`) and reads the subjects' stored records for the edit checks once
(`edit_checks.write_context`). The oracle is the same write with both replaced by their row-by-row forms
(`find_by_key` per row; `write_findings` reading each row's subject itself): the stored records, the
queued audit rows (their times aside), the data queries raised and every refusal — its kind, message and
located problems — must be the same, on both backends.
"""

from __future__ import annotations

import datetime as dt
import re
from contextlib import ExitStack
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from tests.conftest import property_examples

from cartrial.errors import CartrialError
from cartrial.store import StudyService, bulk
from cartrial.store.models import STUDY_TABLES
from cartrial.store.tables import table_of
from cartrial.store.writes import find_by_key, find_by_keys

COMPARED_TABLES = ("subject", "infusion", "adverse_event", "lab_result", "data_query")
NOW_COLUMNS = frozenset({"created_at", "updated_at", "raised_at"})
"""Columns holding the time of the write (differ between the two runs)."""
CHINA = dt.timezone(dt.timedelta(hours=8))

SEED_LABS = [
    {"subject_id": s, "analyte": "wbc", "collected_at": "2021-07-02T08:00:00Z", "value": 5.0}
    | {"unit": "10^9/l", "lln": 4.0}
    for s in ("CT-001", "CT-002", "CT-101")
]
SEED_EVENT = {
    "subject_id": "CT-002",
    "term": "Fever",
    "category": "infection",
    "started_on": "2021-06-03",
    "ended_on": "2021-06-04",
    "grade": 1,
    "grading_scale": "CTCAE",
    "grading_scale_version": "5.0",
    "outcome": "recovered",
}
SEED_INFUSION = {"subject_id": "CT-001", "infused_at": "2021-06-01T02:00:00Z", "dose_level": 1}
SEED_SUBJECTS = [
    {"subject_id": "CT-005", "site_id": "TJH", "consent_date": "2021-05-06", "sex": "M"},
    {"subject_id": "CT-006", "site_id": "TJH", "consent_date": "2021-05-06", "sex": "F"},
]
SEED_STANDING = [
    {"subject_id": "CT-005", "infused_at": at, "dose_level": 1}
    for at in ("2021-06-01T02:00:00Z", "2021-06-22T02:00:00Z")
]
"""A standing hard finding (INFUSION-ONCE: two infusions, stored without the checks, as data kept from
before a check) of a subject without labs: a new lab's state before is this subject's alone, in which the
finding stands (not created by the lab), not another lab-less subject's (CT-006, where it does not)."""


def _seed(service: StudyService) -> None:
    """Stored records the rows may match (updates) or be checked against, written once per database."""
    if service.table_counts()["lab_result"]:
        return
    with service.as_user("admin").transaction(source="seed", reason="seed") as tx:
        tx.upsert_rows("lab_result", SEED_LABS)
        tx.upsert_rows("adverse_event", [SEED_EVENT])
        tx.upsert_rows("infusion", [SEED_INFUSION])
        tx.upsert_rows("subject", SEED_SUBJECTS)
        bulk.upsert_rows(tx, "infusion", SEED_STANDING)  # the store's writer, without the edit checks


class _Done(Exception):
    """Raised inside the write transaction with what it holds, to roll it back."""

    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome


def _one_by_one(connection: Any, model: Any, rows: Any, keys: Any) -> list[Any]:
    return [find_by_key(connection, model, row, keys) for row in rows]


def _no_context(*_: Any) -> None:
    return None


def _without_now(value: Any) -> Any:
    """Audit texts with the write's own date-times (today's) masked."""
    if not isinstance(value, str):
        return value
    for day in (dt.datetime.now(dt.UTC).date(), dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)):
        value = re.sub(rf"{day.isoformat()}[T ][0-9:.+Z]*", "<now>", value)
    return value


def _state(tx: Any) -> tuple[Any, ...]:
    tables = {}
    for name in COMPARED_TABLES:
        table = table_of(STUDY_TABLES[name])
        tables[name] = [
            {k: v for k, v in row.items() if k not in NOW_COLUMNS}
            for row in tx.connection.execute(select(table).order_by(table.c.id)).mappings()
        ]
    audit = [tuple(_without_now(v) for v in tuple(entry)[1:]) for entry in tx._pending]
    return tables, audit, list(tx.raised_queries)


def _outcome(
    service: StudyService,
    user: str,
    table: str,
    rows: list[dict[str, Any]],
    batched: bool,
    keys: tuple[str, ...] | None = None,
    chunk: int | None = None,
) -> Any:
    """What one `upsert_rows` call does (rolled back): (result, stored state, audit rows, queries raised),
    or the refusal (kind, message, located problems). `keys`: the call's `key_columns`; `chunk`: the rows
    per lookup by key and per write chunk (`bulk.key_chunk_rows`, which also bounds an audit batch row's
    run of records: set alike on both paths), small to cross chunk edges."""
    with ExitStack() as stack:
        if not batched:
            stack.enter_context(patch("cartrial.store.writes.find_by_keys", _one_by_one))
            stack.enter_context(patch("cartrial.store.edit_checks.write_context", _no_context))
        if chunk is not None:
            stack.enter_context(patch("cartrial.store.bulk.key_chunk_rows", lambda backend, keys: chunk))
        try:
            with service.as_user(user).transaction(source="lab feed", reason="feed") as tx:
                result = tx.upsert_rows(table, [dict(row) for row in rows], keys)
                raise _Done((result, *_state(tx)))
        except _Done as done:
            return done.outcome
        except CartrialError as exc:
            located = getattr(exc, "problems", [])
            problems = [(p.row, p.field, p.message, repr(p.value), p.allowed) for p in located]
            return type(exc).__name__, str(exc), problems


_SUBJECTS = st.sampled_from(["CT-001", "CT-002", "CT-101", "CT-005", "CT-006"])
_TIMES = st.sampled_from(
    [
        "2021-07-02T08:00:00Z",  # the seeded labs' time: an update
        dt.datetime(2021, 7, 2, 16, 0, tzinfo=CHINA),  # the same instant in another zone
        "2021-07-03T08:00:00Z",
        "2021-05-01T08:00:00Z",  # before CT-001's infusion
        "2099-01-01T08:00:00Z",  # in the future: a soft check (data query)
    ]
)
_LABS = st.builds(
    lambda subject, test, at, value: {"subject_id": subject, **test, "collected_at": at, "value": value},
    _SUBJECTS,
    st.sampled_from(  # mostly a test with its unit, sometimes a unit of another test (refused)
        [
            {"analyte": "wbc", "unit": "10^9/l", "lln": 4.0},
            {"analyte": "crp", "unit": "mg/l", "lln": 0.0},
            {"analyte": "wbc", "unit": "10^9/l", "lln": 4.0},
            {"analyte": "crp", "unit": "10^9/l", "lln": 0.0},
        ]
    ),
    st.one_of(_TIMES, st.just(None)),  # None: a missing key part (refused, or looked up alone)
    st.sampled_from([5.0, 6.5, 3.0, 5.0, -1.0]),
)
_EVENTS = st.fixed_dictionaries(
    {
        "subject_id": _SUBJECTS,
        "term": st.sampled_from(["Fever", "Sepsis"]),
        "category": st.just("infection"),
        "started_on": st.sampled_from(["2021-06-03", "2021-06-10", dt.date(2021, 4, 1)]),
        "ended_on": st.sampled_from(["2021-06-12", None]),
        "grade": st.sampled_from([1, 3, 5]),
        "grading_scale": st.just("CTCAE"),
        "grading_scale_version": st.just("5.0"),
        "outcome": st.sampled_from(["recovered", "fatal"]),
    }
)
_INFUSIONS = st.fixed_dictionaries(
    {
        "subject_id": _SUBJECTS,
        "infused_at": st.sampled_from(
            ["2021-06-01T02:00:00Z", "2021-06-22T02:30:00Z", "2021-05-01T02:00:00Z"]
        ),
        "dose_level": st.sampled_from([1, 2, 9]),
    }
)

_SUBJECT_ROWS = st.fixed_dictionaries(
    {
        "subject_id": st.sampled_from(["CT-001", "CT-002", "CT-101", "CT-005", "CT-007"]),
        "site_id": st.sampled_from(["TJH", "PUMCH"]),
        "consent_date": st.sampled_from(["2021-05-06", "2021-06-15", "2099-01-01"]),
        "sex": st.sampled_from(["F", "M", "X"]),
    },
    optional={
        "disposition": st.sampled_from(["ongoing", "death", "withdrawn"]),
        "disposition_date": st.sampled_from(["2021-06-05", "2021-08-01"]),
    },
)


def _unique(table: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with the first of each natural key only (a repeated key is `prepare_rows`' refusal, the
    same on both paths; kept out so that the examples reach the lookups)."""
    keys = STUDY_TABLES[table].natural_key
    seen: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(tuple(str(row[k]) for k in keys), row)
    return list(seen.values())


_CASES = st.one_of(
    st.lists(_LABS, min_size=1, max_size=6).map(lambda rows: ("lab_result", _unique("lab_result", rows))),
    st.lists(_EVENTS, min_size=1, max_size=5).map(
        lambda rows: ("adverse_event", _unique("adverse_event", rows))
    ),
    st.lists(_INFUSIONS, min_size=1, max_size=3).map(lambda rows: ("infusion", _unique("infusion", rows))),
    st.lists(_SUBJECT_ROWS, min_size=1, max_size=3).map(lambda rows: ("subject", _unique("subject", rows))),
)


@settings(
    max_examples=property_examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    case=_CASES,
    user=st.sampled_from(["dm", "inv"]),
    reordered=st.booleans(),
    chunk=st.sampled_from([None, 1, 2]),
)
def test_batched_write_gives_the_row_by_row_outcome(study, case, user, reordered, chunk) -> None:
    """One call's stored records, audit rows, raised queries and refusals equal those of the same call
    reading the stored records row by row (new and matched rows, keys in another zone, a missing key part,
    the natural key given as `key_columns` in another order, lookups of 1 or 2 rows per chunk, rows of
    several subjects one of which has a standing soft finding, another site's subject for the
    investigator, subject rows moving a consent or ending the study, field refusals, hard and soft edit
    checks)."""
    service: StudyService = study.service
    _seed(service)
    table, rows = case
    keys = tuple(reversed(STUDY_TABLES[table].natural_key)) if reordered else None
    batched = _outcome(service, user, table, rows, batched=True, keys=keys, chunk=chunk)
    event(f"{table}: {batched[0] if isinstance(batched[0], str) else 'written'}")
    if not isinstance(batched[0], str) and batched[3]:
        event("data queries raised")
    assert batched == _outcome(service, user, table, rows, batched=False, keys=keys, chunk=chunk)


@pytest.mark.parametrize("chunk", [None, 1])
def test_batched_write_judges_each_subject_on_its_own_records(study, chunk) -> None:
    """New labs of two subjects without stored labs: the state before each is its own subject's (CT-005
    has a standing hard INFUSION-ONCE finding, which the labs do not create), not the first subject's
    (CT-006, none): written, with the same outcome as row by row."""
    service: StudyService = study.service
    _seed(service)
    rows = [
        {"subject_id": s, "analyte": "wbc", "unit": "10^9/l", "lln": 4.0, "value": 5.0}
        | {"collected_at": "2021-07-05T08:00:00Z"}
        for s in ("CT-006", "CT-005", "CT-006")
    ]
    rows[2]["collected_at"] = "2021-07-06T08:00:00Z"
    batched = _outcome(service, "dm", "lab_result", rows, batched=True, chunk=chunk)
    assert not isinstance(batched[0], str), batched
    assert "INFUSION-ONCE" not in {q.check for q in batched[3]}  # it stood before these writes
    assert batched == _outcome(service, "dm", "lab_result", rows, batched=False, chunk=chunk)


def test_find_by_keys_matches_find_by_key_for_every_kind_of_key(study) -> None:
    """The stored record of each row, or None, as `find_by_key` finds it — a key in another zone, a key
    of another subject, a missing record — in the rows' order."""
    from cartrial.store.models import LabResult

    service: StudyService = study.service
    _seed(service)
    keys = LabResult.natural_key
    rows: list[dict[str, Any]] = [
        {"subject_id": "CT-002", "analyte": "wbc", "collected_at": dt.datetime(2021, 7, 2, 8, tzinfo=dt.UTC)},
        {"subject_id": "CT-001", "analyte": "wbc", "collected_at": dt.datetime(2021, 7, 2, 16, tzinfo=CHINA)},
        {"subject_id": "CT-001", "analyte": "crp", "collected_at": dt.datetime(2021, 7, 2, 8, tzinfo=dt.UTC)},
        {"subject_id": "CT-009", "analyte": "wbc", "collected_at": dt.datetime(2021, 7, 2, 8, tzinfo=dt.UTC)},
        {"subject_id": "CT-101", "analyte": "wbc", "collected_at": dt.datetime(2021, 7, 2, 8, tzinfo=dt.UTC)},
    ]
    with service.engine.connect() as connection:
        expected = [find_by_key(connection, LabResult, row, keys) for row in rows]
        assert [r is None for r in expected] == [False, False, True, True, False]
        assert find_by_keys(connection, LabResult, rows, keys) == expected


@pytest.mark.parametrize("chunk", [1, 2])
def test_find_by_keys_in_chunks(study, chunk, monkeypatch) -> None:
    """Chunked lookups (the bound-parameter limit) find every row's record."""
    from cartrial.store import bulk
    from cartrial.store.models import LabResult

    service: StudyService = study.service
    _seed(service)
    keys = LabResult.natural_key
    monkeypatch.setattr(bulk, "key_chunk_rows", lambda backend, keys: chunk)
    rows = [
        {"subject_id": s, "analyte": "wbc", "collected_at": dt.datetime(2021, 7, 2, 8, tzinfo=dt.UTC)}
        for s in ("CT-101", "CT-001", "CT-009", "CT-002")
    ]
    with service.engine.connect() as connection:
        found = find_by_keys(connection, LabResult, rows, keys)
    assert [None if r is None else r["subject_id"] for r in found] == ["CT-101", "CT-001", None, "CT-002"]


def test_a_written_row_not_found_again_is_an_internal_error(study) -> None:
    """The records written are looked up again for their checks: one not found (the write and the lookup
    disagree) stops the call with `InternalError`, a `CartrialError` raised also under ``python -O``
    (D-19.438), and nothing is written."""
    from cartrial.errors import InternalError
    from cartrial.store import writes

    service: StudyService = study.service
    _seed(service)
    calls: list[int] = []
    real = writes.find_by_keys

    def forgetful(connection: Any, model: Any, rows: Any, keys: Any) -> list[Any]:
        calls.append(len(rows))
        found = real(connection, model, rows, keys)
        return found if len(calls) == 1 else [*found[:-1], None]

    rows = [
        {"subject_id": s, "analyte": "crp", "unit": "mg/l", "lln": 0.0, "value": 1.0}
        | {"collected_at": "2021-07-09T08:00:00Z"}
        for s in ("CT-001", "CT-002")
    ]
    with (
        patch("cartrial.store.writes.find_by_keys", forgetful),
        pytest.raises(InternalError) as caught,
        service.as_user("dm").transaction(source="lab feed", reason="feed") as tx,
    ):
        tx.upsert_rows("lab_result", rows)
    assert "row 2" in str(caught.value) and calls == [2, 2]
    with service.engine.connect() as connection:
        labs = table_of(STUDY_TABLES["lab_result"])
        assert connection.execute(select(labs.c.id).where(labs.c.analyte == "crp")).first() is None
