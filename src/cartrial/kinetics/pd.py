"""The cartrial **proposed** CAR-T → BCMA+ plasma cell → AQP4-IgG model (simulation only).

This is a project proposal, not a published model (``docs/science/cellular-kinetics.md §7,
tag [P]); its parameters (``kinetics/data/pd_model.yaml``) only make simulations realistic, each with its
source or an "assumption" note. Equations (section 7.1-7.2)::

    dE/dt = k_exp · p/(p + ec50_relative) · E - (k_c + k_em) · E    effector CAR-T (copies/µg)
    dM/dt = k_em · E - k_m · M                                      memory CAR-T (copies/µg)
    dp/dt = k_out · (1 - p) - k_kill · (E + M) · p                  BCMA+ plasma cells in reach, p = P/P0
    dA/dt = k_syn · (p + p_protected) - k_deg · A                   AQP4-IgG (relative to baseline = 1)

with k_deg = ln 2 / t1/2_IgG, p_protected = f_protected/(1 - f_protected) (a constant pool out of CAR-T
reach that sets the floor of A) and k_syn = k_deg/(1 + p_protected), so that A(0) = 1.

**Identifiability.** Section 7.1 writes the pool in absolute units with a baseline P0 and a half-maximal
expansion at P = EC50. Dividing the P equation by P0 shows that P0 and EC50 act only through their ratio:
(P0, EC50) = (100, 20) and (50, 10) give the same CAR-T, plasma-cell fraction and antibody trajectories, so
the two cannot be estimated separately from any data. The model is therefore written with the pool relative
to its baseline (P0 ≡ 1) and one parameter, ``ec50_relative`` = EC50/P0 (0.2 from the section's illustrative
20/100). Its inter-individual variability is P0's (log-normal SD 0.5; EC50 had none), and it reuses P0's
random draw with the sign flipped (EC50/P0 falls when P0 rises), while the retired EC50 draw is still made
and discarded: a given seed simulates exactly the subjects it simulated before the reparameterisation.

Assumptions: expansion is driven by the antigen-bearing pool only and stops when it is depleted; plasma-cell
renewal is first-order towards the baseline; killing is mass-action (the saturable variant of 7.1 is not
implemented); IgG half-life is constant (the FcRn concentration dependence of 7.2 is not implemented).
Observed titres follow 7.3: log10 titre = log10(baseline titre · A) + error, reported as the end-point on
the 0.5-log10 dilution grid.

Solved with scipy ``solve_ivp`` (LSODA) on all subjects at once (state vector of 4·N).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.integrate import solve_ivp

from cartrial.allowed import Allowed, choice_text
from cartrial.errors import ConfigurationError, InputError, Problem
from cartrial.protocol.endpoints import AQP4_TITRE_DILUTIONS

FloatArray = npt.NDArray[np.float64]

PD_PARAMETERS: tuple[str, ...] = (
    "e0",
    "ec50_relative",
    "k_exp",
    "k_c",
    "k_em",
    "k_m",
    "k_out",
    "k_kill",
    "protected_fraction",
    "igg_half_life_days",
)

PD_OVERRIDE_FACTOR = 1e6
"""A PD parameter given instead of the drawn one lies within this factor of its typical value (the rule of
an initial typical value of `kinetics popfit`, D-19.37): far beyond any plausible patient, yet the ODE system
stays solvable in a second (`k_kill` 1e300 ran for over a minute; `igg_half_life_days` 1e-300 failed in
LSODA)."""

PROTECTED_FRACTION_CAP = 0.99
"""The largest protected fraction: a drawn one is capped at it, a given one refused above it."""

_DIVISORS = ("ec50_relative", "igg_half_life_days")


def pd_override_rules(model: PdModel | None = None) -> dict[str, Allowed]:
    """The one rule of each PD parameter given instead of the drawn one (`simulate_pd`'s ``overrides``, a
    scenario's `pd.overrides`; D-19.604): `PD_OVERRIDE_FACTOR` (10^6) below to 10^6 above the `model`'s
    typical value (default the packaged one), `protected_fraction` at most `PROTECTED_FRACTION_CAP`; and 0, a
    model without that process (``e0`` 0: no CAR-T), except for the two the equations divide by
    (``ec50_relative``, ``igg_half_life_days``).

    >>> pd_override_rules()["k_kill"].text()
    '0, or 2e-10 to 200 1/(copies/ug)/day (10^-6 to 10^6 × the typical 0.0002)'
    """
    model = model or _packaged_model()
    rules: dict[str, Allowed] = {}
    for name in PD_PARAMETERS:
        parameter = model.parameters[name]
        low, high = parameter.value / PD_OVERRIDE_FACTOR, parameter.value * PD_OVERRIDE_FACTOR
        if name == "protected_fraction":
            high = min(high, PROTECTED_FRACTION_CAP)
        unit = "" if " " in parameter.unit else f" {parameter.unit}"  # a fraction's long wording left out
        span = f"{low:.3g} to {high:.3g}{unit} (10^-6 to 10^6 × the typical {parameter.value:g})"
        zero = name not in _DIVISORS
        rules[name] = Allowed(
            values=(0.0,) if zero else (), low=low, high=high, label=f"0, or {span}" if zero else span
        )
    return rules


@functools.cache
def _packaged_model() -> PdModel:
    return load_pd_model()


_DRAW_SLOTS: tuple[tuple[str | None, float], ...] = (
    ("e0", 1.0),
    ("ec50_relative", -1.0),  # the slot of P0 in the absolute parameterisation, sign flipped
    ("k_exp", 1.0),
    (None, 0.0),  # the retired EC50 slot (no IIV): drawn and discarded so seeds keep their subjects
    ("k_c", 1.0),
    ("k_em", 1.0),
    ("k_m", 1.0),
    ("k_out", 1.0),
    ("k_kill", 1.0),
    ("protected_fraction", 1.0),
    ("igg_half_life_days", 1.0),
)
"""Order of the random draws of `simulate_pd` (one standard normal per subject and slot) and the sign of
each draw; see the module docstring."""

PD_SOLVER_RTOL = 1e-6
"""Relative tolerance of the PD solve (LSODA)."""

PD_SOLVER_ATOL = 1e-9
"""Absolute tolerance of the PD solve (LSODA), in each state's unit (effector and memory copies/µg genomic
DNA; plasma cells and antibody relative to day 0): an amount below it is not resolved by the solver."""

EFFECTOR_EXTINCTION_COPIES_PER_UG = PD_SOLVER_ATOL
"""Default extinction threshold of the effector, copies/µg: the solver's resolution (`PD_SOLVER_ATOL`). An
effector amount below the absolute tolerance is not resolved, so its regrowth would be numerical, not the
model's; it is extinct (0 from then on; decisions D-19.391)."""

