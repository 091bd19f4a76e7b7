"""Column validators for the engines: plain DataFrames in, parsed numpy columns and located problems out.

Every validator checks one column for all rows at once, appends a located `Problem` for each bad row to a
`RowProblems` collection, and returns the parsed column (NaN / None where the value was bad or blank).
Frames may hold strings (as read from a CSV file by `cartrial.tabular.read_csv`) or ordinary Python / pandas
values: numbers, booleans, datetimes, dates, None and NaN are accepted and converted to the same text a
CSV cell would hold (`text_cells`), so a frame built in a notebook and the same data read from a file give
identical results and identical row numbers. Row numbers are spreadsheet rows (header = row 1, first data
row = row 2), counted by position, whatever the frame's index.

No file or terminal I/O lives here (that is `cartrial.tabular`, used by the command line).
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from datetime import time as _time
from datetime import tzinfo as _tzinfo
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cartrial.errors import InputError, Problem, StoredValueError

FIRST_DATA_ROW = 2  # spreadsheet numbering: the header is row 1

CONTROL_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f]"
"""What no text field holds: the C0 control characters except tab, line feed and carriage return, DEL, and
the C1 control characters U+0080-U+009F except NEL (U+0085, a line break: `LINE_BREAKS`) (PostgreSQL cannot
store NUL in text, pandas' string hashing stops at it, the CDISC transport files must not carry any of
them, an escape sequence in a subject id would be replayed on the terminal that shows the results, and a
C1 character is the trace of Windows-1252 text read as Latin-1 — ``\x93quoted\x94`` — that no export can
write as the character meant; D-19.423). One rule for the engines' readers (`parse_text`), the import and
every write (`cartrial.store.fields`)."""
CONTROL_CHARACTERS_ALLOWED = "printable text; tab and line breaks are allowed"
SURROGATES = "[\ud800-\udfff]"
"""Lone surrogates: what Python makes of a byte that is not UTF-8 — in a command-line argument or a piped
password (`surrogateescape`), or a JSON ``\\udcff`` escape. Such a string is not Unicode text: no database,
audit record, hash or terminal can encode it (D-19.197). A file read as UTF-8 never holds one."""
NOT_UNICODE_ALLOWED = (
    "Unicode text (UTF-8): a byte of another encoding (e.g. Latin-1 typed in the terminal) is not text"
)


def is_unicode_text(text: str) -> bool:
    """Whether `text` holds no lone surrogate (`SURROGATES`)."""
    return re.search(SURROGATES, text) is None


LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
"""Every character `str.splitlines` ends a line at: LF, CR, VT, FF, the file/group/record separators, NEL
(U+0085), LINE SEPARATOR (U+2028) and PARAGRAPH SEPARATOR (U+2029). A text written on one line — a field
whose rule is a notation (a pattern) — holds none of them (D-19.128); free text (`CONTROL_CHARACTERS`) may."""
LINE_BREAK = r"[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]"
"""A regular expression of one `LINE_BREAKS` character: what no text of bounded length (an identifier, a code,
a name or a term, `cartrial.store.fields`) holds (D-19.137)."""
ONE_LINE_ALLOWED = "on one line (no line break)"
ONE_LINE_CHARACTER = r"[^\x00-\x1f\x7f\x85\u2028\u2029]"
"""A pattern's class of one character of free text on one line: no C0 control character or DEL
(`CONTROL_CHARACTERS`, tab included) and no line break (`LINE_BREAKS`, the C0 ones included). Escapes only
(hexadecimal and ``\\u``), so a pattern using it is also a JSON Schema (ECMA 262) pattern."""
ONE_LINE_SPACE = r"[^\S\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]"
"""A pattern's class of one white-space character that does not end a line (`\\s` without `LINE_BREAKS`)."""

BLANKS = " \t\r\n"
"""The white space trimmed from the edges of a CSV cell and of a value typed in a form or ``db edit --set``:
space, tab, carriage return and line feed, the white space of a text file (RFC 8259 §2 ``ws``; XML 1.0
§2.3 ``S``) that a spreadsheet or an editor adds around a value. Any other space or invisible character at
an edge (U+00A0 NO-BREAK SPACE, U+3000, U+2003, a form feed…) is kept as given and judged by the field's
rule — a key refuses it, free text keeps it — never trimmed silently (D-19.445)."""


BLANK_RUN = re.compile(f"[{BLANKS}]+")
"""A run of `BLANKS` (what a parser that reads words folds to one space; other white space is kept)."""


def trim_blanks(text: str) -> str:
    """`text` without `BLANKS` at its start and end (other white space is kept): what every parser of a
    typed or imported value trims, never `str.strip()`, which removes every Unicode space (D-19.446)."""
    return text.strip(BLANKS)


HEADER_EDGE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf"})
"""General categories of the characters a column name may not begin or end with once `BLANKS` are trimmed:
every other space (U+00A0, U+3000…), line separator, control or format character (U+200B…) (D-19.523)."""

HEADER_ALLOWED = (
    "a column name without a space or invisible character at its edges (space and tab are trimmed)"
)


def character_name(character: str) -> str:
    """``U+200B ZERO WIDTH SPACE`` (a control character, which has no name: ``U+0007 <control>``; a code
    point this installation's Unicode data does not assign: ``U+31350 <unassigned>``): how a refused
    character is named in every message (D-19.420)."""
    code = f"U+{ord(character):04X}"
    name = unicodedata.name(character, "")
    if not name:
        category = unicodedata.category(character)
        name = {"Cc": "<control>", "Cs": "<surrogate>", "Co": "<private use>"}.get(category, "<unassigned>")
    return f"{code} {name}"


def invisible_edge(text: str) -> str | None:
    """The character of general category `HEADER_EDGE_CATEGORIES` that `text` (its `BLANKS` already
    trimmed) begins or ends with, or None: another space, line separator, control or format character."""
    return next(
        (c for c in (text[:1], text[-1:]) if c and unicodedata.category(c) in HEADER_EDGE_CATEGORIES),
        None,
    )


def header_names(cells: Sequence[str], file: str | Path | None = None) -> list[str]:
    """The column names of a CSV header row: each cell without `BLANKS` at its edges, as a cell
    (D-19.445), never `str.strip()`. A name that then begins or ends with another space, control or format
    character (`HEADER_EDGE_CATEGORIES`: ``subject_id`` + U+00A0 from a spreadsheet) is refused, naming the
    character and the column's position (row 1, ``column 2``) rather than matched silently (D-19.523)."""
    names = [trim_blanks(str(cell)) for cell in cells]
    problems = []
    for position, name in enumerate(names, start=1):
        edge = invisible_edge(name)
        if edge is not None:
            problems.append(
                Problem(
                    f"column name begins or ends with {character_name(edge)}",
                    file=None if file is None else str(file),
                    row=1,
                    field=f"column {position}",
                    allowed=HEADER_ALLOWED,
                )
            )
    if problems:
        raise InputError(problems)
    return names


DIGITS_ALLOWED = "digits are written 0-9"
"""Why a number in another script's digits is refused (D-19.520)."""


