"""An option's number is quoted as the user typed it (decisions D-19.392; D-19.372 did so for `popfit
--fix`): the command line parses ``--lloq 0`` into 0.0, and the check quoted "got 0.0" for what the user
typed as 0. One rule in `cartrial.cli.main` for every option, not a parser per option."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import Cli

from cartrial.allowed import Allowed


@pytest.mark.parametrize("typed", ["0", "0e0", "-5", "1E-13", "2e15"])
def test_lloq_is_quoted_as_typed(cli: Cli, tmp_path: Path, typed: str) -> None:
    from cartrial.kinetics.frames import LLOQ

    data = tmp_path / "pk.csv"
    data.write_text("subject,time,conc\nA,0,1\nA,1,2\n", encoding="utf-8")
    for args in (["kinetics", "fit", data, f"--lloq={typed}"], ["kinetics", "fit", data, "--lloq", typed]):
        code, _, err = cli(*args)
        assert code == 2, err
        assert f"error: --lloq: out of range (got {typed}); allowed: {LLOQ.text()}" in err, err


def test_other_options_are_quoted_as_typed_too(cli: Cli, tmp_path: Path) -> None:
    args = ["--subjects", "2", "--days", "0:3", "--residual-sd", "6", "--out", tmp_path / "x.csv"]
    code, _, err = cli("kinetics", "simulate", *args)
    assert code == 2
    assert err.endswith(
        f"error: --residual-sd: out of range (got 6); allowed: {Allowed(low=0, high=5).text()}\n"
    )


def test_a_value_not_typed_on_the_command_line_is_unchanged() -> None:
    """Only a number one of the flag's own texts reads as is replaced (the engine may name another value)."""
    from cartrial.cli import as_typed
    from cartrial.errors import InputError, Problem

    error = InputError(Problem("out of range", field="--lloq", value=3.0))
    assert str(as_typed(error, ["--lloq", "0"])) == "--lloq: out of range (got 3.0)"
    located = InputError(Problem("out of range", file="a.csv", row=2, field="--lloq", value=0.0))
    assert str(as_typed(located, ["--lloq", "0"])).endswith("(got 0.0)")
