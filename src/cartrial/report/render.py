"""The interim report as text: HTML (one self-contained file), the tables (CSV) and the figures (SVG), and
the Typst source of the PDF. No file I/O here: `report_files` returns file name → text/bytes; the command
writes them.

Every number shown comes from the analysis datasets (`cartrial.analysis.analyse`): tables are the datasets'
own CSV text (`cartrial.tabular.csv_text`) read back as strings, the key findings are the analysis's
findings, and the methods section lists the analysis options and each dataset's derivation, population,
sources and notes. The only line that differs between two runs on the same snapshot is "generated at".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from cartrial.analysis.model import Analysis
from cartrial.analysis.outcomes import COLUMN_OUTCOME
from cartrial.analysis.toxicity import SERIOUS_FLAG
from cartrial.protocol.seriousness import SERIOUSNESS_CRITERIA
from cartrial.report.figures import Figure, build_figures, km_band_text

if TYPE_CHECKING:
    from cartrial.report.popfit import PopfitResult

DRAFT_TEXT = "DRAFT — unlocked data"


@dataclass(frozen=True)
class TableSpec:
    """A dataset shown in a section, optionally reduced to some of its columns (the CSV keeps them all)."""

    dataset: str
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class SectionSpec:
    """One report section: anchor, title, finding domains, tables and figures, in display order."""

    anchor: str
    title: str
    intro: str = ""
    finding_domains: tuple[str, ...] = ()
    tables: tuple[TableSpec, ...] = ()
    figures: tuple[str, ...] = ()
    snapshot_tables: tuple[TableSpec, ...] = ()
    """Snapshot (record) tables listed as they were captured: demographics and exposure."""
    intro_parts: tuple[tuple[str | None, str], ...] = ()
    """(table shown, phrase): the phrases of the tables the section shows (None: always), joined as a
    list into the intro's ``{}`` — so the intro names only what the analysis gave (D-19.71)."""

    def intro_text(self, shown: set[str]) -> str:
        parts = [phrase for table, phrase in self.intro_parts if table is None or table in shown]
        if not self.intro_parts:
            return self.intro
        listed = parts[0] if len(parts) < 2 else ", ".join(parts[:-1]) + " and " + parts[-1]
        return self.intro.format(listed)


SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec(
        "disposition",
        "Disposition",
        "Disposition by dose level, of the patients not infused (no dose level: lymphodepleted or not) and "
        "overall (n and % of the enrolled of each group: enrolled, lymphodepleted, infused (safety set), "
        "DLT-evaluable, on study, completed, discontinued by reason, deaths; ICH E3 §10.1), "
        "then enrolled → infused (safety set) → DLT-evaluable per subject, with the reason a subject is not "
        "evaluable and the end of study.",
        ("disposition", "data"),
        (
            TableSpec(
                "disposition_summary",
                ("group", "description", "n", "n_enrolled", "percent_of_enrolled"),
            ),
            TableSpec("populations"),
        ),
    ),
    SectionSpec(
        "demographics",
        "Demographics and baseline disease",
        "Summary per dose level and overall (safety set; n, mean (SD), median (min-max) for continuous "
        "characteristics, n (%) of the subjects with a value for categorical ones, missing counted and "
        "named, characteristics the store does not hold shown as not captured); then {}.",
        tables=(TableSpec("demographics"), TableSpec("baseline_by_subject")),
        intro_parts=(
            (None, "the subject records as captured"),
            ("baseline_by_subject", "the baseline values of the analysis datasets"),
        ),
        snapshot_tables=(
            TableSpec(
                "subjects",
                (
                    "subject_id",
                    "sex",
                    "birth_year",
                    "weight_kg",
                    "height_cm",
                    "diagnosis_date",
                    "aqp4_igg_status",
                    "aqp4_igg_titre",
                    "treatment_history",
                    "relapse_history",
                    "disposition",
                    "disposition_date",
                ),
            ),
        ),
    ),
    SectionSpec(
        "exposure",
        "Exposure",
        "Infusion records as captured: dose level, cells/kg, total CAR-T cells, viability.",
        snapshot_tables=(
            TableSpec(
                "infusions",
                (
                    "subject_id",
                    "infused_at",
                    "dose_level",
                    "weight_kg",
                    "cells_per_kg",
                    "total_car_t_cells",
                    "viability_pct",
                    "product_lot",
                ),
            ),
        ),
    ),
    SectionSpec(
        "escalation",
        "Dose escalation",
        "Cohorts, DLTs per dose level, and each recorded escalation decision next to the protocol design's "
        "replay of it.",
        (),
        (
            TableSpec("dlt_by_dose_level"),
            TableSpec("dlt_by_subject"),
            TableSpec("dlt_disagreements"),
            TableSpec("escalation_replay"),
        ),
    ),
    SectionSpec(
        "crs-icans",
        "CRS and ICANS",
        "",
        (),
        (
            TableSpec("crs_icans_summary"),
            TableSpec("crs_icans_grades"),
            TableSpec("crs_icans_timing"),
        ),
        ("crs_icans_heatmap", "swimmer"),
    ),
    SectionSpec(
        "adverse-events",
        "Adverse events",
        "",
        (),
        (
            TableSpec("teae_summary"),
            TableSpec("teae_by_term"),
            TableSpec("infections_by_period"),
            TableSpec(  # only when an enrolled subject not infused had an adverse event (D-19.88)
                "ae_not_infused",
                (
                    "subject_id",
                    "lymphodepletion_start",
                    "term",
                    "category",
                    "started_on",
                    "ended_on",
                    "grade",
                    "serious",
                    "relatedness",
                    "outcome",
                    "after_lymphodepletion",
                    "treatment_emergent",
                ),
            ),
        ),
    ),
    SectionSpec(
        "laboratory",
        "Laboratory toxicity and ICAHT",
        "",
        (),
        (TableSpec("lab_shift"), TableSpec("icaht")),
        ("blood_counts",),
    ),
    SectionSpec(
        "efficacy",
        "Efficacy endpoints",
        "",
        ("efficacy",),
        (
            TableSpec(
                "responders_summary",
                (
                    "endpoint",
                    "group",
                    "n_responders",
                    "n_evaluable",
                    "percent_of_evaluable",
                    "ci_low_pct",
                    "ci_high_pct",
                    "n_infused",
                    "percent_of_infused",
                    "not_evaluable_subjects",
                ),
            ),
            TableSpec(
                "edss_change",
                (
                    "subject_id",
                    "dose_level",
                    "baseline_edss",
                    "last_edss",
                    "edss_change",
                    "improvement_evaluable",
                    "improvement_confirmed",
                    "worsening_confirmed",
                    "method_switch_excluded",
                    "improvement_switch_excluded",
                    "worsening_switch_excluded",
                ),
            ),
            TableSpec(
                "relapse_rates",
                # an infinite ratio's blank estimate with its reason (D-19.1187)
                ("measure", "events", "patient_years", "estimate", "ci_low", "ci_high", "not_estimable"),
            ),
            TableSpec("relapse_free_km"),
            TableSpec("osis_change"),
        ),
        ("km_relapse_free", "edss_spider"),
    ),
    SectionSpec(
        "pk",
        "Pharmacokinetics (cellular kinetics)",
        "",
        ("pk",),
        (
            TableSpec(
                "nca_summary",
                (
                    "analyte",
                    "conc_unit",  # an analyte in two units has rows per unit (D-19.758, D-19.759)
                    "group",
                    "parameter",
                    "n",
                    "n_not_covered",
                    "geometric_mean",
                    "geometric_cv_pct",
                    "median",
                    "min",
                    "max",
                    "unit",
                ),
            ),
            TableSpec("persistence"),
        ),
        ("expansion",),
    ),
    SectionSpec(
        "pd",
        "Pharmacodynamics",
        "",
        ("pd",),
        (TableSpec("aqp4_titre_change"), TableSpec("pd_markers")),
        ("aqp4_titre",),
    ),
    SectionSpec(
        "listings",
        "Listings",
        "Per-subject {}.",
        (),
        (
            TableSpec(
                "crs_episodes",
                (
                    "subject_id",
                    "episode",
                    "onset_day",
                    "max_grade",
                    "max_grade_day",
                    "duration_days",
                    "tocilizumab_doses",
                    "corticosteroid_doses",
                    "max_grade_rule",
                ),
            ),
            TableSpec(
                "dlt_listing",
                (
                    "subject_id",
                    "dose_level",
                    "category",
                    "term",
                    "grade",
                    "onset_day",
                    "duration_days",
                    "ongoing_at_day",
                    "graded_to_day",
                    "rules_fired",
                    "rule_descriptions",
                    "rule_sources",
                    "query",
                    "source",
                ),
            ),
            TableSpec("investigator_dlt_listing"),
            TableSpec("serious_ae_listing"),
            TableSpec(
                "relapses_by_subject",
                (
                    "subject_id",
                    "dose_level",
                    "pre_attacks",
                    "post_attacks",
                    "post_days",
                    "first_post_attack_day",
                    "relapse_free",
                ),
            ),
        ),
        intro_parts=(
            ("crs_episodes", "CRS episodes"),
            ("dlt_listing", "DLTs"),
            ("serious_ae_listing", "serious adverse events"),
            ("relapses_by_subject", "relapses"),
        ),
    ),
)
"""The report's sections after the title page and the key findings (issue 13 §2 order)."""


