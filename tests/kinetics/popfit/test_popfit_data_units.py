"""Every unit popfit and map state is the data's, never a model placeholder (D-19.463): a rate is per the
data's time unit (``1/h``, not ``1/time``), the additive residual SD of a linear-scale fit is in the data's
concentration unit (not "SD"), and the range of a refused ``--initial`` value is in the unit of the data
fitted (cells/uL, not the Stein model's copies/ug)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from cartrial import examples as cartrial_examples
from cartrial.kinetics.popfit.structural import MODELS, parameter_units

from ...conftest import run_cartrial

PK = Path(cartrial_examples.__file__).resolve().parent / "ct103a-nmosd" / "study" / "pk_samples.csv"
INDOMETH = Path(__file__).resolve().parents[2] / "data" / "popfit" / "indometh.csv"
FAST = ("--k1", "5", "--k2", "5", "--seed", "1", "--no-figures")


def test_a_rate_is_per_the_datas_time_unit() -> None:
    assert parameter_units(MODELS["biexponential"], "mcg/ml", "h") == ("mcg/ml", "1/h", "mcg/ml", "1/h")
    assert parameter_units(MODELS["one_compartment_oral"], "mg/L", "h") == (
        "1/h",
        "dose/(mg/L)",
        "dose/(mg/L)/h",
    )
    # the Stein model is in days whatever the data's time unit (the data are converted to days)
    assert parameter_units(MODELS["stein2019"], "cells/uL", "day")[3] == "1/day"
    # an unknown time unit (the Python API without one) keeps the model's word
    assert parameter_units(MODELS["biexponential"], "", "")[1] == "1/time"


def _indometh(tmp_path: Path) -> Path:
    table = pd.read_csv(INDOMETH).rename(columns={"Subject": "subject_id", "time": "t"})
    path = tmp_path / "indometh.csv"
    table.assign(unit="mcg/ml").to_csv(path, index=False)
    return path


@pytest.mark.parametrize("error", ["additive", "combined"])
def test_the_estimates_state_the_datas_units(tmp_path: Path, error: str, few_draws: None) -> None:
    out = tmp_path / "fit"
    result = run_cartrial(
        "kinetics", "popfit", _indometh(tmp_path), "--model", "biexponential", "--time", "t",
        "--conc", "conc", "--time-unit", "h", "--scale", "linear", "--error", error,
        "--iiv", "a1,k1", *FAST, "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    table = pd.read_csv(out / "estimates.csv")
    unit = {(r.kind, r.parameter): r.unit for r in table.itertuples()}
    assert unit[("typical", "k1")] == "1/h" and unit[("typical", "k2")] == "1/h"
    assert unit[("typical", "a1")] == "mcg/ml"
    assert unit[("residual", "a")] == "mcg/ml"  # the SD of an additive error, in the concentration unit
    if error == "combined":
        assert unit[("residual", "b")] == "fraction"
    doc = json.loads((out / "estimates.json").read_text(encoding="utf-8"))
    assert doc["units"] == ["mcg/ml", "1/h", "mcg/ml", "1/h"]
    residual = [r for r in doc["estimates"] if r["kind"] == "residual" and r["parameter"] == "a"]
    assert residual[0]["unit"] == "mcg/ml"
    html = (out / "summary.html").read_text(encoding="utf-8")
    assert "1/time" not in html and ">SD<" not in html
    assert "1/h" in html


def test_a_refused_initial_value_states_the_range_in_the_datas_unit(tmp_path: Path) -> None:
    # the example's car_t_cells rows are in cells/uL: the Stein cmax of this fit is in cells/uL
    result = run_cartrial(
        "kinetics", "popfit", PK, "--analyte", "car_t_cells", "--initial", "cmax=1e-320", *FAST,
        "--out", tmp_path / "o",
    )  # fmt: skip
    assert result.exit_code == 2, result.stderr
    assert "--initial: out of range (got 'cmax=1e-320'); allowed: cmax 0.024 to 2.4e+10 cells/uL" in (
        " ".join(result.stderr.split())
    ), result.stderr
    assert "copies/ug" not in result.stderr
    fast = run_cartrial(
        "kinetics", "popfit", _indometh(tmp_path), "--model", "biexponential", "--time", "t",
        "--conc", "conc", "--time-unit", "h", "--initial", "k1=1e9", *FAST, "--out", tmp_path / "b",
    )  # fmt: skip
    assert fast.exit_code == 2, fast.stderr
    assert "allowed: k1 2e-06 to 2e+06 1/h" in " ".join(fast.stderr.split()), fast.stderr
