"""A population in which nobody is eligible is refused naming why (`check_feasible`): the criteria that
blocked candidates and, since D-19.1027, how many candidates were incomplete — blocked by no criterion, but
with one that could not be assessed — and which criteria could not be assessed. Before, only the blocking
criteria were listed, so candidates left incomplete (an ELISA-only AQP4-IgG where the protocol requires a
cell-based assay, `inc_aqp4_igg` of the example protocol) were not accounted for in the message."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from cartrial.errors import InputError
from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare
from cartrial.simulation.population import ScreenedPool, check_feasible, draw_covariates


def test_the_message_counts_the_incomplete_candidates_and_names_what_could_not_be_assessed(
    make_scenario: Callable[..., Path],
) -> None:
    scenario, _protocol = load_scenario(make_scenario())
    covariates = draw_covariates(scenario.population, 10, np.random.default_rng(0))
    # by hand: 10 screened, 4 blocked by the age criterion, the 6 others incomplete, all 6 without an
    # assessable AQP4-IgG and 2 of them without an assessable EDSS too
    pool = ScreenedPool(
        covariates, np.zeros(10, dtype=bool), {"inc_age": 4}, 6, {"inc_aqp4_igg": 6, "inc_edss": 2}
    )
    with pytest.raises(InputError) as caught:
        check_feasible(pool, "scenario.yaml")
    (problem,) = caught.value.problems
    assert (
        "(10 screened): inc_age blocked 4 of 10, 6 incomplete (cannot assess: inc_aqp4_igg, inc_edss);"
        in problem.message
    )
    assert problem.file == "scenario.yaml" and problem.field == "population"


def test_an_elisa_only_population_is_refused_as_incomplete_on_the_cell_based_criterion(
    make_scenario: Callable[..., Path],
) -> None:
    """Nobody has a cell-based AQP4-IgG result: the example protocol's `inc_aqp4_igg` (cell-based assay) can
    be assessed for nobody, so every candidate not blocked by another criterion is incomplete."""
    path = make_scenario({"population": {"screening": {"aqp4_cell_based_fraction": 0.0}}, "pool_size": 100})
    scenario, protocol = load_scenario(path)
    with pytest.raises(InputError) as caught:
        prepare(scenario, load_protocol(protocol), 0)
    (problem,) = caught.value.problems
    found = re.search(r"(\d+) incomplete \(cannot assess: ([^)]*)\)", problem.message)
    assert found is not None, problem.message
    assert 0 < int(found.group(1)) <= 100
    assert "inc_aqp4_igg" in found.group(2).split(", ")
