"""The demographics table writes each continuous characteristic at the precision of its data (D-19.232).

Before, every characteristic had one setting (1 decimal) whatever its data: age, captured in whole years,
read "48.33 (8.02)" for its mean (two decimals, more than the data carry plus one) and "49.0 (40.0-56.0)" for
its median and range (a decimal the ages do not have); relapse counts "3.0 (2.0-3.0)". The rule: minimum and
maximum at the data's own precision, mean, SD and median one decimal more, every number rounded half away
from zero (`stats.fixed`, D-19.189). By hand from subjects.csv / infusions.csv (dose level 1): ages 49, 56,
40 → mean 145/3 = 48.33… → "48.3", SD 8.02 → "8.0", median "49.0", range "40-56".
"""

from __future__ import annotations

import statistics
from fractions import Fraction

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.analysis import Analysis
from cartrial.analysis.demographics import characteristics, demographics_table
from cartrial.analysis.stats import fixed

from .test_demographics_and_dlt import cell
from .test_rounding_half_away import _half_away


def test_example_age_is_written_at_its_precision(analysis: Analysis) -> None:
    table = analysis.datasets["demographics"].table
    assert cell(table, "Age at infusion, years", "mean (SD)", "dose level 1") == "48.3 (8.0)"
    assert cell(table, "Age at infusion, years", "median (min-max)", "dose level 1") == "49.0 (40-56)"
    assert cell(table, "Relapses in the 24 months before infusion", "median (min-max)") == "3.0 (2-3)"


SPECS = {s.column: s for s in characteristics(24, ())}


@settings(max_examples=property_examples(60), deadline=None)
@given(
    ages=st.lists(st.integers(18, 80), min_size=2, max_size=15),
    halves=st.lists(st.integers(60, 300), min_size=2, max_size=15),
)
def test_cells_are_the_data_precision_plus_one(ages: list[int], halves: list[int]) -> None:
    """Property: age (whole years) and weight (kg, here in steps of 0.5, exact in binary): minimum and
    maximum at the data's decimals, mean and median one more, rounded half away from zero on the exact
    rational value; SD one more decimal too."""
    n = min(len(ages), len(halves))
    ages, weights = ages[:n], [h / 2 for h in halves[:n]]
    frame = pd.DataFrame(
        {
            "subject_id": [f"S{i:02d}" for i in range(n)],
            "dose_level": pd.array([1] * n, dtype="Int64"),
            "age_years": pd.array(ages, dtype="Int64"),
            "weight_kg": weights,
        }
    )
    table = demographics_table(frame, [SPECS["age_years"], SPECS["weight_kg"]], [1])
    for label, values, data_decimals in (
        ("Age at infusion, years", [Fraction(a) for a in ages], 0),
        ("Weight at screening, kg", [Fraction(h, 2) for h in halves[:n]], 1),
    ):
        mean = sum(values, Fraction(0)) / n
        median = Fraction(statistics.median(values))
        sd = statistics.stdev([float(v) for v in values])
        d = data_decimals + 1
        sd_text = fixed(sd, d)  # irrational in general: the tested rounding of its shortest decimal form
        assert cell(table, label, "mean (SD)") == f"{_half_away(mean, d)} ({sd_text})"
        low, high = _half_away(min(values), data_decimals), _half_away(max(values), data_decimals)
        assert cell(table, label, "median (min-max)") == f"{_half_away(median, d)} ({low}-{high})"
