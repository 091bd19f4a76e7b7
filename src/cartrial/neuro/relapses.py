"""NMOSD attacks: merging of close onsets, annualised relapse rate (ARR) with exact Poisson intervals, and
Kaplan-Meier relapse-free survival.

Sources (docs/science/neuro-outcomes.md §4): attack phenotypes, IPND 2015 core clinical characteristics
(Wingerchuk DM
et al., *Neurology* 2015;85:177); relapse definition (new or worsening symptoms > 24 h not explained by
fever or infection) and the < 30-day merging convention (Thompson AJ et al., *Lancet Neurol*
2018;17:162, as implemented in PyPI ``msclinical`` 0.1.0 ``relapses``); ARR = relapses / patient-years with
patient-years = days / 365.25 (PyPI ``mstrial`` 0.1.0 ``endpoints``); exact Poisson confidence interval
of Garwood F, *Biometrika* 1936;28:437 (chi-square quantiles); Kaplan-Meier (Kaplan EL, Meier P, *JASA*
1958;53:457) via ``lifelines.KaplanMeierFitter``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Any, NamedTuple

from scipy import stats

from cartrial.allowed import Allowed, check_argument
from cartrial.errors import ConfigurationError, InputError, NotEstimableError, Problem
from cartrial.neuro.choices import choose
from cartrial.protocol.attacks import MergeAnchor, group_onsets
from cartrial.protocol.calendar import count_events_in_window, months_before
from cartrial.protocol.relapse_options import (
    DAYS_PER_YEAR,
    MERGE_WINDOW_DAYS_RANGE,
    PRE_WINDOW_MONTHS_RANGE,
    PreWindowStart,
    RelapseOptions,
)
from cartrial.wording import count

DAYS_PER_MONTH = DAYS_PER_YEAR / 12.0


class Phenotype(StrEnum):
    """The six core clinical characteristics of the IPND 2015 criteria (docs/science/neuro-outcomes.md
    §4.1)."""

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


class Adjudication(StrEnum):
    """Outcome of the adjudication of a reported episode (the store's ``relapse.adjudicated``).

    ``confirmed``: an adjudication committee (or the protocol's independent review) confirmed the attack;
    ``not_confirmed``: it rejected it; ``pending``: not yet adjudicated. The NMOSD pivotal trials counted
    committee-adjudicated attacks only (Pittock SJ et al., *NEJM* 2019;381:614, PREVENT; Cree BAC et al.,
    *Lancet* 2019;394:1352, N-MOmentum).
    """

    CONFIRMED = "confirmed"
    NOT_CONFIRMED = "not_confirmed"
    PENDING = "pending"


@dataclass(frozen=True)
class RelapseEpisode:
    """One reported episode as entered (a row of the relapse form), before qualification and merging.

    ``adjudicated`` is the adjudication outcome (`Adjudication`) or None when not recorded; ``row`` is the
    spreadsheet row of the form.
    """

    subject_id: str
    onset: date
    phenotypes: frozenset[Phenotype]
    severity: Severity | None = None
    lasted_over_24h: bool = True
    explained_by_fever_or_infection: bool = False
    objective_change: bool | None = None
    row: int | None = None
    adjudicated: Adjudication | None = None


@dataclass(frozen=True)
class Attack:
    """One attack after merging: first onset, every merged onset, union of phenotypes, worst severity."""

    subject_id: str
    onset: date
    onsets: tuple[date, ...]
    phenotypes: frozenset[Phenotype]
    severity: Severity | None
    rows: tuple[int | None, ...]


def onsets_by_subject(attacks: Iterable[Attack] | None) -> dict[str, list[date]]:
    """Every onset of each subject's attacks, the merged later worsenings too (D-19.686): the days a value
    is "during an attack" from, for the EDSS, responder and OSIS-change baselines (D-19.896, D-19.898).

    >>> on = frozenset({Phenotype.MYELITIS})
    >>> a = Attack("S1", date(2021, 1, 1), (date(2021, 1, 1), date(2021, 1, 20)), on, None, (None,))
    >>> onsets_by_subject([a])
    {'S1': [datetime.date(2021, 1, 1), datetime.date(2021, 1, 20)]}
    """
    out: dict[str, list[date]] = defaultdict(list)
    for attack in attacks or ():
        out[str(attack.subject_id)].extend(attack.onsets)
    return dict(out)


def qualifies(record: RelapseEpisode, options: RelapseOptions | None = None) -> tuple[bool, str]:
    """Whether an episode is an NMOSD relapse (docs/science/neuro-outcomes.md §4.2): symptoms > 24 h, not
    explained by fever
    or infection, and (if required) an objective change and a confirmed adjudication. Returns
    (qualifies, reason).

    >>> from datetime import date
    >>> short = RelapseEpisode("S1", date(2021, 5, 1), frozenset({Phenotype.MYELITIS}), lasted_over_24h=False)
    >>> qualifies(short)
    (False, 'symptoms lasted 24 h or less')
    """
    options = options or RelapseOptions()
    if not record.lasted_over_24h:
        return False, "symptoms lasted 24 h or less"
    if record.explained_by_fever_or_infection:
        return False, "explained by fever or infection"
    if options.require_objective_change and record.objective_change is not True:
        return False, "no objective change recorded (require_objective_change)"
    if options.require_adjudicated and record.adjudicated is not Adjudication.CONFIRMED:
        state = record.adjudicated.value if record.adjudicated is not None else "not adjudicated"
        return False, f"adjudication {state}, not confirmed (require_adjudicated)"
    return True, "relapse"


def merge_attacks(records: Iterable[RelapseEpisode], options: RelapseOptions | None = None) -> list[Attack]:
    """Merge qualifying episodes whose onsets are < ``merge_window_days`` apart into attacks, per subject,
    with the one merging rule `cartrial.protocol.group_onsets` (also used by the eligibility rule;
    Thompson 2018 / ``msclinical`` convention). Non-qualifying episodes are left out here; list them with
    `qualifies`. Returns attacks sorted by subject and onset.

    >>> from datetime import date
    >>> on = frozenset({Phenotype.OPTIC_NEURITIS})
    >>> attacks = merge_attacks([RelapseEpisode("S1", date(2021, 1, 1), on),
    ...                          RelapseEpisode("S1", date(2021, 1, 20), on)])
    >>> [(a.onset.isoformat(), len(a.onsets)) for a in attacks]
    [('2021-01-01', 2)]
    """
    options = options or RelapseOptions()
    by_subject: dict[str, list[RelapseEpisode]] = defaultdict(list)
    for record in records:
        if qualifies(record, options)[0]:
            by_subject[record.subject_id].append(record)
    attacks: list[Attack] = []
    for subject in sorted(by_subject):
        own = sorted(by_subject[subject], key=lambda r: r.onset)
        for group in group_onsets([r.onset for r in own], options.merge_window_days, options.merge_anchor):
            attacks.append(_attack([own[i] for i in group]))
    return attacks


def _attack(group: Sequence[RelapseEpisode]) -> Attack:
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
    window convention, shared with the eligibility relapse rule).

    >>> from datetime import date
    >>> a = Attack("S1", date(2021, 6, 1), (date(2021, 6, 1),), frozenset({Phenotype.MYELITIS}), None, (2,))
    >>> count_attacks_in_window([a], date(2022, 1, 1), 12)
    1
    """
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
    With zero exposure the rate is not estimable (None). A count that is not a whole number ≥ 0 and an
    exposure that is negative, infinite or NaN are an `InputError` naming the argument (D-19.79).

    >>> r = poisson_rate(2, 1.0)
    >>> round(r.ci_low, 4), round(r.ci_high, 4)
    (0.2422, 7.2247)
    """
    check_argument("events", events, Allowed(low=0, integer=True, label="a whole number ≥ 0"))
    check_argument("patient_years", patient_years, Allowed(low=0, unit="patient-years"))
    if not 0 < confidence < 1:
        raise ConfigurationError(f"confidence must be in (0, 1), got {confidence}")
    events = int(events)
    if patient_years == 0:
        return RateEstimate(events, patient_years, None, None, None, confidence)
    alpha = 1.0 - confidence
    low = 0.0 if events == 0 else float(stats.chi2.ppf(alpha / 2, 2 * events)) / 2.0
    high = float(stats.chi2.ppf(1 - alpha / 2, 2 * events + 2)) / 2.0
    return RateEstimate(
        events, patient_years, events / patient_years, low / patient_years, high / patient_years, confidence
    )


class OnsetPeriod(NamedTuple):
    """A disease onset known to a period: the earliest and the latest possible day (a partial
    ``relapse_history`` onset, D-19.711)."""

    first: date
    last: date


@dataclass(frozen=True)
class SubjectFollowUp:
    """What the ARR needs per subject: infusion date (day 0) and last assessment (end of follow-up).

    ``died``: the subject died on or before the data cut-off (plain data from the caller, e.g. the analysis
    layer's ``death_dates``): the follow-up was ended by the death, not by censoring, which the reverse
    Kaplan-Meier median follow-up censors (`ReverseKmEvents`, D-19.90).
    """

    subject_id: str
    infusion: date
    last_assessment: date
    died: bool = False
    diagnosis: date | None = None
    """The date of the diagnosis (None: not recorded): the pre-infusion window starts no earlier than the
    disease — the earlier of this date and the first attack onset (D-19.708)."""
    diagnosis_until: date | None = None
    """The latest possible disease onset when `diagnosis` is the first day of a partial history onset's
    period (None: `diagnosis` is exact): the first attack up to it is the onset (D-19.711)."""


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
    died: bool = False  # `SubjectFollowUp.died`
    pre_from_onset: bool = False
    """The pre-infusion window starts at the disease onset (`PreWindowStart.DISEASE_ONSET`, D-19.708)."""
    onset_attack_excluded: int = 0
    """The attacks at the disease onset (the window's first day; one, or several unmerged attacks that day)
    not counted as relapses (D-19.708)."""


ONSET_WINDOW_NOTE = (
    "{subjects} pre-infusion window starts at disease onset (the earliest of the diagnosis date, the "
    "relapse_history onsets and the first recorded attack; pre_window_start: disease_onset); the onset "
    "attack is not a relapse "
    "({excluded} not counted) (D-19.708)"
)
SHORT_PRE_WINDOW_DAYS = 90
"""Fewer pre-infusion days at risk than this make a subject's own pre-infusion ARR unstable (D-19.713)."""
SHORT_PRE_WINDOW_NOTE = (
    "{subjects} with less than 90 days of pre-infusion time at risk (pre_days 1-89): per-patient ARR "
    "unstable (one attack in 5 days is 73 per year); the pooled ARR is the summary, the mean of the "
    "per-patient ARRs is not (data kept) (D-19.713)"
)
ONSET_AFTER_INFUSION_NOTE = (
    "{subjects} diagnosed on or after the infusion with no earlier attack: no pre-infusion person-time "
    "(pre_days 0, no pre-infusion ARR) (D-19.708)"
)


def _count_subjects(n: int) -> str:
    return f"{n} subject" if n == 1 else f"{n} subjects"


def _possessive(n: int) -> str:
    """ "1 subject's", "2 subjects'"."""
    return f"{n} subject's" if n == 1 else f"{n} subjects'"


@dataclass(frozen=True)
class ArrSummary:
    """Per-patient listing and pooled ARR before/after infusion, with the options used."""

    subjects: tuple[SubjectArr, ...]
    pre: RateEstimate
    post: RateEstimate
    mean_of_subject_pre_arr: float | None
    mean_of_subject_post_arr: float | None
    options: dict[str, Any]
    notes: tuple[str, ...] = ()
    source: str = (
        "ARR = attacks / (days / 365.25) (mstrial 0.1.0 endpoints; docs/science/neuro-outcomes.md §4.3); "
        "exact Poisson CI "
        "(Garwood 1936)"
    )


def annualised_relapse_rates(
    attacks: Iterable[Attack],
    follow_up: Iterable[SubjectFollowUp],
    options: RelapseOptions | None = None,
    confidence: float = 0.95,
) -> ArrSummary:
    """ARR before and after infusion, per patient and pooled, each with its exact Poisson (Garwood) CI
    (docs/science/neuro-outcomes.md §4.3).

    Pre-treatment window: [infusion - ``pre_window_months`` calendar months, infusion) - attacks with first
    onset before the infusion day; with a known diagnosis date (`SubjectFollowUp.diagnosis`) and
    ``pre_window_start`` ``disease_onset`` (the default) it starts no earlier than the disease onset, the
    earlier of the diagnosis and the first attack, never after the infusion, and the attack at onset is the
    onset event, not a relapse: it is not counted (D-19.708; ``fixed``: the whole window). Post-treatment:
    [infusion day, last assessment] - day 0 counts as after. Patient-years = days / 365.25. Pooled ARR = sum
    of attacks / sum of patient-years (the default summary; the mean of per-patient ARRs is reported
    alongside, as they differ).

    >>> from datetime import date
    >>> on = frozenset({Phenotype.OPTIC_NEURITIS})
    >>> attacks = merge_attacks([RelapseEpisode("A", date(2020, 6, 1), on)])
    >>> arr = annualised_relapse_rates(attacks, [SubjectFollowUp("A", date(2021, 1, 1), date(2022, 1, 1))],
    ...                                RelapseOptions(pre_window_months=12))
    >>> arr.pre.events, round(arr.pre.rate, 3), arr.post.events
    (1, 0.998, 0)
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
                    allowed="on or after the subject's infusion date",
                )
            )
            continue
        fixed_start = start = months_before(fu.infusion, options.pre_window_months)
        own = by_subject.get(fu.subject_id, [])
        pre = count_attacks_in_window(own, fu.infusion, options.pre_window_months)
        from_onset, excluded = False, 0
        if fu.diagnosis is not None and options.pre_window_start is PreWindowStart.DISEASE_ONSET:
            # no person-time at risk of a relapse before the disease: its onset is the diagnosis, or an
            # earlier attack (the index attack precedes the diagnosis); the onset attack itself is the onset
            # event, not a relapse (D-19.708)
            earlier = [a.onset for a in own if a.onset < fu.infusion]
            disease = min([fu.diagnosis, *earlier])
            latest = fu.diagnosis_until or fu.diagnosis
            if earlier and fu.diagnosis <= min(earlier) <= latest:
                # a partial history onset (e.g. "2020-07") whose period holds the first recorded attack:
                # that attack is the onset recorded to the month or year (D-19.711)
                disease = min(earlier)
            if disease >= fixed_start:
                # never after the infusion: a diagnosis after it (no earlier attack) leaves no pre-time
                start, from_onset = min(disease, fu.infusion), True
                # every attack dated on the onset day (several when merge_window_days is 0) is the onset
                excluded = sum(day == disease for day in earlier)
                pre -= excluded
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
                died=fu.died,
                pre_from_onset=from_onset,
                onset_attack_excluded=excluded,
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
    notes: list[str] = []
    if onset := [r for r in rows if r.pre_from_onset]:
        notes.append(
            ONSET_WINDOW_NOTE.format(
                subjects=_possessive(len(onset)),
                excluded=sum(r.onset_attack_excluded for r in onset),
            )
        )
    if after := [r for r in onset if r.pre_days == 0]:
        notes.append(ONSET_AFTER_INFUSION_NOTE.format(subjects=_count_subjects(len(after))))
    if short := [r for r in rows if 0 < r.pre_days < SHORT_PRE_WINDOW_DAYS]:
        notes.append(SHORT_PRE_WINDOW_NOTE.format(subjects=_count_subjects(len(short))))
    return ArrSummary(
        subjects=tuple(rows),
        pre=pre_rate,
        post=post_rate,
        mean_of_subject_pre_arr=sum(pre_values) / len(pre_values) if pre_values else None,
        mean_of_subject_post_arr=sum(post_values) / len(post_values) if post_values else None,
        options={**options.as_dict(), "confidence": confidence},
        notes=tuple(notes),
    )


# --- relapse-free survival ------------------------------------------------------------------------------


KM_CI_METHOD = "pointwise, log(-log) transformation with Greenwood's variance"
"""The confidence interval of the relapse-free Kaplan-Meier curve (`relapse_free_survival`, columns
``ci_low``/``ci_high``): exp(-exp(log(-log S) ± z·sqrt(V)/log S)) with V Greenwood's variance sum
Σ d/(n(n-d)), z the normal quantile of the confidence level; [1, 1] before the first event — the
"exponential Greenwood" interval of lifelines ``KaplanMeierFitter``, R survival ``conf.type = "log-log"``
(Kalbfleisch JD, Prentice RL, *The Statistical Analysis of Failure Time Data*, 2nd ed. 2002, §1.3). Stated
by the derivation's options (``km_ci``) so that a report names the interval it draws (D-19.222)."""


@dataclass(frozen=True)
class KaplanMeierRow:
    time_days: float
    at_risk: int
    events: int
    censored: int
    survival: float
    ci_low: float
    ci_high: float


class FollowUpMethod(StrEnum):
    """How the median follow-up is summarised.

    ``reverse_km`` (default): the reverse Kaplan-Meier median (Schemper M, Smith TL, *Control Clin Trials*
    1996;17:343): the Kaplan-Meier estimator with the roles of event and censoring exchanged — the end of a
    living subject's follow-up is the "event" and a death censors it — so that the deaths do not shorten
    the estimate of the potential follow-up; which ends count is `ReverseKmEvents`. ``observed_median``:
    the plain median of the observed follow-up durations (infusion to the end of follow-up, relapsed or
    not, dead or alive), which Schemper and Smith show underestimates the potential follow-up when
    subjects die; kept because some reports use it.
    """

    REVERSE_KM = "reverse_km"
    OBSERVED_MEDIAN = "observed_median"


class KmMedianRule(StrEnum):
    """Which time is the median of a Kaplan-Meier curve that sits at exactly 0.5 over an interval (D-19.201).

    ``midpoint`` (default): the midpoint of that flat — from the time the curve reaches 0.5 to its next
    drop, or to the last time of the data when it stays at 0.5 to its end — as R survival
    (``quantile.survfit``: "the midpoint of the horizontal segment is returned. This mirrors the standard
    behavior of the median when data is uncensored") and SAS PROC LIFETEST (Brookmeyer & Crowley 1982:
    ½{inf[t: S(t) ≤ 0.5] + sup[t: S(t) ≥ 0.5]}) report it; with nobody censored it is the ordinary median.
    ``smallest``: the smallest time with S(t) ≤ 0.5 (Klein & Moeschberger §4.5; lifelines
    ``median_survival_time_``). Where the curve crosses 0.5 the two agree.
    """

    MIDPOINT = "midpoint"
    SMALLEST = "smallest"


KM_FLAT_TOLERANCE = 1.4901161193847656e-08
"""How close to 0.5 a Kaplan-Meier value counts as exactly 0.5 (`KmMedianRule`): R survival's
``quantile.survfit`` default tolerance, ``sqrt(.Machine$double.eps)``."""


class ReverseKmEvents(StrEnum):
    """What the reverse Kaplan-Meier median follow-up counts as the end of follow-up (its "event").

    ``follow_up_ends`` (default; D-19.90, D-19.91): every subject's follow-up runs from day 0 to the end of
    follow-up (last contact or cut-off) — a relapse does not end it (relapses are recurrent: the same
    follow-up is the ARR's exposure after infusion) — and is an "event" of the reverse Kaplan-Meier curve
    there, except for a subject who died (`SubjectFollowUp.died`), censored at the end of follow-up: the
    death, not the study, stopped the observation, and the subject would have been followed longer
    (Schemper & Smith 1996: the events of the survival analysis, the deaths, are censored in the reverse
    Kaplan-Meier; prodlim ``followup``/``prodlim(reverse = TRUE)``, Gerds TA, censors an event of any cause,
    a competing death included). With nobody dead the median is the (lower) median of the follow-up
    durations. ``relapse_free_censorings``: the relapse-free Kaplan-Meier's own indicator reversed, as
    software does when given that curve's (time, status): a relapse censors at its day and a death,
    censored in the relapse-free curve, is an end of follow-up — the reverse Kaplan-Meier of the
    time-to-first-relapse endpoint's censoring; it treats the relapse as terminal although follow-up
    continues, and counts deaths as ends (the behaviour before D-19.90/D-19.91).
    """

    FOLLOW_UP_ENDS = "follow_up_ends"
    RELAPSE_FREE_CENSORINGS = "relapse_free_censorings"


@dataclass(frozen=True)
class RelapseFreeSurvival:
    """Kaplan-Meier relapse-free survival from day 0 (infusion), censored at the last assessment.

    ``median_follow_up_days`` is the median follow-up by ``follow_up_method`` (`FollowUpMethod`); both
    summaries are also given (``reverse_km_median_follow_up_days``, ``observed_median_follow_up_days``);
    ``reverse_km_events`` (`ReverseKmEvents`) says what the reverse Kaplan-Meier counts as an end of
    follow-up, ``n_deaths`` how many subjects died (censored there by default). The reverse Kaplan-Meier
    median is None when the curve never falls to 0.5 (median not reached, D-19.100): the median follow-up
    is then reported as not reached, with ``longest_follow_up_days`` (the longest follow-up after day 0),
    never as a number (`median_follow_up_text`).
    """

    @property
    def median_follow_up_reached(self) -> bool:
        """Whether the median follow-up (by ``follow_up_method``) is estimable (D-19.100)."""
        return self.median_follow_up_days is not None

    table: tuple[KaplanMeierRow, ...]
    at_risk: tuple[tuple[float, int], ...]
    n_subjects: int
    n_events: int
    median_follow_up_days: float | None
    median_follow_up_months: float | None
    relapse_free_at_last: int
    durations_days: Mapping[str, int] = field(default_factory=dict)
    events: Mapping[str, bool] = field(default_factory=dict)
    confidence: float = 0.95
    follow_up_method: FollowUpMethod = FollowUpMethod.REVERSE_KM
    reverse_km_median_follow_up_days: float | None = None
    observed_median_follow_up_days: float | None = None
    reverse_km_events: ReverseKmEvents = ReverseKmEvents.FOLLOW_UP_ENDS
    km_median: KmMedianRule = KmMedianRule.MIDPOINT
    n_deaths: int = 0
    longest_follow_up_days: float | None = None
    source: str = (
        "Kaplan-Meier (lifelines KaplanMeierFitter; CI " + KM_CI_METHOD + ", 'exponential Greenwood'); "
        "docs/science/neuro-outcomes.md §4.3; median "
        "follow-up by reverse Kaplan-Meier (Schemper & Smith 1996)"
    )


def _plain_median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    return float(ordered[n // 2]) if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2.0


def reverse_km_median(
    durations_days: Sequence[float],
    events: Sequence[bool],
    median_rule: KmMedianRule | str = KmMedianRule.MIDPOINT,
) -> float | None:
    """Median follow-up by the reverse Kaplan-Meier method (Schemper & Smith 1996): the Kaplan-Meier curve
    of `durations_days` with the indicator reversed — a subject whose observation ended by censoring
    (``events`` False) is the "event", one whose observation ended by an event (``events`` True: a death,
    or a relapse under ``ReverseKmEvents.RELAPSE_FREE_CENSORINGS``) is censored — and its median: the
    smallest time at which the curve is <= 0.5, or, by `median_rule` ``midpoint`` (default, R survival and
    SAS; `KmMedianRule`), the midpoint of a flat at exactly 0.5 (D-19.201). At tied times the "events" are
    counted before the censorings. When the curve never falls to 0.5 (too many events: the median is beyond
    the last time) the median is not reached and None is returned (D-19.100; as R survival's
    ``print.survfit`` gives NA and lifelines' ``median_survival_time_`` inf) — never the longest duration,
    which is not the median.

    >>> reverse_km_median([100, 200, 300], [False, False, False])
    200.0
    >>> reverse_km_median([100, 200, 300, 400], [False, False, False, False])
    250.0
    >>> reverse_km_median([100, 200, 300, 400], [False, False, False, False], median_rule="smallest")
    200.0
    >>> reverse_km_median([100, 200, 300], [False, True, False])
    300.0
    >>> reverse_km_median([100, 200, 300], [False, True, True]) is None
    True
    """
    rule = choose(KmMedianRule, median_rule, "median_rule")
    if len(durations_days) == 0:
        raise NotEstimableError("no subjects: median follow-up is not estimable")
    if len(durations_days) != len(events):
        raise InputError(Problem("one event flag per duration", field="events", value=len(events)))
    ended: dict[float, int] = defaultdict(int)  # follow-up ended by censoring (reverse "event")
    at_time: dict[float, int] = defaultdict(int)
    for duration, event in zip(durations_days, events, strict=True):
        at_time[float(duration)] += 1
        if not event:
            ended[float(duration)] += 1
    at_risk = len(durations_days)
    survival = 1.0
    flat_from: float | None = None  # the curve sits at exactly 0.5 from this time (midpoint rule)
    for time in sorted(at_time):
        n_ended = ended.get(time, 0)
        if n_ended:
            if flat_from is not None:
                return (flat_from + time) / 2.0  # the next drop ends the flat
            survival *= 1.0 - n_ended / at_risk
            if survival <= 0.5 + KM_FLAT_TOLERANCE:
                if rule is KmMedianRule.MIDPOINT and survival >= 0.5 - KM_FLAT_TOLERANCE:
                    flat_from = time
                else:
                    return time
        at_risk -= at_time[time]
    if flat_from is not None:  # at 0.5 to the end of the curve: up to the last time of the data
        return (flat_from + max(at_time)) / 2.0
    return None  # median not reached (D-19.100)


FOLLOW_UP_METHOD_NAMES: dict[FollowUpMethod, str] = {
    FollowUpMethod.REVERSE_KM: "reverse Kaplan-Meier",
    FollowUpMethod.OBSERVED_MEDIAN: "median of the observed follow-up",
}
"""The name of each `FollowUpMethod` in a sentence (`median_follow_up_text`; the option value stays the
program's, D-19.225)."""


def median_follow_up_text(km: RelapseFreeSurvival) -> str:
    """The median follow-up of `km` as reported everywhere (notes, findings, CLI, demo): "median follow-up
    X months (method)", or, when the reverse Kaplan-Meier curve never falls to 0.5, "median follow-up not
    reached (reverse Kaplan-Meier; longest follow-up N days)" — never a number that is not the median
    (D-19.100).

    >>> from datetime import date
    >>> fu = [SubjectFollowUp("A", date(2021, 1, 1), date(2021, 4, 1)),
    ...       SubjectFollowUp("B", date(2021, 1, 1), date(2021, 7, 1), died=True),
    ...       SubjectFollowUp("C", date(2021, 1, 1), date(2021, 7, 20), died=True)]
    >>> median_follow_up_text(relapse_free_survival(annualised_relapse_rates([], fu)))
    'median follow-up not reached (reverse Kaplan-Meier; longest follow-up 200 days)'
    """
    if km.median_follow_up_months is None:
        longest = (
            f"; longest follow-up {km.longest_follow_up_days:.0f} days"
            if km.longest_follow_up_days is not None
            else ""
        )
        return f"median follow-up not reached (reverse Kaplan-Meier{longest})"
    method = FOLLOW_UP_METHOD_NAMES[km.follow_up_method]
    return f"median follow-up {km.median_follow_up_months:.1f} months ({method})"


def relapse_free_survival(
    arr: ArrSummary,
    *,
    at_risk_times_days: Sequence[float] | None = None,
    confidence: float = 0.95,
    follow_up_method: FollowUpMethod | str = FollowUpMethod.REVERSE_KM,
    reverse_km_events: ReverseKmEvents | str = ReverseKmEvents.FOLLOW_UP_ENDS,
    km_median: KmMedianRule | str = KmMedianRule.MIDPOINT,
) -> RelapseFreeSurvival:
    """Kaplan-Meier estimate of time to first post-infusion attack, from day 0, censored at the last
    assessment (docs/science/neuro-outcomes.md §4.3; lifelines). Numbers at risk at ``at_risk_times_days``
    (default every
    30 days up to the longest follow-up). Median follow-up in days and months (days / 30.4375) by
    `follow_up_method` (default reverse Kaplan-Meier; see `FollowUpMethod`), its ends by
    `reverse_km_events` (default: each subject's end of follow-up, a death censored; `ReverseKmEvents`),
    the median of a flat at 0.5 by `km_median` (default the midpoint, R survival and SAS; `KmMedianRule`).

    >>> from datetime import date
    >>> fu = [SubjectFollowUp("A", date(2021, 1, 1), date(2021, 7, 1)),
    ...       SubjectFollowUp("B", date(2021, 1, 1), date(2021, 4, 1))]
    >>> km = relapse_free_survival(annualised_relapse_rates([], fu))
    >>> km.relapse_free_at_last, km.median_follow_up_days
    (2, 135.5)
    """
    from lifelines import KaplanMeierFitter  # imported lazily: lifelines is slow to import

    method = choose(FollowUpMethod, follow_up_method, "follow_up_method")
    reverse_rule = choose(ReverseKmEvents, reverse_km_events, "reverse_km_events")
    median_rule = choose(KmMedianRule, km_median, "km_median")
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
    n = len(subjects)
    observed_median = _plain_median([float(s.post_days) for s in subjects])
    if reverse_rule is ReverseKmEvents.FOLLOW_UP_ENDS:  # D-19.90, D-19.91
        reverse = reverse_km_median([s.post_days for s in subjects], [s.died for s in subjects], median_rule)
    else:
        reverse = reverse_km_median(durations, observed, median_rule)
    median = reverse if method is FollowUpMethod.REVERSE_KM else observed_median
    return RelapseFreeSurvival(
        table=tuple(table),
        at_risk=at_risk,
        n_subjects=n,
        n_events=sum(observed),
        median_follow_up_days=median,
        median_follow_up_months=median / DAYS_PER_MONTH if median is not None else None,
        relapse_free_at_last=n - sum(observed),
        durations_days={s.subject_id: d for s, d in zip(subjects, durations, strict=True)},
        events={s.subject_id: o for s, o in zip(subjects, observed, strict=True)},
        confidence=confidence,
        follow_up_method=method,
        reverse_km_median_follow_up_days=reverse,
        observed_median_follow_up_days=observed_median,
        reverse_km_events=reverse_rule,
        km_median=median_rule,
        n_deaths=sum(s.died for s in subjects),
        longest_follow_up_days=float(max(s.post_days for s in subjects)),
    )


# --- within-patient comparison of the rates before and after infusion ----------------------------------

#: Stated with every pre/post comparison: why the ratio overstates the treatment effect.
REGRESSION_TO_THE_MEAN_NOTE = (
    "the pre-treatment rate is inflated by the eligibility rule (patients were enrolled because of recent "
    "relapses, e.g. >= 2 in 12 months): part of the fall after infusion is regression to the mean, so the "
    "post/pre rate ratio overstates the effect of treatment and is not a controlled comparison"
)


class RateRatioMethod(StrEnum):
    """Exact conditional interval of the post/pre rate ratio.

    ``stratified_conditional`` (default): each patient's post-infusion count is binomial given that
    patient's total (pre + post) count, with probability theta * T_post / (T_pre + theta * T_post); the
    patient's own baseline rate cancels (the conditional-Poisson likelihood of the self-controlled design,
    Farrington CP, *Biometrics* 1995;51:228). The exact interval inverts the two tails of the sum of the
    post-infusion counts (a convolution of binomials), as Clopper-Pearson does for one binomial.
    ``pooled_conditional``: the same with one stratum (all patients' counts and patient-years pooled), the
    classical exact comparison of two Poisson rates (Breslow NE, Day NE, *Statistical Methods in Cancer
    Research* vol. II, IARC 1987, chapter 2; Clopper CJ, Pearson ES, *Biometrika* 1934;26:404); it ignores
    between-patient heterogeneity.
    """

    STRATIFIED_CONDITIONAL = "stratified_conditional"
    POOLED_CONDITIONAL = "pooled_conditional"


@dataclass(frozen=True)
class RateRatio:
    """Post/pre ratio of relapse rates with its exact conditional confidence interval.

    ``ratio`` is the conditional maximum-likelihood estimate (for ``pooled_conditional`` the ratio of the
    pooled rates); ``math.inf`` when no informative stratum has a pre-infusion attack, None when no
    informative stratum has an attack at all. ``n_informative`` counts the strata with >= 1 attack and
    both periods observed.
    """

    method: RateRatioMethod
    ratio: float | None
    ci_low: float | None
    ci_high: float | None
    pre_attacks: int
    post_attacks: int
    n_informative: int
    confidence: float = 0.95
    note: str = REGRESSION_TO_THE_MEAN_NOTE
    left_out: tuple[tuple[str, str], ...] = ()
    """The strata left out, each (its label — ``strata[i]`` or the subject — and the reason): 0 patient-years
    in a period, which carries no information on the ratio (D-19.1188); never a silent skip."""

    def left_out_text(self) -> str:
        """The strata left out with their reasons as one sentence ("" when none, D-19.1188)."""
        if not self.left_out:
            return ""
        listed = "; ".join(f"{label} ({reason})" for label, reason in self.left_out)
        return f"{count(len(self.left_out), 'patient')} left out of the rate ratio: {listed}"

    def not_estimable_reason(self) -> str | None:
        """Why the ratio has no finite estimate, or None when it has one (D-19.1187): no attack at all in
        the informative strata, or none before infusion (the conditional MLE is then infinite: a
        statistician reports it as not estimable, with the interval's lower limit)."""
        if self.ratio is None:
            return "no attack before or after infusion in a patient followed in both periods"
        if math.isinf(self.ratio):
            return (
                f"no attack before infusion ({self.post_attacks} after): the ratio is infinite, only its "
                "lower confidence limit is estimable"
            )
        return None


def _sum_pmf(totals: Sequence[int], probabilities: Sequence[float]) -> Any:
    import numpy as np

    # the binomial probabilities of every stratum in one call (the root finders evaluate this tens of times;
    # one call per stratum was most of the relapse analysis), each stratum's own, convolved in order
    pmf = np.ones(1)
    sizes = np.asarray(totals, dtype=np.int64)
    if not len(sizes):
        return pmf
    bounds = np.cumsum(sizes + 1)[:-1]
    counts = np.concatenate([np.arange(n + 1) for n in sizes])
    each = stats.binom.pmf(
        counts, np.repeat(sizes, sizes + 1), np.repeat(np.asarray(probabilities, dtype=float), sizes + 1)
    )
    for part in np.split(each, bounds):
        pmf = np.convolve(pmf, part)
    return pmf


_STRATUM_FIELDS: tuple[tuple[str, Allowed], ...] = (
    ("pre_attacks", Allowed(low=0, integer=True, label="a whole number ≥ 0")),
    ("pre_years", Allowed(low=0, unit="patient-years")),
    ("post_attacks", Allowed(low=0, integer=True, label="a whole number ≥ 0")),
    ("post_years", Allowed(low=0, unit="patient-years")),
)


def _checked_stratum(index: int, stratum: Any) -> tuple[int, float, int, float]:
    """One ``(pre_attacks, pre_years, post_attacks, post_years)`` stratum of `conditional_rate_ratio`, each
    field checked as `poisson_rate` checks its own (whole counts ≥ 0, finite patient-years ≥ 0; a count
    from a float column, 4.0, is 4): anything else is an `InputError` naming ``strata[i].<field>``, never a
    root-finder error or a stratum silently left out (D-19.79, D-19.1008)."""
    refused = InputError(
        Problem(
            "not a stratum",
            field=f"strata[{index}]",
            allowed="(pre_attacks, pre_years, post_attacks, post_years): any 4 numbers but a string",
        )
    )
    if isinstance(stratum, (str, bytes)):
        raise refused
    try:  # a tuple, a list, a numpy row, a pandas row: any iterable of 4 (D-19.1008)
        stratum = tuple(stratum)
    except TypeError:
        raise refused from None
    if len(stratum) != len(_STRATUM_FIELDS):
        raise refused
    for (name, rule), value in zip(_STRATUM_FIELDS, stratum, strict=True):
        check_argument(f"strata[{index}].{name}", value, rule)
    pre, t_pre, post, t_post = stratum
    return int(pre), float(t_pre), int(post), float(t_post)


def conditional_rate_ratio(
    strata: Sequence[tuple[int, float, int, float]],
    *,
    confidence: float = 0.95,
    method: RateRatioMethod | str = RateRatioMethod.STRATIFIED_CONDITIONAL,
    labels: Sequence[str] | None = None,
) -> RateRatio:
    """Post/pre rate ratio from per-patient ``(pre_attacks, pre_years, post_attacks, post_years)`` with an
    exact interval conditional on each patient's total (or on the pooled total; see `RateRatioMethod`).
    A stratum with 0 patient-years in either period has a conditional probability of 0 or 1 whatever the
    ratio (no information on it; Farrington 1995): it is left out of the estimate and of the pooled sums,
    and listed in ``left_out`` by its label (`labels`, default ``strata[i]``) with the reason (D-19.1188).

    >>> r = conditional_rate_ratio([(4, 2.0, 1, 1.0)], method="pooled_conditional")
    >>> round(r.ratio, 3), round(r.ci_low, 4), round(r.ci_high, 3)
    (0.5, 0.0102, 5.053)
    """
    from scipy.optimize import brentq

    how = choose(RateRatioMethod, method, "rate_ratio_method")
    if not 0 < confidence < 1:
        raise ConfigurationError(f"confidence must be in (0, 1), got {confidence}")
    strata = [_checked_stratum(i, stratum) for i, stratum in enumerate(strata)]
    names = list(labels) if labels is not None else [f"strata[{i}]" for i in range(len(strata))]
    if len(names) != len(strata):  # one label per stratum (was a bare ValueError from zip, D-19.1188)
        raise InputError(
            Problem(
                f"{count(len(names), 'label')} for {count(len(strata), 'stratum', 'strata')}",
                field="labels",
                allowed=f"one label per stratum ({len(strata)})",
            )
        )
    left_out = tuple(
        (str(name), _left_out_reason(s))
        for name, s in zip(names, strata, strict=True)
        if not (s[1] > 0 and s[3] > 0)
    )
    usable = [s for s in strata if s[1] > 0 and s[3] > 0]
    if how is RateRatioMethod.POOLED_CONDITIONAL and usable:
        usable = [
            (
                sum(s[0] for s in usable),
                sum(s[1] for s in usable),
                sum(s[2] for s in usable),
                sum(s[3] for s in usable),
            )
        ]
    informative = [s for s in usable if s[0] + s[2] > 0]
    pre_total = sum(s[0] for s in informative)
    post_total = sum(s[2] for s in informative)
    if not informative:
        return RateRatio(how, None, None, None, 0, 0, 0, confidence, left_out=left_out)
    totals = [s[0] + s[2] for s in informative]
    weights = [s[3] / s[1] for s in informative]  # T_post / T_pre

    def probabilities(log_theta: float) -> list[float]:
        theta = math.exp(log_theta)
        return [theta * w / (1.0 + theta * w) for w in weights]

    def expected_minus_observed(log_theta: float) -> float:
        return sum(n * p for n, p in zip(totals, probabilities(log_theta), strict=True)) - post_total

    def upper_tail(log_theta: float) -> float:  # P(S >= observed)
        return float(_sum_pmf(totals, probabilities(log_theta))[post_total:].sum())

    def lower_tail(log_theta: float) -> float:  # P(S <= observed)
        return float(_sum_pmf(totals, probabilities(log_theta))[: post_total + 1].sum())

    alpha = 1.0 - confidence
    span = (-40.0, 40.0)
    if post_total == 0:
        ratio: float = 0.0
    elif post_total == sum(totals):
        ratio = math.inf
    else:
        ratio = math.exp(brentq(expected_minus_observed, *span, xtol=1e-12))
    low = 0.0 if post_total == 0 else math.exp(brentq(lambda x: upper_tail(x) - alpha / 2, *span, xtol=1e-12))
    high = (
        math.inf
        if post_total == sum(totals)
        else math.exp(brentq(lambda x: lower_tail(x) - alpha / 2, *span, xtol=1e-12))
    )
    return RateRatio(
        how, ratio, low, high, pre_total, post_total, len(informative), confidence, left_out=left_out
    )


def _left_out_reason(stratum: tuple[int, float, int, float]) -> str:
    """Why `conditional_rate_ratio` leaves a stratum out: the period(s) with 0 patient-years (D-19.1188)."""
    periods = [name for name, years in (("pre", stratum[1]), ("post", stratum[3])) if not years > 0]
    return (
        " and ".join(f"0 {period}-infusion patient-years" for period in periods)
        + ": no information on the ratio"
    )


def pre_post_rate_ratio(
    arr: ArrSummary,
    *,
    confidence: float = 0.95,
    method: RateRatioMethod | str = RateRatioMethod.STRATIFIED_CONDITIONAL,
) -> RateRatio:
    """Within-patient comparison of the ARR after vs before infusion (`conditional_rate_ratio` on each
    patient's pre/post counts and patient-years); the result carries `REGRESSION_TO_THE_MEAN_NOTE`.

    >>> from datetime import date
    >>> on = frozenset({Phenotype.OPTIC_NEURITIS})
    >>> episodes = [RelapseEpisode("A", date(2020, 6, 1), on), RelapseEpisode("A", date(2020, 9, 1), on)]
    >>> attacks = merge_attacks(episodes)
    >>> arr = annualised_relapse_rates(attacks, [SubjectFollowUp("A", date(2021, 1, 1), date(2022, 1, 1))])
    >>> pre_post_rate_ratio(arr).ratio
    0.0
    """
    strata = [
        (s.pre_attacks, s.pre_days / DAYS_PER_YEAR, s.post_attacks, s.post_days / DAYS_PER_YEAR)
        for s in arr.subjects
    ]
    ratio = conditional_rate_ratio(
        strata, confidence=confidence, method=method, labels=[str(s.subject_id) for s in arr.subjects]
    )
    rule = str(arr.options.get("pre_window_start", ""))
    if rule == PreWindowStart.DISEASE_ONSET.value and not any(s.pre_from_onset for s in arr.subjects):
        rule = NO_ONSET_WINDOW  # the option is set, but every window is the whole one (D-19.712)
    window = PRE_WINDOW_BIAS_NOTE.get(rule)
    return replace(ratio, note=f"{ratio.note}; {window}") if window else ratio


NO_ONSET_WINDOW = "disease_onset, no window at onset"
"""`PRE_WINDOW_BIAS_NOTE` key: ``disease_onset`` set, but no subject's window starts at onset (D-19.712)."""

PRE_WINDOW_BIAS_NOTE: dict[str, str] = {
    PreWindowStart.DISEASE_ONSET.value: (
        "the pre-infusion window starts no earlier than the disease onset (diagnosis, relapse_history or "
        "first attack) "
        "and the onset attack is not a relapse (pre_window_start: disease_onset, D-19.708); counting it "
        "in a window cut short at onset would inflate the pre-infusion rate and bias the ratio downward"
    ),
    NO_ONSET_WINDOW: (
        "no subject's pre-infusion window starts at disease onset (no diagnosis date, from subjects."
        "diagnosis_date and relapse_history, within pre_window_months): the whole pre_window_months was used "
        "for every subject (pre_window_start: disease_onset, D-19.708, D-19.712); time before an unrecorded "
        "onset would understate the pre-infusion rate and bias the ratio towards 1 (conservative)"
    ),
    PreWindowStart.FIXED.value: (
        "the pre-infusion window is the whole pre_window_months whatever the disease onset "
        "(pre_window_start: fixed, D-19.708): time before the onset understates the pre-infusion rate "
        "and biases the ratio towards 1 (conservative)"
    ),
}
"""The rate ratio's note on the pre-infusion window rule and the direction of its bias, per
`PreWindowStart` value."""


__all__ = [
    "DAYS_PER_MONTH",
    "DAYS_PER_YEAR",
    "KM_CI_METHOD",
    "MERGE_WINDOW_DAYS_RANGE",
    "PRE_WINDOW_MONTHS_RANGE",
    "REGRESSION_TO_THE_MEAN_NOTE",
    "Adjudication",
    "ArrSummary",
    "Attack",
    "FollowUpMethod",
    "KaplanMeierRow",
    "MergeAnchor",
    "OnsetPeriod",
    "Phenotype",
    "PreWindowStart",
    "RateEstimate",
    "RateRatio",
    "RateRatioMethod",
    "RelapseEpisode",
    "RelapseFreeSurvival",
    "RelapseOptions",
    "ReverseKmEvents",
    "Severity",
    "SubjectArr",
    "SubjectFollowUp",
    "annualised_relapse_rates",
    "conditional_rate_ratio",
    "count_attacks_in_window",
    "median_follow_up_text",
    "merge_attacks",
    "months_before",
    "onsets_by_subject",
    "poisson_rate",
    "pre_post_rate_ratio",
    "qualifies",
    "relapse_free_survival",
    "reverse_km_median",
]
