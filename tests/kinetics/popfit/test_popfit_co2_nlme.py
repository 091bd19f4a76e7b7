"""CO2 uptake: cartrial's FOCE-I, Laplacian and SAEM fits against R `nlme` within 2 %.

Reference: nlme's own saved regression output of the Pinheiro & Bates (2000) book scripts, ch. 8 §8.2
(cran/nlme tests/extras/scripts.Rout.save; numbers, calls and provenance in
`tests/data/popfit/nlme_scripts_reference.json`, "co2"): `fm2CO2.nlme`, uptake ~ SSasympOff(conc, Asym, lrc,
c0) with normal random effects on Asym and lrc, a full (general positive-definite) Ω, c0 fixed, additive
normal error on the linear scale, maximum likelihood. Data: R's CO2 (`tests/data/popfit/co2.csv`, 12 plants ×
7 concentrations). Unlike Indometh (test_popfit_indometh_nlme.py, D-17.22) every variance is well
determined here, nlme's estimate is the maximum of its (FOCE-I) likelihood, and all three cartrial methods
agree with it.

The structural model is SSasympOff written out (R's `SSasympOff` documentation; Pinheiro & Bates 2000
§8.2): Asym·(1 − exp(−exp(lrc)·(conc − c0))). It is defined here, for this validation only (cartrial's
models are the kinetic ones): parameters asym (normal), k = exp(lrc) (log-normal, so φ = lrc), c0 (normal).
Tolerance: 2 % of the value nlme printed, plus half a unit of its last printed digit (SD(lrc) is printed as
0.20, i.e. ± 2.5 %).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from cartrial.kinetics.popfit import (
    ErrorModel,
    PopulationData,
    SaemSettings,
    StructuralModel,
    fit_population,
)
from cartrial.kinetics.popfit.laplace import laplace_loglik
from cartrial.kinetics.popfit.population import PopulationSpec, Theta
from cartrial.kinetics.popfit.saem import Work

from ...conftest import uncensored_population_data

HERE = Path(__file__).resolve().parents[2]
DATA = HERE / "data" / "popfit" / "co2.csv"
CO2 = json.loads((HERE / "data" / "popfit" / "nlme_scripts_reference.json").read_text())["co2"]
FM2 = CO2["fm2CO2.nlme"]
ERROR = ErrorModel("additive", "linear")


def _predict(params: np.ndarray, times: np.ndarray, dose: np.ndarray) -> np.ndarray:
    asym, k, c0 = params[:, [0]], params[:, [1]], params[:, [2]]
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(asym * (1 - np.exp(-k * (times - c0))), dtype=float)


ASYMPOFF = StructuralModel(
    name="asymptotic_offset",
    parameters=("asym", "k", "c0"),
    units=("umol/m2/s", "L/mL", "mL/L"),
    default_typical=(30.0, 0.01, 50.0),
    predict=_predict,
    source="Asym*(1 - exp(-exp(lrc)*(conc - c0))) (R SSasympOff; Pinheiro & Bates 2000 §8.2)",
    distributions=("normal", "lognormal", "normal"),
)


def _data() -> PopulationData:
    frame = pd.read_csv(DATA)[["Plant", "conc", "uptake"]]
    data: PopulationData = uncensored_population_data(frame, DATA, "Plant", "conc", "uptake")
    assert data.n_subjects == 12 and data.n_observations == 84
    return data


def _nlme_theta() -> Theta:
    fe, sd, r = FM2["fixed_effects"], FM2["random_effects_sd"], FM2["correlation_Asym_lrc"]
    cov = r * sd["Asym"] * sd["lrc"]
    omega = np.array([[sd["Asym"] ** 2, cov], [cov, sd["lrc"] ** 2]])
    return Theta(
        np.array([fe["Asym"], fe["lrc"], fe["c0"]]), np.zeros(0), omega, np.array([FM2["residual_sd"]])
    )


def _printed(theta: Theta) -> dict[str, float]:
    sd = np.sqrt(np.diag(theta.omega))
    return {
        "Asym": float(theta.mu[0]),
        "k": math.exp(theta.mu[1]),
        "c0": float(theta.mu[2]),
        "sd_Asym": float(sd[0]),
        "sd_lrc": float(sd[1]),
        "corr": float(theta.omega[0, 1] / (sd[0] * sd[1])),
        "sd_residual": float(theta.sigma[0]),
    }


# half a unit of the last digit nlme printed, on the compared scale (k = exp(lrc): lrc printed to 0.01)
ROUNDING = {
    "Asym": 0.005,
    "k": math.exp(FM2["fixed_effects"]["lrc"]) * 0.005,
    "c0": 0.005,
    "sd_Asym": 0.005,
    "sd_lrc": 0.005,
    "corr": 0.0005,
    "sd_residual": 0.005,
}


def test_vendored_data_and_model_reproduce_the_recorded_nlslist_fits() -> None:
    """Per-plant least-squares fits with this model equal nlme's printed nlsList coefficients."""
    frame = pd.read_csv(DATA)
    for plant, printed in CO2["fm1CO2.lis"]["coefficients"].items():
        part = frame[frame["Plant"] == plant]
        t, y = part["conc"].to_numpy(float)[None, :], part["uptake"].to_numpy(float)

        def resid(v: np.ndarray, t: np.ndarray = t, y: np.ndarray = y) -> np.ndarray:
            return _predict(np.array([[v[0], math.exp(v[1]), v[2]]]), t, np.zeros(1))[0] - y

        est = optimize.least_squares(resid, printed, xtol=1e-12, ftol=1e-12).x
        # printed to 3 significant digits: Asym, c0 to 0.1, lrc to 0.01
        for value, shown, half_unit in zip(est, printed, (0.05, 0.005, 0.05), strict=True):
            assert value == pytest.approx(shown, abs=half_unit + 1e-6), plant


def test_focei_objective_at_nlme_estimates_is_nlme_log_likelihood() -> None:
    spec = PopulationSpec(ASYMPOFF, ERROR, ("asym", "k"), "full")
    value, _, _ = laplace_loglik(
        Work(spec, _data(), np.zeros((12, 0))), _nlme_theta(), np.zeros((12, 2)), "focei"
    )
    assert value == pytest.approx(FM2["log_likelihood"], abs=0.5)


_FITS: dict[str, Any] = {}


@pytest.mark.parametrize("method", ["focei", "laplace", "saem"])
def test_estimates_agree_with_nlme_within_2_percent(method: str) -> None:
    """Typical values, both SDs, their correlation and the residual SD within 2 % of fm2CO2.nlme's printed
    values (plus half a unit of the last printed digit); started, as nlme is, from the nlsList means."""
    coef = np.array(list(CO2["fm1CO2.lis"]["coefficients"].values()))
    mean, var = coef.mean(axis=0), coef.var(axis=0, ddof=1)
    fit = fit_population(
        _data(),
        ASYMPOFF,
        error=ERROR,
        iiv=["asym", "k"],
        omega="full",
        initial={"asym": mean[0], "k": math.exp(mean[1]), "c0": mean[2]},
        initial_omega2={"asym": var[0], "k": var[1]},
        initial_sigma=[CO2["fm1CO2.lis"]["residual_se"]],
        method=method,
        settings=SaemSettings(seed=2024),
        compute_se=False,
    )
    assert fit.converged, fit.convergence_problems
    got, ref = _printed(fit.model.theta), _printed(_nlme_theta())
    for name, value in ref.items():
        tol = 0.02 * abs(value) + ROUNDING[name]
        assert got[name] == pytest.approx(value, abs=tol), (method, name, got[name], value)
