"""A legacy (Lee 2014 / CARTOX) CRS observation is checked as the CRS form checks a row (D-19.938, D-19.939).

Lee 2014 and CARTOX grade hypotension by the vasopressors that treat it (grade 2 fluids or one low-dose
vasopressor, grade 3 high-dose or multiple, CARTOX grade 4 life-threatening hypotension; PMC7006459 Table 2,
docs/science/toxicity-grading.md §3.1). A vasopressor or a life-threatening hypotension recorded with
``hypotension=false`` contradicts itself: `grade_legacy_crs` graded such a notebook observation as "no
hypotension" (CARTOX grade 1 with fever, where the flags say grade 3-4), and accepted a temperature of
138.5 °C, -2 vasopressors or an organ toxicity grade 9 (returned as CRS "grade 9"). The CRS form refused the
vasopressor but took ``life_threatening_hypotension=true`` with ``hypotension=false`` and ignored it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartrial.columns import RowProblems
from cartrial.errors import InputError
from cartrial.grading.crs import OxygenDevice
from cartrial.grading.legacy import LegacyObservation, LegacyScale, grade_legacy_crs
from cartrial.grading.tables import parse_crs_frame


def _observation(**changes: Any) -> LegacyObservation:
    values: dict[str, Any] = {
        "temperature_c": 38.5,
        "hypotension": True,
        "vasopressors": 0,
        "vasopressin": False,
        "oxygen": OxygenDevice.NONE,
        "organ_toxicity_grade": 0,
        "transaminase_grade": 0,
        "life_threatening_hypotension": False,
    }
    values.update(changes)
    return LegacyObservation(**values)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"hypotension": False, "vasopressors": 2}, "vasopressors"),
        ({"hypotension": False, "vasopressin": True}, "vasopressin"),
        ({"hypotension": False, "life_threatening_hypotension": True}, "life_threatening_hypotension"),
    ],
)
def test_a_contradiction_with_hypotension_false_is_refused(changes: dict[str, Any], field: str) -> None:
    """Two vasopressors are CARTOX grade 3, life-threatening hypotension grade 4: with hypotension=false the
    observation was graded 1 (fever alone). It is refused, naming the field and what is allowed."""
    with pytest.raises(InputError) as raised:
        _observation(**changes)
    problem = raised.value.problems[0]
    assert problem.field == field
    assert "hypotension=false" in problem.message
    assert "hypotension=false" in (problem.allowed or "")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("temperature_c", 138.5),
        ("temperature_c", float("nan")),
        ("vasopressors", -2),
        ("vasopressors", 1.5),
        ("fio2_pct", 120.0),
        ("fio2_pct", 10.0),
        ("organ_toxicity_grade", 9),
        ("transaminase_grade", -1),
        ("hypotension", "no"),
        ("life_threatening_hypotension", 1),
        ("oxygen", "helmet"),
    ],
)
def test_an_out_of_range_input_is_refused(field: str, value: Any) -> None:
    """The ranges of the CRS form (temperature 30-45 °C, vasopressors 0-10, FiO2 21-100 %, CTCAE grades
    0-5, true/false flags, the oxygen devices): outside them the observation is refused, never graded."""
    with pytest.raises(InputError) as raised:
        _observation(**{field: value})
    assert raised.value.problems[0].field == field


def test_an_oxygen_device_given_as_text_is_the_device() -> None:
    """``oxygen="mechanical_ventilation"`` is ventilator support, grade 4 on both scales (it was compared by
    identity with the enum and read as oxygen with FiO2 unknown)."""
    observation = _observation(oxygen="mechanical_ventilation")
    assert observation.oxygen is OxygenDevice.MECHANICAL_VENTILATION
    assert grade_legacy_crs(observation, LegacyScale.LEE_2014).grade == 4


def test_life_threatening_hypotension_with_hypotension_is_cartox_grade_4() -> None:
    """CARTOX grade 4: life-threatening hypotension (PMC7006459 Table 2); Lee 2014 has no such row (grade 2
    for hypotension responsive to fluids)."""
    observation = _observation(life_threatening_hypotension=True)
    assert grade_legacy_crs(observation, LegacyScale.CARTOX).grade == 4
    assert grade_legacy_crs(observation, LegacyScale.LEE_2014).grade == 2


def _crs_row(**changes: Any) -> pd.DataFrame:
    row: dict[str, Any] = {
        "subject_id": "S1",
        "assessed_at": "2024-01-11T08:00Z",
        "temperature_c": "38.5",
        "fever_masked": "false",
        "hypotension": "false",
        "vasopressors": "0",
        "vasopressin": "false",
        "oxygen": "none",
        "oxygen_l_min": "",
        "life_threatening_hypotension": "true",
    }
    row.update(changes)
    return pd.DataFrame([row])


def test_the_crs_form_refuses_life_threatening_hypotension_with_hypotension_false() -> None:
    """The form's one rule: the row is refused at its field (it was accepted and the flag ignored)."""
    problems = RowProblems("crs_assessments.csv")
    parse_crs_frame(_crs_row(), problems)
    found = [(p.row, p.field, p.message) for p in problems.all()]
    message = "life-threatening hypotension given with hypotension=false"
    assert found == [(2, "life_threatening_hypotension", message)]


