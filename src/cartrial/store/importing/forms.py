"""The importable forms: one CSV template per form, each feeding one table of the study database.

A form's columns are the data columns of its table (`cartrial.store.models`; the surrogate `id`, `version`
and `created_at`/`updated_at` are the database's own), under the template's column names where a template
names a column differently (`FormSpec.aliases`). Types, required columns and text lengths come from the
table; domain rules (allowed values, ranges, units) come from `FormSpec.rules`. Forms whose templates are
owned by another area (grading, neuro, kinetics) take their domain rules from that area's published
validation functions when they exist (see `cartrial.store.importing.validation`), never from a copy here.

The order of `FORMS` is the order of writing (sites before subjects before everything that refers to a
subject).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, Integer, String, Text
from sqlalchemy.sql.schema import Column

from cartrial.protocol.dlt import Relatedness, ToxicityCategory
from cartrial.store.models import STUDY_TABLES, UtcDateTime

DATABASE_COLUMNS = frozenset({"id", "version", "created_at", "updated_at"})
"""Columns the database fills itself; a template never has them."""


class ColumnKind(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    JSON = "json"


@dataclass(frozen=True)
class ColumnRule:
    """Domain rule of one column beyond its database type: allowed values, numeric range and unit."""

    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    pattern: str | None = None
    pattern_text: str | None = None
    unit: str = ""
    required: bool | None = None
    """Override the table's nullability (e.g. a column the table allows blank but the form requires)."""


@dataclass(frozen=True)
class FormColumn:
    """One column of a form: its template name, the table column it feeds (None: the database has no place
    for it, a schema gap), type and requirements."""

    name: str
    table_column: str | None
    kind: ColumnKind
    required: bool
    """The column must be present in the file."""
    max_length: int | None
    rule: ColumnRule
    value_required: bool = False
    """Every row needs a value (the table's NOT NULL columns and rule overrides; other cell-level rules of
    forms owned by other areas come from their validators)."""


@dataclass(frozen=True)
class TemplateSource:
    """Where another area publishes a form's template columns and its validator (module attributes).

    `required` / `optional` name tuples of column names in `module` (nested tuples, as in "one of" groups,
    are flattened); `validator` is called as ``validator(frame, problems)`` with a `RowProblems`.
    """

    module: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    validator: str | None = None
    one_of: tuple[str, ...] = ()
    """Attributes holding groups of columns of which at least one must be present."""
    validator_rows: tuple[str, str, str] | None = None
    """Only rows whose ``column`` value is in ``module.attribute`` go to the validator (column, module,
    attribute): e.g. the grading area validates haematology lab rows; other analytes are checked here."""


