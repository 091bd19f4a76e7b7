"""Whether a graded event is a dose-limiting toxicity (DLT) under the protocol's DLT rules.

Semantics: `cartrial.protocol.dlt.DltRule` docstring (the protocol's DLT criteria as data; default template
from the S103 BCMA CAR-T trial NCT06958939, docs/science/ct103a-nmosd-trial.md §4). An event is a DLT when its
onset lies in the DLT window (day 0 = infusion to `window_days`, both inclusive [P]) and at least one rule
matches; a rule matches when every condition it gives holds:
category (None = any); grade >= `min_grade`, or >= `organ_min_grade[organ]` for the listed organs; term not in
`exclude_terms` (case-insensitive); organ in `organs` when given; duration strictly longer than
`min_duration_days` ("> N days"; an unknown duration only qualifies when `ongoing_at_day` shows it lasted
long enough: an unresolved ICANS episode lasts through later "not assessable" assessments, which do not
resolve it, and a rule met only through them fires with a query, `duration_query`, D-19.787); relatedness
at least `min_relatedness` (unrelated < unlikely < possible < probable < definite; unassessed relatedness
does not qualify); not due to the underlying disease when `exclude_underlying_disease`; judged a DLT by the
safety review committee when `committee_judgement`.

What the rules read (docs/science/decisions.md D-13.6-D-13.8):

- relatedness (`attributed_relatedness`): CRS and ICANS are related to the product by definition — the ASTCT
  consensus defines them as toxicities of immune effector cell therapy — so their relatedness is
  ``definite`` whatever is recorded (`RELATEDNESS_BY_DEFINITION_SOURCE`); other events carry the
  investigator's causality assessment;
- organ (`event_organ`): the event's organ when given, else the organ of its CTCAE term
  (`cartrial.protocol.organs.organ_of`);
- committee judgement: the recorded judgement on the event (`GradedEvent.judged_dlt_by_committee`; in the
  analysis the investigator's DLT flag on the adverse-event record).

Every fired rule cites its source (`DltAssessment.citations`): the protocol rule, and where the rule reads
them, the basis of the relatedness, of the organ and of the committee judgement.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cartrial.allowed import choice_text
from cartrial.errors import InputError, Problem
from cartrial.escalation.outcomes import Outcomes, PatientOutcome
from cartrial.protocol.dlt import DltRule, GradedEvent, Relatedness, ToxicityCategory, in_dlt_window
from cartrial.protocol.organs import ORGAN_SOURCE, organ_key, organ_of

SOURCE = "protocol DLT rules (cartrial.protocol.dlt.DltRule); template NCT06958939"

RELATED_BY_DEFINITION = frozenset({ToxicityCategory.CRS, ToxicityCategory.ICANS})
"""Categories whose relatedness to the product is ``definite`` by definition (`attributed_relatedness`)."""

RELATEDNESS_BY_DEFINITION_SOURCE = (
    "related by definition: CRS and ICANS are toxicities of the immune effector cell therapy "
    "(ASTCT consensus, Lee DW et al. Biol Blood Marrow Transplant 2019;25:625-638)"
)
COMMITTEE_SOURCE = "the recorded DLT judgement of the event (safety review committee / investigator DLT flag)"


def attributed_relatedness(event: GradedEvent) -> tuple[Relatedness | None, str]:
    """(relatedness the DLT rules read, its basis): ``definite`` for CRS and ICANS (`RELATED_BY_DEFINITION`,
    ASTCT 2019: after a CAR-T infusion they are attributed to the product, whatever a record says), else the
    event's own (the investigator's causality assessment; None = not assessed).

    >>> from cartrial.protocol.dlt import GradedEvent
    >>> attributed_relatedness(GradedEvent("S1", "icans", "ICANS", 3, "ASTCT 2019", 5.0))[0]
    <Relatedness.DEFINITE: 'definite'>
    """
    if event.category in RELATED_BY_DEFINITION:
        return Relatedness.DEFINITE, RELATEDNESS_BY_DEFINITION_SOURCE
    if event.relatedness is None:
        return None, "not assessed"
    return event.relatedness, "investigator's causality assessment"


def event_organ(event: GradedEvent) -> str | None:
    """The organ the DLT rules read: the event's `organ` when given, else the organ of its CTCAE term
    (`cartrial.protocol.organs.organ_of`; None when the term has none).

    >>> from cartrial.protocol.dlt import GradedEvent
    >>> event_organ(GradedEvent("S1", "non_hematologic", "Acute kidney injury", 2, "CTCAE v5.0", 4.0))
    'renal'
    """
    given = (event.organ or "").strip().lower()
    return given or organ_of(event.term)


def _organ_basis(event: GradedEvent) -> str:
    if (event.organ or "").strip():
        return f"organ {event.organ} given with the event"
    return f"organ {organ_of(event.term)} of the term {event.term!r}: {ORGAN_SOURCE}"


def rule_citation(event: GradedEvent, rule: DltRule) -> str:
    """The source of a fired rule: the protocol rule, plus the basis of what it read — relatedness
    (`attributed_relatedness`), organ (`event_organ`), committee judgement."""
    parts = [f"protocol escalation.dlt_rules {rule.id} ({SOURCE})"]
    if rule.min_relatedness is not None:
        relatedness, basis = attributed_relatedness(event)
        parts.append(f"relatedness {relatedness.value if relatedness else 'not assessed'}: {basis}")
    if (rule.organs is not None or rule.organ_min_grade) and event_organ(event):
        parts.append(_organ_basis(event))
    if rule.committee_judgement:
        parts.append(f"judged a DLT: {COMMITTEE_SOURCE}")
    return "; ".join(parts)


@dataclass(frozen=True)
class DltAssessment:
    """The verdict for one event: DLT or not, which rule(s) fired, and why each other rule did not."""

    event: GradedEvent
    is_dlt: bool
    in_window: bool
    fired: tuple[str, ...]
    not_fired: dict[str, tuple[str, ...]] = field(default_factory=dict)
    source: str = SOURCE
    citations: dict[str, str] = field(default_factory=dict)
    """Per fired rule, its source (`rule_citation`)."""
    queries: dict[str, str] = field(default_factory=dict)
    """Per fired rule whose duration condition is met only through assessments that could not grade the
    event (`duration_query`, D-19.787): what to ask the site. The rule fires all the same."""

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
            "citations": dict(self.citations),
            "queries": dict(self.queries),
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
    organ = event_organ(event) or ""
    organ_grades = {organ_key(k): v for k, v in rule.organ_min_grade.items()}
    needed = organ_grades.get(organ, rule.min_grade) if organ else rule.min_grade
    if event.grade < needed:
        where = f" for organ {organ}" if organ in organ_grades else ""
        why.append(f"grade {event.grade} is below {needed}{where}")
    if event.term.strip().lower() in {t.strip().lower() for t in rule.exclude_terms}:
        why.append(f"term {event.term!r} is excluded")
    if rule.organs is not None and organ not in {organ_key(o) for o in rule.organs}:
        shown = organ or f"unknown (term {event.term!r} has no organ in cartrial.protocol.organs)"
        why.append(f"organ {shown} is not one of {choice_text(rule.organs)}")
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
        relatedness, _ = attributed_relatedness(event)
        if relatedness is None:
            why.append(f"relatedness not assessed (needs at least {rule.min_relatedness.value})")
        elif relatedness.rank < rule.min_relatedness.rank:
            why.append(f"relatedness {relatedness.value} is below {rule.min_relatedness.value}")
    if rule.exclude_underlying_disease and event.due_to_underlying_disease:
        why.append("due to the underlying disease")
    if event.pre_existing:  # marked by the grading engine (D-19.1195, D-19.1196)
        why.append("pre-existing: not worse than before the treatment-emergent period (D-19.1196)")
    if rule.committee_judgement and not event.judged_dlt_by_committee:
        why.append("not judged a DLT by the safety review committee")
    return tuple(why)


def duration_query(event: GradedEvent, rule: DltRule) -> str | None:
    """The query a DLT verdict carries when `rule`'s duration condition ("> N days") holds for `event` only
    through assessments that could not grade it (D-19.787), else None: its duration (resolved: onset to
    resolution; unresolved: ``ongoing_at_day`` − onset) exceeds the limit, but ``graded_to_day`` − onset does
    not (unresolved: its last graded assessment; resolved, set only when "not assessable" rows follow its last
    graded row before the resolution: the first of those rows, where a grade 0 would have resolved it, so a
    sedated row that could not change the verdict raises no query, D-19.787 as amended) — for ICANS, the rows
    after it are "not assessable" (unarousable from sedation: no ICE, consciousness attributed to another
    cause; ASTCT 2019, D-19.675). Such rows do not resolve the episode, so it has lasted through them and the
    rule is met (a DLT is never under-called for want of a grade: the conservative reading); the verdict says
    to confirm those days with the site. The text names no day: the analysis adds them on the site's calendar
    (`query_days`, D-19.699).

    >>> from cartrial.protocol.dlt import DltRule, GradedEvent
    >>> rule = DltRule(id="icans_3_72h", description="ICANS >= 3 > 3 days", category="icans", min_grade=3,
    ...                min_duration_days=3)
    >>> event = GradedEvent("S1", "icans", "ICANS", 3, "ASTCT 2019", 1.0, ongoing_at_day=6.0,
    ...                     graded_to_day=2.0)
    >>> duration_query(event, rule).split(" (")[0]
    'duration > 3 days only through assessments that could not grade it'
    """
    limit = rule.min_duration_days
    graded = event.graded_to_day
    if limit is None or graded is None:
        return None
    if event.duration_days is not None:  # resolved: the ungraded rows lie before its resolution
        lasted = event.duration_days
    elif event.ongoing_at_day is not None:
        lasted = event.ongoing_at_day - event.onset_day
    else:
        return None
    if not lasted > limit or graded - event.onset_day > limit:
        return None
    return (
        f"duration > {limit:g} days only through assessments that could not grade it (not assessable, e.g. "
        "sedated, after its last graded assessment); counted as lasting (D-19.787): query the site on those "
        "days"
    )


def query_days(event: GradedEvent) -> tuple[float, float] | None:
    """(last graded, last known) days after infusion of an event a duration query names (`duration_query`):
    its `graded_to_day` and the day it resolved on or was unresolved to; numbers the analysis renders on the
    site's calendar (D-19.699)."""
    if event.graded_to_day is None:
        return None
    if event.duration_days is not None:
        return event.graded_to_day, event.onset_day + event.duration_days
    if event.ongoing_at_day is not None:
        return event.graded_to_day, event.ongoing_at_day
    return None


