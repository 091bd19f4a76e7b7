"""The REDCap data dictionary: typed field specifications read from the dictionary CSV.

Source: docs/science/data-standards.md §6.1 (the 18 dictionary columns, in order, as REDCap's "Data
Dictionary" CSV
download names them, or their snake_case names as the API's ``content=metadata`` returns them; choices
written ``code, label | code, label``) and §6.3 rule 1 (choices to code/label maps, checkbox fields expand
to ``<field>___<code>`` columns, calc fields are derived, descriptive fields carry no data).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cartrial.allowed import choice_text
from cartrial.columns import FIRST_DATA_ROW, character_name, invisible_edge, trim_blanks
from cartrial.errors import InputError, Problem
from cartrial.tabular import read_csv

DICTIONARY_COLUMNS: tuple[str, ...] = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
"""The 18 columns of a REDCap data-dictionary CSV, in REDCap's order (docs/science/data-standards.md §6.1
[V])."""

API_DICTIONARY_COLUMNS: tuple[str, ...] = (
    "field_name",
    "form_name",
    "section_header",
    "field_type",
    "field_label",
    "select_choices_or_calculations",
    "field_note",
    "text_validation_type_or_show_slider_number",
    "text_validation_min",
    "text_validation_max",
    "identifier",
    "branching_logic",
    "required_field",
    "custom_alignment",
    "question_number",
    "matrix_group_name",
    "matrix_ranking",
    "field_annotation",
)
"""The same 18 columns as the REDCap API (``content=metadata``) names them (docs/science/data-standards.md
§6.1 [V])."""
DISPLAY_NAMES: dict[str, str] = dict(zip(API_DICTIONARY_COLUMNS, DICTIONARY_COLUMNS, strict=True))
"""The download header's name of each column (a problem names the column as REDCap shows it)."""
EDGE_ALLOWED = "text without a space or invisible character at its edges (space and tab are trimmed)"

FIELD_TYPES = frozenset(
    {
        "text",
        "notes",
        "radio",
        "dropdown",
        "checkbox",
        "yesno",
        "truefalse",
        "calc",
        "slider",
        "descriptive",
        "file",
        "sql",
    }
)
"""REDCap field types (docs/science/data-standards.md §6.1; the list is tagged [U] there "for
completeness")."""

CHOICE_FIELD_TYPES = frozenset({"radio", "dropdown", "checkbox", "yesno", "truefalse"})
FIXED_CHOICES: dict[str, dict[str, str]] = {
    "yesno": {"1": "Yes", "0": "No"},
    "truefalse": {"1": "True", "0": "False"},
}
"""REDCap's built-in choices of yes/no and true/false fields (raw export codes 1 and 0)."""

FORM_STATUS_CODES: dict[str, str] = {"0": "Incomplete", "1": "Unverified", "2": "Complete"}
"""Codes of the ``<form>_complete`` columns (docs/science/data-standards.md §6.2 [V])."""

_CHECKBOX_CODE = re.compile(r"^[A-Za-z0-9_\-.]+\Z")


@dataclass(frozen=True)
class FieldSpec:
    """One REDCap field as the dictionary declares it.

    `choices` maps raw code → label (empty for fields without choices); `validation` is the text
    validation type (``date_ymd``, ``integer``, …) or ''; `minimum`/`maximum` are the validation bounds as
    written; `row` is the dictionary's spreadsheet row (for error messages).
    """

    name: str
    form: str
    field_type: str
    label: str
    choices: dict[str, str] = field(default_factory=dict)
    validation: str = ""
    minimum: str = ""
    maximum: str = ""
    identifier: bool = False
    required: bool = False
    row: int = 0

    @property
    def carries_data(self) -> bool:
        """Descriptive fields are text on the form, not data (docs/science/data-standards.md §6.3 rule 1)."""
        return self.field_type != "descriptive"

    @property
    def derived(self) -> bool:
        """Calc fields are computed by REDCap (docs/science/data-standards.md §6.3 rule 1)."""
        return self.field_type == "calc"

    def export_columns(self) -> list[str]:
        """The flat-export columns this field produces: one per choice for checkboxes, else its name."""
        if self.field_type == "checkbox":
            return [checkbox_column(self.name, code) for code in self.choices]
        return [self.name] if self.carries_data else []


def checkbox_column(field_name: str, code: str) -> str:
    """Export column of one checkbox choice: ``<field>___<code>`` (docs/science/data-standards.md §6.2).

    REDCap rewrites the code for a variable name (`Project::getExtendedCheckboxCodeFormatted`, REDCap's
    source, an outside reference): ``-`` becomes ``_``, the code is lower-cased. ``.`` → ``_`` depends on the
    REDCap version (older ones drop it: ``1.5`` → ``15``); this follows the newer rule (verify on the
    installation; D-19.1072).
    """
    return f"{field_name}___{code.lower().replace('-', '_').replace('.', '_')}"


