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


def test_one_batch_is_the_same_stream_whatever_the_batch_size(make_scenario: Callable[..., Path]) -> None:
    """The batch size changes the stream only when it splits the run (D-19.1319):
    12 trials in one batch (batch size 12 or 2000: the trial seed's first child, 12 trials drawn) are the
    same trials; in batches of 5 (three children) they are others."""
    scenario, protocol = load_scenario(make_scenario({"pool_size": 200}))
    prepared = prepare(scenario, load_protocol(protocol), 0)
    whole = simulate_trials(prepared, 12, seed=5, batch_size=12)
    default = simulate_trials(prepared, 12, seed=5)
    split = simulate_trials(prepared, 12, seed=5, batch_size=5)
    np.testing.assert_array_equal(whole.slot_dose, default.slot_dose)
    np.testing.assert_array_equal(whole.infusion_day, default.infusion_day)
    for name, values in whole.metrics.items():
        np.testing.assert_array_equal(values, default.metrics[name], err_msg=name)
    assert not np.array_equal(np.asarray(whole.infusion_day), np.asarray(split.infusion_day), equal_nan=True)
