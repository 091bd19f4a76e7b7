"""The operating characteristics state the scenario's true DLT probability per dose level (D-19.292): a
selection % means little without it (the first column of every published OC table, and of `cartrial
escalate simulate`'s), and with a toxicity model it is a consequence of the scenario, not an input."""

from __future__ import annotations

import numpy as np
import pytest

from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare, simulate_trials, summarise, trials_table

FIXED = [0.15, 0.40]


def _batch(make_scenario, changes, trials=400, seed=5):
    scenario, protocol = load_scenario(make_scenario(changes))
    return simulate_trials(prepare(scenario, load_protocol(protocol), 0), trials, seed=seed)


def test_the_fixed_probabilities_are_reported_back(make_scenario):
    """With `fixed_dlt_probability` the true probability is known: the reported one is within 4 SEs."""
    batch = _batch(make_scenario, {"toxicity": {"fixed_dlt_probability": FIXED}})
    doses = summarise(batch).doses
    for (_, row), p in zip(doses.iterrows(), FIXED, strict=True):
        assert row["true_dlt_se_pct"] > 0
        assert row["true_dlt_pct"] == pytest.approx(100 * p, abs=4 * row["true_dlt_se_pct"])


def test_the_modelled_probability_is_the_share_of_patients_with_a_dlt(make_scenario):
    """With the toxicity model and no dropout (every patient evaluable, none replaced), the DLTs the design
    saw at a level are a sample of the level's true probability: the pooled rate agrees within 4 SEs."""
    batch = _batch(make_scenario, {"dropout": {"hazard_per_year": 0.0}}, trials=600)
    doses = summarise(batch).doses.set_index("dose_level")
    for level in (1, 2):
        n, y = batch.n[:, level - 1].sum(), batch.y[:, level - 1].sum()
        p = doses.loc[level, "true_dlt_pct"] / 100
        assert 0 < p < 1
        assert y / n == pytest.approx(
            p, abs=4 * np.sqrt(p * (1 - p) / n) + 4 * doses.loc[level, "true_dlt_se_pct"] / 100
        )
    # and a higher dose is at least as toxic under this exposure-response model (slope > 0)
    assert doses.loc[2, "true_dlt_pct"] >= doses.loc[1, "true_dlt_pct"]
    assert "true_dlt_pct_1" in trials_table(batch).columns
