"""% of patients treated at doses above the target toxicity (D-19.315): the overdosing OC of dose finding
(Yuan, Hess, Hilsenbeck & Gilbert 2016, BOIN, "percentage of patients treated above the MTD"; the escalation
engine's `pct_treated_above_mtd`). Expected values by construction of the fixed DLT probabilities."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cartrial.protocol import load_protocol
from cartrial.simulation import prepare, simulate_trials, summarise
from cartrial.simulation.scenario import load_scenario


def _oc(path: Path, trials: int = 60):  # type: ignore[no-untyped-def]
    scenario, protocol_path = load_scenario(path)
    protocol = load_protocol(protocol_path)
    batch = simulate_trials(prepare(scenario, protocol, 1), trials)
    return protocol, summarise(batch)


def test_every_dose_above_a_design_target_is_100_pct(make_scenario: Callable[..., Path]) -> None:
    # BOIN with target 0.3 (the design's own target) on doses with true DLT probabilities 0.5 and 0.6
    path = make_scenario(
        {
            "toxicity": {"fixed_dlt_probability": [0.5, 0.6]},
            "design": {"overrides": {"design": "boin", "target": 0.3, "max_n": 12}},
            "pool_size": 200,
        }
    )
    _protocol, oc = _oc(path)
    assert oc.summary["target_toxicity"] == 0.3
    assert oc.summary["pct_treated_above_target"] == pytest.approx(100.0)
    assert oc.summary["pct_treated_above_target_se"] == pytest.approx(0.0)
    assert oc.doses["above_target"].tolist() == [True, True]


def test_no_dose_above_is_0_pct(make_scenario: Callable[..., Path]) -> None:
    path = make_scenario(
        {
            "toxicity": {"fixed_dlt_probability": [0.0, 0.1]},
            "design": {"overrides": {"design": "boin", "target": 0.3, "max_n": 12}},
            "pool_size": 200,
        }
    )
    _protocol, oc = _oc(path)
    assert oc.summary["pct_treated_above_target"] == pytest.approx(0.0)


def test_three_plus_three_with_a_scenario_target(make_scenario: Callable[..., Path]) -> None:
    # 3+3 (de-escalation variant): level 1 never toxic, level 2 always: cohort 1 at level 1 (0/3, escalate),
    # cohort 2 at level 2 (3/3, de-escalate), cohort 3 at level 1 (0/3: 6 at level 1, MTD level 1); then the
    # expansion at level 1. Every trial: 3 patients above the target 0.3 of 9 + the expansion's.
    path = make_scenario(
        {"toxicity": {"fixed_dlt_probability": [0.0, 1.0]}, "design": {"mtd_target": 0.3}, "pool_size": 200}
    )
    protocol, oc = _oc(path)
    expansion = protocol.expansion.n_patients if protocol.expansion is not None else 0
    assert oc.summary["pct_treated_above_target"] == pytest.approx(3 / (9 + expansion) * 100)
    assert oc.summary["pct_treated_above_target_se"] == pytest.approx(0.0)


def test_no_target_no_metric(make_scenario: Callable[..., Path]) -> None:
    # the protocol's 3+3 has no target and the scenario names none: the OC is not reported
    _protocol, oc = _oc(make_scenario({"toxicity": {"fixed_dlt_probability": [0.1, 0.2]}, "pool_size": 200}))
    assert oc.summary["target_toxicity"] is None
    assert oc.summary["pct_treated_above_target"] is None
    assert "above_target" not in oc.doses.columns


def test_a_target_out_of_range_is_refused(make_scenario: Callable[..., Path]) -> None:
    from cartrial.errors import InputError

    with pytest.raises(InputError, match="mtd_target"):
        load_scenario(make_scenario({"design": {"mtd_target": 0.9}}))
