"""`kinetics map` says when a new patient's samples lie after the last sample time of the population's data
(the population model is extrapolated there), and not otherwise (D-19.219)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from cartrial import examples as cartrial_examples

from ...conftest import run_cartrial
from .conftest import fewer_draws

PK = Path(cartrial_examples.__file__).resolve().parent / "ct103a-nmosd" / "study" / "pk_samples.csv"
FAST = ("--k1", "5", "--k2", "5", "--seed", "1", "--no-figures")


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pop")
    with fewer_draws():  # the population file's data and the map's notes are checked, not its numbers
        assert run_cartrial("kinetics", "popfit", str(PK), *FAST, "--out", str(out)).exit_code == 0
    return out / "estimates.json"


def _map(tmp_path: Path, population: Path, days: list[float]) -> dict[str, object]:
    n = len(days)
    pd.DataFrame(
        {"subject_id": ["NP"] * n, "analyte": ["car_transgene"] * n, "actual_day": days,
         "value": [500.0] * n, "unit": ["copies/ug gDNA"] * n, "lloq": [50.0] * n, "blq": [False] * n}
    ).to_csv(tmp_path / "p.csv", index=False)  # fmt: skip
    result = run_cartrial(
        "kinetics", "map", str(tmp_path / "p.csv"), "--population", str(population), "--json"
    )
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_the_last_sample_time_is_recorded(population: Path) -> None:
    raw = pd.read_csv(PK)
    last = raw.loc[raw["analyte"] == "car_transgene", "actual_day"].max()
    assert json.loads(population.read_text())["data"]["last_time"] == pytest.approx(last)


def test_samples_after_the_population_data_are_noted(tmp_path: Path, population: Path) -> None:
    last = json.loads(population.read_text())["data"]["last_time"]
    notes = _map(tmp_path, population, [28.0, last + 100.0, last + 400.0])["notes"]
    assert any("2 samples after the last sample time" in str(n) for n in notes)  # type: ignore[attr-defined]
    assert not any(f"{last:g}" in str(n) for n in notes)  # type: ignore[attr-defined]  # no record's time


def test_samples_within_the_population_data_are_not_noted(tmp_path: Path, population: Path) -> None:
    last = json.loads(population.read_text())["data"]["last_time"]
    notes = _map(tmp_path, population, [7.0, last])["notes"]
    assert not any("after the last sample time" in str(n) for n in notes)  # type: ignore[attr-defined]
