"""The replay checks the protocol's sentinel interval (`escalation.stagger_days`, D-19.1203).

`stagger_days` is the "minimum days between the first and the next patient of a cohort (sentinel dosing)"
(docs/protocol.md), after NCT07488546: "the first subject of each cohort observed for at least 14 days
before the next is dosed" (docs/science/ct103a-nmosd-trial.md §4). `cartrial escalate replay` says it lists
every protocol deviation of the recorded conduct, but it never read `stagger_days`: a cohort whose second
patient was dosed the day after the sentinel replayed without deviation.

Hand-read dates of the example study (study/infusions.csv, each on the site's calendar, Asia/Shanghai):
cohort 1 CT-001 2021-04-27, CT-002 2021-05-18 (21 days after CT-001), CT-003 2021-06-08 (42 days); cohort 2
CT-004 2021-07-13, CT-005 2021-08-03 (21 days), CT-006 2021-08-24 (42 days); cohort 3 is the expansion
cohort (recorded decision "expand" before it), which has no sentinel.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cartrial.escalation import replay_decisions
from cartrial.protocol import load_protocol
from cartrial.tabular import read_csv


def _replay(examples_dir: Path, stagger: int) -> list[str]:
    study = examples_dir / "ct103a-nmosd" / "study"
    protocol = load_protocol(study.parent / "protocol.yaml")
    protocol = protocol.model_copy(
        update={"escalation": protocol.escalation.model_copy(update={"stagger_days": stagger})}
    )
    result = replay_decisions(
        read_csv(study / "escalation_decisions.csv"), read_csv(study / "infusions.csv"), None, protocol
    )
    return [str(text) for text in result.table["deviation"]]


@pytest.mark.parametrize("stagger", [0, 14, 21])
def test_a_sentinel_interval_the_cohorts_kept_is_no_deviation(examples_dir: Path, stagger: int) -> None:
    # 21 days after the sentinel is "at least 21 days": kept (inclusive)
    assert _replay(examples_dir, stagger) == ["", "", ""]


def test_a_patient_dosed_inside_the_sentinel_interval_is_a_deviation(examples_dir: Path) -> None:
    first, second, expansion = _replay(examples_dir, 22)
    assert "CT-002" in first and "21 days after" in first and "CT-001" in first and "22-day" in first
    assert "CT-003" not in first  # 42 days after the sentinel
    assert "CT-005" in second and "21 days after" in second and "CT-004" in second
    assert "CT-006" not in second
    assert expansion == ""  # the expansion cohort has no sentinel (14 days apart here)


def test_the_expansion_cohort_is_decided_by_the_recorded_decision_only(examples_dir: Path) -> None:
    # cohort 2 recorded "stay" where the design gives "expand": the team ran cohort 3 as an escalation
    # cohort, so its sentinel interval is checked. Hand-read (study/infusions.csv, Asia/Shanghai): CT-007
    # 2021-09-28, CT-008 2021-10-12 (14 days after CT-007, inside 22), CT-009 2021-10-26 (28 days, kept)
    study = examples_dir / "ct103a-nmosd" / "study"
    protocol = load_protocol(study.parent / "protocol.yaml")
    protocol = protocol.model_copy(
        update={"escalation": protocol.escalation.model_copy(update={"stagger_days": 22})}
    )
    decisions = read_csv(study / "escalation_decisions.csv")
    assert list(decisions["decision"]) == ["escalate", "expand", "stop"]
    decisions.loc[1, "decision"] = "stay"
    result = replay_decisions(decisions, read_csv(study / "infusions.csv"), None, protocol)
    second, third = (str(text) for text in result.table["deviation"][1:])
    assert "recorded decision 'stay'" in second  # the design gives "expand": a deviation of its own
    assert "CT-008 was infused 14 days after the cohort's first patient (CT-007" in third
    assert "22-day sentinel interval" in third
    assert "CT-009 was infused" not in third  # 28 days after the sentinel: kept
