"""The simulated prediction intervals of a VPC with BLQ data are taken over every simulated dataset.

Censored VPC (Bergstrand M, Karlsson MO. Handling data below the limit of quantification in mixed effect
models. AAPS J 2009;11:371-380, §"VPC"; Bergstrand M et al. AAPS J 2011;13:143-151): each simulated dataset is
censored at the LLOQ like the observations, its percentiles are computed with the censored values as the
lowest ones, and the 90 % interval of a percentile is the 5th-95th percentile of that percentile over all
simulated datasets; a bound that falls below the LLOQ is censored (not drawn), like an observed percentile.
Leaving out the datasets whose percentile is censored shifts the band upwards (the 5th percentile of the
uncensored ones is a higher quantile of the whole): the intervals are written out here with numpy, a BLQ
value taken as a number below every quantified one.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from cartrial.kinetics.popfit import PopulationData, SaemSettings, StructuralModel, fit_population
from cartrial.kinetics.popfit.diagnostics import simulate_replicates, vpc_table


def _constant(params: np.ndarray, times: np.ndarray, dose: np.ndarray) -> np.ndarray:
    return np.asarray(np.broadcast_to(params[:, [0]], times.shape), dtype=float).copy()


CONSTANT = StructuralModel("constant", ("level",), ("-",), (1.0,), _constant, "random-intercept test model")
LLOQ = 7.0  # about 4 % of log-normal values around 20 with SD 0.6 on the log scale
N_SIM, SEED = 200, 5


@pytest.fixture(scope="module")
def fit():  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(8)
    n, m = 30, 4
    log_y = math.log(20.0) + rng.normal(0, math.sqrt(0.3), (n, 1)) + rng.normal(0, 0.25, (n, m))
    data = PopulationData.from_arrays(
        [f"S{i}" for i in range(n)], [np.arange(m, dtype=float)] * n, list(np.exp(log_y)), lloq=LLOQ
    )
    return fit_population(
        data, CONSTANT, compute_se=False, settings=SaemSettings(seed=5, k1=60, k2=40, polish_rounds=0)
    )


def _expected_band(sims: np.ndarray, lloq: float, p: float, pp: float) -> float:
    below = -1e300  # a BLQ value: below every quantified one
    cens = np.where(sims < lloq, below, sims)
    per_dataset = np.percentile(cens, p, axis=1)  # the p-th percentile of each simulated dataset
    bound = float(np.percentile(per_dataset, pp))  # its pp-th percentile over all datasets
    return bound if bound >= lloq else float("nan")


def test_the_interval_of_each_percentile_is_over_all_simulated_datasets(fit) -> None:  # type: ignore[no-untyped-def]
    vpc = vpc_table(fit, n_sim=N_SIM, seed=SEED)
    sims = simulate_replicates(fit, N_SIM, SEED)  # the same draws vpc_table makes
    times = fit.data.times
    censored_bounds = 0
    for row in vpc.itertuples():
        in_bin = fit.data.observed & np.isclose(times, row.time_mid)
        s = sims[:, in_bin]
        for p, name in ((5, "p05"), (50, "p50"), (95, "p95")):
            for pp, lab in ((5, "lo"), (50, "med"), (95, "hi")):
                want = _expected_band(s, LLOQ, p, pp)
                got = getattr(row, f"sim_{name}_{lab}")
                censored_bounds += math.isnan(want)
                if math.isnan(want):
                    assert math.isnan(got), (row.bin, name, lab, got)
                else:
                    assert got == pytest.approx(want, rel=1e-9), (row.bin, name, lab)
    assert censored_bounds > 0  # the case this checks: some simulated 5th percentiles below the LLOQ


def test_a_percentile_equal_to_the_lloq_is_shown_as_a_simulated_bound_is(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """BLQ means below the LLOQ (`PopulationData.from_arrays`: v < LLOQ), so a value equal to it is
    quantified; an observed percentile equal to the LLOQ was hidden (v > LLOQ) while a simulated bound equal
    to it was shown (bound ≥ LLOQ). One rule now (D-19.981): every observed and simulated value is exactly the
    LLOQ 7, so every percentile and every bound is 7 and shown."""
    import types

    from cartrial.kinetics.popfit import diagnostics

    n, times = 10, np.array([1.0, 2.0])
    data = PopulationData.from_arrays(
        [f"S{i}" for i in range(n)], [times] * n, [np.full(2, LLOQ)] * n, lloq=LLOQ
    )
    assert data.n_blq == 0
    monkeypatch.setattr(diagnostics, "simulate_replicates", lambda fit, k, seed: np.full((k, n, 2), LLOQ))
    table = vpc_table(types.SimpleNamespace(data=data, status="converged"), n_sim=20)  # type: ignore[arg-type]
    for name in ("p05", "p50", "p95"):
        assert (table[f"obs_{name}"] == LLOQ).all(), name
        for lab in ("lo", "med", "hi"):
            assert (table[f"sim_{name}_{lab}"] == LLOQ).all(), (name, lab)
