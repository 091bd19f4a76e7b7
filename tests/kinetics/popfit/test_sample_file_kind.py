"""A PD model given PK samples, or a PK model given PD samples, is said in those words (D-19.465): before,
`kinetics map` read the PK table's values as titres (hundreds of "duplicate of row" errors) or wanted a
``value`` column of the PD table, and `kinetics popfit` the same, without saying which kind of file the
model takes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
ESTIMATES = REPO / "tests" / "data" / "popfit" / "estimates.json"
STUDY = REPO / "examples" / "ct103a-nmosd" / "study"
PK, PD = STUDY / "pk_samples.csv", STUDY / "pd_samples.csv"


def _said(stderr: str) -> str:
    return " ".join(stderr.split())


def test_map_of_a_pd_population_on_pk_samples(cli: Any, tmp_path: Path) -> None:
    population = tmp_path / "estimates.json"
    document = json.loads(ESTIMATES.read_text(encoding="utf-8"))
    population.write_text(json.dumps({**document, "model": "cartrial_pd"}), encoding="utf-8")
    result = cli("kinetics", "map", str(PK), "--patient", "CT-001", "--population", str(population))
    assert result.exit_code == 2
    said = _said(result.stderr)
    assert said.count("error") <= 1 and "duplicate" not in said, said
    assert f"{PK}:" in said and "the population model is a PD model (cartrial_pd)" in said, said
    assert "PD samples (the pd_samples template" in said, said


def test_map_of_a_pk_population_on_pd_samples(cli: Any) -> None:
    result = cli("kinetics", "map", str(PD), "--patient", "CT-001", "--population", str(ESTIMATES))
    assert result.exit_code == 2
    said = _said(result.stderr)
    assert "the population model is a PK model (stein2019)" in said, said
    assert "PK samples (the pk_samples template" in said, said


@pytest.mark.parametrize(
    ("file", "model", "words"),
    [
        (PK, "pd", "the model is a PD model (cartrial_pd)"),
        (PD, "stein2019", "the model is a PK model (stein2019)"),
    ],
)
def test_popfit_says_which_samples_its_model_takes(
    cli: Any, tmp_path: Path, file: Path, model: str, words: str
) -> None:
    extra = ["--individual-parameters", str(tmp_path / "ebe.csv")] if model == "pd" else []
    (tmp_path / "ebe.csv").write_text("subject_id\n", encoding="utf-8")
    result = cli("kinetics", "popfit", str(file), "--model", model, *extra, "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    said = _said(result.stderr)
    assert words in said and "duplicate" not in said, said
