"""One design gives one answer on every path (decisions D-19.390): without a protocol, `no_skip` left at
its default applies the same rule as a protocol (whose `no_skip` defaults to true) and as an explicit
`--no-skip` / ``no_skip=True``: `DontSkipDoses` with `restrict_mtd`, escalation capped at the current
dose + 1 and the final MTD kept within the admissible levels (unlike dfcrm `crm()$mtd`).
`--allow-skip` (``no_skip=False``) gives the R-reference selection (dfcrm `crm()$mtd`, BOIN
`select.mtd`)."""

from __future__ import annotations

import json

import pytest
from tests.conftest import Cli

from cartrial.escalation import Crm, assemble_design, design_from_spec

SKELETON = [0.05, 0.1, 0.2, 0.3, 0.4]
OPTIONS = {"skeleton": SKELETON, "target": 0.3, "cohort_size": 3, "max_n": 30}
HISTORIES = ["1NNN 2NNN", "1NNN 2NNN 3NNN 4TTT 2NNN", "1NNN 2NNN 3NNN 4TTN 2NNN 2NNN"]


@pytest.mark.parametrize("history", HISTORIES)
def test_default_equals_explicit_no_skip_and_keeps_the_mtd_admissible(history: str) -> None:
    bare = Crm(SKELETON, 0.3, cohort_size=3).fit(history)
    default = assemble_design("crm", 5, OPTIONS).fit(history)
    explicit = assemble_design("crm", 5, {**OPTIONS, "no_skip": True}).fit(history)
    current = int(history.split()[-1][0])
    assert bare.next_dose is not None and bare.next_dose > current + 1  # the model would skip
    assert default.next_dose == explicit.next_dose == current + 1  # escalation is capped
    assert default.select_mtd().dose_level == explicit.select_mtd().dose_level == current + 1
    assert bare.select_mtd().dose_level > current + 1  # differs from dfcrm crm()$mtd
    allowed = assemble_design("crm", 5, {**OPTIONS, "no_skip": False}).fit(history)
    assert allowed.select_mtd().dose_level == bare.select_mtd().dose_level  # the R reference


@pytest.mark.parametrize("history", HISTORIES)
def test_cli_default_equals_explicit_no_skip_and_the_protocol(cli: Cli, history: str) -> None:
    from cartrial.protocol.escalation_spec import EscalationSpec

    args = ("escalate", "next", "--design", "crm", "--doses", "5", "--skeleton", "0.05,0.1,0.2,0.3,0.4",
            "--target", "0.3", "--cohort-size", "3", "--max-n", "30",
            "--outcomes", history, "--json")  # fmt: skip
    outputs = []
    for extra in ((), ("--no-skip",)):
        out = cli(*args, *extra)
        assert out.exit_code == 0, out.stderr
        outputs.append(json.loads(out.stdout))
    assert outputs[0] == outputs[1]
    [rule] = [b for b in outputs[0]["options"]["behaviours"] if b["behaviour"] == "dont_skip_doses"]
    assert rule["restrict_mtd"] is True
    spec = EscalationSpec.model_validate({"design": "crm", "dlt_window_days": 28, **OPTIONS})
    protocol = design_from_spec(spec, 5)
    assert protocol.options()["behaviours"] == outputs[0]["options"]["behaviours"]
    fit = protocol.fit(history)
    assert outputs[0]["next_dose"] == fit.next_dose
