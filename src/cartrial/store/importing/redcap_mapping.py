"""The REDCap mapping file: which REDCap field feeds which cartrial form column.

A mapping is YAML validated by pydantic. Example (the shipped one is
`examples/ct103a-nmosd/redcap/mapping.yaml`)::

    timezone: UTC                   # REDCap date-times carry no offset: the zone they were entered in
    unmapped_fields: error          # or "ignore": list them as ignored in the report
    minimum_form_status: incomplete # import instruments whose <form>_complete is at least this
    ignore_fields: [initials]       # export fields deliberately not imported (listed in the report)
    missing_data_codes: [UNK, NASK] # the project's missing-data codes: such cells mean "no value"
    events:                         # unique REDCap event name -> cartrial visit
      screening_arm_1: {visit: screening, day: -28}
    forms:
      subjects:                     # a cartrial form (the template of the same name)
        instrument: demographics    # the REDCap instrument that feeds it
        events: [screening_arm_1]   # where it is collected (default: any event)
        columns:
          subject_id: {source: record_id}
          sex: {field: sex, values: {"1": F, "2": M}}
          is_infection: {checkbox: ae_category, code: "2"}
          site_id: {constant: TJH}

Column sources (exactly one per column): ``field`` (a REDCap field; its raw code translated through
``values`` when given, else passed on as exported), ``checkbox`` with ``code`` (``true`` when that box is
ticked, else ``false``), ``checkbox`` without ``code`` (the ticked codes, translated through ``values``,
joined with ``;``), ``source`` (one of the export's key columns: ``record_id``, ``redcap_event_name``,
``redcap_repeat_instance``, ``redcap_data_access_group``, or the event's ``visit`` / ``day`` from
``events``), ``constant``.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cartrial.columns import time_zone_of
from cartrial.errors import InputError, Problem
from cartrial.protocol.schedule import MAX_SCHEDULE_DAYS

KEY_SOURCES = (
    "record_id",
    "redcap_event_name",
    "redcap_repeat_instance",
    "redcap_data_access_group",
    "visit",
    "day",
)


class UnmappedFields(StrEnum):
    """What to do with export fields that carry data but feed no cartrial column [P].

    ``error`` (default): the import fails listing them, so nothing the user exported is dropped without a
    decision; ``ignore``: they are imported nowhere and listed, with their non-blank counts, in the
    reconciliation report. Fields named in ``ignore_fields`` are always listed as ignored, never an error.
    """

    ERROR = "error"
    IGNORE = "ignore"


class FormStatus(StrEnum):
    """``<form>_complete`` levels (docs/science/data-standards.md §6.2: 0 Incomplete, 1 Unverified, 2
    Complete)."""

    INCOMPLETE = "incomplete"
    UNVERIFIED = "unverified"
    COMPLETE = "complete"

    @property
    def code(self) -> int:
        return {"incomplete": 0, "unverified": 1, "complete": 2}[self.value]


class EventMapping(BaseModel):
    """A REDCap event as a cartrial visit: its name and nominal study day (relative to infusion)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    visit: str
    day: int | None = Field(None, ge=-MAX_SCHEDULE_DAYS, le=MAX_SCHEDULE_DAYS)
    """Bounded as a protocol visit's day (`cartrial.protocol.schedule.MAX_SCHEDULE_DAYS`, D-19.34)."""

    @field_validator("visit")
    @classmethod
    def _visit_named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a visit name, not blank")
        return value


