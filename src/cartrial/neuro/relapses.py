"""NMOSD attacks: merging of close onsets, annualised relapse rate (ARR) with exact Poisson intervals, and
Kaplan-Meier relapse-free survival.

Sources (neuro-outcomes.md §4): attack phenotypes, IPND 2015 core clinical characteristics (Wingerchuk DM
et al., *Neurology* 2015;85:177); relapse definition (new or worsening symptoms > 24 h not explained by
fever or infection) and the < 30-day merging convention (Thompson AJ et al., *Lancet Neurol*
2018;17:162, as implemented in PyPI ``msclinical`` 0.1.0 ``relapses``); ARR = relapses / patient-years with
patient-years = days / 365.25 (PyPI ``mstrial`` 0.1.0 ``endpoints``); exact Poisson confidence interval
of Garwood F, *Biometrika* 1936;28:437 (chi-square quantiles); Kaplan-Meier (Kaplan EL, Meier P, *JASA*
1958;53:457) via ``lifelines.KaplanMeierFitter``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from scipy import stats

from cartrial.errors import ConfigurationError, InputError, NotEstimableError, Problem
from cartrial.neuro.choices import choose
from cartrial.protocol.calendar import count_events_in_window, months_before

DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12.0


class Phenotype(StrEnum):
    """The six core clinical characteristics of the IPND 2015 criteria (neuro-outcomes §4.1)."""

    OPTIC_NEURITIS = "optic_neuritis"
    MYELITIS = "myelitis"
    AREA_POSTREMA = "area_postrema"
    BRAINSTEM = "brainstem"
    DIENCEPHALIC = "diencephalic"
    CEREBRAL = "cerebral"


class Severity(StrEnum):
    """Investigator-rated attack severity [P: no standard NMOSD attack-severity scale is specified]."""

    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


_SEVERITY_ORDER = {Severity.MILD: 1, Severity.MODERATE: 2, Severity.SEVERE: 3}


class MergeAnchor(StrEnum):
    """How the merging window is anchored (neuro-outcomes §4.2).

    ``first`` (default): a new onset joins the current attack if within the window of the attack's *first*
    onset. ``chain``: within the window of the most recent merged onset [U: the reference implementation's
    anchoring was not checked; awaiting confirmation].
    """

    FIRST = "first"
    CHAIN = "chain"


@dataclass(frozen=True)
class RelapseOptions:
    """Options of the relapse definition and ARR windows (neuro-outcomes §4.2, §4.3).

    - ``merge_window_days`` default **30**, strict "<" (onsets < 30 days apart are one attack).
    - ``merge_anchor`` default **first** (see `MergeAnchor`).
    - ``require_objective_change`` default **False**: when True an episode counts only if an objective
      change (EDSS >= 0.5, +1 in >= 2 FS or +2 in one FS) was recorded as True.
    - ``pre_window_months`` default **24** (calendar months before infusion; matches the eligibility
      look-back) [P]; 12 is the usual alternative.
    """

    merge_window_days: int = 30
    merge_anchor: MergeAnchor = MergeAnchor.FIRST
    require_objective_change: bool = False
    pre_window_months: int = 24

    def __post_init__(self) -> None:
        if self.merge_window_days < 0:
            raise ConfigurationError(f"merge_window_days must be >= 0, got {self.merge_window_days}")
        if self.pre_window_months <= 0:
            raise ConfigurationError(f"pre_window_months must be > 0, got {self.pre_window_months}")
        object.__setattr__(self, "merge_anchor", choose(MergeAnchor, self.merge_anchor, "merge_anchor"))

    def as_dict(self) -> dict[str, Any]:
        return {
            "merge_window_days": self.merge_window_days,
            "merge_anchor": self.merge_anchor.value,
            "require_objective_change": self.require_objective_change,
            "pre_window_months": self.pre_window_months,
        }


@dataclass(frozen=True)
class RelapseRecord:
    """One recorded episode as entered (a row of the relapse form)."""

    subject_id: str
    onset: date
    phenotypes: frozenset[Phenotype]
    severity: Severity | None = None
    lasted_over_24h: bool = True
    explained_by_fever_or_infection: bool = False
    objective_change: bool | None = None
    row: int | None = None


@dataclass(frozen=True)
class Attack:
    """One attack after merging: first onset, every merged onset, union of phenotypes, worst severity."""

    subject_id: str
    onset: date
    onsets: tuple[date, ...]
    phenotypes: frozenset[Phenotype]
    severity: Severity | None
    rows: tuple[int | None, ...]


def qualifies(record: RelapseRecord, options: RelapseOptions | None = None) -> tuple[bool, str]:
    """Whether an episode is an NMOSD relapse (neuro-outcomes §4.2): symptoms > 24 h, not explained by fever
    or infection, and (if required) an objective change. Returns (qualifies, reason)."""
    options = options or RelapseOptions()
    if not record.lasted_over_24h:
        return False, "symptoms lasted 24 h or less"
    if record.explained_by_fever_or_infection:
        return False, "explained by fever or infection"
    if options.require_objective_change and record.objective_change is not True:
        return False, "no objective change recorded (require_objective_change)"
    return True, "relapse"


def merge_attacks(records: Iterable[RelapseRecord], options: RelapseOptions | None = None) -> list[Attack]:
    """Merge qualifying episodes whose onsets are < ``merge_window_days`` apart into attacks, per subject
    (neuro-outcomes §4.2; Thompson 2018 / ``msclinical`` convention). Non-qualifying episodes are left out
    here; list them with `qualifies`. Returns attacks sorted by subject and onset.
    """
    options = options or RelapseOptions()
    by_subject: dict[str, list[RelapseRecord]] = defaultdict(list)
    for record in records:
        if qualifies(record, options)[0]:
            by_subject[record.subject_id].append(record)
    attacks: list[Attack] = []
    for subject in sorted(by_subject):
        group: list[RelapseRecord] = []
        for record in sorted(by_subject[subject], key=lambda r: r.onset):
            if group:
                anchor = group[0].onset if options.merge_anchor is MergeAnchor.FIRST else group[-1].onset
                if (record.onset - anchor).days < options.merge_window_days:
                    group.append(record)
                    continue
                attacks.append(_attack(group))
            group = [record]
        if group:
            attacks.append(_attack(group))
    return attacks


def _attack(group: Sequence[RelapseRecord]) -> Attack:
    severities = [r.severity for r in group if r.severity is not None]
    return Attack(
        subject_id=group[0].subject_id,
        onset=group[0].onset,
        onsets=tuple(r.onset for r in group),
        phenotypes=frozenset().union(*(r.phenotypes for r in group)),
        severity=max(severities, key=_SEVERITY_ORDER.__getitem__) if severities else None,
        rows=tuple(r.row for r in group),
    )


def count_attacks_in_window(
    attacks: Iterable[Attack], end: date, months: int, *, include_end: bool = False
) -> int:
    """Number of attacks with first onset in the `months`-calendar-month window before `end`:
    [months_before(end, months), end), or [.., end] with `include_end` (``cartrial.protocol.calendar``
    window convention, shared with the eligibility relapse rule)."""
    return count_events_in_window(
        (a.onset for a in attacks), end, months, inclusive="both" if include_end else "start"
    )


# --- rates ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateEstimate:
    """Events per patient-year with an exact Poisson confidence interval (Garwood 1936)."""

    events: int
    patient_years: float
    rate: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float = 0.95
    method: str = "exact Poisson (Garwood 1936, chi-square quantiles)"


def poisson_rate(events: int, patient_years: float, confidence: float = 0.95) -> RateEstimate:
    """Rate = events / patient-years with the exact (Garwood 1936) interval:
    lower = chi2.ppf(a/2, 2k) / (2T) (0 when k = 0), upper = chi2.ppf(1 - a/2, 2k + 2) / (2T).
    With zero exposure the rate is not estimable (None)."""
    if events < 0:
        raise InputError(Problem("event count must be >= 0", field="events", value=events))
    if not 0 < confidence < 1:
        raise ConfigurationError(f"confidence must be in (0, 1), got {confidence}")
    if patient_years <= 0:
        return RateEstimate(events, patient_years, None, None, None, confidence)
    alpha = 1.0 - confidence
    low = 0.0 if events == 0 else float(stats.chi2.ppf(alpha / 2, 2 * events)) / 2.0
    high = float(stats.chi2.ppf(1 - alpha / 2, 2 * events + 2)) / 2.0
    return RateEstimate(
        events, patient_years, events / patient_years, low / patient_years, high / patient_years, confidence
    )


@dataclass(frozen=True)
class SubjectFollowUp:
    """What the ARR needs per subject: infusion date (day 0) and last assessment (end of follow-up)."""

    subject_id: str
    infusion: date
    last_assessment: date


@dataclass(frozen=True)
class SubjectArr:
    """Per-patient relapse counts and rates before and after infusion; ``pre_rate``/``post_rate`` carry the
    same ARR with its exact Poisson (Garwood 1936) confidence interval."""

    subject_id: str
    pre_start: date
    pre_end: date
    pre_attacks: int
    pre_days: int
    pre_arr: float | None
    post_attacks: int
    post_days: int
    post_arr: float | None
    first_post_attack_day: int | None
    pre_rate: RateEstimate | None = None  # with the exact Poisson (Garwood) CI of this patient's ARR
    post_rate: RateEstimate | None = None


@dataclass(frozen=True)
class ArrSummary:
    """Per-patient listing and pooled ARR before/after infusion, with the options used."""

    subjects: tuple[SubjectArr, ...]
    pre: RateEstimate
    post: RateEstimate
    mean_of_subject_pre_arr: float | None
    mean_of_subject_post_arr: float | None
    options: dict[str, Any]
    source: str = (
        "ARR = attacks / (days / 365.25) (mstrial 0.1.0 endpoints; neuro-outcomes §4.3); exact Poisson CI "
        "(Garwood 1936)"
    )


def annualised_relapse_rates(
    attacks: Iterable[Attack],
    follow_up: Iterable[SubjectFollowUp],
    options: RelapseOptions | None = None,
    confidence: float = 0.95,
) -> ArrSummary:
    """ARR before and after infusion, per patient and pooled, each with its exact Poisson (Garwood) CI
    (neuro-outcomes §4.3).

    Pre-treatment window: [infusion - ``pre_window_months`` calendar months, infusion) - attacks with first
    onset before the infusion day. Post-treatment: [infusion day, last assessment] - day 0 counts as after.
    Patient-years = days / 365.25. Pooled ARR = sum of attacks / sum of patient-years (the default summary;
    the mean of per-patient ARRs is reported alongside, as they differ).
    """
    options = options or RelapseOptions()
    by_subject: dict[str, list[Attack]] = defaultdict(list)
    for attack in attacks:
        by_subject[attack.subject_id].append(attack)
    rows: list[SubjectArr] = []
    problems: list[Problem] = []
    for fu in follow_up:
        if fu.last_assessment < fu.infusion:
            problems.append(
                Problem(
                    "last assessment is before the infusion",
                    field="last_assessment",
                    value=f"{fu.subject_id}: {fu.last_assessment.isoformat()}",
                    allowed=f"on or after {fu.infusion.isoformat()}",
                )
            )
            continue
        start = months_before(fu.infusion, options.pre_window_months)
        own = by_subject.get(fu.subject_id, [])
        pre = count_attacks_in_window(own, fu.infusion, options.pre_window_months)
        post_attacks = [a for a in own if fu.infusion <= a.onset <= fu.last_assessment]
        pre_days = (fu.infusion - start).days
        post_days = (fu.last_assessment - fu.infusion).days
        rows.append(
            SubjectArr(
                subject_id=fu.subject_id,
                pre_start=start,
                pre_end=fu.infusion,
                pre_attacks=pre,
                pre_days=pre_days,
                pre_arr=pre / (pre_days / DAYS_PER_YEAR) if pre_days > 0 else None,
                post_attacks=len(post_attacks),
                post_days=post_days,
                post_arr=len(post_attacks) / (post_days / DAYS_PER_YEAR) if post_days > 0 else None,
                first_post_attack_day=min((a.onset - fu.infusion).days for a in post_attacks)
                if post_attacks
                else None,
                pre_rate=poisson_rate(pre, pre_days / DAYS_PER_YEAR, confidence),
                post_rate=poisson_rate(len(post_attacks), post_days / DAYS_PER_YEAR, confidence),
            )
        )
    if problems:
        raise InputError(problems)
    if not rows:
        raise NotEstimableError("no subjects with follow-up: the ARR is not estimable")
    pre_rate = poisson_rate(
        sum(r.pre_attacks for r in rows), sum(r.pre_days for r in rows) / DAYS_PER_YEAR, confidence
    )
    post_rate = poisson_rate(
        sum(r.post_attacks for r in rows), sum(r.post_days for r in rows) / DAYS_PER_YEAR, confidence
    )
    pre_values = [r.pre_arr for r in rows if r.pre_arr is not None]
    post_values = [r.post_arr for r in rows if r.post_arr is not None]
    return ArrSummary(
        subjects=tuple(rows),
        pre=pre_rate,
        post=post_rate,
        mean_of_subject_pre_arr=sum(pre_values) / len(pre_values) if pre_values else None,
        mean_of_subject_post_arr=sum(post_values) / len(post_values) if post_values else None,
        options={**options.as_dict(), "confidence": confidence},
    )


# --- relapse-free survival ------------------------------------------------------------------------------


@dataclass(frozen=True)
class KaplanMeierRow:
    time_days: float
    at_risk: int
    events: int
    censored: int
    survival: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class RelapseFreeSurvival:
    """Kaplan-Meier relapse-free survival from day 0 (infusion), censored at the last assessment."""

    table: tuple[KaplanMeierRow, ...]
    at_risk: tuple[tuple[float, int], ...]
    n_subjects: int
    n_events: int
    median_follow_up_days: float
    median_follow_up_months: float
    relapse_free_at_last: int
    durations_days: Mapping[str, int] = field(default_factory=dict)
    events: Mapping[str, bool] = field(default_factory=dict)
    confidence: float = 0.95
    source: str = "Kaplan-Meier (lifelines KaplanMeierFitter, exponential Greenwood CI); neuro-outcomes §4.3"


def relapse_free_survival(
    arr: ArrSummary,
    *,
    at_risk_times_days: Sequence[float] | None = None,
    confidence: float = 0.95,
) -> RelapseFreeSurvival:
    """Kaplan-Meier estimate of time to first post-infusion attack, from day 0, censored at the last
    assessment (neuro-outcomes §4.3; lifelines). Numbers at risk at ``at_risk_times_days`` (default every
    30 days up to the longest follow-up). Median follow-up is the median of observed follow-up durations
    (infusion to last assessment), in days and months (days / 30.4375).
    """
    from lifelines import KaplanMeierFitter  # imported lazily: lifelines is slow to import

    subjects = arr.subjects
    if not subjects:
        raise NotEstimableError("no subjects: relapse-free survival is not estimable")
    durations = [
        s.first_post_attack_day if s.first_post_attack_day is not None else s.post_days for s in subjects
    ]
    observed = [s.first_post_attack_day is not None for s in subjects]
    fitter = KaplanMeierFitter(alpha=1 - confidence)
    fitter.fit(durations, event_observed=observed)
    events_table = fitter.event_table
    ci = fitter.confidence_interval_survival_function_
    table = []
    for time in events_table.index:
        row = events_table.loc[time]
        table.append(
            KaplanMeierRow(
                time_days=float(time),
                at_risk=int(row["at_risk"]),
                events=int(row["observed"]),
                censored=int(row["censored"]),
                survival=float(fitter.survival_function_.loc[time].iloc[0]),
                ci_low=float(ci.loc[time].iloc[0]),
                ci_high=float(ci.loc[time].iloc[1]),
            )
        )
    longest = max(durations)
    times = (
        list(at_risk_times_days) if at_risk_times_days is not None else list(range(0, int(longest) + 1, 30))
    )
    at_risk = tuple((float(t), sum(1 for d in durations if d >= t)) for t in times)
    follow = sorted(s.post_days for s in subjects)
    n = len(follow)
    median = float(follow[n // 2]) if n % 2 else (follow[n // 2 - 1] + follow[n // 2]) / 2.0
    return RelapseFreeSurvival(
        table=tuple(table),
        at_risk=at_risk,
        n_subjects=n,
        n_events=sum(observed),
        median_follow_up_days=median,
        median_follow_up_months=median / DAYS_PER_MONTH,
        relapse_free_at_last=n - sum(observed),
        durations_days={s.subject_id: d for s, d in zip(subjects, durations, strict=True)},
        events={s.subject_id: o for s, o in zip(subjects, observed, strict=True)},
        confidence=confidence,
    )


__all__ = [
    "DAYS_PER_MONTH",
    "DAYS_PER_YEAR",
    "ArrSummary",
    "Attack",
    "KaplanMeierRow",
    "MergeAnchor",
    "Phenotype",
    "RateEstimate",
    "RelapseFreeSurvival",
    "RelapseOptions",
    "RelapseRecord",
    "Severity",
    "SubjectArr",
    "SubjectFollowUp",
    "annualised_relapse_rates",
    "count_attacks_in_window",
    "merge_attacks",
    "months_before",
    "poisson_rate",
    "qualifies",
    "relapse_free_survival",
]
