"""Population fit of the CAR-T → plasma cell → AQP4-IgG model, sequential on the individual kinetic parameters
(issue 17): the solver against an ODE solver, the titre reading, the CLI, and bad input (a subject without
kinetic parameters, the options used with the wrong model). Recovery: test_popfit_pd_recovery.py."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import solve_ivp

from cartrial import examples as cartrial_examples
from cartrial.errors import InputError
from cartrial.kinetics.models import (
    STEIN_2019_OMEGA2,
    STEIN_2019_TYPICAL,
    STEIN_PARAMETERS,
    stein2019_concentration,
)
from cartrial.kinetics.popfit.pdmodel import (
    pd_structural_model,
    read_individual_parameters,
    titre_observations,
)
from cartrial.protocol import AQP4_TITRE_DILUTIONS

from ...conftest import CliResult, run_cartrial

STUDY = Path(cartrial_examples.__file__).resolve().parent / "ct103a-nmosd" / "study"
K_OUT = 0.002


def kinetics_sample(n: int, rng: np.random.Generator) -> np.ndarray:
    """Stein 2019 individual parameters: typical values with a third of the published variances."""
    typical = STEIN_2019_TYPICAL.as_array()
    omega2 = np.array([STEIN_2019_OMEGA2[p] for p in STEIN_PARAMETERS]) * 0.3
    kin = typical * np.exp(rng.standard_normal((n, 6)) * np.sqrt(omega2))
    kin[:, 0] = np.maximum(kin[:, 0], 2.0)
    kin[:, 4] = np.minimum(kin[:, 4], 0.5)
    return np.asarray(kin, dtype=float)


def test_prediction_agrees_with_an_ode_solver() -> None:
    """The grid scheme against LSODA on the same equations with CAR(t) from the Stein closed form."""
    rng = np.random.default_rng(4)
    kin = kinetics_sample(3, rng)
    params = np.array([[320.0, 2e-4, 0.05, 21.0], [100.0, 8e-4, 0.3, 30.0], [50.0, 5e-5, 0.01, 15.0]])
    days = np.array([-7.0, 3.0, 10.0, 21.0, 60.0, 120.0, 200.0])
    model = pd_structural_model(kin, t_max_days=200, k_out_per_day=K_OUT)
    pred = model.predict(params, np.tile(days, (3, 1)), np.arange(3.0))
    for i in range(3):
        a0, k_kill, frac, half_life = params[i]
        protected = frac / (1 - frac)
        k_deg = math.log(2) / half_life
        k_syn = k_deg / (1 + protected)

        def rhs(
            t: float, y: np.ndarray, i: int = i, rates: tuple[float, ...] = (k_kill, k_syn, k_deg, protected)
        ) -> list[float]:
            kill, syn, deg, floor = rates
            car = float(stein2019_concentration([t], *kin[i])[0])
            pool, antibody = y
            return [K_OUT * (1 - pool) - kill * car * pool, syn * (pool + floor) - deg * antibody]

        sol = solve_ivp(rhs, (0, 200), [1.0, 1.0], t_eval=days[1:], rtol=1e-9, atol=1e-12, max_step=0.25)
        assert pred[i, 0] == pytest.approx(a0)
        np.testing.assert_allclose(pred[i, 1:], a0 * sol.y[1], rtol=2e-3)


def test_a_subject_without_kinetic_parameters_is_named_with_the_file() -> None:
    table = pd.DataFrame({"subject": ["A", "B"], **{p: [1.5, 2.0] for p in STEIN_PARAMETERS}})
    with pytest.raises(InputError) as caught:
        read_individual_parameters(table, ["A", "B", "C"], source="fit/ebe.csv")
    text = str(caught.value)
    assert "C" in text and "fit/ebe.csv" in text
    bad = table.assign(cmax=[1.0, -3.0])
    with pytest.raises(InputError, match="cmax"):
        read_individual_parameters(bad, ["A", "B"], source="fit/ebe.csv")
    with pytest.raises(InputError, match="foldx"):
        read_individual_parameters(table.drop(columns=["foldx"]), ["A"], source="fit/ebe.csv")


def test_titres_are_read_at_their_interval_centre_and_negative_is_blq() -> None:
    table = pd.DataFrame({"titre": ["1:320", "negative", "1:10", None]})
    out, titres = titre_observations(table, "titre")
    assert titres
    assert out["_pd_value"].iloc[0] == pytest.approx(320 * 10**0.25)
    assert bool(out["_pd_blq"].iloc[1]) and out["_pd_lloq"].iloc[1] == 10
    assert out["_pd_value"].iloc[2] > 10
    with pytest.raises(InputError) as caught:
        titre_observations(pd.DataFrame({"titre": ["1:320", "lots"]}), "titre", source="pd.csv")
    assert "pd.csv" in str(caught.value) and "lots" in str(caught.value)


def _ebe_file(path: Path, drop: str | None = None) -> Path:
    subjects = sorted(set(pd.read_csv(STUDY / "pd_samples.csv")["subject_id"]))
    rows = [
        {"subject": s, **dict(zip(STEIN_PARAMETERS, STEIN_2019_TYPICAL.as_array(), strict=True))}
        for s in subjects
        if s != drop
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _popfit_pd(individual_parameters: Path, out: Path, *options: str) -> CliResult:
    """`cartrial kinetics popfit` of the example titres with the PD model on `individual_parameters`."""
    return run_cartrial(
        "kinetics",
        "popfit",
        str(STUDY / "pd_samples.csv"),
        "--model",
        "pd",
        "--individual-parameters",
        str(individual_parameters),
        *options,
        "--out",
        str(out),
    )


def test_cli_fits_the_example_titres_on_the_kinetic_ebes(tmp_path: Path, few_draws: None) -> None:
    import json

    ebe = _ebe_file(tmp_path / "ebe.csv")
    out = tmp_path / "pd-fit"
    result = _popfit_pd(ebe, out, "--k1", "40", "--k2", "20", "--no-figures", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads((out / "estimates.json").read_text())
    assert doc["model"] == "cartrial_pd"
    assert doc["parameters"] == ["a0", "k_kill", "protected_fraction", "igg_half_life_days"]
    summary = json.loads(result.stdout)
    raw = pd.read_csv(STUDY / "pd_samples.csv")
    assert summary["n_observations"] == int(raw["aqp4_igg_titre"].notna().sum())
    assert summary["n_blq"] == int((raw["aqp4_igg_titre"] == "negative").sum())
    # diagnostics of titres (D-17.19, D-17.20): censored samples marked, no value; the VPC on the grid
    diag = pd.read_csv(out / "diagnostics.csv")
    assert set(diag["censored"]) <= {"none", "blq", "interval"}
    assert (diag["censored"] == "interval").sum() == summary["n_observations"] - summary["n_blq"]
    assert diag.loc[diag["censored"] != "none", "dv"].isna().all()
    vpc = pd.read_csv(out / "vpc.csv")
    grid = {0.0, *(float(d) for d in AQP4_TITRE_DILUTIONS)}
    assert vpc["titre_grid"].all() and set(vpc["sim_p50_med"]) <= grid and set(vpc["obs_p50"]) <= grid


def test_cli_names_the_subject_missing_from_the_ebe_file(tmp_path: Path) -> None:
    ebe = _ebe_file(tmp_path / "ebe.csv", drop="CT-003")
    result = _popfit_pd(ebe, tmp_path / "o")
    assert result.exit_code == 2
    assert "CT-003" in result.stderr and "ebe.csv" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_refuses_the_pd_options_with_the_wrong_model(tmp_path: Path) -> None:
    no_ebe = run_cartrial(
        "kinetics", "popfit", str(STUDY / "pd_samples.csv"), "--model", "pd", "--out", str(tmp_path / "a")
    )
    assert no_ebe.exit_code == 2 and "--individual-parameters" in no_ebe.stderr
    ebe = _ebe_file(tmp_path / "ebe.csv")
    wrong = run_cartrial(
        "kinetics",
        "popfit",
        str(STUDY.parent / "study" / "pk_samples.csv"),
        "--individual-parameters",
        str(ebe),
        "--out",
        str(tmp_path / "b"),
    )
    assert wrong.exit_code == 2 and "PD model only" in wrong.stderr


@pytest.mark.parametrize("kind", ["empty", "binary", "wrong-header", "folder"])
def test_cli_refuses_an_unreadable_ebe_file(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "ebe.csv"
    if kind == "empty":
        target.write_bytes(b"")
    elif kind == "binary":
        target.write_bytes(bytes(range(256)) * 4)
    elif kind == "wrong-header":
        target.write_text("foo,bar\n1,2\n")
    else:
        target.mkdir()
    result = _popfit_pd(target, tmp_path / "o")
    assert result.exit_code == 2, result.stderr
    assert "ebe.csv" in result.stderr and "Traceback" not in result.stderr


def test_the_pd_parameters_have_their_units() -> None:
    """a0 is y(0), so in the observations' unit: titres 1:D are read as D, a reciprocal titre (the fit said
    "data unit", a placeholder); k_kill·CAR(t) is a rate per day with CAR in copies/µg, so k_kill is in
    1/(copies/ug)/day; a numeric PD column keeps its unit column's unit (D-19.533)."""
    from cartrial.kinetics.popfit.pdmodel import TITRE_UNIT, pd_fit_inputs, pd_population_data
    from cartrial.kinetics.popfit.structural import parameter_units
    from cartrial.tabular import read_csv

    table = read_csv(STUDY / "pd_samples.csv", required=["subject_id"])
    data = pd_population_data(table, "aqp4_igg_titre", source="pd_samples.csv")
    assert data.value_unit == TITRE_UNIT == "reciprocal titre"
    ebe = pd.DataFrame(
        [
            {"subject": s, **dict(zip(STEIN_PARAMETERS, STEIN_2019_TYPICAL.as_array(), strict=True))}
            for s in data.subjects
        ]
    )
    model = pd_fit_inputs(data, ebe).structural
    units = dict(zip(model.parameters, parameter_units(model, data.value_unit, data.time_unit), strict=True))
    assert units["a0"] == "reciprocal titre" and units["k_kill"] == "1/(copies/ug)/day"
    assert units["igg_half_life_days"] == "day"
    numeric = table.assign(level=[float(i % 7 + 1) for i in range(len(table))], unit="mg/L")
    assert pd_population_data(numeric, "level", source="pd_samples.csv").value_unit == "mg/L"