class ColumnMapping(BaseModel):
    """Where one cartrial column comes from (exactly one of field, checkbox, source, constant)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str | None = None
    checkbox: str | None = None
    code: str | None = None
    source: (
        Literal[
            "record_id",
            "redcap_event_name",
            "redcap_repeat_instance",
            "redcap_data_access_group",
            "visit",
            "day",
        ]
        | None
    ) = None
    constant: str | None = None
    values: dict[str, str] | None = None

    @field_validator("values", mode="before")
    @classmethod
    def _codes_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): "" if v is None else _text(v) for k, v in value.items()}
        return value

    @field_validator("constant", "code", mode="before")
    @classmethod
    def _scalar_as_text(cls, value: Any) -> Any:
        return None if value is None else _text(value)

    @model_validator(mode="after")
    def _one_source(self) -> ColumnMapping:
        given = [
            name
            for name, value in (
                ("field", self.field),
                ("checkbox", self.checkbox),
                ("source", self.source),
                ("constant", self.constant),
            )
            if value is not None
        ]
        if len(given) != 1:
            raise ValueError(f"give exactly one of field, checkbox, source, constant (got {given or 'none'})")
        if self.code is not None and self.checkbox is None:
            raise ValueError("'code' is only for checkbox columns")
        return self


class FormMapping(BaseModel):
    """One cartrial form fed by one REDCap instrument."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instrument: str
    events: list[str] | None = None
    columns: dict[str, ColumnMapping]

    @field_validator("columns", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        # `column: field_name` is shorthand for `column: {field: field_name}`
        if isinstance(value, dict):
            return {k: {"field": v} if isinstance(v, str) else v for k, v in value.items()}
        return value


class RedcapMapping(BaseModel):
    """A whole mapping file (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "UTC"
    unmapped_fields: UnmappedFields = UnmappedFields.ERROR
    minimum_form_status: FormStatus = FormStatus.INCOMPLETE
    ignore_fields: list[str] = Field(default_factory=list)
    missing_data_codes: list[str] = Field(default_factory=list)
    """The project's missing-data codes (e.g. UNK, NASK): cells holding one are blank (no value)."""
    events: dict[str, EventMapping] = Field(default_factory=dict)
    forms: dict[str, FormMapping]

    @field_validator("missing_data_codes", mode="before")
    @classmethod
    def _codes_text(cls, value: Any) -> Any:
        return [_text(v) for v in value] if isinstance(value, list) else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        # the one rule of a zone name (`columns.time_zone_of`), the one `localize_datetime` reads the export's
        # date-times with: a name it refuses was accepted here and blamed every date-time on a
        # daylight-saving change, and a folder (Europe) raised IsADirectoryError (D-19.1071)
        if time_zone_of(value) is None:
            raise ValueError(
                f"unknown time zone {value!r}: an IANA place zone such as UTC or Europe/Paris (not a folder "
                "such as Europe, nor posix/…, right/…, localtime, posixrules or Factory)"
            )
        return value

    def options(self) -> dict[str, str]:
        """The option values used, recorded in the manifest and report."""
        return {
            "timezone": self.timezone,
            "unmapped_fields": self.unmapped_fields.value,
            "minimum_form_status": self.minimum_form_status.value,
        }


def _text(value: Any) -> str:
    if isinstance(value, list | tuple | dict | set):  # never the text of a list: "['F']" stored as a value
        raise ValueError("a single value (text, number or true/false), not a list or a mapping")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def load_mapping(path: str | Path) -> RedcapMapping:
    """Read and validate a mapping YAML file; every problem is reported with its location."""
    file = Path(path)
    name = str(file)
    if not file.is_file():
        raise InputError(Problem("mapping file not found", file=name))
    from cartrial.protocol.yaml_source import allowed_from_ctx, parser_message, read_text_file, read_yaml

    # the mapping is user input: the guarded reader (alias bombs refused, line-numbered syntax errors)
    data, positions, duplicates = read_yaml(read_text_file(file), name)
    if duplicates:
        raise InputError(duplicates, header=f"{name}: {len(duplicates)} problem(s) in the mapping")
    if not isinstance(data, dict):
        raise InputError(Problem("the mapping must be a YAML mapping with a 'forms' section", file=name))
    try:
        return RedcapMapping.model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(
                parser_message(error),  # cartrial's words, never the parser's sentence (D-19.1456)
                file=name,
                line=positions.locate(error["loc"])[1],
                field=".".join(str(part) for part in error["loc"]),
                value=None if error["type"] == "missing" else _short(error.get("input")),
                allowed=allowed_from_ctx(error),
            )
            for error in exc.errors()
        ]
        raise InputError(problems, header=f"{name}: {len(problems)} problem(s) in the mapping") from None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
