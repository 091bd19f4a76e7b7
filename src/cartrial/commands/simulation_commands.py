"""CLI for in-silico trials: `cartrial simulate trial | study | sweep`.

Thin layer: read the scenario and its protocol, call `cartrial.simulation`, print a rich table or JSON and
write the outputs. Engines are imported inside the command functions (fast start-up).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from cartrial.allowed import check_seed
from cartrial.commands.option_names import names_cli_arguments, seed_option
from cartrial.commands.terminal import terminal

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rich.console import Console

    from cartrial.simulation import TrialOc

simulate_app = typer.Typer(
    help="In-silico trials of a protocol: operating characteristics, one virtual study as import templates, "
    "parameter sweeps (local or Dask).",
    no_args_is_help=True,
    epilog="Example: [bold]cartrial simulate trial --scenario examples/ct103a-nmosd/scenario.yaml "
    "--trials 1000[/]",
)

SCENARIO = typer.Option(..., "--scenario", help="Scenario YAML (names the protocol file).")
SEED = seed_option(0)

#: Engine field names (`simulate_trials`: `cartrial.simulation.scenario.TRIALS`) -> the option typed.
OPTION_NAMES: dict[str, str] = {"trials": "--trials", "seed": "--seed"}
_names_cli_arguments = names_cli_arguments(OPTION_NAMES)
JSON = typer.Option(False, "--json", help="Print JSON instead of tables.")


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` group to the root app."""
    app.add_typer(simulate_app, name="simulate")


def _load(scenario_path: Path) -> tuple[Any, Any]:
    from cartrial.protocol import load_protocol
    from cartrial.simulation import load_scenario

    scenario, protocol_path = load_scenario(scenario_path)
    return scenario, load_protocol(protocol_path)


def _out_folder(out: Path) -> None:
    """Create the output folder; a path that exists and is not a folder is refused (exit 2)."""
    _check_out_folder(out)
    out.mkdir(parents=True, exist_ok=True)


def _check_out_folder(out: Path) -> None:
    """The refusals of `_out_folder` (a path that exists and is not a folder; one under a file, as the
    folder's creation would fail) without creating anything: asked before the simulation (D-19.874)."""
    from cartrial.errors import InputError, Problem
    from cartrial.tabular import folder_creation_error

    if out.exists() and not out.is_dir():
        raise InputError(
            Problem("not a folder", field="--out", value=str(out), allowed="a folder (new or existing)")
        )
    error = folder_creation_error(out)
    if error is not None:
        raise error


def _progress_bar(disable: bool) -> Any:
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        transient=True,
        disable=disable,
        console=terminal(stderr=True),
    )


@simulate_app.command(
    "trial",
    epilog="Example: [bold]cartrial simulate trial --scenario examples/ct103a-nmosd/scenario.yaml "
    "--trials 1000 --out oc/[/]",
)
@_names_cli_arguments
def trial_command(
    scenario_path: Path = SCENARIO,
    trials: int = typer.Option(1000, "--trials", help="Number of virtual trials (allowed: 1 to 1000000)."),
    seed: int = SEED,
    out: Path | None = typer.Option(
        None, "--out", help="Folder for oc.json, doses.csv, metrics.csv, trials.csv and summary.html."
    ),
    as_json: bool = JSON,
) -> None:
    """Operating characteristics of many virtual trials of the scenario's protocol (Monte Carlo SEs)."""

    from cartrial.simulation import html_summary, prepare, simulate_trials, summarise_run, trials_table
    from cartrial.simulation.scenario import TRIALS
    from cartrial.tabular import csv_text, dumps_json, staged_folder, write_atomic

    check_seed(seed, "--seed")
    TRIALS.check("trials", trials)  # the engine's declaration, before the scenario is read
    if out is not None:
        _check_out_folder(out)  # before the simulation (D-19.874)
    scenario, protocol = _load(scenario_path)
    with _progress_bar(as_json) as bar:
        task = bar.add_task("screening the virtual population", total=None)
        prepared = prepare(scenario, protocol, seed, scenario_file=str(scenario_path))
        bar.update(task, description=f"simulating {trials} trials", total=trials, completed=0)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        batch = simulate_trials(prepared, trials, progress=advance)
    oc = summarise_run(prepared, batch)
    if out is not None:
        _out_folder(out)
        with staged_folder(out) as stage:  # all files or none (D-19.501)
            write_atomic(stage / "oc.json", dumps_json(oc.as_dict()) + "\n")
            write_atomic(stage / "doses.csv", csv_text(oc.doses))
            write_atomic(stage / "metrics.csv", csv_text(oc.metrics))
            write_atomic(stage / "trials.csv", csv_text(trials_table(batch)))
            write_atomic(stage / "summary.html", html_summary(oc, batch, f"Virtual trials: {scenario.name}"))
    if as_json:
        typer.echo(dumps_json(oc.as_dict()))
        return
    print_oc(terminal(), oc, f"{trials} virtual trials of {scenario.name}, seed {seed}")


