"""A virtual candidate's disease begins after its birth (D-19.1251).

Age and disease duration are drawn from two correlated distributions (docs/simulation.md §2); nothing tied
them, so a young candidate could be drawn with a disease older than itself (the example scenario, seed 2026:
candidate V578). Screening refuses a diagnosis before the earliest birth the age allows (D-19.1207), so
`prepare` failed. The bound is the candidate's age: the duration is never longer than the age.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario
from cartrial.simulation.population import draw_covariates
from cartrial.simulation.trials import prepare

SCENARIO = "examples/ct103a-nmosd/scenario.yaml"


def test_the_example_scenario_prepares_with_the_seed_that_drew_an_impossible_candidate() -> None:
    scenario, protocol = load_scenario(SCENARIO)
    prepare(
        scenario, load_protocol(protocol), 2026
    )  # raised "the diagnosis is before the earliest date of birth"


@settings(max_examples=property_examples(25), deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_no_drawn_disease_is_older_than_its_candidate(seed: int) -> None:
    scenario, _ = load_scenario(SCENARIO)
    population = scenario.population.model_copy(
        update={
            "disease_duration_years": scenario.population.disease_duration_years.model_copy(
                update={"median": 30.0}
            )
        }
    )
    c = draw_covariates(population, 400, np.random.default_rng(seed))
    assert np.all(c.disease_duration_years <= c.age_years)
