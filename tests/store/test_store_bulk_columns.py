"""`bulk.upsert_columns` (rows given column by column, the import's write path; decisions D-19.13) against
`bulk.upsert_rows` given the same rows as dicts, on both backends.

The same batches go through both functions into two copies of one study: new rows of a table written
straight from the columns, rows with a date-time as text (`prepare_rows` converts them), a re-import into a
table that holds rows (changed and unchanged values), and refused batches (a repeated key, an unknown
subject). Everything observable must be equal: the counts, the stored records, the audit rows (all fields
but the timestamps and the hashes that seal them, both chains verifying) and the problems of a refusal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from tests.store.conftest import StudyDb
from tests.store.test_store_bulk_paths import _audit_rows, _records, two_studies

from cartrial.errors import InputError
from cartrial.store import bulk
from cartrial.store.bulk import UpsertResult

__all__ = ["two_studies"]  # the fixture, used by name

Upsert = Callable[[Any, str, Sequence[dict[str, Any]]], UpsertResult]


def by_rows(tx: Any, table: str, rows: Sequence[dict[str, Any]]) -> UpsertResult:
    return bulk.upsert_rows(tx, table, [dict(row) for row in rows])


def by_columns(tx: Any, table: str, rows: Sequence[dict[str, Any]]) -> UpsertResult:
    names = list(rows[0])
    assert all(list(row) == names for row in rows)
    return bulk.upsert_columns(tx, table, {name: [row[name] for row in rows] for name in names})


def labs(
    n: int, subject: str = "CT-001", value: float = 4.0, text_times: bool = False
) -> list[dict[str, Any]]:
    """`n` lab rows of one subject, typed as an import's validated columns (or with date-times as text)."""
    start = dt.datetime(2021, 6, 1, tzinfo=dt.UTC)
    rows = []
    for i in range(n):
        moment = start + dt.timedelta(hours=i)
        rows.append(
            {
                "subject_id": subject,
                "analyte": "wbc" if i % 2 else "anc",
                "collected_at": moment.isoformat().replace("+00:00", "Z") if text_times else moment,
                "value": value + i / 8,
                "unit": "10^9/L",
                "life_threatening_anemia": None if i % 3 else False,
            }
        )
    return rows


def scenario(db: StudyDb, upsert: Upsert) -> list[Any]:
    user = db.service.as_user("dm")
    seen: list[Any] = []
    with user.transaction("first import", "values corrected in the same import") as tx:
        seen.append(upsert(tx, "lab_result", labs(7_000)))  # more than one chunk: several batch rows
        seen.append(upsert(tx, "lab_result", labs(3, subject="CT-002")))  # a later call, tracked keys
        seen.append(upsert(tx, "lab_result", labs(2, subject="CT-002", value=9.0)))  # keys written: update
        seen.append(upsert(tx, "lab_result", labs(5, subject="CT-101", text_times=True)[2:]))  # text
    with user.transaction("re-import", "corrected after monitoring") as tx:
        changed = labs(20)
        changed[4]["value"] = 99.0
        changed[5]["life_threatening_anemia"] = True
        seen.append(upsert(tx, "lab_result", changed))  # stored keys: compared, one value each changed
    for batch in (labs(2) + labs(1), labs(2, subject="NOBODY")):  # a repeated key; an unknown subject
        try:
            with user.transaction("refused") as tx:
                upsert(tx, "lab_result", batch)
        except InputError as exc:
            seen.append([(p.message, p.field, p.value) for p in exc.problems])
        else:
            seen.append("accepted")
    return seen


def test_columns_and_rows_write_the_same(
    two_studies: tuple[StudyDb, StudyDb], monkeypatch: pytest.MonkeyPatch
) -> None:
    columns, rows = two_studies
    row_path = bulk.upsert_rows
    fell_back: list[str] = []

    def counted(tx: Any, table: str, given: Sequence[Any], *args: Any, **kwargs: Any) -> UpsertResult:
        fell_back.append(table)
        return row_path(tx, table, given, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(bulk, "upsert_rows", counted)
        written = scenario(columns, by_columns)
    # the column path wrote the first two batches itself; the row path decided the keys written before,
    # the text date-times, and every later batch (the table then holds rows: stored keys to compare)
    assert len(fell_back) == 5
    assert written == scenario(rows, by_rows)
    assert _records(columns, "lab_result") == _records(rows, "lab_result")
    assert len(_records(columns, "lab_result")) == 7_000 + 3 + 3
    assert _audit_rows(columns) == _audit_rows(rows)


def test_sqlite_stores_nulls_and_booleans_as_bound(sqlite_study: StudyDb) -> None:
    """The SQLite insert leaves out a nullable column that is blank in every row of a call and binds
    booleans as 1/0 (import speed): what is stored is what binding every value stored, NULL for each blank
    and the integers 1 and 0 for true and false, also where a column is blank in some rows only."""
    first = labs(3)  # life_threatening_anemia: False, None, None; uln and laboratory never given
    blank = [{**row, "life_threatening_anemia": None} for row in labs(2, subject="CT-002")]
    both = [
        {**row, "life_threatening_anemia": flag}
        for row, flag in zip(labs(2, subject="CT-101"), (True, None), strict=True)
    ]
    with sqlite_study.service.as_user("dm").transaction("storage form") as tx:
        for rows in (first, blank, both):
            by_columns(tx, "lab_result", rows)
    with sqlite_study.service.engine.connect() as connection:
        stored = connection.exec_driver_sql(
            "SELECT subject_id, typeof(life_threatening_anemia), life_threatening_anemia, typeof(uln), "
            "typeof(laboratory), typeof(value), version FROM lab_result ORDER BY id"
        ).all()
    assert [tuple(row) for row in stored] == [
        ("CT-001", "integer", 0, "null", "null", "real", 1),
        ("CT-001", "null", None, "null", "null", "real", 1),
        ("CT-001", "null", None, "null", "null", "real", 1),
        ("CT-002", "null", None, "null", "null", "real", 1),
        ("CT-002", "null", None, "null", "null", "real", 1),
        ("CT-101", "integer", 1, "null", "null", "real", 1),
        ("CT-101", "null", None, "null", "null", "real", 1),
    ]


def test_sqlite_stores_a_numpy_bool_as_an_integer(sqlite_study: StudyDb) -> None:
    """A numpy bool (what a pandas boolean column holds) is stored as the integer 1 or 0, as a bool is.
    Before: the driver bound it as a one-byte BLOB (b'\\x01'), which no reader reads as true."""
    rows = [
        {**row, "life_threatening_anemia": flag}
        for row, flag in zip(labs(3, subject="CT-002"), (np.bool_(True), np.bool_(False), None), strict=True)
    ]
    with sqlite_study.service.as_user("dm").transaction("numpy bools") as tx:
        by_columns(tx, "lab_result", rows)
    with sqlite_study.service.engine.connect() as connection:
        stored = connection.exec_driver_sql(
            "SELECT typeof(life_threatening_anemia), life_threatening_anemia FROM lab_result "
            "WHERE subject_id = 'CT-002' ORDER BY id"
        ).all()
    assert [tuple(row) for row in stored] == [("integer", 1), ("integer", 0), ("null", None)]
