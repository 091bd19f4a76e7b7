"""`kinetics fit` says each profile's unit (D-19.242): with `--by analyte` on the example file the CAR-T cell
counts (cells/uL) were labelled copies/ug gDNA, the transgene's unit, in `units.cmax`; the file's `unit`
column is now read as popfit reads it (or `--unit-col` / `--conc-unit`, as the NCA takes them)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from cartrial import examples as cartrial_examples

from ..conftest import run_cartrial

PK = Path(cartrial_examples.__file__).resolve().parent / "ct103a-nmosd" / "study" / "pk_samples.csv"
FIVE = [f"CT-00{i}" for i in range(1, 6)]


def _fit(path: Path, *options: str) -> dict[str, object]:
    result = run_cartrial(
        "kinetics", "fit", path, "--blq-col", "blq", "--lloq-col", "lloq", "--json", *options
    )
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


def _subset(tmp_path: Path, analyte: str | None = None, drop_unit: bool = False) -> Path:
    raw = pd.read_csv(PK)
    raw = raw[raw["subject_id"].isin(FIVE)]
    if analyte:
        raw = raw[raw["analyte"] == analyte]
    if drop_unit:
        raw = raw.drop(columns="unit")
    path = tmp_path / "pk.csv"
    raw.to_csv(path, index=False)
    return path


def test_each_profile_has_the_unit_of_its_samples(tmp_path: Path) -> None:
    raw = pd.read_csv(PK)
    unit_of = raw.groupby("analyte")["unit"].first().to_dict()  # car_t_cells: cells/uL
    out = _fit(_subset(tmp_path), "--by", "analyte")
    rows = pd.DataFrame(out["rows"])
    assert set(rows["analyte"]) == {"car_transgene", "car_t_cells"}
    for analyte, unit in unit_of.items():
        assert set(rows.loc[rows["analyte"] == analyte, "value_unit"]) == {unit}
    units = out["units"]
    assert isinstance(units, dict) and units["cmax"] == "see value_unit"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ((), "cells/uL"),  # the file's unit column
        (("--unit-col", "unit"), "cells/uL"),
        (("--conc-unit", "cells/µL"), "cells/uL"),  # a unit option in the one spelling too (D-19.760)
    ],
)
def test_one_unit_is_the_cmax_unit(tmp_path: Path, options: tuple[str, ...], expected: str) -> None:
    out = _fit(_subset(tmp_path, "car_t_cells"), *options)
    units = out["units"]
    assert isinstance(units, dict) and units["cmax"] == expected and units["observed_cmax"] == expected
    assert set(pd.DataFrame(out["rows"])["value_unit"]) == {expected}


def test_without_a_unit_the_transgene_unit_is_assumed(tmp_path: Path) -> None:
    out = _fit(_subset(tmp_path, "car_transgene", drop_unit=True))
    assert out["units"]["cmax"] == "copies/ug gDNA"  # type: ignore[index]


def test_a_profile_with_two_units_is_refused_at_its_row(tmp_path: Path) -> None:
    raw = pd.read_csv(_subset(tmp_path, "car_transgene"))
    raw.loc[raw.index[3], "unit"] = "copies/uL"
    path = tmp_path / "mixed.csv"
    raw.to_csv(path, index=False)
    result = run_cartrial("kinetics", "fit", path, "--blq-col", "blq", "--lloq-col", "lloq")
    assert result.exit_code == 2
    assert "mixed.csv" in result.stderr and ", unit:" in result.stderr
    assert "differs within one profile" in result.stderr


def test_both_unit_options_are_refused(tmp_path: Path) -> None:
    path = _subset(tmp_path, "car_transgene")
    result = run_cartrial("kinetics", "fit", path, "--conc-unit", "copies/ug", "--unit-col", "unit")
    assert result.exit_code == 2 and "--conc-unit" in result.stderr


def test_the_refused_profiles_note_gives_the_cmax_unit(tmp_path: Path) -> None:
    out = _fit(_subset(tmp_path), "--by", "analyte")
    notes = [str(n) for n in out["notes"]]  # type: ignore[union-attr]
    cells = [n for n in notes if "analyte=car_t_cells" in n and "refused as not identifiable" in n]
    transgene = [n for n in notes if "analyte=car_transgene" in n and "refused as not identifiable" in n]
    assert cells and "cells/uL refused" in cells[0] and "copies/ug gDNA" not in cells[0]
    assert transgene and "copies/ug gDNA refused" in transgene[0]
