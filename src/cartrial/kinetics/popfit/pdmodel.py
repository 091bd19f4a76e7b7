"""Population fit of the CAR-T → plasma cell → AQP4-IgG model, sequential on the kinetic parameters.

The proposed PD model (`cartrial.kinetics.pd`, docs/science/cellular-kinetics.md §7, tag [P]) is fitted by
the same SAEM estimator as the kinetic models (`fit_population` with a `StructuralModel`), in the
*sequential* way of PK/PD analysis: each subject's CAR-T level CAR(t) is the Stein 2019 closed form at
that subject's kinetic parameters — the empirical Bayes estimates of a ``cartrial kinetics popfit`` of the
transgene samples (its ``ebe.csv``), fixed, not re-estimated (the IPP approach of Zhang L, Beal SL, Sheiner
LB. J Pharmacokinet Pharmacodyn 2003;30:387-404). Given CAR(t), the plasma-cell pool and the antibody follow
§7.1-7.2 (the same equations as `simulate_pd`)::

    dp/dt = k_out · (1 - p) - k_kill · CAR(t) · p          p(0) = 1 (reachable pool relative to baseline)
    dA/dt = k_syn · (p + p_protected) - k_deg · A         A(0) = 1, k_deg = ln 2 / t½, k_syn = k_deg/(1 + p_p)
    y(t)  = a0 · A(t)                                      (a0: the subject's baseline level; t ≤ 0: y = a0)

with p_protected = f/(1 - f) (f = ``protected_fraction``, capped at 0.99 as `simulate_pd` does).

Estimated (log-normal, IIV chosen with ``--iiv``): ``a0`` (baseline antibody level, in the unit of the
data: a reciprocal titre, `TITRE_UNIT`, or the concentration's unit), ``k_kill`` (1/(copies/µg)/day),
``protected_fraction`` and ``igg_half_life_days``. ``k_out`` (plasma-cell renewal, 0.002/day) is fixed at
the packaged value (``kinetics/data/pd_model.yaml``): over a trial's months it changes A by a few per cent
and is not identifiable from titres.

**Numerical solution.** ∫CAR is the exact piecewise integral of the closed form (`stein2019_auc`),
precomputed once per subject on a time grid (0.5-day steps to day 28, then 2-day steps). On each step the
pool is advanced exactly for its loss term, p ← p·exp(-Δa) + k_out·Δt·(1 - e^{-Δa})/Δa with
Δa = k_out·Δt + k_kill·∫CAR over the step, and the antibody exactly for its degradation with the step's mean
p (trapezoid); predictions at the sampling times are interpolated linearly on the grid. All rows (subjects
or MCMC draws) are advanced together (numpy).

**Titres.** AQP4-IgG end-point titres ("1:320") are read by `titre_observations` on the assay's dilution
grid (`cartrial.kinetics.pd.TITRE_DILUTIONS`: 1:10, 1:32, 1:100 … 1:10000, 0.5-log10 steps;
docs/science/neuro-outcomes.md §6): a titre 1:D_k means the latent titre lies in [D_k, D_k+1) (the top
dilution, or ">=1:D", in [D, ∞)); "negative" is BLQ with LLOQ 1:10 (M3). Two likelihoods
(``censoring``): ``interval`` (default) — the probability mass of the residual distribution over the
interval on the log scale (`cartrial.kinetics.popfit.likelihood.log_interval_probability`); ``centre`` —
the titre taken at the geometric centre of its interval, D_k·10^0.25, as an exact observation (the rounding
then adds a uniform error of SD 0.144 log10 to the residual and biases a decline towards the grid). A titre
off the grid is an `InputError`.

The estimator's per-subject input slot (``PopulationData.dose``, the dose of the dose-based PK models) carries
each subject's row in the kinetic-parameter table (`attach_kinetics`); the model has no dose.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from cartrial.allowed import Allowed, choice_text
from cartrial.errors import InputError, Problem
from cartrial.kinetics.models import MAX_DAY, STEIN_PARAMETERS, stein2019_auc
from cartrial.kinetics.popfit.data import PopulationData
from cartrial.kinetics.popfit.structural import StructuralModel
from cartrial.wording import count, noun

if TYPE_CHECKING:
    from cartrial.kinetics.popfit.population import PopulationModel

FloatArray = npt.NDArray[np.float64]

PD_MODEL_NAME = "cartrial_pd"
"""Name of the population PD model (``--model cartrial_pd``, alias ``pd``)."""

PD_MODEL_ALIASES: tuple[str, ...] = (PD_MODEL_NAME, "pd")

PROTECTED_FRACTION_CAP = 0.99
"""The protected fraction is used capped at this value (p_protected = f/(1 - f) stays finite), as
`simulate_pd` does."""

PD_POPULATION_PARAMETERS: tuple[str, ...] = ("a0", "k_kill", "protected_fraction", "igg_half_life_days")
PD_POPULATION_UNITS: tuple[str, ...] = ("data unit", "1/(copies/ug)/day", "-", "day")
"""The units, from the equations (D-19.533): a0 = y(0), so the observations' unit (`parameter_units` puts the
data's in place of "data unit": `TITRE_UNIT` for titres); k_kill·CAR(t) is a rate per day with CAR(t) the
Stein 2019 level in copies/µg, so k_kill is in 1/(copies/ug)/day; f is a fraction ("-"); t½ in days."""

TITRE_UNIT = "reciprocal titre"
"""The unit of a titre read as a number: 1:D is D, the reciprocal of the end-point dilution (dimensionless;
the unit of the PD data, hence of a0, when the observations are titres)."""

PD_SOURCE = (
    "cartrial proposed CAR-T -> plasma cell -> AQP4-IgG model (docs/science/cellular-kinetics.md §7, [P], "
    "not published), fitted sequentially on the individual Stein 2019 kinetic parameters "
    "(Zhang, Beal & Sheiner, "
    "J Pharmacokinet Pharmacodyn 2003;30:387-404)"
)

EARLY_END_DAYS = 28.0
EARLY_STEP_DAYS = 0.5
LATE_STEP_DAYS = 2.0


def is_pd_model(name: str) -> bool:
    """Whether `name` names the population PD model (``cartrial_pd`` or ``pd``)."""
    return name in PD_MODEL_ALIASES


def time_grid(t_max_days: float) -> FloatArray:
    """The integration grid: 0.5-day steps to day 28, then 2-day steps, to at least `t_max_days`, never past
    `MAX_DAY` (the kinetic input's AUC is defined to there; the grid's last point is `MAX_DAY` itself, 28 +
    2k; a sample time past it is refused where it is read, `pd_population_data`, D-19.1184)."""
    early = np.arange(0.0, EARLY_END_DAYS + 1e-9, EARLY_STEP_DAYS)
    end = min(max(float(t_max_days), EARLY_END_DAYS) + LATE_STEP_DAYS, MAX_DAY)
    late = np.arange(EARLY_END_DAYS + LATE_STEP_DAYS, end + 1e-9, LATE_STEP_DAYS)
    return np.concatenate([early, late])


def cumulative_car_auc(kinetic: FloatArray, grid: FloatArray) -> FloatArray:
    """(n, G) ∫₀ᵗ CAR(s) ds (copies·day/µg) at each grid time for each row of Stein 2019 parameters
    (columns in `STEIN_PARAMETERS` order), exact (`stein2019_auc`)."""
    k = np.asarray(kinetic, dtype=float)
    cols = [k[:, j] for j in range(len(STEIN_PARAMETERS))]
    steps = np.empty((k.shape[0], grid.size - 1))
    for g in range(grid.size - 1):
        steps[:, g] = stein2019_auc(float(grid[g]), float(grid[g + 1]), *cols)
    steps = np.where(np.isfinite(steps) & (steps > 0), steps, 0.0)
    return np.concatenate([np.zeros((k.shape[0], 1)), np.cumsum(steps, axis=1)], axis=1)


def solve_antibody(
    params: FloatArray, car_auc_steps: FloatArray, grid: FloatArray, k_out_per_day: float
) -> FloatArray:
    """(R, G) antibody A(t)/A(0) on `grid` for rows of (a0, k_kill, protected_fraction, t½) and each row's
    per-step ∫CAR (R, G-1); see the module docstring for the scheme."""
    p = np.asarray(params, dtype=float)
    k_kill = p[:, 1]
    frac = np.clip(p[:, 2], 0.0, PROTECTED_FRACTION_CAP)
    protected = frac / (1.0 - frac)
    k_deg = math.log(2) / p[:, 3]
    k_syn = k_deg / (1.0 + protected)
    dt = np.diff(grid)
    rows, steps = car_auc_steps.shape
    # the pool, step by step in (G, R) layout (contiguous rows): exact loss, renewal with the step's rate
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        da = k_out_per_day * dt[:, None] + car_auc_steps.T * k_kill[None, :]
        decay = np.exp(-da)
        small = da < 1e-6
        renew = (
            k_out_per_day
            * dt[:, None]
            * np.where(small, 1.0 - 0.5 * da, (1.0 - decay) / np.where(small, 1.0, da))
        )
        a_decay = np.exp(-k_deg[None, :] * dt[:, None])
        gain = k_syn[None, :] * (1.0 - a_decay) / k_deg[None, :]
    antibody = np.empty((steps + 1, rows))
    antibody[0] = 1.0
    pool = np.ones(rows)
    level = np.ones(rows)
    for g in range(steps):
        previous = pool
        pool = pool * decay[g] + renew[g]
        # exact for the degradation, the step's mean pool (trapezoid) for the synthesis
        level = level * a_decay[g] + gain[g] * (0.5 * (previous + pool) + protected)
        antibody[g + 1] = level
    return np.ascontiguousarray(antibody.T)


def _interpolate(values: FloatArray, grid: FloatArray, times: FloatArray) -> FloatArray:
    """Row-wise linear interpolation of `values` (R, G) on the shared `grid` at `times` (R, m)."""
    t = np.clip(times, grid[0], grid[-1])
    right = np.clip(np.searchsorted(grid, t, side="right"), 1, grid.size - 1)
    left = right - 1
    w = (t - grid[left]) / (grid[right] - grid[left])
    lo = np.take_along_axis(values, left, axis=1)
    hi = np.take_along_axis(values, right, axis=1)
    return np.asarray(lo + w * (hi - lo), dtype=float)


def pd_structural_model(
    kinetic: FloatArray,
    *,
    t_max_days: float,
    initial_a0: float = 100.0,
    k_out_per_day: float | None = None,
) -> StructuralModel:
    """The population PD model for subjects whose Stein 2019 parameters are the rows of `kinetic`
    (n, 6); predictions at times up to `t_max_days`. A row's input slot (``dose``) is its row index in
    `kinetic` (`attach_kinetics`). The system is advanced only as far as the latest time asked for (the
    scheme steps forward, so earlier values do not depend on later steps)."""
    packaged_k_out, typical = _packaged_pd_values()
    k_out = float(packaged_k_out if k_out_per_day is None else k_out_per_day)
    grid = time_grid(t_max_days)
    auc = cumulative_car_auc(np.asarray(kinetic, dtype=float), grid)
    auc_steps = np.diff(auc, axis=1)

    def predict(params: FloatArray, times: FloatArray, rows: FloatArray) -> FloatArray:
        index = np.asarray(rows, dtype=float).astype(int).reshape(-1)
        p = np.asarray(params, dtype=float)
        t = np.asarray(times, dtype=float)
        t_hi = float(np.max(t)) if t.size else 0.0
        last = grid.size if not math.isfinite(t_hi) else int(np.searchsorted(grid, t_hi, side="left")) + 1
        last = min(max(last, 2), grid.size)
        antibody = solve_antibody(p, auc_steps[index, : last - 1], grid[:last], k_out)
        level = _interpolate(antibody, grid[:last], np.maximum(t, 0.0))
        return np.asarray(p[:, 0:1] * level, dtype=float)

    return StructuralModel(
        name=PD_MODEL_NAME,
        parameters=PD_POPULATION_PARAMETERS,
        units=PD_POPULATION_UNITS,
        default_typical=(
            float(initial_a0),
            float(typical["k_kill"]),
            float(typical["protected_fraction"]),
            float(typical["igg_half_life_days"]),
        ),
        predict=predict,
        source=PD_SOURCE + f"; k_out fixed at {k_out:g}/day (kinetics/data/pd_model.yaml)",
        # the protected fraction is used capped at 0.99 (`solve_antibody`, as `simulate_pd`; D-19.240)
        bounds=((0.0, math.inf), (0.0, math.inf), (0.0, PROTECTED_FRACTION_CAP), (0.0, math.inf)),
    )


@functools.lru_cache(maxsize=1)
def _packaged_pd_values() -> tuple[float, dict[str, float]]:
    """k_out and the typical values of the packaged PD model (kinetics/data/pd_model.yaml), read once."""
    from cartrial.kinetics.pd import load_pd_model

    yaml_model = load_pd_model()
    return float(yaml_model.parameters["k_out"].value), dict(yaml_model.typical())


def read_individual_parameters(
    table: pd.DataFrame, subjects: Sequence[str], *, source: str = "individual parameters"
) -> FloatArray:
    """(n, 6) Stein 2019 parameters of `subjects` (in that order) from a table with a ``subject`` (or
    ``subject_id``) column and one column per parameter (the ``ebe.csv`` of ``cartrial kinetics popfit``).

    The long ``map_parameters.csv`` of ``cartrial kinetics map`` (subject, parameter, map_estimate) is read
    as well (the kinetic MAP of a new patient). A subject of the PD data missing from the table, a missing
    parameter column, or a value that is not a finite number > 0 is an `InputError` naming the file, the
    subject/row and the column."""
    if {"subject", "parameter", "map_estimate"} <= set(table.columns):
        table = (
            table.pivot_table(index="subject", columns="parameter", values="map_estimate", aggfunc="first")
            .reset_index()
            .rename_axis(columns=None)
        )
    subject_col = next((c for c in ("subject", "subject_id") if c in table.columns), None)
    if subject_col is None:
        raise InputError(
            Problem(
                "no subject column",
                file=source,
                field="subject",
                allowed="the ebe.csv of `cartrial kinetics popfit` (columns subject, foldx, tmax_days, …)",
            )
        )
    absent = [p for p in STEIN_PARAMETERS if p not in table.columns]
    if absent:
        raise InputError(
            Problem(
                f"missing kinetic parameter {noun(len(absent), 'column')}: " + ", ".join(absent),
                file=source,
                field=absent[0],
                allowed="columns " + ", ".join(STEIN_PARAMETERS) + " (the ebe.csv of a stein2019 popfit)",
            )
        )
    ids = table[subject_col].astype(str).str.strip()
    duplicated = ids[ids.duplicated()]
    if len(duplicated):
        row = int(duplicated.index[0]) + 2
        raise InputError(
            Problem("subject listed twice", file=source, row=row, field=subject_col, value=duplicated.iloc[0])
        )
    lookup = dict(zip(ids, range(len(ids)), strict=True))
    missing = [s for s in subjects if s not in lookup]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise InputError(
            Problem(
                f"subject {missing[0]}{more} of the PD data has no individual kinetic parameters",
                file=source,
                field=subject_col,
                value=missing[0],
                allowed="one row per subject of the PD data (fit the kinetics of the same subjects first)",
            )
        )
    order = [lookup[s] for s in subjects]
    out = np.empty((len(subjects), len(STEIN_PARAMETERS)))
    for j, name in enumerate(STEIN_PARAMETERS):
        values = pd.to_numeric(table[name], errors="coerce").to_numpy(dtype=float)[order]
        bad = ~(np.isfinite(values) & (values > 0))
        if bad.any():
            k = int(np.argmax(bad))
            raise InputError(
                Problem(
                    f"kinetic parameter of subject {subjects[k]} is not a number > 0",
                    file=source,
                    row=order[k] + 2,
                    field=name,
                    allowed="a finite number > 0",
                )
            )
        out[:, j] = values
    return out


def pd_map_population(
    document: dict[str, Any], kinetic: FloatArray, *, t_max_days: float, source: str = "population"
) -> PopulationModel:
    """The PD population model of an ``estimates.json`` (`document`) for ONE patient whose Stein 2019
    parameters are `kinetic` (1, 6): what `map_estimate` needs (the patient's data go through
    `attach_kinetics`). Predictions are available up to `t_max_days`."""
    from cartrial.kinetics.popfit.population import PopulationModel

    struct = pd_structural_model(np.asarray(kinetic, dtype=float).reshape(1, -1), t_max_days=t_max_days)
    return PopulationModel.from_dict(document, source=source, model=struct)


def titre_censoring_of(document: dict[str, Any]) -> str:
    """The titre likelihood a PD fit used (``settings.titre_censoring`` of its ``estimates.json``;
    ``interval`` when absent)."""
    settings = document.get("settings")
    value = settings.get("titre_censoring") if isinstance(settings, dict) else None
    return str(value) if value in TITRE_CENSORING else "interval"


def attach_kinetics(data: PopulationData) -> PopulationData:
    """The same data with each subject's input slot set to its row (0..n-1) in the kinetic-parameter
    table given to `pd_structural_model` (rows in the order of ``data.subjects``)."""
    return replace(data, dose=np.arange(data.n_subjects, dtype=float))


def initial_baseline(data: PopulationData) -> float:
    """Starting value of the typical baseline ``a0``: geometric mean of the quantified samples taken at or
    before day 0, else of the first quantified sample of each subject."""
    q = data.quantified
    pre = q & (data.times <= 0)
    values = (
        data.y[pre]
        if pre.any()
        else np.array([data.y[i][q[i]][0] for i in range(data.n_subjects) if q[i].any()])
    )
    values = values[np.isfinite(values) & (values > 0)]
    return float(np.exp(np.mean(np.log(values)))) if values.size else 100.0


@dataclass(frozen=True)
class PdFitInputs:
    """What a sequential PD fit needs (`pd_fit_inputs`): the PD data with each subject's kinetic input
    attached, the PD structural model built on the subjects' kinetic parameters, and the notes every output
    of the fit carries."""

    data: PopulationData
    structural: StructuralModel
    notes: tuple[str, ...] = ()


def kinetic_status_note(
    table: pd.DataFrame, source: str, what: str, subjects: Sequence[str] | None = None
) -> str | None:
    """The note that the kinetic parameters of `table` (an ``ebe.csv``, or the ``map_parameters.csv`` of a
    kinetic MAP, both with a ``status`` column) come from a fit or MAP labelled NOT CONVERGED — for the
    rows of `subjects` when given and the table has a subject column — so `what` rests on unreliable
    parameters; None when every such row says ``converged`` or the table has no ``status`` (D-19.979)."""
    if "status" not in table.columns:
        return None
    rows = table
    subject_col = next((c for c in ("subject", "subject_id") if c in table.columns), None)
    if subjects is not None and subject_col is not None:
        rows = table[table[subject_col].astype(str).str.strip().isin([str(x) for x in subjects])]
    if not set(rows["status"].astype(str).str.strip()) - {"converged"}:
        return None
    return (
        f"the kinetic fit or MAP of {source} is labelled NOT CONVERGED: its individual parameters (and "
        f"{what}) are not reliable"
    )


def pd_fit_inputs(
    data: PopulationData, individual_parameters: pd.DataFrame, *, source: str = "individual parameters"
) -> PdFitInputs:
    """The inputs of a sequential population PD fit (`fit_population(inputs.data, inputs.structural)`), as
    `cartrial kinetics popfit --model pd` builds them: each subject's Stein 2019 parameters from
    `individual_parameters` (an ``ebe.csv`` of a stein2019 popfit, or ``fit.ebe``;
    `read_individual_parameters`, `source` names it in errors), the PD model solved up to the latest
    observed sample time (days) with the typical baseline started at `initial_baseline`, and a note when
    the table's ``status`` says the kinetic fit did not converge (its individual parameters, and the PD fit
    on them, are then not reliable). `data`: the PD samples (`pd_population_data`). Source: docs/popfit.md
    §9 (the PD model at population level) and §10 (PD fit from the store)."""
    kinetic = read_individual_parameters(individual_parameters, data.subjects, source=source)
    label = kinetic_status_note(individual_parameters, source, "this PD fit")
    notes: list[str] = [label] if label else []
    attached = attach_kinetics(data)
    structural = pd_structural_model(
        kinetic,
        t_max_days=float(np.nanmax(attached.times[attached.observed])),
        initial_a0=initial_baseline(attached),
    )
    return PdFitInputs(attached, structural, tuple(notes))


TITRE_CENSORING: tuple[str, ...] = ("interval", "centre")
"""Likelihoods of titre observations: the interval-censored one (default) or the interval centre."""
TITRE_LIKELIHOOD = Allowed(values=TITRE_CENSORING)
"""What ``censoring`` of `titre_observations` allows (``--titre`` on the command line)."""

_TITRE_TEXT = re.compile(r"^(?P<op>>=|≥|>)?\s*(?:1\s*[:/]\s*)?(?P<den>[0-9]+(?:\.[0-9]+)?)\Z")


def titre_bounds(
    text: str, *, source: str = "data", row: int | None = None, field: str = "titre"
) -> tuple[float, float]:
    """[low, high) of the latent titre (dilution denominators) of an end-point titre on the dilution grid:
    1:D_k → [D_k, D_k+1); the top dilution or ">=1:D" → [D, ∞); "negative" → [0, D_1). A dilution off the
    grid is an `InputError` naming the file, row and column.

    >>> titre_bounds("1:320"), titre_bounds(">=1:1000"), titre_bounds("negative")
    ((320.0, 1000.0), (1000.0, inf), (0.0, 10.0))
    """
    from cartrial.kinetics.pd import TITRE_DILUTIONS

    grid = tuple(float(d) for d in TITRE_DILUTIONS)
    raw = str(text).strip()
    key = raw.lower()
    if key in ("negative", "neg", "<1:10", "<1/10"):
        return 0.0, grid[0]
    found = _TITRE_TEXT.match(key)
    allowed = "negative or an end-point titre on the dilution grid: " + choice_text(
        f"1:{d}" for d in TITRE_DILUTIONS
    )
    if not found:
        raise InputError(
            Problem("not a titre", file=source, row=row, field=field, value=raw, allowed=allowed)
        )
    value = float(found["den"])
    if value not in grid:
        raise InputError(
            Problem(
                "titre off the dilution grid", file=source, row=row, field=field, value=raw, allowed=allowed
            )
        )
    k = grid.index(value)
    if found["op"] is not None or k == len(grid) - 1:
        return value, math.inf
    return value, grid[k + 1]


def titre_observations(
    table: pd.DataFrame, column: str, *, source: str = "data", censoring: str = "interval"
) -> tuple[pd.DataFrame, bool]:
    """`table` with numeric ``_pd_value``, ``_pd_blq``, ``_pd_lloq``, ``_pd_low`` and ``_pd_high`` columns
    from `column`, and whether the column held titres. An end-point titre ("1:320") has the bounds of its
    dilution interval (`titre_bounds`; ``_pd_low``/``_pd_high`` NaN with ``censoring="centre"``) and the
    interval's geometric centre D·10^0.25 as its value; "negative" is BLQ with LLOQ 1:10 (see the module
    docstring); numbers are kept as they are (no BLQ, no interval). A cell that is neither, or a titre off
    the grid, is an `InputError` naming the row."""
    from cartrial.kinetics.pd import TITRE_DILUTIONS

    TITRE_LIKELIHOOD.check("censoring", censoring)

    out = table.copy()
    cells = out[column]
    numeric = pd.to_numeric(cells, errors="coerce")
    text = cells.astype(str).str.strip()
    titre_like = text.str.contains(":") | text.str.lower().isin({"negative", "neg", "<1:10"})
    present = cells.notna() & (text != "")
    if not (titre_like & present).any():
        out["_pd_value"] = numeric
        out["_pd_blq"] = False
        out["_pd_lloq"] = np.nan
        out["_pd_low"] = np.nan
        out["_pd_high"] = np.nan
        return out, False
    values = np.full(len(out), np.nan)
    low = np.full(len(out), np.nan)
    high = np.full(len(out), np.nan)
    blq = np.zeros(len(out), dtype=bool)
    lowest = float(min(TITRE_DILUTIONS))
    for k, (cell, here) in enumerate(zip(text, present, strict=True)):
        if not here:
            continue
        lo, hi = titre_bounds(cell, source=source, row=k + 2, field=column)
        if lo <= 0:
            blq[k] = True
            continue
        values[k] = lo * 10**0.25
        if censoring == "interval":
            low[k], high[k] = lo, hi
    out["_pd_value"] = values
    out["_pd_blq"] = blq
    out["_pd_lloq"] = lowest
    out["_pd_low"] = low
    out["_pd_high"] = high
    return out, True


def pd_population_data(
    table: pd.DataFrame,
    column: str,
    *,
    subject: str = "subject_id",
    time: str = "actual_day",
    censoring: str = "interval",
    lloq: float | None = None,
    source: str = "data",
    allow_unquantified: bool = False,
    min_subjects: int = 2,
    zero_is_blq: bool = True,
    time_unit: str = "day",
) -> PopulationData:
    """The PD observations of `table` (titres or numbers in `column`) as `PopulationData`: titres
    interval-censored (``censoring="interval"``) or at their interval centre (``"centre"``), negative
    titres BLQ (M3); a row without a titre (a PD sample with other measures only) is not an observation.
    The kinetic rows are attached by `attach_kinetics`. A sample time (in `time_unit`) past `MAX_DAY` days
    after the infusion, where the PD model's kinetic input ends, is an `InputError` naming the file, row and
    time column (D-19.1184)."""
    frame, titres = titre_observations(table, column, source=source, censoring=censoring)
    blank = (frame[column].isna() | (frame[column].astype(str).str.strip() == "")).to_numpy(bool)
    if blank.all():
        raise InputError(
            Problem(
                "no PD sample: the column is empty",
                file=source,
                field=column,
                allowed="end-point titres (1:320, negative) or numbers",
            )
        )
    skip = None
    if titres:
        skip = blank
        frame.loc[skip, "_pd_blq"] = True  # passes validation as a flagged sample, then dropped
    data = PopulationData.from_frame(
        frame,
        subject=subject,
        time=time,
        conc="_pd_value" if titres else column,
        blq_column="_pd_blq" if titres else "blq",
        lloq_column="_pd_lloq" if titres else "lloq",
        lloq=lloq,
        analyte_column=None,
        source=source,
        allow_unquantified=allow_unquantified,
        min_subjects=min_subjects,
        zero_is_blq=zero_is_blq,
        interval_columns=("_pd_low", "_pd_high") if titres and censoring == "interval" else None,
        skip=skip,
    )
    _check_pd_horizon(table, time, time_unit, skip, source)
    # titres are reciprocal dilutions: their unit, and a0's, is the titre's (D-19.533)
    return replace(data, value_unit=TITRE_UNIT) if titres and not data.value_unit else data


def _check_pd_horizon(
    table: pd.DataFrame, time: str, time_unit: str, skip: npt.NDArray[np.bool_] | None, source: str
) -> None:
    """Refuse the first PD sample (not a `skip` row) whose time is past `MAX_DAY` days after the infusion,
    naming the file, its row and the time column, never its value (D-19.1184): the kinetic input of the PD
    model, the Stein 2019 AUC, is defined to there (D-19.1181); the solver failed on it with an error naming
    ``end_days``, an argument the user never gave."""
    from cartrial.kinetics.frames import check_time_unit
    from cartrial.kinetics.templates import TIME_UNIT_DAYS

    unit = check_time_unit(time_unit, "time_unit")
    days = pd.to_numeric(table[time], errors="coerce").to_numpy(float) * TIME_UNIT_DAYS[unit]
    late = np.nan_to_num(days, nan=0.0) > MAX_DAY
    if skip is not None:
        late &= ~np.asarray(skip, dtype=bool)
    if late.any():
        row = int(np.argmax(late)) + 2  # the file's line: the header is line 1
        limit = MAX_DAY / TIME_UNIT_DAYS[unit]
        raise InputError(
            Problem(
                f"a PD sample past the PD model's horizon ({count(int(late.sum()), 'sample')} in all)",
                file=source,
                row=row,
                field=time,
                allowed=(
                    f"at most {MAX_DAY:g} days after the infusion"
                    + ("" if unit == "day" else f" ({limit:g} {unit})")
                    + ", where the kinetic input of the PD model (the Stein 2019 closed form) ends"
                ),
            )
        )


__all__ = [
    "PD_MODEL_NAME",
    "PD_POPULATION_PARAMETERS",
    "PD_POPULATION_UNITS",
    "TITRE_CENSORING",
    "TITRE_LIKELIHOOD",
    "TITRE_UNIT",
    "attach_kinetics",
    "cumulative_car_auc",
    "initial_baseline",
    "is_pd_model",
    "kinetic_status_note",
    "pd_map_population",
    "pd_population_data",
    "pd_structural_model",
    "read_individual_parameters",
    "solve_antibody",
    "time_grid",
    "titre_bounds",
    "titre_censoring_of",
    "titre_observations",
]
