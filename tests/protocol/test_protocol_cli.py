"""CLI of decisions §2: `cartrial protocol check|show`, `cartrial screen`, and the protocol demo step.

Exit codes: 0 for success (a screening report is a success even when a candidate is not eligible), 2 for
bad files, with every problem and its line and no traceback. Expected numbers: hand computations from
ct103a-nmosd-trial.md §3 (0.5/1.0×10^6 cells/kg; Cy 300 and Flu 30 mg/m²/day).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from cartrial import templates as cartrial_templates
from cartrial.demo import DemoContext
from cartrial.demo import protocol as protocol_demo

from ..conftest import run_captured as run


@pytest.fixture
def protocol_file(examples_dir: Path) -> Path:
    return examples_dir / "ct103a-nmosd" / "protocol.yaml"


@pytest.fixture
def candidate_files(examples_dir: Path) -> list[Path]:
    return sorted((examples_dir / "ct103a-nmosd" / "candidates").iterdir())


def test_check_valid_protocol(capsys: pytest.CaptureFixture[str], protocol_file: Path) -> None:
    """Decisions §2: `protocol check` on the reference protocol exits 0 and says it is valid."""
    code, out, _ = run(capsys, "protocol", "check", str(protocol_file))
    text = " ".join(out.split())  # rich wraps long paths
    assert code == 0 and "valid protocol" in text and "CT103A-NMOSD" in text


def test_check_reports_every_error_with_lines(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, protocol_file: Path
) -> None:
    """Decisions §2: every error (not just the first) with its line number; exit 2; --json lists problems."""
    text = (
        protocol_file.read_text()
        .replace('design: "3+3"', "design: 3+4")
        .replace("cells_per_kg: 1000000", "cells_per_kg: 0")
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    code, out, err = run(capsys, "protocol", "check", str(bad))
    assert code == 2 and "Traceback" not in err
    assert "2 problems" in err and "escalation.design" in err and "dose_levels[1].cells_per_kg" in err
    design_line = next(i for i, line in enumerate(text.splitlines(), 1) if "design: 3+4" in line)
    assert f"line {design_line}" in err
    code, out, _ = run(capsys, "protocol", "check", "--json", str(bad))
    payload = json.loads(out)
    assert (
        code == 2 and payload["valid"] is False and {p["line"] for p in payload["problems"]} >= {design_line}
    )


def test_check_missing_and_malformed_files_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """House rule: a missing or malformed file is a clear error naming the file and line, exit 2."""
    code, _, err = run(capsys, "protocol", "check", str(tmp_path / "missing.yaml"))
    assert code == 2 and "missing.yaml" in err and "not found" in err
    broken = tmp_path / "broken.yaml"
    broken.write_text("study:\n  id: [x\n")
    code, _, err = run(capsys, "protocol", "check", str(broken))
    assert code == 2 and "malformed YAML" in err and "line" in err and "Traceback" not in err


def test_show_prints_doses_lymphodepletion_schedule_eligibility(
    capsys: pytest.CaptureFixture[str], protocol_file: Path
) -> None:
    """Decisions §2: `protocol show` prints worked doses (0.5×10^6 × 70 kg = 3.5×10^7; 1.0×10^6 × 90 kg =
    9×10^7), lymphodepletion for 1.7 m² (510/51 mg), schedule, eligibility, DLT rules and endpoints."""
    code, out, _ = run(capsys, "protocol", "show", str(protocol_file))
    assert code == 0
    for text in (
        "3.5×10^7",
        "9×10^7",
        "Schedule of assessments",
        "Eligibility",
        "inc_relapse_activity",
        "crs_grade_4_5",
        "Endpoints",
    ):
        assert text in out, text
    # 300 mg/m² × 1.7 m² = 510 mg a day, 1530 mg a course; 30 × 1.7 = 51 mg, 153 mg (printed with every digit
    # the dose has, D-19.1018: "510", not `:.1f`'s "510.0")
    for agent, daily, course in (("cyclophosphamide", "510", "1530"), ("fludarabine", "51", "153")):
        row = next(line for line in out.splitlines() if line.startswith(f"│ {agent} "))
        cells = [cell.strip() for cell in row.split("│")]
        assert daily in cells and course in cells, agent


def test_show_json_has_worked_doses(capsys: pytest.CaptureFixture[str], protocol_file: Path) -> None:
    """50/70/90 kg × 0.5 and 1.0×10^6/kg; lymphodepletion for 1.7 m²: 510 mg Cy, 51 mg Flu per day."""
    code, out, _ = run(capsys, "protocol", "show", "--json", str(protocol_file))
    assert code == 0
    summary = json.loads(out)
    doses = {(r["level"], r["weight_kg"]): r["total_cells"] for r in summary["worked_doses"]}
    assert doses == {
        (1, 50.0): 2.5e7,
        (1, 70.0): 3.5e7,
        (1, 90.0): 4.5e7,
        (2, 50.0): 5e7,
        (2, 70.0): 7e7,
        (2, 90.0): 9e7,
    }
    example = summary["lymphodepletion_example"]
    assert example["bsa_m2"] == 1.7
    assert {d["agent"]: d["dose_mg"] for d in example["doses"]} == pytest.approx(
        {"cyclophosphamide": 510.0, "fludarabine": 51.0}
    )
    assert summary["escalation"]["parameters"]["design"] == "3+3"


def test_show_with_weight_and_height(capsys: pytest.CaptureFixture[str], protocol_file: Path) -> None:
    """--weight 90 --height 180: Mosteller sqrt(90 × 180 / 3600) = sqrt(4.5) = 2.1213 m² → 636.4 mg Cy/day;
    90 kg is already a worked weight; --weight 64 adds a column."""
    code, out, _ = run(
        capsys, "protocol", "show", "--json", "--weight", "90", "--height", "180", str(protocol_file)
    )
    summary = json.loads(out)
    assert code == 0
    cy = next(d for d in summary["lymphodepletion_example"]["doses"] if d["agent"] == "cyclophosphamide")
    assert cy["dose_mg"] == pytest.approx(300 * 2.1213203, abs=1e-3)
    code, out, _ = run(
        capsys, "protocol", "show", "--json", "--weight", "64", "--bsa-method", "dubois", str(protocol_file)
    )
    weights = {r["weight_kg"] for r in json.loads(out)["worked_doses"]}
    assert weights == {50.0, 64.0, 70.0, 90.0}


def test_show_bad_options_exit_2(capsys: pytest.CaptureFixture[str], protocol_file: Path) -> None:
    """Implausible weight (700 kg), height without weight, or a BSA of 17 m² are user errors (exit 2)."""
    assert run(capsys, "protocol", "show", "--weight", "700", str(protocol_file))[0] == 2
    assert run(capsys, "protocol", "show", "--height", "170", str(protocol_file))[0] == 2
    code, _, err = run(capsys, "protocol", "show", "--bsa", "17", str(protocol_file))
    # the option the user typed, never the engine's keyword (D-19.1047)
    assert code == 2 and err.startswith("error: --bsa: ") and "bsa_m2" not in err


def test_screen_table_and_json(
    capsys: pytest.CaptureFixture[str], protocol_file: Path, candidate_files: list[Path], tmp_path: Path
) -> None:
    """Decisions §2: `screen` prints a table per candidate or JSON; a report exits 0 even when not eligible;
    --out writes the same JSON."""
    code, out, _ = run(capsys, "screen", str(protocol_file), *map(str, candidate_files))
    assert code == 0  # a report: exit 0 although two candidates are not eligible
    assert "SCR-001" in out and "eligible" in out and "not_eligible" in out and "incomplete" in out
    target = tmp_path / "out" / "screening.json"
    code, out, _ = run(
        capsys, "screen", "--json", "--out", str(target), str(protocol_file), *map(str, candidate_files)
    )
    payload = json.loads(out)
    assert payload["verdicts"] == {"SCR-001": "eligible", "SCR-002": "not_eligible", "SCR-003": "incomplete"}
    assert json.loads(target.read_text()) == payload


def test_screen_date_override_and_bad_inputs(
    capsys: pytest.CaptureFixture[str], protocol_file: Path, candidate_files: list[Path], tmp_path: Path
) -> None:
    """--screening-date overrides the candidate's (2026-01-01: the 2023-2024 relapses fall out of the
    12-month window); a bad date or candidate file is exit 2 with its line and nothing is written."""
    code, out, _ = run(
        capsys,
        "screen",
        "--json",
        "--screening-date",
        "2026-01-01",
        str(protocol_file),
        str(candidate_files[0]),
    )
    result = json.loads(out)["results"][0]
    assert result["screening_date"] == "2026-01-01" and result["verdict"] == "not_eligible"
    assert (
        run(capsys, "screen", "--screening-date", "2026-13-01", str(protocol_file), str(candidate_files[0]))[
            0
        ]
        == 2
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: X\nrelapses: 3\n")
    out_file = tmp_path / "never.json"
    code, _, err = run(
        capsys, "screen", "--out", str(out_file), str(protocol_file), str(candidate_files[0]), str(bad)
    )
    assert code == 2 and "bad.yaml" in err and "line 2" in err and "relapses" in err
    assert not out_file.exists()  # nothing half-written


def test_subprocess_no_traceback_for_bad_protocol(tmp_path: Path) -> None:
    """Decisions §2: user errors exit 2 with a message and no traceback (real process)."""
    bad = tmp_path / "p.yaml"
    bad.write_text("study: 1\n")
    result = subprocess.run(
        [sys.executable, "-m", "cartrial.cli", "protocol", "check", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr and "line 1" in result.stderr


def test_demo_step_writes_summary_and_screening(examples_dir: Path, tmp_path: Path) -> None:
    """Decisions §2: the demo step writes protocol-summary.json and screening.json with the three expected
    verdicts."""
    ctx = DemoContext(
        examples_dir=examples_dir,
        templates_dir=cartrial_templates.path(),
        out_dir=tmp_path,
        console=Console(record=True, width=120),
    )
    protocol_demo.run(ctx)
    summary = json.loads((tmp_path / "protocol-summary.json").read_text())
    screening = json.loads((tmp_path / "screening.json").read_text())
    assert summary["study"]["id"] == "CT103A-NMOSD"
    assert screening["verdicts"] == {
        "SCR-001": "eligible",
        "SCR-002": "not_eligible",
        "SCR-003": "incomplete",
    }
    assert "eligible" in ctx.console.export_text()


def test_screen_refuses_duplicate_candidate_ids(
    capsys: pytest.CaptureFixture[str], protocol_file: Path, candidate_files: list[Path], tmp_path: Path
) -> None:
    """Two files for one candidate id would make the report ambiguous: exit 2 naming both files."""
    copy = tmp_path / "copy.yaml"
    copy.write_text(candidate_files[0].read_text())
    code, _, err = run(capsys, "screen", str(protocol_file), str(candidate_files[0]), str(copy))
    assert code == 2 and "SCR-001" in err and "copy.yaml" in err


def test_show_marks_worked_weights_outside_level_bounds(
    capsys: pytest.CaptureFixture[str], protocol_file: Path, tmp_path: Path
) -> None:
    """A level for ≥ 60 kg shows 'outside bounds' at 50 kg instead of a dose; --json gives the error."""
    text = protocol_file.read_text().replace(
        "    cells_per_kg: 500000             # [V]\n",
        "    cells_per_kg: 500000             # [V]\n    min_weight_kg: 60\n    max_total_cells: 40000000\n",
    )
    bounded = tmp_path / "bounded.yaml"
    bounded.write_text(text)
    code, out, _ = run(capsys, "protocol", "show", str(bounded))
    assert code == 0 and "outside bounds" in out and "4×10^7 (cap)" in out
    _, out, _ = run(capsys, "protocol", "show", "--json", str(bounded))
    rows = {(r["level"], r["weight_kg"]): r for r in json.loads(out)["worked_doses"]}
    assert "error" in rows[(1, 50.0)]
    assert rows[(1, 90.0)]["total_cells"] == 4e7 and rows[(1, 90.0)]["cap_applied"]  # 4.5e7 capped at 4e7
    assert rows[(1, 70.0)]["total_cells"] == 3.5e7 and not rows[(1, 70.0)]["cap_applied"]


def test_show_applies_the_renal_tiers_with_crcl(
    capsys: pytest.CaptureFixture[str], protocol_file: Path
) -> None:
    """Decisions §12: `protocol show --crcl 45` gives fludarabine 80 % (30 × 1.7 × 0.8 = 40.8 mg/day) and says
    which tier fired; an out-of-range clearance names the option."""
    code, out, _ = run(capsys, "protocol", "show", str(protocol_file), "--crcl", "45", "--json")
    assert code == 0
    doses = json.loads(out)["lymphodepletion_example"]["doses"]
    fludarabine = [d for d in doses if d["agent"] == "fludarabine"]
    assert all(d["dose_mg"] == pytest.approx(40.8) and d["renal_dose_percent"] == 80 for d in fludarabine)
    assert "CrCl ≤ 70 mL/min" in fludarabine[0]["renal_rule"]
    code, out, _ = run(capsys, "protocol", "show", str(protocol_file), "--crcl", "45")
    assert code == 0 and "fludarabine renal tiers" in out and "40.8" in out
    code, _, err = run(capsys, "protocol", "show", str(protocol_file), "--crcl", "-1")
    assert code == 2 and "--crcl" in err
