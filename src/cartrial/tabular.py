"""Reading and writing the CSV files of the command line: file checks, located read errors, CSV/JSON
output written atomically.

Output is safe to open (docs/science/decisions.md D-19.1): every CSV written through `csv_text` / `emit_table`
neutralises the
text cells a spreadsheet would execute as a formula (CSV injection), and `write_atomic` writes only to a
regular file (never replaces a device node, a FIFO or a socket).

The column validators the engines use on the frames read here live in `cartrial.columns` (no I/O there).
"""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import re
import stat
import sys
import tempfile
import warnings
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cartrial.allowed import choice_text
from cartrial.columns import BLANKS, FIRST_DATA_ROW, header_names, positional, trim_blanks
from cartrial.errors import InputError, Problem
from cartrial.sources import special_kind

# The csv module refuses a cell longer than 131,072 characters by default, pandas' reader does not: a form
# with a long quoted note (a pasted narrative) was refused as "not a readable CSV file" by the row checks
# that split the file with the csv module, while the same cell unquoted was read. The file is already in
# memory when it is split, so a cell may be as long as pandas reads it (D-19.578); 2**31 - 1 is the largest
# limit the C long of every platform holds.
csv.field_size_limit(2**31 - 1)

MAX_CELL_CHARACTERS = 1_000_000
"""The longest cell a CSV reader accepts (D-19.581): a pasted narrative of some 150 pages; no form field
needs more. A longer cell is refused at its file, row and column before any row check splits the file again
(that split peaked near 10 times the cell's size: a 50 MB quoted cell took ~476 MB)."""

LONG_CELLS_LISTED = 50
"""Over-long cells listed per column; the rest are counted in one problem (D-19.793)."""


def _longest_text(values: np.ndarray) -> int:
    """The length of the longest text among `values` (0 for none); a cell that is not a text counts 0."""
    if not len(values):
        return 0
    try:
        return max(map(len, values))
    except TypeError:  # a NaN or None among the texts
        return max((len(v) for v in values if isinstance(v, str)), default=0)


def refuse_long_cells(
    file: Path | str, frame: pd.DataFrame, rows: Sequence[int] | None = None, size: int | None = None
) -> None:
    """`InputError` naming each cell of `frame` longer than `MAX_CELL_CHARACTERS` (file, spreadsheet row,
    column and the limit; never the cell). `rows`: the spreadsheet row of each frame row (default: position
    + `FIRST_DATA_ROW`). `size`: the bytes the frame was read from; at most the limit, no cell can exceed it
    (a character is at least one byte), and nothing is scanned."""
    problems = long_cell_problems(file, frame, rows, size)
    if problems:
        raise InputError(problems)


def long_cell_problems(
    file: Path | str,
    frame: pd.DataFrame,
    rows: Sequence[int] | None = None,
    size: int | None = None,
    *,
    blank: bool = False,
    emptied: set[tuple[int, str]] | None = None,
    listed: dict[str, int] | None = None,
) -> list[Problem]:
    """The problem of each cell of `frame` longer than `MAX_CELL_CHARACTERS` (as `refuse_long_cells`).
    `blank`: each such cell is emptied in `frame`, so that a reader reporting every problem of its file
    validates the other cells without the text (D-19.793); whoever validates them drops the problems of the
    emptied cells (a blank required cell): `emptied` receives each emptied cell as (spreadsheet row,
    column), every one, not only the 50 per column listed (the rest are counted in one problem). `listed`:
    the over-long cells per column found by earlier calls on the same file (a streamed file's earlier
    chunks), updated here, so that the 50 per column hold for the whole file, not for each chunk."""
    if size is not None and size <= MAX_CELL_CHARACTERS:
        return []
    problems: list[Problem] = []
    numbers = np.asarray(rows) if rows is not None else np.arange(len(frame)) + FIRST_DATA_ROW
    for position_of_column, column in enumerate(frame.columns):
        cells = frame.iloc[:, position_of_column]
        if not (cells.dtype == object or isinstance(cells.dtype, pd.StringDtype)):
            continue  # numbers, dates, booleans: never a long text
        if _longest_text(cells.to_numpy(dtype=object)) <= MAX_CELL_CHARACTERS:
            continue  # the usual case: one pass of len() in C, no Series built (review2 L3)
        lengths = cells.str.len().to_numpy(dtype=float, na_value=0.0)
        over = np.flatnonzero(lengths > MAX_CELL_CHARACTERS)
        before = 0 if listed is None else listed.get(str(column), 0)
        quota = max(LONG_CELLS_LISTED - before, 0)
        if listed is not None:
            listed[str(column)] = before + int(over.size)
        for position in over[:quota]:
            problems.append(
                Problem(
                    f"the cell is too long ({int(lengths[position]):,} characters)",
                    file=str(file),
                    row=int(numbers[position]),
                    field=str(column),
                    allowed=f"at most {MAX_CELL_CHARACTERS:,} characters per cell",
                )
            )
        if over.size > quota:
            problems.append(
                Problem(
                    f"and {over.size - quota} more cell(s) of this column too long",
                    file=str(file),
                    field=str(column),
                    allowed=f"at most {MAX_CELL_CHARACTERS:,} characters per cell",
                )
            )
        if blank:
            frame.iloc[over, position_of_column] = ""
            if emptied is not None:
                emptied.update((int(numbers[position]), str(column)) for position in over)
    return problems


