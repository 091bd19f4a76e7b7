"""Samples left out of the half-life only (`nca(..., lambda_z_exclude=COLUMN)`, PKNCA ``exclude_half.life``;
D-19.1412).

Source: shared/reference/cellular-kinetics.md §2.4 step 8: "Manual control: include_half.life (use exactly
these points) and exclude_half.life (automatic selection without these points)"; PKNCA ``PKNCAconc``
argument ``exclude_half.life`` (a logical column: TRUE leaves the sample out of the half-life calculation)
and ``pk.nca.interval`` (the flagged rows are removed from the data given to ``pk.calc.half.life`` only;
Tmax, Tlast and every AUC use all samples). Expected values by hand.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from cartrial.errors import InputError, OptionError
from cartrial.kinetics import NcaOptions, nca

from .nca_support import nca_row

TIMES = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
CONCS = [0.0, 100.0, 50.0, 25.0, 30.0, 6.25]


def _run(flags: list[object] | None, options: NcaOptions | None = None) -> pd.Series:
    frame = pd.DataFrame({"id": "S1", "t": TIMES, "c": CONCS})
    if flags is not None:
        frame["out"] = flags
    return nca_row(frame, options, lambda_z_exclude="out" if flags is not None else None)


def _log_area(c1: float, c2: float, dt: float) -> float:
    return (c1 - c2) * dt / math.log(c1 / c2)


def test_excluded_sample_leaves_the_half_life_only() -> None:
    """Day 4 (30, a rise) left out: the candidates after Tmax (day 1) are days 2, 3, 5 at 50, 25, 6.25, an
    exact exponential: lambda_z = ln 2 /day, 3 points from day 2, adjusted R² 1, t1/2 = 1 day, Clast,pred
    = 6.25 at Tlast 5. AUClast still integrates day 4: 0-1 linear 50, 1-2 and 2-3 log (50/ln 2, 25/ln 2),
    3-4 linear up 27.5, 4-5 log (30 - 6.25)/ln(30/6.25)."""
    row = _run([False, False, False, False, True, False])
    assert row["lambda_z"] == pytest.approx(math.log(2), rel=1e-12)
    assert row["lambda_z_n"] == 3 and row["lambda_z_tfirst"] == 2.0
    assert row["adj_r2"] == pytest.approx(1.0, abs=1e-12)
    assert row["half_life"] == pytest.approx(1.0, rel=1e-12)
    assert row["clast_pred"] == pytest.approx(6.25, rel=1e-12)
    auclast = 50 + _log_area(100, 50, 1) + _log_area(50, 25, 1) + 27.5 + _log_area(30, 6.25, 1)
    assert row["auclast"] == pytest.approx(auclast, rel=1e-12)
    assert row["tmax"] == 1.0 and row["tlast"] == 5.0 and row["clast"] == 6.25
    assert row["aucinf_obs"] == pytest.approx(auclast + 6.25 / math.log(2), rel=1e-12)


def test_without_flags_the_sample_is_used() -> None:
    """No flag (or all false): day 4 is a candidate, so the fit is not the exact ln 2 one."""
    for flags in (None, [False] * 6):
        row = _run(flags)
        assert row["lambda_z"] != pytest.approx(math.log(2), rel=1e-6)


def test_flag_spellings_and_blank() -> None:
    """A flag is read as blq_column reads one: true, 1, yes, y, t (any case); blank is not excluded."""
    for spelling in ("TRUE", "1", "yes", "Y", "t", " yes "):
        row = _run(["", "", "", "", spelling, ""])
        assert row["lambda_z"] == pytest.approx(math.log(2), rel=1e-12), spelling


def test_false_spellings_exclude_nothing() -> None:
    """The false words (false, no, 0, f, n in any case), the number 0 (0.0 too) and blank leave every
    sample a candidate: the fit is the unflagged one."""
    unflagged = _run(None)
    for spelling in ("no", "0", "false", "F", "N", 0, 0.0, False, ""):
        row = _run([spelling] * 6)
        assert row["lambda_z"] == pytest.approx(unflagged["lambda_z"], rel=1e-12), repr(spelling)
        assert row["lambda_z_n"] == unflagged["lambda_z_n"], repr(spelling)


@pytest.mark.parametrize(
    "flags",
    [
        [0.0, 0.0, 0.0, 0.0, 1.0, 0.0],  # a float 0/1 column
        [math.nan, math.nan, math.nan, math.nan, 1.0, math.nan],  # a sparse flag as read_csv gives it
        [0, 0, 0, 0, 1, 0],  # an integer column
        [False, False, False, False, True, False],  # a boolean column
        ["", "", "", "", 1.0, ""],  # a number among texts
        ["", "", "", "", "1.0", ""],  # the number 1 written as text
    ],
)
def test_numeric_flag_columns(flags: list[object]) -> None:
    """PKNCA counts the number 1 as TRUE: 1 (1.0 as a float column holds it) excludes, 0 and NaN do not."""
    row = _run(flags)
    assert row["lambda_z"] == pytest.approx(math.log(2), rel=1e-12)
    assert row["lambda_z_n"] == 3


@pytest.mark.parametrize("bad", ["x", "2", "exclude", 2, 0.5, -1.0])
def test_unrecognised_flag_is_an_input_error_naming_column_and_row(bad: object) -> None:
    """A value that is neither a true/false word nor the number 0 or 1 is refused, located by column and
    spreadsheet row (the 5th data row is row 6), the value never shown."""
    with pytest.raises(InputError) as caught:
        _run([0, 0, 0, 0, bad, 0])
    (problem,) = caught.value.problems
    assert problem.field == "out" and problem.row == 6 and problem.value is None
    assert "got" not in str(caught.value)


def test_flagging_the_tmax_sample_leaves_tmax_unchanged() -> None:
    """Day 1 (Cmax 100) flagged: Tmax, Cmax and AUClast still use it; only the half-life loses it (it was
    no candidate under the default anyway, PKNCA allow.tmax.in.half.life FALSE)."""
    unflagged = _run(None)
    row = _run([False, True, False, False, False, False])
    assert row["tmax"] == 1.0 and row["cmax"] == 100.0
    assert row["auclast"] == pytest.approx(unflagged["auclast"], rel=1e-12)


def test_note_counts_the_samples_by_column_name_only() -> None:
    """The note says how many samples were left out and names the column; no value, time or subject."""
    frame = pd.DataFrame({"id": "S1", "t": TIMES, "c": CONCS, "out": [0, 0, 0, 1, 1, 0]})
    result = nca(
        frame,
        subject="id",
        time="t",
        conc="c",
        time_unit="day",
        conc_unit="copies/ug",
        lambda_z_exclude="out",
    )
    (note,) = [n for n in result.notes if "half-life only" in n]
    assert note == "2 samples left out of the half-life only (out; PKNCA exclude_half.life)"


def test_exclusion_with_a_manual_window_is_refused() -> None:
    """A manual window (include_half.life) and an exclusion column together are refused, as PKNCA
    ``pk.nca.intervals`` stops with "Cannot both include and exclude half-life points for the same
    interval"; the error names both settings."""
    with pytest.raises(OptionError) as caught:
        _run([False, False, False, False, True, False], NcaOptions(lambda_z_window=(2.0, 5.0)))
    text = str(caught.value)
    assert "lambda_z_window" in text and "lambda_z_exclude" in text


def test_missing_column_is_an_input_error() -> None:
    frame = pd.DataFrame({"id": "S1", "t": TIMES, "c": CONCS})
    with pytest.raises(InputError):
        nca(
            frame,
            subject="id",
            time="t",
            conc="c",
            time_unit="day",
            conc_unit="copies/ug",
            lambda_z_exclude="nope",
        )
