"""An LLN of 0 for a graded haematology analyte: the labs form keeps the row (a count for ICAHT), CTCAE
grading names it as not gradable at its row and field, as `grade_lab` refuses it (correctness attack,
branch grad; D-19.959 amended in review, D-19.963).

CTCAE v5.0 grade 1 of every haematology decrease is "< LLN" down to the grade-2 cut ("Neutrophil count
decreased" < LLN - 1500/mm³, "Platelet count decreased" < LLN - 75,000/mm³, "Anemia" < LLN - 10.0 g/dL,
"Lymphocyte count decreased" < LLN - 800/mm³, "White blood cell decreased" < LLN - 3000/mm³;
docs/science/toxicity-grading.md §4). No value is below an LLN of 0, so a row with ``lln=0`` lost its grade 1
(ANC 1.6 ×10^9/L graded 0), and with ``lln_required_for_higher_grades`` every grade (ANC 0.1 ×10^9/L, grade
4 by the table, graded 0). ICAHT (Rejeski K et al., Blood 2023;142:865-877) never reads the LLN: the count
is valid whatever the LLN, so the form must not refuse the row.
"""

from __future__ import annotations

import pandas as pd
import pytest

from cartrial.columns import RowProblems
from cartrial.errors import InputError
from cartrial.grading import grade_lab
from cartrial.grading.ctcae import LLN_NOT_GRADABLE
from cartrial.grading.frames import derive_icaht, derive_lab_grades
from cartrial.grading.tables import parse_labs_frame

ANALYTES = ["neutrophils", "platelets", "hemoglobin", "lymphocytes", "wbc"]


def _labs(analyte: str, value: float, lln: float, when: str = "2024-01-15T08:00Z") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject_id": ["S1"],
            "collected_at": [when],
            "analyte": [analyte],
            "value": [value],
            "unit": ["g/L" if analyte == "hemoglobin" else "10^9/L"],
            "lln": [lln],
        }
    )


@pytest.mark.parametrize("analyte", ANALYTES)
def test_the_labs_form_keeps_an_lln_of_zero(analyte: str) -> None:
    """The form (the import's and the web form's validator) keeps the row: its value is a valid count for
    ICAHT. Changed by design in review (D-19.959 first refused it at the form)."""
    problems = RowProblems("labs.csv")
    parse_labs_frame(_labs(analyte, 1.0, 0.0), problems)
    assert problems.all() == []


@pytest.mark.parametrize("analyte", ANALYTES)
def test_ctcae_grading_names_an_lln_of_zero_as_not_gradable(analyte: str) -> None:
    """`grade_lab` and `derive_lab_grades` read one rule: an LLN of 0 bounds no grade, refused at `lln`
    with what is allowed (a number above 0), never graded against."""
    with pytest.raises(InputError, match="lln"):
        grade_lab(analyte, 1.0, "g/L" if analyte == "hemoglobin" else "10^9/L", 0.0)
    with pytest.raises(InputError, match="lln") as raised:
        derive_lab_grades(_labs(analyte, 1.0, 0.0))
    (problem,) = raised.value.problems
    assert (problem.field, problem.row, problem.message) == ("lln", 2, LLN_NOT_GRADABLE)
    assert "> 0" in (problem.allowed or "")


@pytest.mark.parametrize("lln_required", [False, True])
def test_derive_lab_grades_never_grades_against_an_lln_of_zero(lln_required: bool) -> None:
    """ANC 0.1 ×10^9/L is grade 4 (< 0.5 ×10^9/L, CTCAE v5.0); with LLN 0 it was graded 0 when grades 2-4
    must be below the LLN. The row is now a problem, not a grade; with keep_going the other row grades."""
    with pytest.raises(InputError, match="lln"):
        derive_lab_grades(_labs("neutrophils", 0.1, 0.0), lln_required_for_higher_grades=lln_required)
    both = pd.concat([_labs("neutrophils", 0.1, 0.0), _labs("neutrophils", 0.1, 1.8, "2024-01-16")])
    result = derive_lab_grades(both, lln_required_for_higher_grades=lln_required, keep_going=True)
    assert [p.field for p in result.problems] == ["lln"]
    assert result.table["grade"].iloc[1] == 4


def test_a_positive_lln_still_grades() -> None:
    """ANC 1.6 ×10^9/L below an LLN of 1.8 is grade 1 (< LLN - 1.5); 0.1 is grade 4 (< 0.5)."""
    table = derive_lab_grades(
        pd.concat([_labs("neutrophils", 1.6, 1.8), _labs("neutrophils", 0.1, 1.8, "2024-01-16")])
    ).table
    assert table["grade"].tolist() == [1, 4]


def test_icaht_counts_a_row_whose_lln_is_zero() -> None:
    """ICAHT reads only the count. ANC 0.05 ×10^9/L (50/µL) on days 2, 9 and 16 (LLN 0) and 2.0 ×10^9/L on
    day 23 (LLN 1.8), infused 2024-01-10. Interpolated (derive_icaht's doctest): ≤ 100/µL days 2-16 (15
    days ≥ 7: early grade 4, Rejeski 2023); day 17 is 50 + 1950/7 ≈ 328.6 ≤ 500, day 18 ≈ 607 > 500, so
    days 2-17 are ≤ 500/µL: 16 days. The LLN-0 rows were refused and the early grade was 0."""
    labs = pd.concat(
        [
            _labs("neutrophils", 0.05, 0.0, "2024-01-12"),
            _labs("neutrophils", 0.05, 0.0, "2024-01-19"),
            _labs("neutrophils", 0.05, 0.0, "2024-01-26"),
            _labs("neutrophils", 2.0, 1.8, "2024-02-02"),
        ]
    )
    infused = pd.DataFrame({"subject_id": ["S1"], "infused_at": ["2024-01-10"]})
    table = derive_icaht(labs, infused, keep_going=True).table
    assert table[["early_grade", "early_days_anc_le_500"]].values.tolist() == [[4, 16]]


@pytest.mark.parametrize("partial", [False, True])
def test_the_store_accepts_an_lln_of_zero_on_every_path(partial: bool) -> None:
    """The web form's live check (partial), a whole record's save and the import read one validator: all
    keep a neutrophil row with LLN 0 (review item 5: the first version refused it at the import and a whole
    save, but a partial update took it)."""
    from cartrial.store.fields import validate_record

    record = {
        "subject_id": "S1",
        "collected_at": "2024-01-15T08:00:00Z",
        "analyte": "neutrophils",
        "value": 0.05,
        "unit": "10^9/L",
        "lln": 0.0,
    }
    assert validate_record("lab_result", record, protocol=None, partial=partial) == []
