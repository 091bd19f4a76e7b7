"""Decisions §12 kinetics corrections, each with the review's case: PKNCA aucint semantics (BLQ at the
interval
end), quality flags with PKNCA's defaults, saturated per-subject fits refused and reported, every --json
command valid on input that yields NaN. Expected values are hand-computed from the rules written out in each
test (PKNCA R/aucint.R, R/interpolate.conc.R, R/auc_integrate.R; exclude_nca)."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import NotEstimableError
from cartrial.kinetics import (
    NcaOptions,
    derive_nca,
    derive_stein2019_fits,
    fit_stein2019,
    stein2019_concentration,
)
from cartrial.kinetics.nca import interval_column, parameter_reasons

from ..conftest import run_cartrial

INF = float("inf")


def _nca(times, concs, blq=None, **options):  # type: ignore[no-untyped-def]
    frame = pd.DataFrame({"id": "S1", "t": times, "c": concs})
    kwargs = {}
    if blq is not None:
        frame["blq"] = blq
        kwargs["blq_column"] = "blq"
    result = derive_nca(
        frame,
        subject="id",
        time="t",
        conc="c",
        conc_unit="copies/ug",
        options=NcaOptions(**options),
        **kwargs,
    )
    return result.table.iloc[0]


# the review's CAR-T shape: 310 copies/µg at day 21, BLQ at day 28 and after
CART_T = [0, 4, 10, 21, 28, 60]
CART_C = [None, 1000.0, 20000.0, 310.0, None, None]
CART_BLQ = [True, False, False, False, True, True]
UP = 4 * 1000 / 2 + 6 * (1000 + 20000) / 2  # linear up 0→4→10
DOWN = 11 * (20000 - 310) / math.log(20000 / 310)  # log down 10→21
TRIANGLE = 7 * 310 / 2  # linear 21→28 to the BLQ zero


def test_aucint_last_keeps_the_linear_segment_to_the_blq_zero_at_the_interval_end():
    """PKNCA aucint.last(0, 28) with BLQ at day 28: the sample is kept as 0 (BLQ 'last' = keep) and the
    segment 21→28 is integrated linearly (choose_interval_method with tlast = the interval's last time), so
    the triangle 7·310/2 counts. cartrial before this fix gave AUClast (the review: PKNCA 42,123 vs 41,037 on
    its profile — a difference of one such triangle). auc_0_28 is aucint.last."""
    row = _nca(CART_T, CART_C, CART_BLQ, intervals=((0, 28),))
    assert row["aucint_last_0_28"] == pytest.approx(UP + DOWN + TRIANGLE, rel=1e-12)
    assert row["auc_0_28"] == row["aucint_last_0_28"]
    assert row["auclast"] == pytest.approx(UP + DOWN, rel=1e-12)  # the previous auc_0_28
    assert row["aucint_all_0_28"] == pytest.approx(UP + DOWN + TRIANGLE, rel=1e-12)
    # day 28 is sampled: no extrapolation, so aucint.inf.obs needs no lambda_z here
    assert row["aucint_inf_obs_0_28"] == pytest.approx(UP + DOWN + TRIANGLE, rel=1e-12)
    # samples inside only (PKNCA auclast on [0, 28]) stops at Tlast
    assert row["auclast_0_28"] == pytest.approx(UP + DOWN, rel=1e-12)


def test_aucint_with_an_unsampled_end_after_tlast():
    """End 25 lies after Tlast (21) and is not sampled: aucint.last extrapolates 0 there and integrates the
    segment 21→25 with the log rule (a fall to 0 adds nothing); aucint.all puts C(25) on the line from Clast
    to the next (BLQ) sample, 310·3/7, and also integrates 21→25 with the log rule; aucint.inf.obs needs
    lambda_z, which this profile cannot give (one point after Tmax): missing, with the reason."""
    row = _nca(CART_T, CART_C, CART_BLQ, intervals=((0, 25),))
    assert row["aucint_last_0_25"] == pytest.approx(UP + DOWN, rel=1e-12)
    c25 = 310 * 3 / 7
    assert row["aucint_all_0_25"] == pytest.approx(
        UP + DOWN + 4 * (310 - c25) / math.log(310 / c25), rel=1e-12
    )
    assert math.isnan(row["aucint_inf_obs_0_25"])
    # read per parameter: the reason is grouped with aucint_inf_pred_0_25's, the same (D-19.967)
    reasons = parameter_reasons(row["not_estimable"])
    assert reasons["aucint_inf_obs_0_25"].startswith("lambda_z not estimable")
    assert reasons["aucint_inf_pred_0_25"] == reasons["aucint_inf_obs_0_25"]


def test_aucint_inf_obs_extrapolates_with_lambda_z():
    """Mono-exponential decline after Tmax (lambda_z = 0.1 exactly): aucint.inf.obs(0, 20) with Tlast 16
    adds the log segment from Clast to Clast·e^(-0.4); (0, inf) equals AUCinf,obs; (5, inf) starts from the
    log-interpolated C(5) = C(4)·e^(-0.1)."""
    times = [0, 1, 2, 4, 8, 16]
    concs = [0.0] + [100 * math.exp(-0.1 * (t - 1)) for t in times[1:]]
    row = _nca(times, concs, intervals=((0, 20), (0, INF), (5, INF)))
    assert row["lambda_z"] == pytest.approx(0.1, rel=1e-9)
    clast = concs[-1]
    c20 = clast * math.exp(-0.4)
    assert row["aucint_inf_obs_0_20"] == pytest.approx(row["auclast"] + (clast - c20) / 0.1, rel=1e-9)
    assert row["aucint_last_0_20"] == pytest.approx(row["auclast"], rel=1e-12)
    assert row["aucint_inf_obs_0_inf"] == pytest.approx(row["aucinf_obs"], rel=1e-12)
    assert row["auc_0_inf"] == row["aucint_inf_obs_0_inf"]
    c4, c5, c8 = concs[3], concs[3] * math.exp(-0.1), concs[4]
    tail_from_5 = (c5 - c8) * 3 / math.log(c5 / c8) + (c8 - clast) * 8 / math.log(c8 / clast) + clast / 0.1
    assert c4 > c5 > c8
    assert row["aucint_inf_obs_5_inf"] == pytest.approx(tail_from_5, rel=1e-9)


def test_quality_flags_with_pknca_defaults_and_exclusion():
    """PKNCA 0.12 defaults: span ratio < 2 (min.span.ratio), adjusted R² < 0.9, AUC %extrapolated > 20
    (max.aucinf.pext). A terminal phase over days 2-4 with lambda_z 0.1: span (4 - 2)/(ln 2/0.1) = 0.289;
    %extrap = 100·(C4/0.1)/AUCinf > 20. With exclude_flagged the terminal parameters are blanked with the
    reason; Cmax and AUClast stay."""
    times = [0, 1, 2, 3, 4]
    concs = [0.0] + [100 * math.exp(-0.1 * (t - 1)) for t in times[1:]]
    row = _nca(times, concs)
    span = 2 / (math.log(2) / 0.1)
    assert row["span_ratio"] == pytest.approx(span, rel=1e-9)
    assert f"span_ratio {span:.3g} < 2" in row["quality_flags"]
    assert "auc_pct_extrap_obs" in row["quality_flags"] and "adj_r2" not in row["quality_flags"]
    assert not math.isnan(row["half_life"])  # flagged, not excluded, by default
    excluded = _nca(times, concs, exclude_flagged=True)
    assert math.isnan(excluded["half_life"]) and math.isnan(excluded["aucinf_obs"])
    assert "excluded by quality flag: span_ratio" in excluded["not_estimable"]
    assert excluded["cmax"] == row["cmax"] and excluded["auclast"] == row["auclast"]
    relaxed = _nca(times, concs, min_span_ratio=None, max_auc_pct_extrap=None)
    assert relaxed["quality_flags"] == ""


@settings(max_examples=property_examples(40), deadline=None)
@given(
    concs=st.lists(st.floats(min_value=1e-2, max_value=1e4), min_size=5, max_size=9),
    min_span=st.sampled_from([0.5, 2.0, 5.0]),
    max_pct=st.sampled_from([5.0, 20.0, 50.0]),
)
def test_quality_flags_fire_exactly_at_their_thresholds(concs, min_span, max_pct):  # type: ignore[no-untyped-def]
    """Invariant: a flag is in quality_flags if and only if its value crosses its threshold."""
    times = list(range(len(concs)))
    row = _nca(times, concs, min_span_ratio=min_span, max_auc_pct_extrap=max_pct)
    flags = row["quality_flags"]
    assert ("span_ratio" in flags) == bool(row["span_ratio"] < min_span)
    assert ("adj_r2" in flags) == bool(row["adj_r2"] < 0.9)
    assert ("auc_pct_extrap_obs" in flags) == bool(row["auc_pct_extrap_obs"] > max_pct)


def _profile(days, seed=5):  # type: ignore[no-untyped-def]
    level = stein2019_concentration(days, 3900, 9.3, 24000, 0.16, 0.0079, 0.0032)
    return level * np.exp(np.random.default_rng(seed).normal(0, 0.2, len(days)))


def test_saturated_fit_is_refused_and_one_more_point_is_fitted():
    """7 quantifiable samples for 7 estimated quantities (6 parameters and the residual SD) is saturated:
    refused as not identifiable (the review saw residual SD 0.005 on such a fit); 8 are fitted."""
    seven = np.array([1, 4, 7, 10, 14, 21, 28], dtype=float)
    with pytest.raises(NotEstimableError, match="saturated"):
        fit_stein2019(seven, _profile(seven))
    eight = np.array([1, 4, 7, 10, 14, 21, 28, 90], dtype=float)
    fit = fit_stein2019(eight, _profile(eight))
    assert fit.diagnostics["n_quantifiable"] == 8


def test_refused_subjects_and_residual_sd_bias_are_reported():
    """The fitted subset is not the population: refused profiles are listed with their observed Cmax, a note
    says so, and the residual SD is also given corrected for its degrees of freedom, sd·sqrt(n/(n-6))."""
    rich = np.array([0.5, 2, 4, 7, 10, 14, 21, 28, 60, 90, 180, 365])
    sparse = np.array([1, 4, 7, 10, 14, 21, 28], dtype=float)
    frame = pd.concat(
        [
            pd.DataFrame({"subject_id": "HIGH", "actual_day": rich, "value": _profile(rich)}),
            pd.DataFrame({"subject_id": "LOW", "actual_day": sparse, "value": _profile(sparse) / 50}),
        ]
    )
    result = derive_stein2019_fits(frame, lloq=1)
    table = result.table.set_index("subject_id")
    assert math.isnan(table.loc["LOW", "cmax"]) and "saturated" in table.loc["LOW", "not_estimable"]
    sd, n = table.loc["HIGH", "residual_sd_log"], table.loc["HIGH", "n_quantifiable"]
    assert table.loc["HIGH", "residual_sd_log_df_corrected"] == pytest.approx(sd * math.sqrt(n / (n - 6)))
    summary = result.metadata()["summary"]
    assert summary["n_refused"] == 1 and summary["refused"][0]["subject_id"] == "LOW"
    group = summary["observed_cmax_by_group"][0]
    assert group["median_observed_cmax_refused"] < group["median_observed_cmax_fitted"]
    assert any("not the population" in note for note in result.notes)


def _strict_json(text: str) -> object:
    def refuse(token: str) -> None:
        raise AssertionError(f"invalid JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def test_every_kinetics_json_command_writes_null_for_nan(tmp_path, examples_dir):  # type: ignore[no-untyped-def]
    """`kinetics fit --json` on the example study crashed on NaN; every kinetics --json command now writes
    strict JSON with null for a value that is not a number."""
    pk = examples_dir / "ct103a-nmosd" / "study" / "pk_samples.csv"
    fit = run_cartrial(
        "kinetics",
        "fit",
        str(pk),
        "--by",
        "analyte",
        "--blq-col",
        "blq",
        "--lloq-col",
        "lloq",
        "--json",
    )
    assert fit.exit_code == 0, fit.output
    payload = _strict_json(fit.stdout)
    assert any(row["cmax"] is None for row in payload["rows"])  # type: ignore[index]
    short = tmp_path / "short.csv"
    short.write_text("id,t,c\nA,0,0\nA,1,10\nA,2,5\n")  # lambda_z not estimable → NaN
    nca = run_cartrial(
        "nca",
        str(short),
        "--subject",
        "id",
        "--time",
        "t",
        "--conc",
        "c",
        "--conc-unit",
        "u",
        "--interval",
        "0,inf",
        "--json",
    )
    assert nca.exit_code == 0, nca.output
    rows = _strict_json(nca.stdout)["rows"]  # type: ignore[index]
    assert rows[0]["lambda_z"] is None and rows[0]["auc_0_inf"] is None
    for model in ("stein2019", "cartrial-pd"):
        sim = run_cartrial(
            "kinetics", "simulate", "--model", model, "--subjects", "2", "--days", "0,7", "--json"
        )
        assert sim.exit_code == 0, sim.output
        assert len(_strict_json(sim.stdout)["rows"]) == 4  # type: ignore[index]


def test_nca_csv_has_quality_flags_column(tmp_path):  # type: ignore[no-untyped-def]
    file = tmp_path / "p.csv"
    file.write_text("id,t,c\nA,0,0\nA,1,100\nA,2,90.48\nA,3,81.87\nA,4,74.08\n")
    base = ["nca", str(file), "--subject", "id", "--time", "t", "--conc", "c", "--conc-unit", "u"]
    table = pd.read_csv(io.StringIO(run_cartrial(*base).stdout))
    assert "span_ratio" in table["quality_flags"].iloc[0] and not math.isnan(table["half_life"].iloc[0])
    excluded = pd.read_csv(io.StringIO(run_cartrial(*base, "--exclude-flagged").stdout))
    assert math.isnan(excluded["half_life"].iloc[0])


@settings(max_examples=property_examples(40), deadline=None)
@given(
    concs=st.lists(st.one_of(st.just(0.0), st.floats(min_value=1e-2, max_value=1e4)), min_size=4, max_size=9),
    end=st.floats(min_value=0.5, max_value=12.0),
)
def test_aucint_invariants(concs, end):  # type: ignore[no-untyped-def]
    """aucint.last ≤ aucint.all (the AUCall triangle only adds); both are ≥ 0; over [0, Tlast] aucint.last is
    AUClast; a longer interval never has less aucint.last area once past Tlast."""
    if not any(c > 0 for c in concs):
        return
    times = list(range(len(concs)))
    row = _nca(times, concs, intervals=((0, end), (0, 100.0)))
    last, every = (
        row[interval_column(0, end, prefix="aucint_last")],
        row[interval_column(0, end, prefix="aucint_all")],
    )
    if math.isnan(last):
        return
    assert 0 <= last <= every * (1 + 1e-12) + 1e-9
    tlast = row["tlast"]
    if tlast > 0:
        at_tlast = _nca(times, concs, intervals=((0, tlast),))
        assert at_tlast[interval_column(0, tlast, prefix="aucint_last")] == pytest.approx(
            row["auclast"], rel=1e-9, abs=1e-9
        )
    assert row["aucint_last_0_100"] >= min(last, row["auclast"]) - 1e-9
