"""Boundary tests from the published tables and worst-driver properties (grading46).

Expected grades are read from docs/science/toxicity-grading.md (shared reference): §1.1 ASTCT 2019 CRS
table and rules CRS-2..CRS-6, §2.2 ICANS table and ICANS-1, §4 CTCAE v5.0 haematology ("< a - b" = below a
and at least b; a value exactly at a threshold falls in the milder grade).
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.grading import crs, icans
from cartrial.grading.ctcae import grade_lab

# ---------------------------------------------------------------- CTCAE v5.0 (§4)

CTCAE_EDGES = [
    # analyte, value, unit, expected grade (LLN 1000 × the unit's scale: always above the value)
    ("neutrophils", 1500.0, "cells/µL", 1),  # < LLN - 1.5: 1.5 itself is grade 1
    ("neutrophils", 1499.0, "cells/µL", 2),
    ("neutrophils", 1000.0, "cells/µL", 2),  # < 1.5 - 1.0
    ("neutrophils", 999.0, "cells/µL", 3),  # < 1.0 - 0.5: ANC < 1000 and ≥ 500 is grade 3
    ("neutrophils", 500.0, "cells/µL", 3),
    ("neutrophils", 499.0, "cells/µL", 4),  # < 0.5
    ("platelets", 75.0, "10^9/L", 1),
    ("platelets", 74.9, "10^9/L", 2),
    ("platelets", 50.0, "10^9/L", 2),
    ("platelets", 49.9, "10^9/L", 3),
    ("platelets", 25.0, "10^9/L", 3),
    ("platelets", 24.9, "10^9/L", 4),
    ("lymphocytes", 0.8, "10^9/L", 1),
    ("lymphocytes", 0.79, "10^9/L", 2),
    ("lymphocytes", 0.5, "10^9/L", 2),
    ("lymphocytes", 0.49, "10^9/L", 3),
    ("lymphocytes", 0.2, "10^9/L", 3),
    ("lymphocytes", 0.19, "10^9/L", 4),
    ("hemoglobin", 100.0, "g/L", 1),
    ("hemoglobin", 99.0, "g/L", 2),
    ("hemoglobin", 80.0, "g/L", 2),  # §4: Hb 80 g/L is grade 2, 79 grade 3
    ("hemoglobin", 79.0, "g/L", 3),
    ("hemoglobin", 8.0, "g/dL", 2),
    ("hemoglobin", 7.9, "g/dL", 3),
    ("hemoglobin", 40.0, "g/L", 3),  # lab-only anaemia capped at 3 (§4 [U])
]


@pytest.mark.parametrize(("analyte", "value", "unit", "expected"), CTCAE_EDGES)
def test_ctcae_v5_edges(analyte: str, value: float, unit: str, expected: int) -> None:
    lln = {"cells/µL": 10_000.0, "10^9/L": 1000.0, "g/L": 1000.0, "g/dL": 100.0}[unit]
    assert grade_lab(analyte, value, unit, lln).grade == expected


def test_ctcae_at_the_lln_is_grade_0() -> None:
    assert grade_lab("neutrophils", 1.8, "10^9/L", 1.8).grade == 0
    assert grade_lab("neutrophils", 1.79, "10^9/L", 1.8).grade == 1


@settings(max_examples=property_examples(50), deadline=None)
@given(
    analyte=st.sampled_from(["neutrophils", "platelets", "lymphocytes", "wbc"]),
    a=st.floats(min_value=0, max_value=5, allow_nan=False),
    b=st.floats(min_value=0, max_value=5, allow_nan=False),
)
def test_ctcae_grade_never_rises_with_the_count(analyte: str, a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert grade_lab(analyte, low, "10^9/L", 4.0).grade >= grade_lab(analyte, high, "10^9/L", 4.0).grade


# ---------------------------------------------------------------- ASTCT 2019 CRS (§1)

OXYGEN_GRADE = {  # §1.1 / CRS-5, CRS-6
    ("none", None): 0,
    ("blow_by", None): 2,
    ("nasal_cannula", 6.0): 2,  # exactly 6 L/min is low flow
    ("nasal_cannula", 6.5): 3,
    ("high_flow_nasal_cannula", 40.0): 3,
    ("facemask", 2.0): 3,
    ("non_rebreather", None): 3,
    ("venturi", None): 3,
    ("cpap", None): 4,
    ("bipap", None): 4,
    ("mechanical_ventilation", None): 4,
}
PRESSURE_GRADE = {  # hypotension, vasopressors (not vasopressin), vasopressin → grade (CRS-4, A3 default)
    (False, 0, False): 0,
    (True, 0, False): 2,
    (True, 0, True): 3,
    (True, 1, False): 3,
    (True, 1, True): 3,
    (True, 2, False): 4,
    (True, 3, True): 4,
}


def _crs(
    temp: float, masked: bool, pressure: tuple[bool, int, bool], oxygen: tuple[str, float | None]
) -> int:
    hypotension, n, vasopressin = pressure
    return crs.grade_crs(
        temperature_c=temp,
        fever_masked=masked,
        hypotension=hypotension,
        vasopressors=n,
        vasopressin=vasopressin,
        oxygen=oxygen[0],
        oxygen_l_min=oxygen[1],
    ).grade


@settings(max_examples=property_examples(50), deadline=None)
@given(
    pressure=st.sampled_from(sorted(PRESSURE_GRADE)),
    oxygen=st.sampled_from(sorted(OXYGEN_GRADE, key=str)),
    temp=st.floats(min_value=38.0, max_value=42.0),
)
def test_crs_with_fever_is_the_worst_driver_and_at_least_1(
    pressure: tuple[bool, int, bool], oxygen: tuple[str, float | None], temp: float
) -> None:
    expected = max(1, PRESSURE_GRADE[pressure], OXYGEN_GRADE[oxygen])
    assert _crs(temp, False, pressure, oxygen) == expected
    # CRS-2: once masking therapy was given, fever is not required: the same grade afebrile
    assert _crs(36.8, True, pressure, oxygen) == expected


@settings(max_examples=property_examples(60), deadline=None)
@given(
    pressure=st.sampled_from(sorted(PRESSURE_GRADE)),
    oxygen=st.sampled_from(sorted(OXYGEN_GRADE, key=str)),
    temp=st.floats(min_value=35.0, max_value=37.99),
)
def test_crs_without_fever_or_masking_is_grade_0(
    pressure: tuple[bool, int, bool], oxygen: tuple[str, float | None], temp: float
) -> None:
    assert _crs(temp, False, pressure, oxygen) == 0


# ---------------------------------------------------------------- ASTCT 2019 ICANS (§2.2)

ICE_GRADE = {10: 0, 9: 1, 7: 1, 6: 2, 3: 2, 2: 3, 0: 3}
CONSCIOUSNESS_GRADE = {
    "alert": 0,
    "awakens_spontaneously": 1,
    "awakens_to_voice": 2,
    "awakens_to_tactile": 3,
    "unarousable": 4,
}
SEIZURE_GRADE = {"none": 0, "rapidly_resolving": 3, "prolonged_or_repetitive": 4}
MOTOR_GRADE = {"none": 0, "deep_focal_weakness": 4}
EDEMA_GRADE = {"none": 0, "focal": 3, "diffuse": 4}


@settings(max_examples=property_examples(60), deadline=None)
@given(
    ice=st.sampled_from(sorted(ICE_GRADE)),
    level=st.sampled_from(sorted(CONSCIOUSNESS_GRADE)),
    seizure=st.sampled_from(sorted(SEIZURE_GRADE)),
    motor=st.sampled_from(sorted(MOTOR_GRADE)),
    edema=st.sampled_from(sorted(EDEMA_GRADE)),
)
def test_icans_is_the_worst_domain(ice: int, level: str, seizure: str, motor: str, edema: str) -> None:
    assume(level != "unarousable" or ice == 0)  # an unarousable ICE above 0 is refused (D-19.963)
    # ICANS-1: ICE 0 is grade 3 if arousable, 4 when unarousable (the consciousness domain is 4 then anyway)
    ice_grade = 4 if (ice == 0 and level == "unarousable") else ICE_GRADE[ice]
    expected = max(
        ice_grade, CONSCIOUSNESS_GRADE[level], SEIZURE_GRADE[seizure], MOTOR_GRADE[motor], EDEMA_GRADE[edema]
    )
    got = icans.grade_icans(
        consciousness=level, seizure=seizure, motor=motor, cerebral_edema=edema, ice_total=ice
    )
    assert got.grade == expected


def test_icans_unarousable_without_ice_is_grade_4() -> None:
    assert icans.grade_icans(consciousness="unarousable", ice_total=None).grade == 4
    assert icans.grade_icans(consciousness="alert", ice_total=0).grade == 3


# ---------------------------------------------------------------- EHA/EBMT ICAHT (§5.1, §5.2)


def _daily(low_days: range, low: float) -> tuple[list[int], list[float]]:
    days = list(range(0, 41))
    return days, [low if d in low_days else 2000.0 for d in days]


@pytest.mark.parametrize(
    ("low_days", "low", "expected"),
    [
        (range(5, 11), 300.0, 1),  # ANC ≤ 500 for 6 days: 1-6 days grade 1
        (range(5, 12), 300.0, 2),  # 7 days: grade 2
        (range(5, 18), 300.0, 2),  # 13 days
        (range(5, 19), 300.0, 3),  # 14 days: grade 3
        (range(5, 12), 100.0, 3),  # ANC ≤ 100 (exactly 100) for 7 days: grade 3
        (range(5, 11), 100.0, 1),  # ≤ 100 for 6 days: the ≤ 500 row alone, grade 1
        (range(5, 19), 100.0, 4),  # ≤ 100 for 14 days: grade 4
        (range(5, 11), 500.0, 1),  # exactly 500 is ≤ 500
        (range(5, 11), 501.0, 0),
    ],
)
def test_early_icaht_duration_edges(low_days: range, low: float, expected: int) -> None:
    from cartrial.grading.icaht import grade_icaht

    assert grade_icaht(*_daily(low_days, low)).early_grade == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1500.0, 1500.0], 1),
        ([1501.0, 1501.0], 0),
        ([1000.0, 1000.0], 2),
        ([500.0, 500.0], 3),
        ([100.0, 100.0], 4),
        ([101.0, 100.0], 3),  # the second-lowest value decides (non-transient, late_min_values=2)
    ],
)
def test_late_icaht_threshold_edges(values: list[float], expected: int) -> None:
    from cartrial.grading.icaht import grade_icaht

    assert grade_icaht([0, 40, 60], [2000.0, *values]).late_grade == expected
