"""A sweep compares its points with common random numbers by default (D-19.294): every point runs the same
virtual population and the same random stream, so two points differ by what their parameters change, not
by Monte Carlo noise (dose-escalation.md §11: "use common random numbers when comparing designs").
`seeds: independent` gives each point its own stream, the earlier rule."""

from __future__ import annotations

import pytest

from cartrial.simulation import load_scenario
from cartrial.simulation.sweep import load_grid, point_seeds, run_sweep

#: the persistence day changes only the persistence metric: not the escalation, toxicity or accrual
GRID = "trials: 60\naxes:\n  - {parameter: kinetics.persistence_day, values: [180, 181]}\n"
SAME = ("selection_pct_1", "mean_n_1", "mean_n_2", "n_dlt_mean", "n_crs_any_mean", "n_screened_mean")


def _sweep(make_scenario, tmp_path, extra=""):
    scenario, protocol = load_scenario(make_scenario({"pool_size": 150}))
    path = tmp_path / "grid.yaml"
    path.write_text(GRID + extra, encoding="utf-8")
    return run_sweep(scenario, protocol, load_grid(path), seed=11, workers=0).table


def test_points_that_differ_in_nothing_the_design_sees_give_the_same_escalation(make_scenario, tmp_path):
    table = _sweep(make_scenario, tmp_path)
    assert table["seed"].nunique() == 1
    assert table.loc[0, "seed"] == point_seeds(11, 1)[0]  # the first point's seed is the one it had
    for column in SAME:
        assert table.loc[0, column] == table.loc[1, column], column


def test_independent_seeds_are_the_named_alternative(make_scenario, tmp_path):
    table = _sweep(make_scenario, tmp_path, "seeds: independent\n")
    assert table["seed"].tolist() == point_seeds(11, 2)
    assert any(table.loc[0, c] != table.loc[1, c] for c in SAME)  # (seed 11) Monte Carlo noise alone


def test_an_unknown_seed_rule_is_refused_at_its_line(tmp_path):
    from cartrial.errors import InputError

    path = tmp_path / "grid.yaml"
    path.write_text(GRID + "seeds: shared\n", encoding="utf-8")
    with pytest.raises(InputError, match="seeds"):
        load_grid(path)
