"""A command writing a result folder refuses a bad ``--out`` BEFORE its work (D-19.874).

`cartrial report … --out FILE/out` analysed the whole study (~20 s) and only then, when writing, said the
folder cannot be created; `kinetics popfit` fitted first (10-18 s), `analyse` analysed first (~9 s). The
rule: the place is checked first, in the words the writer would use, and nothing is created. Each case
replaces the command's first expensive step with a recorder: the refusal must come without it being
called (never a timing assertion)."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
STUDY = REPO_ROOT / "examples" / "ct103a-nmosd" / "study"
SIM = REPO_ROOT / "tests" / "simulation" / "data"
POPULATION = REPO_ROOT / "tests" / "data" / "popfit" / "estimates.json"
NOT_A_DIRECTORY = os.strerror(errno.ENOTDIR)
FILE_EXISTS = os.strerror(errno.EEXIST)

CASES: dict[str, tuple[list[str], str]] = {
    # command line before --out, the expensive step (module attribute) that must not be called
    "analyse": (
        ["analyse", "--url", "sqlite:///{tmp}/never-opened.db", "--cutoff", "2022-03-20"],
        "cartrial.commands.analysis_commands.user_snapshot",
    ),
    "report": (
        ["report", "--url", "sqlite:///{tmp}/never-opened.db", "--cutoff", "2022-03-20", "--no-pdf"],
        "cartrial.commands.report_commands.user_snapshot",
    ),
    "kinetics popfit": (
        ["kinetics", "popfit", str(STUDY / "pk_samples.csv"), "--model", "stein2019", "--no-figures"],
        "cartrial.tabular.read_csv",
    ),
    "kinetics map": (
        [
            "kinetics",
            "map",
            str(STUDY / "pk_samples.csv"),
            "--patient",
            "CT-001",
            "--population",
            str(POPULATION),
        ],
        "cartrial.kinetics.popfit.map_from_fit",
    ),
    "simulate trial": (
        ["simulate", "trial", "--scenario", str(SIM / "tiny_scenario.yaml"), "--trials", "20"],
        "cartrial.simulation.load_scenario",
    ),
    "simulate study": (
        ["simulate", "study", "--scenario", str(SIM / "tiny_scenario.yaml")],
        "cartrial.simulation.load_scenario",
    ),
    "simulate sweep": (
        [
            "simulate",
            "sweep",
            "--scenario",
            str(SIM / "tiny_scenario.yaml"),
            "--grid",
            str(SIM / "tiny_grid.yaml"),
            "--workers",
            "0",
        ],
        "cartrial.simulation.load_scenario",
    ),
}


def _listing(folder: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


@pytest.mark.parametrize("place", ["under-a-file", "a-file"])
@pytest.mark.parametrize("command", sorted(CASES))
def test_bad_out_is_refused_before_the_work(
    command: str, place: str, cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args, expensive = CASES[command]
    calls: list[object] = []

    def recorder(*a: object, **k: object) -> Any:
        calls.append(a)
        raise AssertionError(f"{expensive} called before --out was checked")

    monkeypatch.setattr(expensive, recorder)
    work = tmp_path / "work"
    work.mkdir()
    (work / "plain").write_text("x")
    out = work / "plain" / "out" if place == "under-a-file" else work / "plain"
    before = _listing(work)

    result = cli(*[a.replace("{tmp}", str(work)) for a in args], "--out", str(out))

    assert calls == []
    assert result.exit_code == 2, result.output
    assert str(out) in result.stderr
    if place == "under-a-file":
        assert NOT_A_DIRECTORY in result.stderr  # what creating the folder would have said
    else:
        assert "not a folder" in result.stderr or FILE_EXISTS in result.stderr
    assert _listing(work) == before  # nothing created, the file untouched
