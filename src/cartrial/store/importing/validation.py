"""Validation of form rows before anything is written: types, required values, domain rules, keys.

Every problem is collected (file, spreadsheet row, column, value, what is allowed) across all files of an
import; only when there is none is anything written. Column checks are vectorised (numpy/pandas) so that a
million-row import validates in seconds.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import UTC, date
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cartrial.allowed import choice_text
from cartrial.columns import (
    FIRST_DATA_ROW,
    LINE_BREAK,
    ONE_LINE_ALLOWED,
    RowProblems,
    distinct,
    other_digit_fault,
    parse_bool,
    parse_float,
    parse_int,
    positional,
)
from cartrial.errors import CartrialError, InputError, Problem
from cartrial.store.fields import (
    CONTROL_CHARACTERS,
    CONTROL_CHARACTERS_ALLOWED,
    ISO_DATE,
    ISO_DATETIME,
    LOCAL_DATETIME,
    FieldKind,
    FieldRule,
    ProtocolSet,
    clinic_time,
    dose_levels,
    edge_character_fault,
    field_rules,
    key_text_allowed,
    key_text_fault,
    record_rules,
    titre_on_grid,
)
from cartrial.store.importing.forms import FormColumn, FormSpec

if TYPE_CHECKING:
    from cartrial.protocol.model import Protocol


@dataclass
class FormData:
    """One form's rows as read from a source, before validation.

    `frame` holds strings (blank = ''), with template column names. `source_rows` are the rows of the
    source file that each frame row came from (spreadsheet numbering; default: position + 2, a template
    CSV). `source_columns` names, for a template column, the source column it came from (REDCap fields),
    so that problems point at what the user can open and fix. `read_problems`: what the reader found in
    the rows (a cell over the reader's limit, emptied in `frame`), reported first by `validate_form` with the
    rows' other problems; the emptied cells' own problems are left out (`emptied_cells`: every emptied cell
    as (source row, template column), also those past the listed 50 per column; D-19.793).
    """

    spec: FormSpec
    frame: pd.DataFrame
    file: str
    sha256: str
    source_rows: np.ndarray | None = None
    source_columns: dict[str, str] = field(default_factory=dict)
    read_problems: list[Problem] = field(default_factory=list)
    emptied_cells: set[tuple[int, str]] = field(default_factory=set)
    nul_free: bool = False
    """The frame was read by a reader that refuses a NUL byte (`cartrial.tabular.read_csv`,
    `streaming.read_chunks`): no cell holds one, and the column parsers do not look for one again
    (`cartrial.columns.distinct`, D-19.1091). False (look) for a frame built any other way."""

    def rows_of(self, positions: np.ndarray) -> np.ndarray:
        if self.source_rows is None:
            return np.asarray(positions, dtype=int) + FIRST_DATA_ROW
        return self.source_rows[np.asarray(positions, dtype=int)]


@dataclass
class ValidatedForm:
    """A form whose rows all passed validation: typed values keyed by table column, ready to write."""

    spec: FormSpec
    file: str
    sha256: str
    columns: dict[str, list[Any]]
    """Table column → values (Python objects, None for blank), one per row."""
    n_rows: int
    present: frozenset[str] = frozenset()
    """Table columns the source gave (a column absent from the file leaves stored values untouched; a blank
    cell in a present column clears the stored value, as an audited update)."""

    source_rows: np.ndarray | None = None
    """Spreadsheet row of each row in its source file (None: a template CSV, position + 2)."""

    keys_unique: bool = False
    """The rows' natural keys were found unique within the form (`validate_form` with ``check_keys``, whose
    typed keys are compared as Python compares them): a write into a table empty when the form's write
    begins may take every row as new (`pipeline.write_form`, D-19.1152). False: not known. It holds of
    `columns` as validated: `columns` must not be edited after validation (a key changed into another row's
    would be taken as new: only each chunk's own check and the table's UNIQUE index would stop it) —
    build a new form instead."""

    def row_numbers(self) -> np.ndarray:
        """The source row of every row (what errors and edit-check findings name)."""
        if self.source_rows is not None:
            return self.source_rows
        return np.arange(self.n_rows) + FIRST_DATA_ROW

    def written_columns(self, start: int = 0, stop: int | None = None) -> dict[str, list[Any]]:
        """Rows `start`..`stop` column by column: the present table columns and the key (what
        `bulk.upsert_columns` takes; `rows` gives the same rows as dicts)."""
        names = [c for c in self.columns if c in self.present or c in self.spec.key_columns]
        stop = self.n_rows if stop is None else min(stop, self.n_rows)
        return {c: self.columns[c][start:stop] for c in names}

    def rows(self, start: int = 0, stop: int | None = None) -> list[dict[str, Any]]:
        """Rows `start`..`stop` as dicts of the present table columns (what `upsert_rows` takes)."""
        sliced = self.written_columns(start, stop)
        names = list(sliced)
        # map/zip in C: each row tuple has one value per name (a third faster than a comprehension)
        return list(map(dict, map(zip, repeat(names), zip(*sliced.values(), strict=True))))

    def key_tuples(self) -> list[tuple[Any, ...]]:
        return list(zip(*(self.columns[c] for c in self.spec.key_columns), strict=True))


def check_header(data: FormData) -> list[Problem]:
    """Unknown and missing required columns (the template's columns are the only ones accepted)."""
    spec = data.spec
    known = {c.name: c for c in spec.columns()}
    problems: list[Problem] = []
    allowed = choice_text(known)
    seen = list(data.frame.columns)
    for column in sorted({c for c in seen if seen.count(c) > 1}):
        problems.append(Problem("column appears more than once", file=data.file, field=column))
    for column in seen:
        if column not in known:
            problems.append(
                Problem(
                    f"unknown column for form '{spec.name}'",
                    file=data.file,
                    field=data.source_columns.get(column, column),
                    allowed=allowed,
                )
            )
    for group in spec.one_of_groups():
        if not any(c in seen for c in group):
            problems.append(
                Problem(
                    f"form '{spec.name}' needs one of these columns",
                    file=data.file,
                    field=" | ".join(group),
                    allowed=" or ".join(group),
                )
            )
    for column in known.values():
        if column.required and column.name not in seen:
            problems.append(
                Problem(
                    f"required column of form '{spec.name}' is missing",
                    file=data.file,
                    field=column.name,
                    allowed=allowed,
                )
            )
    return problems


def validate_form(
    data: FormData,
    *,
    protocol: Protocol | None = None,
    partial: bool = False,
    check_keys: bool = True,
) -> tuple[ValidatedForm | None, list[Problem]]:
    """Check every row of one form; return the typed rows (None when any problem) and the problems.

    Each column is checked by its field rule (`cartrial.store.fields.FieldRule`: type, unit, range,
    allowed values, the protocol's dose levels and the titre grid when `protocol` is given), each row by
    the rules between its fields (`RecordRule`) and by the owning engine's form validator. With
    ``partial=True`` (one record being filled in: `validate_record`) only the columns present are checked,
    each on its own: no header, record or engine check. `check_keys` reports natural keys repeated within
    the file.
    """
    record_mode = partial or not check_keys
    if not record_mode:
        header = check_header(data)
        if header:
            return None, list(data.read_problems) + header
    spec = data.spec
    frame = positional(data.frame)
    n = len(frame)
    sink = RowProblems(data.file)
    values: dict[str, np.ndarray] = {}
    columns = spec.columns()
    if record_mode:
        # one record: also the table's columns the form does not publish (e.g. raw CRS fields)
        known = {c.name for c in columns}
        rules = field_rules(spec.table)
        columns = [c for c in columns if not partial or c.name in frame.columns]
        columns += [
            FormColumn(name, name, rules[name].kind, False, rules[name].max_length, rules[name],
                       rules[name].required)
            for name in frame.columns
            if name not in known and name in rules
        ]  # fmt: skip
    absent = pd.Series(np.full(n, "", dtype=object))
    # one record (a form save, an API write): its cells read once, each cell's verdict reused (D-19.567)
    one_row = (
        dict(zip(frame.columns, frame.to_numpy(dtype=object)[0].tolist(), strict=True))
        if n == 1 and record_mode
        else None
    )
    for column in columns:
        if one_row is not None and column.table_column is not None and column.rule is not None:
            text = one_row.get(column.name, "")
            default = _scalar_default(spec, column)
            if default is not None and text == "":
                text = default  # as `cells.where(cells != "", default)` below, on the one cell
            values[column.table_column] = _one_cell_parsed(text, column, sink, protocol)
            continue
        cells = frame[column.name] if column.name in frame.columns else absent
        if column.table_column is None or column.rule is None:
            filled = cells != ""
            if filled.any():
                sink.add_file_problem(
                    f"column has {int(filled.sum())} value(s) but the study database has no column for it "
                    f"(table {spec.table}); nothing would be kept, so the import is refused",
                    field=column.name,
                    allowed="upgrade the database schema (cartrial db upgrade) or leave the column blank",
                )
            continue
        default = _scalar_default(spec, column)
        if default is not None:
            cells = cells.where(cells != "", default)
        values[column.table_column] = _parsed_array(
            cells, column, column.rule, sink, protocol, nul_free=data.nul_free
        )
    problems = sink.all()
    if partial:  # a record in part: each rule between fields whose fields are all given (D-19.705)
        bad = {p.field for p in problems}
        problems.extend(
            p for p in _record_problems(spec, values, data.file, given=set(values)) if p.field not in bad
        )
    else:
        problems.extend(_record_problems(spec, values, data.file))
        flagged = {(p.row, p.field) for p in problems}
        problems.extend(p for p in _external_problems(data, frame) if (p.row, p.field) not in flagged)
    problems = _edge_characters_named(problems, {c.name for c in columns if c.rule and c.rule.key})
    if check_keys:
        problems.extend(_duplicate_keys(spec, values, data.file))
    problems = [_locate(p, data) for p in problems]
    if data.read_problems:  # a cell emptied by the reader: its problem, not the empty cell's (D-19.793)
        emptied = set(data.emptied_cells) | {(p.row, p.field) for p in data.read_problems}
        problems = list(data.read_problems) + [p for p in problems if (p.row, p.field) not in emptied]
    if problems:
        return None, problems
    present = frozenset(
        c.table_column for c in columns if c.name in frame.columns and c.table_column is not None
    )
    validated = ValidatedForm(
        spec=spec,
        file=data.file,
        sha256=data.sha256,
        columns={name: array.tolist() for name, array in values.items()},
        n_rows=n,
        present=present,
        source_rows=data.source_rows,
        keys_unique=check_keys,  # `_duplicate_keys` found no key twice (else problems were returned above)
    )
    return validated, []


def _edge_characters_named(problems: list[Problem], keys: set[str]) -> list[Problem]:
    """`problems` with the problems of each refused cell that begins or ends with a space or invisible
    character other than `cartrial.columns.BLANKS` (`edge_character_fault`: a no-break space pasted from
    a French-locale spreadsheet) replaced by one problem naming that character, with the first problem's
    allowed text: ``0.45\\u00a0`` is "begins or ends with U+00A0 NO-BREAK SPACE", not "not a number", and
    ``OD\\u00a0`` one problem, not two (D-19.447). A key names its characters itself (`key_text_fault`);
    a cell refused only as too long keeps that reason (free text keeps such a character)."""
    by_cell: dict[tuple[int | None, str | None], list[Problem]] = {}
    for problem in problems:
        by_cell.setdefault((problem.row, problem.field), []).append(problem)
    out: list[Problem] = []
    for (row, name), found in by_cell.items():
        value = found[0].value
        fault = None
        refused = any(p.message != "text too long" for p in found)
        if row is not None and name not in keys and isinstance(value, str) and refused:
            fault = edge_character_fault(value)
        out.extend(found if fault is None else [replace(found[0], message=fault)])
    return out


def _record_problems(
    spec: FormSpec, values: dict[str, np.ndarray], file: str, given: set[str] | None = None
) -> list[Problem]:
    """Problems of the rules between fields of one record (`cartrial.store.fields.RECORD_RULES`): of a
    whole record (`given` None) those not left to the engine's validator (`RecordRule.live_only`); of a
    record in part, each rule whose fields (`RecordRule.reads`) are all `given` (D-19.705)."""
    rules = [
        rule
        for rule in record_rules(spec.table)
        if (not rule.live_only if given is None else bool(rule.reads) and set(rule.reads) <= given)
    ]
    if not rules:
        return []
    names = list(values)
    problems: list[Problem] = []
    for position, row_values in enumerate(zip(*(values[c] for c in names), strict=True)):
        row = dict(zip(names, row_values, strict=True))
        for rule in rules:
            if rule.field in row and rule.violated(row):
                value = row[rule.field]
                problems.append(
                    Problem(
                        rule.message if rule.detail is None else rule.detail(row),
                        file=file,
                        row=position + FIRST_DATA_ROW,
                        field=rule.field,
                        value=None
                        if not rule.shows_value
                        else value.isoformat()
                        if isinstance(value, date)
                        else value,
                        allowed=rule.allowed,
                    )
                )
    return problems


def _locate(problem: Problem, data: FormData) -> Problem:
    row = problem.row
    if row is not None and data.source_rows is not None and FIRST_DATA_ROW <= row < len(data.source_rows) + 2:
        row = int(data.source_rows[row - FIRST_DATA_ROW])
    field_name = problem.field
    if field_name is not None and field_name in data.source_columns:
        field_name = f"{data.source_columns[field_name]} (→ {data.spec.name}.{field_name})"
    return replace(problem, row=row, field=field_name)


def _scalar_default(spec: FormSpec, column: FormColumn) -> str | None:
    if column.table_column is None:
        return None
    table_column = spec.model.__table__.c[column.table_column]
    default = table_column.default
    if default is not None and getattr(default, "is_scalar", False):
        return str(default.arg)
    return None


def _parse_column(
    cells: pd.Series, column: FormColumn, rule: FieldRule, sink: RowProblems, protocol: Protocol | None
) -> list[Any]:
    """Typed values of one column (None for blank), every bad cell recorded in `sink`."""
    return _parsed_array(cells, column, rule, sink, protocol).tolist()


def _parsed_array(
    cells: pd.Series,
    column: FormColumn,
    rule: FieldRule,
    sink: RowProblems,
    protocol: Protocol | None,
    *,
    nul_free: bool = False,
) -> np.ndarray:
    """`_parse_column` as an object array of the same Python values (what `validate_form` works on);
    `nul_free`: no cell holds a NUL (`FormData.nul_free`)."""
    name = column.name
    required = column.value_required
    sub = pd.DataFrame({name: cells.to_numpy(dtype=object)}, copy=False)  # read only: no copy of the cells
    if column.kind in (FieldKind.INTEGER, FieldKind.NUMBER):
        as_int = column.kind is FieldKind.INTEGER
        if as_int:
            parsed = parse_int(
                sub,
                name,
                sink,
                required=required,
                minimum=None if rule.minimum is None else int(rule.minimum),
                maximum=None if rule.maximum is None else int(rule.maximum),
                nul_free=nul_free,
            )
        else:
            parsed = parse_float(
                sub,
                name,
                sink,
                required=required,
                minimum=rule.minimum,
                maximum=rule.maximum,
                exclusive_minimum=rule.exclusive_minimum,
                unit=rule.unit,
                nul_free=nul_free,
            )
        if rule.protocol_set is ProtocolSet.DOSE_LEVEL and protocol is not None:
            levels = dose_levels(protocol)
            outside = np.isfinite(parsed) & ~np.isin(parsed, np.asarray(levels, dtype=float))
            for i in np.flatnonzero(outside):
                sink.add(i, name, cells.iat[i], "not a dose level of the protocol", rule.allowed(protocol))
                parsed[i] = np.nan
        return _numbers_as_python(parsed, as_int)
    if column.kind is FieldKind.BOOLEAN:
        flags = parse_bool(sub, name, sink, required=required, nul_free=nul_free)
        out = flags.astype(object)  # Python bools
        out[np.asarray(cells.to_numpy(dtype=object) == "", dtype=bool)] = None
        return out
    if column.kind is FieldKind.DATE:
        return _parse_dates(cells, name, required, sink, nul_free=nul_free)
    if column.kind is FieldKind.DATETIME:
        return _parse_datetimes(cells, name, required, sink, nul_free=nul_free)
    if column.kind is FieldKind.JSON:
        return _parse_json(cells, name, required, sink)
    return _parse_text(cells, column, rule, sink, protocol, nul_free=nul_free)


ONE_CELL_CACHE_SIZE = 8192
"""Cells whose parse `_one_cell_parsed` keeps (least recently used dropped first)."""
ONE_CELL_MAX_TEXT = 256
"""Longer cells (free text: a description, a comment) are parsed each time, not kept."""

_one_cell_cache: OrderedDict[tuple[Any, ...], tuple[np.ndarray, tuple[tuple[Any, ...], ...]]] = OrderedDict()
_one_cell_protocols: dict[int, Protocol] = {}
"""The protocols the cached parses were made with, by `id`: held so that no other object takes the id of
one while a parse keyed by it is cached."""
_one_cell_lock = threading.Lock()


def _one_cell_parsed(
    text: Any, column: FormColumn, sink: RowProblems, protocol: Protocol | None
) -> np.ndarray:
    """`_parsed_array` of a one-row column (its cell `text`), its result and problems kept per (column,
    cell text, protocol) and given again for the same cell (D-19.567). The parse of a cell depends on
    nothing else: each distinct text of a column is checked once and its verdict mapped back to the rows
    (`distinct`), so the result and problems of one cell are those of `_parsed_array` on it — the same
    code, run once per text instead of once per write (each single-record write, web form save and API
    call validates its record several times, on one-row frames whose pandas overhead per column is the
    cost). JSON cells (their value is a mutable list or object) and long texts are not kept; a kept array
    is given as a copy. The protocol is part of the key by identity, and every protocol keyed is held
    while its verdicts are kept (`_one_cell_protocols`), so that an id is never another protocol's."""
    assert column.rule is not None
    if column.kind is FieldKind.JSON or not isinstance(text, str) or len(text) > ONE_CELL_MAX_TEXT:
        return _parsed_array(_one_cell(text, column), column, column.rule, sink, protocol)
    key = (column, text, id(protocol))
    with _one_cell_lock:
        kept = _one_cell_cache.get(key)
        if kept is not None:
            _one_cell_cache.move_to_end(key)
    if kept is None:
        fresh = RowProblems(sink.file)
        parsed = _parsed_array(_one_cell(text, column), column, column.rule, fresh, protocol)
        if fresh.file_level or set(fresh.by_row) - {FIRST_DATA_ROW}:  # not a verdict of the cell alone
            sink.file_level.extend(fresh.file_level)
            for row, problems in fresh.by_row.items():
                sink.by_row[row].extend(problems)
            return parsed
        kept = (parsed, tuple((p.field, p.value, p.message, p.allowed) for p in fresh.by_row[FIRST_DATA_ROW]))
        with _one_cell_lock:
            if protocol is not None and id(protocol) not in _one_cell_protocols:
                if len(_one_cell_protocols) >= 4:  # another study's protocols: start afresh
                    _one_cell_protocols.clear()
                    _one_cell_cache.clear()
                _one_cell_protocols[id(protocol)] = protocol
            _one_cell_cache[key] = kept
            if len(_one_cell_cache) > ONE_CELL_CACHE_SIZE:
                _one_cell_cache.popitem(last=False)
    parsed, found = kept
    for name, value, message, allowed in found:
        sink.add(0, name, value, message, allowed)
    return parsed.copy()


def _one_cell(text: Any, column: FormColumn) -> pd.Series:
    """The column of a one-row frame holding `text` (what `validate_form` gives `_parsed_array`)."""
    return pd.Series([text], dtype=object, name=column.name)


def _numbers_as_python(parsed: np.ndarray, as_int: bool) -> np.ndarray:
    """Parsed numbers as an object array of Python values (None for NaN, `int` when `as_int`, else
    `float`), the column at once."""
    finite = ~np.isnan(parsed)
    out = np.full(len(parsed), None, dtype=object)
    if as_int and finite.any() and np.abs(parsed[finite]).max() >= 2.0**62:  # beyond int64: one by one
        for i in np.flatnonzero(finite):
            out[i] = int(parsed[i])
        return out
    out[finite] = parsed[finite].astype(np.int64) if as_int else parsed[finite]
    return out


def _required_problems(blank: np.ndarray, name: str, required: bool, sink: RowProblems, allowed: str) -> None:
    if required:
        for i in np.flatnonzero(blank):
            sink.add(i, name, "", "value is required", allowed)


def _parse_text(
    cells: pd.Series,
    column: FormColumn,
    rule: FieldRule,
    sink: RowProblems,
    protocol: Protocol | None,
    *,
    nul_free: bool = False,
) -> np.ndarray:
    # every check is per value: each distinct text is checked once and the results mapped back to the rows
    raw = cells.to_numpy(dtype=object)
    codes, texts = distinct(raw, nul_free=nul_free)
    distinct_texts = pd.Series(texts, dtype=object)
    blank_texts = np.asarray(texts == "", dtype=bool)
    allowed = rule.allowed(protocol)
    values = texts.copy()
    # per check: (which distinct texts fail, message, allowed), reported check by check as before
    flags: list[tuple[np.ndarray, str, str]] = []
    # a choice, or a known name of a free-text field, is stored in its one spelling whatever the case given
    spellings = rule.spellings()
    if spellings is not None:
        mapped = distinct_texts.str.lower().map(spellings)
        unmapped = mapped.isna().to_numpy()
        if rule.choices is not None:  # a known name of a free-text field is a spelling; other text is kept
            flags.append((unmapped & ~blank_texts, "not an allowed value", allowed))
        values = np.where(unmapped, values, mapped.to_numpy(dtype=object))
    if rule.pattern is not None:
        matches = distinct_texts.str.fullmatch(rule.pattern).to_numpy(dtype=bool)
        flags.append((~matches & ~blank_texts, "not in the expected form", allowed))
    other_digits = np.zeros(len(texts), dtype=bool)
    if rule.digits_0_to_9:  # a text a parser reads numbers from: digits 0-9, the digit named (D-19.520)
        digit_faults = [other_digit_fault(text) for text in texts.tolist()]
        other_digits = np.array([fault is not None for fault in digit_faults], dtype=bool)
        for d in np.flatnonzero(other_digits):
            for i in np.flatnonzero(codes == d):
                sink.add(i, column.name, raw[i], str(digit_faults[d]), allowed)
    if rule.protocol_set is ProtocolSet.AQP4_TITRE:
        off_grid = (
            np.array([text != "" and not titre_on_grid(text) for text in texts.tolist()], dtype=bool)
            & ~other_digits
        )
        flags.append((off_grid, "not a titre on the assay's dilution grid", allowed))
    if rule.key is None:  # a key's control characters and line breaks: its own rule names them (D-19.444)
        controls = distinct_texts.str.contains(CONTROL_CHARACTERS, regex=True).to_numpy(dtype=bool)
        flags.append((controls, "contains a control character", CONTROL_CHARACTERS_ALLOWED))
    if column.max_length is not None:
        too_long = np.array([len(text) > column.max_length for text in texts.tolist()], dtype=bool)
        flags.append((too_long, "text too long", f"at most {column.max_length} characters"))
    if rule.key is None and column.max_length is not None:
        # a text of bounded length (an identifier, code, name or term) is one line (D-19.137)
        breaks = distinct_texts.str.contains(LINE_BREAK, regex=True).to_numpy(dtype=bool)
        flags.append((breaks & ~controls, "contains a line break", ONE_LINE_ALLOWED))
    for flagged, message, what in flags:  # check by check, each in row order (as reported before)
        for i in np.flatnonzero(flagged[codes]):
            sink.add(i, column.name, raw[i], message, what)
    if rule.key is not None:  # a key text: no invisible or look-alike character (D-19.420, D-19.425)
        faults = [key_text_fault(text, rule.key) for text in texts.tolist()]
        key_allowed = key_text_allowed(rule.key)
        for k in [k for k, fault in enumerate(faults) if fault is not None]:
            for i in np.flatnonzero(codes == k):
                sink.add(i, column.name, raw[i], str(faults[k]), key_allowed)
    blank = blank_texts[codes]
    _required_problems(blank, column.name, column.value_required, sink, allowed)
    values[blank_texts] = None
    return values[codes]


def _parse_dates(
    cells: pd.Series, name: str, required: bool, sink: RowProblems, *, nul_free: bool = False
) -> np.ndarray:
    allowed = "ISO 8601 date YYYY-MM-DD"
    # Parse each distinct text once (schedules repeat the same dates many times).
    codes, uniques = distinct(cells.to_numpy(dtype=object), nul_free=nul_free)
    texts = pd.Series(uniques, dtype=object)
    shaped = texts.str.fullmatch(ISO_DATE.pattern).to_numpy(dtype=bool)
    parsed = pd.to_datetime(texts.where(shaped, None), format="%Y-%m-%d", errors="coerce")
    blank_u = (texts == "").to_numpy()
    bad_u = ~blank_u & (~shaped | parsed.isna().to_numpy())
    values_u = np.empty(len(texts), dtype=object)
    for k in np.flatnonzero(~bad_u & ~blank_u):
        stamp = parsed.iat[k]
        values_u[k] = date(stamp.year, stamp.month, stamp.day)
    # a real calendar date the parser cannot hold (after 2262-04-11): out of range, not "not a date"
    out_of_range_u = np.array(
        [bool(shaped[k] and bad_u[k] and _real_date(str(uniques[k]))) for k in range(len(uniques))],
        dtype=bool,
    )
    bad = bad_u[codes]
    out_of_range = out_of_range_u[codes]
    blank = blank_u[codes]
    for i in np.flatnonzero(bad):
        if out_of_range[i]:
            sink.add(i, name, cells.iat[i], "date out of range", DATE_RANGE_ALLOWED)
        else:
            sink.add(i, name, cells.iat[i], "not a date", allowed)
    _required_problems(blank, name, required, sink, allowed)
    return values_u[codes]


def _real_date(text: str) -> bool:
    """Whether `text` (of the form YYYY-MM-DD) is a real calendar date (``2026-02-30`` is not)."""
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _parse_datetimes(
    cells: pd.Series, name: str, required: bool, sink: RowProblems, *, nul_free: bool = False
) -> np.ndarray:
    allowed = "ISO 8601 date-time with Z or an offset, e.g. 2021-06-01T08:30:00Z (a bare date is 00:00 UTC)"
    codes, uniques = distinct(cells.to_numpy(dtype=object), nul_free=nul_free)
    texts = pd.Series(uniques, dtype=object)
    shaped = texts.str.fullmatch(ISO_DATETIME.pattern).to_numpy(dtype=bool)
    naive_u = texts.str.fullmatch(LOCAL_DATETIME.pattern).to_numpy(dtype=bool)
    parsed = pd.to_datetime(texts.where(shaped, None), format="ISO8601", errors="coerce", utc=True)
    blank_u = (texts == "").to_numpy()
    bad_u = ~blank_u & (~shaped | parsed.isna().to_numpy())
    values_u = np.empty(len(texts), dtype=object)
    good = np.flatnonzero(~bad_u & ~blank_u)
    if len(good):
        moments = pd.DatetimeIndex(parsed.iloc[good]).to_pydatetime()
        for position, moment in zip(good.tolist(), moments, strict=True):
            values_u[position] = moment.astimezone(UTC)
    bad = bad_u[codes]
    naive = naive_u[codes]
    blank = blank_u[codes]
    out_of_range_u = np.zeros(len(texts), dtype=bool)
    unreal_u = np.zeros(len(texts), dtype=bool)
    bad_offset_u = np.zeros(len(texts), dtype=bool)
    for candidate in np.flatnonzero(shaped & bad_u).tolist():  # well-formed, refused: which part?
        typed = str(uniques[candidate])
        if _impossible_date_time(typed):  # the date or time itself, whatever the offset
            unreal_u[candidate] = True
        elif _impossible_offset(typed):  # a real date and time, an offset of 24 h or more
            bad_offset_u[candidate] = True
        else:
            out_of_range_u[candidate] = _valid_iso_datetime(typed)
    for candidate in np.flatnonzero(naive_u).tolist():  # no offset: a real clinic time? (D-19.296)
        unreal_u[candidate] = clinic_time(str(uniques[candidate])) is None
    out_of_range = out_of_range_u[codes]
    unreal = unreal_u[codes]
    bad_offset = bad_offset_u[codes]
    for i in np.flatnonzero(bad):
        if bad_offset[i]:
            sink.add(i, name, cells.iat[i], "not an ISO 8601 date-time", DATETIME_OFFSET_ALLOWED)
        elif out_of_range[i]:
            sink.add(i, name, cells.iat[i], "date-time out of range", DATETIME_RANGE_ALLOWED)
        elif unreal[i]:
            sink.add(i, name, cells.iat[i], "not a real calendar date and time", DATETIME_REAL_ALLOWED)
        elif naive[i]:
            sink.add(i, name, cells.iat[i], "date-time without a time zone (ambiguous)", allowed)
        else:
            sink.add(i, name, cells.iat[i], "not an ISO 8601 date-time", allowed)
    _required_problems(blank, name, required, sink, allowed)
    return values_u[codes]


PARSER_DATE_RANGE = (pd.Timestamp.min.ceil("D").date(), pd.Timestamp.max.floor("D").date())
"""The first and last whole days the column parser holds (pandas' nanosecond date-times: 1677-09-22 to
2262-04-11): the range of every date and date-time field (D-19.424)."""

DATETIME_RANGE_ALLOWED = (
    f"a date-time from {PARSER_DATE_RANGE[0]} to {PARSER_DATE_RANGE[1]} (UTC), with Z or an offset"
)
"""What a well-formed date-time outside the parser's range (pandas' nanosecond date-times) is told."""

DATE_RANGE_ALLOWED = f"a date from {PARSER_DATE_RANGE[0]} to {PARSER_DATE_RANGE[1]}, as YYYY-MM-DD"
"""What a real calendar date outside the parser's range (``9999-12-31``) is told (D-19.424)."""

DATETIME_REAL_ALLOWED = (
    "a real calendar date and time (month 01-12, a day the month has, hour 00-23, minute 00-59), "
    "with Z or an offset, e.g. 2021-06-01T08:30:00Z"
)
"""What a date-time of the right form but an impossible date or time (2026-02-30, 25:00, 10:61) is told."""


DATETIME_OFFSET_ALLOWED = (
    "ISO 8601 date-time with Z or a UTC offset from -23:59 to +23:59 (hours 00-23, minutes 00-59), "
    "e.g. 2021-06-01T08:30:00+02:00"
)
"""What a real date and time with an impossible offset (+24:00, +08:60) is told."""

_OFFSET = re.compile(r"(?:[Zz]|[+-]([0-9]{2}):?([0-9]{2}))\Z")


def _impossible_date_time(text: str) -> bool:
    """Whether the date or time of a well-formed date-time (`ISO_DATETIME`), without its offset, is not a
    real calendar date and time (``2026-02-30``, ``25:00``): read by `clinic_time` (a bare date by
    `date.fromisoformat`)."""
    local = _OFFSET.sub("", text.strip()) if len(text.strip()) > 10 else text.strip()
    if len(local) > 10:
        return clinic_time(local) is None
    try:
        date.fromisoformat(local)
    except ValueError:
        return True
    return False


def _impossible_offset(text: str) -> bool:
    """Whether the offset of a well-formed date-time is not one Python reads: hours 24 or more (an offset is
    strictly within 24 h) or minutes 60 or more."""
    found = _OFFSET.search(text.strip()) if len(text.strip()) > 10 else None
    if found is None or found.group(1) is None:
        return False
    return int(found.group(1)) >= 24 or int(found.group(2)) >= 60


def _valid_iso_datetime(text: object) -> bool:
    """Whether `text` is a well-formed ISO 8601 date-time with its offset (Python reads it), so that a
    refusal by the range of the parser says so instead of "not an ISO 8601 date-time"."""
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(str(text).replace("z", "Z"))
    except ValueError:
        return False
    return moment.tzinfo is not None


def _parse_json(cells: pd.Series, name: str, required: bool, sink: RowProblems) -> np.ndarray:
    """The one JSON rule (`cartrial.columns.parse_json_cells`, which the escalation replay reads
    ``design_state`` by too, D-19.1087)."""
    from cartrial.columns import parse_json_cells
    from cartrial.store.fields import json_allowed

    return parse_json_cells(cells.tolist(), name, sink, json_allowed(name), required=required)


def _duplicate_keys(spec: FormSpec, values: dict[str, np.ndarray], file: str) -> list[Problem]:
    keys = pd.DataFrame(
        {c: pd.Series(values[c], dtype=object, copy=False) for c in spec.key_columns}, copy=False
    )
    repeated = keys.duplicated(keep=False).to_numpy()
    if not repeated.any():  # the usual case: no row is incomplete and repeated, nothing more to read
        return []
    complete = keys.notna().all(axis=1).to_numpy()  # rows whose key failed to parse are reported already
    repeated &= complete
    if not repeated.any():
        return []
    first_row: dict[tuple[str, ...], int] = {}
    problems: list[Problem] = []
    template_key = spec.template_key()
    for i in np.flatnonzero(repeated):
        key = tuple(keys.iloc[i])
        if key not in first_row:
            first_row[key] = int(i) + FIRST_DATA_ROW
            continue
        row = int(i) + FIRST_DATA_ROW
        problems.append(
            Problem(
                f"the same {' + '.join(template_key)} already appears on row {first_row[key]}",
                file=file,
                row=row,
                field=", ".join(template_key),
                allowed="one row per natural key",  # rows and fields, no value of the record (D-12.2)
            )
        )
    return problems


def _external_problems(data: FormData, frame: pd.DataFrame) -> list[Problem]:
    """Problems found by the form validator of the engine that owns the form (if it has one); `frame`: the
    form's cells indexed by position (`positional`, the one `validate_form` parsed)."""
    spec = data.spec
    if spec.validator is None:
        return []
    frame = frame.copy(deep=False)  # the validator's own columns, the cells shared (D-19.916)
    positions = np.arange(len(frame))
    if spec.validator_rows is not None:
        column, wanted = spec.validator_rows
        if column not in frame.columns:
            return []
        # each distinct text lowered and looked up once (`frame[column].str.lower().isin(wanted)`)
        codes, texts = distinct(frame[column].to_numpy(dtype=object), nul_free=data.nul_free)
        kept = np.array([isinstance(t, str) and t.lower() in wanted for t in texts.tolist()], dtype=bool)
        positions = np.flatnonzero(kept[codes])
        frame = frame.iloc[positions].reset_index(drop=True)
        if frame.empty:
            return []
    sink = RowProblems(data.file)
    try:
        spec.validator(frame, sink)
    except InputError as exc:
        return list(exc.problems)
    except CartrialError as exc:
        return [Problem(str(exc), file=data.file)]
    out: list[Problem] = []
    for problem in sink.all():
        if problem.row is not None:
            problem = replace(problem, row=int(positions[problem.row - FIRST_DATA_ROW]) + FIRST_DATA_ROW)
        out.append(problem)
    return out
