"""`summarise_run` (Python API, `cartrial.simulation`): the operating characteristics of a run as
`cartrial simulate trial` reports them. Before, the dose-level labels, the run's settings (design, screening
of the pool) and the protocol's collected assessments were put together in the command only: a notebook's
`summarise(batch)` reported disease metrics of assessments the protocol does not collect (D-19.64)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cartrial.protocol import load_protocol
from cartrial.simulation import (
    load_grid,
    load_scenario,
    prepare,
    run_settings,
    run_sweep,
    simulate_trials,
    summarise,
    summarise_run,
)
from cartrial.tabular import dumps_json

from ..conftest import run_cartrial

REFERENCE = "examples/ct103a-nmosd/scenario.yaml"
GMG = "tests/data/indication-gmg/scenario.yaml"
REPO = Path(__file__).resolve().parents[2]


def test_the_api_gives_the_cli_operating_characteristics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    scenario, path = load_scenario(REFERENCE)
    protocol = load_protocol(path)
    prepared = prepare(scenario, protocol, 3, scenario_file=REFERENCE)
    oc = summarise_run(prepared, simulate_trials(prepared, 60))
    cli = run_cartrial(
        "simulate", "trial", "--scenario", REFERENCE, "--trials", "60", "--seed", "3", "--json"
    )
    assert cli.exit_code == 0, cli.stderr
    printed = json.loads(cli.stdout)
    mine = json.loads(dumps_json(oc.as_dict()))
    for doc in (printed, mine):
        doc.pop("seconds")  # wall-clock time of the run
    assert mine == printed
    # the labels are the protocol's, and the settings say what was screened
    assert list(oc.doses["label"]) == [level.label for level in protocol.dose_levels]
    settings = run_settings(prepared)
    assert settings["pool_eligible"] <= settings["pool_screened"]
    assert settings["screening_pass_pct"] == 100 * settings["pool_eligible"] / settings["pool_screened"]


def test_a_protocol_without_edss_or_relapses_has_no_such_metric(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    scenario, path = load_scenario(GMG)
    prepared = prepare(scenario, load_protocol(path), seed=1)
    assert not {"edss", "relapses"} & prepared.protocol.collected_assessments
    batch = simulate_trials(prepared, 20, seed=1)
    reported = set(summarise_run(prepared, batch).metrics["metric"])
    assert not {"pct_edss_improved", "pct_relapse_free", "arr_post"} & reported
    assert {"pct_edss_improved", "pct_relapse_free"} <= set(summarise(batch).metrics["metric"])  # all


def test_a_sweep_reports_what_simulate_trial_reports(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A sweep point's operating characteristics are `summarise_run`'s (D-19.351): for a protocol that does
    not collect the EDSS or relapses (gMG) no sweep column holds an EDSS or relapse metric, as `simulate
    trial` reports none (D-19.64)."""
    monkeypatch.chdir(REPO)
    scenario, path = load_scenario(GMG)
    grid = tmp_path / "grid.yaml"
    grid.write_text("trials: 20\naxes:\n  - parameter: toxicity.crs.slope_log_exposure\n    values: [0.5]\n")
    table = run_sweep(scenario, path, load_grid(grid), seed=2, workers=0).table
    disease = [c for c in table.columns if "edss" in c or "relapse" in c or c.startswith("arr_")]
    assert all(table[c].isna().all() for c in disease), disease
    assert "pct_relapse_free_mean" not in table.columns
    assert table["p_edss_improved_half_n_trials"].isna().all()
