"""One cohort loop for the escalation engine's simulation and the trial simulator: results are
bit-identical to the two loops it replaced (frozen copies in `_frozen_cohort_loops.py`) for fixed seeds,
over the designs, the behaviours (maximum sample size with a truncated last cohort, expansion cohort,
safety stops, no skipping, coherence) and both outcome sources (Bernoulli draws per cohort; the virtual
patients' graded DLTs)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cartrial.escalation import (
    Boin,
    Crm,
    DontSkipDoses,
    ExpansionCohort,
    I3plus3,
    Mtpi2,
    StopAtN,
    StopWhenTooToxic,
    ThreePlusThree,
    simulate,
    with_behaviours,
)
from cartrial.escalation.behaviours import CoherentEscalation
from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare, simulate_trials
from cartrial.simulation import trials as trials_module

from ._frozen_cohort_loops import old_escalate, old_simulate_per_trial

TRUTH = [0.05, 0.15, 0.3, 0.5]

DESIGNS: dict[str, Any] = {
    "3+3": lambda: ThreePlusThree(4),
    "3+3 escalation only + expansion": lambda: with_behaviours(
        ThreePlusThree(4, variant="escalation_only"), ExpansionCohort(6)
    ),
    "boin": lambda: Boin(4, 0.3),
    "boin max_n 13 + expansion": lambda: with_behaviours(Boin(4, 0.3), StopAtN(13), ExpansionCohort(5)),
    "boin too toxic + no skip": lambda: with_behaviours(
        Boin(4, 0.25),
        StopWhenTooToxic(dose=1, threshold=0.3, confidence=0.9),
        DontSkipDoses(),
        CoherentEscalation(),
    ),
    "mtpi2": lambda: Mtpi2(4, 0.3),
    "i3+3 max_n 12": lambda: with_behaviours(I3plus3(4, 0.3), StopAtN(12)),
    "crm": lambda: with_behaviours(Crm([0.05, 0.12, 0.25, 0.4], 0.25), StopAtN(15)),
}


@pytest.mark.parametrize("name", sorted(DESIGNS))
@pytest.mark.parametrize("seed", [0, 17])
def test_escalation_simulate_matches_the_frozen_loop(name: str, seed: int) -> None:
    design = DESIGNS[name]()
    oc = simulate(design, TRUTH, cohorts=8, trials=400, seed=seed, keep_trials=True)
    old = old_simulate_per_trial(design, TRUTH, cohorts=8, trials=400, seed=seed)
    assert oc.per_trial is not None
    for key in ("mtd", "reason", "n", "y"):
        np.testing.assert_array_equal(oc.per_trial[key], old[key], err_msg=key)


def test_escalation_simulate_with_another_cohort_size_matches_the_frozen_loop() -> None:
    design = Boin(4, 0.3)
    oc = simulate(design, TRUTH, cohorts=6, trials=300, seed=5, cohort_size=2, keep_trials=True)
    old = old_simulate_per_trial(design, TRUTH, cohorts=6, trials=300, seed=5, cohort_size=2)
    assert oc.per_trial is not None
    for key in ("mtd", "reason", "n", "y"):
        np.testing.assert_array_equal(oc.per_trial[key], old[key], err_msg=key)


SCENARIO = Path(__file__).resolve().parents[1] / "simulation" / "data" / "tiny_scenario.yaml"


@pytest.fixture(scope="module")
def prepared() -> Any:
    scenario, protocol_path = load_scenario(SCENARIO)
    return prepare(scenario, load_protocol(protocol_path), 3)


def _batch_fields(batch: Any) -> dict[str, Any]:
    fields = {f.name: getattr(batch, f.name) for f in dataclasses.fields(batch) if f.name != "seconds"}
    metrics = fields.pop("metrics")
    return fields | {f"metrics.{k}": v for k, v in metrics.items()}


@pytest.mark.parametrize(
    "overrides",
    [
        None,  # the protocol's design (3+3 with the expansion cohort)
        {"design": "boin", "target": 0.3, "max_n": 10, "cohort_size": 3},
        {"design": "crm", "target": 0.3, "skeleton": [0.1, 0.3], "max_n": 9, "cohort_size": 3},
    ],
    ids=["protocol", "boin", "crm"],
)
def test_trial_simulator_matches_the_frozen_loop(
    prepared: Any, overrides: dict[str, Any] | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if overrides is not None:
        scenario = prepared.scenario
        scenario = scenario.model_copy(
            update={"design": scenario.design.model_copy(update={"overrides": overrides})}
        )
        prepared = dataclasses.replace(
            prepared, scenario=scenario, design=trials_module.build_design(prepared.protocol, scenario)
        )
    new = simulate_trials(prepared, 300, seed=21, batch_size=128)
    monkeypatch.setattr(trials_module, "_escalate", old_escalate)
    old = simulate_trials(prepared, 300, seed=21, batch_size=128)
    ours, theirs = _batch_fields(new), _batch_fields(old)
    assert ours.keys() == theirs.keys()
    for key in ours:
        np.testing.assert_array_equal(np.asarray(ours[key]), np.asarray(theirs[key]), err_msg=key)
