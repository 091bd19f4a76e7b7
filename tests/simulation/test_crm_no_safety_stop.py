"""A CRM without a safety stopping rule stays at (and selects) level 1 when level 1 is too toxic: dfcrm
0.2-2.1 `crm` recommends argmin |ptox - target| with no stopping rule (docs/science/dose-escalation.md §7.2;
a safety stop is a composable behaviour, §10: `stop_when_too_toxic`, Zohar & Chevret 2001). The operating
characteristics printed "early stop for toxicity 0.0 %" as if the design could stop; they now say the design
has no safety stop, so a selected level 1 is not read as a recommendation (D-19.478)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cartrial.escalation import Boin, Crm, ThreePlusThree, with_behaviours
from cartrial.escalation.behaviours import StopWhenTooToxic

SKELETON = [0.05, 0.1, 0.2, 0.3]
CRM = {"design": "crm", "skeleton": SKELETON, "target": 0.25, "max_n": 12, "cohort_size": 3}
LEVELS = [
    {"level": i + 1, "label": f"{c:g} CAR+ T cells/kg", "cells_per_kg": c}
    for i, c in enumerate([250_000, 500_000, 1_000_000, 2_000_000])
]


def test_dfcrm_crm_stays_at_a_toxic_level_1_without_a_stop() -> None:
    fit = Crm(SKELETON, 0.25).fit("1TTT 1TTT")
    assert fit.continue_ and fit.next_dose == 1  # dfcrm: no stopping rule
    stopped = with_behaviours(Crm(SKELETON, 0.25), StopWhenTooToxic(confidence=0.9)).fit("1TTT 1TTT")
    assert not stopped.continue_


def test_each_design_says_whether_it_can_stop_for_toxicity() -> None:
    """The stated rule per design: its threshold, confidence and minimum, not just a non-empty text."""
    assert Crm(SKELETON, 0.25).safety_stop() is None
    crm = with_behaviours(Crm(SKELETON, 0.25), StopWhenTooToxic(confidence=0.8, min_n=4)).safety_stop() or ""
    assert "P(p_1 > the target) > 0.8" in crm and ">= 4 patients at level 1" in crm
    boin = Boin(4, 0.25).safety_stop() or ""
    assert "P(p_1 > 0.25) > 0.95" in boin and "extrasafe" not in boin
    extrasafe = Boin(4, 0.25, extrasafe=True).safety_stop() or ""
    assert "extrasafe: P(p_1 > target) > 0.9 " in extrasafe  # 0.95 - offset 0.05
    assert ">= 2 DLTs at level 1" in (ThreePlusThree(4).safety_stop() or "")


def _run(cli, make_scenario: Callable[..., Path]) -> str:  # type: ignore[no-untyped-def]
    path = make_scenario(
        {"toxicity": {"fixed_dlt_probability": [0.9] * 4}, "design": {"overrides": CRM}, "pool_size": 200},
        protocol_changes={"dose_levels": LEVELS, "expansion": None},
    )
    result = cli("simulate", "trial", "--scenario", path, "--trials", "20", env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.stderr
    return " ".join(result.stdout.split())


def test_the_oc_of_a_crm_without_a_stop_say_so(cli, make_scenario) -> None:  # type: ignore[no-untyped-def]
    text = _run(cli, make_scenario)
    assert "no safety stop" in text
    assert "early stop for toxicity 0.0 %" not in text


def _empiric_posterior_above(dlts: int, n: int) -> float:
    """P(p_1 > 0.25 | dlts of n at level 1), empiric CRM p_1 = 0.05^exp(b), b ~ N(0, 1.34); scipy quad."""
    import math

    from scipy import integrate, stats

    bound = math.log(math.log(0.25) / math.log(SKELETON[0]))  # p_1 > 0.25 for b < bound

    def joint(b: float) -> float:
        p = SKELETON[0] ** math.exp(b)
        return float(stats.norm.pdf(b, 0, math.sqrt(1.34))) * p**dlts * (1 - p) ** (n - dlts)

    below = integrate.quad(joint, -15, bound, limit=200)[0]
    return below / (below + integrate.quad(joint, bound, 15, limit=200)[0])


def test_a_protocol_safety_stop_is_used(cli, make_scenario) -> None:  # type: ignore[no-untyped-def]
    """The protocol's `safety_stop` (crm/tite-crm) adds the stop: every trial at a 90 % toxic level 1 stops,
    no MTD; the output gives the stop's rate, not "none possible"."""
    from cartrial.protocol import load_protocol
    from cartrial.simulation import prepare, simulate_trials
    from cartrial.simulation.scenario import load_scenario

    path = make_scenario(
        {"toxicity": {"fixed_dlt_probability": [0.9] * 4}, "pool_size": 200},
        protocol_changes={
            "dose_levels": LEVELS,
            "expansion": None,
            "escalation": {**CRM, "safety_stop": 0.9},
        },
    )
    scenario, protocol_path = load_scenario(path)
    prepared = prepare(scenario, load_protocol(protocol_path), 1)
    assert prepared.design.safety_stop()
    # the protocol's threshold is the one used: pinned at an independent posterior of 2 DLTs in 3 at level 1
    p = _empiric_posterior_above(2, 3)
    for threshold, stops in ((p - 0.01, True), (p + 0.01, False)):
        changes = {"dose_levels": LEVELS, "expansion": None, "escalation": {**CRM, "safety_stop": threshold}}
        pinned = make_scenario({"pool_size": 200}, protocol_changes=changes)
        scenario_p, protocol_p = load_scenario(pinned)
        design = prepare(scenario_p, load_protocol(protocol_p), 1).design
        assert design.fit("1TNT").continue_ is not stops, threshold
    batch = simulate_trials(prepared, 20)
    assert batch.safety_stop.mean() > 0.9 and (batch.mtd[batch.safety_stop] < 0).all()
    result = cli("simulate", "trial", "--scenario", path, "--trials", "20", env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.stderr
    assert "none possible" not in result.stdout


def test_a_sweep_of_a_crm_without_a_stop_says_so(make_scenario, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import io

    from rich.console import Console

    from cartrial.commands.simulation_commands import sweep_table
    from cartrial.simulation import load_scenario
    from cartrial.simulation.sweep import load_grid, run_sweep

    path = make_scenario(
        {"toxicity": {"fixed_dlt_probability": [0.9] * 4}, "design": {"overrides": CRM}, "pool_size": 200},
        protocol_changes={"dose_levels": LEVELS, "expansion": None},
    )
    scenario, protocol = load_scenario(path)
    grid = tmp_path / "grid.yaml"
    grid.write_text("trials: 5\naxes:\n  - {parameter: design.overrides.start_level, values: [1]}\n")
    table = run_sweep(scenario, protocol, load_grid(grid), seed=1, workers=0).table
    assert table["early_stop_pct"].isna().all()
    console = Console(file=io.StringIO(), width=400, color_system=None)
    console.print(sweep_table(table, "sweep", ["point", "early_stop_pct"]))
    assert "no safety stop" in console.file.getvalue()  # type: ignore[attr-defined]
