"""Whether a graded event is a dose-limiting toxicity (DLT) under the protocol's DLT rules.

Semantics: `cartrial.protocol.dlt.DltRule` docstring (the protocol's DLT criteria as data; default template
from the S103 BCMA CAR-T trial NCT06958939, docs/science/ct103a-nmosd-trial.md §4). An event is a DLT when its
onset lies in the DLT window (day 0 = infusion to `window_days`, both inclusive [P]) and at least one rule
matches; a rule matches when every condition it gives holds:
category (None = any); grade >= `min_grade`, or >= `organ_min_grade[organ]` for the listed organs; term not in
`exclude_terms` (case-insensitive); organ in `organs` when given; duration strictly longer than
`min_duration_days` ("> N days"; an unknown duration only qualifies when `ongoing_at_day` shows it lasted
long enough); relatedness at least `min_relatedness` (unrelated < unlikely < possible < probable <
definite; unassessed relatedness does not qualify); not due to the underlying disease when
`exclude_underlying_disease`; judged a DLT by the safety review committee when `committee_judgement`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cartrial.errors import InputError, Problem
from cartrial.escalation.outcomes import Outcomes, PatientOutcome
from cartrial.protocol.dlt import DltRule, GradedEvent

SOURCE = "protocol DLT rules (cartrial.protocol.dlt.DltRule); template NCT06958939"


@dataclass(frozen=True)
class DltAssessment:
    """The verdict for one event: DLT or not, which rule(s) fired, and why each other rule did not."""

    event: GradedEvent
    is_dlt: bool
    in_window: bool
    fired: tuple[str, ...]
    not_fired: dict[str, tuple[str, ...]] = field(default_factory=dict)
    source: str = SOURCE

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject_id": self.event.subject_id,
            "term": self.event.term,
            "grade": self.event.grade,
            "onset_day": self.event.onset_day,
            "is_dlt": self.is_dlt,
            "in_window": self.in_window,
            "fired": list(self.fired),
            "not_fired": {k: list(v) for k, v in self.not_fired.items()},
            "source": self.source,
        }


@dataclass(frozen=True)
class SubjectDlt:
    """Whether a subject had a DLT: the DLT events and every event's assessment."""

    subject_id: str | None
    is_dlt: bool
    dlt_events: tuple[GradedEvent, ...]
    assessments: tuple[DltAssessment, ...]


def rule_failures(event: GradedEvent, rule: DltRule) -> tuple[str, ...]:
    """Reasons `rule` does not match `event` (empty: it matches)."""
    why: list[str] = []
    if rule.category is not None and event.category != rule.category:
        why.append(f"category {event.category.value} is not {rule.category.value}")
    organ = (event.organ or "").strip().lower()
    organ_grades = {k.strip().lower(): v for k, v in rule.organ_min_grade.items()}
    needed = organ_grades.get(organ, rule.min_grade) if organ else rule.min_grade
    if event.grade < needed:
        where = f" for organ {event.organ}" if organ in organ_grades else ""
        why.append(f"grade {event.grade} is below {needed}{where}")
    if event.term.strip().lower() in {t.strip().lower() for t in rule.exclude_terms}:
        why.append(f"term {event.term!r} is excluded")
    if rule.organs is not None and organ not in {o.strip().lower() for o in rule.organs}:
        why.append(f"organ {event.organ or 'unknown'} is not one of {', '.join(rule.organs)}")
    if rule.min_duration_days is not None:
        limit = rule.min_duration_days
        if event.duration_days is not None:
            if not event.duration_days > limit:
                why.append(f"duration {event.duration_days:g} days is not > {limit:g} days")
        elif event.ongoing_at_day is not None and event.ongoing_at_day - event.onset_day > limit:
            pass  # still ongoing and already longer than the limit
        else:
            why.append(f"duration unknown (needs > {limit:g} days)")
    if rule.min_relatedness is not None:
        if event.relatedness is None:
            why.append(f"relatedness not assessed (needs at least {rule.min_relatedness.value})")
        elif event.relatedness.rank < rule.min_relatedness.rank:
            why.append(f"relatedness {event.relatedness.value} is below {rule.min_relatedness.value}")
    if rule.exclude_underlying_disease and event.due_to_underlying_disease:
        why.append("due to the underlying disease")
    if rule.committee_judgement and not event.judged_dlt_by_committee:
        why.append("not judged a DLT by the safety review committee")
    return tuple(why)


