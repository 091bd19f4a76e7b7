"""MAP Bayesian estimation of a new patient from a population model and that patient's samples.

One implementation for every population model: the structural model is the population's (`PopulationSpec.
model`) — the kinetic models, or the PD model built on the patient's own kinetic parameters
(`cartrial.kinetics.popfit.pdmodel.pd_map_population`); interval-censored titres enter by their interval
likelihood, as in the fit.

The posterior mode of η maximises log p(y | φ) + log N(η; 0, Ω) (the population model is the prior; BLQ
samples enter by the M3 censored likelihood, so even one or two samples — or only BLQ ones — update the
prior). Uncertainty: the Laplace approximation N(η̂, H⁻¹) (H = Hessian of -log posterior at the mode); the
profile band is the 5th-95th percentile of predictions over draws from it (individual-prediction band,
without residual error; a note of every result says so, with the residual error's size, D-19.666).
A parameter's 90 % interval is the 5th-95th percentile of φ under the same approximation, φ̂ ± 1.645·SD
(exact: φ is linear in η; D-19.978),
back-transformed and clipped to the parameter's domain as the model uses it (F_B ≤ 1; D-19.240).
Source: Sheiner LB, Beal SL. Bayesian individualization of pharmacokinetics. J Pharm Sci
1982;71:1344-1348 (MAP estimation); the same conditional mode as the EBEs of `fit_population`, except
that the patient's BLQ samples always enter by M3: under a population fitted with M1 (BLQ samples dropped)
its EBEs ignore them, a MAP does not (D-19.667).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from cartrial.errors import InputError, Problem
from cartrial.kinetics.popfit.data import PopulationData
from cartrial.kinetics.popfit.likelihood import ErrorModel
from cartrial.kinetics.popfit.population import PopulationModel
from cartrial.kinetics.popfit.saem import Work, conditional_modes, is_positive_definite, laplace_covariance
from cartrial.kinetics.popfit.structural import parameter_units, time_unit_of

FloatArray = npt.NDArray[np.float64]

Z90 = 1.6448536269514722
"""Φ⁻¹(0.95): the 5th/95th percentiles of a normal are its mean ∓ Z90·SD."""


@dataclass(frozen=True)
class MapResult:
    """MAP estimate of one patient: parameters (mode, 90 % interval), the profile with its band, notes;
    for the figure of the fit (`cartrial.report.popfit_figures.map_figure`): the samples the MAP used
    (`observations`: time, dv — NaN when censored —, blq, lloq, censored, dv_low, dv_high, as the
    diagnostics table of a fit), the error model's scale (``log`` or ``linear``) and the time and value
    units."""

    subject: str
    parameters: pd.DataFrame
    profile: pd.DataFrame
    converged: bool
    population_converged: bool
    notes: tuple[str, ...]
    observations: pd.DataFrame = field(default_factory=pd.DataFrame)
    scale: str = "log"
    time_unit: str = ""
    value_unit: str = ""

    @property
    def status(self) -> str:
        """``converged`` when the MAP search and its population model both converged, else ``NOT
        CONVERGED``: the label of ``map_parameters.csv`` (as of an ``ebe.csv``), the figure and the CLI
        (D-19.979, D-19.981)."""
        return "converged" if self.converged and self.population_converged else "NOT CONVERGED"

    @property
    def status_text(self) -> str:
        """`status` with what did not converge, for a title or a terminal line: ``converged``, or e.g.
        ``NOT CONVERGED (population model, MAP search)``."""
        failed = [
            what
            for what, ok in (("population model", self.population_converged), ("MAP search", self.converged))
            if not ok
        ]
        return self.status if not failed else f"{self.status} ({', '.join(failed)})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "status": self.status,
            "converged": self.converged,
            "population_converged": self.population_converged,
            "notes": list(self.notes),
            "parameters": self.parameters.to_dict(orient="records"),
            "profile": self.profile.to_dict(orient="list"),
        }


def _check_typical(population: PopulationModel, x: npt.NDArray[np.float64]) -> None:
    """`InputError` when the covariate values put a typical parameter beyond what can be computed (a
    log-normal parameter's log above 700 overflows; e.g. a weight of 1e308 kg in a power model)."""
    spec = population.spec
    typical = spec.typical_phi(population.theta, x)[0]
    for j, name in enumerate(spec.model.parameters):
        limit = math.inf if spec.model.distribution(j) == "normal" else 700.0
        if not (np.isfinite(typical[j]) and abs(typical[j]) < limit):
            raise InputError(
                Problem(
                    "the covariate values put the typical value of this parameter out of range",
                    field=str(name),
                    allowed="--covariate-value values within the range of the fitted population",
                )
            )


def map_estimate(
    population: PopulationModel,
    data: PopulationData,
    *,
    subject: int = 0,
    covariates: Mapping[str, Any] | None = None,
    grid: npt.ArrayLike | None = None,
    n_draws: int = 500,
    seed: int | None = 2024,
) -> MapResult:
    """MAP estimate for subject number `subject` of `data` (one patient; its samples may be few or BLQ)."""
    spec, theta = population.spec, population.theta
    one = data.select([subject])
    units = parameter_units(spec.model, one.value_unit, one.time_unit)
    # (1, k) covariate columns; a covariate the model has no effect of is refused
    x = population.covariate_row(dict(covariates or {}))
    _check_typical(population, x)
    # the patient's BLQ samples enter by M3 whatever rule the population was fitted with: its `blq` says how
    # the population's data were used; the posterior's likelihood of a BLQ sample is its probability below
    # the LLOQ (Beal 2001; an M1 population dropped them silently here before, D-19.667)
    work = Work(spec if spec.blq == "m3" else replace(spec, blq="m3"), one, x)
    eta, hess, _, ok = conditional_modes(work, theta, np.zeros((1, spec.q)))
    # the Laplace approximation N(η̂, H⁻¹) needs a mode: H (of −log posterior) positive definite; where the
    # search ends at a saddle or flat direction, an eigenvalue clipped to 1e-8 of the largest read as an
    # interval of 1e-87 to 1e+88 — no interval or band is given then, and the search is not converged
    # (D-19.1143)
    is_mode = bool(is_positive_definite(hess[0]))
    cov = laplace_covariance(hess[0])
    phi_mode = spec.phi(theta, x, eta)
    rng = np.random.default_rng(seed)
    draws = eta + rng.multivariate_normal(np.zeros(spec.q), cov, size=n_draws, method="cholesky")
    phi_draws = spec.phi(theta, np.repeat(x, n_draws, axis=0), draws)
    psi_draws = spec.model.to_natural(phi_draws)
    # the interval: the 5th and 95th percentiles of φ under the Laplace approximation, exactly (φ is linear
    # in η: φ̂ ± z₀.₉₅·SD, SD from H⁻¹; the percentiles of the draws carried a Monte-Carlo error of about
    # 0.1 SD, D-19.978), back-transformed to the parameter as the model uses it (a bounded one, F_B ≤ 1,
    # clipped to its domain; D-19.240)
    sd_phi = np.zeros(spec.p)
    sd_phi[spec.iiv_index] = np.sqrt(np.maximum(np.diag(cov), 0.0))
    phi_pct = np.vstack([phi_mode[0] - Z90 * sd_phi, phi_mode[0] + Z90 * sd_phi])
    if not is_mode:
        phi_pct[:] = np.nan
    reported = spec.model.in_domain(spec.model.to_natural(phi_pct))
    typical_phi = spec.typical_phi(theta, x)[0]
    with_iiv = set(spec.iiv_names)
    rows = []
    for j, name in enumerate(spec.model.parameters):
        # a parameter without IIV is the population's typical value for every patient: no individual
        # interval (a zero-width one read as certainty; D-19.244)
        has_iiv = name in with_iiv
        rows.append(
            {
                "parameter": name,
                "map_estimate": spec.model.natural_in_domain(j, spec.model.natural_value(j, phi_mode[0, j])),
                "typical": spec.model.natural_in_domain(j, spec.model.natural_value(j, typical_phi[j])),
                "p05": float(reported[0, j]) if has_iiv else float("nan"),
                "p95": float(reported[1, j]) if has_iiv else float("nan"),
                "iiv": has_iiv,
                "unit": units[j],
            }
        )
    t_obs = one.times[one.observed]
    if grid is None:
        hi = float(max(t_obs.max() if t_obs.size else 1.0, 1.0))
        grid_t = np.linspace(0.0, hi * 1.5, 200)
    else:
        grid_t = np.asarray(grid, float)
    dose = np.repeat(one.dose, n_draws)
    pred_draws = spec.model.predict(psi_draws, np.broadcast_to(grid_t, (n_draws, grid_t.size)), dose)
    pred_mode = spec.model.predict(spec.model.to_natural(phi_mode), grid_t[None, :], one.dose)[0]
    band = np.percentile(pred_draws, [5, 95], axis=0)  # one partial sort for both bounds
    if not is_mode:
        band = np.full_like(band, np.nan)
    pop_pred = spec.model.predict(
        spec.model.to_natural(spec.typical_phi(theta, x)), grid_t[None, :], one.dose
    )[0]
    profile = pd.DataFrame(
        {
            "time": grid_t,
            "map_prediction": pred_mode,
            "p05": band[0],
            "p95": band[1],
            "population_prediction": pop_pred,
        }
    )
    notes = []
    n_q = int((one.observed & ~one.blq).sum())
    n_i = one.n_interval
    interval = f" ({n_i} interval-censored)" if n_i else ""
    n_b = int((one.observed & one.blq).sum())
    notes.append(f"samples used: {n_q} quantifiable{interval}, {n_b} BLQ")
    if spec.blq != "m3" and n_b:
        notes.append(
            "the population was fitted with BLQ samples dropped (M1); this patient's BLQ samples enter by "
            "M3, their probability below the LLOQ (D-19.667)"
        )
    if is_mode:  # no band without a mode (D-19.1143): its note would describe a band that is not there
        notes.append(band_note(spec.error, theta.sigma, one.value_unit))
    notes.extend(one.conversion_notes)  # the patient's samples in the population's standard unit (D-19.781)
    fixed = [n for n in spec.model.parameters if n not in with_iiv]
    if fixed:
        notes.append(
            f"{', '.join(fixed)}: no IIV in the population model, so each is the population's typical value "
            "for this patient (no individual 90 % interval; the population estimate's own uncertainty is not "
            "in the MAP intervals)"
        )
    if not population.converged:
        notes.append("the population model did NOT CONVERGE: this MAP estimate rests on an unreliable prior")
    if not bool(ok[0]) and is_mode:  # not a mode has its own note below (`conditional_modes`, D-19.1171)
        notes.append("the MAP search did not converge")
    if not is_mode:
        notes.append(
            "the Hessian of the posterior is not positive definite where the MAP search ended (not a mode): "
            "no 90 % interval and no profile band (D-19.1143)"
        )
    return MapResult(
        one.subjects[0],
        pd.DataFrame(rows),
        profile,
        bool(ok[0]) and is_mode,
        population.converged,
        tuple(notes),
        observations=_observations(one),
        scale=spec.error.scale,
        time_unit=one.time_unit or time_unit_of(spec.model.units),
        value_unit=one.value_unit,
    )


def band_note(error: ErrorModel, sigma: npt.ArrayLike, value_unit: str = "") -> str:
    """What the MAP's profile band is (D-19.666): the 90 % interval of the individual prediction from the
    parameters' posterior uncertainty (Laplace draws), without the residual error of an observation, whose
    size it names with its unit (`ErrorModel.unit`: the SD of log y; on the linear scale the additive SD a
    in the data's unit and the proportional b a fraction of the prediction, D-19.671) — so the band is not
    read as the interval of the next sample.

    >>> band_note(ErrorModel("additive", "log"), [0.56]).split("varies more ")[1]
    '(residual SD 0.56 on the log scale)'
    >>> note = band_note(ErrorModel("combined", "linear"), [0.5, 0.2], "mg/L")
    >>> "a 0.5 mg/L (additive SD), b 0.2 (proportional SD, a fraction of the prediction)" in note
    True
    """
    values = np.atleast_1d(np.asarray(sigma, dtype=float))
    if error.scale == "log":
        residual = f"residual SD {values[0]:g} on the log scale"
    else:
        what = {"a": "additive SD", "b": "proportional SD, a fraction of the prediction"}
        parts = [
            f"{name} {value:g} {error.unit(name, value_unit)} ({what[name]})"
            if name == "a"
            else f"{name} {value:g} ({what[name]})"
            for name, value in zip(error.names, values, strict=True)
        ]
        residual = "residual error on the linear scale: " + ", ".join(parts)
    return (
        "profile band (p05, p95): the 5th-95th percentile of the individual prediction over the MAP's "
        f"parameter uncertainty, without residual error; an observation varies more ({residual})"
    )


def _observations(one: PopulationData) -> pd.DataFrame:
    """The patient's samples as the MAP used them, one row each: time, dv (NaN when censored), blq, lloq,
    ``censored`` (none / blq / interval) and the bounds of a censored sample (`censoring_table`)."""
    from cartrial.kinetics.popfit.diagnostics import censoring_table

    kind, low, high = censoring_table(one)
    idx = np.nonzero(one.observed)
    censored = kind[idx] != "none"
    return pd.DataFrame(
        {
            "time": one.times[idx],
            "dv": np.where(censored, np.nan, one.y[idx]),
            "blq": one.blq[idx],
            "lloq": one.lloq[idx],
            "censored": kind[idx].astype(str),
            "dv_low": np.where(np.isneginf(low[idx]), np.nan, low[idx]),
            "dv_high": high[idx],
        }
    )
