"""`cartrial simulate sweep` printed "nan" in a cell without a value: the % of patients treated above the
target toxicity of a design without a target toxicity (the example's), the EDSS probability of a point without
an EDSS-evaluable patient, a per-trial mean no trial had a value for. Such a cell now reads "n/a" and the
caption says why, per column (D-19.475)."""

from __future__ import annotations

import io
import math

import pandas as pd
from rich.console import Console

from cartrial.commands.simulation_commands import sweep_table
from cartrial.simulation import load_scenario
from cartrial.simulation.sweep import load_grid, run_sweep


def _render(table) -> str:  # type: ignore[no-untyped-def]
    console = Console(file=io.StringIO(), width=400, color_system=None)
    console.print(table)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_a_cell_without_a_value_reads_n_a_with_its_reason(make_scenario, tmp_path) -> None:  # type: ignore[no-untyped-def]
    scenario, protocol = load_scenario(make_scenario({"pool_size": 100}))
    grid_path = tmp_path / "grid.yaml"
    grid_path.write_text("trials: 5\naxes:\n  - {parameter: design.overrides.start_level, values: [1, 2]}\n")
    table = run_sweep(scenario, protocol, load_grid(grid_path), seed=1, workers=0).table
    assert table["pct_treated_above_target"].isna().all()  # the example's design has no target toxicity
    edited = table.copy()
    edited.loc[0, "p_edss_improved_half_pct"] = math.nan  # a point without an EDSS-evaluable patient
    edited.loc[1, "pct_persistence_mean"] = math.nan  # a mean no trial had a value for
    shown = ["point", "pct_treated_above_target", "p_edss_improved_half_pct", "pct_persistence_mean"]
    text = _render(sweep_table(edited, "sweep", shown))
    assert "nan" not in text.lower().replace("n/a", "") and "None" not in text
    assert text.count("n/a") >= 4
    assert "no target toxicity" in text
    assert "EDSS-evaluable" in text
    assert "no trial had" in text


def test_the_caption_says_which_columns_are_shown(make_scenario, tmp_path) -> None:  # type: ignore[no-untyped-def]
    frame = pd.DataFrame({f"c{i}": [1.0] for i in range(12)})
    text = _render(sweep_table(frame, "sweep", list(frame.columns[:10])))
    assert "10 of 12 columns" in text and "sweep.csv" in text
