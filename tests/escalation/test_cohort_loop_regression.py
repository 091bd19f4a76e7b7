"""One cohort loop for the escalation engine's simulation and the trial simulator: results are
bit-identical to the two loops it replaced, for fixed seeds, over the designs, the behaviours (maximum sample
size with a truncated last cohort, expansion cohort, safety stops, no skipping, coherence) and both outcome
sources (Bernoulli draws per cohort; the virtual patients' graded DLTs).

The oracle is the recorded output of the two old loops (tests/data/escalation/, produced by the frozen copies
of commit da0c2a8 — never by `run_cohorts`; README.md there says how), not a copy of the old code."""

from __future__ import annotations

import dataclasses
import functools
import json
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

RECORDED = Path(__file__).resolve().parents[1] / "data" / "escalation"

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


@dataclasses.dataclass(frozen=True)
class SimulateCase:
    """One run of `cartrial.escalation.simulate` whose per-trial results were recorded."""

    design: str
    seed: int
    cohorts: int = 8
    trials: int = 400
    cohort_size: int | None = None

    @property
    def key(self) -> str:
        size = f", cohort size {self.cohort_size}" if self.cohort_size is not None else ""
        return f"{self.design}, seed {self.seed}, {self.cohorts} cohorts, {self.trials} trials{size}"


SIMULATE_CASES = [SimulateCase(name, seed) for name in sorted(DESIGNS) for seed in (0, 17)] + [
    SimulateCase("boin", 5, cohorts=6, trials=300, cohort_size=2)
]
SCENARIO = Path(__file__).resolve().parents[1] / "simulation" / "data" / "tiny_scenario.yaml"
TRIAL_SIMULATOR_CASES: dict[str, dict[str, Any] | None] = {
    "protocol": None,  # the protocol's design (3+3 with the expansion cohort)
    "boin": {"design": "boin", "target": 0.3, "max_n": 10, "cohort_size": 3},
    "crm": {"design": "crm", "target": 0.3, "skeleton": [0.1, 0.3], "max_n": 9, "cohort_size": 3},
}
TRIAL_SIMULATOR_RUN = {"trials": 300, "seed": 21, "batch_size": 128}


def with_overrides(prepared: Any, overrides: dict[str, Any] | None) -> Any:
    """`prepared` with the scenario's design overrides replaced (None: the protocol's design)."""
    if overrides is None:
        return prepared
    from cartrial.simulation import trials as trials_module

    scenario = prepared.scenario
    scenario = scenario.model_copy(
        update={"design": scenario.design.model_copy(update={"overrides": overrides})}
    )
    return dataclasses.replace(
        prepared, scenario=scenario, design=trials_module.build_design(prepared.protocol, scenario)
    )


@functools.cache
def _recorded(name: str) -> dict[str, dict[str, Any]]:
    loaded: dict[str, dict[str, Any]] = json.loads((RECORDED / name).read_text(encoding="utf-8"))
    return loaded


def _assert_equal(ours: Any, recorded: Any, key: str) -> None:
    """Bit-identical: integers and booleans as recorded, floats to the last bit (NaN recorded as null)."""
    ours = np.asarray(ours)
    expected = np.array(recorded, dtype=float if ours.dtype.kind == "f" else None)
    assert ours.shape == expected.shape, key
    np.testing.assert_array_equal(ours, expected, err_msg=key)


def test_the_recorded_cases_are_the_cases_of_this_test() -> None:
    assert set(_recorded("simulate_per_trial.json")) == {case.key for case in SIMULATE_CASES}
    assert set(_recorded("trial_simulator.json")) == set(TRIAL_SIMULATOR_CASES)


@pytest.mark.parametrize("case", SIMULATE_CASES, ids=lambda case: case.key)
def test_escalation_simulate_matches_the_recorded_old_loop(case: SimulateCase) -> None:
    oc = simulate(
        DESIGNS[case.design](),
        TRUTH,
        cohorts=case.cohorts,
        trials=case.trials,
        seed=case.seed,
        cohort_size=case.cohort_size,
        keep_trials=True,
    )
    assert oc.per_trial is not None
    old = _recorded("simulate_per_trial.json")[case.key]
    for key in ("mtd", "n", "y"):
        _assert_equal(oc.per_trial[key], old[key], key)
    _assert_equal(oc.per_trial["reason"], _relabelled(old, DESIGNS[case.design]()), "reason")


def _relabelled(old: dict[str, Any], design: Any) -> np.ndarray:
    """The recorded stop reasons with D-19.313's one relabelling: the old loop's `max_n_reached` (3) of a
    trial below the design's max_n (or of a design without one) is `max_cohorts_reached` (7) — the cohort
    limit stopped it, not a maximum sample size."""
    reason = np.array(old["reason"])
    total = np.array(old["n"]).sum(axis=1)
    # the design's own patients only: an expansion cohort's patients are added after the stop
    expansion = getattr(design, "expansion", None)
    if expansion is not None:
        total = total - np.where(np.array(old["mtd"]) >= 0, expansion.n_patients, 0)
    max_n = getattr(design, "max_n", None)
    below = total < max_n if max_n is not None else np.ones(reason.shape, dtype=bool)
    return np.where((reason == 3) & below, 7, reason)


@pytest.fixture(scope="module")
def prepared() -> Any:
    from cartrial.protocol import load_protocol
    from cartrial.simulation import load_scenario, prepare

    scenario, protocol_path = load_scenario(SCENARIO)
    return prepare(scenario, load_protocol(protocol_path), 3)


@pytest.mark.parametrize("name", sorted(TRIAL_SIMULATOR_CASES))
def test_trial_simulator_matches_the_recorded_old_loop(prepared: Any, name: str) -> None:
    from cartrial.simulation import simulate_trials

    batch = simulate_trials(with_overrides(prepared, TRIAL_SIMULATOR_CASES[name]), **TRIAL_SIMULATOR_RUN)
    old = _recorded("trial_simulator.json")[name]
    # since D-19.132 a patient who leaves inside the DLT window without a DLT is replaced from a reserve of
    # slots drawn after the recorded ones: a trial that replaced no one is the recorded trial, bit for bit
    design_slots = len(old["slot_dose"][0])
    replaced_any = (batch.slot_dose[:, design_slots:] >= 0).any(axis=1)
    same = ~replaced_any
    assert same.sum() >= 0.9 * len(same)
    for key, recorded in old.items():
        ours = (
            batch.metrics[key.removeprefix("metrics.")] if key.startswith("metrics.") else getattr(batch, key)
        )
        if np.ndim(ours) == 0:  # a run's scalar
            _assert_equal(ours, recorded, key)
            continue
        ours = np.asarray(ours)[same]
        if key == "slot_dose":
            ours = ours[:, :design_slots]
        _assert_equal(ours, [row for row, keep in zip(recorded, same, strict=True) if keep], key)
