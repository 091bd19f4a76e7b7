"""`cartrial simulate sweep`: grid validation, reproducible results whatever the executor (in-process, a
Dask cluster reached by its address)."""

from __future__ import annotations

import json

import pytest

from cartrial.errors import InputError
from cartrial.simulation import load_scenario
from cartrial.simulation.sweep import grid_points, load_grid


def _grid(tmp_path, text):
    path = tmp_path / "grid.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_grid_points_are_the_cartesian_product(tmp_path):
    scenario, _ = load_scenario("examples/ct103a-nmosd/scenario.yaml")
    grid = load_grid(
        _grid(
            tmp_path,
            "trials: 10\naxes:\n  - {parameter: toxicity.crs.slope_log_exposure, values: [0.5, 1.0]}\n"
            "  - {parameter: accrual.candidates_per_month, values: [1, 2, 4]}\n",
        )
    )
    points = grid_points(scenario, grid)
    assert len(points) == 6
    assert points[0] == {"toxicity.crs.slope_log_exposure": 0.5, "accrual.candidates_per_month": 1}


def test_bad_grid_values_are_refused(tmp_path):
    scenario, _ = load_scenario("examples/ct103a-nmosd/scenario.yaml")
    with pytest.raises(InputError) as caught:
        load_grid(_grid(tmp_path, "trials: 0\naxes: []\n"))
    assert {p.line for p in caught.value.problems} == {1, 2}
    grid = load_grid(_grid(tmp_path, "axes:\n  - {parameter: accrual.candidates_per_month, values: [-1]}\n"))
    with pytest.raises(InputError, match="candidates_per_month"):
        grid_points(scenario, grid)


def test_a_value_repeated_in_an_axis_is_refused_at_its_line(tmp_path):
    """`values: [0.4, 0.8, 0.40]` simulated the 0.4 points twice and wrote them as separate rows. Refused
    at the repeat's line, naming the axis, the value and the earlier value's line; a parameter given on two
    axes (the later overwrote the earlier at every point) likewise."""
    text = (
        "trials: 10\naxes:\n  - parameter: toxicity.crs.slope_log_exposure\n    values: [0.4, 0.8]\n"
        "  - parameter: design.overrides.start_level\n    values:\n      - 1\n      - 2\n      - 1.0\n"
    )
    with pytest.raises(InputError) as caught:
        load_grid(_grid(tmp_path, text))
    [problem] = caught.value.problems
    assert (problem.line, problem.field, problem.value) == (9, "axes[1].values[2]", 1.0)
    assert problem.message == "duplicate of values[0] at line 7 in the axis design.overrides.start_level"
    assert problem.allowed == "distinct values within an axis"
    # true is not the value 1 (a boolean axis and a number axis are told apart)
    assert load_grid(_grid(tmp_path, text.replace("- 1.0", "- true"))).axes[1].values == [1, 2, True]
    twice = text.replace("- 1.0", "- 3").replace(
        "design.overrides.start_level", "toxicity.crs.slope_log_exposure"
    )
    with pytest.raises(InputError) as caught:
        load_grid(_grid(tmp_path, twice))
    [problem] = caught.value.problems
    assert (problem.line, problem.field) == (5, "axes[1].parameter")
    assert problem.message == "duplicate of axes[0] at line 3: the parameter is already an axis"


@pytest.mark.nightly
def test_same_seed_same_sweep_in_process_and_on_a_dask_cluster(cli, tmp_path, make_scenario):
    distributed = pytest.importorskip("distributed")
    scenario = make_scenario({"pool_size": 100})
    grid = _grid(
        tmp_path, "trials: 200\naxes:\n  - {parameter: toxicity.crs.slope_log_exposure, values: [0.5, 1.5]}\n"
    )
    local = cli("simulate", "sweep", "--scenario", scenario, "--grid", grid, "--workers", "0", "--json")
    assert local.exit_code == 0, local.stderr
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        remote = cli(
            "simulate",
            "sweep",
            "--scenario",
            scenario,
            "--grid",
            grid,
            "--scheduler",
            cluster.scheduler_address,
            "--json",
        )
    assert remote.exit_code == 0, remote.stderr
    first, second = json.loads(local.stdout), json.loads(remote.stdout)
    assert first["points_table"] == second["points_table"]
    assert [row["point"] for row in first["points_table"]] == [1, 2]
    # the slope changes the CRS outcomes (the axis is applied)
    rows = first["points_table"]
    assert rows[0]["n_crs_any_mean"] != rows[1]["n_crs_any_mean"]


