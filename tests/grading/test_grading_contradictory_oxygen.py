"""Oxygen recorded with ``oxygen=none`` is refused by the per-assessment graders, as the forms refuse it
(correctness attack, branch grad; D-19.958).

A patient given oxygen has a hypoxia criterion: ASTCT 2019 grades oxygen by low-flow nasal cannula (≤ 6
L/min) or blow-by 2, high-flow nasal cannula, facemask, non-rebreather or Venturi 3, positive pressure 4
(Lee DW et al., BBMT 2019;25:625-638, CRS table; PMC8021214 Table 1); Lee 2014 and CARTOX grade it by FiO2,
< 40% 2 and ≥ 40% 3 (PMC7006459 Table 2; docs/science/toxicity-grading.md §1.1, §3.1). A flow above 0 L/min
or an FiO2 above room air (21%) with the device ``none`` contradicts itself: the CRS form refuses both
(``parse_crs_frame``; D-19.647), but `grade_crs` graded 5 L/min with ``oxygen=none`` as no hypoxia (a
febrile patient on oxygen: grade 1, not ≥ 2) and `grade_legacy_crs` graded FiO2 50% with ``oxygen=none`` as
"no oxygen" (Lee 2014 grade 1 with fever, not 3), without a word — the case D-19.674 closed for vasopressors
with ``hypotension=False``.
"""

from __future__ import annotations

import math

import pytest

from cartrial.errors import InputError
from cartrial.grading import grade_crs
from cartrial.grading.crs import OxygenDevice
from cartrial.grading.legacy import LegacyObservation, LegacyScale, grade_legacy_crs


def _crs(oxygen: str, flow: float | None) -> int:
    return grade_crs(
        temperature_c=38.5,
        fever_masked=False,
        hypotension=False,
        vasopressors=0,
        vasopressin=False,
        oxygen=oxygen,
        oxygen_l_min=flow,
    ).grade


@pytest.mark.parametrize("flow", [0.5, 5.0, 15.0])
def test_grade_crs_refuses_an_oxygen_flow_with_oxygen_none(flow: float) -> None:
    """5 L/min of oxygen is an oxygen requirement (ASTCT: low-flow nasal cannula ≤ 6 L/min is grade 2), so a
    flow above 0 with ``oxygen=none`` is refused, naming the field and what is allowed, as the form's
    "oxygen flow given with oxygen=none" (blank or 0), never graded as no hypoxia. The value is not quoted."""
    with pytest.raises(InputError) as raised:
        _crs("none", flow)
    problem = raised.value.problems[0]
    assert problem.field == "oxygen_l_min"
    assert problem.allowed == "blank or 0 when oxygen=none"
    assert f"{flow:g}" not in problem.message


@pytest.mark.parametrize("flow", [None, 0.0, math.nan])
def test_grade_crs_keeps_no_flow_with_oxygen_none(flow: float | None) -> None:
    """No flow (blank, 0, or a NaN gap of a column) with ``oxygen=none`` is room air: fever alone, grade 1
    (ASTCT CRS table, grade 1: fever without hypotension or hypoxia)."""
    assert _crs("none", flow) == 1


def test_grade_crs_still_grades_a_flow_with_a_device() -> None:
    """The rule concerns ``oxygen=none`` only: 5 L/min by nasal cannula is grade 2, by facemask grade 3
    (ASTCT CRS table, hypoxia row)."""
    assert _crs("nasal_cannula", 5.0) == 2
    assert _crs("facemask", 5.0) == 3


def _legacy(fio2: float | None, scale: LegacyScale) -> int | None:
    observation = LegacyObservation(
        temperature_c=38.5,
        hypotension=False,
        vasopressors=0,
        vasopressin=False,
        oxygen=OxygenDevice.NONE,
        fio2_pct=fio2,
        organ_toxicity_grade=0,
        transaminase_grade=0,
        life_threatening_hypotension=False,
    )
    return grade_legacy_crs(observation, scale).grade


@pytest.mark.parametrize("scale", list(LegacyScale))
@pytest.mark.parametrize("fio2", [30.0, 50.0])
def test_grade_legacy_crs_refuses_fio2_above_room_air_with_no_device(fio2: float, scale: LegacyScale) -> None:
    """FiO2 50% is oxygen need of Lee 2014 / CARTOX grade 3 (FiO2 ≥ 40%), 30% of grade 2 (< 40%); with
    ``oxygen=none`` (room air, 21%) the observation contradicts itself and is refused naming `fio2_pct`, as
    the form refuses it (D-19.647), never graded as "no oxygen"."""
    with pytest.raises(InputError) as raised:
        _legacy(fio2, scale)
    problem = raised.value.problems[0]
    assert problem.field == "fio2_pct"
    assert f"{fio2:g}" not in problem.message


@pytest.mark.parametrize("scale", list(LegacyScale))
@pytest.mark.parametrize("fio2", [None, 21.0])
def test_grade_legacy_crs_keeps_room_air_with_oxygen_none(fio2: float | None, scale: LegacyScale) -> None:
    """Room air (FiO2 21% or not recorded) with ``oxygen=none`` and fever only is grade 1 on both scales
    (Lee 2014: constitutional symptoms; CARTOX: T ≥ 38 °C; PMC7006459 Table 2)."""
    assert _legacy(fio2, scale) == 1


def _legacy_plain(oxygen: str, fio2: float) -> int | None:
    observation = LegacyObservation(
        temperature_c=38.5,
        hypotension=False,
        vasopressors=0,
        vasopressin=False,
        oxygen=oxygen,  # type: ignore[arg-type]  # a plain string, as main accepted
        fio2_pct=fio2,
        organ_toxicity_grade=0,
        transaminase_grade=0,
        life_threatening_hypotension=False,
    )
    return grade_legacy_crs(observation, LegacyScale.LEE_2014).grade


def test_grade_legacy_crs_takes_a_plain_string_device() -> None:
    """A device given as its plain text is graded as before (review): nasal cannula at FiO2 50% is Lee 2014
    grade 3 (FiO2 ≥ 40%, PMC7006459 Table 2); ``"none"`` at FiO2 50% is refused at `fio2_pct` (D-19.958).
    The check read ``obs.oxygen.value`` and raised AttributeError on a plain string."""
    assert _legacy_plain("nasal_cannula", 50.0) == 3
    with pytest.raises(InputError) as raised:
        _legacy_plain("none", 50.0)
    assert raised.value.problems[0].field == "fio2_pct"
