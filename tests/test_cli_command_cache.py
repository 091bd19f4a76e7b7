"""The root group keeps the click commands built from a command module for the next in-process run
(`cartrial.cli.LazyGroup.load_module`); a command function rebound since (a test's `monkeypatch.setattr`)
must still be the one that runs."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def test_a_patched_command_function_runs_after_the_commands_were_built(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cartrial.commands import report_commands

    args = ("report", "--cutoff", "2022-03-20", "--out", str(tmp_path / "plain" / "out"), "--no-pdf")
    (tmp_path / "plain").write_text("x")
    assert cli(*args).exit_code == 2  # builds (and keeps) the report module's commands
    calls: list[dict[str, Any]] = []
    original = report_commands.report_command

    @functools.wraps(original)
    def recording(**kwargs: Any) -> None:
        calls.append(kwargs)
        original(**kwargs)

    monkeypatch.setattr(report_commands, "report_command", recording)
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert [c["cutoff"] for c in calls] == ["2022-03-20"]
    monkeypatch.undo()
    calls.clear()
    assert cli(*args).exit_code == 2
    assert calls == []  # the original again
