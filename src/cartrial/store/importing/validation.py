"""Validation of form rows before anything is written: types, required values, domain rules, keys.

Every problem is collected (file, spreadsheet row, column, value, what is allowed) across all files of an
import; only when there is none is anything written. Column checks are vectorised (numpy/pandas) so that a
million-row import validates in seconds.
"""

from __future__ import annotations

import importlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd

from cartrial.columns import FIRST_DATA_ROW, RowProblems, parse_bool, parse_float, parse_int
from cartrial.errors import CartrialError, InputError, Problem
from cartrial.store.importing.forms import ColumnKind, FormColumn, FormSpec

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?([Zz]|[+-]\d{2}:?\d{2})?$")


@dataclass
class FormData:
    """One form's rows as read from a source, before validation.

    `frame` holds strings (blank = ''), with template column names. `source_rows` are the rows of the
    source file that each frame row came from (spreadsheet numbering; default: position + 2, a template
    CSV). `source_columns` names, for a template column, the source column it came from (REDCap fields),
    so that problems point at what the user can open and fix.
    """

    spec: FormSpec
    frame: pd.DataFrame
    file: str
    sha256: str
    source_rows: np.ndarray | None = None
    source_columns: dict[str, str] = field(default_factory=dict)

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

    def rows(self, start: int = 0, stop: int | None = None) -> list[dict[str, Any]]:
        """Rows `start`..`stop` as dicts of the present table columns (what `upsert_rows` takes)."""
        names = [c for c in self.columns if c in self.present or c in self.spec.key_columns]
        stop = self.n_rows if stop is None else min(stop, self.n_rows)
        sliced = [self.columns[c][start:stop] for c in names]
        return [dict(zip(names, values, strict=True)) for values in zip(*sliced, strict=True)]

    def key_tuples(self) -> list[tuple[Any, ...]]:
        return list(zip(*(self.columns[c] for c in self.spec.key_columns), strict=True))


def check_header(data: FormData) -> list[Problem]:
    """Unknown and missing required columns (the template's columns are the only ones accepted)."""
    spec = data.spec
    known = {c.name: c for c in spec.columns()}
    problems: list[Problem] = []
    allowed = ", ".join(known)
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


def validate_form(data: FormData) -> tuple[ValidatedForm | None, list[Problem]]:
    """Check every row of one form; return the typed rows (None when any problem) and the problems."""
    header = check_header(data)
    if header:
        return None, header
    spec = data.spec
    frame = data.frame.reset_index(drop=True)
    n = len(frame)
    sink = RowProblems(data.file)
    values: dict[str, list[Any]] = {}
    by_table = {c.table_column: c.name for c in spec.columns() if c.table_column is not None}
    for column in spec.columns():
        cells = frame[column.name] if column.name in frame.columns else pd.Series([""] * n, dtype=object)
        if column.table_column is None:
            filled = cells != ""
            if filled.any():
                sink.add_file_problem(
                    f"column has {int(filled.sum())} value(s) but the study database has no column for it "
                    f"(table {spec.table}); nothing would be kept, so the import is refused",
                    field=column.name,
                    allowed="upgrade the database schema (cartrial db upgrade) or leave the column blank",
                )
            continue
        source = spec.fill_blank_from.get(column.table_column)
        if source is not None and source in frame.columns:
            cells = cells.where(cells != "", frame[source])
        default = _scalar_default(spec, column)
        if default is not None:
            cells = cells.where(cells != "", default)
        values[column.table_column] = _parse_column(frame, cells, column, sink)
    del by_table
    problems = sink.all()
    problems.extend(_external_problems(data))
    problems.extend(_duplicate_keys(spec, values, data.file))
    problems = [_locate(p, data) for p in problems]
    if problems:
        return None, problems
    present = frozenset(
        c.table_column for c in spec.columns() if c.name in frame.columns and c.table_column is not None
    )
    validated = ValidatedForm(
        spec=spec, file=data.file, sha256=data.sha256, columns=values, n_rows=n, present=present
    )
    return validated, []


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


