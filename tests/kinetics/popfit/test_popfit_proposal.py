"""Importance-sampling proposals from MCMC conditional moments (`mcmc_moments`, `Proposal`, D-17.24).

Oracles: a linear-Gaussian model (log y_ij = φ_i1 + φ_i2·t_j + ε_ij, φ_i ~ N(μ, Ω), ε ~ N(0, σ²)) whose
conditional distribution of φ_i given y_i is normal with precision Ω⁻¹ + XᵀX/σ² and whose marginal
likelihood is N(Xμ, XΩXᵀ + σ²I) (e.g. Pinheiro & Bates 2000 §2.1); scipy's multivariate t density for
the proposal densities; and a transcription of SAEM's E-step as it was before the kernels became
`EtaChains` (same random stream, so the refactor must reproduce it exactly).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats
from tests.conftest import property_examples

from cartrial.kinetics.popfit import PopulationData, SaemSettings, StructuralModel, fit_population
from cartrial.kinetics.popfit.likelihood import ErrorModel
from cartrial.kinetics.popfit.population import PopulationSpec, Theta
from cartrial.kinetics.popfit.recovery import simulate_cart_dataset
from cartrial.kinetics.popfit.saem import (
    EtaChains,
    MarginalLikelihood,
    Proposal,
    Work,
    _prior_quad,
    _safe_cholesky,
    build_proposal,
    conditional_modes,
    mcmc_moments,
)
from cartrial.kinetics.popfit.structural import get_model


def _exp_line(params: np.ndarray, times: np.ndarray, dose: np.ndarray) -> np.ndarray:
    """ψ1·ψ2^t: with log-normal ψ = exp(φ), log f = φ1 + φ2·t is linear in φ."""
    return np.asarray(params[:, [0]] * params[:, [1]] ** times, dtype=float)


LINE = StructuralModel("line", ("a", "b"), ("-", "-"), (1.0, 1.0), _exp_line, "linear-Gaussian test model")
TIMES = np.array([0.0, 1.0, 2.0, 3.0])
MU = np.array([math.log(20.0), -0.3])
OMEGA = np.array([[0.3, -0.05], [-0.05, 0.08]])
SIGMA = 0.3


def _linear_case(n: int = 20, seed: int = 4) -> tuple[Work, Theta, np.ndarray]:
    rng = np.random.default_rng(seed)
    phi = MU + rng.standard_normal((n, 2)) @ np.linalg.cholesky(OMEGA).T
    x_design = np.column_stack([np.ones(TIMES.size), TIMES])
    log_y = phi @ x_design.T + rng.normal(0, SIGMA, (n, TIMES.size))
    data = PopulationData.from_arrays([f"S{i}" for i in range(n)], [TIMES] * n, list(np.exp(log_y)))
    spec = PopulationSpec(LINE, ErrorModel(), ("a", "b"), "full")
    work = Work(spec, data, np.zeros((n, 0)))
    return work, Theta(MU.copy(), np.zeros(0), OMEGA.copy(), np.array([SIGMA])), log_y


def _exact_conditional(theta: Theta, log_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of η_i = φ_i - μ (n, 2) and the covariance (2, 2) of p(φ_i | y_i; θ) in closed form."""
    x_design = np.column_stack([np.ones(TIMES.size), TIMES])
    om_inv = np.linalg.inv(theta.omega)
    s2 = float(theta.sigma[0]) ** 2
    cov = np.linalg.inv(om_inv + x_design.T @ x_design / s2)
    mean = (om_inv @ theta.mu + log_y @ x_design / s2) @ cov.T
    return mean - theta.mu, cov


def _exact_loglik(theta: Theta, log_y: np.ndarray) -> float:
    x_design = np.column_stack([np.ones(TIMES.size), TIMES])
    cov = x_design @ theta.omega @ x_design.T + float(theta.sigma[0]) ** 2 * np.eye(TIMES.size)
    return float(stats.multivariate_normal(x_design @ theta.mu, cov).logpdf(log_y).sum())


