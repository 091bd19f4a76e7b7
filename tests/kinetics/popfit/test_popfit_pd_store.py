"""The PD population fit from the store (issue 17): the same snapshot the analysis layer uses, read from a
real SQLite study made by the store's own import of the example templates. Without
``--individual-parameters`` the store's PK samples are fitted first in the same run (written to
OUT/kinetics/, its EBEs fixed in the PD fit — the sequential IPP route); the PD fit records the file, so a
MAP of a fitted patient needs nothing more. Counts are checked against the example CSV the store imported."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from cartrial import examples as cartrial_examples
from cartrial.kinetics.models import STEIN_2019_TYPICAL, STEIN_PARAMETERS

from ...conftest import CliResult, run_cartrial

STUDY = Path(cartrial_examples.__file__).resolve().parent / "ct103a-nmosd" / "study"
FAST = ("--k1", "30", "--k2", "15", "--no-figures")
CUTOFF = ("--cutoff", "2030-01-01")  # after the last sample: the whole example


def _popfit_pd_store(url: str, out: Path | str, *options: str) -> CliResult:
    """`cartrial kinetics popfit --model pd` of the store at `url` (the whole example) written to `out`."""
    return run_cartrial(
        "kinetics",
        "popfit",
        "--model",
        "pd",
        "--url",
        url,
        "--user",
        "admin",
        *CUTOFF,
        *options,
        "--out",
        str(out),
    )


def _titres() -> pd.Series:
    titres = pd.read_csv(STUDY / "pd_samples.csv")["aqp4_igg_titre"]
    return titres[titres.notna() & (titres.astype(str).str.strip() != "")]


def test_pd_fit_from_the_store_fits_the_kinetics_first_and_map_reuses_them(
    example_sqlite: str, tmp_path: Path, few_draws: None
) -> None:
    out = tmp_path / "pd-store"
    result = _popfit_pd_store(example_sqlite, out, *FAST, "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    titres = _titres()
    negative = int((titres.str.lower() == "negative").sum())
    assert summary["model"] == "cartrial_pd"
    assert summary["n_observations"] == len(titres)
    assert summary["n_blq"] == negative
    assert summary["n_interval_censored"] == len(titres) - negative
    assert summary["files"]["kinetic_fit"] == str(out / "kinetics")
    kinetic = json.loads((out / "kinetics" / "estimates.json").read_text())
    assert kinetic["model"] == "stein2019"
    ebe = pd.read_csv(out / "kinetics" / "ebe.csv")
    assert set(pd.read_csv(STUDY / "pd_samples.csv")["subject_id"]) <= set(ebe["subject"])
    doc = json.loads((out / "estimates.json").read_text())
    assert doc["settings"]["titre_censoring"] == "interval"
    assert Path(doc["settings"]["individual_parameters"]) == (out / "kinetics" / "ebe.csv").resolve()
    patient = run_cartrial(
        "kinetics",
        "map",
        str(STUDY / "pd_samples.csv"),
        "--patient",
        "CT-001",
        "--population",
        str(out / "estimates.json"),
        "--json",
    )
    assert patient.exit_code == 0, patient.stderr
    assert json.loads(patient.stdout)["subject"] == "CT-001"


def _ebe(path: Path, drop: str | None = None) -> Path:
    subjects = sorted(set(pd.read_csv(STUDY / "pd_samples.csv")["subject_id"]) - {drop})
    typical = dict(zip(STEIN_PARAMETERS, STEIN_2019_TYPICAL.as_array(), strict=True))
    pd.DataFrame([{"subject": s, **typical} for s in subjects]).to_csv(path, index=False)
    return path


def test_pd_fit_from_the_store_on_given_ebes_with_the_centre_option(
    example_sqlite: str, tmp_path: Path
) -> None:
    out = tmp_path / "o"
    result = _popfit_pd_store(
        example_sqlite,
        out,
        "--individual-parameters",
        str(_ebe(tmp_path / "ebe.csv")),
        "--titre",
        "centre",
        *FAST,
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["n_interval_censored"] == 0 and summary["n_observations"] == len(_titres())
    assert not (out / "kinetics").exists()
    assert json.loads((out / "estimates.json").read_text())["settings"]["titre_censoring"] == "centre"


def test_pd_fit_from_the_store_names_a_subject_without_kinetics(example_sqlite: str, tmp_path: Path) -> None:
    result = _popfit_pd_store(
        example_sqlite,
        tmp_path / "o",
        "--individual-parameters",
        str(_ebe(tmp_path / "ebe.csv", drop="CT-002")),
    )
    assert result.exit_code == 2
    assert "CT-002" in result.stderr and "ebe.csv" in result.stderr and "Traceback" not in result.stderr
    bad = _popfit_pd_store(example_sqlite, "x", "--titre", "mid")
    assert bad.exit_code == 2 and "--titre" in bad.stderr


def test_a_pd_fit_refused_after_the_kinetic_step_leaves_out_as_it_was(
    example_sqlite: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """D-19.501: the kinetic step wrote OUT/kinetics/ in its own stage, so a PD fit refused after it left
    an earlier kinetics/ replaced. The whole run is one stage now."""
    from cartrial.errors import InputError, Problem
    from cartrial.kinetics.popfit import pdmodel

    out = tmp_path / "o"
    (out / "kinetics").mkdir(parents=True)
    (out / "kinetics" / "estimates.json").write_text("earlier", encoding="utf-8")

    def refuse(*_args: object, **_kwargs: object) -> object:
        raise InputError(Problem("refused after the kinetic step", field="--model"))

    monkeypatch.setattr(pdmodel, "pd_fit_inputs", refuse)
    result = _popfit_pd_store(example_sqlite, out, *FAST)
    assert result.exit_code == 2 and "refused after the kinetic step" in result.stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "kinetics",
        "kinetics/estimates.json",
    ]
    assert (out / "kinetics" / "estimates.json").read_text(encoding="utf-8") == "earlier"
