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


def test_help_wins_over_a_repeated_option(tmp_path: Path, capsys) -> None:
    """Before: `relapses --cutoff a --cutoff b --help` exited 2 (the repeat) instead of the help."""
    result = run_cartrial("relapses", "--cutoff", "a", "--cutoff", "b", "--help", capsys=capsys)
    assert result.exit_code == 0, result.stderr
    assert "--cutoff" in result.stdout and "given 2 times" not in result.stderr


def test_a_flag_given_both_ways_is_refused_naming_it(tmp_path: Path, capsys) -> None:
    """Before: `--pdf --no-pdf` took the last one silently (D-19.704); the same way twice asks the same."""
    path, option = _flag_pairs(_root())[0]
    result = run_cartrial(*path, option.opts[0], option.secondary_opts[0], capsys=capsys)
    assert result.exit_code == 2, (path, result.stdout, result.stderr)
    assert option.opts[0] in result.stderr and "both ways" in result.stderr, result.stderr


def _root() -> object:
    """The root command group with every command module loaded (the group is lazy)."""
    from typer.main import get_command

    from cartrial.cli import app

    root = get_command(app)
    for entry in root.entries:  # type: ignore[attr-defined]
        if entry.module is not None:
            root.load_module(entry.module)  # type: ignore[attr-defined]
    return root


def _leaves(command: object, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    children = getattr(command, "commands", None)
    if isinstance(children, dict):
        return [leaf for name, child in children.items() for leaf in _leaves(child, (*path, name))]
    return [(path, command)]


def _single_valued(command: object) -> list:  # type: ignore[type-arg]
    return [
        p
        for p in getattr(command, "params", [])
        if getattr(p, "param_type_name", "") == "option"
        and not (p.multiple or p.count or p.is_flag)
        and any(o.startswith("--") for o in p.opts)
    ]


def _flag_pairs(command: object) -> list[tuple[tuple[str, ...], object]]:
    return [
        (path, p)
        for path, leaf in _leaves(command)
        for p in getattr(leaf, "params", [])
        if getattr(p, "param_type_name", "") == "option" and p.is_flag and p.secondary_opts
    ]


def test_every_command_refuses_a_repeated_option_and_a_flag_both_ways(capsys) -> None:
    """The check is central (installed on every leaf command): for each command, its first single-valued
    option given twice, and each of its flags given both ways, is refused, exit 2, naming the option,
    before anything runs (D-19.646, D-19.704)."""
    root = _root()
    leaves = _leaves(root)
    assert len(leaves) > 20
    checked = 0
    for path, leaf in leaves:
        options = _single_valued(leaf)
        if options:
            option = options[0]
            name = next(o for o in option.opts if o.startswith("--"))
            values = ["x"] * option.nargs
            result = run_cartrial(*path, name, *values, name, *values, capsys=capsys)
            assert result.exit_code == 2 and f"{name}: given 2 times" in result.stderr, (path, result.stderr)
            checked += 1
    for path, flag in _flag_pairs(root):
        result = run_cartrial(*path, flag.opts[0], flag.secondary_opts[0], capsys=capsys)
        assert result.exit_code == 2 and "both ways" in result.stderr, (path, flag.opts, result.stderr)
        checked += 1
    assert checked > 20


def test_a_click_without_the_parsers_private_tables_still_refuses_by_the_plain_count(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refusal reads click's private parser tables (`_long_opt`, `_short_opt`); a click without them
    raised AttributeError (a traceback on every command). The command line is then read plainly: a
    repeat is still refused, a flag both ways too, and the help still wins (D-19.646, D-19.704)."""

    class _Hidden:
        """Click's parser without its private option tables (everything else as is)."""

        def __init__(self, real: object) -> None:
            self._real = real

        def __getattr__(self, name: str) -> object:
            if name in ("_long_opt", "_short_opt"):
                raise AttributeError(name)
            return getattr(self._real, name)

    leaf_class = type(dict(_leaves(_root()))[("relapses",)])
    original = leaf_class.make_parser
    monkeypatch.setattr(leaf_class, "make_parser", lambda self, ctx: _Hidden(original(self, ctx)))
    relapses, infusions = _relapse_files(tmp_path)
    args = [relapses, "--infusion-dates", infusions, "--cutoff", "2022-01-01", "--cutoff=2022-06-30"]
    result = run_cartrial("relapses", *args, capsys=capsys)
    assert result.exit_code == 2 and "given 2 times" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    path, option = _flag_pairs(_root())[0]
    both = run_cartrial(*path, option.opts[0], option.secondary_opts[0], capsys=capsys)
    assert both.exit_code == 2 and "both ways" in both.stderr, both.stderr
    helped = run_cartrial("relapses", "--cutoff", "a", "--cutoff", "b", "--help", capsys=capsys)
    assert "given 2 times" not in helped.stderr, helped.stderr
