"""A CRS or ICANS episode that begins after the patient's dropout is not in the data (D-19.1022).

`simulate study` writes no adverse event, and no assessment, after the last whole day a patient is followed
(D-19.877), so the analysis of the study does not count such an episode; the operating characteristics, which
predict what that analysis reports (D-19.98), must not count it either. Before D-19.1022 the OC counted every
episode drawn for a treated patient, however early the patient dropped out (only the data cut-off applied).

Oracle (hand calculation): every patient has a grade-3 CRS and a grade-1 ICANS beginning on day a = 20, no DLT
(fixed DLT probability 0) and an exponential dropout at λ = 10 a year (rate r = λ / 365.25 a day). An episode
is seen when the patient is followed to day a, i.e. the dropout time D ≥ a: P = exp(-r·a) = exp(-200/365.25)
= 0.5783 for a patient unconditioned by the design. A design patient who drops out inside the 28-day DLT
window (W) without a DLT is replaced (D-19.132): per design position the attempts are geometric with success
q = exp(-rW), the last one followed through the window (D ≥ W ≥ a: seen), the (1 - q)/q others with D < W,
seen with P(D ≥ a | D < W) = (exp(-ra) - q)/(1 - q). Seen per position 1 + (exp(-ra) - q)/q = exp(-ra)/q,
patients per position 1/q: the ratio is exp(-ra) again, as for the (not replaced) expansion patients. So over
many trials, episodes seen / patients treated → exp(-ra) = 57.8 %, not 100 %.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest

from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare, simulate_trials

ONSET = 20
HAZARD = 10.0
TRIALS = 300
EXPECTED = math.exp(-HAZARD / 365.25 * ONSET)  # 0.5783


def test_episodes_beginning_after_the_dropout_are_not_counted(make_scenario: Callable[..., Path]) -> None:
    onset = {"median": ONSET, "sd_log": 0.0, "max": 27}
    path = make_scenario(
        {
            "dropout": {"hazard_per_year": HAZARD},
            "toxicity": {
                "fixed_dlt_probability": [0.0, 0.0],
                # logit ±50: grade 3 CRS and grade 1 ICANS for every patient, beginning on day 20
                "crs": {"intercepts": [50.0, 50.0, 50.0, -50.0], "onset_days": onset},
                "icans": {"intercepts": [50.0, -50.0, -50.0, -50.0], "onset_days": onset},
            },
            "pool_size": 100,
        }
    )
    scenario, protocol_path = load_scenario(path)
    batch = simulate_trials(prepare(scenario, load_protocol(protocol_path), 1), TRIALS, seed=7)
    treated = batch.metrics["n_treated"].sum()
    se = math.sqrt(EXPECTED * (1 - EXPECTED) / treated)
    for name in ("n_crs_any", "n_crs_grade3plus", "n_icans_any"):
        share = batch.metrics[name].sum() / treated
        assert share == pytest.approx(EXPECTED, abs=5 * se), name


@pytest.mark.parametrize(("icans_onset", "seen"), [(29, True), (30, False)])
def test_the_last_day_followed_is_the_day_of_death_exactly(
    make_scenario: Callable[..., Path], icans_onset: int, seen: bool
) -> None:
    """The boundary day, exactly: every patient has a fatal CRS (latent grade 5, logit +50) beginning on
    day 25 and lasting 5 days, fatal on its last day, 25 + 5 - 1 = 29 (D-19.97), and a grade-1 ICANS on a
    fixed day (sd_log 0). Followed to the death, a patient is followed through day 29 and no further: an ICANS
    beginning on day 29 is in the data of exactly the patients whose death is (those not dropped out before
    it), one beginning on day 30 in nobody's. Counting onsets before the last day only, or every episode
    drawn (before D-19.1022: every treated patient, both ways), breaks one of the two."""
    path = make_scenario(
        {
            "toxicity": {
                "fixed_dlt_probability": [0.0, 0.0],
                "crs": {
                    "intercepts": [50.0, 50.0, 50.0, 50.0, 50.0],
                    "onset_days": {"median": 25, "sd_log": 0.0, "max": 27},
                    "duration_days": {"median": 5, "sd_log": 0.0, "max": 30},
                },
                "icans": {
                    "intercepts": [50.0, -50.0, -50.0, -50.0],
                    "onset_days": {"median": icans_onset, "sd_log": 0.0, "max": 40},
                },
            },
            "pool_size": 100,
        }
    )
    scenario, protocol_path = load_scenario(path)
    batch = simulate_trials(prepare(scenario, load_protocol(protocol_path), 1), 20, seed=7)
    deaths = batch.metrics["n_deaths"].sum()
    assert 0 < deaths < batch.metrics["n_treated"].sum()  # some dropped out before day 29: not all seen
    assert batch.metrics["n_icans_any"].sum() == (deaths if seen else 0)
