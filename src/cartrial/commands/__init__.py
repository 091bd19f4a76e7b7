"""CLI command groups, one module per area, each exposing `register(app)`.

The root command (`cartrial.cli`) does not import these modules at start-up: `COMMANDS` lists every
top-level command with the module that registers it, its one-line help and the help panel it appears in,
so that `cartrial --help` can be printed without importing any engine, and a module is imported only when
one of its commands runs (or its own ``--help`` is asked). A test checks this table against what each
module's `register` really adds, so the two cannot drift apart.

Panels follow the trial's workflow (docs/science/decisions.md D-20.1): design, conduct, analyse.
"""

from __future__ import annotations

from dataclasses import dataclass

PANEL_START = "Get started"
PANEL_DESIGN = "Design"
PANEL_CONDUCT = "Conduct"
PANEL_ANALYSE = "Analyse"


@dataclass(frozen=True)
class CommandEntry:
    """One top-level command: its name, the module that registers it (None: defined in `cartrial.cli`),
    its one-line help and its help panel."""

    name: str
    module: str | None
    help: str
    panel: str


_AREA = "cartrial.commands."

#: Every top-level command, in the order `cartrial --help` lists them (grouped by panel).
COMMANDS: tuple[CommandEntry, ...] = (
    CommandEntry(
        "demo",
        None,
        "Run every capability on the shipped example study and write the results to demo-output/.",
        PANEL_START,
    ),
    CommandEntry(
        "examples",
        _AREA + "starter_commands",
        "Example studies shipped with cartrial: list them, copy one to start from.",
        PANEL_START,
    ),
    CommandEntry(
        "templates",
        _AREA + "starter_commands",
        "Blank CSV import templates with their column documentation.",
        PANEL_START,
    ),
    CommandEntry(
        "protocol",
        _AREA + "protocol_commands",
        "Validate and summarise a study protocol (YAML).",
        PANEL_DESIGN,
    ),
    CommandEntry(
        "escalate",
        _AREA + "escalation_commands",
        "Dose escalation: next dose, decision tables, dose pathways, operating characteristics, replay of "
        "recorded decisions.",
        PANEL_DESIGN,
    ),
    CommandEntry(
        "simulate",
        _AREA + "simulation_commands",
        "In-silico trials of a protocol: operating characteristics, one virtual study as import templates, "
        "parameter sweeps (local or Dask).",
        PANEL_DESIGN,
    ),
    CommandEntry(
        "screen",
        _AREA + "protocol_commands",
        "Screen candidates against a protocol's eligibility criteria.",
        PANEL_CONDUCT,
    ),
    CommandEntry(
        "import",
        _AREA + "import_commands",
        "Import study data (CSV templates, REDCap exports) into the study database: validated, atomic, "
        "idempotent, audited.",
        PANEL_CONDUCT,
    ),
    CommandEntry(
        "db", _AREA + "store_commands", "Create and manage the audited study database.", PANEL_CONDUCT
    ),
    CommandEntry("audit", _AREA + "store_commands", "Verify and review the audit trail.", PANEL_CONDUCT),
    CommandEntry(
        "login",
        _AREA + "auth_commands",
        "Sign in to a study database (password checked; short-lived session).",
        PANEL_CONDUCT,
    ),
    CommandEntry("logout", _AREA + "auth_commands", "End your session with a study database.", PANEL_CONDUCT),
    CommandEntry(
        "serve",
        _AREA + "web_commands",
        "Serve the study web application and REST API (data entry, queries, audit, escalation).",
        PANEL_CONDUCT,
    ),
    CommandEntry(
        "password",
        _AREA + "auth_commands",
        "Change your password (or, as admin, another user's).",
        PANEL_CONDUCT,
    ),
    CommandEntry(
        "grade",
        _AREA + "grading_commands",
        "Grade toxicity: CRS, ICANS, CTCAE haematology, ICAHT, episodes.",
        PANEL_ANALYSE,
    ),
    CommandEntry(
        "score",
        _AREA + "neuro_commands",
        "Score neurological forms: EDSS, visual acuity, OSIS, responders.",
        PANEL_ANALYSE,
    ),
    CommandEntry(
        "relapses",
        _AREA + "neuro_commands",
        "ARR before/after infusion (exact Poisson CI) and relapse-free survival (KM).",
        PANEL_ANALYSE,
    ),
    CommandEntry(
        "nca",
        _AREA + "kinetics_commands",
        "Non-compartmental analysis per subject (PKNCA rules by default).",
        PANEL_ANALYSE,
    ),
    CommandEntry(
        "kinetics",
        _AREA + "kinetics_commands",
        "Cellular kinetics: simulate and fit the Stein 2019 CAR-T model (NCA is `cartrial nca`).",
        PANEL_ANALYSE,
    ),
    CommandEntry(
        "analyse",
        _AREA + "analysis_commands",
        "Analyse the study database as of a data cut-off: datasets (CSV) and key findings.",
        PANEL_ANALYSE,
    ),
    CommandEntry(
        "report",
        _AREA + "report_commands",
        "Interim report as of a data cut-off: report.html, report.pdf, tables and figures.",
        PANEL_ANALYSE,
    ),
    CommandEntry(
        "export",
        _AREA + "cdisc_commands",
        "Export study data in submission formats: CDISC SDTM and ADaM (XPT v5, Dataset-JSON, Define-XML).",
        PANEL_ANALYSE,
    ),
)

#: The area modules, each once, in the order of `COMMANDS`.
AREA_MODULES: tuple[str, ...] = tuple(dict.fromkeys(e.module for e in COMMANDS if e.module is not None))

__all__ = [
    "AREA_MODULES",
    "COMMANDS",
    "PANEL_ANALYSE",
    "PANEL_CONDUCT",
    "PANEL_DESIGN",
    "PANEL_START",
    "CommandEntry",
]
