"""The OC's EDSS change of a virtual patient is the change the analysis of the written study reads: the
EDSS at the last EDSS visit on or before the end of the patient's follow-up minus the baseline (the
analysis's ``efficacy:edss_change``: `cartrial.neuro.derive_disability`'s ``last_edss`` minus its
``baseline_edss``), not the functional systems at the end of follow-up itself. A relapse step after the last
EDSS visit is not in any EDSS the analysis reads, so it must not be in the OC's change either (decisions
D-19.1221).

The written change is computed here from the written EDSS, infusion and relapse forms by the analysis's own
rule (`derive_disability`, with the protocol's relapse definition), independently of the simulator's EDSS
path, under both baseline rules: ``last`` (the example protocol's `edss_baseline_visit`) and the default
``outside_relapse`` (a pre-infusion EDSS within 30 days after a relapse onset is no baseline: such a
subject has no change and is left out of the comparison). A subject who died is not left out (none dies in
these two studies; the visits after a death: test_simulated_edss_visits, D-19.1223)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import cartrial.simulation.study as study_module
from cartrial.neuro.derive import derive_disability, relapse_options_from_protocol
from cartrial.neuro.disability import BaselineVisit, DisabilityOptions
from cartrial.protocol import Protocol, load_protocol
from cartrial.simulation import load_scenario, prepare

#: Relapses at the pre-infusion rate whatever the AQP4-IgG (hazard exponent 0), each a lasting FS step, and
#: the improvement of half the affected FS from day 90: a relapse after the last EDSS visit can undo an
#: improvement that visit shows.
CHANGES = {
    "pool_size": 200,
    "accrual": {"candidates_per_month": 20},
    "design": {"expansion_patients": 60},
    "dropout": {"hazard_per_year": 0.8},
    "efficacy": {
        "regression_to_mean": 1.0,
        "hazard_exponent": 0.0,
        "fs_step_at_relapse": 1.0,
        "recovery_probability": 0.0,
        "improvement_probability": 0.5,
    },
}


def _written_changes(forms: dict[str, Any], protocol: Protocol, baseline_visit: str) -> dict[str, float]:
    """``last_edss`` − ``baseline_edss`` of `derive_disability` (the analysis's rule) per subject with both,
    from the written forms."""
    table = derive_disability(
        forms["edss"],
        forms["infusions"],
        relapses=forms["relapses"],
        relapse_options=relapse_options_from_protocol(protocol),
        options=DisabilityOptions(baseline_visit=BaselineVisit(baseline_visit)),
    ).table
    both = table["baseline_edss"].notna() & table["last_edss"].notna()
    rows = table[both]
    return {
        str(sid): float(last - base)
        for sid, last, base in zip(rows["subject_id"], rows["last_edss"], rows["baseline_edss"], strict=True)
    }


@pytest.mark.parametrize("baseline_visit", ["last", "outside_relapse"])
@pytest.mark.parametrize("seed", [1, 3])
def test_the_oc_edss_change_is_the_change_at_the_last_written_edss_visit(
    make_scenario: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, seed: int, baseline_visit: str
) -> None:
    scenario, protocol_path = load_scenario(make_scenario(CHANGES))
    protocol = load_protocol(protocol_path)
    prepared = prepare(scenario, protocol, 1)
    seen: dict[str, Any] = {}
    efficacy = study_module._efficacy

    def spy(*args: Any) -> dict[str, np.ndarray]:
        out = efficacy(*args)
        seen["eff"], seen["slot_dose"], seen["infusion"] = out, args[2], args[4]
        return out

    monkeypatch.setattr(study_module, "_efficacy", spy)
    study = study_module.simulate_study(prepared, seed)
    written = _written_changes(study.forms, protocol, baseline_visit)
    slot_dose, infusion = seen["slot_dose"][0], seen["infusion"][0]
    infused = (slot_dose >= 0) & np.isfinite(infusion)
    # subjects are numbered in infusion order (`simulate_study`)
    order = [int(s) for s in np.argsort(np.where(infused, infusion, np.inf)) if infused[s]]
    oc = {f"SIM-{j + 1:03d}": float(seen["eff"]["edss_change"][0, s]) for j, s in enumerate(order)}
    assert len(written) > 50
    differ = {sid: (oc[sid], change) for sid, change in written.items() if oc[sid] != change}
    assert differ == {}
