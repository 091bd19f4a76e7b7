"""The study protocol as one validated document (root model `Protocol`), loaded from YAML with lines.

Sections: ``study``, ``dose_levels`` (+ ``dose_rounding``), ``lymphodepletion``, ``escalation``,
``expansion``, ``schedule``, ``eligibility``, ``endpoints``, ``analysis`` (optional; populations and options
of the statistical analysis plan, `cartrial.protocol.analysis_spec`). Unknown keys are errors everywhere.
Cross-section rules checked here: dose levels numbered 1..K in order with increasing cells/kg; the CRM
skeleton has one value per dose level; escalation start level, stop-at-dose and the expansion level name
existing levels; the DLT window does not extend beyond the schedule's last visit (day of the last visit); the
lymphodepletion regimen's days and the schedule's lymphodepletion visits agree (D-19.811).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from cartrial.errors import InputError, Problem
from cartrial.protocol.analysis_spec import AnalysisSpec, analysis_issues
from cartrial.protocol.design_options import DOSES, dose_levels
from cartrial.protocol.dosing import DoseLevel, DoseRounding, Lymphodepletion
from cartrial.protocol.eligibility import Eligibility
from cartrial.protocol.endpoints import ENDPOINT_KEY_PATTERN, EndpointSpec
from cartrial.protocol.escalation_spec import EscalationSpec, ExpansionSpec
from cartrial.protocol.relapse_options import relapse_options_issues
from cartrial.protocol.responders import RESPONDER_DEFINITIONS
from cartrial.protocol.schedule import Schedule
from cartrial.protocol.yaml_source import (
    Issue,
    YamlPositions,
    problems_from_issues,
    read_text_file,
    read_yaml,
    semantic_error,
    validate_data,
)

SCHEMA_VERSION = 1


def _levels(n_levels: int) -> str:
    """The 1-based dose levels of a protocol with `n_levels` levels, in the words of every message."""
    return dose_levels(n_levels).text()


class Product(BaseModel):
    """The investigational product."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(min_length=1)
    target_antigen: str = Field(min_length=1)
    construct_notes: str | None = None


class Study(BaseModel):
    """Study identity."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    indication: str = Field(min_length=1)
    phase: str = Field(min_length=1)
    sponsor: str = Field(min_length=1)
    registry_id: str | None = None
    protocol_version: str | None = Field(default=None, description="Protocol version / amendment label.")
    product: Product


EndpointKey = Annotated[str, StringConstraints(pattern=ENDPOINT_KEY_PATTERN)]


#: endpoint measure → the assessment whose form it is derived from (indication-specific outcomes)
MEASURE_ASSESSMENT: dict[str, str] = {
    "edss_change": "edss",
    "bowel_bladder_fs_change": "edss",
    "visual_acuity_logmar_change": "visual_acuity",
    "t25fw_change": "timed_25_foot_walk",
    "relapse_free_survival": "relapse_review",
    "annualized_relapse_rate": "relapse_review",
    "aqp4_igg_titre_step_change": "aqp4_igg",
}


class Protocol(BaseModel):
    """A complete study protocol (see the module docstring for sections and cross-section rules)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    schema_version: int = Field(default=SCHEMA_VERSION, ge=1, le=SCHEMA_VERSION)
    study: Study
    dose_levels: list[DoseLevel] = Field(min_length=1)
    dose_rounding: DoseRounding = Field(default_factory=DoseRounding)
    lymphodepletion: Lymphodepletion | None = None
    escalation: EscalationSpec
    expansion: ExpansionSpec | None = None
    schedule: Schedule
    eligibility: Eligibility
    endpoints: dict[EndpointKey, EndpointSpec] = Field(default_factory=dict)
    analysis: AnalysisSpec = Field(default_factory=AnalysisSpec)

    @model_validator(mode="after")
    def _cross_section(self) -> Protocol:
        issues = cross_section_issues(self.dose_levels, self.escalation, self.expansion, self.schedule)
        issues += lymphodepletion_schedule_issues(self.lymphodepletion, self.schedule)
        issues += endpoint_issues(self.endpoints, self.analysis)
        if issues:
            raise semantic_error(issues)
        return self

    @property
    def collected_assessments(self) -> frozenset[str]:
        """Assessments the protocol collects: those of its schedule and those its endpoints' measures
        need (`MEASURE_ASSESSMENT`), e.g. a walking endpoint collects the timed 25-foot walk (D-19.62)."""
        needed = {
            MEASURE_ASSESSMENT[e.measure] for e in self.endpoints.values() if e.measure in MEASURE_ASSESSMENT
        }
        return self.schedule.collected | needed

    def dose_level(self, level: int) -> DoseLevel:
        """The 1-based dose `level`; `InputError` naming the valid levels otherwise."""
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= len(self.dose_levels):
            raise InputError(
                Problem(
                    "no such dose level", field="level", value=level, allowed=_levels(len(self.dose_levels))
                )
            )
        return self.dose_levels[level - 1]

    @property
    def n_dose_levels(self) -> int:
        return len(self.dose_levels)