def read_csv(
    path: str | Path,
    required: Sequence[str] = (),
    optional: Sequence[str] = (),
    one_of: Sequence[Sequence[str]] = (),
    allow_extra: bool = True,
    header_only: bool = False,
    long_cells: list[Problem] | None = None,
    emptied: set[tuple[int, str]] | None = None,
) -> pd.DataFrame:
    """Read a CSV file as strings (blank cells become ''), checking its header.

    `required` columns must all be present; for each group in `one_of` at least one column must be present
    (for example ``("temperature_c", "temperature_f")``). Unknown columns are kept (they are echoed to the
    output) unless `allow_extra` is false.

    A file with a header and no data rows (empty rows at the end do not count) is refused, ``FILE: no data
    rows (header only)``: a command given nothing to compute never prints an empty result with exit 0. A
    reader whose file may legitimately list nothing passes `header_only` (a form with no records yet to
    import, the therapies, relapses or DLTs of a study that had none; decisions D-19.41).

    `long_cells`: a cell over `MAX_CELL_CHARACTERS` is appended to this list as its problem and emptied in
    the frame, instead of refusing the file (the import reports it with the file's other problems, D-19.793);
    `emptied` receives each emptied cell (spreadsheet row, column), a row emptied by it alone is no empty
    row, and a refusal of the file after it (a short row) lists the long cells too.
    """
    file = Path(path)
    if not file.exists():
        raise InputError(Problem("file not found", file=str(file)))
    if file.is_dir():
        raise InputError(Problem("is a directory, expected a CSV file", file=str(file)))
    # read once: every check and the parse below see these bytes, never a file changed in between (D-19.1165)
    data = _read_bytes(file)
    refuse_nul_in(file, data)
    header = _header_of(file, data)
    try:
        with warnings.catch_warnings():
            # a data row longer than the header: pandas would drop the extra cells (index_col=False) or,
            # worse, silently use the first column as the index; both become a located error here
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.BytesIO(data),
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skipinitialspace=True,
                encoding="utf-8-sig",
                index_col=False,
                # blank lines are kept so that frame position + 2 stays the spreadsheet row number
                skip_blank_lines=False,
            )
    except pd.errors.EmptyDataError:
        raise InputError(Problem("the file is empty; expected a CSV header row", file=str(file))) from None
    except (pd.errors.ParserError, pd.errors.ParserWarning):
        raise InputError(_ragged_rows(file, data, len(header))) from None
    except UnicodeDecodeError:
        _decoded(file, data)  # raises with the row of the bad byte
        raise
    frame.columns = [trim_blanks(str(c)) for c in frame.columns]  # checked in `_read_header` (D-19.523)
    # before the row checks split the file with the csv module again (D-19.581)
    if long_cells is None:
        refuse_long_cells(file, frame, size=len(data))
    else:  # the caller reports them with the file's other problems, the cells emptied (D-19.793)
        cells: set[tuple[int, str]] = set() if emptied is None else emptied
        found = long_cell_problems(file, frame, size=len(data), blank=True, emptied=cells)
        long_cells.extend(found)
        try:
            return _checked_frame(
                file, data, frame, header, required, optional, one_of, allow_extra, header_only, cells
            )
        except InputError as error:  # the long cells are problems of the file too (D-19.793)
            if not found:
                raise
            raise InputError([*found, *error.problems]) from None
    return _checked_frame(
        file, data, frame, header, required, optional, one_of, allow_extra, header_only, set()
    )