def other_digit(text: str) -> str | None:
    """The first decimal digit of `text` that is not one of 0-9 (``٢`` ARABIC-INDIC DIGIT TWO, ``２``
    FULLWIDTH DIGIT TWO…), or None. Every number the import reads is written in 0-9 — a number, integer or
    date field refuses ``٥`` — so a parser that reads digits inside a text (an acuity, a titre) refuses
    the others too, rather than read them with Python's ``\\d`` and ``int()``, which take every script's
    digits (D-19.520)."""
    if text.isascii():
        return None
    return next((c for c in text if c.isdecimal() and not "0" <= c <= "9"), None)


def other_digit_fault(text: str) -> str | None:
    """``contains U+0662 ARABIC-INDIC DIGIT TWO (digits are written 0-9)`` for the first `other_digit` of
    `text`, or None: the digit is named, the value is not shown (D-12.2)."""
    digit = other_digit(text)
    if digit is None:
        return None
    return f"contains U+{ord(digit):04X} {unicodedata.name(digit, '')} ({DIGITS_ALLOWED})"


_BOOL_WORD_PAIRS = (("true", "false"), ("t", "f"), ("yes", "no"), ("y", "n"), ("1", "0"))
"""The words read as true / false (any case): the one list, for the reader and for what it says."""
TRUE_WORDS = frozenset(true for true, _ in _BOOL_WORD_PAIRS)
FALSE_WORDS = frozenset(false for _, false in _BOOL_WORD_PAIRS)
BOOL_ALLOWED = (
    "true or false (also "
    + ", ".join(f"{true}/{false}" for true, false in _BOOL_WORD_PAIRS[1:])
    + "; any case)"
)
"""What a true/false value may be, exactly the words read (`TRUE_WORDS`, `FALSE_WORDS`): the import's
boolean columns, the field reference, the pages' true/false fields (D-19.552)."""
FLAG_ALLOWED = f"{BOOL_ALLOWED}, or the number 1 or 0 (1.0 and 0.0 too); blank is false"
"""What a flag column of `nca` (``blq_column``, ``lambda_z_exclude``; CLI ``--blq-col``) may hold:
`parse_bool` with ``numbers=True`` (D-19.1413)."""


class RowProblems:
    """Problems found in one CSV file, keyed by spreadsheet row number."""

    def __init__(self, file: str | Path) -> None:
        self.file = str(file)
        self.by_row: dict[int, list[Problem]] = defaultdict(list)
        self.file_level: list[Problem] = []
        self.notes: list[str] = []
        """Warnings about the whole file (the replaced input ``error`` column, D-19.582)."""

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

    def with_error_column(self, frame: pd.DataFrame, keep_going: bool) -> pd.DataFrame:
        """`frame` with the ``error`` column of ``keep_going``: the problems of each row ('' for a good row)
        when some row has one, else no ``error`` column. ``error`` is a result column: one already in
        `frame` (the output of an earlier ``--keep-going`` run graded again) is replaced or removed, so a
        corrected row never keeps the message of its old value (D-19.576). When that column has a non-blank
        cell (perhaps the user's own note) a warning in `notes` names the file and the count of such cells,
        never their text (D-19.582)."""
        if "error" in frame.columns:
            filled = sum(1 for value in text_cells(frame["error"]).tolist() if _text(value))
            if filled:
                self.notes.append(
                    f"warning: {self.file}: the input column `error` ({filled} non-blank cells) is replaced: "
                    "`error` is the command's result column"
                )
        out = frame.drop(columns=["error"], errors="ignore")
        if keep_going and self:
            out = out.copy()
            out["error"] = self.error_column(len(frame))
        return out

    def raise_if_any(self, keep_going: bool = False) -> None:
        """Raise an InputError listing every problem, unless `keep_going` and all problems are per-row."""
        if self.file_level or (self.by_row and not keep_going):
            problems = self.all()
            raise InputError(problems, header=f"{self.file}: {len(problems)} problem(s); nothing was written")