def test_the_crs_form_names_the_pressure_when_hypotension_is_derived() -> None:
    """Hypotension blank with a systolic pressure ≥ 90 mmHg is no hypotension (ASTCT ambiguity A4): the
    message names the pressure and what to enter, as for a vasopressor (D-19.679)."""
    problems = RowProblems("crs_assessments.csv")
    parse_crs_frame(_crs_row(hypotension="", systolic_bp_mmhg="110"), problems)
    (problem,) = problems.all()
    assert problem.field == "life_threatening_hypotension"
    assert "systolic_bp_mmhg" in problem.message
    assert "110" not in problem.message


@pytest.mark.parametrize("flag", ["false", ""])
def test_the_crs_form_keeps_no_life_threat_without_hypotension(flag: str) -> None:
    problems = RowProblems("crs_assessments.csv")
    parse_crs_frame(_crs_row(life_threatening_hypotension=flag), problems)
    assert problems.all() == []


@given(
    temperature_c=st.floats(30, 45),
    hypotension=st.booleans(),
    vasopressors=st.integers(0, 10),
    vasopressin=st.booleans(),
    life=st.none() | st.booleans(),
    organ=st.integers(0, 5),
    transaminase=st.integers(0, 5),
    scale=st.sampled_from(list(LegacyScale)),
)
def test_an_observation_in_range_grades_from_its_worst_criterion(
    temperature_c: float,
    hypotension: bool,
    vasopressors: int,
    vasopressin: bool,
    life: bool | None,
    organ: int,
    transaminase: int,
    scale: LegacyScale,
) -> None:
    """Property: an observation in the form's ranges is either refused as a contradiction with
    hypotension=false or graded 0-5 (or not gradable), never above the worst possible criterion (organ
    toxicity g gives g; transaminases at most 3; hypotension at most 3, CARTOX 4; oxygen none 0)."""
    try:
        observation = LegacyObservation(
            temperature_c=temperature_c,
            hypotension=hypotension,
            vasopressors=vasopressors,
            vasopressin=vasopressin,
            oxygen=OxygenDevice.NONE,
            organ_toxicity_grade=organ,
            transaminase_grade=transaminase,
            life_threatening_hypotension=life,
        )
    except InputError:
        assert not hypotension and (vasopressors > 0 or vasopressin or bool(life))
        return
    result = grade_legacy_crs(observation, scale)
    hypotension_top = 0 if not hypotension else (4 if scale is LegacyScale.CARTOX else 3)
    ceiling = max(1, organ, min(transaminase, 3), hypotension_top)
    if result.grade is not None:
        assert 0 <= result.grade <= ceiling
        assert result.grade >= max(organ, min(transaminase, 3))
