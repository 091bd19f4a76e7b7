"""The CLI contract of issue 2 §1: --version, --help listing every command, exit 2 for user errors."""

from __future__ import annotations

import subprocess
import sys

from cartrial import __version__
from cartrial.cli import app, main


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cartrial.cli", *args], capture_output=True, text=True, check=False
    )


def test_version_prints_package_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"cartrial {__version__}"


def test_help_lists_every_registered_command_with_a_description() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    import typer.main

    group = typer.main.get_group(app)
    assert group.commands, "no command registered"
    for name, command in group.commands.items():
        assert name in result.stdout
        assert (command.help or command.short_help or "").strip(), f"command {name} has no description"


def test_unknown_command_is_a_usage_error_exit_2_without_traceback() -> None:
    result = run_cli("no-such-command")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_user_error_exits_2_and_debug_shows_traceback(tmp_path) -> None:
    missing = tmp_path / "missing.yaml"
    plain = run_cli("protocol", "check", str(missing))
    assert plain.returncode == 2
    assert "Traceback" not in plain.stderr
    assert str(missing) in plain.stderr
    debug = run_cli("--debug", "protocol", "check", str(missing))
    assert debug.returncode != 0
    assert "Traceback" in debug.stderr


def test_main_returns_exit_code_for_version() -> None:
    assert main(["--version"]) == 0
