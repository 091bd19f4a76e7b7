"""Frozen copies of the two cohort loops as they were before they became one engine function
(`cartrial.escalation.simulation.run_cohorts`, commit after 703b3af): the loop of
`cartrial.escalation.simulate` and `cartrial.simulation.trials._escalate`. Test oracles only — the
regression test checks that the engine function gives bit-identical results for fixed seeds. Not used by
any source module; do not edit (they document the behaviour the refactor had to keep)."""

from __future__ import annotations

from typing import Any

import numpy as np

from cartrial.escalation.behaviours import BehavingDesign
from cartrial.escalation.design import Design, StopReason, TrialState
from cartrial.escalation.simulation import check_truth
from cartrial.escalation.three_plus_three import ThreePlusThree


def old_simulate_per_trial(
    design: Design, truth: Any, *, cohorts: int, trials: int, seed: int | None, cohort_size: int | None = None
) -> dict[str, np.ndarray]:
    """The per-trial results (mtd, reason, n, y) of `cartrial.escalation.simulate` before the refactor."""
    size = design.cohort_size if cohort_size is None else cohort_size
    inner = design.inner if isinstance(design, BehavingDesign) else design
    if isinstance(inner, ThreePlusThree):
        cohorts = max(cohorts, 2 * inner.n_doses)
    p = check_truth(truth, design.n_doses)
    convert = getattr(design, "for_simulation", None)
    sim_design: Design = convert() if convert is not None else design
    max_n = sim_design.max_n if isinstance(sim_design, BehavingDesign) else None
    expansion = sim_design.expansion if isinstance(sim_design, BehavingDesign) else None

    rng = np.random.default_rng(seed)
    k = design.n_doses
    state = TrialState.empty(trials, k)
    rows = np.arange(trials)
    active = np.ones(trials, dtype=bool)
    reason = np.zeros(trials, dtype=np.int64)
    dose = sim_design.decide(state).next_dose.copy()
    column = np.arange(size)
    offsets = state.row_offsets()
    for _cohort in range(cohorts):
        uniforms = rng.random((trials, size))
        if max_n is not None:
            this_size = np.clip(max_n - state.n.sum(axis=1), 0, size)
            active &= this_size > 0
            treated = active[:, None] & (column[None, :] < this_size[:, None])
        else:
            treated = np.broadcast_to(active[:, None], (trials, size))
        if not active.any():
            break
        dlts = np.count_nonzero(treated & (uniforms < p[dose][:, None]), axis=1)
        flat = offsets + dose
        state.n.ravel()[flat] += np.count_nonzero(treated, axis=1)
        state.y.ravel()[flat] += dlts
        state.dose = np.where(active, dose, state.dose)
        state.last_cohort_dlts = np.where(active, dlts, 0)
        proposal = sim_design.step(state, active)
        stopping = active & proposal.stop
        reason[stopping] = proposal.reason[stopping]
        active &= ~proposal.stop
        dose = np.where(active, proposal.next_dose, dose)
    reason[active] = int(StopReason.MAX_N_REACHED)
    safety = np.isin(reason, [int(r) for r in StopReason if r.is_safety_stop])
    mtd = sim_design.select_mtd_batch(state)
    mtd = np.where(safety, -1, mtd)
    n_final, y_final = state.n.astype(float), state.y.astype(float)
    if expansion is not None:
        exp_dose = expansion.level_for(mtd)
        go = (exp_dose >= 0) & ~safety
        draws = rng.random((trials, expansion.n_patients)) < p[np.maximum(exp_dose, 0)][:, None]
        np.add.at(n_final, (rows[go], exp_dose[go]), expansion.n_patients)
        np.add.at(y_final, (rows[go], exp_dose[go]), draws[go].sum(axis=1))
    return {"mtd": mtd, "reason": reason, "n": n_final, "y": y_final}


def old_escalate(prepared: Any, draws: Any, trials: int, size: int, cohorts: int) -> tuple[Any, ...]:
    """`cartrial.simulation.trials._escalate` before the refactor."""
    design = prepared.design
    convert = getattr(design, "for_simulation", None)
    sim_design = convert() if convert is not None else design
    max_n = sim_design.max_n if isinstance(sim_design, BehavingDesign) else None
    expansion = sim_design.expansion if isinstance(sim_design, BehavingDesign) else None
    k = prepared.n_doses
    state = TrialState.empty(trials, k)
    rows = np.arange(trials)
    active = np.ones(trials, dtype=bool)
    reason = np.zeros(trials, dtype=np.int64)
    dose = sim_design.decide(state).next_dose.copy()
    column = np.arange(size)
    offsets = state.row_offsets()
    slots = draws.dlt.shape[1]
    slot_dose = np.full((trials, slots), -1, dtype=np.int64)
    cohort_of = np.full((trials, slots), -1, dtype=np.int64)
    for cohort in range(cohorts):
        if max_n is not None:
            this_size = np.clip(max_n - state.n.sum(axis=1), 0, size)
            active &= this_size > 0
            treated = active[:, None] & (column[None, :] < this_size[:, None])
        else:
            treated = np.broadcast_to(active[:, None], (trials, size))
        if not active.any():
            break
        cols = cohort * size + column
        outcome = draws.dlt[rows[:, None], cols[None, :], dose[:, None]]
        dlts = np.count_nonzero(treated & outcome, axis=1)
        flat = offsets + dose
        state.n.ravel()[flat] += np.count_nonzero(treated, axis=1)
        state.y.ravel()[flat] += dlts
        slot_dose[:, cols] = np.where(treated, dose[:, None], -1)
        cohort_of[:, cols] = np.where(treated, cohort, -1)
        state.dose = np.where(active, dose, state.dose)
        state.last_cohort_dlts = np.where(active, dlts, 0)
        proposal = sim_design.step(state, active)
        stopping = active & proposal.stop
        reason[stopping] = proposal.reason[stopping]
        active &= ~proposal.stop
        dose = np.where(active, proposal.next_dose, dose)
    reason[active] = int(StopReason.MAX_N_REACHED)
    safety = np.isin(reason, [int(r) for r in StopReason if r.is_safety_stop])
    mtd = np.where(safety, -1, sim_design.select_mtd_batch(state))
    n_final, y_final = state.n.astype(float), state.y.astype(float)
    first_expansion = cohorts * size
    if expansion is not None:
        exp_dose = expansion.level_for(mtd)
        go = (exp_dose >= 0) & ~safety
        cols = first_expansion + np.arange(expansion.n_patients)
        slot_dose[:, cols] = np.where(go[:, None], exp_dose[:, None], -1)
        cohort_of[:, cols] = np.where(go[:, None], cohorts, -1)
        outcome = draws.dlt[rows[:, None], cols[None, :], np.maximum(exp_dose, 0)[:, None]]
        np.add.at(n_final, (rows[go], exp_dose[go]), expansion.n_patients)
        np.add.at(y_final, (rows[go], exp_dose[go]), outcome[go].sum(axis=1))
    return slot_dose, cohort_of, mtd, safety, n_final, y_final
