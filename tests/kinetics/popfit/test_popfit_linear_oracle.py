"""SAEM, the importance-sampling likelihood and the Fisher-information SEs against closed forms.

A constant 'structural model' C = θ_i with log-normal IIV and an additive error on the log scale is the
random-intercept linear model log y_ij = μ + η_i + ε_ij: each subject's log values are N(μ·1, ω²·11ᵀ + σ²·I)
(e.g. Pinheiro & Bates 2000 §2.1), so the marginal likelihood, its maximum and its Hessian are available
exactly (scipy.stats.multivariate_normal, optimised with scipy) — an oracle independent of the estimator.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from cartrial.kinetics.popfit import PopulationData, SaemSettings, StructuralModel, fit_population
from cartrial.kinetics.popfit.saem import MarginalLikelihood, make_draws


def _constant(params: np.ndarray, times: np.ndarray, dose: np.ndarray) -> np.ndarray:
    return np.asarray(np.broadcast_to(params[:, [0]], times.shape), dtype=float).copy()


CONSTANT = StructuralModel("constant", ("level",), ("-",), (1.0,), _constant, "random-intercept test model")


def _data(seed: int = 3, n: int = 30, m: int = 5) -> tuple[PopulationData, np.ndarray]:
    rng = np.random.default_rng(seed)
    log_y = math.log(20.0) + rng.normal(0, math.sqrt(0.3), (n, 1)) + rng.normal(0, 0.25, (n, m))
    data = PopulationData.from_arrays(
        [f"S{i}" for i in range(n)], [np.arange(m, dtype=float)] * n, list(np.exp(log_y))
    )
    return data, log_y


def _exact_loglik(v: np.ndarray, log_y: np.ndarray) -> float:
    mu, log_om2, log_s = v
    m = log_y.shape[1]
    cov = math.exp(log_om2) * np.ones((m, m)) + math.exp(2 * log_s) * np.eye(m)
    return float(stats.multivariate_normal(np.full(m, mu), cov).logpdf(log_y).sum())


def _exact_mle(log_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    res = optimize.minimize(
        lambda v: -_exact_loglik(v, log_y),
        np.array([3.0, math.log(0.2), math.log(0.3)]),
        method="BFGS",
        options={"gtol": 1e-8},
    )
    h = 1e-4
    hess = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            ei, ej = np.eye(3)[i] * h, np.eye(3)[j] * h
            hess[i, j] = (
                _exact_loglik(res.x + ei + ej, log_y)
                - _exact_loglik(res.x + ei - ej, log_y)
                - _exact_loglik(res.x - ei + ej, log_y)
                + _exact_loglik(res.x - ei - ej, log_y)
            ) / (4 * h * h)
    return res.x, np.linalg.inv(-hess)


@pytest.fixture(scope="module")
def linear_case():  # type: ignore[no-untyped-def]
    data, log_y = _data()
    # 20,000 importance draws for the −2LL: with 1000 its Monte-Carlo SD is 0.085 whatever the proposal
    # (60 draw sets each of the Laplace, MCMC and mixture proposals at this θ: mean error -0.004 to -0.006
    # ± 0.011, no bias), above the 0.05 the −2LL test asks for; 20,000 bring it to about 0.02 (D-17.24)
    fit = fit_population(
        data,
        CONSTANT,
        initial={"level": 5.0},
        settings=SaemSettings(seed=5, k1=200, k2=200, is_draws=20_000),
    )
    return data, log_y, fit


def test_saem_reaches_the_exact_maximum_likelihood(linear_case) -> None:  # type: ignore[no-untyped-def]
    _, log_y, fit = linear_case
    v, _ = _exact_mle(log_y)
    theta = fit.model.theta
    assert theta.mu[0] == pytest.approx(v[0], abs=0.01)
    assert theta.omega[0, 0] == pytest.approx(math.exp(v[1]), rel=0.05)
    assert theta.sigma[0] == pytest.approx(math.exp(v[2]), rel=0.02)
    assert fit.converged, fit.convergence_problems


def test_importance_sampling_loglik_equals_the_closed_form(linear_case) -> None:  # type: ignore[no-untyped-def]
    """At the SAEM estimate, −2LL by importance sampling equals the exact one (the log-scale Jacobian
    Σ 2·log y is part of the reported value)."""
    _, log_y, fit = linear_case
    th = fit.model.theta
    exact = _exact_loglik(np.array([th.mu[0], math.log(th.omega[0, 0]), math.log(th.sigma[0])]), log_y)
    expected_m2ll = -2 * exact + 2 * float(np.sum(log_y))
    assert fit.likelihood["minus_2_log_likelihood"] == pytest.approx(expected_m2ll, abs=0.05)


def test_standard_errors_equal_the_exact_information(linear_case) -> None:  # type: ignore[no-untyped-def]
    """SEs of μ, log ω² and log σ from the importance-sampled information match the inverse of the exact
    Hessian within 5 % (delta method to the natural scale as in the estimates table)."""
    _, log_y, fit = linear_case
    _, cov = _exact_mle(log_y)
    se = np.sqrt(np.diag(cov))
    est = fit.estimates.set_index("kind")
    typical = est.loc["typical"]
    assert typical["se"] / typical["estimate"] == pytest.approx(se[0], rel=0.05)
    assert est.loc["omega2", "se"] / est.loc["omega2", "estimate"] == pytest.approx(se[1], rel=0.05)
    assert est.loc["residual", "se"] / est.loc["residual", "estimate"] == pytest.approx(se[2], rel=0.05)


def test_is_loglik_is_the_closed_form_at_other_parameter_values(linear_case) -> None:  # type: ignore[no-untyped-def]
    """The IS estimate with draws fixed at the fit's modes stays exact when θ moves (common random numbers):
    the surface the Fisher information is taken from is the true likelihood surface."""
    _, log_y, fit = linear_case
    th = fit.model.theta
    base = fit.model.spec.typical_phi(th, fit.work.x)[:, fit.model.spec.iiv_index]
    lik = MarginalLikelihood(
        fit.work, make_draws(base + fit.eta_mode, fit.eta_hessian, 2000, np.random.default_rng(1)), th
    )
    for dmu, fom in ((0.05, 1.0), (-0.05, 1.3), (0.0, 0.8)):
        moved = type(th)(th.mu + dmu, th.beta, th.omega * fom, th.sigma)
        exact = _exact_loglik(
            np.array([moved.mu[0], math.log(moved.omega[0, 0]), math.log(th.sigma[0])]), log_y
        )
        assert lik.total(moved) == pytest.approx(exact, abs=0.05)


def test_covariate_effects_equal_the_exact_mle() -> None:
    """Power covariate (weight, centred on the median) and a categorical one (sex, reference = most frequent)
    on the random-intercept model: β̂ of SAEM equal the exact MLE of log y_ij = μ + β_w·log(w/median) +
    β_s·[sex = F] + η_i + ε_ij within 0.03."""
    import pandas as pd

    rng = np.random.default_rng(11)
    n, m = 40, 4
    weight = rng.uniform(50, 100, n)
    female = np.arange(n) % 3 == 0  # M is the most frequent level (reference)
    x_w = np.log(weight / np.median(weight))
    log_y = (
        math.log(20.0)
        + 0.75 * x_w[:, None]
        + 0.4 * female[:, None]
        + rng.normal(0, 0.3, (n, 1))
        + rng.normal(0, 0.2, (n, m))
    )
    ids = [f"S{i}" for i in range(n)]
    data = PopulationData.from_arrays(ids, [np.arange(m, dtype=float)] * n, list(np.exp(log_y)))
    cov = pd.DataFrame({"weight_kg": weight, "sex": np.where(female, "F", "M")}, index=ids)
    fit = fit_population(
        data.with_covariates(cov),
        CONSTANT,
        covariates=[("level", "weight_kg", "auto"), ("level", "sex", "auto")],
        initial={"level": 5.0},
        settings=SaemSettings(seed=2, k1=200, k2=200),
    )

    def nll(v: np.ndarray) -> float:
        mean = v[0] + v[1] * x_w + v[2] * female
        c = math.exp(v[3]) * np.ones((m, m)) + math.exp(2 * v[4]) * np.eye(m)
        return -float(stats.multivariate_normal(np.zeros(m), c).logpdf(log_y - mean[:, None]).sum())

    exact = optimize.minimize(nll, np.array([3.0, 0.0, 0.0, math.log(0.1), math.log(0.3)]), method="BFGS").x
    est = fit.estimates.set_index("parameter")
    assert est.loc["beta_level_weight_kg", "estimate"] == pytest.approx(exact[1], abs=0.03)
    assert est.loc["beta_level_sex_F", "estimate"] == pytest.approx(exact[2], abs=0.03)
    assert fit.model.theta.mu[0] == pytest.approx(exact[0], abs=0.03)
