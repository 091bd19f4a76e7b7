"""ICE/ICANS (ASTCT 2019: PMC8153820 Table 2 for ICE, PMC9327779 Table 2 for ICANS; toxicity-grading.md
§2) and CTCAE v5.0/v6.0 haematology (as encoded in pharmaverse admiral, toxicity-grading.md §4)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import ConfigurationError, InputError
from cartrial.grading import (
    ANALYTES,
    grade_icans,
    grade_icans_arrays,
    grade_lab,
    grade_labs_arrays,
    ice_score,
    unit_factor,
)
from cartrial.grading.icans import CONSCIOUSNESS_LEVELS, EDEMA_TYPES, MOTOR_FINDINGS, SEIZURE_TYPES

# ---------------------------------------------------------------- ICE / ICANS


def test_ice_score_sums_items_and_checks_maxima() -> None:
    """ICE (PMC8153820 Table 2): orientation 4, naming 3, command 1, writing 1, attention 1 = 10 points."""
    assert ice_score(4, 3, 1, 1, 1) == 10
    assert ice_score(2, 1, 0, 1, 0) == 4
    with pytest.raises(InputError, match="orientation"):
        ice_score(5, 3, 1, 1, 1)
    with pytest.raises(InputError, match="command"):
        ice_score(4, 3, 2, 1, 1)


def test_worked_example_ice_6_awakens_spontaneously() -> None:
    """toxicity-grading.md §2.2 example: ICE 6/10, awakens spontaneously, nothing else → ICE domain 2,
    consciousness 1, ICANS grade 2."""
    result = grade_icans(consciousness="awakens_spontaneously", ice_total=6)
    assert result.grade == 2
    assert result.domain_grades["ICE"] == 2 and result.domain_grades["consciousness"] == 1
    assert result.rule == "grade 2: ICE 6"


@pytest.mark.parametrize(("ice", "expected"), [(10, 0), (9, 1), (7, 1), (6, 2), (3, 2), (2, 3), (0, 3)])
def test_ice_domain_bands(ice: int, expected: int) -> None:
    """ICANS table ICE row: 7-9 grade 1, 3-6 grade 2, 0-2 grade 3 (arousable patient)."""
    assert grade_icans(consciousness="alert", ice_total=ice).grade == expected


def test_ice_zero_unarousable_is_grade_4_arousable_grade_3() -> None:
    """ICANS-1: ICE 0 is grade 3 if arousable, grade 4 only if unarousable and ICE cannot be performed."""
    assert grade_icans(consciousness="awakens_to_voice", ice_total=0).grade == 3
    assert grade_icans(consciousness="unarousable", ice_total=None).grade == 4
    assert grade_icans(consciousness="unarousable", ice_total=0).domain_grades["ICE"] == 4
    with pytest.raises(InputError, match="ICE score is required"):
        grade_icans(consciousness="alert", ice_total=None)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"consciousness": "awakens_to_voice"}, 2),
        ({"consciousness": "awakens_to_tactile"}, 3),
        ({"seizure": "rapidly_resolving"}, 3),
        ({"seizure": "prolonged_or_repetitive"}, 4),
        ({"motor": "deep_focal_weakness"}, 4),
        ({"cerebral_edema": "focal"}, 3),
        ({"cerebral_edema": "diffuse"}, 4),
    ],
)
def test_icans_domains(kwargs: dict[str, str], expected: int) -> None:
    """ICANS table (PMC9327779 Table 2): consciousness, seizure, motor and oedema rows; worst domain wins."""
    args = {"consciousness": "alert", "ice_total": 10, **kwargs}
    assert grade_icans(**args).grade == expected  # type: ignore[arg-type]


def test_consciousness_attributed_elsewhere_is_not_counted() -> None:
    """ICANS-5: depressed consciousness attributable to another cause (e.g. sedation) is not scored."""
    assert (
        grade_icans(consciousness="awakens_to_tactile", ice_total=10, consciousness_other_cause=True).grade
        == 0
    )


def test_unarousable_from_another_cause_does_not_grade_ice_4() -> None:
    """ICANS-5 and the ICANS table's ICE grade 4 ("0, because the patient is unarousable and cannot be
    assessed"): ICANS grades findings not attributable to another cause, so an unarousable patient whose
    depressed consciousness is attributed to sedation gets neither the consciousness grade 4 nor the ICE
    grade 4; other domains still count."""
    sedated = grade_icans(consciousness="unarousable", ice_total=None, consciousness_other_cause=True)
    assert sedated.grade == 0 and sedated.domain_grades["ICE"] == 0
    assert "attributed to another cause" in sedated.rule
    assert grade_icans(consciousness="unarousable", ice_total=0, consciousness_other_cause=True).grade == 0
    assert (
        grade_icans(
            consciousness="unarousable",
            ice_total=None,
            consciousness_other_cause=True,
            cerebral_edema="focal",
        ).grade
        == 3
    )
    assert grade_icans(consciousness="unarousable", ice_total=None).grade == 4


icans_obs = st.fixed_dictionaries(
    {
        "consciousness": st.sampled_from([c.value for c in CONSCIOUSNESS_LEVELS]),
        "seizure": st.sampled_from([s.value for s in SEIZURE_TYPES]),
        "motor": st.sampled_from([m.value for m in MOTOR_FINDINGS]),
        "cerebral_edema": st.sampled_from([e.value for e in EDEMA_TYPES]),
        "ice_total": st.integers(0, 10) | st.none(),
    }
).filter(lambda o: o["ice_total"] is not None or o["consciousness"] == "unarousable")
# an unarousable patient cannot score ICE above 0: refused, as the form refuses it (D-19.963)
icans_obs = icans_obs.filter(lambda o: o["consciousness"] != "unarousable" or o["ice_total"] in (None, 0))


@settings(max_examples=property_examples(150), deadline=None)
@given(st.lists(icans_obs, min_size=1, max_size=20), st.data())
def test_icans_vectorised_agrees_with_scalar(rows: list[dict[str, object]], data: st.DataObject) -> None:
    """`grade_icans_arrays` gives the grade and rule text of `grade_icans` (ASTCT 2019 ICANS table),
    including consciousness attributed to another cause (ICANS-5)."""
    rows = [{**r, "consciousness_other_cause": data.draw(st.booleans())} for r in rows]
    graded = grade_icans_arrays(
        consciousness_other_cause=np.array([r["consciousness_other_cause"] for r in rows], dtype=bool),
        ice_total=np.array([np.nan if r["ice_total"] is None else r["ice_total"] for r in rows], dtype=float),
        consciousness_code=np.array(
            [[c.value for c in CONSCIOUSNESS_LEVELS].index(r["consciousness"]) for r in rows]
        ),
        seizure_code=np.array([[s.value for s in SEIZURE_TYPES].index(r["seizure"]) for r in rows]),
        motor_code=np.array([[m.value for m in MOTOR_FINDINGS].index(r["motor"]) for r in rows]),
        edema_code=np.array([[e.value for e in EDEMA_TYPES].index(r["cerebral_edema"]) for r in rows]),
    )
    texts = graded.rule_texts()
    for i, r in enumerate(rows):
        scalar = grade_icans(**r)  # type: ignore[arg-type]
        assert int(graded.grade[i]) == scalar.grade
        assert texts[i] == scalar.rule
        assert 0 <= scalar.grade <= 4


@settings(max_examples=property_examples(300), deadline=None)
@given(icans_obs, st.sampled_from(["ice", "consciousness", "seizure", "motor", "cerebral_edema"]))
def test_icans_worsening_never_lowers_grade(obs: dict[str, object], which: str) -> None:
    """Monotonicity of the ICANS table: a lower ICE or a worse finding in one domain never lowers the
    grade."""
    worse = dict(obs)
    if which == "ice":
        if obs["ice_total"] is None:
            return
        worse["ice_total"] = max(0, int(obs["ice_total"]) - 1)  # type: ignore[call-overload]
    else:
        column = "consciousness" if which == "consciousness" else which
        levels = {
            "consciousness": [c.value for c in CONSCIOUSNESS_LEVELS],
            "seizure": [s.value for s in SEIZURE_TYPES],
            "motor": [m.value for m in MOTOR_FINDINGS],
            "cerebral_edema": [e.value for e in EDEMA_TYPES],
        }[column]
        position = levels.index(str(obs[column]))
        worse[column] = levels[min(position + 1, len(levels) - 1)]
        if worse[column] == "unarousable" and worse["ice_total"] not in (None, 0):
            worse["ice_total"] = 0  # an unarousable patient cannot score ICE > 0
    assert grade_icans(**worse).grade >= grade_icans(**obs).grade  # type: ignore[arg-type]


# ---------------------------------------------------------------- CTCAE


@pytest.mark.parametrize(
    ("analyte", "value", "lln", "expected"),
    [
        # CTCAE v5.0 thresholds (toxicity-grading.md §4 table); exact threshold = milder grade
        ("neutrophils", 1.8, 1.8, 0),
        ("neutrophils", 1.79, 1.8, 1),
        ("neutrophils", 1.5, 1.8, 1),
        ("neutrophils", 1.49, 1.8, 2),
        ("neutrophils", 1.0, 1.8, 2),
        ("neutrophils", 0.99, 1.8, 3),
        ("neutrophils", 0.5, 1.8, 3),
        ("neutrophils", 0.49, 1.8, 4),  # v5 grade 4 is < 0.5 (admiral comment "<25.0" is a typo)
        ("platelets", 75, 150, 1),
        ("platelets", 74, 150, 2),
        ("platelets", 50, 150, 2),
        ("platelets", 49, 150, 3),
        ("platelets", 25, 150, 3),
        ("platelets", 24, 150, 4),
        ("hemoglobin", 100, 120, 1),
        ("hemoglobin", 99, 120, 2),
        ("hemoglobin", 80, 120, 2),  # boundary example of §4: Hb 80 g/L is grade 2
        ("hemoglobin", 79, 120, 3),  # and 79 g/L grade 3
        ("hemoglobin", 40, 120, 3),  # laboratory-only anaemia grade capped at 3 [U]
        ("lymphocytes", 0.8, 1.0, 1),
        ("lymphocytes", 0.79, 1.0, 2),
        ("lymphocytes", 0.49, 1.0, 3),
        ("lymphocytes", 0.19, 1.0, 4),
        ("wbc", 3.0, 4.0, 1),
        ("wbc", 2.99, 4.0, 2),
        ("wbc", 1.99, 4.0, 3),
        ("wbc", 0.99, 4.0, 4),
    ],
)
def test_ctcae_v5_thresholds(analyte: str, value: float, lln: float, expected: int) -> None:
    """CTCAE v5.0 haematology (admiral atoxgr_criteria_ctcv5 / test-derive_var_atoxgr.R; §4): "< a - b" is
    below a and at least b; a value at a threshold is the milder grade."""
    unit = "g/L" if analyte == "hemoglobin" else "10^9/L"
    assert grade_lab(analyte, value, unit, lln).grade == expected


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "lln", "expected"),
    [
        ("neutrophils", 499, "/mm3", 1800, 4),  # 1 x10^9/L = 1000/mm³ (§4): 499/mm³ < 0.5
        ("neutrophils", 500, "cells/µL", 1800, 3),
        ("neutrophils", 0.5, "10^3/uL", 1.8, 3),
        ("platelets", 49000, "/µL", 150000, 3),
        ("hemoglobin", 7.9, "g/dL", 12.0, 3),
        ("hemoglobin", 8.0, "g/dL", 12.0, 2),
        # CTCAE v5.0 states the mmol/L thresholds itself (G2 < 6.2 - 4.9, G3 < 4.9 mmol/L): 4.9 mmol/L is
        # grade 2 although 4.9 x 16.11 = 79.0 g/L (grading-audit, decisions D-3.4)
        ("hemoglobin", 4.9, "mmol/L", 7.4, 2),
        ("hemoglobin", 4.8, "mmol/L", 7.4, 3),
        ("hemoglobin", 5.0, "mmol/L", 7.4, 2),  # 5.0 mmol/L = 80.6 g/L
    ],
)
def test_unit_conversion(analyte: str, value: float, unit: str, lln: float, expected: int) -> None:
    """Units are converted explicitly before grading (§4: 1 x10^9/L = 1000/µL = 1000/mm³; g/dL x 10 = g/L;
    Hb mmol/L / 0.6206 = g/dL)."""
    assert grade_lab(analyte, value, unit, lln).grade == expected


def test_unknown_or_missing_unit_is_an_error() -> None:
    """Decisions §3: a missing or unknown unit is an error, never a guess."""
    with pytest.raises(InputError, match="unknown unit"):
        unit_factor("neutrophils", "mg/dL")
    with pytest.raises(InputError, match="unknown unit"):
        unit_factor("hemoglobin", "")
    with pytest.raises(InputError, match="unknown unit"):
        unit_factor("hemoglobin", "10^9/L")


def test_grams_per_litre_is_not_a_count_unit() -> None:
    """Decisions §3 ("a missing or unknown unit is an error, never a guess"): 'G/L' (giga per litre) is a
    count
    unit equal to 10^9/L, but lower-case 'g/L' is grams per litre (haemoglobin), so a neutrophil or platelet
    result in 'g/L' is an error, not silently read as 10^9/L."""
    assert unit_factor("neutrophils", "G/L") == 1.0
    for analyte in ("neutrophils", "platelets", "lymphocytes", "wbc"):
        with pytest.raises(InputError, match="unknown unit"):
            unit_factor(analyte, "g/L")
    assert unit_factor("hemoglobin", "g/L") == 1.0


def test_lln_required_for_higher_grades_option() -> None:
    """§4 [U]: by default grades 2-4 use the absolute thresholds only; the option also requires < LLN."""
    assert grade_lab("neutrophils", 1.3, "10^9/L", 1.2).grade == 2
    assert grade_lab("neutrophils", 1.3, "10^9/L", 1.2, lln_required_for_higher_grades=True).grade == 0
    assert grade_lab("neutrophils", 1.1, "10^9/L", 1.2, lln_required_for_higher_grades=True).grade == 2


def test_anaemia_grade_4_only_with_recorded_life_threatening_consequences() -> None:
    """§4 [U]: anaemia grades 3-4 have clinical components; the laboratory-only grade is capped at 3 and
    grade 4 needs recorded life-threatening consequences."""
    assert grade_lab("hemoglobin", 50, "g/L", 120).grade == 3
    result = grade_lab("hemoglobin", 70, "g/L", 120, life_threatening_anemia=True)
    assert result.grade == 4 and "life-threatening" in result.rule
    assert grade_lab("hemoglobin", 130, "g/L", 120, life_threatening_anemia=True).grade == 0
    assert grade_lab("platelets", 60, "10^9/L", 150, life_threatening_anemia=True).grade == 2


def test_ctcae_v6_neutrophils_and_platelets() -> None:
    """CTCAE v6.0 (§4.1): neutrophils G1 <1.5-1.0, G2 <1.0-0.5, G3 <0.5-0.1, G4 <0.1 without LLN; platelets
    renamed Thrombocytopenia with G4 < 10 x10^9/L."""
    v6 = {"ctcae_version": "6.0"}
    assert grade_lab("neutrophils", 1.6, "10^9/L", 2.0, **v6).grade == 0  # below LLN but no LLN grade in v6
    assert grade_lab("neutrophils", 1.4, "10^9/L", None, **v6).grade == 1
    assert grade_lab("neutrophils", 0.9, "10^9/L", None, **v6).grade == 2
    assert grade_lab("neutrophils", 0.4, "10^9/L", None, **v6).grade == 3
    assert grade_lab("neutrophils", 0.1, "10^9/L", None, **v6).grade == 3
    assert grade_lab("neutrophils", 0.09, "10^9/L", None, **v6).grade == 4
    platelets = grade_lab("platelets", 20, "10^9/L", 150, **v6)
    assert platelets.grade == 3 and platelets.term == "Thrombocytopenia"
    assert grade_lab("platelets", 9, "10^9/L", 150, **v6).grade == 4
    assert grade_lab("platelets", 20, "10^9/L", 150).grade == 4  # v5: < 25 is grade 4


def test_unimplemented_versions_raise_configuration_error() -> None:
    """Decisions §3: a CTCAE version whose thresholds are not implemented raises a clear error."""
    with pytest.raises(ConfigurationError, match=r"4\.03"):
        grade_lab("neutrophils", 1.0, "10^9/L", 1.8, ctcae_version="4.03")
    with pytest.raises(ConfigurationError, match="hemoglobin"):
        grade_lab("hemoglobin", 100, "g/L", 120, ctcae_version="6.0")


lab_obs = st.tuples(
    st.sampled_from(["neutrophils", "platelets", "hemoglobin", "lymphocytes", "wbc"]),
    st.floats(0, 400, allow_nan=False),
    st.floats(0.5, 200, allow_nan=False),
)


@settings(max_examples=property_examples(150), deadline=None)
@given(st.lists(lab_obs, min_size=1, max_size=20), st.booleans(), st.booleans())
def test_labs_vectorised_agrees_with_scalar(
    rows: list[tuple[str, float, float]], lln_required: bool, life_threatening: bool
) -> None:
    """`grade_labs_arrays` gives the grade and rule text of `grade_lab` (CTCAE v5.0 haematology)."""
    codes = np.array([[a.value for a in ANALYTES].index(a) for a, _, _ in rows])
    graded = grade_labs_arrays(
        codes,
        np.array([v for _, v, _ in rows]),
        np.array([lln for _, _, lln in rows]),
        lln_required_for_higher_grades=lln_required,
        life_threatening_anemia=np.full(len(rows), life_threatening),
    )
    for i, (analyte, value, lln) in enumerate(rows):
        unit = "g/L" if analyte == "hemoglobin" else "10^9/L"
        scalar = grade_lab(
            analyte,
            value,
            unit,
            lln,
            lln_required_for_higher_grades=lln_required,
            life_threatening_anemia=life_threatening,
        )
        assert int(graded.grade[i]) == scalar.grade
        assert graded.rule[i] == scalar.rule


@settings(max_examples=property_examples(300), deadline=None)
@given(lab_obs, st.floats(0, 1, exclude_min=True))
def test_lower_value_never_lowers_the_lab_grade(obs: tuple[str, float, float], fraction: float) -> None:
    """CTCAE "decreased" terms: a lower value (same LLN) never gives a lower grade; grades 0-4."""
    analyte, value, lln = obs
    unit = "g/L" if analyte == "hemoglobin" else "10^9/L"
    higher = grade_lab(analyte, value, unit, lln).grade
    lower = grade_lab(analyte, value * fraction, unit, lln).grade
    assert lower >= higher and 0 <= lower <= 4