def test_points_do_not_depend_on_execution_order(make_scenario, tmp_path):
    from cartrial.simulation.sweep import run_sweep

    scenario, protocol = load_scenario(make_scenario({"pool_size": 100}))
    grid = load_grid(
        _grid(
            tmp_path, "trials: 50\naxes:\n  - {parameter: dropout.hazard_per_year, values: [0.0, 0.5, 1.0]}\n"
        )
    )
    forward = run_sweep(scenario, protocol, grid, seed=4, workers=0).table
    # each point alone (as a worker would run it) gives its row of the whole sweep
    from cartrial.simulation.sweep import grid_points, run_point, scenario_for, sweep_seeds

    points = grid_points(scenario, grid)
    seeds = sweep_seeds(4, len(points), grid.seeds)
    text = protocol.read_text(encoding="utf-8")
    for i in (2, 0):
        task = {
            "index": i,
            "point": points[i],
            "scenario": scenario_for(scenario, points[i]).model_dump(mode="json"),
            "protocol_text": text,
            "protocol_source": str(protocol),
            "seed": seeds[i],
            "trials": 50,
        }
        assert run_point(task) == forward.to_dict(orient="records")[i]


def test_unreachable_scheduler_is_a_clear_error(cli, tmp_path, make_scenario):
    scenario = make_scenario({"pool_size": 100})
    grid = _grid(tmp_path, "trials: 5\naxes:\n  - {parameter: dropout.hazard_per_year, values: [0.1]}\n")
    result = cli(
        "simulate", "sweep", "--scenario", scenario, "--grid", grid, "--scheduler", "tcp://127.0.0.1:9"
    )
    assert result.exit_code == 2
    assert "--scheduler" in result.stderr and "Traceback" not in result.stderr


def test_local_workers_that_cannot_start_are_a_one_line_error(monkeypatch):
    """A machine that cannot start the local Dask workers (seen under a memory limit: "Nanny failed to
    start", a RuntimeError) ended `simulate sweep --workers N` in a traceback (issue 19 §4). The failure
    is injected here: the machine's own limits are not the test's to set."""
    import distributed

    from cartrial.errors import InputError
    from cartrial.simulation.sweep import _execute

    def refuse(*args, **kwargs):
        raise RuntimeError("Nanny failed to start")

    monkeypatch.setattr(distributed, "LocalCluster", refuse)
    with pytest.raises(InputError) as caught:
        _execute([{"point": 0}], workers=2, scheduler=None, progress=None)
    (problem,) = caught.value.problems
    assert problem.field == "--workers" and problem.value == 2
    assert (
        "cannot start 2 local Dask worker processes (RuntimeError: Nanny failed to start)" in problem.message
    )


@pytest.mark.parametrize(
    ("parameter", "message", "allowed"),
    [
        ("nosuch", "not a key of the scenario (got 'nosuch')", "population | accrual"),
        ("pd.nosuch", "not a key of the scenario section pd (got 'pd.nosuch')", "pd.titre_fall_steps"),
        ("follow_up_days.x", "follow_up_days is a value, not a section", "allowed: follow_up_days"),
    ],
)
def test_an_unknown_axis_parameter_is_refused_at_its_line(tmp_path, parameter, message, allowed):
    """ "nosuch: Extra inputs are not permitted" named neither the grid's line nor the keys allowed, and was
    found only when the first point was built (D-19.376)."""
    text = "trials: 10\naxes:\n  - {parameter: pd.dose_exponent, values: [0.5]}\n"
    text += f"  - {{parameter: {parameter}, values: [1]}}\n"
    with pytest.raises(InputError) as caught:
        load_grid(_grid(tmp_path, text))
    (problem,) = caught.value.problems
    assert problem.line == 4 and problem.field == "axes[1].parameter", problem
    assert message in str(problem) and allowed in str(problem), problem


def test_a_mapping_key_is_left_to_the_scenario_check(tmp_path):
    scenario, _ = load_scenario("examples/ct103a-nmosd/scenario.yaml")
    grid = load_grid(
        _grid(tmp_path, "trials: 10\naxes:\n  - {parameter: kinetics.omega2.cmax, values: [0.5]}\n")
    )
    assert grid_points(scenario, grid) == [{"kinetics.omega2.cmax": 0.5}]


def test_the_total_trials_of_a_sweep_are_bounded_before_any_work(tmp_path):
    """Each of 10000 points and 1000000 trials per point was allowed: 1e10 trials in all. Points × trials is
    at most `MAX_SWEEP_TRIALS`, refused before a point is built, naming both (D-19.376)."""
    from cartrial.simulation.sweep import MAX_SWEEP_TRIALS

    scenario, _ = load_scenario("examples/ct103a-nmosd/scenario.yaml")
    values = ", ".join(str(50 + i) for i in range(1000))
    text = f"trials: 1001\naxes:\n  - {{parameter: pool_size, values: [{values}]}}\n"
    with pytest.raises(InputError) as caught:
        grid_points(scenario, load_grid(_grid(tmp_path, text)))
    shown = str(caught.value)
    assert "1000 points × 1001 trials" in shown and f"points × trials ≤ {MAX_SWEEP_TRIALS}" in shown, shown
    assert MAX_SWEEP_TRIALS == 1_000_000
    ok = load_grid(_grid(tmp_path, text.replace("1001", "1000", 1)))
    assert len(grid_points(scenario, ok)) == 1000
