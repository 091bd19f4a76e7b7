"""The cell dose is computed from the numbers as written: a half-up tie is a tie (D-19.1014).

Oracle: integer arithmetic by hand. A weight written with one decimal, w = n / 10 kg, at k × 10^5 CAR+ T
cells/kg gives k × n × 10^4 cells exactly; rounding half-up to 3 significant figures is done on that
integer. In binary, 0.5×10^6 × 64.1 is 32049999.999999996 (64.1 has no exact binary form), and rounding
that float "half-up in decimal" gave 3.20×10^7 where the protocol's rule gives 3.21×10^7.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartrial.protocol import DoseLevel, DoseRounding, dose_for

from ..conftest import run_captured as run
from ..conftest import write_file

THREE_FIGURES = DoseRounding(method="significant_figures", significant_figures=3)


def _half_up_significant(cells: int, figures: int) -> int:
    """`cells` (a positive integer) rounded half-up to `figures` significant figures, in integers."""
    step = 10 ** max(len(str(cells)) - figures, 0)
    return (cells + step // 2) // step * step


def test_reference_level_1_at_64_1_kg_rounds_the_tie_up() -> None:
    """0.5×10^6 cells/kg × 64.1 kg = 32,050,000 cells (5 × 641 × 10^4); to 3 significant figures, half-up:
    32,100,000 (3.21×10^7). The old code gave 3.20×10^7."""
    level = DoseLevel(level=1, label="0.5×10^6/kg", cells_per_kg=5e5)
    result = dose_for(level, 64.1, rounding=THREE_FIGURES)
    assert result.uncapped_total_cells == 32_050_000.0
    assert result.total_cells == 32_100_000.0


def test_unrounded_total_is_the_written_product() -> None:
    """0.5×10^6 × 32.01 kg = 16,005,000 cells exactly (the old total was 16004999.999999998); to 4
    significant figures half-up 16,010,000."""
    level = DoseLevel(level=1, label="0.5×10^6/kg", cells_per_kg=5e5)
    assert dose_for(level, 32.01).total_cells == 16_005_000.0
    four = DoseRounding(method="significant_figures", significant_figures=4)
    assert dose_for(level, 32.01, rounding=four).total_cells == 16_010_000.0


def test_volume_tie_is_rounded_up() -> None:
    """32,050,000 cells at 10^7 cells/mL = 3.205 mL; to 0.01 mL half-up 3.21 mL (old: 3.20, from the binary
    total 32049999.999999996)."""
    level = DoseLevel(level=1, label="a", cells_per_kg=5e5, concentration_cells_per_ml=1e7)
    result = dose_for(level, 64.1, rounding=DoseRounding(volume_ml_decimals=2))
    assert result.volume_ml == 3.21


@given(st.integers(10, 5000), st.integers(1, 30))
def test_three_figure_rounding_matches_integer_arithmetic(tenths_kg: int, k: int) -> None:
    """For every weight of one decimal (1.0-500.0 kg) and dose k × 10^5 cells/kg, the rounded total equals
    the integer oracle, and the unrounded total is the exact integer k × n × 10^4."""
    level = DoseLevel(level=1, label="a", cells_per_kg=k * 100_000)
    weight = tenths_kg / 10
    exact = k * tenths_kg * 10_000
    assert dose_for(level, weight).total_cells == exact
    assert dose_for(level, weight, rounding=THREE_FIGURES).total_cells == _half_up_significant(exact, 3)


@given(st.integers(10, 5000), st.integers(10, 5000), st.integers(1, 15), st.integers(1, 6))
def test_rounded_and_capped_total_never_decreases_with_weight(
    a: int, b: int, figures: int, decimals: int
) -> None:
    """Dose arithmetic is monotone: a heavier patient never gets fewer cells, nor a smaller volume, under
    any significant-figure rule, the cap and volume rounding."""
    level = DoseLevel(
        level=1, label="a", cells_per_kg=5e5, max_total_cells=1.5e8, concentration_cells_per_ml=3e6
    )
    rule = DoseRounding(
        method="significant_figures", significant_figures=figures, volume_ml_decimals=decimals
    )
    low, high = sorted((a / 10, b / 10))
    d_low, d_high = dose_for(level, low, rounding=rule), dose_for(level, high, rounding=rule)
    assert d_low.total_cells <= d_high.total_cells <= 1.5e8
    assert d_low.volume_ml is not None and d_high.volume_ml is not None
    assert d_low.volume_ml <= d_high.volume_ml


def test_protocol_show_prints_every_digit_of_the_dose(
    capsys: pytest.CaptureFixture[str], examples_dir: Path
) -> None:
    """`protocol show --weight 73.33`: 0.5×10^6 × 73.33 kg = 36,665,000 cells, printed 3.6665×10^7 (the
    table printed 3.666×10^7, four digits rounded half-even, under the line "total cells not rounded";
    D-19.1015). 1.0×10^6 × 73.33 = 7.333×10^7."""
    protocol = examples_dir / "ct103a-nmosd" / "protocol.yaml"
    code, out, _ = run(capsys, "protocol", "show", str(protocol), "--weight", "73.33")
    assert code == 0
    assert "3.6665×10^7" in out and "3.666×10^7" not in out
    assert "7.333×10^7" in out


def test_protocol_show_prints_the_volume_as_rounded(
    capsys: pytest.CaptureFixture[str], examples_dir: Path, tmp_path: Path
) -> None:
    """A 6-decimal volume rule: 1.0×10^6 × 70 kg = 7×10^7 cells at 3×10^6 cells/mL = 23.333333… mL,
    23.333333 mL to 6 decimals; `:g` printed 23.3333 (D-19.1015)."""
    text = (examples_dir / "ct103a-nmosd" / "protocol.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "    cells_per_kg: 1000000            # [V]",
        "    cells_per_kg: 1000000            # [V]\n    concentration_cells_per_ml: 3000000",
    ).replace("  method: none", "  method: none\n  volume_ml_decimals: 6")
    assert "concentration_cells_per_ml" in text and "volume_ml_decimals" in text
    protocol = write_file(tmp_path, "protocol.yaml", text)
    code, out, _ = run(capsys, "protocol", "show", str(protocol))
    assert code == 0
    assert "7×10^7, 23.333333 mL" in " ".join(out.split())