TITRE_DILUTIONS: tuple[int, ...] = AQP4_TITRE_DILUTIONS
"""Cell-based-assay dilution grid, 0.5-log10 steps (docs/science/neuro-outcomes.md §6; declared once in
`cartrial.protocol.AQP4_TITRE_DILUTIONS`)."""


@dataclass(frozen=True)
class PdParameter:
    """One PD parameter: typical value, unit, log-normal IIV SD, and its source or assumption note."""

    name: str
    value: float
    unit: str
    iiv_sd_log: float
    source: str


@dataclass(frozen=True)
class PdModel:
    """The parameter set of the proposed PD model (read from the packaged YAML by `load_pd_model`)."""

    label: str
    parameters: dict[str, PdParameter]

    def typical(self) -> dict[str, float]:
        return {name: p.value for name, p in self.parameters.items()}


def load_pd_model(text: str | None = None) -> PdModel:
    """The packaged parameter file ``kinetics/data/pd_model.yaml`` (or YAML `text`), validated.

    Every parameter needs ``value``, ``unit``, ``iiv_sd_log`` and a non-empty ``source`` (a citation or
    "assumption ...").

    >>> model = load_pd_model()
    >>> model.parameters["igg_half_life_days"].value
    21.0
    """
    if text is None:
        text = resources.files("cartrial.kinetics").joinpath("data/pd_model.yaml").read_text(encoding="utf-8")
    from cartrial.protocol.yaml_source import read_yaml

    # the guarded reader (alias bombs refused, line-numbered syntax errors): the text may be user input
    raw, _positions, _duplicates = read_yaml(text, "PD model")
    if not isinstance(raw, dict) or not isinstance(raw.get("parameters", {}), dict):
        raise ConfigurationError("the PD model must be a YAML mapping with a 'parameters' mapping")
    params: dict[str, PdParameter] = {}
    for name in PD_PARAMETERS:
        entry = raw.get("parameters", {}).get(name)
        if entry is None:
            raise ConfigurationError(f"PD model parameter {name!r} is missing")
        if not str(entry.get("source", "")).strip():
            raise ConfigurationError(f"PD model parameter {name!r} has no source or assumption note")
        params[name] = PdParameter(
            name=name,
            value=float(entry["value"]),
            unit=str(entry["unit"]),
            iiv_sd_log=float(entry.get("iiv_sd_log", 0.0)),
            source=str(entry["source"]),
        )
    return PdModel(label=str(raw.get("label", "")), parameters=params)