@dataclass(frozen=True)
class DataDictionary:
    """All fields of a REDCap project, in dictionary order, with the instrument (form) of each."""

    fields: dict[str, FieldSpec]
    file: str

    @property
    def record_id_field(self) -> str:
        """REDCap's record identifier is the first field of the dictionary (docs/science/data-standards.md
        §6.2)."""
        return next(iter(self.fields))

    @property
    def forms(self) -> list[str]:
        return list(dict.fromkeys(spec.form for spec in self.fields.values()))

    def fields_of(self, form: str) -> list[FieldSpec]:
        return [spec for spec in self.fields.values() if spec.form == form]

    def column_owner(self) -> dict[str, tuple[FieldSpec, str | None]]:
        """Map every data column of a flat export to its field and, for checkboxes, the choice code."""
        owners: dict[str, tuple[FieldSpec, str | None]] = {}
        for spec in self.fields.values():
            if spec.field_type == "checkbox":
                for code in spec.choices:
                    owners[checkbox_column(spec.name, code)] = (spec, code)
            elif spec.carries_data:
                owners[spec.name] = (spec, None)
        return owners


def parse_choices(text: str) -> dict[str, str]:
    """Parse ``1, Yes | 0, No`` into ``{"1": "Yes", "0": "No"}`` (docs/science/data-standards.md §6.1 [V]).

    The code is everything before the first comma; the label may itself contain commas. Raises
    ValueError on an item without a comma or a repeated code.
    """
    choices: dict[str, str] = {}
    for item in text.split("|"):
        item = item.strip()
        if not item:
            continue
        code, sep, label = item.partition(",")
        if not sep or not code.strip():
            raise ValueError(f"choice {item!r} is not written 'code, label'")
        code = code.strip()
        if code in choices:
            raise ValueError(f"choice code {code!r} appears more than once")
        choices[code] = label.strip()
    return choices


