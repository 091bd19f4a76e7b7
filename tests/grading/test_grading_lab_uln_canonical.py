"""`derive_lab_grades` gives the ULN in the canonical unit (``uln_canonical``) with the LLN's rounding to
6 decimals: the analysis layer computed it itself, 350 cells/µL × 0.001 = 0.35000000000000003 (float
error), which SDTM LBSTNRHI then carried (D-19.385). One conversion, in the grading engine."""

from __future__ import annotations

import math

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from cartrial.grading import derive_lab_grades


def _rows(**extra: list[object]) -> pd.DataFrame:
    base: dict[str, list[object]] = {
        "subject_id": ["S1", "S1", "S1"],
        "collected_at": ["2024-01-11", "2024-01-12", "2024-01-13"],
        "analyte": ["neutrophils", "hemoglobin", "platelets"],
        "value": [450, 9.1, 120],
        "unit": ["cells/µL", "g/dL", "10^9/L"],
        "lln": [1800, 12.0, 150],
    }
    return pd.DataFrame(base | extra)


def test_the_uln_is_converted_and_rounded_like_the_lln() -> None:
    table = derive_lab_grades(_rows(uln=[350, 16.1, ""])).table
    assert table["uln_canonical"].iloc[0] == 0.35  # not 0.35000000000000003
    assert table["uln_canonical"].iloc[1] == 161.0  # g/dL → g/L
    assert math.isnan(table["uln_canonical"].iloc[2])  # no ULN: empty
    assert table["lln_canonical"].iloc[0] == 1.8


def test_without_a_uln_column_it_is_empty() -> None:
    table = derive_lab_grades(_rows()).table
    assert table["uln_canonical"].isna().all()


@given(st.integers(0, 10**6))
def test_cells_per_microlitre_ulns_read_as_typed_in_10e9_per_litre(cells: int) -> None:
    """A ULN of n cells/µL is n/1000 × 10^9/L: the decimal text of n shifted three places, exactly."""
    table = derive_lab_grades(_rows(uln=[cells, "", ""])).table
    assert table["uln_canonical"].iloc[0] == cells / 1000  # the correctly rounded quotient
