"""Many virtual trials at once: operating characteristics of the protocol under a scenario.

docs/simulation.md §6. A run has two stages:

1. `prepare` (once per scenario and seed): a pool of `scenario.pool_size` virtual candidates is drawn and
   screened by the protocol (`cartrial.protocol.screen`); the eligible ones get their AQP4-IgG course at
   every dose level from the PD model (`cartrial.kinetics.simulate_pd`, an ODE: too costly per trial). An
   empty eligible pool is refused with the blocking criteria (`population.check_feasible`).
2. `simulate_trials` (vectorised across trials, numpy): patient slots draw a pool patient (with
   replacement), fresh Stein 2019 kinetics with IIV and the dose effect, toxicity (graded by the grading
   engine, judged by the protocol's DLT rules at every dose level), dropout, accrual and manufacturing;
   the protocol's escalation design (`cartrial.escalation.design_from_spec`, any design but TITE-CRM)
   decides cohort by cohort from those DLTs — the escalation engine's own cohort loop
   (`cartrial.escalation.simulation.run_cohorts`, the loop of `cartrial.escalation.simulate`, which draws a
   fixed probability per dose instead); the expansion cohort follows; relapses (hazard linked to AQP4-IgG)
   and EDSS (neuro engine) complete each patient.

Deterministic for a seed: the pool uses the first child of `SeedSequence(seed)`, the trials the second.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from cartrial.allowed import Allowed, check_seed, choice_text, path_argument
from cartrial.errors import ConfigurationError, InputError, Problem
from cartrial.kinetics.nca import persistence_flags
from cartrial.protocol import Protocol, Relatedness, ToxicityCategory
from cartrial.protocol.relapse_options import RelapseOptions
from cartrial.simulation import models as m
from cartrial.simulation.population import (
    Covariates,
    ScreenedPool,
    attack_counts,
    check_feasible,
    draw_covariates,
    edss_of,
    fs_maxima,
    screen_covariates,
)
from cartrial.simulation.scenario import TRIALS, Scenario

FloatArray = npt.NDArray[np.float64]
DAYS_PER_MONTH = 30.4375
#: Days from the close of a cohort's DLT window to the safety review's decision (its date, `decision_days`).
DECISION_DAYS_AFTER_WINDOW = 1.0
#: Days from the close of a cohort's DLT window to the next cohort's first possible infusion: the safety
#: review decides the day after the window closes, the next patient is infused from the day after [P] —
#: derived from the decision's day so the two cannot drift apart.
DECISION_LAG_DAYS = DECISION_DAYS_AFTER_WINDOW + 1.0
#: Largest trials × patient slots of one run (memory: about 40 float arrays of this size).
MAX_TRIAL_SLOTS = 20_000_000
#: FS columns a relapse or an improvement touches (NMOSD: optic neuritis, myelitis) — visual, pyramidal,
#: sensory, bowel/bladder in `population.FS_COLUMNS` order [assumption, docs/simulation.md §5].
AFFECTED_FS = np.array([0, 2, 4, 5])


@dataclass(frozen=True)
class Prepared:
    """What every trial of a run shares: protocol, design, dose levels, screened pool and its PD courses."""

    scenario: Scenario
    protocol: Protocol
    design: Any
    cells_per_kg: FloatArray  # (K,) the levels' nominal doses
    pool: ScreenedPool
    eligible: Covariates
    antibody: FloatArray  # (P, K, D) relative AQP4-IgG A(t) on days 0..D-1
    cum_hazard_days: FloatArray  # (P, K, D) ∫0^t A(s)^exponent ds (days)
    judge: m.DltJudge
    seed: int
    #: (P, K) the protocol's dose for each eligible patient at each level (`delivered_doses`): total CAR+
    #: cells and the delivered cells/kg (total / weight; the nominal dose unless rounding or the cap moved it)
    total_cells: FloatArray
    delivered_cells_per_kg: FloatArray
    settings: dict[str, Any] = field(default_factory=dict)
    #: the scenario file `prepare` was given (`scenario_file`), named in later refusals about the scenario
    scenario_file: str | None = None

    @property
    def n_doses(self) -> int:
        return int(self.cells_per_kg.size)

    @cached_property
    def pre_attacks_24m(self) -> npt.NDArray[np.int64]:
        """(P,) attacks in the 24 months of drawn history of each eligible patient (the 24 months before its
        consent, the history the eligibility screen judged; D-19.876) by the protocol's relapse definition
        (`population.attack_counts`: onsets < 30 days apart are one attack), the count the analysis makes
        from the written relapse list (D-19.800); its half is the pre-treatment ARR."""
        return attack_counts(self.eligible.relapse_days_before, self.protocol)

    @cached_property
    def relapse_options(self) -> RelapseOptions:
        """The protocol's relapse definition (`cartrial.neuro.derive.relapse_options_from_protocol`), read
        once per run and passed to the per-patient onset placement and attack count."""
        from cartrial.neuro.derive import relapse_options_from_protocol

        return relapse_options_from_protocol(self.protocol)


def escalation_spec(protocol: Protocol, scenario: Scenario) -> Any:
    """The protocol's escalation section with the scenario's design overrides (validated by the protocol's
    own model, so a bad override is a located error)."""
    from pydantic import ValidationError

    from cartrial.protocol.escalation_spec import EscalationSpec
    from cartrial.protocol.yaml_source import allowed_from_ctx, parser_message

    if not scenario.design.overrides:
        return protocol.escalation
    data = {**protocol.escalation.model_dump(), **scenario.design.overrides}
    try:
        return EscalationSpec.model_validate(data)
    except ValidationError as exc:
        raise InputError(
            [
                Problem(
                    f"design override: {parser_message(e)}",  # cartrial's words (D-19.1456)
                    # a check of the whole section has no key (loc ()): the section itself (D-19.1024)
                    field=".".join(["design.overrides", *(str(p) for p in e["loc"])]),
                    value=None if isinstance(e.get("input"), dict | list) else e.get("input"),
                    allowed=(e.get("ctx") or {}).get("expected")
                    if e["type"] == "option_range"
                    else allowed_from_ctx(e),
                )
                for e in exc.errors()
            ]
        ) from None


def build_design(protocol: Protocol, scenario: Scenario) -> Any:
    """The escalation design of the protocol (with overrides), built by the escalation engine."""
    from cartrial.escalation.spec import design_from_spec

    spec = escalation_spec(protocol, scenario)
    expansion = protocol.expansion
    size = scenario.design.expansion_patients
    if size is not None:
        if expansion is None:
            raise InputError(
                Problem(
                    "the protocol has no expansion cohort to resize",
                    field="design.expansion_patients",
                    value=size,
                    allowed="a protocol with an expansion section",
                )
            )
        expansion = expansion.model_copy(update={"n_patients": size})
    design = design_from_spec(spec, protocol.n_dose_levels, expansion=expansion)
    if design.name == "tite-crm":
        raise ConfigurationError(
            "the trial simulator does not run TITE-CRM yet (its decisions need partial follow-up); "
            "use `cartrial escalate simulate` for its operating characteristics"
        )
    return design


def dosing_weight(weight_kg: float) -> float:
    """The weight a virtual patient is dosed on and recorded with (kg, to 0.1 kg as on the CRF)."""
    return round(float(weight_kg), 1)


def delivered_doses(protocol: Protocol, weight_kg: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Total CAR+ T cells and delivered cells/kg, shape (N, K), of patients of `weight_kg` (dosing weights)
    at each of the protocol's dose levels: `cartrial.protocol.dosing.dose_for`, the one derivation (the
    protocol's ``dose_rounding``, then the level's ``max_total_cells``). A weight outside a level's
    ``min_weight_kg``/``max_weight_kg`` is an `InputError` (the simulator does not model eligibility by
    level; the scenario's population weights must fit every level)."""
    from cartrial.protocol.dosing import dose_for

    weights = np.asarray(weight_kg, dtype=float)
    unique, inverse = np.unique(weights, return_inverse=True)
    total = np.empty((weights.size, protocol.n_dose_levels))
    per_kg = np.empty_like(total)
    for k, level in enumerate(protocol.dose_levels):
        low, high = level.min_weight_kg, level.max_weight_kg
        outside = unique[
            (unique < (low if low is not None else -np.inf))
            | (unique > (high if high is not None else np.inf))
        ]
        if outside.size:
            raise InputError(
                Problem(
                    f"virtual patients weigh {outside.min():g}-{outside.max():g} kg, outside the weight "
                    f"bounds of dose level {level.level} ({level.label}); the simulator gives every level to "
                    "any eligible patient",
                    field="population.weight_kg",
                    value=float(outside[0]),
                    allowed=f"min and max within {low if low is not None else 'any'} to "
                    f"{high if high is not None else 'any'} kg",
                )
            )
        doses = [dose_for(protocol, float(w), level=level.level) for w in unique]
        total[:, k] = np.array([d.total_cells for d in doses])[inverse]
        per_kg[:, k] = np.array([d.effective_cells_per_kg for d in doses])[inverse]
    return total, per_kg


