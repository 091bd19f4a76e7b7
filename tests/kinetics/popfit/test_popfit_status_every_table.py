"""A fit's status is in every table it writes (docs/popfit.md §3, "Convergence label": "in the CLI output,
every CSV (`status` column)"): trace.csv had none, so a NOT CONVERGED fit's SAEM trajectories read as any
other's once the folder's tables were used on their own."""

from __future__ import annotations

import math

import numpy as np

from cartrial.kinetics.popfit import PopulationData, SaemSettings, StructuralModel, fit_population
from cartrial.kinetics.popfit.diagnostics import fit_tables
from cartrial.report.popfit import popfit_files


def _constant(params: np.ndarray, times: np.ndarray, dose: np.ndarray) -> np.ndarray:
    return np.asarray(np.broadcast_to(params[:, [0]], times.shape), dtype=float).copy()


CONSTANT = StructuralModel("constant", ("level",), ("-",), (1.0,), _constant, "random-intercept test model")


def test_a_not_converged_fit_is_labelled_in_every_table_and_csv() -> None:
    rng = np.random.default_rng(2)
    n, m = 12, 4
    # no between-subject variability at all: ω² collapses, and the fit says so
    log_y = math.log(20.0) + rng.normal(0, 0.2, (n, m))
    data = PopulationData.from_arrays(
        [f"S{i}" for i in range(n)], [np.arange(m, dtype=float)] * n, list(np.exp(log_y))
    )
    fit = fit_population(
        data, CONSTANT, compute_se=False, settings=SaemSettings(seed=3, k1=40, k2=20, polish_rounds=0)
    )
    assert fit.status == "NOT CONVERGED", fit.convergence_problems
    tables = fit_tables(fit, n_sim=20, seed=1)
    for name, table in tables.items():
        assert "status" in table.columns, name
        assert set(table["status"]) == {"NOT CONVERGED"}, name
    files = popfit_files(fit, figures=False, n_sim=20)
    for name, text in files.items():
        if name.endswith(".csv"):
            header = str(text).splitlines()[0].split(",")
            assert "status" in header, name
