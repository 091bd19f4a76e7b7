"""A manual lambda_z window (`lambda_z_window`) fits exactly the quantifiable points inside it, whatever
`min_lambda_z_points` says (D-19.1410).

Source: shared/reference/cellular-kinetics.md §2.4 step 8 ("include_half.life (use exactly these points)");
PKNCA ``R/half.life.R`` (``pk.calc.half.life``, argument ``manually.selected.points``): "When TRUE, this
option causes the options of adj.r.squared.factor, min.hl.points, and allow.tmax.in.half.life to be
ignored"; the fit is made when any point is left. A slope needs 2 points, so a window holding fewer than 2
quantifiable points has no half-life. Expected values by hand from the log-linear fit through the points.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.kinetics import NcaOptions

from .nca_support import nca_row, profile


def _one(times: list[float], concs: list[float], options: NcaOptions) -> pd.Series:
    return nca_row(profile(times, concs), options)


TIMES = [0.0, 1.0, 2.0, 4.0, 8.0]
CONCS = [0.0, 100.0, 50.0, 12.5, 10.0]


@pytest.mark.parametrize("minimum", [2, 3, 5])
def test_two_point_manual_window_is_fitted_whatever_the_minimum(minimum: int) -> None:
    """Window [2, 4] holds (2, 50) and (4, 12.5): lambda_z = ln(50/12.5)/(4 - 2) = ln 4 / 2 = ln 2, so
    t1/2 = 1 day; the window's last point is day 4, Tlast is day 8 (10 copies/µg), so Clast,pred =
    12.5·exp(-ln 2·(8 - 4)) = 12.5/16 = 0.78125; adjusted R² undefined for 2 points (PKNCA NA). Before:
    missing ("fewer than 3 quantifiable points in the manual lambda_z window") under the default minimum 3."""
    row = _one(TIMES, CONCS, NcaOptions(lambda_z_window=(2.0, 4.0), min_lambda_z_points=minimum))
    assert row["lambda_z"] == pytest.approx(math.log(2), rel=1e-12)
    assert row["half_life"] == pytest.approx(1.0, rel=1e-12)
    assert row["lambda_z_n"] == 2
    assert row["lambda_z_tfirst"] == 2.0 and row["lambda_z_tlast"] == 4.0
    assert row["clast_pred"] == pytest.approx(0.78125, rel=1e-12)
    assert math.isnan(row["adj_r2"]) and "adj_r2: undefined for a 2-point" in row["not_estimable"]


def test_manual_window_with_fewer_points_than_the_minimum_uses_them_all() -> None:
    """Window [1, 8] (Tmax included, as PKNCA's manual points ignore allow.tmax.in.half.life) with a
    minimum of 5 points and 4 inside: fitted with all 4 points (least squares on ln C); before D-19.1410
    this gave no half-life (4 < 5)."""
    row = _one(TIMES, CONCS, NcaOptions(lambda_z_window=(1.0, 8.0), min_lambda_z_points=5))
    x = [1.0, 2.0, 4.0, 8.0]
    y = [math.log(v) for v in (100.0, 50.0, 12.5, 10.0)]
    mx, my = sum(x) / 4, sum(y) / 4
    slope = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True)) / sum((a - mx) ** 2 for a in x)
    assert row["lambda_z"] == pytest.approx(-slope, rel=1e-12)
    assert row["lambda_z_n"] == 4


def test_one_point_manual_window_has_no_half_life() -> None:
    """Window [3, 5] holds only (4, 12.5): no slope from one point; the reason names the manual window."""
    row = _one(TIMES, CONCS, NcaOptions(lambda_z_window=(3.0, 5.0)))
    assert math.isnan(row["lambda_z"]) and math.isnan(row["half_life"])
    assert "fewer than 2 quantifiable points in the manual lambda_z window" in row["not_estimable"]


def test_rising_manual_window_has_no_half_life() -> None:
    """Window [8, 12] holds (8, 8) and (12, 10): rising, lambda_z < 0, no half-life (PKNCA flags a negative
    half-life from manually selected points as excluded)."""
    row = _one([*TIMES, 12.0], [*CONCS[:-1], 8.0, 10.0], NcaOptions(lambda_z_window=(8.0, 12.0)))
    assert math.isnan(row["lambda_z"])
    assert "positive lambda_z" in row["not_estimable"]


@given(
    concs=st.lists(st.floats(min_value=0.01, max_value=1e6), min_size=2, max_size=6),
    minimum=st.integers(min_value=2, max_value=8),
)
@settings(max_examples=property_examples(60), deadline=None)
def test_manual_window_uses_every_point_when_declining(concs: list[float], minimum: int) -> None:
    """Property: a strictly declining manual window of n ≥ 2 points is fitted with all n points, for any
    `min_lambda_z_points`, and its lambda_z is positive."""
    values = sorted(set(concs), reverse=True)
    assume(len(values) >= 2 and values[-1] / values[0] <= 0.999)
    times = [float(10 + i) for i in range(len(values))]
    row = _one(
        [0.0, *times],
        [0.0, *values],
        NcaOptions(lambda_z_window=(10.0, times[-1]), min_lambda_z_points=minimum),
    )
    assert row["lambda_z_n"] == len(values)
    assert row["lambda_z"] > 0
