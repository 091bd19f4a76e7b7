"""The analysis folder's README.md (analysis.json leaves column descriptions to it) describes the episode
datasets' instants and day columns (D-19.767): ``last_ongoing_at`` (an unresolved episode's last graded
assessment, never an ICANS "not assessable" row) next to ``last_assessed_at``; the ``*_day`` columns are
elapsed days from the infusion instant, not calendar study days (D-19.607); ``max_grade_day`` is the first
positive assessment of the first day (the default grading unit) at the peak grade, not the first assessment
at it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cartrial.analysis import analyse
from cartrial.analysis.output import analysis_files
from cartrial.store.snapshot import read_snapshot


def test_readme_and_json_describe_the_episode_columns(example_sqlite_template: Path) -> None:
    analysis = analyse(read_snapshot(f"sqlite:///{example_sqlite_template}", dt.date(2021, 5, 2)))
    files = analysis_files(analysis)
    readme = files["README.md"]
    for name in ("crs_episodes", "icans_episodes"):
        columns = analysis.datasets[name].metadata()["columns"]
        assert "last graded assessment" in columns["last_ongoing_at"]
        assert "not assessable" in columns["last_ongoing_at"]
        assert "elapsed days from the infusion instant" in columns["onset_day"]
        assert columns["max_grade_day"].startswith("first positive assessment of the first day (unit) at the")
        section = readme[readme.index(f"## {name}.csv") :]
        section = section[: section.index("\n## ", 1)] if "\n## " in section[1:] else section
        rows = {
            line.split(" | ")[0].strip("| `"): line for line in section.splitlines() if line.startswith("| `")
        }
        assert "last graded assessment" in rows["last_ongoing_at"]
        assert "first positive assessment of the first day (unit)" in rows["max_grade_day"]
        assert "elapsed days from the infusion instant" in rows["ongoing_at_day"]
    assert "analysis.json" in files
