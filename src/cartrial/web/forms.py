"""The data-entry forms of the web app, derived from the store's one field-rule source.

A `WebForm` is an import template form (`cartrial.store.importing.FORMS`: subjects, lymphodepletion,
infusions, CRS and ICANS assessments with the ICE items, therapies, labs, adverse events, EDSS functional
systems, visual acuity, OSIS, timed walk, relapses, PK and PD samples, escalation decisions, sites) with
its table and the rule of each field (`cartrial.store.fields.field_rules`: type, unit, range, allowed
values including the protocol-derived sets, required; docs/templates/FIELDS.md). `validate(form, values)`
runs the import's own validation (`cartrial.store.fields.validate_record`, which calls the owning engine's
form validator, e.g. ICE total = items) — there is no second copy of any rule here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING, Any

from cartrial.allowed import choice_text
from cartrial.columns import trim_blanks
from cartrial.errors import InputError, Problem, StoredValueError
from cartrial.protocol.seriousness import SERIOUSNESS_CRITERIA

if TYPE_CHECKING:
    from cartrial.protocol.model import Protocol
    from cartrial.store.fields import FieldRule
    from cartrial.store.importing.forms import FormSpec
    from cartrial.store.service import StudyUser

__all__ = [
    "WebField",
    "WebForm",
    "clean_values",
    "edit_check_problems",
    "form",
    "form_names",
    "form_title",
    "forms",
    "typed_values",
    "validate",
]


ACRONYMS = {
    "aqp4": "AQP4",
    "b": "B",
    "bcma": "BCMA",
    "blq": "BLQ",
    "bp": "BP",
    "cd19": "CD19",
    "crs": "CRS",
    "dlt": "DLT",
    "edss": "EDSS",
    "fio2": "FiO2",
    "iga": "IgA",
    "igg": "IgG",
    "igm": "IgM",
    "icans": "ICANS",
    "ice": "ICE",
    "id": "ID",
    "lln": "LLN",
    "lloq": "LLOQ",
    "meddra": "MedDRA",
    "od": "OD",
    "os": "OS",
    "osis": "OSIS",
    "pd": "PD",
    "pk": "PK",
    "uln": "ULN",
}
"""Words of column names that the clinic writes otherwise (abbreviations as printed in the protocols and
grading tables: ASTCT's CRS/ICANS/ICE, MedDRA, FiO2, AQP4-IgG …)."""
PHRASES = {"car t": "CAR-T", "aqp4 igg": "AQP4-IgG"}
"""Word pairs written as one term."""
LABELS = {c.field: f"Serious: {c.label}" for c in SERIOUSNESS_CRITERIA}
"""Fields labelled by a phrase rather than their words: the ICH E2A seriousness criteria (D-19.332)."""
UNIT_SUFFIXES = tuple(
    sorted(
        (
            "_ug_kg_min",
            "_mg_per_m2",
            "_g_per_l",
            "_per_ul",
            "_per_kg",
            "_ug_min",
            "_l_min",
            "_mmhg",
            "_seconds",
            "_pct",
            "_m2",
            "_kg",
            "_cm",
            "_mg",
            "_c",
            "_f",
            "_m",
            "_s",
        ),
        key=len,
        reverse=True,
    )
)
"""Endings of column names that spell the unit (`weight_kg`, `dose_mg_per_m2`): left out of the label of a
field with a unit, which shows the rule's unit instead (longest first: `cells_per_kg` is not `cells per`
in kg)."""


def _words(name: str) -> str:
    """`name` as words with the clinic's acronyms; the first letter capitalised."""
    text = " ".join(ACRONYMS.get(word, word) for word in name.split("_"))
    for phrase, term in PHRASES.items():
        text = re.sub(rf"\b{phrase}\b", term, text, flags=re.IGNORECASE)
    return text[:1].upper() + text[1:]


def _label(name: str, unit: str | None = None) -> str:
    """The label of a field: its words and the rule's unit in brackets (``temperature_c`` with unit °C →
    ``Temperature (°C)``, ``systolic_bp_mmhg`` → ``Systolic BP (mmHg)``; D-19.173)."""
    if name in LABELS:
        return LABELS[name]
    if not unit:
        return _words(name)
    base = next((name[: -len(s)] for s in UNIT_SUFFIXES if name.endswith(s) and len(name) > len(s)), name)
    return f"{_words(base)} ({unit})"


def form_title(form_name: str) -> str:
    """The title of a form (``crs_assessments`` → ``CRS assessments``)."""
    return _words(form_name)


def record_noun(form_name: str) -> str:
    """One record of a form in words, for "New …" (``adverse_events`` → ``adverse event``, ``labs`` →
    ``lab result``, ``crs_assessments`` → ``CRS assessment``; D-19.284): the table's name, which is
    singular, with the clinic's acronyms; not capitalised."""
    text = " ".join(ACRONYMS.get(word, word) for word in form(form_name).table.split("_"))
    for phrase, term in PHRASES.items():
        text = re.sub(rf"\b{phrase}\b", term, text, flags=re.IGNORECASE)
    return text


ZONE_FIELD = "entry_time_zone"
"""The form's choice of the time zone a clinic time typed without an offset is read in (D-19.285); not a
field of the record."""


def datetime_fields(form_name: str) -> list[str]:
    """The date-time fields of a form (those a clinic time may be typed in)."""
    from cartrial.store.fields import FieldKind

    return [f.name for f in form(form_name).fields if f.rule.kind is FieldKind.DATETIME]


def site_clock_hints(form_name: str, values: Mapping[str, Any], zone: str | None) -> dict[str, str]:
    """Field → a date-time instant of `values` (stored, a naive one UTC as stored, or typed with Z or an
    offset) as the clock of `zone` reads it (the site's, or the zone chosen on the form), that zone and its
    offset named (``= 2021-05-02 18:30 Asia/Shanghai (UTC+08:00)``, `cartrial.web.views.moment_on_site_clock`;
    D-19.1259, D-19.1261); nothing without a `zone` (the value is then read as it is written) or for a date,
    a clinic time typed without an offset (its UTC value is shown instead, D-19.285) or an unreadable text
    (the field rules say what is wrong)."""
    import datetime as dt

    from cartrial.web.views import moment_on_site_clock

    hints: dict[str, str] = {}
    if not zone:
        return hints
    for name in datetime_fields(form_name):
        value = values.get(name)
        if isinstance(value, str):  # a date or a clinic time reads as naive: left out below
            try:
                value = dt.datetime.fromisoformat(value.strip())
            except ValueError:
                continue
            if value.tzinfo is None:
                continue
        if isinstance(value, dt.datetime):  # a stored naive one is UTC, as stored (D-19.1262)
            try:
                hints[name] = f"= {moment_on_site_clock(value, zone)}"
            except OverflowError:  # year 1 or 9999 moved past the calendar's ends: the field rules' to say
                continue
    return hints


@dataclass(frozen=True)
class Localized:
    """A form's values with each clinic time typed without an offset read in the zone chosen (D-19.285)."""

    values: dict[str, Any]
    """The values to validate and store: such a time replaced by its UTC ISO text (``…Z``)."""
    utc: dict[str, str]
    """Field → the UTC value shown back under the field before saving."""
    problems: list[Problem]
    zone: str | None
    """The zone a time was read in (None: no time was converted)."""


def localize(form_name: str, values: Mapping[str, Any], zone: str | None) -> Localized:
    """Read each date-time typed without an offset (``2026-11-30 10:00``, a datetime-local input's
    ``2026-11-30T10:00``) in the IANA `zone` the user chose (`ZONE_FIELD`, the site's zone by default).
    No zone chosen: nothing is converted and the field rules refuse such a time ("without a time zone"), as
    the import does; a time repeated or skipped at a daylight-saving change is a problem at its field (an
    offset must be typed). Times with Z or an offset, dates, and impossible dates or times
    (``2026-02-30 10:00``: the field rules say "not a real calendar date and time", D-19.296) are left
    as typed."""
    from cartrial.store.fields import clinic_time, localize_datetime, time_zone_of

    out = dict(values)
    utc: dict[str, str] = {}
    problems: list[Problem] = []
    chosen = (zone or "").strip()
    if chosen and time_zone_of(chosen) is None:
        problems.append(
            Problem(
                "not a time zone of the IANA database",
                field=ZONE_FIELD,
                allowed="an IANA time zone such as Europe/Berlin, Asia/Shanghai or UTC",
            )
        )
        return Localized(out, utc, problems, None)
    used = None
    utc.update(site_clock_hints(form_name, values, chosen))  # a typed instant on the site's clock
    for name in datetime_fields(form_name):
        text = values.get(name)
        if not isinstance(text, str) or not chosen or clinic_time(text) is None:
            continue  # not a clinic time: an impossible one (2026-02-30 10:00) is the field rules' to say
        converted = localize_datetime(text, chosen)
        if converted is None:
            problems.append(
                Problem(
                    f"a clinic time skipped or repeated in {chosen} (a daylight-saving change)",
                    field=name,
                    allowed="the time with its offset, e.g. 2026-10-25T02:30+01:00",
                )
            )
            continue
        out[name] = converted
        utc[name] = f"= {converted[:10]} {converted[11:16]} UTC (read as {chosen} time)"
        used = chosen
    return Localized(out, utc, problems, used)


@dataclass(frozen=True)
class WebField:
    """One field of a form: its store rule and a label."""

    rule: FieldRule
    label: str

    @property
    def name(self) -> str:
        return self.rule.name

    def describe(self, protocol: Protocol | None = None) -> dict[str, Any]:
        """The field as plain data (API and form rendering): the rule's `as_dict` plus the label."""
        return {"label": self.label, **self.rule.as_dict(protocol)}


@dataclass(frozen=True)
class WebForm:
    """One data-entry form: the import template's name, its table, and its fields in template order."""

    name: str
    table: str
    description: str
    spec: FormSpec
    fields: tuple[WebField, ...]

    @property
    def key_columns(self) -> tuple[str, ...]:
        return self.spec.key_columns

    @property
    def subject_column(self) -> str | None:
        return self.spec.subject_column

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def describe(self, protocol: Protocol | None = None) -> dict[str, Any]:
        return {
            "name": self.name,
            "table": self.table,
            "description": self.description,
            "key": list(self.key_columns),
            "subject_column": self.subject_column,
            "fields": [f.describe(protocol) for f in self.fields],
        }


@cache
def forms() -> dict[str, WebForm]:
    """Every data-entry form, by its template name, in the import's order."""
    from cartrial.store.fields import field_rules
    from cartrial.store.importing import FORMS

    out: dict[str, WebForm] = {}
    for spec in FORMS:
        rules = field_rules(spec.table)
        names = [c.table_column for c in spec.columns() if c.table_column in rules]
        names += [n for n in rules if n not in names]  # every table column is editable
        fields = tuple(
            WebField(rules[n], _label(n, rules[n].unit)) for n in dict.fromkeys(n for n in names if n)
        )
        out[spec.name] = WebForm(spec.name, spec.table, spec.description, spec, fields)
    return out


def form_names() -> list[str]:
    return list(forms())


def form(name: str) -> WebForm:
    """The form `name` (a template name such as ``crs_assessments``, or its table name)."""
    registry = forms()
    if name in registry:
        return registry[name]
    for candidate in registry.values():
        if candidate.table == name:
            return candidate
    raise InputError(Problem("unknown form", field="form", value=name, allowed=choice_text(registry)))


def clean_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Form values as the store takes them: blank text → None (a cleared field), text trimmed of space,
    tab, CR and LF only (`cartrial.columns.trim_blanks`; any other space is the field rule's, D-19.445)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, str):
            value = trim_blanks(value)
            out[name] = value if value != "" else None
        else:
            out[name] = value
    return out


def validate(
    form_name: str,
    values: Mapping[str, Any],
    *,
    protocol: Protocol | None = None,
    partial: bool = False,
) -> list[Problem]:
    """Every problem of `values` for the form `form_name`, located by field, with the import's messages
    (`cartrial.store.fields.validate_record`: each field's rule, the rules between fields, the owning
    engine's validator — e.g. the ICE total must equal the sum of the items). `partial=True` checks only the
    fields given (a form being filled in)."""
    from cartrial.store.fields import validate_record

    spec = form(form_name)
    return validate_record(spec.table, clean_values(values), protocol=protocol, partial=partial)


def edit_check_problems(
    form_name: str,
    values: Mapping[str, Any],
    *,
    protocol: Protocol | None,
    handle: StudyUser,
    record_id: int | None = None,
    unchecked: list[Problem] | None = None,
) -> tuple[list[Problem], list[Problem]]:
    """The edit checks across forms that saving these values would fire (a new record, or changes to
    `record_id`), nothing written: (hard, soft) problems, each located as ``table.field`` with the check's
    id, severity and rule. Hard ones would refuse the save; soft ones would raise a data query. Values
    the field rules refuse give none (`validate` reports them). The store's own computation
    (`StudyUser.preview_write_checks`), so the check while typing and the save cannot disagree:
    `unchecked` is given the subject's other records the checks could not read, left out as the save
    leaves them out (D-19.650)."""
    from cartrial.store.edit_checks import Severity
    from cartrial.store.tables import model_of
    from cartrial.web.errors import NotFoundError
    from cartrial.web.views import NotVisible, require_subject

    spec = form(form_name)
    try:
        typed = typed_values(form_name, values, protocol=protocol)
    except InputError:
        return [], []
    # as the save would answer: another site's record or subject is as absent (D-19.174); the checks
    # below read the subject's stored records, which a site-restricted user may not learn anything of
    if record_id is not None:
        try:
            handle.visible_record(spec.table, record_id)
        except StoredValueError:  # the record is there, its stored value is not (409, D-19.556)
            raise
        except InputError as exc:
            raise NotFoundError(exc.problems) from None
    column = model_of(spec.table).subject_column
    if spec.table == "subject" and typed.get("subject_id") is not None:  # a subject id held elsewhere: the
        # save refuses it as a key that cannot be used, and no check reads that subject's records (D-19.297)
        refusal = handle.held_key_refusal("subject", {"subject_id": typed["subject_id"]})
        if refusal is not None and refusal.problem is not None:
            return [replace(refusal.problem, field="subject.subject_id")], []
    subject = typed.get(column) if column and spec.table != "subject" else None  # a subject: may be new
    if subject is not None:
        from cartrial.store.snapshot import view_sites

        sites = view_sites(handle)  # the user's view, the one rule of the store (D-19.457)
        try:
            require_subject(handle, sites, str(subject))
        except NotVisible:
            problem = Problem(
                "no subject with this id that you may see",
                field=f"{spec.table}.{column}",
                value=subject,
                allowed="a subject of your site" if sites is not None else "an enrolled subject",
            )
            return [problem], []
    findings = handle.preview_write_checks(spec.table, typed, record_id, unchecked)
    written = (spec.table, record_id)  # only the entry's own value is shown (D-12.2, D-19.820)
    entered = None if record_id is None else set(typed)  # an edit: only the fields it types
    hard = [f.problem(written, entered) for f in findings if f.check.severity is Severity.HARD]
    soft = [f.problem(written, entered) for f in findings if f.check.severity is Severity.SOFT]
    return hard, soft


def typed_values(
    form_name: str, values: Mapping[str, Any], *, protocol: Protocol | None = None
) -> dict[str, Any]:
    """Form values (text as typed, or JSON values) as the typed values the store writes: the store's one
    parser of a record's values (`cartrial.store.fields.typed_record_values`, the import's column parser,
    which `cartrial db edit` uses too): ``"true"`` → True, ``"38.5"`` → 38.5, ISO dates → dates, blank →
    None. Raises `InputError` with every problem located as ``table.field`` (nothing is written)."""
    from cartrial.store.fields import typed_record_values

    return typed_record_values(form(form_name).table, values, protocol=protocol)
