"""Parameter sweeps: the operating characteristics over a grid of scenario and design parameters.

docs/simulation.md §8. A grid file (YAML, validated with located errors) lists axes — dotted paths into the
scenario (``toxicity.crs.slope_log_exposure``, ``design.overrides.cohort_size``, ``accrual.
candidates_per_month``…) with their values — and the number of trials per point; the sweep runs every
combination (cartesian product). Each point is one task with its seed: by default (`seeds: common`) the same
for every point — common random numbers, so points differ by their parameters only (D-19.294) — or
(`seeds: independent`) its own child of `numpy.random.SeedSequence(seed)`; either way the results do not
depend on where or in which order the tasks run. Execution: in this process (`workers=0`), a local Dask
cluster of worker processes (default), or an existing Dask distributed cluster
(`scheduler="tcp://host:port"`); no home-made distribution layer.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cartrial.allowed import same_value
from cartrial.errors import CartrialError, InputError, Problem
from cartrial.protocol.yaml_source import (
    Issue,
    option_error,
    parse_yaml_model,
    read_text_file,
    semantic_error,
)
from cartrial.simulation.scenario import MAX_TRIALS, TRIALS, Scenario

#: Largest number of grid points of one sweep (each is a full simulation run).
MAX_POINTS = 10_000
#: Largest number of virtual trials of one sweep, points × trials per point: the largest single run
#: (`MAX_TRIALS`, `simulate trial --trials`), so a sweep does no more work than one run may (D-19.376).
MAX_SWEEP_TRIALS = MAX_TRIALS


def _section(annotation: Any) -> type[BaseModel] | None:
    """The scenario section an annotation holds (``Ordinal | None`` → ``Ordinal``), None for a value."""
    import typing

    for kind in (annotation, *typing.get_args(annotation)):
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            return kind
    return None


def parameter_problem(dotted: str) -> tuple[str, str] | None:
    """Why `dotted` is not a key of the scenario — (message, the keys allowed there) — or None (D-19.376).
    Any key under a mapping (``kinetics.omega2.cmax``, ``design.overrides.…``) is left to the scenario's
    check."""
    import typing

    model: type[BaseModel] = Scenario
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        fields = model.model_fields
        where = ".".join(parts[:i])
        if part not in fields:
            return (
                f"not a key of the scenario{' section ' + where if where else ''}",
                " | ".join(f"{where}.{name}" if where else name for name in fields),
            )
        if i == len(parts) - 1:
            return None
        annotation = fields[part].annotation
        section = _section(annotation)
        if section is not None:
            model = section
            continue
        if dict in {typing.get_origin(kind) or kind for kind in (annotation, *typing.get_args(annotation))}:
            return None
        return f"{'.'.join(parts[: i + 1])} is a value, not a section", ".".join(parts[: i + 1])
    return None


class Axis(BaseModel):
    """One axis of a grid: a scenario parameter and its distinct values."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    parameter: str = Field(min_length=1, description="dotted path into the scenario")
    values: list[Any] = Field(min_length=1)

    @model_validator(mode="after")
    def _a_scenario_key(self) -> Axis:
        """An unknown key was found only when a point was built: "nosuch: Extra inputs are not permitted"
        without the grid's line or the keys allowed (D-19.376)."""
        problem = parameter_problem(self.parameter)
        if problem is not None:
            raise semantic_error([Issue(("parameter",), problem[0], self.parameter, problem[1])])
        return self

    @model_validator(mode="after")
    def _distinct_values(self) -> Axis:
        """A value given twice would simulate the same grid points twice and report them as two points."""
        issues = []
        for j, value in enumerate(self.values):
            i = next((i for i in range(j) if same_value(self.values[i], value)), None)
            if i is not None:
                issues.append(
                    Issue(
                        ("values", j),
                        f"duplicate of values[{i}] at {{ref0}} in the axis {self.parameter}",
                        value,
                        "distinct values within an axis",
                        refs=(("values", i),),
                    )
                )
        if issues:
            raise semantic_error(issues)
        return self


