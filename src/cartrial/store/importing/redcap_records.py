"""The flat REDCap record export: read, check against the data dictionary, split into instrument rows.

Source: docs/science/data-standards.md §6.2 (flat layout: ``record_id`` first, ``redcap_event_name``,
``redcap_repeat_instrument``, ``redcap_repeat_instance``, optional ``redcap_data_access_group``, the
fields, checkbox fields as ``<field>___<code>`` columns holding 0/1 (or Unchecked/Checked), one
``<form>_complete`` column per instrument coded 0 Incomplete, 1 Unverified, 2 Complete; non-repeating rows
have blank repeat columns) and §6.3 rules 1–4 (raw codes, keys, blank vs data, form status).

Values are read as raw codes (the export option ``rawOrLabel=raw``); a label where a code is expected is an
error naming the allowed codes and their labels. Dates and numbers are checked against the dictionary's
text validation type and min/max.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from cartrial.columns import FIRST_DATA_ROW
from cartrial.errors import InputError, Problem
from cartrial.store.importing.redcap_dictionary import (
    DATE_LAYOUTS,
    FORM_STATUS_CODES,
    DataDictionary,
    FieldSpec,
    checkbox_column,
    read_bound,
    read_moment,
)
from cartrial.tabular import read_csv

EVENT_COLUMN = "redcap_event_name"
REPEAT_INSTRUMENT_COLUMN = "redcap_repeat_instrument"
REPEAT_INSTANCE_COLUMN = "redcap_repeat_instance"
DAG_COLUMN = "redcap_data_access_group"
SURVEY_IDENTIFIER_COLUMN = "redcap_survey_identifier"
KEY_COLUMNS = (EVENT_COLUMN, REPEAT_INSTRUMENT_COLUMN, REPEAT_INSTANCE_COLUMN, DAG_COLUMN)

CHECKBOX_VALUES = {"0": False, "1": True, "unchecked": False, "checked": True}
"""Checkbox cells: 0/1 raw, Unchecked/Checked when exported with labels (docs/science/data-standards.md
§6.2)."""

INTEGER_PATTERN = re.compile(r"^[+-]?[0-9]+\Z")
_NUMBER_DP = re.compile(r"^number(_([0-9])dp)?(_comma_decimal)?\Z")


@dataclass(frozen=True)
class RedcapExport:
    """A checked flat export: the raw cells (strings), the data columns and their fields, the file."""

    frame: pd.DataFrame
    file: str
    record_id_column: str
    data_columns: dict[str, tuple[FieldSpec, str | None]]
    status_columns: dict[str, str]
    """``<form>_complete`` column → form."""
    missing_codes_found: dict[str, int] = field(default_factory=dict)
    """Missing-data code → number of cells that held it (blanked before any check)."""

    def rows(self, index: np.ndarray) -> np.ndarray:
        """Spreadsheet row numbers (header = 1) of the given 0-based positions."""
        return np.asarray(index, dtype=int) + FIRST_DATA_ROW


def read_records(
    path: str | Path,
    dictionary: DataDictionary,
    missing_codes: Collection[str] = (),
    *,
    needed_columns: Mapping[str, str] | None = None,
) -> RedcapExport:
    """Read a flat REDCap export (CSV, raw codes) and check every cell against the dictionary.

    Errors (all collected, then raised together): the first column is not the record-id field; a column
    that is neither a key column, a dictionary field (or checkbox choice column) nor a ``<form>_complete`` /
    ``<form>_timestamp`` column of a dictionary form; blank record id; a repeat instrument that is not a
    dictionary form; data in a field of another instrument on a repeating-instrument row; a repeat instance
    that is not a positive whole number (an instance without instrument is a repeating event's); the same
    (record, event, instrument, instance) twice; a code
    outside a field's choices; a checkbox cell other than 0/1; a form status other than 0/1/2; a date,
    date-time, integer or number that does not match the field's validation type or lies outside its
    min/max. Derived (calc) fields are checked as numbers but never imported as entered data.

    `needed_columns` (column → the mapping entry that reads it; `redcap_convert.mapped_columns`): a column
    the mapping reads that the export lacks is a header error.

    `missing_codes` are the project's missing-data codes (REDCap "Missing Data Codes", e.g. ``UNK``,
    ``NASK``; docs/science/data-standards.md §6.3 rule 4): a data cell holding one means "no value" and is
    blanked before
    the checks; the count per code is kept for the report. A checkbox field's missing code is exported as
    one more column of the field, ``<field>___<code>`` holding 1 where it was chosen: with that code among
    `missing_codes` the column is known, checked as 0/1, its 1s counted, and never read as data
    (D-19.1233).
    """
    file = Path(path)
    name = str(file)
    if not file.is_file():
        raise InputError(Problem("REDCap export not found", file=name))
    # UTF-8 (BOM accepted), ragged and empty rows located, cells stripped; no records: the message below
    # a cell over the reader's limit: emptied, reported with the export's other problems (D-19.793)
    long_cells: list[Problem] = []
    emptied: set[tuple[int, str]] = set()
    frame = read_csv(file, header_only=True, long_cells=long_cells, emptied=emptied)
    if frame.empty:
        raise InputError(
            Problem(
                "the export has a header but no records; nothing to import",
                file=name,
                allowed="a REDCap 'CSV (raw data)' export with at least one record row",
            )
        )
    problems: list[Problem] = []
    record_id = dictionary.record_id_field
    columns = list(frame.columns)
    if not columns or columns[0] != record_id:
        problems.append(
            Problem(
                "the first column must be the record id field (the dictionary's first field)",
                file=name,
                field=columns[0] if columns else "header",
                allowed=record_id,
            )
        )
    owners = dictionary.column_owner()
    forms = set(dictionary.forms)
    status_columns: dict[str, str] = {}
    data_columns: dict[str, tuple[FieldSpec, str | None]] = {}
    # a missing-data code given to a checkbox: one more `<field>___<code>` column, 1 where chosen (D-19.1233)
    missing_columns = {
        checkbox_column(spec.name, code): (spec, code)
        for spec in dictionary.fields.values()
        if spec.field_type == "checkbox"
        for code in missing_codes
    }
    code_columns: dict[str, tuple[FieldSpec, str]] = {}
    for column in columns:
        if column in (record_id, SURVEY_IDENTIFIER_COLUMN, *KEY_COLUMNS):
            continue
        if column in owners:
            data_columns[column] = owners[column]
        elif column in missing_columns:
            code_columns[column] = missing_columns[column]
        elif column.endswith("_complete") and column[: -len("_complete")] in forms:
            status_columns[column] = column[: -len("_complete")]
        elif column.endswith("_timestamp") and column[: -len("_timestamp")] in forms:
            continue
        else:
            problems.append(
                Problem(
                    "column is not a field of the data dictionary",
                    file=name,
                    field=column,
                    allowed="dictionary fields, <field>___<code> checkbox columns, <form>_complete, "
                    "redcap_event_name, redcap_repeat_instrument, redcap_repeat_instance, "
                    "redcap_data_access_group",
                )
            )
    for column, where in (needed_columns or {}).items():
        if column not in frame.columns:
            problems.append(
                Problem(
                    f"column is not in the export, but the mapping reads it ({where})",
                    file=name,
                    field=column,
                    allowed="an export that includes this column (REDCap: export all fields, or select this "
                    "one), or a mapping that does not read it",
                )
            )
    if problems:
        problems = [*long_cells, *problems]
        raise InputError(problems, header=f"{name}: {len(problems)} problem(s) in the export header")

    n = len(frame)
    found: dict[str, int] = {}
    if missing_codes:
        for column in data_columns:
            cells = frame[column]
            hit = cells.isin(list(missing_codes))
            if hit.any():
                for code, count in cells[hit].value_counts().items():
                    found[str(code)] = found.get(str(code), 0) + int(count)
                frame[column] = cells.where(~hit, "")

    def add(index: int, column: str, value: str, message: str, allowed: str | None = None) -> None:
        problems.append(
            Problem(
                message, file=name, row=index + FIRST_DATA_ROW, field=column, value=value, allowed=allowed
            )
        )

    ids = frame[record_id]
    for i in np.flatnonzero((ids == "").to_numpy()):
        add(int(i), record_id, "", "blank record id", "a non-blank record id")
    instrument = frame[REPEAT_INSTRUMENT_COLUMN] if REPEAT_INSTRUMENT_COLUMN in frame else pd.Series([""] * n)
    instance = frame[REPEAT_INSTANCE_COLUMN] if REPEAT_INSTANCE_COLUMN in frame else pd.Series([""] * n)
    for i in np.flatnonzero(((instrument != "") & ~instrument.isin(forms)).to_numpy()):
        add(
            int(i),
            REPEAT_INSTRUMENT_COLUMN,
            str(instrument.iat[i]),
            "not an instrument of the dictionary",
            ", ".join(sorted(forms)),
        )
    repeating = (instrument.isin(forms)).to_numpy()
    if repeating.any():  # a repeating instrument's row holds that instrument's fields only
        # a checkbox's missing-code column too: a 1 there is the field's entry (D-19.1235)
        for column, (spec, _code) in [*data_columns.items(), *code_columns.items()]:
            cells = frame[column]
            ticked = spec.field_type == "checkbox"
            filled = cells.str.lower().isin(["1", "checked"]) if ticked else cells != ""
            stray = repeating & filled.to_numpy() & (instrument != spec.form).to_numpy()
            for i in np.flatnonzero(stray):
                add(
                    int(i),
                    column,
                    str(cells.iat[i]),
                    f"field of instrument '{spec.form}' holds data on a row of repeating instrument "
                    f"'{instrument.iat[i]}'",
                    f"blank here: a repeating-instrument row holds only fields of '{instrument.iat[i]}'",
                )
    instance_ok = instance.str.fullmatch(r"[1-9][0-9]*").to_numpy()
    for i in np.flatnonzero(~instance_ok & (instance != "").to_numpy()):
        add(int(i), REPEAT_INSTANCE_COLUMN, str(instance.iat[i]), "not a positive whole number", "1, 2, 3, …")
    for i in np.flatnonzero(((instrument != "") & (instance == "")).to_numpy()):
        add(int(i), REPEAT_INSTANCE_COLUMN, "", "a repeating-instrument row needs its instance", "1, 2, 3, …")
    key_frame = pd.DataFrame(
        {
            "id": ids,
            "event": frame[EVENT_COLUMN].to_numpy() if EVENT_COLUMN in frame else "",
            "instrument": instrument.to_numpy(),
            "instance": instance.to_numpy(),
        }
    )
    repeated = key_frame.duplicated(keep="first").to_numpy()
    for i in np.flatnonzero(repeated):
        add(
            int(i),
            record_id,
            str(ids.iat[i]),
            "the same record, event, repeat instrument and instance appear on an earlier row",
        )

    for column, (spec, code) in data_columns.items():
        _check_column(frame[column], column, spec, code, add)
    for column, (spec, code) in code_columns.items():  # "no value" for the field, counted (D-19.1233)
        cells = frame[column]
        _check_column(cells, column, spec, None, add)
        ticked = cells.str.lower().isin(["1", "checked"]).to_numpy()
        # "no value" and a ticked choice of the same field: neither read, the row refused (D-19.1235)
        choices = [c for c, (owner, _code) in data_columns.items() if owner.name == spec.name]
        chose = np.zeros(n, dtype=bool)
        for choice in choices:
            chose |= frame[choice].str.lower().isin(["1", "checked"]).to_numpy()
        both = ticked & chose
        for i in np.flatnonzero(both):
            problems.append(
                Problem(
                    f"the missing-data code {code} and a choice of field '{spec.name}' are both ticked",
                    file=name,
                    row=int(i) + FIRST_DATA_ROW,
                    field=column,
                    allowed=f"either {code} (no value) or the field's choices, not both",
                )
            )
        chosen = int(ticked.sum())
        if chosen:
            found[code] = found.get(code, 0) + chosen
    for column in status_columns:
        cells = frame[column]
        bad = ((cells != "") & ~cells.isin(list(FORM_STATUS_CODES))).to_numpy()
        for i in np.flatnonzero(bad):
            add(
                int(i),
                column,
                str(cells.iat[i]),
                "not a form status code",
                "0 Incomplete, 1 Unverified, 2 Complete",
            )
    # an emptied cell: its long-cell problem, not the blank cell's (D-19.793)
    problems = [*long_cells, *(p for p in problems if (p.row, p.field) not in emptied)]
    if problems:
        problems = without_identifier_values(problems, dictionary, missing_codes)
        raise InputError(problems, header=f"{name}: {len(problems)} problem(s) in the REDCap export")
    return RedcapExport(
        frame=frame.reset_index(drop=True),
        file=name,
        record_id_column=record_id,
        data_columns=data_columns,
        status_columns=status_columns,
        missing_codes_found=found,
    )


def without_identifier_values(
    problems: list[Problem], dictionary: DataDictionary, missing_codes: Collection[str] = ()
) -> list[Problem]:
    """`problems` with the value dropped from each one located at a field the dictionary flags
    ``Identifier? = y`` (its export column, or a cartrial column read from it: ``record_id (→
    subjects.subject_id)``): the row and field still locate it, the identifier itself is never shown
    (docs/science/data-standards.md §6.1 ``Identifier?``; D-19.1073). Every problem of the REDCap import
    passes here: the export's checks and the mapping's translation (the forms' validation shows no value at
    all, D-19.1234). `missing_codes`: the project's missing-data codes, whose checkbox columns
    (``<field>___<code>``) are the field's too (D-19.1233)."""
    hidden = identifier_columns(dictionary, missing_codes)
    if not hidden:
        return problems
    out: list[Problem] = []
    for problem in problems:
        where = (problem.field or "").split(" (→ ", 1)[0]
        out.append(replace(problem, value=None) if where in hidden and problem.value is not None else problem)
    return out