@dataclass(frozen=True)
class FormSpec:
    """One importable form.

    `name` is the template file stem (``adverse_events`` for ``adverse_events.csv``), `table` the table it
    feeds, `owner` the area that owns the template, `aliases` template column → table column where they
    differ, `rules` domain rules by template column, `template` where the owning area publishes the
    template's columns (forms owned by other areas), `fill_blank_from` table column → template column whose
    value is used when the column's own cell is blank.
    """

    name: str
    table: str
    owner: str
    description: str
    rules: Mapping[str, ColumnRule] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)
    template: TemplateSource | None = None
    fill_blank_from: Mapping[str, str] = field(default_factory=dict)

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    @property
    def model(self) -> Any:
        """The ORM class of the table."""
        return STUDY_TABLES[self.table]

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The natural key (table column names) that an import matches rows on."""
        return tuple(self.model.natural_key)

    @property
    def subject_column(self) -> str | None:
        return self.model.subject_column

    def published_columns(self) -> tuple[list[str], list[str]] | None:
        """(required, optional) template columns as the owning area publishes them, or None if it does not
        (yet): then the form's columns are the table's."""
        if self.template is None:
            return None
        try:
            module = importlib.import_module(self.template.module)
        except ImportError:
            return None
        names: list[list[str]] = [[], []]
        for slot, attributes in enumerate((self.template.required, self.template.optional)):
            for attribute in attributes:
                value = getattr(module, attribute, None)
                if value is None and slot == 0:
                    return None
                if value is not None:
                    names[slot].extend(_flatten(value))
        required = list(dict.fromkeys(names[0]))
        optional = [c for c in dict.fromkeys(names[1]) if c not in required]
        return required, optional

    def one_of_groups(self) -> list[tuple[str, ...]]:
        """Groups of template columns of which at least one must be present (published by the owner)."""
        if self.template is None or not self.template.one_of:
            return []
        try:
            module = importlib.import_module(self.template.module)
        except ImportError:
            return []
        groups: list[tuple[str, ...]] = []
        for attribute in self.template.one_of:
            for group in getattr(module, attribute, ()):
                groups.append(tuple(_flatten(group)))
        return groups

    def columns(self) -> list[FormColumn]:
        """Every accepted template column: the published template's when there is one, else the table's."""
        table_columns = {c.name: c for c in self.model.__table__.columns if c.name not in DATABASE_COLUMNS}
        published = self.published_columns()
        names: list[tuple[str, bool | None]]
        if published is None:
            reverse = {table_column: name for name, table_column in self.aliases.items()}
            names = [(reverse.get(c, c), None) for c in table_columns]
        else:
            names = [(c, True) for c in published[0]]
            names.extend((c, False) for c in published[1])
        out: list[FormColumn] = []
        for name, published_required in names:
            # the table's column of that name first (the schema follows the templates), else the alias
            column = table_columns.get(name)
            if column is None:
                column = table_columns.get(self.aliases.get(name, name))
            rule = self.rules.get(name, ColumnRule())
            table_required = column is not None and _table_requires(column)
            required = (
                table_required if published_required is None else (published_required or table_required)
            )
            value_required = column is not None and _table_requires(column)
            if rule.required is not None:
                required = value_required = rule.required
            out.append(
                FormColumn(
                    name=name,
                    table_column=None if column is None else column.name,
                    kind=ColumnKind.TEXT if column is None else _kind(column),
                    required=required,
                    max_length=None if column is None else getattr(column.type, "length", None),
                    rule=rule,
                    value_required=value_required,
                )
            )
        return out

    def column_names(self) -> list[str]:
        return [c.name for c in self.columns()]

    def schema_gaps(self) -> list[str]:
        """Template columns the database has no column for (their data cannot be imported)."""
        return [c.name for c in self.columns() if c.table_column is None]

    def template_key(self) -> tuple[str, ...]:
        """The natural key under the template's column names."""
        reverse = {c.table_column: c.name for c in self.columns() if c.table_column is not None}
        return tuple(reverse.get(c, c) for c in self.key_columns)