def cross_section_issues(
    dose_levels: list[DoseLevel] | None,
    escalation: EscalationSpec | None,
    expansion: ExpansionSpec | None,
    schedule: Schedule | None,
) -> list[Issue]:
    """Rules that join sections (paths relative to the protocol root); a section given as None (missing
    or itself invalid) skips the rules that need it, so they can be reported alongside field errors."""
    issues: list[Issue] = []
    if dose_levels is not None:
        for index, level in enumerate(dose_levels):
            if level.level != index + 1:
                issues.append(
                    Issue(
                        ("dose_levels", index, "level"),
                        "dose levels must be numbered 1, 2, … in the order listed",
                        level.level,
                        str(index + 1),
                    )
                )
            if index and level.cells_per_kg <= dose_levels[index - 1].cells_per_kg:
                issues.append(
                    Issue(
                        ("dose_levels", index, "cells_per_kg"),
                        "dose levels must increase in cells_per_kg",
                        level.cells_per_kg,
                        f"> {dose_levels[index - 1].cells_per_kg:g}",
                    )
                )
        n_levels = len(dose_levels)
        if DOSES.problem("dose_levels", n_levels) is not None:
            issues.append(
                Issue(
                    ("dose_levels",),
                    "more dose levels than an escalation design takes (`escalate`, `simulate`)",
                    n_levels,
                    DOSES.text(),
                )
            )
        if (
            escalation is not None
            and escalation.skeleton is not None
            and len(escalation.skeleton) != n_levels
        ):
            issues.append(
                Issue(
                    ("escalation", "skeleton"),
                    f"the skeleton has {len(escalation.skeleton)} values for {n_levels} dose levels",
                    None,
                    f"{n_levels} values, one per dose level",
                )
            )
        if escalation is not None and escalation.start_level > n_levels:
            issues.append(
                Issue(
                    ("escalation", "start_level"),
                    "no such dose level",
                    escalation.start_level,
                    _levels(n_levels),
                )
            )
        if expansion is not None and expansion.dose_level > n_levels:
            issues.append(
                Issue(
                    ("expansion", "dose_level"), "no such dose level", expansion.dose_level, _levels(n_levels)
                )
            )
    if escalation is not None and schedule is not None:
        last_day = schedule.last_study_day
        if escalation.dlt_window_days > last_day:
            issues.append(
                Issue(
                    ("escalation", "dlt_window_days"),
                    f"the DLT window ({escalation.dlt_window_days} days) is longer than the schedule's "
                    f"follow-up (last visit {schedule.visits[-1].name!r} on day {last_day}, {{ref0}})",
                    escalation.dlt_window_days,
                    f"≤ {last_day}",
                    refs=(("schedule", "visits", len(schedule.visits) - 1),),
                )
            )
    return issues


LYMPHODEPLETION_ASSESSMENT = "lymphodepletion"


def lymphodepletion_schedule_issues(
    lymphodepletion: Lymphodepletion | None, schedule: Schedule | None
) -> list[Issue]:
    """The regimen's days and the schedule's lymphodepletion visits agree (D-19.811): when the schedule lists
    `lymphodepletion` at any visit, every day of every agent falls in the window of such a visit, and every
    such visit's window holds a day of the regimen. A schedule that lists lymphodepletion at no visit, or a
    protocol without a regimen, is not checked. A section given as None (missing or invalid) skips the
    rule."""
    if lymphodepletion is None or schedule is None:
        return []
    ld_visits = [
        (index, visit)
        for index, visit in enumerate(schedule.visits)
        if LYMPHODEPLETION_ASSESSMENT in {str(getattr(a, "value", a)) for a in visit.assessments}
    ]
    if not ld_visits:
        return []
    issues: list[Issue] = []
    days: set[int] = set()
    windows = "; ".join(
        f"{visit.name!r} days {visit.earliest_day} to {visit.latest_day}" for _, visit in ld_visits
    )
    for a, agent in enumerate(lymphodepletion.agents):
        for d, day in enumerate(agent.days):
            days.add(day)
            if not any(visit.covers(day) for _, visit in ld_visits):
                issues.append(
                    Issue(
                        ("lymphodepletion", "agents", a, "days", d),
                        f"day {day} of {agent.name} is in the window of no scheduled visit that lists "
                        "lymphodepletion",
                        day,
                        f"a day inside the window of a lymphodepletion visit ({windows}), or a visit for it",
                    )
                )
    for index, visit in ld_visits:
        if not any(visit.covers(day) for day in days):
            issues.append(
                Issue(
                    ("schedule", "visits", index),
                    f"visit {visit.name!r} lists lymphodepletion, but no agent of the regimen is given on "
                    f"its days ({visit.earliest_day} to {visit.latest_day})",
                    None,
                    f"a lymphodepletion visit on a regimen day ({', '.join(str(d) for d in sorted(days))})",
                )
            )
    return issues


