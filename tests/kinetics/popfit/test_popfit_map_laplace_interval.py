"""A MAP parameter's 90 % interval is the 5th-95th percentile of its Laplace approximation, exactly.

The Laplace approximation of the posterior is N(η̂, H⁻¹) (H the Hessian of −log p(η | y) at the mode); φ is
linear in η, so the 5th/95th percentiles of φ_j are φ̂_j ∓ Φ⁻¹(0.95)·√(H⁻¹)_jj, with Φ⁻¹(0.95) = 1.6449
(Sheiner LB, Beal SL. J Pharm Sci 1982;71:1344-1348: the population model is the prior). The interval was
the percentiles of 500 draws, whose Monte-Carlo error (about 0.1 SD on the log scale for a 5 % quantile)
moved the bounds by several per cent from one seed to another.

Closed forms: (1) one BLQ sample far below any level carries no information, so the posterior is the prior
and the interval is typical·exp(±1.6449·ω); (2) the random-intercept model log y_j = log θ + η + ε_j has the
normal posterior precision 1/ω² + m/σ² and mode η̂ = (Σ log y_j − m·log θ)/σ² / (1/ω² + m/σ²).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from cartrial.kinetics.models import STEIN_2019_TYPICAL, STEIN_PARAMETERS
from cartrial.kinetics.popfit import PopulationData, StructuralModel, map_estimate
from cartrial.kinetics.popfit.likelihood import ErrorModel
from cartrial.kinetics.popfit.population import PopulationModel, PopulationSpec, Theta

from .test_popfit_map import OMEGA2, _population

Z95 = 1.6448536269514722


def _uninformative() -> PopulationData:
    return PopulationData.from_arrays(
        ["NP"], [np.array([10.0])], [np.array([np.nan])], lloq=1e15, allow_unquantified=True, min_subjects=1
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_with_an_uninformative_sample_the_interval_is_the_prior_s_exactly(seed: int) -> None:
    params = map_estimate(_population(), _uninformative(), seed=seed).parameters.set_index("parameter")
    typical = STEIN_2019_TYPICAL.as_array()
    for j, name in enumerate(STEIN_PARAMETERS):
        sd = math.sqrt(OMEGA2[j])
        for column, z in (("p05", -Z95), ("p95", Z95)):
            expected = typical[j] * math.exp(z * sd)
            assert params.loc[name, column] == pytest.approx(expected, rel=1e-4), (name, column)


def _constant(params: np.ndarray, times: np.ndarray, dose: np.ndarray) -> np.ndarray:
    return np.asarray(np.broadcast_to(params[:, [0]], times.shape), dtype=float).copy()


CONSTANT = StructuralModel("constant", ("level",), ("-",), (1.0,), _constant, "random-intercept test model")


def test_the_interval_of_a_normal_posterior_is_its_closed_form() -> None:
    mu, om2, sigma = math.log(20.0), 0.3, 0.25
    spec = PopulationSpec(CONSTANT, ErrorModel(), ("level",), "diagonal", "m3", (), {}, ())
    theta = Theta(np.array([mu]), np.zeros(0), np.array([[om2]]), np.array([sigma]))
    population = PopulationModel(spec, theta)
    y = np.array([31.0, 27.5, 35.0])
    patient = PopulationData.from_arrays(["NP"], [np.arange(3.0)], [y], min_subjects=1)
    params = map_estimate(population, patient).parameters.set_index("parameter")
    precision = 1 / om2 + y.size / sigma**2
    mode = (np.log(y).sum() - y.size * mu) / sigma**2 / precision
    sd = 1 / math.sqrt(precision)
    assert params.loc["level", "map_estimate"] == pytest.approx(math.exp(mu + mode), rel=1e-4)
    assert params.loc["level", "p05"] == pytest.approx(math.exp(mu + mode - Z95 * sd), rel=1e-4)
    assert params.loc["level", "p95"] == pytest.approx(math.exp(mu + mode + Z95 * sd), rel=1e-4)