def print_oc(console: Console, oc: TrialOc, title: str) -> None:
    """The operating-characteristics tables (doses, then trial metrics) with Monte Carlo SEs."""
    from rich.table import Table

    from cartrial.simulation.oc import (
        early_stop_summary_text,
        edss_probability_text,
        mean_cell,
        proportion_cell,
        proportion_text,
        treated_above_text,
    )

    doses = Table(title=title)
    # the design's patients (DLT-evaluable, and the expansion's) and every patient treated (D-19.1225)
    columns = (
        "level",
        "dose",
        "true p(DLT) %",
        "selected % (SE)",
        "patients (SE)",
        "treated (SE)",
        "DLTs (SE)",
    )
    for column in columns:
        doses.add_column(column, justify="right")
    for row in oc.doses.itertuples():
        doses.add_row(
            str(row.dose_level),
            str(row.label),
            f"{row.true_dlt_pct:.1f}",
            proportion_cell(row.selection_pct, row.selection_se_pct, int(oc.summary["trials"])),
            mean_cell(row.mean_n, row.mean_n_se),
            mean_cell(row.mean_treated, row.mean_treated_se),
            mean_cell(row.mean_dlt, row.mean_dlt_se),
        )
    console.print(doses)
    s = oc.summary
    edss = edss_probability_text(s)
    above = treated_above_text(s)
    console.print(
        f"no MTD {proportion_text(s['no_mtd_pct'], s['no_mtd_se_pct'], s['trials'])}; "
        + early_stop_summary_text(s)
        + "; ≥ 1 patient "
        "with grade ≥ 3 CRS "
        + proportion_text(s["p_any_crs_grade3plus_pct"], s["p_any_crs_grade3plus_se_pct"], s["trials"])
        + (f"; {above}" if above else "")
        + (f"; {edss}" if edss else "")
    )
    # each metric's mean, SE and quantiles are over the trials that gave it a value (a trial with nobody
    # evaluable has none, D-19.98): the "trials" column says how many, as oc.json's n_trials (D-19.802)
    metrics = Table(title="per trial: mean (SE) and 5-50-95 % quantiles over the trials with a value")
    for column in ("metric", "trials", "mean (SE)", "5 %", "median", "95 %"):
        metrics.add_column(column, justify="right")
    for row in oc.metrics.to_dict(orient="records"):
        if not row.get("n_trials"):
            # no trial gave a value (nobody evaluable, e.g. a follow-up shorter than the persistence day):
            # said in words; the frame's other rows made its mean NaN, which printed as "nan" (D-19.391)
            none = f"0 of {int(oc.summary['trials'])}"
            metrics.add_row(row["label"], none, "no trial had an evaluable patient", "", "", "")
            continue
        metrics.add_row(
            row["label"],
            f"{int(row['n_trials'])} of {int(oc.summary['trials'])}",
            mean_cell(row["mean"], row["se"]),
            f"{row['p5']:.1f}",
            f"{row['p50']:.1f}",
            f"{row['p95']:.1f}",
        )
    console.print(metrics)