class Grid(BaseModel):
    """A sweep grid: `axes` (cartesian product) and `trials` per point."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    trials: int = 1000
    axes: list[Axis] = Field(min_length=1)
    #: `common` (default): every point runs the same seed — the same virtual population and random stream,
    #: so points differ by their parameters only (common random numbers, D-19.294); `independent`: each
    #: point its own child of `SeedSequence(seed)`
    seeds: Literal["common", "independent"] = "common"

    @field_validator("trials")
    @classmethod
    def _trials_in_range(cls, value: int) -> int:
        """Trials per point: `cartrial.simulation.scenario.TRIALS`, as `simulate trial --trials`."""
        if (problem := TRIALS.problem("trials", value)) is not None:
            raise option_error(problem)
        return value

    @model_validator(mode="after")
    def _one_axis_per_parameter(self) -> Grid:
        """A parameter on two axes: the later axis would overwrite the earlier one's value at every point."""
        first: dict[str, int] = {}
        issues = []
        for j, axis in enumerate(self.axes):
            i = first.setdefault(axis.parameter, j)
            if i != j:
                issues.append(
                    Issue(
                        ("axes", j, "parameter"),
                        f"duplicate of axes[{i}] at {{ref0}}: the parameter is already an axis",
                        axis.parameter,
                        "one axis per parameter",
                        refs=(("axes", i, "parameter"),),
                    )
                )
        if issues:
            raise semantic_error(issues)
        return self


def load_grid(path: str | Path) -> Grid:
    """Read and validate a grid file (line-numbered errors)."""
    return parse_yaml_model(Grid, read_text_file(path), str(path), "sweep grid")


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = {}
            node[part] = child
        if not isinstance(child, dict):
            raise KeyError(dotted)
        node = child
    node[parts[-1]] = value


def grid_points(scenario: Scenario, grid: Grid, source: str = "grid") -> list[dict[str, Any]]:
    """Every combination of the axes' values, each checked by building its scenario (a bad path or value is
    an `InputError` naming the axis)."""
    n_points = 1
    for axis in grid.axes:
        n_points *= len(axis.values)
    if n_points > MAX_POINTS:
        raise InputError(
            Problem(
                f"the grid has {n_points} points, above the limit {MAX_POINTS}",
                file=source,
                field="axes",
                value=n_points,
                allowed=f"≤ {MAX_POINTS} points",
            )
        )
    if n_points * grid.trials > MAX_SWEEP_TRIALS:
        raise InputError(
            Problem(
                f"the grid has {n_points} points × {grid.trials} trials = {n_points * grid.trials} trials, "
                f"above the limit {MAX_SWEEP_TRIALS}",
                file=source,
                field="trials",
                value=grid.trials,
                allowed=f"points × trials ≤ {MAX_SWEEP_TRIALS}: fewer trials or fewer axis values",
            )
        )
    points = []
    for combo in itertools.product(*(axis.values for axis in grid.axes)):
        point = {axis.parameter: value for axis, value in zip(grid.axes, combo, strict=True)}
        scenario_for(scenario, point, source)
        points.append(point)
    return points


def scenario_for(scenario: Scenario, point: dict[str, Any], source: str = "grid") -> Scenario:
    """The scenario with the point's values set (validated again)."""
    data = scenario.model_dump()
    for parameter, value in point.items():
        try:
            _set(data, parameter, value)
        except KeyError:
            raise InputError(
                Problem("not a scenario parameter", file=source, field="axes.parameter", value=parameter)
            ) from None
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise InputError(_point_problems(exc, point, source)) from None