def read_dictionary(path: str | Path) -> DataDictionary:
    """Read a REDCap data dictionary CSV (download headers or API snake_case headers) into `FieldSpec`s.

    Checks: the header is exactly the 18 columns in REDCap's order (either naming); field names are unique
    and non-blank; each field type is a REDCap type; choice fields have parseable choices; checkbox codes
    can form column names. Every problem is reported at once (`InputError`), with the dictionary row.
    """
    file = Path(path)
    name = str(file)
    if not file.is_file():
        raise InputError(Problem("data dictionary not found", file=name))
    frame = read_csv(file)  # UTF-8 (BOM accepted), ragged and empty rows located, cells stripped
    header = list(frame.columns)
    if tuple(header) not in (DICTIONARY_COLUMNS, API_DICTIONARY_COLUMNS):
        raise InputError(
            Problem(
                "the header is not a REDCap data dictionary",
                file=name,
                field="header",
                value=", ".join(header),
                allowed="the 18 REDCap dictionary columns in order: " + ", ".join(DICTIONARY_COLUMNS),
            )
        )
    frame.columns = list(API_DICTIONARY_COLUMNS)
    problems: list[Problem] = []
    fields: dict[str, FieldSpec] = {}
    for index, record in enumerate(frame.to_dict(orient="records")):
        row = index + FIRST_DATA_ROW
        # each cell loses only BLANKS at its edges, as a header or a data cell (D-19.445, D-19.523): another
        # invisible character there is refused, located, not stripped silently by `str.strip()`
        cell = {k: trim_blanks(str(v)) for k, v in record.items()}
        edges = [
            Problem(
                f"begins or ends with {character_name(edge)}",
                file=name,
                row=row,
                field=DISPLAY_NAMES[k],
                allowed=EDGE_ALLOWED,
            )
            for k, v in cell.items()
            if (edge := invisible_edge(v)) is not None
        ]
        if edges:
            problems.extend(edges)
            continue
        field_name = cell["field_name"]
        if not field_name:
            problems.append(Problem("blank field name", file=name, row=row, field="Variable / Field Name"))
            continue
        if field_name in fields:
            problems.append(
                Problem("field name appears more than once", file=name, row=row, field=field_name)
            )
            continue
        field_type = cell["field_type"].lower()
        if field_type not in FIELD_TYPES:
            problems.append(
                Problem(
                    "unknown field type",
                    file=name,
                    row=row,
                    field="Field Type",
                    value=cell["field_type"],
                    allowed=choice_text(sorted(FIELD_TYPES)),
                )
            )
            continue
        choices: dict[str, str] = {}
        if field_type in FIXED_CHOICES:
            choices = dict(FIXED_CHOICES[field_type])
        elif field_type in CHOICE_FIELD_TYPES:
            try:
                choices = parse_choices(cell["select_choices_or_calculations"])
            except ValueError as exc:
                problems.append(
                    Problem(
                        str(exc),
                        file=name,
                        row=row,
                        field="Choices, Calculations, OR Slider Labels",
                        value=cell["select_choices_or_calculations"],
                        allowed="'code, label | code, label'",
                    )
                )
                continue
            if not choices:
                problems.append(
                    Problem(
                        f"{field_type} field without choices",
                        file=name,
                        row=row,
                        field="Choices, Calculations, OR Slider Labels",
                    )
                )
                continue
            if field_type == "checkbox":
                bad = [code for code in choices if not _CHECKBOX_CODE.match(code)]
                if bad:
                    problems.append(
                        Problem(
                            "checkbox code cannot form a column name",
                            file=name,
                            row=row,
                            field="Choices, Calculations, OR Slider Labels",
                            value=", ".join(bad),
                            allowed="letters, digits, _ - .",
                        )
                    )
                    continue
                columns: dict[str, list[str]] = {}
                for code in choices:
                    columns.setdefault(checkbox_column(field_name, code), []).append(code)
                # each shared column with all its codes: "A/a → sym___a" (the later codes alone did not say
                # which code they collide with)
                shared = [
                    f"{'/'.join(codes)} → {column}" for column, codes in columns.items() if len(codes) > 1
                ]
                if shared:  # one of the codes would never be read (D-19.1072)
                    problems.append(
                        Problem(
                            "checkbox codes that differ only by case or by '-', '.' and '_' share the "
                            "same export column (REDCap writes <field>___<code> in lower case, '-' and '.' "
                            "as '_')",
                            file=name,
                            row=row,
                            field="Choices, Calculations, OR Slider Labels",
                            value="; ".join(shared),
                            allowed="codes that stay distinct in lower case, with '-' and '.' as '_'",
                        )
                    )
                    continue
        bound_problems = _bound_problems(
            # a calc field is checked as a number (`redcap_records.check_value`), its bounds too (D-19.1070)
            cell["text_validation_type_or_show_slider_number"].lower()
            or ("number" if field_type == "calc" else ""),
            cell["text_validation_min"],
            cell["text_validation_max"],
            name,
            row,
        )
        if bound_problems:
            problems.extend(bound_problems)
            continue
        fields[field_name] = FieldSpec(
            name=field_name,
            form=cell["form_name"],
            field_type=field_type,
            label=cell["field_label"],
            choices=choices,
            validation=cell["text_validation_type_or_show_slider_number"].lower(),
            minimum=cell["text_validation_min"],
            maximum=cell["text_validation_max"],
            identifier=cell["identifier"].lower() == "y",
            required=cell["required_field"].lower() == "y",
            row=row,
        )
    if not fields and not problems:
        problems.append(Problem("the data dictionary has no fields", file=name))
    if problems:
        raise InputError(problems, header=f"{name}: {len(problems)} problem(s) in the data dictionary")
    return DataDictionary(fields=fields, file=name)


_NUMBER_VALIDATION = re.compile(r"^(integer|number(_[0-9]+dp)?(_comma_decimal)?)\Z")


@dataclass(frozen=True)
class DateLayout:
    """How a raw export writes a date or date-time: the full layout (every part zero-padded ASCII digits),
    its wording for a message, and the `strptime` format that reads it once matched."""

    pattern: re.Pattern[str]
    written: str
    strptime: str


_DATE = DateLayout(re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"), "YYYY-MM-DD", "%Y-%m-%d")
_MINUTES = DateLayout(
    re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}\Z"), "YYYY-MM-DD HH:MM", "%Y-%m-%d %H:%M"
)
_SECONDS = DateLayout(
    re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\Z"),
    "YYYY-MM-DD HH:MM:SS",
    "%Y-%m-%d %H:%M:%S",
)
DATE_LAYOUTS: dict[str, DateLayout] = {
    # REDCap exports every date year first whatever the entry format (_mdy, _dmy only change entry)
    "date_ymd": _DATE,
    "date_mdy": _DATE,
    "date_dmy": _DATE,
    "datetime_ymd": _MINUTES,
    "datetime_mdy": _MINUTES,
    "datetime_dmy": _MINUTES,
    "datetime_seconds_ymd": _SECONDS,
    "datetime_seconds_mdy": _SECONDS,
    "datetime_seconds_dmy": _SECONDS,
}
"""The one layout table of REDCap's date validation types (docs/science/data-standards.md §6.1-6.2: raw
exports write dates year first, ISO 8601 without offset): a value is read in its type's layout
(`read_moment`), a Text Validation Min/Max in any of them (`read_bound`; D-19.1231, D-19.1236). `strptime`
alone also reads ``2021-4-1`` and ``02:0``, so the pattern is matched in full first."""


