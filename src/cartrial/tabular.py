"""Reading and writing the CSV files of the batch commands, with column-wise validation.

Every validator takes a DataFrame of strings (as read by `read_csv`), checks one column for all rows at
once, appends a located `Problem` for each bad row to a `RowProblems` collection, and returns the parsed
column (NaN / None where the value was bad or blank). Commands then either fail listing every problem
(the default) or, with ``--keep-going``, process the good rows and write an ``error`` column for the bad
ones: no row is ever dropped silently.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import sys
import tempfile
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cartrial.errors import InputError, Problem

FIRST_DATA_ROW = 2  # spreadsheet numbering: the header is row 1

TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0"})


class RowProblems:
    """Problems found in one CSV file, keyed by spreadsheet row number."""

    def __init__(self, file: str | Path) -> None:
        self.file = str(file)
        self.by_row: dict[int, list[Problem]] = defaultdict(list)
        self.file_level: list[Problem] = []

    def add(
        self,
        index: int | np.integer,
        column: str | None,
        value: Any,
        message: str,
        allowed: str | None = None,
    ) -> None:
        """Record a problem for the data row at 0-based position `index`."""
        row = int(index) + FIRST_DATA_ROW
        self.by_row[row].append(
            Problem(message, file=self.file, row=row, field=column, value=value, allowed=allowed)
        )

    def add_file_problem(self, message: str, field: str | None = None, allowed: str | None = None) -> None:
        self.file_level.append(Problem(message, file=self.file, field=field, allowed=allowed))

    def __bool__(self) -> bool:
        return bool(self.by_row) or bool(self.file_level)

    def all(self) -> list[Problem]:
        return [*self.file_level, *(p for row in sorted(self.by_row) for p in self.by_row[row])]

    def bad_mask(self, n_rows: int) -> np.ndarray:
        mask = np.zeros(n_rows, dtype=bool)
        for row in self.by_row:
            mask[row - FIRST_DATA_ROW] = True
        return mask

    def error_column(self, n_rows: int) -> list[str]:
        """One text per data row: the problems of that row joined with '; ', or '' for a good row."""
        texts = [""] * n_rows
        for row, problems in self.by_row.items():
            texts[row - FIRST_DATA_ROW] = "; ".join(
                f"{p.field}: {p.message}"
                + (f" (got {p.value!r})" if p.value is not None else "")
                + (f"; allowed: {p.allowed}" if p.allowed else "")
                for p in problems
            )
        return texts

    def raise_if_any(self, keep_going: bool = False) -> None:
        """Raise an InputError listing every problem, unless `keep_going` and all problems are per-row."""
        if self.file_level or (self.by_row and not keep_going):
            problems = self.all()
            raise InputError(problems, header=f"{self.file}: {len(problems)} problem(s); nothing was written")


def read_csv(
    path: str | Path,
    required: Sequence[str] = (),
    optional: Sequence[str] = (),
    one_of: Sequence[Sequence[str]] = (),
    allow_extra: bool = True,
) -> pd.DataFrame:
    """Read a CSV file as strings (blank cells become ''), checking its header.

    `required` columns must all be present; for each group in `one_of` at least one column must be present
    (for example ``("temperature_c", "temperature_f")``). Unknown columns are kept (they are echoed to the
    output) unless `allow_extra` is false.
    """
    file = Path(path)
    if not file.exists():
        raise InputError(Problem("file not found", file=str(file)))
    if file.is_dir():
        raise InputError(Problem("is a directory, expected a CSV file", file=str(file)))
    header = _read_header(file)
    try:
        with warnings.catch_warnings():
            # a data row longer than the header: pandas would drop the extra cells (index_col=False) or,
            # worse, silently use the first column as the index; both become a located error here
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                file,
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
        raise InputError(_ragged_rows(file, len(header))) from None
    except UnicodeDecodeError:
        _read_text(file)  # raises with the row of the bad byte
        raise
    frame.columns = [str(c).strip() for c in frame.columns]
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
                    Problem("unknown column", file=str(file), field=column, allowed=", ".join(sorted(known)))
                )
    if problems:
        raise InputError(problems)
    for column in frame.columns:
        if _needs_strip(frame[column]):
            frame[column] = frame[column].str.strip()
    return _drop_trailing_empty_rows(file, frame.reset_index(drop=True))


_ASCII_SPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f "  # the ASCII characters str.strip() removes
_EDGE_SPACE = re.compile(r"\s\x00|\x00\s|\A\s|\s\Z")  # \x00 joins cells: not white space


def _needs_strip(cells: pd.Series) -> bool:
    """Whether any cell has leading or trailing white space (one C-speed scan of the joined column; most
    columns have none, and stripping a million cells one by one is slow)."""
    joined = "\x00".join(cells.tolist())
    if joined.isascii() and not any(space in joined for space in _ASCII_SPACE):
        return False  # the common case (codes, numbers, dates), found by a few substring scans
    return bool(_EDGE_SPACE.search(joined))


def _drop_trailing_empty_rows(file: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """Drop empty rows at the end of the file; an empty row between data rows is an error at its row
    (skipping it silently would shift every later row number)."""
    if frame.empty or not len(frame.columns):
        return frame
    # rows whose first cell is blank are few: only they are checked across all columns
    empty = frame.iloc[:, 0].to_numpy(dtype=object) == ""
    for position in np.flatnonzero(empty):
        empty[position] = all(cell == "" for cell in frame.iloc[position])
    filled = np.flatnonzero(~empty)
    end = int(filled[-1]) + 1 if filled.size else 0
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


def _read_text(file: Path) -> str:
    """The whole file as text (UTF-8, optional BOM); `InputError` with the row of an undecodable byte."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InputError(Problem(f"cannot read the file: {exc.strerror}", file=str(file))) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(_decode_problem(file, data, exc)) from None


