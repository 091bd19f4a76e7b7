"""A bi-exponential decline on the log scale with normal errors and no BLQ, against R `nlme` (issue 17).

Reference: `tests/data/popfit/biexp_log_nlme.json`, the output of `biexp_log_nlme.R` (same folder; R 4.2.2,
nlme 3.1-162), which simulated `biexp_log.csv` (24 subjects × 12 times) and fitted
log(conc) ~ log(A1·exp(−exp(lrc1)·t) + A2·exp(−exp(lrc2)·t)) with normal random effects on A1, lrc1, A2 and
lrc2 (diagonal) and an additive normal error, by maximum likelihood. cartrial's `biexponential` model is that
function (k = exp(lrc): log-normal k, normal A) with `ErrorModel("additive", "log")`.

nlme maximises the Lindstrom-Bates linearised likelihood, SAEM the exact one, FOCE-I and the Laplacian method
their approximations of it: SAEM agrees with nlme within 2 % on every quantity nlme reports (within 1.2 % over
five seeds), FOCE-I and Laplace within 3 % — each at the maximum of its own objective, which nlme's estimate
is not exactly (FOCE-I log-likelihood 0.034 above nlme's there, every quantity within 1.2 %; Laplace's
SD(lrc1) +1.6 %). Before D-19.1340 the conditional searches could stop short of their maximum ("precision
loss") and were called converged: on one machine FOCE-I ended 0.026 below nlme's estimate, SD(lrc1) +3.9 %.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cartrial.kinetics.popfit import ErrorModel, PopulationData, SaemSettings, fit_population
from cartrial.kinetics.popfit.laplace import laplace_loglik
from cartrial.kinetics.popfit.population import PopulationSpec, Theta
from cartrial.kinetics.popfit.saem import Work
from cartrial.kinetics.popfit.structural import get_model

from ...conftest import uncensored_population_data

DATA = Path(__file__).resolve().parents[2] / "data" / "popfit"
NLME = json.loads((DATA / "biexp_log_nlme.json").read_text())
ERROR = ErrorModel("additive", "log")
IIV = ("a1", "k1", "a2", "k2")
QUANTITIES = ("A1", "k1", "A2", "k2", "sd_A1", "sd_lrc1", "sd_A2", "sd_lrc2", "sd_residual")


def _data() -> PopulationData:
    frame = pd.read_csv(DATA / "biexp_log.csv")
    data: PopulationData = uncensored_population_data(
        frame, DATA / "biexp_log.csv", "subject_id", "time", "conc"
    )
    assert data.n_subjects == 24 and data.n_observations == 288
    return data


def _nlme_theta() -> Theta:
    fe, sd = NLME["fixed_effects"], NLME["random_effects_sd"]
    return Theta(
        np.array([fe["A1"], fe["lrc1"], fe["A2"], fe["lrc2"]]),
        np.zeros(0),
        np.diag([sd["A1"] ** 2, sd["lrc1"] ** 2, sd["A2"] ** 2, sd["lrc2"] ** 2]),
        np.array([NLME["residual_sd"]]),
    )


def _reported(theta: Theta) -> dict[str, float]:
    """The quantities nlme reports, on a scale where a relative difference means something (the rate
    constants k = exp(lrc): lrc1 is near 0)."""
    sd = np.sqrt(np.diag(theta.omega))
    values = [theta.mu[0], math.exp(theta.mu[1]), theta.mu[2], math.exp(theta.mu[3]), *sd, theta.sigma[0]]
    return dict(zip(QUANTITIES, (float(v) for v in values), strict=True))


def _focei(theta: Theta) -> float:
    spec = PopulationSpec(get_model("biexponential"), ERROR, IIV, "diagonal")
    return laplace_loglik(Work(spec, _data(), np.zeros((24, 0))), theta, np.zeros((24, 4)), "focei")[0]


_FITS: dict[str, Any] = {}


def _fit(method: str) -> Any:
    """Fitted once per method, from the simulation's typical values and the default initial ω² of 1 (far
    from the estimates' 0.04-5)."""
    if method not in _FITS:
        _FITS[method] = fit_population(
            _data(),
            "biexponential",
            error=ERROR,
            iiv=list(IIV),
            initial={"a1": 10.0, "k1": 1.0, "a2": 2.0, "k2": 0.1},
            method=method,
            settings=SaemSettings(seed=2024),
            compute_se=False,
        )
    return _FITS[method]


def test_focei_objective_at_nlme_estimates_is_nlme_log_likelihood() -> None:
    """nlme's logLik (of log conc) is the FOCE-I log-likelihood at its estimate."""
    assert _focei(_nlme_theta()) == pytest.approx(NLME["log_likelihood"], abs=0.005)


def test_saem_agrees_with_nlme_within_2_percent() -> None:
    fit = _fit("saem")
    assert fit.converged, fit.convergence_problems
    got, ref = _reported(fit.model.theta), _reported(_nlme_theta())
    for name in QUANTITIES:
        assert got[name] == pytest.approx(ref[name], rel=0.02), (name, got[name], ref[name])


@pytest.mark.nightly  # a long study (suite time, D-19.1374)
@pytest.mark.parametrize("method", ["focei", "laplace"])
def test_conditional_methods_agree_with_nlme_within_3_percent_at_their_own_maximum(method: str) -> None:
    """Typical values and the residual SD within 2 %, the random-effect SDs within 3 % (a flat direction:
    the FOCE-I maximum is 0.034 log-likelihood units above nlme's estimate); FOCE-I at least as high as at
    nlme's estimate, as a maximum of its own objective must be (D-19.1340)."""
    fit = _fit(method)
    assert fit.converged, fit.convergence_problems
    got, ref = _reported(fit.model.theta), _reported(_nlme_theta())
    for name in QUANTITIES:
        tolerance = 0.03 if name.startswith("sd_") and name != "sd_residual" else 0.02
        assert got[name] == pytest.approx(ref[name], rel=tolerance), (method, name, got[name], ref[name])
    if method == "focei":
        assert _focei(fit.model.theta) >= _focei(_nlme_theta())


def test_the_laplacian_method_from_a_poor_start_reaches_the_maximum() -> None:
    """Regression: from ω² = 1 the Laplacian search used to end far below its start (−2LL 293 against 85),
    labelled converged. It now starts from the FOCE-I maximum and reaches SAEM's exact likelihood (importance
    sampling, within 3 of its Monte-Carlo SEs of about 0.2)."""
    laplace, saem = _fit("laplace").likelihood, _fit("saem").likelihood
    se = math.hypot(laplace["minus_2_log_likelihood_mc_se"], saem["minus_2_log_likelihood_mc_se"])
    assert abs(laplace["minus_2_log_likelihood"] - saem["minus_2_log_likelihood"]) < 3 * se + 0.1
