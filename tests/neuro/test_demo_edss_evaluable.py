"""The neuro demo's console line "EDSS improvement" counts over the patients evaluable for improvement, the
same denominator as the analysis finding (D-19.623), read from the engine's `improvement_evaluable`.

Case by hand: every FS and ambulation score of CT-002 set to 0 in a copy of the example (EDSS 0 at every
visit, Kurtzke 1983): CT-002 cannot improve (cdi_common: reference 0 cannot improve), so the line reads
"confirmed in 3/11 evaluable" (CT-001, CT-004, CT-006 confirmed; tests/analysis/test_edss_improvement_
denominator.py), where it read "confirmed in 3/12".
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from rich.console import Console

from cartrial import templates as cartrial_templates
from cartrial.demo import DemoContext
from cartrial.demo.neuro import run
from cartrial.neuro.edss_scale import FS_NAMES

SCORES = [*FS_NAMES, "ambulation"]  # every functional system and ambulation


def test_the_demo_line_counts_the_patients_who_can_improve(tmp_path: Path, examples_dir: Path) -> None:
    examples = tmp_path / "examples"
    shutil.copytree(examples_dir / "ct103a-nmosd", examples / "ct103a-nmosd")
    path = examples / "ct103a-nmosd" / "study" / "edss.csv"
    edss = pd.read_csv(path, dtype=str, keep_default_na=False)
    edss.loc[edss["subject_id"] == "CT-002", SCORES] = "0"
    edss.to_csv(path, index=False)
    ctx = DemoContext(examples, cartrial_templates.path(), tmp_path / "out", Console(record=True, width=300))
    run(ctx)
    text = ctx.console.export_text()
    assert "confirmed in 3/11 evaluable" in text
    assert "confirmed in 3/12" not in text
