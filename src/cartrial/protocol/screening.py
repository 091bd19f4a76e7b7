"""Screening: evaluate every eligibility criterion of a protocol against one candidate.

Each criterion gets a status — ``met``, ``not_met`` or ``cannot_assess`` (data missing: the missing
field is named) — with the reason and the value used. Overall verdict: ``eligible`` when every inclusion
criterion is met and no exclusion criterion is met; ``not_eligible`` when an inclusion criterion is not
met or an exclusion criterion is met; ``incomplete`` otherwise (something could not be assessed). Rule
sources: see `cartrial.protocol.eligibility` (NCT04561557 registry eligibility).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from cartrial.allowed import check_instance
from cartrial.errors import InputError, Problem
from cartrial.protocol.attacks import merge_onset_dates
from cartrial.protocol.calendar import add_months, completed_years, months_before
from cartrial.protocol.candidate import (
    Candidate,
    LabResult,
    SerologyResult,
    TreatmentRecord,
    screening_date_problem,
)
from cartrial.protocol.eligibility import (
    ULN_UNIT,
    AgeRangeRule,
    Aqp4IggSeropositiveRule,
    Criterion,
    CriterionKind,
    DiagnosisRule,
    EdssRangeRule,
    ImmunosuppressantRefractoryRule,
    LabThresholdRule,
    ManualRule,
    PoorControlEvidence,
    RelapseActivityRule,
    WashoutRule,
)
from cartrial.protocol.lab_units import count_unit_factor
from cartrial.protocol.model import Protocol
from cartrial.rounding import EXACT, exact_text, written


class CriterionStatus(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    CANNOT_ASSESS = "cannot_assess"


class Verdict(StrEnum):
    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not_eligible"
    INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class CriterionResult:
    """Outcome of one criterion for one candidate. `missing` names the candidate fields that were
    needed but absent (for ``cannot_assess``); `parameters` are the rule's parameters as applied."""

    id: str
    kind: CriterionKind
    text: str
    rule_type: str
    status: CriterionStatus
    reason: str
    value: Any = None
    missing: tuple[str, ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)
    source: str | None = None

    @property
    def blocks_eligibility(self) -> bool:
        """True when this result alone makes the candidate not eligible."""
        if self.kind is CriterionKind.INCLUSION:
            return self.status is CriterionStatus.NOT_MET
        return self.status is CriterionStatus.MET

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "text": self.text,
            "rule_type": self.rule_type,
            "status": self.status.value,
            "reason": self.reason,
            "value": _jsonable(self.value),
            "missing": list(self.missing),
            "parameters": _jsonable(self.parameters),
            "source": self.source,
        }


