"""Laplacian conditional estimation (the FOCE-I family; NONMEM's METHOD=COND LAPLACIAN INTERACTION).

The marginal likelihood of each subject is approximated at the conditional mode η̂_i of η (interaction: the
residual error is evaluated at the individual prediction):

    log L_i ≈ log p(y_i | η̂_i) + log N(η̂_i; 0, Ω) + (q/2)·log 2π - ½·log det H_i,

with H_i the Hessian of -log p(y_i, η) at η̂_i (finite differences; BLQ samples enter by M3, as NONMEM requires
LAPLACIAN for M3). FOCE-I proper replaces H_i by its first-order (Gauss-Newton) form; with the full Hessian
this is the Laplacian method. The outer problem maximises Σ log L_i over θ (scipy BFGS, numerical gradient),
with the modes re-found (warm-started) at every θ. Source: Wang Y. Derivation of various NONMEM estimation
methods. J Pharmacokinet Pharmacodyn 2007;34:575-593. Practical for small models (Theophylline); the SAEM
method is the default for the Stein model.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import optimize

from cartrial.kinetics.popfit.population import Theta
from cartrial.kinetics.popfit.saem import ThetaCodec, Work, _pd, conditional_modes

FloatArray = npt.NDArray[np.float64]


def laplace_loglik(work: Work, theta: Theta, eta0: FloatArray) -> tuple[float, FloatArray, FloatArray]:
    """(Σ log L_i, modes, Hessians) of the Laplacian approximation at θ."""
    q = work.spec.q
    eta, hess, f0, _ = conditional_modes(work, theta, eta0, max_iter=30)
    sign, logdet_omega = np.linalg.slogdet(theta.omega)
    if sign <= 0:
        return -math.inf, eta, hess
    # f0 = -log p(y|η̂) + ½ η̂ᵀΩ⁻¹η̂ ; add the prior normalisation ½ log det(2πΩ)
    w = np.linalg.eigvalsh(_pd(hess))
    logdet_h = np.sum(np.log(w), axis=1)
    ll = (
        -f0
        - 0.5 * (q * math.log(2 * math.pi) + logdet_omega)
        + 0.5 * q * math.log(2 * math.pi)
        - 0.5 * logdet_h
    )
    return float(np.sum(ll)), eta, hess


def fit_laplace(
    work: Work, theta0: Theta, max_iter: int = 200
) -> tuple[Theta, float, bool, str, FloatArray, FloatArray]:
    """Maximise the Laplacian log-likelihood from `theta0`; returns (θ̂, log L, success, message, η̂, H)."""
    codec = ThetaCodec(work.spec)
    state = {"eta": np.zeros((work.n, work.spec.q))}

    def objective(v: FloatArray) -> float:
        try:
            value, eta, _ = laplace_loglik(work, codec.decode(v), state["eta"])
        except np.linalg.LinAlgError:
            return 1e300
        if math.isfinite(value):
            state["eta"] = eta
            return -value
        return 1e300

    res = optimize.minimize(
        objective,
        codec.encode(theta0),
        method="BFGS",
        options={"maxiter": max_iter, "gtol": 1e-4, "eps": 1e-5},
    )
    theta = codec.decode(res.x)
    value, eta, hess = laplace_loglik(work, theta, state["eta"])
    return theta, value, bool(res.success), str(res.message), eta, hess
