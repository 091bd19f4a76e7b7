"""The OC's EDSS change of a virtual patient is the change the analysis of the written study reads: the
EDSS at the last EDSS visit on or before the end of the patient's follow-up minus the baseline (the
analysis's ``efficacy:edss_change``: baseline and last EDSS; `cartrial.neuro.derive.has_edss_change`),
not the functional systems at the end of follow-up itself. A relapse step after the last EDSS visit is not
in any EDSS the analysis reads, so it must not be in the OC's change either (decisions D-19.1221).

The written change is computed here from the written EDSS form by the neuro engine (`edss_array`, raw FS
and ambulation as recorded), independently of the simulator's own EDSS path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import cartrial.simulation.study as study_module
from cartrial.neuro.edss_scale import FS_NAMES, edss_array
from cartrial.protocol import load_protocol
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


def _written_changes(forms: dict[str, Any]) -> dict[str, float]:
    """Last EDSS minus the first (baseline) EDSS per subject with a post-baseline visit, from the written
    form, subjects who died left out (their records after the death are removed from the study)."""
    edss = forms["edss"]
    values, _ = edss_array(edss[list(FS_NAMES)].to_numpy(dtype=int), edss["ambulation"].to_numpy(dtype=int))
    edss = edss.assign(edss=values).sort_values(["subject_id", "assessed_at"])
    subjects = forms["subjects"]
    dead = set(subjects.loc[subjects["disposition"] == "death", "subject_id"])
    out = {}
    for sid, rows in edss.groupby("subject_id"):
        if len(rows) >= 2 and sid not in dead:
            out[str(sid)] = float(rows["edss"].iloc[-1] - rows["edss"].iloc[0])
    return out


@pytest.mark.parametrize("seed", [1, 3])
def test_the_oc_edss_change_is_the_change_at_the_last_written_edss_visit(
    make_scenario: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    scenario, protocol = load_scenario(make_scenario(CHANGES))
    prepared = prepare(scenario, load_protocol(protocol), 1)
    seen: dict[str, Any] = {}
    efficacy = study_module._efficacy

    def spy(*args: Any) -> dict[str, np.ndarray]:
        out = efficacy(*args)
        seen["eff"], seen["slot_dose"], seen["infusion"] = out, args[2], args[4]
        return out

    monkeypatch.setattr(study_module, "_efficacy", spy)
    study = study_module.simulate_study(prepared, seed)
    written = _written_changes(study.forms)
    slot_dose, infusion = seen["slot_dose"][0], seen["infusion"][0]
    infused = (slot_dose >= 0) & np.isfinite(infusion)
    # subjects are numbered in infusion order (`simulate_study`)
    order = [int(s) for s in np.argsort(np.where(infused, infusion, np.inf)) if infused[s]]
    oc = {f"SIM-{j + 1:03d}": float(seen["eff"]["edss_change"][0, s]) for j, s in enumerate(order)}
    assert len(written) > 50
    differ = {sid: (oc[sid], change) for sid, change in written.items() if oc[sid] != change}
    assert differ == {}
