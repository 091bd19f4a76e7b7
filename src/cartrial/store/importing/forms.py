"""The importable forms: one CSV template per form, each feeding one table of the study database.

A form's columns are the data columns of its table (`cartrial.store.models`; the surrogate `id`, `version`
and `created_at`/`updated_at` are the database's own), or, for a form whose template another area owns
(grading, neuro), the columns that area publishes (`FormSpec.required` / `optional` / `one_of`, imported
from the engine's table module). The rule of each column (type, unit, range, allowed values, protocol
sets) is its `cartrial.store.fields.FieldRule`, declared once for import, edit, web forms and API; forms
owned by an engine are also checked by that engine's own form validator (`FormSpec.validator`), so the
command line, the import and the edit path apply the same record-level rules.

The order of `FORMS` is the order of writing (sites before subjects before everything that refers to a
subject).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from cartrial.grading import tables as grading_tables
from cartrial.grading.ctcae import ANALYTES
from cartrial.neuro import tables as neuro_tables
from cartrial.store.fields import DATABASE_COLUMNS, FieldKind, FieldRule, ProtocolSet, field_rules
from cartrial.store.models import STUDY_TABLES

ColumnKind = FieldKind
"""The kind of a form column is the kind of its field."""

FormValidator = Callable[..., Any]
"""An engine's form validator, called as ``validator(frame, problems)`` with a `RowProblems`."""


@dataclass(frozen=True)
class FormColumn:
    """One column of a form: its template name, the table column it feeds (None: the database has no place
    for it, a schema gap), type and requirements."""

    name: str
    table_column: str | None
    kind: FieldKind
    required: bool
    """The column must be present in the file."""
    max_length: int | None
    rule: FieldRule | None
    """The field's rule (None for a schema gap)."""
    value_required: bool = False
    """Every row needs a value."""


@dataclass(frozen=True)
class FormSpec:
    """One importable form.

    `name` is the template file stem (``adverse_events`` for ``adverse_events.csv``), `table` the table it
    feeds, `owner` the area that owns the template. `required` / `optional` / `one_of` are the template's
    columns as the owning engine publishes them (None: the table's columns); `validator` that engine's
    form validator; `validator_rows` limits it to the rows whose (column, allowed values) match (the
    grading engine validates the haematology analytes it grades; other analytes get the field rules).
    """

    name: str
    table: str
    owner: str
    description: str
    required: tuple[str, ...] | None = None
    optional: tuple[str, ...] = ()
    one_of: tuple[tuple[str, ...], ...] = ()
    validator: FormValidator | None = None
    validator_rows: tuple[str, frozenset[str]] | None = None

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

    def one_of_groups(self) -> list[tuple[str, ...]]:
        """Groups of template columns of which at least one must be present (published by the owner)."""
        return list(self.one_of)

    def columns(self) -> list[FormColumn]:
        """Every accepted template column: the published template's when there is one, else the table's."""
        return list(_columns(self))

    def column_names(self) -> list[str]:
        return [c.name for c in self.columns()]

    def schema_gaps(self) -> list[str]:
        """Template columns the database has no column for (their data cannot be imported)."""
        return [c.name for c in self.columns() if c.table_column is None]

    def template_key(self) -> tuple[str, ...]:
        """The natural key under the template's column names (the same names as the table's)."""
        return self.key_columns


@cache
def _columns(spec: FormSpec) -> tuple[FormColumn, ...]:
    rules = field_rules(spec.table)
    names: list[tuple[str, bool | None]]
    if spec.required is None:
        names = [(name, None) for name in rules]
    else:
        required = list(dict.fromkeys(spec.required))
        names = [(c, True) for c in required]
        names.extend((c, False) for c in dict.fromkeys(spec.optional) if c not in required)
    out: list[FormColumn] = []
    for name, published_required in names:
        rule = rules.get(name)
        table_required = rule is not None and rule.required
        out.append(
            FormColumn(
                name=name,
                table_column=None if rule is None else name,
                kind=FieldKind.TEXT if rule is None else rule.kind,
                required=table_required
                if published_required is None
                else published_required or table_required,
                max_length=None if rule is None else rule.max_length,
                rule=rule,
                value_required=table_required,
            )
        )
    return tuple(out)


