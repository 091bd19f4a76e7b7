"""Demo step: replay the CT103A escalation with the protocol's design, check the recorded decisions
against the DLT window, and write the two-dose design's operating characteristics."""

from __future__ import annotations

from typing import Any

from cartrial.demo import DemoContext

DEMO_SCENARIOS: tuple[tuple[str, tuple[float, float]], ...] = (
    ("both doses safe", (0.05, 0.10)),
    ("target-like toxicity at level 2", (0.10, 0.25)),
    ("level 2 too toxic", (0.15, 0.45)),
    ("both doses too toxic", (0.40, 0.60)),
)


def run(ctx: DemoContext) -> None:
    """Replay the CT103A escalation with the protocol's design; write the two-dose design's exact OCs."""
    from cartrial.commands.escalation_commands import print_oc
    from cartrial.escalation import (
        BehavingDesign,
        ExpansionCohort,
        ThreePlusThree,
        design_from_spec,
        exact_three_plus_three,
        simulate,
        with_behaviours,
    )
    from cartrial.protocol import load_protocol
    from cartrial.tabular import dumps_json, write_atomic

    console = ctx.console
    protocol = load_protocol(ctx.protocol_file)
    n_doses = len(protocol.dose_levels)
    design = design_from_spec(protocol.escalation, n_doses, expansion=protocol.expansion)
    console.rule("[bold]escalation[/]: replay of the reference study's escalation")
    console.print(f"design from {ctx.protocol_file.name}: {design.name}, options {design.options()}")
    steps = ["", "1NNN", "1NNN 2NNN", "1NNN 2NNN 2NNNNNN"]
    replay: list[dict[str, Any]] = []
    for history in steps:
        fit = design.fit(history)
        mtd = fit.select_mtd()
        replay.append({**fit.as_dict(), "mtd": mtd.dose_level})
        console.print(
            f"after [cyan]{history or '(no patients)'}[/]: next dose {fit.next_dose}, "
            f"continue {'yes' if fit.continue_ else 'no'}, MTD estimate {mtd.dose_level} — "
            f"{fit.reasons[-1] if fit.reasons else 'start at the lowest level'}"
        )
    _check_recorded_decisions(ctx, protocol)
    out_dir = ctx.out_dir / "escalation"
    inner = design.inner if isinstance(design, BehavingDesign) else design
    ocs = []
    rows = [
        "scenario,level,true_p_dlt,selection_pct,mean_n,mean_dlt,no_mtd_pct,early_stop_pct,total_n,method"
    ]
    expansion = (
        ExpansionCohort(protocol.expansion.n_patients, protocol.expansion.dose_level)
        if protocol.expansion
        else None
    )
    for label, truth in DEMO_SCENARIOS:
        if isinstance(inner, ThreePlusThree):
            exact_design = with_behaviours(inner, expansion) if expansion else inner
            oc = exact_three_plus_three(exact_design, truth)
        else:
            oc = simulate(design, truth, cohorts=20, trials=10000, seed=6)
        ocs.append({"scenario": label, **oc.as_dict()})
        print_oc(console, oc, title=f"{label}: truth {truth}")
        for i, p in enumerate(oc.truth):
            rows.append(
                f"{label},{i + 1},{p},{oc.selection_pct[i]:.6f},{oc.mean_n[i]:.6f},{oc.mean_dlt[i]:.6f},"
                f"{oc.no_mtd_pct:.6f},{oc.early_stop_pct:.6f},{oc.total_n:.6f},{oc.method}"
            )
    write_atomic(
        out_dir / "replay.json", dumps_json({"protocol": str(ctx.protocol_file), "steps": replay}) + "\n"
    )
    write_atomic(out_dir / "operating_characteristics.json", dumps_json(ocs) + "\n")
    write_atomic(out_dir / "operating_characteristics.csv", "\n".join(rows) + "\n")
    console.print(f"wrote {out_dir}/replay.json, operating_characteristics.json and .csv")


def _check_recorded_decisions(ctx: DemoContext, protocol: Any) -> None:
    """The recorded escalation decisions of the example study against the protocol (`replay_decisions`)."""
    from cartrial.escalation import replay_decisions
    from cartrial.tabular import read_csv

    study = ctx.examples_dir / "ct103a-nmosd" / "study"
    decisions_file, infusions_file = study / "escalation_decisions.csv", study / "infusions.csv"
    if not (decisions_file.is_file() and infusions_file.is_file()):
        return
    result = replay_decisions(read_csv(decisions_file), read_csv(infusions_file), None, protocol)
    deviations = result.table[result.table["deviation"] != ""]
    console = ctx.console
    console.print(
        f"recorded decisions: {len(result.table)}; protocol deviations: {len(deviations)}"
        + "".join(f"\n  cohort {row.cohort}: {row.deviation}" for row in deviations.itertuples())
    )
