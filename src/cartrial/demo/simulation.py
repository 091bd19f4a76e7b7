"""Demo step: in-silico trials. Runs 1,000 virtual trials of the reference scenario
(``examples/ct103a-nmosd/scenario.yaml``: the protocol's 3+3 design, Stein 2019 kinetics, graded toxicity,
relapses linked to AQP4-IgG), prints the operating-characteristics table and writes ``oc.json``,
``doses.csv``, ``metrics.csv`` and ``summary.html`` to ``<out>/simulation/``."""

from __future__ import annotations

from cartrial.demo import DemoContext

TRIALS = 1000
SEED = 2026


def run(ctx: DemoContext) -> None:
    """Run the simulation demo step (see the module docstring)."""
    from rich.table import Table

    from cartrial.protocol import load_protocol
    from cartrial.simulation import html_summary, load_scenario, prepare, simulate_trials, summarise_run
    from cartrial.simulation.oc import (
        early_stop_summary_text,
        edss_probability_text,
        mean_cell,
        proportion_cell,
        proportion_text,
    )
    from cartrial.tabular import csv_text, dumps_json, write_atomic

    scenario_file = ctx.examples_dir / "ct103a-nmosd" / "scenario.yaml"
    scenario, protocol_path = load_scenario(scenario_file)
    protocol = load_protocol(protocol_path)
    prepared = prepare(scenario, protocol, SEED, scenario_file=str(scenario_file))
    batch = simulate_trials(prepared, TRIALS)
    oc = summarise_run(prepared, batch)  # as `cartrial simulate trial` (D-19.351)
    out_dir = ctx.out_dir / "simulation"
    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(out_dir / "oc.json", dumps_json(oc.as_dict()) + "\n")
    write_atomic(out_dir / "doses.csv", csv_text(oc.doses))
    write_atomic(out_dir / "metrics.csv", csv_text(oc.metrics))
    write_atomic(out_dir / "summary.html", html_summary(oc, batch, f"Virtual trials: {scenario.name}"))
    console = ctx.console
    console.rule("[bold]In-silico trials (cartrial simulate trial)")
    console.print(
        f"{TRIALS} virtual trials of {scenario.name} ({prepared.design.name}; {len(prepared.eligible)} of "
        f"{len(prepared.pool.covariates)} virtual candidates eligible by the protocol's screen), "
        f"{batch.seconds:.1f} s"
    )
    doses = Table(title="operating characteristics per dose level (Monte Carlo SE)")
    for column in ("dose", "selected as MTD %", "patients", "DLTs"):
        doses.add_column(column, justify="right")
    trials = int(oc.summary["trials"])
    for row in oc.doses.itertuples():
        # the cells of `cartrial simulate trial`: exact interval at 0/100 %, "SE n/a" with one trial
        doses.add_row(
            str(row.label),
            proportion_cell(row.selection_pct, row.selection_se_pct, trials),
            mean_cell(row.mean_n, row.mean_n_se),
            mean_cell(row.mean_dlt, row.mean_dlt_se),
        )
    console.print(doses)
    metrics = Table(title="per trial: mean (SE) [5 %, 95 %]")
    metrics.add_column("metric")
    metrics.add_column("value", justify="right")
    for row in oc.metrics.to_dict(orient="records"):
        if "mean" not in row:
            continue
        if not row.get("n_trials"):
            metrics.add_row(row["label"], "no trial had an evaluable patient")
            continue
        metrics.add_row(
            row["label"], f"{mean_cell(row['mean'], row['se'])} [{row['p5']:.1f}, {row['p95']:.1f}]"
        )
    console.print(metrics)
    s = oc.summary
    console.print(
        early_stop_summary_text(s) + ", "
        f"no MTD {proportion_text(s['no_mtd_pct'], s['no_mtd_se_pct'], int(s['trials']))}; "
        f"{edss_probability_text(s)}. Virtual data from stated assumptions (docs/simulation.md), not "
        f"evidence. Files: {out_dir}"
    )
