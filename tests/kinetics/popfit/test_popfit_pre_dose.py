"""Samples before the infusion (negative days, which the PK template accepts) are not part of the kinetic
profile in `kinetics popfit` and `kinetics map`, as in the NCA (D-6.7): the Stein closed form is defined from
the infusion on (before it, it returns its day-0 level cmax/foldx), so a pre-infusion sample used to enter the
likelihood as information on cmax/foldx (D-19.217)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from cartrial import examples as cartrial_examples
from cartrial.kinetics.popfit import PopulationData

from ...conftest import run_cartrial

PK = Path(cartrial_examples.__file__).resolve().parent / "ct103a-nmosd" / "study" / "pk_samples.csv"
FAST = ("--k1", "5", "--k2", "5", "--seed", "1", "--no-figures")


def _with_pre_infusion_samples(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(PK)
    raw = raw[raw["analyte"] == "car_transgene"]
    first = raw.iloc[[0, 0, 12]].copy()  # CT-001 twice and another subject
    first["actual_day"] = [-3.0, -1.0, -7.0]
    first["nominal_day"] = [-3, -1, -7]
    first["value"] = [900.0, np.nan, 4000.0]  # a quantified background signal, a BLQ, another value
    first["blq"] = [False, True, False]
    table = pd.concat([first, raw], ignore_index=True)
    table.to_csv(path, index=False)
    return table


def test_pre_infusion_samples_are_dropped_and_counted(tmp_path: Path) -> None:
    table = _with_pre_infusion_samples(tmp_path / "pk.csv")
    data = PopulationData.from_frame(table, drop_pre_dose=True)
    assert data.n_pre_dose == 3 and data.summary()["n_pre_dose"] == 3
    assert (data.times[data.observed] >= 0).all()
    assert data.n_observations == len(table) - 3
    kept = PopulationData.from_frame(table)  # the PD model's default: pre-infusion samples are the baseline
    assert kept.n_pre_dose == 0 and kept.n_observations == len(table)


def test_popfit_and_map_ignore_pre_infusion_samples(tmp_path: Path, few_draws: None) -> None:
    _with_pre_infusion_samples(tmp_path / "pk.csv")
    with_pre = run_cartrial(
        "kinetics", "popfit", str(tmp_path / "pk.csv"), *FAST, "--out", str(tmp_path / "a")
    )
    without = run_cartrial("kinetics", "popfit", str(PK), *FAST, "--out", str(tmp_path / "b"))
    assert with_pre.exit_code == 0 and without.exit_code == 0, with_pre.stderr
    a = pd.read_csv(tmp_path / "a" / "estimates.csv")
    b = pd.read_csv(tmp_path / "b" / "estimates.csv")
    np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=1e-9)  # the same samples fitted
    doc = json.loads((tmp_path / "a" / "estimates.json").read_text())
    assert doc["data"]["n_pre_dose"] == 3 and doc["data"]["n_observations"] == 128
    assert "3 samples before time 0" in with_pre.stdout
    patient = pd.DataFrame(
        {"subject_id": ["NP"] * 2, "analyte": ["car_transgene"] * 2, "actual_day": [-2.0, 10.0],
         "value": [3000.0, 5000.0], "unit": ["copies/ug gDNA"] * 2, "lloq": [50.0] * 2, "blq": [False] * 2}
    )  # fmt: skip
    patient.to_csv(tmp_path / "p.csv", index=False)
    patient.iloc[[1]].to_csv(tmp_path / "p1.csv", index=False)
    population = str(tmp_path / "b" / "estimates.json")
    m2 = run_cartrial("kinetics", "map", str(tmp_path / "p.csv"), "--population", population, "--json")
    m1 = run_cartrial("kinetics", "map", str(tmp_path / "p1.csv"), "--population", population, "--json")
    assert m2.exit_code == 0 and m1.exit_code == 0, m2.stderr
    d2, d1 = json.loads(m2.stdout), json.loads(m1.stdout)
    assert [p["map_estimate"] for p in d2["parameters"]] == [p["map_estimate"] for p in d1["parameters"]]
    assert any("1 sample before time 0" in n for n in d2["notes"])