def event_in_dlt_window(event: GradedEvent, window_days: float) -> bool:
    """Whether `event`'s onset lies in the DLT window (`cartrial.protocol.dlt.in_dlt_window`: days 0 to
    `window_days` inclusive). With an `onset_study_day` (an onset instant: CRS, ICANS, laboratory), the window
    holds days of the site's calendar, as for an adverse event's calendar day, the CDISC epochs and the
    window's completion (D-19.1193): an onset on study day 28 at any hour is in a 28-day window; the onset
    must also be at or after the infusion instant (the part of a laboratory run before it, on day 0, is not;
    D-19.1191). Without one, `onset_day` is the day.

    >>> from cartrial.protocol.dlt import GradedEvent
    >>> late = GradedEvent("S1", "crs", "CRS", 4, "ASTCT 2019", onset_day=28.4, onset_study_day=28)
    >>> event_in_dlt_window(late, 28), in_dlt_window(28.4, 28)
    (True, False)
    """
    if event.onset_study_day is None:
        return bool(in_dlt_window(event.onset_day, window_days))
    return bool(event.onset_day >= 0 and in_dlt_window(event.onset_study_day, window_days))


def _onset_text(event: GradedEvent) -> str:
    if event.onset_study_day is None:
        return f"onset day {event.onset_day:g}"
    return f"onset on study day {event.onset_study_day} ({event.onset_day:g} days after the infusion)"


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
    in_window = event_in_dlt_window(event, window_days)
    fired: list[str] = []
    not_fired: dict[str, tuple[str, ...]] = {}
    citations: dict[str, str] = {}
    queries: dict[str, str] = {}
    for rule in rules:
        reasons = rule_failures(event, rule)
        if not in_window:
            reasons = (f"{_onset_text(event)} is outside the DLT window 0-{window_days:g}", *reasons)
        if reasons:
            not_fired[rule.id] = reasons
        else:
            fired.append(rule.id)
            citations[rule.id] = rule_citation(event, rule)
            query = duration_query(event, rule)
            if query is not None:
                queries[rule.id] = query
    return DltAssessment(
        event, bool(fired), in_window, tuple(fired), not_fired, citations=citations, queries=queries
    )


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


__all__ = [
    "COMMITTEE_SOURCE",
    "RELATEDNESS_BY_DEFINITION_SOURCE",
    "RELATED_BY_DEFINITION",
    "DltAssessment",
    "SubjectDlt",
    "assess_dlt",
    "attributed_relatedness",
    "cohort_outcomes",
    "duration_query",
    "event_in_dlt_window",
    "event_organ",
    "query_days",
    "rule_citation",
    "rule_failures",
    "subject_dlt",
]
