"""`grade icaht --never-recovered-from-day` exposes the engine's option
(`IcahtOptions.never_recovered_from_day`,
grader rule of EHA/EBMT 2023 §5.1, D-19.1192).

Hand derivation: ANC 300/µL daily on days 5-15, the last count on day 15, no follow-up date (the last count
ends follow-up). The episode ≤ 500/µL lasts 11 days (days 5-15) and reaches the end of follow-up. With the
default (an episode starting by day 3 that never recovers is grade 4) it starts on day 5, so it is graded by
its duration: 7-13 days is early grade 2. With ``--never-recovered-from-day 5`` it starts by that day and
never recovers: early grade 4.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from cartrial.cli import main


def _files(tmp_path: Path) -> list[str]:
    labs = tmp_path / "labs.csv"
    lines = ["subject_id,collected_at,analyte,value,unit,lln"]
    lines += [f"S1,2024-03-{15 + d:02d}T08:00:00Z,neutrophils,0.3,10^9/L,1.8" for d in range(11)]
    labs.write_text("\n".join(lines) + "\n")
    infusions = tmp_path / "infusions.csv"
    infusions.write_text("subject_id,infused_at\nS1,2024-03-10T07:00:00Z\n")
    return ["grade", "icaht", str(labs), "--infusion-dates", str(infusions)]


def test_never_recovered_from_day_changes_the_early_grade(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    base = _files(tmp_path)
    assert main(base) == 0
    assert pd.read_csv(io.StringIO(capsys.readouterr().out))["early_grade"].tolist() == [2]
    assert main([*base, "--never-recovered-from-day", "5"]) == 0
    assert pd.read_csv(io.StringIO(capsys.readouterr().out))["early_grade"].tolist() == [4]


def test_never_recovered_from_day_is_recorded_in_the_options(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main([*_files(tmp_path), "--never-recovered-from-day", "5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["options"]["never_recovered_from_day"] == 5


def test_never_recovered_from_day_out_of_range_names_the_option(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main([*_files(tmp_path), "--never-recovered-from-day", "31"]) == 2
    err = capsys.readouterr().err
    assert "--never-recovered-from-day" in err and "0" in err and "30" in err