def _read_header(file: Path) -> list[str]:
    """The header row as written (stripped names); `InputError` if it is not UTF-8."""
    try:
        with file.open(encoding="utf-8-sig", newline="") as handle:
            first = next(csv.reader(handle), [])
    except UnicodeDecodeError:
        _read_text(file)  # raises with the row of the bad byte
        raise
    except OSError as exc:
        raise InputError(Problem(f"cannot read the file: {exc.strerror}", file=str(file))) from None
    return [cell.strip() for cell in first]


def _ragged_rows(file: Path, n_columns: int) -> list[Problem]:
    """One problem per data row with more cells than the header (spreadsheet row numbers)."""
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(_read_text(file)))
    next(reader, None)
    for row in reader:
        if len(row) > n_columns:
            problems.append(
                Problem(
                    f"the row has {len(row)} cells but the header has {n_columns} columns",
                    file=str(file),
                    row=reader.line_num,
                    allowed=f"at most {n_columns} cells per row (quote cells that contain commas)",
                )
            )
    return problems or [Problem("not a readable CSV file", file=str(file))]


def _delimiter_hint(header: list[str], known: set[str]) -> str:
    """A message when the header was read as one cell holding expected names joined by ';', tab or '|'."""
    if len(header) != 1:
        return ""
    for delimiter, name in ((";", "';'"), ("\t", "a tab"), ("|", "'|'")):
        parts = {part.strip() for part in header[0].split(delimiter)}
        if len(parts) > 1 and parts & known:
            return f"the header is a single column: the file seems to use {name} as delimiter, not ','"
    return ""