def identifier_columns(dictionary: DataDictionary, missing_codes: Collection[str] = ()) -> set[str]:
    """The fields the dictionary flags ``Identifier? = y`` and their export columns (each code column of a
    checkbox, and its missing-code column ``<field>___<code>`` for each of `missing_codes`, D-19.1233):
    where a problem shows no value (D-19.1073, D-19.1235)."""
    hidden: set[str] = set()
    for spec in dictionary.fields.values():
        if spec.identifier:
            hidden.add(spec.name)
            hidden.update(spec.export_columns())
            if spec.field_type == "checkbox":
                hidden.update(checkbox_column(spec.name, code) for code in missing_codes)
    return hidden


def _check_column(
    cells: pd.Series,
    column: str,
    spec: FieldSpec,
    code: str | None,
    add: Callable[[int, str, str, str, str | None], None],
) -> None:
    present = (cells != "").to_numpy()
    if spec.field_type == "checkbox":
        ok = cells.str.lower().isin(list(CHECKBOX_VALUES)).to_numpy()
        for i in np.flatnonzero(present & ~ok):
            add(int(i), column, str(cells.iat[i]), "not a checkbox value", "0 or 1 (Unchecked or Checked)")
        return
    if spec.choices:
        ok = cells.isin(list(spec.choices)).to_numpy()
        allowed = " | ".join(f"{k} ({v})" for k, v in spec.choices.items())
        for i in np.flatnonzero(present & ~ok):
            add(int(i), column, str(cells.iat[i]), "not a code of this field's choices", allowed)
        return
    validation = spec.validation
    if (
        validation in DATE_LAYOUTS
        or spec.field_type == "calc"
        or validation == "integer"
        or (_NUMBER_DP.match(validation))
    ):
        for i in np.flatnonzero(present):
            value = str(cells.iat[i])
            message = check_value(spec, value)
            if message is not None:
                add(int(i), column, value, message[0], message[1])


