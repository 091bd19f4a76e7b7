"""Closing notes of the simulation summary (decisions D-19.393): quantiles are values a trial had (inverted
CDF, not interpolation: "13.6 patients treated" at the 95th percentile is no trial); a proportion of 0 % or
100 % of the trials gets its exact (Clopper-Pearson) 95 % interval, since its binomial SE is 0.0; and the
virtual study says that CRS management (tocilizumab, corticosteroids) is not simulated, so that the 0
treated an analysis counts is not read as data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import Cli

from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare, simulate_trials, summarise, trials_table
from cartrial.simulation.oc import QUANTILES, exact_interval_pct, proportion_text
from cartrial.simulation.study import simulate_study

TRIALS = 9


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, object]:
    from tests.simulation.conftest import EXAMPLE

    scenario, protocol = load_scenario(EXAMPLE / "scenario.yaml")
    scenario = scenario.model_copy(update={"pool_size": 150})
    batch = simulate_trials(prepare(scenario, load_protocol(protocol), 0), TRIALS, seed=2)
    return batch, summarise(batch)


def test_every_quantile_is_a_value_some_trial_had(run: tuple[object, object]) -> None:
    batch, oc = run
    table = trials_table(batch)  # type: ignore[arg-type]
    for row in oc.metrics.to_dict(orient="records"):  # type: ignore[attr-defined]
        if not row.get("n_trials"):
            continue
        values = table[row["metric"]].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        for q in QUANTILES:
            assert np.isclose(values, row[f"p{q}"]).any(), (row["metric"], q, row[f"p{q}"])
        # the inverted CDF: the smallest value with at least q % of the trials at or below it
        ordered = np.sort(values)
        assert row["p50"] == ordered[int(np.ceil(0.5 * values.size)) - 1]


@pytest.mark.parametrize("n", [1, 9, 30, 1000])
def test_exact_interval_at_zero_and_all(n: int) -> None:
    """Clopper-Pearson at k = 0: [0, 1 - 0.025^(1/n)]; at k = n: [0.025^(1/n), 1] (closed forms of the
    beta quantiles)."""
    low, high = exact_interval_pct(0, n)
    assert low == 0 and high == pytest.approx(100 * (1 - 0.025 ** (1 / n)))
    low, high = exact_interval_pct(n, n)
    assert high == 100 and low == pytest.approx(100 * 0.025 ** (1 / n))


def test_zero_percent_is_not_given_an_se_of_zero() -> None:
    text = proportion_text(0.0, 0.0, 30)
    assert "SE 0.0" not in text and "0 of 30" in text and "11.6" in text  # 1 - 0.025^(1/30) = 0.1157
    assert proportion_text(100.0, 0.0, 30).endswith("(30 of 30; exact 95 % CI 88.4–100.0)")
    assert proportion_text(40.0, 8.9, 30) == "40.0 % (SE 8.9)"


def test_summary_carries_the_exact_interval(run: tuple[object, object]) -> None:
    _batch, oc = run
    from scipy.stats import beta

    def clopper_pearson_pct(k: int, n: int) -> list[float]:
        # computed here from the beta quantiles (Clopper & Pearson 1934), not with the function under test
        low = 0.0 if k == 0 else float(beta.ppf(0.025, k, n - k + 1))
        high = 1.0 if k == n else float(beta.ppf(0.975, k + 1, n - k))
        return [100 * low, 100 * high]

    s = oc.summary  # type: ignore[attr-defined]
    for name in ("no_mtd", "early_stop", "p_any_crs_grade3plus"):
        k = round(s[f"{name}_pct"] * TRIALS / 100)
        assert s[f"{name}_ci95_pct"] == pytest.approx(clopper_pearson_pct(k, TRIALS))


def test_cli_never_prints_se_zero_for_a_proportion(cli: Cli, make_scenario: Callable[..., Path]) -> None:
    scenario = make_scenario({"pool_size": 150})
    code, out, err = cli("simulate", "trial", "--scenario", scenario, "--trials", "5", env={"COLUMNS": "250"})
    assert code == 0, err
    head = " ".join(out.split())
    assert "% (SE 0.0)" not in head
    assert "exact 95 % CI" in head


def test_the_virtual_study_says_crs_management_is_not_simulated(make_scenario: Callable[..., Path]) -> None:
    scenario, protocol = load_scenario(make_scenario({"pool_size": 150}))
    study = simulate_study(prepare(scenario, load_protocol(protocol), 1), 1)
    assert "therapies" not in study.forms
    assert "tocilizumab" in study.summary["crs_management"]


def test_one_trial_has_no_standard_error(cli: Cli, make_scenario: Callable[..., Path]) -> None:
    """With one trial the SE of a mean is undefined (sd with n - 1 = 0 degrees of freedom), not 0.0
    (decisions D-19.394): null in oc.json, "SE n/a" printed."""
    import json

    scenario = make_scenario({"pool_size": 150})
    code, out, err = cli("simulate", "trial", "--scenario", scenario, "--trials", "1", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert all(m["se"] is None for m in data["metrics"] if m["n_trials"] == 1)
    assert all(d["mean_n_se"] is None for d in data["doses"])
    code, out, err = cli("simulate", "trial", "--scenario", scenario, "--trials", "1", env={"COLUMNS": "250"})
    assert code == 0, err
    assert "(SE n/a)" in out and "(0.00)" not in out


def test_one_trial_page_shows_no_nan(make_scenario: Callable[..., Path]) -> None:
    """The page's dose table printed NaN for the SEs of a one-trial run (D-19.394)."""
    from cartrial.simulation import html_summary

    scenario, protocol = load_scenario(make_scenario({"pool_size": 150}))
    batch = simulate_trials(prepare(scenario, load_protocol(protocol), 0), 1, seed=2)
    page = html_summary(summarise(batch), batch, "t")
    assert ">NaN<" not in page and ">nan<" not in page
    # both tables say n/a where there is no value (the metrics table left the cell blank)
    dose_table, metrics_table = page.split("<h2>Trial metrics</h2>")
    assert "<td>n/a</td>" in dose_table.split("<h2>Dose levels</h2>")[1]
    assert "<td>n/a</td>" in metrics_table and "<td></td>" not in metrics_table


def test_mean_treated_per_level_is_the_count_of_each_trials_slots(run: tuple[object, object]) -> None:
    """The patients treated at each level, counted per level (no trials × slots × levels array, ~1 GB near
    MAX_TRIAL_SLOTS with 50 levels; review of simfix, finding 5): the same numbers as a plain count."""
    batch, oc = run
    slot_dose = np.asarray(batch.slot_dose)
    for level, row in enumerate(oc.doses.to_dict(orient="records")):
        counts = [sum(1 for d in trial if int(d) == level) for trial in slot_dose.tolist()]
        assert row["mean_treated"] == pytest.approx(sum(counts) / len(counts), rel=1e-12)
        mean = sum(counts) / len(counts)
        sd = (sum((c - mean) ** 2 for c in counts) / (len(counts) - 1)) ** 0.5
        assert row["mean_treated_se"] == pytest.approx(sd / len(counts) ** 0.5, rel=1e-9, abs=1e-12)
