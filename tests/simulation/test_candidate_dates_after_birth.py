"""No dated record of a virtual candidate is before the earliest birth its age allows (D-19.1251 amended).

Capping the drawn disease duration at the drawn age did not stop "diagnosis before birth": the diagnosis is
dated screening − round(age × 365.25) days while the candidate's age is int(age), and screening checks
against screening − (int(age) + 1) years + 1 day (`cartrial.protocol.birth.earliest_birth`, D-19.1207).
Screening 2024-03-15, age 18.9999: diagnosis 2005-03-15, earliest birth 2005-03-16. The 400-day minimum
and the several-agents minimum ignored the cap too (an age of 0 is allowed).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.protocol.birth import earliest_birth
from cartrial.simulation import load_scenario
from cartrial.simulation.population import IndicationProfile, candidate_record, draw_covariates

SCENARIO = "examples/ct103a-nmosd/scenario.yaml"


def _dates(value: Any) -> list[dt.date]:
    if isinstance(value, dict):
        return [d for k, v in value.items() if k != "screening_date" for d in _dates(v)]
    if isinstance(value, list):
        return [d for v in value for d in _dates(v)]
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        return [dt.date.fromisoformat(value)]
    return []


def _candidate(age: float, duration: float, relapse_days: list[int], b_cell: bool) -> Any:
    scenario, _ = load_scenario(SCENARIO)
    c = draw_covariates(scenario.population, 1, np.random.default_rng(0))
    return dataclasses.replace(
        c,
        age_years=np.array([age]),
        disease_duration_years=np.array([duration]),
        relapse_days_before=[relapse_days],
        recent_b_cell_depletion=np.array([b_cell]),
    )


def test_the_reviewed_counterexample_is_diagnosed_after_birth() -> None:
    c = _candidate(18.9999, 18.9999, [], False)
    record = candidate_record(c, 0, dt.date(2024, 3, 15), "V1")
    assert record["age_years"] == 18
    assert record["diagnosis"]["date"] >= "2005-03-16"  # was 2005-03-15


@settings(max_examples=property_examples(200), deadline=None)
@given(
    age=st.floats(0.0, 90.0),
    duration_fraction=st.floats(0.0, 1.0),
    relapse_days=st.lists(st.integers(1, 730), max_size=4),
    b_cell=st.booleans(),
    screening=st.dates(dt.date(1950, 1, 1), dt.date(2200, 12, 31)),
    min_agents=st.integers(1, 3),
)
def test_no_dated_record_is_before_the_earliest_birth(
    age: float,
    duration_fraction: float,
    relapse_days: list[int],
    b_cell: bool,
    screening: dt.date,
    min_agents: int,
) -> None:
    c = _candidate(age, age * duration_fraction, relapse_days, b_cell)
    profile = dataclasses.replace(IndicationProfile(), min_agents=min_agents)
    record = candidate_record(c, 0, screening, "V1", profile)
    born = earliest_birth(age_years=record["age_years"], age_on=screening)
    assert born is not None
    dates = _dates(record)
    assert dates  # the diagnosis at least
    assert min(dates) >= born
