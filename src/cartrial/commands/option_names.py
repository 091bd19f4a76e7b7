"""Option errors as the user typed them: engine field names become command-line options, in one table per
command module.

An engine knows only its own field names: an option dataclass declares what each field allows
(`cartrial.allowed`) and raises `OptionError` naming the field (``post_masking_grade``). Each command
module keeps one table from those field names to its flags (``--post-masking-grade``) and decorates its
commands with `names_cli_arguments(table)`, which re-raises any engine `InputError` with the flags, so that
every message reads ``--post-masking-grade: not an allowed value (got 5); allowed: 0 | 1``. Problems located
in a file (a form's column at a row) keep their names.

Also the one ``--seed`` option of every command (`seed_option`, range `cartrial.allowed.SEED`), and the one
reading of a number inside an option's text (`option_number`: ``--days 0:28``, ``--truth 0.1,0.2``).

Standard library, typer and `cartrial.errors` only at import (fast start-up; `option_number` imports the
import's number rule when called).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import typer

from cartrial.allowed import SEED_HELP
from cartrial.errors import InputError

_Command = TypeVar("_Command", bound=Callable[..., None])


def names_cli_arguments(names: Mapping[str, str]) -> Callable[[_Command], _Command]:
    """Decorator: re-raise the command's `InputError`s with engine fields renamed by `names` (field →
    the command-line option, e.g. ``{"sbp_threshold_mmhg": "--sbp-threshold"}``)."""

    def decorate(command: _Command) -> _Command:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> None:
            try:
                command(*args, **kwargs)
            except InputError as error:
                raise error.renamed(names) from None

        return wrapper  # type: ignore[return-value]

    return decorate


OPTION_DIGITS = "digits 0-9"
"""What a number in an option's text is written with (D-19.1425)."""


def option_number(text: str) -> float:
    """The number `text` writes (spaces around it allowed), read by the import's number rule
    (`cartrial.columns.read_number`: digits 0-9, no ``1_000``, no ``１`` or ``٣``, which Python's `float`
    takes; D-19.372), or `ValueError` — as `float` raises, which the callers catch to name their option and
    its form (D-19.1425). ``nan`` and ``inf`` are read, for the caller's finiteness check to name."""
    return option_numbers([text])[0]


def option_numbers(texts: Sequence[str]) -> list[float]:
    """Each of `texts` read as `option_number` reads one, in one vectorised call (`read_numbers`: a
    ``--days`` list of 300,000 numbers is not 300,000 pandas calls), or `ValueError` if any is no number."""
    from cartrial.columns import read_numbers  # imported when an option's text is read (fast start-up)

    stripped = [text.strip() for text in texts]
    numbers = read_numbers(stripped)
    for number, text in zip(numbers, stripped, strict=True):
        if number != number and text.lstrip("+-").lower() != "nan":
            raise ValueError(f"not a number in {OPTION_DIGITS}")
    return numbers


def seed_option(default: int) -> Any:
    """The ``--seed`` option of every command: one help text, one range (`cartrial.allowed.SEED`), checked
    by `cartrial.allowed.check_seed` before anything is allocated."""
    return typer.Option(default, "--seed", help=SEED_HELP)


__all__ = ["OPTION_DIGITS", "names_cli_arguments", "option_number", "option_numbers", "seed_option"]
