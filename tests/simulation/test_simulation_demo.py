"""The simulation demo step: 1,000 virtual trials of the reference scenario and the OC table."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from cartrial.demo import STEPS, shipped_context
from cartrial.demo import simulation as demo_simulation


def test_demo_step_prints_the_oc_table_and_writes_files(tmp_path: Path) -> None:
    assert "simulation" in STEPS
    console = Console(record=True, width=120)
    demo_simulation.run(shipped_context(tmp_path, console))
    text = console.export_text()
    assert "1000 virtual trials" in text and "selected as MTD" in text and "0.5×10^6" in text
    data = json.loads((tmp_path / "simulation" / "oc.json").read_text(encoding="utf-8"))
    assert data["trials"] == 1000
    # the OC as `cartrial simulate trial` writes them, with the run's settings (D-19.351)
    assert data["design"] == "3+3" and data["scenario"] == "ct103a-nmosd-reference"
    assert {"doses.csv", "metrics.csv", "summary.html"} <= {
        p.name for p in (tmp_path / "simulation").iterdir()
    }


def test_demo_cells_are_the_commands_cells(tmp_path: Path, monkeypatch: object) -> None:
    """The demo's tables format numbers with the same cells as `cartrial simulate trial` (`proportion_cell`,
    `mean_cell`, `proportion_text`; D-19.393, D-19.394): with one trial no "(nan)" SE and no "0.0 (0.0)"
    selection, but "SE n/a" and the exact interval."""
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setattr(demo_simulation, "TRIALS", 1)
    console = Console(record=True, width=160)
    demo_simulation.run(shipped_context(tmp_path, console))
    text = console.export_text()
    assert "nan" not in text.lower().replace("financ", "")
    assert "(0.0)" not in text and "(0.00)" not in text
    assert "SE n/a" in text and "95 % CI" in text and "0 of 1; exact 95 % CI" in text
