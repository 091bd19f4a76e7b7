"""The reference scenario is calibrated: the published CT103A NMOSD summary is a typical simulated outcome.

Published values (Qin 2023 abstract; IASO press releases; ../shared/reference/ct103a-nmosd-trial.md §6, §1):
12 patients infused (3 at 0.5 and 9 at 1.0 x10^6/kg); CRS in 12 of 12, all grade 1-2 (no grade >= 3);
no ICANS; CAR-T persisting beyond 6 months in 2 of 12; AQP4-IgG falling in 11 of 12. Each lies within the
central 90 % (5th-95th percentile) of 1,000 simulated trials of examples/ct103a-nmosd/scenario.yaml.
"""

from __future__ import annotations

import numpy as np
import pytest

from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare, simulate_trials

PUBLISHED = {
    "n_treated": 12,
    "pct_crs_any": 100.0,
    "pct_crs_grade3plus": 0.0,
    "pct_icans_any": 0.0,
    "pct_persistence": 100 * 2 / 12,
    "pct_aqp4_fell": 100 * 11 / 12,
}


@pytest.fixture(scope="module")
def batch():
    scenario, protocol = load_scenario("examples/ct103a-nmosd/scenario.yaml")
    return simulate_trials(prepare(scenario, load_protocol(protocol), 2026), 1000)


@pytest.mark.parametrize("metric", sorted(PUBLISHED))
def test_published_value_is_within_the_central_90_percent(batch, metric):
    low, high = np.percentile(batch.metrics[metric], [5, 95])
    assert low <= PUBLISHED[metric] <= high, (metric, low, high)


def test_published_dose_split_is_the_typical_one(batch):
    # 3 patients at level 1 and 9 at level 2 (3 in escalation + 6 in expansion): the modal allocation
    split, counts = np.unique(batch.n, axis=0, return_counts=True)
    assert split[np.argmax(counts)].tolist() == [3, 9]
