"""The neuro demo derives the EDSS change with the protocol's `analysis.options.edss_baseline_visit`, as the
analysis does (D-19.869). Before: the engine default (`outside_relapse`) whatever the protocol said.

Case by hand (the example study): CT-002's only EDSS on or before day 0 (infusion 2021-05-18) is on
2021-05-15; an added myelitis onset on 2021-05-01 puts it 14 days after an onset, during the attack. With
the example's `last` it is the baseline; with the option removed (`outside_relapse`) CT-002 has none.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

from cartrial import templates as cartrial_templates
from cartrial.demo import DemoContext
from cartrial.demo.neuro import run

OPTION = "    edss_baseline_visit: last"


@pytest.mark.parametrize("keep_option", [False, True], ids=["outside_relapse", "last"])
def test_the_demo_takes_the_protocols_edss_baseline_visit(
    tmp_path: Path, examples_dir: Path, keep_option: bool
) -> None:
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
    written = tmp_path / "out" / "neuro" / "disability_change.csv"
    change = pd.read_csv(written, dtype=str, keep_default_na=False)
    (ct002,) = change[change["subject_id"] == "CT-002"].to_dict("records")
    if keep_option:
        assert ct002["baseline_day"] == "-3"  # 2021-05-15, three days before the infusion
    else:
        assert ct002["baseline_day"] == ""
