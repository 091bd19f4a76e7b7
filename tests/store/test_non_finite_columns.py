"""The column rule of the bulk write's NaN refusal, vectorised (D-19.1151): `any_non_finite` over a column of
floats and blanks reads the floats without a list of them, and a column of blanks and floats counts finite
cells against cells given. Same answer as before, value by value; a NaN among blanks is still refused at its
row, value-free."""

from __future__ import annotations

import math

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
