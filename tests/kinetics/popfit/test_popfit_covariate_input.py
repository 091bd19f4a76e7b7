"""Covariate files as a pharmacometrician hands them over: a missing covariate for one subject is refused
with the file, row and field (never silently turned into a categorical level "nan"), whatever the covariate
model (D-19.214)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cartrial.errors import InputError
from cartrial.kinetics.popfit import PopulationData
from cartrial.kinetics.popfit.data import covariate_design, read_covariates

from ...conftest import run_cartrial

PARAMETERS = ["cmax", "tmax_days"]


def _data(n: int) -> PopulationData:
    t = np.array([1.0, 7.0, 28.0])
    return PopulationData.from_arrays(
        [f"S{i}" for i in range(n)], [t] * n, [np.array([10.0, 100.0, 20.0])] * n, lloq=1.0
    )


def _covariates(tmp_path: Path, column: list[object]) -> pd.DataFrame:
    path = tmp_path / "cov.csv"
    ids = [f"S{i}" for i in range(len(column))]
    pd.DataFrame({"subject_id": ids, "c": column}).to_csv(path, index=False)
    return read_covariates(pd.read_csv(path), source=str(path))


@pytest.mark.parametrize("kind", ["auto", "power", "linear", "cat"])
@pytest.mark.parametrize(
    "column",
    [
        [1, 1, 2, 2, 3, 3, None, 2],  # a dose level with one blank cell
        [60.5, 72.0, 55.0, 80.0, 66.0, 90.0, None, 70.0],  # a weight with one blank cell
        ["F", "M", "F", "M", "F", None, "M", "F"],  # a categorical covariate with one blank cell
    ],
)
def test_a_missing_covariate_is_refused_with_file_row_and_field(
    tmp_path: Path, column: list[object], kind: str
) -> None:
    data = _data(len(column))
    numeric = all(isinstance(v, int | float) for v in column if v is not None)
    if kind in ("power", "linear") and not numeric:
        pytest.skip("a text covariate is refused as a number anyway")
    cov = _covariates(tmp_path, column)
    with pytest.raises(InputError) as err:
        covariate_design(data.with_covariates(cov), [("cmax", "c", kind)], PARAMETERS)
    text = str(err.value)
    missing_row = column.index(None) + 2  # header is row 1 of the file
    assert "cov.csv" in text and f"row {missing_row}" in text and ", c:" in text
    assert "missing" in text
    # never a record's value (D-12.2): no other subject's covariate is quoted
    for v in column:
        if v is not None:
            assert f"'{v}'" not in text and f"({v})" not in text


def test_a_complete_numeric_covariate_is_still_a_power_model(tmp_path: Path) -> None:
    cov = _covariates(tmp_path, [60.0, 72.0, 55.0, 80.0, 66.0, 90.0, 50.0, 70.0])
    labels, x, info = covariate_design(_data(8).with_covariates(cov), [("cmax", "c", "auto")], PARAMETERS)
    assert [lab[2] for lab in labels] == ["power"]
    # x = log(c / median); median of the 8 weights is (66 + 70) / 2 = 68
    assert info["beta_cmax_c"]["centre"] == pytest.approx(68.0)
    assert x[0, 0] == pytest.approx(np.log(60.0 / 68.0))


def test_the_cli_refuses_a_missing_dose_level_instead_of_fitting_a_nan_level(tmp_path: Path) -> None:
    pk = Path(__file__).resolve().parents[3] / "examples" / "ct103a-nmosd" / "study" / "pk_samples.csv"
    ids = sorted(set(pd.read_csv(pk)["subject_id"]))
    levels: list[object] = [1, 2, 3] * (len(ids) // 3) + [1] * (len(ids) % 3)
    levels[4] = None
    cov = tmp_path / "cov.csv"
    pd.DataFrame({"subject_id": ids, "dose_level": levels}).to_csv(cov, index=False)
    result = run_cartrial(
        "kinetics",
        "popfit",
        str(pk),
        "--covariates",
        str(cov),
        "--covariate",
        "cmax~dose_level",
        "--k1",
        "5",
        "--k2",
        "5",
        "--no-figures",
        "--out",
        str(tmp_path / "o"),
    )
    assert result.exit_code == 2, result.stdout
    assert "row 6" in result.stderr and "dose_level" in result.stderr and "missing" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o" / "estimates.json").exists()


@pytest.mark.parametrize("kind", ["auto", "power"])
def test_a_power_covariate_at_or_below_zero_is_refused_with_file_row_and_field(
    tmp_path: Path, kind: str
) -> None:
    """A power model log(c/median) needs c > 0: the subject whose value is not is located by the covariate
    file's row (as a missing value is, D-19.214), never left as an error without file or row (D-19.1142)."""
    column = [60.5, 72.0, 55.0, 80.0, 0.0, 90.0, -3.0, 70.0]  # rows 6 and 8 of the file are not > 0
    cov = _covariates(tmp_path, column)
    with pytest.raises(InputError) as err:
        covariate_design(_data(len(column)).with_covariates(cov), [("cmax", "c", kind)], PARAMETERS)
    text = str(err.value)
    assert "cov.csv" in text and "row 6" in text and ", c:" in text and "2 subjects" in text
    assert "> 0" in text
    for v in column:
        assert f"'{v}'" not in text and f"({v})" not in text
