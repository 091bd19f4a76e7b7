"""Every option typed as a number reads its text by the one number rule (D-19.1425: digits 0-9,
`cartrial.commands.option_names.option_number`): ``1_0``, which the parser (Python's ``int``/``float``)
reads as 10, is refused naming the option, exit 2, before the command runs.

The options are enumerated from the typer app itself (every command module loaded), as
tests/test_choice_option_errors.py does, so a number option added later is covered without editing this file.
"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import cli_options


def _number_options() -> list[tuple[tuple[str, ...], str, type]]:
    return [(path, flag, kind) for path, flag, kind in cli_options() if kind in (int, float)]


NUMBER_OPTIONS = _number_options()


def test_the_number_options_are_found() -> None:
    """The enumeration reaches the known number options (a guard that the walk over the app works)."""
    flags = {(" ".join(path), flag) for path, flag, _ in NUMBER_OPTIONS}
    assert ("nca", "--fold-expansion-r0") in flags
    assert ("nca", "--lloq") in flags
    assert ("escalate next", "--doses") in flags
    assert len(NUMBER_OPTIONS) >= 100


@pytest.mark.parametrize(
    ("path", "flag", "kind"), NUMBER_OPTIONS, ids=[" ".join(p) + " " + f for p, f, _ in NUMBER_OPTIONS]
)
def test_a_number_with_an_underscore_is_refused_naming_the_option(
    cli: Any, path: tuple[str, ...], flag: str, kind: type
) -> None:
    """Failing first: ``1_0`` was read as 10 (exit 0 for ``nca --fold-expansion-r0 1_0``)."""
    code, out, err = cli(*path, flag, "1_0")
    assert code == 2, err
    what = "a whole number" if kind is int else "a number"
    assert err.startswith(f"error: {flag}: not {what} (got '1_0'); allowed: {what} in digits 0-9"), err
    assert out == ""


@pytest.mark.parametrize("text", ["10", "1e1", "+10", "10.", " 10"])
def test_a_number_in_digits_is_read(cli: Any, tmp_path: Any, text: str) -> None:
    """The rule refuses no number the parser read before in digits 0-9: the parse goes on to the missing
    required option, never naming ``--lloq``."""
    code, _, err = cli("nca", str(tmp_path / "none.csv"), "--lloq", text)
    assert code == 2 and "Missing option '--subject'" in err and "--lloq" not in err, err
