"""A simulated level above the largest readable level is written as that level (D-19.606) and flagged in
an ``alq`` column (above the limit of quantification, as ``blq`` flags a level below one); every reader
that needs a measured level (NCA, the per-subject fit, the population fit) refuses a flagged sample by its
row, instead of taking the limit as an observed level (D-19.663). Expected values by hand: the flag is true
exactly where the written level is the limit (1e15)."""

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
    flagged = table["alq"].to_numpy(bool)
    assert np.array_equal(flagged, table["conc_copies_per_ug"].to_numpy() == MAX_CONCENTRATION)
    assert int(flagged.sum()) == sim.settings["limited_to_max_concentration"] > 0
    chunks = simulate_stein2019_chunks(100, days, seed=1, residual_sd_log=10.0, chunk_samples=530)
    assert np.array_equal(np.concatenate([t["alq"].to_numpy(bool) for t in chunks.tables()]), flagged)
    assert not simulate_stein2019(3, days, seed=1).long_table()["alq"].any()


def _profile(alq: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject": ["A"] * 4,
            "day": [1.0, 7.0, 14.0, 28.0],
            "conc": [100.0, MAX_CONCENTRATION, 1000.0, 50.0],
            "alq": alq,
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
    assert "sim.csv, row 3, alq" in text and "above the upper limit of quantification" in text, text
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
    assert "sim.csv, row 3, alq" in str(caught.value), str(caught.value)


def test_kinetics_simulate_writes_the_flag_and_nca_refuses_it(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "sim.csv"
    args = ["kinetics", "simulate", "--subjects", "3", "--days", "0:28:7", "--seed", "1"]
    code, _, err = cli(*args, "--residual-sd", "10", "--out", out)
    assert code == 0, err
    table = pd.read_csv(out)
    assert table["alq"].tolist() == (table["conc_copies_per_ug"] == MAX_CONCENTRATION).tolist()


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
    assert "sim.csv, row 3, alq" in str(caught.value), str(caught.value)
