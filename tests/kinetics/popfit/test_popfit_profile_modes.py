"""A re-centred profile point uses a subject's conditional mode only where its search converged (D-19.1299).

`conditional_modes` returns a converged flag (D-19.1171): False at a saddle, a flat direction or a search
that stopped early. The profile's re-centred surface (`make_profiler(recentre=True)`) drew that subject's
importance draws from `_pd`'s floored Hessian at the non-mode and started the next point's search there.
Here the mode search is made to fail for one subject at every re-centring (a saddle: η = 40, H = −I):
that subject keeps the draws at θ̂ (a valid proposal, the one every point uses without `recentre`) and its
converged start, every other subject is re-centred, and the interval's note says how often it happened.
"""

from __future__ import annotations

import numpy as np
import pytest

import cartrial.kinetics.popfit.profile as profile_module
from cartrial.kinetics.popfit import PopulationData, SaemSettings, fit_population
from cartrial.kinetics.popfit.profile import ProfileInterval, make_profiler, profile_intervals
from cartrial.kinetics.popfit.structural import predict_one_compartment_oral


def _data(n: int, seed: int) -> PopulationData:
    rng = np.random.default_rng(seed)
    t = np.array([0.5, 1, 2, 4, 8, 12, 24.0])
    psi = np.array([1.0, 1.0, 0.2]) * np.exp(rng.normal(0, 0.3, (n, 3)))
    times = np.tile(t, (n, 1))
    y = predict_one_compartment_oral(psi, times, np.full(n, 100.0)) * np.exp(rng.normal(0, 0.2, times.shape))
    return PopulationData.from_arrays(
        [f"S{i}" for i in range(n)], list(times), list(y), lloq=1e-6, dose=np.full(n, 100.0)
    )


@pytest.fixture(scope="module")
def fit():  # type: ignore[no-untyped-def]
    return fit_population(
        _data(10, 5),
        "one_compartment_oral",
        initial={"ka": 0.5, "v": 2.0, "cl": 0.1},
        settings=SaemSettings(seed=5, k1=60, k2=30),
        compute_se=False,
    )


def _failing_first_subject(calls: list[np.ndarray]):  # type: ignore[no-untyped-def]
    real = profile_module.conditional_modes

    def fake(work, theta, eta0, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(np.array(eta0, dtype=float))
        eta, hess, f0, ok = real(work, theta, eta0, *args, **kwargs)
        if len(calls) > 1:  # θ̂'s own modes are the fit's; every re-centring after fails for subject 0
            eta, hess, ok = eta.copy(), hess.copy(), ok.copy()
            eta[0] = 40.0
            hess[0] = -np.eye(hess.shape[1])
            ok[0] = False
        return eta, hess, f0, ok

    return fake


def test_a_subject_whose_mode_failed_keeps_the_draws_at_the_estimate(fit, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    calls: list[np.ndarray] = []
    monkeypatch.setattr(profile_module, "conditional_modes", _failing_first_subject(calls))
    prof = make_profiler(
        fit.work, fit.model.theta, fit.eta_mode, np.random.default_rng(2), draws=50, recentre=True
    )
    base = prof.lik.draws
    theta = fit.model.theta
    moved = type(theta)(theta.mu + 0.2, theta.beta, theta.omega, theta.sigma)
    assert prof.surface is not None
    lik = prof.surface(moved)
    np.testing.assert_array_equal(lik.draws.phi_iiv[0], base.phi_iiv[0])
    np.testing.assert_array_equal(lik.draws.log_q[0], base.log_q[0])
    assert not np.allclose(lik.draws.phi_iiv[1:], base.phi_iiv[1:])  # the others are re-centred
    assert np.all(np.isfinite(lik.per_subject(moved)[0]))
    prof.surface(moved)
    np.testing.assert_array_equal(calls[2][0], calls[1][0])  # the next search starts at the converged mode
    assert prof.modes_not_converged >= 2  # subject 0 twice (another may fail at the moved θ on its own)


def test_the_interval_note_counts_the_failed_recentrings() -> None:
    clean = ProfileInterval("cl", 0.1, 0.3, False, False, 6)
    assert "did not converge" not in clean.note
    flagged = ProfileInterval("cl", 0.1, 0.3, False, False, 6, modes_not_converged=3)
    assert "at 3 re-centrings" in flagged.note and "did not converge" in flagged.note


def test_failed_recentrings_at_the_estimate_are_in_every_intervals_note(fit, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The profiler first re-maximises at θ̂ on re-centred surfaces; the re-centrings that failed there are
    counted in each interval (every profile is measured from that maximum), not dropped."""
    calls: list[np.ndarray] = []
    monkeypatch.setattr(profile_module, "conditional_modes", _failing_first_subject(calls))
    j = fit.model.spec.model.index("cl")
    (interval,) = profile_intervals(
        fit.work,
        fit.model.theta,
        fit.eta_mode,
        fit.eta_hessian,
        [j],
        np.random.default_rng(2),
        draws=50,
        recentre=True,
    )
    assert interval.modes_not_converged_at_estimate >= 1
    assert interval.modes_not_converged >= interval.modes_not_converged_at_estimate + 1
    assert "re-maximisation at the estimate" in interval.note
