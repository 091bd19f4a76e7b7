"""Structural models and the censored likelihood of the population estimator (docs/popfit.md §2).

Expectations are derived independently: the Stein 2019 predictions from the kinetics engine's own closed form
called one subject at a time, the one-compartment model from its formula written out here (Gibaldi & Perrier
1982), and the likelihood terms from scipy.stats (normal log-density and log-CDF; Beal 2001 M3).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from tests.conftest import property_examples

from cartrial.errors import ConfigurationError
from cartrial.kinetics.models import STEIN_2019_TYPICAL, stein2019_concentration
from cartrial.kinetics.popfit.likelihood import ErrorModel, observation_loglik, subject_loglik
from cartrial.kinetics.popfit.structural import (
    get_model,
    predict_one_compartment_oral,
    predict_one_compartment_oral_ke,
    predict_stein2019,
)


def test_vectorised_stein_prediction_equals_the_engine_one_subject_at_a_time() -> None:
    """Each row evaluated at its own times equals `stein2019_concentration` for that subject alone."""
    rng = np.random.default_rng(0)
    base = STEIN_2019_TYPICAL.as_array()
    params = base * np.exp(rng.normal(0, 0.4, (7, 6)))
    params[:, 4] = np.minimum(params[:, 4], 0.9)
    times = np.sort(rng.uniform(0, 400, (7, 11)), axis=1)
    got = predict_stein2019(params, times, np.ones(7))
    for i in range(7):
        expected = stein2019_concentration(times[i], *params[i])
        np.testing.assert_allclose(got[i], expected, rtol=1e-12)


def test_one_compartment_matches_the_bateman_function_written_out() -> None:
    ka, v, cl, dose, t = 1.5, 0.5, 0.04, 4.0, np.array([0.0, 0.5, 2.0, 12.0])
    k = cl / v
    expected = dose * ka / (v * (ka - k)) * (np.exp(-k * t) - np.exp(-ka * t))
    got = predict_one_compartment_oral(np.array([[ka, v, cl]]), t[None, :], np.array([dose]))[0]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # the (cl, ka, ke) parametrisation of SSfol: Dose·ke·ka/(cl·(ka-ke))·(e^{-ke t} - e^{-ka t})
    ke = k
    ssfol = dose * ke * ka / (cl * (ka - ke)) * (np.exp(-ke * t) - np.exp(-ka * t))
    got_ke = predict_one_compartment_oral_ke(np.array([[cl, ka, ke]]), t[None, :], np.array([dose]))[0]
    np.testing.assert_allclose(got_ke, ssfol, rtol=1e-12)


def test_one_compartment_limit_when_ka_equals_k() -> None:
    """ka = k: the limit D·k·t·e^{-kt}/V, continuous with nearby ka."""
    t = np.array([[1.0, 3.0]])
    at = predict_one_compartment_oral(np.array([[0.2, 1.0, 0.2]]), t, np.array([1.0]))
    near = predict_one_compartment_oral(np.array([[0.2 * (1 + 1e-6), 1.0, 0.2]]), t, np.array([1.0]))
    np.testing.assert_allclose(at, near, rtol=1e-5)


def test_unknown_model_and_error_models_are_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"allowed: biexponential \| one_compartment_oral"):
        get_model("nope")
    with pytest.raises(ConfigurationError, match="only an additive error"):
        ErrorModel("proportional", "log")
    with pytest.raises(ConfigurationError, match="allowed: additive"):
        ErrorModel("exponential", "linear")


finite = st.floats(min_value=-3, max_value=3, allow_nan=False)


@settings(max_examples=property_examples(60), deadline=None)
@given(
    st.lists(st.tuples(finite, finite), min_size=1, max_size=8),
    st.floats(min_value=0.05, max_value=2.0),
)
def test_m3_reduces_to_the_normal_likelihood_when_nothing_is_censored(
    pairs: list[tuple[float, float]], sd: float
) -> None:
    """No BLQ sample: the M3 likelihood is the product of normal densities of log y (scipy oracle)."""
    log_y = np.array([[p[0] for p in pairs]])
    log_f = np.array([[p[1] for p in pairs]])
    q = np.ones_like(log_y, dtype=bool)
    got = subject_loglik(np.exp(log_f), log_y, np.zeros_like(log_y), q, ~q, ErrorModel(), np.array([sd]))
    expected = stats.norm.logpdf(log_y, loc=log_f, scale=sd).sum()
    assert got[0] == pytest.approx(expected, rel=1e-10, abs=1e-10)


@settings(max_examples=property_examples(60), deadline=None)
@given(finite, finite, st.floats(min_value=0.05, max_value=2.0))
def test_a_censored_sample_contributes_the_probability_below_the_lloq(
    log_lloq: float, log_f: float, sd: float
) -> None:
    got = observation_loglik(
        np.array([[math.exp(log_f)]]),
        np.zeros((1, 1)),
        np.array([[log_lloq]]),
        np.array([[False]]),
        np.array([[True]]),
        ErrorModel(),
        np.array([sd]),
    )
    assert got[0, 0] == pytest.approx(stats.norm.logcdf(log_lloq, loc=log_f, scale=sd), rel=1e-9, abs=1e-12)


@settings(max_examples=property_examples(40), deadline=None)
@given(
    st.lists(finite, min_size=2, max_size=6),
    st.floats(min_value=-5, max_value=5),
    st.floats(min_value=0.1, max_value=1.5),
)
def test_log_scale_likelihood_is_invariant_to_the_concentration_unit(
    logs: list[float], log_c: float, sd: float
) -> None:
    """Multiplying observations, predictions and LLOQ by one factor (a unit change) leaves the log-scale
    likelihood (of log y) unchanged; the first sample is censored."""
    log_y = np.array([logs])
    log_f = log_y[:, ::-1] * 0.5
    cens = np.zeros_like(log_y, dtype=bool)
    cens[0, 0] = True
    err, s = ErrorModel(), np.array([sd])
    a = subject_loglik(np.exp(log_f), log_y, log_y + 0.1, ~cens, cens, err, s)
    b = subject_loglik(np.exp(log_f + log_c), log_y + log_c, log_y + 0.1 + log_c, ~cens, cens, err, s)
    assert a[0] == pytest.approx(b[0], rel=1e-9, abs=1e-9)


@settings(max_examples=property_examples(40), deadline=None)
@given(st.lists(finite, min_size=3, max_size=6), st.permutations(range(3)))
def test_subject_likelihoods_follow_their_rows(values: list[float], order: list[int]) -> None:
    """Permuting subjects permutes their likelihoods (subjects are independent)."""
    log_y = np.array([values, [v + 0.3 for v in values], [v - 0.2 for v in values]])
    log_f = np.zeros_like(log_y)
    q = np.ones_like(log_y, dtype=bool)
    err, s = ErrorModel(), np.array([0.5])
    base = subject_loglik(np.exp(log_f), log_y, log_y, q, ~q, err, s)
    perm = subject_loglik(np.exp(log_f[order]), log_y[order], log_y[order], q, ~q, err, s)
    np.testing.assert_allclose(perm, base[order])


def test_linear_scale_combined_error_density() -> None:
    """Combined error g = sqrt(a² + b²f²) on the linear scale (scipy oracle)."""
    f = np.array([[2.0, 10.0]])
    y = np.array([[2.5, 8.0]])
    q = np.ones_like(y, dtype=bool)
    got = subject_loglik(f, y, y, q, ~q, ErrorModel("combined", "linear"), np.array([0.3, 0.1]))
    sd = np.sqrt(0.3**2 + (0.1 * f) ** 2)
    assert got[0] == pytest.approx(stats.norm.logpdf(y, f, sd).sum(), rel=1e-12)


@given(
    st.lists(st.floats(-5, 5, allow_nan=False), min_size=4, max_size=4),
    st.integers(1, 5),
)
@settings(max_examples=property_examples(50), deadline=None)
def test_phi_natural_maps_are_inverse_and_per_parameter(phi: list[float], rows: int) -> None:
    """`to_natural`/`to_phi` are inverse; normal parameters (biexponential's a1, a2) map to themselves,
    log-normal ones (k1, k2, and every parameter of the other models) through exp/log."""
    model = get_model("biexponential")
    arr = np.tile(np.array(phi), (rows, 1))
    psi = model.to_natural(arr)
    np.testing.assert_allclose(psi[:, [0, 2]], arr[:, [0, 2]])
    np.testing.assert_allclose(psi[:, [1, 3]], np.exp(arr[:, [1, 3]]))
    np.testing.assert_allclose(model.to_phi(psi), arr, atol=1e-12)
    assert [model.natural_value(j, phi[j]) for j in range(4)] == pytest.approx(list(psi[0]))
    oral = get_model("one_compartment_oral")
    np.testing.assert_allclose(oral.to_natural(arr[:, :3]), np.exp(arr[:, :3]))


def test_biexponential_prediction_is_the_sum_of_two_exponentials_written_out() -> None:
    """A1·e^{-k1 t} + A2·e^{-k2 t} (Pinheiro & Bates 2000 §6.2, SSbiexp with k = exp(lrc))."""
    model = get_model("biexponential")
    t = np.array([[0.0, 0.25, 1.0, 8.0]])
    a1, lrc1, a2, lrc2 = 2.773, 0.886, 0.607, -1.092
    expected = a1 * np.exp(-math.exp(lrc1) * t) + a2 * np.exp(-math.exp(lrc2) * t)
    got = model.predict(model.to_natural(np.array([[a1, lrc1, a2, lrc2]])), t, np.zeros(1))
    np.testing.assert_allclose(got, expected, rtol=1e-13)


def test_a_bad_distribution_is_refused() -> None:
    from dataclasses import replace

    model = get_model("biexponential")
    with pytest.raises(ConfigurationError, match=r"allowed: lognormal \| normal"):
        replace(model, distributions=("normal", "gamma", "normal", "lognormal"))
    with pytest.raises(ConfigurationError, match="4 parameters"):
        replace(model, distributions=("normal",))
