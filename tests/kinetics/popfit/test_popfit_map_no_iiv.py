"""A parameter without IIV has no individual MAP interval (D-19.244): with the 12-subject model (IIV on
tmax, Cmax and α) `kinetics map` printed FOLDX "2279 – 2279", a zero-width 90 % interval that reads as
certainty, where the parameter is simply the population's typical value for every patient."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from cartrial import examples as cartrial_examples
from cartrial.kinetics.models import STEIN_2019_OMEGA2, STEIN_2019_TYPICAL, STEIN_PARAMETERS
from cartrial.kinetics.popfit import PopulationData, PopulationModel, PopulationSpec, Theta, map_estimate
from cartrial.kinetics.popfit.structural import STEIN2019

from ...conftest import run_cartrial

PK = Path(cartrial_examples.__file__).resolve().parent / "ct103a-nmosd" / "study" / "pk_samples.csv"
IIV = ("tmax_days", "cmax", "alpha_per_day")


def _population() -> PopulationModel:
    omega = np.diag([STEIN_2019_OMEGA2[n] for n in IIV])
    theta = Theta(np.log(STEIN_2019_TYPICAL.as_array()), np.zeros(0), omega, np.array([0.56]))
    return PopulationModel(PopulationSpec(STEIN2019, iiv=IIV), theta)


def test_parameters_without_iiv_have_no_interval_and_are_named() -> None:
    patient = PopulationData.from_arrays(
        ["NEW"], [np.array([7.0, 14.0, 28.0])], [np.array([5000.0, 2500.0, 400.0])], lloq=50.0, min_subjects=1
    )
    result = map_estimate(_population(), patient)
    rows = result.parameters.set_index("parameter")
    fixed = [n for n in STEIN_PARAMETERS if n not in IIV]
    for name in fixed:
        assert not rows.loc[name, "iiv"]
        assert math.isnan(rows.loc[name, "p05"]) and math.isnan(rows.loc[name, "p95"])
        assert math.isclose(rows.loc[name, "map_estimate"], rows.loc[name, "typical"], rel_tol=1e-12)
    for name in IIV:
        assert rows.loc[name, "iiv"] and rows.loc[name, "p05"] < rows.loc[name, "p95"]
    assert any(all(n in note for n in fixed) and "no IIV" in note for note in result.notes)


def test_the_command_shows_no_interval_for_them(tmp_path: Path) -> None:
    path = tmp_path / "estimates.json"
    path.write_text(json.dumps(_population().to_dict()))
    result = run_cartrial("kinetics", "map", PK, "--patient", "CT-003", "--population", path)
    assert result.exit_code == 0, result.stderr
    lines = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if line.count("│") > 3}
    assert "no IIV" in lines["foldx"] and "no IIV" in lines["beta_per_day"]
    assert "no IIV" not in lines["tmax_days"]
