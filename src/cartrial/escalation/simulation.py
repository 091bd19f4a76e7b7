"""Operating characteristics: vectorised Monte Carlo across trials, and exact enumeration for 3+3.

docs/science/dose-escalation.md §11. Per simulated trial: outcomes are drawn cohort by cohort (Bernoulli with
the scenario's true probabilities) from one `numpy.random.Generator(seed)` — the same seed gives the same
result, and the uniforms of cohort c of trial i are the same for every design (common random numbers) —
next-dose decisions are applied, the trial stops, then the final MTD is selected by the design's own rule.

Definitions used in the reports:
- `selection_pct`: % of trials selecting each level as MTD; `no_mtd_pct`: % selecting none.
- `mean_n`, `mean_dlt`: mean patients and DLTs per level (expansion patients included).
- `early_stop_pct`: % of trials stopped for toxicity (no dose acceptable).
- `pct_treated_above_mtd`: patients treated at levels whose true DLT probability exceeds `mtd_target`
  (the design's target, or 0.3 for 3+3 unless given [P]), as % of all patients (ratio of means).
- `true_mtd`: the highest level with true probability <= `mtd_target` (None if none).
- `truth_non_decreasing`: whether the scenario's probabilities never fall with dose. A scenario in which
  they do is accepted, as BOIN 2.7.2's `get.oc`, dfcrm's `crmsim` and R `escalation` accept one (robustness
  scenarios: a plateau, an umbrella, a misspecified order): every metric above is per level (a level's own
  true probability against `mtd_target`), never "the levels above the true MTD" by position; the designs
  themselves assume a non-decreasing curve, which is what such a scenario tests (decisions D-19.40).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cartrial.allowed import SEED, Allowed
from cartrial.errors import ConfigurationError, InputError, OptionError, Problem
from cartrial.escalation.behaviours import BehavingDesign, DontSkipDoses
from cartrial.escalation.design import Design, StopReason, TrialState
from cartrial.escalation.three_plus_three import ThreePlusThree, enumerate_three_plus_three
from cartrial.protocol.design_options import DAYS, MAX_DAYS, OPTIONS, TARGET

DEFAULT_MTD_TARGET_3PLUS3 = 0.3


@dataclass(frozen=True)
class OperatingCharacteristics:
    """Operating characteristics of one design under one true toxicity scenario (1-based levels in lists)."""

    design: str
    options: dict[str, Any]
    truth: tuple[float, ...]
    method: str  # "monte_carlo" or "exact"
    trials: int | None
    seed: int | None
    selection_pct: tuple[float, ...]
    no_mtd_pct: float
    mean_n: tuple[float, ...]
    mean_dlt: tuple[float, ...]
    early_stop_pct: float
    pct_treated_above_mtd: float
    total_n: float
    total_dlt: float
    mtd_target: float
    true_mtd: int | None
    seconds: float
    selection_se_pct: tuple[float, ...] = field(default=())
    no_mtd_se_pct: float = 0.0
    mean_n_se: tuple[float, ...] = field(default=())
    mean_dlt_se: tuple[float, ...] = field(default=())
    early_stop_se_pct: float = 0.0
    pct_treated_above_mtd_se: float = 0.0
    total_n_se: float = 0.0
    total_dlt_se: float = 0.0
    safety_stop: str | None = None
    """The design's stopping rule for toxicity in words (`Design.safety_stop`); None: it has none, so
    `early_stop_pct` is 0 by construction, not a finding (D-19.478)."""
    per_trial: dict[str, np.ndarray] | None = field(default=None, repr=False, compare=False)

    @property
    def truth_non_decreasing(self) -> bool:
        """The true probabilities never fall with dose (the designs' assumption; see the module notes)."""
        return all(a <= b for a, b in zip(self.truth, self.truth[1:], strict=False))

    @property
    def table(self) -> Any:
        """Per-dose summary as a tidy `pandas.DataFrame` (one row per level, Monte Carlo standard errors
        beside each estimate; 0 for exact enumeration)."""
        import pandas as pd

        k = len(self.truth)
        return pd.DataFrame(
            {
                "dose_level": list(range(1, k + 1)),
                "true_p_dlt": list(self.truth),
                "selection_pct": list(self.selection_pct),
                "selection_se_pct": list(self.selection_se_pct) or [0.0] * k,
                "mean_n": list(self.mean_n),
                "mean_n_se": list(self.mean_n_se) or [0.0] * k,
                "mean_dlt": list(self.mean_dlt),
                "mean_dlt_se": list(self.mean_dlt_se) or [0.0] * k,
            }
        )

    def metadata(self) -> dict[str, Any]:
        """Everything but the per-dose table: design options, method, seed and trial-level summaries."""
        data = self.as_dict()
        for key in ("selection_pct", "selection_se_pct", "mean_n", "mean_n_se", "mean_dlt", "mean_dlt_se"):
            data.pop(key)
        return {"derivation": "cartrial.escalation.simulate", **data}

    def trials_table(self) -> Any:
        """One row per simulated trial (`keep_trials=True`): trial, mtd (1-based, empty = none), stop_reason,
        n_total, dlt_total, n_1..n_K, dlt_1..dlt_K."""
        import pandas as pd

        if self.per_trial is None:
            raise ConfigurationError("per-trial results were not kept: simulate(..., keep_trials=True)")
        mtd = self.per_trial["mtd"]
        reason = self.per_trial["reason"]
        n, y = self.per_trial["n"], self.per_trial["y"]
        columns: dict[str, Any] = {
            "trial": np.arange(1, mtd.size + 1),
            "mtd": pd.Series(np.where(mtd >= 0, mtd + 1, 0), dtype="Int64").where(mtd >= 0),
            "stop_reason": [StopReason(int(r)).name.lower() for r in reason],
            "n_total": n.sum(axis=1).astype(np.int64),
            "dlt_total": y.sum(axis=1).astype(np.int64),
        }
        for i in range(n.shape[1]):
            columns[f"n_{i + 1}"] = n[:, i].astype(np.int64)
        for i in range(y.shape[1]):
            columns[f"dlt_{i + 1}"] = y[:, i].astype(np.int64)
        return pd.DataFrame(columns)

    def as_dict(self) -> dict[str, Any]:
        return {
            "design": self.design,
            "options": self.options,
            "truth": list(self.truth),
            "truth_non_decreasing": self.truth_non_decreasing,
            "method": self.method,
            "trials": self.trials,
            "seed": self.seed,
            "selection_pct": list(self.selection_pct),
            "selection_se_pct": list(self.selection_se_pct),
            "no_mtd_pct": self.no_mtd_pct,
            "mean_n": list(self.mean_n),
            "mean_dlt": list(self.mean_dlt),
            "early_stop_pct": self.early_stop_pct,
            "pct_treated_above_mtd": self.pct_treated_above_mtd,
            "total_n": self.total_n,
            "total_dlt": self.total_dlt,
            "mtd_target": self.mtd_target,
            "true_mtd": self.true_mtd,
            "seconds": self.seconds,
            "mean_n_se": list(self.mean_n_se),
            "mean_dlt_se": list(self.mean_dlt_se),
            "no_mtd_se_pct": self.no_mtd_se_pct,
            "early_stop_se_pct": self.early_stop_se_pct,
            "pct_treated_above_mtd_se": self.pct_treated_above_mtd_se,
            "total_n_se": self.total_n_se,
            "total_dlt_se": self.total_dlt_se,
            "safety_stop": self.safety_stop,
        }


NO_SAFETY_STOP = (
    "none possible: the design has no safety stop (as dfcrm crm), so with a too-toxic level 1 it keeps "
    "treating there and selects it; a selected level is not a recommendation"
)
"""What the operating characteristics say of a design without a safety stop instead of "0 %" (D-19.478)."""


def early_stop_text(shown: str, safety_stop: str | None) -> str:
    """``"early stop for toxicity 12.0 %"`` (`shown`: the rate as the caller prints it), or, for a design
    without a safety stop (`safety_stop` None, `Design.safety_stop`), ``"early stop for toxicity: none
    possible …"`` (D-19.478).

    >>> early_stop_text("0.0 %", None).startswith("early stop for toxicity: none possible")
    True
    """
    return f"early stop for toxicity {shown}" if safety_stop else f"early stop for toxicity: {NO_SAFETY_STOP}"


#: Largest number of simulated trials: the per-trial state is a few (trials x doses) arrays.
MAX_TRIALS = 1_000_000
#: Largest number of cohorts per simulated trial (far above any phase I trial; each cohort is one pass).
MAX_COHORTS = 1_000
#: Largest trials x cohorts x cohort size (Bernoulli draws): about a minute of work on one core.
MAX_DRAWS = 200_000_000
#: Largest number of dose levels for exact 3+3 enumeration (paths double with each level).
MAX_EXACT_DOSES = 12
#: Largest trials x dose levels (about 80 MB per per-dose array).
MAX_TRIAL_CELLS = 20_000_000
#: Largest TITE-CRM time between cohorts, in days (as the DLT window: ten years).
MAX_ACCRUAL_DAYS = float(MAX_DAYS)


#: Cohorts simulated when neither `cohorts` nor a `max_n` is given (`escalate simulate --cohorts`).
DEFAULT_COHORTS = 10


def simulated_cohorts(design: Any, cohorts: int) -> int:
    """The cohorts `simulate` runs for `cohorts` asked: a 3+3 runs at least 2 × its levels (a level never
    holds more than 6 patients), every other design `cohorts`."""
    inner = getattr(design, "inner", design)
    return max(cohorts, 2 * inner.n_doses) if isinstance(inner, ThreePlusThree) else cohorts


def cohorts_for_max_n(
    cohorts: int | None,
    cohort_size: int,
    max_n: int | None,
    names: tuple[str, str, str] = ("cohorts", "cohort_size", "max_n"),
) -> int:
    """The number of cohorts a simulation runs: `cohorts` when given, else ceil(`max_n` / `cohort_size`), else
    `DEFAULT_COHORTS`. A given `cohorts` x `cohort_size` below `max_n` is refused: every trial would end
    before its max_n, silently (decisions D-19.481). `names`: the three arguments as the user wrote them.

    >>> cohorts_for_max_n(None, 1, 12), cohorts_for_max_n(None, 5, 12), cohorts_for_max_n(None, 3, None)
    (12, 3, 10)
    """
    if cohorts is None:
        return DEFAULT_COHORTS if max_n is None else math.ceil(int(max_n) / int(cohort_size))
    if max_n is not None and int(max_n) > int(cohorts) * int(cohort_size):
        c, size, n = names
        raise InputError(
            Problem(
                f"{c} x {size} = {int(cohorts)} x {int(cohort_size)} = {int(cohorts) * int(cohort_size)} "
                f"patients, fewer than {n} {int(max_n)}: every trial would end before {n}",
                field=c,
                value=cohorts,
                allowed=f"at least {math.ceil(int(max_n) / int(cohort_size))} | {c} not given (then "
                f"ceil({n} / {size}))",
            )
        )
    return int(cohorts)


def check_simulation_size(trials: int, cohorts: int, cohort_size: int, n_doses: int = 1) -> None:
    """Refuse a simulation above the documented limits before anything is allocated (docs/science/decisions.md
    D-19.5):
    trials 1..`MAX_TRIALS`, cohorts 1..`MAX_COHORTS`, trials x cohorts x cohort size <= `MAX_DRAWS`,
    trials x dose levels <= `MAX_TRIAL_CELLS`.

    >>> check_simulation_size(10_000, 10, 3)
    >>> check_simulation_size(2_000_000_000, 10, 3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cartrial.errors.InputError: trials: the number of simulated trials must be 1..1000000 (the per-trial ...
    """
    problems: list[Problem] = []
    if isinstance(trials, bool) or not isinstance(trials, int) or not 1 <= trials <= MAX_TRIALS:
        problems.append(
            Problem(
                f"the number of simulated trials must be 1..{MAX_TRIALS} (the per-trial state is held "
                "in memory)",
                field="trials",
                value=trials,
                allowed=Allowed(low=1, high=MAX_TRIALS, integer=True).text(),
            )
        )
    if isinstance(cohorts, bool) or not isinstance(cohorts, int) or not 1 <= cohorts <= MAX_COHORTS:
        problems.append(
            Problem(
                f"the number of cohorts must be 1..{MAX_COHORTS} (each cohort is one pass over every trial)",
                field="cohorts",
                value=cohorts,
                allowed=Allowed(low=1, high=MAX_COHORTS, integer=True).text(),
            )
        )
    if not problems:
        draws = trials * cohorts * max(int(cohort_size), 1)
        if draws > MAX_DRAWS:
            problems.append(
                Problem(
                    f"trials x cohorts x cohort size = {draws} simulated patients is above the limit "
                    f"{MAX_DRAWS} (about a minute of work); use fewer trials or cohorts",
                    field="trials",
                    value=trials,
                    allowed=f"trials x cohorts x cohort size <= {MAX_DRAWS}",
                )
            )
        elif trials * n_doses > MAX_TRIAL_CELLS:
            problems.append(
                Problem(
                    f"trials x dose levels is above the limit {MAX_TRIAL_CELLS} (memory)",
                    field="trials",
                    value=trials,
                    allowed=f"trials x dose levels <= {MAX_TRIAL_CELLS}",
                )
            )
    if problems:
        raise InputError(problems)


def treated_above_pct(n: np.ndarray, above: np.ndarray) -> tuple[float, float]:
    """% of the patients treated at the doses `above` (K,) the target over simulated trials (`n`: (trials, K)
    patients per level) — the overdosing OC (BOIN `get.oc`'s percentage of patients treated above the MTD) —
    and its Monte Carlo SE: a ratio of means A/N, so the delta method, sqrt(var(A − R·N) / trials) / mean(N).
    (0, 0) when nobody was treated. The one derivation of the escalation engine's `pct_treated_above_mtd`
    and the trial simulator's `pct_treated_above_target` (D-19.315)."""
    trials = n.shape[0]
    total_n = n.sum(axis=1)
    above_n = n[:, np.asarray(above, dtype=bool)].sum(axis=1)
    mean_total = float(total_n.mean()) if trials else 0.0
    if not mean_total:
        return 0.0, 0.0
    ratio = float(above_n.mean() / mean_total)
    spread = float((above_n - ratio * total_n).std(ddof=1)) if trials > 1 else 0.0
    return ratio * 100, spread / np.sqrt(trials) / mean_total * 100


def _mc_summaries(
    trials: int,
    mtd: np.ndarray,
    safety: np.ndarray,
    n_final: np.ndarray,
    y_final: np.ndarray,
    above: np.ndarray,
) -> dict[str, Any]:
    """Monte Carlo standard errors of every summary: sd / sqrt(trials) of per-trial quantities; for the %
    treated above the MTD (a ratio of means A/N) the delta method, sqrt(var(A - R N) / trials) / mean(N)."""
    k = n_final.shape[1]
    root = np.sqrt(trials)

    def se_of(values: np.ndarray) -> np.ndarray:
        return np.asarray(values.std(axis=0, ddof=1) / root if trials > 1 else np.zeros(values.shape[1:]))

    selection = np.array([(mtd == i).mean() for i in range(k)])
    total_n = n_final.sum(axis=1)
    total_dlt = y_final.sum(axis=1)
    _ratio, ratio_se = treated_above_pct(n_final, above)
    no_mtd = float((mtd < 0).mean())
    stop = float(safety.mean())
    return {
        "selection_se_pct": tuple(float(np.sqrt(s * (1 - s) / trials)) * 100 for s in selection),
        "no_mtd_se_pct": float(np.sqrt(no_mtd * (1 - no_mtd) / trials)) * 100,
        "early_stop_se_pct": float(np.sqrt(stop * (1 - stop) / trials)) * 100,
        "mean_n_se": tuple(float(v) for v in se_of(n_final)),
        "mean_dlt_se": tuple(float(v) for v in se_of(y_final)),
        "total_n_se": float(se_of(total_n[:, None])[0]),
        "total_dlt_se": float(se_of(total_dlt[:, None])[0]),
        "pct_treated_above_mtd_se": ratio_se,
    }


def check_truth(truth: Sequence[float], n_doses: int) -> np.ndarray:
    """True DLT probabilities: one per dose level, each in [0, 1]."""
    values = np.asarray([float(v) for v in truth], dtype=float)
    problems: list[Problem] = []
    if values.size != n_doses:
        problems.append(
            Problem(
                "the true toxicity scenario needs one probability per dose level",
                field="truth",
                value=values.size,
                allowed=f"{n_doses} values",
            )
        )
    # each value out of range named by its dose level, never the list as Python writes it (D-19.373)
    problems += [
        Problem(
            f"the true toxicity probability of dose level {level} is out of range",
            field="truth",
            value=float(value),
            allowed="0 to 1",
        )
        for level, value in enumerate(values.tolist(), start=1)
        if not 0 <= value <= 1
    ]
    if problems:
        raise InputError(problems)
    return values


def _check_seed_and_mtd_target(seed: int | None, mtd_target: float | None) -> None:
    """A seed is `cartrial.allowed.SEED` (0 to 2^63 − 1); the MTD target a target DLT rate (`TARGET`)."""
    problems: list[Problem] = []
    if seed is not None and (problem := SEED.problem("seed", seed)) is not None:
        problems.append(problem)
    if mtd_target is not None and (problem := TARGET.problem("mtd_target", mtd_target)) is not None:
        problems.append(problem)
    if problems:
        raise InputError(problems)


def _mtd_target(design: Design, mtd_target: float | None) -> float:
    if mtd_target is not None:
        return mtd_target
    return design.target if design.target is not None else DEFAULT_MTD_TARGET_3PLUS3


def _true_mtd(truth: np.ndarray, target: float) -> int | None:
    ok = np.flatnonzero(truth <= target)
    return int(ok[-1]) + 1 if ok.size else None


OutcomeSource = Callable[[int, np.ndarray, int], np.ndarray]
"""DLT outcomes of one cohort for every trial: ``source(cohort, dose, n_patients)`` returns a boolean array
(trials, n_patients) — True = DLT — for the patients of cohort `cohort` (0-based; the expansion cohort is
number `cohorts`) treated at the 0-based `dose` (one per trial). It is called once per cohort, in order,
for every trial (also for trials that have stopped: their outcomes are ignored), so a source that draws
random numbers consumes the same stream whatever the designs decide (common random numbers)."""


@dataclass(frozen=True)
class CohortRun:
    """The result of `run_cohorts` (0-based levels; -1 = none).

    `state` holds the escalation cohorts' patients and DLTs per level (expansion not included); `n` and `y`
    add the expansion cohort (float, as the summaries use them). `slot_dose` and `slot_cohort` (kept with
    ``keep_slots``) give, per trial and patient slot (cohort c's patients are slots c·size … c·size + size
    − 1, the expansion's follow slot cohorts·size), the level treated and the cohort number (the expansion
    is number `cohorts`), -1 for a slot nobody filled."""

    state: TrialState
    reason: np.ndarray
    safety: np.ndarray
    mtd: np.ndarray
    n: np.ndarray
    y: np.ndarray
    expansion_dose: np.ndarray | None
    slot_dose: np.ndarray | None = None
    slot_cohort: np.ndarray | None = None


def run_cohorts(
    design: Design,
    outcomes: OutcomeSource,
    *,
    trials: int,
    cohorts: int,
    cohort_size: int,
    progress: Callable[[int, int], None] | None = None,
    keep_slots: bool = False,
) -> CohortRun:
    """Run `design` cohort by cohort in `trials` trials at once (vectorised across trials), with the DLT
    outcomes from `outcomes` (`OutcomeSource`): the one cohort loop of the escalation engine's Monte Carlo
    simulation (`simulate`: Bernoulli outcomes) and of the trial simulator (`cartrial.simulation`: the
    virtual patients' graded DLTs).

    Per cohort: a `StopAtN` behaviour truncates the cohort so that the total is exactly its n; each active
    trial treats the cohort at its current dose and records the DLTs; the design's `step` proposes the next
    dose or a stop (with its `StopReason`). Trials still running after `cohorts` cohorts stop with
    `MAX_COHORTS_REACHED` (the design's own maximum sample size, `StopAtN`, is `MAX_N_REACHED`; D-19.313).
    The MTD is the design's own selection (`select_mtd_batch`; -1 after a safety stop);
    an `ExpansionCohort` then treats its patients at its level in the trials that selected one.
    `progress(done, total)` is called before each cohort and once at the end.

    >>> from cartrial.escalation import Boin
    >>> p = np.array([0.1, 0.3, 0.5]); rng = np.random.default_rng(1)
    >>> run = run_cohorts(Boin(3, 0.3), lambda c, dose, m: rng.random((200, m)) < p[dose][:, None],
    ...                   trials=200, cohorts=5, cohort_size=3)
    >>> int(run.n.sum(axis=1).max()), run.mtd.shape
    (15, (200,))
    """
    convert = getattr(design, "for_simulation", None)
    sim_design: Design = convert() if convert is not None else design
    max_n = sim_design.max_n if isinstance(sim_design, BehavingDesign) else None
    expansion = sim_design.expansion if isinstance(sim_design, BehavingDesign) else None
    size = cohort_size
    state = TrialState.empty(trials, design.n_doses)
    rows = np.arange(trials)
    active = np.ones(trials, dtype=bool)
    reason = np.zeros(trials, dtype=np.int64)
    dose = sim_design.decide(state).next_dose.copy()
    column = np.arange(size)
    offsets = state.row_offsets()
    n_slots = cohorts * size + (expansion.n_patients if expansion is not None else 0)
    slot_dose = np.full((trials, n_slots), -1, dtype=np.int64) if keep_slots else None
    slot_cohort = np.full((trials, n_slots), -1, dtype=np.int64) if keep_slots else None
    for cohort in range(cohorts):
        if progress is not None:
            progress(cohort, cohorts)
        outcome = outcomes(cohort, dose, size)
        if max_n is not None:
            this_size = np.clip(max_n - state.n.sum(axis=1), 0, size)
            active &= this_size > 0
            treated = active[:, None] & (column[None, :] < this_size[:, None])
        else:
            treated = np.broadcast_to(active[:, None], (trials, size))
        if not active.any():
            break
        dlts = np.count_nonzero(treated & outcome, axis=1)
        flat = offsets + dose  # one cell per trial: plain fancy-index addition is exact
        state.n.ravel()[flat] += np.count_nonzero(treated, axis=1)
        state.y.ravel()[flat] += dlts
        if slot_dose is not None and slot_cohort is not None:
            cols = cohort * size + column
            slot_dose[:, cols] = np.where(treated, dose[:, None], -1)
            slot_cohort[:, cols] = np.where(treated, cohort, -1)
        state.dose = np.where(active, dose, state.dose)
        state.last_cohort_dlts = np.where(active, dlts, 0)
        proposal = sim_design.step(state, active)
        stopping = active & proposal.stop
        reason[stopping] = proposal.reason[stopping]
        active &= ~proposal.stop
        dose = np.where(active, proposal.next_dose, dose)
    reason[active] = int(StopReason.MAX_COHORTS_REACHED)
    if progress is not None:
        progress(cohorts, cohorts)
    safety = np.isin(reason, [int(r) for r in StopReason if r.is_safety_stop])
    mtd = np.where(safety, -1, sim_design.select_mtd_batch(state))
    n_final, y_final = state.n.astype(float), state.y.astype(float)
    exp_dose = None
    if expansion is not None:
        exp_dose = expansion.level_for(mtd)
        go = (exp_dose >= 0) & ~safety
        outcome = outcomes(cohorts, np.maximum(exp_dose, 0), expansion.n_patients)
        if slot_dose is not None and slot_cohort is not None:
            cols = cohorts * size + np.arange(expansion.n_patients)
            slot_dose[:, cols] = np.where(go[:, None], exp_dose[:, None], -1)
            slot_cohort[:, cols] = np.where(go[:, None], cohorts, -1)
        np.add.at(n_final, (rows[go], exp_dose[go]), expansion.n_patients)
        np.add.at(y_final, (rows[go], exp_dose[go]), outcome[go].sum(axis=1))
    return CohortRun(state, reason, safety, mtd, n_final, y_final, exp_dose, slot_dose, slot_cohort)


def simulate(
    design: Design,
    truth: Sequence[float],
    *,
    cohorts: int,
    trials: int,
    seed: int | None = 0,
    cohort_size: int | None = None,
    mtd_target: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    accrual_days: float | None = None,
    keep_trials: bool = False,
) -> OperatingCharacteristics:
    """Monte Carlo operating characteristics, vectorised across `trials` (section 11).

    Every summary comes with its Monte Carlo standard error (`*_se`); `keep_trials=True` keeps the
    per-trial results (`OperatingCharacteristics.trials_table()`). Limits: `check_simulation_size`.

    >>> from cartrial.escalation import Boin
    >>> oc = simulate(Boin(3, 0.3), [0.1, 0.3, 0.5], cohorts=5, trials=200, seed=1, keep_trials=True)
    >>> len(oc.trials_table()), round(oc.total_n, 1), oc.total_n_se > 0
    (200, 14.9, True)

    `cohorts` is the maximum number of cohorts (BOIN ``ncohort``); `cohort_size` defaults to the design's.
    `progress(done, total)` is called after each cohort (for progress bars). TITE-CRM: see `_simulate_tite`
    (`accrual_days` between consecutive cohorts is then required).
    A `StopAtN` behaviour truncates the last cohort so that the total is exactly its n. A 3+3 design runs
    until its own rule stops it: at least 2K cohorts are allowed (a level never holds more than 6).
    """
    started = time.perf_counter()
    _check_seed_and_mtd_target(seed, mtd_target)
    size = design.cohort_size if cohort_size is None else cohort_size
    if (wrong_size := OPTIONS["cohort_size"].problem(size)) is not None:
        raise OptionError(wrong_size)
    check_simulation_size(trials, cohorts, size, design.n_doses)
    inner = design.inner if isinstance(design, BehavingDesign) else design
    cohorts = simulated_cohorts(design, cohorts)
    if isinstance(inner, ThreePlusThree) and size != 3:
        raise InputError(
            Problem("a 3+3 design treats cohorts of 3", field="cohort_size", value=size, allowed="3")
        )
    p = check_truth(truth, design.n_doses)
    if design.name == "tite-crm":
        return _simulate_tite(
            design,
            p,
            cohorts=cohorts,
            cohort_size=size,
            trials=trials,
            seed=seed,
            accrual_days=accrual_days,
            mtd_target=mtd_target,
            started=started,
            keep_trials=keep_trials,
        )
    if accrual_days is not None:  # the engine's twin of the command line's --accrual-days rule (D-19.79)
        raise InputError(
            Problem(
                f"accrual_days is used by tite-crm only; {design.name} decides on complete cohorts",
                field="accrual_days",
                value=accrual_days,
                allowed="none (leave it out)",
            )
        )
    rng = np.random.default_rng(seed)

    def bernoulli(cohort: int, dose: np.ndarray, n_patients: int) -> np.ndarray:
        return rng.random((trials, n_patients)) < p[dose][:, None]

    run = run_cohorts(design, bernoulli, trials=trials, cohorts=cohorts, cohort_size=size, progress=progress)
    return _monte_carlo_oc(
        design,
        design.options(),
        p,
        trials=trials,
        seed=seed,
        mtd=run.mtd,
        reason=run.reason,
        safety=run.safety,
        n=run.n,
        y=run.y,
        mtd_target=mtd_target,
        started=started,
        keep_trials=keep_trials,
    )


def _monte_carlo_oc(
    design: Design,
    options: dict[str, Any],
    p: np.ndarray,
    *,
    trials: int,
    seed: int | None,
    mtd: np.ndarray,
    reason: np.ndarray,
    safety: np.ndarray,
    n: np.ndarray,
    y: np.ndarray,
    mtd_target: float | None,
    started: float,
    keep_trials: bool,
) -> OperatingCharacteristics:
    """The `OperatingCharacteristics` of simulated trials (`simulate`, `_simulate_tite`): per trial the
    selected MTD (0-based, -1 = none), stop reason, safety stop and the (trials, K) patients `n` and DLTs
    `y` per level; summaries are means over the trials with Monte Carlo standard errors (`_mc_summaries`)."""
    target = _mtd_target(design, mtd_target)
    selection = np.array([(mtd == i).mean() for i in range(p.size)])
    mean_n = n.mean(axis=0)
    above = p > target
    total = float(mean_n.sum())
    return OperatingCharacteristics(
        safety_stop=design.safety_stop(),
        design=design.name,
        options=options,
        truth=tuple(float(v) for v in p),
        method="monte_carlo",
        trials=trials,
        seed=seed,
        selection_pct=tuple(float(v) * 100 for v in selection),
        no_mtd_pct=float((mtd < 0).mean() * 100),
        mean_n=tuple(float(v) for v in mean_n),
        mean_dlt=tuple(float(v) for v in y.mean(axis=0)),
        early_stop_pct=float(safety.mean() * 100),
        pct_treated_above_mtd=treated_above_pct(n.astype(float), above)[0],
        total_n=total,
        total_dlt=float(y.sum(axis=1).mean()),
        mtd_target=target,
        true_mtd=_true_mtd(p, target),
        seconds=time.perf_counter() - started,
        per_trial={"mtd": mtd, "reason": reason, "n": n, "y": y} if keep_trials else None,
        **_mc_summaries(trials, mtd, safety, n.astype(float), y.astype(float), above),
    )


_TITE_OPTION = {
    "StopWhenTooToxic": "safety_stop",
    "StopWhenNAtDose": "stop_n_at_dose",
    "CoherentEscalation": "coherent",
    "ExpansionCohort": "expansion",
}
"""The option (protocol field, CLI flag without ``--``) that adds a behaviour the TITE-CRM simulation does
not run, for its message (D-19.480)."""


def _simulate_tite(
    design: Design,
    p: np.ndarray,
    *,
    cohorts: int,
    cohort_size: int,
    trials: int,
    seed: int | None,
    accrual_days: float | None,
    mtd_target: float | None,
    started: float,
    keep_trials: bool = False,
) -> OperatingCharacteristics:
    """TITE-CRM operating characteristics (docs/science/dose-escalation.md §8), linear weights.

    Model [P]: a cohort of `cohort_size` patients arrives every `accrual_days`, treated at the dose
    recommended from the data observable on arrival; a DLT occurs with the scenario's probability at a
    time uniform over the DLT window [U: onset distribution]; a DLT counts once its onset is past; a patient
    without an observed DLT weighs min(follow-up / window, 1). DLT draws use the same random stream as
    `simulate` for the CRM (common random numbers); onset times use a second stream spawned from the seed.
    The final MTD uses complete follow-up. Supported behaviours: `DontSkipDoses`, `StopAtN`.
    """
    from cartrial.escalation.behaviours import DontSkipDoses, StopAtN
    from cartrial.escalation.crm import TiteCrm

    inner = design.inner if isinstance(design, BehavingDesign) else design
    assert isinstance(inner, TiteCrm)
    behaviours = design.behaviours if isinstance(design, BehavingDesign) else ()
    unsupported = [
        _TITE_OPTION.get(type(b).__name__, type(b).__name__)
        for b in behaviours
        if not isinstance(b, DontSkipDoses | StopAtN)
    ]
    if isinstance(design, BehavingDesign) and design.expansion is not None:
        unsupported.append(_TITE_OPTION["ExpansionCohort"])
    if unsupported:  # named by the protocol / CLI option that added the behaviour (D-19.480)
        raise ConfigurationError(
            "the TITE-CRM simulation supports the options no_skip and max_n only; remove "
            f"{' | '.join(unsupported)} to simulate it (a single-trial recommendation, escalate next, keeps "
            "them)"
        )
    if inner.scheme != "linear":
        raise ConfigurationError("TITE-CRM simulation is implemented for the linear weight scheme only")
    # bounded as the DLT window (≤ 3650 days): 1e308 days between cohorts overflowed the arrival times
    if accrual_days is None:
        raise InputError(
            Problem(
                "TITE-CRM simulation needs the time between cohorts",
                field="accrual_days",
                allowed=DAYS.text(),
            )
        )
    DAYS.check("accrual_days", accrual_days)
    no_skip = next((b for b in behaviours if isinstance(b, DontSkipDoses) and b.when_escalating), None)
    caps = [b.n for b in behaviours if isinstance(b, StopAtN)]
    n_patients = min([cohorts * cohort_size, *caps])
    sim = inner.for_simulation()
    k, window = inner.n_doses, inner.window_days
    grid = sim._grid()
    tox_grid = sim.dose_toxicity(grid)  # (G, K)
    log_p = np.log(np.maximum(tox_grid, 1e-300)).T  # (K, G)
    rng = np.random.default_rng(seed)
    onset_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0] if seed is not None else None)
    rows = np.arange(trials)
    doses = np.zeros((trials, n_patients), dtype=np.int64)
    dlt = np.zeros((trials, n_patients), dtype=bool)
    onset = np.zeros((trials, n_patients))
    arrival = (np.arange(n_patients) // cohort_size) * float(accrual_days)
    current = np.full(trials, inner.start_dose - 1, dtype=np.int64)
    highest = current.copy()
    for j in range(0, n_patients, cohort_size):
        if j > 0:
            follow = arrival[j] - arrival[:j]
            observed = dlt[:, :j] & (onset[:, :j] <= follow[None, :])
            weights = np.minimum(follow / window, 1.0)
            levels, index = np.unique(weights, return_inverse=True)
            counts = np.zeros((trials, k * levels.size))
            y_obs = np.zeros((trials, k))
            for i in range(j):
                counts[rows, doses[:, i] * levels.size + int(index[i])] += ~observed[:, i]
                y_obs[rows, doses[:, i]] += observed[:, i]
            q = np.minimum(levels[None, :, None] * tox_grid.T[:, None, :], 1 - 1e-16)  # (K, L, G)
            log_q = np.log1p(-q).reshape(k * levels.size, -1)
            features = np.concatenate([y_obs, counts], axis=1)
            unique, inverse = np.unique(features, axis=0, return_inverse=True)
            inverse = np.asarray(inverse).ravel()
            loglik = unique[:, :k] @ log_p + unique[:, k:] @ log_q
            ptox = sim._grid_summary(grid, loglik)[2][inverse]
            distance = np.abs(ptox - inner.target_value)
            if no_skip is not None:
                reference = current if no_skip.relative_to == "current" else highest
                distance = np.where(np.arange(k)[None, :] <= (reference + 1)[:, None], distance, np.inf)
            current = np.argmin(distance, axis=1)
            highest = np.maximum(highest, current)
        size = min(cohort_size, n_patients - j)
        draws = rng.random((trials, cohort_size))[:, :size]
        for m in range(size):
            doses[:, j + m] = current
            dlt[:, j + m] = draws[:, m] < p[current]
            onset[:, j + m] = onset_rng.random(trials) * window
    n = np.zeros((trials, k), dtype=np.int64)
    y = np.zeros((trials, k), dtype=np.int64)
    for i in range(n_patients):
        n[rows, doses[:, i]] += 1
        y[rows, doses[:, i]] += dlt[:, i]
    final = TrialState(n, y, current, np.zeros((trials, k), dtype=bool))
    # the final MTD by the design's own rule, its behaviours included: the no-skipping rule keeps the MTD
    # admissible (§10 invariant, D-19.390), as the live fit and `simulate` for the CRM do (D-19.693)
    selector = design.for_simulation() if isinstance(design, BehavingDesign) else sim
    return _monte_carlo_oc(
        design,
        {**design.options(), "accrual_days": accrual_days, "onset": "uniform over the DLT window"},
        p,
        trials=trials,
        seed=seed,
        mtd=selector.select_mtd_batch(final),
        # the design's max_n when it is what ran out, else the simulation's cohorts (D-19.313)
        reason=np.full(
            trials,
            int(
                StopReason.MAX_N_REACHED
                if caps and min(caps) <= cohorts * cohort_size
                else StopReason.MAX_COHORTS_REACHED
            ),
        ),
        safety=np.zeros(trials, dtype=bool),
        n=n,
        y=y,
        mtd_target=mtd_target,
        started=started,
        keep_trials=keep_trials,
    )


def exact_unsupported(design: Design) -> list[str]:
    """The behaviours of `design` that exact 3+3 enumeration cannot take (all but `DontSkipDoses`, which
    changes no 3+3 decision; an expansion cohort is not a behaviour here).

    >>> from cartrial.escalation import assemble_design
    >>> exact_unsupported(assemble_design("3+3", 3))
    []
    >>> exact_unsupported(assemble_design("3+3", 3, {"max_n": 9}))
    ['stop_at_n']
    """
    behaviours = design.behaviours if isinstance(design, BehavingDesign) else ()
    return [b.describe()["behaviour"] for b in behaviours if not isinstance(b, DontSkipDoses)]


def exact_three_plus_three(
    design: Design,
    truth: Sequence[float],
    *,
    mtd_target: float | None = None,
    max_cohorts: int | None = None,
) -> OperatingCharacteristics:
    """Exact operating characteristics of a 3+3 design by enumerating all cohort outcomes (no Monte Carlo
    error; docs/science/dose-escalation.md §3, as `bcrm::threep3`). A wrapping `ExpansionCohort` is included;
    `DontSkipDoses` (the default of `assemble_design`) is accepted and changes nothing, since a 3+3 escalates
    one level at a time and never declares an MTD above its current dose (decisions D-19.390); other
    behaviours are not supported here (use `simulate`).

    >>> from cartrial.escalation import ThreePlusThree
    >>> oc = exact_three_plus_three(ThreePlusThree(3), [0.05, 0.15, 0.5])
    >>> [round(v, 2) for v in oc.selection_pct], round(oc.no_mtd_pct, 2)
    ([21.0, 62.59, 13.62], 2.79)
    """
    started = time.perf_counter()
    _check_seed_and_mtd_target(None, mtd_target)
    inner = design.inner if isinstance(design, BehavingDesign) else design
    if not isinstance(inner, ThreePlusThree):
        raise ConfigurationError("exact operating characteristics are implemented for the 3+3 design only")
    expansion = design.expansion if isinstance(design, BehavingDesign) else None
    if isinstance(design, BehavingDesign) and exact_unsupported(design):
        raise ConfigurationError("exact 3+3 supports only an expansion cohort as behaviour; use Monte Carlo")
    if inner.n_doses > MAX_EXACT_DOSES:
        raise InputError(
            Problem(
                f"exact 3+3 enumeration is limited to {MAX_EXACT_DOSES} dose levels (the number of trial "
                "paths doubles with every level: 12 levels give ~29,000 paths, 40 would need terabytes); "
                "use Monte Carlo simulation",
                field="doses",
                value=inner.n_doses,
                allowed=f"1..{MAX_EXACT_DOSES} (exact), any for Monte Carlo",
            )
        )
    p = check_truth(truth, inner.n_doses)
    k = inner.n_doses
    terminals = enumerate_three_plus_three(inner, p, max_cohorts)
    prob = np.array([t.prob for t in terminals])
    n = np.array([t.n for t in terminals], dtype=float)
    y = np.array([t.y for t in terminals], dtype=np.int64)
    elim = np.array([t.eliminated for t in terminals], dtype=bool)
    edlt = np.array([t.expected_dlt for t in terminals], dtype=float)
    safety = np.array([t.reason.is_safety_stop for t in terminals])
    mtd = inner.select_mtd_batch(
        TrialState(n.astype(np.int64), y, np.zeros(len(terminals), dtype=np.int64), elim)
    )
    mtd = np.where(safety, -1, mtd)
    if expansion is not None:
        exp_dose = expansion.level_for(mtd)
        go = (exp_dose >= 0) & ~safety
        idx = np.flatnonzero(go)
        n[idx, exp_dose[go]] += expansion.n_patients
        edlt[idx, exp_dose[go]] += expansion.n_patients * p[exp_dose[go]]
    target = _mtd_target(inner, mtd_target)
    selection = np.array([prob[mtd == i].sum() for i in range(k)])
    mean_n = prob @ n
    above = p > target
    total = float(mean_n.sum())
    return OperatingCharacteristics(
        safety_stop=design.safety_stop(),
        design=inner.name,
        options=design.options(),
        truth=tuple(float(v) for v in p),
        method="exact",
        trials=None,
        seed=None,
        selection_pct=tuple(float(v) * 100 for v in selection),
        no_mtd_pct=float(prob[mtd < 0].sum() * 100),
        mean_n=tuple(float(v) for v in mean_n),
        mean_dlt=tuple(float(v) for v in prob @ edlt),
        early_stop_pct=float(prob[safety].sum() * 100),
        pct_treated_above_mtd=float(mean_n[above].sum() / total * 100) if total else 0.0,
        total_n=total,
        total_dlt=float((prob @ edlt).sum()),
        mtd_target=target,
        true_mtd=_true_mtd(p, target),
        seconds=time.perf_counter() - started,
        selection_se_pct=tuple(0.0 for _ in range(k)),
        mean_n_se=tuple(0.0 for _ in range(k)),
        mean_dlt_se=tuple(0.0 for _ in range(k)),
    )


__all__ = [
    "DEFAULT_COHORTS",
    "MAX_COHORTS",
    "MAX_DRAWS",
    "MAX_EXACT_DOSES",
    "MAX_TRIALS",
    "MAX_TRIAL_CELLS",
    "NO_SAFETY_STOP",
    "CohortRun",
    "OperatingCharacteristics",
    "OutcomeSource",
    "check_simulation_size",
    "check_truth",
    "cohorts_for_max_n",
    "early_stop_text",
    "exact_three_plus_three",
    "run_cohorts",
    "simulate",
    "treated_above_pct",
]