def _point_problems(exc: ValidationError, point: dict[str, Any], source: str) -> list[Problem]:
    """The problems of a grid point's scenario, each at its key with the value given and what is allowed
    (D-19.341): a model's own check (`semantic_error`, `option_error`) named the section with the whole
    section as its value — a Python dict of the scenario — and no allowed text."""
    from cartrial.protocol.yaml_source import SEMANTIC_ERROR_TYPE, allowed_from_ctx, parser_message

    where = ", ".join(f"{name}={_shown(value)}" for name, value in point.items())
    problems: list[Problem] = []
    for e in exc.errors():
        loc = tuple(e["loc"])
        context = e.get("ctx") or {}
        if e["type"] == SEMANTIC_ERROR_TYPE:
            for issue in context["issues"]:
                problems.append(
                    Problem(
                        f"{issue.message} (grid point {where})",
                        file=source,
                        field=".".join(str(p) for p in (*loc, *issue.path)),
                        value=_shown(issue.value),
                        allowed=issue.allowed,
                    )
                )
            continue
        given = e.get("input")
        problems.append(
            Problem(
                f"{parser_message(e)} (grid point {where})",  # cartrial's words (D-19.1456)
                file=source,
                field=".".join(str(p) for p in loc),
                value=None if isinstance(given, dict | list) else given,
                allowed=context.get("expected") if e["type"] == "option_range" else allowed_from_ctx(e),
            )
        )
    return problems


def _shown(value: Any) -> Any:
    """A grid value as the grid gives it: a list or mapping in YAML flow style, not a Python repr."""
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, ensure_ascii=False)
    return value


def run_point(task: dict[str, Any]) -> dict[str, Any]:
    """One grid point (a Dask task; plain data in and out): prepare, simulate, summarise as `cartrial simulate
    trial` does (`summarise_run`: a disease metric of an assessment the protocol does not collect is left
    out, D-19.64, D-19.351)."""
    from cartrial.protocol import parse_protocol
    from cartrial.simulation.oc import summarise_run
    from cartrial.simulation.trials import prepare, simulate_trials

    scenario = Scenario.model_validate(task["scenario"])
    protocol = parse_protocol(task["protocol_text"], task["protocol_source"])
    try:
        prepared = prepare(scenario, protocol, task["seed"])
        batch = simulate_trials(prepared, task["trials"])
    except CartrialError as error:  # returned as data: raised, naming the point, by `_execute` (D-19.1023)
        return {"point": task["index"] + 1, "error": _error_data(error)}
    oc = summarise_run(prepared, batch)
    row: dict[str, Any] = {"point": task["index"] + 1, **task["point"], "seed": task["seed"]}
    for dose in oc.doses.itertuples():
        row[f"true_dlt_pct_{dose.dose_level}"] = dose.true_dlt_pct  # the point's true DLT % (D-19.292)
        row[f"selection_pct_{dose.dose_level}"] = dose.selection_pct
        row[f"mean_n_{dose.dose_level}"] = dose.mean_n
    for key in (
        "no_mtd_pct",
        "early_stop_pct",
        "p_edss_improved_half_pct",
        "p_edss_improved_half_n_trials",
        "p_any_crs_grade3plus_pct",
        "pct_treated_above_target",
    ):
        row[key] = oc.summary[key]
    if not oc.summary.get("safety_stop"):  # no safety stop: not applicable, not 0 % (D-19.478)
        row["early_stop_pct"] = None
    for metric in oc.metrics.to_dict(orient="records"):
        if "mean" in metric:
            row[f"{metric['metric']}_mean"] = metric["mean"]
    return row


def _error_data(error: CartrialError) -> list[dict[str, Any]]:
    """The problems of `error` as plain data (a Dask task's result travels pickled; an exception of a task
    was logged with its traceback by the worker)."""
    problems = error.problems if isinstance(error, InputError) else [Problem(str(error))]
    return [dict(vars(problem)) for problem in problems]


def _axis_field(field: str | None, point: dict[str, Any]) -> bool:
    """Whether a problem at `field` is about one of the point's axes: the field is an axis or under one
    (``design.overrides.cohort_size`` for that axis), or an axis is under the field (``population``, refused
    as a whole, for an axis ``population.screening.…``). A field of no axis is the scenario file's
    (D-19.1025)."""
    if not field:
        return False
    return any(
        a == b or a.startswith(b + ".")
        for parameter in point
        for a, b in ((field, parameter), (parameter, field))
    )