def _pd_courses(
    scenario: Scenario,
    eligible: Covariates,
    cells_per_kg: FloatArray,
    seed: np.random.SeedSequence,
    delivered: FloatArray | None = None,
) -> FloatArray:
    """(P, K, D) relative AQP4-IgG courses; the PD dose effect uses each patient's delivered cells/kg
    (`delivered`, (P, K); the level's nominal dose when not given)."""
    from cartrial.kinetics.pd import PdModel, load_pd_model, simulate_pd

    base = load_pd_model()
    params = dict(base.parameters)
    for name, value in scenario.pd.overrides.items():
        if name not in params:
            raise InputError(
                Problem(
                    "unknown PD parameter",
                    field=f"pd.overrides.{name}",
                    value=name,
                    allowed=choice_text(params),
                )
            )
        params[name] = replace(params[name], value=float(value))
    model = PdModel(label=base.label, parameters=params)
    n = len(eligible)
    days = np.arange(0.0, scenario.follow_up_days + 1.0)
    out = np.empty((n, cells_per_kg.size, days.size))
    chunk = 250
    seeds = seed.spawn(-(-n // chunk))
    ref = scenario.kinetics.reference_cells_per_kg
    for c, start in enumerate(range(0, n, chunk)):
        size = min(chunk, n - start)
        s = int(seeds[c].generate_state(1)[0])
        for k, dose in enumerate(cells_per_kg):
            factor = _factors(
                dose,
                None if delivered is None else delivered[start : start + size, k],
                (size,),
                lambda d: m.dose_factor(d, ref, scenario.pd.dose_exponent),
            )
            sim = simulate_pd(size, days, seed=s, model=model, e0_scale=factor)  # the sampled e0 × factor
            out[start : start + size, k, :] = sim.antibody_relative
    return np.maximum(out, 1e-9)


def _factors(
    nominal: float, delivered: FloatArray | None, shape: tuple[int, ...], factor: Callable[[Any], Any]
) -> FloatArray:
    """The dose factor of each patient: the nominal dose's, except where the delivered cells/kg differ from
    it (a capped or rounded dose); the nominal factor is computed once, as before the cap was modelled."""
    out = np.full(shape, float(factor(nominal)))
    if delivered is not None:
        moved = delivered != nominal
        if moved.any():
            out[moved] = factor(delivered[moved])
    return out


def prepare(
    scenario: Scenario, protocol: Protocol, seed: int = 0, *, scenario_file: str | None = None
) -> Prepared:
    """Screen the virtual pool and compute its PD courses (stage 1 of a run; see the module docstring)."""
    _check_type("scenario", scenario, Scenario, "a Scenario (load_scenario(path)[0] or parse_scenario(text))")
    _check_type("protocol", protocol, Protocol, "a Protocol (cartrial.protocol.load_protocol(path))")
    if scenario_file is not None:  # named in messages about the scenario
        scenario_file = str(path_argument(scenario_file, "scenario_file"))
    _check_seed(seed)
    cells = np.array([level.cells_per_kg for level in protocol.dose_levels], dtype=float)
    try:  # a scenario key the protocol refuses is named with the scenario file (D-19.341)
        design = build_design(protocol, scenario)
        m.dlt_probability_check(scenario, cells.size)
    except InputError as error:
        raise (error.renamed(lambda field: None, file=scenario_file) if scenario_file else error) from None
    pool_seed, _trial_seed = np.random.SeedSequence(seed).spawn(2)
    pop_seed, pd_seed = pool_seed.spawn(2)
    rng = np.random.default_rng(pop_seed)
    covariates = draw_covariates(scenario.population, scenario.pool_size, rng)
    start = dt.date.fromisoformat(scenario.accrual.start_date)
    pool = screen_covariates(protocol, covariates, start)
    check_feasible(pool, scenario_file)
    eligible = pool.eligible_covariates()
    total_cells, delivered = delivered_doses(protocol, [dosing_weight(w) for w in eligible.weight_kg])
    antibody = _pd_courses(scenario, eligible, cells, pd_seed, delivered)
    powered = antibody**scenario.efficacy.hazard_exponent
    cum = np.concatenate(
        [np.zeros((*powered.shape[:2], 1)), np.cumsum((powered[..., 1:] + powered[..., :-1]) / 2, axis=-1)],
        axis=-1,
    )
    spec = escalation_spec(protocol, scenario)
    judge = m.DltJudge(
        tuple(spec.dlt_rules), float(spec.dlt_window_days), Relatedness(scenario.toxicity.relatedness)
    )
    return Prepared(
        scenario=scenario,
        protocol=protocol,
        design=design,
        cells_per_kg=cells,
        pool=pool,
        eligible=eligible,
        antibody=antibody,
        cum_hazard_days=cum,
        judge=judge,
        seed=seed,
        total_cells=total_cells,
        delivered_cells_per_kg=delivered,
        settings={"window_days": float(spec.dlt_window_days), "stagger_days": float(spec.stagger_days)},
        scenario_file=scenario_file,
    )


BATCH_SIZE = Allowed(low=1, integer=True)
"""`simulate_trials`' batch size: trials simulated together (0 would loop for ever; D-19.69)."""


def _check_type(field: str, value: Any, kind: type, allowed: str) -> None:
    """Refuse an argument of the wrong type where it enters (None, a path for a loaded object…) with an
    `InputError` naming it, never an AttributeError from inside (decisions D-19.69)."""
    if not isinstance(value, kind):
        raise InputError(
            Problem(f"not a {kind.__name__}: a {type(value).__name__}", field=field, allowed=allowed)
        )


def _check_seed(seed: int) -> None:
    check_seed(seed)  # one range for every seed (D-19.19)


def max_cohorts(prepared: Prepared) -> int:
    """Most escalation cohorts a trial can need: the scenario's `design.max_cohorts`, else 2 × levels for
    3+3 (a level never holds more than 6), else ceil(max_n / cohort size)."""
    from cartrial.escalation.behaviours import BehavingDesign
    from cartrial.escalation.simulation import cohorts_for_max_n
    from cartrial.escalation.three_plus_three import ThreePlusThree

    if prepared.scenario.design.max_cohorts is not None:
        return prepared.scenario.design.max_cohorts
    design = prepared.design
    inner = design.inner if isinstance(design, BehavingDesign) else design
    if isinstance(inner, ThreePlusThree):
        return 2 * inner.n_doses
    max_n = design.max_n if isinstance(design, BehavingDesign) else None
    if max_n is None:
        raise InputError(
            Problem(
                "the design has no maximum sample size: give design.max_cohorts in the scenario (or max_n in "
                "the protocol's escalation section)",
                field="design.max_cohorts",
                value=None,
                allowed="1..1000",
            )
        )
    return cohorts_for_max_n(None, int(design.cohort_size), int(max_n))


@dataclass(frozen=True)
class PatientDraws:
    """Per-slot random draws and derived per-dose quantities of a batch of trials (shape (T, S[, K]))."""

    pool_index: npt.NDArray[np.int64]
    exposure: FloatArray  # (T, S, K)
    cmax: FloatArray  # (T, S, K)
    persistence_level: FloatArray  # (T, S, K)
    crs: npt.NDArray[np.int64]  # (T, S, K) graded
    icans: npt.NDArray[np.int64]
    dlt: npt.NDArray[np.bool_]  # (T, S, K)
    screened: npt.NDArray[np.int64]  # candidates screened per infused patient
    gap_days: FloatArray
    vein_to_vein_days: FloatArray
    dropout_days: FloatArray
    relapse_u: FloatArray
    improve_u: FloatArray
    fs_u: FloatArray  # (T, S, R, 3)
    relapse_seed: npt.NDArray[np.int64]  # (T, S) the seed of the slot's relapse onset times (D-19.858)
    kinetic_params: FloatArray  # (T, S, 6) Stein parameters at the reference dose
    crs_onset: npt.NDArray[np.int64]  # (T, S) days after infusion
    crs_duration: npt.NDArray[np.int64]
    icans_onset: npt.NDArray[np.int64]
    icans_duration: npt.NDArray[np.int64]
    cytopenia: dict[str, npt.NDArray[np.int64]]  # neutrophils/platelets grade and days (T, S, K)


def draw_patients(prepared: Prepared, rng: np.random.Generator, trials: int, slots: int) -> PatientDraws:
    """Draw every slot's patient and outcomes at every dose level (docs/simulation.md §3-§4)."""
    sc = prepared.scenario
    tox = sc.toxicity
    shape = (trials, slots)
    pool_index = rng.integers(0, len(prepared.eligible), size=shape)
    cov = prepared.eligible
    eta = rng.standard_normal((*shape, 6))
    u_crs, u_icans, u_dlt = rng.random(shape), rng.random(shape), rng.random(shape)
    z_crs_on, z_crs_dur, z_ic_on, z_ic_dur = (rng.standard_normal(shape) for _ in range(4))
    neut = (rng.random(shape), rng.random(shape), rng.standard_normal(shape))
    plt_ = (rng.random(shape), rng.random(shape), rng.standard_normal(shape))
    params = m.kinetic_parameters(sc.kinetics, eta)
    ref_exposure = m.reference_exposure(sc)
    k_levels = prepared.n_doses
    exposure = np.empty((*shape, k_levels))
    cmax = np.empty_like(exposure)
    persist = np.empty_like(exposure)
    crs = np.empty((*shape, k_levels), dtype=np.int64)
    icans = np.empty_like(crs)
    dlt = np.zeros((*shape, k_levels), dtype=bool)
    crs_map = np.array(m.crs_engine_grades())
    icans_map = np.array(m.icans_engine_grades())
    covariates = {
        "age_per_decade": (cov.age_years[pool_index] - 45.0) / 10.0,
        "female": cov.female[pool_index].astype(float),
        "edss": cov.edss[pool_index] - 4.0,
        "weight_per_10kg": (cov.weight_kg[pool_index] - 62.0) / 10.0,
    }

    def lognormal(spec: Any, z: FloatArray) -> FloatArray:
        values = spec.median * np.exp(spec.sd_log * z)
        return values if spec.max is None else np.minimum(values, spec.max)

    crs_onset = np.rint(lognormal(tox.crs.onset_days, z_crs_on)).astype(np.int64)
    crs_duration = np.maximum(np.rint(lognormal(tox.crs.duration_days, z_crs_dur)), 1).astype(np.int64)
    icans_onset = np.rint(lognormal(tox.icans.onset_days, z_ic_on)).astype(np.int64)
    icans_duration = np.maximum(np.rint(lognormal(tox.icans.duration_days, z_ic_dur)), 1).astype(np.int64)

    cyto = {
        name: np.zeros((*shape, k_levels), dtype=np.int64)
        for name in ("neutrophils_grade", "neutrophils_days", "platelets_grade", "platelets_days")
    }
    for k, dose in enumerate(prepared.cells_per_kg):
        # the delivered dose (the protocol's cap and rounding, `delivered_doses`) drives the kinetics
        factor = _factors(
            float(dose),
            prepared.delivered_cells_per_kg[pool_index, k],
            shape,
            lambda d: m.dose_factor(d, sc.kinetics.reference_cells_per_kg, sc.kinetics.dose_exponent),
        )
        ex = m.exposures(params, factor, sc.kinetics)
        exposure[..., k] = ex[tox.exposure]
        cmax[..., k] = ex["cmax"]
        persist[..., k] = ex["level_after_persistence_day"]
        x = m.log_ratio(exposure[..., k], ref_exposure)
        latent_crs = np.minimum(m.ordinal_grade(tox.crs, x, covariates, u_crs), 5)
        crs[..., k] = crs_map[latent_crs]
        latent_icans = np.minimum(
            m.ordinal_grade(tox.icans, x, {**covariates, "crs_grade": crs[..., k].astype(float)}, u_icans), 4
        )
        icans[..., k] = icans_map[latent_icans]
        n_grade, n_days = m.cytopenia_course(tox.neutropenia, x, *neut)
        p_grade, p_days = m.cytopenia_course(tox.thrombocytopenia, x, *plt_)
        cyto["neutrophils_grade"][..., k], cyto["neutrophils_days"][..., k] = n_grade, n_days
        cyto["platelets_grade"][..., k], cyto["platelets_days"][..., k] = p_grade, p_days
        if tox.fixed_dlt_probability is not None:
            dlt[..., k] = u_dlt < tox.fixed_dlt_probability[k]
            continue
        events = level_events(crs, icans, cyto, k, (crs_onset, crs_duration), (icans_onset, icans_duration))
        dlt[..., k] = judged_dlts(prepared, events)
    pass_rate = prepared.pool.pass_rate * (1.0 - sc.manufacturing.failure_probability)
    screened = rng.geometric(pass_rate, size=shape).astype(np.int64)
    gap = rng.gamma(screened.astype(float), DAYS_PER_MONTH / sc.accrual.candidates_per_month)
    v2v = lognormal(sc.manufacturing.vein_to_vein_days, rng.standard_normal(shape))
    hazard = sc.dropout.hazard_per_year / 365.25
    dropout = rng.exponential(1.0 / hazard, size=shape) if hazard > 0 else np.full(shape, np.inf)
    return PatientDraws(
        pool_index=pool_index,
        exposure=exposure,
        cmax=cmax,
        persistence_level=persist,
        crs=crs,
        icans=icans,
        dlt=dlt,
        screened=screened,
        gap_days=gap,
        vein_to_vein_days=v2v,
        dropout_days=dropout,
        relapse_u=rng.random(shape),
        improve_u=rng.random((*shape, 4)),
        fs_u=rng.random((*shape, 8, 3)),
        # drawn after every other draw of the slot: the earlier streams of a seed are unchanged (D-19.858)
        relapse_seed=rng.integers(0, 2**62, size=shape),
        kinetic_params=params,
        crs_onset=crs_onset,
        crs_duration=crs_duration,
        icans_onset=icans_onset,
        icans_duration=icans_duration,
        cytopenia=cyto,
    )


#: Day after the infusion on which a DLT of the fixed-probability model is recorded (`simulate study`) [P].
FIXED_DLT_DAY = 7.0


def join_draws(first: PatientDraws, second: PatientDraws) -> PatientDraws:
    """The slots of `first` then those of `second` (same trials): the reserve of replacement patients."""
    values: dict[str, Any] = {}
    for item in fields(PatientDraws):
        a, b = getattr(first, item.name), getattr(second, item.name)
        if isinstance(a, dict):
            values[item.name] = {key: np.concatenate([a[key], b[key]], axis=1) for key in a}
        else:
            values[item.name] = np.concatenate([a, b], axis=1)
    return PatientDraws(**values)


#: Largest probability that a trial needs more replacement patients than its reserve (`reserve_slots`).
RESERVE_RISK = 1e-6


def reserve_slots(prepared: Prepared, cohorts: int, size: int) -> int:
    """Replacement patients drawn per trial beyond the design's slots (D-19.132, D-19.801): room for the
    patients who leave inside the DLT window. With the probability p = 1 - exp(-hazard · window) that a
    patient drops out inside it, the replacements for `cohorts` × `size` evaluable patients are the failures
    before that many successes: negative binomial (mean n·p/(1 - p), variance n·p/(1 - p)²); the reserve is
    its 1 - `RESERVE_RISK` quantile, and one cohort more. Drawn after the other slots, so a trial that needs
    none is the trial it was before. (It was the mean + 4·sqrt(mean), a Poisson SD, with p capped at 0.9:
    at a 90-day window and 10 dropouts a year a third of the trials ran out of it, and the last
    non-evaluable patient then counted as an outcome without a DLT.)"""
    window = prepared.settings["window_days"]
    rate = prepared.scenario.dropout.hazard_per_year / 365.25 * window
    if rate <= 0:
        return size
    from scipy.stats import nbinom

    stays = float(np.exp(-rate))  # P(followed through the window), never rounded to 0 by 1 - p
    needed = float(nbinom.ppf(1.0 - RESERVE_RISK, cohorts * size, stays)) if stays > 0 else np.inf
    if not needed <= MAX_TRIAL_SLOTS:
        raise InputError(
            Problem(
                "with this dropout hazard almost nobody stays through the DLT window: the replacement "
                f"patients a trial needs exceed the limit {MAX_TRIAL_SLOTS}",
                field="dropout.hazard_per_year",
                value=prepared.scenario.dropout.hazard_per_year,
                allowed=f"a lower hazard (or a shorter DLT window than {window:g} days)",
            )
        )
    return int(needed) + size


def draw_with_reserve(
    prepared: Prepared,
    rng: np.random.Generator,
    reserve_rng: np.random.Generator,
    trials: int,
    slots: int,
    reserve: int,
) -> PatientDraws:
    """`draw_patients` for the design's `slots`, then (from `reserve_rng`) the `reserve` replacement slots."""
    return join_draws(
        draw_patients(prepared, rng, trials, slots), draw_patients(prepared, reserve_rng, trials, reserve)
    )


def death_days_at_levels(draws: PatientDraws) -> FloatArray:
    """Day of death after the infusion (T, S, K) of each slot were it treated at each level, +inf when it
    does not die there (D-19.97): a CRS (or ICANS) graded `FATAL_GRADE` is fatal on the last day of its
    episode (onset + duration − 1; the episode's earlier days are its grade-4 course)."""
    out = np.full(draws.crs.shape, np.inf)
    for grades, onset, duration in (
        (draws.crs, draws.crs_onset, draws.crs_duration),
        (draws.icans, draws.icans_onset, draws.icans_duration),
    ):
        day = (onset + duration - 1).astype(float)[..., None]
        out = np.where(grades >= FATAL_GRADE, np.minimum(out, day), out)
    return out


Event = tuple[ToxicityCategory, str, npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]
"""A toxicity of every slot at one level: category, term, grade, onset day and duration in days (T, S);
grade 0 = none."""


def level_events(
    crs: npt.NDArray[np.int64],
    icans: npt.NDArray[np.int64],
    cytopenia: dict[str, npt.NDArray[np.int64]],
    k: int,
    crs_course: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
    icans_course: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
) -> tuple[Event, ...]:
    """The toxicities the DLT rules judge of every slot treated at level `k`: CRS and ICANS (graded (T, S,
    K); `*_course`: onset day and duration (T, S)) and the neutropenia and thrombocytopenia of `cytopenia`
    (grade and days (T, S, K), from day 1)."""
    from cartrial.grading.ctcae import ctcae_term

    one = np.ones(crs_course[0].shape, dtype=np.int64)
    return (
        (ToxicityCategory.CRS, m.CRS_TERM, crs[..., k], *crs_course),
        (ToxicityCategory.ICANS, m.ICANS_TERM, icans[..., k], *icans_course),
        *(
            (
                ToxicityCategory.HEMATOLOGIC,
                ctcae_term(analyte),
                cytopenia[f"{analyte}_grade"][..., k],
                one,
                cytopenia[f"{analyte}_days"][..., k],
            )
            for analyte in ("neutrophils", "platelets")
        ),
    )


def judged_dlts(
    prepared: Prepared, events: tuple[Event, ...], followed_to: Any = None
) -> npt.NDArray[np.bool_]:
    """(T, S) whether the protocol's DLT rules (`prepared.judge`) judge one of `events` a DLT.
    `followed_to` (T, S; the last day the patient is followed, +inf: throughout): each event is judged on
    its course as observed by then (D-19.161) — one not begun is not seen, one still running lasts the days
    to that day (onset to the last day followed, as the adverse-event record left open then reads), so a
    grade-3 cytopenia of 20 days in a patient who left on day 5 is 4 days long and not a "> 7 days" DLT."""
    out = np.zeros(events[0][2].shape, dtype=bool)
    for category, term, grade, day, duration in events:
        if followed_to is not None:
            observed = np.minimum(duration, followed_to - day)
            grade = np.where(observed >= 0, grade, 0)
            duration = np.maximum(observed, 0).astype(np.int64)
        out |= prepared.judge.judge(category, term, grade, day, duration)
    return out


def dlts_seen_by(prepared: Prepared, draws: PatientDraws, left: FloatArray) -> npt.NDArray[np.bool_]:
    """(T, S, K) whether each slot, were it treated at each level, has a DLT seen by `left` (T, S, K), the
    last whole day it is followed (+inf: throughout): the protocol's rules find it in the course observed
    by then (`judged_dlts`, D-19.161); a DLT of the fixed-probability model when its day, `FIXED_DLT_DAY`,
    is by then. The one reading of a course cut short, for the design (`observed_dlts`) and for the data
    at a cut-off (`_dlts_by`; D-19.312)."""
    if prepared.scenario.toxicity.fixed_dlt_probability is not None:
        return np.asarray(draws.dlt & (left >= FIXED_DLT_DAY), dtype=bool)
    seen = np.zeros_like(draws.dlt)
    crs_course = (draws.crs_onset, draws.crs_duration)
    icans_course = (draws.icans_onset, draws.icans_duration)
    for k in range(draws.dlt.shape[2]):
        events = level_events(draws.crs, draws.icans, draws.cytopenia, k, crs_course, icans_course)
        followed = left[..., k]
        # a slot whose every event ended by the last day followed is judged as drawn (`draws.dlt`);
        # only those with an event cut short (few: a dropout, death or cut-off during it) are judged again
        cut = np.zeros(followed.shape, dtype=bool)
        for _category, _term, grade, day, duration in events:
            cut |= (grade >= 1) & (followed < day + duration)
        seen[..., k] = draws.dlt[..., k]
        if cut.any():
            short = tuple((c, t, g[cut], d[cut], u[cut]) for c, t, g, d, u in events)
            seen[..., k][cut] = judged_dlts(prepared, short, followed[cut])
    return seen


def last_day_followed(follow: Any) -> Any:
    """The last whole day (after the infusion) a patient is followed, from `follow`, the day the follow-up
    ends (the earliest of the dropout, the death, the end of follow-up and the data cut-off; NaN: not
    treated, given -1, before every event): its floor. The day `simulate study` writes the last assessment
    and adverse event by (D-19.877), so the one rule of what the data hold: a DLT seen (`observed_dlts`,
    `_dlts_by`), a CRS or ICANS episode counted (D-19.1022), an event written (`simulate study`;
    D-19.1026). A death on day 9.5 ends the follow-up during day 9 (followed on day 9); a dropout on day 12
    is written withdrawn on day 12. Scalar in, scalar out; an array in, an array out."""
    days = np.asarray(follow, dtype=float)
    return np.where(np.isnan(days), -1.0, np.floor(days))[()]


def observed_dlts(prepared: Prepared, draws: PatientDraws) -> tuple[npt.NDArray[np.bool_], ...]:
    """(DLT seen, DLT-evaluable), (T, S, K), of each slot were it treated at each level (D-19.132): the
    patient is followed to the last whole day before the dropout (the day it is written withdrawn,
    `simulate study`) or to the death; a DLT is seen when the protocol's rules find it in the course
    observed by then (`dlts_seen_by`); DLT-evaluable by the protocol's rule
    (`cartrial.protocol.dlt.dlt_evaluable`, the analysis's): a DLT seen, or followed through the DLT
    window. A patient who leaves or dies inside the window without a DLT is not evaluable: replaced."""
    from cartrial.protocol.dlt import dlt_evaluable

    death = death_days_at_levels(draws)
    dropout = draws.dropout_days[..., None]
    left = last_day_followed(np.minimum(dropout, death))
    seen = dlts_seen_by(prepared, draws, left)
    # whole days followed through, as the analysis and the replay count them (`dlt_followed_days`): a
    # dropout is written withdrawn on site day `left`, all of it followed; a death (whole days after the
    # infusion, so on site day `left`) ends the follow-up on that day, which is not one followed through
    # (D-19.231, D-19.1322)
    followed = np.where(death <= dropout, np.maximum(left - 1.0, 0.0), left)
    return seen, np.asarray(dlt_evaluable(followed, seen, prepared.settings["window_days"]), dtype=bool)


@dataclass(frozen=True)
class TrialBatch:
    """Per-trial and per-slot results of `simulate_trials` (0-based dose levels; -1 = none)."""

    trials: int
    seed: int
    n_doses: int
    slot_dose: npt.NDArray[np.int64]  # (T, S)
    mtd: npt.NDArray[np.int64]
    safety_stop: npt.NDArray[np.bool_]
    n: FloatArray  # (T, K)
    y: FloatArray  # (T, K)
    metrics: dict[str, FloatArray]  # per-trial metrics (T,)
    seconds: float
    #: infusion day of each slot (T, S; study day 0 = the first screening; NaN: not treated), the calendar
    #: the data cut-off is read against (D-19.291)
    infusion_day: FloatArray | None = None
    #: per trial and level (T, K), % of the trial's patients who would have a DLT at the level: the
    #: scenario's true DLT probability, estimated (D-19.292)
    true_dlt: FloatArray | None = None
    #: per trial (T,), why its escalation stopped: `cartrial.escalation.StopReason` codes (D-19.313)
    stop_reason: npt.NDArray[np.int64] | None = None
    #: the target toxicity (`target_toxicity`) and, per level (K,), whether the level's true DLT probability
    #: is above it; None without a target (D-19.315)
    target_toxicity: float | None = None
    above_target: npt.NDArray[np.bool_] | None = None
    #: the trials of one random stream (`simulate_trials`' `batch_size`): with `seed`, what reproduces the run
    #: (D-19.1319)
    batch_size: int = 2000


def target_toxicity(prepared: Prepared) -> float | None:
    """The target toxicity of the "% treated above the target" OC (D-19.315): the scenario's
    `design.mtd_target`, else the design's own target (BOIN, CRM, mTPI-2, i3+3); None for a design without
    one (3+3) when the scenario names none."""
    named = prepared.scenario.design.mtd_target
    if named is not None:
        return float(named)
    target = getattr(prepared.design, "target", None)
    return None if target is None else float(target)


def levels_above_target(
    prepared: Prepared, true_dlt_pct: FloatArray, target: float | None
) -> npt.NDArray[np.bool_] | None:
    """(K,) whether each level's true DLT probability is above `target`: the scenario's fixed probabilities
    when it gives them, else the true DLT probability estimated over the run's trials (`true_dlt_pct`, (T, K)
    %, D-19.292); None without a target."""
    if target is None:
        return None
    fixed = prepared.scenario.toxicity.fixed_dlt_probability
    truth = np.asarray(fixed, dtype=float) if fixed is not None else true_dlt_pct.mean(axis=0) / 100.0
    return np.asarray(truth > target, dtype=bool)


def _escalate(
    prepared: Prepared, draws: PatientDraws, trials: int, size: int, cohorts: int
) -> tuple[Any, ...]:
    """Run the design cohort by cohort on the slots' DLTs: the escalation engine's cohort loop
    (`cartrial.escalation.simulation.run_cohorts`) with the virtual patients' observed DLTs as the outcome
    source — cohort c's patients are slots c·size …, the expansion's follow slot cohorts·size, each slot's
    outcome at the dose it is treated with. A patient not DLT-evaluable (left or died inside the window
    without a DLT, `observed_dlts`) is no outcome for the design: the next reserve slot (after the design's
    slots, `reserve_slots`) is treated in the same cohort at the same level in its place, until one is
    evaluable (D-19.132; 3+3 practice, Storer 1989); with the reserve spent, the last one counts as it was.
    The expansion's patients are not replaced; their DLTs are the observed ones too. Returns (slot_dose,
    cohort_of, mtd, safety, n, y, stop reason) over every slot, the reserve included; n and y count the
    design's (evaluable) patients and the expansion's."""
    from cartrial.escalation.simulation import run_cohorts

    rows = np.arange(trials)[:, None]
    total = draws.dlt.shape[1]
    from cartrial.escalation.behaviours import BehavingDesign

    expansion = prepared.design.expansion if isinstance(prepared.design, BehavingDesign) else None
    base = cohorts * size + (expansion.n_patients if expansion is not None else 0)
    seen, evaluable = observed_dlts(prepared, draws)
    ahead = np.full(trials, base)  # each trial's next reserve slot
    owner = np.full((trials, total), -1, dtype=np.int64)  # reserve slot -> design slot it replaced
    trial = np.arange(trials)

    def graded_dlts(cohort: int, dose: np.ndarray, n_patients: int) -> np.ndarray:
        nonlocal ahead
        cols = cohort * size + np.arange(n_patients)
        if cohort >= cohorts:  # the expansion: not replaced, its DLTs as observed (D-19.184)
            return seen[rows, cols[None, :], dose[:, None]]
        out = np.empty((trials, n_patients), dtype=bool)
        for j, col in enumerate(cols):
            slot = np.full(trials, col)
            while True:
                replace_now = ~evaluable[trial, slot, dose] & (ahead < total)
                if not replace_now.any():
                    break
                slot = np.where(replace_now, ahead, slot)
                owner[trial[replace_now], ahead[replace_now]] = col
                ahead = ahead + replace_now
            out[:, j] = seen[trial, slot, dose]
        return out

    run = run_cohorts(
        prepared.design, graded_dlts, trials=trials, cohorts=cohorts, cohort_size=size, keep_slots=True
    )
    assert run.slot_dose is not None and run.slot_cohort is not None
    assert run.slot_dose.shape[1] == base  # the design's slots the draws were made for
    slot_dose = np.full((trials, total), -1, dtype=np.int64)
    cohort_of = np.full((trials, total), -1, dtype=np.int64)
    slot_dose[:, :base], cohort_of[:, :base] = run.slot_dose, run.slot_cohort
    t_idx, r_idx = np.nonzero(owner >= 0)
    design_slot = owner[t_idx, r_idx]
    slot_dose[t_idx, r_idx] = run.slot_dose[t_idx, design_slot]  # -1 when its place was never treated
    cohort_of[t_idx, r_idx] = run.slot_cohort[t_idx, design_slot]
    return slot_dose, cohort_of, run.mtd, run.safety, run.n, run.y, run.reason


def _calendar(
    prepared: Prepared, draws: PatientDraws, slot_dose: np.ndarray, cohort_of: np.ndarray, cohorts: int
) -> FloatArray:
    """Infusion day of every treated slot (NaN otherwise), study day 0 = first screening: candidates arrive
    as a Poisson process, an eligible one is infused after the vein-to-vein time but not before the previous
    cohort's DLT window has closed and been decided on (`DECISION_LAG_DAYS`), the later patients of an
    escalation cohort at least `stagger_days` after its first (sentinel dosing, D-19.1202); the expansion
    starts after the last escalation cohort's window and decision. Candidates arrive in the order they are
    enrolled: cohort by cohort, a cohort's replacement patients (the reserve slots, `_escalate`) after its
    other patients, in slot order within a cohort."""
    window = prepared.settings["window_days"]
    stagger = prepared.settings["stagger_days"]
    treated = slot_dose >= 0
    trials, slots = slot_dose.shape
    # enrolment order: by cohort, then by slot (an identity on the treated slots when no one is replaced)
    key = np.where(treated, cohort_of, cohorts + 1) * slots + np.arange(slots)[None, :]
    enrolled = np.argsort(key, axis=1, kind="stable")

    def running(values: np.ndarray) -> np.ndarray:
        """Cumulative sum in enrolment order, returned in slot order."""
        out = np.empty_like(values)
        np.put_along_axis(out, enrolled, np.cumsum(np.take_along_axis(values, enrolled, axis=1), axis=1), 1)
        return out

    listed = prepared.scenario.accrual.arrival_days()
    if listed is None:
        arrival = running(np.where(treated, draws.gap_days, 0.0))
    else:
        days = np.asarray(listed)
        mean_gap = (days[-1] - days[0]) / (days.size - 1)
        count = running(np.where(treated, draws.screened, 0))  # candidates screened so far
        beyond = days[-1] + (count - days.size) * mean_gap
        arrival = np.where(count <= days.size, days[np.clip(count - 1, 0, days.size - 1)], beyond)
    ready = arrival + draws.vein_to_vein_days
    infusion = np.full((trials, slots), np.nan)
    gate = np.zeros(trials)
    for cohort in range(cohorts + 1):
        in_cohort = cohort_of == cohort
        if not in_cohort.any():
            continue
        cols = np.flatnonzero(in_cohort.any(axis=0))
        last = np.full(trials, -np.inf)
        first = np.full(trials, -np.inf)  # the cohort's first (sentinel) infusion
        for j in cols:
            here = in_cohort[:, j]
            # never before the patient enrolled before (`last`); an escalation cohort's later patients at
            # least `stagger_days` after its first: the sentinel interval of the protocol, counted from the
            # first patient, not from each previous one (NCT07488546; D-19.1202)
            # counted on the site's calendar, as the replay counts it (D-19.1203, D-19.1205)
            day = np.maximum(np.maximum(ready[:, j], gate), last)
            if cohort < cohorts and stagger:
                day = np.maximum(day, site_days_later(prepared.scenario, first, stagger))
            infusion[here, j] = day[here]
            first = np.where(here & ~np.isfinite(first), day, first)
            last = np.where(here, day, last)
        ended = np.isfinite(last)
        # the window and the decision counted in days of the site's calendar, as the sentinel interval
        # and the replay's DLT window are (D-19.1318)
        gate = np.where(ended, site_days_later(prepared.scenario, last, window + DECISION_LAG_DAYS), gate)
    return infusion


def decision_days(scenario: Scenario, last: FloatArray, window: float) -> FloatArray:
    """The study day of the escalation decision on a cohort whose last infusion was on study day `last`:
    the DLT window + `DECISION_DAYS_AFTER_WINDOW` days later on the site's calendar (`site_days_later`), so
    its site date is exactly that many days after the last infusion's, across a daylight-saving change too
    (D-19.1318; D-19.881 dates it on the site's calendar)."""
    return site_days_later(scenario, last, window + DECISION_DAYS_AFTER_WINDOW)


def _site_clock(scenario: Scenario, days: FloatArray) -> tuple[Any, Any, Any]:
    """(the site's zone, the instants `days` (finite) after the accrual start (08:00 UTC of `start_date`,
    as `infusion_instant`), their naive wall clock at the site), for the vectorised site-calendar
    arithmetic. Microsecond timestamps, as `datetime.timedelta(days=...)` rounds in `infusion_instant` and
    `consent_date` (nanoseconds put an instant a hair from a site midnight on the other side of it) and
    reaching every date a scenario allows (nanoseconds stop at 2262-04-11); the zone is `zoneinfo`'s, as
    the written study's (pytz, pandas' default for a zone name, has no daylight saving time after 2037).
    """
    import zoneinfo

    import pandas as pd

    zone = zoneinfo.ZoneInfo(scenario.accrual.site_time_zone)
    start = pd.Timestamp(
        dt.datetime.combine(dt.date.fromisoformat(scenario.accrual.start_date), dt.time(8, 0)), tz="UTC"
    ).as_unit("us")
    instants = pd.DatetimeIndex(start + pd.to_timedelta(days, unit="D").round("us").as_unit("us"))
    return zone, instants, instants.tz_convert(zone).tz_localize(None)


def site_days_later(scenario: Scenario, days: FloatArray, later: float) -> FloatArray:
    """The study day (after the accrual start, 08:00 UTC of `start_date`, as `infusion_instant`) of the
    moment `later` days after each of `days` on the site's wall clock (`accrual.site_time_zone`): the same
    time of day, `later` dates on, so its site date is exactly `later` days after — across a daylight-saving
    change too, where `later` × 24 h is an hour short or long (D-19.1205). A wall time a spring-forward change
    skips is moved forward by the gap, an ambiguous one (fall-back) is the first of the two, and a moment that
    would still fall short of the site date `later` days on (a skipped day, Pacific/Apia 2011-12-30) is the
    first moment on or after that date (D-19.1255); a non-finite day stays as it is.

    >>> from cartrial import examples
    >>> from cartrial.simulation import load_scenario
    >>> sc, _ = load_scenario(examples.path("ct103a-nmosd") / "scenario.yaml")  # Asia/Shanghai: no DST
    >>> site_days_later(sc, np.array([0.25, -np.inf]), 14).tolist()
    [14.25, -inf]
    """
    import pandas as pd

    days = np.asarray(days, dtype=float)
    # a day whose moment `later` days on is past the last date Python writes (9999-12-31) has no site
    # calendar: it is `later` days on as it is; `simulate study` refuses such a calendar with its reason
    # ("runs past the year 9999") once the calendar is known
    last_day = (dt.date.max - dt.date.fromisoformat(scenario.accrual.start_date)).days - 1
    finite = np.isfinite(days) & (days + max(later, 0.0) < last_day)
    if not finite.any():
        return days + later
    zone, instants, wall = _site_clock(scenario, days[finite])
    wall = wall + pd.Timedelta(days=later).as_unit("us")
    moved = wall.tz_localize(
        zone, ambiguous=np.ones(len(wall), dtype=bool), nonexistent="shift_forward"
    ).tz_convert("UTC")
    # a skipped site day (Pacific/Apia, 2011-12-30) is not "shifted forward" onto the next date: a moment
    # short of the target site date moves to the first moment on or after it (its midnight, or the end of
    # the gap when that midnight was skipped too: `fold=0` reads a skipped wall time with the offset before)
    target = wall.normalize()
    short = np.flatnonzero(moved.tz_convert(zone).tz_localize(None).normalize() < target)
    if short.size:
        values = moved.to_pydatetime()
        for j in short.tolist():
            first = target[j].to_pydatetime().replace(tzinfo=zone, fold=0).astimezone(dt.UTC)
            values[j] = max(values[j], first)
        moved = pd.DatetimeIndex(values).as_unit("us")
    # the change of the UTC offset between the two moments (0 without one: exactly `days + later` then)
    shift = ((moved - instants) - pd.Timedelta(days=later)) / pd.Timedelta(days=1)
    out = days + later
    out[finite] += np.asarray(shift, dtype=float)
    return out


def infusion_instant(scenario: Scenario, infusion_day: float) -> dt.datetime:
    """The infusion `infusion_day` days after the accrual start (08:00 UTC of `start_date`) on the site's
    clock (`accrual.site_time_zone`): study day 0 of `simulate study` (D-19.856)."""
    import zoneinfo

    start = dt.datetime.combine(
        dt.date.fromisoformat(scenario.accrual.start_date), dt.time(8, 0), tzinfo=dt.UTC
    )
    return (start + dt.timedelta(days=float(infusion_day))).astimezone(
        zoneinfo.ZoneInfo(scenario.accrual.site_time_zone)
    )


#: days from the consent (screening) to the vein-to-vein time's start: the consent is the infusion's site
#: moment − (vein-to-vein + CONSENT_LEAD_DAYS) days (`consent_date`)
CONSENT_LEAD_DAYS = 14.0
#: the days of the drawn relapse history before the consent (`population.draw_covariates`: 1-730)
HISTORY_DAYS = 730


def consent_date(infused_local: dt.datetime, vein_to_vein_days: float) -> dt.date:
    """The site date of a virtual patient's consent (its screening, the date eligibility is judged as of):
    vein-to-vein + 14 days before the infusion on the site's clock (`infusion_instant`).

    >>> consent_date(dt.datetime(2022, 3, 1, 10, tzinfo=dt.UTC), 28.5).isoformat()
    '2022-01-17'
    """
    return (infused_local - dt.timedelta(days=float(vein_to_vein_days) + CONSENT_LEAD_DAYS)).date()


def interval_onset_days(
    pre_attacks: int,
    gap_days: int,
    seed: int,
    regression_to_mean: float,
    days_before_consent: list[int],
    protocol: Protocol,
    options: RelapseOptions | None = None,
) -> list[int]:
    """The relapse onsets of a virtual patient between its consent and its infusion (D-19.876, D-19.880,
    D-19.882), in days before the infusion's site day, oldest first: on the `gap_days` − 1 days strictly
    between the consent's site date and the infusion's (1 to `gap_days` − 1 days before the infusion), a
    Poisson number of attacks with mean `pre_attacks` / 730 × `regression_to_mean` per day — the patient's
    attack rate after its selection at the consent, the rate the post-infusion hazard reads without any
    effect (`Prepared.pre_attacks_24m` / 2 a year × `efficacy.regression_to_mean`) — from the slot's relapse
    seed (`PatientDraws.relapse_seed`) spawned apart from the post-infusion onsets' stream, so the OC and
    the study it writes draw the same onsets. The rate is of attacks as the protocol counts them
    (`cartrial.protocol.group_onsets`, onsets < `merge_window_days` apart are one attack), so each attack
    is placed, one after the other, uniformly on a day where it is a new attack: one that, with the drawn
    history (`days_before_consent`) and the attacks placed before it, adds one to the attack count (a day
    merged with an attack is not a new attack; none left: no more attacks, rare as two need days 30
    apart). An onset per drawn day (before D-19.882) merged with the history's last attack or another
    interval onset, and the analysis read ≈ 9 % fewer interval attacks than drawn. The onsets are placed on
    whole-day numbers (`cartrial.protocol.group_day_onsets`, the rule `group_onsets` calls); `options`, the
    protocol's relapse definition when the caller read it once (`Prepared.relapse_options`).

    >>> from cartrial import examples
    >>> from cartrial.protocol import load_protocol
    >>> protocol = load_protocol(examples.path("ct103a-nmosd") / "protocol.yaml")
    >>> interval_onset_days(0, 45, 7, 0.6, [], protocol), interval_onset_days(5, 1, 7, 0.6, [], protocol)
    ([], [])
    """
    from bisect import insort

    from cartrial.neuro.derive import relapse_options_from_protocol
    from cartrial.protocol import group_day_onsets

    days = int(gap_days) - 1
    if days <= 0 or pre_attacks <= 0:
        return []
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(1,)))
    count = int(rng.poisson(pre_attacks / HISTORY_DAYS * float(regression_to_mean) * days))
    if count == 0:
        return []
    relapse = relapse_options_from_protocol(protocol) if options is None else options

    def attacks(onsets: list[int]) -> int:
        return len(group_day_onsets(onsets, relapse.merge_window_days, relapse.merge_anchor))

    # day numbers after the consent's site date (the history before it negative), kept sorted
    placed = sorted(-int(d) for d in days_before_consent)
    chosen: list[int] = []
    for _ in range(count):
        now = attacks(placed)
        free = []
        for d in range(1, days + 1):
            if d in chosen:
                continue
            trial = list(placed)
            insort(trial, int(gap_days) - d)
            if attacks(trial) == now + 1:
                free.append(d)
        if not free:
            break
        pick = int(free[int(rng.integers(len(free)))])
        chosen.append(pick)
        insort(placed, int(gap_days) - pick)
    return sorted(chosen, reverse=True)


