"""`grade icaht --follow-up-dates` (grading46 review; D-19.717, D-19.720).

ANC 300/µL daily on days 0-10 and no later count (hand-derived, the published grader's grid,
emilyliangmd/automatedicahtgrading index.Rmd): without a follow-up date the last count ends follow-up and the
episode from day 0 never recovers: grade 4 (D-19.682). Last follow-up on day 100: grid days 0-30, days 11-30
(20 > 7) missing: 11 days ≤ 500/µL, grade 2, a lower bound. Death on day 11: day 11 filled (1 ≤ 7): grade 4.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from cartrial.cli import main


def _files(tmp_path: Path) -> list[str]:
    labs = tmp_path / "labs.csv"
    lines = ["subject_id,collected_at,analyte,value,unit,lln"]
    lines += [f"S1,2024-03-{10 + d:02d}T08:00:00Z,neutrophils,0.3,10^9/L,1.8" for d in range(11)]
    labs.write_text("\n".join(lines) + "\n")
    infusions = tmp_path / "infusions.csv"
    infusions.write_text("subject_id,infused_at\nS1,2024-03-10T07:00:00Z\n")
    return ["grade", "icaht", str(labs), "--infusion-dates", str(infusions)]


def test_follow_up_dates_end_the_early_window(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    base = _files(tmp_path)
    assert main(base) == 0
    assert pd.read_csv(io.StringIO(capsys.readouterr().out))["early_grade"].tolist() == [4]
    followed = tmp_path / "followed.csv"
    followed.write_text("subject_id,last_follow_up_at\nS1,2024-06-18\n")  # day 100
    assert main([*base, "--follow-up-dates", str(followed)]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert table["early_grade"].tolist() == [2]
    assert table["early_lower_bound"].tolist() == [True]
    followed.write_text("subject_id,last_follow_up_at\nS1,2024-03-21\n")  # day 11: death the next day
    assert main([*base, "--follow-up-dates", str(followed)]) == 0
    assert pd.read_csv(io.StringIO(capsys.readouterr().out))["early_grade"].tolist() == [4]


def test_bad_follow_up_dates_name_the_file_and_row(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    base = _files(tmp_path)
    followed = tmp_path / "followed.csv"
    followed.write_text("subject_id,last_follow_up_at\nS9,2024-06-18\n")
    assert main([*base, "--follow-up-dates", str(followed)]) == 2
    assert "subject has no infusion date" in capsys.readouterr().err
    followed.write_text("subject_id,last_follow_up_at\nS1,2024-03-01\n")  # before the infusion
    assert main([*base, "--follow-up-dates", str(followed)]) == 2
    err = capsys.readouterr().err
    assert "followed.csv" in err and "last_follow_up_at" in err
