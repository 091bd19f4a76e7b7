"""AIC/BIC and the shrinkages of a population fit against their textbook definitions.

* BIC = −2LL + k·ln(N), N the number of observations in the likelihood (Schwarz G. Estimating the dimension
  of a model. Ann Stat 1978;6:461-464; R's `BIC()`, "n being the number of observations", which for an
  nlme fit is its number of observations, not of groups). nlme's own saved output of the Pinheiro & Bates
  scripts (cran/nlme tests/extras/scripts.Rout.save, commit f07b8c53, `anova(fm1Theo.nlme, fm3Theo.nlme,
  fm2Theo.nlme)`) prints for fm3Theo.nlme (132 observations, 12 subjects, df 6) AIC 366, BIC 383, so
  BIC − AIC = 17 (± 1 for the rounding of both) = 6·(ln 132 − 2) = 17.3; with the number of subjects it
  would be 6·(ln 12 − 2) = 2.9. That check reads the cached Theophylline FOCE-I fit of
  test_popfit_theoph_nlme.py (test_theophylline_bic_counts_observations_as_nlme_does there).
* η-shrinkage 1 − SD(η̂)/ω and ε-shrinkage 1 − SD(IWRES) (Savic RM, Karlsson MO. Importance of shrinkage in
  empirical Bayes estimates for diagnostics: problems and solutions. AAPS J 2009;11:558-569), SD the sample
  SD (divisor N − 1, as nlmixr2est src/shrink.cpp and ggPMX's R ``sd()``; D-19.981), checked on the
  random-intercept model log y_ij = μ + η_i + ε_ij, whose conditional mode is written out:
  η̂_i = ω²·m/(ω²·m + σ²)·(ȳ_i − μ) (e.g. Pinheiro & Bates 2000 §2.1).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from cartrial.kinetics.popfit import PopulationData, SaemSettings, StructuralModel, fit_population
from cartrial.kinetics.popfit.fit import shrinkage_percent
from cartrial.kinetics.popfit.likelihood import ErrorModel


def test_bic_of_an_m1_fit_counts_only_the_samples_it_keeps() -> None:
    """M1 drops the BLQ samples from the likelihood: they are not observations of that fit (N = kept)."""
    data, _ = _data(n=12, m=5)
    y = [np.where(np.arange(5) == 4, 0.1, row) for row in data.y]  # the last sample below the LLOQ 0.5
    cut = PopulationData.from_arrays(list(data.subjects), [np.arange(5, dtype=float)] * 12, y, lloq=0.5)
    assert cut.n_blq == 12
    settings = SaemSettings(seed=5, k1=60, k2=40, polish_rounds=0)
    fit = fit_population(cut, CONSTANT, blq="m1", compute_se=False, settings=settings)
    ll = fit.likelihood
    assert ll["bic_n_observations"] == 48
    assert ll["bic"] == pytest.approx(ll["minus_2_log_likelihood"] + 3 * math.log(48), rel=1e-12)


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


@pytest.fixture(scope="module")
def intercept_fit():  # type: ignore[no-untyped-def]
    data, log_y = _data()
    fit = fit_population(
        data, CONSTANT, initial={"level": 5.0}, settings=SaemSettings(seed=5, k1=100, k2=60, polish_rounds=0)
    )
    return log_y, fit


def _closed_form_modes(log_y: np.ndarray, fit) -> tuple[np.ndarray, float, float, float]:  # type: ignore[no-untyped-def]
    theta = fit.model.theta
    mu, om2, sigma = float(theta.mu[0]), float(theta.omega[0, 0]), float(theta.sigma[0])
    m = log_y.shape[1]
    eta = om2 * m / (om2 * m + sigma**2) * (log_y.mean(axis=1) - mu)
    return eta, mu, om2, sigma


def test_eta_shrinkage_is_one_minus_sd_of_the_modes_over_omega(intercept_fit) -> None:  # type: ignore[no-untyped-def]
    log_y, fit = intercept_fit
    eta, _, om2, _ = _closed_form_modes(log_y, fit)
    # divisor N − 1 (D-19.981; changed by design: it was N, which differs here by ~1.7 % of 1 − shrinkage)
    sd = math.sqrt(float(np.sum((eta - eta.mean()) ** 2)) / (eta.size - 1))
    expected = 100 * (1 - sd / math.sqrt(om2))
    omega_row = fit.estimates[fit.estimates["kind"] == "omega2"].iloc[0]
    assert omega_row["shrinkage_percent"] == pytest.approx(expected, abs=0.05)


def test_epsilon_shrinkage_is_one_minus_sd_of_iwres(intercept_fit) -> None:  # type: ignore[no-untyped-def]
    log_y, fit = intercept_fit
    eta, mu, _, sigma = _closed_form_modes(log_y, fit)
    iwres = ((log_y - mu - eta[:, None]) / sigma).ravel()
    sd = math.sqrt(float(np.sum((iwres - iwres.mean()) ** 2)) / (iwres.size - 1))  # divisor N − 1 (D-19.981)
    expected = 100 * (1 - sd)
    assert 5 < expected < 40  # 5 samples of 30 subjects: ε-shrinkage about 1/m ≈ 20 %, not 0
    residual = fit.estimates[fit.estimates["kind"] == "residual"].iloc[0]
    assert residual["shrinkage_percent"] == pytest.approx(expected, abs=0.05)
    assert fit.likelihood["epsilon_shrinkage_percent"] == pytest.approx(expected, abs=0.05)
    assert fit.likelihood["epsilon_shrinkage_n_samples"] == 150  # 30 subjects × 5 quantified samples


def test_epsilon_shrinkage_is_over_the_quantified_samples_only() -> None:
    """Under M3 a BLQ sample has no residual: the ε-shrinkage is over the quantified samples, and says how
    many (D-19.975, D-19.981): 12 subjects × 5 samples, the last of each below the LLOQ → 48."""
    data, _ = _data(n=12, m=5)
    y = [np.where(np.arange(5) == 4, 0.1, row) for row in data.y]
    cut = PopulationData.from_arrays(list(data.subjects), [np.arange(5, dtype=float)] * 12, y, lloq=0.5)
    settings = SaemSettings(seed=5, k1=60, k2=40, polish_rounds=0)
    fit = fit_population(cut, CONSTANT, blq="m3", compute_se=False, settings=settings)
    assert fit.likelihood["epsilon_shrinkage_n_samples"] == 48


def test_shrinkage_percent_uses_the_sample_sd() -> None:
    """values 1, 2, 3, 4: mean 2.5, squared deviations 5, sample SD √(5/3) = 1.2910; scale 2 →
    100·(1 − 1.2910/2) = 35.45 % (divisor N would give √(5/4) = 1.1180 → 44.10 %)."""
    assert shrinkage_percent(np.array([1.0, 2.0, 3.0, 4.0]), 2.0) == pytest.approx(
        100 * (1 - math.sqrt(5 / 3) / 2), rel=1e-12
    )
    assert math.isnan(shrinkage_percent(np.array([1.0]), 1.0))
    assert math.isnan(shrinkage_percent(np.array([1.0, 2.0]), 0.0))


def test_iwres_is_the_standardised_residual_of_quantified_samples() -> None:
    """IWRES = (h(y) − h(IPRED))/g(IPRED): log scale, a = 0.5, y = e, IPRED = 1 → (1 − 0)/0.5 = 2; linear
    combined a = 1, b = 0.1, y = 14, IPRED = 10 → 4/√(1 + 1) = 2√2; a sample not quantified → NaN."""
    log = ErrorModel("additive", "log")
    out = log.iwres(np.array([math.e, 5.0]), np.array([1.0, 1.0]), np.array([0.5]), np.array([True, False]))
    assert out[0] == pytest.approx(2.0, rel=1e-12) and math.isnan(out[1])
    lin = ErrorModel("combined", "linear")
    got = lin.iwres(np.array([14.0]), np.array([10.0]), np.array([1.0, 0.1]), np.array([True]))
    assert got[0] == pytest.approx(2 * math.sqrt(2), rel=1e-12)
