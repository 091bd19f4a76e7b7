"""A grid point that the design or the simulator refuses is named, with the grid file, before any point runs
when it can be (D-19.1023).

Before D-19.1023 a point's design override out of range (`design.overrides.cohort_size: 0`) or a fixed DLT
probability list of the wrong length passed the grid's check (the scenario model) and stopped the sweep only
when its task ran — after the points before it and, on a Dask cluster, with the worker's traceback logged —
with a message naming neither the grid file nor the point: "error: design.overrides.cohort_size: design
override: out of range (got 0)". A point refused while it runs (a population with nobody eligible) named
no point either.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cartrial.errors import InputError
from cartrial.simulation import load_scenario
from cartrial.simulation.sweep import load_grid, run_sweep


def _grid(tmp_path: Path, axis: str) -> Path:
    path = tmp_path / "grid.yaml"
    path.write_text(f"trials: 5\naxes:\n  - {axis}\n", encoding="utf-8")
    return path


def test_a_design_override_out_of_range_names_the_grid_file_and_point(
    cli: Callable[..., object], tmp_path: Path, make_scenario: Callable[..., Path]
) -> None:
    scenario = make_scenario({"pool_size": 100})
    grid = _grid(tmp_path, "{parameter: design.overrides.cohort_size, values: [3, 0]}")
    result = cli("simulate", "sweep", "--scenario", scenario, "--grid", grid, "--workers", "0")
    assert result.exit_code == 2  # type: ignore[attr-defined]
    err = " ".join(result.stderr.split())  # type: ignore[attr-defined]
    assert f"{grid}, design.overrides.cohort_size" in err
    assert "grid point design.overrides.cohort_size=0" in err
    assert "Traceback" not in err


def test_every_point_is_checked_before_any_point_runs(
    tmp_path: Path, make_scenario: Callable[..., Path]
) -> None:
    scenario, protocol = load_scenario(make_scenario({"pool_size": 100}))
    grid = load_grid(
        _grid(tmp_path, "{parameter: toxicity.fixed_dlt_probability, values: [[0.1, 0.2], [0.1]]}")
    )
    calls: list[tuple[int, int]] = []
    with pytest.raises(InputError) as caught:
        run_sweep(
            scenario,
            protocol,
            grid,
            workers=0,
            progress=lambda done, total: calls.append((done, total)),
            source=str(tmp_path / "grid.yaml"),
        )
    assert calls == []  # refused before the first point ran
    (problem,) = caught.value.problems
    assert problem.file == str(tmp_path / "grid.yaml")
    assert problem.field == "toxicity.fixed_dlt_probability"
    assert "grid point toxicity.fixed_dlt_probability=[0.1]" in problem.message


def test_a_point_refused_while_it_runs_is_named(tmp_path: Path, make_scenario: Callable[..., Path]) -> None:
    scenario, protocol = load_scenario(make_scenario({"pool_size": 100}))
    grid = load_grid(
        _grid(tmp_path, "{parameter: population.screening.aqp4_positive_fraction, values: [0.0]}")
    )
    with pytest.raises(InputError) as caught:
        run_sweep(scenario, protocol, grid, workers=0, source="grid.yaml")
    (problem,) = caught.value.problems
    assert problem.file == "grid.yaml" and problem.field == "population"
    assert "grid point population.screening.aqp4_positive_fraction=0.0" in problem.message


def test_a_design_override_refused_as_a_whole_names_the_section(make_scenario: Callable[..., Path]) -> None:
    """A check of the whole escalation section (a TITE-CRM override without its target, skeleton and max_n)
    has no key of its own: the problem is at ``design.overrides``, not ``design.overrides.`` (D-19.1024)."""
    from cartrial.protocol import load_protocol
    from cartrial.simulation import prepare

    scenario, protocol = load_scenario(make_scenario({"design": {"overrides": {"design": "tite-crm"}}}))
    with pytest.raises(InputError) as caught:
        prepare(scenario, load_protocol(protocol), 1)
    fields = {problem.field for problem in caught.value.problems}
    assert fields == {"design.overrides"}


@pytest.mark.parametrize(
    "changes",
    [
        {"design": {"overrides": {"cohort_size": 0}}},  # refused before any point runs
        {"population": {"screening": {"aqp4_positive_fraction": 0.0}}},  # refused while a point runs
    ],
    ids=["design-override", "nobody-eligible"],
)
def test_a_problem_of_the_scenario_names_the_scenario_file_not_the_grid(
    changes: dict[str, object],
    cli: Callable[..., object],
    tmp_path: Path,
    make_scenario: Callable[..., Path],
) -> None:
    """A grid varying only `pool_size` does not make the scenario's cohort size 0 or its population
    ineligible: the problem is the scenario file's, named as `simulate trial` names it (D-19.1025). Before,
    the sweep put it at the grid file: "grid.yaml, design.overrides.cohort_size: … (grid point
    pool_size=100)"."""
    scenario = make_scenario({**changes, "pool_size": 100})
    grid = _grid(tmp_path, "{parameter: pool_size, values: [100]}")
    result = cli("simulate", "sweep", "--scenario", scenario, "--grid", grid, "--workers", "0")
    assert result.exit_code == 2  # type: ignore[attr-defined]
    err = " ".join(result.stderr.split())  # type: ignore[attr-defined]
    assert str(scenario) in err
    assert "grid.yaml" not in err
    assert "Traceback" not in err
    field = "design.overrides.cohort_size" if "design" in changes else "population"
    assert f"{scenario}, {field}" in err


