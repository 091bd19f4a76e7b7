"""`protocol show` in 80 columns (Rich's width when piped) never cuts a dose and keeps every column
(D-19.1015 as amended).

With `no_wrap` on the dose columns, Rich shrank the other columns to nothing and cut the doses with "…":
at 73.337 kg, 3×10^6 cells/mL and 6 volume decimals the cells read "5×10^7, 16.…" and the level and label
columns had zero width. Expected volume by hand: 1.0×10^6 cells/kg × 73.337 kg = 73,337,000 cells;
73,337,000 / 3,000,000 = 24.4456666… mL, half-up to 6 decimals 24.445667.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from cartrial.commands.protocol_commands import print_summary
from cartrial.protocol import load_protocol, protocol_summary
from cartrial.protocol.summary import WORKED_WEIGHTS_KG


def _protocol(examples_dir: Path, tmp_path: Path) -> Path:
    text = (examples_dir / "ct103a-nmosd" / "protocol.yaml").read_text(encoding="utf-8")
    extra = "\n    concentration_cells_per_ml: 3000000\n    max_total_cells: 8.0e+7\n"
    for cells in ("500000 ", "1000000 "):
        line = next(x for x in text.splitlines() if x.strip().startswith(f"cells_per_kg: {cells}"))
        text = text.replace(line + "\n", line + extra, 1)
    text = text.replace(
        "dose_rounding:\n  method: none\n", "dose_rounding:\n  method: none\n  volume_ml_decimals: 6\n"
    )
    path = tmp_path / "protocol.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_dose_table_fits_80_columns_without_cutting(examples_dir: Path, tmp_path: Path) -> None:
    protocol = load_protocol(_protocol(examples_dir, tmp_path))
    assert protocol.dose_levels[1].concentration_cells_per_ml == 3e6
    assert protocol.dose_rounding.volume_ml_decimals == 6
    summary = protocol_summary(protocol, weights_kg=[*WORKED_WEIGHTS_KG, 73.337])
    console = Console(width=80, record=True)
    print_summary(console, protocol, summary, full=False)
    text = console.export_text()
    table = text[text.index("Dose levels and worked doses") : text.index("rounding:")]
    assert "…" not in table
    rows = [line for line in table.splitlines() if line.startswith("│")]
    first_cells = [line.split("│")[1].strip() for line in rows]
    assert "1" in first_cells and "2" in first_cells  # both level numbers are shown
    assert "24.445667" in table
