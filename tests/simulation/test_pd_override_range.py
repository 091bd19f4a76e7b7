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

# the rule of each override (D-19.604): 0 or within 10^6 of the typical value; > 0 for a divisor
ALLOWED = "0, or 2e-10 to 200 1/(copies/ug)/day (10^-6 to 10^6 × the typical 0.0002)"  # k_kill
POSITIVE = {
    "ec50_relative": "2e-07 to 2e+05 (10^-6 to 10^6 × the typical 0.2)",
    "igg_half_life_days": "2.1e-05 to 2.1e+07 day (10^-6 to 10^6 × the typical 21)",
}


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
        POSITIVE[name],
    )


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [("k_kill", -1.0, ALLOWED), ("ec50_relative", 0.0, POSITIVE["ec50_relative"])],
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


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("k_kill", 1e300, "0, or 2e-10 to 200 1/(copies/ug)/day (10^-6 to 10^6 × the typical 0.0002)"),
        ("e0", 1e300, "0, or 5e-06 to 5e+06 copies/ug (10^-6 to 10^6 × the typical 5)"),
        ("k_exp", 1e300, "0, or 1.5e-06 to 1.5e+06 1/day (10^-6 to 10^6 × the typical 1.5)"),
        ("k_c", 1e300, "0, or 2e-07 to 2e+05 1/day (10^-6 to 10^6 × the typical 0.2)"),
        ("igg_half_life_days", 1e-300, "2.1e-05 to 2.1e+07 day (10^-6 to 10^6 × the typical 21)"),
        ("ec50_relative", 1e-300, "2e-07 to 2e+05 (10^-6 to 10^6 × the typical 0.2)"),
        ("protected_fraction", 0.995, "0, or 5e-08 to 0.99 (10^-6 to 10^6 × the typical 0.05)"),
    ],
)
def test_an_override_far_from_its_typical_value_is_refused_before_solving(
    name: str, value: float, allowed: str
) -> None:
    """D-19.604: any finite number ≥ 0 was taken; `k_kill` 1e300 (also `e0`, `k_exp`, `k_c`) ran the solver
    for over a minute, `igg_half_life_days` 1e-300 failed in LSODA, `ec50_relative` 1e-300 gave nonsense.
    Each override lies within 10^6 of its typical value (as an initial value of popfit, D-19.37)."""
    with pytest.raises(InputError) as caught:
        simulate_pd(2, [0.0, 7.0], seed=1, overrides={name: value})
    problem = caught.value.problems[0]
    assert (problem.field, problem.message, problem.value, problem.allowed) == (
        f"overrides[{name}]",
        "out of range",
        value,
        allowed,
    )


def test_an_override_at_either_end_of_its_range_is_solved() -> None:
    from cartrial.kinetics.pd import PD_PARAMETERS, pd_override_rules

    rules = pd_override_rules()
    assert set(rules) == set(PD_PARAMETERS)
    for name, rule in rules.items():
        for value in (rule.low, rule.high):
            sim = simulate_pd(2, [0.0, 28.0, 365.0], seed=1, overrides={name: value})
            assert math.isfinite(float(sim.antibody_relative.sum())), (name, value)


@pytest.mark.parametrize(
    ("value", "message"),
    [("fast", "not a number"), ([1e-4, 2e-4, 3e-4], "3 values for 2 subjects")],
)
def test_an_override_that_is_not_one_number_or_one_per_subject_is_located(
    value: object, message: str
) -> None:
    with pytest.raises(InputError) as caught:
        simulate_pd(2, [0.0, 7.0], seed=1, overrides={"k_kill": value})  # type: ignore[dict-item]
    problem = caught.value.problems[0]
    assert (problem.field, problem.message) == ("overrides[k_kill]", message)
    assert problem.allowed == "one number, or one per subject", problem


def test_a_scenario_override_far_from_its_typical_value_is_refused_at_its_line(
    make_scenario: Callable[..., Path],
) -> None:
    """`pd.overrides: {k_kill: 1e300}` hung `simulate study`; it is refused when the scenario is read."""
    path = make_scenario({"pd": {"overrides": {"k_kill": 1e300}}})
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    text = str(caught.value)
    assert "pd.overrides.k_kill" in text and "line" in text and "out of range" in text, text
    assert "2e-10 to 200" in text, text


def test_the_trial_simulators_dose_effect_is_not_held_to_the_override_rule(make_scenario) -> None:
    """Review of D-19.604: `simulate trial` passed each patient's dose-scaled e0 (e0 × (dose / reference)
    ^ exponent) as an `overrides["e0"]`, so a scenario the loader accepts (reference 1 cell/kg, exponent
    1: e0 × 5·10^5) failed partway with "overrides[e0]: out of range (got 7757264.15…)", a key and a
    number the user never wrote. The dose effect is the engine's own `e0_scale`, not an override."""
    from cartrial.protocol import load_protocol
    from cartrial.simulation import prepare

    scenario, protocol = load_scenario(
        make_scenario(
            {"pool_size": 50, "kinetics": {"reference_cells_per_kg": 1.0}, "pd": {"dose_exponent": 1.0}}
        )
    )
    prepared = prepare(scenario, load_protocol(protocol), 1)
    assert prepared is not None


def test_e0_scale_multiplies_the_sampled_e0_and_is_checked_as_a_factor() -> None:
    """`e0_scale` multiplies the sampled initial effector (per subject); a non-finite or negative factor
    is refused at its name, before anything is solved."""
    base = simulate_pd(2, [0.0], seed=3).parameters["e0"].to_numpy()
    scaled = simulate_pd(2, [0.0], seed=3, e0_scale=[2.0, 0.5]).parameters["e0"].to_numpy()
    assert scaled.tolist() == [base[0] * 2.0, base[1] * 0.5]
    for bad in (-1.0, math.inf, math.nan):
        with pytest.raises(InputError) as caught:
            simulate_pd(2, [0.0, 7.0], seed=3, e0_scale=bad)
        assert caught.value.problems[0].field == "e0_scale"


@pytest.mark.parametrize("value", ["5", True, [1.0, "2"]])
def test_an_override_given_as_text_or_a_bool_is_not_a_number(value: object) -> None:
    """Review of D-19.604: ``"5"`` and ``True`` were converted to 5.0 and 1.0 and simulated."""
    with pytest.raises(InputError) as caught:
        simulate_pd(2, [0.0, 7.0], seed=1, overrides={"e0": value})  # type: ignore[dict-item]
    assert (caught.value.problems[0].field, caught.value.problems[0].message) == (
        "overrides[e0]",
        "not a number",
    )
