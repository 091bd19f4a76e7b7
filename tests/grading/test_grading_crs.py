"""ASTCT 2019 CRS grading (Lee DW et al. Biol Blood Marrow Transplant 2019;25:625-638, CRS table; rendered in
PMC8021214 Table 1 and PMC9327779 Table 2). Rule ids CRS-n and ambiguity ids An are those of
toxicity-grading.md §1."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import ConfigurationError, InputError
from cartrial.grading import (
    OXYGEN_DEVICES,
    CrsGrade,
    CrsOptions,
    OxygenDevice,
    grade_crs,
    grade_crs_arrays,
    hypotension_from_sbp,
    oxygen_codes,
)


def crs_result(**kwargs: object) -> CrsGrade:
    """`grade_crs` of a febrile, normotensive patient without oxygen, with `kwargs` changed."""
    base: dict[str, object] = {
        "temperature_c": 38.5,
        "fever_masked": False,
        "hypotension": False,
        "vasopressors": 0,
        "vasopressin": False,
        "oxygen": "none",
        "oxygen_l_min": None,
    }
    base.update(kwargs)
    return grade_crs(**base)  # type: ignore[arg-type]


def crs(**kwargs: object) -> int:
    """The grade of `crs_result`."""
    return crs_result(**kwargs).grade


def test_worked_example_fever_with_low_flow_nasal_cannula() -> None:
    """toxicity-grading.md §1.5 example 1: T 38.9 °C, normotensive, 4 L/min nasal cannula → hypoxia grade 2,
    CRS grade 2."""
    result = grade_crs(
        temperature_c=38.9,
        fever_masked=False,
        hypotension=False,
        vasopressors=0,
        vasopressin=False,
        oxygen="nasal_cannula",
        oxygen_l_min=4,
    )
    assert (result.grade, result.hypotension_grade, result.hypoxia_grade) == (2, 0, 2)
    assert result.rule == "grade 2: nasal cannula ≤ 6 L/min"
    assert result.scale == "ASTCT 2019" and "2019;25:625" in result.source


def test_worked_example_masked_fever_on_non_rebreather() -> None:
    """toxicity-grading.md §1.5 example 2: fever treated with paracetamol, now afebrile, normotensive, on a
    non-rebreather: masked (CRS-2, default A2 classes include antipyretics), non-rebreather is grade 3
    whatever the flow (CRS-6) → CRS grade 3."""
    result = grade_crs(
        temperature_c=37.0,
        fever_masked=True,
        hypotension=False,
        vasopressors=0,
        vasopressin=False,
        oxygen="non_rebreather",
        oxygen_l_min=None,
    )
    assert result.grade == 3
    assert "non-rebreather" in result.rule and "masked" in result.rule


def test_fever_threshold_is_38_0_inclusive() -> None:
    """ASTCT CRS table: fever is T ≥ 38.0 °C."""
    assert crs(temperature_c=38.0) == 1
    assert crs(temperature_c=37.99) == 0


def test_no_fever_no_masking_is_grade_0_even_with_hypoxia() -> None:
    """ASTCT CRS table / §1.3: fever (or masking, CRS-2) is required for any CRS grade."""
    assert crs(temperature_c=37.0, hypotension=True, vasopressors=2, oxygen="bipap") == 0


def test_fever_attributed_to_another_cause_does_not_count() -> None:
    """CRS-1: fever must not be attributable to another cause."""
    assert crs(temperature_c=39.0, fever_other_cause=True) == 0


@pytest.mark.parametrize(
    ("hypotension", "vasopressors", "vasopressin", "expected"),
    [
        (True, 0, False, 2),  # hypotension not needing vasopressors
        (True, 1, False, 3),  # one vasopressor
        (True, 1, True, 3),  # CRS-4: one vasopressor plus vasopressin is grade 3
        (True, 2, False, 4),  # multiple vasopressors
        (True, 2, True, 4),
    ],
)
def test_hypotension_grades(hypotension: bool, vasopressors: int, vasopressin: bool, expected: int) -> None:
    """ASTCT CRS table hypotension row and CRS-4 (vasopressin never counts as an additional agent)."""
    assert crs(hypotension=hypotension, vasopressors=vasopressors, vasopressin=vasopressin) == expected


def test_vasopressin_alone_option_a3() -> None:
    """A3: vasopressin alone is grade 3 by default ('a vasopressor with or without vasopressin'), grade 2 with
    vasopressin_alone_grade=2 (counting only non-vasopressin drugs)."""
    assert crs(hypotension=True, vasopressin=True) == 3
    result = crs_result(hypotension=True, vasopressin=True, options=CrsOptions(vasopressin_alone_grade=2))
    assert result.grade == 2 and "vasopressin_alone_grade=2" in result.rule


@pytest.mark.parametrize(
    ("device", "flow", "expected"),
    [
        ("blow_by", None, 2),
        ("nasal_cannula", 6.0, 2),  # CRS-5: exactly 6 L/min is low flow
        ("nasal_cannula", 6.01, 3),
        ("high_flow_nasal_cannula", 40.0, 3),
        ("facemask", 2.0, 3),  # CRS-6: masks are grade 3 whatever the flow
        ("non_rebreather", None, 3),
        ("venturi", 4.0, 3),
        ("cpap", None, 4),
        ("bipap", None, 4),
        ("mechanical_ventilation", None, 4),
    ],
)
def test_hypoxia_grades(device: str, flow: float | None, expected: int) -> None:
    """ASTCT CRS table hypoxia row; CRS-5 (6 L/min cut, 6 is low flow) and CRS-6 (only nasal cannula by
    flow)."""
    assert crs(oxygen=device, oxygen_l_min=flow) == expected


def test_worst_of_hypotension_and_hypoxia() -> None:
    """CRS-3: the grade is the more severe of the hypotension and hypoxia grades."""
    assert crs(hypotension=True, oxygen="cpap") == 4
    assert crs(hypotension=True, vasopressors=1, oxygen="nasal_cannula", oxygen_l_min=2) == 3


def test_post_masking_grade_option_a1() -> None:
    """A1: masked, afebrile, no hypotension or hypoxia is grade 1 by default, 0 with post_masking_grade=0."""
    assert crs(temperature_c=37.0, fever_masked=True) == 1
    result = crs_result(temperature_c=37.0, fever_masked=True, options=CrsOptions(post_masking_grade=0))
    assert result.grade == 0 and "post_masking_grade=0" in result.rule


def test_death_due_to_crs_is_grade_5() -> None:
    """CRS-9: grade 5 is death due to CRS."""
    assert crs(temperature_c=37.0, death_due_to_crs=True) == 5


def test_hypotension_from_sbp_threshold_option_a4() -> None:
    """A4/CRS-7: hypotension is SBP < 90 mmHg by default (adults); the threshold is an option."""
    assert hypotension_from_sbp(89.9) and not hypotension_from_sbp(90.0)
    assert hypotension_from_sbp(95, CrsOptions(sbp_threshold_mmhg=100))


def test_invalid_options_raise_configuration_error() -> None:
    """Options outside their documented values are configuration errors, not silent defaults."""
    with pytest.raises(ConfigurationError):
        CrsOptions(post_masking_grade=2)
    with pytest.raises(ConfigurationError):
        CrsOptions(vasopressin_alone_grade=4)
    with pytest.raises(ConfigurationError):
        CrsOptions(masking_classes="everything")  # type: ignore[arg-type]


# ---------------------------------------------------------------- property-based

ORDERED_DEVICES = [d.value for d in OXYGEN_DEVICES]
observation = st.fixed_dictionaries(
    {
        "temperature_c": st.sampled_from([37.99, 38.0]) | st.floats(35.0, 41.0),  # fever boundary 38.0
        "fever_masked": st.booleans(),
        "hypotension": st.booleans(),
        "vasopressors": st.integers(0, 3),
        "vasopressin": st.booleans(),
        "oxygen": st.sampled_from(ORDERED_DEVICES),
        "oxygen_l_min": st.sampled_from([6.0, 6.01]) | st.floats(0.0, 60.0),  # CRS-5 boundary 6 L/min
        "death_due_to_crs": st.sampled_from([False] * 9 + [True]),
        "fever_other_cause": st.booleans(),
    }
)
option_sets = st.builds(
    CrsOptions, post_masking_grade=st.sampled_from([0, 1]), vasopressin_alone_grade=st.sampled_from([2, 3])
)


def _clean(obs: dict[str, object]) -> dict[str, object]:
    """A consistent observation: no vasopressor without hypotension (D-19.674), no oxygen flow with
    ``oxygen=none`` (D-19.958); `grade_crs` refuses either contradiction."""
    obs = dict(obs)
    if not obs["hypotension"]:
        obs["vasopressors"], obs["vasopressin"] = 0, False
    if obs["oxygen"] == "none":
        obs["oxygen_l_min"] = 0.0
    return obs


@settings(max_examples=property_examples(200), deadline=None)
@given(st.lists(observation, min_size=1, max_size=30), option_sets)
def test_vectorised_agrees_with_scalar(observations: list[dict[str, object]], options: CrsOptions) -> None:
    """The column-wise grader returns the same grade and rule text as `grade_crs` for every row (same
    ASTCT 2019 rules)."""
    rows = [_clean(o) for o in observations]
    arrays = grade_crs_arrays(
        temperature_c=np.array([r["temperature_c"] for r in rows], dtype=float),
        fever_masked=np.array([r["fever_masked"] for r in rows]),
        hypotension=np.array([r["hypotension"] for r in rows]),
        vasopressors=np.array([r["vasopressors"] for r in rows]),
        vasopressin=np.array([r["vasopressin"] for r in rows]),
        oxygen_code=oxygen_codes([r["oxygen"] for r in rows]),
        oxygen_l_min=np.array([r["oxygen_l_min"] for r in rows], dtype=float),
        death_due_to_crs=np.array([r["death_due_to_crs"] for r in rows]),
        fever_other_cause=np.array([r["fever_other_cause"] for r in rows]),
        options=options,
    )
    texts = arrays.rule_texts()
    for i, r in enumerate(rows):
        scalar = grade_crs(options=options, **r)  # type: ignore[arg-type]
        assert int(arrays.grade[i]) == scalar.grade
        assert texts[i] == scalar.rule


WORSENINGS = {
    "temperature_c": lambda o: {**o, "temperature_c": o["temperature_c"] + 1.0},
    "fever_masked": lambda o: {**o, "fever_masked": True},
    "hypotension": lambda o: {**o, "hypotension": True},
    "vasopressors": lambda o: {**o, "hypotension": True, "vasopressors": o["vasopressors"] + 1},
    "vasopressin": lambda o: {**o, "hypotension": True, "vasopressin": True},
    "oxygen_l_min": lambda o: {**o, "oxygen_l_min": o["oxygen_l_min"] + 3.0},
    "death_due_to_crs": lambda o: {**o, "death_due_to_crs": True},
}
DEVICE_SEVERITY = {
    "none": 0,
    "blow_by": 1,
    "nasal_cannula": 1,
    "high_flow_nasal_cannula": 2,
    "facemask": 2,
    "non_rebreather": 2,
    "venturi": 2,
    "cpap": 3,
    "bipap": 3,
    "mechanical_ventilation": 3,
}


@settings(max_examples=property_examples(400), deadline=None)
@given(observation, st.sampled_from(sorted(WORSENINGS)), option_sets)
def test_worsening_one_input_never_lowers_the_grade(
    obs: dict[str, object], which: str, options: CrsOptions
) -> None:
    """Monotonicity of the ASTCT table: more fever, masking, hypotension, pressors, flow or death never lowers
    the grade (hypotension only worsens from false to true with its pressor counts kept)."""
    base = _clean(obs)
    worse = _clean(WORSENINGS[which](base))  # more flow with oxygen=none is no observation (D-19.958)
    assert grade_crs(options=options, **worse).grade >= grade_crs(options=options, **base).grade  # type: ignore[arg-type]


@settings(max_examples=property_examples(300), deadline=None)
@given(observation, st.sampled_from(ORDERED_DEVICES), option_sets)
def test_a_more_invasive_oxygen_device_never_lowers_the_grade(
    obs: dict[str, object], device: str, options: CrsOptions
) -> None:
    """Hypoxia row of the ASTCT table: a device at least as invasive (same flow) never lowers the grade."""
    base = _clean(obs)
    if DEVICE_SEVERITY[device] < DEVICE_SEVERITY[str(base["oxygen"])]:
        return
    if DEVICE_SEVERITY[device] == DEVICE_SEVERITY[str(base["oxygen"])] and device != base["oxygen"]:
        return
    worse = {**base, "oxygen": device}
    assert grade_crs(options=options, **worse).grade >= grade_crs(options=options, **base).grade  # type: ignore[arg-type]


@settings(max_examples=property_examples(200), deadline=None)
@given(observation, option_sets)
def test_grade_in_range_and_deterministic(obs: dict[str, object], options: CrsOptions) -> None:
    """Grades are 0-5 (ASTCT 2019 CRS grades) and the same inputs always give the same result."""
    base = _clean(obs)
    first = grade_crs(options=options, **base)  # type: ignore[arg-type]
    again = grade_crs(options=options, **base)  # type: ignore[arg-type]
    assert 0 <= first.grade <= 5
    assert first == again


def test_nasal_cannula_without_flow_is_an_error() -> None:
    """CRS-5: nasal cannula is graded by flow, so the flow is required (never guessed)."""
    with pytest.raises(InputError, match="oxygen_l_min"):
        crs_result(oxygen=OxygenDevice.NASAL_CANNULA)