def point_error(
    problems: Sequence[Problem], point: dict[str, Any], source: str, scenario_file: str | None = None
) -> InputError:
    """The error of a grid point's run, each problem naming the point (``grid point axis=value``) and, when
    it names no file, the file its field comes from (D-19.1023): the grid file (`source`) when the field is
    one of the point's axes (`_axis_field`), else the scenario file (D-19.1025; the grid was named for a
    scenario key no axis varies). A point refused by the design or the simulator said neither which file
    nor which point."""
    where = ", ".join(f"{name}={_shown(value)}" for name, value in point.items())
    return InputError(
        [
            replace(
                problem,
                message=f"{problem.message} (grid point {where})",
                file=problem.file
                if problem.file or problem.line is not None
                else (source if _axis_field(problem.field, point) else scenario_file),
            )
            for problem in problems
        ]
    )


def _design_problems(protocol: Any, scenario: Scenario) -> list[Problem]:
    """The problems of the checks `prepare` makes before drawing anything (D-19.1023): the design with the
    scenario's overrides (`build_design`: each override in range, a design the simulator runs) and one
    fixed DLT probability per dose level (`models.dlt_probability_check`)."""
    from cartrial.simulation import models as m
    from cartrial.simulation.trials import build_design

    try:
        build_design(protocol, scenario)
        m.dlt_probability_check(scenario, protocol.n_dose_levels)
    except InputError as error:
        return list(error.problems)
    except CartrialError as error:
        return [Problem(str(error), field="design")]
    return []


def check_base(
    protocol: Any, scenario: Scenario, points: Sequence[dict[str, Any]], scenario_file: str | None
) -> None:
    """The base scenario checked as `prepare` checks it before drawing anything, before any point
    (D-19.1025): a problem at a key no axis of the grid varies is the scenario file's, named with it as
    `simulate trial` names it, not with the grid file and a point. A problem at a key an axis varies is
    left to the points (their values replace the scenario's)."""
    axes = points[0] if points else {}  # every point has the grid's axes
    problems = [
        problem if problem.file or problem.line is not None else replace(problem, file=scenario_file)
        for problem in _design_problems(protocol, scenario)
        if not _axis_field(problem.field, axes)
    ]
    if problems:
        raise InputError(problems)


def check_point(
    protocol: Any,
    scenario: Scenario,
    point: dict[str, Any],
    source: str = "grid",
    scenario_file: str | None = None,
) -> None:
    """The checks `prepare` makes before drawing anything (`_design_problems`), made for every point before
    any point runs (D-19.1023). A bad point stopped the sweep only when its task ran — after the points
    before it, and, on Dask, with the worker's traceback — and its message named neither the grid file nor
    the point."""
    problems = _design_problems(protocol, scenario)
    if problems:
        raise point_error(problems, point, source, scenario_file)


def missing_reason(column: str) -> str:
    """Why a cell of the sweep table's `column` has no value (NaN in the table, empty in sweep.csv, null in
    JSON; "n/a" printed, D-19.475): the summary's own reasons (`cartrial.simulation.oc`)."""
    if column.startswith(("pct_treated_above_target", "target_toxicity")):
        return "the design has no target toxicity"
    if column == "early_stop_pct":
        return "the design has no safety stop (as dfcrm crm): it keeps treating at a too-toxic level 1"
    if column.startswith("p_edss_improved_half"):
        return "no trial with an EDSS-evaluable patient, or EDSS not collected"
    if column.startswith(("true_dlt_pct_", "selection_pct_", "mean_n_")):
        return "the point has no such dose level"
    if column.endswith("_mean"):
        return "no trial had an evaluable patient"
    return "no value at this point"


@dataclass(frozen=True)
class SweepResult:
    table: pd.DataFrame
    settings: dict[str, Any]


def point_seeds(seed: int, n: int) -> list[int]:
    """One 63-bit integer seed per point from `SeedSequence(seed).spawn(n)`."""
    import numpy as np

    return [
        int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
        for child in np.random.SeedSequence(seed).spawn(n)
    ]


def sweep_seeds(seed: int, n: int, rule: str = "common") -> list[int]:
    """The seed of each of `n` points: with `common` (D-19.294) the first point's seed for every point, with
    `independent` one child of `SeedSequence(seed)` per point (`point_seeds`)."""
    if rule == "common":
        return point_seeds(seed, 1) * n
    if rule == "independent":
        return point_seeds(seed, n)
    raise InputError(Problem("unknown seed rule", field="seeds", value=rule, allowed="common | independent"))


