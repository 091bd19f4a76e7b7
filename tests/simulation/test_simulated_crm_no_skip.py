"""The trial simulator's CRM never skips a dose level by default (the protocol's `no_skip`, default true,
docs/protocol.md; R escalation `dont_skip_doses`, dfcrm `crmsim(restrict = TRUE)`): with no DLT possible, the
one-parameter CRM's posterior after the first patient recommends the top level, two above the current one.
`no_skip: false` lets it skip (the unrestricted dfcrm `crm`). Both are pinned here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cartrial.protocol import load_protocol
from cartrial.simulation import prepare, simulate_trials
from cartrial.simulation.scenario import load_scenario

LEVELS = [
    {"level": i + 1, "label": f"{c:g} CAR+ T cells/kg", "cells_per_kg": c}
    for i, c in enumerate([250_000, 500_000, 1_000_000, 2_000_000])
]
CRM = {"design": "crm", "skeleton": [0.05, 0.1, 0.2, 0.3], "target": 0.25, "max_n": 8, "cohort_size": 1}


def _largest_step(make_scenario: Callable[..., Path], overrides: dict[str, Any]) -> int:
    path = make_scenario(
        {
            "toxicity": {"fixed_dlt_probability": [0.0] * 4},
            "design": {"overrides": {**CRM, **overrides}},
            "pool_size": 200,
        },
        protocol_changes={"dose_levels": LEVELS, "expansion": None},
    )
    scenario, protocol_path = load_scenario(path)
    batch = simulate_trials(prepare(scenario, load_protocol(protocol_path), 1), 20)
    doses = batch.slot_dose[:, :8]  # the escalation's patients, one per cohort, in order
    assert (doses >= 0).all()
    assert (doses[:, 0] == 0).all()  # every trial starts at level 1
    return int(np.diff(doses, axis=1).max())


def test_crm_never_skips_by_default(make_scenario: Callable[..., Path]) -> None:
    assert _largest_step(make_scenario, {}) == 1


def test_crm_skips_when_allowed(make_scenario: Callable[..., Path]) -> None:
    assert _largest_step(make_scenario, {"no_skip": False}) >= 2
