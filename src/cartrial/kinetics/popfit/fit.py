"""`fit_population`: SAEM fit, standard errors, -2LL, EBEs, shrinkage and the convergence label.

The result (`PopulationFit`) has the estimates table (typical values, covariate effects, Ω, residual error;
SE, RSE %, 95 % CI, shrinkage), per-subject EBEs, the iteration trace, the log-likelihood with AIC/BIC, and
`converged` with the reasons when it is not — every output (tables, JSON, HTML, CLI) carries that label.
"""

from __future__ import annotations

import dataclasses
import math
import time as _time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from cartrial.allowed import OMEGA_LOG_VARIANCE, Allowed
from cartrial.errors import ConfigurationError, NotEstimableError, OptionError, Problem
from cartrial.kinetics.models import log_y_jacobian
from cartrial.kinetics.popfit.data import PopulationData, covariate_design
from cartrial.kinetics.popfit.likelihood import ErrorModel
from cartrial.kinetics.popfit.population import (
    PopulationModel,
    PopulationSpec,
    Theta,
    collapsed_variances,
    residuals_out_of_range,
    typicals_out_of_range,
    variances_out_of_range,
)
from cartrial.kinetics.popfit.saem import (
    MarginalLikelihood,
    SaemSettings,
    SaemTrace,
    ThetaCodec,
    Work,
    build_proposal,
    conditional_modes,
    is_positive_definite,
    laplace_covariance,
    maximise_is_likelihood,
    observed_information,
    run_saem,
)
from cartrial.kinetics.popfit.structural import INITIAL_FACTOR, StructuralModel, get_model, parameter_units
from cartrial.wording import count

FloatArray = npt.NDArray[np.float64]
Z95 = 1.959963984540054

M1_ALL_BLQ_REASON = "every sample BLQ: no observation under M1 (BLQ samples dropped)"
"""Why a subject is left out of a fit with ``blq="m1"`` (D-19.1173)."""

CI_METHODS: tuple[str, ...] = ("auto", "wald", "profile")
"""Choices of `fit_population(ci=...)` (and `--ci`)."""

VARIANCE_CI_METHODS: tuple[str, ...] = ("satterthwaite", "wald")
"""Choices of `fit_population(variance_ci=...)` (and `--variance-ci`): the 95 % intervals of the variances
(Ω diagonal) and of the residual error parameters (decisions D-17.28)."""


def check_interval_methods(ci: str, variance_ci: str) -> None:
    """Refuse a `ci` outside `CI_METHODS` or a `variance_ci` outside `VARIANCE_CI_METHODS` (`OptionError`
    naming ``ci`` / ``variance_ci``); `fit_population` calls it first, the command line before reading data.

    >>> check_interval_methods("wald", "bootstrap")
    Traceback (most recent call last):
    ...
    cartrial.errors.OptionError: variance_ci: not an allowed value (got 'bootstrap'); allowed: ... | wald
    """
    problems = [
        problem
        for problem in (
            Allowed(values=CI_METHODS).problem("ci", ci),
            Allowed(values=VARIANCE_CI_METHODS).problem("variance_ci", variance_ci),
        )
        if problem is not None
    ]
    if problems:
        raise OptionError(problems)


CI_METHOD_LABELS: dict[str, str] = {
    "satterthwaite": "Satterthwaite: ν·v/χ²_ν(0.975) to ν·v/χ²_ν(0.025) for a variance v, ν = 2 (v/SE)², SE "
    "from the observed information (a residual SD: the square root of its variance's interval)",
    "wald_log": "Wald on the log scale: exp(log θ ± 1.96 SE), SE from the observed information",
    "wald": "Wald: θ ± 1.96 SE, SE from the observed information",
    "profile": "profile likelihood: log L within χ²₁(0.95)/2 = 1.92 of its maximum",
    "none": "no interval: no standard error (the note says why)",
    "fixed": "no interval: the typical value is fixed, not estimated (--fix)",
}
"""What each value of the estimates table's ``ci_method`` column means."""

SAEM_SOURCE = (
    "SAEM: Kuhn E, Lavielle M. Comput Stat Data Anal 2005;49:1020-1038; kernels and settings as saemix "
    "(Comets E, Lavenu A, Lavielle M. J Stat Softw 2017;80(3)); BLQ M3: Beal SL. J Pharmacokinet "
    "Pharmacodyn 2001;28:481-504"
)


@dataclass(frozen=True)
class PopulationFit:
    """Everything a population fit produced (see the module docstring)."""

    model: PopulationModel
    estimates: pd.DataFrame
    ebe: pd.DataFrame
    trace: pd.DataFrame
    likelihood: dict[str, float]
    converged: bool
    convergence_problems: tuple[str, ...]
    covariance: FloatArray
    data: PopulationData
    work: Work
    eta_mode: FloatArray
    eta_hessian: FloatArray
    settings: dict[str, Any] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return "converged" if self.converged else "NOT CONVERGED"

    def summary(self) -> dict[str, Any]:
        return {
            "model": self.model.spec.model.name,
            "method": self.settings.get("method", "saem"),
            "status": self.status,
            "converged": self.converged,
            "convergence_problems": list(self.convergence_problems),
            "fixed": dict(self.settings.get("fixed", {})),
            "left_out": list(self.settings.get("left_out", [])),
            **self.data.summary(),
            **self.likelihood,
        }

    def to_dict(self) -> dict[str, Any]:
        """The population model (`estimates.json`): what `map` reads, plus the estimates table."""

        out = self.model.to_dict()
        out.update(
            {
                "units": list(
                    parameter_units(self.model.spec.model, self.data.value_unit, self.data.time_unit)
                ),
                "status": self.status,
                "method": self.settings.get("method", "saem"),
                "likelihood": self.likelihood,
                "data": self.data.summary(),
                "estimates": _records(self.estimates),
                "settings": self.settings,
                "source": SAEM_SOURCE + "; model: " + self.model.spec.model.source,
            }
        )
        return out