def run_sweep(
    scenario: Scenario,
    protocol_path: Path,
    grid: Grid,
    *,
    seed: int = 0,
    workers: int = 2,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    source: str = "grid",
    scenario_file: str | None = None,
) -> SweepResult:
    """Run every grid point (see the module docstring); rows in grid order whatever the execution order.
    `source` (the grid file) and `scenario_file` are named in the messages about them (D-19.1025)."""
    from cartrial.protocol import parse_protocol

    points = grid_points(scenario, grid, source)
    seeds = sweep_seeds(seed, len(points), grid.seeds)
    text = read_text_file(protocol_path)
    protocol = parse_protocol(text, str(protocol_path))
    check_base(protocol, scenario, points, scenario_file)  # the scenario's own problems first (D-19.1025)
    for point in points:  # every point's design checked before any point runs (D-19.1023)
        check_point(protocol, scenario_for(scenario, point, source), point, source, scenario_file)
    tasks = [
        {
            "index": i,
            "point": point,
            "scenario": scenario_for(scenario, point, source).model_dump(mode="json"),
            "protocol_text": text,
            "protocol_source": str(protocol_path),
            "seed": seeds[i],
            "trials": grid.trials,
        }
        for i, point in enumerate(points)
    ]
    rows = _execute(
        tasks,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        source=source,
        scenario_file=scenario_file,
    )
    table = pd.DataFrame(sorted(rows, key=lambda r: r["point"]))
    return SweepResult(
        table,
        {
            "points": len(points),
            "trials_per_point": grid.trials,
            "seed": seed,
            "seeds": grid.seeds,
            "executor": scheduler
            or ("in-process" if workers == 0 else f"local Dask cluster, {workers} workers"),
        },
    )


def _execute(
    tasks: Sequence[dict[str, Any]],
    *,
    workers: int,
    scheduler: str | None,
    progress: Callable[[int, int], None] | None,
    source: str = "grid",
    scenario_file: str | None = None,
) -> list[dict[str, Any]]:
    total = len(tasks)

    def checked(row: dict[str, Any]) -> dict[str, Any]:
        """The point's row, or its refusal raised naming the point (`run_point`, D-19.1023)."""
        if "error" in row:
            point = next(task["point"] for task in tasks if task["index"] + 1 == row["point"])
            raise point_error([Problem(**p) for p in row["error"]], point, source, scenario_file)
        return row

    if scheduler is None and workers == 0:
        rows = []
        for i, task in enumerate(tasks):
            if progress is not None:
                progress(i, total)
            rows.append(checked(run_point(task)))
        if progress is not None:
            progress(total, total)
        return rows
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="3s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(
                Problem(
                    f"cannot reach the Dask scheduler: {exc}",
                    field="--scheduler",
                    value=scheduler,
                    allowed="the address of a running Dask scheduler, e.g. tcp://127.0.0.1:8786",
                )
            ) from None
    else:
        try:
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
            client = Client(cluster)
        except Exception as exc:  # the machine could not start them (memory, processes): one-line error
            if cluster is not None:
                cluster.close()
            raise InputError(
                Problem(
                    f"cannot start {workers} local Dask worker processes ({type(exc).__name__}: {exc})",
                    field="--workers",
                    value=workers,
                    allowed="fewer workers (1 runs in this process), or --scheduler of a running cluster",
                )
            ) from None
    try:
        futures = client.map(run_point, list(tasks), pure=False)
        rows = []
        if progress is not None:
            progress(0, total)
        for done, future in enumerate(as_completed(futures), start=1):
            rows.append(checked(future.result()))
            if progress is not None:
                progress(done, total)
        return rows
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


__all__ = [
    "MAX_POINTS",
    "MAX_SWEEP_TRIALS",
    "Grid",
    "SweepResult",
    "check_base",
    "check_point",
    "grid_points",
    "load_grid",
    "missing_reason",
    "point_error",
    "point_seeds",
    "run_point",
    "run_sweep",
    "sweep_seeds",
]
