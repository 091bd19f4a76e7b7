"""`grade_bands` states the laboratory thresholds `grade_lab` grades by (D-19.1217), for every analyte.

CTCAE v5.0 "Anemia" (toxicity-grading.md §4, as encoded in admiral atoxgr_criteria_ctcv5): grade 1 < LLN - 100
g/L, grade 2 < 100 - 80 g/L, grade 3 < 80 g/L (transfusion indicated), grade 4 life-threatening consequences
(no laboratory threshold; the laboratory-only grade is capped at 3). So the laboratory bands are [100, LLN)
grade 1, [80, 100) grade 2 and [0, 80) grade 3, and no grade-4 band. Expected values by hand from §4.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.grading import ctcae
from cartrial.grading.ctcae import ANALYTES, CANONICAL_UNIT, Analyte, grade_bands, grade_lab


def test_anaemia_bands_include_grade_3_below_80_g_per_l() -> None:
    assert grade_bands("hemoglobin") == ((100.0, None, 1), (80.0, 100.0, 2), (0.0, 80.0, 3))


def test_the_lowest_band_that_exists_reaches_down_to_0(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the worst laboratory grade, its band starts at 0: criteria with a grade-2 threshold only
    (< 100, no grade-3 or grade-4 laboratory threshold; a hypothetical analyte, no CTCAE term so stated)
    give [100, LLN) grade 1 and [0, 100) grade 2, the grades `grade_lab` gives (a value < 100 is grade 2)."""
    criteria = ctcae._Criteria("Anemia", (100.0, None, None), True)
    monkeypatch.setitem(ctcae._V5, Analyte.HEMOGLOBIN, criteria)
    assert grade_bands("hemoglobin") == ((100.0, None, 1), (0.0, 100.0, 2))
    assert grade_lab("hemoglobin", 50.0, "g/L", 120.0).grade == 2


@pytest.mark.parametrize(
    ("analyte", "version", "expected"),
    [
        # §4 table, "< a - b" = [b, a): neutrophils 1.5/1.0/0.5, platelets 75/50/25, lymphocytes 0.8/0.5/0.2,
        # WBC 3.0/2.0/1.0 ×10^9/L; §4.1 v6.0: neutrophils 1.5 (fixed grade 1)/1.0/0.5/0.1, platelets G4 < 10
        ("neutrophils", "5.0", ((1.5, None, 1), (1.0, 1.5, 2), (0.5, 1.0, 3), (0.0, 0.5, 4))),
        ("platelets", "5.0", ((75.0, None, 1), (50.0, 75.0, 2), (25.0, 50.0, 3), (0.0, 25.0, 4))),
        ("lymphocytes", "5.0", ((0.8, None, 1), (0.5, 0.8, 2), (0.2, 0.5, 3), (0.0, 0.2, 4))),
        ("wbc", "5.0", ((3.0, None, 1), (2.0, 3.0, 2), (1.0, 2.0, 3), (0.0, 1.0, 4))),
        ("neutrophils", "6.0", ((1.0, 1.5, 1), (0.5, 1.0, 2), (0.1, 0.5, 3), (0.0, 0.1, 4))),
        ("platelets", "6.0", ((75.0, None, 1), (50.0, 75.0, 2), (10.0, 50.0, 3), (0.0, 10.0, 4))),
    ],
)
def test_count_bands_follow_the_ctcae_table(analyte: str, version: str, expected: tuple[object, ...]) -> None:
    assert grade_bands(analyte, version) == expected


@settings(max_examples=property_examples(200), deadline=None)
@given(
    st.sampled_from([(a.value, "5.0") for a in ANALYTES] + [("neutrophils", "6.0"), ("platelets", "6.0")]),
    st.floats(0, 400, allow_nan=False),
)
def test_a_value_below_the_lln_is_graded_by_the_band_it_lies_in(pair: tuple[str, str], value: float) -> None:
    """Property: with an LLN above every band (so grade 1 is `value < LLN`), the grade `grade_lab` gives a
    value is the grade of the band of `grade_bands` holding it, 0 when none does (bands: [lower, upper))."""
    analyte, version = pair
    lln = 1000.0
    grade = grade_lab(analyte, value, CANONICAL_UNIT[analyte], lln, ctcae_version=version).grade  # type: ignore[index]
    banded = [g for low, up, g in grade_bands(analyte, version) if low <= value < (lln if up is None else up)]
    assert grade == (banded[0] if banded else 0)
