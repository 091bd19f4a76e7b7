"""`staged_folder`, the one writer of multi-file outputs (export cdisc, report, kinetics popfit/map,
analyse --out, simulate): all files or none, earlier files of the folder kept (cli-audit, D-19.501)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cartrial.errors import InputError, Problem
from cartrial.tabular import staged_folder, write_atomic


def test_an_error_in_the_block_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.csv").write_text("earlier a", encoding="utf-8")
    (out / "mine.txt").write_text("the user's", encoding="utf-8")
    with pytest.raises(InputError) as caught, staged_folder(out) as stage:
        write_atomic(stage / "a.csv", "new a")
        write_atomic(stage / "sub" / "b.csv", "new b")
        raise InputError(Problem("bad", file=str(stage / "sub" / "c.csv")))
    assert caught.value.problems[0].file == str(out / "sub" / "c.csv")
    assert sorted(p.name for p in out.rglob("*")) == ["a.csv", "mine.txt"]
    assert (out / "a.csv").read_text(encoding="utf-8") == "earlier a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_completed_block_moves_every_file_and_keeps_the_others(tmp_path: Path) -> None:
    out = tmp_path / "new" / "out"
    with staged_folder(out) as stage:
        write_atomic(stage / "a.csv", "new a")
        write_atomic(stage / "sub" / "b.csv", "new b")
        assert not out.exists()  # nothing in place before the block completes
    assert (out / "a.csv").read_text(encoding="utf-8") == "new a"
    assert (out / "sub" / "b.csv").read_text(encoding="utf-8") == "new b"
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]


def test_a_file_as_the_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="not a folder"), staged_folder(out):
        pass
    assert out.read_text(encoding="utf-8") == "x"
