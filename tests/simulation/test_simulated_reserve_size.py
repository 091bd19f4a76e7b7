"""The reserve of replacement patients is large enough (D-19.801). A design slot needs replacements until
one patient is DLT-evaluable; with a dropout probability p inside the DLT window (p = 1 - exp(-hazard ·
window), the exponential dropout), the replacements for n design patients are the failures before the
n-th success of Bernoulli(1 - p) trials: negative binomial, mean n·p/(1 - p) and variance n·p/(1 - p)²
(scipy.stats.nbinom, the oracle here). With the reserve spent the simulator counts the last,
non-evaluable patient as an outcome without a DLT, so the reserve must almost never run out. Before, it
was the mean + 4·sqrt(mean) (a Poisson SD, too small by 1/sqrt(1 - p)) with p capped at 0.9: at a 90-day
window and 10 dropouts a year (p = 0.915) 37 % of the trials with ten cohorts ran out of it."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
from scipy.stats import nbinom

from cartrial.errors import InputError
from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare
from cartrial.simulation.trials import max_cohorts, reserve_slots, simulate_trials


@pytest.mark.parametrize(
    ("hazard", "window"),
    [(10.0, 90), (10.0, 60), (10.0, 28), (6.0, 28), (0.03, 28)],
)
def test_the_reserve_runs_out_in_at_most_one_trial_in_a_million(
    make_scenario: Callable[..., Path], hazard: float, window: int
) -> None:
    path = make_scenario(
        {
            "dropout": {"hazard_per_year": hazard},
            "design": {"overrides": {"dlt_window_days": window}},
            "pool_size": 60,
        }
    )
    scenario, protocol_path = load_scenario(path)
    prepared = prepare(scenario, load_protocol(protocol_path), 1)
    size = int(prepared.design.cohort_size)
    cohorts = max_cohorts(prepared)
    reserve = reserve_slots(prepared, cohorts, size)
    p = 1 - math.exp(-hazard / 365.25 * window)
    # P(more replacements than the reserve) for the design's largest trial, cohorts × size patients
    assert nbinom.sf(reserve, cohorts * size, 1 - p) <= 1e-6


def test_no_dropout_needs_only_the_one_cohort_margin(make_scenario: Callable[..., Path]) -> None:
    scenario, protocol_path = load_scenario(
        make_scenario({"dropout": {"hazard_per_year": 0.0}, "pool_size": 60})
    )
    prepared = prepare(scenario, load_protocol(protocol_path), 1)
    size = int(prepared.design.cohort_size)
    assert reserve_slots(prepared, max_cohorts(prepared), size) == size


def test_a_hazard_that_needs_too_many_replacements_is_refused(make_scenario: Callable[..., Path]) -> None:
    """10 dropouts a year and a 600-day DLT window: P(staying through it) = exp(-10 · 600 / 365.25) ≈ 7e-8,
    so each evaluable patient needs ~1.4e7 replacements on average, far above MAX_TRIAL_SLOTS (2e7) for a
    trial of several patients: refused, naming the scenario field, not run with a reserve that runs out."""
    path = make_scenario(
        {
            "dropout": {"hazard_per_year": 10.0},
            "design": {"overrides": {"dlt_window_days": 600}},
            "pool_size": 60,
        }
    )
    scenario, protocol_path = load_scenario(path)
    prepared = prepare(scenario, load_protocol(protocol_path), 1)
    with pytest.raises(InputError) as caught:
        reserve_slots(prepared, max_cohorts(prepared), int(prepared.design.cohort_size))
    assert caught.value.problems[0].field == "dropout.hazard_per_year"


def test_no_trial_uses_its_last_reserve_slot(make_scenario: Callable[..., Path]) -> None:
    """End to end: at 10 dropouts a year and a 90-day window (p = 0.915 of leaving inside it) 150 simulated
    trials replace hundreds of patients each, and none reaches the reserve's last slot (the reserve running
    out would make the last non-evaluable patient count as an outcome without a DLT). With the old reserve
    (mean + 4 Poisson SDs, p capped at 0.9) 37 % of ten-cohort trials ran out."""
    path = make_scenario(
        {
            "dropout": {"hazard_per_year": 10.0},
            "design": {"overrides": {"dlt_window_days": 90}},
            "pool_size": 60,
        }
    )
    scenario, protocol_path = load_scenario(path)
    prepared = prepare(scenario, load_protocol(protocol_path), 1)
    batch = simulate_trials(prepared, 150, seed=5)
    treated = batch.slot_dose >= 0
    assert treated[:, -1].sum() == 0  # the last reserve slot: never used
    design = max_cohorts(prepared) * int(prepared.design.cohort_size)
    assert treated[:, design:].sum(axis=1).max() > 100  # replacements did happen, many per trial
