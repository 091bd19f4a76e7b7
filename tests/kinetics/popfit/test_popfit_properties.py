"""Invariants of the likelihood machinery of the population estimator (hypothesis).

* The additive-error fast path of the importance-sampled likelihood (sum of squares + censored terms) equals
  the general per-sample likelihood (`subject_loglik`, Beal M3), and its log-σ derivative equals a central
  difference.
* The analytic gradient of the importance-sampled log-likelihood (Louis' identity on the weights) equals a
  central difference of the same surface, for diagonal and full Ω.
* FOCE-I's first-order Hessian is the exact Hessian when the model is linear in η on the transformed scale
  (constant model, additive error on the log scale, no censoring): Gauss-Newton drops only curvature of f.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import norm
from tests.conftest import property_examples

from cartrial.kinetics.popfit import PopulationData, StructuralModel
from cartrial.kinetics.popfit.data import covariate_design
from cartrial.kinetics.popfit.laplace import first_order_hessian
from cartrial.kinetics.popfit.likelihood import ErrorModel, subject_loglik
from cartrial.kinetics.popfit.population import PopulationSpec, Theta
from cartrial.kinetics.popfit.saem import (
    MarginalLikelihood,
    ThetaCodec,
    Work,
    conditional_modes,
    inverse_mills_ratio,
    is_value_and_gradient,
    make_draws,
)


def _two_level(params: np.ndarray, times: np.ndarray, dose: np.ndarray) -> np.ndarray:
    """level·exp(-k·t): two parameters, nonlinear in k."""
    return np.asarray(params[:, [0]] * np.exp(-params[:, [1]] * times), dtype=float)


def _constant(params: np.ndarray, times: np.ndarray, dose: np.ndarray) -> np.ndarray:
    return np.asarray(np.broadcast_to(params[:, [0]], times.shape), dtype=float).copy()


DECAY = StructuralModel("decay", ("level", "k"), ("-", "1/t"), (100.0, 0.3), _two_level, "test model")
CONSTANT = StructuralModel("constant", ("level",), ("-",), (1.0,), _constant, "test model")


def _work(seed: int, omega: str, lloq: float, model: StructuralModel = DECAY) -> Work:
    rng = np.random.default_rng(seed)
    n, m = 8, 6
    t = np.linspace(0.5, 8, m)
    p = model.default_typical
    psi = np.asarray(p) * np.exp(rng.normal(0, 0.4, (n, len(p))))
    y = model.predict(psi, np.tile(t, (n, 1)), np.ones(n)) * np.exp(rng.normal(0, 0.3, (n, m)))
    data = PopulationData.from_arrays(
        [f"S{i}" for i in range(n)],
        [t] * n,
        [np.where(v < lloq, np.nan, v) for v in y],
        lloq=lloq,
        allow_unquantified=True,
    )
    _, x, _ = covariate_design(data, [], list(model.parameters))
    spec = PopulationSpec(model, ErrorModel("additive", "log"), model.parameters, omega, "m3")
    return Work(spec, data, x)


def _theta(work: Work, shift: float, om: float, sig: float) -> Theta:
    spec = work.spec
    q = spec.q
    omega = (
        np.full((q, q), 0.3 * om) + np.eye(q) * 0.7 * om if spec.omega_structure == "full" else np.eye(q) * om
    )
    return Theta(np.log(spec.model.default_typical) + shift, np.zeros(0), omega, np.array([sig]))


def _lik(work: Work, theta: Theta, seed: int) -> MarginalLikelihood:
    eta, hess, _, _ = conditional_modes(work, theta, np.zeros((work.n, work.spec.q)))
    mode_phi = work.spec.typical_phi(theta, work.x)[:, work.spec.iiv_index] + eta
    return MarginalLikelihood(work, make_draws(mode_phi, hess, 40, np.random.default_rng(seed)), theta)


SETTINGS = settings(
    max_examples=property_examples(15), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@SETTINGS
@given(
    seed=st.integers(0, 10_000),
    lloq=st.sampled_from([0.0, 5.0, 20.0]),
    sig=st.floats(0.1, 1.0),
)
def test_additive_fast_path_equals_the_general_likelihood(seed: int, lloq: float, sig: float) -> None:
    work = _work(seed, "diagonal", lloq)
    theta = _theta(work, 0.0, 0.2, sig)
    lik = _lik(work, theta, seed)
    fast, dlog = lik.additive_ll_and_dlogsigma(theta)
    pred = lik._pred(theta)
    rows = lik.rows
    general = subject_loglik(
        pred,
        work.yt[rows],
        work.lloq_t[rows],
        work.quantified[rows],
        work.censored[rows],
        work.spec.error,
        theta.sigma,
    ).reshape(fast.shape)
    np.testing.assert_allclose(fast, general, rtol=1e-10, atol=1e-8)
    h = 1e-6
    up = lik.additive_ll_and_dlogsigma(Theta(theta.mu, theta.beta, theta.omega, theta.sigma * math.exp(h)))[0]
    dn = lik.additive_ll_and_dlogsigma(Theta(theta.mu, theta.beta, theta.omega, theta.sigma * math.exp(-h)))[
        0
    ]
    np.testing.assert_allclose(dlog, (up - dn) / (2 * h), rtol=1e-5, atol=1e-5)


@SETTINGS
@given(
    seed=st.integers(0, 10_000),
    omega=st.sampled_from(["diagonal", "full"]),
    lloq=st.sampled_from([0.0, 10.0]),
    shift=st.floats(-0.3, 0.3),
    om=st.floats(0.05, 1.0),
    sig=st.floats(0.15, 0.8),
)
def test_importance_sampling_gradient_equals_central_differences(
    seed: int, omega: str, lloq: float, shift: float, om: float, sig: float
) -> None:
    work = _work(seed, omega, lloq)
    base = _theta(work, 0.0, 0.3, 0.3)
    lik = _lik(work, base, seed)
    codec = ThetaCodec(work.spec)
    v = codec.encode(_theta(work, shift, om, sig))
    value, grad = is_value_and_gradient(lik, v)
    assert value == lik.total(codec.decode(v))
    h = 1e-6
    numeric = np.array(
        [
            (lik.total(codec.decode(v + e)) - lik.total(codec.decode(v - e))) / (2 * h)
            for e in np.eye(v.size) * h
        ]
    )
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-4 * max(1.0, float(np.max(np.abs(numeric)))))


@SETTINGS
@given(seed=st.integers(0, 10_000), om=st.floats(0.05, 1.0), sig=st.floats(0.1, 1.0))
def test_focei_hessian_is_exact_for_a_model_linear_in_eta(seed: int, om: float, sig: float) -> None:
    work = _work(seed, "diagonal", 0.0, CONSTANT)
    theta = _theta(work, 0.0, om, sig)
    eta, exact, _, _ = conditional_modes(work, theta, np.zeros((work.n, 1)))
    np.testing.assert_allclose(first_order_hessian(work, theta, eta), exact, rtol=1e-4)


@settings(deadline=None)
@given(z=st.floats(-1e300, 1e300, allow_nan=False))
def test_inverse_mills_ratio_is_finite_and_matches_its_definition(z: float) -> None:
    """φ(z)/Φ(z) of the censored (M3) gradient: equal to scipy's pdf/cdf where both are representable,
    → −z far in the left tail (the old exp(−z²/2 − log Φ) form gave 1.0 at z = −1e9 and inf at −1e12)."""
    value = float(inverse_mills_ratio(np.array([z]))[0])
    assert math.isfinite(value) and value >= 0.0
    if z >= -30.0:  # (the density underflows to 0 beyond z ≈ 38.6, and so does the ratio)
        with np.errstate(over="ignore"):  # scipy's pdf squares a huge z on its way to 0
            expected = norm.pdf(z) / norm.cdf(z)
        assert value == pytest.approx(expected, rel=1e-9, abs=1e-300)
    else:
        assert value == pytest.approx(-z, rel=2e-3)


def test_inverse_mills_ratio_at_infinity_is_its_limit_without_a_warning() -> None:
    """z = ±inf (seen in 2 of 300 nightly recovery fits as a divide-by-zero warning): +inf and 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = inverse_mills_ratio(np.array([-np.inf, np.inf]))
    assert values[0] == np.inf and values[1] == 0.0
