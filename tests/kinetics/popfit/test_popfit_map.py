"""MAP Bayesian estimation of a new patient (docs/popfit.md §5).

Prior = Stein 2019 Table 1 (typical values, IIV, residual SD 0.56 on the log scale). The oracle is the same
posterior written out here with the kinetics engine's closed form and scipy.stats, maximised by Nelder-Mead.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from cartrial.kinetics.models import (
    STEIN_2019_OMEGA2,
    STEIN_2019_RESIDUAL_SD_LOG,
    STEIN_2019_TYPICAL,
    STEIN_PARAMETERS,
    stein2019_concentration,
)
from cartrial.kinetics.popfit import PopulationData, PopulationModel, PopulationSpec, Theta, map_estimate
from cartrial.kinetics.popfit.structural import STEIN2019

OMEGA2 = np.array([STEIN_2019_OMEGA2[n] for n in STEIN_PARAMETERS])


def _population() -> PopulationModel:
    theta = Theta(
        np.log(STEIN_2019_TYPICAL.as_array()),
        np.zeros(0),
        np.diag(OMEGA2),
        np.array([STEIN_2019_RESIDUAL_SD_LOG]),
    )
    return PopulationModel(PopulationSpec(STEIN2019), theta)


def _patient(days: list[float], values: list[float], lloq: float = 50.0) -> PopulationData:
    return PopulationData.from_arrays(
        ["NEW"], [np.array(days)], [np.array(values)], lloq=lloq, min_subjects=1, allow_unquantified=True
    )


def _oracle(days: list[float], values: list[float], lloq: float = 50.0) -> np.ndarray:
    typical = STEIN_2019_TYPICAL.as_array()
    t, y = np.array(days), np.array(values)
    cens = np.isnan(y) | (y < lloq)

    def nlp(eta: np.ndarray) -> float:
        p = typical * np.exp(eta)
        p[4] = min(p[4], 1.0)
        f = np.log(stein2019_concentration(t, *p))
        ll = stats.norm.logpdf(np.log(y[~cens]), f[~cens], STEIN_2019_RESIDUAL_SD_LOG).sum()
        ll += stats.norm.logcdf(math.log(lloq), f[cens], STEIN_2019_RESIDUAL_SD_LOG).sum()
        return float(-ll + 0.5 * np.sum(eta**2 / OMEGA2))

    best = None
    for start in (np.zeros(6), np.full(6, 0.2), np.full(6, -0.2)):
        res = optimize.minimize(
            nlp,
            start,
            method="Nelder-Mead",
            options={"xatol": 1e-7, "fatol": 1e-10, "maxiter": 20000, "maxfev": 20000},
        )
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    return np.asarray(typical * np.exp(best.x), dtype=float)


@pytest.mark.parametrize(
    ("days", "values"),
    [
        ([7.0, 14.0], [5000.0, 2500.0]),
        ([10.0], [30000.0]),
        ([4.0, 28.0, 90.0], [400.0, 1500.0, float("nan")]),
    ],
)
def test_map_equals_the_posterior_mode_written_out(days: list[float], values: list[float]) -> None:
    result = map_estimate(_population(), _patient(days, values))
    expected = _oracle(days, values)
    got = result.parameters.set_index("parameter")["map_estimate"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=2e-3)
    assert result.converged


def test_map_band_brackets_the_map_profile_and_reports_the_samples_used() -> None:
    result = map_estimate(_population(), _patient([7.0, 14.0], [5000.0, 2500.0]))
    prof = result.profile
    inside = (prof["p05"] <= prof["map_prediction"] * 1.001) & (prof["map_prediction"] <= prof["p95"] * 1.001)
    assert inside.mean() > 0.95
    assert "samples used: 2 quantifiable, 0 BLQ" in result.notes[0]
    params = result.parameters
    assert (params["p05"] <= params["map_estimate"]).all() and (params["map_estimate"] <= params["p95"]).all()


def test_without_quantifiable_samples_the_map_moves_only_as_censoring_implies() -> None:
    """Only BLQ samples late: the posterior mode keeps Cmax typical-ish but lowers persistence (fb or beta
    effects pushed down), never increasing the predicted late level above the LLOQ."""
    result = map_estimate(_population(), _patient([180.0, 270.0], [float("nan"), float("nan")]))
    late = result.profile.set_index("time")
    t_last = float(late.index[late.index <= 270].max())
    pop = float(late.loc[t_last, "population_prediction"])
    assert float(late.loc[t_last, "map_prediction"]) <= pop
    assert "samples used: 0 quantifiable, 2 BLQ" in result.notes[0]


def test_a_non_converged_population_is_flagged_in_the_map_notes() -> None:
    pop = _population()
    unconverged = PopulationModel(pop.spec, pop.theta, False, ("typical fb still drifting",))
    result = map_estimate(unconverged, _patient([7.0], [3000.0]))
    assert not result.population_converged
    assert any("NOT CONVERGE" in n for n in result.notes)
    roundtrip = PopulationModel.from_dict(unconverged.to_dict())
    assert not roundtrip.converged
    np.testing.assert_allclose(roundtrip.theta.mu, pop.theta.mu)
