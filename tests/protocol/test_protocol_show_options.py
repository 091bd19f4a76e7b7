"""`protocol show` names the option the user typed when the BSA's weight or height is refused (D-19.1017).

`--crcl` and `--bsa` were renamed from the engine's fields, but a `--height` of 400 cm (or a `--weight` of
600 kg with a height) came back as the API's `height_cm` / `weight_kg`, names the command line does not have.
The limits are the calculators' plausible ranges (30-272 cm, 1-500 kg; `cartrial.protocol.dosing`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ..conftest import run_captured as run


@pytest.mark.parametrize(
    ("weight", "height", "option", "api_field"),
    [("70", "400", "--height", "height_cm:"), ("600", "170", "--weight", "weight_kg:")],
)
def test_a_refused_weight_or_height_names_its_option(
    capsys: pytest.CaptureFixture[str],
    examples_dir: Path,
    weight: str,
    height: str,
    option: str,
    api_field: str,
) -> None:
    protocol = examples_dir / "ct103a-nmosd" / "protocol.yaml"
    code, out, err = run(capsys, "protocol", "show", str(protocol), "--weight", weight, "--height", height)
    text = " ".join((out + err).split())
    assert code == 2
    assert f"{option}:" in text and "outside the plausible range" in text
    assert not text.startswith(f"error: {api_field}") and f"error: {api_field}" not in text
    assert "Traceback" not in text
