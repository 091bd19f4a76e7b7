"""`conditional_rate_ratio` refuses a stratum it cannot count with an `InputError` naming the field, as
`poisson_rate` does (D-19.79, D-19.1008).

Before: a fractional attack count (1.5) or an infinite patient-years raised scipy's ValueError ("The
function value at x=-40.0 is NaN") from the root finder, and a NaN patient-years silently dropped the
patient from the ratio (it failed the ``> 0`` test of the usable strata without a word).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cartrial.errors import InputError
from cartrial.neuro.relapses import conditional_rate_ratio


@pytest.mark.parametrize(
    ("stratum", "field"),
    [
        ((1.5, 1.0, 1, 1.0), "strata[1].pre_attacks"),
        ((1, 1.0, -1, 1.0), "strata[1].post_attacks"),
        ((1, math.nan, 1, 1.0), "strata[1].pre_years"),
        ((1, 1.0, 1, math.inf), "strata[1].post_years"),
        ((True, 1.0, 1, 1.0), "strata[1].pre_attacks"),
    ],
)
@pytest.mark.parametrize("method", ["stratified_conditional", "pooled_conditional"])
def test_a_stratum_that_cannot_be_counted_is_refused(stratum: tuple, field: str, method: str) -> None:
    with pytest.raises(InputError) as caught:
        conditional_rate_ratio([(2, 1.0, 0, 1.0), stratum], method=method)
    assert caught.value.problems[0].field == field


def test_a_stratum_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(InputError) as caught:
        conditional_rate_ratio([(2, 1.0, 0)])  # type: ignore[list-item]
    assert caught.value.problems[0].field == "strata[0]"


def test_whole_number_floats_still_count() -> None:
    """A count read from a float column (4.0) is the whole number 4 (D-19.79): the pooled exact interval of
    4 attacks in 2 years before and 1 in 1 year after is, by hand, the Clopper-Pearson interval of 1/5
    (0.00505, 0.7164) turned into a ratio p/(1-p) * T_pre/T_post: (0.0102, 5.05)."""
    r = conditional_rate_ratio([(4.0, 2.0, 1.0, 1.0)], method="pooled_conditional")
    assert r.ratio == pytest.approx(0.5)
    assert r.ci_low == pytest.approx(0.00505 / 0.99495 * 2, rel=1e-3)
    assert r.ci_high == pytest.approx(0.7164 / 0.2836 * 2, rel=1e-3)


@pytest.mark.parametrize(
    "strata",
    [
        np.array([[4, 2, 1, 1]]),  # a numpy row (int64): accepted on main, refused by the first D-19.1008
        np.array([[4.0, 2.0, 1.0, 1.0]]),
        [[4, 2.0, 1, 1.0]],  # a list
        pd.DataFrame({"a": [4], "b": [2.0], "c": [1], "d": [1.0]}).itertuples(index=False),
        [iter((4, 2.0, 1, 1.0))],  # any non-string iterable of four
    ],
)
def test_any_iterable_of_four_is_a_stratum(strata: object) -> None:
    """Review finding 3: a stratum is any non-string iterable of 4 numbers. Hand: pooled, 4 attacks in 2
    years before and 1 in 1 year after: (1/1) / (4/2) = 0.5."""
    r = conditional_rate_ratio(strata, method="pooled_conditional")  # type: ignore[arg-type]
    assert r.ratio == pytest.approx(0.5)


@pytest.mark.parametrize("stratum", ["4211", b"4211", 4])
def test_a_string_or_a_number_is_not_a_stratum(stratum: object) -> None:
    with pytest.raises(InputError) as caught:
        conditional_rate_ratio([stratum])  # type: ignore[list-item]
    assert caught.value.problems[0].field == "strata[0]"
