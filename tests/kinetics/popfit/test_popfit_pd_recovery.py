"""Rough parameter recovery of the population PD model (CAR-T → plasma cell → AQP4-IgG) fitted
sequentially on known individual kinetic parameters (issue 17): 20 simulated subjects, 8 samples each over
6 months, log-normal residual error 0.15, fixed seed. A check that the estimator and the model work
together, not a bias study: k_kill is weakly identified when the depletion is nearly complete (k_kill·∫CAR
≫ 1 within days), hence its loose bound."""

from __future__ import annotations

import numpy as np
import pytest

from cartrial.kinetics.popfit import PopulationData, SaemSettings, fit_population
from cartrial.kinetics.popfit.pdmodel import attach_kinetics, initial_baseline, pd_structural_model

from .test_popfit_pd import kinetics_sample


@pytest.mark.nightly  # a long study: `make nightly` (suite time, stop 47)
def test_parameters_are_recovered_roughly_from_simulated_data() -> None:
    rng = np.random.default_rng(5)
    n = 20
    kin = kinetics_sample(n, rng)
    true = np.array([300.0, 2e-4, 0.1, 21.0])
    omega2 = np.array([0.25, 0.25, 0.25, 0.0])
    individual = true * np.exp(rng.standard_normal((n, 4)) * np.sqrt(omega2))
    days = np.array([-7.0, 7.0, 14.0, 21.0, 28.0, 56.0, 90.0, 180.0])
    times = np.tile(days, (n, 1))
    model = pd_structural_model(kin, t_max_days=180)
    f = model.predict(individual, times, np.arange(float(n)))
    y = f * np.exp(0.15 * rng.standard_normal(f.shape))
    data = attach_kinetics(PopulationData.from_arrays([f"S{i:02d}" for i in range(n)], list(times), list(y)))
    model = pd_structural_model(kin, t_max_days=180, initial_a0=initial_baseline(data))
    fit = fit_population(
        data,
        model,
        iiv=["a0", "k_kill", "protected_fraction"],
        settings=SaemSettings(seed=3, k1=120, k2=60, is_draws=150, fim_draws=80, polish_final_draws=300),
    )
    est = fit.estimates.set_index(["kind", "parameter"])["estimate"]
    assert est[("typical", "a0")] == pytest.approx(300.0, rel=0.25)
    assert est[("typical", "protected_fraction")] == pytest.approx(0.1, rel=0.4)
    assert est[("typical", "igg_half_life_days")] == pytest.approx(21.0, rel=0.2)
    assert 0.5 < est[("typical", "k_kill")] / 2e-4 < 2.0
    assert est[("residual", "a")] == pytest.approx(0.15, rel=0.3)
    assert est[("omega2", "a0")] == pytest.approx(0.25, rel=0.6)
    # the EBEs are the individual PD parameters of the right subjects
    ebe = fit.ebe.set_index("subject")
    assert np.corrcoef(np.log(ebe["a0"]), np.log(individual[:, 0]))[0, 1] > 0.9