def test_mcmc_moments_equal_the_exact_conditional_moments() -> None:
    work, theta, log_y = _linear_case()
    mean_exact, cov_exact = _exact_conditional(theta, log_y)
    eta0, _, _, _ = conditional_modes(work, theta, np.zeros((work.n, 2)))
    mean, cov = mcmc_moments(work, theta, eta0, np.random.default_rng(1), chains=8, burn=50, iterations=300)
    sd = np.sqrt(np.diag(cov_exact))
    # standardised errors of the conditional means: Monte-Carlo error of ~2400 correlated draws
    z = (mean - mean_exact) / sd
    assert float(np.sqrt(np.mean(z**2))) < 0.12
    var_ratio = np.diagonal(cov, axis1=1, axis2=2) / np.diag(cov_exact)
    assert np.all(np.abs(np.log(var_ratio).mean(axis=0)) < 0.08)
    assert np.all(np.abs(np.log(var_ratio)) < 0.3)
    corr = cov[:, 0, 1] / np.sqrt(cov[:, 0, 0] * cov[:, 1, 1])
    corr_exact = cov_exact[0, 1] / math.sqrt(cov_exact[0, 0] * cov_exact[1, 1])
    assert float(np.mean(corr)) == pytest.approx(corr_exact, abs=0.06)


@pytest.mark.parametrize("kind", ["mcmc", "mixture"])
def test_is_loglik_with_mcmc_proposals_equals_the_exact_marginal(kind: str) -> None:
    """At θ and at nearby θ (draws fixed: the surface the maximisation and the information use)."""
    work, theta, log_y = _linear_case()
    eta0, hess, _, _ = conditional_modes(work, theta, np.zeros((work.n, 2)))
    prop = build_proposal(
        work, theta, eta0, hess, np.random.default_rng(2), SaemSettings(polish_proposal=kind)
    )
    assert prop.kind == kind
    lik = MarginalLikelihood(work, prop.draws(2000, np.random.default_rng(3)), theta)
    for dmu, fom in ((0.0, 1.0), (0.05, 1.2), (-0.05, 0.85)):
        moved = Theta(theta.mu + dmu, theta.beta, theta.omega * fom, theta.sigma)
        ll_i, var_i = lik.per_subject(moved)
        exact = _exact_loglik(moved, log_y)
        assert float(ll_i.sum()) == pytest.approx(exact, abs=0.02 + 4 * math.sqrt(float(var_i.sum())))
        assert float(ll_i.sum()) == pytest.approx(exact, abs=0.1)


def test_mcmc_proposals_do_not_underestimate_the_stein_loglik_as_laplace_does() -> None:
    """Stein 2019, 40 simulated CAR-T subjects, at SAEM's estimate: the importance-sampled log-likelihood
    (biased low by about half the variance of the weights) with the MCMC and mixture proposals is not
    below the Laplace proposal's beyond Monte-Carlo error, and the two MCMC-based estimates agree."""
    data, _ = simulate_cart_dataset(40, 11)
    fit = fit_population(
        data, "stein2019", settings=SaemSettings(seed=2, k1=120, k2=60, polish_rounds=0), compute_se=False
    )
    work, theta = fit.work, fit.model.theta
    out = {}
    for kind in ("laplace", "mcmc", "mixture"):
        prop = build_proposal(
            work,
            theta,
            fit.eta_mode,
            fit.eta_hessian,
            np.random.default_rng(5),
            SaemSettings(polish_proposal=kind),
        )
        ll_i, var_i = MarginalLikelihood(work, prop.draws(500, np.random.default_rng(6)), theta).per_subject(
            theta
        )
        out[kind] = (float(ll_i.sum()), float(var_i.sum()))
    lap, mcmc, mix = out["laplace"], out["mcmc"], out["mixture"]
    for est in (mcmc, mix):
        assert est[0] >= lap[0] - 3 * math.sqrt(lap[1] + est[1])
    assert mcmc[0] == pytest.approx(mix[0], abs=0.5 + 4 * math.sqrt(mcmc[1] + mix[1]))
    # the defensive mixture's weights are bounded: its Monte-Carlo variance is not the Laplace one's
    assert mix[1] <= lap[1] * 1.5


