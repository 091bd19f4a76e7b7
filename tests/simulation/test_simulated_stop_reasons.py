"""The trial simulator says why each trial's escalation stopped (D-19.313): trials.csv's `stop_reason` and
oc.json's `stop_reasons`; a 3+3 (no maximum sample size) cut by the scenario's cohort limit is
`max_cohorts_reached`, never `max_n_reached`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cartrial.protocol import load_protocol
from cartrial.simulation import prepare, simulate_trials, summarise, trials_table
from cartrial.simulation.scenario import load_scenario


def _run(path: Path, trials: int = 40):  # type: ignore[no-untyped-def]
    scenario, protocol_path = load_scenario(path)
    batch = simulate_trials(prepare(scenario, load_protocol(protocol_path), 1), trials)
    return batch, summarise(batch), trials_table(batch)


def test_cohort_limit_of_a_three_plus_three(make_scenario: Callable[..., Path]) -> None:
    # no DLT can occur: after its single cohort every 3+3 would escalate; the scenario's limit stops it
    path = make_scenario(
        {"design": {"max_cohorts": 1}, "toxicity": {"fixed_dlt_probability": [0.0] * 2}, "pool_size": 200}
    )
    _batch, oc, table = _run(path)
    assert set(table["stop_reason"]) == {"max_cohorts_reached"}
    assert oc.summary["stop_reasons"] == {"max_cohorts_reached": {"pct": 100.0, "se_pct": 0.0}}


def test_rule_and_safety_stops(make_scenario: Callable[..., Path]) -> None:
    # every patient a DLT: the 3+3 eliminates the lowest dose after its first cohort (a safety stop)
    path = make_scenario({"toxicity": {"fixed_dlt_probability": [1.0] * 2}, "pool_size": 200})
    _batch, oc, table = _run(path)
    assert set(table["stop_reason"]) == {"lowest_dose_eliminated"}
    assert table["safety_stop"].all()
    assert oc.summary["stop_reasons"]["lowest_dose_eliminated"]["pct"] == pytest.approx(100.0)
