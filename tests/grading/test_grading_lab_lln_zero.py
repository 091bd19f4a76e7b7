"""An LLN of 0 for a graded haematology analyte is refused by the labs form, as `grade_lab` refuses it
(correctness attack, branch grad; D-19.959).

CTCAE v5.0 grade 1 of every haematology decrease is "< LLN" down to the grade-2 cut ("Neutrophil count
decreased" < LLN - 1500/mm³, "Platelet count decreased" < LLN - 75,000/mm³, "Anemia" < LLN - 10.0 g/dL,
"Lymphocyte count decreased" < LLN - 800/mm³, "White blood cell decreased" < LLN - 3000/mm³;
docs/science/toxicity-grading.md §4). No value is below an LLN of 0, so a row with ``lln=0`` lost its grade 1
(ANC 1.6 ×10^9/L graded 0), and with ``lln_required_for_higher_grades`` every grade (ANC 0.1 ×10^9/L, grade
4 by the table, graded 0). `grade_lab` already refuses an LLN that is not a positive number (D-19.79); the
form (`parse_labs_frame`: ``grade labs``, ``grade icaht``, the import) took it.
"""

from __future__ import annotations

import pandas as pd
import pytest

from cartrial.columns import RowProblems
from cartrial.errors import InputError
from cartrial.grading import grade_lab
from cartrial.grading.frames import derive_lab_grades
from cartrial.grading.tables import parse_labs_frame


def _labs(analyte: str, value: float, lln: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject_id": ["S1"],
            "collected_at": ["2024-01-15T08:00Z"],
            "analyte": [analyte],
            "value": [value],
            "unit": ["g/L" if analyte == "hemoglobin" else "10^9/L"],
            "lln": [lln],
        }
    )


@pytest.mark.parametrize("analyte", ["neutrophils", "platelets", "hemoglobin", "lymphocytes", "wbc"])
def test_the_labs_form_refuses_an_lln_of_zero(analyte: str) -> None:
    """The LLN bounds grade 1 of each CTCAE haematology decrease; 0 bounds nothing: refused at `lln`, with
    what is allowed (a number above 0), as `grade_lab` refuses it."""
    problems = RowProblems("labs.csv")
    parse_labs_frame(_labs(analyte, 1.0, 0.0), problems)
    (problem,) = [p for p in problems.all() if p.field == "lln"]
    assert problem.message == "out of range"
    assert "> 0" in (problem.allowed or "")
    with pytest.raises(InputError, match="lln"):
        grade_lab(analyte, 1.0, "g/L" if analyte == "hemoglobin" else "10^9/L", 0.0)


@pytest.mark.parametrize("lln_required", [False, True])
def test_derive_lab_grades_never_grades_against_an_lln_of_zero(lln_required: bool) -> None:
    """ANC 0.1 ×10^9/L is grade 4 (< 0.5 ×10^9/L, CTCAE v5.0); with LLN 0 it was graded 0 when grades 2-4
    must be below the LLN. The row is now a problem, not a grade."""
    with pytest.raises(InputError, match="lln"):
        derive_lab_grades(_labs("neutrophils", 0.1, 0.0), lln_required_for_higher_grades=lln_required)


def test_a_positive_lln_still_grades() -> None:
    """ANC 1.6 ×10^9/L below an LLN of 1.8 is grade 1 (< LLN - 1.5); 0.1 is grade 4 (< 0.5)."""
    table = derive_lab_grades(
        pd.concat(
            [_labs("neutrophils", 1.6, 1.8), _labs("neutrophils", 0.1, 1.8).assign(collected_at="2024-01-16")]
        )
    ).table
    assert table["grade"].tolist() == [1, 4]
