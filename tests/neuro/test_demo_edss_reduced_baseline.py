"""D-19.709: the neuro demo's console line "EDSS reduced in k/n" compared each subject's first EDSS visit with
its last, where the disability derivation and the analysis finding compare the baseline (the last visit on
or before day 0, D-19.187) with the last. An extra earlier screening visit therefore changed the line.

Metamorphic case (no oracle needed): a visit of CT-001 with every score 0 (EDSS 0, Kurtzke 1983) added on
2021-04-20, before its baseline visit of 2021-04-24 (both before its infusion), must leave the line unchanged:
the baseline is still the 2021-04-24 visit."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
from rich.console import Console

from cartrial import templates as cartrial_templates
from cartrial.demo import DemoContext
from cartrial.demo.neuro import run
from cartrial.neuro.edss_scale import FS_NAMES

SCORES = [*FS_NAMES, "ambulation"]


def _line(tmp_path: Path, examples_dir: Path, extra_visit: bool) -> str:
    examples = tmp_path / ("extra" if extra_visit else "plain") / "examples"
    shutil.copytree(examples_dir / "ct103a-nmosd", examples / "ct103a-nmosd")
    path = examples / "ct103a-nmosd" / "study" / "edss.csv"
    edss = pd.read_csv(path, dtype=str, keep_default_na=False)
    if extra_visit:
        row = edss[edss["subject_id"] == "CT-001"].iloc[[0]].copy()
        row["assessed_at"] = "2021-04-20T09:00:00Z"
        row[SCORES] = "0"
        edss = pd.concat([row, edss], ignore_index=True)
    edss.to_csv(path, index=False)
    out = tmp_path / ("extra" if extra_visit else "plain") / "out"
    ctx = DemoContext(examples, cartrial_templates.path(), out, Console(record=True, width=300))
    run(ctx)
    found = re.search(
        r"reduced in \d+/\d+ (?:evaluable )?\(median [0-9.]+ -> [0-9.]+\)", ctx.console.export_text()
    )
    assert found is not None
    return found.group(0)


def test_a_visit_before_the_baseline_leaves_the_edss_line_unchanged(
    tmp_path: Path, examples_dir: Path
) -> None:
    assert _line(tmp_path, examples_dir, True) == _line(tmp_path, examples_dir, False)


def test_both_edss_lines_count_over_the_subjects_with_a_baseline(tmp_path: Path, examples_dir: Path) -> None:
    # 12 infused subjects, each with one EDSS visit before its infusion; CT-001's (2021-04-24, infused
    # 2021-04-27) removed: 11 subjects have a baseline, the denominator of both the reduced and the worsening
    # line (the worsening line divided by every subject of the disability table, 12)
    examples = tmp_path / "examples"
    shutil.copytree(examples_dir / "ct103a-nmosd", examples / "ct103a-nmosd")
    path = examples / "ct103a-nmosd" / "study" / "edss.csv"
    edss = pd.read_csv(path, dtype=str, keep_default_na=False)
    edss = edss[~((edss["subject_id"] == "CT-001") & edss["assessed_at"].str.startswith("2021-04-24"))]
    edss.to_csv(path, index=False)
    ctx = DemoContext(examples, cartrial_templates.path(), tmp_path / "out", Console(record=True, width=300))
    run(ctx)
    text = ctx.console.export_text()
    assert re.search(r"reduced in \d+/11 evaluable \(median", text) is not None
    worsening = re.search(r"EDSS worsening\W+confirmed in \d+/(\d+) evaluable", text)
    assert worsening is not None and worsening.group(1) == "11"
