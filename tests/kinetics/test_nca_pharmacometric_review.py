"""Pharmacometric review of the NCA engine against PKNCA and the regulatory NCA conventions
(docs/science/decisions.md D-19.153 onwards). Expected values are hand computations with the rules of
docs/science/cellular-kinetics.md §2, written out in each test."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.kinetics import NcaOptions
from cartrial.kinetics.nca import interval_column

from .test_nca import _one

AUC_FAMILY = ("auclast", "aumclast", "aucall", "aucinf_obs", "aucinf_pred")


def test_auclast_starts_at_the_infusion_when_time_zero_is_not_sampled() -> None:
    """D-19.153: a profile whose first sample is after the infusion (day 1: 10, day 7: 100, day 14: 50,
    day 28: 20) integrates from a concentration of 0 at day 0, as AUC 0-28 already did (conc.origin):
    AUClast = the day-0 triangle 1·10/2 = 5 plus the rest; before, AUClast started at day 1 (5 less
    than AUC 0-28 although Tlast = 28), i.e. neither PKNCA (missing without imputation) nor Phoenix
    (0 inserted)."""
    options = NcaOptions(intervals=((0, 28),))
    late = _one([1, 7, 14, 28], [10.0, 100.0, 50.0, 20.0], options)
    sampled = _one([0, 1, 7, 14, 28], [0.0, 10.0, 100.0, 50.0, 20.0], options)
    for name in ("auclast", "aumclast", "aucall"):
        assert late[name] == pytest.approx(sampled[name], rel=1e-12), name
    assert late["auclast"] == pytest.approx(late["auc_0_28"], rel=1e-12)
    assert late["n_samples"] == 4 and late["n_blq"] == 0
    assert late["cmax"] == 100.0 and late["tmax"] == 7.0 and late["tlast"] == 28.0


def test_missing_time_zero_not_estimable_is_pknca_without_imputation() -> None:
    """D-19.153, option ``missing_time0 = not_estimable`` (PKNCA without ``impute``: "Requesting an AUC range
    starting (0) before the first measurement … is not allowed"): the AUCs from the dose are missing with the
    reason; Cmax, Tmax, lambda_z and the interpolating partial AUC are computed."""
    options = NcaOptions(intervals=((0, 28),), missing_time0="not_estimable")
    row = _one([1, 7, 14, 21, 28], [10.0, 100.0, 50.0, 30.0, 20.0], options)
    for name in (*AUC_FAMILY, "auc_pct_extrap_obs", "auc_pct_extrap_pred"):
        assert math.isnan(row[name]), name
    assert "no sample at time 0" in row["not_estimable"]
    assert row["cmax"] == 100.0 and not math.isnan(row["lambda_z"]) and not math.isnan(row["auc_0_28"])
    sampled = _one([0, 1, 7, 14, 21, 28], [0.0, 10.0, 100.0, 50.0, 30.0, 20.0], options)
    default = _one(
        [0, 1, 7, 14, 21, 28], [0.0, 10.0, 100.0, 50.0, 30.0, 20.0], NcaOptions(intervals=((0, 28),))
    )
    for name in AUC_FAMILY:  # a profile sampled at 0 is the same under both rules
        assert sampled[name] == pytest.approx(default[name], rel=1e-12), name


def test_missing_time0_option_is_validated_and_recorded() -> None:
    """The option takes zero | not_estimable, is refused otherwise and is in the recorded options."""
    from cartrial.errors import OptionError

    with pytest.raises(OptionError):
        NcaOptions(missing_time0="impute")
    assert NcaOptions().as_dict()["missing_time0"] == "zero"
    assert NcaOptions.from_parameters({"missing_time0": "not_estimable"}).missing_time0 == "not_estimable"
    assert "missing_time0=not_estimable" in NcaOptions(missing_time0="not_estimable").describe()


profile = st.lists(st.floats(min_value=1e-2, max_value=1e5), min_size=2, max_size=8)


@settings(max_examples=property_examples(40), deadline=None)
@given(concs=profile, first=st.floats(min_value=0.05, max_value=3.0))
def test_a_blq_sample_at_time_zero_changes_no_auc(concs, first):  # type: ignore[no-untyped-def]
    """Invariant (D-19.153): adding a BLQ sample at the infusion changes no AUC from the dose, since the
    concentration there is 0 either way."""
    times = [first + i for i in range(len(concs))]
    without = _one(times, concs)
    with_zero = _one([0.0, *times], [0.0, *concs])
    for name in AUC_FAMILY:
        if math.isnan(without[name]):
            assert math.isnan(with_zero[name]), name
        else:
            assert with_zero[name] == pytest.approx(without[name], rel=1e-9), name


@pytest.mark.parametrize("preset", ["pknca", "zero", "half_lloq"])
def test_persistence_is_the_last_quantifiable_sample_whatever_the_blq_substitution(preset: str) -> None:
    """D-19.155: ``persistence_days`` (rule ``tlast``) is the day of the last quantifiable sample. Under the
    ``half_lloq`` preset the trailing BLQ samples (days 90, 200, LLOQ 50) are LLOQ/2 = 25 for the AUCs and,
    as PKNCA with a number for ``conc.blq``, for Tlast; persistence was then day 200, a day the transgene was
    not detected. It is day 28 under every preset."""
    row = _one(
        [0, 7, 14, 28, 90, 200],
        [0.0, 1000.0, 500.0, 200.0, 0.0, 0.0],
        NcaOptions.from_preset(preset),
        lloq=50,
    )
    assert row["persistence_days"] == 28.0
    rule = NcaOptions.from_preset(preset, persistence_rule="last_positive_before_2_negatives")
    two = _one([0, 7, 14, 28, 90, 200], [0.0, 1000.0, 500.0, 200.0, 0.0, 0.0], rule, lloq=50)
    assert two["persistence_days"] == 28.0


positive_profile = st.lists(st.floats(min_value=1e-2, max_value=1e5), min_size=4, max_size=9)


@settings(max_examples=property_examples(60), deadline=None)
@given(
    concs=positive_profile,
    index=st.integers(min_value=0, max_value=8),
    factor=st.floats(min_value=1.0, max_value=50.0),
    method=st.sampled_from(["lin_up_log_down", "linear"]),
)
def test_auc_is_monotone_in_each_quantifiable_concentration(concs, index, factor, method):  # type: ignore[no-untyped-def]
    """Raising one quantifiable concentration never lowers AUClast, AUMClast, AUCall or the partial AUC: each
    segment's area (arithmetic or logarithmic mean × Δt) grows in both ends, and the two rules meet at
    C1 = C2."""
    index %= len(concs)
    times = [0.0, *(1.0 + i for i in range(len(concs)))]
    options = NcaOptions(auc_method=method, intervals=((0, 2.5),))
    base = _one(times, [0.0, *concs], options)
    raised = list(concs)
    raised[index] *= factor
    more = _one(times, [0.0, *raised], options)
    for name in ("auclast", "aumclast", "aucall", "auc_0_2.5"):
        assert more[name] >= base[name] * (1 - 1e-12), name
    assert more["cmax"] >= base["cmax"]


@settings(max_examples=property_examples(60), deadline=None)
@given(
    concs=positive_profile,
    scale=st.floats(min_value=1e-3, max_value=1e3),
    k=st.sampled_from([1 / 24, 7.0, 24.0, 1440.0]),
)
def test_scaling_concentrations_and_changing_the_time_unit(concs, scale, k):  # type: ignore[no-untyped-def]
    """Concentrations × s scale Cmax, Clast, every AUC and Clast,pred by s and leave Tmax, λz and the window
    unchanged; times × k (a change of time unit, e.g. days to hours) scale Tmax, Tlast, t½ and every AUC by
    k, AUMClast by k², λz by 1/k (the same profile in other units)."""
    times = [0.0, *(1.0 + 2.0 * i for i in range(len(concs)))]
    end = times[-1] / 2 + 0.25
    base = _one(times, [0.0, *concs], NcaOptions(intervals=((0, end), (0, math.inf))))
    scaled = _one(times, [0.0, *(c * scale for c in concs)], NcaOptions(intervals=((0, end), (0, math.inf))))
    stretched = _one(
        [t * k for t in times], [0.0, *concs], NcaOptions(intervals=((0, end * k), (0, math.inf)))
    )
    concentration_like = ("cmax", "clast", "clast_pred", "auclast", "aucall", "aumclast", "aucinf_obs")
    for name in (*concentration_like, "aucinf_pred", interval_column(0, end), "auc_0_inf"):
        if math.isnan(base[name]):
            assert math.isnan(scaled[name]) and math.isnan(stretched[name]), name
            continue
        assert scaled[name] == pytest.approx(base[name] * scale, rel=1e-9, abs=1e-300), name
    for name in ("tmax", "tlast", "lambda_z", "lambda_z_n", "half_life", "adj_r2"):
        if math.isnan(base[name]):
            assert math.isnan(scaled[name]), name
        else:
            assert scaled[name] == pytest.approx(base[name], rel=1e-6), name
    power = {"auclast": 1, "aucall": 1, "aucinf_obs": 1, "aucinf_pred": 1, "aumclast": 2, "tmax": 1}
    power |= {"tlast": 1, "half_life": 1, "lambda_z": -1, "cmax": 0, "clast_pred": 0}
    power |= {interval_column(0, end): 1}
    for name, p in power.items():
        key = interval_column(0, end * k) if name == interval_column(0, end) else name
        if math.isnan(base[name]):
            assert math.isnan(stretched[key]), name
        else:
            assert stretched[key] == pytest.approx(base[name] * k**p, rel=1e-6), name


@pytest.mark.parametrize("scale", [1.0, 0.9337749988280175, 12.859352686389139])
def test_a_flat_terminal_window_has_no_lambda_z_whatever_the_rounding(scale: float) -> None:
    """D-19.156: after Tmax (10^5 on day 1) the samples 50, 10^5, 50 on days 3, 5, 7 lie on a regression line
    of slope exactly 0 (R² = 0). The fitted slope came out as the rounding error of the sums, ±2e-16 by the
    scale of the data: at scale 1 λz = 2.2e-16 /day was "positive" and selected (t½ 3e15 days, AUCinf 2e17),
    at scale 12.86 it was negative (no λz): the result depended on the concentration unit. A slope within
    the rounding error of 0 is 0: no window with a positive λz, at every scale."""
    row = _one([0, 1, 3, 5, 7], [0.0, *(c * scale for c in (1e5, 50.0, 1e5, 50.0))])
    assert math.isnan(row["lambda_z"]) and math.isnan(row["aucinf_obs"])
    assert "no window with a positive lambda_z" in row["not_estimable"]


def test_a_barely_declining_window_keeps_its_lambda_z() -> None:
    """The rounding rule (D-19.156) leaves a real, if shallow, decline alone: 100, 99.99, 99.98 after Tmax."""
    row = _one([0, 1, 2, 3, 4], [0.0, 200.0, 100.0, 99.99, 99.98])
    expected = -(math.log(99.98) - math.log(100.0)) / 2
    assert row["lambda_z"] == pytest.approx(expected, rel=1e-6)


def test_cli_missing_time0_both_ways(tmp_path):  # type: ignore[no-untyped-def]
    """`cartrial nca --missing-time0 zero | not-estimable` (D-19.153): first sample on day 1 (10), then 100,
    50, 20 on days 7, 14, 28. Default: AUClast includes the day 0-1 triangle (5); not-estimable: blank with
    the reason."""
    import io

    from ..conftest import run_cartrial

    file = tmp_path / "p.csv"
    file.write_text("id,t,c\nA,1,10\nA,7,100\nA,14,50\nA,28,20\n")
    base = ["nca", str(file), "--subject", "id", "--time", "t", "--conc", "c", "--conc-unit", "copies/ug"]
    zero = pd.read_csv(io.StringIO(run_cartrial(*base).stdout))
    sampled = _one([0, 1, 7, 14, 28], [0.0, 10.0, 100.0, 50.0, 20.0])
    assert zero["auclast"].iloc[0] == pytest.approx(sampled["auclast"], rel=1e-9)
    blank = pd.read_csv(io.StringIO(run_cartrial(*base, "--missing-time0", "not-estimable").stdout))
    assert math.isnan(blank["auclast"].iloc[0]) and "no sample at time 0" in blank["not_estimable"].iloc[0]
    assert "missing_time0=not_estimable" in blank["nca_options"].iloc[0]
