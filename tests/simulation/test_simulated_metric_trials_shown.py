"""`cartrial simulate trial` prints, for each per-trial metric, how many trials its mean, SE and quantiles
are over (D-19.802). A proportion with an evaluable denominator (persistence among the patients followed
beyond day 180, D-19.98) has no value in a trial where nobody is evaluable; its mean is over the other
trials. The table printed that mean without saying so — "15.0 (1.2)" read as over every trial — while
oc.json has the count (`n_trials`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Cli

#: 10 dropouts a year: P(followed beyond day 180) = exp(-10·180/365.25) ≈ 0.7 % per patient, so most
#: trials of about a dozen patients have nobody evaluable for persistence and a few have someone
LEAKY = {"dropout": {"hazard_per_year": 10.0}, "pool_size": 100}
TRIALS = 40


def test_each_metric_row_says_over_how_many_trials(cli: Cli, make_scenario: Callable[..., Path]) -> None:
    scenario = make_scenario(LEAKY)
    args = ("simulate", "trial", "--scenario", scenario, "--trials", str(TRIALS), "--seed", "3")
    code, out, err = cli(*args, "--json")
    assert code == 0, err
    counts = {m["label"]: m["n_trials"] for m in json.loads(out)["metrics"]}
    persistence = counts["% CAR-T quantifiable after the persistence day"]
    assert 0 < persistence < TRIALS  # (seed 3) some trials have an evaluable patient, not all
    assert counts["patients treated"] == TRIALS
    code, out, err = cli(*args, env={"COLUMNS": "250"})
    assert code == 0, err
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") >= 6}
    assert f"{persistence} of {TRIALS}" in rows["% CAR-T quantifiable after the persistence day"]
    assert f"{TRIALS} of {TRIALS}" in rows["patients treated"]


def test_a_metric_no_trial_gave_says_zero_of_n(cli: Cli, make_scenario: Callable[..., Path]) -> None:
    """A 30-day follow-up ends before the persistence day (180): no trial has a patient evaluable for
    persistence, so its `trials` cell is "0 of 3" like every other row's "k of N", not a bare "0"."""
    scenario = make_scenario({"follow_up_days": 30})
    code, out, err = cli("simulate", "trial", "--scenario", scenario, "--trials", "3", env={"COLUMNS": "250"})
    assert code == 0, err
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") >= 6}
    cells = [c.strip() for c in rows["% CAR-T quantifiable after the persistence day"].split("│")]
    assert cells[2] == "0 of 3"
