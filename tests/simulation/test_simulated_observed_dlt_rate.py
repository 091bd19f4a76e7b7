"""Simulated trials reproduce their inputs: with the fixed-probability toxicity model each treated patient
has a DLT with the level's true probability p, independently of the design's earlier decisions, so across
trials the DLTs observed at a level over the patients treated there (Σy / Σn) estimate p without bias (the
ratio of expectations: E[Σy] = p·E[Σn] by optional stopping, whatever the 3+3's adaptive allocation). Its SE
is about sqrt(p(1-p)/Σn) (the patients are independent); the tolerance is 4 such SEs. Same seed, same
trials."""

from __future__ import annotations

import numpy as np
import pytest

from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare, simulate_trials

from .conftest import EXAMPLE

FIXED = [0.10, 0.30]


@pytest.fixture(scope="module")
def prepared():  # type: ignore[no-untyped-def]
    scenario, protocol = load_scenario(EXAMPLE / "scenario.yaml")
    toxicity = scenario.toxicity.model_copy(update={"fixed_dlt_probability": FIXED})
    dropout = scenario.dropout.model_copy(update={"hazard_per_year": 0.0})
    scenario = scenario.model_copy(update={"toxicity": toxicity, "dropout": dropout, "pool_size": 100})
    return prepare(scenario, load_protocol(protocol), 0)


def test_observed_dlt_rate_per_level_is_the_true_probability(prepared) -> None:  # type: ignore[no-untyped-def]
    batch = simulate_trials(prepared, 600, seed=9)
    n, y = batch.n.sum(axis=0), batch.y.sum(axis=0)
    for k, p in enumerate(FIXED):
        assert n[k] > 300
        se = np.sqrt(p * (1 - p) / n[k])
        assert y[k] / n[k] == pytest.approx(p, abs=4 * se), (k, y[k], n[k])


def test_same_seed_same_trials(prepared) -> None:  # type: ignore[no-untyped-def]
    first, second = simulate_trials(prepared, 50, seed=3), simulate_trials(prepared, 50, seed=3)
    np.testing.assert_array_equal(first.slot_dose, second.slot_dose)
    np.testing.assert_array_equal(first.n, second.n)
    np.testing.assert_array_equal(first.y, second.y)
    for key, values in first.metrics.items():
        np.testing.assert_array_equal(values, second.metrics[key], err_msg=key)
    other = simulate_trials(prepared, 50, seed=4)
    assert not np.array_equal(first.y, other.y)
