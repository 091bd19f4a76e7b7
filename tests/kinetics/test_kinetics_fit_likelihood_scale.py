"""`kinetics fit` reports the −2LL, AIC and BIC of the observations y, as `kinetics popfit` does (its
log-scale fits add the Jacobian Σ 2·log y, docs/popfit.md), so the two commands' likelihoods are on one scale
(D-19.664). Before, the individual fit reported the −2LL of log y: 172 units below that of y on this
profile, unlabelled.

Expected value computed independently: scipy's log-normal density of each quantified y
(`scipy.stats.lognorm.logpdf(y, s=σ, scale=prediction)`) and, for the BLQ sample, Beal's M3 probability
Φ((log LLOQ − log prediction)/σ) (Beal 2001), at the fit's own estimates."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from cartrial.kinetics.models import STEIN_PARAMETERS, fit_stein2019, stein2019_concentration


def test_the_individual_fit_reports_the_likelihood_of_y() -> None:
    days = np.array([1, 3, 5, 7, 9, 11, 14, 21, 28, 42, 60, 90, 120, 180.0])
    rng = np.random.default_rng(3)
    y = stein2019_concentration(days, 3900, 9.3, 24000, 0.16, 0.0079, 0.0032) * np.exp(
        0.4 * rng.standard_normal(days.size)
    )
    y[-1] = 0.0  # BLQ (LLOQ 5)
    fit = fit_stein2019(days, y, lloq=np.full(days.size, 5.0))
    pred = stein2019_concentration(days, *[fit.estimates[k] for k in STEIN_PARAMETERS])
    sigma = fit.residual_sd_log
    q = y > 0
    log_lik = (
        stats.lognorm.logpdf(y[q], s=sigma, scale=pred[q]).sum()
        + stats.norm.logcdf((math.log(5.0) - np.log(pred[~q])) / sigma).sum()
    )
    d = fit.diagnostics
    assert math.isclose(d["minus_2_log_likelihood"], -2 * log_lik, rel_tol=1e-9, abs_tol=1e-6)
    assert math.isclose(d["aic"], -2 * log_lik + 2 * 7, rel_tol=1e-9)
    assert math.isclose(d["bic"], -2 * log_lik + 7 * math.log(days.size), rel_tol=1e-9)
