"""Indomethacin: cartrial's FOCE-I, Laplacian and SAEM fits of a bi-exponential model against R `nlme`.

Reference: nlme's own saved regression output of the Pinheiro & Bates (2000) book scripts (cran/nlme
tests/extras/scripts.Rout.save; numbers, calls and provenance in
`tests/data/popfit/nlme_scripts_reference.json`, "indometh"). Data: R's Indometh
(`tests/data/popfit/indometh.csv`, 6 subjects × 11 times). Model: §6.2 `fm1Indom.nlme`, conc ~
SSbiexp(time, A1, lrc1, A2, lrc2), normal random effects on A1, lrc1, A2 (and lrc2, whose SD is a null
7.3e-06: anova against the model without it gives L.Ratio 0.0087), diagonal Ω, additive normal error on the
linear scale, maximum likelihood. cartrial's `biexponential` model is SSbiexp with k = exp(lrc): a1, a2
normal (ψ = φ), k1, k2 log-normal (φ = lrc), so its φ-scale estimates are nlme's fixed effects and
random-effect SDs directly.

What agrees, and what does not (docs/popfit.md §6, D-17.22):

* the data and the structural model reproduce nlme's recorded nls/nlsList fits, and cartrial's FOCE-I
  objective evaluated at nlme's estimates is nlme's printed log-likelihood (54.6; Theophylline: -177) — the
  two programs evaluate the same approximate likelihood;
* nlme's fixed effects are its PNLS step (the joint mode in (β, b) at its Ω, σ — reproduced here to the
  printed digits), not the maximiser of that likelihood: at nlme's estimate the FOCE-I gradient in lrc1, A2,
  lrc2 is not zero. cartrial maximises it, and finds a point whose FOCE-I, Laplace and exact
  (importance-sampled) log-likelihoods are all ≥ 1.0 above nlme's — with the SD of lrc1 collapsed to 0
  (reported), A2 and both rate constants far from nlme's. A1, SD(A1) and the residual SD agree within 2 %.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from cartrial.kinetics.popfit import (
    ErrorModel,
    PopulationData,
    PopulationModel,
    SaemSettings,
    fit_population,
    get_model,
    map_estimate,
)
from cartrial.kinetics.popfit.laplace import laplace_loglik
from cartrial.kinetics.popfit.population import PopulationSpec, Theta
from cartrial.kinetics.popfit.saem import (
    MarginalLikelihood,
    ThetaCodec,
    Work,
    conditional_modes,
    make_draws,
)

from ...conftest import THEOPH, uncensored_population_data

HERE = Path(__file__).resolve().parents[2]
DATA = HERE / "data" / "popfit" / "indometh.csv"
NLME = json.loads((HERE / "data" / "popfit" / "nlme_scripts_reference.json").read_text())
INDO = NLME["indometh"]
FM1 = INDO["fm1Indom.nlme"]
MODEL = get_model("biexponential")
ERROR = ErrorModel("additive", "linear")
IIV = ("a1", "k1", "a2")  # fm1's lrc2 random effect is null (SD 7.3e-06)


def _data() -> PopulationData:
    frame = pd.read_csv(DATA).drop(columns="rownames")
    data: PopulationData = uncensored_population_data(frame, DATA, "Subject", "time", "conc")
    assert data.n_subjects == 6 and data.n_observations == 66
    return data


def _nlme_theta(iiv: tuple[str, ...] = IIV) -> Theta:
    """fm1Indom.nlme on cartrial's φ scale (A1, lrc1, A2, lrc2; SDs of the random effects in `iiv`)."""
    fixed, sd = FM1["fixed_effects"], FM1["random_effects_sd"]
    names = {"a1": "A1", "k1": "lrc1", "a2": "A2", "k2": "lrc2"}
    mu = np.array([fixed[names[p]] for p in MODEL.parameters])
    omega = np.diag([sd[names[p]] ** 2 for p in iiv])
    return Theta(mu, np.zeros(0), omega, np.array([FM1["residual_sd"]]))


def _start() -> dict[str, Any]:
    """nlme's start: the nlsList estimates (their mean as typical values; their variance as Ω)."""
    coef = np.array(list(INDO["fm1Indom.lis"]["coefficients"].values()))
    mean, var = coef.mean(axis=0), coef.var(axis=0, ddof=1)
    return {
        "initial": dict(zip(MODEL.parameters, MODEL.to_natural(mean).tolist(), strict=True)),
        "initial_omega2": dict(zip(MODEL.parameters, var.tolist(), strict=True)),
        "initial_sigma": [INDO["fm1Indom.lis"]["residual_se"]],
    }