def codec_vector(spec: PopulationSpec, theta: Theta) -> FloatArray:
    """θ as the unconstrained vector of `ThetaCodec` (μ, β, Ω terms, log σ)."""
    try:
        return ThetaCodec(spec).encode(theta)
    except (np.linalg.LinAlgError, ValueError):
        return np.full(1, np.nan)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    rows = frame.to_dict(orient="records")
    return [
        {str(k): (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
        for r in rows
    ]


def default_sigma(error: ErrorModel, data: PopulationData) -> FloatArray:
    """Starting residual parameters: 0.5 on the log scale; 20 % of the mean value / 0.2 on the linear one."""
    if error.scale == "log":
        return np.array([0.5])
    level = float(np.nanmean(np.where(data.quantified, data.y, np.nan)))
    return {
        "additive": np.array([0.2 * level]),
        "proportional": np.array([0.2]),
        "combined": np.array([0.1 * level, 0.1]),
    }[error.kind]


def fit_population(
    data: PopulationData,
    model: str | StructuralModel = "stein2019",
    *,
    error: ErrorModel | None = None,
    iiv: Sequence[str] | None = None,
    omega: str = "diagonal",
    blq: str = "m3",
    covariates: Sequence[tuple[str, str, str]] = (),
    initial: Mapping[str, float] | None = None,
    initial_omega2: float | Mapping[str, float] = 1.0,
    initial_sigma: Sequence[float] | None = None,
    settings: SaemSettings | None = None,
    progress: Callable[[int, int, float], None] | None = None,
    compute_se: bool = True,
    method: str = "saem",
    ci: str = "wald",
    variance_ci: str = "satterthwaite",
    profile_draws: int = 300,
    fix: Mapping[str, float] | None = None,
) -> PopulationFit:
    """Fit a population model by SAEM (see `cartrial.kinetics.popfit.saem`).

    `blq`: ``m3`` (censored likelihood, default) or ``m1`` (BLQ samples dropped). `covariates`: effects
    (parameter, covariate column of ``data.covariates``, kind) — see `covariate_design`. `initial`: starting
    typical values (natural scale; default: the model's). `ci`: the 95 % intervals of the typical values —
    ``wald`` (exp(log θ ± 1.96 SE) from the observed information), ``profile`` (profile likelihood for all,
    `cartrial.kinetics.popfit.profile`) or ``auto`` (default: Wald, and profile likelihood where the Wald
    interval is not available, e.g. a Fisher information that is not positive definite); the method of every
    interval is in the ``ci_method`` column. `variance_ci`: the 95 % intervals of the variances (Ω diagonal)
    and residual error parameters — ``satterthwaite`` (default, `satterthwaite_interval`) or ``wald``
    (exp(log v ± 1.96 SE); θ ± 1.96 SE for a full Ω's entries). Raises `NotEstimableError` with what to
    change when the data cannot identify the model; a fit that ran but did not converge is returned labelled.
    `fix`: typical values held at the given value (natural scale; NONMEM's FIX): not estimated (no SE, CI
    or RSE; ``fixed`` in the estimates table), no IIV unless `iiv` names them, checked as `initial` is
    (D-19.273).
    """
    t0 = _time.perf_counter()
    check_interval_methods(ci, variance_ci)
    settings = settings or SaemSettings()
    struct = get_model(model) if isinstance(model, str) else model
    error = error or ErrorModel()
    left_out: list[dict[str, str]] = []
    if blq == "m1":
        data = data.drop_blq()
        # under M1 a subject whose samples were all BLQ has no observation left: it is not in the fit (an
        # EBE would be the prior's η = 0 shown as an estimate), and is listed with the reason (D-19.1173)
        kept = [i for i in range(data.n_subjects) if data.observed[i].any()]
        if len(kept) < data.n_subjects:
            left_out = [
                {"subject": s, "reason": M1_ALL_BLQ_REASON}
                for i, s in enumerate(data.subjects)
                if not data.observed[i].any()
            ]
            if len(kept) < 2:  # say who M1 left out and why, not only the count left (D-19.1177)
                raise NotEstimableError(
                    f"{data.source}: a population fit needs at least 2 subjects (got {len(kept)}): "
                    f"{count(len(left_out), 'subject')} left out under M1 ({M1_ALL_BLQ_REASON}); use "
                    "the censored likelihood, which keeps their BLQ samples (blq='m3'; CLI: --blq m3), or "
                    "for one patient `cartrial kinetics map` with a population model"
                )
            data = data.select(kept)
            data.check(allow_unquantified=True)
    units = parameter_units(struct, data.value_unit, data.time_unit)  # a range in the data's units
    fixed_values = check_fixed(struct, fix, initial, units=units)
    initial_values = check_typical_values(struct, initial, "initial", units=units)
    labels, x, info = covariate_design(data, list(covariates), list(struct.parameters))
    default_iiv = tuple(n for n in struct.parameters if n not in fixed_values)
    spec = PopulationSpec(
        struct,
        error,
        tuple(iiv) if iiv else default_iiv,
        omega,
        blq,
        tuple(labels),
        info,
        tuple(fixed_values),
    )
    n_pop = spec.p - len(fixed_values) + spec.q + len(labels) + len(error.names)
    if data.quantified.sum() <= n_pop:
        raise NotEstimableError(
            f"{data.quantified.sum()} quantifiable samples cannot identify {n_pop} "
            "population parameters: add data or remove IIV/covariates"
        )
    work = Work(spec, data, x)
    typical = np.array(struct.default_typical, float)
    for name, value in (initial_values | fixed_values).items():
        typical[struct.index(name)] = value
    if isinstance(initial_omega2, Mapping):
        om2 = np.array([float(initial_omega2.get(n, 1.0)) for n in spec.iiv_names])
    else:
        om2 = np.full(spec.q, float(initial_omega2))
    sigma0 = np.asarray(initial_sigma, float) if initial_sigma is not None else default_sigma(error, data)
    theta0 = Theta(struct.to_phi(typical), np.zeros(len(labels)), np.diag(om2), sigma0)
    n, q = data.n_subjects, spec.q
    outer_problems: list[str] = []
    if method == "saem":
        theta, trace, eta_chains, details = run_saem(work, theta0, settings, progress)
        chains = details["n_chains"]
        eta_start = eta_chains.reshape(chains, n, q).mean(axis=0)
    elif method in ("laplace", "focei"):
        from cartrial.kinetics.popfit.laplace import fit_laplace

        theta, _, ok, message, eta_start, _ = fit_laplace(work, theta0, approximation=method)
        trace, chains, details = SaemTrace(), 0, {"acceptance_last": []}
        if not ok and "precision loss" not in message:
            label = "Laplacian" if method == "laplace" else "FOCE-I"
            outer_problems.append(f"{label} outer optimisation did not converge ({message})")
    else:
        raise ConfigurationError(f"unknown estimation method {method!r}; allowed: saem, laplace, focei")
    t_saem = _time.perf_counter() - t0
    eta_mode, hess, _, mode_ok = conditional_modes(work, theta, eta_start)
    saem_notes: list[str] = []
    polish_info: dict[str, Any] = {}
    if method == "saem" and settings.polish_rounds > 0:
        polished = maximise_is_likelihood(
            work,
            theta,
            eta_mode,
            hess,
            np.random.default_rng(None if settings.seed is None else settings.seed + 3),
            draws=settings.polish_draws,
            rounds=settings.polish_rounds,
            tol=settings.polish_tol,
            final_draws=settings.polish_final_draws,
            settings=settings,
        )
        if np.all(np.isfinite(codec_vector(spec, polished.theta))):
            theta, eta_mode, hess, mode_ok = (
                polished.theta,
                polished.eta_mode,
                polished.hessian,
                polished.mode_converged,
            )
        polish_info = {
            "rounds": polished.rounds,
            "settled": polished.success,
            "log_likelihood_gain_per_round": [round(g, 4) for g in polished.gains],
            "last_round_mc_sd": round(polished.mc_sd, 4) if math.isfinite(polished.mc_sd) else None,
            "draws": settings.polish_draws,
            "final_draws": settings.polish_final_draws,
        }
    t_modes = _time.perf_counter() - t0 - t_saem
    rng = np.random.default_rng(None if settings.seed is None else settings.seed + 1)
    # one proposal at θ̂ for the -2LL and the Fisher information (its MCMC moments, if any, from their own
    # stream so that the Laplace default's draws are unchanged)
    proposal = build_proposal(
        work,
        theta,
        eta_mode,
        hess,
        np.random.default_rng(None if settings.seed is None else settings.seed + 5),
        settings,
    )
    lik = MarginalLikelihood(work, proposal.draws(settings.is_draws, rng), theta)
    ll_i, ll_var = lik.per_subject(theta)
    log_lik = float(np.sum(ll_i))
    # the −2LL of y on either scale: a log-scale fit adds 2·Σ log y (`log_y_jacobian`, D-19.664)
    jac = log_y_jacobian(data.y[work.quantified]) if error.scale == "log" else 0.0
    n_par = (
        spec.p
        - len(fixed_values)
        + len(labels)
        + (q if omega == "diagonal" else q * (q + 1) // 2)
        + len(error.names)
    )
    m2ll = -2 * log_lik + jac
    n_obs = data.n_observations
    likelihood = {
        "minus_2_log_likelihood": m2ll,
        "minus_2_log_likelihood_mc_se": float(2 * math.sqrt(np.sum(ll_var)))
        if np.all(np.isfinite(ll_var))
        else float("nan"),
        "aic": m2ll + 2 * n_par,
        # Schwarz's N is the number of observations in the likelihood (BLQ samples under M3 included,
        # those M1 dropped not), as R's BIC() of an nlme fit counts it (D-19.974)
        "bic": m2ll + n_par * math.log(n_obs),
        "bic_n_observations": n_obs,
        "n_parameters": n_par,
        "importance_draws": int(settings.is_draws),
    }
    proposal_info: dict[str, Any] = {"kind": proposal.kind}
    if proposal.kind != "laplace":
        proposal_info.update(
            {
                "chains": settings.proposal_chains,
                "burn": settings.proposal_burn,
                "iterations": settings.proposal_iterations,
            }
        )
    if proposal.kind == "mixture":
        proposal_info["defensive"] = settings.proposal_defensive
    t_ll = _time.perf_counter() - t0 - t_saem - t_modes

    problems = (
        _convergence_problems(trace, settings, spec, theta)
        if method == "saem"
        else outer_problems + _collapsed_variances(spec, theta)
    )
    if polish_info:
        if polish_info["settled"]:
            # the reported estimate is the maximum of the importance-sampled likelihood (re-centred until
            # it stopped rising), not SAEM's last iterate: SAEM's drift is a note on the starting point
            saem_notes = [p for p in problems if "drifting" in p]
            problems = [p for p in problems if "drifting" not in p]
        else:
            problems.append(
                "the importance-sampling maximisation was still gaining log-likelihood after "
                f"{polish_info['rounds']} rounds: increase SaemSettings k1/k2 (CLI: --k1/--k2) or the "
                "importance draws"
            )
    # one rule for an EBE's label (`conditional_modes`: stopped at a positive definite H, D-19.1171); a
    # subject whose H is not positive definite is named apart, and its EBE has no SD (the EBE table's
    # `ebe_status`). This H is the exact one of this search, not the one the outer objective used (FOCE-I's
    # first-order H, the Laplacian's 30-iteration modes): whether that objective was defined is said by the
    # outer search's own message alone (`fit_laplace`, D-19.1172), so the two cannot disagree (D-19.1175)
    not_mode = ~is_positive_definite(hess)
    stopped = ~mode_ok & ~not_mode
    if not_mode.any():
        problems.append(
            f"the Hessian at the conditional mode (EBE) of {count(int(not_mode.sum()), 'subject')} is not "
            "positive definite (not a mode; see ebe_status in ebe.csv): the EBE is not reliable"
        )
    if stopped.any():
        problems.append(
            f"conditional mode search did not converge for {count(int(stopped.sum()), 'subject')}"
        )
    if not math.isfinite(log_lik):
        problems.append("log-likelihood by importance sampling is not finite")
    problems += _runaway_typical(spec, theta, data.value_unit, data.time_unit) + _runaway_variances(
        spec, theta
    )
    problems += _runaway_residuals(spec, theta, data.value_unit)

    cov = np.full((0, 0), np.nan)
    se_vec = None
    fim_used = 0
    if compute_se:
        fim_rng = np.random.default_rng(None if settings.seed is None else settings.seed + 2)
        # the curvature of a surface with few draws is occasionally indefinite only because of its draws
        # (one heavy importance weight); before calling the parameters non-identifiable the information is
        # recomputed once on a surface with as many draws as the final maximisation's when `fim_draws` is
        # fewer (D-17.15; the default is as many, D-17.25)
        for k in dict.fromkeys((settings.fim_draws, max(settings.fim_draws, settings.polish_final_draws))):
            fim_used = k
            fim_lik = MarginalLikelihood(work, proposal.draws(k, fim_rng), theta)
            info_mat, codec = observed_information(fim_lik, theta)
            inverse = _covariance(info_mat, codec.free_mask())
            if inverse is not None:
                cov = inverse
                se_vec = np.sqrt(np.diag(cov))
                break
        if se_vec is None:
            problems.append(
                "Fisher information not positive definite: some parameters are not identifiable from these "
                "data (standard errors not given); simplify the model (fewer IIV terms or covariates)"
            )
        else:
            # a collapsed IIV variance (ω² → 0, the one rule `collapsed_variances`) has no Wald SE, nor has
            # its typical value: their information is a difference of terms ~1/ω² (the prior curvature),
            # rounding noise, even where the whole matrix is positive definite (D-19.1301); `ci="auto"`
            # profiles the typical value instead
            cov, se_vec = _without_collapsed_se(spec, theta, cov, se_vec)
    t_se = _time.perf_counter() - t0 - t_saem - t_modes - t_ll

    profiles: dict[int, Any] = {}
    estimated = [j for j in range(spec.p) if struct.parameters[j] not in fixed_values]
    wanted = (
        estimated
        if ci == "profile"
        else ([j for j in estimated if se_vec is None or not math.isfinite(float(se_vec[j]))])
        if ci == "auto"
        else []
    )
    if wanted and compute_se and math.isfinite(log_lik):
        from cartrial.kinetics.popfit.profile import profile_intervals

        found = profile_intervals(
            work,
            theta,
            eta_mode,
            hess,
            wanted,
            np.random.default_rng(None if settings.seed is None else settings.seed + 4),
            draws=profile_draws,
            se_log=se_vec[: spec.p] if se_vec is not None else None,
        )
        profiles = dict(zip(wanted, found, strict=True))
    t_profile = _time.perf_counter() - t0 - t_saem - t_modes - t_ll - t_se

    converged = not problems
    pop = PopulationModel(spec, theta, converged, tuple(problems), dict(fixed_values))
    no_se_reason = (
        "standard errors not computed (compute_se=False)"
        if not compute_se
        else "the Fisher information is not positive definite (see the convergence problems)"
        if se_vec is None
        else "its standard error is not finite"
    )
    eps_shrink, eps_n = epsilon_shrinkage(work, theta, eta_mode)
    likelihood["epsilon_shrinkage_percent"] = eps_shrink
    likelihood["epsilon_shrinkage_n_samples"] = eps_n
    estimates = _estimates_table(
        spec,
        theta,
        cov,
        se_vec,
        eta_mode,
        converged,
        profiles,
        variance_ci,
        data.value_unit,
        no_se_reason,
        fixed_values=fixed_values,
        time_unit=data.time_unit,
        epsilon_shrinkage_percent=eps_shrink,
    )
    ebe = _ebe_table(spec, data, theta, x, eta_mode, eta_start, hess, mode_ok)
    trace_df = _trace_table(spec, trace)
    return PopulationFit(
        model=pop,
        estimates=estimates,
        ebe=ebe,
        trace=trace_df,
        likelihood=likelihood,
        converged=converged,
        convergence_problems=tuple(problems),
        covariance=cov,
        data=data,
        work=work,
        eta_mode=eta_mode,
        eta_hessian=hess,
        settings={
            "method": method,
            "k1": settings.k1,
            "k2": settings.k2,
            "n_burn": settings.n_burn,
            "kernels": list(settings.kernels),
            "n_chains": chains,
            "seed": settings.seed,
            "is_draws": settings.is_draws,
            "fim_draws": settings.fim_draws,
            "fim_draws_used": fim_used,
            "blq": blq,
            "left_out": left_out,
            "omega": omega,
            "error": {"kind": error.kind, "scale": error.scale},
            "acceptance_last": details["acceptance_last"],
            "final_maximisation": polish_info
            or ({"rounds": 0, "reported": "SAEM's last iterate"} if method == "saem" else {}),
            "proposal": proposal_info,
            "ci": ci,
            "variance_ci": variance_ci,
            "profile_draws": profile_draws if profiles else 0,
            "saem_notes": saem_notes,
            "fixed": dict(fixed_values),
        },
        timings_s={
            "saem": t_saem,
            "modes": t_modes,
            "likelihood": t_ll,
            "standard_errors": t_se,
            "profile_likelihood": t_profile,
            "total": _time.perf_counter() - t0,
        },
    )


def shrinkage_percent(values: FloatArray, scale: float = 1.0) -> float:
    """Shrinkage (%) 100·(1 − SD(values)/scale), SD the sample SD (divisor N − 1, as nlmixr2's shrinkage
    and ggPMX's R ``sd()``): η-shrinkage with the EBEs of one η and scale ω, ε-shrinkage with IWRES and scale
    1 (Savic RM, Karlsson MO. Importance of shrinkage in empirical Bayes estimates for diagnostics: problems
    and solutions. AAPS J 2009;11:558-569). Non-finite values are left out; NaN with fewer than 2 values or a
    scale that is not above 0 (D-19.981)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < 2 or not scale > 0:
        return float("nan")
    return 100 * (1 - float(np.std(v, ddof=1)) / scale)


def epsilon_shrinkage(work: Work, theta: Theta, eta_mode: FloatArray) -> tuple[float, int]:
    """(ε-shrinkage %, the number of samples it is over): `shrinkage_percent` of the IWRES
    (`ErrorModel.iwres`) of the quantified samples at the conditional modes. Censored samples have no
    residual and are left out, so under M3 with many BLQ samples the number is biased upwards (the samples
    left out are those with the lowest residuals); the count lets a reader judge (D-19.975, D-19.981)."""
    spec = work.spec
    ipred = work.predict(spec.phi(theta, work.x, eta_mode), np.arange(work.n))
    iwres = spec.error.iwres(work.data.y, ipred, theta.sigma, work.quantified)
    iwres = iwres[np.isfinite(iwres)]
    return shrinkage_percent(iwres), int(iwres.size)


COLLAPSED_NO_SE = (
    "its IIV variance collapsed (see the convergence problems): the observed information along it and its "
    "typical value is a difference of terms of order 1/omega², numerical noise, so no Wald SE is given "
    "(D-19.1301)"
)
"""Why the typical value and the IIV variance of a collapsed IIV term have no Wald SE (D-19.1301)."""


def _without_collapsed_se(
    spec: PopulationSpec, theta: Theta, cov: FloatArray, se_vec: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """`cov` and `se_vec` with the rows and columns of each collapsed IIV term's typical value and (diagonal
    Ω) log variance set to NaN (`collapsed_variances`, D-19.408; D-19.1301); a full Ω's entries are left to
    `_estimates_table`, which gives the collapsed variance's row no SE."""
    collapsed = [name for name, _ in collapsed_variances(spec.model, spec.iiv_names, theta.mu, theta.omega)]
    if not collapsed:
        return cov, se_vec
    index = [spec.model.index(name) for name in collapsed]
    if spec.omega_structure == "diagonal":
        pos = spec.p + len(spec.covariate_effects)
        index += [pos + spec.iiv_names.index(name) for name in collapsed]
    cov, se_vec = cov.copy(), se_vec.copy()
    cov[index, :] = np.nan
    cov[:, index] = np.nan
    se_vec[index] = np.nan
    return cov, se_vec


def _covariance(info_mat: FloatArray, free: npt.NDArray[np.bool_]) -> FloatArray | None:
    """The covariance matrix of the estimates, the inverse observed information, laid out over all
    parameters of `free` (`ThetaCodec.free_mask`: the information has no row for a fixed typical value, whose
    row and column are NaN, D-19.273); None when the information is not positive definite — non-finite, an
    eigenvalue ≤ 0, or one that passes the eigenvalue test but that inversion finds singular (a typical
    value run to 0 on the example study; D-19.323)."""
    try:
        w = np.linalg.eigvalsh(info_mat)
        if not (np.all(np.isfinite(w)) and w.min() > 0):
            return None
        inverse = np.linalg.inv(info_mat)
    except np.linalg.LinAlgError:
        return None
    cov = np.full((free.size, free.size), np.nan)
    cov[np.ix_(free, free)] = inverse
    return cov


def check_typical_values(
    struct: StructuralModel,
    values: Mapping[str, float] | None,
    option: str,
    typed: Mapping[str, str] | None = None,
    units: Sequence[str] | None = None,
    deferred: Sequence[str] = (),
) -> dict[str, float]:
    """Typical values given by name — initial values (`option` ``initial``) or fixed ones (``fix``) — as
    floats: a name the model does not have, or a value outside what the parameter allows
    (`StructuralModel.initial_rule`: within `INITIAL_FACTOR` of its default and in its domain, D-19.240), is
    an `OptionError` naming `option`, the value as NAME=VALUE and what is allowed. The one check of both
    options (D-19.322). `typed`: each value as the user wrote it, quoted in a problem instead of the number it
    was read as (D-19.372). `units`: each parameter's unit for the data fitted (`parameter_units`), in which
    a range is stated (default: the model's; D-19.463); `deferred`: parameters whose range is not checked
    here — the command line checks the options before the data, whose unit such a parameter is in, are read
    (`data_unit_parameters`); `fit_population` checks them.

    >>> check_typical_values(get_model("stein2019"), {"cmax": 5000}, "initial")
    {'cmax': 5000.0}
    >>> check_typical_values(get_model("stein2019"), {"beta": 0.003}, "initial")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cartrial.errors.OptionError: initial: not a parameter of the model (got 'beta'); allowed: foldx | ...
    """
    out: dict[str, float] = {}
    for name, value in (values or {}).items():
        if name not in struct.parameters:
            raise OptionError(
                Problem(
                    "not a parameter of the model",
                    field=option,
                    value=name,
                    allowed=" | ".join(struct.parameters),
                )
            )
        j = struct.index(name)
        rule = struct.initial_rule(j, None if units is None else units[j])
        problem = rule.problem(option, value) if name not in deferred else None
        if problem is not None:  # the field is the option; the value names the parameter (cmax=1e-320)
            raise OptionError(
                dataclasses.replace(
                    problem,
                    value=f"{name}={(typed or {}).get(name, value)}",
                    allowed=f"{name} {problem.allowed}",
                )
            )
        out[name] = float(value)
    return out


def check_fixed(
    struct: StructuralModel,
    fix: Mapping[str, float] | None,
    initial: Mapping[str, float] | None = None,
    typed: Mapping[str, str] | None = None,
    units: Sequence[str] | None = None,
    deferred: Sequence[str] = (),
) -> dict[str, float]:
    """The typical values to hold fixed, checked as initial values are (`StructuralModel.initial_rule`,
    D-19.240): a name the model does not have, a value outside the parameter's range, or a parameter given
    both as initial and as fixed is an `OptionError` naming ``fix`` (D-19.273).

    >>> check_fixed(get_model("stein2019"), {"beta_per_day": 0.005})
    {'beta_per_day': 0.005}
    >>> check_fixed(get_model("stein2019"), {"fb": 2.0})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cartrial.errors.OptionError: fix: ... allowed: fb ...
    """
    out = check_typical_values(struct, fix, "fix", typed, units, deferred)
    for name in out:
        if name in (initial or {}):
            raise OptionError(
                Problem(
                    "a parameter is either fixed or given an initial value, not both",
                    field="fix",
                    value=name,
                    allowed="--fix or --initial for each parameter",
                )
            )
    if len(out) == len(struct.parameters):
        raise OptionError(
            Problem(
                "every typical value is fixed: nothing left to estimate",
                field="fix",
                allowed="at most all parameters but one",
            )
        )
    return out


def _convergence_problems(
    trace: SaemTrace, settings: SaemSettings, spec: PopulationSpec, theta: Theta
) -> list[str]:
    """Stationarity of the exploration phase and sanity of the estimates (documented in docs/popfit.md).

    The last 20 % of the K1 iterations are compared with the 20 % before them: a typical value that moved
    by more than 10 % (0.1 on the log scale), a variance by more than 50 % or a residual parameter by more
    than 25 % — and by more than the iterates' own standard deviation in those windows (a trend, not the
    noise of the γ = 1 phase) — is still drifting: more iterations (--k1) or better initial values are
    needed.
    """
    problems: list[str] = []
    k1 = settings.k1
    w = max(k1 // 5, 1)
    if k1 < 20:
        problems.append(f"too few exploration iterations (K1 = {k1}) to judge convergence; use ≥ 100")
        return problems
    mu = np.array(trace.mu[:k1])
    normal = spec.model.normal_mask
    if normal.any():
        # a normal parameter's drift is judged relative to its size (10 %), as a log-normal one's is
        size = np.maximum(np.abs(mu[k1 - 2 * max(k1 // 5, 1) :].mean(0)), 1e-12)
        mu = np.where(normal, mu / size, mu)
    om = np.log(np.maximum(np.array(trace.omega_diag[:k1]), 1e-300))
    sg = np.log(np.array(trace.sigma[:k1]))
    a, b = slice(k1 - 2 * w, k1 - w), slice(k1 - w, k1)

    def drifting(x: FloatArray, threshold: float) -> FloatArray:
        """|mean(last window) - mean(window before)| above `threshold` and above the iterates' own SD."""
        delta = np.abs(x[b].mean(0) - x[a].mean(0))
        noise = np.sqrt((x[a].var(0) + x[b].var(0)) / 2)
        return np.asarray(np.flatnonzero((delta > threshold) & (delta > noise)), dtype=np.int64)

    names = spec.model.parameters
    for j in drifting(mu, 0.1):
        problems.append(
            f"typical {names[j]} still drifting at the end of the exploration phase: increase k1 "
            "(CLI: --k1) or give initial values"
        )
    for j in drifting(om, math.log(1.5)):
        problems.append(
            f"omega² of {spec.iiv_names[j]} still drifting at the end of the exploration phase: increase k1 "
            "(CLI: --k1)"
        )
    for j in drifting(sg, math.log(1.25)):
        problems.append(f"residual parameter {spec.error.names[j]} still drifting: increase k1 (CLI: --k1)")
    problems += _collapsed_variances(spec, theta)
    if not np.all(np.isfinite(theta.mu)) or not np.all(np.isfinite(theta.omega)):
        problems.append("non-finite estimates")
    return problems


def _runaway_typical(
    spec: PopulationSpec, theta: Theta, value_unit: str = "", time_unit: str = ""
) -> list[str]:
    """A typical value that ran off beyond the model's range — farther than `INITIAL_FACTOR` (10⁶) from the
    model's default, or not finite — is not estimated by the data (D-19.243): on the example study's 12
    profiles with IIV on tmax, Cmax and α only, F_B went to 0.0008 and β, without IIV, to exactly 0, an
    estimate that `kinetics map` cannot use. Each such parameter is a convergence problem; its range is in
    the data's units (`value_unit`, `time_unit`, `parameter_units`)."""
    model = spec.model
    units = parameter_units(model, value_unit, time_unit)
    return [
        f"typical {name} ran off to {value:.3g}, outside "
        f"{model.initial_rule(model.index(name), units[model.index(name)]).text()} "
        f"(the model's default within a factor {INITIAL_FACTOR:g}): the data do not estimate it (in the "
        "Stein model, β when F_B is near 0); fix it at a literature value (CLI: --fix NAME=VALUE, e.g. Stein "
        "2019 Table 1), use data with more late samples or another model; kinetics map cannot use this fit"
        for name, value in typicals_out_of_range(model, theta.mu, spec.fixed)
    ]


def _runaway_variances(spec: PopulationSpec, theta: Theta) -> list[str]:
    """An IIV variance of a log-normal parameter beyond `cartrial.allowed.OMEGA_LOG_VARIANCE` (any method): a
    convergence problem, since `kinetics map --population` refuses the file that holds it — the rule is
    `variances_out_of_range`, the one map applies (D-19.400)."""
    high = float(OMEGA_LOG_VARIANCE.high or math.inf)
    return [
        f"omega² of {name} is {value:.3g}, beyond {OMEGA_LOG_VARIANCE.text()}: subjects spread by more "
        "than a factor e^10 per SD; check the data (subjects in different units?) or remove it from the IIV "
        "parameters (CLI: --iiv); kinetics map cannot use this fit"
        if value > high
        else f"omega² of {name} is {value:.3g}, outside {OMEGA_LOG_VARIANCE.text()}: not a variance (the "
        "estimation failed); remove it from the IIV parameters (CLI: --iiv) or give initial values; kinetics "
        "map cannot use this fit"
        for name, value in variances_out_of_range(spec.model, spec.iiv_names, theta.omega)
    ]


def _runaway_residuals(spec: PopulationSpec, theta: Theta, value_unit: str = "") -> list[str]:
    """A residual error parameter outside its range (`ErrorModel.rule`, any method): a convergence problem,
    since `kinetics map --population` refuses the file that holds it — the rule is `residuals_out_of_range`,
    the one map applies (D-19.464)."""
    return [
        f"residual {name} is {value:.3g}, outside {spec.error.rule(name, value_unit).text()}: the residual "
        "error did not settle (check the data's units or the error model: --error, --scale); kinetics map "
        "cannot use this fit"
        for name, value in residuals_out_of_range(spec.error, theta.sigma, value_unit)
    ]


def _collapsed_variances(spec: PopulationSpec, theta: Theta) -> list[str]:
    """An IIV variance that collapsed (any method; `collapsed_variances`: below 1e-4 on the log scale, a
    normal parameter's below 1 % of its typical value as an SD; D-19.408): the data do not support it."""
    return [
        f"omega² of {name} collapsed to {value:.2g}: the data do not support IIV on it; "
        "remove it from the IIV parameters (CLI: --iiv)"
        for name, value in collapsed_variances(spec.model, spec.iiv_names, theta.mu, theta.omega)
    ]


def _estimates_table(
    spec: PopulationSpec,
    theta: Theta,
    cov: FloatArray,
    se_vec: FloatArray | None,
    eta_mode: FloatArray,
    converged: bool,
    profiles: Mapping[int, Any] | None = None,
    variance_ci: str = "satterthwaite",
    value_unit: str = "",
    no_se_reason: str = "its standard error is not finite",
    *,
    fixed_values: Mapping[str, float] | None = None,
    time_unit: str = "",
    epsilon_shrinkage_percent: float = float("nan"),
) -> pd.DataFrame:
    """The estimates table; a fixed typical value (`fixed_values`, as given) is its row's estimate. Units are
    the data's (`value_unit`, `time_unit`; `parameter_units`, `ErrorModel.unit`). Shrinkage: an ω² row's is
    the η-shrinkage of its parameter, every residual row's the fit's ε-shrinkage (`epsilon_shrinkage`)."""
    from cartrial.kinetics.popfit.saem import ThetaCodec

    units = parameter_units(spec.model, value_unit, time_unit)

    codec = ThetaCodec(spec)
    rows: list[dict[str, Any]] = []
    p, k = spec.p, len(spec.covariate_effects)
    se = se_vec if se_vec is not None else np.full(codec.encode(theta).size, np.nan)
    shrink = {}
    for a, name in enumerate(spec.iiv_names):
        shrink[name] = shrinkage_percent(eta_mode[:, a], math.sqrt(max(theta.omega[a, a], 0.0)))
    profiles = profiles or {}
    collapsed = {name for name, _ in collapsed_variances(spec.model, spec.iiv_names, theta.mu, theta.omega)}
    for j, name in enumerate(spec.model.parameters):
        normal = spec.model.distribution(j) == "normal"
        est = spec.model.natural_value(j, theta.mu[j])
        s = float("nan") if name in collapsed else se[j]  # no Wald SE (D-19.1301)
        prof = profiles.get(j)
        if name in spec.fixed:  # not estimated: no SE, no interval (D-19.273)
            est = float((fixed_values or {}).get(name, spec.model.natural_in_domain(j, est)))
            note = "fixed at the given value (not estimated: --fix); no SE and no CI"
            nan = float("nan")
            row = _row("typical", name, est, nan, nan, nan, units[j], note, nan, "none")
            rows.append({**row, "ci_method": "fixed", "fixed": True})
            continue
        ci_note = ""  # how the interval is built: in the note only when there is one (D-19.275)
        if prof is not None:
            lo, hi, note, how = prof.low, prof.high, prof.note, "profile"
            if name in collapsed:
                note += "; no Wald SE: " + COLLAPSED_NO_SE
            if not lo <= est <= hi:
                note += (
                    "; the estimate lies outside: the profile is centred on the likelihood maximum, "
                    "which the fit did not reach (see its convergence problems)"
                )
        elif normal:
            lo, hi = est - Z95 * s, est + Z95 * s
            note, ci_note, how = "normal", ": CI θ ± 1.96 SE", "wald"
        else:
            lo, hi = math.exp(theta.mu[j] - Z95 * s), math.exp(theta.mu[j] + Z95 * s)
            note, ci_note, how = "log-normal", ": CI exp(log θ ± 1.96 SE)", "wald_log"
        se_natural = s if normal else est * s
        # the estimate and its interval as the model uses the parameter (F_B ≤ 1, FOLDX ≥ 1; D-19.240)
        d_low, d_high = spec.model.domain(j)
        clip_note = ""
        if math.isfinite(d_low) or math.isfinite(d_high):
            clipped = [spec.model.natural_in_domain(j, v) if math.isfinite(v) else v for v in (est, lo, hi)]
            if clipped != [est, lo, hi]:
                clip_note = (
                    f"; clipped to the parameter's domain [{d_low:g}, {d_high:g}] as the model uses it"
                )
            est, lo, hi = clipped
        row = _row("typical", name, est, se_natural, lo, hi, units[j], note, float("nan"), how, ci_note)
        rows.append({**row, "note": row["note"] + clip_note, "fixed": False})
    for kk, (_, label, kind) in enumerate(spec.covariate_effects):
        b, s = theta.beta[kk], se[p + kk]
        info = spec.covariate_info.get(label, {})
        row = _wald_row("covariate", label, b, s, "-", covariate_note(kind, info), float("nan"))
        rows.append({**row, **covariate_columns(info)})
    pos = p + k
    q = spec.q
    if spec.omega_structure == "diagonal":
        for a, name in enumerate(spec.iiv_names):
            om2 = theta.omega[a, a]
            s = float("nan") if name in collapsed else se[pos + a]
            note = f"variance of eta ({_eta_scale(spec, name)})"
            wald = _log_wald_row(
                "omega2", name, om2, s, _eta_unit(spec, units, name, name), note, shrink[name]
            )
            rows.append(_variance_row(wald, variance_ci))
        pos += q
    else:
        # delta method from the Cholesky parametrisation to the Omega entries
        v0 = codec.encode(theta)
        npar = q * (q + 1) // 2
        jac = np.zeros((npar, npar))
        h = 1e-6

        def entries(v: FloatArray) -> FloatArray:
            om = codec.decode(v).omega
            return np.array([om[i, j] for i in range(q) for j in range(i + 1)])

        base_e = entries(v0)
        for c in range(npar):
            vv = v0.copy()
            vv[pos + c] += h
            jac[:, c] = (entries(vv) - base_e) / h
        sub = cov[pos : pos + npar, pos : pos + npar] if cov.size else np.full((npar, npar), np.nan)
        cov_e = jac @ sub @ jac.T
        c = 0
        for i in range(q):
            for j in range(i + 1):
                val = base_e[c]
                s = math.sqrt(cov_e[c, c]) if np.isfinite(cov_e[c, c]) and cov_e[c, c] >= 0 else float("nan")
                if i == j and spec.iiv_names[i] in collapsed:
                    s = float("nan")  # D-19.1301
                if i == j:
                    name = spec.iiv_names[i]
                    note = f"variance of eta ({_eta_scale(spec, name)})"
                    unit = _eta_unit(spec, units, name, name)
                    wald = _wald_row("omega2", name, val, s, unit, note, shrink[name])
                    rows.append(_variance_row(wald, variance_ci))
                else:
                    name = f"{spec.iiv_names[i]}~{spec.iiv_names[j]}"
                    unit = _eta_unit(spec, units, spec.iiv_names[i], spec.iiv_names[j])
                    rows.append(
                        _wald_row("omega_cov", name, val, s, unit, "covariance of etas", float("nan"))
                    )
                c += 1
        pos += npar
    for a, name in enumerate(spec.error.names):
        sig = theta.sigma[a]
        s = se[pos + a]
        unit = spec.error.unit(name, value_unit)
        note = f"{spec.error.kind} on the {spec.error.scale} scale"
        wald = _log_wald_row("residual", name, sig, s, unit, note, epsilon_shrinkage_percent)
        rows.append(_variance_row(wald, variance_ci, sd=True))
    rows = [
        _note_without_ci(
            r,
            COLLAPSED_NO_SE
            if r["kind"] in ("typical", "omega2") and r["parameter"] in collapsed and se_vec is not None
            else no_se_reason,
        )
        for r in rows
    ]
    typical_of = {r["parameter"]: r["estimate"] for r in rows if r["kind"] == "typical"}
    for r in rows:  # an IIV variance's CV %, on the scale the model declares for its η (D-19.536)
        r["cv_percent"] = (
            bsv_cv_percent(
                r["estimate"],
                typical_of.get(r["parameter"], float("nan")),
                spec.model.distribution(spec.model.index(r["parameter"])),
            )
            if r["kind"] == "omega2"
            else float("nan")
        )
    table = pd.DataFrame(rows).drop(columns="description")
    table["fixed"] = [bool(r.get("fixed", False)) for r in rows]
    table["status"] = "converged" if converged else "NOT CONVERGED"
    return table


def _note_without_ci(row: dict[str, Any], reason: str) -> dict[str, Any]:
    """A row without an interval (``ci_method`` none) says why there is none — its note, built by `_row`
    without the description of an interval it does not have, ends "no CI: " and the reason (D-19.275);
    rows with an interval and fixed rows are unchanged."""
    if row["ci_method"] != "none":
        return row
    why = reason if not math.isfinite(float(row["se"])) else "its interval is not finite"
    return {**row, "note": f"{row['note']}; no CI: {why}"}


COVARIATE_COLUMNS: tuple[str, ...] = ("covariate", "level", "reference_level", "centre")
"""Columns of a covariate effect's row in the estimates table (blank in other rows; D-19.239): the covariate,
the level a categorical coefficient belongs to and the reference level it is relative to, or the value a
continuous covariate is centred on."""


def covariate_columns(info: Mapping[str, Any]) -> dict[str, Any]:
    """The `COVARIATE_COLUMNS` of one covariate effect from its description (`covariate_design`)."""
    categorical = info.get("model") == "categorical"
    return {
        "covariate": str(info.get("covariate", "")),
        "level": str(info.get("level", "")) if categorical else "",
        "reference_level": str(info.get("reference", "")) if categorical else "",
        "centre": float(info["centre"]) if not categorical and "centre" in info else float("nan"),
    }


def covariate_note(kind: str, info: Mapping[str, Any]) -> str:
    """What a covariate coefficient β means, with the reference level or the centring value (D-19.239).

    >>> covariate_note("categorical", {"covariate": "sex", "model": "categorical", "level": "M",
    ...                                "reference": "F"})  # doctest: +ELLIPSIS
    'categorical: typical value × exp(β) for sex = M, relative to the reference level sex = F (the most...'
    >>> covariate_note("power", {"covariate": "weight_kg", "model": "power", "centre": 63.25})
    'power: typical value × (weight_kg / 63.25)^β, centred on the median 63.25'
    """
    name = str(info.get("covariate", "covariate"))
    if kind == "categorical" and "reference" in info:
        return (
            f"categorical: typical value × exp(β) for {name} = {info.get('level', '')}, relative to the "
            f"reference level {name} = {info['reference']} (the most frequent)"
        )
    if "centre" in info:
        centre = f"{float(info['centre']):.6g}"
        if kind == "linear":
            return f"linear: typical value × exp(β·({name} − {centre})), centred on the median {centre}"
        return f"power: typical value × ({name} / {centre})^β, centred on the median {centre}"
    return kind


def _wald_row(
    kind: str, name: str, est: float, se: float, unit: str, note: str, shrinkage: float
) -> dict[str, Any]:
    """A row with a Wald CI, est ± 1.96 SE."""
    return _row(kind, name, est, se, est - Z95 * se, est + Z95 * se, unit, note, shrinkage, "wald")


def _log_wald_row(
    kind: str, name: str, est: float, se_log: float, unit: str, note: str, shrinkage: float
) -> dict[str, Any]:
    """A row of a parameter estimated on the log scale with standard error `se_log` there: SE est·se_log
    (delta method), CI est·exp(±1.96 se_log) ("CI on the log scale" added to `note` when there is one)."""
    return _row(
        kind,
        name,
        est,
        est * se_log,
        est * math.exp(-Z95 * se_log),
        est * math.exp(Z95 * se_log),
        unit,
        note,
        shrinkage,
        "wald_log",
        "; CI on the log scale",
    )


def satterthwaite_interval(variance: float, se: float, level: float = 0.95) -> tuple[float, float, float]:
    """Satterthwaite confidence interval of a variance: (low, high, ν).

    The estimate v with standard error SE is taken as v·χ²_ν/ν with ν = 2 (v/SE)² degrees of freedom (the
    χ² distribution with the estimate's mean and variance), so the interval is ν·v/χ²_ν(1 − α/2) to
    ν·v/χ²_ν(α/2). For the variance of a normal sample with known mean, whose information gives SE = v·√(2/n),
    ν = n and this is the exact interval; as ν grows it tends to the Wald interval v ± z·SE. Source:
    Satterthwaite FE, Biometrics Bulletin 1946;2:110-114; the confidence limits PROC MIXED (SAS/STAT User's
    Guide, The MIXED Procedure, CL option) gives covariance parameters bounded below by 0. NaN (no interval)
    unless v > 0 and SE > 0 are finite; an upper end of +inf when ν is so small (SE above about 20 v) that
    χ²_ν(α/2) underflows.
    """
    from scipy import stats

    if not (math.isfinite(variance) and math.isfinite(se) and variance > 0 and se > 0):
        return float("nan"), float("nan"), float("nan")
    nu = 2 * (variance / se) ** 2
    alpha = 1 - level
    lower_quantile = float(stats.chi2.ppf(alpha / 2, nu))  # 0.0 (underflow) when ν is below about 0.005
    return (
        nu * variance / float(stats.chi2.ppf(1 - alpha / 2, nu)),
        nu * variance / lower_quantile if lower_quantile > 0 else math.inf,
        nu,
    )


SATTERTHWAITE_MIN_DF = 1.0
"""Fewest degrees of freedom (ν = 2 (v/SE)², i.e. RSE of the variance ≤ 141 %) for a Satterthwaite interval;
below, the interval spans more than three orders of magnitude (ν·v/χ²_ν(0.025) > 1000 v) and, below ν ≈ 0.08,
its lower end rises again as the SE grows: the row keeps its Wald interval (D-17.28)."""


def _variance_row(wald: dict[str, Any], variance_ci: str, sd: bool = False) -> dict[str, Any]:
    """The row of a variance (`sd`: of a residual SD σ, whose interval is the square root of σ²'s, SE of σ²
    2σ·SE(σ)) with the interval `variance_ci` asks for: `wald` as built for the ``wald`` choice, or its
    `satterthwaite_interval` from the same estimate and SE when that has `SATTERTHWAITE_MIN_DF` or more."""
    if variance_ci != "satterthwaite":
        return wald
    est, se = wald["estimate"], wald["se"]
    low, high, nu = satterthwaite_interval(est**2, 2 * est * se) if sd else satterthwaite_interval(est, se)
    if not nu >= SATTERTHWAITE_MIN_DF:
        if math.isfinite(nu):
            wald["note"] = f"{wald['note']} (Wald: {nu:.2g} df, too few for a Satterthwaite interval)"
        return wald
    if sd:
        low, high = math.sqrt(low), math.sqrt(high)
    return {
        **wald,
        "ci95_low": low,
        "ci95_high": high,
        "ci_method": "satterthwaite",
        "note": f"{wald['description']}; Satterthwaite CI, {nu:.3g} df",
    }


def _eta_unit(spec: PopulationSpec, units: Sequence[str], first: str, second: str) -> str:
    """The unit of the covariance of the η of parameters `first` and `second` (a variance when they are the
    same): "-" when both are log-normal (η on the log scale has no unit); a normal parameter's η is in the
    parameter's unit (`units`), so its variance is in that unit squared — the bi-exponential A1 of data in
    mg/L has ω² in (mg/L)², not "-" (D-19.406)."""
    model = spec.model
    parts = [units[model.index(n)] for n in (first, second) if model.distribution(model.index(n)) == "normal"]
    if not parts:
        return "-"
    if len(parts) == 1:
        return parts[0]
    return f"({parts[0]})²" if parts[0] == parts[1] else f"({parts[0]})·({parts[1]})"


def bsv_cv_percent(omega2: float, typical: float, distribution: str) -> float:
    """The CV % of a parameter's between-subject variability from its IIV variance ω² (an estimates table's
    ``cv_percent``; D-19.536), by the distribution its model declares (`StructuralModel.distribution`):
    log-normal (η on the log scale) 100·√(e^{ω²} − 1), the CV of a log-normal variable; normal (η added on
    the natural scale) 100·ω/|typical value|. NaN when ω² is not ≥ 0, or for a normal parameter whose typical
    value is 0 or not finite. Another distribution is a programming error (`ValueError`), not taken for
    log-normal.

    >>> round(bsv_cv_percent(0.09, 2.0, "lognormal"), 2), bsv_cv_percent(0.25, -5.0, "normal")
    (30.69, 10.0)
    """
    if distribution not in ("lognormal", "normal"):
        raise ValueError(f"bsv_cv_percent: unknown distribution {distribution!r} (lognormal or normal)")
    if not omega2 >= 0:
        return float("nan")
    if distribution == "lognormal":
        return 100 * math.sqrt(math.expm1(omega2))
    if not math.isfinite(typical) or typical == 0:
        return float("nan")
    return 100 * math.sqrt(omega2) / abs(typical)


def _eta_scale(spec: PopulationSpec, name: str) -> str:
    """Where η of parameter `name` lives: the log scale (log-normal) or the natural one (normal)."""
    return "natural scale" if spec.model.distribution(spec.model.index(name)) == "normal" else "log scale"


def _row(
    kind: str,
    name: str,
    est: float,
    se: float,
    lo: float,
    hi: float,
    unit: str,
    note: str,
    shrinkage: float,
    ci_method: str,
    ci_note: str = "",
) -> dict[str, Any]:
    """One row of the estimates table; `ci_method` names how its 95 % CI was built (`CI_METHOD_LABELS`), or
    ``none`` when it could not be (no standard error). The note is `note` (what the parameter is, also kept
    as ``description``, which the finished table drops) followed by `ci_note` (how the interval was built)
    only when the row has an interval (D-19.275)."""
    est_f = float(est)
    se_f = float(se)
    has_ci = math.isfinite(float(lo)) and math.isfinite(float(hi))
    return {
        "kind": kind,
        "parameter": name,
        "estimate": est_f,
        "se": se_f,
        "rse_percent": 100 * se_f / abs(est_f) if est_f and math.isfinite(se_f) else float("nan"),
        "ci95_low": float(lo),
        "ci95_high": float(hi),
        "ci_method": ci_method if has_ci else "none",
        "shrinkage_percent": float(shrinkage),
        "unit": unit,
        "note": f"{note}{ci_note}" if has_ci else note,
        "description": note,
    }


def _ebe_table(
    spec: PopulationSpec,
    data: PopulationData,
    theta: Theta,
    x: FloatArray,
    eta_mode: FloatArray,
    eta_mean: FloatArray,
    hess: FloatArray,
    mode_ok: npt.NDArray[np.bool_],
) -> pd.DataFrame:
    """One row per subject: the EBEs (η̂ and the parameters), their SDs from the Laplace covariance H⁻¹ and
    ``ebe_status`` — ``converged``, or NOT CONVERGED with why: H not positive definite where the search
    ended (not a mode: no SD, rather than one from a floored H, D-19.1171) or the search stopped early."""
    phi = spec.phi(theta, x, eta_mode)
    out = pd.DataFrame({"subject": list(data.subjects)})
    for a, name in enumerate(spec.iiv_names):
        out[f"eta_{name}"] = eta_mode[:, a]
    is_mode = is_positive_definite(hess)
    cov = laplace_covariance(hess)
    for a, name in enumerate(spec.iiv_names):
        out[f"eta_{name}_sd"] = np.where(is_mode, np.sqrt(np.maximum(cov[:, a, a], 0)), np.nan)
    psi = spec.model.in_domain(spec.model.to_natural(phi))  # as the model uses them (F_B ≤ 1; D-19.240)
    for j, name in enumerate(spec.model.parameters):
        out[name] = psi[:, j]
    out["n_quantified"] = data.quantified.sum(axis=1)
    out["n_blq"] = (data.blq & data.observed).sum(axis=1)
    out["ebe_status"] = [
        "converged"
        if ok and mode
        else EBE_NOT_A_MODE
        if not mode
        else "NOT CONVERGED (the conditional mode search stopped before its tolerance)"
        for ok, mode in zip(np.asarray(mode_ok, bool), is_mode, strict=True)
    ]
    return out


EBE_NOT_A_MODE = (
    "NOT CONVERGED (not a mode: the Hessian of -log p(eta | y) is not positive definite where the search "
    "ended; no SD)"
)
"""`ebe_status` of a subject whose conditional-mode search ended where H is not positive definite."""


def _trace_table(spec: PopulationSpec, trace: SaemTrace) -> pd.DataFrame:
    out = pd.DataFrame({"iteration": trace.iteration, "complete_data_ll": trace.complete_ll})
    mu = np.array(trace.mu)
    psi = spec.model.to_natural(mu) if len(mu) else mu
    for j, name in enumerate(spec.model.parameters):
        out[f"typical_{name}"] = psi[:, j] if len(mu) else []
    om = np.array(trace.omega_diag)
    for a, name in enumerate(spec.iiv_names):
        out[f"omega2_{name}"] = om[:, a] if len(om) else []
    sg = np.array(trace.sigma)
    for a, name in enumerate(spec.error.names):
        out[f"sigma_{name}"] = sg[:, a] if len(sg) else []
    return out