def read_moment(validation: str, text: str) -> datetime:
    """A raw export's value of a date validation type, in that type's layout (`DATE_LAYOUTS`) in full.
    Raises ValueError when the text is not in that layout or names no calendar moment (2021-02-30)."""
    layout = DATE_LAYOUTS[validation]
    if not layout.pattern.match(text):
        raise ValueError(text)
    return datetime.strptime(text, layout.strptime)


def read_bound(validation: str, text: str) -> float | datetime | None:
    """A Text Validation Min/Max as the value it bounds.

    A number for ``integer`` / ``number*`` validation, written as the field's values are: a whole number for
    ``integer``, a decimal point for ``number`` / ``number_Ndp``, a comma or a point for ``*_comma_decimal``
    (``0,5``), and finite (``1e400`` reads as infinity); a date-time for
    ``date_*`` / ``datetime_*`` (``YYYY-MM-DD[ HH:MM[:SS]]``, a date meaning its midnight); None for a blank
    bound, ``today`` / ``now`` (moving bounds, not checked on an export) or a validation type without
    bounds. Raises ValueError on a bound that cannot be read.

    The one reading of a bound: the dictionary check refuses what this cannot read, and the export's values
    are checked against what it returns (D-19.1070: a bound accepted by one reading and skipped by another
    left values unchecked)."""
    number = bool(_NUMBER_VALIDATION.match(validation))
    moment = validation.startswith(("date_", "datetime_"))
    if not text or not (number or moment) or (moment and text.lower() in ("today", "now")):
        return None
    if number:
        # the field's own value syntax (`redcap_records.check_value`): "1,000" on a number field is no
        # thousand, "2.5" no integer (D-19.1070); not nan, inf, 1_000 or digits other than 0-9 (float()
        # reads them)
        comma = validation.endswith("_comma_decimal")
        pattern = (
            _BOUND_INTEGER if validation == "integer" else _BOUND_COMMA_NUMBER if comma else _BOUND_NUMBER
        )
        if not pattern.match(text):
            raise ValueError(text)
        value = float(text.replace(",", ".") if comma else text)
        if not math.isfinite(value):  # 1e400: the values' rule refuses an infinite number
            raise ValueError(text)
        return value
    # a layout of `DATE_LAYOUTS`, any of them (a date meaning its midnight), "T" or a space before the time:
    # no offset, no week date, compared with REDCap's zone-less values (D-19.1236)
    spaced = f"{text[:10]} {text[11:]}" if text[10:11] == "T" else text
    for layout in (_DATE, _MINUTES, _SECONDS):
        if layout.pattern.match(spaced):
            return datetime.strptime(spaced, layout.strptime)
    raise ValueError(text)


_BOUND_NUMBER = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")
_BOUND_COMMA_NUMBER = re.compile(r"^[+-]?([0-9]+([.,][0-9]*)?|[.,][0-9]+)([eE][+-]?[0-9]+)?\Z")
_BOUND_INTEGER = re.compile(r"^[+-]?[0-9]+\Z")


def _bound_allowed(validation: str) -> str:
    """What a bound of `validation` may be (`read_bound`)."""
    if validation == "integer":
        return "a whole number"
    if validation.endswith("_comma_decimal"):
        return "a finite number, with a decimal comma or point"
    if _NUMBER_VALIDATION.match(validation):
        return "a finite number with a decimal point (no thousands separator)"
    return "a date YYYY-MM-DD[ HH:MM[:SS]], today or now"


def _bound_problems(validation: str, minimum: str, maximum: str, file: str, row: int) -> list[Problem]:
    """The Text Validation Min/Max of a number or date field: each a number (a date, ``today`` or ``now``),
    the minimum not above the maximum. A bound that could not be read used to be skipped silently (the
    values were not checked against it) and min > max made every value of the export an error."""
    number = bool(_NUMBER_VALIDATION.match(validation))
    moment = validation.startswith(("date_", "datetime_"))
    if not (number or moment):
        return []
    problems: list[Problem] = []
    read: list[float | datetime | None] = []
    for column, text in (("Text Validation Min", minimum), ("Text Validation Max", maximum)):
        value: float | datetime | None = None
        try:
            value = read_bound(validation, text)
        except ValueError:
            problems.append(
                Problem(
                    f"not a bound for validation type {validation}",
                    file=file,
                    row=row,
                    field=column,
                    value=text,
                    allowed=_bound_allowed(validation),
                )
            )
        read.append(value)
    low, high = read
    if low is not None and high is not None and type(low) is type(high) and low > high:  # type: ignore[operator]
        problems.append(
            Problem(
                "the minimum is above the maximum",
                file=file,
                row=row,
                field="Text Validation Min",
                value=minimum,
                allowed=f"at most the maximum ({maximum})",
            )
        )
    return problems