def consent_gap_days(
    scenario: Scenario, infusion_days: FloatArray, vein_to_vein_days: FloatArray
) -> FloatArray:
    """Days from the consent's site date to the infusion's (`consent_date`, `infusion_instant`), for arrays
    of infusion days (after the accrual start) and vein-to-vein times at once: the site's wall clock of the
    infusion instant, its date minus the date of that wall clock − (vein-to-vein + 14 days), as
    `consent_date` subtracts on the wall clock of an aware datetime (NaN where the infusion day is NaN).

    >>> from cartrial import examples
    >>> from cartrial.simulation import load_scenario
    >>> sc, _ = load_scenario(examples.path("ct103a-nmosd") / "scenario.yaml")  # Asia/Shanghai, UTC+8
    >>> # day 0: 04-01 16:00, consent 02-18 04:00 (42 days); day 0.4: 04-02 01:36, consent 02-18 13:36 (43)
    >>> consent_gap_days(sc, np.array([0.0, 0.4, np.nan]), np.array([28.5, 28.5, 28.5])).tolist()
    [42.0, 43.0, nan]
    """
    import pandas as pd

    days = np.asarray(infusion_days, dtype=float)
    finite = np.isfinite(days)
    _, _, wall = _site_clock(scenario, np.where(finite, days, 0.0))
    lead = (
        pd.to_timedelta(np.asarray(vein_to_vein_days, dtype=float) + CONSENT_LEAD_DAYS, unit="D")
        .round("us")
        .as_unit("us")
    )
    gap = (wall.normalize() - (wall - lead).normalize()).days.to_numpy(dtype=float)
    return np.where(finite, gap, np.nan)