@dataclass(frozen=True)
class ScreeningResult:
    """Every criterion's result for one candidate and the overall verdict."""

    protocol_id: str
    candidate_id: str
    screening_date: dt.date | None
    screening_date_source: str
    verdict: Verdict
    criteria: tuple[CriterionResult, ...]
    #: answers given for criterion ids that are not manual criteria of the protocol (reported, not used)
    unused_answers: tuple[str, ...] = ()

    def by_id(self, criterion_id: str) -> CriterionResult:
        for result in self.criteria:
            if result.id == criterion_id:
                return result
        raise KeyError(criterion_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (dates as ISO strings)."""
        counts = {status.value: 0 for status in CriterionStatus}
        for result in self.criteria:
            counts[result.status.value] += 1
        return {
            "protocol_id": self.protocol_id,
            "candidate_id": self.candidate_id,
            "screening_date": self.screening_date.isoformat() if self.screening_date else None,
            "screening_date_source": self.screening_date_source,
            "verdict": self.verdict.value,
            "counts": counts,
            "criteria": [result.to_dict() for result in self.criteria],
            "unused_answers": list(self.unused_answers),
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class _Outcome:
    holds: bool | None
    reason: str
    value: Any = None
    missing: tuple[str, ...] = ()


def _unknown(reason: str, *missing: str, value: Any = None) -> _Outcome:
    return _Outcome(None, reason, value, tuple(missing))


_NO_SCREENING_DATE = "the screening date is not known (candidate screening_date or --screening-date)"


def _age(rule: AgeRangeRule, c: Candidate, day: dt.date | None, _: str) -> _Outcome:
    if c.date_of_birth is not None and day is not None:
        age = completed_years(c.date_of_birth, day)
        basis = f"born {c.date_of_birth.isoformat()}, {age} completed years on {day.isoformat()}"
    elif c.age_years is not None:
        ages = _recorded_age_on(c.age_years, c.screening_date, day)
        if len(ages) == 1:
            age = ages[0]
            basis = (
                f"age {age} years as recorded"
                if age == c.age_years
                else f"age {c.age_years} years recorded on {c.screening_date}, so {age} on {day}"
            )
        else:
            low = rule.min_years if rule.min_years is not None else 0
            high = rule.max_years if rule.max_years is not None else 10**6
            inside = {low <= a <= high for a in ages}
            possible = f"{', '.join(str(a) for a in ages[:-1])} or {ages[-1]}"
            if len(inside) > 1:
                return _unknown(
                    f"age {c.age_years} years recorded on {c.screening_date}, so {possible} on "
                    f"{day}: the date of birth decides",
                    "date_of_birth",
                    value=list(ages),
                )
            age = ages[0]
            basis = f"age {c.age_years} years recorded on {c.screening_date}, so {possible} on {day}"
    elif c.date_of_birth is not None:
        return _unknown(_NO_SCREENING_DATE, "screening_date")
    else:
        return _unknown("age not recorded", "date_of_birth")
    low = rule.min_years if rule.min_years is not None else 0
    high = rule.max_years if rule.max_years is not None else 10**6
    holds = low <= age <= high
    low_text = "-" if rule.min_years is None else str(rule.min_years)
    high_text = "-" if rule.max_years is None else str(rule.max_years)
    bounds = f"{low_text}-{high_text}"
    return _Outcome(holds, f"{basis}; allowed {bounds} years inclusive", age)


def _recorded_age_on(age: int, recorded_on: dt.date | None, day: dt.date | None) -> tuple[int, ...]:
    """The possible ages on `day` (ascending) of a candidate aged `age`
    (completed years) on `recorded_on`, the candidate's screening date (D-19.814): the age itself when either
    date is unknown or they are equal; else the completed years on `day` (`completed_years`, the project's
    clamping rule) of every date of birth that gives `age` on `recorded_on`. 74 on 2024-03-15 is 76 on
    2026-03-15, and 76 or 77 on 2026-06-01; a whole number of years apart is not enough around 29 February
    (aged 75 on 2023-02-28 and born 1948-02-29 is still 75 on 2024-02-28, others are 76; D-19.722). A date
    of birth after `day` counts as age 0 on it."""
    if recorded_on is None or day is None or day == recorded_on:
        return (age,)
    # the dates of birth consistent with the recorded age lie within a year (and a few clamped days) of
    # recorded_on moved back by `age` years: scan that span and keep the ones completed_years agrees with
    start = add_months(recorded_on, -12 * (age + 1)) - dt.timedelta(days=3)
    stop = recorded_on if age == 0 else add_months(recorded_on, -12 * age) + dt.timedelta(days=3)
    ages: set[int] = set()
    born = start
    while born <= stop:
        if completed_years(born, recorded_on) == age:
            ages.add(completed_years(born, day) if born <= day else 0)
        born += dt.timedelta(days=1)
    return tuple(sorted(ages)) if ages else (age,)


def _aqp4(rule: Aqp4IggSeropositiveRule, c: Candidate, day: dt.date | None, _: str) -> _Outcome:
    if not c.aqp4_igg:
        return _unknown("no AQP4-IgG result recorded", "aqp4_igg")
    known = [t for t in c.aqp4_igg if not _after(t.date, day)]  # as of the screening date (D-19.809)
    if not known:
        return _unknown(f"no AQP4-IgG result on or before the screening date ({_NOT_YET_KNOWN})", "aqp4_igg")
    accepted = [t for t in known if rule.assay.accepts(t.assay)]
    if not accepted:
        assays = ", ".join(sorted({t.assay.value for t in known}))
        return _unknown(
            f"no AQP4-IgG result by an accepted assay ({rule.assay.value}); have: {assays}", "aqp4_igg"
        )
    positive = [t for t in accepted if t.result is SerologyResult.POSITIVE]
    if positive:
        test = positive[0]
        return _Outcome(True, f"AQP4-IgG positive by {test.assay.value}", f"positive ({test.assay.value})")
    return _Outcome(
        False, f"AQP4-IgG negative by {accepted[0].assay.value}", f"negative ({accepted[0].assay.value})"
    )


def _diagnosis(rule: DiagnosisRule, c: Candidate, day: dt.date | None, _: str) -> _Outcome:
    if c.diagnosis is None:
        return _unknown("diagnosis not recorded", "diagnosis")
    if _after(c.diagnosis.date, day):  # as of the screening date (D-19.809)
        return _unknown(f"the diagnosis is dated after the screening date ({_NOT_YET_KNOWN})", "diagnosis")
    value = f"{c.diagnosis.condition} ({c.diagnosis.criteria})"
    holds = (
        c.diagnosis.condition.lower() == rule.condition.lower()
        and c.diagnosis.criteria.lower() == rule.criteria.lower()
    )
    return _Outcome(holds, f"diagnosis {value}; required {rule.condition} by {rule.criteria}", value)


def _and3(values: list[bool | None]) -> bool | None:
    if any(v is False for v in values):
        return False
    if any(v is None for v in values):
        return None
    return True


def _or3(values: list[bool | None]) -> bool | None:
    if any(v is True for v in values):
        return True
    if any(v is None for v in values):
        return None
    return False


def _after(record_date: dt.date | None, day: dt.date | None) -> bool:
    """Whether a record dated `record_date` is after the screening date `day` (then not yet known on that
    day and not used: screening as of a date, D-19.809). An undated record, or no screening date: False."""
    return record_date is not None and day is not None and record_date > day


#: why a record dated after the screening date is left out of the criterion (D-19.809)
_NOT_YET_KNOWN = "records dated after it are not used"


def _started_by(t: TreatmentRecord, day: dt.date | None) -> bool:
    """Whether the treatment had started on the screening date `day` (an unknown start counts as started)."""
    return not _after(t.start_date, day)


def _agent_key(agent: str) -> str:
    """One agent however its courses spell it: case, hyphens as spaces, and surrounding or repeated spaces
    ignored (mycophenolate-mofetil is Mycophenolate Mofetil; D-19.812, D-19.723). Brand and generic names
    are not matched: each course is written by its generic (INN) name (`TreatmentRecord.agent`)."""
    return " ".join(agent.replace("-", " ").split()).casefold()


def _treatment_end(t: TreatmentRecord, day: dt.date | None) -> dt.date | None:
    """Last day of use as of the screening date: the screening date when ongoing, or when the last dose is
    after it (still taken on that day; D-19.809); else the last dose."""
    if t.ongoing or _after(t.last_dose_date, day):
        return day
    return t.last_dose_date


def _refractory(rule: ImmunosuppressantRefractoryRule, c: Candidate, day: dt.date | None, _: str) -> _Outcome:
    if c.treatments is None:
        return _unknown("treatment history not recorded", "treatments")
    classes = set(rule.therapy_classes)
    relevant = [t for t in c.treatments if classes.intersection(t.therapy_classes) and _started_by(t, day)]
    if not relevant:
        return _Outcome(
            False,
            f"no treatment of class {', '.join(sorted(classes))} recorded (started on or before the "
            "screening date)",
            0,
        )
    missing: set[str] = set()
    # an agent qualifies when any of its courses does: the rule counts agents, not courses (D-19.812)
    per_agent: dict[str, bool | None] = {}
    names: dict[str, str] = {}
    for t in relevant:
        end = _treatment_end(t, day)
        if t.start_date is None:
            long_enough: bool | None = None
            missing.add("treatments[].start_date")
        elif end is None:
            long_enough = None
            missing.add("screening_date" if t.ongoing else "treatments[].last_dose_date")
        else:
            # "more than" (">", NCT04561557) or "at least" (">=") N calendar months (D-19.810)
            long_enough = _COMPARE[rule.duration_comparator](
                end, add_months(t.start_date, rule.min_duration_months)
            )
        investigator = t.poor_control
        relapse_on: bool | None
        if c.relapses is None or t.start_date is None or end is None:
            relapse_on = None
        else:
            relapse_on = any(t.start_date < r.onset_date <= end for r in c.relapses)
        if rule.poor_control_evidence is PoorControlEvidence.INVESTIGATOR:
            poor = investigator
            if poor is None:
                missing.add("treatments[].poor_control")
        elif rule.poor_control_evidence is PoorControlEvidence.RELAPSE_ON_TREATMENT:
            poor = relapse_on
            if poor is None:
                missing.add("relapses")
        else:
            poor = _or3([investigator, relapse_on])
            if poor is None:
                missing.add("treatments[].poor_control or relapses")
        ok = _and3([long_enough, poor])
        key = _agent_key(t.agent)
        names.setdefault(key, t.agent.strip())
        per_agent[key] = _or3([per_agent[key], ok]) if key in per_agent else ok
    qualifying = [names[key] for key, ok in per_agent.items() if ok]
    n_yes = len(qualifying)
    n_unknown = sum(1 for ok in per_agent.values() if ok is None)
    threshold = (
        f"≥ {rule.min_agents} agent(s) {rule.duration_comparator.replace('>=', '≥')} "
        f"{rule.min_duration_months} months with poor control"
    )
    if n_yes >= rule.min_agents:
        return _Outcome(True, f"qualifying: {', '.join(qualifying)} ({threshold})", qualifying)
    if n_yes + n_unknown >= rule.min_agents:
        return _unknown(f"cannot decide {threshold}: data missing", *sorted(missing), value=qualifying)
    return _Outcome(False, f"{n_yes} qualifying agent(s); required {threshold}", qualifying)


def _window_start(rule: RelapseActivityRule, day: dt.date, months: int) -> dt.date:
    if rule.window_unit == "days":
        return day - dt.timedelta(days=math.floor(months * rule.days_per_year / 12))
    return months_before(day, months)


def _count_in_window(onsets: list[dt.date], start: dt.date, end: dt.date, inclusive: str) -> int:
    low_ok = (lambda d: d >= start) if inclusive in ("both", "start") else (lambda d: d > start)
    high_ok = (lambda d: d <= end) if inclusive in ("both", "end") else (lambda d: d < end)
    return sum(1 for d in onsets if low_ok(d) and high_ok(d))


def _relapses(rule: RelapseActivityRule, c: Candidate, day: dt.date | None, _: str) -> _Outcome:
    if c.relapses is None:
        return _unknown("dated relapse history not recorded", "relapses")
    if day is None:
        return _unknown(_NO_SCREENING_DATE, "screening_date")
    recorded = [r.onset_date for r in c.relapses]
    onsets = merge_onset_dates(recorded, rule.merge_window_days, rule.merge_anchor)
    short_start = _window_start(rule, day, rule.short_window_months)
    long_start = _window_start(rule, day, rule.long_window_months)
    short = _count_in_window(onsets, short_start, day, rule.inclusive)
    long = _count_in_window(onsets, long_start, day, rule.inclusive)
    after = sum(1 for d in onsets if d > day)
    value = {
        f"relapses_last_{rule.short_window_months}_months": short,
        f"relapses_last_{rule.long_window_months}_months": long,
        "short_window_start": short_start,
        "long_window_start": long_start,
        "relapses_after_screening_ignored": after,
        "onsets_recorded": len(recorded),
        "attacks_after_merging": len(onsets),
    }
    holds = short >= rule.min_in_short_window or (
        long >= rule.min_in_long_window and short >= rule.min_in_short_window_with_long
    )
    merging = (
        "records counted as given"
        if rule.merge_window_days is None
        else f"onsets < {rule.merge_window_days} days apart merged (anchor {rule.merge_anchor}): "
        f"{len(recorded)} onset(s) → {len(onsets)} attack(s)"
    )
    reason = (
        f"{short} relapse(s) in the {rule.short_window_months} months and {long} in the "
        f"{rule.long_window_months} months up to {day.isoformat()} (windows from "
        f"{short_start.isoformat()} and {long_start.isoformat()}, {rule.window_unit}, "
        f"ends {rule.inclusive}; {merging}); required ≥ {rule.min_in_short_window} in "
        f"{rule.short_window_months}, or ≥ {rule.min_in_long_window} in {rule.long_window_months} with "
        f"≥ {rule.min_in_short_window_with_long} in {rule.short_window_months}"
    )
    return _Outcome(holds, reason, value)


def _edss(rule: EdssRangeRule, c: Candidate, day: dt.date | None, _: str) -> _Outcome:
    if c.edss is None:
        return _unknown("EDSS not recorded", "edss")
    if _after(c.edss.date, day):  # as of the screening date (D-19.809)
        return _unknown(f"the EDSS is dated after the screening date ({_NOT_YET_KNOWN})", "edss")
    if rule.max_days_before_screening is not None:
        if c.edss.date is None:
            return _unknown("EDSS date not recorded", "edss.date")
        if day is None:
            return _unknown(_NO_SCREENING_DATE, "screening_date")
        age_days = (day - c.edss.date).days
        if age_days > rule.max_days_before_screening or age_days < 0:
            return _unknown(
                f"EDSS of {c.edss.date.isoformat()} is not within {rule.max_days_before_screening} days "
                "before screening",
                "edss",
            )
    holds = rule.min_score <= c.edss.score <= rule.max_score
    return _Outcome(
        holds, f"EDSS {c.edss.score:g}; allowed {rule.min_score:g}-{rule.max_score:g}", c.edss.score
    )


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
}


def _shown(value: Decimal | float) -> str:
    """`value` written exactly as the screening compared it (D-19.847; `cartrial.rounding.exact_text`)."""
    return exact_text(value)


def _lab(rule: LabThresholdRule, c: Candidate, day: dt.date | None, _: str) -> _Outcome:
    if c.labs is None:
        return _unknown("laboratory results not recorded", "labs")
    results = [r for r in c.labs if r.analyte.strip().lower() == rule.analyte.strip().lower()]
    if day is not None:
        results = [r for r in results if r.date is None or r.date <= day]
    if not results:
        return _unknown(f"no {rule.analyte} result", f"labs[{rule.analyte}]")
    latest: LabResult = max(results, key=lambda r: r.date or dt.date.min)
    if rule.max_days_before_screening is not None:
        if latest.date is None or day is None:
            return _unknown(f"{rule.analyte} date or screening date missing", f"labs[{rule.analyte}].date")
        if (day - latest.date).days > rule.max_days_before_screening:
            return _unknown(
                f"latest {rule.analyte} ({latest.date.isoformat()}) is older than "
                f"{rule.max_days_before_screening} days",
                f"labs[{rule.analyte}]",
            )
    # every result of the latest day (a date has no time to order them): one outcome when they agree, cannot
    # assess when they do not (D-19.815)
    same_day = [r for r in results if r.date == latest.date]
    outcomes = [_lab_outcome(rule, r) for r in same_day]
    undecided = next((o for o in outcomes if o.holds is None), None)
    if undecided is not None:
        return undecided
    if len({o.holds for o in outcomes}) > 1:
        when = latest.date.isoformat() if latest.date else "no date"
        return _unknown(
            f"{len(outcomes)} {rule.analyte} results of the latest day ({when}) disagree on the rule "
            f"{rule.comparator} {_shown(rule.value)} {rule.unit}: "
            + "; ".join(o.reason.split(";")[0] for o in outcomes),
            f"labs[{rule.analyte}]",
            value=[r.value for r in same_day],
        )
    if len(outcomes) == 1:
        return outcomes[0]
    first = outcomes[0]
    agree = "meeting" if first.holds else "failing"
    return _Outcome(
        first.holds, f"{first.reason} ({len(outcomes)} results that day, all {agree} it)", first.value
    )


def _lab_outcome(rule: LabThresholdRule, latest: LabResult) -> _Outcome:
    """One laboratory result against the rule (unit or ULN multiple)."""
    if rule.unit == ULN_UNIT:
        if latest.upper_limit_normal is None:
            return _unknown(
                f"{rule.analyte}: upper limit of normal not recorded",
                f"labs[{rule.analyte}].upper_limit_normal",
            )
        # the value against threshold × ULN in decimal arithmetic, as the numbers are written: 1.65 mg/dL
        # with ULN 1.1 is exactly 1.5 × ULN, while 1.65 / 1.1 is 1.4999999999999998 in binary (D-19.808);
        # the reason shows those decimals, not a rounded ratio nor `:g` (D-19.908)
        limit = EXACT.multiply(written(rule.value), written(latest.upper_limit_normal))
        shown = (
            f"{_shown(latest.value)} {latest.unit} against {_shown(rule.value)} x ULN = {_shown(limit)} "
            f"{latest.unit} (ULN {_shown(latest.upper_limit_normal)} {latest.unit})"
        )
        holds = _COMPARE[rule.comparator](written(latest.value), limit)
    elif latest.unit.strip() == rule.unit.strip():
        shown = f"{_shown(latest.value)} {latest.unit}"
        holds = _COMPARE[rule.comparator](latest.value, rule.value)
    else:
        # two blood-count units of the one table (`cartrial.protocol.lab_units`, D-19.845): another spelling
        # of the rule's unit, or a power of ten from it, converted exactly in decimal and shown; any other
        # pair of units is not converted
        result_factor, rule_factor = count_unit_factor(latest.unit), count_unit_factor(rule.unit)
        if result_factor is None or rule_factor is None:
            return _unknown(
                f"{rule.analyte} is in {latest.unit!r}, the rule uses {rule.unit!r} (no silent conversion)",
                f"labs[{rule.analyte}].unit",
            )
        scale = result_factor / rule_factor
        converted = EXACT.divide(
            EXACT.multiply(written(latest.value), Decimal(scale.numerator)), Decimal(scale.denominator)
        )
        shown = f"{_shown(latest.value)} {latest.unit} = {_shown(converted)} {rule.unit}"
        holds = _COMPARE[rule.comparator](converted, written(rule.value))
    when = f" on {latest.date.isoformat()}" if latest.date else ""
    return _Outcome(
        holds,
        f"{rule.analyte} {shown}{when}; rule {rule.comparator} {_shown(rule.value)} {rule.unit}",
        latest.value,
    )


def _washout(rule: WashoutRule, c: Candidate, day: dt.date | None, _: str) -> _Outcome:
    if c.treatments is None:
        return _unknown("treatment history not recorded", "treatments")
    classes = set(rule.therapy_classes)
    # a treatment first given after the screening date was not yet taken on it (D-19.809)
    relevant = [t for t in c.treatments if classes.intersection(t.therapy_classes) and _started_by(t, day)]
    period = f"{rule.min_days} days" if rule.min_days is not None else f"{rule.min_months} months"
    if not relevant:
        return _Outcome(
            True,
            f"no {', '.join(sorted(classes))} treatment recorded (started on or before the screening date)",
            None,
        )
    if day is None:
        return _unknown(_NO_SCREENING_DATE, "screening_date")
    states: list[bool | None] = []
    details: list[str] = []
    for t in relevant:
        if t.ongoing:
            states.append(False)
            details.append(f"{t.agent} ongoing")
        elif _after(t.last_dose_date, day):  # still taken on the screening date (D-19.809)
            states.append(False)
            details.append(f"{t.agent} taken on the screening date (last dose after it)")
        elif t.last_dose_date is None:
            states.append(None)
            details.append(f"{t.agent} last dose date missing")
        else:
            if rule.min_days is not None:
                done = (day - t.last_dose_date).days >= rule.min_days
            else:
                assert rule.min_months is not None
                done = t.last_dose_date <= months_before(day, rule.min_months)
            states.append(done)
            details.append(
                f"{t.agent} last dose {t.last_dose_date.isoformat()} ({(day - t.last_dose_date).days} days)"
            )
    holds = _and3(states)
    reason = f"{'; '.join(details)}; required washout ≥ {period} before {day.isoformat()}"
    if holds is None:
        return _unknown(reason, "treatments[].last_dose_date")
    return _Outcome(holds, reason, details)


def _manual(rule: ManualRule, c: Candidate, _day: dt.date | None, criterion_id: str) -> _Outcome:
    answer = c.answers.get(criterion_id)
    if answer is None:
        return _unknown("investigator's answer not recorded", f"answers.{criterion_id}")
    return _Outcome(answer, f"investigator answered {'yes' if answer else 'no'}", answer)


_EVALUATORS: dict[type, Callable[[Any, Candidate, dt.date | None, str], _Outcome]] = {
    AgeRangeRule: _age,
    Aqp4IggSeropositiveRule: _aqp4,
    DiagnosisRule: _diagnosis,
    ImmunosuppressantRefractoryRule: _refractory,
    RelapseActivityRule: _relapses,
    EdssRangeRule: _edss,
    LabThresholdRule: _lab,
    WashoutRule: _washout,
    ManualRule: _manual,
}


def evaluate_criterion(
    criterion: Criterion, candidate: Candidate, screening_date: dt.date | None
) -> CriterionResult:
    """Evaluate one criterion (status met / not_met / cannot_assess with reason and value).

    Someone born on 29 February 2000 has 18 completed years on 28 February 2018 (calendar clamping,
    `completed_years`), so an "aged 18 or over" inclusion criterion is met:

    >>> adult = Criterion(id="adult", kind="inclusion", text="Aged 18 or over",
    ...                   rule=AgeRangeRule(type="age_range", min_years=18))
    >>> result = evaluate_criterion(adult, Candidate(id="SCR-9", date_of_birth=dt.date(2000, 2, 29)),
    ...                             screening_date=dt.date(2018, 2, 28))
    >>> result.status.value, result.value
    ('met', 18)
    """
    outcome = _EVALUATORS[type(criterion.rule)](criterion.rule, candidate, screening_date, criterion.id)
    status = {
        True: CriterionStatus.MET,
        False: CriterionStatus.NOT_MET,
        None: CriterionStatus.CANNOT_ASSESS,
    }[outcome.holds]
    return CriterionResult(
        id=criterion.id,
        kind=criterion.kind,
        text=criterion.text,
        rule_type=criterion.rule.type,
        status=status,
        reason=outcome.reason,
        value=outcome.value,
        missing=outcome.missing,
        parameters=criterion.rule.model_dump(mode="json", exclude={"type"}),
        source=criterion.source,
    )


def _check_screen_arguments(protocol: Any, candidate: Any, screening_date: Any) -> None:
    """`screen`'s arguments are a `Protocol`, a `Candidate` and a date (a `datetime.date`, not a
    `datetime`, whose time would be dropped, nor text), else an `InputError` naming the argument (D-19.79)."""
    check_instance("protocol", protocol, Protocol, "a Protocol (load_protocol(path) reads one)")
    check_instance("candidate", candidate, Candidate, "a Candidate (load_candidate(path) reads one)")
    if screening_date is not None and (
        not isinstance(screening_date, dt.date) or isinstance(screening_date, dt.datetime)
    ):
        raise InputError(
            Problem(
                f"not a date: a {type(screening_date).__name__}",
                field="screening_date",
                allowed="a datetime.date, e.g. datetime.date(2024, 3, 15), or none",
            )
        )


def screen(
    protocol: Protocol, candidate: Candidate, screening_date: dt.date | None = None
) -> ScreeningResult:
    """Screen `candidate` against every eligibility criterion of `protocol`.

    The screening date is `screening_date` when given (it overrides the candidate's), else the
    candidate's ``screening_date``; without one, date-dependent criteria cannot be assessed. Verdict
    rules: module docstring. Relapse counts come from the dated relapse list (registry rule of
    NCT04561557 via `RelapseActivityRule`). The synthetic candidate SCR-001 (48 years old, AQP4-IgG
    positive, 2 relapses in the last 12 months) meets every criterion of the reference protocol:

    >>> from cartrial.protocol import load_candidate, load_protocol
    >>> protocol = load_protocol("examples/ct103a-nmosd/protocol.yaml")
    >>> result = screen(protocol, load_candidate("examples/ct103a-nmosd/candidates/cand-01-eligible.yaml"))
    >>> result.verdict.value, result.by_id("inc_relapse_activity").status.value
    ('eligible', 'met')
    """
    _check_screen_arguments(protocol, candidate, screening_date)
    if screening_date is not None:
        day: dt.date | None = screening_date
        source = "given"
    elif candidate.screening_date is not None:
        day = candidate.screening_date
        source = "candidate"
    else:
        day = None
        source = "missing"
    out_of_range = None if day is None else screening_date_problem(day)
    if out_of_range is not None:
        raise InputError(out_of_range)
    if day is not None and candidate.date_of_birth is not None and day < candidate.date_of_birth:
        # the candidate's own screening date is checked when it is read (`Candidate._dates_consistent`)
        raise InputError(
            Problem(
                "the screening date is before the candidate's date of birth",
                field="screening_date",
                value=day.isoformat(),
                allowed="a date on or after the candidate's date of birth",
            )
        )
    results = tuple(evaluate_criterion(c, candidate, day) for c in protocol.eligibility.criteria)
    if any(r.blocks_eligibility for r in results):
        verdict = Verdict.NOT_ELIGIBLE
    elif any(r.status is CriterionStatus.CANNOT_ASSESS for r in results):
        verdict = Verdict.INCOMPLETE
    else:
        verdict = Verdict.ELIGIBLE
    manual_ids = {c.id for c in protocol.eligibility.criteria if isinstance(c.rule, ManualRule)}
    return ScreeningResult(
        protocol_id=protocol.study.id,
        candidate_id=candidate.id,
        screening_date=day,
        screening_date_source=source,
        verdict=verdict,
        criteria=results,
        unused_answers=tuple(sorted(key for key in candidate.answers if key not in manual_ids)),
    )


__all__ = [
    "CriterionResult",
    "CriterionStatus",
    "ScreeningResult",
    "Verdict",
    "evaluate_criterion",
    "screen",
]
