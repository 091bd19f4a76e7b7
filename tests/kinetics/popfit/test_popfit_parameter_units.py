"""The unit of a parameter on the observations' scale (Stein's cmax) is the unit of the data fitted, and
`kinetics map` refuses a patient whose samples are in another unit than the population's data (D-19.218)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from cartrial import examples as cartrial_examples
from cartrial.kinetics.popfit.structural import MODELS, parameter_units

from ...conftest import run_cartrial

PK = Path(cartrial_examples.__file__).resolve().parent / "ct103a-nmosd" / "study" / "pk_samples.csv"
FAST = ("--k1", "5", "--k2", "5", "--seed", "1", "--no-figures")


def test_parameter_units_follow_the_data() -> None:
    stein = MODELS["stein2019"]
    cmax = stein.parameters.index("cmax")
    units = parameter_units(stein, "cells/uL")
    assert units[cmax] == "cells/uL"
    # the other units are not on the observations' scale and do not change
    assert [u for j, u in enumerate(units) if j != cmax] == [
        u for j, u in enumerate(stein.units) if j != cmax
    ]
    assert parameter_units(MODELS["biexponential"], "mg/L") == ("mg/L", "1/time", "mg/L", "1/time")


def test_a_fit_of_car_t_cells_reports_cmax_in_cells_per_ul_and_map_checks_the_unit(
    tmp_path: Path, few_draws: None
) -> None:
    # the example file's car_t_cells rows are in cells/uL (its unit column), not the transgene's copies/ug
    raw = pd.read_csv(PK)
    assert set(raw.loc[raw["analyte"] == "car_t_cells", "unit"]) == {"cells/uL"}
    out = tmp_path / "cells"
    result = run_cartrial("kinetics", "popfit", str(PK), "--analyte", "car_t_cells", *FAST, "--out", str(out))
    assert result.exit_code == 0, result.stderr
    est = pd.read_csv(out / "estimates.csv")
    assert est.loc[(est["kind"] == "typical") & (est["parameter"] == "cmax"), "unit"].item() == "cells/uL"
    doc = json.loads((out / "estimates.json").read_text())
    assert doc["units"][doc["parameters"].index("cmax")] == "cells/uL"
    patient = pd.DataFrame(
        {"subject_id": ["NP"] * 2, "analyte": ["car_t_cells"] * 2, "actual_day": [7.0, 28.0],
         "value": [30.0, 8.0], "unit": ["cells/uL"] * 2, "lloq": [0.5] * 2, "blq": [False] * 2}
    )  # fmt: skip
    patient.to_csv(tmp_path / "p.csv", index=False)
    ok = run_cartrial(
        "kinetics", "map", str(tmp_path / "p.csv"), "--analyte", "car_t_cells",
        "--population", str(out / "estimates.json"), "--json",
    )  # fmt: skip
    assert ok.exit_code == 0, ok.stderr
    rows = {r["parameter"]: r for r in json.loads(ok.stdout)["parameters"]}
    assert rows["cmax"]["unit"] == "cells/uL"
    # the same patient against a population of the transgene (copies/ug gDNA): refused, located, no value
    other = tmp_path / "transgene"
    assert run_cartrial("kinetics", "popfit", str(PK), *FAST, "--out", str(other)).exit_code == 0
    bad = run_cartrial(
        "kinetics", "map", str(tmp_path / "p.csv"), "--analyte", "car_t_cells",
        "--population", str(other / "estimates.json"),
    )  # fmt: skip
    assert bad.exit_code == 2
    assert "p.csv, unit: the patient's samples are in another unit" in bad.stderr
    assert "copies/ug gDNA" in bad.stderr  # what is allowed: the population's unit