def endpoint_issues(endpoints: dict[str, EndpointSpec] | None, analysis: AnalysisSpec | None) -> list[Issue]:
    """Rules that join the endpoints (paths relative to the protocol root): the relapse endpoints' parameters
    as the neuro engine reads them (`relapse_options_issues`: each a `RelapseOptions` field in range, one
    value per option across endpoints), and every endpoint the analysis section names exists. A section given
    as None (missing or itself invalid) skips the rules that need it."""
    issues: list[Issue] = []
    if endpoints is not None:
        issues += relapse_options_issues(endpoints)[1]
        responders = {key for key, e in endpoints.items() if e.definition in RESPONDER_DEFINITIONS}
        issues += analysis_issues(analysis, set(endpoints), responders)
    return issues


_SECTION_MODELS: dict[str, Any] = {
    "dose_levels": TypeAdapter(list[DoseLevel]),
    "escalation": TypeAdapter(EscalationSpec),
    "expansion": TypeAdapter(ExpansionSpec),
    "schedule": TypeAdapter(Schedule),
    "lymphodepletion": TypeAdapter(Lymphodepletion),
    "endpoints": TypeAdapter(dict[EndpointKey, EndpointSpec]),
    "analysis": TypeAdapter(AnalysisSpec),
}


def _partial_cross_section_problems(data: Any, positions: YamlPositions, source: str) -> list[Problem]:
    if not isinstance(data, dict):
        return []
    sections: dict[str, Any] = {}
    for name, adapter in _SECTION_MODELS.items():
        try:
            sections[name] = adapter.validate_python(data[name]) if name in data else None
        except ValidationError:
            sections[name] = None
    issues = cross_section_issues(
        sections["dose_levels"], sections["escalation"], sections["expansion"], sections["schedule"]
    )
    issues += lymphodepletion_schedule_issues(sections["lymphodepletion"], sections["schedule"])
    endpoints = sections["endpoints"] if "endpoints" in data else {}
    analysis = sections["analysis"] if "analysis" in data else AnalysisSpec()
    issues += endpoint_issues(endpoints, analysis)
    return problems_from_issues(issues, positions, source)


def parse_protocol(text: str, source: str = "<string>") -> Protocol:
    """Validate protocol YAML `text`; `InputError` lists every problem with its YAML path and line.

    Cross-section rules are also checked for the sections that are valid on their own, so they are
    reported in the same run as field errors elsewhere. A minimal protocol (required sections only):

    >>> protocol = parse_protocol('''
    ... study: {id: DEMO, title: Demo, indication: NMOSD, phase: "1", sponsor: Demo,
    ...         product: {name: CAR-T, target_antigen: BCMA}}
    ... dose_levels: [{level: 1, label: low, cells_per_kg: 500000},
    ...               {level: 2, label: high, cells_per_kg: 1000000}]
    ... escalation: {design: "3+3", dlt_window_days: 28}
    ... schedule: {visits: [{name: Day 28, study_day: 28, assessments: [edss]}]}
    ... eligibility: {criteria: [{id: adult, kind: inclusion, text: Adult,
    ...                           rule: {type: age_range, min_years: 18}}]}
    ... ''')
    >>> protocol.n_dose_levels, protocol.dose_level(2).cells_per_kg, protocol.escalation.variant.value
    (2, 1000000.0, 'deescalation')
    """
    data, positions, prior = read_yaml(text, source)
    try:
        return validate_data(Protocol, data, positions, source, prior, what="protocol")
    except InputError as exc:
        known = {(p.field, p.message) for p in exc.problems}
        extra = [
            p
            for p in _partial_cross_section_problems(data, positions, source)
            if (p.field, p.message) not in known
        ]
        if not extra:
            raise
        problems = sorted([*exc.problems, *extra], key=lambda p: p.line if p.line is not None else 0)
        count = len(problems)
        raise InputError(problems, header=f"{source}: {count} problems in the protocol") from None


def load_protocol(path: str | Path) -> Protocol:
    """Read and validate a protocol YAML file (`InputError` naming the file for every problem).

    The shipped reference protocol (path relative to the repository root):

    >>> protocol = load_protocol("examples/ct103a-nmosd/protocol.yaml")
    >>> protocol.study.registry_id, [level.cells_per_kg for level in protocol.dose_levels]
    ('NCT04561557', [500000.0, 1000000.0])
    """
    return parse_protocol(read_text_file(path), str(path))


__all__ = [
    "SCHEMA_VERSION",
    "Product",
    "Protocol",
    "Study",
    "cross_section_issues",
    "endpoint_issues",
    "load_protocol",
    "lymphodepletion_schedule_issues",
    "parse_protocol",
]