def _work(iiv: tuple[str, ...] = IIV) -> Work:
    spec = PopulationSpec(MODEL, ERROR, iiv)
    return Work(spec, _data(), np.zeros((6, 0)))


def _exact_loglik(work: Work, theta: Theta, draws: int = 4000) -> float:
    """Importance-sampled marginal log-likelihood (cartrial's exact one) at θ."""
    eta, hess, _, _ = conditional_modes(work, theta, np.zeros((work.n, work.spec.q)))
    phi = work.spec.typical_phi(theta, work.x)[:, work.spec.iiv_index] + eta
    lik = MarginalLikelihood(work, make_draws(phi, hess, draws, np.random.default_rng(7)), theta)
    return float(np.sum(lik.per_subject(theta)[0]))


def _natural(theta: Theta) -> dict[str, float]:
    """The quantities nlme prints: A1, lrc1, A2, lrc2, SDs of the random effects, residual SD."""
    sd = np.sqrt(np.diag(theta.omega))
    return {
        "A1": float(theta.mu[0]),
        "lrc1": float(theta.mu[1]),
        "A2": float(theta.mu[2]),
        "lrc2": float(theta.mu[3]),
        "sd_A1": float(sd[0]),
        "sd_residual": float(theta.sigma[0]),
    }


def test_vendored_data_and_model_reproduce_the_recorded_nls_fits() -> None:
    """Pooled nls and per-subject nlsList fits with cartrial's `biexponential` model (k = exp(lrc)) equal
    nlme's printed ones to their printed digits: the data file and the parametrisation are nlme's."""
    frame = pd.read_csv(DATA)

    def fit(part: pd.DataFrame) -> tuple[np.ndarray, float]:
        t, y = part["time"].to_numpy(float)[None, :], part["conc"].to_numpy(float)

        def resid(v: np.ndarray) -> np.ndarray:
            return MODEL.predict(MODEL.to_natural(v)[None, :], t, np.zeros(1))[0] - y

        res = optimize.least_squares(resid, [2.7, 0.9, 0.6, -1.1], xtol=1e-12, ftol=1e-12)
        return res.x, float(np.sqrt(np.sum(res.fun**2) / (y.size - 4)))

    pooled, rse = fit(frame)
    nls = INDO["fm1Indom.nls"]
    for k, name in enumerate(("A1", "lrc1", "A2", "lrc2")):
        assert pooled[k] == pytest.approx(nls["estimates"][name], abs=5e-4), name
    assert rse == pytest.approx(nls["residual_se"], abs=5e-4)
    for subject, printed in INDO["fm1Indom.lis"]["coefficients"].items():
        est, _ = fit(frame[frame["Subject"] == int(subject)])
        assert est == pytest.approx(printed, abs=5e-3), subject


def test_focei_objective_at_nlme_estimates_is_nlme_log_likelihood() -> None:
    """cartrial's FOCE-I log-likelihood at nlme's estimates equals nlme's printed logLik (within its
    rounding): Indometh 54.6 (± 0.05), Theophylline fm2/fm3Theo.nlme -177 (± 0.5; the Laplacian value,
    -177.9, is not). Both programs evaluate the same linearised likelihood."""
    work = _work()
    value, _, _ = laplace_loglik(work, _nlme_theta(), np.zeros((6, 3)), "focei")
    assert value == pytest.approx(FM1["log_likelihood"], abs=0.05 + 0.01)

    theo = NLME["theophylline"]["fm2Theo.nlme"]
    data = uncensored_population_data(pd.read_csv(THEOPH), THEOPH, "Subject", "Time", "conc", dose="Dose")
    spec = PopulationSpec(get_model("one_compartment_oral_ke"), ERROR, ("cl", "ka"))
    fe, sd = theo["fixed_effects"], theo["random_effects_sd"]
    theta = Theta(
        np.array([fe["lCl"], fe["lKa"], fe["lKe"]]),
        np.zeros(0),
        np.diag([sd["lCl"] ** 2, sd["lKa"] ** 2]),
        np.array([theo["residual_sd"]]),
    )
    theo_work = Work(spec, data, np.zeros((12, 0)))
    focei, _, _ = laplace_loglik(theo_work, theta, np.zeros((12, 2)), "focei")
    laplace, _, _ = laplace_loglik(theo_work, theta, np.zeros((12, 2)), "laplace")
    assert focei == pytest.approx(theo["log_likelihood"], abs=0.5)
    assert abs(laplace - theo["log_likelihood"]) > 0.5


