"""`kinetics fit` takes the time column's unit as `kinetics popfit` does (--time-unit min|h|day|week, default
day, converted to the Stein model's days; D-19.241). Before, a file in hours was fitted as if in days (tmax
24 times too long) and the option did not exist."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cartrial import examples as cartrial_examples

from ..conftest import run_cartrial

PK = Path(cartrial_examples.__file__).resolve().parent / "ct103a-nmosd" / "study" / "pk_samples.csv"
PER_DAY = {"min": 1440.0, "h": 24.0, "day": 1.0, "week": 1 / 7}


def _subset(tmp_path: Path, unit: str) -> Path:
    """The example's transgene samples of 5 subjects on a clock in `unit` (not CT-006: its fit is on a flat
    ridge and moves by 17 % in alpha when its times change in the 15th digit)."""
    raw = pd.read_csv(PK)
    subjects = [f"CT-00{i}" for i in range(1, 6)]
    raw = raw[(raw["analyte"] == "car_transgene") & raw["subject_id"].isin(subjects)]
    t = raw["actual_day"] * PER_DAY[unit]  # the same samples on a clock in `unit`
    raw = raw.assign(t=t)
    path = tmp_path / f"pk_{unit}.csv"
    raw.to_csv(path, index=False)
    return path


def _fit(path: Path, *options: str) -> dict[str, object]:
    result = run_cartrial(
        "kinetics", "fit", path, "--time", "t", "--blq-col", "blq", "--lloq-col", "lloq", "--json", *options
    )
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


@pytest.mark.parametrize("unit", ["h", "week"])
def test_a_fit_in_another_unit_equals_the_fit_in_days(tmp_path: Path, unit: str) -> None:
    in_days = _fit(_subset(tmp_path, "day"))  # the default: day
    other = _fit(_subset(tmp_path, unit), "--time-unit", unit)
    a, b = pd.DataFrame(in_days["rows"]), pd.DataFrame(other["rows"])
    assert a["tmax_days"].notna().sum() >= 1  # at least one profile is fitted
    for column in ("tmax_days", "alpha_per_day", "beta_per_day", "cmax", "fb", "foldx"):
        x, y = (pd.to_numeric(f[column]).to_numpy(float) for f in (b, a))
        # times left in hours would put tmax 24 times off, in weeks 7 times
        np.testing.assert_allclose(x, y, rtol=1e-4, equal_nan=True, err_msg=column)
    assert in_days["time_unit"] == "day" and other["time_unit"] == unit
    assert other["model_time_unit"] == "day"
    units = other["units"]
    assert isinstance(units, dict) and units["t"] == unit and units["tmax_days"] == "day"
    assert any(f"times given in {unit}" in str(n) for n in other["notes"])  # type: ignore[union-attr]


@pytest.mark.parametrize("bad", ["hours", "", "d"])
def test_an_unknown_time_unit_is_refused_like_popfit(tmp_path: Path, bad: str) -> None:
    path = _subset(tmp_path, "day")
    fit = run_cartrial("kinetics", "fit", path, "--time", "t", "--lloq", "50", "--time-unit", bad)
    popfit = run_cartrial(
        "kinetics", "popfit", path, "--time", "t", "--time-unit", bad, "--out", tmp_path / "o"
    )
    assert fit.exit_code == 2 and popfit.exit_code == 2
    assert "--time-unit" in fit.stderr
    assert "min | h | day | week" in fit.stderr
    # the same message as popfit's (after "error:")
    assert fit.stderr.strip().splitlines()[0] == popfit.stderr.strip().splitlines()[0]