def test_a_point_refused_while_it_runs_on_dask_is_a_clean_message(
    cli: Callable[..., object], tmp_path: Path, make_scenario: Callable[..., Path]
) -> None:
    """The refusal of a point on a Dask worker travels back as data (D-19.1023): exit 2, the grid file and
    the point named, no worker traceback on stderr."""
    scenario = make_scenario({"pool_size": 100})
    grid = _grid(tmp_path, "{parameter: population.screening.aqp4_positive_fraction, values: [0.0]}")
    result = cli("simulate", "sweep", "--scenario", scenario, "--grid", grid, "--workers", "1")
    assert result.exit_code == 2  # type: ignore[attr-defined]
    err = " ".join(result.stderr.split())  # type: ignore[attr-defined]
    assert f"{grid}, population" in err
    assert "grid point population.screening.aqp4_positive_fraction=0.0" in err
    assert "Traceback" not in err


PARSER_PHRASES = ("Input should be", "Value error,", "validation error", "unable to parse")
"""Phrases of the parser's (pydantic's) sentences: no problem shows one (D-19.1456)."""


def test_a_grid_point_of_the_wrong_type_is_in_cartrial_words(
    tmp_path: Path, make_scenario: Callable[..., Path]
) -> None:
    """A grid point the scenario model refuses is worded as every bad value, with what is allowed, never the
    parser's sentence (D-19.1456)."""
    scenario, protocol = load_scenario(make_scenario({"pool_size": 100}))
    grid = load_grid(_grid(tmp_path, "{parameter: pool_size, values: [three]}"))
    with pytest.raises(InputError) as caught:
        run_sweep(scenario, protocol, grid, workers=0, source="grid.yaml")
    (problem,) = caught.value.problems
    assert (problem.field, problem.message, problem.allowed) == (
        "pool_size",
        "not a whole number (grid point pool_size=three)",
        "a whole number",
    )
    for phrase in PARSER_PHRASES:
        assert phrase not in str(caught.value)


def test_a_design_override_of_the_wrong_type_is_in_cartrial_words(make_scenario: Callable[..., Path]) -> None:
    """A design override the protocol's escalation model refuses is worded as every bad value (D-19.1456)."""
    from cartrial.protocol import load_protocol
    from cartrial.simulation import prepare

    scenario, protocol = load_scenario(make_scenario({"design": {"overrides": {"cohort_size": "three"}}}))
    with pytest.raises(InputError) as caught:
        prepare(scenario, load_protocol(protocol), 1)
    (problem,) = caught.value.problems
    assert (problem.field, problem.message, problem.allowed) == (
        "design.overrides.cohort_size",
        "design override: not a whole number",
        "a whole number",
    )
    for phrase in PARSER_PHRASES:
        assert phrase not in str(caught.value)
