"""The import's vectorised pre-filters of the lab checks select exactly the rows the per-record rules fire
on (D-19.1092): `_implausible_labs` the rows `lab_slip` (LAB-UNIT-SLIP) gives a message for, whichever way
the (analyte, unit) pairs are found (counted when few are possible, sorted otherwise), and
`_misspelt_labs` the rows whose analyte `likely_lab_test` takes for a misspelling."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.store.edit_checks import (
    _factorised,
    _implausible_labs,
    _misspelt_labs,
    lab_slip,
    likely_lab_test,
)

ANALYTES = ["neutrophils", "Hemoglobin", "PLATELETS", "lymphocytes", "wbc", "sodium", "neutrophil", "", None]
UNITS = ["10^9/L", "10^3/uL", "/uL", "cells/uL", "g/L", "g/dL", "mmol/L", "%", "", None]
VALUES = st.one_of(
    st.none(),
    st.sampled_from([0.0, -1.0, 0.5, 1.5, 19.9, 20.0, 250.0, 2500.0, 25_000.0, 1e6]),
    st.floats(min_value=-1e7, max_value=1e7, allow_nan=False),
    st.integers(min_value=-10, max_value=100_000),
)


def _slips(analytes: list[Any], values: list[Any], units: list[Any]) -> list[int]:
    return [
        i
        for i, (a, v, u) in enumerate(zip(analytes, values, units, strict=True))
        if lab_slip(a, v, u) is not None
    ]


@settings(max_examples=property_examples(200), deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(ANALYTES), VALUES, st.sampled_from(UNITS)), min_size=0, max_size=40
    )
)
def test_implausible_labs_are_the_rows_lab_slip_fires_on(rows: list[tuple[Any, Any, Any]]) -> None:
    analytes = [r[0] for r in rows]
    values = [r[1] for r in rows]
    units = [r[2] for r in rows]
    assert _implausible_labs(_factorised(analytes), values, units) == _slips(analytes, values, units)


def test_many_distinct_pairs_are_sorted_and_give_the_same_rows() -> None:
    """More (analyte × unit) pairs possible than 4 × rows + 4096: the pairs are found by sorting; the rows
    are still those of `lab_slip`."""
    n = 300
    analytes = [ANALYTES[i % 5] if i % 3 else f"analyte {i}" for i in range(n)]
    units = [UNITS[i % 6] if i % 4 else f"unit {i}" for i in range(n)]
    values = [float(10 ** (i % 7)) for i in range(n)]
    assert len(set(analytes)) * len(set(units)) > 4 * n + 4096
    expected = _slips(analytes, values, units)
    assert expected  # the case is not empty
    assert _implausible_labs(_factorised(analytes), values, units) == expected


@settings(max_examples=property_examples(100), deadline=None)
@given(analytes=st.lists(st.sampled_from([*ANALYTES, "neutrophlis", "hemoglobn", "xyz"]), max_size=30))
def test_misspelt_labs_are_the_rows_likely_lab_test_takes_for_a_misspelling(analytes: list[Any]) -> None:
    expected = [i for i, a in enumerate(analytes) if isinstance(a, str) and likely_lab_test(a) is not None]
    assert _misspelt_labs(_factorised(analytes)) == expected