@dataclass(frozen=True)
class PdSimulation:
    """Simulated trajectories (subjects × days) and the individual parameters used."""

    days: FloatArray
    parameters: pd.DataFrame
    effector: FloatArray
    memory: FloatArray
    plasma_cells: FloatArray  # reachable pool p = P/P0 (relative to its baseline, 1 at day 0)
    antibody_relative: FloatArray  # A / A(0)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def car_t(self) -> FloatArray:
        """CAR(t) = E + M (copies/µg)."""
        return self.effector + self.memory

    def plasma_cells_relative(self) -> FloatArray:
        """All antibody-secreting plasma cells (reachable p plus protected) relative to their baseline
        (1 + p_protected)."""
        f = self.parameters["protected_fraction"].to_numpy()[:, None]
        protected = f / (1 - f)
        return (self.plasma_cells + protected) / (1.0 + protected)


def _override_values(field: str, value: Any, n_subjects: int) -> FloatArray:
    """One override (or `e0_scale`) as one value per subject; anything but one number or one per subject
    is an `InputError` at `field` (``overrides[NAME]``)."""
    allowed = "one number, or one per subject"
    try:  # numbers only: a text ("5") or a bool is not read as one
        raw = np.asarray(value)
        if raw.dtype.kind not in "iuf":
            raise TypeError(raw.dtype)
        given = raw.astype(float)
    except (TypeError, ValueError):
        raise InputError(Problem("not a number", field=field, allowed=allowed)) from None
    if given.ndim > 1 or given.size not in (1, n_subjects):
        raise InputError(
            Problem(f"{given.size} values for {n_subjects} subjects", field=field, allowed=allowed)
        )
    return np.broadcast_to(given.reshape(-1), (n_subjects,)).astype(float)


