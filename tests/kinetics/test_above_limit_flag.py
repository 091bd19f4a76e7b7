"""A simulated level above the largest readable level is written as that level (D-19.606) and flagged in
the column ``<value column>_alq`` (above the limit of quantification, as ``blq`` flags a level below one);
every reader that needs a measured level (NCA, the per-subject fit, the population fit) refuses a flagged
sample by its row, instead of taking the limit as an observed level (D-19.663). The flag column is an
option (``alq_column``, CLI ``--alq-col``), by default the value column's ``<value>_alq`` when the file has
it, so the flag of the PD model's CAR-T level is found too (D-19.668). Expected values by hand: the flag is
true exactly where the written level is the limit (1e15)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cartrial.allowed import MAX_CONCENTRATION
from cartrial.errors import InputError


def test_a_simulated_level_at_the_limit_is_flagged() -> None:
    from cartrial.kinetics.models import simulate_stein2019
    from cartrial.kinetics.simulation import simulate_stein2019_chunks

    days = np.arange(0.0, 366.0, 7.0)
    sim = simulate_stein2019(100, days, seed=1, residual_sd_log=10.0)
    table = sim.long_table()
    flagged = table["conc_copies_per_ug_alq"].to_numpy(bool)
    assert np.array_equal(flagged, table["conc_copies_per_ug"].to_numpy() == MAX_CONCENTRATION)
    assert int(flagged.sum()) == sim.settings["limited_to_max_concentration"] > 0
    chunks = simulate_stein2019_chunks(100, days, seed=1, residual_sd_log=10.0, chunk_samples=530)
    assert np.array_equal(
        np.concatenate([t["conc_copies_per_ug_alq"].to_numpy(bool) for t in chunks.tables()]), flagged
    )
    assert not simulate_stein2019(3, days, seed=1).long_table()["conc_copies_per_ug_alq"].any()


def _profile(alq: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject": ["A"] * 4,
            "day": [1.0, 7.0, 14.0, 28.0],
            "conc": [100.0, MAX_CONCENTRATION, 1000.0, 50.0],
            "conc_alq": alq,
        }
    )


def test_nca_refuses_a_level_flagged_above_the_limit() -> None:
    """Before, the NCA took 1e15 as the observed Cmax (and AUC): a number that is only a lower bound."""
    from cartrial.kinetics import derive_nca

    with pytest.raises(InputError) as caught:
        derive_nca(
            _profile(["false", "true", "false", "false"]),
            subject="subject",
            time="day",
            conc="conc",
            time_unit="day",
            conc_unit="copies/ug",
            source="sim.csv",
        )
    text = str(caught.value)
    assert "sim.csv, row 3, conc_alq" in text and "above the upper limit of quantification" in text, text
    result = derive_nca(
        _profile(["false"] * 4),
        subject="subject",
        time="day",
        conc="conc",
        time_unit="day",
        conc_unit="copies/ug",
    )
    assert float(result.table["cmax"].iloc[0]) == MAX_CONCENTRATION  # unflagged: a measured level


def test_the_population_fit_refuses_a_level_flagged_above_the_limit() -> None:
    from cartrial.kinetics.popfit.data import PopulationData

    frame = pd.concat(
        [_profile(["false", "true", "false", "false"]), _profile(["false"] * 4).assign(subject="B")]
    )
    with pytest.raises(InputError) as caught:
        PopulationData.from_frame(frame, subject="subject", time="day", conc="conc", source="sim.csv")
    assert "sim.csv, row 3, conc_alq" in str(caught.value), str(caught.value)
    # popfit and map have no --keep-going: what is allowed does not offer it (nca and kinetics fit do)
    assert "keep-going" not in str(caught.value) and "remove the row" in str(caught.value), str(caught.value)


NCA = ["nca", "--subject", "subject", "--time", "day", "--conc-unit", "copies/ug"]


def test_kinetics_simulate_writes_the_flag_and_nca_refuses_it(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Seed 1, 10 subjects, weekly to day 56 at a residual SD of 10 draws one level above 1e15 (counted on
    stderr); before, this test's settings flagged no row and checked nothing."""
    out = tmp_path / "sim.csv"
    args = ["kinetics", "simulate", "--subjects", "10", "--days", "0:56:7", "--seed", "1"]
    code, _, err = cli(*args, "--residual-sd", "10", "--out", out)
    assert code == 0, err
    assert "flagged true in conc_copies_per_ug_alq" in err, err  # the note names the flag column
    table = pd.read_csv(out)
    flagged = table["conc_copies_per_ug_alq"].to_numpy(bool)
    assert flagged.tolist() == (table["conc_copies_per_ug"] == MAX_CONCENTRATION).tolist()
    assert flagged.sum() > 0
    code, _, err = cli(*NCA, "--conc", "conc_copies_per_ug", out)
    rows = [int(i) + 2 for i in np.flatnonzero(flagged)]  # spreadsheet rows: the first data row is row 2
    assert code == 2, err
    for row in rows:
        assert f"row {row}, conc_copies_per_ug_alq: the sample is above the upper limit" in err, err
    assert "--keep-going" in err, err


