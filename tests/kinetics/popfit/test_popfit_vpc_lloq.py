"""The VPC table carries the LLOQ its percentiles and BLQ fractions are computed against (D-19.238), so the
figure can draw the LLOQ line and the BLQ-fraction panel is read against that same LLOQ."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cartrial import examples as cartrial_examples
from cartrial.kinetics.popfit import PopulationData, SaemSettings, fit_population
from cartrial.kinetics.popfit.diagnostics import time_bins, vpc_table

PK = Path(cartrial_examples.__file__).resolve().parent / "ct103a-nmosd" / "study" / "pk_samples.csv"
FAST = SaemSettings(k1=5, k2=5, polish_rounds=0, is_draws=100, fim_draws=100, seed=1)


def _transgene(raw: pd.DataFrame) -> pd.DataFrame:
    pk = raw[(raw["analyte"] == "car_transgene") & (raw["actual_day"] >= 0)].copy()
    return pk


@pytest.fixture(scope="module")
def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    raw = pd.read_csv(PK)
    # a second assay version for four subjects: LLOQ 100 instead of 50
    later = raw["subject_id"].isin(["CT-009", "CT-010", "CT-011", "CT-012"])
    raw.loc[later, "lloq"] = 100.0
    fit = fit_population(PopulationData.from_frame(raw), "stein2019", settings=FAST, compute_se=False)
    return vpc_table(fit, n_sim=30, seed=2), _transgene(raw)


def test_each_bin_carries_the_highest_lloq_of_its_samples(tables: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    vpc, pk = tables
    assert "lloq" in vpc.columns
    edges = time_bins(pk["actual_day"].to_numpy(float))
    which = np.clip(np.digitize(pk["actual_day"], edges) - 1, 0, len(edges) - 2)
    expected = pk.assign(bin=which).groupby("bin")["lloq"].max()
    got = vpc.set_index("bin")["lloq"]
    pd.testing.assert_series_equal(got, expected.loc[got.index], check_names=False, check_dtype=False)
    assert set(vpc["lloq"]) == {100.0}  # every bin has a sample of the later assay


def test_the_blq_fraction_and_percentiles_are_read_against_that_lloq(
    tables: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    vpc, pk = tables
    edges = time_bins(pk["actual_day"].to_numpy(float))
    which = np.clip(np.digitize(pk["actual_day"], edges) - 1, 0, len(edges) - 2)
    below = pk["blq"].astype(str).str.lower().eq("true") | (pk["value"] < pk["lloq"])
    observed = below.groupby(which).mean()
    np.testing.assert_allclose(vpc.set_index("bin")["obs_blq_fraction"], observed.loc[vpc["bin"]], rtol=1e-12)
    for name in ("obs_p05", "obs_p50", "obs_p95"):
        drawn = vpc[name].notna()
        assert (vpc.loc[drawn, name] > vpc.loc[drawn, "lloq"]).all(), name


def test_without_an_lloq_the_column_is_blank() -> None:
    days = np.array([1.0, 7.0, 14.0, 28.0, 60.0])
    rng = np.random.default_rng(4)
    n = 20
    values = [1000.0 * np.exp(-0.05 * days + rng.normal(0, 0.3, days.size)) for _ in range(n)]
    data = PopulationData.from_arrays([f"S{i}" for i in range(n)], [days] * n, values)
    fit = fit_population(data, "biexponential", settings=FAST, compute_se=False)
    vpc = vpc_table(fit, n_sim=20, seed=1)
    assert vpc["lloq"].isna().all()
    assert (vpc["obs_blq_fraction"] == 0).all()