def simulate_pd(
    n_subjects: int,
    days: npt.ArrayLike,
    *,
    seed: int | None = None,
    model: PdModel | None = None,
    iiv: bool = True,
    overrides: dict[str, npt.ArrayLike] | None = None,
    e0_scale: npt.ArrayLike | None = None,
    extinction_copies_per_ug: float = EFFECTOR_EXTINCTION_COPIES_PER_UG,
) -> PdSimulation:
    """Simulate the proposed PD model for `n_subjects` virtual subjects at `days` (from day 0).

    Individual parameters: typical · exp(eta), eta ~ N(0, iiv_sd_log²) (YAML); ``protected_fraction`` is
    capped at 0.99. `overrides` replaces a parameter (scalar or per subject) after sampling, each within
    `pd_override_rules` (an `InputError` at ``overrides[NAME]`` before anything is solved, D-19.604).
    `e0_scale` (scalar or per subject, a finite number ≥ 0) then multiplies the initial effector: a dose
    effect computed by the caller (the trial simulator's (dose / reference)^exponent), not a user's
    value, so not held to the override rule (an `InputError` at ``e0_scale`` otherwise). One
    ODE system of 4·N states is solved (LSODA, `PD_SOLVER_RTOL`, `PD_SOLVER_ATOL`); every state is an
    amount, kept at or above 0. An effector amount below `extinction_copies_per_ug` (default the solver's
    absolute tolerance, `EFFECTOR_EXTINCTION_COPIES_PER_UG`, copies/µg) is extinct: 0 from then on, in the
    equations and in `effector` (decisions D-19.391); 0 turns the rule off.

    >>> sim = simulate_pd(2, [0, 14, 28], seed=1)
    >>> sim.antibody_relative.shape, sim.antibody_relative[:, 0].tolist()
    ((2, 3), [1.0, 1.0])
    """
    if n_subjects < 1:
        raise ConfigurationError("n_subjects must be at least 1")
    if not (math.isfinite(extinction_copies_per_ug) and extinction_copies_per_ug >= 0):
        raise ConfigurationError("extinction_copies_per_ug must be a finite number of copies/µg, 0 or more")
    pd_model = model or load_pd_model()
    t = np.asarray(days, dtype=float)
    if t.ndim != 1 or t.size == 0 or t[0] < 0 or np.any(np.diff(t) < 0):
        raise ConfigurationError("days must be an increasing 1-D array starting at day 0 or later")
    rng = np.random.default_rng(seed)
    values: dict[str, FloatArray] = {}
    for name, sign in _DRAW_SLOTS:
        z = rng.standard_normal(n_subjects)
        if name is None:
            continue
        p = pd_model.parameters[name]
        eta = sign * z * p.iiv_sd_log if iiv else np.zeros(n_subjects)
        values[name] = p.value * np.exp(eta)
    rules: dict[str, Allowed] = {}
    for name, value in (overrides or {}).items():
        if name not in values:
            raise ConfigurationError(f"unknown PD parameter {name!r}; allowed: {choice_text(PD_PARAMETERS)}")
        values[name] = given = _override_values(f"overrides[{name}]", value, n_subjects)
        if not rules:
            rules = pd_override_rules(pd_model)
        rule = rules[name]
        low, high, zero = float(rule.low or 0.0), float(rule.high or 0.0), bool(rule.values)
        if np.all(((given >= low) & (given <= high)) | ((given == 0) & zero)):
            continue  # within the rule: no loop over the subjects
        for each in given:  # scalar or per subject: the first refused value
            if (problem := rule.problem(f"overrides[{name}]", float(each))) is not None:
                raise InputError(problem)
    if e0_scale is not None:
        scale = _override_values("e0_scale", e0_scale, n_subjects)
        if not np.all(np.isfinite(scale) & (scale >= 0)):
            raise InputError(
                Problem("not a finite number of 0 or more", field="e0_scale", allowed="a finite number ≥ 0")
            )
        values["e0"] = values["e0"] * scale
    values["protected_fraction"] = np.clip(values["protected_fraction"], 0.0, PROTECTED_FRACTION_CAP)
    k_deg = math.log(2) / values["igg_half_life_days"]
    protected = values["protected_fraction"] / (1 - values["protected_fraction"])
    k_syn = k_deg / (1.0 + protected)  # A(0) = 1
    n = n_subjects

    threshold = float(extinction_copies_per_ug)

    def rhs(_time: float, y: FloatArray) -> FloatArray:
        # Cell amounts are never below 0 (E = 0 and M = 0 are invariant under the equations); a compartment
        # the solver has carried below 0 is empty. An effector amount below the threshold (default the
        # solver's absolute tolerance: not resolved) is extinct: it counts as 0 in every term and only decays
        # (no expansion), so it can never cross the threshold again (decisions D-19.391).
        e_state = np.maximum(y[:n], 0.0)
        alive = e_state >= threshold
        e = np.where(alive, e_state, 0.0)
        m, p, a = np.maximum(y[n : 2 * n], 0.0), y[2 * n : 3 * n], y[3 * n :]
        p_pos = np.maximum(p, 0.0)
        de = np.where(
            alive,
            values["k_exp"] * p_pos / (p_pos + values["ec50_relative"]) * e
            - (values["k_c"] + values["k_em"]) * e,
            -(values["k_c"] + values["k_em"]) * e_state,
        )
        dm = values["k_em"] * e - values["k_m"] * m
        dp = values["k_out"] * (1.0 - p) - values["k_kill"] * (e + m) * p
        da = k_syn * (p_pos + protected) - k_deg * a
        return np.concatenate([de, dm, dp, da])

    y0 = np.concatenate([values["e0"], np.zeros(n), np.ones(n), np.ones(n)])
    span = (0.0, float(t[-1]) if t[-1] > 0 else 1.0)
    solution = solve_ivp(rhs, span, y0, method="LSODA", t_eval=t, rtol=PD_SOLVER_RTOL, atol=PD_SOLVER_ATOL)
    if not solution.success:
        raise ConfigurationError(f"PD simulation failed: {solution.message}")
    y = np.maximum(solution.y, 0.0)  # amounts: solver noise below 0 (within atol) is 0
    effector = y[:n]
    # extinct from the first time below the threshold (below it the state only decays)
    extinct = np.maximum.accumulate(effector < threshold, axis=1)
    effector = np.where(extinct, 0.0, effector)
    width = max(3, len(str(n_subjects)))
    params = pd.DataFrame(values)
    params.insert(0, "subject", [f"SIM-{i + 1:0{width}d}" for i in range(n_subjects)])
    return PdSimulation(
        days=t,
        parameters=params,
        effector=effector,
        memory=y[n : 2 * n],
        plasma_cells=y[2 * n : 3 * n],
        antibody_relative=y[3 * n :],
        settings={"model": "cartrial_pd_2026", "label": pd_model.label, "seed": seed, "iiv": iiv},
    )