def test_the_pd_model_s_flag_is_read_for_its_car_t_level(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The PD model's table flags its CAR-T level (the only column with residual error) in
    ``car_t_copies_per_ug_alq``. Before, the flag was ``car_t_alq``, which the readers never looked at: `nca
    --conc car_t_copies_per_ug` took the 1e15 row for a measured Cmax (exit 0). Seed 3, 20 subjects weekly
    to day 91 at a residual SD of 10 writes levels at the limit, each refused by its row."""
    out = tmp_path / "pd.csv"
    args = ["kinetics", "simulate", "--model", "cartrial-pd", "--subjects", "20", "--days", "0:91:7"]
    code, _, err = cli(*args, "--seed", "3", "--residual-sd", "10", "--out", out)
    assert code == 0, err
    assert "flagged true in car_t_copies_per_ug_alq" in err, err
    table = pd.read_csv(out)
    flagged = table["car_t_copies_per_ug_alq"].to_numpy(bool)
    assert flagged.tolist() == (table["car_t_copies_per_ug"] == MAX_CONCENTRATION).tolist()
    assert flagged.any()  # the flag is true exactly at the limit (above); its rows come from the file
    code, _, err = cli(*NCA, "--conc", "car_t_copies_per_ug", out)
    message = "car_t_copies_per_ug_alq: the sample is above the upper limit"
    assert code == 2 and err.count(message) == int(flagged.sum()), err
    for i in np.flatnonzero(flagged):  # spreadsheet rows: the first data row is row 2
        assert f"{out}, row {int(i) + 2}, {message}" in err, err
    # the flag is the CAR-T level's: the model's plasma cells (no residual error) are read
    code, _, err = cli(*NCA[:-1], "relative to baseline", "--conc", "plasma_cells_relative", out)
    assert code == 0, err


def test_the_flag_column_is_an_option(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A file's own flag column is named with ``--alq-col`` (nca, kinetics fit, popfit, map); a column named
    that is missing is refused as any other named column."""
    file = tmp_path / "pk.csv"
    _profile(["false", "true", "false", "false"]).rename(columns={"conc_alq": "above"}).to_csv(
        file, index=False
    )
    base = [
        "nca",
        file,
        "--subject",
        "subject",
        "--time",
        "day",
        "--conc",
        "conc",
        "--conc-unit",
        "copies/ug",
    ]
    code, _, err = cli(*base, "--alq-col", "above")
    assert code == 2 and "row 3, above: the sample is above the upper limit" in err, err
    code, _, err = cli(*base, "--alq-col", "nosuch")
    assert code == 2 and "nosuch" in err, err
    assert f"{file}, nosuch: required column is missing" in err, err  # located: the file and the column
    for command in (["nca"], ["kinetics", "fit"], ["kinetics", "popfit"], ["kinetics", "map"]):
        code, out, _ = cli(*command, "--help")
        assert code == 0 and "--alq-col" in out, command


def test_the_population_fit_takes_the_flag_column_option() -> None:
    from cartrial.kinetics.popfit.data import PopulationData

    frame = pd.concat(
        [_profile(["false", "true", "false", "false"]), _profile(["false"] * 4).assign(subject="B")]
    )
    frame = frame.rename(columns={"conc_alq": "above"})
    with pytest.raises(InputError) as caught:
        PopulationData.from_frame(
            frame, subject="subject", time="day", conc="conc", source="sim.csv", alq_column="above"
        )
    assert "sim.csv, row 3, above" in str(caught.value), str(caught.value)


def test_the_individual_fit_refuses_a_level_flagged_above_the_limit() -> None:
    from cartrial.kinetics import derive_stein2019_fits

    with pytest.raises(InputError) as caught:
        derive_stein2019_fits(
            _profile(["false", "true", "false", "false"]),
            subject="subject",
            time="day",
            conc="conc",
            conc_unit="copies/ug",
            source="sim.csv",
        )
    assert "sim.csv, row 3, conc_alq" in str(caught.value), str(caught.value)


def test_a_flag_of_a_column_the_file_lacks_is_refused(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A simulated file whose value column was renamed ``value`` still carries ``conc_copies_per_ug_alq``
    (true where the level is 1e15). Before, ``nca --conc value`` looked only for ``value_alq``, found none,
    and answered Cmax 1e15 (exit 0): the flag was lost with the rename. Now the file's flag of a column it
    lacks is refused until named (``--alq-col``), which then refuses the flagged row 3."""
    frame = _profile(["false", "true", "false", "false"]).rename(
        columns={"conc": "value", "conc_alq": "conc_copies_per_ug_alq"}
    )
    file = tmp_path / "renamed.csv"
    frame.to_csv(file, index=False)
    base = [*NCA, "--conc", "value", file]
    code, out, err = cli(*base)
    assert code == 2, out + err
    assert (
        f"{file}, conc_copies_per_ug_alq: an upper-limit flag of a column the file lacks: name it with "
        "--alq-col" in err
    ), err
    code, _, err = cli(*base, "--alq-col", "conc_copies_per_ug_alq")
    assert code == 2 and "row 3, conc_copies_per_ug_alq: the sample is above the upper limit" in err, err
    # the same file with the flag's own value column is read as before (the flag is that column's)
    from cartrial.kinetics import derive_nca

    kept = frame.assign(conc_copies_per_ug=frame["value"], conc_copies_per_ug_alq="false")
    result = derive_nca(kept, subject="subject", time="day", conc="value", time_unit="day", conc_unit="c/u")
    assert float(result.table["cmax"].iloc[0]) == MAX_CONCENTRATION


def test_the_api_refuses_a_flag_of_a_column_the_table_lacks() -> None:
    from cartrial.kinetics.popfit.data import PopulationData

    frame = pd.concat(
        [_profile(["false", "true", "false", "false"]), _profile(["false"] * 4).assign(subject="B")]
    ).rename(columns={"conc_alq": "level_alq"})
    with pytest.raises(InputError) as caught:
        PopulationData.from_frame(frame, subject="subject", time="day", conc="conc", source="sim.csv")
    assert "sim.csv, level_alq: an upper-limit flag of a column the file lacks" in str(caught.value)


STUDY = Path(__file__).resolve().parents[2] / "examples" / "ct103a-nmosd" / "study"
POPULATION = Path(__file__).resolve().parents[1] / "data" / "popfit" / "estimates.json"


@pytest.mark.parametrize("command", ["popfit", "map"])
def test_popfit_and_map_pass_the_flag_column_to_the_reader(cli, tmp_path: Path, command: str) -> None:  # type: ignore[no-untyped-def]
    """`--alq-col above` reaches `PopulationData.from_frame`: the flagged row 3 is refused by its row, and
    what is allowed names no --keep-going (neither command has it)."""
    frame = pd.concat(
        [_profile(["false", "true", "false", "false"]), _profile(["false"] * 4).assign(subject="B")]
    ).rename(columns={"conc_alq": "above"})
    file = tmp_path / "pk.csv"
    frame.to_csv(file, index=False)
    args = ["kinetics", command, file, "--subject", "subject", "--time", "day", "--conc", "conc"]
    args += ["--alq-col", "above", "--no-figures"]
    if command == "popfit":
        args += ["--out", tmp_path / "o", "--k1", "2", "--k2", "2"]
    else:
        args += ["--patient", "A", "--population", POPULATION]
    code, _, err = cli(*args)
    assert code == 2, err
    assert f"{file}, row 3, above: the sample is above the upper limit of quantification" in err, err
    assert "keep-going" not in err, err


def test_a_pd_model_refuses_the_flag_column_option(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A PD model's titres have no upper-limit flag: `--alq-col` is refused, not ignored (D-19.668)."""
    ebe = tmp_path / "ebe.csv"  # the PD fit's kinetic input; the option is refused before it is used
    ebe.write_text("subject_id,foldx\nX,1\n", encoding="utf-8")
    args = ["kinetics", "popfit", STUDY / "pd_samples.csv", "--model", "pd", "--no-figures"]
    args += ["--individual-parameters", ebe]
    code, _, err = cli(*args, "--out", tmp_path / "o", "--alq-col", "above")
    assert code == 2, err
    assert "--alq-col: a PD model's titres have no upper-limit flag: --alq-col is not used" in err, err
    assert not (tmp_path / "o").exists()