_finite = st.floats(-3.0, 3.0, allow_nan=False)


@st.composite
def _proposal(draw: st.DrawFn) -> tuple[Proposal, float]:
    q = draw(st.integers(1, 2))
    n = 2

    def spd() -> np.ndarray:
        a = np.array([[draw(_finite) for _ in range(q)] for _ in range(q)])
        return np.asarray(a @ a.T + draw(st.floats(0.05, 2.0)) * np.eye(q), dtype=float)

    mode = np.array([[draw(_finite) for _ in range(q)] for _ in range(n)])
    mean = np.array([[draw(_finite) for _ in range(q)] for _ in range(n)])
    hess = np.stack([np.linalg.inv(spd()) for _ in range(n)])
    cov = np.stack([spd() for _ in range(n)])
    share = draw(st.floats(0.01, 0.99))
    return Proposal("mixture", mode, hess, mean, cov, share), share


@settings(max_examples=property_examples(30), deadline=None)
@given(_proposal(), st.integers(0, 2**31))
def test_mixture_log_density_is_the_normalised_mixture(case: tuple[Proposal, float], seed: int) -> None:
    """log q is finite, is the log of (1 - s)·t(mean, cov) + s·t(mode, H⁻¹) with scipy's t densities, so
    it is ≥ log s + log of the Laplace density; its draws carry that log q, and in one dimension it
    integrates to 1."""
    prop, share = case
    n, q = prop.mode_phi.shape
    draws = prop.draws(40, np.random.default_rng(seed))
    k_lap = prop.laplace_count(40)
    assert 1 <= k_lap <= 39
    assert np.all(np.isfinite(draws.log_q))
    np.testing.assert_allclose(draws.log_q, prop.log_density(draws.phi_iiv, k_lap / 40), rtol=0, atol=1e-9)
    log_q = prop.log_density(draws.phi_iiv)
    for i in range(n):
        lap = stats.multivariate_t(prop.mode_phi[i], np.linalg.inv(prop.hessian[i]), df=5)
        mc = stats.multivariate_t(prop.mean_phi[i], prop.cov[i], df=5)  # type: ignore[index]
        x = draws.phi_iiv[i]
        expected = np.logaddexp(math.log1p(-share) + mc.logpdf(x), math.log(share) + lap.logpdf(x))
        np.testing.assert_allclose(log_q[i], expected, rtol=1e-8, atol=1e-8)
        assert np.all(log_q[i] >= math.log(share) + lap.logpdf(x) - 1e-9)
    if q == 1:
        for i in range(n):

            def density(v: float, i: int = i) -> float:
                return float(np.exp(prop.log_density(np.full((n, 1, 1), v))[i, 0]))

            points = sorted({float(prop.mode_phi[i, 0]), float(prop.mean_phi[i, 0])})  # type: ignore[index]
            total = sum(
                integrate.quad(density, lo, hi, points=points if math.isfinite(lo + hi) else None, limit=200)[
                    0
                ]
                for lo, hi in ((-math.inf, points[0]), (points[0], points[-1]), (points[-1], math.inf))
                if lo < hi
            )
            assert total == pytest.approx(1.0, abs=1e-5)


def test_mixture_draws_follow_the_mixture() -> None:
    """The sample mean of many mixture draws is the mixture's mean (1 - s)·mean + s·mode (a t's mean is
    its centre)."""
    mode = np.array([[0.0, 1.0]])
    mean = np.array([[2.0, -1.0]])
    prop = Proposal("mixture", mode, np.eye(2)[None] * 4.0, mean, np.eye(2)[None] * 0.5, 0.2)
    draws = prop.draws(40_000, np.random.default_rng(9))
    share = prop.laplace_count(40_000) / 40_000
    expected = (1 - share) * mean[0] + share * mode[0]
    se = draws.phi_iiv[0].std(axis=0) / math.sqrt(40_000)
    assert np.all(np.abs(draws.phi_iiv[0].mean(axis=0) - expected) < 5 * se)


