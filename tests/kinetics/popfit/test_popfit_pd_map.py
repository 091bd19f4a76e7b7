"""MAP Bayesian estimation of a new patient's PD parameters (CAR-T → plasma cell → AQP4-IgG) from a PD
population model, the patient's kinetic parameters and one to three titres (issue 17).

The oracle is the posterior written out here — interval-censored titres by scipy.stats (difference of normal
CDFs on the log scale), M3 for a negative titre, the N(0, Ω) prior — maximised by Nelder-Mead; the PD
prediction is the model's own (checked against an ODE solver in test_popfit_pd.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from cartrial.kinetics.models import (
    STEIN_2019_OMEGA2,
    STEIN_2019_RESIDUAL_SD_LOG,
    STEIN_2019_TYPICAL,
    STEIN_PARAMETERS,
)
from cartrial.kinetics.popfit import PopulationModel, PopulationSpec, Theta, map_estimate
from cartrial.kinetics.popfit.pdmodel import (
    attach_kinetics,
    pd_map_population,
    pd_population_data,
    titre_bounds,
)
from cartrial.kinetics.popfit.structural import STEIN2019

from ...conftest import run_cartrial

TYPICAL = {"a0": 300.0, "k_kill": 2e-4, "protected_fraction": 0.1, "igg_half_life_days": 21.0}
OMEGA2 = np.array([0.25, 0.25, 0.25])
SIGMA = 0.3
POPULATION = {
    "format": "cartrial.popfit/1",
    "model": "cartrial_pd",
    "typical": TYPICAL,
    "iiv": ["a0", "k_kill", "protected_fraction"],
    "omega_structure": "diagonal",
    "omega": np.diag(OMEGA2).tolist(),
    "error": {"kind": "additive", "scale": "log"},
    "sigma": {"a": SIGMA},
    "blq": "m3",
    "covariates": [],
    "converged": True,
    "status": "converged",
}
KINETIC = STEIN_2019_TYPICAL.as_array().reshape(1, -1)


def _titres(days: list[float], titres: list[str], subject: str = "NEW") -> pd.DataFrame:
    return pd.DataFrame({"subject_id": subject, "actual_day": days, "aqp4_igg_titre": titres})


def _oracle(days: list[float], titres: list[str]) -> np.ndarray:
    population = pd_map_population(POPULATION, KINETIC, t_max_days=200)
    mu = np.log([TYPICAL[n] for n in ("a0", "k_kill", "protected_fraction", "igg_half_life_days")])
    t = np.array([days])
    bounds = [titre_bounds(x) for x in titres]

    def nlp(eta: np.ndarray) -> float:
        phi = mu.copy()
        phi[:3] += eta
        f = np.log(population.spec.model.predict(np.exp(phi)[None, :], t, np.zeros(1))[0])
        ll = 0.0
        for fj, (low, high) in zip(f, bounds, strict=True):
            upper = stats.norm.cdf((math.log(high) - fj) / SIGMA) if math.isfinite(high) else 1.0
            lower = stats.norm.cdf((math.log(low) - fj) / SIGMA) if low > 0 else 0.0
            ll += math.log(max(upper - lower, 1e-300))
        return float(-ll + 0.5 * np.sum(eta**2 / OMEGA2))

    best = None
    for start in (np.zeros(3), np.full(3, 0.3), np.full(3, -0.3)):
        res = optimize.minimize(
            nlp, start, method="Nelder-Mead", options={"xatol": 1e-7, "fatol": 1e-10, "maxiter": 5000}
        )
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    phi = mu.copy()
    phi[:3] += best.x
    return np.asarray(np.exp(phi), dtype=float)


CASES = [
    ([-7.0, 28.0], ["1:320", "1:100"]),
    ([-3.0], ["1:1000"]),
    ([-7.0, 60.0, 180.0], ["1:100", "1:32", "negative"]),
]


@pytest.mark.parametrize(("days", "titres"), CASES)
def test_pd_map_equals_the_posterior_mode_written_out(days: list[float], titres: list[str]) -> None:
    data = attach_kinetics(pd_population_data(_titres(days, titres), "aqp4_igg_titre", min_subjects=1))
    population = pd_map_population(POPULATION, KINETIC, t_max_days=200)
    result = map_estimate(population, data)
    assert result.converged
    got = result.parameters.set_index("parameter")["map_estimate"].to_numpy()
    np.testing.assert_allclose(got, _oracle(days, titres), rtol=2e-3)


def test_pd_map_band_brackets_the_profile_and_the_titres_move_the_prior() -> None:
    data = attach_kinetics(
        pd_population_data(_titres([-7.0, 28.0], ["1:3200", "1:1000"]), "aqp4_igg_titre", min_subjects=1)
    )
    result = map_estimate(pd_map_population(POPULATION, KINETIC, t_max_days=60), data)
    profile = result.profile
    assert (profile["p05"] <= profile["map_prediction"] + 1e-9).all()
    assert (profile["map_prediction"] <= profile["p95"] + 1e-9).all()
    a0 = result.parameters.set_index("parameter").loc["a0"]
    # a baseline titre of 1:3200 (latent 3200-10000) pulls a0 far above the typical 300
    assert a0["map_estimate"] > 3 * TYPICAL["a0"] and a0["p05"] < a0["map_estimate"] < a0["p95"]
    assert "2 interval-censored" in result.notes[0]


# --- the CLI -------------------------------------------------------------------------------------------


def _files(
    tmp_path: Path, titres: list[str] | None = None, ebe_subject: str = "NEW"
) -> tuple[Path, Path, Path]:
    population = tmp_path / "pd-estimates.json"
    population.write_text(json.dumps(POPULATION))
    samples = tmp_path / "pd.csv"
    _titres([-7.0, 28.0], titres or ["1:320", "1:100"]).to_csv(samples, index=False)
    ebe = tmp_path / "ebe.csv"
    pd.DataFrame([{"subject": ebe_subject, **dict(zip(STEIN_PARAMETERS, KINETIC[0], strict=True))}]).to_csv(
        ebe, index=False
    )
    return population, samples, ebe


def test_cli_map_of_a_pd_population_writes_json_csv_and_a_table(tmp_path: Path) -> None:
    population, samples, ebe = _files(tmp_path)
    args = (
        "kinetics",
        "map",
        str(samples),
        "--population",
        str(population),
        "--individual-parameters",
        str(ebe),
    )
    result = run_cartrial(*args, "--json", "--out", str(tmp_path / "m"))
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [p["parameter"] for p in doc["parameters"]] == list(TYPICAL)
    assert doc["subject"] == "NEW" and doc["population_converged"]
    written = json.loads((tmp_path / "m" / "map.json").read_text())
    assert written["parameters"] == doc["parameters"]
    profile = pd.read_csv(tmp_path / "m" / "map_profile.csv")
    assert {"time", "map_prediction", "p05", "p95", "population_prediction"} <= set(profile.columns)
    table = run_cartrial(*args)
    assert table.exit_code == 0, table.stderr
    assert "igg_half_life" in table.stdout and "90 % interval" in table.stdout


def test_cli_pd_map_on_the_kinetic_map_of_the_same_patient(tmp_path: Path) -> None:
    """The sequential route for a new patient: kinetic MAP from the PK samples, then PD MAP on its output."""
    kinetic = PopulationModel(
        PopulationSpec(STEIN2019),
        Theta(
            np.log(STEIN_2019_TYPICAL.as_array()),
            np.zeros(0),
            np.diag([STEIN_2019_OMEGA2[n] for n in STEIN_PARAMETERS]),
            np.array([STEIN_2019_RESIDUAL_SD_LOG]),
        ),
    )
    (tmp_path / "pk-estimates.json").write_text(json.dumps(kinetic.to_dict()))
    pk = tmp_path / "pk.csv"
    pd.DataFrame(
        {"subject_id": "NEW", "actual_day": [7.0, 14.0], "value": [5000.0, 2500.0], "lloq": 50.0}
    ).to_csv(pk, index=False)
    first = run_cartrial(
        "kinetics",
        "map",
        str(pk),
        "--population",
        str(tmp_path / "pk-estimates.json"),
        "--out",
        str(tmp_path / "k"),
    )
    assert first.exit_code == 0, first.stderr
    population, samples, _ = _files(tmp_path)
    second = run_cartrial(
        "kinetics",
        "map",
        str(samples),
        "--population",
        str(population),
        "--individual-parameters",
        str(tmp_path / "k" / "map_parameters.csv"),
        "--json",
    )
    assert second.exit_code == 0, second.stderr
    assert json.loads(second.stdout)["converged"]


def test_cli_pd_map_bad_input_is_located(tmp_path: Path) -> None:
    population, samples, ebe = _files(tmp_path, ebe_subject="OTHER")
    missing = run_cartrial(
        "kinetics", "map", str(samples), "--population", str(population), "--individual-parameters", str(ebe)
    )
    assert missing.exit_code == 2 and "NEW" in missing.stderr and "ebe.csv" in missing.stderr
    no_kinetics = run_cartrial("kinetics", "map", str(samples), "--population", str(population))
    assert no_kinetics.exit_code == 2 and "--individual-parameters" in no_kinetics.stderr
    population, samples, ebe = _files(tmp_path, titres=["1:320", "1:640"])
    off_grid = run_cartrial(
        "kinetics", "map", str(samples), "--population", str(population), "--individual-parameters", str(ebe)
    )
    assert off_grid.exit_code == 2
    assert "1:640" in off_grid.stderr and "pd.csv" in off_grid.stderr and "aqp4_igg_titre" in off_grid.stderr
    for result in (missing, no_kinetics, off_grid):
        assert "Traceback" not in result.stderr


def test_cli_pd_fit_refuses_a_subject_with_no_quantifiable_titre(tmp_path: Path) -> None:
    samples = tmp_path / "pd.csv"
    pd.concat(
        [_titres([-7.0, 28.0], ["1:320", "1:100"], "A"), _titres([-7.0, 28.0], ["negative", "negative"], "B")]
    ).to_csv(samples, index=False)
    ebe = tmp_path / "ebe.csv"
    typical = dict(zip(STEIN_PARAMETERS, KINETIC[0], strict=True))
    pd.DataFrame([{"subject": s, **typical} for s in ("A", "B")]).to_csv(ebe, index=False)
    result = run_cartrial(
        "kinetics",
        "popfit",
        str(samples),
        "--model",
        "pd",
        "--individual-parameters",
        str(ebe),
        "--out",
        str(tmp_path / "o"),
    )
    assert result.exit_code == 2
    assert "pd.csv" in result.stderr and "B" in result.stderr and "quantifiable" in result.stderr
    assert "Traceback" not in result.stderr
