"""Partial-AUC column names write the interval's bounds exactly (D-6.2, D-19.1183): the shortest decimal that
reads back as the same number, so two different intervals never share a column and a bound never loses
digits. Before, the bounds were written with 6 significant digits: [0, 1.0000001] and [0, 1.0000002] were
both ``auc_0_1`` (the second AUC overwrote the first) and [0, 1234567] was ``auc_0_1.23457e+06``."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from cartrial.kinetics.nca import interval_column, nca
from cartrial.protocol.nca_options import NcaOptions


def _bounds(name: str, prefix: str = "auc") -> tuple[float, float]:
    start, end = name.removeprefix(prefix + "_").rsplit("_", 1)
    return float(start), float(end)


def test_whole_numbers_keep_the_short_names() -> None:
    assert interval_column(0, 28) == "auc_0_28"
    assert interval_column(0.0, 28.0) == "auc_0_28"
    assert interval_column(0, math.inf) == "auc_0_inf"
    assert interval_column(0.5, 7, prefix="auclast") == "auclast_0.5_7"


def test_bounds_are_exact() -> None:
    assert interval_column(0, 1234567) == "auc_0_1234567"  # was auc_0_1.23457e+06
    assert interval_column(0, 1.0000001) == "auc_0_1.0000001"  # was auc_0_1
    assert interval_column(0, 1.0000001) != interval_column(0, 1.0000002)


finite = st.floats(min_value=-1e6, max_value=1e7, allow_nan=False, allow_infinity=False)


@given(finite, finite, finite, finite)
def test_distinct_intervals_have_distinct_names_that_read_back(
    a: float, b: float, c: float, d: float
) -> None:
    first, second = interval_column(a, b), interval_column(c, d)
    assert _bounds(first) == (a, b)
    assert (first == second) == ((a, b) == (c, d))


def test_nca_keeps_both_near_intervals() -> None:
    days = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0])
    frame = pd.DataFrame({"subject_id": "S1", "actual_day": days, "value": [0, 10, 20, 30, 20, 10]})
    options = NcaOptions(intervals=((0.0, 1.0000001), (0.0, 1.0000002)))
    table = nca(
        frame, subject="subject_id", time="actual_day", conc="value", time_unit="day", conc_unit="copies/ug",
        options=options,
    ).table  # fmt: skip
    assert "auc_0_1.0000001" in table.columns and "auc_0_1.0000002" in table.columns
