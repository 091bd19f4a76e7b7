"""The disposition summary's one-decimal percentage rounds a tie half away from zero (D-19.234).

`percent_of_enrolled` is a number shown as it is in the report's disposition table; it was Python's
``round(x, 1)``, which rounds a tie to the even digit: 1 of 16 enrolled infused read 6.2 %, 3 of 16 18.8 %,
where the demographics table and the findings (`stats.fixed`, D-19.189) and a validating programmer (SAS
ROUND) write 6.3 % and 18.8 %.
"""

from __future__ import annotations

from fractions import Fraction

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.analysis.disposition import disposition_summary

from .test_rounding_half_away import _half_away


def _membership(k: int, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject_id": [f"S{i:03d}" for i in range(n)],
            "dose_level": pd.array([1 if i < k else None for i in range(n)], dtype="Int64"),
            "lymphodepleted": [i < k for i in range(n)],
            "safety": [i < k for i in range(n)],
            "dlt_evaluable": [i < k for i in range(n)],
            "study_status": ["ONGOING"] * n,
            "discontinuation_reason": [""] * n,
            "died": [False] * n,
        }
    )


def _infused_percent(k: int, n: int) -> float:
    table = disposition_summary(_membership(k, n), (1,)).table
    row = table[(table["measure"] == "infused") & (table["group"] == "all")]
    return float(row["percent_of_enrolled"].iloc[0])


def test_one_of_sixteen_is_6_3_percent() -> None:
    assert _infused_percent(1, 16) == 6.3
    assert _infused_percent(5, 16) == 31.3


@settings(max_examples=property_examples(80), deadline=None)
@given(n=st.integers(1, 80), k=st.integers(0, 80))
def test_percent_of_enrolled_is_rounded_half_away(n: int, k: int) -> None:
    k = min(k, n)
    assert _infused_percent(k, n) == float(_half_away(Fraction(100 * k, n), 1))
