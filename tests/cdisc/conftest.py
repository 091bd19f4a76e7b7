"""Shared fixtures of the CDISC tests: one export of the example study per session (read only)."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

CUTOFF = dt.date(2022, 3, 20)


@dataclass(frozen=True)
class Exported:
    url: str
    out: Path
    snapshot: Any
    analysis: Any
    frames: dict[str, pd.DataFrame]


@pytest.fixture(scope="session")
def exported(example_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """The example study exported once (both formats) as of the README cut-off, with the frames written."""
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import export_cdisc, read_sites
    from cartrial.store.snapshot import read_snapshot

    folder = tmp_path_factory.mktemp("cdisc_export")
    db = folder / "study.db"
    shutil.copyfile(example_sqlite_template, db)
    url = f"sqlite:///{db}"
    snapshot = read_snapshot(url, CUTOFF)
    analysis = analyse(snapshot)
    sites = read_sites(url)
    out = folder / "out"
    result = export_cdisc(snapshot, analysis, out, formats="both", sites=sites, created="2026-01-01T00:00:00")
    return Exported(url, out, snapshot, analysis, dict(result.frames))
