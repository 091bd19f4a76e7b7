"""A long follow-up (decisions D-19.391): `cartrial simulate study | trial` with `follow_up_days: 3650`
printed numpy RuntimeWarnings (invalid value, overflow) from the PD model, whose effector compartment
crossed 0 and diverged to NaN after about three years, turning the AQP4-IgG course and every efficacy
metric of the run into NaN. A metric no trial can give (nobody evaluable) is stated in words, not as nan."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Cli


def _quiet(cli: Cli, *args: object) -> tuple[int, str, str, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, out, err = cli(*args)
    return code, out, err, [f"{w.category.__name__}: {w.message}" for w in caught]  # type: ignore[return-value]


def test_ten_year_follow_up_study_has_no_warnings(
    cli: Cli, make_scenario: Callable[..., Path], tmp_path: Path
) -> None:
    scenario = make_scenario({"follow_up_days": 3650, "data_cutoff_day": 36000})
    code, _out, err, caught = _quiet(cli, "simulate", "study", "--scenario", scenario, "--seed", "1", "--out",
                                     tmp_path / "study")  # fmt: skip
    assert code == 0, err
    assert caught == [] and "Warning" not in err


def test_ten_year_follow_up_trials_have_finite_efficacy(cli: Cli, make_scenario: Callable[..., Path]) -> None:
    scenario = make_scenario({"follow_up_days": 3650})
    code, out, err, caught = _quiet(
        cli, "simulate", "trial", "--scenario", scenario, "--trials", "4", "--json"
    )
    assert code == 0, err
    assert caught == []
    metrics = {m["metric"]: m for m in json.loads(out)["metrics"]}
    assert metrics["pct_aqp4_fell"]["n_trials"] == 4
    assert 0 <= metrics["pct_aqp4_fell"]["mean"] <= 100


def test_a_metric_without_any_value_is_stated_in_words(cli: Cli, make_scenario: Callable[..., Path]) -> None:
    """A 30-day follow-up ends before the persistence day (180): no patient is evaluable for persistence in
    any trial, so the row says so instead of printing nan."""
    scenario = make_scenario({"follow_up_days": 30})
    code, out, err = cli("simulate", "trial", "--scenario", scenario, "--trials", "3", env={"COLUMNS": "200"})
    assert code == 0, err
    assert "nan" not in out
    flat = " ".join(out.split())
    assert "no trial had an evaluable patient" in flat
