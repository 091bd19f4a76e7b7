"""The residual SD on the log scale has one upper bound (D-19.600): what `kinetics popfit` leaves unlabelled
and `kinetics map --population` reads (at most 10) is what `kinetics simulate --residual-sd` and a
scenario's `kinetics.residual_sd_log` take. Before, the simulators stopped at 5: a pharmacometrician who
fitted a residual SD of 7 could map with it but not simulate from it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import Cli

from cartrial.errors import InputError
from cartrial.simulation import load_scenario

REPO = Path(__file__).resolve().parents[2]
FIT = REPO / "tests" / "data" / "popfit" / "estimates.json"
PROTOCOL = REPO / "src" / "cartrial" / "examples" / "ct103a-nmosd" / "protocol.yaml"
SIMULATED = "0 to 10 (an SD of log y; 0: no residual error)"


def _fit_scenario(tmp_path: Path, sigma: float) -> Path:
    doc = json.loads(FIT.read_text())
    doc.update({"status": "converged", "converged": True, "sigma": {"a": sigma}})
    (tmp_path / "estimates.json").write_text(json.dumps(doc))
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(
        f"name: popfit\nprotocol: {PROTOCOL}\nkinetics:\n  population_model: estimates.json\n",
        encoding="utf-8",
    )
    return scenario


def test_one_upper_bound_for_a_fitted_and_a_simulated_residual_sd() -> None:
    from cartrial.allowed import MAX_RESIDUAL_LOG_SD, RESIDUAL_LOG_SD, SIMULATED_RESIDUAL_LOG_SD
    from cartrial.kinetics.simulation import MAX_RESIDUAL_SD_LOG, RESIDUAL_SD_LOG

    assert MAX_RESIDUAL_LOG_SD == 10
    assert RESIDUAL_LOG_SD.high == SIMULATED_RESIDUAL_LOG_SD.high == MAX_RESIDUAL_SD_LOG == 10
    assert RESIDUAL_SD_LOG is SIMULATED_RESIDUAL_LOG_SD
    assert SIMULATED_RESIDUAL_LOG_SD.problem("sd", 0.0) is None  # no residual error
    assert RESIDUAL_LOG_SD.problem("sd", 0.0) is not None  # a fit's SD is never 0
    assert SIMULATED_RESIDUAL_LOG_SD.text() == SIMULATED


@pytest.mark.parametrize("sigma", [7.0, 10.0])
def test_a_fit_map_reads_drives_a_simulation(tmp_path: Path, sigma: float) -> None:
    scenario, _ = load_scenario(_fit_scenario(tmp_path, sigma))
    assert scenario.kinetics.residual_sd_log == sigma


def test_a_scenario_residual_sd_beyond_the_bound_is_refused_naming_the_range(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(
        f"name: s\nprotocol: {PROTOCOL}\nkinetics:\n  residual_sd_log: 10.5\n", encoding="utf-8"
    )
    with pytest.raises(InputError) as caught:
        load_scenario(scenario)
    text = str(caught.value)
    assert "kinetics.residual_sd_log" in text and "line 4" in text and SIMULATED in text, text
    scenario.write_text(f"name: s\nprotocol: {PROTOCOL}\nkinetics:\n  residual_sd_log: 7\n", encoding="utf-8")
    assert load_scenario(scenario)[0].kinetics.residual_sd_log == 7


@pytest.mark.parametrize("model", ["stein2019", "cartrial-pd"])
def test_kinetics_simulate_takes_a_residual_sd_up_to_ten(cli: Cli, tmp_path: Path, model: str) -> None:
    out = tmp_path / "sim.csv"
    args = ["kinetics", "simulate", "--model", model, "--subjects", "2", "--days", "0:14:7", "--seed", "3"]
    code, _, err = cli(*args, "--residual-sd", "7", "--out", out)
    assert code == 0, err
    assert out.stat().st_size > 0
    code, _, err = cli(*args, "--residual-sd", "10.5", "--out", out)
    assert code == 2
    assert err.endswith(f"error: --residual-sd: out of range (got 10.5); allowed: {SIMULATED}\n"), err


def test_the_help_of_residual_sd_states_the_range() -> None:
    import typer

    from cartrial.commands import kinetics_commands

    scratch = typer.Typer()
    kinetics_commands.register(scratch)
    simulate = typer.main.get_group(scratch).commands["kinetics"].commands["simulate"]  # type: ignore[attr-defined]
    text = next(p.help or "" for p in simulate.params if "--residual-sd" in p.opts)
    assert f"allowed: {SIMULATED}" in text, text
    assert "(allowed" not in text, text  # no brackets within brackets


def test_simulate_stein2019_takes_the_variance_a_scenario_and_map_take() -> None:
    """D-19.603: the Python API's `simulate_stein2019(omega2=…)` stopped at 25 (a log-scale SD of 5) while a
    scenario's `kinetics.omega2`, `kinetics popfit` and `kinetics map` take 0 to 100 (D-19.409): a fit's
    ω² of 50 drove a scenario but was refused by the engine. One range now, `OMEGA_LOG_VARIANCE`."""
    import numpy as np

    from cartrial.allowed import OMEGA_LOG_VARIANCE
    from cartrial.kinetics.models import OMEGA2, simulate_stein2019

    assert OMEGA2 is OMEGA_LOG_VARIANCE
    days = np.arange(0.0, 29.0, 7.0)
    sim = simulate_stein2019(50, days, seed=2, omega2={"cmax": 50.0, "tmax_days": 100.0})
    levels = sim.long_table()["conc_copies_per_ug"].to_numpy()
    assert levels.size == 250 and np.isfinite(levels).all() and (levels >= 0).all()
    with pytest.raises(InputError) as caught:
        simulate_stein2019(2, days, seed=2, omega2={"cmax": 100.5})
    assert str(caught.value) == (
        "omega2[cmax]: out of range (got 100.5); allowed: 0 to 100 on the log scale (an SD of at most 10)"
    )


def test_a_simulation_at_the_largest_residual_sd_is_read_back_by_nca(cli: Cli, tmp_path: Path) -> None:
    """D-19.606: at a residual SD of 10 a lognormal draw reached 5.3e18, above the largest concentration
    cartrial's readers take (`MAX_CONCENTRATION`, 1e15), so `cartrial nca` refused the simulator's own
    output (exit 2). An observation above it is written as it (an assay's upper limit) and counted.
    Changed by design in D-19.663: such a row is flagged (``conc_copies_per_ug_alq``, D-19.668) and
    `cartrial nca` refuses it by its row
    (it read 1e15 as a measured Cmax); the other rows are read back."""
    import pandas as pd

    from cartrial.allowed import MAX_CONCENTRATION

    out = tmp_path / "sim.csv"
    args = ["kinetics", "simulate", "--subjects", "100", "--days", "0:365:7", "--seed", "1"]
    code, _, err = cli(*args, "--residual-sd", "10", "--out", out)
    assert code == 0, err
    levels = pd.read_csv(out)["conc_copies_per_ug"]
    assert levels.max() == MAX_CONCENTRATION
    limited = int((levels == MAX_CONCENTRATION).sum())
    assert limited > 0
    assert f"{limited} samples above 1e+15 written as 1e+15" in err, err
    nca = [
        "nca",
        "--subject",
        "subject",
        "--time",
        "day",
        "--conc",
        "conc_copies_per_ug",
        "--conc-unit",
        "copies/ug",
    ]
    # D-19.663: the limited rows are flagged (conc_copies_per_ug_alq) and the NCA refuses them by row
    # instead of taking 1e15
    # for a measured Cmax; without them the simulator's output is read back
    table = pd.read_csv(out)
    assert int(table["conc_copies_per_ug_alq"].sum()) == limited
    code, _, err = cli(*nca, out)
    assert (
        code == 2
        and err.count(", conc_copies_per_ug_alq: the sample is above the upper limit of quantification")
        == limited
    ), err
    kept = tmp_path / "measured.csv"
    table[~table["conc_copies_per_ug_alq"]].to_csv(kept, index=False)
    code, _, err = cli(*nca, kept)
    assert code == 0, err


def test_simulate_stein2019_limits_an_observation_to_the_largest_concentration() -> None:
    import numpy as np

    from cartrial.allowed import MAX_CONCENTRATION
    from cartrial.kinetics.models import simulate_stein2019
    from cartrial.kinetics.simulation import simulate_stein2019_chunks

    days = np.arange(0.0, 366.0, 7.0)
    sim = simulate_stein2019(100, days, seed=1, residual_sd_log=10.0)
    assert sim.concentration.max() == MAX_CONCENTRATION
    limited = int((sim.concentration == MAX_CONCENTRATION).sum())
    assert limited > 0 and sim.settings["limited_to_max_concentration"] == limited
    chunks = simulate_stein2019_chunks(100, days, seed=1, residual_sd_log=10.0, chunk_samples=530)
    levels = np.concatenate([table["conc_copies_per_ug"].to_numpy() for table in chunks.tables()])
    assert np.array_equal(levels, sim.concentration.ravel())
    assert chunks.limited == limited
    assert simulate_stein2019(3, days, seed=1).settings["limited_to_max_concentration"] == 0


def test_a_simulated_study_with_a_pk_sample_above_the_limit_is_refused(make_scenario: Any) -> None:
    """D-19.606: `simulate study` draws its PK samples by the engine's rule, so `db import` (the store's
    bound is `MAX_CONCENTRATION` too) reads every one; seed 7 draws one above 1e15 at a residual SD of 10
    (seed 1 before D-19.858 changed the study's random stream after the relapse times).
    Changed by design in D-19.670: the store's ``pk_samples`` has no upper-limit flag, so such a sample would
    be stored, and analysed (NCA, report, CDISC PP), as a measured 1e15; the study is refused instead, with
    the count, the scenario field and what is allowed, before anything is written."""
    from cartrial.errors import InputError
    from cartrial.protocol import load_protocol
    from cartrial.simulation import prepare
    from cartrial.simulation.study import simulate_study

    scenario, protocol = load_scenario(
        make_scenario({"pool_size": 100, "kinetics": {"residual_sd_log": 10.0}})
    )
    with pytest.raises(InputError) as caught:
        simulate_study(prepare(scenario, load_protocol(protocol), 7), 7)
    text = str(caught.value)
    assert "kinetics.residual_sd_log" in text and "1 PK sample" in text and "above 1e+15" in text, text
    # the scenario file is named when `prepare` was given it, with a bound that keeps a study within the
    # limit: at an SD of 4 the chance that any of a 1,000-patient study's 15,000 samples exceeds 1e15 is
    # below 1e-5 with Stein 2019's kinetics (per sample Φ((ln 1e15 − ln C)/4), C over the IIV; D-19.670)
    path = make_scenario({"pool_size": 100, "kinetics": {"residual_sd_log": 10.0}})
    scenario, protocol = load_scenario(path)
    with pytest.raises(InputError) as caught:
        simulate_study(prepare(scenario, load_protocol(protocol), 7, scenario_file=str(path)), 7)
    (problem,) = caught.value.problems
    assert problem.file == str(path) and problem.field == "kinetics.residual_sd_log", problem
    assert problem.value == 10.0 and "a residual SD of at most 4" in str(problem.allowed), problem


def test_a_study_refused_for_a_population_model_s_residual_sd_names_that_model(tmp_path: Path) -> None:
    """The residual SD came from the population model's ``sigma.a`` (`kinetics.population_model`), not
    from ``kinetics.residual_sd_log``, which the scenario does not set: before, the refusal named the key the
    user had not written."""
    from cartrial.protocol import load_protocol
    from cartrial.simulation import prepare
    from cartrial.simulation.study import simulate_study

    path = _fit_scenario(tmp_path, 10.0)
    path.write_text(path.read_text(encoding="utf-8") + "pool_size: 100\n", encoding="utf-8")
    scenario, protocol = load_scenario(path)
    with pytest.raises(InputError) as caught:
        simulate_study(prepare(scenario, load_protocol(protocol), 7, scenario_file=str(path)), 7)
    (problem,) = caught.value.problems
    assert problem.file == str(path) and problem.field == "kinetics.population_model", problem
    assert "residual_sd_log" not in str(problem), problem
    assert "sigma.a 10 of the population model" in str(problem), problem


def test_simulate_study_writes_nothing_when_a_pk_sample_is_above_the_limit(
    make_scenario: Any, cli: Cli, tmp_path: Path
) -> None:
    """D-19.670: the command exits 2 naming the field, and the output folder is not created (seed 7: seed 6
    before D-19.876 and seed 1 before D-19.858 changed the study's random stream)."""
    path = make_scenario({"pool_size": 100, "kinetics": {"residual_sd_log": 10.0}})
    out = tmp_path / "study"
    code, _, err = cli("simulate", "study", "--scenario", path, "--seed", "7", "--out", out)
    assert code == 2 and "kinetics.residual_sd_log" in err, err
    assert f"{path}, kinetics.residual_sd_log" in err, err  # the scenario file named
    assert not out.exists()


def test_the_residual_sd_applies_to_the_pd_model_s_car_t_level(cli: Cli, tmp_path: Path) -> None:
    """D-19.600: `--residual-sd` was silently ignored with `--model cartrial-pd` (the output was the same at
    0 and 10). It applies to the CAR-T level (copies/µg, an assay's concentration), as the Stein 2019 model's;
    the plasma cells and AQP4-IgG relative to baseline are model values, unchanged."""
    import pandas as pd

    args = ["kinetics", "simulate", "--model", "cartrial-pd", "--subjects", "3", "--days", "0:28:7"]
    tables = {}
    for sd in ("0", "2"):
        out = tmp_path / f"pd-{sd}.csv"
        code, _, err = cli(*args, "--seed", "3", "--residual-sd", sd, "--out", out)
        assert code == 0, err
        tables[sd] = pd.read_csv(out)
    exact, noisy = tables["0"], tables["2"]
    ratio = noisy["car_t_copies_per_ug"] / exact["car_t_copies_per_ug"]
    assert (ratio[exact["car_t_copies_per_ug"] > 0] != 1).all()
    for column in ("subject", "day", "plasma_cells_relative", "aqp4_igg_relative"):
        assert noisy[column].equals(exact[column]), column