def _parse_column(frame: pd.DataFrame, cells: pd.Series, column: FormColumn, sink: RowProblems) -> list[Any]:
    rule = column.rule
    blank = (cells == "").to_numpy()
    name = column.name
    sub = pd.DataFrame({name: cells.to_numpy(dtype=object)})
    if column.kind in (ColumnKind.INTEGER, ColumnKind.NUMBER):
        if column.kind is ColumnKind.INTEGER:
            parsed = parse_int(
                sub,
                name,
                sink,
                required=column.value_required,
                minimum=None if rule.minimum is None else int(rule.minimum),
                maximum=None if rule.maximum is None else int(rule.maximum),
            )
        else:
            parsed = parse_float(
                sub,
                name,
                sink,
                required=column.value_required,
                minimum=rule.minimum,
                maximum=rule.maximum,
                exclusive_minimum=rule.exclusive_minimum,
                unit=rule.unit,
            )
        as_int = column.kind is ColumnKind.INTEGER
        return [None if math.isnan(v) else (int(v) if as_int else float(v)) for v in parsed.tolist()]
    if column.kind is ColumnKind.BOOLEAN:
        flags = parse_bool(sub, name, sink, required=column.value_required)
        return [None if b else bool(f) for f, b in zip(flags.tolist(), blank.tolist(), strict=True)]
    if column.kind is ColumnKind.DATE:
        return _parse_dates(cells, name, column.value_required, sink)
    if column.kind is ColumnKind.DATETIME:
        return _parse_datetimes(cells, name, column.value_required, sink)
    if column.kind is ColumnKind.JSON:
        return _parse_json(cells, name, column.value_required, sink)
    return _parse_text(cells, column, sink)


def _required_problems(blank: np.ndarray, name: str, required: bool, sink: RowProblems, allowed: str) -> None:
    if required:
        for i in np.flatnonzero(blank):
            sink.add(i, name, "", "value is required", allowed)


def _parse_text(cells: pd.Series, column: FormColumn, sink: RowProblems) -> list[Any]:
    rule = column.rule
    blank = (cells == "").to_numpy()
    out = cells.to_numpy(dtype=object).copy()
    allowed = "any non-blank text"
    if rule.choices is not None:
        canonical = {c.lower(): c for c in rule.choices}
        allowed = " | ".join(rule.choices)
        lowered = cells.str.lower()
        mapped = lowered.map(canonical)
        bad = (mapped.isna() & ~(cells == "")).to_numpy()
        for i in np.flatnonzero(bad):
            sink.add(i, column.name, cells.iat[i], "not an allowed value", allowed)
        out = np.where(mapped.isna().to_numpy(), out, mapped.to_numpy(dtype=object))
    if rule.pattern is not None:
        allowed = rule.pattern_text or rule.pattern
        matches = cells.str.fullmatch(rule.pattern).to_numpy(dtype=bool)
        for i in np.flatnonzero(~matches & ~blank):
            sink.add(i, column.name, cells.iat[i], "not in the expected form", allowed)
    if column.max_length is not None:
        too_long = (cells.str.len() > column.max_length).to_numpy()
        for i in np.flatnonzero(too_long):
            sink.add(i, column.name, cells.iat[i], "text too long", f"at most {column.max_length} characters")
    _required_problems(blank, column.name, column.value_required, sink, allowed)
    out[blank] = None
    return list(out)


