"""Theophylline (R datasets::Theoph; Boeckmann, Sheiner & Beal 1994): SAEM against an independent maximum
likelihood fit of the same model.

Model (Pinheiro & Bates 1995; the SAS/STAT PROC NLMIXED example "One-Compartment Model with Pharmacokinetic
Data", whose PARMS start values are used here): conc = Dose·ke·ka/(cl·(ka - ke))·(e^{-ke t} - e^{-ka t}) + e,
e ~ N(0, s2); log cl = b1 + u1, log ka = b2 + u2, ke = exp(b3); (u1, u2) ~ N(0, D), D full.

Oracle: the marginal likelihood by adaptive Gauss-Hermite quadrature (20 × 20 nodes per subject, centred
and scaled at each subject's posterior mode — the NLMIXED default method), maximised with scipy; written
here without any cartrial code. R/NONMEM are not installable here and no recorded published table of
estimates could be retrieved from the available sources (docs/popfit.md §6), so the independent
quadrature MLE is the reference; SAEM must agree within 5 %.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from cartrial.kinetics.popfit import SaemSettings

from ...conftest import THEOPH, fit_theoph

SAS_START = np.array([-3.22, 0.47, -2.45, math.log(0.03), 0.0, math.log(0.4), math.log(0.5)])
"""PARMS of the NLMIXED example: beta1..3, s2b1=0.03, cb12=0, s2b2=0.4, s2=0.5 (log-variances, Cholesky)."""


def _pred(u: np.ndarray, b: np.ndarray, t: np.ndarray, dose: float) -> np.ndarray:
    cl = np.exp(b[0] + u[..., 0])[..., None]
    ka = np.exp(b[1] + u[..., 1])[..., None]
    ke = math.exp(b[2])
    return dose * ke * ka / (cl * (ka - ke)) * (np.exp(-ke * t) - np.exp(-ka * t))


def _unpack(v: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    l11, l21, l22 = math.exp(v[3] / 2), v[4], math.exp(v[5] / 2)
    chol = np.array([[l11, 0.0], [l21, l22]])
    return v[:3], chol @ chol.T, math.exp(v[6])


def _oracle(frame: pd.DataFrame) -> dict[str, float]:
    subjects = [
        (g["Time"].to_numpy(float), g["conc"].to_numpy(float), float(g["Dose"].iloc[0]))
        for _, g in frame.groupby("Subject", sort=False)
    ]
    z, w = np.polynomial.hermite.hermgauss(20)
    zz = np.array([(a, b) for a in z for b in z])
    ww = np.array([a * b for a in w for b in w])

    def centres(v: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        b, d, s2 = _unpack(v)
        d_inv = np.linalg.inv(d)
        out = []
        for t, y, dose in subjects:

            def nlp(u: np.ndarray, t: np.ndarray = t, y: np.ndarray = y, dose: float = dose) -> float:
                r = y - _pred(u, b, t, dose)
                return float(0.5 * r @ r / s2 + 0.5 * u @ d_inv @ u)

            res = optimize.minimize(nlp, np.zeros(2), method="BFGS")
            out.append((res.x, np.linalg.cholesky(res.hess_inv)))
        return out

    def loglik(v: np.ndarray, grid: list[tuple[np.ndarray, np.ndarray]]) -> float:
        b, d, s2 = _unpack(v)
        total = 0.0
        for (t, y, dose), (mode, chol) in zip(subjects, grid, strict=True):
            u = mode + math.sqrt(2) * zz @ chol.T
            r = y - _pred(u, b, t, dose)
            log_p = stats.norm.logpdf(r, scale=math.sqrt(s2)).sum(axis=1) + stats.multivariate_normal.logpdf(
                u, mean=np.zeros(2), cov=d
            )
            log_terms = log_p + np.log(ww) + np.sum(zz**2, axis=1)
            total += float(np.log(2.0) + np.log(np.linalg.det(chol)) + np.logaddexp.reduce(log_terms))
        return total

    v = SAS_START.copy()
    for _ in range(3):
        grid = centres(v)
        v = optimize.minimize(lambda x, g=grid: -loglik(x, g), v, method="BFGS").x
    b, d, s2 = _unpack(v)
    return {
        "cl": math.exp(b[0]),
        "ka": math.exp(b[1]),
        "ke": math.exp(b[2]),
        "omega2_cl": d[0, 0],
        "omega2_ka": d[1, 1],
        "cov": d[0, 1],
        "s2": s2,
        "m2ll": -2 * loglik(v, centres(v)),
    }


@pytest.fixture(scope="module")
def theoph_fits() -> tuple[dict[str, float], object]:
    frame = pd.read_csv(THEOPH)
    oracle = _oracle(frame)
    fit = fit_theoph(omega="full", settings=SaemSettings(seed=2024, k1=250, k2=200))
    return oracle, fit


def test_saem_agrees_with_the_quadrature_mle_within_5_percent(theoph_fits) -> None:  # type: ignore[no-untyped-def]
    oracle, fit = theoph_fits
    est = fit.estimates[fit.estimates["kind"] == "typical"].set_index("parameter")
    omega = fit.model.theta.omega
    got = {
        "cl": est.loc["cl", "estimate"],
        "ka": est.loc["ka", "estimate"],
        "ke": est.loc["ke", "estimate"],
        "omega2_cl": omega[0, 0],
        "omega2_ka": omega[1, 1],
        "s2": fit.model.theta.sigma[0] ** 2,
    }
    for name, value in got.items():
        assert value == pytest.approx(oracle[name], rel=0.05), name
    # the covariance is near 0: compare on the correlation scale
    corr_oracle = oracle["cov"] / math.sqrt(oracle["omega2_cl"] * oracle["omega2_ka"])
    corr = omega[0, 1] / math.sqrt(omega[0, 0] * omega[1, 1])
    assert abs(corr - corr_oracle) < 0.1
    assert fit.converged, fit.convergence_problems


def test_theoph_minus_2ll_matches_the_quadrature_value(theoph_fits) -> None:  # type: ignore[no-untyped-def]
    """The importance-sampling −2LL at the SAEM estimate is within 1 point of the quadrature −2LL at the
    quadrature MLE (the maximum; the SAEM estimate is within 5 % of it, so the values are close)."""
    oracle, fit = theoph_fits
    assert fit.likelihood["minus_2_log_likelihood"] == pytest.approx(oracle["m2ll"], abs=1.0)
    assert fit.likelihood["minus_2_log_likelihood_mc_se"] < 0.5


def test_laplacian_method_agrees_with_the_quadrature_mle_within_5_percent(theoph_fits) -> None:  # type: ignore[no-untyped-def]
    """`method="laplace"` (Laplacian conditional estimation with interaction, the FOCE-I family) on the same
    model: a one-node adaptive quadrature, so within 5 % of the 20×20-node oracle."""
    oracle, _ = theoph_fits
    fit = fit_theoph(omega="full", method="laplace")
    theta = fit.model.theta
    got = {
        "cl": math.exp(theta.mu[0]),
        "ka": math.exp(theta.mu[1]),
        "ke": math.exp(theta.mu[2]),
        "omega2_cl": theta.omega[0, 0],
        "omega2_ka": theta.omega[1, 1],
        "s2": theta.sigma[0] ** 2,
    }
    for name, value in got.items():
        assert value == pytest.approx(oracle[name], rel=0.05), name
    assert fit.settings["method"] == "laplace" and fit.to_dict()["method"] == "laplace"
    assert fit.converged, fit.convergence_problems
