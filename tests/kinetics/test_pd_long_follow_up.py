"""The PD model over a long follow-up (decisions D-19.391): CAR-T effector and memory cells, plasma cells
and antibody are amounts, never below 0. The solver let a decayed effector compartment cross 0 (about
-1e-9 copies/µg), where the expansion term k_exp·p/(p + EC50)·E, positive once the plasma-cell pool has
recovered, drove it exponentially further below 0 until it overflowed: after about three years every
subject of the solve was NaN and `cartrial simulate study` printed numpy RuntimeWarnings."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.kinetics.pd import simulate_pd

DAYS = np.arange(0.0, 3651.0)


def test_ten_years_of_pd_are_finite_and_silent() -> None:
    """Seed 0 with the example scenario's protected fraction diverged at day ~1,112 before the fix."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RuntimeWarning fails the test
        sim = simulate_pd(250, DAYS, seed=0, overrides={"protected_fraction": 0.15})
    for states in (sim.effector, sim.memory, sim.plasma_cells, sim.antibody_relative):
        assert np.isfinite(states).all()
        assert (states >= 0).all()


@settings(max_examples=property_examples(15), deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_states_stay_non_negative_and_antibody_is_bounded(seed: int) -> None:
    """Invariants of the model (docs/science/cellular-kinetics.md §7): every state is >= 0, and the relative
    antibody stays between its floor and its baseline: A' = k_deg·((p + protected)/(1 + protected) - A)
    with 0 <= p <= 1 (the pool recovers towards 1 and is only killed) keeps 0 <= A <= 1."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sim = simulate_pd(20, DAYS[::5], seed=seed)
    assert (sim.effector >= 0).all() and (sim.memory >= 0).all()
    assert (sim.antibody_relative >= 0).all() and (sim.antibody_relative <= 1 + 1e-6).all()