@simulate_app.command(
    "study",
    epilog="Example: [bold]cartrial simulate study --scenario examples/ct103a-nmosd/scenario.yaml --seed 1 "
    "--out virtual-study/[/]",
)
def study_command(
    scenario_path: Path = SCENARIO,
    seed: int = SEED,
    out: Path = typer.Option(..., "--out", help="Folder for the CSV import templates (created if needed)."),
    patients: int | None = typer.Option(
        None,
        "--expansion-patients",
        help="Resize the protocol's expansion cohort (e.g. a large test study; allowed: 1 to 10000).",
    ),
    as_json: bool = JSON,
) -> None:
    """One virtual trial written as the CSV import templates (`cartrial import templates DIR` reads them)."""

    from cartrial.protocol import load_protocol
    from cartrial.simulation import load_scenario, prepare
    from cartrial.simulation.scenario import EXPANSION_PATIENTS
    from cartrial.simulation.study import simulate_study, virtual_study_protocol
    from cartrial.tabular import csv_text, dumps_json, staged_folder, write_atomic

    check_seed(seed, "--seed")
    _check_out_folder(out)  # before the simulation (D-19.874)
    scenario, protocol_path = load_scenario(scenario_path)
    protocol = load_protocol(protocol_path)
    if patients is not None:
        EXPANSION_PATIENTS.check("--expansion-patients", patients)  # as the scenario declares it
        design = scenario.design.model_copy(update={"expansion_patients": patients})
        scenario = scenario.model_copy(update={"design": design})
    prepared = prepare(scenario, protocol, seed, scenario_file=str(scenario_path))
    study = simulate_study(prepared, seed)
    _out_folder(out)
    with staged_folder(out) as stage:  # all files or none (D-19.501)
        for name, frame in study.forms.items():
            write_atomic(stage / f"{name}.csv", csv_text(frame))
        # the protocol to create the study with: therapies not collected (no CRS management, D-19.434)
        write_atomic(stage / "protocol.yaml", virtual_study_protocol(protocol_path))
    if as_json:
        typer.echo(dumps_json(study.summary))
        return
    console = terminal()
    console.print(
        f"{study.summary['patients']} virtual patients, data cut-off {study.summary['data_cutoff']}: "
        f"{sum(study.summary['rows'].values())} rows in {len(study.forms)} templates written to {out}"
    )
    for form, columns in study.summary["not_simulated"].items():
        what = ", ".join(columns) if columns else "the whole form"
        console.print(
            f"not simulated (the protocol collects it; the simulator does not model it): {form}: {what}"
        )
    console.print(f"CRS management: {study.summary['crs_management']}")
    after = study.summary["after_today"]
    if after is None:
        console.print(
            f"next: cartrial import templates {out} (after cartrial db init with {out / 'protocol.yaml'}: "
            "the scenario's protocol with analysis.options.therapies_collected: false)"
        )
    else:
        refused = after["consents_after_today"]
        what = (
            f"{refused} consent(s) after today, which the study database refuses (CONSENT-FUTURE)"
            if refused
            else "records dated after today, which cannot have been collected yet"
        )
        console.print(
            f"[yellow]the data cut-off is after today: {what}; for a study to import today, start the "
            f"accrual on or before {after['latest_start_date']} (scenario accrual.start_date) or accrue "
            "faster (accrual.candidates_per_month)[/]"
        )


