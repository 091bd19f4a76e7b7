"""The CV % of between-subject variability is derived once, in the population-estimates layer, from the
distribution the model declares for each parameter (D-19.536): the report reads the estimates' ``cv_percent``
and no longer guesses the scale from a note's words."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartrial.kinetics.popfit.fit import bsv_cv_percent


@given(st.floats(min_value=0.0, max_value=20.0))
def test_a_log_normal_cv_is_that_of_a_log_normal_variable(omega2: float) -> None:
    """CV of exp(η), η ~ N(0, ω²): √(e^{ω²} − 1) (the log-normal moments), whatever the typical value."""
    cv = bsv_cv_percent(omega2, 123.0, "lognormal")
    assert (cv / 100) ** 2 == pytest.approx(math.exp(omega2) - 1, rel=1e-9, abs=1e-15)


@given(st.floats(min_value=0.0, max_value=1e4), st.floats(min_value=1e-3, max_value=1e4), st.booleans())
def test_a_normal_cv_is_the_sd_over_the_typical_value(omega2: float, typical: float, negative: bool) -> None:
    cv = bsv_cv_percent(omega2, -typical if negative else typical, "normal")
    assert cv * typical == pytest.approx(100 * omega2**0.5, rel=1e-9, abs=1e-12)


def test_no_cv_without_a_variance_or_a_typical_value() -> None:
    assert math.isnan(bsv_cv_percent(-0.1, 1.0, "lognormal"))
    assert math.isnan(bsv_cv_percent(float("nan"), 1.0, "lognormal"))
    assert math.isnan(bsv_cv_percent(0.1, 0.0, "normal"))


def test_a_log_normal_cv_matches_the_simulated_spread() -> None:
    """Independent of the formula: the sample CV of exp(η) for ω² = 0.25 (about 53 %)."""
    rng = np.random.default_rng(7)
    values = np.exp(rng.normal(0.0, 0.5, 400_000))
    assert bsv_cv_percent(0.25, 1.0, "lognormal") == pytest.approx(
        100 * values.std() / values.mean(), rel=0.01
    )


def test_the_report_reads_the_stated_cv_not_the_note() -> None:
    """A note's wording does not decide the scale any more: a row whose note says "natural scale" keeps the
    CV the estimates state; a document written before the column shows none rather than a guess."""
    from cartrial.report.popfit import PopfitResult, estimates_tables

    row = {"kind": "omega2", "parameter": "ka", "estimate": 0.25, "note": "variance of eta (natural scale)"}
    typical = {"kind": "typical", "parameter": "ka", "estimate": 2.0}
    doc = {"estimates": [typical, {**row, "cv_percent": 53.29}]}
    _, bsv = estimates_tables(PopfitResult(doc, "estimates.json"))
    assert bsv["cv_percent"].tolist() == ["53.3"]
    _, old = estimates_tables(PopfitResult({"estimates": [typical, row]}, "estimates.json"))
    assert old["cv_percent"].tolist() == ["–"]


@pytest.mark.parametrize("distribution", ["log-normal", "Normal", ""])
def test_another_distribution_is_not_taken_for_log_normal(distribution: str) -> None:
    """A distribution neither ``lognormal`` nor ``normal`` is a programming error, not the log-normal CV."""
    with pytest.raises(ValueError, match="distribution"):
        bsv_cv_percent(0.09, 2.0, distribution)
