"""`kinetics popfit --fix/--initial` read a number as the import reads a numeric cell and quote it as typed.

A second sweep (D-19.372): Python's ``float`` took ``cmax=1_000`` (digit-group underscores, which the import's
number rule refuses), and an out-of-range value was quoted as the number it was read as (``'cmax=-1.0'``
for ``cmax=-1``), not as the user wrote it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cartrial.cli import main
from cartrial.columns import read_number

STUDY = Path(__file__).resolve().parents[3] / "examples" / "ct103a-nmosd" / "study"


@pytest.mark.parametrize("option", ["--fix", "--initial"])
@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("cmax=1_000", "not a number (got 'cmax=1_000'); allowed: NAME=NUMBER"),
        ("cmax=-1", "out of range (got 'cmax=-1'); allowed: cmax "),
        ("cmax=-1e0", "out of range (got 'cmax=-1e0'); allowed: cmax "),
    ],
)
def test_a_typical_value_is_read_and_quoted_as_typed(
    option: str, typed: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["kinetics", "popfit", str(STUDY / "pk_samples.csv"), option, typed, "--out", str(tmp_path / "o")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"error: {option}: {expected}" in err, err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("text", ["1_000", "0x10", "1,5", "\u0661\u0662", "abc", ""])
def test_the_number_reading_is_the_import_cell_rule(text: str) -> None:
    """Each text Python's ``float`` may take but a numeric cell of an import refuses is not a number."""
    import pandas as pd

    from cartrial.columns import RowProblems, parse_float

    problems = RowProblems("f.csv")
    cell = parse_float(pd.DataFrame({"v": [text]}), "v", problems, required=False)[0]
    assert (read_number(text) != read_number(text)) and (cell != cell)


def test_every_lloq_help_is_the_rule() -> None:
    """The help said "> 0" while the rule is 1e-12 to 1e15 (D-19.375): each `--lloq` states `LLOQ`'s text."""
    import inspect

    from cartrial.commands import kinetics_commands
    from cartrial.kinetics.templates import LLOQ

    helps = [
        str(getattr(parameter.default, "help", ""))
        for _, function in inspect.getmembers(kinetics_commands, inspect.isfunction)
        for parameter in inspect.signature(function).parameters.values()
        if "--lloq" in (getattr(parameter.default, "param_decls", None) or ())
    ]
    assert len(helps) >= 4
    for help_text in helps:
        assert f"Allowed: {LLOQ.text()}." in help_text and "> 0" not in help_text, help_text


def test_one_parse_gives_the_numbers_and_the_values_as_typed() -> None:
    """`--fix`/`--initial` are parsed once (they were split and parsed twice, D-19.530): the numbers and the
    values as typed come from the same parse; `--fix` takes NAME=VALUE[,NAME=VALUE], `--initial` one per
    item."""
    from cartrial.commands.kinetics_commands import _parse_named_numbers
    from cartrial.errors import InputError

    numbers, typed = _parse_named_numbers(["cmax=1e3, beta_per_day=0.0032"], "--fix", comma_separated=True)
    assert numbers == {"cmax": 1000.0, "beta_per_day": 0.0032}
    assert typed == {"cmax": "1e3", "beta_per_day": "0.0032"}
    with pytest.raises(InputError, match="--fix: NAME given more than once"):
        _parse_named_numbers(["cmax=1", "cmax=2"], "--fix", comma_separated=True)
    with pytest.raises(InputError, match=r"--initial: not a number \(got 'cmax=1,b=2'\)"):
        _parse_named_numbers(["cmax=1,b=2"], "--initial")
