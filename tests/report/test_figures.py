"""Figure helpers: count-unit conversion, titre parsing, deterministic SVG for the same data."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartrial.analysis.model import Analysis, Dataset
from cartrial.errors import InputError
from cartrial.grading.ctcae import canonical_counts
from cartrial.neuro.titres import DEFAULT_SERIES
from cartrial.report.figures import build_figures

from .conftest import drawn_reciprocal as _reciprocal


def test_count_units_convert_to_10e9_per_litre() -> None:
    # 1 /mm³ = 1 /µL and 10^9/L = 10^9 / 10^6 µL = 10^3 /µL, so 1,500 /mm³ = 1.5 × 10^9/L; the figure reads
    # the grading engine's conversion (D-19.844), where an unknown unit is refused (before: drawn as NaN)
    assert canonical_counts(
        ["neutrophils"] * 3, [1500, 1.0, 1.0], ["/mm3", "10^9/L", "10^3/µL"]
    ).tolist() == [
        1.5,
        1.0,
        1.0,
    ]
    with pytest.raises(InputError):
        canonical_counts(["neutrophils"], [1.0], ["mg/dL"])


@given(st.integers(min_value=1, max_value=10**6))
def test_titre_reciprocal_reads_one_to_n(n: int) -> None:
    # the titre rule (D-19.628): a dilution of the assay series is its number; any other is refused, no
    # longer read leniently as its number
    if n in DEFAULT_SERIES:
        assert _reciprocal(f"1:{n}") == float(n)
    else:
        with pytest.raises(InputError):
            _reciprocal(f"1:{n}")
    assert math.isnan(_reciprocal(""))


def _km_only_analysis(events_day: float) -> Analysis:
    populations = pd.DataFrame(
        {
            "subject_id": ["A", "B"],
            "dose_level": [1, 1],
            "infusion_date": ["2021-01-01", "2021-01-02"],
            "follow_up_days": [100, 50],
            "safety": [True, True],
        }
    )
    km = pd.DataFrame(
        {
            "time_days": [0.0, events_day, 100.0],
            "at_risk": [2, 2, 1],
            "events": [0, 1, 0],
            "censored": [0, 0, 1],
            "survival": [1.0, 0.5, 0.5],
            "ci_low": [1.0, 0.1, 0.1],
            "ci_high": [1.0, 0.9, 0.9],
        }
    )
    datasets = {
        "populations": Dataset("populations", "p", populations, "enrolled", "x", ()),
        "relapse_free_km": Dataset("relapse_free_km", "km", km, "safety", "x", ()),
    }
    return Analysis({}, {}, datasets, ())


def test_same_data_same_svg_and_other_data_other_svg() -> None:
    first = build_figures(_km_only_analysis(40.0), {})
    second = build_figures(_km_only_analysis(40.0), {})
    other = build_figures(_km_only_analysis(60.0), {})
    assert first["km_relapse_free"].svg == second["km_relapse_free"].svg
    assert first["km_relapse_free"].svg != other["km_relapse_free"].svg
    # figures without data are left out, never drawn empty
    assert "expansion" not in first and "aqp4_titre" not in first and "blood_counts" not in first