def _text(value: Any) -> str:
    """The CSV text of one cell value (see `text_cells`)."""
    if value is None or value is pd.NaT:
        return ""
    if isinstance(value, str):
        return trim_blanks(value)
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        return "" if np.isnan(value) else repr(float(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return "" if np.isnat(value) else pd.Timestamp(value).isoformat()
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return trim_blanks(str(value))


def text_cells(cells: pd.Series) -> pd.Series:
    """A column as CSV text: strings kept, NaN/None/NaT blank, booleans ``true``/``false``, numbers in their
    shortest round-trip form, datetimes and dates in ISO 8601. A column of strings is returned unchanged
    (the fast path for frames read from CSV)."""
    if cells.dtype == object and pd.api.types.infer_dtype(cells, skipna=False) in ("string", "empty"):
        return cells
    return pd.Series([_text(v) for v in cells.tolist()], index=cells.index, dtype=object)


def text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column of `frame` as CSV text (`text_cells`), positions and column names kept."""
    # a frame of strings only (object columns, every cell a str) is returned as it is: its cells looked at
    # in one pass, not column by column (the analysis asks this of the same tables many times)
    if all(dtype == np.dtype(object) for dtype in frame.dtypes) and pd.api.types.infer_dtype(
        frame.to_numpy(dtype=object).ravel(), skipna=False
    ) in ("string", "empty"):
        return frame
    return pd.DataFrame({c: text_cells(frame[c]) for c in frame.columns}, index=frame.index)


def positional(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` indexed by position (0, 1, 2, …): ``frame.reset_index(drop=True)``, or when it already is,
    a shallow copy (its own columns, the cells shared: no copy of a million rows, D-19.916)."""
    if isinstance(frame.index, pd.RangeIndex) and frame.index.equals(pd.RangeIndex(len(frame))):
        return frame.copy(deep=False)
    return frame.reset_index(drop=True)


def distinct(cells: np.ndarray, *, nul_free: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The distinct texts of an object array of strings and, per cell, the position of its text among them
    (``texts[codes]`` is `cells`): a parser that works per value parses each distinct text once and maps the
    result back with ``result[codes]``. Study files repeat few values many times (subject ids, dates,
    units, grades), so this is what makes validation of a million rows take seconds.

    An array holding anything but strings (None, NaN, numbers: 1, 1.0 and True would count as one value)
    is returned cell by cell (``codes`` = 0, 1, 2, …), so the result never depends on which cells share;
    so is a single cell (one record of a web form: no factorisation overhead). Texts holding a NUL character
    are told apart too (pandas' string hashing would not). `nul_free`: the caller knows no text holds a NUL
    (cells read through `cartrial.tabular.read_csv` or the import's streamed reader, which refuse or never
    pass a NUL byte), so the texts are not scanned for one again (D-19.1091)."""
    if len(cells) <= 1 or pd.api.types.infer_dtype(cells, skipna=False) not in ("string", "empty"):
        return np.arange(len(cells), dtype=np.intp), np.asarray(cells, dtype=object)
    if not nul_free and "\x00" in "".join(cells):
        # pandas' string hash table ends a text at a NUL character ("a\x00b" would share "a"'s code)
        first: dict[str, int] = {}
        codes = np.fromiter((first.setdefault(c, len(first)) for c in cells), dtype=np.intp, count=len(cells))
        texts = np.empty(len(first), dtype=object)
        texts[:] = list(first)
        return codes, texts
    codes, texts = pd.factorize(cells, sort=False)
    return np.asarray(codes, dtype=np.intp), np.asarray(texts, dtype=object)


def _cells(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(np.full(len(frame), "", dtype=object), index=frame.index)
    return text_cells(frame[column])


def read_number(text: str) -> float:
    """One number typed by the user, read by the rule of a numeric cell (`parse_float`: pandas' number
    reading — no digit-group underscores, no other scripts' digits, as Python's ``float`` would take); NaN
    when it is not a number (D-19.372).

    >>> read_number("1e3"), read_number("1_000")
    (1000.0, nan)
    """
    return read_numbers([text])[0]


def read_numbers(texts: Sequence[str]) -> list[float]:
    """Each of `texts` read as `read_number` reads one (the same rule, NaN when it is not a number), in one
    vectorised call: a list option of 300,000 numbers is read at once, not one pandas call each."""
    return [float(v) for v in pd.to_numeric(np.array(list(texts), dtype=object), errors="coerce")]


_BEYOND_DOUBLE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
"""A plain decimal number: what `parse_float` asks of a cell pandas did not read, to tell a number beyond
the double range (Python's ``float`` makes it infinite) from text that is no number."""

BEYOND_RANGE_READ = "a number beyond ±1.8e308, beyond the range read"
"""A number cell or JSON value no double holds (D-19.1046): said without its digits, hundreds of them."""


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
    whole: bool = False,
    nul_free: bool = False,
) -> np.ndarray:
    """Parse a numeric column; blank is NaN (a problem when `required`); out-of-range values are problems
    (`whole`: the column holds whole numbers, said so in what is allowed; `nul_free`: as `distinct`)."""
    # plain arrays, not Series operations: the same result, and a one-row frame (a web form's record,
    # `cartrial.store.fields.validate_record`) costs microseconds instead of pandas' per-call overhead.
    # Each distinct text is converted once (`distinct`): the conversion is per value, so the result is the
    # same as converting every cell.
    cells = _cells(frame, column).to_numpy(dtype=object)
    codes, texts = distinct(cells, nul_free=nul_free)
    blank_texts = np.asarray(texts == "", dtype=bool)
    numbers = np.asarray(pd.to_numeric(np.where(blank_texts, np.nan, texts), errors="coerce"), dtype=float)
    blank = blank_texts[codes]
    values = numbers[codes]
    bounds = bounds_text(minimum, maximum, exclusive_minimum, unit, whole=whole)
    for i in np.flatnonzero(np.isnan(values) & ~blank):
        if _BEYOND_DOUBLE.fullmatch(str(cells[i])) and math.isinf(float(cells[i])):  # pandas reads it as NaN
            # a number (a JSON integer of 400 digits, 1e400) no double holds: said without its digits
            problems.add(i, column, None, BEYOND_RANGE_READ, bounds)
        else:
            problems.add(i, column, cells[i], "not a number", bounds)
    for i in np.flatnonzero(~np.isfinite(values) & ~np.isnan(values)):
        problems.add(i, column, cells[i], "not a finite number", bounds)
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
        problems.add(i, column, cells[i], "out of range", bounds)
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
    nul_free: bool = False,
) -> np.ndarray:
    """Parse a whole-number column into float64 (NaN for blank or bad), checking range and integrality
    (`nul_free`: as `distinct`)."""
    values = parse_float(
        frame, column, problems, required=required, minimum=minimum, maximum=maximum, whole=True,
        nul_free=nul_free,
    )  # fmt: skip
    fractional = np.isfinite(values) & (values != np.round(values))
    cells = _cells(frame, column) if fractional.any() else None
    for i in np.flatnonzero(fractional):
        assert cells is not None
        problems.add(i, column, cells.iat[i], "not a whole number", bounds_text(minimum, maximum, whole=True))
        values[i] = np.nan
    return values


def parse_bool(
    frame: pd.DataFrame,
    column: str,
    problems: RowProblems,
    *,
    required: bool = True,
    default: bool = False,
    nul_free: bool = False,
    numbers: bool = False,
) -> np.ndarray:
    """Parse true/false (`BOOL_ALLOWED`); blank is `default` unless `required` (`nul_free`: as
    `distinct`). `numbers`: a flag column (`FLAG_ALLOWED`, the one reader of `nca`'s flag columns and
    ``--blq-col``, D-19.1413): the text is trimmed of `BLANKS` and a number that is not a true/false word
    is read by `read_number`, 1 (1.0, "1.0") true and 0 false, as PKNCA counts a number in a logical
    column; the import's boolean fields do not take numbers other than the words 1 and 0."""
    raw = _cells(frame, column).to_numpy(dtype=object)
    codes, texts = distinct(raw, nul_free=nul_free)
    # once per distinct text
    lowered = [(trim_blanks(text) if numbers else text).lower() for text in texts.tolist()]
    word_true = np.array([text in TRUE_WORDS for text in lowered], dtype=bool)
    word_false = np.array([text in FALSE_WORDS for text in lowered], dtype=bool)
    word_blank = np.array([text == "" for text in lowered], dtype=bool)
    if numbers:
        other = np.flatnonzero(~(word_true | word_false | word_blank))
        read = np.array(read_numbers([lowered[i] for i in other]), dtype=float)
        word_true[other] = read == 1
        word_false[other] = read == 0
    is_true, is_false, blank = word_true[codes], word_false[codes], word_blank[codes]
    out = np.full(len(raw), default, dtype=bool)
    out[is_true] = True
    out[is_false] = False
    allowed = FLAG_ALLOWED if numbers else BOOL_ALLOWED
    for i in np.flatnonzero(~(is_true | is_false | blank)):
        problems.add(i, column, raw[i], "not true or false", allowed)
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
    cells = _cells(frame, column).to_numpy(dtype=object)
    codes, texts = distinct(cells)
    allowed = " | ".join(allowed_list)
    # once per distinct text: the canonical choice, or None (blank or unknown)
    values = np.empty(len(texts), dtype=object)
    values[:] = [default if text == "" else canonical.get(text.lower()) for text in texts.tolist()]
    blank_texts = np.asarray(texts == "", dtype=bool)
    unknown_texts = ~blank_texts & np.array([v is None for v in values.tolist()], dtype=bool)
    flagged = unknown_texts[codes] | (blank_texts[codes] & (required and default is None))
    for i in np.flatnonzero(flagged):
        cell = cells[i]
        if cell == "":
            problems.add(i, column, "", "value is required", allowed)
        else:
            problems.add(i, column, cell, "unknown category", allowed)
    return values[codes]


def utc_moment(value: str | datetime) -> datetime:
    """An ISO 8601 date or date-time (text, or a `datetime`) as a timezone-aware UTC `datetime`; a value
    without offset is taken as UTC. `ValueError` for text that is not ISO 8601 and for a moment whose UTC
    time falls outside the calendar (``0001-01-01T00:00:00+14:00`` is in year 0 in UTC), which
    `datetime.astimezone` raises as `OverflowError` — the one conversion every date-time reader uses.

    >>> utc_moment("2021-03-04T08:30:00+01:00").isoformat()
    '2021-03-04T07:30:00+00:00'
    >>> utc_moment("9999-12-31T23:59:59-14:00")
    Traceback (most recent call last):
    ...
    ValueError: the moment in UTC is outside the years 1 to 9999
    """
    moment = (
        value
        if isinstance(value, datetime)
        else datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    )
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("the moment in UTC is outside the years 1 to 9999") from exc


def _ends_with_offset(text: str) -> bool:
    """Whether a stripped text longer than a date (every date-only form `date_only_text` reads is at most 10
    characters) ends with a UTC offset: Z, or ±hh, ±hhmm, ±hh:mm — its last characters are looked at, the
    text is not scanned (D-19.777). A ±hh:mm:ss offset is not recognised: that text goes with the texts
    without an offset, gets "+00:00" appended, fails to parse and is read by `utc_moment`."""
    if len(text) <= 10:
        return False
    if text[-1] == "Z":
        return True
    return text[-2:].isdigit() and (
        text[-3] in "+-"
        or (text[-5] in "+-" and text[-4:].isdigit())
        or (text[-6] in "+-" and text[-3] == ":")
    )


def iso_instants(texts: pd.Series) -> pd.Series:
    """Many ISO 8601 texts (or datetimes, Timestamps) as UTC instants at once, each read as `utc_moment`
    reads its text, spaces around it ignored (NaT for a blank, None, NaN or a text `utc_moment` refuses): a
    text without an offset is UTC. In one call pandas 2.x gives a time without an offset the offset of the
    row before it ('…T10:00+08:00' then '…T10:00' both 02:00Z; review 3 of D-19.710), so every text reaches
    pandas with an explicit offset: a trailing ``z`` is made ``Z`` (in the pass that strips the texts), a
    text that ends with Z or ±hh[[:]mm] is read as it is, any other gets "+00:00" appended (a bare date
    "T00:00:00+00:00"),
    so a text whose offset the end test missed (``+05:30:15``) fails to parse instead of leaking it. A text
    pandas does not read (``…T10:00:00+05:30:15``, ``2021-W22-3``) is read by `utc_moment`, once per
    distinct text (D-19.777).

    >>> texts = pd.Series(["2021-06-01T10:00+08:00", "2021-06-01T10:00", "2021-W22-3"])
    >>> [str(t) for t in iso_instants(texts)]
    ['2021-06-01 02:00:00+00:00', '2021-06-01 10:00:00+00:00', '2021-06-02 00:00:00+00:00']
    """
    # one pass over the texts (stripped, a trailing z made Z), then the flags of each
    cells = [t.strip() for t in texts.astype(object).where(texts.notna(), "").astype(str).tolist()]
    cells = [t[:-1] + "Z" if t.endswith("z") else t for t in cells]
    text = pd.Series(cells, index=texts.index, dtype=object)
    offset = np.fromiter(map(_ends_with_offset, cells), dtype=bool, count=len(cells))
    lengths = np.fromiter(map(len, cells), dtype=np.int64, count=len(cells))
    blank = lengths == 0
    short = (lengths <= 10) & ~blank
    out = pd.Series(pd.NaT, index=texts.index, dtype="datetime64[ns, UTC]")
    for part, suffix in ((offset, ""), (~offset & ~short & ~blank, "+00:00"), (short, "T00:00:00+00:00")):
        if part.any():
            out[part] = pd.to_datetime(text[part] + suffix, utc=True, format="ISO8601", errors="coerce")
    unread = (out.isna() & ~blank).to_numpy(dtype=bool)
    if unread.any():
        moments: dict[str, Any] = {}
        for value in pd.unique(text[unread]):
            try:
                moments[value] = pd.Timestamp(utc_moment(value)).as_unit("ns")  # NaT beyond 1677-2262
            except (ValueError, OverflowError, pd.errors.OutOfBoundsDatetime):
                moments[value] = pd.NaT
        out[unread] = pd.to_datetime(text[unread].map(moments), utc=True)
    return out


def parse_datetime(
    frame: pd.DataFrame, column: str, problems: RowProblems, *, required: bool = True
) -> list[datetime | None]:
    """Parse ISO 8601 dates or date-times to timezone-aware UTC; a value without offset is taken as UTC."""
    allowed = "ISO 8601 date or date-time, e.g. 2021-03-04 or 2021-03-04T08:30:00Z"
    cells = _cells(frame, column).to_numpy(dtype=object)
    codes, texts = distinct(cells)
    moments: list[datetime | None] = []  # once per distinct text; None for blank or bad
    bad_texts = np.zeros(len(texts), dtype=bool)
    for k, text in enumerate(texts.tolist()):
        moment = None
        if text != "":
            try:
                moment = utc_moment(text)
            except ValueError:
                bad_texts[k] = True
        moments.append(moment)
    blank_texts = np.asarray(texts == "", dtype=bool)
    unreal = np.array(
        [bad and impossible_calendar_date(t) for bad, t in zip(bad_texts, texts.tolist(), strict=True)], bool
    )
    for i in np.flatnonzero(bad_texts[codes] | (blank_texts[codes] & required)):
        cell = cells[i]
        if cell == "":
            problems.add(i, column, "", "value is required", allowed)
        elif unreal[codes[i]]:
            problems.add(i, column, cell, "not a real calendar date", REAL_DATE_ALLOWED)
        else:
            problems.add(i, column, cell, "not an ISO 8601 date or date-time", allowed)
    return [moments[k] for k in codes.tolist()]


ISO_DATE_START = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:$|[T ])", re.ASCII)
"""The date of an ISO 8601 date or date-time, as its first ten characters (``YYYY-MM-DD``, ASCII digits:
a full-width ``２０２６`` is no date of the form)."""
REAL_DATE_ALLOWED = (
    "a real calendar date (month 01-12, a day the month has), as an ISO 8601 date or date-time, "
    "e.g. 2021-03-04 or 2021-03-04T08:30:00Z"
)
"""What a date of the ISO 8601 form but no day of the calendar (2026-02-30, 2026-13-01) is told (D-19.648)."""


def impossible_calendar_date(text: str) -> bool:
    """Whether `text` starts with a date of the ISO 8601 form ``YYYY-MM-DD`` that the calendar does not have
    (``2026-02-30``, ``2025-02-29``, ``2026-13-01``): such a text is refused as no real date, not as a
    format error (D-19.648).

    >>> impossible_calendar_date("2026-02-30T10:00:00Z"), impossible_calendar_date("2024-02-29")
    (True, False)
    """
    found = ISO_DATE_START.match(text.strip())
    if found is None:
        return False
    try:
        _dt.date.fromisoformat(found.group(0).rstrip("T "))
    except ValueError:
        return True
    return False


def parse_text(
    frame: pd.DataFrame, column: str, problems: RowProblems, *, required: bool = True
) -> np.ndarray:
    """A text column of one line — an identifier, a code, a unit (for example subject_id); blank is a problem
    when `required`, and so is a control character (`CONTROL_CHARACTERS`, the rule of the import) or a line
    break (`LINE_BREAKS`: the store's rule for a text of bounded length, D-19.137, D-19.138)."""
    cells = _cells(frame, column).to_numpy(dtype=object)
    codes, texts = distinct(cells)
    controls = np.array(
        [re.search(CONTROL_CHARACTERS, text) is not None for text in texts.tolist()], dtype=bool
    )
    breaks = np.array([re.search(LINE_BREAK, text) is not None for text in texts.tolist()], dtype=bool)
    for i in np.flatnonzero(controls[codes]):
        problems.add(i, column, cells[i], "contains a control character", CONTROL_CHARACTERS_ALLOWED)
    for i in np.flatnonzero((breaks & ~controls)[codes]):
        problems.add(i, column, cells[i], "contains a line break", ONE_LINE_ALLOWED)
    if required:
        for i in np.flatnonzero(np.asarray(cells == "", dtype=bool)):
            problems.add(i, column, "", "value is required", "any non-blank text")
    return cells


def parse_json_cells(
    cells: Sequence[Any], column: str, problems: RowProblems, allowed: str, *, required: bool = False
) -> np.ndarray:
    """A JSON column (a list or an object per cell): the one rule of the import's JSON fields and of every
    engine reader of such a column (the escalation replay's ``design_state``, D-19.1087). A cell is read by
    `cartrial.sources.parse_json`; one it cannot read is the located problem "not valid JSON (<where>)", a
    document other than a list or an object "not a JSON list or object"; blank (``""``, None, NaN) is None,
    a problem when `required`. A list or an object already read (a stored JSON column) is taken as it is.

    >>> problems = RowProblems("decisions.csv")
    >>> parse_json_cells(["", '{"a": 1}', "3"], "state", problems, "JSON list or object").tolist()
    [None, {'a': 1}, None]
    >>> [p.message for p in problems.all()]
    ['not a JSON list or object']
    """
    import json

    from cartrial.sources import parse_json

    out = np.full(len(cells), None, dtype=object)  # filled one by one: a list value must stay one cell
    for i, cell in enumerate(list(cells)):
        if cell is None or (isinstance(cell, float) and cell != cell) or cell == "":
            if required:
                problems.add(i, column, "", "value is required", allowed)
            continue
        if isinstance(cell, list | dict):
            out[i] = cell
            continue
        if not isinstance(cell, str):
            problems.add(i, column, cell, "not a JSON list or object", allowed)
            continue
        try:
            value = parse_json(cell)  # too deep or too long a number: a located problem (D-19.496)
        except json.JSONDecodeError as exc:
            problems.add(i, column, cell, f"not valid JSON ({exc.msg})", allowed)
            continue
        if not isinstance(value, list | dict):
            problems.add(i, column, cell, "not a JSON list or object", allowed)
            continue
        out[i] = value
    return out


def bounds_text(
    minimum: float | None,
    maximum: float | None,
    exclusive_minimum: bool = False,
    unit: str = "",
    *,
    whole: bool = False,
) -> str:
    """What a numeric field allows: ``a number ≥ 0 and ≤ 100 %``, ``a whole number ≥ 1 and ≤ 2147483647``
    (a whole-number bound in full, not ``2.14748e+09``). The one wording of a range: the parsers' refusals
    here and the field rules' descriptions (`cartrial.store.fields.FieldRule.allowed`) both use it."""
    noun = "a whole number" if whole else "a number"
    unit_text = f" {unit}" if unit else ""
    low = ">" if exclusive_minimum else "≥"

    def shown(bound: float) -> str:
        return str(int(bound)) if whole and float(bound).is_integer() else f"{bound:g}"

    if minimum is not None and maximum is not None:
        return f"{noun} {low} {shown(minimum)} and ≤ {shown(maximum)}{unit_text}"
    if minimum is not None:
        return f"{noun} {low} {shown(minimum)}{unit_text}"
    if maximum is not None:
        return f"{noun} ≤ {shown(maximum)}{unit_text}"
    return f"{noun}{unit_text}"


def same_cell(a: str, b: str) -> bool:
    """Two cells (as CSV text) hold the same value: equal as text, as true/false words (``TRUE`` = ``yes``)
    or as numbers (``0.4`` = ``0.40``). Other text compares case-sensitively (``g/L`` is not ``G/L``).

    >>> same_cell("0.4", "0.40"), same_cell("TRUE", "yes"), same_cell("g/L", "G/L"), same_cell("37", "38.5")
    (True, True, False, False)
    """
    if a == b:
        return True
    words = (a.lower(), b.lower())
    if all(w in TRUE_WORDS for w in words) or all(w in FALSE_WORDS for w in words):
        return True
    try:
        return float(a) == float(b)
    except ValueError:
        return False


def _and_list(names: Iterable[str]) -> str:
    words = list(names)
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def check_repeated_keys(
    keys: pd.DataFrame, frame: pd.DataFrame, problems: RowProblems, column: str
) -> np.ndarray:
    """One row per natural key (the study store's rule, `cartrial.store.models` ``natural_key``): a row whose
    key equals an earlier row's is a problem at `column`, naming the earlier row(s) and saying whether its
    other cells are identical to theirs or which of them differ. The first row of each key is kept when its
    repeats are identical copies of it; when a repeat differs, the first row is a problem too (which of the
    conflicting values is right is not known, so with ``--keep-going`` none of them is used).

    `keys` has one column per key field, named as in the file, with one normalised value per row of `frame`
    (a parsed moment, a lower-cased category; a missing part — a cell that failed to parse — means the row
    is not compared). The cells of `frame` outside the key are compared as `same_cell` does. Returns the
    mask of the refused rows. A problem names rows and fields, never a value of the record (D-12.2, D-19.467).
    docs/science/decisions.md D-19.18.

    >>> frame = pd.DataFrame({"subject_id": "S1", "day": ["1", "1.0", "1"], "c": ["5", "5", "7"]})
    >>> problems = RowProblems("pk.csv")
    >>> keys = pd.DataFrame({"subject_id": frame["subject_id"], "day": frame["day"].astype(float)})
    >>> check_repeated_keys(keys, frame, problems, "day").tolist()
    [True, True, True]
    >>> for problem in problems.all():
    ...     print(problem.row, problem.message)
    2 conflicts with row 4 (same subject_id and day; differs in c)
    3 duplicate of row 2 (same subject_id and day; identical values)
    4 duplicate of rows 2, 3 (same subject_id and day; differs in c)
    """
    n = len(keys)
    refused = np.zeros(n, dtype=bool)
    if n < 2:
        return refused
    keys = keys.reset_index(drop=True)
    complete = keys.notna().all(axis=1).to_numpy()
    if complete.sum() < 2:
        return refused
    group = np.full(n, -1, dtype=np.int64)
    group[complete] = keys[complete].groupby(list(keys.columns), sort=False).ngroup().to_numpy()
    sizes = np.bincount(group[complete])
    repeated = complete & (sizes[np.maximum(group, 0)] > 1)
    if not repeated.any():
        return refused
    text = text_frame(frame)
    # a stored record's id is no cell of the record: copies always differ in it (D-19.542)
    cells = {
        c: text[c].to_numpy(dtype=object) for c in text.columns if c not in keys.columns and c != RECORD_ID
    }
    what = _and_list(map(str, keys.columns))
    label_of = row_labels(frame)
    earlier: dict[int, list[int]] = {}
    conflicts: dict[int, dict[str, list[int]]] = {}  # first row of a key -> differing column -> rows

    def refuse(i: int, message: str) -> None:  # rows and fields only, no value of the record (D-12.2)
        problems.add(i, column, None, message, f"one row per {what}")
        refused[i] = True

    for i in np.flatnonzero(repeated).tolist():
        before = earlier.setdefault(int(group[i]), [])
        if before:
            differing = [c for c, v in cells.items() if any(not same_cell(v[i], v[j]) for j in before)]
            label = label_of(before)
            detail = f"differs in {', '.join(differing)}" if differing else "identical values"
            refuse(i, f"duplicate of {label} (same {what}; {detail})")
            for c in differing:
                conflicts.setdefault(before[0], {}).setdefault(c, []).append(i)
        before.append(i)
    for first, by_column in conflicts.items():
        others = sorted({j for rows_ in by_column.values() for j in rows_})
        refuse(first, f"conflicts with {label_of(others)} (same {what}; differs in {', '.join(by_column)})")
    return refused


RECORD_ID = "record_id"
"""The column of a snapshot table's frame holding each row's stored record id
(`cartrial.store.snapshot.RECORD_ID`): a frame read from the store, not a user's file."""


def row_labels(frame: pd.DataFrame) -> Callable[[list[int]], str]:
    """How `check_repeated_keys` (and the neuro forms' date order) names other rows: a user's file by its
    rows (``row 19``, spreadsheet numbering), a frame of stored records (with `RECORD_ID`) by their record
    ids (``record 19``, of the same table as the problem's own record, `cartrial.errors.stored_rows_errors`),
    never by a row of an in-memory frame no user sees; "another record" when an id is missing (D-19.542)."""
    if RECORD_ID not in frame.columns:

        def rows(positions: list[int]) -> str:
            numbers = ", ".join(str(j + FIRST_DATA_ROW) for j in positions)
            return f"row {numbers}" if len(positions) == 1 else f"rows {numbers}"

        return rows
    ids = frame[RECORD_ID].to_numpy(dtype=object)

    def records(positions: list[int]) -> str:
        found = [str(ids[j]).strip() for j in positions]
        if not all(re.fullmatch(r"\d+", r, re.ASCII) for r in found):
            return "another record"
        return f"record {found[0]}" if len(found) == 1 else f"records {', '.join(found)}"

    return records


CUTOFF_ALLOWED = "a datetime.date, or ISO 8601 text YYYY-MM-DD"


def iso_date(text: str, field: str, allowed: str = "YYYY-MM-DD, e.g. 2022-03-20") -> _dt.date:
    """A calendar date typed as ISO 8601 ``YYYY-MM-DD`` (what every date option and a cut-off text say),
    else an `InputError` naming `field`. Python's `date.fromisoformat` also takes the basic and week forms
    (``20220320``, ``2022-W11-7``): a date option takes only the form its help states.

    >>> iso_date("2022-03-20", "--cutoff")
    datetime.date(2022, 3, 20)
    """
    try:
        parsed = _dt.date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text, re.ASCII) else None
    except ValueError:
        parsed = None
    if parsed is None:
        # of the form, but no day of the calendar: said so, not as a format error (D-19.648)
        unreal = re.fullmatch(r"\d{4}-\d{2}-\d{2}", text, re.ASCII) and impossible_calendar_date(text)
        message = "not a real calendar date (month 01-12, a day the month has)" if unreal else "not a date"
        raise InputError(Problem(message, field=field, value=text, allowed=allowed))
    return parsed


def cutoff_date(value: Any, field: str = "cutoff", *, allow_future: bool = False) -> _dt.date:
    """A data cut-off as a `datetime.date`, checked where it enters the Python API (`read_snapshot`,
    `study_populations`, `analyse`, `StudyUser.lock`; decisions D-19.67) and the command line.

    Accepted: a `datetime.date`, and ISO 8601 date text (``"2021-09-30"``, what a notebook user types).
    Refused with an `InputError` naming `field`: a `datetime` or `pandas.Timestamp` (a cut-off is a day; its
    time of day and zone would be silently dropped — pass ``.date()``), a numpy ``datetime64``, None and
    anything else; and a date after today (`utc_today()`): follow-up after today has not happened, an
    analysis as of a later day would count event-free time that nobody observed (D-19.51, D-19.380).
    `allow_future`: the named opt-in of the few readers for which a later date is legitimate — a data lock
    as of a planned date, a sample selection that computes no follow-up, a virtual (simulated) study."""
    if isinstance(value, str):
        chosen = iso_date(value, field, CUTOFF_ALLOWED)
    elif isinstance(value, _dt.datetime):
        raise InputError(
            Problem(
                "a cut-off is a date, not a date-time (pass its .date())",
                field=field,
                value=value,
                allowed=CUTOFF_ALLOWED,
            )
        )
    elif not isinstance(value, _dt.date):
        raise InputError(
            Problem(
                f"the cut-off must be a date, not a {type(value).__name__}",
                field=field,
                allowed=CUTOFF_ALLOWED,
            )
        )
    else:
        chosen = value
    if not allow_future:
        not_after_today(chosen, field, value)
    return chosen


def utc_now() -> datetime:
    """The current instant, timezone-aware UTC: the one "now" every "today" is read from (`utc_today`,
    `site_today`), never the server's local clock."""
    return _dt.datetime.now(_dt.UTC)


def utc_today() -> _dt.date:
    """Today's date in UTC, the project's one "today" of what belongs to no site (times are UTC, D-19.185,
    D-19.387): not the server's local date, which is a day ahead of or behind UTC for hours of every day.
    A subject's or a site's today is `site_today` (D-19.613)."""
    return utc_now().date()


def site_today(zone: str | None, now: datetime | None = None) -> _dt.date:
    """Today on the calendar of the IANA `zone` (a site's, `site.time_zone`; blank or None: UTC) at the
    instant `now` (default the current one, `utc_now`): the day a site's date fields are typed on, the one
    "today" of a subject's records (DATE-FUTURE and the other checks against today, the casebook's days
    since infusion; D-19.613). At 07:00 in Wuhan on 7 December it is 23:00Z on the 6th:

    >>> site_today("Asia/Shanghai", utc_moment("2026-12-06T23:00:00Z"))
    datetime.date(2026, 12, 7)
    >>> site_today(None, utc_moment("2026-12-06T23:00:00Z"))
    datetime.date(2026, 12, 6)
    """
    return on_site_clock(utc_now() if now is None else now, zone).date()


def site_day(value: Any, zone: str | None = None) -> _dt.date | None:
    """The date of a date field or a date-time on the calendar of the IANA `zone` (blank or None: UTC): a
    date as recorded (a site's date is typed on its own calendar); a date-time by `typed_site_moment`
    (exactly 00:00:00Z, a date typed without a time: that date; any other instant its date on the site's
    clock; a naive one is UTC; D-19.947); None for anything else. The calendar the casebook and the
    edit checks place a subject's records on (D-19.607); what `after_site_today` compares (D-19.613)."""
    if isinstance(value, datetime):
        return typed_site_moment(value, zone).date()
    if isinstance(value, _dt.date):
        return value
    return None


def same_site_day_groups(
    subjects: Iterable[Any], days: Iterable[_dt.date | None], within: Iterable[Any] | None = None
) -> list[list[int]]:
    """The rows that share a subject, a day on the site's calendar (each row's day as the caller placed it:
    `site_day`, `site_cell_date`) and, with `within`, a further key (the eye): each group of two or more
    positions, in the order given, groups in the order of their first row. The one rule of "one assessment
    per subject (and eye) and site day" that the analysis refuses (`neuro.tables.check_one_edss_a_day`,
    `_check_one_eye_a_day`; D-19.778, D-19.1009) and the store's edit checks query (EDSS-SAME-DAY,
    ACUITY-SAME-DAY; D-19.1101). A subject compares by its text without surrounding spaces; a row whose
    subject or `within` value is blank, or whose day is None, is in no group.

    >>> d = _dt.date(2021, 6, 1)
    >>> same_site_day_groups(["S1", "S1 ", "S2", "S1"], [d, d, d, _dt.date(2021, 6, 2)])
    [[0, 1]]
    >>> same_site_day_groups(["S1", "S1", "S1"], [d, d, d], within=["OD", "OS", "OD"])
    [[0, 2]]
    """
    subject_list, day_list = list(subjects), list(days)
    others = [""] * len(subject_list) if within is None else list(within)
    groups: dict[tuple[str, _dt.date, str], list[int]] = {}
    for i, (subject, day, other) in enumerate(zip(subject_list, day_list, others, strict=True)):
        sid = "" if subject is None else str(subject).strip()
        key = "" if other is None else str(other).strip()
        if day is None or not sid or (within is not None and not key):
            continue
        groups.setdefault((sid, day, key), []).append(i)
    return [rows for rows in groups.values() if len(rows) > 1]


def date_only_text(text: Any) -> bool:
    """Whether a cell's text is a date typed without a time part: every form `utc_moment` reads as a date
    only (``date.fromisoformat``: ``2021-06-02``, ``20210602``, ``2021-W22-3``, ``2021W223``, ``2021-W22``;
    an ordinal date such as ``2021-153`` is not read at all), spaces around it ignored. A cell with a time
    (``2021-06-02T00:00:00Z``) is an instant, even at exactly midnight UTC (D-19.615).

    >>> [date_only_text(t) for t in ["2021-06-02", " 20210602 ", "2021-W22-3", "2021-06-02T00:00:00Z", ""]]
    [True, True, True, False, False]
    """
    if not isinstance(text, str):
        return False
    try:
        _dt.date.fromisoformat(text.strip())
    except ValueError:
        return False
    return True


def typed_site_date(value: Any, zone: str | None = None) -> _dt.date | None:
    """The calendar date a site meant by a date field, a date-time or a date-time's text, at a site in the
    IANA `zone` (blank or None: UTC): a date as recorded; an instant at exactly 00:00:00Z (what a date typed
    without a time becomes: ``2021-06-02``, ``20210602``, ``2021-W22-3``, every form `utc_moment` reads as a
    date) is that date, the date typed, whatever the zone; any other instant is its date on the site's
    clock (`on_site_clock`; a naive one is UTC); None for a blank or anything else. Text is read by
    `utc_moment` (a ValueError when it reads no date). The one rule of "the site's date of a date-time"
    in the store's checks, which see only the stored instant, never the text (`after_site_today`;
    D-19.613, D-19.618); the neuro engine, which has the text, reads it by `date_only_text` (D-19.615).
    Its price: a time typed as exactly 00:00:00Z (19:00:00 EST) is taken as
    a date typed without a time.

    >>> typed_site_date("2021-06-02", "America/New_York"), typed_site_date("20210602", "America/New_York")
    (datetime.date(2021, 6, 2), datetime.date(2021, 6, 2))
    >>> typed_site_date("2021-06-02T02:00:00Z", "America/New_York")
    datetime.date(2021, 6, 1)
    >>> typed_site_date(utc_moment("2021-06-01T23:30:00Z"), "Asia/Shanghai")
    datetime.date(2021, 6, 2)
    """
    if isinstance(value, str):
        if not value.strip():
            return None
        value = utc_moment(value.strip())
    if isinstance(value, datetime):
        return typed_site_moment(value, zone).date()
    if isinstance(value, _dt.date):
        return value
    return None


def typed_site_moment(moment: datetime, zone: str | _tzinfo | None = None) -> datetime:
    """A stored instant on the clock of the site (`zone`: an IANA name or a `tzinfo`; blank or None: UTC),
    the one rule of a date-time's site day (D-19.618, D-19.947): an instant at exactly 00:00:00.000000Z (what
    a date typed without a time becomes; naive: UTC) that the site's clock would put on the day BEFORE (a
    site west of UTC at that instant) is the start (00:00) of that date on the site's clock, so its `date()`
    is the date typed; any other instant is itself read on the site's clock (`on_site_clock`). At UTC and
    east of it the two readings of 00:00:00Z give the same date, so the instant keeps its real time there
    (a Wuhan sample drawn at 08:00:00 is 08:00, never moved to 00:00). Its price: west of UTC a time typed
    as exactly 00:00:00Z (17:00 PDT) is taken as a date typed without a time (the store keeps no "time
    typed" flag).

    >>> typed_site_moment(utc_moment("2021-08-02"), "America/Los_Angeles").isoformat()
    '2021-08-02T00:00:00-07:00'
    >>> typed_site_moment(utc_moment("2021-08-02T20:00:00-07:00"), "America/Los_Angeles").isoformat()
    '2021-08-02T20:00:00-07:00'
    >>> typed_site_moment(utc_moment("2021-08-02T08:00:00+08:00"), "Asia/Shanghai").isoformat()
    '2021-08-02T08:00:00+08:00'
    """
    tz = zone if isinstance(zone, _tzinfo) or zone is None else (time_zone_of(zone) if zone else None)
    if isinstance(zone, str) and zone and tz is None:
        raise ValueError("not an IANA time zone")
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    local = utc if tz is None else utc.astimezone(tz)
    if local.date() != utc.date() and not (utc.hour or utc.minute or utc.second or utc.microsecond):
        return datetime.combine(utc.date(), _time(), tzinfo=tz)  # a date typed without a time, west of UTC
    return local


def after_site_today(value: Any, zone: str | None, today: _dt.date) -> bool:
    """Whether a date field or date-time `value` of a record at a site in `zone` is after `today`, that
    site's today (`site_today`): a date against it as typed, a date-time by the date the site meant
    (`typed_site_date`: 00:00:00Z exactly, a date typed without a time, by that date; any other instant by
    its date on the site's clock), so a date-time later today at the site is not "after today", and a bare
    date of tomorrow is, west of UTC too. The one rule of every "is it after today" check of a subject's
    records (D-19.613, D-19.618).

    >>> wuhan_7am = site_today("Asia/Shanghai", utc_moment("2026-12-06T23:00:00Z"))
    >>> after_site_today(_dt.date(2026, 12, 7), "Asia/Shanghai", wuhan_7am)
    False
    >>> after_site_today(_dt.date(2026, 12, 8), "Asia/Shanghai", wuhan_7am)
    True
    >>> new_york_10am = site_today("America/New_York", utc_moment("2026-12-07T15:00:00Z"))
    >>> after_site_today(utc_moment("2026-12-08"), "America/New_York", new_york_10am)
    True
    """
    day = typed_site_date(value, zone)
    return day is not None and day > today


def not_after_today(day: _dt.date, field: str, typed: Any = None) -> _dt.date:
    """`day` when it is on or before today (`utc_today()`), else an `InputError` naming `field` (and the
    value the user typed, `typed`, default `day`) and today: the one rule of a data cut-off (D-19.380)."""
    today = utc_today()
    if day > today:
        raise InputError(
            Problem(
                "a data cut-off cannot be in the future",
                field=field,
                value=day if typed is None else typed,
                allowed=f"a date up to today ({today.isoformat()})",
            )
        )
    return day


# --- the study-day calendar (D-19.607) -------------------------------------------------------------------

TIME_ZONE_COLUMN = "time_zone"
"""The optional column of an engine's infusions form naming the IANA time zone whose calendar a subject's
study days are counted in (its site's, `site.time_zone`, D-19.285): blank or absent is UTC (D-19.607)."""


def time_zone_of(name: str) -> _dt.tzinfo | None:
    """The IANA time zone `name` (None: not one the zoneinfo database knows; D-19.285). `zoneinfo` itself
    refuses what is not a key of its database: a blank or absolute name, one with ``..`` or not normalised
    (ValueError), a name with spaces around it or unknown (ZoneInfoNotFoundError), a folder of zones such as
    ``Europe`` (IsADirectoryError, an OSError). A key it loads that names no place's zone is refused too:
    one outside `zoneinfo.available_timezones()` or a copy of another under ``posix/`` or ``right/`` (leap
    seconds counted, which no other reader does), ``Factory``, ``localtime`` and ``posixrules`` (D-19.607).

    >>> time_zone_of("posix/Asia/Shanghai") is None, time_zone_of("Asia/Shanghai") is None
    (True, False)
    """
    import zoneinfo

    if name not in _place_zones():
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


@functools.cache
def _place_zones() -> frozenset[str]:
    """The IANA keys `time_zone_of` accepts: the zoneinfo database's, less those naming no place's zone."""
    import zoneinfo

    return frozenset(
        z
        for z in zoneinfo.available_timezones()
        if not z.startswith(("posix/", "right/")) and z not in {"Factory", "localtime", "posixrules"}
    )


def on_site_clock(moment: datetime, zone: str | None) -> datetime:
    """`moment` (timezone-aware) read on the clock of the IANA `zone` — the same instant, so elapsed times
    are unchanged, but its `date()` is the site's calendar date; a blank `zone` (a site without one) keeps
    `moment` as it is (UTC); a zone the zoneinfo database does not know is a ValueError, never a silent UTC
    (its readers refuse it first, located: `site_zone_problems`, `parse_time_zones`). The one rule of the
    study-day calendar (D-19.607).

    >>> on_site_clock(utc_moment("2021-04-26T23:30:00Z"), "Asia/Shanghai").date()
    datetime.date(2021, 4, 27)
    >>> on_site_clock(utc_moment("2021-04-26T23:30:00Z"), None).date()
    datetime.date(2021, 4, 26)
    """
    if not zone:
        return moment
    tz = time_zone_of(zone)
    if tz is None:
        raise ValueError("not an IANA time zone")
    return moment.astimezone(tz)


def site_cell_moment(cell: Any, moment: datetime, zone: str | _tzinfo | None) -> datetime:
    """A date field's cell on the site's clock (`zone`: an IANA name or a `tzinfo`; None or blank: UTC):
    `moment` is the cell's text `cell` as `parse_datetime` / `utc_moment` read it, placed by
    `typed_site_moment`: exactly 00:00:00Z (a text with no time part, ``2024-03-10``, ``20240310``,
    ``2024-W10-7``, or the store's form of one, ``2024-03-10T00:00:00Z``) is the start (00:00) of that date on
    the site's clock; any other instant is read on that clock. The store cannot tell a typed 00:00:00Z from
    a date typed without a time, so a cell is read by the same rule (D-19.947, amending D-19.615). The
    one per-cell rule of a date field's site date (`site_cell_date`; D-19.607, D-19.721).

    >>> site_cell_moment("2024-03-10", utc_moment("2024-03-10"), "America/Los_Angeles").isoformat()
    '2024-03-10T00:00:00-08:00'
    >>> cell = "2024-03-10T00:00:00Z"
    >>> site_cell_moment(cell, utc_moment(cell), "America/Los_Angeles").date()
    datetime.date(2024, 3, 10)
    >>> cell = "2024-03-10T00:30:00Z"
    >>> site_cell_moment(cell, utc_moment(cell), "America/Los_Angeles").date()
    datetime.date(2024, 3, 9)
    """
    del cell  # the store keeps no "time typed" flag: one rule for a stored instant and a cell (D-19.947)
    return typed_site_moment(moment, zone)


def site_cell_date(cell: Any, moment: datetime, zone: str | _tzinfo | None) -> _dt.date:
    """The date on the site's calendar of a date field's cell (`site_cell_moment`): a text without a time, or
    exactly 00:00:00Z, is that date, whatever the zone; any other date-time is its date on the site's clock
    (D-19.615, D-19.721, D-19.947).

    >>> site_cell_date("2021-06-02", utc_moment("2021-06-02"), "America/New_York")
    datetime.date(2021, 6, 2)
    >>> site_cell_date("2021-06-02T00:00:00Z", utc_moment("2021-06-02T00:00:00Z"), "America/New_York")
    datetime.date(2021, 6, 2)
    """
    return site_cell_moment(cell, moment, zone).date()


def site_zone_problems(zones: Mapping[str, str]) -> list[Problem]:
    """One located problem (``site <id>``, time_zone; never the stored value) per site of `zones` (site_id →
    stored `site.time_zone`) whose zone the zoneinfo database does not know: the subjects' study-day
    calendar cannot be counted, and is never silently UTC (D-19.607)."""
    return [
        Problem(
            "not an IANA time zone the zoneinfo database knows (the study days of its subjects are counted "
            "on the site's calendar)",
            record=f"site {site}",
            field="time_zone",
            allowed="an IANA zone such as Asia/Shanghai (the tzdata package installed), or blank for UTC",
        )
        for site, zone in zones.items()
        if zone and time_zone_of(str(zone)) is None
    ]


def checked_site_zones(zones: Mapping[str, str]) -> Mapping[str, str]:
    """`zones` (site_id → IANA zone), refused with `site_zone_problems` (a `StoredValueError`) when any is
    unknown (D-19.607)."""
    problems = site_zone_problems(zones)
    if problems:
        raise StoredValueError(problems)
    return zones


def calendar_days(moment: datetime, day0: datetime) -> int:
    """Whole calendar days from the date of `day0` to the date of `moment`, both read on `day0`'s clock (its
    `tzinfo`: the site's zone when `typed_site_moment` set it, else UTC; `moment` by `typed_site_moment`,
    exactly 00:00:00Z being the date typed) — the study-day arithmetic of a date-time (0 on the infusion's
    day; D-19.607, D-19.947).

    >>> day0 = on_site_clock(utc_moment("2021-04-26T23:30:00Z"), "Asia/Shanghai")
    >>> calendar_days(utc_moment("2021-04-27T16:30:00Z"), day0)
    1
    """
    return (typed_site_moment(moment, day0.tzinfo).date() - day0.date()).days


def parse_time_zones(frame: pd.DataFrame, problems: RowProblems) -> list[str | None]:
    """The optional `TIME_ZONE_COLUMN` of an infusions form: the IANA zone of each row (None: blank or no
    such column, the UTC calendar); a name the zoneinfo database does not know is a problem of its row."""
    if TIME_ZONE_COLUMN not in frame.columns:
        return [None] * len(frame)
    out: list[str | None] = []
    for i, cell in enumerate(_cells(frame, TIME_ZONE_COLUMN).tolist()):
        text = str(cell).strip()
        if text and time_zone_of(text) is None:
            problems.add(
                i,
                TIME_ZONE_COLUMN,
                text,
                "not an IANA time zone",
                "an IANA zone such as Asia/Shanghai, or blank for UTC",
            )
            out.append(None)
        else:
            out.append(text or None)
    return out