def _cells(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series([""] * len(frame), index=frame.index, dtype=object)
    return frame[column]


def parse_float(
    frame: pd.DataFrame,
    column: str,
    problems: RowProblems,
    *,
    required: bool = True,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    unit: str = "",
) -> np.ndarray:
    """Parse a numeric column; blank is NaN (a problem when `required`); out-of-range values are problems."""
    cells = _cells(frame, column)
    values = pd.to_numeric(cells.mask(cells == ""), errors="coerce").to_numpy(dtype=float)
    blank = (cells == "").to_numpy()
    bounds = _bounds_text(minimum, maximum, exclusive_minimum, unit)
    for i in np.flatnonzero(np.isnan(values) & ~blank):
        problems.add(i, column, cells.iat[i], "not a number", bounds)
    for i in np.flatnonzero(~np.isfinite(values) & ~np.isnan(values)):
        problems.add(i, column, cells.iat[i], "not a finite number", bounds)
        values[i] = np.nan
    if required:
        for i in np.flatnonzero(blank):
            problems.add(i, column, "", "value is required", bounds)
    with np.errstate(invalid="ignore"):
        low = np.zeros(len(values), dtype=bool)
        if minimum is not None:
            low = values <= minimum if exclusive_minimum else values < minimum
        high = values > maximum if maximum is not None else np.zeros(len(values), dtype=bool)
    for i in np.flatnonzero(low | high):
        problems.add(i, column, cells.iat[i], "out of range", bounds)
        values[i] = np.nan
    return values


def parse_int(
    frame: pd.DataFrame,
    column: str,
    problems: RowProblems,
    *,
    required: bool = True,
    minimum: int | None = None,
    maximum: int | None = None,
) -> np.ndarray:
    """Parse a whole-number column into float64 (NaN for blank or bad), checking range and integrality."""
    values = parse_float(frame, column, problems, required=required, minimum=minimum, maximum=maximum)
    cells = _cells(frame, column)
    fractional = np.isfinite(values) & (values != np.round(values))
    for i in np.flatnonzero(fractional):
        problems.add(i, column, cells.iat[i], "not a whole number", _bounds_text(minimum, maximum, False, ""))
        values[i] = np.nan
    return values


def parse_bool(
    frame: pd.DataFrame, column: str, problems: RowProblems, *, required: bool = True, default: bool = False
) -> np.ndarray:
    """Parse true/false (also yes/no, 1/0); blank is `default` unless `required`."""
    cells = _cells(frame, column).str.lower()
    out = np.full(len(cells), default, dtype=bool)
    is_true = cells.isin(TRUE_WORDS).to_numpy()
    is_false = cells.isin(FALSE_WORDS).to_numpy()
    blank = (cells == "").to_numpy()
    out[is_true] = True
    out[is_false] = False
    allowed = "true or false (also yes/no, 1/0)"
    for i in np.flatnonzero(~(is_true | is_false | blank)):
        problems.add(i, column, frame[column].iat[i], "not true or false", allowed)
    if required and column in frame.columns:
        for i in np.flatnonzero(blank):
            problems.add(i, column, "", "value is required", allowed)
    elif required:
        problems.add_file_problem("required column is missing", field=column, allowed=allowed)
    return out


def parse_choice(
    frame: pd.DataFrame,
    column: str,
    choices: Iterable[str],
    problems: RowProblems,
    *,
    required: bool = True,
    default: str | None = None,
) -> np.ndarray:
    """Parse a categorical column (case-insensitive) into an object array of the canonical choice strings."""
    allowed_list = list(choices)
    canonical = {c.lower(): c for c in allowed_list}
    cells = _cells(frame, column)
    out = np.empty(len(cells), dtype=object)
    allowed = " | ".join(allowed_list)
    for i, cell in enumerate(cells):
        if cell == "":
            out[i] = default
            if required and default is None:
                problems.add(i, column, "", "value is required", allowed)
            continue
        value = canonical.get(cell.lower())
        if value is None:
            problems.add(i, column, cell, "unknown category", allowed)
        out[i] = value
    return out


def parse_datetime(
    frame: pd.DataFrame, column: str, problems: RowProblems, *, required: bool = True
) -> list[datetime | None]:
    """Parse ISO 8601 dates or date-times to timezone-aware UTC; a value without offset is taken as UTC."""
    out: list[datetime | None] = []
    allowed = "ISO 8601 date or date-time, e.g. 2021-03-04 or 2021-03-04T08:30:00Z"
    for i, cell in enumerate(_cells(frame, column)):
        if cell == "":
            if required:
                problems.add(i, column, "", "value is required", allowed)
            out.append(None)
            continue
        try:
            moment = datetime.fromisoformat(cell.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            problems.add(i, column, cell, "not an ISO 8601 date or date-time", allowed)
            out.append(None)
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        out.append(moment.astimezone(UTC))
    return out


def parse_text(
    frame: pd.DataFrame, column: str, problems: RowProblems, *, required: bool = True
) -> np.ndarray:
    """A free-text column (for example subject_id); blank is a problem when `required`."""
    cells = _cells(frame, column)
    if required:
        for i in np.flatnonzero((cells == "").to_numpy()):
            problems.add(i, column, "", "value is required", "any non-blank text")
    return cells.to_numpy(dtype=object)


def _bounds_text(minimum: float | None, maximum: float | None, exclusive_minimum: bool, unit: str) -> str:
    unit_text = f" {unit}" if unit else ""
    if minimum is not None and maximum is not None:
        low = ">" if exclusive_minimum else "≥"
        return f"a number {low} {minimum:g} and ≤ {maximum:g}{unit_text}"
    if minimum is not None:
        return f"a number {'>' if exclusive_minimum else '≥'} {minimum:g}{unit_text}"
    if maximum is not None:
        return f"a number ≤ {maximum:g}{unit_text}"
    return f"a number{unit_text}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def to_json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: NaN becomes null, numpy scalars become Python numbers."""
    return [{str(k): _jsonable(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def dumps_json(payload: Any) -> str:
    return json.dumps(payload, indent=2, default=_jsonable, ensure_ascii=False, allow_nan=False)


def write_atomic(path: str | Path, text: str) -> None:
    """Write `text` to `path` through a temporary file and a rename, so a reader never sees half a file.

    A folder as `path`, or a place that cannot be written, is an `InputError` naming the file (nothing is
    left behind)."""
    target = Path(path)
    if target.is_dir():
        raise InputError(Problem("is a folder; give a file name to write", file=str(target)))
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


def emit_table(
    frame: pd.DataFrame, out: str | Path | None, as_json: bool, extra: dict[str, Any] | None = None
) -> None:
    """Write a result table as CSV (default) or JSON to `out`, or to stdout when `out` is None.

    With `extra`, JSON output is an object ``{**extra, "rows": [...]}`` (for example the options used);
    without it, a plain list of rows.
    """
    if as_json:
        rows = to_json_records(frame)
        text = dumps_json({**extra, "rows": rows} if extra else rows) + "\n"
    else:
        text = frame.to_csv(index=False, lineterminator="\n")
    if out is None:
        sys.stdout.write(text)
    else:
        write_atomic(out, text)
