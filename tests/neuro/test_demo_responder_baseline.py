"""The neuro demo derives the responders (D-19.900) and the EDSS change (D-19.869) as the analysis does:
with the relapse derivation's attacks and the protocol's baseline-visit options. Responders: with the
attacks and `analysis.options.responder_baseline_visit`. Before: no attacks and the engine
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

import pandas as pd
import pytest
from rich.console import Console

from cartrial import templates as cartrial_templates
from cartrial.demo import DemoContext
from cartrial.demo.neuro import run
from cartrial.neuro.responders import BASELINE_ONLY_DURING_ATTACK

RESPONDER_OPTION = "    responder_baseline_visit: last"
EDSS_OPTION = "    edss_baseline_visit: last"


def _demo_with_an_attack(tmp_path: Path, examples_dir: Path, removed_option: str | None) -> Path:
    """The neuro demo's output folder for the example with CT-002's myelitis onset on 2021-05-01 added and
    the protocol line `removed_option` (when given) taken out."""
    examples = tmp_path / "examples"
    shutil.copytree(examples_dir / "ct103a-nmosd", examples / "ct103a-nmosd")
    study = examples / "ct103a-nmosd" / "study"
    relapses = study / "relapses.csv"
    relapses.write_text(relapses.read_text() + "CT-002,2021-05-01,myelitis,moderate,true,false,,IVMP,\n")
    protocol = examples / "ct103a-nmosd" / "protocol.yaml"
    lines = protocol.read_text().splitlines(keepends=True)
    if removed_option is not None:
        assert any(line.startswith(removed_option) for line in lines)
        protocol.write_text("".join(line for line in lines if not line.startswith(removed_option)))
    ctx = DemoContext(examples, cartrial_templates.path(), tmp_path / "out", Console(record=True, width=300))
    run(ctx)
    return tmp_path / "out" / "neuro"


@pytest.mark.parametrize("keep_option", [False, True], ids=["outside_relapse", "last"])
def test_the_demo_follows_the_protocol_and_the_attacks(
    tmp_path: Path, examples_dir: Path, keep_option: bool
) -> None:
    out = _demo_with_an_attack(tmp_path, examples_dir, None if keep_option else RESPONDER_OPTION)
    rows = json.loads((out / "responders.json").read_text())
    (walk,) = [r for r in rows if r["definition"] == "t25fw_20pct_faster"]
    (subject,) = [s for s in walk["subjects"] if s["subject_id"] == "CT-002"]
    if keep_option:
        assert subject["evaluable"] is True
    else:
        assert subject["evaluable"] is False
        assert str(subject["reason"]).startswith(BASELINE_ONLY_DURING_ATTACK)


@pytest.mark.parametrize("keep_option", [False, True], ids=["outside_relapse", "last"])
def test_the_demo_takes_the_protocols_edss_baseline_visit(
    tmp_path: Path, examples_dir: Path, keep_option: bool
) -> None:
    """The EDSS change as the analysis derives it (D-19.869); before, the engine default whatever the
    protocol said. CT-002's only EDSS on or before day 0 (infusion 2021-05-18) is on 2021-05-15, 14 days
    after the added onset: the baseline with the example's `last`, none with `outside_relapse`."""
    out = _demo_with_an_attack(tmp_path, examples_dir, None if keep_option else EDSS_OPTION)
    change = pd.read_csv(out / "disability_change.csv", dtype=str, keep_default_na=False)
    (ct002,) = change[change["subject_id"] == "CT-002"].to_dict("records")
    assert ct002["baseline_day"] == ("-3" if keep_option else "")  # -3: 2021-05-15