def expected_pre_arr(pre_attacks: FloatArray, gap_days: FloatArray, regression_to_mean: float) -> FloatArray:
    """The pre-infusion ARR the analysis expects to read of a virtual patient (D-19.880): its 24-month
    window before the infusion's site day (730 days) holds the last 730 − gap days of the drawn history
    (`pre_attacks` in 730 days), the consent day (no onset: the drawn history ends the day before, the
    interval starts the day after) and the gap − 1 days of the interval at `regression_to_mean` × that rate
    (`interval_onset_days`): pre_attacks / 2 × (730 − gap + rtm × (gap − 1)) / 730.

    >>> expected_pre_arr(np.array([4.0]), np.array([46.0]), 0.6).round(4).tolist()  # 2 × (684 + 27) / 730
    [1.9479]
    """
    gap = np.asarray(gap_days, dtype=float)
    share = (HISTORY_DAYS - gap + float(regression_to_mean) * (gap - 1.0)) / HISTORY_DAYS
    return np.asarray(pre_attacks, dtype=float) / 2.0 * share


def written_history_days(
    days_before_consent: list[int],
    pre_attacks: int,
    infused_local: dt.datetime | None,
    vein_to_vein_days: float,
    seed: int,
    regression_to_mean: float,
    protocol: Protocol,
    options: RelapseOptions | None = None,
    gap_days: int | None = None,
) -> list[int]:
    """The pre-treatment relapse history of a virtual patient as written and as the analysis reads it, in
    days before the infusion's site day, oldest first (D-19.876, D-19.880): the drawn onsets
    (`days_before_consent`, 1-730, the history the eligibility screen judged as of the consent) dated back
    from the consent's site date, then the onsets between the consent and the infusion
    (`interval_onset_days`, at the rate after selection). The protocol's ARR window, the 24 calendar months
    before the infusion, holds the drawn onsets of the last 730 − gap days before the consent, the consent
    day (no onset) and the interval's: the analysis reads `expected_pre_arr`, the OC's `arr_pre`.
    `gap_days`, the days from the consent's site date to the infusion's when the caller has them
    (`consent_gap_days`, the same days; `infused_local` is then not read); `options` as
    `interval_onset_days`.

    >>> from cartrial import examples
    >>> from cartrial.protocol import load_protocol
    >>> protocol = load_protocol(examples.path("ct103a-nmosd") / "protocol.yaml")
    >>> at = dt.datetime(2022, 3, 1, 10, tzinfo=dt.UTC)  # consent 2022-01-17: 43 days before the infusion
    >>> written_history_days([700, 20], 0, at, 28.5, 1, 0.6, protocol)
    [743, 63]
    """
    if gap_days is None:
        if infused_local is None:
            raise ValueError("written_history_days needs infused_local or gap_days")
        gap = (infused_local.date() - consent_date(infused_local, vein_to_vein_days)).days
    else:
        gap = int(gap_days)
    before = {int(d) + gap for d in days_before_consent}
    interval = interval_onset_days(
        pre_attacks, gap, seed, regression_to_mean, days_before_consent, protocol, options
    )
    return sorted(before | set(interval), reverse=True)