def _flat(groups: Iterable[Iterable[str]]) -> tuple[str, ...]:
    return tuple(name for group in groups for name in group)


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
        "One row per subject: screening number, consent, demographics, disease markers at screening "
        "(e.g. AQP4-IgG status in NMOSD).",
    ),
    FormSpec(
        "lymphodepletion",
        "lymphodepletion_administration",
        "import",
        "One row per lymphodepleting chemotherapy dose: drug, dose (mg/m², mg), day relative to infusion.",
    ),
    FormSpec(
        "infusions",
        "infusion",
        "import",
        "The CAR-T infusion: dose level, weight, CAR+ cells per kg and total, product lot, viability.",
    ),
    FormSpec(
        "crs_assessments",
        "crs_assessment",
        "grading",
        "CRS assessments (inputs of the ASTCT grade); template owned by the grading area.",
        required=grading_tables.CRS_REQUIRED,
        optional=(*grading_tables.CRS_OPTIONAL, *_flat(grading_tables.CRS_ONE_OF)),
        one_of=grading_tables.CRS_ONE_OF,
        validator=grading_tables.parse_crs_frame,
    ),
    FormSpec(
        "icans_assessments",
        "icans_assessment",
        "grading",
        "ICANS assessments (ICE items, consciousness, seizures…); template owned by the grading area.",
        required=grading_tables.ICANS_REQUIRED,
        optional=grading_tables.ICANS_OPTIONAL,
        validator=grading_tables.parse_icans_frame,
    ),
    FormSpec(
        "therapies",
        "therapy",
        "grading",
        "Concomitant therapies (tocilizumab, corticosteroids, vasopressors…); template owned by grading.",
        required=grading_tables.THERAPIES_REQUIRED,
        optional=grading_tables.THERAPIES_OPTIONAL,
        validator=grading_tables.parse_therapies_frame,
    ),
    FormSpec(
        "labs",
        "lab_result",
        "grading",
        "Laboratory values with unit and LLN/ULN; template owned by grading (its validator checks the "
        "haematology analytes it grades; other analytes get the field rules).",
        required=grading_tables.LABS_REQUIRED,
        optional=grading_tables.LABS_OPTIONAL,
        validator=grading_tables.parse_labs_frame,
        validator_rows=("analyte", frozenset(a.value for a in ANALYTES)),
    ),
    FormSpec(
        "adverse_events",
        "adverse_event",
        "import",
        "Adverse events: term, category, CTCAE grade with scale, dates, seriousness, relatedness, DLT flag.",
    ),
    FormSpec(
        "edss",
        "edss_assessment",
        "neuro",
        "EDSS raw functional-system scores and walking, by each row's method: Neurostatus (blank or "
        "neurostatus_16) the ambulation score 0-16; kurtzke the assistance and, unless wheelchair-bound or "
        "worse, the walking distance in metres (D-19.741); template owned by neuro.",
        required=neuro_tables.EDSS_FORM_REQUIRED,
        optional=neuro_tables.EDSS_OPTIONAL,
        validator=neuro_tables.parse_edss_form,
    ),
    FormSpec(
        "visual_acuity",
        "visual_acuity",
        "neuro",
        "Visual acuity per eye in its native notation; template owned by neuro.",
        required=neuro_tables.VA_COLUMNS,
        optional=neuro_tables.VA_OPTIONAL,
        validator=neuro_tables.parse_va_table,
    ),
    FormSpec(
        "osis",
        "osis_assessment",
        "neuro",
        "OSIS subscores; template owned by neuro.",
        required=neuro_tables.OSIS_COLUMNS,
        validator=neuro_tables.parse_osis_table,
    ),
    FormSpec(
        "timed_walk",
        "timed_walk",
        "neuro",
        "Timed 25-Foot Walk: two trials in seconds, or unable to walk; template owned by neuro.",
        required=neuro_tables.TIMED_WALK_COLUMNS,
        optional=neuro_tables.TIMED_WALK_OPTIONAL,
        validator=neuro_tables.parse_timed_walk_table,
    ),
    FormSpec(
        "relapses",
        "relapse",
        "neuro",
        "Relapses (attacks) of the indication, e.g. NMOSD; template owned by neuro.",
        required=neuro_tables.RELAPSE_COLUMNS,
        optional=neuro_tables.RELAPSE_OPTIONAL,
        validator=neuro_tables.parse_relapse_table,
    ),
    FormSpec(
        "pk_samples",
        "pk_sample",
        "kinetics",
        "Cellular-kinetics samples (per analyte: value, unit, LLOQ, BLQ); columns of the pk_sample table.",
    ),
    FormSpec(
        "pd_samples",
        "pd_sample",
        "kinetics",
        "Pharmacodynamic samples (AQP4-IgG titre, B cells, plasma cells, Ig); columns of the pd_sample "
        "table.",
    ),
    FormSpec(
        "escalation_decisions",
        "escalation_decision",
        "import",
        "Dose-escalation decisions: cohort, dose level, outcomes string, design, decision, approver.",
    ),
)
"""Every importable form, in writing order."""

