"""A time column in hours (or minutes, weeks) given with --time-unit is converted to the Stein model's days
for `kinetics popfit` and `kinetics map`; without the conversion a file in hours was fitted as days (tmax
24 times too long, labelled "day") (D-19.216)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cartrial import examples as cartrial_examples
from cartrial.kinetics.popfit import PopulationData
from cartrial.kinetics.popfit.structural import MODELS, time_unit_of

from ...conftest import run_cartrial

PK = Path(cartrial_examples.__file__).resolve().parent / "ct103a-nmosd" / "study" / "pk_samples.csv"
FAST = ("--k1", "5", "--k2", "5", "--seed", "1", "--no-figures")


@pytest.mark.parametrize(("unit", "per_day"), [("min", 1440.0), ("h", 24.0), ("day", 1.0), ("week", 1 / 7)])
def test_times_are_converted_to_days(unit: str, per_day: float) -> None:
    raw = pd.read_csv(PK)
    days = PopulationData.from_frame(raw)
    raw["t"] = raw["actual_day"] * per_day  # the same samples on a clock in `unit`
    other = PopulationData.from_frame(raw, time="t").in_time_unit(unit, "day")
    np.testing.assert_allclose(other.times, days.times, rtol=1e-12)
    assert other.time_unit == "day" and other.summary()["time_unit"] == "day"


def test_the_model_time_units() -> None:
    # the Stein model's tmax is in days and its rates per day; the generic models take the data's unit
    assert time_unit_of(MODELS["stein2019"].units) == "day"
    assert time_unit_of(MODELS["one_compartment_oral_ke"].units) == ""


def test_popfit_and_map_in_hours_equal_the_fit_in_days(tmp_path: Path, few_draws: None) -> None:
    # the samples on a 3-hour clock (days k/8, hours 3k: exact in binary on both clocks, so hours·(1/24)
    # and hours/24 give the day file's times bit for bit). With times off by the rounding of t·24/24
    # (~1e-14 days), SAEM's Metropolis–Hastings steps can flip an accept/reject and the two chains then
    # differ by Monte Carlo noise (up to 13 % on a typical value with 5 + 5 iterations, numpy 2.4).
    raw = pd.read_csv(PK).assign(actual_day=lambda f: (f["actual_day"] * 8).round() / 8)
    hours, days = tmp_path / "pk_hours.csv", tmp_path / "pk_days.csv"
    raw.to_csv(days, index=False)
    raw.assign(actual_hour=raw["actual_day"] * 24.0).to_csv(hours, index=False)
    r_day = run_cartrial("kinetics", "popfit", str(days), *FAST, "--out", str(tmp_path / "d"))
    r_hour = run_cartrial(
        "kinetics", "popfit", str(hours), "--time", "actual_hour", "--time-unit", "h", *FAST,
        "--out", str(tmp_path / "h"),
    )  # fmt: skip
    assert r_day.exit_code == 0 and r_hour.exit_code == 0, r_hour.stderr
    est_d = pd.read_csv(tmp_path / "d" / "estimates.csv")
    est_h = pd.read_csv(tmp_path / "h" / "estimates.csv")
    tmax = est_h.loc[(est_h["kind"] == "typical") & (est_h["parameter"] == "tmax_days"), "estimate"].item()
    # the same samples: the same fit, tmax in days (not 24 times it)
    np.testing.assert_allclose(est_h["estimate"], est_d["estimate"], rtol=1e-9)
    assert tmax < 60
    doc = json.loads((tmp_path / "h" / "estimates.json").read_text())
    assert doc["data"]["time_unit"] == "day"
    # a new patient sampled on day 7 and day 28, written in hours
    patient = pd.DataFrame(
        {"subject_id": ["NP"] * 2, "analyte": ["car_transgene"] * 2, "actual_day": [7.0, 28.0],
         "value": [3000.0, 800.0], "unit": ["copies/ug gDNA"] * 2, "lloq": [50.0] * 2, "blq": [False] * 2}
    )  # fmt: skip
    p_day, p_hour = tmp_path / "p_day.csv", tmp_path / "p_hour.csv"
    patient.to_csv(p_day, index=False)
    patient.assign(actual_day=patient["actual_day"] * 24.0).to_csv(p_hour, index=False)
    population = str(tmp_path / "d" / "estimates.json")
    m_day = run_cartrial("kinetics", "map", str(p_day), "--population", population, "--json")
    m_hour = run_cartrial(
        "kinetics", "map", str(p_hour), "--time-unit", "h", "--population", population, "--json"
    )
    assert m_day.exit_code == 0 and m_hour.exit_code == 0, m_hour.stderr
    a, b = json.loads(m_day.stdout)["parameters"], json.loads(m_hour.stdout)["parameters"]
    for x, y in zip(a, b, strict=True):
        assert y["map_estimate"] == pytest.approx(x["map_estimate"], rel=1e-6), x["parameter"]


def test_an_unknown_time_unit_is_refused(tmp_path: Path) -> None:
    result = run_cartrial(
        "kinetics", "popfit", str(PK), "--time-unit", "fortnight", *FAST, "--out", str(tmp_path)
    )
    assert result.exit_code == 2
    assert "--time-unit" in result.stderr and "min | h | day | week" in result.stderr
