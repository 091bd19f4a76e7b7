"""The bulk write (`bulk.upsert_rows`, computed rows without the form checks) refuses a value no number
column holds, by table, row and column, never the value (D-19.1163)."""

from __future__ import annotations

from typing import Any

import pytest

ROW = {
    "engine": "test",
    "engine_version": "1",
    "source_table": "subject",
    "source_record_id": 0,
    "parameter": "p",
    "value_number": 1.0,
}


@pytest.mark.parametrize(
    ("column", "value", "message", "allowed"),
    [
        ("value_number", "abc", "not a number", "a finite number or blank"),
        ("value_number", "1.5", "not a number", "a finite number or blank"),
        ("value_number", True, "not a number", "a finite number or blank"),
        ("value_number", [1.0], "not a number", "a finite number or blank"),
        ("source_record_id", "abc", "not a whole number", "a whole number ≥ -2147483648 and ≤ 2147483647"),
        ("source_record_id", 1.5, "not a whole number", "a whole number ≥ -2147483648 and ≤ 2147483647"),
        ("source_record_id", 2**31, "not a whole number", "a whole number ≥ -2147483648 and ≤ 2147483647"),
    ],
)
@pytest.mark.parametrize("columnwise", [False, True])
def test_the_bulk_write_refuses_text_in_a_number_column(
    example_sqlite: str, column: str, value: Any, message: str, allowed: str, columnwise: bool
) -> None:
    """Before: SQLite stored the text ``abc`` in ``derived_value.value_number`` (every later read then
    refused the record as "changed directly in the database", which it was not)."""
    from cartrial.errors import InputError
    from cartrial.store import StudyService
    from cartrial.store.bulk import upsert_columns, upsert_rows

    rows = [dict(ROW, parameter="q"), {**ROW, column: value}]
    service = StudyService(example_sqlite)
    try:
        with pytest.raises(InputError) as caught, service.transaction("admin", "test") as tx:
            if columnwise:
                upsert_columns(tx, "derived_value", {name: [row[name] for row in rows] for name in ROW})
            else:
                upsert_rows(tx, "derived_value", rows)
        assert not [r for r in service.find_records("admin", "derived_value") if r["engine"] == "test"]
    finally:
        service.engine.dispose()
    problems = caught.value.problems
    assert [(p.field, p.row, p.message, p.allowed, p.value) for p in problems] == [
        (f"derived_value.{column}", 2, message, allowed, None)
    ]
    assert "abc" not in str(caught.value) and "1.5" not in str(caught.value)


def test_numbers_of_other_python_kinds_are_written(example_sqlite: str) -> None:
    """A whole number in a number column and numpy's numbers are numbers: written, read back as stored."""
    import numpy as np

    from cartrial.store import StudyService
    from cartrial.store.bulk import upsert_rows

    rows = [
        {**ROW, "parameter": "a", "value_number": 2},
        {**ROW, "parameter": "b", "value_number": np.float64(2.5)},
        {**ROW, "parameter": "c", "value_number": None},
    ]
    service = StudyService(example_sqlite)
    try:
        with service.transaction("admin", "test") as tx:
            upsert_rows(tx, "derived_value", rows)
        stored = {
            r["parameter"]: r["value_number"]
            for r in service.find_records("admin", "derived_value")
            if r["engine"] == "test"
        }
    finally:
        service.engine.dispose()
    assert stored == {"a": 2.0, "b": 2.5, "c": None}
