"""`pd_fit_inputs` (Python API, `cartrial.kinetics.popfit`): the inputs of a sequential PD fit as
`cartrial kinetics popfit --model pd` builds them — before, the PD model's horizon, its starting baseline
and the note on a kinetic fit that did not converge were put together in the command only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cartrial import examples as cartrial_examples
from cartrial.kinetics.models import STEIN_2019_TYPICAL, STEIN_PARAMETERS
from cartrial.kinetics.popfit import (
    PdFitInputs,
    PopulationData,
    SaemSettings,
    fit_population,
    pd_fit_inputs,
    pd_population_data,
)

from ...conftest import run_cartrial
from .conftest import FEW_DRAWS

PD = Path(cartrial_examples.__file__).resolve().parent / "ct103a-nmosd" / "study" / "pd_samples.csv"


def _ebe(subjects: list[str], status: str | None) -> pd.DataFrame:
    """Every subject at the published Stein 2019 typical values (the kinetic fit's EBEs)."""
    values = dict(zip(STEIN_PARAMETERS, STEIN_2019_TYPICAL.as_array(), strict=True))
    table = pd.DataFrame([{"subject": s, **values} for s in subjects])
    return table if status is None else table.assign(status=status)


def _data() -> PopulationData:
    return pd_population_data(pd.read_csv(PD, dtype=str), "aqp4_igg_titre", source=str(PD))


@pytest.mark.parametrize(("status", "noted"), [(None, False), ("converged", False), ("NOT CONVERGED", True)])
def test_a_kinetic_fit_that_did_not_converge_is_noted(status: str | None, noted: bool) -> None:
    data = _data()
    inputs = pd_fit_inputs(data, _ebe(list(data.subjects), status), source="ebe.csv")
    assert isinstance(inputs, PdFitInputs)
    assert any("ebe.csv is labelled NOT CONVERGED" in n for n in inputs.notes) is noted
    # each subject's kinetic input is its row, and the model predicts at every observed time
    assert list(inputs.data.dose) == list(range(inputs.data.n_subjects))
    typical = np.tile(np.asarray(inputs.structural.default_typical), (inputs.data.n_subjects, 1))
    last = np.nanmax(inputs.data.times[inputs.data.observed])
    times = np.full((inputs.data.n_subjects, 1), last)
    assert np.isfinite(inputs.structural.predict(typical, times, inputs.data.dose.reshape(-1, 1))).all()


def test_the_api_fit_is_the_cli_fit(tmp_path: Path, few_draws: None) -> None:
    data = _data()
    ebe = _ebe(list(data.subjects), None)
    ebe.to_csv(tmp_path / "ebe.csv", index=False)
    inputs = pd_fit_inputs(data, ebe, source=str(tmp_path / "ebe.csv"))
    # the same settings as the CLI's (`few_draws`: its importance-sampling draws too)
    settings = SaemSettings(k1=5, k2=5, seed=1, **FEW_DRAWS)  # type: ignore[arg-type]
    fit = fit_population(inputs.data, inputs.structural, settings=settings)
    cli = run_cartrial(
        "kinetics", "popfit", str(PD), "--model", "pd", "--individual-parameters", str(tmp_path / "ebe.csv"),
        "--k1", "5", "--k2", "5", "--seed", "1", "--no-figures", "--out", str(tmp_path / "out"), "--json",
    )  # fmt: skip
    assert cli.exit_code == 0, cli.stderr
    printed = {(e["kind"], e["parameter"]): e["estimate"] for e in json.loads(cli.stdout)["estimates"]}
    mine = {(r.kind, r.parameter): r.estimate for r in fit.estimates.itertuples()}
    assert mine.keys() == printed.keys()
    assert list(mine.values()) == pytest.approx(list(printed.values()), rel=1e-9)