def assess_dlt(event: GradedEvent, rules: Sequence[DltRule], window_days: float) -> DltAssessment:
    """Is `event` a DLT under `rules` with a DLT window of `window_days` days after infusion (day 0)?

    >>> from cartrial.protocol.dlt import DltRule, GradedEvent
    >>> rule = DltRule(id="crs_grade_4", description="CRS grade 4", category="crs", min_grade=4)
    >>> event = GradedEvent("S1", "crs", "CRS", 4, "ASTCT 2019", onset_day=3)
    >>> assessment = assess_dlt(event, [rule], window_days=28)
    >>> assessment.is_dlt, assessment.fired
    (True, ('crs_grade_4',))
    """
    if not window_days > 0:
        raise InputError(
            Problem("the DLT window must be > 0 days", field="window_days", value=window_days, allowed="> 0")
        )
    in_window = 0 <= event.onset_day <= window_days
    fired: list[str] = []
    not_fired: dict[str, tuple[str, ...]] = {}
    for rule in rules:
        reasons = rule_failures(event, rule)
        if not in_window:
            reasons = (f"onset day {event.onset_day:g} is outside the DLT window 0-{window_days:g}", *reasons)
        if reasons:
            not_fired[rule.id] = reasons
        else:
            fired.append(rule.id)
    return DltAssessment(event, bool(fired), in_window, tuple(fired), not_fired)


def subject_dlt(events: Iterable[GradedEvent], rules: Sequence[DltRule], window_days: float) -> SubjectDlt:
    """Whether one subject had a DLT: any of their events is a DLT (events of one subject only).

    >>> from cartrial.protocol.dlt import DltRule, GradedEvent
    >>> rule = DltRule(id="crs_grade_4", description="CRS grade 4", category="crs", min_grade=4)
    >>> subject_dlt([GradedEvent("S1", "crs", "CRS", 2, "ASTCT 2019", onset_day=3)], [rule], 28).is_dlt
    False
    """
    event_list = list(events)
    subjects = {e.subject_id for e in event_list}
    if len(subjects) > 1:
        raise InputError(
            Problem(
                "events of more than one subject",
                field="subject_id",
                value=", ".join(sorted(subjects)),
                allowed="one subject",
            )
        )
    assessments = tuple(assess_dlt(e, rules, window_days) for e in event_list)
    dlts = tuple(a.event for a in assessments if a.is_dlt)
    return SubjectDlt(next(iter(subjects), None), bool(dlts), dlts, assessments)


def cohort_outcomes(
    cohorts: Sequence[tuple[int, Sequence[str]]],
    events: Iterable[GradedEvent],
    rules: Sequence[DltRule],
    window_days: float,
) -> tuple[Outcomes, dict[str, SubjectDlt]]:
    """The trial history for the escalation engine from graded events: `cohorts` lists (1-based dose level,
    subject ids) in treatment order; each subject's DLT status comes from `subject_dlt` (a subject without
    events had no DLT). Returns the outcomes and every subject's verdict (for the committee's record).

    >>> from cartrial.escalation import format_outcomes
    >>> from cartrial.protocol.dlt import DltRule, GradedEvent
    >>> rule = DltRule(id="crs_grade_4", description="CRS grade 4", category="crs", min_grade=4)
    >>> event = GradedEvent("S1", "crs", "CRS", 4, "ASTCT 2019", onset_day=3)
    >>> outcomes, verdicts = cohort_outcomes([(1, ["S1", "S2", "S3"])], [event], [rule], 28)
    >>> format_outcomes(outcomes), verdicts["S2"].is_dlt
    ('1TNN', False)
    """
    by_subject: dict[str, list[GradedEvent]] = {}
    for event in events:
        by_subject.setdefault(event.subject_id, []).append(event)
    listed = [s for _, subjects in cohorts for s in subjects]
    unknown = sorted(set(by_subject) - set(listed))
    if unknown:
        raise InputError(
            Problem(
                "events of subjects not assigned to any cohort",
                field="subject_id",
                value=", ".join(unknown),
                allowed="subjects listed in the cohorts",
            )
        )
    duplicated = sorted({s for s in listed if listed.count(s) > 1})
    if duplicated:
        raise InputError(
            Problem(
                "a subject appears in more than one cohort",
                field="subject_id",
                value=", ".join(duplicated),
                allowed="each subject once",
            )
        )
    patients: list[PatientOutcome] = []
    verdicts: dict[str, SubjectDlt] = {}
    for number, (level, subjects) in enumerate(cohorts, start=1):
        for subject in subjects:
            verdict = subject_dlt(by_subject.get(subject, []), rules, window_days)
            verdicts[subject] = verdict
            patients.append(PatientOutcome(number, int(level), verdict.is_dlt))
    return Outcomes(tuple(patients)), verdicts


__all__ = ["DltAssessment", "SubjectDlt", "assess_dlt", "cohort_outcomes", "rule_failures", "subject_dlt"]
