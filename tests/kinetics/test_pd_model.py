"""Proposed PD model (cellular-kinetics.md §7, a project proposal): structure, YAML sources, and the
section's own sanity references (medians over 200 simulated subjects)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cartrial.errors import ConfigurationError
from cartrial.kinetics.pd import PD_PARAMETERS, load_pd_model, parse_titre, simulate_pd, titre_endpoint


def test_yaml_has_every_parameter_with_a_source_or_assumption():
    """Decisions §6: parameters in a YAML file with a source or 'assumption' note for each; values of §7.1."""
    model = load_pd_model()
    assert set(model.parameters) == set(PD_PARAMETERS)
    for p in model.parameters.values():
        assert "cellular-kinetics.md" in p.source or "assumption" in p.source
    assert model.parameters["k_exp"].value == 1.5 and model.parameters["k_kill"].value == 2e-4
    assert "not published" in model.label


def test_missing_source_is_rejected():
    text = "parameters:\n  e0: {value: 5, unit: x, iiv_sd_log: 0, source: ''}\n"
    with pytest.raises(ConfigurationError):
        load_pd_model(text)


def test_simulation_matches_section_7_sanity_references():
    """§7.1: medians over 200 subjects: Cmax about 8 200 copies/µg at Tmax about 10 d; about 1 000 at day 28,
    650 at day 56, 320 at day 365; the target pool falls below 1 by day 10. 'About' read as ±20 %."""
    days = np.arange(0, 366.0)
    sim = simulate_pd(200, days, seed=1)
    car = sim.car_t
    assert np.median(car.max(axis=1)) == pytest.approx(8200, rel=0.2)
    assert np.median(days[car.argmax(axis=1)]) == pytest.approx(10, abs=2)
    assert np.median(car[:, 28]) == pytest.approx(1000, rel=0.2)
    assert np.median(car[:, 56]) == pytest.approx(650, rel=0.2)
    assert np.median(car[:, 365]) == pytest.approx(320, rel=0.2)
    assert np.median(sim.plasma_cells[:, 10]) < 0.01  # below 1 on the section's 100-unit scale


def test_antibody_cannot_fall_faster_than_igg_half_life():
    """§7.2: with plasma cells removed A falls no faster than ln 2/21 per day; with complete instantaneous
    elimination A(90) = exp(-ln 2 · 90/21) ≈ 5 % of baseline (§7.3 sanity check)."""
    days = np.arange(0, 181.0)
    sim = simulate_pd(50, days, seed=2)
    floor = np.exp(-math.log(2) * days / 21.0)
    assert (sim.antibody_relative >= floor[None, :] * (1 - 1e-4)).all()
    assert floor[90] == pytest.approx(0.05, abs=0.003)


def test_no_car_t_means_no_change():
    """Without CAR-T (E0 = 0) the plasma-cell pool and the antibody stay at baseline (steady state)."""
    sim = simulate_pd(3, np.arange(0, 100.0), seed=3, overrides={"e0": 0.0})
    np.testing.assert_allclose(sim.antibody_relative, 1.0, rtol=1e-6)
    np.testing.assert_allclose(sim.plasma_cells_relative(), 1.0, rtol=1e-6)


def test_titre_grid():
    """Dilution grid 1:10, 1:32, ..., 0.5-log10 steps; end-point = highest dilution reached
    (neuro-outcomes.md §6)."""
    assert list(titre_endpoint([math.log10(320), math.log10(319), 0.9, 4.5])) == [
        "1:320",
        "1:100",
        "negative",
        "1:10000",
    ]
    assert parse_titre("1:320") == pytest.approx(math.log10(320))
    assert parse_titre("negative") == -math.inf


def _absolute_model(p0: float, ec50: float, days: np.ndarray) -> np.ndarray:
    """Section 7.1 as written (pool in absolute units with baseline P0 and half-maximal expansion at EC50),
    typical values of the YAML, solved independently of cartrial.kinetics.pd."""
    from scipy.integrate import solve_ivp

    k_exp, k_c, k_em, k_m, k_out, k_kill, f = 1.5, 0.2, 0.01, 0.003, 0.002, 2e-4, 0.05
    k_deg = math.log(2) / 21.0
    protected = f / (1 - f) * p0
    k_syn = k_deg / (p0 + protected)

    def rhs(_t, y):  # type: ignore[no-untyped-def]
        e, m, p, a = y
        return [
            k_exp * p / (p + ec50) * e - (k_c + k_em) * e,
            k_em * e - k_m * m,
            k_out * (p0 - p) - k_kill * (e + m) * p,
            k_syn * (p + protected) - k_deg * a,
        ]

    sol = solve_ivp(
        rhs, (0, days[-1]), [5.0, 0.0, p0, 1.0], t_eval=days, method="LSODA", rtol=1e-9, atol=1e-12
    )
    return np.vstack([sol.y[0] + sol.y[1], sol.y[3]])


def test_p0_and_ec50_act_only_as_a_ratio_and_the_model_uses_the_ratio():
    """Decisions §12: (P0, EC50) = (100, 20) and (50, 10) give the same CAR-T and antibody trajectories (not
    identifiable separately); cartrial's model with ec50_relative = 0.2 reproduces both."""
    days = np.array([0.0, 7, 14, 28, 90, 180])
    first, second = _absolute_model(100, 20, days), _absolute_model(50, 10, days)
    np.testing.assert_allclose(first, second, rtol=1e-5)
    sim = simulate_pd(1, days, iiv=False)
    assert "ec50_relative" in PD_PARAMETERS and "p0" not in PD_PARAMETERS and "ec50" not in PD_PARAMETERS
    np.testing.assert_allclose(sim.car_t[0], first[0], rtol=1e-4)
    np.testing.assert_allclose(sim.antibody_relative[0], first[1], rtol=1e-4)
