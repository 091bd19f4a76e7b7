"""Stein 2019 model tests. Expected values: Stein AM et al. CPT Pharmacometrics Syst Pharmacol
2019;8:285-295, Table 1 (Tmax 9.3 d, Cmax 24 000 copies/µg) and the derived values in
shared/reference/cellular-kinetics.md §5.2 (AUC0-28 = 1.72e5 copies·day/µg; C(28), C(90), C(180), C(365))."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp
from tests.conftest import property_examples

from cartrial.errors import NotEstimableError
from cartrial.kinetics import (
    STEIN_2019_OMEGA2,
    STEIN_2019_TYPICAL,
    STEIN_PARAMETERS,
    fit_stein2019,
    simulate_stein2019,
    stein2019_concentration,
    typical_auc,
)

TYPICAL = STEIN_2019_TYPICAL.as_array()


def test_typical_subject_reproduces_published_tmax_cmax_and_auc():
    """Typical subject: Tmax 9.3 d and Cmax 24 000 copies/µg (Table 1) and AUC0-28 1.72e5 (ref. doc §5.2),
    each to 1 %; AUC by a fine trapezoid of the closed form (independent of `typical_auc`)."""
    days = np.linspace(0, 28, 280_001)
    conc = stein2019_concentration(days, *TYPICAL)
    assert days[np.argmax(conc)] == pytest.approx(9.3, rel=0.01)
    assert conc.max() == pytest.approx(24_000, rel=0.01)
    assert np.trapezoid(conc, days) == pytest.approx(1.72e5, rel=0.01)
    assert typical_auc(0, 28) == pytest.approx(1.72e5, rel=0.01)


@pytest.mark.parametrize(("day", "expected"), [(28, 1.37e3), (90, 147), (180, 110), (365, 61)])
def test_typical_levels_match_reference(day, expected):
    """C(28) = 1.37e3, C(90) = 147, C(180) = 110, C(365) = 61 copies/µg (ref. doc §5.2; rounded there)."""
    assert stein2019_concentration(np.array([day]), *TYPICAL)[0] == pytest.approx(expected, rel=0.01)


def test_derived_rates_match_paper_abstract():
    """Doubling time 0.78 d, contraction t1/2 4.3 d, terminal t1/2 about 217-220 d (Stein 2019 abstract)."""
    assert math.log(2) / STEIN_2019_TYPICAL.rho_per_day == pytest.approx(0.78, abs=0.01)
    assert math.log(2) / STEIN_2019_TYPICAL.alpha_per_day == pytest.approx(4.33, abs=0.01)
    assert STEIN_2019_TYPICAL.r0 == pytest.approx(24000 / 3900)


def test_closed_form_equals_compartmental_ode():
    """The analytical solution equals the ODE system of Stein 2019 Figure 2 (ref. doc §5.1): dE/dt = rho E
    before Tmax; after it dE/dt = -alpha E, dM/dt = k E - beta M with k = F_B (alpha - beta), M(Tmax)=0."""
    p = STEIN_2019_TYPICAL
    k = p.fb * (p.alpha_per_day - p.beta_per_day)

    def after(_t, y):  # type: ignore[no-untyped-def]
        e, m = y
        return [-p.alpha_per_day * e, k * e - p.beta_per_day * m]

    days = np.array([20.0, 60.0, 200.0])
    sol = solve_ivp(after, (p.tmax_days, 200.0), [p.cmax, 0.0], t_eval=days, rtol=1e-10, atol=1e-8)
    ode = sol.y[0] + sol.y[1]
    np.testing.assert_allclose(stein2019_concentration(days, *TYPICAL), ode, rtol=1e-6)
    assert stein2019_concentration(np.array([5.0]), *TYPICAL)[0] == pytest.approx(
        p.r0 * math.exp(p.rho_per_day * 5.0)
    )


def test_fast_grid_path_equals_direct_formula():
    """The arithmetic-grid evaluation equals the direct closed form (same equations, to rounding)."""
    sim = simulate_stein2019(500, np.arange(0, 366.0), seed=3)
    params = sim.parameters[list(STEIN_PARAMETERS)].to_numpy().T
    jittered = np.arange(0, 366.0)
    jittered[7] += 1e-7  # not a grid any more: the direct path
    direct = stein2019_concentration(jittered, *params)
    keep = np.ones(366, dtype=bool)
    keep[7] = False
    np.testing.assert_allclose(sim.concentration[:, keep], direct[:, keep], rtol=1e-12)


@pytest.mark.filterwarnings("error")
def test_peak_at_time_zero_is_the_contraction_without_warnings():
    """A Tmax that underflowed to 0 (an extreme draw of a population fit's sampler): every time is after the
    peak, so C(t) is the bi-exponential contraction from Cmax, on both evaluation paths, and the infinite
    growth rate of the unused expansion branch raises no warning."""
    cmax, alpha, fb, beta = 24000.0, 0.16, 0.0079, 0.0032
    days = np.array([0.0, 1.0, 5.0])
    expected = cmax * ((1 - fb) * np.exp(-alpha * days) + fb * np.exp(-beta * days))
    np.testing.assert_allclose(stein2019_concentration(days, 3900, 0.0, cmax, alpha, fb, beta), expected)
    grid = np.linspace(0.0, 30.0, 20)  # an arithmetic grid: the fast path
    both = stein2019_concentration(grid, [3900.0, 3900.0], [0.0, 9.3], cmax, alpha, fb, beta)
    after = cmax * ((1 - fb) * np.exp(-alpha * grid) + fb * np.exp(-beta * grid))
    np.testing.assert_allclose(both[0], after)
    assert np.isfinite(both).all()


def test_simulation_is_seeded_and_log_normal():
    """Same seed, same subjects; eta ~ N(0, omega²) (Table 1 IIV): sample SD of log parameters ≈ omega."""
    days = np.arange(0, 29.0)
    a = simulate_stein2019(20_000, days, seed=11)
    b = simulate_stein2019(20_000, days, seed=11)
    np.testing.assert_array_equal(a.concentration, b.concentration)
    for name in ("foldx", "tmax_days", "cmax", "alpha_per_day", "beta_per_day"):
        sd = np.log(a.parameters[name]).std()
        assert sd == pytest.approx(math.sqrt(STEIN_2019_OMEGA2[name]), rel=0.03)
    assert np.exp(np.log(a.parameters["cmax"]).median()) == pytest.approx(24_000, rel=0.05)


def _rich_profile(noise_sd: float, seed: int):  # type: ignore[no-untyped-def]
    days = np.r_[0:15, 17, 21, 24, 28:365:7, 365].astype(float)  # daily to day 14, then weekly
    rng = np.random.default_rng(seed)
    return days, stein2019_concentration(days, *TYPICAL) * np.exp(rng.normal(0, noise_sd, days.size))


def test_simulate_then_fit_recovers_rich_profile_within_10_percent():
    """Simulate the typical subject (residual SD 0.05 on the log scale; daily to day 14, then weekly to
    day 365) and fit: every
    estimate within 10 % of the true Table 1 value (decisions §6 acceptance)."""
    days, conc = _rich_profile(0.05, seed=2)
    fit = fit_stein2019(days, conc)
    for name, truth in zip(STEIN_PARAMETERS, TYPICAL, strict=True):
        assert fit.estimates[name] == pytest.approx(truth, rel=0.10), name
        assert fit.standard_errors[name] > 0
    assert fit.diagnostics["converged"]
    assert fit.residual_sd_log == pytest.approx(0.05, rel=0.5)


def test_fit_with_blq_tail_uses_censoring():
    """BLQ samples enter as left-censored (M3); a profile whose late samples are BLQ still fits and the
    BLQ count is reported."""
    days, conc = _rich_profile(0.05, seed=4)
    lloq = 150.0
    observed = np.where(conc < lloq, 0.0, conc)
    fit = fit_stein2019(days, observed, lloq=lloq)
    assert fit.diagnostics["n_blq"] == int((conc < lloq).sum()) > 0
    assert fit.estimates["cmax"] == pytest.approx(24_000, rel=0.10)
    assert fit.estimates["tmax_days"] == pytest.approx(9.3, rel=0.10)
    with pytest.raises(NotEstimableError, match="LLOQ"):
        fit_stein2019(days, observed)


def test_sparse_profile_is_not_estimable_with_reason():
    """Too few samples after the peak cannot identify alpha, F_B and beta: NotEstimableError says why."""
    days = np.array([0.0, 4, 7, 10, 14])
    conc = stein2019_concentration(days, *TYPICAL)
    with pytest.raises(NotEstimableError, match="after the observed peak"):
        fit_stein2019(days, conc)
    with pytest.raises(NotEstimableError, match="all BLQ"):
        fit_stein2019(days, np.zeros(5), lloq=10.0)


@settings(max_examples=property_examples(60), deadline=None)
@given(
    foldx=st.floats(min_value=1.5, max_value=1e6),
    tmax=st.floats(min_value=0.5, max_value=60),
    cmax=st.floats(min_value=1.0, max_value=1e6),
    alpha=st.floats(min_value=1e-3, max_value=5),
    fb=st.floats(min_value=0.0, max_value=1.0),
    beta=st.floats(min_value=1e-5, max_value=1e-1),
)
def test_closed_form_shape(foldx, tmax, cmax, alpha, fb, beta):  # type: ignore[no-untyped-def]
    """Stein 2019 §5.1 shape: C(0) = R0 = Cmax/FOLDX, rising to Cmax at Tmax (continuous there), then
    non-increasing; never negative."""
    days = np.sort(np.concatenate([np.linspace(0, 400, 401), [tmax]]))
    conc = stein2019_concentration(days, foldx, tmax, cmax, alpha, fb, beta)
    assert (conc >= 0).all()
    assert conc[0] == pytest.approx(cmax / foldx, rel=1e-9)
    at_peak = stein2019_concentration(np.array([tmax]), foldx, tmax, cmax, alpha, fb, beta)[0]
    just_before = stein2019_concentration(np.array([tmax * (1 - 1e-9)]), foldx, tmax, cmax, alpha, fb, beta)[
        0
    ]
    assert at_peak == pytest.approx(cmax, rel=1e-9) and just_before == pytest.approx(cmax, rel=1e-6)
    before, after = days <= tmax, days >= tmax
    assert (np.diff(conc[before]) >= -1e-9 * cmax).all()
    assert (np.diff(conc[after]) <= 1e-9 * cmax).all()