def data_cutoff_date(scenario: Scenario, cutoff_day: float) -> dt.date:
    """The data cut-off's date: the date on the site's calendar (`accrual.site_time_zone`) of the cut-off
    instant, `cutoff_day` days after the accrual start (08:00 UTC of `start_date`), the instant the OC's
    follow-up ends at (D-19.878). The store reads a record against the cut-off on its site's calendar
    (`on_or_before_cutoff`, D-19.729), and a virtual record before the cut-off instant is dated on or before
    this date; the UTC date (before D-19.878) was a day early at a site east of UTC, and the records of its
    last day were after the study's own cut-off.

    >>> from cartrial import examples
    >>> from cartrial.simulation import load_scenario
    >>> sc, _ = load_scenario(examples.path("ct103a-nmosd") / "scenario.yaml")
    >>> zone = sc.accrual.model_copy(update={"site_time_zone": "Asia/Shanghai"})
    >>> at = sc.model_copy(update={"accrual": zone})  # 0.5 days: 20:00 UTC, 04:00 the next day at the site
    >>> data_cutoff_date(at, 0.1).isoformat(), data_cutoff_date(at, 0.5).isoformat()
    ('2021-04-01', '2021-04-02')
    """
    return infusion_instant(scenario, cutoff_day).date()


def relapse_onset_days(curve: FloatArray, follow_days: float, count: int, seed: int) -> list[float]:
    """The `count` drawn post-infusion attack onsets (days after the infusion) of one patient, i.i.d. with
    density ∝ the hazard on [0, follow-up] (the inverse of the cumulative hazard `curve`, per whole day),
    from the slot's own seed (`PatientDraws.relapse_seed`): the same onsets in the OC and in the study it
    writes (D-19.858)."""
    end = int(min(max(follow_days, 0.0), curve.size - 1))
    grid = curve[: end + 1]
    if count <= 0 or grid[-1] <= 0:
        return []
    u = np.sort(np.random.default_rng(int(seed)).random(count))
    return [float(x) for x in np.interp(u * grid[-1], grid, np.arange(end + 1))]


