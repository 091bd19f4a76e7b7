"""A command writing one file checks its output option before its work (D-19.907): a folder, a FIFO, a
place under a file or a read-only place is refused with exit 2 and a message naming the file and the option,
before any input is read, anything computed or another output written. Before, `relapses … --km-out km.csv
--out x/y.csv` (x a file) wrote km.csv and then failed on --out; a bad input row was reported instead of the
unusable --out (the work ran first)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from cartrial import examples as cartrial_examples

STUDY = cartrial_examples.path("ct103a-nmosd") / "study"
RELAPSES = ["relapses", str(STUDY / "relapses.csv"), "--infusion-dates", str(STUDY / "infusions.csv")]


def _targets(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Bad output places -> (path, the words of the refusal)."""
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    folder = tmp_path / "a-folder"
    folder.mkdir()
    fifo = tmp_path / "a-fifo"
    os.mkfifo(fifo)
    return {
        "folder": (folder, "is a folder; give a file name to write"),
        "under a file": (a_file / "out.csv", "cannot create the folder of the file: Not a directory"),
        "deep under a file": (
            a_file / "x" / "out.csv",
            "cannot create the folder of the file: Not a directory",
        ),
        "fifo": (fifo, "is a FIFO (named pipe), not a regular file"),
    }


@pytest.mark.parametrize("kind", ["folder", "under a file", "deep under a file", "fifo"])
def test_a_bad_out_writes_no_other_output_first(cli, tmp_path: Path, kind: str) -> None:
    target, words = _targets(tmp_path)[kind]
    km = tmp_path / "km.csv"
    result = cli(*RELAPSES, "--km-out", str(km), "--out", str(target))
    assert result.exit_code == 2, result.stderr
    assert f"{target}, --out: {words}" in result.stderr
    assert not km.exists()  # nothing written before the refusal


def test_a_bad_second_output_is_refused_before_the_first_is_written(cli, tmp_path: Path) -> None:
    target, _ = _targets(tmp_path)["under a file"]
    out = tmp_path / "subjects.csv"
    result = cli(*RELAPSES, "--km-out", str(target), "--out", str(out))
    assert result.exit_code == 2
    assert f"{target}, --km-out: cannot create the folder of the file" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("kind", ["folder", "under a file", "fifo"])
def test_a_bad_out_is_refused_before_the_input_is_read(cli, tmp_path: Path, kind: str) -> None:
    """A labs file with a bad row and an unusable --out: the --out is named (checked first), not the row."""
    labs = tmp_path / "labs.csv"
    labs.write_text(
        "subject_id,collected_at,analyte,value,unit,lln\nS1,2021-04-22,neutrophils,abc,10^9/L,1.8\n"
    )
    target, words = _targets(tmp_path)[kind]
    result = cli("grade", "labs", str(labs), "--out", str(target))
    assert result.exit_code == 2
    assert f"{target}, --out: {words}" in result.stderr
    assert "value" not in result.stderr


def test_a_read_only_place_is_refused_first(cli, tmp_path: Path, monkeypatch) -> None:
    """A folder the user may not write in (file modes do not stop root, so `os.access` stands for it)."""
    import cartrial.tabular

    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(
        cartrial.tabular.os, "access", lambda p, mode: False if Path(p) == locked else real(p, mode)
    )
    labs = tmp_path / "labs.csv"
    labs.write_text(
        "subject_id,collected_at,analyte,value,unit,lln\nS1,2021-04-22,neutrophils,abc,10^9/L,1.8\n"
    )
    result = cli("grade", "labs", str(labs), "--out", str(locked / "new" / "grades.csv"))
    assert result.exit_code == 2
    assert f"--out: cannot write the file: Permission denied in the folder {locked}" in result.stderr
    assert not (locked / "new").exists()


def test_a_missing_folder_that_can_be_made_is_no_problem(cli, tmp_path: Path) -> None:
    out = tmp_path / "new" / "deeper" / "grades.csv"
    result = cli("grade", "labs", str(STUDY / "labs.csv"), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert out.is_file()


def test_a_folder_output_is_still_a_folder(cli, tmp_path: Path) -> None:
    """`--out` of a command writing a folder (`cartrial.cli.FOLDER_OUTPUTS`) is not checked as a file: a
    folder-output command writes into an existing folder (the file check would refuse it "is a folder")."""
    folder = tmp_path / "results"
    folder.mkdir()
    scenario = Path(__file__).parent / "simulation" / "data" / "tiny_scenario.yaml"
    result = cli("simulate", "study", "--scenario", str(scenario), "--seed", "1", "--out", str(folder))
    assert result.exit_code == 0, result.stderr
    assert "is a folder" not in result.stderr
    assert any(folder.iterdir())


def _commands() -> list[tuple[list[str], Any]]:
    """Every leaf command of the command line, with its names below the program."""
    import typer

    from cartrial.cli import COMMANDS, app

    root: Any = typer.main.get_command(app)
    for entry in COMMANDS:  # the lazily loaded modules' real commands (`load_module`)
        if entry.module is not None:
            root.load_module(entry.module)
    found: list[tuple[list[str], Any]] = []

    def walk(command: Any, words: list[str]) -> None:
        children = getattr(command, "commands", None)
        if isinstance(children, dict):
            for name, child in children.items():
                walk(child, [*words, name])
            return
        found.append((words, command))

    walk(root, [])
    return found


def test_every_folder_out_is_listed_and_every_file_out_is_checked(tmp_path: Path) -> None:
    """Programmatically over every command: an ``--out`` whose help names a folder is in
    `cli.FOLDER_OUTPUTS` (and every listed command has such an ``--out``); every other output option
    (`cli.OUTPUT_PARAMETERS`) is checked as a file: given an existing folder, the check refuses it."""
    from cartrial.cli import FOLDER_OUTPUTS, OUTPUT_PARAMETERS, _refuse_an_unwritable_output_file
    from cartrial.errors import InputError

    folder = tmp_path / "a-folder"
    folder.mkdir()
    folder_outs: set[str] = set()
    file_outputs = 0
    for words, command in _commands():
        by_name = {p.name: p for p in command.params}
        path = " ".join(words)
        for name, param in by_name.items():
            if name not in OUTPUT_PARAMETERS:
                continue
            if name == "out" and "folder" in (getattr(param, "help", "") or "").lower():
                folder_outs.add(path)
                _refuse_an_unwritable_output_file(words, {name: folder}, by_name)  # not refused
                continue
            file_outputs += 1
            with pytest.raises(InputError, match="is a folder"):
                _refuse_an_unwritable_output_file(words, {name: folder}, by_name)
                pytest.fail(f"{path} {name}")
    assert folder_outs == set(FOLDER_OUTPUTS)
    assert file_outputs > 10


def test_the_command_is_told_by_its_names_not_by_the_program_words(tmp_path: Path) -> None:
    """The program called as ``python -m cartrial`` (three words): the command's names came from
    ``command_path.split()[1:]`` (``-m cartrial simulate study``), so a folder ``--out`` was checked as a file
    and an existing folder refused "is a folder"; the names are now read from click's context chain."""
    import typer

    from cartrial.cli import app

    folder = tmp_path / "results"
    folder.mkdir()
    scenario = Path(__file__).parent / "simulation" / "data" / "tiny_scenario.yaml"
    args = ["simulate", "study", "--scenario", str(scenario), "--seed", "1", "--out", str(folder)]
    root: Any = typer.main.get_command(app)
    root.main(args=args, prog_name="python -m cartrial", standalone_mode=False)
    assert any(folder.iterdir())
