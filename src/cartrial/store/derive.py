"""Derived values: grades computed by the engines from the stored inputs, persisted with their provenance.

Each derived value is stored in `derived_value` with the engine (module and function), the cartrial version,
the options used (JSON), the source record, the rule that fired and its source (ALCOA+ "traceable",
docs/science/data-standards.md §8.3). Deriving again with the same inputs, version and options writes nothing;
a changed
result is an audited update. A stored input the engine cannot grade (a required input missing or invalid)
is stored too, with no value and the reason in `rule`, never silently skipped.

Engines used: `cartrial.grading.derive_crs_grades` (ASTCT 2019 CRS, per assessment) and
`cartrial.grading.derive_icans_grades` (ASTCT 2019 ICANS, per assessment) — the same frame functions as
`cartrial grade crs|icans`, so a stored grade always equals the command-line grade of the same row (one CRS
input preparation: °F → °C, SBP → hypotension, required inputs, fever masking).
EDSS and NCA derivations use the generic
`StudyService.store_derived` (their engines take whole series; the CLI of those areas computes them).
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from cartrial import __version__
from cartrial.store.bulk import upsert_rows
from cartrial.store.models import utc_now
from cartrial.store.permissions import Action
from cartrial.store.service import StudyService, UpsertResult

CRS_ENGINE = "cartrial.grading.grade_crs"
ICANS_ENGINE = "cartrial.grading.grade_icans"
CRS_PARAMETER = "astct_2019_crs_grade_flag_as_recorded"
"""The stored per-assessment CRS grade: ASTCT 2019 with each row's ``fever_masked`` flag taken as recorded
(`cartrial.grading.derive_crs_grades`), not checked for an earlier CRS fever as the episode grader and the
analysis's ``crs_assessment_grades`` check it (D-19.1308): the name says so (D-19.1358). Values of the CRS
engine stored before under `CRS_OLD_PARAMETERS` are deleted (audited) by the next `derive_crs_grades`, which
counts them (D-19.1373)."""
CRS_OLD_PARAMETERS = ("astct_2019_crs_grade",)
"""Former names of `CRS_PARAMETER` (before D-19.1358): superseded, removed on re-derive (D-19.1373)."""
ICANS_PARAMETER = "astct_2019_icans_grade"


def _options_json(options: Any) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, enum.Enum):
            return value.value
        if isinstance(value, frozenset | set | tuple | list):
            return sorted(plain(v) for v in value)
        return value

    return {k: plain(v) for k, v in dataclasses.asdict(options).items()}


def _graded_rows(result: Any) -> list[tuple[float | None, str]]:
    """(value, rule) of each row of a `cartrial.grading` Result table derived with keep_going: the grade and
    its rule with scale and source, or no value and the located reason why the row cannot be graded."""
    table = result.table
    errors = table["error"] if "error" in table.columns else [""] * len(table)
    source = result.sources[0]
    out: list[tuple[float | None, str]] = []
    for grade, reason, scale, error in zip(
        table["grade"], table["grade_reason"], table["scale"], errors, strict=True
    ):
        if error:
            out.append((None, f"not gradable: {error}"))
        else:
            out.append((float(grade), f"{reason} [{scale}; {source}]"))
    return out


def _frame(rows: list[dict[str, Any]]) -> Any:
    import pandas as pd

    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=["subject_id", "assessed_at"])


def _service_of(service: Any) -> StudyService:
    """`service`, or a `StudyService` on it when a notebook passes the database URL, `Path` or `Engine`
    (what `StudyService` itself takes; decisions D-19.66)."""
    from cartrial.store.service import StudyService

    return service if isinstance(service, StudyService) else StudyService(service)


def derive_crs_grades(service: StudyService, actor: str, options: Any = None) -> UpsertResult:
    """Grade every stored CRS assessment with ASTCT 2019 (`cartrial.grading.grade_crs`, options
    `cartrial.grading.CrsOptions`, default as documented there) and store the grades (statistician/admin).

    Inputs used: temperature (°C, or °F converted), `fever_masked`, hypotension (or SBP below the
    threshold option), vasopressor count, vasopressin, oxygen device and flow, death due to CRS, fever of
    another cause. Source: ASTCT 2019 (Lee DW et al. Biol Blood Marrow Transplant 2019;25:625), as cited
    by the grading engine in each stored `rule`.

    Each row is graded on its own, its ``fever_masked`` flag taken as recorded (labelled in the stored
    `rule` when the flag alone met the fever requirement), and stored as `CRS_PARAMETER`
    ``astct_2019_crs_grade_flag_as_recorded``: the episode grade and the analysis's per-assessment grade
    follow the protocol's ``analysis.options.crs_masking`` (default ``after_fever``: the flag counts only
    after a CRS fever recorded after the infusion; ``recorded``: as recorded) (D-19.1308, D-19.1356,
    D-19.1358)."""
    from cartrial.grading import CrsOptions
    from cartrial.grading import derive_crs_grades as grade_frame

    opts = options or CrsOptions()
    service = _service_of(service)
    service.check(actor, Action.DERIVE, "CRS grades")
    rows = service.find_records(actor, "crs_assessment")
    now = utc_now()
    derived = []
    graded = (
        _graded_rows(grade_frame(_frame(rows), opts, keep_going=True, file="crs_assessment")) if rows else []
    )
    for row, (value, rule) in zip(rows, graded, strict=True):
        derived.append(
            {
                "subject_id": row["subject_id"],
                "engine": CRS_ENGINE,
                "engine_version": __version__,
                "options": _options_json(opts),
                "source_table": "crs_assessment",
                "source_record_id": row["id"],
                "parameter": CRS_PARAMETER,
                "value_number": value,
                "rule": rule,
                "clinical_date": row["assessed_at"].date(),
                "computed_at": now,
            }
        )
    return _store(service, actor, derived, "derive CRS grades", superseded=(CRS_ENGINE, CRS_OLD_PARAMETERS))


def derive_icans_grades(service: StudyService, actor: str) -> UpsertResult:
    """Grade every stored ICANS assessment with ASTCT 2019 (`cartrial.grading.grade_icans`; source
    PMC9327779 Table 2, cited by the engine in each stored `rule`) and store the grades."""
    from cartrial.grading import derive_icans_grades as grade_frame

    service = _service_of(service)
    service.check(actor, Action.DERIVE, "ICANS grades")
    rows = service.find_records(actor, "icans_assessment")
    now = utc_now()
    derived = []
    graded = _graded_rows(grade_frame(_frame(rows), keep_going=True, file="icans_assessment")) if rows else []
    for row, (value, rule) in zip(rows, graded, strict=True):
        derived.append(
            {
                "subject_id": row["subject_id"],
                "engine": ICANS_ENGINE,
                "engine_version": __version__,
                "options": {},
                "source_table": "icans_assessment",
                "source_record_id": row["id"],
                "parameter": ICANS_PARAMETER,
                "value_number": value,
                "rule": rule,
                "clinical_date": row["assessed_at"].date(),
                "computed_at": now,
            }
        )
    return _store(service, actor, derived, "derive ICANS grades")


def _store(
    service: StudyService,
    actor: str,
    rows: list[dict[str, Any]],
    source: str,
    superseded: tuple[str, tuple[str, ...]] | None = None,
) -> UpsertResult:
    """Store derived rows; `computed_at` is only written for new or changed values (idempotent re-runs).
    `superseded` (engine, former parameter names): that engine's stored rows under a former name are deleted
    in the same transaction, each audited as any delete, and counted in `UpsertResult.deleted` (D-19.1373)."""
    with service.transaction(actor, source, f"re-derived with cartrial {__version__}") as tx:
        stored_rows = service.find_records(actor, "derived_value")
        existing = {
            (r["source_table"], r["source_record_id"], r["parameter"], r["engine"]): r for r in stored_rows
        }
        for row in rows:
            stored = existing.get(
                (row["source_table"], row["source_record_id"], row["parameter"], row["engine"])
            )
            if stored is not None and all(stored[k] == row[k] for k in row if k not in ("computed_at",)):
                row["computed_at"] = stored["computed_at"]
        result = upsert_rows(tx, "derived_value", rows)  # computed rows: no form checks (D-19.430)
        if superseded is None:
            return result
        engine, names = superseded
        old = [r for r in stored_rows if r["engine"] == engine and r["parameter"] in names]
        for r in old:
            tx.delete_record(
                "derived_value",
                int(r["id"]),
                f"superseded: stored again as {rows[0]['parameter']}"
                if rows
                else "superseded: a former parameter name",
            )
        return dataclasses.replace(result, deleted=len(old))
