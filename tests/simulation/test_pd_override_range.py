"""A PD parameter override has one rule, in the engine (D-19.604): the scenario's `pd.overrides` refused 0
and below, while the engine both use, `cartrial.kinetics.simulate_pd(overrides=…)`, took any number — a
negative rate, NaN or an infinite value ran the ODE system on it without a word. Now a finite number ≥ 0
(``e0`` 0: no CAR-T, as tests/kinetics/test_pd_model.py runs it), > 0 for the two the equations divide by."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest

from cartrial.errors import InputError
from cartrial.kinetics import simulate_pd
from cartrial.simulation import load_scenario

ALLOWED = "a finite number ≥ 0"
POSITIVE = "a finite number > 0"


@pytest.mark.parametrize(
    ("value", "message", "got"),
    [
        (-1.0, "out of range", -1.0),
        (math.inf, "not a finite number", math.inf),
        ([0.2, -0.2], "out of range", -0.2),  # per subject: the first refused value
    ],
)
def test_the_engine_refuses_an_override_that_is_not_a_finite_number_above_zero(
    value: object, message: str, got: float
) -> None:
    with pytest.raises(InputError) as caught:
        simulate_pd(2, [0.0, 7.0], seed=1, overrides={"k_kill": value})  # type: ignore[dict-item]
    problem = caught.value.problems[0]
    assert (problem.field, problem.message, problem.value, problem.allowed) == (
        "overrides[k_kill]",
        message,
        got,
        ALLOWED,
    )


def test_the_engine_refuses_a_nan_override() -> None:
    with pytest.raises(InputError) as caught:
        simulate_pd(2, [0.0, 7.0], seed=1, overrides={"k_kill": math.nan})
    problem = caught.value.problems[0]
    assert (problem.field, problem.message, problem.allowed) == (
        "overrides[k_kill]",
        "not a finite number",
        ALLOWED,
    )


def test_the_engine_takes_a_positive_override_scalar_or_per_subject() -> None:
    sim = simulate_pd(2, [0.0, 7.0], seed=1, iiv=False, overrides={"igg_half_life_days": [21.0, 42.0]})
    assert sim.antibody_relative.shape == (2, 2)


@pytest.mark.parametrize("name", ["ec50_relative", "igg_half_life_days"])
def test_a_divisor_override_of_zero_is_refused(name: str) -> None:
    with pytest.raises(InputError) as caught:
        simulate_pd(2, [0.0, 7.0], seed=1, overrides={name: 0.0})
    problem = caught.value.problems[0]
    assert (problem.field, problem.message, problem.allowed) == (
        f"overrides[{name}]",
        "out of range",
        POSITIVE,
    )


@pytest.mark.parametrize(
    ("name", "value", "allowed"), [("k_kill", -1.0, ALLOWED), ("ec50_relative", 0.0, POSITIVE)]
)
def test_a_scenario_override_is_refused_by_the_engines_rule(
    make_scenario: Callable[..., Path], name: str, value: float, allowed: str
) -> None:
    path = make_scenario({"pd": {"overrides": {name: value}}})
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    text = str(caught.value)
    assert f"pd.overrides.{name}" in text and "out of range" in text and allowed in text, text


def test_a_scenario_without_car_t_expansion_is_taken(make_scenario: Callable[..., Path]) -> None:
    """``e0: 0`` (no CAR-T), which the engine runs, was refused by the scenario ("must be > 0")."""
    scenario, _ = load_scenario(make_scenario({"pd": {"overrides": {"e0": 0.0}}}))
    assert scenario.pd.overrides["e0"] == 0.0