def _checked_frame(
    file: Path,
    data: bytes,
    frame: pd.DataFrame,
    header: list[str],
    required: Sequence[str],
    optional: Sequence[str],
    one_of: Sequence[Sequence[str]],
    allow_extra: bool,
    header_only: bool,
    emptied: set[tuple[int, str]],
) -> pd.DataFrame:
    """`read_csv`'s checks of the header and rows of `frame` (parsed from `data`, the file's bytes);
    `emptied`: cells a long-cell check emptied (their rows are not empty rows)."""
    problems: list[Problem] = []
    # pandas renames a repeated column "a" to "a.1"; the header as written decides
    duplicated = sorted({c for c in header if header.count(c) > 1})
    for column in duplicated:
        problems.append(Problem("column appears more than once", file=str(file), field=column))
    known = set(required) | set(optional) | {c for group in one_of for c in group}
    hint = _delimiter_hint(header, known)
    if hint:
        # every expected column is "missing" because the header was read as one cell: say why, once
        raise InputError(Problem(hint, file=str(file), row=1, allowed="comma-separated values"))
    for column in required:
        if column not in frame.columns:
            problems.append(
                Problem(
                    "required column is missing", file=str(file), field=column, allowed=", ".join(required)
                )
            )
    for group in one_of:
        if not any(c in frame.columns for c in group):
            problems.append(
                Problem(
                    "one of these columns is required",
                    file=str(file),
                    field=" | ".join(group),
                    allowed=" or ".join(group),
                )
            )
    if not allow_extra:
        for column in frame.columns:
            if column not in known:
                problems.append(
                    Problem(
                        "unknown column", file=str(file), field=column, allowed=choice_text(sorted(known))
                    )
                )
    if problems:
        raise InputError(problems)
    trim_cells(frame)
    _refuse_short_rows(file, data, frame)
    frame = _drop_trailing_empty_rows(file, positional(frame), {row - FIRST_DATA_ROW for row, _ in emptied})
    if frame.empty and not header_only:
        raise InputError(
            Problem("no data rows (header only)", file=str(file), allowed="at least one data row")
        )
    return frame


_BLANK = f"[{re.escape(BLANKS)}]"
_EDGE_BLANK = re.compile(f"{_BLANK}\x00|\x00{_BLANK}|\\A{_BLANK}|{_BLANK}\\Z")  # \x00 joins cells


def trim_cells(frame: pd.DataFrame) -> None:
    """Trim `cartrial.columns.BLANKS` (space, tab, CR, LF) from the edges of every cell of `frame`, in
    place; any other space is kept for the field's rule to judge (D-19.445). A column is scanned once,
    joined, and trimmed only when a cell has such an edge (most columns have none, and stripping a million
    cells one by one is slow)."""
    for column in frame.columns:
        joined = "\x00".join(frame[column].tolist())
        if any(blank in joined for blank in BLANKS) and _EDGE_BLANK.search(joined):
            frame[column] = frame[column].str.strip(BLANKS)


def _drop_trailing_empty_rows(file: Path, frame: pd.DataFrame, filled: Collection[int] = ()) -> pd.DataFrame:
    """Drop empty rows at the end of the file; an empty row between data rows is an error at its row
    (skipping it silently would shift every later row number). `filled`: frame positions of rows that hold
    a cell emptied by the reader (an over-long cell, D-19.793): never empty."""
    if frame.empty or not len(frame.columns):
        return frame
    # rows whose first cell is blank are few: only they are checked across all columns
    empty = frame.iloc[:, 0].to_numpy(dtype=object) == ""
    for position in np.flatnonzero(empty):
        empty[position] = position not in filled and all(cell == "" for cell in frame.iloc[position])
    kept = np.flatnonzero(~empty)
    end = int(kept[-1]) + 1 if kept.size else 0
    inner = np.flatnonzero(empty[:end])
    if inner.size:
        raise InputError(
            [
                Problem(
                    "empty row between data rows",
                    file=str(file),
                    row=int(position) + FIRST_DATA_ROW,
                    allowed="delete the empty row (empty rows are allowed only at the end of the file)",
                )
                for position in inner[:50]
            ],
            header=f"{file}: {inner.size} empty row(s) between data rows; nothing was written",
        )
    return frame.iloc[:end]


def _decode_problem(file: Path, data: bytes, exc: UnicodeDecodeError) -> Problem:
    row = data.count(b"\n", 0, exc.start) + 1
    return Problem(
        f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be decoded ({exc.reason})",
        file=str(file),
        row=row,
        allowed="UTF-8 text (save the file as 'CSV UTF-8'); a UTF-8 byte-order mark is accepted",
    )