def post_infusion_attacks(
    history_days_before: list[int],
    infused_local: dt.datetime,
    onset_days: list[float],
    protocol: Protocol,
    options: RelapseOptions | None = None,
) -> int:
    """Attacks with a first onset on or after the infusion's site day among the written onsets of one patient
    — the pre-treatment history (each `history_days_before` days before the infusion's site day, D-19.854)
    and the post-infusion onsets (the site date of the infusion + `onset_days`) — merged by the protocol's
    relapse definition (`cartrial.protocol.group_onsets`, the rule of `cartrial.neuro.merge_attacks`): an
    onset less than `merge_window_days` after an attack's first onset is that attack, across the infusion
    too, as the analysis of the written study counts them (D-19.858). `options` as `interval_onset_days`.

    >>> import zoneinfo
    >>> from cartrial import examples
    >>> from cartrial.protocol import load_protocol
    >>> protocol = load_protocol(examples.path("ct103a-nmosd") / "protocol.yaml")
    >>> at = dt.datetime(2022, 3, 1, 10, tzinfo=zoneinfo.ZoneInfo("UTC"))
    >>> post_infusion_attacks([5], at, [3.0], protocol), post_infusion_attacks([40], at, [3, 20], protocol)
    (0, 1)
    """
    from cartrial.neuro.derive import relapse_options_from_protocol
    from cartrial.protocol import group_onsets

    relapse = relapse_options_from_protocol(protocol) if options is None else options
    day0 = infused_local.date()
    dates = {day0 - dt.timedelta(days=int(d)) for d in history_days_before}
    dates |= {(infused_local + dt.timedelta(days=float(d))).date() for d in onset_days}
    ordered = sorted(dates)
    groups = group_onsets(ordered, relapse.merge_window_days, relapse.merge_anchor)
    return sum(1 for group in groups if ordered[group[0]] >= day0)


def _efficacy(
    prepared: Prepared,
    draws: PatientDraws,
    slot_dose: np.ndarray,
    follow_days: FloatArray,
    infusion: FloatArray,
    visit_end: FloatArray,
    death: FloatArray | None = None,
) -> dict[str, FloatArray]:
    """Relapses (Poisson with mean h0 · ∫A^exponent), EDSS change (neuro engine) per treated slot.
    `follow_days` is the follow-up as if alive (the dropout, the end of follow-up or the cut-off): the onsets
    are drawn over it in the OC and in the study alike; `death` (day after the infusion, +inf: none) ends
    what is counted — `relapses` and the AQP4-IgG at the end count only by the death (D-19.1256).
    `relapses` are the attacks the analysis of the written study counts after the infusion
    (`post_infusion_attacks`: the drawn onsets merged with the history, D-19.858); `relapse_events` the drawn
    onsets (each one a possible FS step); `edss_change` the change at the last EDSS visit
    (`edss_visit_day`, of `visit_end`: `edss_visit_end`; D-19.1221, D-19.1223); `edss_baseline` 1 when
    the patient has a baseline EDSS by the protocol's rule (``analysis.options.edss_baseline_visit``), 0
    when every pre-infusion visit is during an attack (D-19.864, D-19.1320)."""
    from cartrial.neuro.disability import BaselineVisit, DisabilityOptions, baseline_excluded_days

    sc = prepared.scenario
    eff = sc.efficacy
    treated = slot_dose >= 0
    t_idx, s_idx = np.nonzero(treated)
    p = draws.pool_index[t_idx, s_idx]
    k = slot_dose[t_idx, s_idx]
    cov = prepared.eligible
    day = np.clip(np.floor(follow_days[t_idx, s_idx]).astype(np.int64), 0, prepared.antibody.shape[2] - 1)
    died = np.full(t_idx.size, np.inf) if death is None else np.asarray(death, dtype=float)[t_idx, s_idx]
    # attacks per year in the 24 months of history (before the consent; D-19.876): onsets
    # merged by the protocol's relapse definition, as the analysis counts them (D-19.800); every drawn onset
    # counted was 15 % more in the reference population
    pre_rate = prepared.pre_attacks_24m[p] / 2.0
    h0 = pre_rate * eff.regression_to_mean / 365.25
    mean = h0 * prepared.cum_hazard_days[p, k, day]
    relapses = _poisson_from_uniform(mean, draws.relapse_u[t_idx, s_idx])
    counted = relapses.copy()
    # the EDSS the analysis reads is the last EDSS visit's (D-19.1221, D-19.1223)
    last_visit = last_edss_visit_day(visit_end[t_idx, s_idx])
    onsets_of: list[list[float]] = [[] for _ in range(relapses.size)]
    # the pre-infusion ARR the analysis reads: the window's share of the drawn history and the interval's
    # onsets at the rate after selection (D-19.880)
    gap = consent_gap_days(sc, infusion[t_idx, s_idx], draws.vein_to_vein_days[t_idx, s_idx])
    arr_seen = expected_pre_arr(prepared.pre_attacks_24m[p].astype(float), gap, eff.regression_to_mean)
    # the protocol's EDSS baseline rule (`analysis.options.edss_baseline_visit`) by the neuro engine's one
    # reading of it (`baseline_excluded_days`, as `derive_disability`): under ``outside_relapse`` a patient
    # whose every pre-infusion EDSS visit is within the exclusion window after a written onset of its
    # history has no baseline, no EDSS change in the analysis (D-19.864, D-19.1320); the post-infusion
    # onsets are after every pre-infusion visit
    rule = BaselineVisit(prepared.protocol.analysis.options.edss_baseline_visit.value)
    window = DisabilityOptions(baseline_visit=rule).relapse_exclusion_days
    pre_visits = {d for d in EDSS_DAYS if d <= 0}
    has_baseline = np.ones(relapses.size, dtype=bool)
    # the written history of a patient (the rule's relapse days); read for every patient only when the rule
    # can leave a visit out, else only for those with a post-infusion onset (the attack count)
    needs_history = (
        np.ones(relapses.size, dtype=bool) if rule is BaselineVisit.OUTSIDE_RELAPSE else relapses > 0
    )
    for i in np.flatnonzero(needs_history):
        t, sl, pi, ki = int(t_idx[i]), int(s_idx[i]), int(p[i]), int(k[i])
        history = written_history_days(  # as written: dated from the consent, D-19.876
            cov.relapse_days_before[pi],
            int(prepared.pre_attacks_24m[pi]),
            None,  # the gap is given
            float(draws.vein_to_vein_days[t, sl]),
            int(draws.relapse_seed[t, sl]),
            eff.regression_to_mean,
            prepared.protocol,
            prepared.relapse_options,
            int(gap[i]),  # a treated slot's infusion day is finite
        )
        has_baseline[i] = bool(
            pre_visits - baseline_excluded_days(pre_visits, [-d for d in history], rule, window)
        )
        if relapses[i] <= 0:
            continue
        onsets = relapse_onset_days(
            prepared.cum_hazard_days[pi, ki],
            float(follow_days[t, sl]),
            int(relapses[i]),
            draws.relapse_seed[t, sl],
        )
        onsets_of[i] = onsets
        by_death = [d for d in onsets if d <= died[i]]  # none after the death is in the data (D-19.97)
        infused_local = infusion_instant(sc, float(infusion[t, sl]))
        counted[i] = post_infusion_attacks(
            history, infused_local, by_death, prepared.protocol, prepared.relapse_options
        )
    antibody_end = prepared.antibody[p, k, day]
    # as the study: the FS improvement by the titre at the end of the follow-up as if alive
    fell = np.log10(antibody_end) <= -sc.pd.titre_fall_steps
    deaths = np.full(slot_dose.shape, np.inf) if death is None else np.asarray(death, dtype=float)
    end_seen = np.floor(pd_sample_end(sc, follow_days, deaths, infusion)[t_idx, s_idx]).astype(np.int64)
    # what the analysis reads: the titre of the last PD sample the study writes on or before that end
    # (`models.PD_DAYS`; the baseline sample on day -7 reads the day-0 course, no fall), as persistence
    # reads the last PK sample (D-19.855, D-19.1321)
    pd_days = np.array(m.PD_DAYS, dtype=np.int64)
    last_sample = pd_days[np.searchsorted(pd_days, end_seen, side="right") - 1]
    sample_index = np.clip(last_sample, 0, prepared.antibody.shape[2] - 1)
    fell_seen = np.log10(prepared.antibody[p, k, sample_index]) <= -sc.pd.titre_fall_steps
    changes = fs_changes(prepared, draws, t_idx, s_idx, fell)
    # the FS at the last EDSS visit, as `simulate study` writes it (`fs_at_visit`, D-19.1222): a relapse step
    # or an improvement after that visit is in no EDSS the analysis reads (D-19.1221)
    fs = fs_at_visit(cov.fs[p], changes, last_visit, onsets_of)
    edss_end = edss_of(fs, cov.ambulation[p])
    out_shape = slot_dose.shape
    result: dict[str, FloatArray] = {}
    for name, values in (
        ("relapses", counted.astype(float)),
        ("relapse_events", relapses.astype(float)),
        ("edss_change", edss_end - cov.edss[p]),
        ("edss_visit_day", last_visit),
        ("edss_baseline", has_baseline.astype(float)),
        ("aqp4_fell", fell_seen.astype(float)),
        ("pre_rate", arr_seen),
    ):
        full = np.full(out_shape, np.nan)
        full[t_idx, s_idx] = values
        result[name] = full
    return result


def _dlts_by(
    prepared: Prepared, draws: PatientDraws, slot_dose: np.ndarray, follow: FloatArray
) -> FloatArray:
    """Per trial, the patients (slots at `slot_dose`, -1: not in the data) with a DLT seen by the last whole
    day of their follow-up (`follow`: to the dropout, death or cut-off; D-19.291): `dlts_seen_by`, the
    design's own reading (D-19.312), at each slot's dose. A replaced patient (not DLT-evaluable) has none by
    definition."""
    treated = slot_dose >= 0
    last = last_day_followed(follow)
    # followed to `last` at its own dose; the other levels are never read (+inf: nothing judged again)
    at_dose = slot_dose[..., None] == np.arange(draws.dlt.shape[2])
    left = np.where(at_dose, last[..., None], np.inf)
    seen = dlts_seen_by(prepared, draws, left)
    rows, cols = np.arange(slot_dose.shape[0])[:, None], np.arange(slot_dose.shape[1])[None, :]
    hit = seen[rows, cols, np.maximum(slot_dose, 0)] & treated
    return hit.sum(axis=1).astype(float)


#: Study day from which an improvement of the functional systems is seen [assumption, docs/simulation.md §5].
IMPROVEMENT_DAY = 90.0

#: Study days of the EDSS visits of a virtual patient (baseline on day -3): `simulate study` writes those on
#: or before the end of its follow-up (`edss_visit_days`), the OC reads the EDSS of the last of them
#: (`last_edss_visit_day`): one visit list (D-19.1221, D-19.1222).
EDSS_DAYS: tuple[int, ...] = (-3, 28, 90, 180, 365, 545, 730)


def edss_visit_end(
    scenario: Scenario, follow: FloatArray, death: FloatArray, infusion: FloatArray
) -> FloatArray:
    """Study day (T, S) by which the EDSS visits of each slot are written: the end of its follow-up `follow`
    (the dropout, the end of follow-up or the cut-off, not the death) and, for a patient who dies by then
    (`death` <= `follow`), the death's day on the site's calendar (the date of the infusion's site instant
    + `death` days, minus the infusion's site date). `simulate study` dates the death at 10:00 of that date
    and an EDSS visit at 09:00 (`study.HOURS`), and leaves out every record after the death
    (`study._end_at_deaths`): the visit of the death's site day is written, a later one is not (D-19.1223).
    A patient infused at 20:00 who dies 89.9 days later dies on site day 90: the day-90 visit is his last.

    >>> from cartrial import examples
    >>> from cartrial.simulation import load_scenario
    >>> sc, _ = load_scenario(examples.path("ct103a-nmosd") / "scenario.yaml")
    >>> utc = sc.model_copy(update={"accrual": sc.accrual.model_copy(update={"site_time_zone": "UTC"})})
    >>> at_20h = 0.5  # 08:00 UTC + 12 hours
    >>> edss_visit_end(utc, np.array([[365.0, 365.0]]), np.array([[89.9, np.inf]]), np.array([[at_20h] * 2]))
    array([[ 90., 365.]])
    """
    end = np.array(follow, dtype=float, copy=True)
    died = np.isfinite(death) & (death <= np.nan_to_num(end, nan=-np.inf))
    for idx in zip(*np.nonzero(died), strict=True):
        infused = infusion_instant(scenario, float(infusion[idx]))
        site_day = ((infused + dt.timedelta(days=float(death[idx]))).date() - infused.date()).days
        end[idx] = min(end[idx], float(site_day))
    return end