FORMS_BY_NAME: dict[str, FormSpec] = {form.name: form for form in FORMS}
FORMS_BY_TABLE: dict[str, FormSpec] = {form.table: form for form in FORMS}


def form_for_table(table: str) -> FormSpec:
    """The form that feeds `table` (a table no template feeds gets a form of its own columns)."""
    form = FORMS_BY_TABLE.get(table)
    if form is not None:
        return form
    if table not in STUDY_TABLES:
        raise KeyError(table)
    return _table_form(table)


@cache
def _table_form(table: str) -> FormSpec:
    return FormSpec(table, table, "store", f"Records of the {table} table (no import template).")


__all__ = [
    "DATABASE_COLUMNS",
    "FORMS",
    "FORMS_BY_NAME",
    "FORMS_BY_TABLE",
    "ColumnKind",
    "FormColumn",
    "FormSpec",
    "field_reference_markdown",
    "form_for_table",
]


def field_reference_markdown() -> str:
    """The reference of every template column, generated from the field rules (``FIELDS.md`` of the
    shipped templates, `cartrial.templates`; ``cartrial templates write DIR`` writes it fresh): per form, each
    column with its type, unit, whether the column and a value are required, and what is allowed.
    Regenerate with ``python -m cartrial.store.importing.forms > src/cartrial/templates/FIELDS.md``."""
    lines = [
        "# Template columns and their rules (generated)",
        "",
        "Generated from `cartrial.store.fields` by `python -m cartrial.store.importing.forms`; do not edit.",
        "These rules check the import, `cartrial db edit`, single-record writes and the web forms alike.",
        "Protocol-derived sets (dose levels) are those of the study's protocol; the AQP4-IgG titre grid is",
        "the cell-based assay's dilution series. Rules between fields and across forms:",
        "`README.md` beside this file.",
        "",
    ]
    for form in FORMS:
        lines += [
            f"## `{form.file_name}` → table `{form.table}` (natural key {', '.join(form.key_columns)})",
            "",
        ]
        lines += [
            "| column | type | unit | column required | value required | allowed |",
            "|---|---|---|---|---|---|",
        ]
        for column in form.columns():
            rule = column.rule
            allowed = "(no place in the database: leave blank)" if rule is None else rule.allowed()
            if rule is not None and rule.protocol_set is ProtocolSet.DOSE_LEVEL:
                allowed = "a dose level of the study's protocol (1..K)"
            lines.append(
                f"| `{column.name}` | {column.kind.value} | {'' if rule is None else rule.unit} | "
                f"{'yes' if column.required else 'no'} | {'yes' if column.value_required else 'no'} | "
                f"{allowed.replace('|', '/')} |"
            )
        lines.append("")
    from cartrial.store.edit_checks import CHECKS
    from cartrial.store.fields import RECORD_RULES

    lines += ["## Rules between fields of one record (refused)", ""]
    lines += ["| id | table | field | rule | source |", "|---|---|---|---|---|"]
    lines += [f"| `{r.id}` | {r.table} | `{r.field}` | {r.allowed} | {r.source} |" for r in RECORD_RULES]
    lines += ["", "## Edit checks across forms (hard: refused; soft: accepted, a data query is raised)", ""]
    lines += ["| id | severity | rule | source |", "|---|---|---|---|"]
    lines += [f"| `{c.id}` | {c.severity.value} | {c.rule} | {c.source} |" for c in CHECKS]
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(field_reference_markdown(), end="")
