"""Satterthwaite intervals of the variances and residual error parameters (`satterthwaite_interval`,
`fit_population(variance_ci=...)`, decisions D-17.28).

The interval is checked against the exact interval it reduces to (the variance of a normal sample with known
mean: Σx²/χ²_n(0.975) to Σx²/χ²_n(0.025), e.g. Casella & Berger, Statistical Inference, 2nd ed., §9.2), for
its invariants (hypothesis), and in a fit against the other choice, Wald on the log scale, on the same
estimates and standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from cartrial.errors import ConfigurationError
from cartrial.kinetics.popfit import SaemSettings, fit_population
from cartrial.kinetics.popfit.fit import Z95, satterthwaite_interval

from .test_popfit_profile import _one_compartment


@pytest.mark.parametrize("n", [3, 12, 100])
def test_it_is_the_exact_interval_of_a_normal_variance_with_known_mean(n: int) -> None:
    """v̂ = Σx²/n has observed information n/(2v̂²), so SE = v̂·√(2/n), ν = n, and the interval is the exact
    χ²_n interval of the textbook."""
    x = np.random.default_rng(n).normal(0.0, 1.7, n)
    v = float(np.sum(x**2) / n)
    low, high, nu = satterthwaite_interval(v, v * math.sqrt(2 / n))
    assert nu == pytest.approx(n, rel=1e-12)
    assert low == pytest.approx(np.sum(x**2) / stats.chi2.ppf(0.975, n), rel=1e-12)
    assert high == pytest.approx(np.sum(x**2) / stats.chi2.ppf(0.025, n), rel=1e-12)


def test_its_coverage_is_nominal_where_wald_on_the_log_scale_undercovers() -> None:
    """5000 samples of 12 from N(0, 2): the Satterthwaite interval covers 95 % (it is exact here), the Wald
    interval on the log scale about 93.6 % (P(5.39 ≤ χ²₁₂ ≤ 26.7))."""
    rng = np.random.default_rng(2026)
    n, truth = 12, 2.0
    v = np.sum(rng.normal(0.0, math.sqrt(truth), (5000, n)) ** 2, axis=1) / n
    se = v * math.sqrt(2 / n)
    ends = np.array([satterthwaite_interval(a, b)[:2] for a, b in zip(v, se, strict=True)])
    satterthwaite = np.mean((ends[:, 0] <= truth) & (truth <= ends[:, 1]))
    wald_log = np.mean(np.abs(np.log(v / truth)) <= Z95 * math.sqrt(2 / n))
    assert satterthwaite == pytest.approx(0.95, abs=0.01)
    assert wald_log == pytest.approx(0.936, abs=0.01)


@given(
    variance=st.floats(1e-8, 1e8),
    relative_se=st.floats(1e-4, math.sqrt(2)),
    widen=st.floats(1.01, 3.0),
)
def test_the_interval_holds_the_estimate_and_widens_with_the_standard_error(
    variance: float, relative_se: float, widen: float
) -> None:
    """Where a fit uses it (ν ≥ 1, SE/v ≤ √2) and down to ν ≈ 0.1 (SE/v ≈ 4.2): below about ν = 0.08 the lower
    end ν·v/χ²_ν(0.975) rises again as the SE grows (`SATTERTHWAITE_MIN_DF`)."""
    low, high, nu = satterthwaite_interval(variance, variance * relative_se)
    assert 0 < low < variance < high < math.inf
    assert nu == pytest.approx(2 / relative_se**2)
    wider_low, wider_high, _ = satterthwaite_interval(variance, variance * relative_se * widen)
    assert wider_low < low and wider_high > high


@given(variance=st.floats(1e-6, 1e6), relative_se=st.floats(1e-4, 1e-3))
def test_with_many_degrees_of_freedom_it_is_the_wald_interval(variance: float, relative_se: float) -> None:
    """ν = 2/(SE/v)² ≥ 2·10⁶: the ends differ from v ± 1.96 SE by O((SE/v)²) of v."""
    low, high, _ = satterthwaite_interval(variance, variance * relative_se)
    se = variance * relative_se
    assert low == pytest.approx(variance - Z95 * se, rel=10 * relative_se**2)
    assert high == pytest.approx(variance + Z95 * se, rel=10 * relative_se**2)


@pytest.mark.parametrize(
    ("variance", "se"), [(0.0, 0.1), (-1.0, 0.1), (1.0, 0.0), (1.0, math.nan), (math.inf, 1.0)]
)
def test_no_interval_without_a_positive_finite_variance_and_se(variance: float, se: float) -> None:
    assert all(math.isnan(v) for v in satterthwaite_interval(variance, se))


@pytest.fixture(scope="module")
def fits() -> dict[str, pd.DataFrame]:
    data = _one_compartment(20, 5)
    common = {
        "initial": {"ka": 0.5, "v": 2.0, "cl": 0.1},
        "settings": SaemSettings(seed=5, k1=100, k2=50),
    }
    return {
        method: fit_population(data, "one_compartment_oral", variance_ci=method, **common).estimates  # type: ignore[arg-type]
        for method in ("satterthwaite", "wald")
    }


def test_the_choice_changes_only_the_intervals_of_variances_and_residual_parameters(
    fits: dict[str, pd.DataFrame],
) -> None:
    sat, wald = fits["satterthwaite"], fits["wald"]
    pd.testing.assert_series_equal(sat["estimate"], wald["estimate"])
    pd.testing.assert_series_equal(sat["se"], wald["se"])
    variance = sat["kind"].isin(["omega2", "residual"])
    assert set(sat.loc[variance, "ci_method"]) == {"satterthwaite"}  # every ν ≥ 1 here
    assert sat.loc[variance, "note"].str.contains("Satterthwaite CI").all()
    assert set(wald.loc[variance, "ci_method"]) == {"wald_log"}
    pd.testing.assert_frame_equal(sat[~variance], wald[~variance])


def test_each_interval_is_the_satterthwaite_interval_of_its_variance(fits: dict[str, pd.DataFrame]) -> None:
    """Ω entries: the interval of the estimate and its SE; a residual SD σ: the square root of the interval of
    σ² with SE 2σ·SE(σ). Wald: exp(log θ ± 1.96 SE/θ)."""
    sat, wald = fits["satterthwaite"], fits["wald"]
    for (_, row), (_, other) in zip(sat.iterrows(), wald.iterrows(), strict=True):
        if row["kind"] == "omega2":
            low, high, nu = satterthwaite_interval(row["estimate"], row["se"])
        elif row["kind"] == "residual":
            low, high, nu = satterthwaite_interval(row["estimate"] ** 2, 2 * row["estimate"] * row["se"])
            low, high = math.sqrt(low), math.sqrt(high)
        else:
            continue
        assert (row["ci95_low"], row["ci95_high"]) == pytest.approx((low, high), rel=1e-12)
        assert f"{nu:.3g} df" in row["note"]
        half = Z95 * other["se"] / other["estimate"]
        assert (other["ci95_low"], other["ci95_high"]) == pytest.approx(
            (other["estimate"] * math.exp(-half), other["estimate"] * math.exp(half)), rel=1e-12
        )


def test_a_full_omega_gets_satterthwaite_variances_and_wald_covariances() -> None:
    est = fit_population(
        _one_compartment(20, 6),
        "one_compartment_oral",
        iiv=["ka", "cl"],
        omega="full",
        initial={"ka": 0.5, "v": 2.0, "cl": 0.1},
        settings=SaemSettings(seed=6, k1=80, k2=40),
    ).estimates
    assert set(est.loc[est["kind"] == "omega2", "ci_method"]) <= {"satterthwaite", "none"}
    assert set(est.loc[est["kind"] == "omega_cov", "ci_method"]) <= {"wald", "none"}


def test_an_unknown_method_is_refused_with_the_choices() -> None:
    with pytest.raises(
        ConfigurationError, match=r"variance_ci: not an allowed value .*; allowed: satterthwaite \| wald"
    ):
        fit_population(_one_compartment(5, 1), "one_compartment_oral", variance_ci="profile")


def test_below_one_degree_of_freedom_the_row_keeps_its_wald_interval() -> None:
    """RSE of a variance above 141 % (ν < 1): the Satterthwaite interval would span more than three orders of
    magnitude, so the row keeps the Wald interval, says so, and is labelled by it."""
    from cartrial.kinetics.popfit.fit import SATTERTHWAITE_MIN_DF, _log_wald_row, _variance_row

    for se_log, expected in ((1.0, "satterthwaite"), (1.5, "wald_log")):
        wald = _log_wald_row("omega2", "cl", 0.3, se_log, "-", "variance of eta", 10.0)
        row = _variance_row(dict(wald), "satterthwaite")
        assert row["ci_method"] == expected
        nu = 2 / se_log**2
        assert (nu >= SATTERTHWAITE_MIN_DF) == (expected == "satterthwaite")
        if expected == "wald_log":
            assert row == {**wald, "note": row["note"]} and "too few for a Satterthwaite" in row["note"]
