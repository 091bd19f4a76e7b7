"""Hypothesis properties of the simulator's model pieces."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from tests.conftest import property_examples

from cartrial.kinetics import stein2019_auc
from cartrial.simulation import models as m
from cartrial.simulation.scenario import Ordinal
from cartrial.simulation.trials import _poisson_from_uniform

probability = st.floats(min_value=1e-6, max_value=1 - 1e-6)


@settings(max_examples=property_examples(60), deadline=None)
@given(u=probability, x1=st.floats(-3, 3), x2=st.floats(-3, 3), slope=st.floats(0, 3))
def test_ordinal_grade_never_falls_with_exposure(u, x1, x2, slope):
    model = Ordinal(intercepts=[2.0, -1.0, -3.0, -5.0], slope_log_exposure=slope)
    lo, hi = sorted((x1, x2))
    g_lo = m.ordinal_grade(model, np.array([lo]), {}, np.array([u]))[0]
    g_hi = m.ordinal_grade(model, np.array([hi]), {}, np.array([u]))[0]
    assert 0 <= g_lo <= g_hi <= 4


@settings(max_examples=property_examples(30), deadline=None)
@given(x=st.floats(-2, 2))
def test_ordinal_grade_probabilities_are_the_proportional_odds_model(x):
    model = Ordinal(intercepts=[1.5, -0.5, -2.5], slope_log_exposure=0.7)
    u = (np.arange(20000) + 0.5) / 20000  # a uniform grid: exact frequencies up to the grid step
    grades = m.ordinal_grade(model, np.full(u.size, x), {}, u)
    for g, intercept in enumerate(model.intercepts, start=1):
        expected = 1 / (1 + np.exp(-(intercept + 0.7 * x)))
        assert abs((grades >= g).mean() - expected) < 1e-3


@settings(max_examples=property_examples(60), deadline=None)
@given(mean=st.floats(0, 12), u=probability)
def test_poisson_inversion_is_the_poisson_quantile(mean, u):
    expected = stats.poisson.ppf(u, mean) if mean > 0 else 0
    assert _poisson_from_uniform(np.array([mean]), np.array([u]))[0] == expected


@settings(max_examples=property_examples(40), deadline=None)
@given(
    split=st.floats(0.1, 60),
    foldx=st.floats(10, 1e4),
    tmax=st.floats(3, 20),
    alpha=st.floats(0.02, 1),
    fb=st.floats(1e-4, 0.5),
    beta=st.floats(1e-4, 0.02),
)
def test_stein_auc_is_additive_over_intervals(split, foldx, tmax, alpha, fb, beta):
    params = (foldx, tmax, 1e4, alpha, fb, beta)
    whole = float(stein2019_auc(0, 60, *params))
    parts = float(stein2019_auc(0, split, *params)) + float(stein2019_auc(split, 60, *params))
    assert np.isclose(whole, parts, rtol=1e-9)
