"""Derived values: grades computed by the engines from the stored inputs, persisted with their provenance.

Each derived value is stored in `derived_value` with the engine (module and function), the cartrial version,
the options used (JSON), the source record, the rule that fired and its source (ALCOA+ "traceable",
data-standards.md 8.3). Deriving again with the same inputs, version and options writes nothing; a changed
result is an audited update. A stored input the engine cannot grade (a required input missing or invalid)
is stored too, with no value and the reason in `rule`, never silently skipped.

Engines used: `cartrial.grading.grade_crs` (ASTCT 2019 CRS, per assessment) and
`cartrial.grading.grade_icans` (ASTCT 2019 ICANS, per assessment). EDSS and NCA derivations use the generic
`StudyService.store_derived` (their engines take whole series; the CLI of those areas computes them).
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping
from typing import Any

from cartrial import __version__
from cartrial.store.models import utc_now
from cartrial.store.permissions import Action
from cartrial.store.service import StudyService, UpsertResult

CRS_ENGINE = "cartrial.grading.grade_crs"
ICANS_ENGINE = "cartrial.grading.grade_icans"
CRS_PARAMETER = "astct_2019_crs_grade"
ICANS_PARAMETER = "astct_2019_icans_grade"


def _options_json(options: Any) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, enum.Enum):
            return value.value
        if isinstance(value, frozenset | set | tuple | list):
            return sorted(plain(v) for v in value)
        return value

    return {k: plain(v) for k, v in dataclasses.asdict(options).items()}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _crs_grade(row: Mapping[str, Any], options: Any) -> tuple[float | None, str]:
    from cartrial.grading import celsius_from_fahrenheit, grade_crs, hypotension_from_sbp

    temperature = row["temperature_c"]
    if _missing(temperature) and not _missing(row["temperature_f"]):
        temperature = float(celsius_from_fahrenheit(row["temperature_f"]))
    hypotension = row["hypotension"]
    if hypotension is None and not _missing(row["systolic_bp_mmhg"]):
        hypotension = hypotension_from_sbp(row["systolic_bp_mmhg"], options)
    missing = [
        name
        for name, value in (
            ("temperature", temperature),
            ("hypotension", hypotension),
            ("oxygen", row["oxygen"]),
        )
        if _missing(value)
    ]
    if missing:
        return None, f"not gradable: {', '.join(missing)} not recorded"
    try:
        result = grade_crs(
            temperature_c=float(temperature),
            fever_masked=bool(row["fever_masked"]),
            hypotension=bool(hypotension),
            vasopressors=int(row["vasopressors"] or 0),
            vasopressin=bool(row["vasopressin"]),
            oxygen=row["oxygen"],
            oxygen_l_min=row["oxygen_l_min"],
            death_due_to_crs=bool(row["death_due_to_crs"]),
            fever_other_cause=bool(row["fever_other_cause"]),
            options=options,
        )
    except ValueError as exc:
        return None, f"not gradable: {exc}"
    return float(result.grade), f"{result.rule} [{result.scale}; {result.source}]"


def _icans_grade(row: Mapping[str, Any]) -> tuple[float | None, str]:
    from cartrial.grading import grade_icans, ice_score

    if row["consciousness"] is None:
        return None, "not gradable: consciousness not recorded"
    items = [row[f"ice_{name}"] for name in ("orientation", "naming", "command", "writing", "attention")]
    try:
        ice_total = row["ice_total"]
        if ice_total is None and all(item is not None for item in items):
            ice_total = ice_score(*items)  # total = sum of the five items (PMC8153820 Table 2)
        result = grade_icans(
            consciousness=row["consciousness"],
            seizure=row["seizure"] or "none",
            motor=row["motor"] or "none",
            cerebral_edema=row["cerebral_edema"] or "none",
            ice_total=ice_total,
            consciousness_other_cause=bool(row["consciousness_other_cause"]),
        )
    except ValueError as exc:
        return None, f"not gradable: {exc}"
    return float(result.grade), f"{result.rule} [{result.scale}; {result.source}]"


def derive_crs_grades(service: StudyService, actor: str, options: Any = None) -> UpsertResult:
    """Grade every stored CRS assessment with ASTCT 2019 (`cartrial.grading.grade_crs`, options
    `cartrial.grading.CrsOptions`, default as documented there) and store the grades (statistician/admin).

    Inputs used: temperature (°C, or °F converted), `fever_masked`, hypotension (or SBP below the
    threshold option), vasopressor count, vasopressin, oxygen device and flow, death due to CRS, fever of
    another cause. Source: ASTCT 2019 (Lee DW et al. Biol Blood Marrow Transplant 2019;25:625), as cited
    by the grading engine in each stored `rule`."""
    from cartrial.grading import CrsOptions

    opts = options or CrsOptions()
    service.check(actor, Action.DERIVE, "CRS grades")
    rows = service.find_records(actor, "crs_assessment")
    now = utc_now()
    derived = []
    for row in rows:
        value, rule = _crs_grade(row, opts)
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
    return _store(service, actor, derived, "derive CRS grades")


def derive_icans_grades(service: StudyService, actor: str) -> UpsertResult:
    """Grade every stored ICANS assessment with ASTCT 2019 (`cartrial.grading.grade_icans`; source
    PMC9327779 Table 2, cited by the engine in each stored `rule`) and store the grades."""
    service.check(actor, Action.DERIVE, "ICANS grades")
    rows = service.find_records(actor, "icans_assessment")
    now = utc_now()
    derived = []
    for row in rows:
        value, rule = _icans_grade(row)
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


def _store(service: StudyService, actor: str, rows: list[dict[str, Any]], source: str) -> UpsertResult:
    """Store derived rows; `computed_at` is only written for new or changed values (idempotent re-runs)."""
    with service.transaction(actor, source, f"re-derived with cartrial {__version__}") as tx:
        existing = {
            (r["source_table"], r["source_record_id"], r["parameter"], r["engine"]): r
            for r in service.find_records(actor, "derived_value")
        }
        for row in rows:
            stored = existing.get(
                (row["source_table"], row["source_record_id"], row["parameter"], row["engine"])
            )
            if stored is not None and all(stored[k] == row[k] for k in row if k not in ("computed_at",)):
                row["computed_at"] = stored["computed_at"]
        return service.upsert_rows(tx, "derived_value", rows)
