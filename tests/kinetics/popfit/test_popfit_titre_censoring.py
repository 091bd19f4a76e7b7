"""Interval-censored likelihood of AQP4-IgG end-point titres (issue 17): the interval probability as a
probability (≤ 1, → density × width for narrow intervals, the M3 term when the lower bound is 0), titres read
onto the dilution grid with located errors off it, and a recovery check — on titres simulated from a known
exponential decline and read on the coarse 0.5-log10 grid (capped at 1:10000), the interval likelihood
recovers the decline rate with less bias than taking each titre at its interval centre."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import integrate, special, stats
from tests.conftest import property_examples

from cartrial.errors import InputError
from cartrial.kinetics.pd import TITRE_DILUTIONS
from cartrial.kinetics.popfit.likelihood import log_interval_probability
from cartrial.kinetics.popfit.pdmodel import pd_population_data, titre_bounds, titre_observations

from .titre_decline import DECLINE, fit_decline, titre_table

finite = st.floats(min_value=-30.0, max_value=30.0, allow_nan=False)


@pytest.mark.filterwarnings("error::scipy.integrate.IntegrationWarning")
@settings(max_examples=property_examples(200), deadline=None)
@given(finite, st.floats(min_value=0.0, max_value=40.0, allow_nan=False))
# an interval a few ulps wide: quadrature on x subdivided below the float resolution (IntegrationWarning)
@example(27.377752589326036, 5.592344467105673e-15)
@example(-26.642931720538478, 1.361688474399901e-13)
@example(-30.0, 40.0)
def test_interval_probability_is_a_probability(lower: float, width: float) -> None:
    upper = lower + width
    value = float(log_interval_probability(np.array(lower), np.array(upper)))
    assert value <= 1e-12
    # the mass by quadrature of the density (no difference of CDFs, so no cancellation), on the interval
    # mapped to [0, 1] (x = lower + w·t): the same integral, whose abscissae quad can subdivide however
    # narrow [lower, upper] is — on x itself an interval a few ulps wide was cut below the float resolution
    w = upper - lower
    direct = (
        w
        * integrate.quad(
            lambda t: stats.norm.pdf(lower + w * t), 0.0, 1.0, epsabs=0.0, epsrel=1e-10, limit=200
        )[0]
    )
    if direct > 1e-250:
        assert math.exp(value) == pytest.approx(direct, rel=1e-6, abs=1e-300)


@settings(max_examples=property_examples(200), deadline=None)
@given(st.floats(min_value=-8.0, max_value=8.0, allow_nan=False), st.floats(min_value=1e-7, max_value=1e-4))
def test_narrow_interval_tends_to_density_times_width(centre: float, width: float) -> None:
    value = float(log_interval_probability(np.array(centre - width / 2), np.array(centre + width / 2)))
    density = stats.norm.logpdf(centre) + math.log(width)
    assert value == pytest.approx(density, abs=1e-3)


@settings(max_examples=property_examples(100), deadline=None)
@given(finite)
def test_a_lower_bound_at_minus_infinity_is_the_m3_term(upper: float) -> None:
    value = float(log_interval_probability(np.array(-np.inf), np.array(upper)))
    assert value == pytest.approx(float(special.log_ndtr(upper)), rel=1e-12, abs=1e-12)
    top = float(log_interval_probability(np.array(upper), np.array(np.inf)))
    assert top == pytest.approx(float(special.log_ndtr(-upper)), rel=1e-12, abs=1e-12)


def test_titres_are_bounded_by_the_next_dilution_of_the_grid() -> None:
    for k, d in enumerate(TITRE_DILUTIONS[:-1]):
        assert titre_bounds(f"1:{d}") == (float(d), float(TITRE_DILUTIONS[k + 1]))
    assert titre_bounds(f"1:{TITRE_DILUTIONS[-1]}") == (float(TITRE_DILUTIONS[-1]), math.inf)
    assert titre_bounds(">=1:1000") == (1000.0, math.inf)
    assert titre_bounds("negative")[0] == 0.0
    out, titres = titre_observations(pd.DataFrame({"t": ["1:320", "negative", None]}), "t")
    assert titres and (out["_pd_low"].iloc[0], out["_pd_high"].iloc[0]) == (320.0, 1000.0)
    centre, _ = titre_observations(pd.DataFrame({"t": ["1:320"]}), "t", censoring="centre")
    assert math.isnan(centre["_pd_low"].iloc[0])


def test_a_titre_off_the_grid_is_located() -> None:
    with pytest.raises(InputError) as caught:
        titre_observations(pd.DataFrame({"titre": ["1:320", "1:500"]}), "titre", source="pd.csv")
    text = str(caught.value)
    assert "pd.csv" in text and "1:500" in text and "3" in text and "titre" in text and "1:1000" in text


def test_interval_likelihood_recovers_the_decline_with_less_bias_than_the_centre() -> None:
    """Baseline titres mostly above the top dilution (1:10000, right-censored), decline to ~1:100 over
    six months, residual SD 0.1 (log), 0.5-log10 steps: the centre approximation caps the early titres
    and flattens the decline; the interval likelihood does not."""
    rng = np.random.default_rng(2017)
    n, a0, k = 30, 30000.0, 0.03
    days = np.array([0.0, 14.0, 28.0, 56.0, 84.0, 112.0, 140.0, 180.0])
    subj_a0 = a0 * np.exp(0.4 * rng.standard_normal(n))
    subj_k = k * np.exp(0.2 * rng.standard_normal(n))
    latent = subj_a0[:, None] * np.exp(-subj_k[:, None] * days[None, :])
    latent = latent * np.exp(0.1 * rng.standard_normal(latent.shape))
    table = titre_table(latent, days, subject="S{:02d}")
    estimates = {}
    for censoring in ("interval", "centre"):
        data = pd_population_data(table, "titre", censoring=censoring, source="simulated")
        fit = fit_decline(data, {"a0": 5000.0, "k": 0.02}, k1=100, k2=50)
        estimates[censoring] = fit.estimates.set_index(["kind", "parameter"])["estimate"][("typical", "k")]
    bias = {name: abs(value / k - 1) for name, value in estimates.items()}
    assert bias["interval"] < bias["centre"]
    assert bias["interval"] < 0.1


def test_rows_without_a_titre_are_not_observations_and_rows_keep_their_file_numbers() -> None:
    table = pd.DataFrame(
        {
            "subject_id": ["A", "A", "A", "B", "B", "B"],
            "actual_day": [0.0, 14.0, 28.0, 0.0, 14.0, 28.0],
            "titre": ["1:320", None, "1:100", "1:1000", "", "negative"],
        }
    )
    data = pd_population_data(table, "titre", source="pd.csv")
    assert data.n_observations == 4 and data.n_blq == 1 and data.n_interval == 3
    bad = table.assign(actual_day=[0.0, 14.0, 28.0, 0.0, 14.0, "x"])
    with pytest.raises(InputError) as caught:
        pd_population_data(bad, "titre", source="pd.csv")
    assert "row 7" in str(caught.value) and "actual_day" in str(caught.value)
    with pytest.raises(InputError, match="no PD sample"):
        pd_population_data(table.assign(titre=None), "titre", source="pd.csv")


def test_a_subject_with_only_negative_titres_is_named() -> None:
    from cartrial.errors import NotEstimableError

    table = pd.DataFrame(
        {
            "subject_id": ["A", "A", "B", "B"],
            "actual_day": [0.0, 14.0, 0.0, 14.0],
            "titre": ["1:320", "1:100", "negative", "negative"],
        }
    )
    with pytest.raises(NotEstimableError, match="B") as caught:
        pd_population_data(table, "titre", source="pd.csv")
    assert "pd.csv" in str(caught.value) and "quantifiable" in str(caught.value)


@settings(max_examples=property_examples(15), deadline=None)
@given(st.integers(0, 10_000), st.floats(0.05, 1.5))
def test_the_fast_additive_path_and_its_sigma_derivative_hold_for_intervals(seed: int, sig: float) -> None:
    """The importance-sampling likelihood's additive fast path (used by -2LL, the final maximisation and the
    standard errors) equals the general likelihood on interval-censored titres, and its d/d log σ equals
    central differences."""
    from cartrial.kinetics.popfit import ErrorModel, PopulationSpec, Theta
    from cartrial.kinetics.popfit.likelihood import subject_loglik
    from cartrial.kinetics.popfit.saem import MarginalLikelihood, Work, conditional_modes, make_draws

    rng = np.random.default_rng(seed)
    days = np.array([0.0, 20.0, 60.0, 120.0])
    latent = 20000.0 * np.exp(0.5 * rng.standard_normal((6, 1)) - 0.03 * days[None, :])
    data = pd_population_data(titre_table(latent, days, subject="S{}"), "titre", allow_unquantified=True)
    spec = PopulationSpec(DECLINE, ErrorModel("additive", "log"), DECLINE.parameters)
    work = Work(spec, data, np.zeros((data.n_subjects, 0)))
    assert work.has_interval
    theta = Theta(np.log([15000.0, 0.03]), np.zeros(0), np.diag([0.3, 0.1]), np.array([sig]))
    eta, hess, _, _ = conditional_modes(work, theta, np.zeros((work.n, 2)))
    mode = spec.typical_phi(theta, work.x) + eta
    lik = MarginalLikelihood(work, make_draws(mode, hess, 30, np.random.default_rng(seed)), theta)
    fast, dlog = lik.additive_ll_and_dlogsigma(theta)
    rows = lik.rows
    general = subject_loglik(
        lik._pred(theta),
        work.yt[rows],
        work.lloq_t[rows],
        work.quantified[rows],
        work.censored[rows],
        spec.error,
        theta.sigma,
        work.lower_t[rows],
    ).reshape(fast.shape)
    np.testing.assert_allclose(fast, general, rtol=1e-10, atol=1e-8)
    h = 1e-6

    def at(factor: float) -> np.ndarray:
        return lik.additive_ll_and_dlogsigma(Theta(theta.mu, theta.beta, theta.omega, theta.sigma * factor))[
            0
        ]

    numeric = (at(math.exp(h)) - at(math.exp(-h))) / (2 * h)
    finite_rows = np.isfinite(numeric)
    np.testing.assert_allclose(dlog[finite_rows], numeric[finite_rows], rtol=1e-5, atol=1e-4)