def test_nlme_fixed_effects_are_its_pnls_step() -> None:
    """At nlme's Ω and σ, the joint mode in (β, b) of Σ‖y_i − f(β + b_i)‖²/σ² + Σ b_iᵀΩ⁻¹b_i (nlme's
    penalised nonlinear least-squares step, Pinheiro & Bates 2000 §7.2) computed with cartrial's model is
    nlme's recorded β to its printed digits — nlme's estimate is a fixed point of its alternating algorithm,
    where the FOCE-I gradient in lrc1, A2, lrc2 is not zero."""
    frame = pd.read_csv(DATA).sort_values(["Subject", "time"])
    times = np.array([g["time"].to_numpy(float) for _, g in frame.groupby("Subject")])
    conc = np.array([g["conc"].to_numpy(float) for _, g in frame.groupby("Subject")])
    theta = _nlme_theta()
    sd, sigma = np.sqrt(np.diag(theta.omega)), float(theta.sigma[0])

    def resid(v: np.ndarray) -> np.ndarray:
        phi = np.tile(v[:4], (6, 1))
        eta = v[4:].reshape(6, 3)
        phi[:, :3] += eta
        pred = MODEL.predict(MODEL.to_natural(phi), times, np.zeros(6))
        return np.concatenate([((conc - pred) / sigma).ravel(), (eta / sd).ravel()])

    res = optimize.least_squares(resid, np.r_[2.8, 0.8, 0.5, -1.3, np.zeros(18)], xtol=1e-12, ftol=1e-12)
    assert res.x[:4] == pytest.approx(theta.mu, abs=1e-3)
    work = _work()
    codec = ThetaCodec(work.spec)
    v0 = codec.encode(theta)
    grad = []
    for j in (1, 2, 3):  # lrc1, A2, lrc2
        step = np.zeros_like(v0)
        step[j] = 1e-4
        up = laplace_loglik(work, codec.decode(v0 + step), np.zeros((6, 3)), "focei")[0]
        down = laplace_loglik(work, codec.decode(v0 - step), np.zeros((6, 3)), "focei")[0]
        grad.append((up - down) / 2e-4)
    assert min(abs(g) for g in grad) > 0.5, grad


_FITS: dict[tuple[str, tuple[str, ...]], Any] = {}


def _fit(method: str, iiv: tuple[str, ...] = IIV) -> Any:
    key = (method, iiv)
    if key not in _FITS:
        start = _start()
        start["initial_omega2"] = {k: v for k, v in start["initial_omega2"].items() if k in iiv}
        _FITS[key] = fit_population(
            _data(),
            MODEL,
            error=ERROR,
            iiv=list(iiv),
            method=method,
            # 6 subjects: the final maximisation's importance draws set SAEM's Monte-Carlo error (the
            # collapsing fit is only checked for its report, with the default draws)
            settings=SaemSettings(seed=2024, polish_draws=1000, polish_final_draws=10_000)
            if iiv != IIV
            else SaemSettings(seed=2024),
            compute_se=False,
            **start,
        )
    return _FITS[key]


AGREE_2_PERCENT = ("A1", "sd_A1", "sd_residual")


@pytest.mark.parametrize("method", ["focei", "laplace"])
def test_conditional_methods_agree_with_nlme_where_nlme_is_a_maximum(method: str) -> None:
    """A1, SD(A1) and the residual SD within 2 % of fm1Indom.nlme; for the rest, cartrial's estimate is a
    better maximum: its FOCE-I (nlme's) and exact log-likelihoods are ≥ 1.0 above those at nlme's estimate,
    and the collapse of SD(lrc1) is reported, not hidden."""
    fit = _fit(method)
    got = _natural(fit.model.theta)
    ref = _natural(_nlme_theta())
    for name in AGREE_2_PERCENT:
        assert got[name] == pytest.approx(ref[name], rel=0.02), (method, name, got[name], ref[name])
    work = _work()
    mine = laplace_loglik(work, fit.model.theta, np.zeros((6, 3)), "focei")[0]
    theirs = laplace_loglik(work, _nlme_theta(), np.zeros((6, 3)), "focei")[0]
    assert mine - theirs >= 1.0, (mine, theirs)
    assert _exact_loglik(work, fit.model.theta) - _exact_loglik(work, _nlme_theta()) >= 1.0
    assert any("omega² of k1 collapsed" in p for p in fit.convergence_problems), fit.convergence_problems


