"""The default no-skipping rule restricts escalation only (decisions D-19.390): the final MTD is selected as
dfcrm `crm()$mtd`, R escalation and BOIN `select.mtd` select it, over every non-eliminated level; a
protocol's (or the command line's, or Python's) explicit `no_skip: true` keeps it within the admissible
levels as well, as the option did before the default existed."""

from __future__ import annotations

import json

import pytest
from tests.conftest import Cli

from cartrial.escalation import Crm, assemble_design

SKELETON = [0.05, 0.1, 0.2, 0.3, 0.4]
OPTIONS = {"skeleton": SKELETON, "target": 0.3, "cohort_size": 3, "max_n": 30}


@pytest.mark.parametrize(
    "history", ["1NNN 2NNN", "1NNN 2NNN 3NNN 4TTT 2NNN", "1NNN 2NNN 3NNN 4TTN 2NNN 2NNN"]
)
def test_default_caps_escalation_but_selects_the_mtd_as_dfcrm(history: str) -> None:
    bare = Crm(SKELETON, 0.3, cohort_size=3).fit(history)
    default = assemble_design("crm", 5, OPTIONS).fit(history)
    current = int(history.split()[-1][0])
    assert bare.next_dose is not None and bare.next_dose > current + 1  # the model would skip
    assert default.next_dose == current + 1  # escalation is capped
    assert default.select_mtd().dose_level == bare.select_mtd().dose_level  # the MTD is dfcrm's
    explicit = assemble_design("crm", 5, {**OPTIONS, "no_skip": True}).fit(history)
    assert explicit.next_dose == current + 1
    assert explicit.select_mtd().dose_level == current + 1  # asked for: the MTD stays admissible too


def test_default_behaviour_is_recorded_as_escalation_only(cli: Cli) -> None:
    args = ("escalate", "next", "--design", "crm", "--doses", "5", "--skeleton", "0.05,0.1,0.2,0.3,0.4",
            "--target", "0.3", "--cohort-size", "3", "--outcomes", "1NNN", "--json")  # fmt: skip
    out = cli(*args)
    assert out.exit_code == 0, out.stderr
    [rule] = [
        b for b in json.loads(out.stdout)["options"]["behaviours"] if b["behaviour"] == "dont_skip_doses"
    ]
    assert rule["restrict_mtd"] is False