def _flatten(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [str(k) for k in value]
    out: list[str] = []
    for item in value:
        out.extend(_flatten(item))
    return out


def _table_requires(column: Column[object]) -> bool:
    return not column.nullable and column.default is None and column.server_default is None


def _kind(column: Column[object]) -> ColumnKind:
    column_type = column.type
    if isinstance(column_type, UtcDateTime):
        return ColumnKind.DATETIME
    if isinstance(column_type, Boolean):
        return ColumnKind.BOOLEAN
    if isinstance(column_type, Integer):
        return ColumnKind.INTEGER
    if isinstance(column_type, Float):
        return ColumnKind.NUMBER
    if isinstance(column_type, Date):
        return ColumnKind.DATE
    if isinstance(column_type, JSON):
        return ColumnKind.JSON
    if isinstance(column_type, String | Text):
        return ColumnKind.TEXT
    raise TypeError(f"column {column.name}: no import rule for type {column_type!r}")


SEX_CHOICES = ("F", "M")
AQP4_STATUS_CHOICES = ("positive", "negative", "unknown")
TITRE_PATTERN = r"1:[1-9]\d*"
ESCALATION_DECISIONS = ("escalate", "stay", "de-escalate", "expand", "stop")
"""Decisions of a dose-escalation step (dose-escalation.md: escalate / stay / de-escalate, plus expanding a
dose level and stopping the trial)."""
OUTCOMES_PATTERN = r"(\d+[NT]+)(\s+\d+[NT]+)*"
"""Outcome-string notation of dose-escalation.md (e.g. ``1NNN 2NTN``: dose level then one letter per patient,
N = no DLT, T = DLT)."""

FORMS: tuple[FormSpec, ...] = (
    FormSpec(
        "sites",
        "site",
        "import",
        "Clinical sites (code such as TJH); subjects and investigator users refer to them.",
    ),
    FormSpec(
        "subjects",
        "subject",
        "import",
        "One row per subject: screening number, consent, demographics, AQP4-IgG status at screening.",
        rules={
            "sex": ColumnRule(choices=SEX_CHOICES),
            "birth_year": ColumnRule(minimum=1900, maximum=2100),
            "weight_kg": ColumnRule(minimum=0, exclusive_minimum=True, maximum=400, unit="kg"),
            "height_cm": ColumnRule(minimum=30, maximum=250, unit="cm"),
            "aqp4_igg_status": ColumnRule(choices=AQP4_STATUS_CHOICES),
            "aqp4_igg_titre": ColumnRule(pattern=TITRE_PATTERN, pattern_text="1:N, e.g. 1:320"),
        },
    ),
    FormSpec(
        "lymphodepletion",
        "lymphodepletion_administration",
        "import",
        "One row per lymphodepleting chemotherapy dose: drug, dose (mg/m², mg), day relative to infusion.",
        rules={
            "dose_mg_per_m2": ColumnRule(minimum=0, exclusive_minimum=True, unit="mg/m²"),
            "dose_mg": ColumnRule(minimum=0, exclusive_minimum=True, unit="mg"),
            "body_surface_area_m2": ColumnRule(minimum=0.3, maximum=3.5, unit="m²"),
            "day_relative_to_infusion": ColumnRule(minimum=-60, maximum=0, unit="days"),
        },
    ),
    FormSpec(
        "infusions",
        "infusion",
        "import",
        "The CAR-T infusion: dose level, weight, CAR+ cells per kg and total, product lot, viability.",
        rules={
            "dose_level": ColumnRule(minimum=1, maximum=20),
            "weight_kg": ColumnRule(minimum=0, exclusive_minimum=True, maximum=400, unit="kg"),
            "cells_per_kg": ColumnRule(minimum=0, exclusive_minimum=True, unit="CAR+ cells/kg"),
            "total_car_t_cells": ColumnRule(minimum=0, exclusive_minimum=True, unit="CAR+ cells"),
            "viability_pct": ColumnRule(minimum=0, maximum=100, unit="%"),
        },
    ),
    FormSpec(
        "crs_assessments",
        "crs_assessment",
        "grading",
        "CRS assessments (inputs of the ASTCT grade); template owned by the grading area.",
        aliases={"oxygen": "o2_device", "oxygen_l_min": "o2_flow_l_min", "death_due_to_crs": "died_of_crs"},
        template=TemplateSource(
            "cartrial.grading.tables",
            ("CRS_REQUIRED",),
            ("CRS_OPTIONAL", "CRS_ONE_OF"),
            "parse_crs_frame",
            one_of=("CRS_ONE_OF",),
        ),
    ),
    FormSpec(
        "icans_assessments",
        "icans_assessment",
        "grading",
        "ICANS assessments (ICE items, consciousness, seizures…); template owned by the grading area.",
        aliases={
            "motor": "motor_weakness",
            "cerebral_edema": "cerebral_oedema",
            "ice_command": "ice_commands",
        },
        template=TemplateSource(
            "cartrial.grading.tables", ("ICANS_REQUIRED",), ("ICANS_OPTIONAL",), "parse_icans_frame"
        ),
    ),
    FormSpec(
        "therapies",
        "therapy",
        "grading",
        "Concomitant therapies (tocilizumab, corticosteroids, vasopressors…); template owned by grading.",
        aliases={"given_at": "started_at", "agent": "drug", "therapy": "drug_class", "unit": "dose_unit"},
        template=TemplateSource(
            "cartrial.grading.tables",
            ("THERAPIES_REQUIRED",),
            ("THERAPIES_OPTIONAL",),
            "parse_therapies_frame",
        ),
        fill_blank_from={"drug": "therapy"},
    ),
    FormSpec(
        "labs",
        "lab_result",
        "grading",
        "Laboratory values with unit and LLN/ULN; template owned by grading (its validator checks the "
        "haematology analytes it grades; other analytes get the table's type checks).",
        template=TemplateSource(
            "cartrial.grading.tables",
            ("LABS_REQUIRED",),
            ("LABS_OPTIONAL",),
            "parse_labs_frame",
            validator_rows=("analyte", "cartrial.grading.ctcae", "ANALYTES"),
        ),
    ),
    FormSpec(
        "adverse_events",
        "adverse_event",
        "import",
        "Adverse events: term, category, CTCAE grade with scale, dates, seriousness, relatedness, DLT flag.",
        rules={
            "category": ColumnRule(choices=tuple(c.value for c in ToxicityCategory)),
            "grade": ColumnRule(minimum=1, maximum=5, required=True),
            "relatedness": ColumnRule(choices=tuple(r.value for r in Relatedness)),
            "outcome": ColumnRule(
                choices=(
                    "recovered",
                    "recovering",
                    "not_recovered",
                    "recovered_with_sequelae",
                    "fatal",
                    "unknown",
                )
            ),
        },
    ),
    FormSpec(
        "edss",
        "edss_assessment",
        "neuro",
        "EDSS raw functional-system scores and ambulation; template owned by neuro.",
        aliases={
            "assessed_at": "assessed_on",
            "visual": "visual_fs_raw",
            "brainstem": "brainstem_fs",
            "pyramidal": "pyramidal_fs",
            "cerebellar": "cerebellar_fs",
            "sensory": "sensory_fs",
            "bowel_bladder": "bowel_bladder_fs_raw",
            "cerebral": "cerebral_fs",
            "ambulation": "ambulation_score",
        },
        template=TemplateSource("cartrial.neuro.tables", ("EDSS_COLUMNS",), (), "parse_edss_table"),
    ),
    FormSpec(
        "visual_acuity",
        "visual_acuity",
        "neuro",
        "Visual acuity per eye in its native notation; template owned by neuro.",
        aliases={"assessed_at": "assessed_on", "acuity": "value"},
        template=TemplateSource("cartrial.neuro.tables", ("VA_COLUMNS",), ("VA_OPTIONAL",), "parse_va_table"),
    ),
    FormSpec(
        "osis",
        "osis_assessment",
        "neuro",
        "OSIS subscores; template owned by neuro.",
        aliases={"assessed_at": "assessed_on"},
        template=TemplateSource("cartrial.neuro.tables", ("OSIS_COLUMNS",), (), "parse_osis_table"),
    ),
    FormSpec(
        "timed_walk",
        "timed_walk",
        "neuro",
        "Timed 25-Foot Walk: two trials in seconds, or unable to walk; template owned by neuro.",
        template=TemplateSource(
            "cartrial.neuro.tables",
            ("TIMED_WALK_COLUMNS",),
            ("TIMED_WALK_OPTIONAL",),
            "parse_timed_walk_table",
        ),
    ),
    FormSpec(
        "relapses",
        "relapse",
        "neuro",
        "NMOSD relapses (attacks); template owned by neuro.",
        aliases={
            "onset_date": "onset_on",
            "phenotype": "phenotypes",
            "lasted_over_24h": "lasted_24h_or_more",
        },
        template=TemplateSource(
            "cartrial.neuro.tables", ("RELAPSE_COLUMNS",), ("RELAPSE_OPTIONAL",), "parse_relapse_table"
        ),
    ),
    FormSpec(
        "pk_samples",
        "pk_sample",
        "kinetics",
        "Cellular-kinetics samples (per analyte: value, unit, LLOQ, BLQ); template owned by kinetics.",
        aliases={"sampled_at": "collected_at"},
        template=TemplateSource("cartrial.kinetics.templates", (), ("PK_COLUMNS",)),
    ),
    FormSpec(
        "pd_samples",
        "pd_sample",
        "kinetics",
        "Pharmacodynamic samples (AQP4-IgG titre, B cells, plasma cells, Ig); template owned by kinetics.",
        aliases={
            "sampled_at": "collected_at",
            "cd19_b_cells_per_ul": "b_cells_per_ul",
            "igg_g_per_l": "igg_g_l",
            "iga_g_per_l": "iga_g_l",
            "igm_g_per_l": "igm_g_l",
        },
        template=TemplateSource("cartrial.kinetics.templates", (), ("PD_COLUMNS",)),
    ),
    FormSpec(
        "escalation_decisions",
        "escalation_decision",
        "import",
        "Dose-escalation decisions: cohort, dose level, outcomes string, design, decision, approver.",
        rules={
            "cohort": ColumnRule(minimum=1),
            "dose_level": ColumnRule(minimum=1, maximum=20),
            "outcomes": ColumnRule(pattern=OUTCOMES_PATTERN, pattern_text="e.g. 1NNN 2NTN (N no DLT, T DLT)"),
            "decision": ColumnRule(choices=ESCALATION_DECISIONS),
        },
    ),
)
"""Every importable form, in writing order."""

FORMS_BY_NAME: dict[str, FormSpec] = {form.name: form for form in FORMS}
