"""Infection periods (D-19.1313): Hill JA et al., Blood 2018;131:121 (abstract: infections "within 28 days
after CAR-T-cell infusion" and "between days 29 and 90") are the default periods, and
`analysis.options.infection_periods` sets them (strictly increasing whole days >= 0)."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from cartrial.analysis.toxicity import infections_by_period
from cartrial.errors import CartrialError
from cartrial.protocol.analysis_spec import AnalysisOptions


def _tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    membership = pd.DataFrame(
        {"subject_id": ["A"], "safety": [True], "infusion_date": ["2021-01-10"], "follow_up_days": [200]}
    )
    # onset day 29 (2021-02-08): Hill's second period; day 30 was in the first under 0-30
    teae = pd.DataFrame(
        {"subject_id": ["A"], "started_on": ["2021-02-08"], "category": ["infection"], "grade": ["2"]}
    )
    return teae, membership


def test_the_default_periods_are_hills() -> None:
    teae, membership = _tables()
    table = infections_by_period(teae, membership).set_index("period")
    assert list(table.index) == ["days 0-28", "days 29-90", "days > 90"]
    assert table["n_events"].tolist() == [0, 1, 0]
    assert AnalysisOptions().infection_periods == [28, 90]


def test_the_option_sets_the_periods_and_is_checked() -> None:
    teae, membership = _tables()
    periods = AnalysisOptions(infection_periods=[30, 180]).infection_periods
    table = infections_by_period(teae, membership, periods).set_index("period")
    assert list(table.index) == ["days 0-30", "days 31-180", "days > 180"]
    assert table["n_events"].tolist() == [1, 0, 0]
    for bad in ([], [90, 28], [28, 28], [-1, 90], [28.5]):
        with pytest.raises((ValidationError, CartrialError)):
            AnalysisOptions(infection_periods=bad)
