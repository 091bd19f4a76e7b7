"""The trial simulator's random stream depends on the seed and the batch size (one child of the trial seed
per batch): the batch size is named in the result beside the seed, and the pair reproduces the run
(D-19.1319)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare, simulate_trials, summarise


def test_the_batch_size_is_recorded_and_reproduces_the_run(make_scenario: Callable[..., Path]) -> None:
    scenario, protocol = load_scenario(make_scenario({"pool_size": 200}))
    prepared = prepare(scenario, load_protocol(protocol), 0)
    first = simulate_trials(prepared, 12, seed=5, batch_size=5)
    again = simulate_trials(prepared, 12, seed=5, batch_size=5)
    assert first.batch_size == 5
    assert summarise(first).summary["batch_size"] == 5
    np.testing.assert_array_equal(first.slot_dose, again.slot_dose)
    np.testing.assert_array_equal(first.mtd, again.mtd)
    # the commands' default
    assert simulate_trials(prepared, 3, seed=5).batch_size == 2000
