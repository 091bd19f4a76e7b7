"""Record the outputs of the two cohort loops as they were before `run_cohorts` (the regression oracle of
tests/escalation/test_cohort_loop_regression.py). See README.md next to this file for how it was run.

Usage (from the repository root, with the frozen loops of commit da0c2a8 written to a file):

    git show da0c2a8:tests/escalation/_frozen_cohort_loops.py > /tmp/frozen_cohort_loops.py
    PYTHONPATH=src python tests/data/escalation/record_cohort_loops.py /tmp/frozen_cohort_loops.py

It runs the frozen loops only (never `run_cohorts`): `old_simulate_per_trial` for every design, seed and
cohort size of the regression test, and `simulate_trials` with its loop replaced by the frozen
`old_escalate`; it writes simulate_per_trial.json and trial_simulator.json here.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO))  # the cases are the regression test module's: one definition


def _load_frozen(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location("frozen_cohort_loops", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _plain(value: Any) -> Any:
    """Arrays as nested lists: whole numbers as integers (also in float arrays, e.g. the patient counts),
    other floats in their exact shortest repr, NaN as null (JSON has no NaN), booleans as true/false."""
    array = np.asarray(value)
    if array.dtype.kind == "f":
        if np.all(np.isfinite(array) & (array == np.round(array))):
            return array.astype(np.int64).tolist()
        return [_plain(v) for v in array] if array.ndim else (None if math.isnan(array) else float(array))
    if array.dtype.kind == "b":
        return array.tolist()
    return array.astype(np.int64).tolist()


LOOP_FIELDS = ("trials", "seed", "n_doses", "slot_dose", "mtd", "safety_stop", "n", "y")
LOOP_METRICS = ("n_treated", "n_dlt")
"""What the cohort loop decides in a `TrialBatch`. The other metrics (the virtual patients' outcomes, the
calendar) come from the patient models, not from the loop, and are not recorded: the oracle must not freeze
models that may change."""


def main(frozen_path: str) -> None:
    from tests.escalation import test_cohort_loop_regression as cases

    from cartrial.protocol import load_protocol
    from cartrial.simulation import load_scenario, prepare, simulate_trials
    from cartrial.simulation import trials as trials_module

    frozen = _load_frozen(Path(frozen_path))
    per_trial: dict[str, Any] = {}
    for case in cases.SIMULATE_CASES:
        old = frozen.old_simulate_per_trial(
            cases.DESIGNS[case.design](),
            cases.TRUTH,
            cohorts=case.cohorts,
            trials=case.trials,
            seed=case.seed,
            cohort_size=case.cohort_size,
        )
        per_trial[case.key] = {k: _plain(old[k]) for k in ("mtd", "reason", "n", "y")}
    (HERE / "simulate_per_trial.json").write_text(json.dumps(per_trial, separators=(",", ":")) + "\n")

    scenario, protocol_path = load_scenario(cases.SCENARIO)
    prepared = prepare(scenario, load_protocol(protocol_path), 3)
    trials_module._escalate = frozen.old_escalate  # the frozen loop, nothing else changed
    batches: dict[str, Any] = {}
    for name, overrides in cases.TRIAL_SIMULATOR_CASES.items():
        batch = simulate_trials(cases.with_overrides(prepared, overrides), **cases.TRIAL_SIMULATOR_RUN)
        batches[name] = {k: _plain(getattr(batch, k)) for k in LOOP_FIELDS} | {
            f"metrics.{k}": _plain(batch.metrics[k]) for k in LOOP_METRICS
        }
    (HERE / "trial_simulator.json").write_text(json.dumps(batches, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
