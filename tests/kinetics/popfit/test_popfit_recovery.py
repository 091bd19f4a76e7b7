"""Parameter recovery on simulated CAR-T-like data (docs/popfit.md §7) and M3 against M1.

Truth = the simulation inputs (Stein 2019 Table 1 typical values, IIV and residual SD), so the expectations
are independent of the estimator. The fast tests use one fixed-seed replicate; the 100-replicate study
(bias, coverage) is `benchmarks/bench_popfit.py` and the nightly test below.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom
from tests.conftest import property_examples

from cartrial.kinetics.models import STEIN_2019_TYPICAL, STEIN_PARAMETERS
from cartrial.kinetics.popfit import PopulationData, SaemSettings, fit_population
from cartrial.kinetics.popfit.recovery import (
    REDUCED_IIV,
    recovery_study,
    shift_markdown,
    simulate_cart_dataset,
    study_label,
    truth_table,
)
from cartrial.kinetics.popfit.structural import predict_one_compartment_oral


@pytest.fixture(scope="module")
def fit_100():  # type: ignore[no-untyped-def]
    data, _ = simulate_cart_dataset(100, seed=1001)
    return data, fit_population(data, "stein2019", settings=SaemSettings(seed=1001))


@pytest.mark.nightly  # a long study: `make nightly` (suite time, stop 47)
def test_100_subject_fit_recovers_the_simulation_values(fit_100) -> None:  # type: ignore[no-untyped-def]
    data, fit = fit_100
    assert 10 <= data.summary()["blq_percent"] <= 30
    assert fit.converged, fit.convergence_problems
    truth = truth_table()
    est = fit.estimates
    covered = 0
    for row in est.itertuples():
        t = truth[f"{row.kind}:{row.parameter}"]
        covered += row.ci95_low <= t <= row.ci95_high
        if row.kind == "typical":  # within 3 standard errors (log scale) and 50 %
            assert abs(np.log(row.estimate / t)) <= min(3 * row.se / row.estimate, np.log(1.5)), row.parameter
        if row.kind == "residual":
            assert row.estimate == pytest.approx(t, rel=0.1)
    # one replicate says little about coverage (that is the 100-replicate study); this only catches gross
    # miscalibration: misses beyond the 99.9 % quantile of Binomial(13, 0.05), i.e. more than 4 of 13
    misses = len(est) - covered
    assert misses <= binom.ppf(0.999, len(est), 0.05), misses


@pytest.mark.nightly  # a long study: `make nightly` (suite time, stop 47)
def test_fit_outputs_are_consistent(fit_100) -> None:  # type: ignore[no-untyped-def]
    data, fit = fit_100
    assert list(fit.ebe["subject"]) == list(data.subjects)
    assert np.isfinite(fit.likelihood["minus_2_log_likelihood"])
    ll = fit.likelihood
    assert ll["aic"] == pytest.approx(ll["minus_2_log_likelihood"] + 2 * 13)
    # Schwarz's N is the number of observations, as nlme's BIC (D-19.974; it was the 100 subjects)
    assert ll["bic"] == pytest.approx(ll["minus_2_log_likelihood"] + 13 * np.log(data.n_observations))
    # η-shrinkage on the 6 ω² rows, ε-shrinkage on the residual row (D-19.975; review: dropna() counted 7)
    est = fit.estimates
    eta_shrink = est.loc[est["kind"] == "omega2", "shrinkage_percent"]
    eps_shrink = est.loc[est["kind"] == "residual", "shrinkage_percent"]
    assert len(eta_shrink) == 6 and eta_shrink.notna().all() and (eta_shrink < 100).all()
    assert len(eps_shrink) == 1 and eps_shrink.notna().all() and (eps_shrink < 100).all()
    assert eps_shrink.iloc[0] == pytest.approx(ll["epsilon_shrinkage_percent"], rel=1e-12)
    assert (fit.estimates["status"] == "converged").all()


def test_12_subject_fit_runs_and_is_labelled() -> None:
    """12 subjects cannot identify 13 population parameters of the full Stein model reliably; the fit
    finishes and its label says whether it converged (the reasons are listed when not)."""
    data, _ = simulate_cart_dataset(12, seed=1)
    # Wald intervals only: the profile-likelihood intervals of such fits are tested in test_popfit_profile.py
    fit = fit_population(data, "stein2019", settings=SaemSettings(seed=1, k1=150, k2=80), ci="wald")
    assert fit.converged == (len(fit.convergence_problems) == 0)
    assert set(fit.estimates["status"]) == {fit.status}
    assert fit.to_dict()["status"] == fit.status


def _one_compartment_data(seed: int) -> tuple[PopulationData, float]:
    """60 subjects, 10 samples to 36 h, log-normal residual SD 0.6, LLOQ 2 (≈ 18 % BLQ, all late)."""
    rng = np.random.default_rng(seed)
    n = 60
    t = np.array([0.5, 1, 2, 4, 6, 8, 12, 16, 24, 36.0])
    psi = np.array([1.0, 1.0, 0.2]) * np.exp(rng.normal(0, 1, (n, 3)) * np.sqrt([0.0, 0.1, 0.1]))
    times = np.tile(t, (n, 1))
    y = predict_one_compartment_oral(psi, times, np.full(n, 100.0)) * np.exp(rng.normal(0, 0.6, times.shape))
    values = [np.where(v < 2.0, np.nan, v) for v in y]
    data = PopulationData.from_arrays(
        [f"S{i}" for i in range(n)], list(times), values, lloq=2.0, dose=np.full(n, 100.0)
    )
    return data, 0.2


@pytest.mark.nightly  # a long study: `make nightly` (suite time, stop 47)
def test_m3_recovers_elimination_where_m1_is_biased() -> None:
    """Dropping BLQ samples (M1) keeps only the late samples that happened to be high: the elimination rate
    k = CL/V is underestimated. The censored likelihood (M3) recovers it (Beal 2001)."""
    data, k_true = _one_compartment_data(5)
    assert 0.1 < data.n_blq / data.n_observations < 0.3
    k = {}
    for blq in ("m3", "m1"):
        fit = fit_population(
            data,
            "one_compartment_oral",
            blq=blq,
            iiv=["v", "cl"],
            initial={"ka": 0.5, "v": 2.0, "cl": 0.1},
            settings=SaemSettings(seed=1, k1=150, k2=80),
            compute_se=False,
        )
        k[blq] = float(np.exp(fit.model.theta.mu[2] - fit.model.theta.mu[1]))
    assert abs(k["m3"] / k_true - 1) < 0.08
    assert k["m1"] / k_true - 1 < -0.12
    assert abs(k["m1"] - k_true) > 2 * abs(k["m3"] - k_true)


@pytest.mark.nightly
def test_recovery_study_300_replicates_100_subjects() -> None:
    """The issue-17 targets on 100 subjects: fixed effects |bias| ≤ 5 %, variances ≤ 20 %, 95 % CI coverage
    90-98 % — on 300 replicates (the bench's main study), because a coverage from 100 replicates has a
    Monte-Carlo SE of 2.2 points: 13 calibrated intervals put one outside 90-98 % in about half of
    100-replicate studies, 3 % of 300-replicate ones (D-17.27; the first 100 replicates are reported on
    their own in docs/popfit.md §7). About 35 min on one core."""
    _, summary = recovery_study(100, 300, seed=11)
    fixed = summary[summary["parameter"].str.startswith("typical:")]
    var = summary[~summary["parameter"].str.startswith("typical:")]
    assert (fixed["relative_bias_percent"].abs() <= 5).all(), fixed
    assert (var["relative_bias_percent"].abs() <= 20).all(), var
    assert summary["coverage_percent"].between(90, 98).all(), summary


def test_reduced_iiv_simulation_and_truth() -> None:
    """A study with IIV on some parameters only: the others are the typical value in every subject, the
    truth table has no ω² for them, and the full-IIV draws are unchanged by the option."""
    _, full = simulate_cart_dataset(30, seed=5)
    _, reduced = simulate_cart_dataset(30, seed=5, iiv=REDUCED_IIV)
    typical = STEIN_2019_TYPICAL.as_array()
    for j, name in enumerate(STEIN_PARAMETERS):
        if name in REDUCED_IIV:
            assert np.array_equal(reduced[:, j], full[:, j])
        else:
            assert np.allclose(reduced[:, j], typical[j])
    assert {k for k in truth_table(REDUCED_IIV) if k.startswith("omega2:")} == {
        f"omega2:{n}" for n in REDUCED_IIV
    }
    assert study_label(12, REDUCED_IIV) == "12 subj., IIV on tmax_days, cmax, alpha_per_day"
    assert study_label(100, None, {"polish_rounds": 0}) == "100 subj., SAEM's last iterate"


@given(st.floats(-0.5, 0.5), st.integers(2, 6))
@settings(max_examples=property_examples(25), deadline=None)
def test_shift_table_reports_the_paired_log_shift(log_shift: float, replicates: int) -> None:
    """`shift_markdown`: a variant whose estimates are exp(s) times the reference's on every dataset shows
    a shift of 100·(exp(s) − 1) ± 0 and a geometric bias of its own."""
    truth = truth_table()
    rows = []
    for r in range(replicates):
        for key, value in truth.items():
            ref = value * math.exp(0.01 * (r + 1))
            rows.append(
                {"n_subjects": 9, "variant": "saem", "replicate": r, "parameter": key, "estimate": ref}
            )
            rows.append(
                {
                    "n_subjects": 9,
                    "variant": "other",
                    "replicate": r,
                    "parameter": key,
                    "estimate": ref * math.exp(log_shift),
                }
            )
    table = shift_markdown(pd.DataFrame(rows))
    line = next(row for row in table.splitlines() if row.startswith("| typical:foldx |"))
    # columns: parameter, saem geo. bias, other geo. bias, other − saem shift; each "mean ± SE" to 0.1
    cells = [tuple(float(x) for x in c.split("±")) for c in line.strip("|").split("|")[1:]]
    errors = 0.01 * np.arange(1, replicates + 1)
    se = float(np.std(errors, ddof=1)) / math.sqrt(replicates)
    m = float(errors.mean())
    expected = [
        (100 * math.expm1(m), 100 * math.exp(m) * se),
        (100 * math.expm1(m + log_shift), 100 * math.exp(m + log_shift) * se),
        (100 * math.expm1(log_shift), 0.0),
    ]
    assert np.allclose(cells, expected, atol=0.051)