def _parse_dates(cells: pd.Series, name: str, required: bool, sink: RowProblems) -> list[Any]:
    allowed = "ISO 8601 date YYYY-MM-DD"
    # Parse each distinct text once (schedules repeat the same dates many times).
    codes, uniques = pd.factorize(cells, sort=False)
    texts = pd.Series(uniques, dtype=object)
    shaped = texts.str.fullmatch(ISO_DATE.pattern).to_numpy(dtype=bool)
    parsed = pd.to_datetime(texts.where(shaped, None), format="%Y-%m-%d", errors="coerce")
    blank_u = (texts == "").to_numpy()
    bad_u = ~blank_u & (~shaped | parsed.isna().to_numpy())
    values_u = np.empty(len(texts), dtype=object)
    for k in np.flatnonzero(~bad_u & ~blank_u):
        stamp = parsed.iat[k]
        values_u[k] = date(stamp.year, stamp.month, stamp.day)
    bad = bad_u[codes]
    blank = blank_u[codes]
    for i in np.flatnonzero(bad):
        sink.add(i, name, cells.iat[i], "not a date", allowed)
    _required_problems(blank, name, required, sink, allowed)
    return list(values_u[codes])


def _parse_datetimes(cells: pd.Series, name: str, required: bool, sink: RowProblems) -> list[Any]:
    allowed = "ISO 8601 date-time, e.g. 2021-06-01T08:30:00Z (no offset: UTC)"
    codes, uniques = pd.factorize(cells, sort=False)
    texts = pd.Series(uniques, dtype=object)
    shaped = texts.str.fullmatch(ISO_DATETIME.pattern).to_numpy(dtype=bool)
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
    blank = blank_u[codes]
    for i in np.flatnonzero(bad):
        sink.add(i, name, cells.iat[i], "not an ISO 8601 date-time", allowed)
    _required_problems(blank, name, required, sink, allowed)
    return list(values_u[codes])


def _parse_json(cells: pd.Series, name: str, required: bool, sink: RowProblems) -> list[Any]:
    allowed = 'JSON list or object, e.g. [{"drug": "rituximab", "stopped_on": "2020-01-05"}]'
    out: list[Any] = [None] * len(cells)
    for i, cell in enumerate(cells.tolist()):
        if cell == "":
            if required:
                sink.add(i, name, "", "value is required", allowed)
            continue
        try:
            value = json.loads(cell)
        except json.JSONDecodeError as exc:
            sink.add(i, name, cell, f"not valid JSON ({exc.msg})", allowed)
            continue
        if not isinstance(value, list | dict):
            sink.add(i, name, cell, "not a JSON list or object", allowed)
            continue
        out[i] = value
    return out


def _duplicate_keys(spec: FormSpec, values: dict[str, list[Any]], file: str) -> list[Problem]:
    keys = pd.DataFrame({c: pd.Series(values[c], dtype=object) for c in spec.key_columns})
    complete = keys.notna().all(axis=1).to_numpy()  # rows whose key failed to parse are reported already
    repeated = keys.duplicated(keep=False).to_numpy() & complete
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
                value=" / ".join(str(v) for v in key),
                allowed="one row per natural key",
            )
        )
    return problems


def _external_problems(data: FormData) -> list[Problem]:
    """Problems found by the validator the owning area publishes for this form (if it does)."""
    template = data.spec.template
    if template is None or template.validator is None:
        return []
    try:
        module = importlib.import_module(template.module)
    except ImportError:
        return []
    function: Callable[..., Any] | None = getattr(module, template.validator, None)
    if function is None:
        return []
    frame = data.frame.reset_index(drop=True)
    positions = np.arange(len(frame))
    if template.validator_rows is not None:
        column, values_module, attribute = template.validator_rows
        try:
            allowed_values = getattr(importlib.import_module(values_module), attribute)
        except (ImportError, AttributeError):
            return []
        wanted = {str(getattr(v, "value", v)).lower() for v in allowed_values}
        if column not in frame.columns:
            return []
        positions = np.flatnonzero(frame[column].str.lower().isin(wanted).to_numpy())
        frame = frame.iloc[positions].reset_index(drop=True)
        if frame.empty:
            return []
    sink = RowProblems(data.file)
    try:
        function(frame, sink)
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


def parse_iso_date(text: str) -> date | None:
    """A strict YYYY-MM-DD date, or None."""
    if not ISO_DATE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def now_utc() -> datetime:
    return datetime.now(UTC)
