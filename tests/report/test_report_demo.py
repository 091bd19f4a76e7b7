"""The analysis demo step: without the store step's locked copy it builds the example database itself,
locks it at 2022-03-20, and writes the analysis datasets and the report."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from cartrial.demo import DemoContext, analysis

from .conftest import REPO


def test_demo_step_builds_locks_analyses_and_reports(tmp_path: Path) -> None:
    console = Console(record=True, width=200)
    ctx = DemoContext(REPO / "examples", REPO / "docs" / "templates", tmp_path, console)
    analysis.run(ctx)
    printed = console.export_text()
    assert "failed" not in printed
    assert "data cut-off 2022-03-20: locked (lock 1)" in printed
    assert "CRS occurred in 12 of 12 infused patients (100 %), all grade 1–2." in printed
    assert (tmp_path / "analysis-study.db").is_file()
    assert (tmp_path / "analysis" / "README.md").is_file()
    report = tmp_path / "report"
    assert (report / "report.pdf").is_file() and (report / "tables" / "populations.csv").is_file()
    html = (report / "report.html").read_text(encoding="utf-8")
    assert "locked data (lock 1)" in html and "DRAFT — unlocked data" not in html