@pytest.mark.nightly  # a long study (suite time, D-19.1374)
def test_saem_reports_the_collapse_and_without_it_finds_the_same_maximum() -> None:
    """SAEM on nlme's IIV structure reports SD(lrc1) → 0 (not converged); on the structure the data support
    (IIV on A1 and A2, what that message asks for) it converges to the maximum the conditional methods find —
    exact there, the model being linear in η once SD(lrc1) = 0 — within 1 % (A1, residual SD) and 2 %
    (SD(A1)), exact log-likelihood within 0.05. Against nlme: residual SD within 2 %; A1 and SD(A1) within
    3 %, because the maximum itself lies 1.9 % (A1) and 1.1 % (SD(A1)) from nlme's values and SAEM's
    estimate scatters around it by ±0.2 % and ±1 % over seeds (10,000 final importance draws per subject;
    with the default 2,000, ±0.6 % and ±4 %)."""
    full = _fit("saem")
    assert not full.converged
    assert any("omega² of k1 collapsed" in p for p in full.convergence_problems)
    reduced = _fit("saem", ("a1", "a2"))
    assert reduced.converged, reduced.convergence_problems
    th = reduced.model.theta
    got = _natural(th)
    ml = _fit("focei").model.theta
    ml_reduced = Theta(ml.mu, ml.beta, np.diag(np.diag(ml.omega)[[0, 2]]), ml.sigma)
    best = _natural(ml_reduced)
    assert got["A1"] == pytest.approx(best["A1"], rel=0.01)
    assert got["sd_residual"] == pytest.approx(best["sd_residual"], rel=0.01)
    assert got["sd_A1"] == pytest.approx(best["sd_A1"], rel=0.02)
    work = _work(("a1", "a2"))
    assert _exact_loglik(work, th) == pytest.approx(_exact_loglik(work, ml_reduced), abs=0.05)
    ref = _natural(_nlme_theta())
    assert got["sd_residual"] == pytest.approx(ref["sd_residual"], rel=0.02)
    assert got["A1"] == pytest.approx(ref["A1"], rel=0.03)
    assert got["sd_A1"] == pytest.approx(ref["sd_A1"], rel=0.03)


def test_normal_parameters_keep_their_scale_in_tables_population_file_and_map() -> None:
    """A1, A2 (normal) are reported as φ itself, k1, k2 as exp(φ): estimates, EBEs, the population file
    (round trip) and a MAP estimate, which is the fit's EBE for the same subject and data."""
    fit = _fit("saem", ("a1", "a2"))
    theta = fit.model.theta
    typical = fit.estimates[fit.estimates["kind"] == "typical"].set_index("parameter")
    assert typical.loc["a1", "estimate"] == pytest.approx(theta.mu[0])
    assert typical.loc["a2", "estimate"] == pytest.approx(theta.mu[2])
    assert typical.loc["k1", "estimate"] == pytest.approx(np.exp(theta.mu[1]))
    assert typical.loc["a1", "note"].startswith("normal")
    ebe = fit.ebe.set_index("subject")
    assert ebe["a1"].to_numpy() == pytest.approx(theta.mu[0] + ebe["eta_a1"].to_numpy())
    doc = fit.model.to_dict()
    assert doc["typical"]["a1"] == pytest.approx(theta.mu[0])
    back = PopulationModel.from_dict(json.loads(json.dumps(doc)))
    np.testing.assert_allclose(back.theta.mu, theta.mu)
    result = map_estimate(back, fit.data, subject=2)
    table = result.parameters.set_index("parameter")
    assert table.loc["a1", "typical"] == pytest.approx(theta.mu[0])
    subject = fit.data.subjects[2]
    assert table.loc["a1", "map_estimate"] == pytest.approx(ebe.loc[subject, "a1"], rel=1e-4)
    assert table.loc["k1", "map_estimate"] == pytest.approx(ebe.loc[subject, "k1"], rel=1e-4)


def test_report_cv_of_a_normal_parameter_is_sd_over_typical_value() -> None:
    """The interim report's BSV table: CV % = ω/|typical| for A1, A2 (normal), √(e^{ω²} − 1) otherwise."""
    from cartrial.report.popfit import PopfitResult, estimates_tables

    fit = _fit("saem", ("a1", "a2"))
    doc = json.loads(json.dumps(fit.to_dict()))
    _, bsv = estimates_tables(PopfitResult(doc, "estimates.json"))
    cv = dict(zip(bsv["parameter"], bsv["cv_percent"], strict=True))
    theta = fit.model.theta
    assert float(cv["a1"]) == pytest.approx(100 * np.sqrt(theta.omega[0, 0]) / theta.mu[0], abs=0.06)
    assert float(cv["a2"]) == pytest.approx(100 * np.sqrt(theta.omega[1, 1]) / theta.mu[2], abs=0.06)
