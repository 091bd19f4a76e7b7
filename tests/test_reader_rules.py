"""One rule everywhere for every CSV reader (issue 19 §1, last bullet): a second row with the same natural
key (same subject, same time), identical or conflicting, is refused at that row (D-19.18); a ragged row —
shorter or longer than the header — is refused with its row number, never padded with blanks; empty lines
at the end of a file stay allowed.

Each case edits a copy of the example study's file, so the base run is a real, valid input.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import EXAMPLE_READERS

REPO_ROOT = Path(__file__).resolve().parents[1]
Cli = Callable[..., Any]  # the `cli` fixture of tests/conftest.py

STUDY = REPO_ROOT / "examples" / "ct103a-nmosd" / "study"

Rows = list[list[str]]


def _edited(source: Path, target: Path, edit: Callable[[Rows], Rows]) -> Path:
    """`source` rewritten to `target` after `edit` on its rows (header first)."""
    with source.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    with target.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(edit(rows))
    return target


READERS = EXAMPLE_READERS
SLOW = {"kinetics fit"}


def _run(cli: Cli, reader: str, file: Path) -> tuple[int, str, str]:
    _example, extra = READERS[reader]
    code, out, err = cli(*reader.split(), str(file), *extra)
    assert "Traceback" not in out + err
    return code, out, err  # type: ignore[return-value]


def _params() -> list[object]:
    return [
        pytest.param(r, marks=[pytest.mark.slow] if r in SLOW else [], id=r.replace(" ", "-"))
        for r in READERS
    ]


# ---------------------------------------------------------------------------------------------------------
# ragged rows
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reader", _params())
def test_short_row_is_refused_with_its_row(reader: str, cli: Cli, tmp_path: Path) -> None:
    """A data row with one cell fewer than the header (pandas would pad it with a blank) is an error at
    its spreadsheet row (header = row 1)."""

    def shorten_second_data_row(rows: Rows) -> Rows:
        rows[2] = rows[2][:-1]
        return rows

    file = _edited(STUDY / READERS[reader][0], tmp_path / "short.csv", shorten_second_data_row)
    code, _out, err = _run(cli, reader, file)
    assert code == 2, err
    assert "cells but the header has" in err and "row 3" in err, err


@pytest.mark.parametrize("reader", _params())
def test_long_row_is_refused_with_its_row(reader: str, cli: Cli, tmp_path: Path) -> None:
    def lengthen_second_data_row(rows: Rows) -> Rows:
        rows[2] = [*rows[2], "extra"]
        return rows

    file = _edited(STUDY / READERS[reader][0], tmp_path / "long.csv", lengthen_second_data_row)
    code, _out, err = _run(cli, reader, file)
    assert code == 2, err
    assert "cells but the header has" in err and "row 3" in err, err


@pytest.mark.parametrize("reader", _params())
def test_blank_trailing_lines_are_allowed(reader: str, cli: Cli, tmp_path: Path) -> None:
    """Empty lines at the end of the file (a spreadsheet's export habit) are not short rows."""
    file = tmp_path / "trailing.csv"
    file.write_text((STUDY / READERS[reader][0]).read_text(encoding="utf-8").rstrip("\n") + "\n\n\n")
    code, _out, err = _run(cli, reader, file)
    assert code == 0, err


def test_read_csv_short_row_rule_directly(tmp_path: Path) -> None:
    """`cartrial.tabular.read_csv` itself refuses a short row (every reader inherits the rule); rows are
    numbered by record (a quoted multi-line cell is one row); a last cell written empty is fine."""
    from cartrial.errors import InputError
    from cartrial.tabular import read_csv

    good = tmp_path / "good.csv"
    good.write_text('a,b,c\n1,"two\nlines",\n4,5,6\n\n')
    frame = read_csv(good, required=["a"])
    assert frame["c"].tolist() == ["", "6"]
    bad = tmp_path / "bad.csv"
    bad.write_text('a,b,c\n1,"two\nlines",3\n4,5\n')
    with pytest.raises(InputError) as caught:
        read_csv(bad, required=["a"])
    assert "row 3" in str(caught.value) and "2 cells but the header has 3" in str(caught.value)
    # without any quote a line is a row (the fast path): Windows line ends, a last cell left empty
    unquoted = tmp_path / "unquoted.csv"
    unquoted.write_bytes(b"a,b,c\r\n1,2,\r\n4,5\r\n7,8,9\r\n\r\n")
    with pytest.raises(InputError) as caught:
        read_csv(unquoted, required=["a"])
    assert "row 3" in str(caught.value) and "row 2" not in str(caught.value)


# ---------------------------------------------------------------------------------------------------------
# conflicting duplicates
# ---------------------------------------------------------------------------------------------------------


def _duplicate_first_row(column: str, value: str) -> Callable[[Rows], Rows]:
    """Append a copy of the first data row with `column` set to `value` (same subject, same time)."""

    def edit(rows: Rows) -> Rows:
        index = rows[0].index(column)
        copy = list(rows[1])
        assert copy[index] != value
        copy[index] = value
        return [*rows, copy]

    return edit


DUPLICATES: dict[str, tuple[str, str]] = {
    # reader: (column changed in the copy, new value)
    "score edss": ("visual", "4"),
    "relapses": ("severity", "severe"),
    "nca": ("value", "123456"),
    "kinetics fit": ("value", "123456"),
    "grade crs": ("temperature_c", "40.2"),
    "grade labs": ("value", "0.01"),
}


@pytest.mark.parametrize(
    "reader",
    [
        pytest.param(r, marks=[pytest.mark.slow] if r in SLOW else [], id=r.replace(" ", "-"))
        for r in DUPLICATES
    ],
)
def test_conflicting_duplicates_are_refused(reader: str, cli: Cli, tmp_path: Path) -> None:
    """Same subject, same time, different values: an error naming the rows, not two results side by side."""
    column, value = DUPLICATES[reader]
    file = _edited(
        STUDY / READERS[reader][0], tmp_path / "duplicate.csv", _duplicate_first_row(column, value)
    )
    code, _out, err = _run(cli, reader, file)
    assert code == 2, err
    assert "duplicate" in err.lower(), err
    # refused at the repeat (the appended row), naming the first row and the differing field, and at the
    # first row, naming the repeat: which value is right is not known (D-19.18)
    last = len(file.read_text().splitlines())
    assert f"row {last}, " in err and "duplicate of row 2 (same " in err, err
    assert "row 2, " in err and f"conflicts with row {last} (same " in err, err
    assert f"differs in {column}" in err, err


@pytest.mark.parametrize("reader", _params())
def test_identical_duplicates_are_refused_at_the_second_row(reader: str, cli: Cli, tmp_path: Path) -> None:
    """A double export (the first data row appended again, unchanged): `grade crs`/`labs`/`icans`/`episodes`/
    `icaht` graded both rows with a note while the neuro readers, NCA and the import refused the second.
    One rule now (D-19.18): refused at the repeat, naming the earlier row and saying the copies are
    identical."""
    file = _edited(STUDY / READERS[reader][0], tmp_path / "twice.csv", lambda rows: [*rows, rows[1]])
    last = len(file.read_text().splitlines())
    code, _out, err = _run(cli, reader, file)
    assert code == 2, err
    assert f"row {last}, " in err and "duplicate of row 2 (same subject_id" in err, err
    assert "; identical values)" in err and "row 2, " not in err, err


def test_conflicting_therapies_are_refused(cli: Cli, tmp_path: Path) -> None:
    """`grade episodes --therapies`: the same subject, therapy and time with another dose was accepted (both
    rows used); refused as in every other reader and the import (review sweep 2)."""
    file = _edited(STUDY / "therapies.csv", tmp_path / "therapies.csv", _duplicate_first_row("dose", "1000"))
    args = ["grade", "episodes", str(STUDY / "crs_assessments.csv")]
    args += ["--infusion-dates", str(STUDY / "infusions.csv"), "--therapies", str(file)]
    code, _out, err = cli(*args)
    assert code == 2 and "duplicate of row 2" in err and "differs in dose" in err, err


@pytest.mark.parametrize(("column", "value"), [("value", "1e308"), ("actual_day", "1e300")])
def test_nca_huge_numbers_are_refused(cli: Cli, tmp_path: Path, column: str, value: str) -> None:
    """A concentration of 1e308 (or a time of 1e300) was accepted and AUC written as inf with exit 0."""

    def edit(rows: Rows) -> Rows:
        index = rows[0].index(column)
        row = next(r for r in rows[1:] if r[rows[0].index("value")] not in ("",))
        row[index] = value
        return rows

    file = _edited(STUDY / "pk_samples.csv", tmp_path / "pk.csv", edit)
    code, _out, err = _run(cli, "nca", file)
    assert code == 2 and f"{column}: out of range (got '{value}')" in err, err


# ---------------------------------------------------------------------------------------------------------
# date-times at the edges of the calendar
# ---------------------------------------------------------------------------------------------------------

MOMENT_COLUMN = {
    "grade crs": "assessed_at",
    "grade icans": "assessed_at",
    "grade labs": "collected_at",
    "grade episodes": "assessed_at",
    "grade icaht": "collected_at",
    "score edss": "assessed_at",
    "score va": "assessed_at",
    "score osis": "assessed_at",
    "relapses": "onset_date",
}
"""The date or date-time column each reader parses (the readers of pk_samples.csv use its day columns)."""
EDGE_MOMENTS = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00")
"""Valid ISO 8601 text whose moment in UTC falls outside the years 1-9999."""


@pytest.mark.parametrize("moment", EDGE_MOMENTS)
@pytest.mark.parametrize("reader", [r for r in _params() if r.values[0] in MOMENT_COLUMN])  # type: ignore[attr-defined]
def test_a_moment_outside_the_calendar_in_utc_is_refused_at_its_row(
    reader: str, moment: str, cli: Cli, tmp_path: Path
) -> None:
    """`0001-01-01T00:00:00+14:00` is in year 0 in UTC: the conversion raised `OverflowError`, a
    traceback, in every reader (sweepcli); now a located problem at the row and column."""
    column = MOMENT_COLUMN[reader]

    def edit(rows: Rows) -> Rows:
        rows[1][rows[0].index(column)] = moment
        return rows

    file = _edited(STUDY / READERS[reader][0], tmp_path / "edge.csv", edit)
    code, _out, err = _run(cli, reader, file)
    assert code == 2, err
    assert f"row 2, {column}: " in err and f"(got '{moment}')" in err, err


@pytest.mark.parametrize("reader", _params())
def test_a_control_character_in_a_subject_id_is_refused_as_by_the_import(
    reader: str, cli: Cli, tmp_path: Path
) -> None:
    """A subject id holding an escape sequence (or any C0 control character) was accepted by every engine
    reader and written to the results — and the terminal — as is, while the import refuses it; one rule
    (`cartrial.columns.CONTROL_CHARACTERS`) now refuses it at its row (sweepcli)."""

    def edit(rows: Rows) -> Rows:
        rows[1][rows[0].index("subject_id")] = "CT-\x1b[31mX"
        return rows

    file = _edited(STUDY / READERS[reader][0], tmp_path / "control.csv", edit)
    code, _out, err = _run(cli, reader, file)
    assert code == 2, err
    assert "row 2, subject_id: contains a control character (got 'CT-\\x1b[31mX')" in err, err


# ---------------------------------------------------------------------------------------------------------
# one-line identifiers (D-19.138)
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reader", _params())
@pytest.mark.parametrize("line_break", ["\n", "\u2028"], ids=["LF", "U+2028"])
def test_a_subject_id_with_a_line_break_is_refused_with_its_row(
    reader: str, line_break: str, cli: Cli, tmp_path: Path
) -> None:
    """A subject id holding a (quoted) line break was read as an identifier by every engine's reader — the
    store refuses it (D-19.137) — and split the lines of the command's table and CSV output. It is an error at
    its row, naming the field, as the store's."""

    def break_second_subject_id(rows: Rows) -> Rows:
        column = rows[0].index("subject_id")
        rows[2][column] = rows[2][column][:3] + line_break + rows[2][column][3:]
        return rows

    file = _edited(STUDY / READERS[reader][0], tmp_path / "broken.csv", break_second_subject_id)
    code, _out, err = _run(cli, reader, file)
    assert code == 2, err
    assert "subject_id" in err and "line break" in err and "row 3" in err, err
