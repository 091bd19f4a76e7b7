"""`map_from_fit` (Python API, `cartrial.kinetics.popfit`): the MAP of a new patient from a popfit's
``estimates.json`` that `cartrial kinetics map` prints — same estimates, same notes, same refusals — so a
notebook gets the CLI's answer. Before, the document reading, the unit check, the time-unit conversion, the
PD model built on the patient's kinetic parameters and the notes (pre-dose D-19.217, extrapolation
D-19.219) lived in the command only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cartrial.errors import InputError
from cartrial.kinetics.models import (
    STEIN_2019_OMEGA2,
    STEIN_2019_RESIDUAL_SD_LOG,
    STEIN_2019_TYPICAL,
    STEIN_PARAMETERS,
)
from cartrial.kinetics.popfit import (
    PopulationData,
    PopulationModel,
    PopulationSpec,
    Theta,
    map_estimate,
    map_from_fit,
)
from cartrial.kinetics.popfit.pdmodel import pd_population_data
from cartrial.kinetics.popfit.structural import STEIN2019

from ...conftest import run_cartrial

LAST_DAY = 100.0
UNIT = "copies/ug gDNA"


def _document() -> dict[str, object]:
    """A Stein 2019 population (published typical values and variances) with the data block a popfit
    writes: the population's data were in copies/ug gDNA, days, the last sample on day 100."""
    model = PopulationModel(
        PopulationSpec(STEIN2019),
        Theta(
            np.log(STEIN_2019_TYPICAL.as_array()),
            np.zeros(0),
            np.diag([STEIN_2019_OMEGA2[n] for n in STEIN_PARAMETERS]),
            np.array([STEIN_2019_RESIDUAL_SD_LOG]),
        ),
    )
    doc = model.to_dict()
    doc["data"] = {"value_unit": UNIT, "time_unit": "day", "last_time": LAST_DAY}
    return doc


def _samples(days: list[float], unit: str = UNIT) -> pd.DataFrame:
    n = len(days)
    return pd.DataFrame(
        {"subject_id": ["NP"] * n, "analyte": ["car_transgene"] * n, "actual_day": days,
         "value": [5000.0] * n, "unit": [unit] * n, "lloq": [50.0] * n, "blq": [False] * n}
    )  # fmt: skip


def _data(frame: pd.DataFrame, source: str = "p.csv") -> PopulationData:
    return PopulationData.from_frame(
        frame, source=source, allow_unquantified=True, min_subjects=1, drop_pre_dose=True
    )


def test_the_api_gives_the_cli_answer_with_its_notes(tmp_path: Path) -> None:
    days = [-3.0, 14.0, LAST_DAY + 20.0, LAST_DAY + 200.0]
    doc = _document()
    result = map_from_fit(doc, _data(_samples(days)), source="estimates.json")
    # two samples after day 100 (the population's last) and one before the infusion, counted by hand
    assert any("2 samples after the last sample time" in n for n in result.notes)
    assert any("1 sample before time 0" in n for n in result.notes)
    # the estimate itself is map_estimate's on the same model and the used samples
    plain = map_estimate(PopulationModel.from_dict(doc), _data(_samples(days)))
    assert np.allclose(result.parameters["map_estimate"], plain.parameters["map_estimate"])
    (tmp_path / "estimates.json").write_text(json.dumps(doc))
    _samples(days).to_csv(tmp_path / "p.csv", index=False)
    cli = run_cartrial(
        "kinetics", "map", str(tmp_path / "p.csv"), "--population", str(tmp_path / "estimates.json"), "--json"
    )
    assert cli.exit_code == 0, cli.stderr
    printed = json.loads(cli.stdout)
    assert printed["notes"] == list(result.notes)
    assert [p["map_estimate"] for p in printed["parameters"]] == pytest.approx(
        list(result.parameters["map_estimate"]), rel=1e-12
    )


def test_times_in_weeks_are_converted_to_the_model_days() -> None:
    doc = _document()
    in_days = map_from_fit(doc, _data(_samples([7.0, 14.0])))
    in_weeks = map_from_fit(doc, _data(_samples([1.0, 2.0])), time_unit="week")
    assert np.allclose(in_days.parameters["map_estimate"], in_weeks.parameters["map_estimate"])


@pytest.mark.parametrize("recorded", ["", " day", "day "])
def test_a_blank_or_padded_recorded_time_unit_reads_as_the_model_days(recorded: str) -> None:
    """Review of D-19.337: the document's ``data.time_unit`` is read by the option's rule, and its reading
    used: " day" was a KeyError traceback, a blank one (a population fitted without a time unit) was
    refused as missing where it means the model's own unit (days for Stein 2019)."""
    doc = _document()
    doc["data"] = {**doc["data"], "time_unit": recorded}  # type: ignore[dict-item]
    expected = map_from_fit(_document(), _data(_samples([7.0, 14.0])))
    result = map_from_fit(doc, _data(_samples([7.0, 14.0])))
    assert np.allclose(result.parameters["map_estimate"], expected.parameters["map_estimate"])


def test_samples_in_another_unit_are_refused() -> None:
    with pytest.raises(InputError) as caught:
        map_from_fit(_document(), _data(_samples([7.0, 14.0], unit="copies/mL"), source="other.csv"))
    (problem,) = caught.value.problems
    assert problem.file == "other.csv" and problem.field == "unit" and UNIT in str(problem.allowed)


def test_a_pd_population_needs_the_patients_kinetic_parameters() -> None:
    doc = {"format": "cartrial.popfit/1", "model": "cartrial_pd"}
    titres = pd.DataFrame({"subject_id": ["NEW"] * 2, "actual_day": [7.0, 28.0], "value": ["1:320", "1:100"]})
    data = pd_population_data(titres, "value", min_subjects=1, allow_unquantified=True)
    with pytest.raises(InputError) as caught:
        map_from_fit(doc, data)
    assert caught.value.problems[0].field == "kinetic_parameters"


def test_an_old_population_in_a_converted_unit_is_refused_with_re_run_popfit() -> None:
    """Review of D-19.781: a population fitted before the conversion with data.value_unit copies/ng gDNA
    (its cmax in copies/ng gDNA) and a patient in copies/ng gDNA, now read in copies/ug gDNA: the unit
    check named no cause ("another unit"). Refused saying to re-run popfit (D-19.781), no value quoted."""
    doc = _document()
    doc["data"] = {**doc["data"], "value_unit": "copies/ng gDNA"}  # type: ignore[dict-item]
    with pytest.raises(InputError) as refused:
        map_from_fit(doc, _data(_samples([7.0, 14.0], unit="copies/ng gDNA")))
    assert "re-run popfit (D-19.781)" in str(refused.value)


def test_a_population_in_the_standard_unit_takes_a_patient_in_another_unit_of_it() -> None:
    """The patient's 5,000,000 copies/mg gDNA are 5000 copies/ug gDNA (1 mg = 1000 ug): the same MAP as the
    patient recorded in copies/ug gDNA; a population spelt copies/µg gDNA is that unit too."""
    doc = _document()
    doc["data"] = {**doc["data"], "value_unit": "copies/\u00b5g gDNA"}  # type: ignore[dict-item]
    frame = _samples([7.0, 14.0], unit="copies/mg gDNA")
    frame["value"], frame["lloq"] = 5_000_000.0, 50_000.0
    converted = map_from_fit(doc, _data(frame))
    plain = map_from_fit(_document(), _data(_samples([7.0, 14.0])))
    assert np.allclose(converted.parameters["map_estimate"], plain.parameters["map_estimate"])
