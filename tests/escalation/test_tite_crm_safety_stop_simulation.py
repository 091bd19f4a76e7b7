"""TITE-CRM accepts `safety_stop` for a single-trial recommendation, but its simulation has no stopping rule
for toxicity: `escalate simulate --design tite-crm --safety-stop` failed naming internal classes
("supports DontSkipDoses and StopAtN only (got StopWhenTooToxic)"). It is now refused as an option, in words,
and the engine's own message names options, not classes (D-19.480)."""

from __future__ import annotations

import pytest

from cartrial.errors import CartrialError
from cartrial.escalation import assemble_design, simulate

ARGS = (
    "escalate", "simulate", "--design", "tite-crm", "--truth", "0.25,0.3,0.4", "--skeleton", "0.1,0.2,0.3",
    "--target", "0.3", "--window", "28", "--accrual-days", "14", "--cohorts", "4", "--trials", "20",
)  # fmt: skip


def test_the_cli_refuses_a_tite_safety_stop_by_its_option(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(*ARGS, "--safety-stop", "0.9")
    assert result.exit_code == 2
    err = " ".join(result.stderr.split())
    assert "--safety-stop" in err and "tite-crm" in err
    assert "StopWhenTooToxic" not in err and "DontSkipDoses" not in err


def test_the_cli_runs_a_tite_simulation_without_it(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli(*ARGS).exit_code == 0


def test_the_engine_message_names_no_internal_class() -> None:
    design = assemble_design(
        "tite-crm", 3, {"skeleton": [0.1, 0.2, 0.3], "target": 0.3, "window": 28, "safety_stop": 0.9}
    )
    assert design.fit("1T").continue_  # the single-trial recommendation keeps it (n_1 < 3)
    with pytest.raises(CartrialError) as caught:
        simulate(design, [0.25, 0.3, 0.4], cohorts=4, trials=10, seed=1, accrual_days=14)
    text = str(caught.value)
    assert "safety_stop" in text and "StopWhenTooToxic" not in text
