"""Every command's help ends with one runnable example, and the example runs.

The command tree is walked as the installed CLI builds it (every area module of `cartrial.commands`
loaded), so a command added later is checked without an edit here. Each leaf command's help must carry an
``Example: [bold]cartrial …[/]`` line (the epilog convention) that names the command itself; the example is
then run in a fresh temporary folder holding the shipped example study at ``examples/ct103a-nmosd`` (as
``cartrial examples copy ct103a-nmosd examples/ct103a-nmosd`` writes it, so the paths read as in the source
checkout) and, for examples that use ``sqlite:///study.db``, a copy of the imported example study there
(its admin with the test password). Users authenticate non-interactively with the test password
(tests/conftest.py). A few examples need a record or a state made first (`PRELUDES`) or another example's
output (`AFTER`); the popfit example, a full fit, runs once per session (`SHARED_RUN`); commands that
cannot run to completion here are in `NOT_RUN`, each with its reason."""

from __future__ import annotations

import re
import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import copy_sqlite_file, run_cartrial

EXAMPLE = re.compile(r"(?:^|\n)Example: \[bold\](?P<command>.+?)\[/\]", re.DOTALL)
DB = "sqlite:///study.db"
AS_ADMIN = ["--user", "admin", "--url", DB]
RAISE_QUERY = ["db", "query", "raise", "infusion", "1", "--text", "Please confirm", *AS_ADMIN]
ADD_BOB = ["db", "user", "add", "bob", "--role", "monitor", *AS_ADMIN]

#: Commands run before a command's example, because the example acts on something that must exist first.
PRELUDES: dict[tuple[str, ...], list[list[str]]] = {
    ("db", "unlock"): [["db", "lock", "--cutoff", "2022-03-20", "--reason", "interim", *AS_ADMIN]],
    ("db", "user", "role"): [ADD_BOB],
    ("db", "user", "password"): [ADD_BOB],
    ("db", "query", "answer"): [RAISE_QUERY],
    ("db", "query", "close"): [RAISE_QUERY],
    ("logout",): [["login", *AS_ADMIN]],
}
#: Examples that read another example's output folder ("after the popfit example"): that example's one run of
#: the session (`popfit_example_run`, tests/conftest.py) supplies it, copied into the folder.
AFTER: dict[tuple[str, ...], tuple[tuple[str, ...], str]] = {
    ("kinetics", "map"): (("kinetics", "popfit"), "popfit-out"),
}
#: Examples run once per session by a shared fixture (their result read here and by other tests).
SHARED_RUN = {("kinetics", "popfit"): "popfit_example_run"}
#: Examples that create the database themselves (no example database is put in the folder).
NO_DATABASE = {("db", "init")}
#: Commands whose example is checked for presence but not run here, with the reason.
NOT_RUN: dict[tuple[str, ...], str] = {
    ("demo",): "runs every capability for minutes; tests/packaging/test_release.py runs it from the wheel",
    ("serve",): "starts a web server that runs until it is stopped",
}


def _tree() -> Iterator[tuple[tuple[str, ...], Any]]:
    import typer

    from cartrial.cli import app
    from cartrial.commands import AREA_MODULES

    root = typer.main.get_command(app)
    for module in AREA_MODULES:
        root.load_module(module)  # type: ignore[attr-defined]

    def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        yield path, command
        for name, sub in (getattr(command, "commands", None) or {}).items():
            if not getattr(sub, "hidden", False):
                yield from walk(sub, (*path, name))

    yield from walk(root, ())


TREE = dict(_tree())
LEAVES = {path: command for path, command in TREE.items() if not getattr(command, "commands", None)}
GROUPS = {path: command for path, command in TREE.items() if getattr(command, "commands", None)}


def _example(path: tuple[str, ...]) -> list[str]:
    epilog = TREE[path].epilog or ""
    found = EXAMPLE.findall(epilog)
    assert len(found) == 1, f"`cartrial {' '.join(path)} --help` needs one 'Example: [bold]…[/]' line"
    argv = shlex.split(" ".join(found[0].split()))
    assert argv[0] == "cartrial", argv
    assert tuple(argv[1 : 1 + len(path)]) == path, f"the example of {path} runs another command: {argv}"
    return argv[1:]


def test_the_tree_is_read() -> None:
    """The walk finds the commands of every area (a sanity check on the walk itself)."""
    from cartrial.commands import COMMANDS

    tops = {path[0] for path in LEAVES}
    assert {entry.name for entry in COMMANDS} <= tops
    assert len(LEAVES) > len(COMMANDS)


@pytest.mark.parametrize("path", sorted(LEAVES), ids=lambda p: " ".join(p))
def test_help_ends_with_an_example(path: tuple[str, ...]) -> None:
    _example(path)
    result = run_cartrial(*path, "--help", env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "Example: cartrial " + " ".join(path) in " ".join(result.stdout.split()), result.stdout[-800:]


@pytest.mark.parametrize("path", sorted(GROUPS), ids=lambda p: " ".join(p) or "cartrial")
def test_group_help_ends_with_an_example(path: tuple[str, ...]) -> None:
    """A group's help shows one example of one of its commands (run with that command's own test)."""
    argv = _example(path)
    assert any(argv[: len(leaf)] == list(leaf) for leaf in LEAVES), argv


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(p for p in LEAVES if p not in NOT_RUN), ids=lambda p: " ".join(p))
def test_the_example_runs(
    path: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    argv = _example(path)
    monkeypatch.chdir(tmp_path)
    copied = run_cartrial("examples", "copy", "ct103a-nmosd", "examples/ct103a-nmosd")
    assert copied.exit_code == 0, copied.output
    if DB in argv and path not in NO_DATABASE:
        # the imported example study, its admin with the test password (tests/conftest.py, built once)
        template = request.getfixturevalue("example_sqlite_template")
        copy_sqlite_file(template, tmp_path / "study.db")
    for before in PRELUDES.get(path, []):
        done = run_cartrial(*before)
        assert done.exit_code == 0, f"prelude {before}: {done.output}"
    if path in AFTER:
        earlier, folder = AFTER[path]
        shared = request.getfixturevalue(SHARED_RUN[earlier])
        assert shared.argv == _example(earlier), "the shared run is not that example"
        assert shared.result.exit_code == 0, f"{earlier}: {shared.result.output[-3000:]}"
        shutil.copytree(shared.folder / folder, tmp_path / folder, copy_function=shutil.copyfile)
    if path in SHARED_RUN:  # run once per session, exactly as written, in a folder prepared as this one
        shared = request.getfixturevalue(SHARED_RUN[path])
        assert shared.argv == argv, "the shared run is not this example"
        result = shared.result
    else:
        result = run_cartrial(*argv)
    assert result.exit_code == 0, f"cartrial {shlex.join(argv)}\n{result.output[-3000:]}"


def test_not_run_is_short() -> None:
    """The allow-list stays an exception: every entry has a reason."""
    assert len(NOT_RUN) <= 3
    assert all(reason.strip() for reason in NOT_RUN.values())
