"""A MAP's label travels with its parameters, and a PD MAP says when its kinetic parameters are labelled.

docs/popfit.md §10: "A kinetic fit labelled NOT CONVERGED is flagged in the PD output", and issue 17: "a
non-converged fit is labelled so everywhere". The PD fit flagged an ebe.csv whose ``status`` says NOT
CONVERGED, but (1) ``map_parameters.csv`` — the kinetic input of a new patient's PD MAP (§5) — had no
``status`` column, so the MAP of an unconverged population lost its label there, and (2) the PD MAP
(`map_from_fit`) read the kinetic table's rows without looking at their ``status`` at all.
"""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pandas as pd
import pytest

from cartrial.kinetics.models import STEIN_2019_TYPICAL, STEIN_PARAMETERS
from cartrial.kinetics.popfit import PopulationData, map_estimate, map_from_fit
from cartrial.kinetics.popfit.pdmodel import pd_population_data
from cartrial.report.popfit import map_files

from .test_popfit_map import _population
from .test_popfit_pd_map import POPULATION, _titres


def _one_sample() -> PopulationData:
    return PopulationData.from_arrays(["NP"], [np.array([10.0])], [np.array([5000.0])], min_subjects=1)


@pytest.mark.parametrize(("converged", "status"), [(True, "converged"), (False, "NOT CONVERGED")])
def test_map_parameters_csv_carries_the_label(converged: bool, status: str) -> None:
    population = dataclasses.replace(_population(), converged=converged)
    result = map_estimate(population, _one_sample())
    table = pd.read_csv(io.StringIO(str(map_files(result, figures=False)["map_parameters.csv"])))
    assert set(table["status"]) == {status}


@pytest.mark.parametrize(("status", "noted"), [(None, False), ("converged", False), ("NOT CONVERGED", True)])
def test_a_pd_map_on_unconverged_kinetic_parameters_says_so(status: str | None, noted: bool) -> None:
    values = dict(zip(STEIN_PARAMETERS, STEIN_2019_TYPICAL.as_array(), strict=True))
    kinetic = pd.DataFrame([{"subject": "NEW", **values}])
    if status is not None:
        kinetic = kinetic.assign(status=status)
    data = pd_population_data(_titres([-7.0, 28.0], ["1:320", "1:100"]), "aqp4_igg_titre", min_subjects=1)
    result = map_from_fit(POPULATION, data, kinetic_parameters=kinetic, kinetic_source="map_parameters.csv")
    flagged = [n for n in result.notes if "map_parameters.csv is labelled NOT CONVERGED" in n]
    assert bool(flagged) is noted, result.notes


@pytest.mark.parametrize(
    ("search", "population", "status", "text"),
    [
        (True, True, "converged", "converged"),
        (True, False, "NOT CONVERGED", "NOT CONVERGED (population model)"),
        (False, True, "NOT CONVERGED", "NOT CONVERGED (MAP search)"),
        (False, False, "NOT CONVERGED", "NOT CONVERGED (population model, MAP search)"),
    ],
)
def test_the_map_status_is_one_rule_on_the_result(
    search: bool, population: bool, status: str, text: str
) -> None:
    """The label is the MapResult's (D-19.981): converged only when the MAP search and its population model
    both converged; map.json, map_parameters.csv and the figure's title all read it."""
    result = dataclasses.replace(
        map_estimate(_population(), _one_sample()), converged=search, population_converged=population
    )
    assert result.status == status and result.status_text == text
    assert result.to_dict()["status"] == status
    files = map_files(result, figures=False)
    assert set(pd.read_csv(io.StringIO(str(files["map_parameters.csv"])))["status"]) == {status}


def test_the_map_figure_title_says_a_failed_map_search() -> None:
    """The figure's title said nothing of a MAP search that failed under a converged population only in its
    own wording; it reads `MapResult.status_text` now (D-19.981)."""
    from cartrial.report.popfit_figures import map_figure

    result = dataclasses.replace(map_estimate(_population(), _one_sample()), converged=False)
    fig = map_figure(result)
    try:
        assert fig.axes[0].get_title().endswith("— NOT CONVERGED (MAP search)")
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)
