"""`staged_folder`, the one writer of multi-file outputs (export cdisc, report, kinetics popfit/map,
analyse --out, simulate): all files or none, earlier files of the folder kept (cli-audit, D-19.501)."""

from __future__ import annotations

import os
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


def test_an_existing_folder_is_staged_inside_itself(tmp_path: Path) -> None:
    """D-19.538: the stage was made beside `out`, so a move into an `out` on another file system failed,
    and so did an `out` the user may write in under a parent they may not. It is now inside `out`, hidden,
    and gone afterwards."""
    out = tmp_path / "out"
    out.mkdir()
    with staged_folder(out) as stage:
        assert stage.parent == out.resolve() and stage.name.startswith(".cartrial-stage-")
        write_atomic(stage / "a.csv", "new a")
    assert sorted(p.name for p in out.iterdir()) == ["a.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_out_linked_to_another_file_system_is_written(tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second file system at /dev/shm")
    import tempfile

    with tempfile.TemporaryDirectory(dir=shm) as other:
        out = tmp_path / "out"
        out.symlink_to(other)
        (out / "mine.txt").write_text("the user's", encoding="utf-8")
        with staged_folder(out) as stage:
            write_atomic(stage / "sub" / "b.csv", "new b")
        assert (Path(other) / "sub" / "b.csv").read_text(encoding="utf-8") == "new b"
        assert sorted(p.name for p in Path(other).iterdir()) == ["mine.txt", "sub"]
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder modes")
def test_an_out_under_a_read_only_parent_is_written(tmp_path: Path) -> None:
    parent = tmp_path / "parent"
    out = parent / "out"
    out.mkdir(parents=True)
    parent.chmod(0o555)
    try:
        with staged_folder(out) as stage:
            write_atomic(stage / "a.csv", "new a")
        assert (out / "a.csv").read_text(encoding="utf-8") == "new a"
    finally:
        parent.chmod(0o755)


def test_a_new_folder_gets_the_default_mode_and_no_stage_is_left(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (tmp_path / "sibling").mkdir()
    with staged_folder(out) as stage:
        write_atomic(stage / "a.csv", "new a")
    assert out.stat().st_mode & 0o777 == (tmp_path / "sibling").stat().st_mode & 0o777
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "sibling"]


def test_an_unwritable_destination_folder_is_refused_before_any_move(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """D-19.538: a move failing partway left the files before it moved. Every destination folder is
    checked first."""
    out = tmp_path / "out"
    (out / "locked").mkdir(parents=True)
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode: False if Path(p) == out / "locked" else real_access(p, mode)
    )
    with pytest.raises(InputError, match="permission denied") as caught, staged_folder(out) as stage:
        write_atomic(stage / "a.csv", "new a")
        write_atomic(stage / "locked" / "b.csv", "new b")
    assert caught.value.problems[0].file == str(out / "locked")
    assert not (out / "a.csv").exists()


def test_a_move_failing_partway_says_how_many_files_moved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    real_replace = os.replace
    calls: list[object] = []

    def replace_once(src: object, dst: object) -> None:
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)  # type: ignore[arg-type]

    with pytest.raises(InputError) as caught, staged_folder(out) as stage:
        write_atomic(stage / "a.csv", "new a")
        write_atomic(stage / "b.csv", "new b")
        monkeypatch.setattr(os, "replace", replace_once)
    assert "1 of 2 files were already moved (a.csv)" in caught.value.problems[0].message
