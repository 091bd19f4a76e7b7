"""The demo's population fits on the shipped example converge (D-19.401). Before, the PD step fitted IIV on
all four PD parameters to the example's 12 subjects (68 titres, 0.5-log10 dilution steps) and printed NOT
CONVERGED: ω² of k_kill or of the protected fraction collapsed and k_kill ran off, with 60 + 30 as with
250 + 150 iterations. With IIV on a0 and the protected fraction — the documented `kinetics popfit --model pd`
example (docs/popfit.md) and what the titres carry: the example simulates IIV on the protected fraction
(and a non-responder at 0.97) and a baseline per subject — the fit converges (seeds 1-5)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from rich.console import Console

from cartrial.demo import DemoContext, popfit

REPO = Path(__file__).resolve().parents[3]


def test_the_demo_fits_the_documented_pd_model() -> None:
    text = (REPO / "docs" / "popfit.md").read_text(encoding="utf-8")
    command = re.search(r"cartrial kinetics popfit \S+pd_samples\.csv[^\n]*\\\n[^\n]*", text)
    assert command is not None
    args = shlex.split(command.group(0).replace("\\\n", " "))
    assert args[args.index("--model") + 1] == "pd"
    assert tuple(args[args.index("--iiv") + 1].split(",")) == popfit.EXAMPLE_PD_IIV


@pytest.mark.slow
@pytest.mark.nightly  # a long study: `make nightly` (suite time, stop 47)
def test_the_demo_population_fits_converge_and_predict_a_new_patient(tmp_path: Path) -> None:
    """The demo's popfit step (a listed step of `cartrial demo`): both fits converge, their status is the one
    written to estimates.json, and a new patient is predicted by MAP (one run of the step for both checks)."""
    from cartrial.demo import STEPS

    assert "popfit" in STEPS
    console = Console(record=True, width=300)
    popfit.run(DemoContext(REPO / "examples", REPO / "docs" / "templates", tmp_path, console))
    printed = console.export_text()
    assert "NOT CONVERGED" not in printed and "not converged:" not in printed, printed
    assert "Population fit (SAEM, M3): converged" in printed
    assert "PD population fit (AQP4-IgG titres on the kinetic EBEs): converged" in printed
    for folder in ("popfit", "popfit/pd"):
        assert json.loads((tmp_path / folder / "estimates.json").read_text())["status"] == "converged"
    assert "MAP of a new patient" in printed
    assert (tmp_path / "popfit" / "map" / "map_profile.csv").exists()