def titre_endpoint(log10_titre: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """End-point titre text on the dilution grid: the highest dilution ≤ the latent titre, "negative"
    below 1:10, the top dilution (1:10000) at or above it (docs/science/neuro-outcomes.md §6;
    docs/science/cellular-kinetics.md §7.3).

    >>> titre_endpoint([2.6, 0.5]).tolist()
    ['1:320', 'negative']
    """
    values = np.asarray(log10_titre, dtype=float)
    grid = np.log10(np.array(TITRE_DILUTIONS, dtype=float))
    index = np.searchsorted(grid, values + 1e-9, side="right") - 1
    labels = np.array(["negative", *(f"1:{d}" for d in TITRE_DILUTIONS)], dtype=object)
    return np.asarray(labels[np.clip(index + 1, 0, len(TITRE_DILUTIONS))], dtype=object)


def parse_titre(text: str) -> float:
    """log10 of a titre written "1:320" (or "320"); "negative" gives -inf.

    >>> round(parse_titre("1:320"), 4), parse_titre("negative")
    (2.5051, -inf)
    """
    value = text.strip().lower()
    if value in ("negative", "neg", "<1:10"):
        return float("-inf")
    if value.startswith("1:"):
        value = value[2:]
    try:
        number = float(value)
    except ValueError:
        raise ConfigurationError("not a titre; allowed: e.g. 1:320, 320 or negative") from None
    if number <= 0:
        raise ConfigurationError("not a titre: the dilution must be above 0; allowed: e.g. 1:320 or negative")
    return math.log10(number)


__all__ = [
    "PD_OVERRIDE_FACTOR",
    "PD_PARAMETERS",
    "TITRE_DILUTIONS",
    "PdModel",
    "PdParameter",
    "PdSimulation",
    "load_pd_model",
    "parse_titre",
    "pd_override_rules",
    "simulate_pd",
    "titre_endpoint",
]
