"""NCA tests. Expected values come from PKNCA's published output (shared/reference/cellular-kinetics.md §3)
or from hand computation with the rules of §2 (formulas written out in each test)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import ConfigurationError, InputError
from cartrial.kinetics import AucMethod, LambdaZOrder, NcaOptions, PersistenceRule, nca

INF = float("inf")


def _theoph(validation_dir):  # type: ignore[no-untyped-def]
    return pd.read_csv(validation_dir / "theoph.csv")


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


@pytest.mark.parametrize(
    ("method", "auclast", "aumclast", "aucinf_obs", "aucinf_pred"),
    [
        (AucMethod.LIN_UP_LOG_DOWN, 147.234749, 1499.129085, 214.923632, 214.926654),
        (AucMethod.LINEAR, 148.923050, 1459.071103, 216.611933, 216.614956),
    ],
)
def test_theoph_subject_1_matches_pknca(validation_dir, method, auclast, aumclast, aucinf_obs, aucinf_pred):  # type: ignore[no-untyped-def]
    """Theoph subject 1, interval 0-Inf, PKNCA 0.12.1 defaults: published values in
    cellular-kinetics.md §3 (PKNCA vignette v02-example-theophylline and test-half.life.R); data R
    datasets::Theoph (shared/validation/theoph.csv). Relative tolerance 1e-6 (t1/2 1e-4 as PKNCA's test)."""
    data = _theoph(validation_dir)
    result = nca(
        data,
        subject="Subject",
        time="Time",
        conc="conc",
        time_unit="h",
        conc_unit="mg/L",
        options=NcaOptions(auc_method=method, intervals=((0, 24),)),
    )
    row = result.table.set_index("Subject").loc[1]
    rel = 1e-6
    assert row["cmax"] == pytest.approx(10.5, rel=rel)
    assert row["tmax"] == pytest.approx(1.12, rel=rel)
    assert row["tlast"] == pytest.approx(24.37, rel=rel)
    assert row["clast"] == pytest.approx(3.28, rel=rel)
    assert row["auclast"] == pytest.approx(auclast, rel=rel)
    assert row["aumclast"] == pytest.approx(aumclast, rel=rel)
    assert row["aucinf_obs"] == pytest.approx(aucinf_obs, rel=rel)
    assert row["aucinf_pred"] == pytest.approx(aucinf_pred, rel=rel)
    assert row["lambda_z"] == pytest.approx(0.048456997, rel=rel)
    assert row["half_life"] == pytest.approx(14.304378, rel=1e-6)
    assert row["half_life"] == pytest.approx(14.30438, rel=1e-4)
    assert row["adj_r2"] == pytest.approx(0.9999995, rel=rel)
    assert row["lambda_z_n"] == 3
    assert row["lambda_z_tfirst"] == pytest.approx(9.05, rel=rel)
    assert row["clast_pred"] == pytest.approx(3.280146, rel=rel)
    assert row["not_estimable"] == ""
    assert result.table["auc_unit"].iloc[0] == "mg·h/L"
    if method == AucMethod.LIN_UP_LOG_DOWN:
        # PKNCA vignette automatic interval 0-24: AUClast uses the samples inside 0-24 only (last at 12.12 h)
        assert row["auclast_0_24"] == pytest.approx(92.365442, rel=rel)


def test_theoph_all_subjects_are_estimable_and_consistent(validation_dir):  # type: ignore[no-untyped-def]
    """Identity AUCinf,obs = AUClast + Clast/lambda_z (cellular-kinetics.md §2.1) for all 12 subjects."""
    table = nca(
        _theoph(validation_dir), subject="Subject", time="Time", conc="conc", time_unit="h", conc_unit="mg/L"
    ).table
    assert len(table) == 12
    expected = table["auclast"] + table["clast"] / table["lambda_z"]
    np.testing.assert_allclose(table["aucinf_obs"], expected, rtol=1e-12)
    assert (table["lambda_z_n"] >= 3).all()


# Hand-built profile with a leading, a middle and two trailing BLQ samples (BLQ coded 0).
T = [0.0, 1.0, 2.0, 4.0, 6.0, 8.0, 12.0]
C = [0.0, 10.0, 0.0, 8.0, 4.0, 0.0, 0.0]


def test_blq_pknca_default_drops_middle_keeps_first_and_last():
    """PKNCA clean.conc.blq default first=keep, middle=drop, last=keep (cellular-kinetics.md §2.3);
    lin-up/log-down segments (§2.2): 0→10 linear 5; 10→8 over 3 d log 2·3/ln(10/8); 8→4 over 2 d log
    4·2/ln 2; AUCall adds the linear triangle (8-6)·4/2 to the kept trailing 0."""
    row = _one(T, C)
    auclast = 5 + 6 / math.log(1.25) + 8 / math.log(2)
    assert row["auclast"] == pytest.approx(auclast, rel=1e-12)
    assert row["aucall"] == pytest.approx(auclast + 4, rel=1e-12)
    assert row["tlast"] == 6 and row["clast"] == 4
    assert row["n_blq"] == 4  # BLQ samples given (whatever the rule did with them)


def test_blq_zero_keeps_middle_as_zero_with_linear_segments():
    """Phoenix-style keep-as-zero (§2.3): 10→0 and 0→8 are linear (a log segment into 0 is impossible)."""
    row = _one(T, C, NcaOptions.from_preset("zero"))
    assert row["auclast"] == pytest.approx(5 + 5 + 8 + 8 / math.log(2), rel=1e-12)
    assert row["aucall"] == pytest.approx(5 + 5 + 8 + 8 / math.log(2) + 4, rel=1e-12)


def test_blq_half_lloq_substitutes_half_lloq_after_first_quantifiable():
    """LLOQ/2 option (§2.3, a number substituted per position): with LLOQ 2, middle and trailing BLQ
    become 1, the pre-infusion BLQ stays 0. Segments: 5; log 9/ln 10; linear (1+8)/2·2 = 9;
    log 8/ln 2; log (4-1)·2/ln 4; flat 1·4 linear."""
    row = _one(T, C, NcaOptions.from_preset("half_lloq"), lloq=2.0)
    expected = 5 + 9 / math.log(10) + 9 + 8 / math.log(2) + 6 / math.log(4) + 4
    assert row["auclast"] == pytest.approx(expected, rel=1e-12)
    assert row["tlast"] == 12 and row["clast"] == 1


def test_blq_last_drop_removes_aucall_tail():
    """blq_last='drop' (§2.3): no trailing 0 is left, so AUCall equals AUClast."""
    row = _one(T, C, NcaOptions(blq_last="drop"))
    assert row["aucall"] == pytest.approx(row["auclast"], rel=1e-12)


def test_blq_first_drop_and_keep():
    """blq_first keep (default) integrates 0→0→5 (0 and 2.5); drop removes both BLQ samples, so no sample is
    at time 0 and the AUC from the dose starts from 0 there (missing_time0 zero, D-19.968): 0→5 over 0-2 (5),
    then 5 (it started at the first quantifiable, 5, before D-19.968); PKNCA (no imputation): missing."""
    times, concs = [0, 1, 2, 3], [0, 0, 5, 5]
    assert _one(times, concs)["auclast"] == pytest.approx(0 + 2.5 + 5, rel=1e-12)
    assert _one(times, concs, NcaOptions(blq_first="drop"))["auclast"] == pytest.approx(5 + 5, rel=1e-12)
    dropped = NcaOptions(blq_first="drop", missing_time0="not_estimable")
    assert math.isnan(_one(times, concs, dropped)["auclast"])


def test_lloq_and_blq_flag_code_values_as_blq():
    """Values below the LLOQ (or flagged BLQ) are BLQ (cellular-kinetics.md §1: coded 0 for NCA)."""
    flagged = pd.DataFrame(
        {"id": "S", "t": T, "c": [0, 10, 0.5, 8, 4, 0.3, 0], "flag": [1, 0, 1, 0, 0, 1, 1]}
    )
    a = nca(flagged, subject="id", time="t", conc="c", time_unit="d", conc_unit="u", blq_column="flag").table
    b = nca(flagged, subject="id", time="t", conc="c", time_unit="d", conc_unit="u", lloq=1.0).table
    assert a["auclast"].iloc[0] == pytest.approx(_one(T, C)["auclast"], rel=1e-12)
    assert b["auclast"].iloc[0] == pytest.approx(_one(T, C)["auclast"], rel=1e-12)


def test_half_lloq_without_lloq_is_a_configuration_error():
    with pytest.raises(ConfigurationError):
        _one(T, C, NcaOptions.from_preset("half_lloq"))


def _tail_rising_profile():  # type: ignore[no-untyped-def]
    times = np.array([0, 1, 2, 3, 4, 5, 6], dtype=float)
    concs = np.array([0, 100, 50, 25, 10, 10 * math.exp(0.1), 10 * math.exp(0.2)])
    return times, concs


def test_lambda_z_pknca_vs_phoenix_order():
    """PKNCA takes the max adjusted R² over all windows before removing lambda_z ≤ 0; Phoenix removes them
    first (cellular-kinetics.md §2.4). Here the last 3 points rise exactly (adj R² = 1, lambda_z < 0), so
    PKNCA finds no window and Phoenix picks the best declining window (regression recomputed with polyfit)."""
    times, concs = _tail_rising_profile()
    pknca = _one(times, concs)
    assert math.isnan(pknca["lambda_z"])
    assert "tolerance" in pknca["not_estimable"] and "lambda_z" in pknca["not_estimable"]
    phoenix = _one(times, concs, NcaOptions(lambda_z_order=LambdaZOrder.PHOENIX))
    windows = []
    for n in (3, 4, 5):
        x, y = times[-n:], np.log(concs[-n:])
        slope = np.polyfit(x, y, 1)[0]
        r2 = np.corrcoef(x, y)[0, 1] ** 2
        windows.append((n, -slope, 1 - (1 - r2) * (n - 1) / (n - 2)))
    declining = [w for w in windows if w[1] > 0]
    best_adj = max(w[2] for w in declining)
    chosen = max((w for w in declining if w[2] > best_adj - 1e-4), key=lambda w: w[0])
    assert phoenix["lambda_z"] == pytest.approx(chosen[1], rel=1e-9)
    assert phoenix["lambda_z_n"] == chosen[0]


def test_lambda_z_needs_three_points_after_tmax():
    """min.hl.points = 3 points strictly after Tmax (PKNCA half.life.R; §2.4)."""
    row = _one([0, 1, 2, 3], [0, 10, 5, 2])
    assert math.isnan(row["lambda_z"]) and math.isnan(row["aucinf_obs"])
    assert "fewer than 3 quantifiable points after Tmax" in row["not_estimable"]


def test_min_two_points_uses_a_two_point_window_only_when_exactly_two_candidates():
    """min_lambda_z_points = 2 (PKNCA min.hl.points = 2; cellular-kinetics.md §2.4 step 3: "special case:
    exactly 2 points when the minimum is set to 2"). Adjusted R² = 1 - (1 - R²)(n - 1)/(n - 2) is undefined
    for n = 2 (PKNCA ``adj.r.squared`` returns NA for n <= 2), so with more than 2 candidates a 2-point
    window never sets the best adjusted R² and is never chosen; with exactly 2 candidates it is used."""
    # candidates after Tmax (t=1): 60, 50, 20, 30 at t = 2..5; the last two rise (a 2-point fit with
    # R² = 1 and lambda_z < 0), the 3- and 4-point windows decline
    times, concs = [0, 1, 2, 3, 4, 5], [0, 100, 60, 50, 20, 30]
    row = _one(times, concs, NcaOptions(min_lambda_z_points=2))
    windows = []
    for n in (3, 4):
        x, y = np.array(times[-n:], float), np.log(concs[-n:])
        slope = np.polyfit(x, y, 1)[0]
        r2 = np.corrcoef(x, y)[0, 1] ** 2
        windows.append((n, -slope, 1 - (1 - r2) * (n - 1) / (n - 2)))
    best = max(w[2] for w in windows)
    chosen = max((w for w in windows if w[1] > 0 and w[2] > best - 1e-4), key=lambda w: w[0])
    assert row["lambda_z"] == pytest.approx(chosen[1], rel=1e-9)
    assert row["lambda_z_n"] == chosen[0]
    # the same profile with the default minimum of 3 gives the same window
    assert _one(times, concs)["lambda_z"] == pytest.approx(chosen[1], rel=1e-9)
    # exactly 2 candidates: the 2-point fit is used; its adjusted R² is undefined (NaN with a reason)
    two = _one([0, 1, 2, 4], [0, 100, 50, 12.5], NcaOptions(min_lambda_z_points=2))
    assert two["lambda_z"] == pytest.approx(math.log(4) / 2, rel=1e-12)
    assert two["lambda_z_n"] == 2 and two["r2"] == pytest.approx(1.0)
    assert math.isnan(two["adj_r2"]) and "adj_r2: undefined for a 2-point" in two["not_estimable"]
    # a manual 2-point window is fitted as given
    manual = _one([0, 1, 2, 4], [0, 100, 50, 12.5], NcaOptions(min_lambda_z_points=2, lambda_z_window=(2, 4)))
    assert manual["lambda_z"] == pytest.approx(math.log(4) / 2, rel=1e-12)


def test_manual_lambda_z_window():
    """Manual window (§2.4 include_half.life / §4 contraction half-life): every point in [1, 4] is used."""
    row = _one([0, 1, 2, 3, 4, 10], [0, 80, 40, 20, 10, 9], NcaOptions(lambda_z_window=(1, 4)))
    assert row["lambda_z"] == pytest.approx(math.log(2), rel=1e-12)
    assert row["lambda_z_n"] == 4


def test_partial_auc_interpolates_inside_segment():
    """aucint.last (§2.5): AUC 0-3 with samples at 0, 2, 4: linear 0→10 (10), then 10→5 log-down; the
    concentration at 3 is 10·(1/2)^(1/2) and the partial log area is (10-c3)·1/ln(10/c3)."""
    row = _one([0, 2, 4], [0, 10, 5], NcaOptions(intervals=((0, 3), (0, 10))))
    c3 = 10 * 0.5**0.5
    assert row["auc_0_3"] == pytest.approx(10 + (10 - c3) / math.log(10 / c3), rel=1e-12)
    # beyond Tlast the .last form extrapolates with zero
    assert row["auc_0_10"] == pytest.approx(row["auclast"], rel=1e-12)
    assert row["auclast_0_3"] == pytest.approx(10, rel=1e-12)
    # option interval_interpolation='linear' ([U] in the reference): C(3) = 7.5, partial area (10+7.5)/2
    linear = _one([0, 2, 4], [0, 10, 5], NcaOptions(intervals=((0, 3),), interval_interpolation="linear"))
    assert linear["auc_0_3"] == pytest.approx(10 + 8.75, rel=1e-12)


def test_partial_auc_linear_method_and_start_before_first_sample():
    """Linear interpolation with auc_method=linear; before the first sample C = 0 (PKNCA conc.origin)."""
    row = _one([1, 3], [4, 8], NcaOptions(auc_method="linear", intervals=((0, 2),)))
    # 0→1: 0 to 4 linear = 2; 1→2: 4 to 6 linear = 5
    assert row["auc_0_2"] == pytest.approx(7, rel=1e-12)


def test_samples_only_auclast_of_an_interval_follows_pknca_on_the_interval_data():
    """``auclast_<a>_<b>`` is PKNCA's ``auclast`` on the interval: only the samples inside [a, b] are used
    (cellular-kinetics.md §2.5 [V]; PKNCA pk.nca subsets the data to the interval before pk.calc.auxc), so
    (1) the BLQ positions (first / middle / last, §2.3) are those of the samples inside the interval,
    (2) with no sample at the start the AUC is missing (pk.calc.auxc: "Requesting an AUC range starting before
    the first measurement is not allowed"), and (3) when every sample inside is BLQ the AUC is 0
    (pk.calc.auxc: "If all conc input are zero, then the AU(M)C is zero")."""
    # (1) day 14 is a middle BLQ of the profile (dropped by default) but the first BLQ of [14, 28] (kept as 0)
    row = _one([0, 7, 14, 21, 28], [0, 500, 0, 300, 100], NcaOptions(intervals=((14, 28),)))
    assert row["auclast_14_28"] == pytest.approx(7 * 300 / 2 + 200 * 7 / math.log(3), rel=1e-12)
    # (2) no sample at day 0: missing with the reason; the interpolated aucint form stays (conc.origin 0)
    row = _one([1, 7, 14, 21, 28], [10, 500, 300, 100, 50], NcaOptions(intervals=((0, 28),)))
    assert (
        math.isnan(row["auclast_0_28"])
        and "auclast_0_28: no sample at the interval start" in (row["not_estimable"])
    )
    # AUClast also starts from 0 at the dose (D-19.153), so over [0, Tlast] the two agree
    assert row["auc_0_28"] == pytest.approx(row["auclast"], rel=1e-12)
    # (3) every sample inside [60, 90] is BLQ: 0, as aucint.last
    row = _one([0, 7, 14, 28, 60, 90], [0, 500, 300, 50, 0, 0], NcaOptions(intervals=((60, 90),)))
    assert row["auclast_60_90"] == 0.0 and row["auc_60_90"] == 0.0


def test_persistence_rules():
    """persistence_rule (cellular-kinetics.md §4): tlast, or the last positive before two BLQ in a row."""
    times = [0, 7, 14, 28, 60, 90, 180]
    concs = [0, 500, 300, 0, 0, 40, 0]
    assert _one(times, concs)["persistence_days"] == 90
    rule = PersistenceRule.LAST_POSITIVE_BEFORE_2_NEGATIVES
    assert _one(times, concs, NcaOptions(persistence_rule=rule))["persistence_days"] == 14


def test_all_blq_profile_is_not_estimable_with_reason():
    """All-BLQ profile: every parameter NaN with a stated reason (decisions §6, bad input)."""
    row = _one([0, 7, 14], [0, 0, 0], NcaOptions(intervals=((0, 28),)))
    assert math.isnan(row["cmax"]) and math.isnan(row["auc_0_28"])
    assert "all samples BLQ" in row["not_estimable"]


def test_bad_input_errors():
    """Negative concentration, duplicate times, non-numeric values and blank units are InputErrors."""
    with pytest.raises(InputError, match="negative"):
        _one([0, 1], [0, -1])
    with pytest.raises(InputError, match="duplicate"):
        _one([0, 1, 1], [0, 1, 2])
    with pytest.raises(InputError, match="not a number"):
        _one([0, 1], ["0", "abc"])
    frame = pd.DataFrame({"id": "S", "t": [0, 1], "c": [0, 1]})
    with pytest.raises(InputError, match="unit"):
        nca(frame, subject="id", time="t", conc="c", time_unit="day", conc_unit=" ")


def test_unsorted_times_are_sorted_and_noted():
    """Documented choice: unsorted times are sorted and the result says so (nca module docstring)."""
    frame = pd.DataFrame({"id": "S", "t": [4, 0, 2], "c": [5, 0, 10]})
    result = nca(frame, subject="id", time="t", conc="c", time_unit="d", conc_unit="u")
    assert any("sorted" in note for note in result.notes)
    assert result.table["auclast"].iloc[0] == pytest.approx(_one([0, 2, 4], [0, 10, 5])["auclast"])


def test_missing_concentration_dropped_and_counted():
    """PKNCA drops NA concentrations by default (§2.3); cartrial counts them in n_missing."""
    row = _one([0, 1, 2, 3], [0, 10, np.nan, 5])
    assert row["n_missing"] == 1 and row["n_samples"] == 3


def test_units_and_options_are_in_the_output():
    """Units carried through (decisions §6: copies/µg and day → copies·day/µg) and options recorded."""
    result = nca(
        pd.DataFrame({"id": "S", "t": [0, 1, 2], "c": [0, 5, 2]}),
        subject="id",
        time="t",
        conc="c",
        time_unit="day",
        conc_unit="copies/µg",
    )
    assert result.units["auclast"] == "copies·day/µg"
    assert result.table["auc_unit"].iloc[0] == "copies·day/µg"
    assert "lin_up_log_down" in result.table["nca_options"].iloc[0]
    assert result.metadata()["options"]["blq_middle"] == "drop"


@pytest.mark.parametrize("drop", [1e-9, 1e-7, 1e-5])
def test_a_nearly_flat_log_down_segment_keeps_its_digits(drop: float) -> None:
    """c(0) = 100, c(1) = 100·(1 − drop), c(2) = c(1). The first segment is log-down with k = −ln(1 − drop):
    its area is 100·(1 − drop)·drop/ln(1/(1 − drop))·… = 100·(1 − drop/2 − drop²/12 …) and its first moment
    100·(1/2 − k/3 + k²/8 …) (series of the exponential, exact to 1e-15 here); the second segment is flat
    (area c(1), moment 1.5·c(1)). np.log(c1/c2) of a ratio this close to 1 lost half the digits (found by the
    hypothesis invariants: AUC not proportional to the concentrations, log-down above linear)."""
    c1 = 100.0 * (1 - drop)
    k = -math.log1p(-drop)
    row = _one([0, 1, 2], [100.0, c1, c1])
    auc_first = 100.0 * (1 - k / 2 + k * k / 6 - k**3 / 24)
    aumc_first = 100.0 * (0.5 - k / 3 + k * k / 8 - k**3 / 30)
    assert row["auclast"] == pytest.approx(auc_first + c1, rel=1e-12)
    assert row["aumclast"] == pytest.approx(aumc_first + 1.5 * c1, rel=1e-11)


def test_auc_is_proportional_to_the_concentrations_when_two_nearly_agree() -> None:
    """The example hypothesis found: 0.0010000000000000002 then 0.001 (one rounding step apart), scaled by
    0.01; the AUC must scale by 0.01 to rounding."""
    concs = [0.0010000000000000002, 1215.877454533314, 0.0, 0.0, 0.0010000000000000002, 0.001]
    times = list(range(len(concs)))
    scaled = _one(times, [c * 0.01 for c in concs])["auclast"]
    assert scaled == pytest.approx(_one(times, concs)["auclast"] * 0.01, rel=1e-12)


profiles = st.lists(
    st.one_of(st.just(0.0), st.floats(min_value=1e-3, max_value=1e5)), min_size=4, max_size=10
).filter(lambda cs: sum(c > 0 for c in cs) >= 2)


@settings(max_examples=property_examples(30), deadline=None)
@given(concs=profiles, scale=st.floats(min_value=0.01, max_value=100))
def test_invariants(concs, scale):  # type: ignore[no-untyped-def]
    """Properties of the trapezoid rules (§2.2): AUCall ≥ AUClast ≥ 0; log-down never exceeds linear;
    AUC scales linearly with concentration; lambda_z is scale invariant; the vectorised run equals
    per-subject runs."""
    times = list(range(len(concs)))
    row = _one(times, concs)
    assert row["auclast"] >= 0 and row["aucall"] >= row["auclast"] - 1e-9
    linear = _one(times, concs, NcaOptions(auc_method="linear"))
    assert row["auclast"] <= linear["auclast"] * (1 + 1e-12) + 1e-12
    scaled = _one(times, [c * scale for c in concs])
    assert scaled["auclast"] == pytest.approx(row["auclast"] * scale, rel=1e-9, abs=1e-9)
    if not math.isnan(row["lambda_z"]):
        assert scaled["lambda_z"] == pytest.approx(row["lambda_z"], rel=1e-6)
    both = pd.DataFrame(
        {
            "id": ["A"] * len(concs) + ["B"] * len(concs),
            "t": times * 2,
            "c": list(concs) + [c * scale for c in concs],
        }
    )
    table = nca(both, subject="id", time="t", conc="c", time_unit="d", conc_unit="u").table
    assert table["auclast"].iloc[1] == pytest.approx(scaled["auclast"], rel=1e-12, abs=1e-12)


def test_pre_infusion_samples_are_not_part_of_the_profile() -> None:
    """A pre-infusion sample at a negative time (BLQ on day -3) is not integrated: AUClast and AUMClast equal
    those of the same profile without it, and AUC 0-28 takes the concentration at the infusion as 0 (a
    pre-infusion BLQ counts as 0 at day 0, docs/science/cellular-kinetics.md §4), not a value interpolated
    between day -3 and day 1 (was 1853.58, i.e. C(0) = 7.5). Such samples are counted in n_pre_dose."""
    options = NcaOptions(intervals=((0, 28),))

    def run(times: list[float], concs: list[float]) -> pd.DataFrame:
        frame = pd.DataFrame({"id": "S1", "t": times, "c": concs})
        return nca(
            frame, subject="id", time="t", conc="c", time_unit="day", conc_unit="copies/ug", options=options
        ).table

    with_pre = run([-3, 1, 7, 28], [0.0, 10.0, 100.0, 50.0])
    without = run([1, 7, 28], [10.0, 100.0, 50.0])
    with_zero = run([0, 1, 7, 28], [0.0, 10.0, 100.0, 50.0])
    for name in ("cmax", "tmax", "auclast", "aumclast", "auc_0_28"):
        assert with_pre[name].iloc[0] == pytest.approx(without[name].iloc[0]), name
    assert with_pre["auc_0_28"].iloc[0] == pytest.approx(with_zero["auc_0_28"].iloc[0])
    assert with_pre["n_pre_dose"].tolist() == [1] and without["n_pre_dose"].tolist() == [0]
    assert with_pre["n_samples"].tolist() == [3] and with_pre["n_missing"].tolist() == [0]
    only_pre = run([-5, -3], [0.0, 0.0])
    assert only_pre["n_pre_dose"].tolist() == [2] and math.isnan(only_pre["auclast"].iloc[0])


_NAMES = st.sampled_from(
    ["cmax", "tmax", "lambda_z", "half_life", "r2", "adj_r2", "auc_0_28", "auc_0.5_28", "aucinf_obs"]
)
_REASONS = st.sampled_from(
    [
        "fewer than 3 quantifiable points after Tmax",
        "no window with lambda_z > 0 has adjusted R² within the tolerance of the best window (PKNCA rule)",
        "lambda_z not estimable (fewer than 3 quantifiable points in the manual lambda_z window)",
        "no sample at the interval start 0 (PKNCA: an AUC cannot start before the first sample)",
        "excluded by quality flag: haemolysed; re-assayed",
    ]
)


@settings(max_examples=property_examples(200), deadline=None)
@given(st.dictionaries(_NAMES, _REASONS))
def test_parameter_reasons_reads_back_every_parameter_s_reason(given_reasons: dict[str, str]) -> None:
    """D-19.139: `parameter_reasons` is the inverse of the grouped ``not_estimable`` text."""
    from cartrial.kinetics.nca import _reason_text, parameter_reasons

    arrays = {name: np.array([reason], dtype=object) for name, reason in given_reasons.items()}
    assert parameter_reasons(_reason_text(arrays, 1)[0]) == given_reasons
