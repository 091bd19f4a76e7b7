"""The values of `nca(..., blq_column=COLUMN)` (D-19.1413): read as `lambda_z_exclude` is, by one reader.

Source: the import's true/false words (`cartrial.columns.TRUE_WORDS` / `FALSE_WORDS`, D-19.552) and, as
PKNCA reads a logical column, the number 1 as TRUE and 0 as FALSE; a float column holds them as 1.0 / 0.0
and a sparse flag as 1.0 / NaN (what ``pandas.read_csv`` gives), blank or NaN is false. A flagged sample
is BLQ: its concentration is 0 before the rules (shared/reference/cellular-kinetics.md §1). Expected values
by hand.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from cartrial.errors import InputError

from .nca_support import nca_row

TIMES = [0.0, 1.0, 2.0, 3.0]
CONCS = [0.0, 10.0, 5.0, 7.0]


def _run(flags: list[object]) -> pd.Series:
    frame = pd.DataFrame({"id": "S1", "t": TIMES, "c": CONCS, "blq": flags})
    return nca_row(frame, blq_column="blq")


@pytest.mark.parametrize(
    "flags",
    [
        [math.nan, math.nan, math.nan, 1.0],
        [0.0, 0.0, 0.0, 1.0],
        [0, 0, 0, 1],
        ["", "", "", "1.0"],
        ["no", "n", "0", "TRUE"],
    ],
)
def test_a_flag_of_1_is_blq(flags: list[object]) -> None:
    """Day 3 flagged BLQ: the last quantifiable sample is day 2 (5), so Tlast 2, Clast 5 and AUClast =
    0-1 linear 10/2 = 5 plus 1-2 log down (10 - 5)/ln 2 (the trailing BLQ is kept as 0 after Tlast)."""
    row = _run(flags)
    assert row["tlast"] == 2.0 and row["clast"] == 5.0
    assert row["auclast"] == pytest.approx(5 + 5 / math.log(2), rel=1e-12)


def test_flags_of_0_and_blank_are_not_blq() -> None:
    """Nothing flagged: Tlast is day 3 (7), AUClast adds the linear rise 2-3, (5 + 7)/2 = 6."""
    row = _run([math.nan, 0.0, "false", ""])
    assert row["tlast"] == 3.0 and row["clast"] == 7.0
    assert row["auclast"] == pytest.approx(5 + 5 / math.log(2) + 6, rel=1e-12)


@pytest.mark.parametrize("bad", ["maybe", "2", 2.0, -1])
def test_an_unrecognised_flag_is_refused_and_located(bad: object) -> None:
    """Neither a true/false word nor the number 0 or 1: an InputError naming the column and the
    spreadsheet row (the 3rd data row is row 4), never the value."""
    with pytest.raises(InputError) as caught:
        _run([0, 0, bad, 0])
    (problem,) = caught.value.problems
    assert problem.field == "blq" and problem.row == 4 and problem.value is None
    assert "got" not in str(caught.value)


def _cli(tmp_path, flags: list[str]):  # type: ignore[no-untyped-def]
    from ..conftest import run_cartrial

    file = tmp_path / "p.csv"
    rows = "".join(f"S1,{t:g},{c:g},{f}\n" for t, c, f in zip(TIMES, CONCS, flags, strict=True))
    file.write_text("id,t,c,blq\n" + rows)
    args = ["nca", str(file), "--subject", "id", "--time", "t", "--conc", "c", "--blq-col", "blq"]
    args += ["--conc-unit", "copies/ug", "--json"]
    return run_cartrial(*args)


@pytest.mark.parametrize("flags", [["0", "0", "0", "1.0"], ["", "0.0", "no", "1"], ["n", "", "0", "TRUE"]])
def test_the_cli_reads_a_flag_as_the_engine_does(tmp_path, flags: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Failing first: `cartrial nca --blq-col` (`derive_nca`) refused "1.0" and "0.0", which `nca` reads as
    1 and 0 (one reader, D-19.1413). Day 3 flagged BLQ: Tlast 2, Clast 5, as `test_a_flag_of_1_is_blq`."""
    import json

    result = _cli(tmp_path, flags)
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)["rows"]
    assert row["tlast"] == 2.0 and row["clast"] == 5.0


@pytest.mark.parametrize("bad", ["maybe", "2", "-1"])
def test_the_cli_refuses_an_unrecognised_flag_naming_column_and_row(tmp_path, bad: str) -> None:  # type: ignore[no-untyped-def]
    result = _cli(tmp_path, ["0", "0", bad, "0"])
    assert result.exit_code == 2, result.output
    assert "row 4, blq" in result.stderr and "the number 1 or 0" in result.stderr
