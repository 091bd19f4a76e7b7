"""Review 4 (D-19.746): the neuro demo scores each EDSS row by its own method, as the analysis does; it scored
every row as Neurostatus, so a Kurtzke row read 2.0 in the demo and 6.5 in the analysis.

Case by hand: CT-001's visits after the baseline are Kurtzke with a unilateral aid and 50 m walking: Kurtzke
1983 (Neurology 33:1444) puts any walking that needs constant unilateral assistance at EDSS >= 6.0, whatever
the functional systems, so every such row scores >= 6.0 and names the method kurtzke.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from rich.console import Console

from cartrial import templates as cartrial_templates
from cartrial.demo import DemoContext
from cartrial.demo.neuro import run


def test_the_demo_scores_a_kurtzke_row_as_kurtzke(tmp_path: Path, examples_dir: Path) -> None:
    examples = tmp_path / "examples"
    shutil.copytree(examples_dir / "ct103a-nmosd", examples / "ct103a-nmosd")
    path = examples / "ct103a-nmosd" / "study" / "edss.csv"
    edss = pd.read_csv(path, dtype=str, keep_default_na=False)
    edss["method"], edss["assistance"], edss["walking_distance_m"] = "", "", ""
    later = edss.index[edss["subject_id"] == "CT-001"][1:]
    edss.loc[later, ["method", "assistance", "walking_distance_m"]] = ["kurtzke", "unilateral", "50"]
    edss.to_csv(path, index=False)
    ctx = DemoContext(examples, cartrial_templates.path(), tmp_path / "out", Console(record=True, width=300))
    run(ctx)
    scored = pd.read_csv(tmp_path / "out" / "neuro" / "edss_scored.csv", dtype=str, keep_default_na=False)
    rows = scored[scored["subject_id"] == "CT-001"].iloc[1:]
    assert len(rows) == len(later)
    assert (rows["edss_method"] == "kurtzke").all()
    assert (pd.to_numeric(rows["edss"]) >= 6.0).all()
