"""PKNCA ``aucint.inf.pred``: the partial AUC extrapolated from Clast,pred (D-19.967).

Source: PKNCA ``R/aucint.R`` ``pk.calc.aucint.inf.pred`` (``pk.calc.auxcint`` with ``clast = clast.pred``,
``auc.type = "AUCinf"``: after Tlast the level is Clast,pred·exp(-lambda_z·(t - Tlast)), integrated by the
log rule; a second point (Tlast, Clast,pred) when an interval end is interpolated after Tlast; an infinite
end adds Clast,pred/lambda_z) and ``R/interpolate.conc.R``; docs/science/cellular-kinetics.md §2.1, §2.5.
Expected values are hand calculations.

Profile: 0, 10, 8, 4, 2, 1.2 at 0, 1, 2, 4, 8, 12 with the manual lambda_z window [4, 12] (points 4, 2, 1.2
at 4, 8, 12). Least squares of ln C on t: slope = 4·(ln 1.2 − ln 4)/32 = ln(0.3)/8, so lambda_z =
−ln(0.3)/8 and exp(−8·lambda_z) = 0.3; Clast,pred = exp(mean ln C + slope·4) = 9.6^(1/3)·0.3^(1/2).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.kinetics.nca import NcaOptions, interval_column, nca_arrays

LZ = -math.log(0.3) / 8.0
CLAST_PRED = 9.6 ** (1.0 / 3.0) * math.sqrt(0.3)
# lin-up/log-down AUClast: 0→1 linear, then four log-down segments
AUCLAST = 5.0 + 2.0 / math.log(1.25) + 8.0 / math.log(2.0) + 8.0 / math.log(2.0) + 3.2 / math.log(2.0 / 1.2)


def _values(times: list[float], concs: list[float], intervals: tuple[tuple[float, float], ...]) -> dict:
    t, c = np.array([times]), np.array([concs])
    options = NcaOptions(lambda_z_window=(4.0, 12.0), intervals=intervals)
    values, _ = nca_arrays(t, c, np.ones_like(t, dtype=bool), options)
    return {name: float(array[0]) for name, array in values.items()}


PROFILE = ([0.0, 1.0, 2.0, 4.0, 8.0, 12.0], [0.0, 10.0, 8.0, 4.0, 2.0, 1.2])


def test_regression_by_hand() -> None:
    row = _values(*PROFILE, ())
    assert row["lambda_z"] == pytest.approx(LZ, rel=1e-12)
    assert row["clast_pred"] == pytest.approx(CLAST_PRED, rel=1e-12)
    assert row["auclast"] == pytest.approx(AUCLAST, rel=1e-12)


def test_end_after_tlast_extrapolates_from_clast_pred() -> None:
    """[0, 20]: AUClast + Clast,pred/lambda_z·(1 − 0.3); [14, 20] (both ends extrapolated):
    Clast,pred/lambda_z·(0.3^(1/4) − 0.3); [0, inf]: AUCinf,pred = AUClast + Clast,pred/lambda_z."""
    row = _values(*PROFILE, ((0.0, 20.0), (14.0, 20.0), (0.0, math.inf)))
    tail = CLAST_PRED / LZ
    assert row["aucint_inf_pred_0_20"] == pytest.approx(AUCLAST + tail * 0.7, rel=1e-12)
    assert row["aucint_inf_pred_14_20"] == pytest.approx(tail * (0.3**0.25 - 0.3), rel=1e-12)
    assert row["aucint_inf_pred_0_inf"] == pytest.approx(AUCLAST + tail, rel=1e-12)
    assert row["aucint_inf_pred_0_inf"] == pytest.approx(row["aucinf_pred"], rel=1e-12)
    # the obs form extrapolates from the observed 1.2 (unchanged)
    assert row["aucint_inf_obs_0_20"] == pytest.approx(AUCLAST + 1.2 / LZ * 0.7, rel=1e-12)


def test_end_before_tlast_equals_the_obs_form() -> None:
    """Inside the samples both forms interpolate the same way: [0, 12] is AUClast."""
    row = _values(*PROFILE, ((0.0, 12.0),))
    assert row["aucint_inf_pred_0_12"] == pytest.approx(AUCLAST, rel=1e-12)
    assert row["aucint_inf_pred_0_12"] == row["aucint_inf_obs_0_12"]


def test_blq_sample_after_tlast() -> None:
    """A BLQ sample at 16 (kept, last): [0, 16] has both ends sampled, so no point is added and the segment
    12→16 is the triangle from the observed Clast, 4·1.2/2; [0, 20] interpolates its end, so
    pk.calc.auxcint adds (12, Clast,pred) and the triangle starts from it, 4·Clast,pred/2 (the segment
    16→20 from 0 adds nothing)."""
    times, concs = PROFILE
    row = _values([*times, 16.0], [*concs, 0.0], ((0.0, 16.0), (0.0, 20.0)))
    assert row["aucint_inf_pred_0_16"] == pytest.approx(AUCLAST + 2.4, rel=1e-12)
    assert row["aucint_inf_pred_0_20"] == pytest.approx(AUCLAST + 2.0 * CLAST_PRED, rel=1e-12)


_level = st.floats(min_value=0.05, max_value=1e4)


@settings(max_examples=property_examples(150), deadline=None)
@given(concs=st.lists(_level, min_size=5, max_size=9), scale=st.floats(min_value=1e-3, max_value=1e3))
def test_infinite_interval_is_aucinf_pred_and_scales(concs: list[float], scale: float) -> None:
    """Properties: where lambda_z exists, aucint.inf.pred over [0, inf] is AUCinf,pred and over [0, Tlast]
    it is AUClast (without lambda_z both are missing, D-19.967), and it scales linearly with the
    concentrations (lambda_z is scale invariant)."""
    t = np.arange(len(concs), dtype=float)[None, :] * 3.0
    c = np.array([concs])
    tlast = float(t[0, -1])
    options = NcaOptions(intervals=((0.0, math.inf), (0.0, tlast), (0.0, tlast + 5.0)))
    present = np.ones_like(t, dtype=bool)
    values, _ = nca_arrays(t, c, present, options)
    scaled, _ = nca_arrays(t, c * scale, present, options)
    within = values["aucint_inf_pred_0_" + f"{tlast:g}"][0]
    if math.isnan(values["lambda_z"][0]):
        assert math.isnan(within)  # pk.calc.auxcint: NA without clast.pred and lambda.z (D-19.967)
    else:
        assert within == pytest.approx(values["auclast"][0], rel=1e-12)
        assert values["aucint_inf_pred_0_inf"][0] == pytest.approx(values["aucinf_pred"][0], rel=1e-12)
        for name in ("aucint_inf_pred_0_inf", interval_column(0, tlast + 5.0, prefix="aucint_inf_pred")):
            assert scaled[name][0] == pytest.approx(values[name][0] * scale, rel=1e-9)


def test_infinite_end_with_unsampled_start_adds_the_clast_pred_point() -> None:
    """[3, inf] with a kept BLQ at 16 (D-19.967): for an infinite end pk.calc.auxcint's missing_times is the
    start alone; 3 is not sampled, the end is after Tlast, so (12, Clast,pred) is added and the triangle
    12→16 starts from Clast,pred, 4·Clast,pred/2 (not 4·1.2/2). C(3) = 8·0.5^(1/2) (log-down between 8 at 2
    and 4 at 4); the segments 3→4, 4→8, 8→12 are log-down; the infinite end adds Clast,pred/lambda_z."""
    times, concs = PROFILE
    row = _values([*times, 16.0], [*concs, 0.0], ((3.0, math.inf), (2.0, math.inf)))
    c3 = 8.0 * math.sqrt(0.5)
    log_3_12 = (c3 - 4.0) / math.log(c3 / 4.0) + 8.0 / math.log(2.0) + 3.2 / math.log(2.0 / 1.2)
    expected = log_3_12 + 2.0 * CLAST_PRED + CLAST_PRED / LZ
    assert row["aucint_inf_pred_3_inf"] == pytest.approx(expected, rel=1e-12)
    assert row["aucint_inf_pred_3_inf"] == pytest.approx(32.649721, abs=1e-6)  # PKNCA, per the review
    # [2, inf]: no missing time (2 is sampled), so no added point: the triangle is from the observed 1.2
    log_2_12 = 8.0 / math.log(2.0) + 8.0 / math.log(2.0) + 3.2 / math.log(2.0 / 1.2)
    assert row["aucint_inf_pred_2_inf"] == pytest.approx(log_2_12 + 2.4 + CLAST_PRED / LZ, rel=1e-12)


def test_no_lambda_z_makes_every_inf_pred_interval_missing() -> None:
    """0, 10, 5, 2.5 at 0, 1, 2, 4 has no lambda_z (fewer than 3 points after Tmax). pk.calc.auxcint returns
    NA for aucint.inf.pred (clast.pred and lambda.z NA) even over [0, 2], inside the samples (D-19.967);
    aucint.inf.obs keeps 0→1 linear 5 plus 1→2 log-down (10 − 5)/ln 2."""
    t, c = np.array([[0.0, 1.0, 2.0, 4.0]]), np.array([[0.0, 10.0, 5.0, 2.5]])
    options = NcaOptions(intervals=((0.0, 2.0),))
    values, reasons = nca_arrays(t, c, np.ones_like(t, dtype=bool), options)
    assert math.isnan(values["aucint_inf_pred_0_2"][0])
    assert str(reasons["aucint_inf_pred_0_2"][0]).startswith("lambda_z not estimable (")
    assert values["aucint_inf_obs_0_2"][0] == pytest.approx(5.0 + 5.0 / math.log(2.0), rel=1e-12)
    assert reasons["aucint_inf_obs_0_2"][0] == ""
