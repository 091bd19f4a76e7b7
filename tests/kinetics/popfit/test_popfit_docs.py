"""The recovery table of docs/popfit.md is the one generated from benchmarks/popfit_recovery.csv (the
benchmark writes both; a hand edit of either shows up here)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cartrial.kinetics.popfit.recovery import (
    SHIFT_BEGIN,
    SHIFT_END,
    TABLE_BEGIN,
    TABLE_END,
    recovery_markdown,
    shift_markdown,
)

ROOT = Path(__file__).resolve().parents[3]


def test_docs_recovery_table_is_generated_from_the_recorded_study() -> None:
    text = (ROOT / "docs" / "popfit.md").read_text(encoding="utf-8")
    block = text[text.index(TABLE_BEGIN) + len(TABLE_BEGIN) : text.index(TABLE_END)].strip()
    summary = pd.read_csv(ROOT / "benchmarks" / "popfit_recovery.csv")
    assert block == recovery_markdown(summary).strip()


def test_recovery_table_lists_every_parameter_of_every_study() -> None:
    summary = pd.read_csv(ROOT / "benchmarks" / "popfit_recovery.csv")
    table = recovery_markdown(summary)
    for name in summary["parameter"].unique():
        assert f"| {name} |" in table
    for n in summary["n_subjects"].unique():
        assert f"{n} subj.: bias %" in table


def test_docs_estimator_shift_table_is_generated_from_the_recorded_comparison() -> None:
    """D-17.23's table (the final maximisation against SAEM's last iterate at 100 and 400 subjects)."""
    text = (ROOT / "docs" / "popfit.md").read_text(encoding="utf-8")
    block = text[text.index(SHIFT_BEGIN) + len(SHIFT_BEGIN) : text.index(SHIFT_END)].strip()
    frame = pd.read_csv(ROOT / "benchmarks" / "popfit_estimator_comparison.csv")
    assert block == shift_markdown(frame).strip()
    assert set(frame["variant"]) == {"final maximisation", "saem", "saem long"}
