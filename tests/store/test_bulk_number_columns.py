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
        pytest.param(
            "source_record_id",
            10**400,
            "not a whole number",
            "a whole number ≥ -2147483648 and ≤ 2147483647",
            id="source_record_id-10**400",
        ),
        pytest.param(
            "value_number",
            10**400,
            "not a finite number",
            "a finite number or blank (in a JSON field: finite numbers, RFC 8259 §6)",
            id="value_number-10**400",
        ),
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


@pytest.mark.parametrize("value", [10**400, -(10**400)], ids=["10**400", "-10**400"])
@pytest.mark.parametrize("columnwise", [False, True])
def test_a_whole_number_too_large_for_a_float_is_refused_at_its_row(
    example_sqlite: str, value: int, columnwise: bool
) -> None:
    """Before: ``float(10**400)`` raised OverflowError (a traceback) in the check of a number column, not
    the located refusal; 10**400 is no finite double (IEEE 754 binary64 tops out near 1.8e308)."""
    from cartrial.errors import InputError
    from cartrial.store import StudyService
    from cartrial.store.bulk import upsert_columns, upsert_rows

    rows = [dict(ROW, parameter="q"), {**ROW, "value_number": value}]
    service = StudyService(example_sqlite)
    try:
        with pytest.raises(InputError) as caught, service.transaction("admin", "test") as tx:
            if columnwise:
                upsert_columns(tx, "derived_value", {name: [row[name] for row in rows] for name in ROW})
            else:
                upsert_rows(tx, "derived_value", rows)
    finally:
        service.engine.dispose()
    assert [(p.field, p.row, p.message) for p in caught.value.problems] == [
        ("derived_value.value_number", 2, "not a finite number")
    ]


@pytest.mark.parametrize("columnwise", [False, True])
def test_finite_numpy_scalars_are_stored_as_python_numbers(example_sqlite: str, columnwise: bool) -> None:
    """Before: a finite ``np.float32`` went to SQLite as a 4-byte BLOB, which every later read refused as
    "changed directly in the database"; numpy integers in a whole-number column likewise."""
    import numpy as np

    from cartrial.store import StudyService
    from cartrial.store.bulk import upsert_columns, upsert_rows

    rows = [
        {**ROW, "parameter": "a", "value_number": np.float32(2.5), "source_record_id": np.int64(7)},
        {**ROW, "parameter": "b", "value_number": np.float16(0.5), "source_record_id": np.int32(8)},
        {**ROW, "parameter": "c", "value_number": np.int64(3), "source_record_id": 9},
        {**ROW, "parameter": "d", "value_number": None, "source_record_id": 10},
    ]
    service = StudyService(example_sqlite)
    try:
        with service.transaction("admin", "test") as tx:
            if columnwise:
                upsert_columns(tx, "derived_value", {name: [row[name] for row in rows] for name in ROW})
            else:
                upsert_rows(tx, "derived_value", rows)
        stored = {
            r["parameter"]: (r["value_number"], r["source_record_id"])
            for r in service.find_records("admin", "derived_value")
            if r["engine"] == "test"
        }
        with service.engine.connect() as connection:
            kinds = connection.exec_driver_sql(
                "SELECT typeof(value_number), typeof(source_record_id) FROM derived_value "
                "WHERE engine = 'test' ORDER BY parameter"
            ).all()
    finally:
        service.engine.dispose()
    assert stored == {"a": (2.5, 7), "b": (0.5, 8), "c": (3.0, 9), "d": (None, 10)}
    assert [tuple(k) for k in kinds] == [("real", "integer")] * 3 + [("null", "integer")]


def test_a_subject_weight_too_large_for_a_float_is_refused(example_sqlite: str) -> None:
    """The store's checked write of a subject with ``weight_kg`` 10**400 (the bulk write beneath it): a
    located refusal, not an OverflowError traceback."""
    from cartrial.errors import InputError
    from cartrial.store import StudyService

    service = StudyService(example_sqlite)
    row = {"subject_id": "CT-099", "site_id": "TJH", "consent_date": "2021-05-06", "sex": "M"}
    try:
        before = service.find_records("admin", "subject")
        with pytest.raises(InputError) as caught, service.as_user("admin").transaction("t", "t") as tx:
            tx.upsert_rows("subject", [{**row, "weight_kg": 10**400}])
        assert service.find_records("admin", "subject") == before
    finally:
        service.engine.dispose()
    assert [(p.field, p.row, p.message) for p in caught.value.problems] == [
        ("subject.weight_kg", 1, "not a finite number")
    ]


def test_a_whole_number_held_as_a_float_is_written_to_a_whole_number_column(example_sqlite: str) -> None:
    """A pandas column of whole numbers with blanks holds floats (6.0): a whole-number column takes such a
    value as the whole number it is (ICE totals written by the grading consistency test), and still refuses
    a fraction (D-19.1169, merge of D-19.1163 with the API's typed rows)."""
    import numpy as np

    from cartrial.store import StudyService
    from cartrial.store.bulk import upsert_rows

    rows = [
        {**ROW, "parameter": "a", "source_record_id": 6.0},
        {**ROW, "parameter": "b", "source_record_id": np.float64(7.0)},
    ]
    service = StudyService(example_sqlite)
    try:
        with service.transaction("admin", "test") as tx:
            upsert_rows(tx, "derived_value", rows)
        stored = {
            r["parameter"]: r["source_record_id"]
            for r in service.find_records("admin", "derived_value")
            if r["engine"] == "test"
        }
    finally:
        service.engine.dispose()
    assert stored == {"a": 6, "b": 7}
    assert all(type(v) is int for v in stored.values())
