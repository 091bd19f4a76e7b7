"""`escalate next` on a 3+3 whose escalation has ended says so, without a contradictory decision line.

`1NNN 2TTN 1NNN` on three levels (3+3 with de-escalation, Korn 1994; docs/science/dose-escalation.md §3):
0/3 at level 1 → escalate; 2/3 at level 2 → level 2 exceeds the MTD, de-escalate to 1; 0/3 more at level
1 (0/6) → the rule ends: the MTD is level 1, the highest level with 6 patients and at most 1 DLT. The
console printed "decision at the current dose: escalate" (0/3 of the last cohort, read alone) beside "the
design's rule ends escalation", a contradiction for an investigator (D-19.1208).
"""

from __future__ import annotations

import json

from tests.conftest import Cli

ARGS = ["escalate", "next", "--design", "3+3", "--doses", "3", "--outcomes", "1NNN 2TTN 1NNN"]


def test_an_ended_3_plus_3_says_escalation_has_ended_and_the_mtd(cli: Cli) -> None:
    code, out, err = cli(*ARGS, env={"COLUMNS": "250"})
    assert code == 0, err
    shown = " ".join(out.split())
    assert "decision at the current dose" not in shown
    assert "escalate" not in shown.replace("escalation", "")  # no escalate decision anywhere
    assert "the trial's escalation has ended" in shown
    assert "MTD (recommended dose): 1 —" in shown
    assert "next dose: none; continue: no" in shown


def test_the_json_reasons_carry_no_contradictory_decision(cli: Cli) -> None:
    code, out, err = cli(*ARGS, "--json")
    assert code == 0, err
    fit = json.loads(out)
    assert (fit["continue"], fit["next_dose"], fit["mtd"]) == (False, None, 1)
    assert not any("decision at the current dose" in reason for reason in fit["reasons"])
    assert any("escalation has ended" in reason for reason in fit["reasons"])


def test_a_continuing_3_plus_3_still_gives_its_decision(cli: Cli) -> None:
    code, out, err = cli("escalate", "next", "--design", "3+3", "--doses", "3", "--outcomes", "1NNN")
    assert code == 0, err
    shown = " ".join(out.split())
    assert "decision at the current dose: escalate" in shown
    assert "final MTD estimate (not the next dose)" in shown


def test_the_json_decision_of_an_ended_3_plus_3_is_stop(cli: Cli) -> None:
    """`1NNN 2NNN 3NNN` on three levels: 0/3 at the top level, the rule ends (MTD level 3); the JSON said
    "decision": "escalate" beside "continue": false (review of simfix, finding 2)."""
    for outcomes, mtd in (("1NNN 2NNN 3NNN", 3), ("1NNN 2TTN 1NNN", 1)):
        code, out, err = cli(
            "escalate", "next", "--design", "3+3", "--doses", "3", "--outcomes", outcomes, "--json"
        )
        assert code == 0, err
        fit = json.loads(out)
        assert (fit["decision"], fit["continue"], fit["next_dose"], fit["mtd"]) == ("stop", False, None, mtd)


def test_the_json_decision_of_a_continuing_3_plus_3_is_unchanged(cli: Cli) -> None:
    code, out, err = cli(
        "escalate", "next", "--design", "3+3", "--doses", "3", "--outcomes", "1NNN", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["decision"] == "escalate"
