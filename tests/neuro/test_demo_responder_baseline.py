"""The neuro demo derives the responders as the analysis does (D-19.900): with the relapse derivation's
attacks and the protocol's `analysis.options.responder_baseline_visit`. Before: no attacks and the engine
default, so the demo's walking response ignored both the attacks and the protocol.

Case by hand (the example study): CT-002's only pre-infusion timed walk is on 2021-05-15; an added myelitis
onset on 2021-05-01 puts it 14 days after an onset, during the attack. With the protocol option removed
(default `outside_relapse`) CT-002 has no walking baseline: not evaluable for `t25fw_20pct_faster`, the
reason "baseline only during an attack"; with the example's `last` it stays evaluable (5.05 -> 4.95 s).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from cartrial import templates as cartrial_templates
from cartrial.demo import DemoContext
from cartrial.demo.neuro import run
from cartrial.neuro.responders import BASELINE_ONLY_DURING_ATTACK

OPTION = "    responder_baseline_visit: last"


def _walking_ct002(tmp_path: Path, examples_dir: Path, keep_option: bool) -> dict[str, object]:
    examples = tmp_path / "examples"
    shutil.copytree(examples_dir / "ct103a-nmosd", examples / "ct103a-nmosd")
    study = examples / "ct103a-nmosd" / "study"
    relapses = study / "relapses.csv"
    relapses.write_text(relapses.read_text() + "CT-002,2021-05-01,myelitis,moderate,true,false,,IVMP,\n")
    protocol = examples / "ct103a-nmosd" / "protocol.yaml"
    lines = protocol.read_text().splitlines(keepends=True)
    assert any(line.startswith(OPTION) for line in lines)
    if not keep_option:
        protocol.write_text("".join(line for line in lines if not line.startswith(OPTION)))
    ctx = DemoContext(examples, cartrial_templates.path(), tmp_path / "out", Console(record=True, width=300))
    run(ctx)
    rows = json.loads((tmp_path / "out" / "neuro" / "responders.json").read_text())
    (walk,) = [r for r in rows if r["definition"] == "t25fw_20pct_faster"]
    (subject,) = [s for s in walk["subjects"] if s["subject_id"] == "CT-002"]
    return subject


@pytest.mark.parametrize("keep_option", [False, True], ids=["outside_relapse", "last"])
def test_the_demo_follows_the_protocol_and_the_attacks(
    tmp_path: Path, examples_dir: Path, keep_option: bool
) -> None:
    subject = _walking_ct002(tmp_path, examples_dir, keep_option)
    if keep_option:
        assert subject["evaluable"] is True
    else:
        assert subject["evaluable"] is False
        assert str(subject["reason"]).startswith(BASELINE_ONLY_DURING_ATTACK)
