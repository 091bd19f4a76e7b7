"""A single-valued option given twice is refused, exit 2, naming the option (D-19.646).

Before: click kept the last value silently — `relapses … --cutoff 2022-01-01 --cutoff 2022-06-30` ran with
the second cut-off, exit 0, although the user may have meant either. An option meant to repeat
(`db edit --set`, declared with several values) and a flag given twice are unchanged.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import run_cartrial


def _relapse_files(tmp_path: Path) -> tuple[Path, Path]:
    relapses = tmp_path / "relapses.csv"
    relapses.write_text(
        "subject_id,onset_date,phenotype,severity,adjudicated\nCT-001,2022-03-01,myelitis,severe,confirmed\n"
    )
    infusions = tmp_path / "infusions.csv"
    infusions.write_text("subject_id,infused_at\nCT-001,2021-01-01T09:00:00Z\n")
    return relapses, infusions


@pytest.mark.parametrize("second", ["--cutoff", "--cutoff=2022-06-30"])
def test_a_repeated_cutoff_is_refused_naming_the_option(tmp_path: Path, capsys, second: str) -> None:
    relapses, infusions = _relapse_files(tmp_path)
    out = tmp_path / "out.csv"
    args = [relapses, "--infusion-dates", infusions, "--cutoff", "2022-01-01"]
    args += [second] if "=" in second else [second, "2022-06-30"]
    result = run_cartrial("relapses", *args, "--out", out, capsys=capsys)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "--cutoff" in result.stderr and "given 2 times" in result.stderr, result.stderr
    assert "allowed: once" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()  # nothing ran


def test_one_cutoff_still_runs(tmp_path: Path, capsys) -> None:
    relapses, infusions = _relapse_files(tmp_path)
    result = run_cartrial(
        "relapses", relapses, "--infusion-dates", infusions, "--cutoff", "2022-06-30", capsys=capsys
    )
    assert result.exit_code == 0, result.stderr
    assert "given 2 times" not in result.stderr


def test_an_option_meant_to_repeat_and_a_repeated_flag_are_not_refused(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'none.db'}"
    result = run_cartrial(
        "db", "edit", "infusion", "1", "--set", "a=1", "--set", "b=2", "--expected-version", "1",
        "--reason", "r", "--json", "--json", "--url", url, capsys=capsys,
    )  # fmt: skip
    assert "given 2 times" not in result.stderr, result.stderr
