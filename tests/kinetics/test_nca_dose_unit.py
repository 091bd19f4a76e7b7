"""A dose-normalised NCA parameter (``cmax_dn``, ``auclast_dn``, ``aucinf_obs_dn``) is only meaningful with
the dose's unit: the same profile gives a value 70 times larger per cells/kg than per total cells of a 70 kg
patient. Before, `derive_nca(dose=…)` / `cartrial nca --dose` wrote ``cmax_dn`` with no unit anywhere (the
units table had none, the dose column's unit was never asked), so values of studies dosed per kg and in total
cells could be set side by side silently. The dose unit is now required with a dose column and recorded; the
dose-normalised units are derived from it (D-19.665). Expected values by hand: Cmax 10 / dose 2e6 = 5e-6;
units "copies/ug" over "cells/kg"."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cartrial.errors import InputError

SAMPLES = pd.DataFrame({"s": "A", "t": [0, 1, 2, 4, 8], "c": [0.0, 10.0, 8.0, 4.0, 2.0], "d": [2e6] * 5})


def test_a_dose_without_its_unit_is_refused() -> None:
    from cartrial.kinetics import derive_nca

    with pytest.raises(InputError) as caught:
        derive_nca(SAMPLES, subject="s", time="t", conc="c", dose="d", conc_unit="copies/ug", source="pk.csv")
    assert "dose_unit" in str(caught.value) and "the dose unit is missing" in str(caught.value)
    with pytest.raises(InputError) as caught:  # nor a unit without a dose: never silently unused
        derive_nca(SAMPLES, subject="s", time="t", conc="c", dose_unit="cells", conc_unit="copies/ug")
    assert "a dose unit without a dose column is not used" in str(caught.value)


def test_the_dose_normalised_parameters_carry_their_unit() -> None:
    from cartrial.kinetics import derive_nca

    result = derive_nca(
        SAMPLES, subject="s", time="t", conc="c", dose="d", dose_unit="cells/kg", conc_unit="copies/ug"
    )
    row = result.table.iloc[0]
    assert row["cmax_dn"] == pytest.approx(10.0 / 2e6, rel=1e-12)
    assert row["dose_unit"] == "cells/kg"
    units = result.metadata()["units"]
    assert units["dose"] == "cells/kg"
    assert units["cmax_dn"] == "(copies/ug)/(cells/kg)"
    assert units["auclast_dn"] == "(copies·day/ug)/(cells/kg)"
    assert units["aucinf_obs_dn"] == "(copies·day/ug)/(cells/kg)"


def test_the_cli_asks_for_the_dose_unit(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    file = tmp_path / "pk.csv"
    SAMPLES.to_csv(file, index=False)
    args = [
        "nca",
        file,
        "--subject",
        "s",
        "--time",
        "t",
        "--conc",
        "c",
        "--conc-unit",
        "copies/ug",
        "--dose",
        "d",
    ]
    code, _, err = cli(*args)
    assert code == 2 and "--dose-unit" in err, err
    out = tmp_path / "nca.csv"
    code, _, err = cli(*args, "--dose-unit", "cells", "--out", out)
    assert code == 0, err
    assert pd.read_csv(out)["dose_unit"].tolist() == ["cells"]


def test_a_bad_dose_unit_is_named_as_a_dose_unit(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Before, ``--dose-unit 'cells$'`` was refused as "not a concentration unit", with concentration examples
    (copies/ug gDNA, cells/uL or mg/L) as what is allowed (D-19.669); a bad concentration unit keeps its own
    text."""
    from cartrial.kinetics import derive_nca

    with pytest.raises(InputError) as caught:
        derive_nca(
            SAMPLES, subject="s", time="t", conc="c", dose="d", dose_unit="cells$", conc_unit="copies/ug"
        )
    text = str(caught.value)
    assert "not a dose unit" in text and "cells/kg" in text and "concentration" not in text, text
    file = tmp_path / "pk.csv"
    SAMPLES.to_csv(file, index=False)
    args = ["nca", file, "--subject", "s", "--time", "t", "--conc", "c", "--dose", "d"]
    code, _, err = cli(*args, "--conc-unit", "copies/ug", "--dose-unit", "cells$")
    assert code == 2 and "--dose-unit: not a dose unit (got 'cells$')" in err, err
    assert "cells/kg" in err and "concentration" not in err, err
    code, _, err = cli(*args, "--conc-unit", "copies$", "--dose-unit", "cells")
    assert code == 2 and "--conc-unit: not a concentration unit (got 'copies$')" in err, err
    assert "copies/ug gDNA" in err, err