def check_value(spec: FieldSpec, value: str) -> tuple[str, str] | None:
    """Check one non-blank raw value against its field's validation type and min/max.

    Returns ``(message, allowed)`` for a bad value, else None. Date types follow `DATE_LAYOUTS`; ``integer``
    is a whole number; ``number``, ``number_Ndp`` are decimals with a point and ``*_comma_decimal`` with a
    comma (docs/science/data-standards.md §6.3 rule 4: decimal comma); calc fields are numbers.
    """
    validation = spec.validation
    bounds = _bounds(spec)
    if validation in DATE_LAYOUTS:
        allowed = DATE_LAYOUTS[validation].written + bounds
        try:  # the layout in full, from the one table its bounds are read by (D-19.1231, D-19.1236)
            parsed = read_moment(validation, value)
        except ValueError:
            return (f"not a {validation} value", allowed)
        if _outside(spec, parsed):
            return ("outside the field's validation range", allowed)
        return None
    if validation == "integer":
        if not INTEGER_PATTERN.match(value):
            return ("not a whole number", "integer" + bounds)
        number = float(value)
    elif (match := _NUMBER_DP.match(validation)) or spec.field_type == "calc":
        text = value.replace(",", ".") if (match and match.group(3)) else value
        try:
            # the one reading of a number of this field, its bounds' (`read_bound`): ASCII digits, the
            # field's decimal mark, finite; float() alone read 5_8.0 and full-width digits (D-19.1232)
            read = read_bound(validation if match else "number", value)
        except ValueError:
            try:
                infinite = not np.isfinite(float(text))
            except ValueError:
                infinite = False
            return ("not a finite number" if infinite else "not a number", (validation or "number") + bounds)
        assert isinstance(read, float)
        number = read
        if match and match.group(2):
            decimals = text.partition(".")[2]
            if len(decimals) > int(match.group(2)):
                return (f"more than {match.group(2)} decimal places", validation + bounds)
    else:
        return None
    if _outside(spec, number):
        return ("outside the field's validation range", (validation or "number") + bounds)
    return None


def _outside(spec: FieldSpec, value: float | datetime) -> bool:
    """Whether `value` lies below the field's min or above its max (inclusive bounds), each read by
    `read_bound` — the reading `read_dictionary` checked, so no bound is skipped (D-19.1070). A calc field
    without validation type is bounded as a number."""
    validation = spec.validation if spec.validation else "number"
    low = read_bound(validation, spec.minimum)
    high = read_bound(validation, spec.maximum)
    if isinstance(value, datetime):
        return (isinstance(low, datetime) and value < low) or (isinstance(high, datetime) and value > high)
    return (isinstance(low, float) and value < low) or (isinstance(high, float) and value > high)


def _bounds(spec: FieldSpec) -> str:
    if spec.minimum and spec.maximum:
        return f" between {spec.minimum} and {spec.maximum}"
    if spec.minimum:
        return f" ≥ {spec.minimum}"
    if spec.maximum:
        return f" ≤ {spec.maximum}"
    return ""
