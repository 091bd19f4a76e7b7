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


def test_popfit_reads_the_value_column_it_is_given(cli: Any, tmp_path: Path, few_draws: None) -> None:
    """The kind of file is guessed only while --conc is left at its default: a long titre file with an
    analyte column and its titres in the column named by --conc is PD samples (accepted before D-19.465)."""
    import pandas as pd

    from cartrial.kinetics.models import STEIN_2019_TYPICAL, STEIN_PARAMETERS

    table = pd.read_csv(PD)
    long = table[["subject_id", "actual_day", "aqp4_igg_titre"]].rename(columns={"aqp4_igg_titre": "titre"})
    long.insert(1, "analyte", "aqp4_igg")
    long.to_csv(tmp_path / "pd_long.csv", index=False)
    typical = dict(zip(STEIN_PARAMETERS, STEIN_2019_TYPICAL.as_array(), strict=True))
    ebe = pd.DataFrame([{"subject": s, **typical} for s in sorted(set(table["subject_id"]))])
    ebe.to_csv(tmp_path / "ebe.csv", index=False)
    args = ["--conc", "titre", "--time", "actual_day", "--individual-parameters", str(tmp_path / "ebe.csv")]
    fit = ["--k1", "10", "--k2", "5", "--no-figures", "--out", str(tmp_path / "o")]
    result = cli("kinetics", "popfit", str(tmp_path / "pd_long.csv"), "--model", "pd", *args, *fit)
    assert result.exit_code == 0, result.stderr
    assert json.loads((tmp_path / "o" / "estimates.json").read_text())["model"] == "cartrial_pd"


def test_map_names_only_a_known_model_of_the_population_file(cli: Any, tmp_path: Path) -> None:
    """The `model` of estimates.json is checked at its key before the samples are read, and its text is not
    quoted (it could be anything, a record's text too; D-12.2); an unknown model is not called a PK model."""
    document = json.loads(ESTIMATES.read_text(encoding="utf-8"))
    population = tmp_path / "estimates.json"
    population.write_text(json.dumps({**document, "model": "SECRET-PATIENT-CT-001"}), encoding="utf-8")
    for samples in (PD, PK):
        result = cli("kinetics", "map", str(samples), "--patient", "CT-001", "--population", str(population))
        assert result.exit_code == 2
        said = _said(result.stderr)
        assert "SECRET" not in said and "PK model" not in said, said
        assert f"{population}, model:" in said and "stein2019" in said.split("allowed:")[1], said


def test_map_suggests_a_pd_fit_not_an_option_it_lacks(cli: Any) -> None:
    """`kinetics map` has no --model: titres with a PK population point to a PD fit's estimates.json."""
    result = cli("kinetics", "map", str(PD), "--patient", "CT-001", "--population", str(ESTIMATES))
    said = _said(result.stderr)
    assert result.exit_code == 2 and "--model pd)" not in said, said
    assert "a PD estimates.json (from `kinetics popfit --model pd`)" in said, said
