"""Boundary checks of the grading engines against the letter of their sources (independent audit,
branch grading-audit).

Each case is a value exactly on, or just beside, a published threshold: ASTCT 2019 CRS (Lee DW et al.,
BBMT 2019;25:625, CRS table and footnotes, PMC8021214 Table 1) and ICANS/ICE (PMC9327779 Table 2), NCI
CTCAE v5.0 haematology (every unit the forms accept), and the EHA/EBMT 2023 ICAHT duration bands
(docs/science/toxicity-grading.md §1-§5).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.columns import RowProblems
from cartrial.grading import grade_crs, grade_icaht, grade_icans, grade_lab, grade_t_icaht
from cartrial.grading.ctcae import ANALYTES, Analyte, grade_labs_arrays
from cartrial.grading.frames import derive_lab_grades, grade_crs_inputs, prepare_crs_inputs

# ---------------------------------------------------------------- CTCAE v5.0 anaemia in mmol/L


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # CTCAE v5.0 "Anemia": G1 <LLN - 6.2 mmol/L; G2 <6.2 - 4.9 mmol/L; G3 <4.9 mmol/L
        (7.0, 1),
        (6.2, 1),  # exactly 6.2 mmol/L is not "< 6.2": grade 1 (6.2 x 16.11 = 99.9 g/L would give 2)
        (6.19, 2),
        (4.9, 2),  # exactly 4.9 mmol/L is grade 2 (4.9 x 16.11 = 79.0 g/L would give 3)
        (4.89, 3),
        (3.0, 3),
    ],
)
def test_anaemia_in_mmol_per_litre_uses_the_ctcae_mmol_thresholds(value: float, expected: int) -> None:
    """CTCAE v5.0 gives the anaemia thresholds in mmol/L too (6.2 and 4.9 mmol/L), which are not the g/L
    thresholds (100, 80 g/L) converted: a result reported in mmol/L is graded on the mmol/L thresholds."""
    assert grade_lab("hemoglobin", value, "mmol/L", 7.5).grade == expected
    codes = np.array([ANALYTES.index(Analyte.HEMOGLOBIN)])
    factor = 10.0 / 0.6206
    arrays = grade_labs_arrays(
        codes, np.array([value * factor]), np.array([7.5 * factor]), units=np.array(["mmol/L"], dtype=object)
    )
    assert arrays.grade.tolist() == [expected]


def test_anaemia_in_mmol_per_litre_through_the_labs_form() -> None:
    """The labs form (``cartrial grade labs``) grades a mmol/L haemoglobin on the CTCAE mmol/L thresholds,
    and g/dL / g/L results as before."""
    frame = pd.DataFrame(
        {
            "subject_id": ["S1"] * 5,
            "collected_at": [f"2024-01-{11 + k}" for k in range(5)],
            "analyte": ["hemoglobin"] * 5,
            "value": [6.2, 4.9, 4.89, 8.0, 80],
            "unit": ["mmol/L", "mmol/L", "mmol/L", "g/dL", "g/L"],
            "lln": [7.5, 7.5, 7.5, 12.0, 120],
        }
    )
    assert derive_lab_grades(frame).table["grade"].tolist() == [1, 2, 3, 2, 2]


# ---------------------------------------------------------------- CTCAE count units at every threshold


COUNT_BOUNDS = {
    # analyte: (LLN in /mm³, [(value /mm³, grade)]) — CTCAE v5.0, "< a - b" = below a and at least b
    "neutrophils": (1800, [(1800, 0), (1500, 1), (1499, 2), (1000, 2), (999, 3), (500, 3), (499, 4)]),
    "platelets": (
        150000,
        [(150000, 0), (75000, 1), (74999, 2), (50000, 2), (49999, 3), (25000, 3), (24999, 4)],
    ),
    "lymphocytes": (1000, [(1000, 0), (800, 1), (799, 2), (500, 2), (499, 3), (200, 3), (199, 4)]),
    "wbc": (4000, [(4000, 0), (3000, 1), (2999, 2), (2000, 2), (1999, 3), (1000, 3), (999, 4)]),
}


@pytest.mark.parametrize("unit", ["/mm3", "cells/µL", "/uL"])
@pytest.mark.parametrize("analyte", sorted(COUNT_BOUNDS))
def test_count_thresholds_in_per_mm3(analyte: str, unit: str) -> None:
    """Counts reported per mm³ / µL hit every CTCAE v5.0 threshold exactly (1 x10^9/L = 1000/mm³)."""
    lln, cases = COUNT_BOUNDS[analyte]
    for value, expected in cases:
        assert grade_lab(analyte, value, unit, lln).grade == expected, (analyte, value, unit)
    frame = pd.DataFrame(
        {
            "subject_id": "S1",
            "collected_at": [f"2024-01-{11 + k:02d}" for k in range(len(cases))],
            "analyte": analyte,
            "value": [v for v, _ in cases],
            "unit": unit,
            "lln": lln,
        }
    )
    assert derive_lab_grades(frame).table["grade"].tolist() == [g for _, g in cases]


# ---------------------------------------------------------------- ASTCT CRS boundaries through the form


def _crs_row(**overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "subject_id": "S1",
        "assessed_at": "2024-01-11T08:00Z",
        "temperature_c": 38.5,
        "fever_masked": False,
        "hypotension": False,
        "vasopressors": 0,
        "vasopressin": False,
        "oxygen": "none",
        "oxygen_l_min": None,
    }
    row.update(overrides)
    return row


def _grade_rows(rows: list[dict[str, object]]) -> list[int]:
    problems = RowProblems("crs")
    inputs = prepare_crs_inputs(pd.DataFrame(rows), problems)
    assert not problems, [p.message for p in problems.all()]
    return [int(g) for g in grade_crs_inputs(inputs).grade]


def test_fever_threshold_in_fahrenheit_and_celsius() -> None:
    """Fever is T ≥ 38 °C (ASTCT CRS table): 38.0 °C and 100.4 °F (= 38.0 °C) are fever, 37.9 °C and
    100.2 °F are not."""
    rows = [_crs_row(temperature_c=t) for t in (38.0, 37.9)]
    assert _grade_rows(rows) == [1, 0]
    f_rows = []
    for t in (100.4, 100.2):
        row = _crs_row(temperature_f=t)
        del row["temperature_c"]
        f_rows.append(row)
    assert _grade_rows(f_rows) == [1, 0]


def test_nasal_cannula_flow_and_sbp_boundaries_through_the_form() -> None:
    """Low flow is ≤ 6 L/min (ASTCT footnote: "low-flow nasal cannula refers to oxygen delivered at ≤ 6
    L/min, high flow > 6 L/min"); hypotension from SBP < 90 mmHg (A4 default): SBP 90 is not hypotension."""
    rows = [
        _crs_row(oxygen="nasal_cannula", oxygen_l_min=6),
        _crs_row(oxygen="nasal_cannula", oxygen_l_min=6.5),
        _crs_row(oxygen="nasal_cannula", oxygen_l_min=0.5),
        _crs_row(oxygen="blow_by", oxygen_l_min=None),
    ]
    assert _grade_rows(rows) == [2, 3, 2, 2]
    sbp_rows = []
    for sbp in (90, 89):
        row = _crs_row(systolic_bp_mmhg=sbp)
        del row["hypotension"]
        sbp_rows.append(row)
    assert _grade_rows(sbp_rows) == [1, 2]


def test_astct_footnote_example_single_vasopressor_and_low_flow_is_grade_3() -> None:
    """ASTCT footnote (PMC8021214 Table 1): "a febrile patient on a single vasopressor and low-flow nasal
    cannula would be classified as Grade 3 CRS"."""
    result = grade_crs(
        temperature_c=38.6,
        fever_masked=False,
        hypotension=True,
        vasopressors=1,
        vasopressin=False,
        oxygen="nasal_cannula",
        oxygen_l_min=2,
    )
    assert result.grade == 3


@settings(max_examples=property_examples(200), deadline=None)
@given(
    st.floats(30, 45),
    st.floats(0, 20),
    st.integers(0, 4),
    st.booleans(),
)
def test_crs_grade_monotone_in_flow_and_pressors(temp: float, flow: float, pressors: int, vaso: bool) -> None:
    """More nasal-cannula flow or more vasopressors never lowers the ASTCT CRS grade."""

    def g(f: float, p: int) -> int:
        return grade_crs(
            temperature_c=temp,
            fever_masked=False,
            hypotension=p > 0 or vaso,
            vasopressors=p,
            vasopressin=vaso,
            oxygen="nasal_cannula",
            oxygen_l_min=f,
        ).grade

    assert g(flow + 1.0, pressors) >= g(flow, pressors)
    assert g(flow, pressors + 1) >= g(flow, pressors)


# ---------------------------------------------------------------- ICANS


@settings(max_examples=property_examples(100), deadline=None)
@given(st.integers(0, 9), st.sampled_from(["alert", "awakens_spontaneously", "awakens_to_voice"]))
def test_lower_ice_never_lowers_icans(ice: int, consciousness: str) -> None:
    """ICE bands 10 / 7-9 / 3-6 / 0-2 (PMC9327779 Table 2) are monotone."""
    assert (
        grade_icans(consciousness=consciousness, ice_total=ice).grade
        >= grade_icans(consciousness=consciousness, ice_total=ice + 1).grade
    )


def test_icans_footnote_example_ice_3_with_generalised_seizure_is_grade_3() -> None:
    """ASTCT ICANS footnote: "a patient with an ICE score of 3 who has a generalized seizure is classified as
    grade 3 ICANS" (the most severe event decides)."""
    assert grade_icans(consciousness="alert", ice_total=3, seizure="rapidly_resolving").grade == 3


# ---------------------------------------------------------------- ICAHT duration bands


@pytest.mark.parametrize(("days_below", "expected"), [(1, 1), (6, 1), (7, 2), (13, 2), (14, 3), (26, 3)])
def test_early_icaht_anc_500_duration_bands(days_below: int, expected: int) -> None:
    """Early ICAHT (§5.1): ANC ≤ 500/µL for 1-6 days grade 1, 7-13 grade 2, 14-30 grade 3; exactly 500/µL
    counts as ≤ 500. Daily counts from day 4 so the never-recovered rule (start ≤ day 3) does not apply."""
    days = list(range(4, 4 + days_below + 1))
    anc = [500.0] * days_below + [2000.0]
    result = grade_icaht(days, anc)
    assert result.early_days_anc_le_500 == days_below
    assert result.early_grade == expected


@pytest.mark.parametrize(("days_below", "expected"), [(6, 1), (7, 3), (13, 3), (14, 4)])
def test_early_icaht_anc_100_duration_bands(days_below: int, expected: int) -> None:
    """ANC ≤ 100/µL for 7-13 days grade 3, ≥ 14 days grade 4 (exactly 100/µL counts); 6 days ≤ 100 is
    6 days ≤ 500: grade 1."""
    days = list(range(4, 4 + days_below + 1))
    anc = [100.0] * days_below + [2000.0]
    assert grade_icaht(days, anc).early_grade == expected


@pytest.mark.parametrize(
    ("second_lowest", "expected"), [(1501, 0), (1500, 1), (1000, 2), (500, 3), (100, 4), (101, 3)]
)
def test_late_icaht_bands_are_inclusive(second_lowest: float, expected: int) -> None:
    """Late ICAHT (§5.2): ≤ 1500, ≤ 1000, ≤ 500, ≤ 100/µL, two values needed (default)."""
    result = grade_icaht([0, 40, 50], [3000.0, second_lowest, second_lowest])
    assert result.late_grade == expected


def test_t_icaht_thresholds_are_strict() -> None:
    """T-ICAHT (§5.3) thresholds are strict: platelets of exactly 50 or 20 x10^9/L are not below them."""
    assert grade_t_icaht(list(range(8)), [50.0] * 7 + [200.0]).early_grade == 0
    assert grade_t_icaht(list(range(8)), [49.9] * 7 + [200.0]).early_grade == 2
    assert grade_t_icaht(list(range(3)), [20.0, 20.0, 200.0]).early_grade == 1  # < 50 for 2 days
    assert grade_t_icaht(list(range(3)), [19.9, 19.9, 200.0]).early_grade == 3
