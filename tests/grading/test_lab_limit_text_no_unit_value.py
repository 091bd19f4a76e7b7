"""The "out of range" problem of a haematology value above `MAX_LAB_CANONICAL` quotes no cell of the row
(D-12.2; D-19.909): its allowed text named the limit in the unit the row gave (another cell's value) and
wrote it with `:g` (``1e+09``). It names the limit in the analyte's canonical unit and, exactly, in "the
row's unit" without repeating that cell."""

from __future__ import annotations

import pandas as pd
import pytest

from cartrial.columns import RowProblems
from cartrial.grading.tables import parse_labs_frame

# spellings the unit table accepts (D-19.844) as a site might type them, each with the limit by hand:
# 10^6 ×10^9/L is 10^9 per µL (1 /µL = 10^-3 ×10^9/L) and 10^6 per 10^3/µL; 10^6 g/L is 10^5 g/dL
CASES = [
    ("neutrophils", "Cells/uL ", 2e9, "1000000000", "10^9/L"),
    ("platelets", "x10E3/uL", 2e6, "1000000", "10^9/L"),
    ("hemoglobin", "G/DL", 2e5, "100000", "g/L"),
]


@pytest.mark.parametrize(("analyte", "unit", "value", "limit", "canonical"), CASES)
def test_the_limit_names_no_unit_the_row_gave(
    analyte: str, unit: str, value: float, limit: str, canonical: str
) -> None:
    problems = RowProblems("labs.csv")
    frame = pd.DataFrame(
        {
            "subject_id": ["S1"],
            "collected_at": ["2024-01-11"],
            "analyte": [analyte],
            "value": [value],
            "unit": [unit],
            "lln": [0],
        }
    )
    parse_labs_frame(frame, problems)
    (problem,) = [p for p in problems.all() if p.field == "value"]
    assert problem.message == "out of range"
    assert unit not in (problem.allowed or "") and unit.strip() not in (problem.allowed or "")
    assert "e+" not in (problem.allowed or "")
    assert f"at most {limit} in the row's unit" in (problem.allowed or "")
    assert f"1000000 {canonical}" in (problem.allowed or "")
