"""The column rule of the bulk write's NaN refusal, vectorised (D-19.1151): `any_non_finite` over a column of
floats and blanks reads the floats without a list of them, and a column of blanks and floats counts finite
cells against cells given. Same answer as before, value by value; a NaN among blanks is still refused at its
row, value-free."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st


def _expected(values: list[object]) -> bool:
    """Independent oracle: a float that is NaN or infinite (`math`), or a dict or list holding one."""

    def bad(value: object) -> bool:
        if type(value) is float:
            return math.isnan(value) or math.isinf(value)
        if isinstance(value, dict):
            return any(bad(v) for v in value.values())
        if isinstance(value, list):
            return any(bad(v) for v in value)
        return False

    return any(bad(v) for v in values)


@given(st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)), max_size=40))
def test_a_column_of_floats_and_blanks_is_judged_as_value_by_value(values: list[object]) -> None:
    from cartrial.store.stored_dates import any_non_finite

    assert any_non_finite(values) is _expected(values)


@given(
    st.lists(
        st.one_of(
            st.none(),
            st.floats(allow_nan=True, allow_infinity=True),
            st.integers(min_value=-(2**70), max_value=2**70),
            st.text(max_size=3),
            st.booleans(),
            st.dictionaries(st.text(max_size=2), st.floats(allow_nan=True), max_size=2),
        ),
        max_size=12,
    )
)
def test_any_column_is_judged_as_value_by_value(values: list[object]) -> None:
    from cartrial.store.stored_dates import any_non_finite

    assert any_non_finite(values) is _expected(values)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], False),
        ([None, None], False),
        ([None, 1.0, None], False),
        ([None, math.nan], True),  # a blank and a NaN both read as NaN: counted apart
        ([math.nan, None, None], True),
        ([1.0, -math.inf], True),
        ([1e308, -1e308, 0.0, -0.0, 5e-324], False),
        (["nan"], False),  # text is no number of a number column here (the field rules judge it)
    ],
)
def test_hand_cases(values: list[object], expected: bool) -> None:
    from cartrial.store.stored_dates import any_non_finite

    assert any_non_finite(values) is expected


def test_a_nan_among_blanks_is_refused_at_its_row(example_sqlite: str) -> None:
    """The column-wise write of a number column holding blanks and a NaN (third row) takes the row path,
    which refuses it at table, column and row, never the value; nothing is written (D-19.1100)."""
    from cartrial.errors import InputError
    from cartrial.store import StudyService
    from cartrial.store.bulk import upsert_columns

    columns = {
        "engine": ["test"] * 3,
        "engine_version": ["1"] * 3,
        "source_table": ["subject"] * 3,
        "source_record_id": [0, 1, 2],
        "parameter": ["p"] * 3,
        "value_number": [None, 2.0, math.nan],
    }
    service = StudyService(example_sqlite)
    try:
        with pytest.raises(InputError) as caught, service.transaction("admin", "test") as tx:
            upsert_columns(tx, "derived_value", columns)
        assert not [r for r in service.find_records("admin", "derived_value") if r["engine"] == "test"]
    finally:
        service.engine.dispose()
    assert [(p.field, p.row) for p in caught.value.problems] == [("derived_value.value_number", 3)]
    assert "nan" not in str(caught.value).lower(), str(caught.value)


# ---------------------------------------------------------------------------------------------------------
# numpy floats (D-19.1154): `np.float64` is a float subclass and `np.float32` is none; both are numbers a
# caller of the Python API may hand in (`StudyService.upsert_rows`, `store_derived`, `bulk.upsert_columns`)
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (np.float64("nan"), True),
        (np.float64("inf"), True),
        (np.float64("-inf"), True),
        (np.float32("nan"), True),
        (np.float32("inf"), True),
        (np.float16("-inf"), True),
        (np.float64(1.5), False),
        (np.float32(-2.0), False),
        (np.float64(1e308), False),
        ({"a": [np.float64("nan")]}, True),  # inside a JSON document
        ({"a": [np.float32(0.25)]}, False),
    ],
)
def test_a_numpy_float_is_judged_as_its_value(value: object, expected: bool) -> None:
    from cartrial.store.stored_dates import any_non_finite, non_finite

    assert non_finite(value) is expected
    for column in ([value], [None, value], [1.0, value, None], [value, 2.0]):
        assert any_non_finite(column) is expected, column
        assert any_non_finite(np.array(column, dtype=object)) is expected, column


@given(
    st.lists(
        st.one_of(
            st.none(),
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(allow_nan=True, allow_infinity=True).map(np.float64),
            st.floats(width=32, allow_nan=True, allow_infinity=True).map(np.float32),
        ),
        max_size=20,
    )
)
def test_a_column_of_python_and_numpy_floats_is_judged_value_by_value(values: list[object]) -> None:
    from cartrial.store.stored_dates import any_non_finite

    expected = any(v is not None and not math.isfinite(float(v)) for v in values)  # type: ignore[arg-type]
    assert any_non_finite(values) is expected


@pytest.mark.parametrize(
    "bad",
    [np.float64("nan"), np.float64("inf"), np.float32("nan"), np.float32("-inf")],
    ids=["float64-nan", "float64-inf", "float32-nan", "float32-inf"],
)
@pytest.mark.parametrize("by", ["rows", "columns"])
def test_a_numpy_nan_or_infinity_is_refused_at_its_row(study, bad: object, by: str) -> None:
    """A lab value that is a numpy NaN or infinity (second row) is refused at table, column and row, never
    the value, and nothing is written — before D-19.1154 a `np.float64` NaN was stored as blank (lost) and
    an infinity as a REAL infinity that every later read refused."""
    import datetime as dt

    from cartrial.errors import InputError
    from cartrial.store import bulk

    times = [dt.datetime(2021, 6, 1, hour, tzinfo=dt.UTC) for hour in (8, 9, 10)]
    columns = {
        "subject_id": ["CT-001"] * 3,
        "collected_at": times,
        "analyte": ["wbc"] * 3,
        "value": [4.0, bad, 6.0],
    }
    user = study.service.as_user("dm")
    before = user.find_records("lab_result")
    with pytest.raises(InputError) as caught, user.transaction("import", "correction") as tx:
        if by == "rows":
            rows = [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]
            bulk.upsert_rows(tx, "lab_result", rows)
        else:
            bulk.upsert_columns(tx, "lab_result", columns)
    assert [(p.field, p.row) for p in caught.value.problems] == [("lab_result.value", 2)]
    message = str(caught.value).lower()
    assert "nan" not in message and "inf" not in message.replace("a finite number", ""), message
    assert user.find_records("lab_result") == before
