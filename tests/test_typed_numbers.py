"""An option's number is quoted as the user typed it (decisions D-19.392; D-19.372 did so for `popfit
--fix`): the command line parses ``--lloq 0`` into 0.0, and the check quoted "got 0.0" for what the user
typed as 0. One rule in `cartrial.cli.main` for every option, not a parser per option."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import Cli


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
    args = ["--subjects", "2", "--days", "0:3", "--residual-sd", "11", "--out", tmp_path / "x.csv"]
    code, _, err = cli("kinetics", "simulate", *args)
    assert code == 2
    assert err.endswith(
        "error: --residual-sd: out of range (got 11); "
        "allowed: 0 to 10 (an SD of log y; 0: no residual error)\n"
    )


def test_a_value_not_typed_on_the_command_line_is_unchanged() -> None:
    """Only a number one of the flag's own texts reads as is replaced (the engine may name another value)."""
    from cartrial.cli import as_typed
    from cartrial.errors import InputError, Problem

    error = InputError(Problem("out of range", field="--lloq", value=3.0))
    assert str(as_typed(error, ["--lloq", "0"])) == "--lloq: out of range (got 3.0)"
    located = InputError(Problem("out of range", file="a.csv", row=2, field="--lloq", value=0.0))
    assert str(as_typed(located, ["--lloq", "0"])).endswith("(got 0.0)")


def test_a_repeated_flag_is_refused_and_a_single_one_is_quoted_as_typed(cli: Cli, tmp_path: Path) -> None:
    """A single-valued option given twice is refused, naming it (D-19.646; before, the parser kept the last
    value and the message quoted it); given once, the message quotes the text as typed."""
    args = ["--subjects", "2", "--days", "0:3", "--residual-sd", "11.00", "--residual-sd", "11"]
    code, _, err = cli("kinetics", "simulate", *args, "--out", tmp_path / "x.csv")
    assert code == 2
    assert "--residual-sd: given 2 times" in err, err
    code, _, err = cli("kinetics", "simulate", *args[:6], "--out", tmp_path / "x.csv")
    assert code == 2
    assert "--residual-sd: out of range (got 11.00);" in err, err


def test_only_flags_are_matched_not_plain_words() -> None:
    from cartrial.cli import as_typed
    from cartrial.errors import InputError, Problem

    error = InputError(Problem("out of range", field="lloq", value=0.0))
    assert str(as_typed(error, ["lloq", "0"])) == "lloq: out of range (got 0.0)"


def test_short_aliases_of_the_flag_count() -> None:
    import typer

    from cartrial.cli import as_typed
    from cartrial.errors import InputError, Problem

    app = typer.Typer()

    @app.command()
    def x(count: float = typer.Option(1.0, "--count", "-c")) -> None:  # pragma: no cover - not run
        del count

    command = typer.main.get_command(app)
    error = InputError(Problem("out of range", field="--count", value=0.0))
    assert str(as_typed(error, ["-c", "0e0"], command)) == "--count: out of range (got 0e0)"
    assert str(as_typed(error, ["-c0"], command)) == "--count: out of range (got 0)"
    assert str(as_typed(error, ["--count", "0.0", "-c", "00"], command)) == "--count: out of range (got 00)"


def test_a_long_typed_value_is_shortened() -> None:
    from cartrial.cli import as_typed
    from cartrial.errors import SHOWN_VALUE_CHARACTERS, InputError, Problem

    typed = "0." + "0" * 300
    shown = str(as_typed(InputError(Problem("out of range", field="--lloq", value=0.0)), ["--lloq", typed]))
    assert typed not in shown
    assert f"(got {typed[:SHOWN_VALUE_CHARACTERS]}… ({len(typed):,} characters))" in shown


def test_an_error_subclass_with_its_own_constructor_is_kept() -> None:
    from cartrial.cli import as_typed
    from cartrial.errors import InputError, Problem

    class Located(InputError):
        def __init__(self, source: str, problem: Problem) -> None:
            self.source = source
            super().__init__(problem)

    error = Located("a", Problem("out of range", field="--lloq", value=0.0))
    typed = as_typed(error, ["--lloq", "0"])
    assert isinstance(typed, Located) and typed.source == "a"
    assert str(typed) == "--lloq: out of range (got 0)"
