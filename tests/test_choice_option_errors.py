"""Every option with a fixed set of choices refuses a bad choice as every other option does (issue 19, §4;
decision D-19.1420): ``error: --flag: not an allowed value (got 'x'); allowed: a | b``, exit 2 — never the
parser's own ``Value error, 'x' is not one of …`` wording.

The options are enumerated from the typer app itself (every command module loaded), so an enumeration option
added later is covered without editing this file. The expected wording is the one `cartrial.allowed`
declares for an engine option (``--crs-masking`` of ``grade episodes``, `cartrial.allowed.enum_member`).
"""

from __future__ import annotations

import enum
import typing
from typing import Any

import pytest
import typer
import typer.main

from cartrial.allowed import Allowed

from .conftest import cli_options


def _choices(annotation: Any) -> tuple[str, ...] | None:
    """The choices an option annotation fixes (an Enum, a Literal, optionally in Optional/list), else None."""
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return tuple(str(member.value) for member in annotation)
    if typing.get_origin(annotation) is typing.Literal:
        return tuple(str(arg) for arg in typing.get_args(annotation))
    for arg in typing.get_args(annotation):
        if arg is not type(None):
            inner = _choices(arg)
            if inner is not None:
                return inner
    return None


def _choice_options() -> list[tuple[tuple[str, ...], str, tuple[str, ...]]]:
    found = []
    for path, flag, annotation in cli_options():
        choices = _choices(annotation)
        if choices is not None:
            found.append((path, flag, choices))
    return found


CHOICE_OPTIONS = _choice_options()


def test_the_choice_options_are_found() -> None:
    """The enumeration reaches the known choice options (a guard that the walk over the app works)."""
    flags = {(" ".join(path), flag) for path, flag, _ in CHOICE_OPTIONS}
    assert ("nca", "--blq") in flags
    assert ("grade episodes", "--grading-unit") in flags
    assert ("protocol show", "--bsa-method") in flags
    assert len(CHOICE_OPTIONS) >= 13


@pytest.mark.parametrize(
    ("path", "flag", "choices"), CHOICE_OPTIONS, ids=[" ".join(p) + " " + f for p, f, _ in CHOICE_OPTIONS]
)
def test_a_bad_choice_is_refused_naming_the_option_and_the_choices(
    cli: Any, path: tuple[str, ...], flag: str, choices: tuple[str, ...]
) -> None:
    code, out, err = cli(*path, flag, "no-such-choice")
    assert code == 2, err
    allowed = Allowed(values=choices).text()
    assert err.startswith(
        f"error: {flag}: not an allowed value (got 'no-such-choice'); allowed: {allowed}\n"
    ), err
    assert "Value error" not in err and "is not one of" not in err, err
    assert out == ""


@pytest.mark.parametrize("bad", ["DAY", "day ", "ｄａｙ", "dаy"])  # case, space, fullwidth, Cyrillic а
def test_a_look_alike_choice_is_refused(cli: Any, bad: str) -> None:
    code, _, err = cli("grade", "episodes", "--grading-unit", bad)
    assert code == 2, err
    assert err.startswith("error: --grading-unit: not an allowed value (got "), err
    assert err.rstrip("\n").endswith("allowed: day | assessment") or "allowed: day | assessment\n" in err, err


@pytest.mark.parametrize(
    ("path", "flag", "allowed"),
    [
        (("nca",), "--blq", "pknca | zero | half-lloq"),
        (("grade", "episodes"), "--grading-unit", "day | assessment"),
        (("nca",), "--auc-method", "lin-up-log-down | linear | log"),
    ],
)
def test_the_allowed_choices_are_listed_literally(
    cli: Any, path: tuple[str, ...], flag: str, allowed: str
) -> None:
    """The allowed text written out as the options declare their choices (not the code's own formatter)."""
    code, _, err = cli(*path, flag, "no-such-choice")
    assert code == 2, err
    assert err.startswith(
        f"error: {flag}: not an allowed value (got 'no-such-choice'); allowed: {allowed}\n"
    ), err


class _Colour(enum.StrEnum):
    RED = "red"
    BLUE = "blue"


def _paint(colour: list[_Colour] = typer.Option([], "--colour")) -> None:
    del colour


def test_a_list_of_choices_option_is_worded_the_same() -> None:
    """An option typed ``list[Enum]`` (none of cartrial's commands has one yet; D-19.1420 covers it) is
    refused by the same handler with the same words."""
    from cartrial.cli import _bad_parameter

    app = typer.Typer()
    app.command()(_paint)
    command = typer.main.get_command(app)
    with pytest.raises(typer.BadParameter) as raised:
        command.main(["--colour", "red", "--colour", "green"], standalone_mode=False)
    problem = _bad_parameter(raised.value)
    assert (problem.field, problem.message, problem.allowed) == (
        "--colour",
        "not an allowed value",
        "red | blue",
    )