def _old_estep(
    work: Work, theta: Theta, eta: np.ndarray, rng: np.random.Generator, scales: list[np.ndarray]
) -> None:
    """SAEM's E-step (kernels 1-3, two passes each) as written inline in `run_saem` before `EtaChains`."""
    spec, n = work.spec, work.n
    q, iiv = spec.q, spec.iiv_index
    rows = np.arange(n)
    r = n
    base = spec.typical_phi(theta, work.x[rows])
    omega_inv = np.linalg.inv(theta.omega)
    chol = _safe_cholesky(theta.omega)

    def data_ll(e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        phi = base.copy()
        phi[:, iiv] += e
        pred = work.predict(phi, rows)
        return work.loglik(pred, rows, theta.sigma), pred

    ll, pred = data_ll(eta)
    scale2, scale3 = scales
    sd = np.sqrt(np.diag(theta.omega))
    for _ in range(2):
        prop = rng.standard_normal((r, q)) @ chol.T
        ll_p, pred_p = data_ll(prop)
        ok = np.log(rng.random(r)) < ll_p - ll
        eta[ok], ll[ok], pred[ok] = prop[ok], ll_p[ok], pred_p[ok]
    quad = _prior_quad(eta, omega_inv)

    def rw(prop: np.ndarray) -> float:
        ll_p, pred_p = data_ll(prop)
        quad_p = _prior_quad(prop, omega_inv)
        ok = np.log(rng.random(r)) < ll_p - ll - quad_p + quad
        eta[ok], ll[ok], pred[ok], quad[ok] = prop[ok], ll_p[ok], pred_p[ok], quad_p[ok]
        return float(ok.mean())

    for _ in range(2):
        rate = rw(eta + rng.standard_normal((r, q)) * (scale2 * sd))
        scale2 *= 1 + 0.4 * (rate - 0.4)
    for _ in range(2):
        for j in range(q):
            prop = eta.copy()
            prop[:, j] += rng.standard_normal(r) * scale3[j] * sd[j]
            rate = rw(prop)
            scale3[j] *= 1 + 0.4 * (rate - 0.4)


def test_eta_chains_reproduce_the_inline_saem_kernels_exactly() -> None:
    """The refactor into `EtaChains` leaves SAEM's draws, and so the default estimates, bit for bit."""
    data, _ = simulate_cart_dataset(30, 21)
    model = get_model("stein2019")
    spec = PopulationSpec(model, ErrorModel(), model.parameters)
    work = Work(spec, data, np.zeros((data.n_subjects, 0)))
    theta = Theta(
        spec.model.to_phi(np.array(spec.model.default_typical)), np.zeros(0), np.eye(6) * 0.5, np.array([0.5])
    )
    chains = EtaChains(work, theta, 1, np.random.default_rng(77))
    eta = np.zeros((work.n, 6))
    rng = np.random.default_rng(77)
    scales = [np.full(6, 0.5), np.full(6, 0.5)]
    for _ in range(3):
        chains.step((2, 2, 2), 0.4)
        _old_estep(work, theta, eta, rng, scales)
    np.testing.assert_array_equal(chains.eta, eta)
    np.testing.assert_array_equal(chains.scale2, scales[0])
    np.testing.assert_array_equal(chains.scale3, scales[1])


@pytest.mark.parametrize(
    "field",
    [
        {"polish_proposal": "tdist"},
        {"proposal_defensive": 1.5},
        {"proposal_chains": 0},
        {"proposal_burn": -1},
    ],
)
def test_bad_proposal_settings_are_refused_with_what_is_allowed(field: dict[str, object]) -> None:
    from cartrial.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="proposal"):
        SaemSettings(**field)  # type: ignore[arg-type]
