"""A MAP's Laplace interval needs a mode: the Hessian of −log posterior positive definite there.

Sheiner & Beal 1982 (MAP estimation) and the Laplace approximation N(η̂, H⁻¹) that `map_estimate` states in
its docstring require η̂ to be a minimum of −log p(η | y), i.e. H positive definite. A patient whose samples
are all BLQ under a population with normal (natural-scale) amplitudes (biexponential, A2 may go below 0)
has a posterior whose Newton search ends at a point with a negative curvature; the MAP then clipped that
eigenvalue to 1e-8 of the largest and reported k1's 90 % interval as about 1e-87 to 1e+88 1/day — a number
read as an interval, not the absence of one (D-19.1143).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cartrial.commands.kinetics_commands import map_console_rows
from cartrial.kinetics.popfit import PopulationData, map_estimate
from cartrial.kinetics.popfit.population import PopulationModel
from cartrial.kinetics.popfit.saem import Work, conditional_modes

POPULATION = {
    "format": "cartrial-popfit-1",
    "model": "biexponential",
    "typical": {"a1": 12.13, "k1": 1.745, "a2": 1.734, "k2": 0.1025},
    "iiv": ["a1", "k1", "a2", "k2"],
    "omega": [
        [4.844, 0.0, 0.0, 0.0],
        [0.0, 1.103, 0.0, 0.0],
        [0.0, 0.0, 1.389, 0.0],
        [0.0, 0.0, 0.0, 0.01882],
    ],
    "omega_structure": "diagonal",
    "error": {"kind": "additive", "scale": "log"},
    "sigma": {"a": 0.1026},
    "blq": "m3",
    "covariates": [],
    "converged": True,
    "convergence_problems": [],
}
TIMES = np.array([0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0])


def _population() -> PopulationModel:
    from cartrial.kinetics.popfit.population import POPFIT_FORMAT

    return PopulationModel.from_dict({**POPULATION, "format": POPFIT_FORMAT})


def _all_blq() -> PopulationData:
    return PopulationData.from_arrays(
        ["NP"], [TIMES], [np.full(TIMES.size, 0.01)], lloq=0.05, allow_unquantified=True, min_subjects=1
    )


def test_the_search_ends_where_the_posterior_is_not_curved_upwards() -> None:
    """The premise: at the point the MAP's search returns, H has a negative eigenvalue."""
    population = _population()
    work = Work(population.spec, _all_blq(), population.covariate_row({}))
    _, hess, _, _ = conditional_modes(work, population.theta, np.zeros((1, population.spec.q)))
    assert np.linalg.eigvalsh(hess[0]).min() < 0


def test_no_laplace_interval_or_band_without_a_mode() -> None:
    result = map_estimate(_population(), _all_blq())
    params = result.parameters
    assert result.status == "NOT CONVERGED" and not result.converged
    assert params["p05"].isna().all() and params["p95"].isna().all()
    assert result.profile["p05"].isna().all() and result.profile["p95"].isna().all()
    assert any("not positive definite" in n for n in result.notes)
    # no note describes the band that is not there (review of branch popfit, finding 2)
    assert not any(n.startswith("profile band (p05, p95)") for n in result.notes)
    # the console says why there is no interval, not "– – –"
    assert {row[3] for row in map_console_rows(params)} == {"– (not a mode)"}
    # the estimate itself is still reported (labelled), and the population prediction is unchanged
    assert np.isfinite(params["map_estimate"]).all()
    assert np.isfinite(result.profile["population_prediction"]).all()


def test_a_mode_keeps_its_interval() -> None:
    """A patient with quantified samples has a mode (H positive definite) and its interval, as before."""
    y = 12.13 * np.exp(-1.745 * TIMES) + 1.734 * np.exp(-0.1025 * TIMES)
    one = PopulationData.from_arrays(["NP"], [TIMES[:3]], [y[:3]], lloq=0.05, min_subjects=1)
    result = map_estimate(_population(), one)
    assert result.converged
    finite = pd.concat([result.parameters["p05"], result.parameters["p95"]])
    assert np.isfinite(finite).all()
    assert (result.parameters["p05"] <= result.parameters["map_estimate"]).all()
    assert any(n.startswith("profile band (p05, p95)") for n in result.notes)


def test_the_interval_of_a_rate_does_not_depend_on_the_concentration_unit() -> None:
    """The same patient and population with concentrations in a unit 10⁴ times smaller (A1, A2 and their
    normal ω² rescaled, LLOQ too; the residual is on the log scale) is the same model: k1's and k2's MAP
    and 90 % intervals are unit-free and must not move. The Laplace covariance floored every eigenvalue of
    H at 1e-8 of the largest, so A's curvature in the small unit (×10⁸) lifted k2's and shrank its interval
    (D-19.1144)."""
    y = 12.13 * np.exp(-1.745 * TIMES) + 1.734 * np.exp(-0.1025 * TIMES)
    results = []
    for c in (1.0, 1e-4):
        doc = {
            **POPULATION,
            "typical": {"a1": 12.13 * c, "k1": 1.745, "a2": 1.734 * c, "k2": 0.1025},
            "omega": (np.array(POPULATION["omega"]) * np.array([c * c, 1.0, c * c, 1.0])[:, None]).tolist(),
        }
        from cartrial.kinetics.popfit.population import POPFIT_FORMAT

        population = PopulationModel.from_dict({**doc, "format": POPFIT_FORMAT})
        one = PopulationData.from_arrays(["NP"], [TIMES[:4]], [y[:4] * c], lloq=0.05 * c, min_subjects=1)
        results.append(map_estimate(population, one).parameters.set_index("parameter"))
    for name in ("k1", "k2"):
        for column in ("map_estimate", "p05", "p95"):
            assert results[1].loc[name, column] == pytest.approx(results[0].loc[name, column], rel=1e-3)


def test_one_positive_definite_test_for_every_curvature() -> None:
    """`is_positive_definite` (the one test for the Laplace covariance, the log-determinant and a MAP's
    mode): hand-made Hessians — positive definite, a saddle, semi-definite (an eigenvalue 0), not finite."""
    from cartrial.kinetics.popfit.saem import is_positive_definite

    stack = np.array(
        [
            [[2.0, 0.5], [0.5, 1.0]],  # eigenvalues 0.79, 2.21
            [[1.0, 0.0], [0.0, -104.0]],  # a saddle
            [[1.0, 1.0], [1.0, 1.0]],  # eigenvalues 0, 2
            [[np.nan, 0.0], [0.0, 1.0]],
        ]
    )
    assert is_positive_definite(stack).tolist() == [True, False, False, False]
