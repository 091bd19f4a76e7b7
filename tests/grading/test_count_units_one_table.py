"""Blood count units: one table, accepted alike by the grading, the report's figure and the screening
(D-19.844, D-19.845, D-19.846).

Expectations come from the SI, not from the code: 1 mm³ = 1 µL = 10^-6 L and 1 nL = 10^-9 L, so a count
"per µL" is 10^6/L = 10^-3 × 10^9/L, and "10^3 per µL", "per nL" and "giga per litre" are 10^9/L. A value
written in another unit is the canonical value with its decimal point moved (computed with `decimal`).
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.analysis.model import Analysis, Dataset
from cartrial.columns import RowProblems
from cartrial.errors import InputError
from cartrial.grading.ctcae import canonical_counts, grade_lab, unit_factor
from cartrial.grading.frames import derive_icaht, derive_lab_grades
from cartrial.grading.tables import parse_labs_frame
from cartrial.protocol.candidate import Candidate
from cartrial.protocol.eligibility import LabThresholdRule
from cartrial.protocol.screening import _lab
from cartrial.report.figures import build_figures

# spelling → power of ten from the unit to 10^9/L, by the SI (module docstring); every typographic variant a
# laboratory export writes: superscripts, micro sign, Greek mu, multiplication sign, spaces, case
PER_10E9_L = 0
PER_UL = -3
SPELLINGS: dict[str, int] = {
    "10^9/L": PER_10E9_L,
    "x10^9/L": PER_10E9_L,
    "×10^9/L": PER_10E9_L,
    "x 10^9/L": PER_10E9_L,
    "10⁹/L": PER_10E9_L,
    "10*9/L": PER_10E9_L,
    "10e9/L": PER_10E9_L,
    "10E9/l": PER_10E9_L,
    "G/L": PER_10E9_L,
    "/nL": PER_10E9_L,
    "cells/nL": PER_10E9_L,
    "10^3/uL": PER_10E9_L,
    "10^3/µL": PER_10E9_L,  # micro sign
    "10^3/μL": PER_10E9_L,  # Greek mu
    "x10^3/µL": PER_10E9_L,
    "10*3/uL": PER_10E9_L,
    "10^3/mm3": PER_10E9_L,
    "10^3/mm³": PER_10E9_L,
    "K/uL": PER_10E9_L,
    "k/µL": PER_10E9_L,
    "/mm3": PER_UL,
    "/mm³": PER_UL,
    "cells/mm3": PER_UL,
    "cells/mm³": PER_UL,
    "Cells / mm³": PER_UL,
    "/uL": PER_UL,
    "/µL": PER_UL,
    "/μL": PER_UL,
    "cells/uL": PER_UL,
    "cells/µL": PER_UL,
    "10^6/L": PER_UL,
    # D-19.848: the superscript power of ten (``10³`` read as ``103`` before) and the x/E forms of analysers
    "10³/µL": PER_10E9_L,
    "×10³/µL": PER_10E9_L,
    "10³/mm³": PER_10E9_L,
    "x10^3/mm3": PER_10E9_L,
    "x10E3/uL": PER_10E9_L,
    "10E3/µL": PER_10E9_L,
    "x10E9/L": PER_10E9_L,
    "×10⁹/L": PER_10E9_L,
    "x10^6/L": PER_UL,
    "×10⁶/L": PER_UL,
    "10⁶/L": PER_UL,
    "x10E6/L": PER_UL,
    "10*6/L": PER_UL,  # UCUM
}
REFUSED = ["g/L", "mg/dL", "cells", "10^9", "/L", "copies/mL", "10^12/L", ""]
COUNTS = ["neutrophils", "platelets", "lymphocytes", "wbc"]


def _written_in(canonical: str, exponent: int) -> str:
    """The canonical value (text, in 10^9/L) as written in a unit 10^exponent × 10^9/L."""
    return format(Decimal(canonical).scaleb(-exponent).normalize(), "f")


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_every_spelling_has_its_si_factor_everywhere(spelling: str) -> None:
    exponent = SPELLINGS[spelling]
    assert unit_factor("neutrophils", spelling) == 10.0**exponent
    # the report's figure conversion is the grading's: 1500 per µL is exactly 1.5 × 10^9/L
    text = _written_in("1.5", exponent)
    assert canonical_counts(["neutrophils"], [float(text)], [spelling]).tolist() == [1.5]
    inputs = parse_labs_frame(
        pd.DataFrame(
            {
                "subject_id": ["S1"],
                "collected_at": ["2024-01-11"],
                "analyte": ["platelets"],
                "value": [text],
                "unit": [spelling],
                "lln": [_written_in("150", exponent)],
            }
        ),
        RowProblems("labs"),
    )
    assert inputs.value_canonical.tolist() == [1.5] and inputs.lln_canonical.tolist() == [150.0]


@pytest.mark.parametrize("unit", REFUSED)
def test_unknown_count_units_refused_without_the_value(unit: str) -> None:
    for call in (
        lambda: unit_factor("neutrophils", unit),
        lambda: canonical_counts(["neutrophils"], [1.0], [unit]),
    ):
        with pytest.raises(InputError) as raised:
            call()
        problem = raised.value.problems[0]
        assert problem.field == "unit" and problem.value is None
        assert "10^9/L" in (problem.allowed or "") and "cells/uL" in (problem.allowed or "")
        assert "(got" not in str(raised.value)  # no value shown (D-12.2)


def _analysis() -> Analysis:
    populations = pd.DataFrame(
        {
            "subject_id": ["A"],
            "dose_level": [1],
            "infusion_date": ["2021-01-01"],
            "follow_up_days": [100],
            "safety": [True],
        }
    )
    return Analysis(
        {}, {}, {"populations": Dataset("populations", "p", populations, "enrolled", "x", ())}, ()
    )


def _labs(values: list[str], units: list[str], analyte: str = "neutrophils") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "record_id": list(range(1, len(values) + 1)),
            "subject_id": ["A"] * len(values),
            "collected_at": [f"2021-01-{2 + 3 * i:02d}" for i in range(len(values))],
            "analyte": [analyte] * len(values),
            "value": values,
            "unit": units,
            "lln": ["1.8"] * len(values),
        }
    )


def test_figure_draws_every_accepted_spelling_as_the_grading_reads_it() -> None:
    # the figure had its own table: "10*9/L", "cells/mm³" and "/nL" were not drawn (NaN), lower-case "g/L"
    # (grams per litre) was drawn as 10^9/L; the same counts in any accepted spelling are one drawing
    canonical = ["0.45", "1.2", "3.1"]
    reference = build_figures(_analysis(), {"labs": _labs(canonical, ["10^9/L"] * 3)})["blood_counts"].svg
    for spelling in ("10*9/L", "cells/mm³", "/nL", "10⁹/L", "10^6/L"):
        exponent = SPELLINGS[spelling]
        values = [_written_in(v, exponent) for v in canonical]
        figure = build_figures(_analysis(), {"labs": _labs(values, [spelling] * 3)})["blood_counts"]
        assert figure.svg == reference, spelling


def test_figure_refuses_grams_per_litre_for_a_count_naming_the_record_not_the_value() -> None:
    with pytest.raises(InputError) as raised:
        build_figures(_analysis(), {"labs": _labs(["0.45", "1.2"], ["10^9/L", "g/L"])})
    problem = raised.value.problems[0]
    assert problem.record == "labs record 2" and problem.field == "unit" and problem.value is None
    assert "(got" not in str(raised.value)


@settings(max_examples=property_examples(60), deadline=None)
@given(
    analyte=st.sampled_from(COUNTS),
    spelling=st.sampled_from(sorted(SPELLINGS)),
    hundredths=st.lists(st.integers(min_value=0, max_value=400_000), min_size=1, max_size=5),
)
def test_grades_icaht_and_figure_values_agree_in_any_spelling(
    analyte: str, spelling: str, hundredths: list[int]
) -> None:
    # counts in 10^9/L with two decimals (0 to 4000), written in `spelling` by a decimal shift
    canonical = [format(Decimal(h).scaleb(-2), "f") for h in hundredths]
    exponent = SPELLINGS[spelling]
    spelled = [_written_in(c, exponent) for c in canonical]
    lln = _written_in("1.8", exponent)
    expected = [float(c) for c in canonical]
    # the figure's values are the canonical numbers as written
    assert (
        canonical_counts(
            [analyte] * len(spelled), [float(v) for v in spelled], [spelling] * len(spelled)
        ).tolist()
        == expected
    )
    # CTCAE: the grade in any spelling is the grade of the canonical value
    for c, v in zip(canonical, spelled, strict=True):
        assert (
            grade_lab(analyte, float(v), spelling, float(lln)).grade
            == grade_lab(analyte, float(c), "10^9/L", 1.8).grade
        )
    frame_spelled = _labs(spelled, [spelling] * len(spelled), analyte).assign(lln=lln)
    frame_canonical = _labs(canonical, ["10^9/L"] * len(canonical), analyte)
    infused = pd.DataFrame({"subject_id": ["A"], "infused_at": ["2021-01-01"]})
    grades = derive_lab_grades(frame_spelled, infusions=infused).table
    assert grades["value_canonical"].tolist() == expected
    assert (
        grades["grade"].tolist()
        == derive_lab_grades(frame_canonical, infusions=infused).table["grade"].tolist()
    )
    if analyte in ("neutrophils", "platelets"):  # ICAHT reads ANC and platelets
        spelled_icaht = derive_icaht(frame_spelled, infused).table
        canonical_icaht = derive_icaht(frame_canonical, infused).table
        pd.testing.assert_frame_equal(spelled_icaht, canonical_icaht)


@pytest.mark.parametrize(
    ("value", "unit", "holds"),
    [
        (1.0, "x10^9/L", True),  # another spelling of the rule's unit
        (1.0, "G/L", True),
        (1000.0, "cells/µL", True),  # exactly the threshold, in decimal
        (999.0, "/mm³", False),
        (0.999, "10^3/µL", False),
    ],
)
def test_screening_reads_count_units_through_the_one_table(value: float, unit: str, holds: bool) -> None:
    # before: any unit other than the rule's exact text was "cannot assess" (None)
    rule = LabThresholdRule(
        type="lab_threshold", analyte="neutrophils", comparator=">=", value=1.0, unit="10^9/L"
    )
    candidate = Candidate.model_validate(
        {"id": "C1", "labs": [{"analyte": "neutrophils", "value": value, "unit": unit, "date": "2024-03-10"}]}
    )
    outcome = _lab(rule, candidate, dt.date(2024, 3, 12), "")
    assert outcome.holds is holds


def test_screening_still_refuses_units_of_no_table() -> None:
    rule = LabThresholdRule(
        type="lab_threshold", analyte="neutrophils", comparator=">=", value=1.0, unit="10^9/L"
    )
    candidate = Candidate.model_validate(
        {"id": "C1", "labs": [{"analyte": "neutrophils", "value": 1.0, "unit": "g/L", "date": "2024-03-10"}]}
    )
    assert _lab(rule, candidate, dt.date(2024, 3, 12), "").holds is None
    assert not math.isnan(unit_factor("neutrophils", "G/L"))