def _cells(frame: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Header and rows of `frame` exactly as its CSV (`cartrial.tabular.csv_text`) writes them
    (`cartrial.tabular.csv_cells`, the cells of the web pages' tables too)."""
    from cartrial.tabular import csv_cells

    return csv_cells(frame)


@dataclass(frozen=True)
class ReportTable:
    """A table as shown: name (CSV file stem), title, population, derivation, header, rows."""

    name: str
    title: str
    population: str
    derivation: str
    header: list[str]
    rows: list[list[str]]
    notes: tuple[str, ...] = ()
    shown_columns_only: bool = False


@dataclass(frozen=True)
class ReportSection:
    anchor: str
    title: str
    intro: str
    findings: list[str]
    tables: list[ReportTable]
    figures: list[Figure]


@dataclass(frozen=True)
class Report:
    """Everything the renderers need: title page fields, findings, sections, methods, all tables and
    figures (the files), and the one varying line."""

    title: dict[str, str]
    findings: list[dict[str, Any]]
    sections: list[ReportSection]
    methods: list[tuple[str, str]]
    datasets_methods: list[dict[str, str]]
    populations: list[dict[str, str]]
    csv_files: dict[str, str]
    figures: dict[str, Figure]
    generated_at: str
    unlocked: bool
    extra: dict[str, Any] = field(default_factory=dict)


ICAHT_GRADE_NOTE = (
    "grades: pending = the window (early: days 0-30, late: days 31-100) not complete at the cut-off, the "
    "patient on study and alive; ≥ N (pending) = an open late window whose counts already reach grade N, a "
    "lower bound (late_icaht_at_least, t_late_at_least in icaht.csv); ≥ N in the early column = the "
    "neutrophil counts stop ≤ 500/µL before the end of follow-up, grade N a lower bound "
    "(early_icaht_lower_bound in icaht.csv); ≥ N in a late column = the counts stop inside days 31-100 "
    "before the end of follow-up at a level that would raise it, grade N a lower bound "
    "(late_icaht_lower_bound, t_late_lower_bound in icaht.csv); blank = not gradable (D-19.188, D-19.230, "
    "D-19.268, D-19.717, D-19.788)"
)
"""Under the report's ICAHT table: what its grade cells say."""


BASELINE_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("edss_change", ("baseline_edss",)),
    ("relapses_by_subject", ("pre_window_start", "pre_attacks", "pre_arr")),
    # where the baseline titre came from: a PD sample or the screening titre (D-19.233, D-19.267)
    ("aqp4_titre_change", ("baseline_titre", "baseline_source", "baseline_assay_differs")),
)
"""Baseline columns taken from the analysis datasets (no derivation in the report)."""


def _baseline_notes(analysis: Analysis) -> tuple[str, ...]:
    """The analysis datasets' own descriptions of the baseline columns shown that have one (e.g.
    ``baseline_source``: pd_samples | screening), so a reader sees what each value means (D-19.267)."""
    notes = []
    for dataset_name, columns in BASELINE_COLUMNS:
        dataset = analysis.datasets.get(dataset_name)
        if dataset is None:
            continue
        described = [c for c in columns if c in dataset.columns and c in dataset.table]
        notes += [f"{c}: {dataset.columns[c]}" for c in described]
    return tuple(notes)


def _baseline_by_subject(analysis: Analysis) -> pd.DataFrame | None:
    """Subject and dose level of the safety set with the baseline columns of `BASELINE_COLUMNS`."""
    membership = analysis.datasets["populations"].table
    if "safety" not in membership:
        return None
    frame = membership[membership["safety"].astype(bool)][["subject_id", "dose_level"]].copy()
    for dataset_name, columns in BASELINE_COLUMNS:
        dataset = analysis.datasets.get(dataset_name)
        if dataset is None:
            continue
        present = [c for c in columns if c in dataset.table.columns]
        part = dataset.table[["subject_id", *present]].drop_duplicates("subject_id")
        frame = frame.merge(part, on="subject_id", how="left")
    return frame.reset_index(drop=True)


def _criteria_in_one_column(table: pd.DataFrame) -> pd.DataFrame:
    """`table` without the six seriousness-criterion columns (``serious_death`` …, D-19.328): the analysis
    layer's one column ``seriousness_criteria`` names those met (`cartrial.analysis.toxicity.
    with_seriousness_criteria`; a listing of six yes/no columns does not fit the page; D-19.211, D-19.382)."""
    return table.drop(columns=[c.field for c in SERIOUSNESS_CRITERIA if c.field in table.columns])


def _listing_datasets(analysis: Analysis) -> dict[str, tuple[str, pd.DataFrame, str, str]]:
    """Listings the report derives by *selecting rows* of analysis datasets (no rule): DLTs and serious
    TEAEs from ``teae_listing``."""
    out: dict[str, tuple[str, pd.DataFrame, str, str]] = {}
    baseline = _baseline_by_subject(analysis)
    # D-19.61: only when the study has one of the disease outcomes (another indication has none)
    if baseline is not None and any(name in analysis.datasets for name, _c in BASELINE_COLUMNS):
        out["baseline_by_subject"] = (
            "Baseline per subject: EDSS, relapses in the pre-infusion window, AQP4-IgG titre and its source "
            "(PD samples or screening)",
            baseline,
            "safety",
            "columns of edss_change, relapses_by_subject and aqp4_titre_change joined by subject",
        )
    assessed = analysis.datasets.get("dlt_assessments")
    if assessed is not None:
        events = assessed.table
        out["dlt_listing"] = (
            "Listing: DLTs by the protocol's DLT rules (graded events in the DLT window; rule fired, source)",
            events[events["is_dlt"].astype(bool)].reset_index(drop=True),
            assessed.population,
            "rows of dlt_assessments with is_dlt = true",
        )
    teae = analysis.datasets.get("teae_listing")
    if teae is not None:
        # the rows the analysis flagged serious (its one reading, `SERIOUS_FLAG`, D-19.1084, D-19.1243); the
        # text column `serious` is shown, not the flag again
        serious = (
            teae.table[SERIOUS_FLAG].astype(bool)
            if SERIOUS_FLAG in teae.table
            else pd.Series(False, index=teae.table.index)
        )
        table = _criteria_in_one_column(teae.table).drop(columns=SERIOUS_FLAG, errors="ignore")

        def flag(column: str) -> pd.Series:
            if column not in table:
                return pd.Series(False, index=table.index)
            return table[column].astype(str).str.lower() == "true"  # the snapshot's one reading (D-19.1084)

        out["investigator_dlt_listing"] = (
            "Listing: adverse events flagged as DLT by the investigator",
            table[flag("dlt")].reset_index(drop=True),
            teae.population,
            "rows of teae_listing with dlt = true",
        )
        out["serious_ae_listing"] = (
            "Listing: serious treatment-emergent adverse events",
            table[serious].reset_index(drop=True),
            teae.population,
            f"rows of teae_listing with {SERIOUS_FLAG} = true",
        )
    return out


def _table(
    name: str,
    title: str,
    population: str,
    derivation: str,
    frame: pd.DataFrame,
    columns: Sequence[str],
    notes: tuple[str, ...] = (),
) -> ReportTable:
    shown = [c for c in columns if c in frame.columns] if columns else list(frame.columns)
    header, rows = _cells(frame[shown])
    return ReportTable(name, title, population, derivation, header, rows, notes, bool(columns))


def build_report(
    analysis: Analysis,
    tables: Mapping[str, pd.DataFrame],
    *,
    cartrial_version: str,
    generated_at: dt.datetime,
    popfit: PopfitResult | None = None,
) -> Report:
    """Assemble the report from one analysis (and the snapshot's record tables, for the listings of
    demographics and exposure and for the individual time courses of the figures). With `popfit` (a
    population fit read by `cartrial.report.popfit.read_popfit`), a population-PK section follows the
    pharmacokinetics section (`cartrial.report.popfit.popfit_report_section`)."""
    from cartrial.store.snapshot import lock_checkpoint_text
    from cartrial.tabular import csv_text

    meta = analysis.snapshot
    unlocked = bool(meta.get("unlocked"))
    view = meta.get("view") or {"statement": "whole study (every site)", "whole_study": True}
    title = {
        "study": str(meta.get("study", "")),
        "protocol_version": str(meta.get("protocol_version") or "not stated"),
        "protocol_sha256": str(meta.get("protocol_sha256", "")),
        "cutoff": str(meta.get("cutoff", "")),
        "lock": DRAFT_TEXT if unlocked else f"lock {meta.get('lock_id')}",
        # the checkpoint the lock recorded when it was taken, as the lock says (D-19.1054); the head when
        # read moves with every audit row written since (a user added, a record after the cut-off)
        "lock_checkpoint": lock_checkpoint_text(meta),
        "audit_head": f"id {meta.get('audit_head_id')}, {meta.get('audit_head_hash')}",
        "tables_sha256": str(meta.get("tables_sha256", "")),
        "cartrial_version": cartrial_version,
        # whose view: a site-restricted report says so on its first page and in every page header (D-19.457)
        "view": str(view["statement"]),
        "restricted": "" if view["whole_study"] else "true",
    }
    findings = [f.as_dict() for f in analysis.findings]
    figures = build_figures(analysis, tables)
    listings = _listing_datasets(analysis)
    outcomes = analysis.intermediates.get("outcomes", frozenset(o for o in COLUMN_OUTCOME.values()))
    csv_files = {f"{name}.csv": csv_text(d.table) for name, d in analysis.datasets.items()}
    for name, (_title, frame, _population, _derivation) in listings.items():
        csv_files[f"{name}.csv"] = csv_text(frame)
    sections: list[ReportSection] = []
    for spec in SECTIONS:
        section_tables: list[ReportTable] = []
        for table_spec in spec.snapshot_tables:
            frame = tables.get(table_spec.dataset)
            if frame is None:
                continue
            frame = frame.drop(columns=["record_id"], errors="ignore")
            name = f"records_{table_spec.dataset}"
            csv_files[f"{name}.csv"] = csv_text(frame)
            columns = tuple(  # D-19.71: not the columns of an outcome the study does not collect
                c
                for c in table_spec.columns
                if COLUMN_OUTCOME.get((table_spec.dataset, c), "") in outcomes
                or (table_spec.dataset, c) not in COLUMN_OUTCOME
            )
            section_tables.append(
                _table(
                    name,
                    f"Records: {table_spec.dataset}",
                    "enrolled",
                    "snapshot records as captured",
                    frame,
                    columns,
                )
            )
        for table_spec in spec.tables:
            if table_spec.dataset in analysis.datasets:
                d = analysis.datasets[table_spec.dataset]
                notes = d.notes
                frame = d.table
                if d.name == "relapse_free_km":  # ci_low/ci_high: which interval (D-19.222)
                    notes = (*notes, f"ci_low, ci_high: {km_band_text(analysis)[0]}")
                if d.name == "icaht":  # a pending grade as pending, a lower bound as "≥ N" (D-19.268)
                    from cartrial.analysis.toxicity import icaht_shown

                    frame = icaht_shown(frame)
                    notes = (*notes, ICAHT_GRADE_NOTE)
                section_tables.append(
                    _table(d.name, d.title, d.population, d.derivation, frame, table_spec.columns, notes)
                )
            elif table_spec.dataset in listings:
                list_title, frame, population, derivation = listings[table_spec.dataset]
                baseline = table_spec.dataset == "baseline_by_subject"
                listing_notes = _baseline_notes(analysis) if baseline else ()
                section_tables.append(
                    _table(
                        table_spec.dataset,
                        list_title,
                        population,
                        derivation,
                        frame,
                        table_spec.columns,
                        listing_notes,
                    )
                )
        domains = spec.finding_domains
        section_findings = [f["statement"] for f in findings if f["domain"] in domains]
        if spec.anchor == "crs-icans":
            section_findings = [f["statement"] for f in findings if f["source"].startswith("crs_icans")]
        elif spec.anchor == "adverse-events":
            section_findings = [
                f["statement"] for f in findings if f["source"].startswith(("teae", "ae_not_infused"))
            ]
        elif spec.anchor == "laboratory":
            section_findings = [f["statement"] for f in findings if f["source"] in {"icaht", "lab_shift"}]
        elif spec.anchor == "escalation":
            section_findings = [
                f["statement"]
                for f in findings
                if f["source"] in {"dlt_by_dose_level", "dlt_disagreements", "escalation_replay"}
            ]
        if not (section_findings or section_tables or any(n in figures for n in spec.figures)):
            continue  # D-19.71: nothing analysed here (the efficacy of a study without disease outcomes)
        sections.append(
            ReportSection(
                spec.anchor,
                spec.title,
                spec.intro_text({t.name for t in section_tables}),
                section_findings,
                section_tables,
                [figures[name] for name in spec.figures if name in figures],
            )
        )
    if popfit is not None:
        from cartrial.report.popfit import popfit_report_section

        section, popfit_csv, popfit_figures = popfit_report_section(popfit)
        after = next((k + 1 for k, sec in enumerate(sections) if sec.anchor == "pk"), len(sections))
        sections.insert(after, section)
        csv_files.update(popfit_csv)
        figures = {**figures, **{f.name: f for f in popfit_figures}}
    methods = [
        (
            str(k),
            _option_text(v)
            + (f" (source: {analysis.option_sources[k]})" if k in analysis.option_sources else ""),
        )
        for k, v in sorted(analysis.options.items())
    ]
    datasets_methods = [
        {
            "name": name,
            "title": d.title,
            "population": d.population,
            "derivation": d.derivation,
            "sources": ", ".join(d.source_tables),
            "notes": " ".join(d.notes),
        }
        for name, d in analysis.datasets.items()
    ]
    populations = [
        {
            "name": p.name,
            "n": str(p.n),
            "definition": p.definition,
            "not_evaluable": p.not_evaluable_text(),
        }
        for p in analysis.populations.values()
    ]
    return Report(
        title=title,
        findings=findings,
        sections=sections,
        methods=methods,
        datasets_methods=datasets_methods,
        populations=populations,
        csv_files=csv_files,
        figures=figures,
        generated_at=generated_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        unlocked=unlocked,
    )


def _option_text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(_option_text(v) for v in value) or "none"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_option_text(v)}" for k, v in value.items()) or "none"
    return str(value)


def render_html(report: Report) -> str:
    """The self-contained HTML of the report (CSS and SVG figures inline; no external resource)."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("cartrial.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["b64"] = _base64
    template = environment.get_template("report.html.j2")
    return template.render(report=report, draft_text=DRAFT_TEXT)


def _base64(svg: str) -> str:
    """Base64 of the SVG text, for a ``data:`` image (keeps each figure's ids apart from the page's)."""
    import base64

    return base64.b64encode(svg.encode("utf-8")).decode("ascii")


__all__ = ["DRAFT_TEXT", "SECTIONS", "Report", "build_report", "render_html"]
