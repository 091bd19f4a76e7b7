"""Root CLI safety net (review sweep): files that cannot be written are user errors (exit 2, message naming
the file), never a traceback. House rule of the briefing: bad input never produces a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from cartrial.cli import main
from cartrial.errors import InputError
from cartrial.tabular import write_atomic


def test_write_atomic_to_a_folder_is_an_input_error(tmp_path: Path) -> None:
    """`--out some_folder` used to end in IsADirectoryError from os.replace; nothing is left behind."""
    with pytest.raises(InputError, match="is a folder"):
        write_atomic(tmp_path, "x")
    assert list(tmp_path.iterdir()) == []


def test_write_atomic_under_a_file_is_an_input_error(tmp_path: Path) -> None:
    """A parent that is a file cannot hold the output."""
    parent = tmp_path / "afile"
    parent.write_text("x")
    with pytest.raises(InputError, match="cannot write"):
        write_atomic(parent / "out.csv", "x")


def test_demo_out_that_is_a_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`cartrial demo --out FILE` used to end in FileExistsError."""
    target = tmp_path / "afile"
    target.write_text("x")
    code = main(["demo", "--out", str(target)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "--out" in err


def test_screen_out_folder_exits_2(
    tmp_path: Path, examples_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`cartrial screen … --out FOLDER` is refused with the folder named."""
    study = examples_dir / "ct103a-nmosd"
    code = main(
        [
            "screen",
            str(study / "protocol.yaml"),
            str(study / "candidates" / "cand-01-eligible.yaml"),
            "--json",
            "--out",
            str(tmp_path),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "is a folder" in err
