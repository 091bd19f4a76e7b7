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

FOCE-I (``approximation="focei"``, NONMEM's METHOD=COND INTERACTION): the same formula with H_i replaced by
its first-order form at the conditional mode,

    H_i ≈ Ω⁻¹ + Σ_j [ J_j J_jᵀ / g_j² + ½ · (∂ log g_j²/∂η)(∂ log g_j²/∂η)ᵀ ],

J_j = ∂h(f_j)/∂η on the transformed scale and g_j the residual SD at the individual prediction (interaction:
the variance term is the expected information of N(h(f), g²) in η; Wang 2007 eq. for FOCEI). Only first
derivatives of the model enter (central differences). BLQ samples (M3) keep their exact second derivative —
NONMEM requires LAPLACIAN for M3 (Beal 2001; Ahn et al. J Pharmacokinet Pharmacodyn 2008;35:401-421), so the
censored terms are the Laplacian ones and the likelihood is the same one the other methods use.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy import optimize

from cartrial.kinetics.popfit.likelihood import subject_loglik
from cartrial.kinetics.popfit.population import Theta
from cartrial.kinetics.popfit.saem import (
    ThetaCodec,
    Work,
    conditional_modes,
    grad_hess,
    is_positive_definite,
)
from cartrial.wording import count

APPROXIMATIONS = ("laplace", "focei")


def first_order_hessian(work: Work, theta: Theta, eta: FloatArray, h: float = 1e-4) -> FloatArray:
    """FOCE-I Hessian (n, q, q) of -log p(y_i, η) at η (see the module docstring)."""
    spec, err = work.spec, work.spec.error
    n, q = eta.shape
    rows = np.arange(n)
    base = spec.typical_phi(theta, work.x)
    omega_inv = np.asarray(np.linalg.inv(theta.omega), dtype=float)

    def transformed(e: FloatArray) -> tuple[FloatArray, FloatArray]:
        phi = base.copy()
        phi[:, spec.iiv_index] += e
        pred = work.predict(phi, rows)
        return err.transform(pred), np.log(err.sd(pred, theta.sigma) ** 2)

    jac = np.zeros((n, work.yt.shape[1], q))
    jac_v = np.zeros_like(jac)
    for a in range(q):
        step = np.zeros(q)
        step[a] = h
        fp, vp = transformed(eta + step)
        fm, vm = transformed(eta - step)
        jac[:, :, a] = (fp - fm) / (2 * h)
        jac_v[:, :, a] = (vp - vm) / (2 * h)
    _, logvar = transformed(eta)
    with np.errstate(over="ignore"):
        inv_var = np.where(work.quantified, np.exp(-logvar), 0.0)
    quant = work.quantified[:, :, None]
    jac = np.where(quant, jac, 0.0)
    jac_v = np.where(quant, jac_v, 0.0)
    hess = np.einsum("nj,nja,njb->nab", inv_var, jac, jac) + 0.5 * np.einsum("nja,njb->nab", jac_v, jac_v)
    hess = hess + omega_inv[None, :, :]
    if work.censored.any():
        none = np.zeros_like(work.quantified)

        def censored_nll(e: FloatArray, rr: npt.NDArray[np.int64]) -> FloatArray:
            phi = base[rr].copy()
            phi[:, spec.iiv_index] += e
            pred = work.predict(phi, rr)
            val = -subject_loglik(
                pred,
                work.yt[rr],
                work.lloq_t[rr],
                none[rr],
                work.censored[rr],
                err,
                theta.sigma,
                work.lower_t[rr] if work.has_interval else None,
            )
            return np.where(np.isfinite(val), val, 1e300)

        _, _, h_c = grad_hess(censored_nll, eta, rows)
        hess = hess + h_c
    return np.asarray(hess, dtype=float)


FloatArray = npt.NDArray[np.float64]


def laplace_loglik(
    work: Work, theta: Theta, eta0: FloatArray, approximation: str = "laplace"
) -> tuple[float, FloatArray, FloatArray]:
    """(Σ log L_i, modes, Hessians) of the Laplacian (or FOCE-I) approximation at θ."""
    q = work.spec.q
    eta, hess, f0, _ = conditional_modes(work, theta, eta0, max_iter=30)
    if approximation == "focei":
        hess = first_order_hessian(work, theta, eta)
    sign, logdet_omega = np.linalg.slogdet(theta.omega)
    if sign <= 0:
        return -math.inf, eta, hess
    # f0 = -log p(y|η̂) + ½ η̂ᵀΩ⁻¹η̂ ; add the prior normalisation ½ log det(2πΩ)
    # the Laplace approximation needs a mode: H positive definite (`is_positive_definite`). Where it is not
    # (a saddle or flat direction: a failed EBE) there is no approximation — the objective is not finite
    # at this θ, as NONMEM's "HESSIAN ... FOR COMPUTING CONDITIONAL ESTIMATE IS NON POSITIVE DEFINITE"; a
    # floor of the eigenvalues (1e-8 of the largest) gave that subject a bonus of ~½·log(1e8/max) in
    # log L (D-19.1172). The outer search treats it as a failed step and backs away; a search that ends
    # there is not successful (`fit_laplace`'s message), and the fit flags the subject (ebe.csv's
    # ebe_status, D-19.1171)
    definite = is_positive_definite(hess)
    if not definite.all():
        return -math.inf, eta, hess
    sym = (hess + np.swapaxes(hess, -1, -2)) / 2
    logdet_h = np.sum(np.log(np.linalg.eigvalsh(sym)), axis=1)
    ll = (
        -f0
        - 0.5 * (q * math.log(2 * math.pi) + logdet_omega)
        + 0.5 * q * math.log(2 * math.pi)
        - 0.5 * logdet_h
    )
    return float(np.sum(ll)), eta, hess


def fit_laplace(
    work: Work, theta0: Theta, max_iter: int = 200, approximation: str = "laplace"
) -> tuple[Theta, float, bool, str, FloatArray, FloatArray]:
    """Maximise the Laplacian (or FOCE-I) log-likelihood from `theta0`; returns (θ̂, log L, success,
    message, η̂, H).

    The Laplacian approximation starts from the FOCE-I maximum (found first from `theta0`): it uses each
    subject's exact Hessian of −log p(y, η), which far from the maximum is often not positive definite at
    the (not yet converged) conditional mode; the objective is then not finite (−∞: no Laplace approximation
    at a failed EBE, D-19.1172), a failed step the search backs away from — from a poor start it could end
    below where it began. A search that ends at a θ where a subject's Hessian (the one the objective uses)
    is not positive definite, ends below its start, or stops without a step is reported as not successful
    (with a message that says which)."""
    eta0 = np.zeros((work.n, work.spec.q))
    if approximation == "laplace":
        theta0, _, _, _, eta0, _ = _maximise(work, theta0, eta0, max_iter, "focei")
    return _maximise(work, theta0, eta0, max_iter, approximation)


STOPPED_SHORT_LOGLIK = 0.01
"""A search that stops without meeting its gradient tolerance (BFGS's "precision loss": the objective is
smooth only to about 1e-5, see `_maximise`) is restarted from its end with central differences; the fit is at
the maximum when a restart gains less than this many log-likelihood units (−2LL 0.02, far below any
difference a model comparison reads), and not converged when `RESTARTS` restarts each gained more
(D-19.1340)."""
RESTARTS = 3


def _bfgs(
    objective: Callable[[FloatArray], float], x0: FloatArray, max_iter: int, jac: str | None
) -> optimize.OptimizeResult:
    """scipy's BFGS on `objective` with a finite-difference gradient (`jac`: None, forward differences;
    "3-point", central ones), absolute step 1e-5."""
    return optimize.minimize(
        objective, x0, method="BFGS", jac=jac, options={"maxiter": max_iter, "gtol": 1e-4, "eps": 1e-5}
    )


def _maximise(
    work: Work, theta0: Theta, eta0: FloatArray, max_iter: int, approximation: str
) -> tuple[Theta, float, bool, str, FloatArray, FloatArray]:
    """BFGS on `laplace_loglik` from `theta0` (conditional modes warm-started from `eta0`)."""
    codec = ThetaCodec(work.spec)
    start_value = laplace_loglik(work, theta0, eta0, approximation)[0]
    state = {"eta": eta0}
    v_start = codec.encode(theta0)
    free = codec.free_mask()  # a fixed typical value is not estimated (D-19.273)

    def objective(u: FloatArray) -> float:
        v = v_start.copy()
        v[free] = u
        try:
            value, eta, _ = laplace_loglik(work, codec.decode(v), state["eta"], approximation)
        except np.linalg.LinAlgError:
            return 1e300
        if math.isfinite(value):
            state["eta"] = eta
            return -value
        return 1e300

    res = _bfgs(objective, v_start[free], max_iter, None)
    moved = res.nit > 0
    still_gaining = False
    if not res.success and moved:
        # the objective re-finds each subject's mode at every θ, so it is smooth only to about 1e-5: with a
        # forward-difference gradient (step 1e-5) BFGS can stop ("precision loss") short of the maximum
        # (0.03 log-likelihood units on the nlme bi-exponential, 10 from a coarser step). Searches restarted
        # from the end with central differences (error O(step²), not O(step)) go on until one gains less
        # than `STOPPED_SHORT_LOGLIK` (D-19.1340)
        for _ in range(RESTARTS):
            restarted = _bfgs(objective, res.x, max_iter, "3-point")
            gain = float(res.fun - restarted.fun)
            if restarted.fun <= res.fun:
                res = restarted
            still_gaining = not restarted.success and gain >= STOPPED_SHORT_LOGLIK
            if not still_gaining:
                break
    v_end = v_start.copy()
    v_end[free] = res.x
    theta = codec.decode(v_end)
    value, eta, hess = laplace_loglik(work, theta, state["eta"], approximation)
    success, message = bool(res.success), str(res.message)
    failed = int((~is_positive_definite(hess)).sum())
    if failed:  # no Laplace approximation at the estimate: a failed EBE is not a maximum (D-19.1172)
        success = False
        message = (
            f"the Hessian at the conditional mode of {count(failed, 'subject')} is not positive definite "
            "(a failed EBE: the objective is not defined there); use SAEM (CLI: --method saem), "
            "or give initial values nearer the estimate"
        )
    elif not success and not moved:
        message = (
            "the search did not move from its start (no step improved the objective): use SAEM "
            "(CLI: --method saem), "
            "or give initial values nearer the estimate"
        )
    elif not success and still_gaining:
        success = False
        message = (
            f"the search was still gaining log-likelihood after {RESTARTS} restarts (each restart from the "
            f"last end gained {STOPPED_SHORT_LOGLIK:g} or more): use SAEM (CLI: --method saem), or give "
            "initial values nearer the estimate"
        )
    elif not value >= start_value - 1e-6:
        success = False
        message = (
            f"the search ended below its start (log-likelihood {value:.4g} < {start_value:.4g}): the "
            "objective is not smooth from this start; give initial values nearer the estimate"
        )
    return theta, value, success, message, eta, hess
