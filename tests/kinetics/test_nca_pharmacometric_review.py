"""Pharmacometric review of the NCA engine against PKNCA and the regulatory NCA conventions
(docs/science/decisions.md D-19.153 onwards). Expected values are hand computations with the rules of
docs/science/cellular-kinetics.md §2, written out in each test."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cartrial.kinetics import NcaOptions, nca

AUC_FAMILY = ("auclast", "aumclast", "aucall", "aucinf_obs", "aucinf_pred")


def _one(times, concs, options=None, **kwargs):  # type: ignore[no-untyped-def]
    frame = pd.DataFrame({"id": "S1", "t": times, "c": concs})
    result = nca(
        frame,
        subject="id",
        time="t",
        conc="c",
        time_unit="day",
        conc_unit="copies/ug",
        options=options,
        **kwargs,
    )
    return result.table.iloc[0]


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


@settings(max_examples=40, deadline=None)
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