@simulate_app.command(
    "sweep",
    epilog="Example: [bold]cartrial simulate sweep --scenario examples/ct103a-nmosd/scenario.yaml "
    "--grid examples/ct103a-nmosd/sweep.yaml --workers 2 --out sweep/[/]",
)
def sweep_command(
    scenario_path: Path = SCENARIO,
    grid_path: Path = typer.Option(
        ...,
        "--grid",
        help="Grid YAML: axes (dotted scenario paths), trials and seeds: common (default: every point the "
        "same seed, common random numbers) | independent.",
    ),
    seed: int = SEED,
    workers: int = typer.Option(
        2, "--workers", help="Local Dask worker processes, 0..64 (0 = run in this process, no Dask)."
    ),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        "--dask-scheduler",
        help="Address of an existing Dask distributed scheduler, e.g. tcp://HOST:8786 (instead of local "
        "workers).",
    ),
    out: Path | None = typer.Option(None, "--out", help="Folder for sweep.csv and sweep.json."),
    as_json: bool = JSON,
) -> None:
    """Operating characteristics over a grid of scenario/design parameters, in parallel (same seed, same
    results whatever the number of workers)."""

    from cartrial.errors import InputError, Problem
    from cartrial.simulation.sweep import load_grid, run_sweep
    from cartrial.tabular import csv_text, dumps_json, staged_folder, to_json_records, write_atomic

    check_seed(seed, "--seed")
    if not 0 <= workers <= 64:
        raise InputError(Problem("out of range", field="--workers", value=workers, allowed="0..64"))
    if scheduler is not None:
        import re

        if not re.fullmatch(r"(tcp|tls|ucx|ws|wss)://[^\s/]+(:\d+)?/?", scheduler):
            raise InputError(
                Problem(
                    "not a Dask scheduler address",
                    field="--scheduler",
                    value=scheduler,
                    allowed="PROTOCOL://HOST:PORT, e.g. tcp://127.0.0.1:8786",
                )
            )
    from cartrial.simulation import load_scenario

    if out is not None:
        _check_out_folder(out)  # before the sweep (D-19.874)
    scenario, protocol_path = load_scenario(scenario_path)
    grid = load_grid(grid_path)
    with _progress_bar(as_json) as bar:
        task = bar.add_task("sweep", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=f"sweep: {done}/{total} points")

        result = run_sweep(
            scenario,
            protocol_path,
            grid,
            seed=seed,
            workers=workers,
            scheduler=scheduler,
            progress=advance,
            source=str(grid_path),
            scenario_file=str(scenario_path),
        )
    payload = {**result.settings, "points_table": to_json_records(result.table)}
    if out is not None:
        _out_folder(out)
        with staged_folder(out) as stage:  # all files or none (D-19.501)
            write_atomic(stage / "sweep.csv", csv_text(result.table))
            write_atomic(stage / "sweep.json", dumps_json(payload) + "\n")
    if as_json:
        typer.echo(dumps_json(payload))
        return
    title = (
        f"sweep: {result.settings['points']} points × {result.settings['trials_per_point']} trials, "
        f"seed {seed} ({result.settings['seeds']} to every point)"
        if result.settings["seeds"] == "common"
        else f"sweep: {result.settings['points']} points × {result.settings['trials_per_point']} trials, "
        f"seed {seed} (an independent child seed per point)"
    )
    shown = [c for c in result.table.columns if c != "seed"][:SWEEP_SHOWN]
    terminal().print(sweep_table(result.table, title, shown))


SWEEP_SHOWN = 10
"""Columns of the sweep table printed on the terminal (all are in sweep.csv and the JSON)."""


def sweep_table(frame: Any, title: str, shown: Sequence[str]) -> Any:
    """The printed sweep table: the `shown` columns of `frame` (`run_sweep`'s table), a number to 2
    decimals; a cell without a value "n/a", with its reason per column in the caption
    (`cartrial.simulation.sweep.missing_reason`), never "nan" or "None" (D-19.475)."""
    import pandas as pd
    from rich.table import Table

    from cartrial.simulation.sweep import missing_reason

    columns = [c for c in frame.columns if c != "seed"]
    notes = [f"{len(shown)} of {len(columns)} columns shown; every column in --out sweep.csv and --json"]
    missing = {c: missing_reason(c) for c in shown if frame[c].isna().any()}
    notes += [f"n/a in {column}: {reason}" for column, reason in missing.items()]
    table = Table(title=title, caption="\n".join(notes))
    for column in shown:
        table.add_column(column, justify="right")
    for row in frame[list(shown)].itertuples(index=False):
        table.add_row(*("n/a" if pd.isna(v) else f"{v:.2f}" if isinstance(v, float) else str(v) for v in row))
    return table