#: The site clock hour `simulate study` records a death at on the death's site day (the CRS assessment
#: recording it, `study.HOURS["crs"]`); records after it are left out (`study._end_at_deaths`, D-19.97).
DEATH_HOUR = 10


def pd_sample_end(
    scenario: Scenario, follow: FloatArray, death: FloatArray, infusion: FloatArray
) -> FloatArray:
    """Study day (T, S) by which the PD samples of each slot are written, the one rule of `simulate study`
    and the OC (D-19.1323): the end of its follow-up `follow` and, for a patient who dies by then, the
    death's site day D (as `edss_visit_end`) when the day-D sample — taken at the infusion's clock time,
    the infusion instant + D days (D-19.229) — is at or before the death's record at `DEATH_HOUR` (10:00)
    of that site day, else D − 1: a patient infused at 11:00 who dies on a sample day has no sample that
    day (it is after the death's record and left out), one infused at 08:00 has it. The whole days of the
    follow-up to the death (before) read the day-D sample for the first and missed it for the second.

    >>> from cartrial import examples
    >>> from cartrial.simulation import load_scenario
    >>> sc, _ = load_scenario(examples.path("ct103a-nmosd") / "scenario.yaml")
    >>> utc = sc.model_copy(update={"accrual": sc.accrual.model_copy(update={"site_time_zone": "UTC"})})
    >>> pd_sample_end(utc, np.array([[365.0, 365.0]]), np.array([[90.5, 89.9]]), np.array([[0.125, 0.0]]))
    array([[89., 90.]])
    """
    end = np.array(follow, dtype=float, copy=True)
    died = np.isfinite(death) & (death <= np.nan_to_num(end, nan=-np.inf))
    for idx in zip(*np.nonzero(died), strict=True):
        infused = infusion_instant(scenario, float(infusion[idx]))
        zone = infused.tzinfo
        death_date = (infused + dt.timedelta(days=float(death[idx]))).date()
        site_day = (death_date - infused.date()).days
        recorded = dt.datetime.combine(death_date, dt.time(DEATH_HOUR), tzinfo=zone).astimezone(dt.UTC)
        # the study's dates are written to the second (`study._iso`)
        sample = (infused + dt.timedelta(days=site_day)).astimezone(dt.UTC).replace(microsecond=0)
        end[idx] = min(end[idx], float(site_day if sample <= recorded else site_day - 1))
    return end


def edss_visit_days(visit_end: float) -> list[int]:
    """The EDSS visits (`EDSS_DAYS`, the baseline included) of a patient whose visits are written by study
    day `visit_end` (`edss_visit_end`; NaN: not treated, none).

    >>> edss_visit_days(90.0), edss_visit_days(27.9)
    ([-3, 28, 90], [-3])
    """
    return [d for d in EDSS_DAYS if d <= visit_end]


def last_edss_visit_day(visit_end: FloatArray) -> FloatArray:
    """Study day of the last post-infusion EDSS visit (`edss_visit_days`) of each `visit_end`
    (`edss_visit_end`), NaN when there is none: the visit whose EDSS the analysis compares with the baseline
    (`cartrial.neuro.derive_disability`'s ``last_edss``; D-19.1221), and a post-baseline EDSS to compare
    (the EDSS-evaluable population, D-19.1224).

    >>> last_edss_visit_day(np.array([10.0, 28.0, 179.9, 1000.0, np.nan])).tolist()
    [nan, 28.0, 90.0, 730.0, nan]
    """
    days = np.array([d for d in EDSS_DAYS if d > 0], dtype=float)
    end = np.asarray(visit_end, dtype=float)
    index = np.searchsorted(days, np.nan_to_num(end, nan=-np.inf), side="right") - 1
    return np.where(index >= 0, days[np.maximum(index, 0)], np.nan)


def fs_at_visit(
    baseline: np.ndarray, changes: FsChanges, visit_day: FloatArray, onsets: list[list[float]]
) -> np.ndarray:
    """Raw FS (n, 7) at the EDSS visit of study day `visit_day` (NaN: none, the baseline FS) of each patient:
    the improvement when the visit is on or after `IMPROVEMENT_DAY` and one possible step per relapse with an
    onset (`onsets`, days after the infusion) on or before the visit; the one rule of the EDSS
    `simulate study` writes at a visit and of the OC's EDSS change (D-19.1222)."""
    visit = np.nan_to_num(np.asarray(visit_day, dtype=float), nan=-np.inf)
    so_far = np.array(
        [sum(onset <= day for onset in patient) for patient, day in zip(onsets, visit, strict=True)],
        dtype=np.int64,
    )
    return fs_at(baseline, changes, visit >= IMPROVEMENT_DAY, so_far)


@dataclass(frozen=True)
class FsChanges:
    """Which FS change for each treated patient: improvements (each affected FS — visual, pyramidal,
    sensory, bowel/bladder — down one grade with the improvement probability, when AQP4-IgG fell) and a step
    per relapse (one affected FS up one grade unless it recovers)."""

    improve: npt.NDArray[np.bool_]  # (n, 4): which affected FS improve
    step: npt.NDArray[np.bool_]  # (n, R)
    step_column: npt.NDArray[np.int64]  # (n, R)


def fs_changes(
    prepared: Prepared, draws: PatientDraws, t_idx: np.ndarray, s_idx: np.ndarray, fell: np.ndarray
) -> FsChanges:
    """The FS changes of the treated slots (t_idx, s_idx) [assumptions, docs/simulation.md §5]."""
    eff = prepared.scenario.efficacy
    improve = fell[:, None] & (draws.improve_u[t_idx, s_idx] < eff.improvement_probability)
    u = draws.fs_u[t_idx, s_idx]
    step = (u[:, :, 0] < eff.fs_step_at_relapse) & (u[:, :, 1] >= eff.recovery_probability)
    column = AFFECTED_FS[np.minimum((u[:, :, 2] * 4).astype(np.int64), 3)]
    return FsChanges(improve, step, column)


def fs_at(
    baseline: np.ndarray, changes: FsChanges, improved_by_now: np.ndarray, relapses_so_far: np.ndarray
) -> np.ndarray:
    """Raw FS (n, 7) after the improvement (where `improved_by_now`) and the first `relapses_so_far`
    relapse steps (at most the 8 drawn per patient)."""
    fs = baseline.copy()
    rows = np.arange(fs.shape[0])
    maxima = fs_maxima()  # the neuro engine's (D-19.1226)
    apply = changes.improve & improved_by_now[:, None]
    fs[:, AFFECTED_FS] = np.where(apply, np.maximum(fs[:, AFFECTED_FS] - 1, 0), fs[:, AFFECTED_FS])
    for r in range(changes.step.shape[1]):
        happens = (relapses_so_far > r) & changes.step[:, r]
        col = changes.step_column[:, r]
        fs[rows, col] = np.where(happens, np.minimum(fs[rows, col] + 1, maxima[col]), fs[rows, col])
    return fs


#: Terms of the Poisson series summed per count (`_poisson_from_uniform`); a count that reaches it is
#: computed again by `scipy.stats.poisson.ppf` (D-19.803).
_SERIES_TERMS = 60


def _poisson_from_uniform(mean: FloatArray, u: FloatArray) -> npt.NDArray[np.int64]:
    """Poisson counts by inversion of one uniform each (so the draw count does not depend on the means): the
    smallest k with P(X ≤ k) ≥ u. The series is summed for `_SERIES_TERMS` terms (fast, vectorised); a
    count that reaches the last term — the series stopped there, or exp(-mean) is 0 in floating point above a
    mean of about 745 — is the quantile of `scipy.stats.poisson.ppf` instead: before, such counts stayed 59
    whatever the mean (D-19.803)."""
    mean = np.asarray(mean, dtype=float)
    u = np.asarray(u, dtype=float)
    count = np.zeros(mean.shape, dtype=np.int64)
    term = np.exp(-mean)
    cdf = term.copy()
    for j in range(1, _SERIES_TERMS):
        below = u > cdf
        if not below.any():
            break
        count += below
        term = term * mean / j
        cdf = cdf + term
    capped = count >= _SERIES_TERMS - 1
    if capped.any():
        from scipy.stats import poisson

        count[capped] = poisson.ppf(u[capped], mean[capped]).astype(np.int64)
    return count


def simulate_trials(
    prepared: Prepared,
    trials: int,
    *,
    seed: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = 2000,
) -> TrialBatch:
    """Simulate `trials` virtual trials, vectorised in batches of `batch_size` trials.

    Each batch draws its patients from its own child of the trial seed (`SeedSequence(seed).spawn(2)[1]
    .spawn(batches)`), so the results depend on `seed` AND, when it splits the run, `batch_size`: the same
    pair reproduces a run bit for bit; a batch size that splits the `trials` differently is another random
    stream (operating characteristics equal within Monte Carlo error, not identical), while every batch size
    >= `trials` gives the one batch of the first child, the same trials. The default, 2000, is the one
    every command uses; the batch size is recorded in the result (`TrialBatch.batch_size`, the OC summary's
    ``batch_size``) beside the seed (D-19.1319)."""
    started = time.perf_counter()
    _check_type("prepared", prepared, Prepared, "the Prepared of prepare(scenario, protocol, seed)")
    if progress is not None and not callable(progress):
        raise InputError(
            Problem(
                f"not a function: a {type(progress).__name__}",
                field="progress",
                allowed="a function progress(done, total) | None",
            )
        )
    TRIALS.check("trials", trials)
    BATCH_SIZE.check("batch_size", batch_size)
    seed = prepared.seed if seed is None else seed
    _check_seed(seed)
    size = int(prepared.design.cohort_size)
    cohorts = max_cohorts(prepared)
    from cartrial.escalation.behaviours import BehavingDesign

    expansion = prepared.design.expansion if isinstance(prepared.design, BehavingDesign) else None
    slots = cohorts * size + (expansion.n_patients if expansion is not None else 0)
    reserve = reserve_slots(prepared, cohorts, size)
    if trials * (slots + reserve) > MAX_TRIAL_SLOTS:
        raise InputError(
            Problem(
                f"trials × patients per trial = {trials * (slots + reserve)} is above the limit "
                f"{MAX_TRIAL_SLOTS} (memory; {reserve} of them a reserve of replacement patients)",
                field="trials",
                value=trials,
                allowed=f"≤ {MAX_TRIAL_SLOTS // (slots + reserve)}",
            )
        )
    trial_seed = np.random.SeedSequence(seed).spawn(2)[1]
    batches = [(start, min(batch_size, trials - start)) for start in range(0, trials, batch_size)]
    children = trial_seed.spawn(len(batches))
    parts = []
    for i, (start, count) in enumerate(batches):
        if progress is not None:
            progress(start, trials)
        parts.append(
            _simulate_batch(
                prepared, np.random.default_rng(children[i]), count, slots, size, cohorts, reserve
            )
        )
    if progress is not None:
        progress(trials, trials)
    merged = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    target = target_toxicity(prepared)
    return TrialBatch(
        target_toxicity=target,
        above_target=levels_above_target(prepared, merged["true_dlt"], target),
        batch_size=int(batch_size),
        trials=trials,
        seed=seed,
        n_doses=prepared.n_doses,
        slot_dose=merged.pop("slot_dose"),
        mtd=merged.pop("mtd"),
        safety_stop=merged.pop("safety"),
        n=merged.pop("n"),
        y=merged.pop("y"),
        infusion_day=merged.pop("infusion_day"),
        true_dlt=merged.pop("true_dlt"),
        stop_reason=merged.pop("stop_reason"),
        metrics=merged,
        seconds=time.perf_counter() - started,
    )


