"""The Laplace importance-sampling proposal's scale is H⁻¹ itself wherever H is positive definite (D-19.1298).

Oracle: scipy's multivariate t density (`scipy.stats.multivariate_t`, shape H⁻¹, 5 degrees of freedom) —
the proposal `make_draws` / `Proposal("laplace")` documents. A positive definite H whose eigenvalues
span more than 10⁸ (a normal amplitude in a small concentration unit beside a log-normal η: curvature
1e10 beside 1) must not have its small eigenvalue lifted to 1e-8 of the largest, which made the proposal
ten times too narrow along it.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from cartrial.kinetics.popfit.saem import Proposal, make_draws

HESS = np.array([[[1.0, 0.0], [0.0, 1e10]]])  # curvatures 1 (SD 1) and 1e10 (SD 1e-5)
MODE = np.array([[0.5, 2e-3]])
SD = np.array([1.0, 1e-5])  # H⁻¹ = diag(SD²) by hand


def _oracle(phi: np.ndarray) -> np.ndarray:
    """log t_5(φ; MODE, diag(SD²)): the standard bivariate t at z = (φ − MODE)/SD, minus log|diag(SD)|."""
    z = (phi - MODE[0]) / SD
    return np.asarray(stats.multivariate_t(loc=np.zeros(2), shape=np.eye(2), df=5).logpdf(z)) - np.sum(
        np.log(SD)
    )


def test_draws_log_density_is_the_t_with_the_inverse_hessian():
    d = make_draws(MODE, HESS, 400, np.random.default_rng(3))
    oracle = _oracle(d.phi_iiv[0])
    np.testing.assert_allclose(d.log_q[0], oracle, rtol=1e-9, atol=1e-9)


def test_draws_spread_is_the_laplace_one_along_the_weak_direction():
    d = make_draws(MODE, HESS, 4000, np.random.default_rng(4))
    # a t_5 with scale 1 has median |x| = t_5's 75th percentile = 0.7267 (scipy.stats.t.ppf(0.75, 5))
    med = float(np.median(np.abs(d.phi_iiv[0, :, 0] - MODE[0, 0])))
    assert 0.66 < med < 0.80  # the floored scale gave 0.1 × that


def test_proposal_density_matches_its_draws():
    prop = Proposal("laplace", MODE, HESS)
    phi = np.array([[[0.5, 2e-3], [1.5, 2e-3], [0.5, 2e-3 + 1e-5]]])
    oracle = _oracle(phi[0])
    np.testing.assert_allclose(prop.log_density(phi)[0], oracle, rtol=1e-9, atol=1e-9)