def _read_bytes(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as exc:
        raise InputError(Problem(f"cannot read the file: {exc.strerror}", file=str(file))) from None


def _decoded(file: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(_decode_problem(file, data, exc)) from None


def _nul_problem(file: Path, row: int) -> Problem:
    return Problem(
        "the file contains a NUL byte (binary data)",
        file=str(file),
        row=row,
        allowed="UTF-8 text without NUL bytes",
    )


def refuse_nul_bytes(file: Path, block_bytes: int = 1 << 24) -> None:
    """`InputError` at the row of the first NUL byte: valid UTF-8, but binary data, and pandas' parser would
    end the cell there and drop the rest of it silently. One C-speed scan per block (flat memory)."""
    newlines = 0
    with file.open("rb") as handle:
        while block := handle.read(block_bytes):
            at = block.find(b"\x00")
            if at >= 0:
                raise InputError(_nul_problem(file, newlines + block.count(b"\n", 0, at) + 1))
            newlines += block.count(b"\n")


def refuse_nul_in(file: Path, data: bytes) -> None:
    """`refuse_nul_bytes` for the bytes `data` of `file` already read (the one rule and message)."""
    at = data.find(b"\x00")
    if at >= 0:
        raise InputError(_nul_problem(file, data.count(b"\n", 0, at) + 1))


def _read_header(file: Path) -> list[str]:
    """The header row of `file` as `_header_of` reads it, reading only the start of the file (the streamed
    import's readers)."""
    try:
        with file.open("rb") as handle:
            first = handle.readline()
    except OSError as exc:
        raise InputError(Problem(f"cannot read the file: {exc.strerror}", file=str(file))) from None
    if b'"' in first:  # a quoted header may run over lines: read as the whole-file reader reads it
        return _header_of(file, _read_bytes(file))
    return _header_of(file, first)


def _header_of(file: Path, data: bytes) -> list[str]:
    """The header row of the bytes `data` (the file or its start) as written (names without `BLANKS` at
    their edges, `columns.header_names`: another space or invisible character there is refused, D-19.523);
    `InputError` if it is not UTF-8, or holds a NUL byte (at row 1, D-19.1164: the streamed import reads
    the rows after it only). Only the first record is decoded and parsed, never the whole file (a copy of
    it and a StringIO of that, D-19.1170); a byte that is not UTF-8 is named at its row (`_decoded`)."""
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    try:
        first = next(csv.reader(text), [])
    except UnicodeDecodeError:
        _decoded(file, data)  # raises with the row of the bad byte
        raise
    if any("\x00" in name for name in first):
        raise InputError(_nul_problem(file, 1))
    return header_names(first, file)


def _data_records(file: Path, data: bytes) -> Iterator[list[str]]:
    """The data rows of `file` (its bytes `data`) as the csv module splits them (universal newlines, as pandas
    reads them); a file the csv module cannot split is an `InputError` at the row where it stops."""
    reader = csv.reader(io.StringIO(_decoded(file, data), newline=None))
    try:
        next(reader, None)
        yield from reader
    except csv.Error as exc:
        raise InputError(
            Problem(f"not a readable CSV file: {exc}", file=str(file), row=reader.line_num)
        ) from None


def _ragged_rows(file: Path, data: bytes, n_columns: int) -> list[Problem]:
    """One problem per data row with more cells than the header (spreadsheet row numbers)."""
    problems: list[Problem] = []
    for position, row in enumerate(_data_records(file, data)):
        if len(row) > n_columns:
            problems.append(
                Problem(
                    f"the row has {len(row)} cells but the header has {n_columns} columns",
                    file=str(file),
                    row=position + FIRST_DATA_ROW,
                    allowed=f"at most {n_columns} cells per row (quote cells that contain commas)",
                )
            )
    return problems or [_unclosed_quote(file, data) or Problem("not a readable CSV file", file=str(file))]


def _unclosed_quote(file: Path, data: bytes) -> Problem | None:
    """The problem of a quoted cell never closed (it runs to the end of the file, swallowing every later
    row), at the row and line where it opens (D-19.200); None when the file has no such cell."""
    reader = csv.reader(io.StringIO(_decoded(file, data), newline=None), strict=True)
    record, line = 0, 1  # the record (0: the header) and the line the next one starts on
    try:
        for _ in reader:
            record, line = record + 1, reader.line_num + 1
    except csv.Error as exc:
        if "unexpected end of data" not in str(exc):
            return None
        return Problem(
            'a quote (") opens a cell that is never closed: every later row would be read into it',
            file=str(file),
            row=record + 1,
            line=line if line != record + 1 else None,  # named when a multi-line cell came before
            allowed='a closing quote; a quote inside a quoted cell is written twice ("")',
        )
    return None


def _refuse_short_rows(file: Path, data: bytes, frame: pd.DataFrame) -> None:
    """`InputError` naming every data row with fewer cells than the header (issue 19 §1: one rule for ragged
    rows in every reader). pandas pads a short row with blanks silently; only a row whose last cell is blank
    can be one, so only those rows are checked: by counting commas when the file has no quote character (a
    line is then exactly a row), else by splitting the file with the csv module. A blank line (only white
    space) is not a short row: empty rows are handled by `_drop_trailing_empty_rows`."""
    n_columns = len(frame.columns)
    if frame.empty or n_columns < 2:
        return
    candidates = np.flatnonzero(frame.iloc[:, -1].to_numpy(dtype=object) == "")
    if not candidates.size:
        return
    text = _decoded(file, data)
    lengths: dict[int, int] = {}
    if b'"' not in data and b"\r" not in data:
        lengths = _short_lines(data, candidates, n_columns)
    elif '"' not in text:
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        for position in candidates.tolist():
            line = lines[position + 1] if position + 1 < len(lines) else ""
            if line.strip() and line.count(",") < n_columns - 1:
                lengths[position] = line.count(",") + 1
    else:
        wanted = set(candidates.tolist())
        for position, row in enumerate(_data_records(file, data)):
            if position in wanted and len(row) < n_columns and any(cell.strip() for cell in row):
                lengths[position] = len(row)
    problems = [
        Problem(
            f"the row has {cells} cells but the header has {n_columns} columns",
            file=str(file),
            row=position + FIRST_DATA_ROW,
            allowed=f"{n_columns} cells per row (leave a cell empty with ,,)",
        )
        for position, cells in sorted(lengths.items())
    ]
    if len(problems) > 50:
        raise InputError(
            problems[:50], header=f"{file}: {len(problems)} rows with fewer cells than the header"
        )
    if problems:
        raise InputError(problems)


def _short_lines(data: bytes, candidates: np.ndarray, n_columns: int) -> dict[int, int]:
    """For a file without quote characters or carriage returns (a line is then exactly a row): data row
    (frame position) -> cells, for each candidate row whose line has fewer than `n_columns` cells and is
    not blank. The commas of every line are counted at once (positions of commas and line feeds in the
    bytes; both are single bytes in UTF-8), not line by line."""
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(raw == ord("\n"))
    commas = np.flatnonzero(raw == ord(","))
    # commas before each line's end; line k runs from the end of line k - 1 to its own end (or the file's)
    before_end = np.searchsorted(commas, np.append(ends, len(raw)))
    per_line = np.diff(before_end, prepend=0)
    lines = candidates + 1
    lines = lines[lines < len(per_line)]  # a row past the last line is blank
    short = lines[per_line[lines] < n_columns - 1]
    starts = np.append(0, ends + 1)
    out: dict[int, int] = {}
    for line in short.tolist():
        stop = int(ends[line]) if line < len(ends) else len(raw)
        if data[int(starts[line]) : stop].decode("utf-8").strip():
            out[line - 1] = int(per_line[line]) + 1
    return out


def _delimiter_hint(header: list[str], known: set[str]) -> str:
    """A message when the header was read as one cell holding expected names joined by ';', tab or '|'."""
    if len(header) != 1:
        return ""
    for delimiter, name in ((";", "';'"), ("\t", "a tab"), ("|", "'|'")):
        parts = {part.strip() for part in header[0].split(delimiter)}
        if len(parts) > 1 and parts & known:
            return f"the header is a single column: the file seems to use {name} as delimiter, not ','"
    return ""


def _jsonable(value: Any) -> Any:
    """A JSON-ready form of one value: non-finite numbers become null, numpy scalars Python numbers,
    date-times and dates ISO 8601 text, containers converted element by element."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, datetime | date | pd.Timestamp):
        return None if value is pd.NaT else value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    return value


def to_json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: NaN becomes null, numpy scalars become Python numbers."""
    return [{str(k): _jsonable(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def dumps_json(payload: Any) -> str:
    """Indented JSON of `payload`; every non-finite number (NaN, ±inf) is written as null, never as the
    invalid tokens NaN/Infinity."""
    return json.dumps(_jsonable(payload), indent=2, default=_jsonable, ensure_ascii=False, allow_nan=False)


#: First characters that make a spreadsheet (Excel, LibreOffice, Google Sheets) read a cell as a formula
#: (OWASP, "CSV Injection": =, +, -, @, tab, carriage return).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START = re.compile(r"[=+\-@\t\r]")
#: A plain decimal number as text ("-5", "-0.3", "+1e-3"): a spreadsheet reads it as a number, not a formula.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def neutralise_cell(value: Any) -> Any:
    """`value` made safe for a spreadsheet: a text cell starting with a formula trigger (`FORMULA_TRIGGERS`)
    gets a leading single quote, as the OWASP CSV-injection guidance recommends; numbers, text that is a
    plain number (``"-5"``, ``"-0.3"``), the lone dash a table writes for "not applicable" (nothing follows
    the trigger, so nothing can run) and every other value are returned unchanged.

    >>> print(neutralise_cell('=HYPERLINK("http://x","click")'))
    '=HYPERLINK("http://x","click")
    >>> neutralise_cell("-0.3"), neutralise_cell(-5), neutralise_cell("SCR-001"), neutralise_cell("-")
    ('-0.3', -5, 'SCR-001', '-')
    """
    if (
        isinstance(value, str)
        and _FORMULA_START.match(value)
        and value != "-"
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with every text cell and column name passed through `neutralise_cell` (a copy only when
    something changes; numeric columns are never touched)."""
    return _neutralised(frame)[0]


def _may_hold_text(dtype: Any) -> bool:
    """Whether a column of this dtype can hold text cells (object, string or categorical)."""
    return bool(
        pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    )


def _joined_text(cells: pd.Series) -> str:
    """The column's text cells joined by NUL (one C-speed string for substring scans)."""
    values = cells.tolist()
    try:
        return "\x00".join(values)
    except TypeError:  # missing values or non-text objects among the text
        return "\x00".join(v for v in values if isinstance(v, str))


def _neutralised(frame: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """`neutralise_frame`, and whether any text cell or column name holds a carriage return. Columns are
    scanned as one joined string first (most have no risky cell), cell by cell only when needed."""
    safe = frame
    carriage_return = False
    for position in range(len(frame.columns)):
        cells = frame.iloc[:, position]
        if not _may_hold_text(cells.dtype):
            continue
        joined = _joined_text(cells)
        carriage_return = carriage_return or "\r" in joined
        if not joined.startswith(FORMULA_TRIGGERS) and not any(
            "\x00" + trigger in joined for trigger in FORMULA_TRIGGERS
        ):
            continue
        fixed = cells.astype(object).map(neutralise_cell)
        if fixed.equals(cells.astype(object)):
            continue  # only plain numbers such as "-5"
        if safe is frame:
            safe = frame.copy()
        safe.isetitem(position, fixed)
    names = [neutralise_cell(c) for c in frame.columns]
    carriage_return = carriage_return or any(isinstance(c, str) and "\r" in c for c in frame.columns)
    if names != list(frame.columns):
        if safe is frame:
            safe = frame.copy()
        safe.columns = names
    return safe, carriage_return


def csv_float(value: float) -> str:
    """How a CSV output writes a float: its shortest form (as pandas and Python write it, "2.0" for a whole
    number) after rounding to 15 significant digits — the digits a decimal number keeps through a binary
    double (IEEE 754 DBL_DIG), as R's ``write.csv`` does. It drops the binary noise of the 16th and 17th
    digits: 0.8999999999999999 is written 0.9, 0.30000000000000004 is 0.3 (D-19.221).

    >>> csv_float(1 - 0.1), csv_float(0.1 + 0.2), csv_float(2.0), csv_float(1198.8091234567891)
    ('0.9', '0.3', '2.0', '1198.80912345679')
    """
    rounded = float(f"{value:.15g}")
    # the largest doubles round past the largest double: written as they are, never as inf
    return repr(rounded if math.isfinite(rounded) or not math.isfinite(value) else value)


def csv_text(frame: pd.DataFrame, *, header: bool = True) -> str:
    """The CSV text of `frame` (no index, ``\n`` line ends) with formula-like text cells neutralised
    (`neutralise_frame`): the one way the command line writes a CSV.

    A text cell holding a carriage return would be written unquoted (Python's csv quotes only the
    characters of the line terminator), and a reader would split the row there; a table with such a cell is
    written with every cell quoted, so it reads back intact. ``header=False`` writes the rows only (a later
    chunk of a long output)."""
    safe, carriage_return = _neutralised(frame)
    quoting = csv.QUOTE_ALL if carriage_return else csv.QUOTE_MINIMAL
    return str(
        safe.to_csv(index=False, header=header, lineterminator="\n", quoting=quoting, float_format=csv_float)
    )


def csv_cells(frame: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Header and rows of `frame` as text, exactly as `csv_text` writes them (a blank cell for a missing
    value): the one cell text of a table shown from an analysis dataset, in the report and on the web
    pages."""
    rows = list(csv.reader(io.StringIO(csv_text(frame))))
    if not rows:
        return [str(c) for c in frame.columns], []
    return rows[0], rows[1:]


def refuse_special_target(target: Path) -> None:
    """`InputError` when `target` exists and is not a regular file (a folder, a device, a FIFO, a socket):
    writing would replace or block on it."""
    try:
        mode = target.stat().st_mode  # follows a symbolic link to what it points at
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InputError(Problem(f"cannot write the file: {exc.strerror or exc}", file=str(target))) from None
    if stat.S_ISDIR(mode):
        raise InputError(Problem("is a folder; give a file name to write", file=str(target)))
    kind = special_kind(mode)
    if kind is not None:
        raise InputError(
            Problem(
                f"is {kind}, not a regular file; refusing to replace it",
                file=str(target),
                allowed="a new file or an existing regular file",
            )
        )


def write_atomic(path: str | Path, text: str) -> None:
    """Write `text` to `path` through a temporary file and a rename, so a reader never sees half a file.

    A folder, a device, a FIFO or a socket as `path`, or a place that cannot be written, is an `InputError`
    naming the file (nothing is left behind, nothing is replaced). A symbolic link as `path` is replaced by
    the new file, never written through (the rename removes the link itself, nothing it points at is
    written); the command line refuses a single-file output that is a link before its work
    (`check_output_file`, D-19.1048)."""
    target = Path(path)
    refuse_special_target(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise InputError(Problem(f"cannot write the file: {exc.strerror or exc}", file=str(target))) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(Problem(f"cannot write the file: {exc.strerror or exc}", file=str(target))) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


STAGE_PREFIX = ".cartrial-stage-"
"""Name prefix of the temporary folder `staged_folder` writes into: hidden, and plainly cartrial's."""


def folder_creation_error(out: str | Path) -> OSError | None:
    """The error ``Path(out).mkdir(parents=True, exist_ok=True)`` would raise for a folder that exists as
    something else (``File exists``) or lies under a file (``Not a directory``), found WITHOUT creating
    anything; None when neither holds. A command writing a folder asks this before its work, so a bad
    ``--out`` is refused in the words its writer would use, not after minutes of work (D-19.874)."""
    import errno

    target = Path(out)
    for place in (target, *target.parents):
        try:
            mode = place.stat().st_mode
        except FileNotFoundError:
            continue
        except NotADirectoryError:
            return NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(target))
        except OSError:
            return None  # cannot be told here: the writer names it
        if stat.S_ISDIR(mode):
            return None
        if place == target:
            return FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target))
        return NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(target))
    return None


def check_output_file(out: str | Path, field: str = "--out") -> None:
    """`InputError` (naming the file and `field`) when `out` cannot be the one file a command writes
    (`write_atomic`: a temporary file beside it, then a rename), found WITHOUT creating or opening anything:
    it is a folder, a FIFO, a device or a socket, a symbolic link (an output is never written through a link,
    D-19.1048), lies under a file, or neither it (when it exists) nor the
    nearest existing folder above it may be written in (a read-only file system or folder). A missing folder
    above it that can be made is no problem (the writer makes it). The one check a command writing a file
    makes before its work, so a bad ``--out`` is refused in seconds, not after the work or half of the
    writes (the command line calls it for every file output, `cartrial.cli`; D-19.907)."""
    from cartrial.sources import special_kind

    target = Path(out)

    def refused(message: str, allowed: str | None = None) -> InputError:
        return InputError(Problem(message, file=str(target), field=field, allowed=allowed))

    try:
        mode: int | None = target.stat().st_mode  # follows a symbolic link to what it points at
    except FileNotFoundError:
        mode = None
    except NotADirectoryError:
        mode = None  # under a file: `folder_creation_error` below names it
    except OSError as exc:
        raise refused(f"cannot write the file: {exc.strerror or exc}") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise refused("is a folder; give a file name to write", "a file name (new or an existing file)")
    kind = None if mode is None else special_kind(mode)
    if kind is not None:
        raise refused(
            f"is {kind}, not a regular file; refusing to replace it", "a new file or an existing regular file"
        )
    if target.is_symlink():  # written through, it could reach an input or a device; replaced, lose a file
        raise refused(
            "is a symbolic link; an output is not written through a link",
            "a regular file or a new path; give the file the link points to",
        )
    if folder_creation_error(target.parent) is not None:  # its folder, or one above, is a file
        raise refused(f"cannot create the folder of the file: {os.strerror(errno.ENOTDIR)}")
    if mode is not None and not os.access(target, os.W_OK):
        raise refused(f"cannot write the file: {os.strerror(errno.EACCES)} (read-only)")
    folder = next((p for p in (target.parent, *target.parent.parents) if p.is_dir()), None)
    if folder is not None and not os.access(folder, os.W_OK | os.X_OK):
        raise refused(
            f"cannot write the file: {os.strerror(errno.EACCES)} in the folder {folder} (read-only)"
        )


def check_output_folder(out: str | Path, field: str = "--out") -> None:
    """`InputError` (the words of `staged_folder`) when `out` cannot be a result folder: it exists and is not
    a folder, or it lies under a file. Creates nothing; `staged_folder` checks this first, and a command
    calls it before its work (D-19.874)."""
    target = Path(out)
    if target.exists() and not target.is_dir():
        raise InputError(
            Problem("not a folder", field=field, file=str(target), allowed="a folder (new or existing)")
        )
    error = folder_creation_error(target)
    if error is not None:
        raise InputError(
            Problem(f"cannot create the output folder: {error.strerror}", file=str(target), field=field)
        )


@contextmanager
def staged_folder(out: str | Path, field: str = "--out") -> Iterator[Path]:
    """A temporary folder to write a multi-file result into; when the block ends without an error, every
    file written there is moved to the same place under `out`, else the temporary folder is removed and
    `out` is exactly as it was: nothing the user gave is lost or half-written, no earlier file of `out` is
    touched (D-19.501).

    When `out` exists the temporary folder is made INSIDE it (``.cartrial-stage-XXXX``, removed after), so
    each move is a rename on the file system of `out` itself — a bind mount or a symbolic link to another
    disk works, and so does a folder the user may write in under a parent they may not (D-19.538). When
    `out` is new the temporary folder is made beside it and renamed to `out` whole. Before the first move
    every destination folder is checked writable; a move that still fails says how many files were already
    moved. A file of `out` that the result also holds is replaced; other files of `out` are left alone. A
    place where the temporary folder cannot be made is an `InputError` naming `out` and `field`."""
    import shutil

    target = Path(out)
    check_output_folder(target, field)
    existing = target.is_dir()
    try:
        if existing:
            stage = Path(tempfile.mkdtemp(prefix=STAGE_PREFIX, dir=target.resolve()))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            stage = _new_folder_beside(target)
    except OSError as exc:
        raise InputError(
            Problem(f"cannot create the output folder: {exc.strerror or exc}", file=str(target), field=field)
        ) from None
    try:
        try:
            yield stage
        except InputError as exc:  # a file is named where the user will look for it, not in the stage
            raise InputError([_unstaged(p, stage, target) for p in exc.problems], header=exc.header) from None
        if not existing and not target.exists() and not target.is_symlink():
            try:
                os.rename(stage, target)  # a new folder, whole: atomic within its parent
                return
            except OSError:
                pass  # made meanwhile: moved file by file below
        _move_staged(stage, target, field)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _new_folder_beside(target: Path) -> Path:
    """A new empty folder beside `target` with a hidden unique name, made with the process's default mode
    (`mkdtemp` makes 0700, which a folder renamed to `target` would keep)."""
    import secrets

    while True:
        stage = target.parent / f"{STAGE_PREFIX}{target.name}.{secrets.token_hex(4)}"
        try:
            stage.mkdir()
            return stage
        except FileExistsError:
            continue


def _move_staged(stage: Path, target: Path, field: str) -> None:
    """Move every file of `stage` to its place under `target`; every destination is checked (not a folder or
    device, its folder writable) before the first move (D-19.538)."""
    staged = sorted(p for p in stage.rglob("*") if p.is_file() and not p.is_symlink())
    for path in staged:  # refused before the first file moves: a folder where a file goes
        refuse_special_target(target / path.relative_to(stage))
    for folder in sorted({(target / path.relative_to(stage)).parent for path in staged}):
        existing = folder
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not (existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)):
            raise InputError(
                Problem("cannot write the output folder: permission denied", file=str(folder), field=field)
            )
    moved: list[str] = []
    try:
        for path in staged:
            name = path.relative_to(stage)
            final = target / name
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, final)  # a link there is replaced, nothing it points at written (D-19.1048)
            moved.append(name.as_posix())
    except OSError as exc:
        done = f"; {len(moved)} of {len(staged)} files were already moved"
        if moved:
            shown = ", ".join(moved[:10]) + (", …" if len(moved) > 10 else "")
            done += f" ({shown})"
        raise InputError(
            Problem(
                f"cannot write the output folder: {exc.strerror or exc}{done}", file=str(target), field=field
            )
        ) from None


def _unstaged(problem: Problem, stage: Path, target: Path) -> Problem:
    """`problem` with a file of the staging folder named by its place under the output folder."""
    import dataclasses

    if problem.file and problem.file.startswith(str(stage)):
        return dataclasses.replace(problem, file=str(target) + problem.file[len(str(stage)) :])
    return problem


def emit_table(
    frame: pd.DataFrame, out: str | Path | None, as_json: bool, extra: dict[str, Any] | None = None
) -> None:
    """Write a result table as CSV (default; formula-like text cells neutralised, see `csv_text`) or JSON
    to `out`, or to stdout when `out` is None.

    With `extra`, JSON output is an object ``{**extra, "rows": [...]}`` (for example the options used);
    without it, a plain list of rows.
    """
    if as_json:
        rows = to_json_records(frame)
        text = dumps_json({**extra, "rows": rows} if extra else rows) + "\n"
    else:
        text = csv_text(frame)
    if out is None:
        sys.stdout.write(text)
    else:
        write_atomic(out, text)