#: The graded toxicity that is a death: ASTCT 2019 grade 5 (CRS: death due to CRS), CTCAE v5.0 grade 5
#: ("death related to AE"); `cartrial.protocol.death.is_fatal` reads the adverse event it is written as.
FATAL_GRADE = 5


def death_days(draws: PatientDraws, slot_dose: np.ndarray) -> FloatArray:
    """Day of death after the infusion of each slot (T, S), +inf for a slot that does not die or is not
    treated (D-19.97): `death_days_at_levels` at the slot's dose. No random draw: the death is read from the
    drawn grades, onsets and durations."""
    treated = slot_dose >= 0
    rows = np.arange(slot_dose.shape[0])[:, None]
    cols = np.arange(slot_dose.shape[1])[None, :]
    at = death_days_at_levels(draws)[rows, cols, np.maximum(slot_dose, 0)]
    return np.where(treated, at, np.inf)


def evaluable_slots(
    treated: npt.NDArray[np.bool_],
    follow: FloatArray,
    day: float,
    rule: str,
    *,
    beyond: bool,
) -> npt.NDArray[np.bool_]:
    """The slots (T, S) in a proportion's denominator (D-19.98): with `rule` ``evaluable`` the treated
    patients whose follow-up (`follow`, days after the infusion; NaN for a slot not treated) runs beyond
    `day` (`beyond`: persistence, "sampled after the day", D-19.87) or reaches it (an assessment on that
    day: the first post-baseline EDSS); with ``treated`` every treated patient."""
    if rule not in ("evaluable", "treated"):
        raise InputError(
            Problem(
                "unknown denominator rule",
                field="metric_denominator",
                value=rule,
                allowed="evaluable | treated",
            )
        )
    if rule == "treated":
        return np.asarray(treated, dtype=bool).copy()
    ends = np.nan_to_num(follow, nan=-np.inf)
    return np.asarray(treated, dtype=bool) & (ends > day if beyond else ends >= day)


def evaluable_pct(hits: npt.NDArray[np.bool_], evaluable: npt.NDArray[np.bool_]) -> FloatArray:
    """Per trial (row), % of the `evaluable` slots that are `hits`; NaN for a trial with none evaluable
    (0 of 0 is no proportion, D-19.98)."""
    n = evaluable.sum(axis=1)
    k = (np.asarray(hits, dtype=bool) & evaluable).sum(axis=1)
    return np.where(n > 0, k / np.maximum(n, 1) * 100.0, np.nan)


def _simulate_batch(
    prepared: Prepared,
    rng: np.random.Generator,
    trials: int,
    slots: int,
    size: int,
    cohorts: int,
    reserve: int,
) -> dict[str, np.ndarray]:
    sc = prepared.scenario
    # the reserve of replacement patients is drawn after the design's slots: their draws are unchanged
    draws = draw_with_reserve(prepared, rng, rng, trials, slots, reserve)
    # the scenario's true DLT probability per level: the share of the trial's patients (the design's slots,
    # not the reserve) with a DLT were they treated there, judged on the whole course (D-19.292)
    true_dlt = draws.dlt[:, :slots, :].mean(axis=1) * 100.0
    slots += reserve
    slot_dose, cohort_of, mtd, safety, n, y, reason = _escalate(prepared, draws, trials, size, cohorts)
    infusion = _calendar(prepared, draws, slot_dose, cohort_of, cohorts)
    design_dose = slot_dose
    if sc.data_cutoff_day is not None:
        # the cut-off is the analysis's date: a patient infused after it is not in the data (the study
        # writes none, `simulate study`), so none of the per-trial metrics counts it (D-19.291); the design's
        # own course (selection, patients and DLTs per level) is the escalation's to its end
        slot_dose = np.where(np.nan_to_num(infusion, nan=np.inf) <= sc.data_cutoff_day, slot_dose, -1)
    treated = slot_dose >= 0
    death = death_days(draws, slot_dose)
    # the follow-up were the patient alive: to the dropout, the end of follow-up or the cut-off
    alive = np.minimum(draws.dropout_days, sc.follow_up_days)
    if sc.data_cutoff_day is not None:
        alive = np.minimum(alive, np.maximum(sc.data_cutoff_day - np.nan_to_num(infusion), 0.0))
    alive = np.where(treated, alive, np.nan)
    # a death ends the patient's follow-up (D-19.83, D-19.97): relapses, EDSS, AQP4-IgG and ARR to the death
    follow = np.where(treated, np.minimum(alive, death), np.nan)
    # the EDSS visits `simulate study` writes: by the alive follow-up's end and the death's site day
    # (D-19.1223)
    # the onsets over the follow-up as if alive, as the study draws them; counted by the death (D-19.1256)
    eff = _efficacy(
        prepared, draws, slot_dose, alive, infusion, edss_visit_end(sc, alive, death, infusion), death
    )
    rows = np.arange(trials)[:, None]
    k = np.maximum(slot_dose, 0)
    cols = np.arange(slots)[None, :]

    def at_dose(values: np.ndarray) -> np.ndarray:
        return np.where(treated, values[rows, cols, k], np.nan)

    crs, icans = at_dose(draws.crs), at_dose(draws.icans)
    # an episode is in the data when it begins by the last whole day the patient is followed (`follow`: to
    # the dropout, the death, the end of follow-up or the cut-off, D-19.291), the day `simulate study` writes
    # its adverse event by (D-19.877): one beginning after a dropout is not seen (D-19.1022)
    last_day = last_day_followed(follow)
    crs = np.where(draws.crs_onset <= last_day, crs, np.where(treated, 0.0, np.nan))
    icans = np.where(draws.icans_onset <= last_day, icans, np.where(treated, 0.0, np.nan))
    # persistence by the analysis's rule (`kinetics.persistence_flags`, D-19.855) on the samples a virtual
    # study takes (`models.PK_DAYS` within the follow-up, which a death ends, D-19.97): a quantifiable sample
    # after the persistence day (the first one after it: the level declines), evaluable when sampled after it
    # (D-19.87); `metric_denominator` treated: every treated patient in the denominator (D-19.98)
    sample_day = m.persistence_sample_day(sc.kinetics.persistence_day)
    pk_days = np.array(m.PK_DAYS, dtype=float)
    ends = np.nan_to_num(follow, nan=-np.inf)
    sampled = pk_days[None, None, :] <= ends[..., None]
    last_sample = np.where(sampled.any(axis=2), np.where(sampled, pk_days, -np.inf).max(axis=2), np.nan)
    # `treated` (the named alternative, D-19.98): a patient not sampled there with the level drawn for it,
    # a death before the sample as not persisting
    reached = death >= sample_day if sc.metric_denominator == "treated" else sample_day <= ends
    quantifiable = (at_dose(draws.persistence_level) >= sc.kinetics.lloq_copies_per_ug) & reached
    persist, sampled_after = persistence_flags(
        np.where(quantifiable, sample_day, np.nan), last_sample, sc.kinetics.persistence_day
    )
    persistence_evaluable = (
        evaluable_slots(treated, follow, sc.kinetics.persistence_day, sc.metric_denominator, beyond=True)
        if sc.metric_denominator == "treated"
        else treated & sampled_after
    )
    # EDSS improvement among the patients with a post-baseline EDSS (the analysis's efficacy:edss_change
    # population; D-19.98): a baseline by the protocol's rule (`edss_baseline`, D-19.1320) and an EDSS visit
    # written after it, the visit the change is read at (`last_edss_visit_day`, D-19.1224)
    compared = np.where(eff["edss_baseline"] == 1.0, eff["edss_visit_day"], np.nan)
    edss_evaluable = evaluable_slots(treated, compared, 0.0, sc.metric_denominator, beyond=True)
    n_treated = treated.sum(axis=1).astype(float)
    # no proportion in a trial with nobody treated (by the cut-off, D-19.291): 0 of 0, not 0 %
    safe_n = np.where(n_treated > 0, n_treated, np.nan)
    last_infusion = np.max(np.where(treated, infusion, -np.inf), axis=1)
    last_infusion = np.where(np.isfinite(last_infusion), last_infusion, np.nan)
    # the trial ends when its last patient's follow-up does, whatever ended it: the protocol's follow-up, a
    # dropout, a death (D-19.97) or the cut-off (D-19.99) — a patient infused after the cut-off keeps the
    # trial running to it
    design_treated = design_dose >= 0
    end = np.nanmax(
        np.where(design_treated, infusion + np.nan_to_num(np.where(treated, follow, 0.0)), -np.inf), axis=1
    )
    if sc.data_cutoff_day is not None:
        end = np.minimum(end, sc.data_cutoff_day)
    years = np.nansum(np.where(treated, follow, 0.0), axis=1) / 365.25
    post_relapses = np.nansum(eff["relapses"], axis=1)
    pre_rate = np.nansum(np.where(treated, eff["pre_rate"], 0.0), axis=1) / safe_n
    arr_post = np.where(years > 0, post_relapses / np.maximum(years, 1e-12), np.nan)
    improved = evaluable_pct(eff["edss_change"] < 0, edss_evaluable) / 100
    metrics = {
        "slot_dose": design_dose,
        "infusion_day": np.where(design_dose >= 0, infusion, np.nan),
        "true_dlt": true_dlt,
        "mtd": mtd,
        "safety": safety,
        "stop_reason": reason,
        "n": n,
        "y": y,
        "n_treated": n_treated,
        "n_screened": np.where(treated, draws.screened, 0).sum(axis=1).astype(float),
        "n_dlt": y.sum(axis=1)
        if sc.data_cutoff_day is None
        else _dlts_by(prepared, draws, slot_dose, follow),
        "n_crs_any": np.nansum(crs >= 1, axis=1).astype(float),
        "n_crs_grade3plus": np.nansum(crs >= 3, axis=1).astype(float),
        "n_icans_any": np.nansum(icans >= 1, axis=1).astype(float),
        # deaths seen: before the patient's dropout, end of follow-up and the data cut-off
        "n_deaths": (treated & (death <= np.nan_to_num(follow, nan=-1.0))).sum(axis=1).astype(float),
        "pct_crs_any": np.nansum(crs >= 1, axis=1) / safe_n * 100,
        "pct_crs_grade3plus": np.nansum(crs >= 3, axis=1) / safe_n * 100,
        "pct_icans_any": np.nansum(icans >= 1, axis=1) / safe_n * 100,
        "pct_persistence": evaluable_pct(persist, persistence_evaluable),
        "pct_aqp4_fell": np.nansum(eff["aqp4_fell"], axis=1) / safe_n * 100,
        "pct_edss_improved": improved * 100,
        # no value (nan) in a trial with no EDSS-evaluable patient, as the proportion itself (D-19.131)
        "edss_half_improved": np.where(np.isfinite(improved), np.nan_to_num(improved) >= 0.5, np.nan),
        "pct_relapse_free": np.nansum(treated & (np.nan_to_num(eff["relapses"]) == 0), axis=1) / safe_n * 100,
        "arr_pre": pre_rate,
        "arr_post": arr_post,
        "arr_reduction_pct": (1.0 - arr_post / np.where(pre_rate > 0, pre_rate, np.nan)) * 100,
        "duration_months": end / DAYS_PER_MONTH,
        "accrual_beyond_list": (
            (np.where(treated, draws.screened, 0).sum(axis=1) > len(sc.accrual.dates)).astype(float)
            if sc.accrual.dates is not None
            else np.zeros(trials)
        ),
        "enrolment_months": last_infusion / DAYS_PER_MONTH,
    }
    return metrics


__all__ = [
    "FATAL_GRADE",
    "MAX_TRIAL_SLOTS",
    "PatientDraws",
    "Prepared",
    "TrialBatch",
    "build_design",
    "death_days",
    "draw_patients",
    "escalation_spec",
    "evaluable_pct",
    "evaluable_slots",
    "last_day_followed",
    "max_cohorts",
    "prepare",
    "simulate_trials",
]
