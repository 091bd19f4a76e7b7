"""The post-infusion relapse count is the Poisson quantile of its uniform at any mean (D-19.803). The
inversion summed at most 59 terms, so a count never exceeded 59: a scenario with a high pre-treatment rate
and no drug effect (relapses_24m up to 730, regression_to_mean up to 1) had a mean of 365 relapses in a year
and counted 59 (median 365: scipy.stats.poisson.ppf(0.5, 365)); above a mean of 745 exp(-mean) is 0 in
floating point and every count was 59."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import pdtr
from tests.conftest import property_examples

from cartrial.simulation.trials import _poisson_from_uniform


def test_a_mean_of_365_has_its_median_count() -> None:
    assert _poisson_from_uniform(np.array([365.0]), np.array([0.5]))[0] == 365
    assert _poisson_from_uniform(np.array([1000.0]), np.array([0.5]))[0] == 1000


@settings(max_examples=property_examples(60), deadline=None)
@given(mean=st.floats(12, 5000), u=st.floats(1e-9, 1 - 1e-9))
def test_large_means_invert_to_the_poisson_quantile(mean: float, u: float) -> None:
    """The quantile's definition, checked with the Poisson CDF `scipy.special.pdtr(k, mean)` = P(X ≤ k)
    (independent of `poisson.ppf`, which the code uses above the series' last term): the count k is the
    smallest with P(X ≤ k) ≥ u, i.e. P(X ≤ k - 1) < u ≤ P(X ≤ k). A tolerance of 1e-12 covers the
    rounding of the summed series against pdtr's incomplete gamma function."""
    k = int(_poisson_from_uniform(np.array([mean]), np.array([u]))[0])
    assert u <= pdtr(k, mean) + 1e-12
    assert k == 0 or pdtr(k - 1, mean) < u + 1e-12


def test_a_zero_mean_or_a_zero_uniform_is_no_relapse() -> None:
    counts = _poisson_from_uniform(np.array([0.0, 3.0, 0.0]), np.array([0.7, 0.0, 0.0]))
    assert counts.tolist() == [0, 0, 0]
