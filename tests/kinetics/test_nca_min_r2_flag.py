"""The minimum-R² quality flag of the half-life (`min_r2`, D-19.1411).

Source: shared/reference/cellular-kinetics.md §2.4 "Quality flags (post hoc, as in PKNCA's exclude_nca_*):
span ratio, maximum AUC%extrap, minimum R^2, minimum adjusted R^2 (default 0.9), ..."; PKNCA
``exclude_nca_min.hl.r.squared`` (R/exclude_nca.R: the half-life and every parameter depending on it are
excluded when ``r.squared < min.hl.r.squared``) with ``PKNCA.options("min.hl.r.squared")`` = 0.9
(tests/testthat/test-PKNCA.options.R). Expected R² by hand from the least-squares formula.
"""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.kinetics import NcaOptions

from .nca_support import nca_row, profile


def _one(times: list[float], concs: list[float], **options: object) -> pd.Series:
    return nca_row(profile(times, concs), NcaOptions(**options))  # type: ignore[arg-type]


def _r2_flag(flags: str) -> bool:
    """The R² flag ("r2 … < …"), told apart from the adjusted-R² flag ("adj_r2 … < …")."""
    return re.search(r"(^|; )r2 ", flags) is not None


# Tmax at day 1; the only window (3 points after Tmax) is days 2, 3, 4 at 50, 10, 20 copies/µg.
TIMES = [0.0, 1.0, 2.0, 3.0, 4.0]
CONCS = [0.0, 100.0, 50.0, 10.0, 20.0]


def _hand_r2() -> float:
    """R² of ln C on t over (2, ln 50), (3, ln 10), (4, ln 20): centred t = -1, 0, 1, so Sxx = 2,
    Sxy = ln 20 - ln 50 = ln 0.4, R² = Sxy² / (Sxx · Syy)."""
    y = [math.log(50.0), math.log(10.0), math.log(20.0)]
    mean = sum(y) / 3
    syy = sum((v - mean) ** 2 for v in y)
    return math.log(0.4) ** 2 / (2.0 * syy)


def test_r2_below_pknca_default_is_flagged() -> None:
    """R² = 0.322 < 0.9 (PKNCA min.hl.r.squared default): flagged "r2 0.322 < 0.9", beside the adjusted-R²
    flag; the half-life is kept (a flag, not an exclusion, by default)."""
    r2 = _hand_r2()
    assert r2 < 0.9
    row = _one(TIMES, CONCS)
    assert row["r2"] == pytest.approx(r2, rel=1e-12)
    assert f"r2 {r2:.3g} < 0.9" in row["quality_flags"] and _r2_flag(row["quality_flags"])
    assert "adj_r2" in row["quality_flags"]
    assert not math.isnan(row["half_life"])
    assert NcaOptions().as_dict()["min_r2"] == 0.9


def test_r2_flag_threshold_and_off() -> None:
    """Threshold 0.3 (below R² 0.322): no R² flag; None: no R² flag (adjusted R² still flagged)."""
    assert not _r2_flag(_one(TIMES, CONCS, min_r2=0.3)["quality_flags"])
    off = _one(TIMES, CONCS, min_r2=None)
    assert not _r2_flag(off["quality_flags"]) and "adj_r2" in off["quality_flags"]


def test_r2_equal_to_the_threshold_is_not_flagged() -> None:
    """Strict "<" (PKNCA exclude_nca_by_param: ``current_value < min_thr``): a threshold equal to the
    profile's R² (the hand value 0.322, the reported R² echoed back as the threshold so both are the same
    float) gives no R² flag; the next float above it does."""
    r2 = float(_one(TIMES, CONCS)["r2"])
    assert r2 == pytest.approx(_hand_r2(), rel=1e-12)
    assert not _r2_flag(_one(TIMES, CONCS, min_r2=r2)["quality_flags"])
    assert _r2_flag(_one(TIMES, CONCS, min_r2=math.nextafter(r2, 1.0))["quality_flags"])


def test_r2_flag_excludes_the_terminal_parameters() -> None:
    """With exclude_flagged and only the R² flag on (adjusted R², span ratio and %extrapolated off), the
    terminal parameters are blanked with the reason; Cmax and AUClast stay (PKNCA exclude())."""
    row = _one(
        TIMES,
        CONCS,
        min_adj_r2=None,
        min_span_ratio=None,
        max_auc_pct_extrap=None,
        exclude_flagged=True,
    )
    assert math.isnan(row["half_life"]) and math.isnan(row["lambda_z"]) and math.isnan(row["aucinf_obs"])
    assert "excluded by quality flag: r2 " in row["not_estimable"]
    assert row["cmax"] == 100.0 and not math.isnan(row["auclast"])


def test_r2_is_a_fraction_option() -> None:
    """min_r2 is 0 to 1, as min_adj_r2."""
    from cartrial.errors import CartrialError

    with pytest.raises(CartrialError):
        NcaOptions(min_r2=1.5)


@settings(max_examples=property_examples(40), deadline=None)
@given(
    concs=st.lists(st.floats(min_value=1e-2, max_value=1e4), min_size=5, max_size=9),
    threshold=st.sampled_from([0.5, 0.9, 0.99]),
)
def test_r2_flag_fires_exactly_below_its_threshold(concs: list[float], threshold: float) -> None:
    """Invariant: the R² flag is present if and only if the half-life's R² is below `min_r2`."""
    row = _one([float(i) for i in range(len(concs))], concs, min_r2=threshold)
    assert _r2_flag(row["quality_flags"]) == bool(row["r2"] < threshold)
