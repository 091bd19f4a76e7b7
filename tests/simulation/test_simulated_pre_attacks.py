"""The pre-treatment relapse rate of a virtual patient counts attacks by the protocol's relapse definition
(D-19.800): onsets less than 30 days after the first onset of the current attack are one attack
(docs/science/neuro-outcomes.md §4.2; `RelapseOptions.merge_window_days` 30, anchor "first") — the count
the analysis of the written study and the eligibility screen make from the same dated relapse list. Before,
the simulator counted every drawn onset: ARR before (24 months) 15 % above what the analysis reports for the
same patients in the reference population (708 onsets, 614 attacks among 145 eligible candidates, seed 1,
pool_size 400)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare, simulate_trials
from cartrial.simulation.trials import Prepared

from .conftest import EXAMPLE


@pytest.fixture(scope="module")
def prepared() -> Prepared:
    scenario, protocol_path = load_scenario(EXAMPLE / "scenario.yaml")
    # no fall after selection (rtm 1): every window's expected share is (730 − gap + (gap − 1)) / 730 =
    # 729 / 730 whatever the gap (the consent day has no onset; D-19.880)
    efficacy = scenario.efficacy.model_copy(update={"regression_to_mean": 1.0})
    scenario = scenario.model_copy(update={"pool_size": 100, "efficacy": efficacy})
    return prepare(scenario, load_protocol(protocol_path), 1)


def _with_history(prepared: Prepared, days_before: list[int]) -> Prepared:
    """Every eligible candidate with the relapse onsets `days_before` (days before screening)."""
    eligible = prepared.eligible
    n = len(eligible)
    history = dataclasses.replace(
        eligible,
        relapses_24m=np.full(n, len(days_before), dtype=np.int64),
        relapses_12m=np.full(n, sum(d <= 365 for d in days_before), dtype=np.int64),
        relapse_days_before=[list(days_before) for _ in range(n)],
    )
    return dataclasses.replace(prepared, eligible=history)


@pytest.mark.parametrize(
    ("days_before", "attacks"),
    [
        # onsets 10 and 20 days before screening: 10 days apart, one attack; 400: another (hand count)
        ([20, 10, 400], 2),
        # 100, 71 (29 days after the first): one attack; 40 (60 days after 100): a second one; 39, 12 (28
        # days after 40): the same second attack — 5 onsets, 2 attacks
        ([100, 71, 40, 39, 12], 2),
        # 30 days apart is not "less than 30 days": two attacks
        ([200, 170], 2),
        # no two onsets within 30 days: every onset is an attack
        ([700, 500, 300, 100], 4),
    ],
)
def test_arr_before_counts_attacks_not_onsets(
    prepared: Prepared, days_before: list[int], attacks: int
) -> None:
    """Every virtual patient has the same history, so every trial's ARR before is attacks / 2 years × the
    window's share 729 / 730 (rtm 1; since D-19.880 the OC's ARR before is the analysis's expectation of
    the 24 months before the infusion: changed by design from attacks / 2)."""
    batch = simulate_trials(_with_history(prepared, days_before), 5, seed=2)
    assert batch.metrics["arr_pre"] == pytest.approx(np.full(5, attacks / 2.0 * 729 / 730))


def test_post_infusion_hazard_follows_the_attack_rate(prepared: Prepared) -> None:
    """The post-infusion relapse hazard is the pre-treatment rate × regression_to_mean (docs/simulation.md
    §5): four onsets within 25 days are one attack, like a single onset, so the same hazard and (same seed)
    the same post-infusion relapses; before, the four onsets quadrupled the hazard."""
    clustered = simulate_trials(_with_history(prepared, [100, 90, 80, 75]), 40, seed=3)
    single = simulate_trials(_with_history(prepared, [100]), 40, seed=3)
    assert clustered.metrics["arr_pre"] == pytest.approx(np.full(40, 0.5 * 729 / 730))  # D-19.880
    np.testing.assert_array_equal(clustered.metrics["arr_post"], single.metrics["arr_post"])
    np.testing.assert_array_equal(clustered.metrics["pct_relapse_free"], single.metrics["pct_relapse_free"])
