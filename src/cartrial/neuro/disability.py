"""Confirmed disability worsening (CDW) and improvement (CDI) on the EDSS, with unconfirmed changes reported.

Sources (docs/science/neuro-outcomes.md §5): MS CDW thresholds and confirmation with the change maintained at
every
intermediate visit, fixed or roving reference, relapse-associated worsening vs PIRA (90-day window), from
PyPI ``msclinical`` 0.1.0 (``edssplus``, ``pirma``) and Kappos L et al. *JAMA Neurol* 2020;77:1132; NMOSD
trial-style worsening thresholds (PREVENT, N-MOmentum) [U]; sustained improvement as in the AFFIRM post hoc
analysis (decrease >= 1.0 sustained 12 weeks, baseline >= 2.0); the common CDI variant [U].
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cartrial.allowed import METADATA_KEY, Allowed, allowed, check_fields, enum_member
from cartrial.errors import InputError, Problem
from cartrial.neuro.choices import choose
from cartrial.protocol.edss_steps import edss_step_problem  # the one EDSS-step rule (D-19.691)


class Direction(StrEnum):
    WORSENING = "worsening"
    IMPROVEMENT = "improvement"


class WorseningThresholds(StrEnum):
    """Minimum EDSS increase by reference EDSS (docs/science/neuro-outcomes.md §5).

    ``nmosd_trial`` (default, [U] awaiting confirmation): >= 2.0 from 0; >= 1.0 from 1.0-5.0; >= 0.5 from
    >= 5.5 (PREVENT / N-MOmentum style). ``ms_cdw``: >= 1.5 from 0; >= 1.0 for 0 < ref <= 5.5; >= 0.5 above
    5.5 (``msclinical`` defaults; Kappos 2018/2020).
    """

    NMOSD_TRIAL = "nmosd_trial"
    MS_CDW = "ms_cdw"


class ImprovementDefinition(StrEnum):
    """Minimum EDSS decrease (docs/science/neuro-outcomes.md §5).

    ``cdi_common`` (default, [U]): >= 1.0 if reference <= 5.5, >= 0.5 above 5.5 (reference 0 cannot
    improve: not evaluable). ``affirm``: >= 1.0, only for reference >= 2.0 (AFFIRM post hoc).
    ``kalincik_2015``: >= 1.5 if reference <= 1.5, >= 1.0 if <= 6.0, >= 0.5 above 6.0 (MSoutcomes ``CDI``
    after Kalincik T et al., *Brain* 2015;138:3287; a reference of 1.0 cannot fall by 1.5: not evaluable;
    D-19.868). MSoutcomes also confirms over ``3*30.25`` days and keeps only changes sustained to the end of
    follow-up: ``confirmation_days=91, sustained=True`` (`DisabilityOptions`; D-19.897).
    """

    CDI_COMMON = "cdi_common"
    AFFIRM = "affirm"
    KALINCIK_2015 = "kalincik_2015"


class MethodSwitch(StrEnum):
    """A confirmed EDSS change whose baseline and a later visit use different scoring methods (Neurostatus
    ambulation score, Kurtzke walking distance and aid) in the walking range (either EDSS >= 4.0): the two
    methods differ exactly at 6.0/6.5 (unilateral aid 50-99 m; bilateral aid >= 120 m), the +0.5 threshold
    of a change, so a switch alone can make or hide one (docs/science/neuro-outcomes.md §1.6-§1.7; D-19.746).
    ``exclude`` (default): worsening and improvement confirmation are not evaluable for that subject;
    ``include``: evaluated as scored, the subject flagged only (``method_switch``)."""

    EXCLUDE = "exclude"
    INCLUDE = "include"


class BaselineVisit(StrEnum):
    """Which pre-infusion EDSS visit is the baseline (reference) of a confirmed change (D-19.864).

    ``outside_relapse`` (default): the last scored visit on or before day 0 that is not within
    ``relapse_exclusion_days`` after a relapse onset (0 <= visit day - onset day <= window, the window of
    the confirmation rule); none left: no baseline, no change evaluated. Only the 30-day window is borrowed
    from MSoutcomes (CRAN) ``CDW`` / ``CDI`` after Kalincik T et al., *Brain* 2015;138:3287, whose baseline is
    "the first EDSS score recorded ... outside 30 days (the default) of a relapse" (the first, not the last);
    a score during an attack reflects the attack, and the recovery from it would read as a treatment effect.
    ``last``: the last visit on or before day 0 whatever its timing (D-19.187 without the relapse rule).
    """

    OUTSIDE_RELAPSE = "outside_relapse"
    LAST = "last"


#: The relapse exclusion window, days after an attack onset (0 <= day - onset <= 30): the one default of the
#: EDSS confirmation and baseline rule (`DisabilityOptions.relapse_exclusion_days`), the responder and the
#: OSIS-change baseline (D-19.864, D-19.896, D-19.898)
RELAPSE_EXCLUSION_DAYS = 30

#: The range of every relapse exclusion window option (0 turns the rule off)
RELAPSE_EXCLUSION_ALLOWED = Allowed(low=0, high=365, integer=True, unit="days")


def during_relapse(day: int, relapse_days: Sequence[int], window: int) -> bool:
    """Whether a visit on study `day` is within `window` days after a relapse onset (0 <= day - onset <=
    window; a window of 0 turns the rule off): the one reading of "during a relapse" for confirmation and
    for the baseline (docs/science/neuro-outcomes.md §5; D-19.686, D-19.864).

    >>> during_relapse(30, [0], 30), during_relapse(31, [0], 30), during_relapse(5, [0], 0)
    (True, False, False)
    """
    return window > 0 and any(0 <= day - onset <= window for onset in relapse_days)


def baseline_excluded_days(
    visit_days: Iterable[int], relapse_days: Sequence[int], baseline_visit: BaselineVisit | str, window: int
) -> set[int]:
    """The EDSS visits on or before day 0 (study days) that the baseline rule `baseline_visit` does not take
    as the baseline (D-19.864): under ``outside_relapse`` those within `window` days after a relapse onset
    (`during_relapse`), under ``last`` none. The one reading of the rule for `derive_disability` and for the
    simulator's EDSS-evaluable patients (D-19.1320).

    >>> sorted(baseline_excluded_days([-40, -3, 28], [-20], "outside_relapse", 30))
    [-3]
    >>> baseline_excluded_days([-40, -3, 28], [-20], "last", 30)
    set()
    """
    if BaselineVisit(baseline_visit) is not BaselineVisit.OUTSIDE_RELAPSE:
        return set()
    return {d for d in visit_days if d <= 0 and during_relapse(d, relapse_days, window)}


class Reference(StrEnum):
    """Fixed (baseline) or roving reference EDSS (docs/science/neuro-outcomes.md §5).

    Roving [U: the exact ``msclinical`` reset rule was not recorded]: for worsening the reference is reset
    to a lower EDSS once that lower value is held at the next visit; for improvement, to a higher EDSS held
    at the next visit. A visit within ``relapse_exclusion_days`` after a relapse onset neither becomes the
    reference nor holds one (the next visit is the next one outside the window; D-19.864).
    """

    FIXED = "fixed"
    ROVING = "roving"


@dataclass(frozen=True)
class DisabilityOptions:
    """Options of CDW/CDI (docs/science/neuro-outcomes.md §5); defaults: nmosd_trial, cdi_common, 84 days,
    fixed, 90 days,
    30 days. Ranges (`cartrial.allowed`, field metadata): ``confirmation_days`` 1-3650 (usually 84 or 168),
    ``relapse_window_days`` 0-365.

    ``relapse_exclusion_days`` (default **30**; 0 turns it off, range 0-365): an EDSS visit within this many
    days after a relapse onset (0 <= visit day - onset day <= 30) neither confirms nor refutes a change —
    the score then reflects the attack, not the sustained disability. This is the usual rule of MS trials
    ("confirmation visits not within 30 days of a relapse"; Kappos L et al., *JAMA Neurol* 2020;77:1132,
    PIRA definition; Lublin FD et al., *Neurology* 2014;83:278).

    ``baseline_visit`` (default **outside_relapse**, `BaselineVisit`): `derive_disability` does not take the
    baseline from a visit within that window either (the window borrowed from MSoutcomes; D-19.864);
    ``last`` keeps D-19.187's last visit on or before day 0 whatever its timing.

    ``sustained`` (default **False**): a confirmed change must also be held at every later scored visit
    outside the relapse exclusion window, to the end of follow-up (MSoutcomes ``CDW``/``CDI``
    ``sustained=TRUE``, its default, after Kalincik T et al., *Brain* 2015;138:3287); a change confirmed but
    lost later is reported unconfirmed ("not sustained to the end of follow-up") and a later onset may still
    be confirmed (D-19.897). The default keeps neuro-outcomes.md §5 (confirmed at the first visit
    ``confirmation_days`` later, the increase held in between; ``msclinical``).

    >>> DisabilityOptions().relapse_exclusion_days
    30
    """

    thresholds: WorseningThresholds = WorseningThresholds.NMOSD_TRIAL
    improvement: ImprovementDefinition = ImprovementDefinition.CDI_COMMON
    confirmation_days: int = field(default=84, metadata=allowed(low=1, high=3650, integer=True, unit="days"))
    reference: Reference = Reference.FIXED
    relapse_window_days: int = field(default=90, metadata=allowed(low=0, high=365, integer=True, unit="days"))
    relapse_exclusion_days: int = field(
        default=RELAPSE_EXCLUSION_DAYS, metadata={METADATA_KEY: RELAPSE_EXCLUSION_ALLOWED}
    )
    method_switch: MethodSwitch = MethodSwitch.EXCLUDE
    baseline_visit: BaselineVisit = BaselineVisit.OUTSIDE_RELAPSE
    sustained: bool = False

    def __post_init__(self) -> None:
        check_fields(self)
        for name, kind in (
            ("thresholds", WorseningThresholds),
            ("improvement", ImprovementDefinition),
            ("reference", Reference),
            ("method_switch", MethodSwitch),
            ("baseline_visit", BaselineVisit),
        ):
            object.__setattr__(self, name, enum_member(kind, getattr(self, name), name))
        if not isinstance(self.sustained, bool):
            raise InputError(Problem("must be true or false", field="sustained", allowed="true, false"))

    def as_dict(self) -> dict[str, Any]:
        return {
            "thresholds": self.thresholds.value,
            "improvement": self.improvement.value,
            "confirmation_days": self.confirmation_days,
            "reference": self.reference.value,
            "relapse_window_days": self.relapse_window_days,
            "relapse_exclusion_days": self.relapse_exclusion_days,
            "method_switch": self.method_switch.value,
            "baseline_visit": self.baseline_visit.value,
            "sustained": self.sustained,
        }


def _check_reference(reference_edss: Any) -> None:
    problem = edss_step_problem("reference_edss", reference_edss)
    if problem is not None:
        raise InputError(problem)


def worsening_threshold(reference_edss: float, thresholds: WorseningThresholds | str) -> float:
    """Minimum increase that counts as worsening from `reference_edss` (docs/science/neuro-outcomes.md §5
    table). A reference that is not an EDSS step is an `InputError` (D-19.79).

    >>> worsening_threshold(0.0, "nmosd_trial"), worsening_threshold(0.0, "ms_cdw")
    (2.0, 1.5)
    """
    kind = choose(WorseningThresholds, thresholds, "thresholds")
    _check_reference(reference_edss)
    if kind is WorseningThresholds.NMOSD_TRIAL:
        if reference_edss == 0:
            return 2.0
        return 1.0 if reference_edss <= 5.0 else 0.5
    if reference_edss == 0:
        return 1.5
    return 1.0 if reference_edss <= 5.5 else 0.5


def improvement_threshold(reference_edss: float, definition: ImprovementDefinition | str) -> float | None:
    """Minimum decrease that counts as improvement from `reference_edss`; None when not evaluable. A
    reference that is not an EDSS step is an `InputError` (D-19.79).

    >>> improvement_threshold(3.0, "cdi_common"), improvement_threshold(1.5, "affirm")
    (1.0, None)
    """
    kind = choose(ImprovementDefinition, definition, "improvement")
    _check_reference(reference_edss)
    if kind is ImprovementDefinition.AFFIRM:
        return 1.0 if reference_edss >= 2.0 else None
    if kind is ImprovementDefinition.KALINCIK_2015:
        # MSoutcomes R/CDI.R: bEDSS <= 1.5 -> dEDSS <= -1.5; <= 6.0 -> -1.0; else -0.5 (D-19.868)
        if reference_edss <= 1.5:
            return 1.5 if reference_edss >= 1.5 else None
        return 1.0 if reference_edss <= 6.0 else 0.5
    if reference_edss == 0:
        return None
    return 1.0 if reference_edss <= 5.5 else 0.5


#: `UnconfirmedChange.reason` of a change confirmed but lost at a later visit when ``sustained`` (D-19.897)
NOT_SUSTAINED_TO_END = "not sustained to the end of follow-up"

#: `UnconfirmedChange.reason` of a change held at every scored visit but with a visit without a score
#: between its onset and its confirmation (D-19.688, D-19.690); callers compare against this constant.
UNSCORED_BEFORE_CONFIRMATION = "an unscored visit before confirmation"


@dataclass(frozen=True)
class ConfirmedChange:
    onset_day: int
    confirmation_day: int
    reference_edss: float
    edss_at_onset: float
    change: float
    relapse_associated: bool | None = None  # worsening only: RAW (True) vs PIRA (False)


@dataclass(frozen=True)
class UnconfirmedChange:
    onset_day: int
    reference_edss: float
    edss_at_onset: float
    change: float
    reason: str  # "follow-up ended before confirmation", "not sustained", UNSCORED_BEFORE_CONFIRMATION,
    # NOT_SUSTAINED_TO_END


@dataclass(frozen=True)
class DisabilityOutcome:
    direction: Direction
    evaluable: bool
    confirmed: ConfirmedChange | None
    unconfirmed: tuple[UnconfirmedChange, ...]
    baseline_edss: float
    options: dict[str, Any]
    reason: str = ""
    source: str = field(
        default="docs/science/neuro-outcomes.md §5 (msclinical 0.1.0; Kappos 2020; AFFIRM post hoc)"
    )


def confirmed_disability_change(
    visits: Sequence[tuple[int, float]],
    direction: Direction | str = Direction.WORSENING,
    options: DisabilityOptions | None = None,
    relapse_days: Sequence[int] = (),
    unscored_days: Sequence[int] = (),
) -> DisabilityOutcome:
    """First confirmed EDSS worsening or improvement, and the unconfirmed changes
    (docs/science/neuro-outcomes.md §5).

    ``visits`` are (study day, EDSS) pairs; the first visit is the baseline (reference). A change meeting
    the threshold at visit i is confirmed at the first visit at least ``confirmation_days`` later, provided
    the change (from the same reference) is held at every visit in between and at the confirming visit.
    A change still held when follow-up ends before a confirming visit is reported as unconfirmed
    ("follow-up ended before confirmation"), as is one that is lost ("not sustained"). A confirmed
    worsening is relapse-associated if a relapse began within ``relapse_window_days`` before onset or
    between onset and confirmation, otherwise progression independent of relapse activity (PIRA). Visits
    within ``relapse_exclusion_days`` after a relapse onset are not used to confirm or refute a change.
    ``unscored_days`` are days of visits that took place without a score: the change cannot be shown to be
    held there, so an onset with such a visit (outside the relapse exclusion) after it and on or before its
    confirming visit is not confirmed ("an unscored visit before confirmation"; a later onset may be), as is
    one still held at the last scored visit with an unscored visit at least ``confirmation_days`` after its
    onset (that visit would have confirmed or refuted it). An unscored day that is also a scored visit's day
    is ignored: the scored visit shows the change (D-19.690). With ``options.sustained`` a confirmed change
    must also be held at every later scored visit outside the exclusion window (unscored visits after the
    confirmation are not counted, as MSoutcomes drops visits without a score; D-19.897).

    >>> out = confirmed_disability_change([(0, 3.0), (30, 4.5), (120, 4.5)], "worsening")
    >>> out.confirmed.onset_day, out.confirmed.confirmation_day
    (30, 120)
    >>> visits = [(0, 3.0), (30, 4.5), (120, 4.5)]
    >>> confirmed_disability_change(visits, "worsening", relapse_days=[100]).confirmed
    """
    options = options or DisabilityOptions()
    kind = choose(Direction, direction, "direction")
    ordered = sorted(visits, key=lambda v: v[0])
    problems = [problem for _, e in ordered if (problem := edss_step_problem("edss", e)) is not None]
    days = [d for d, _ in ordered]
    if len(set(days)) != len(days):
        # no day listed: a study day is a record's value (D-19.1009); the analysis refuses the form's row
        problems.append(
            Problem("two EDSS visits on the same day", field="day", allowed="one EDSS visit per day")
        )
    if problems:
        raise InputError(problems)
    if not ordered:
        raise InputError(Problem("no EDSS visits", field="visits"))
    baseline = ordered[0][1]
    ref = baseline
    opts = options.as_dict()

    def threshold(reference: float) -> float | None:
        if kind is Direction.WORSENING:
            return worsening_threshold(reference, options.thresholds)
        return improvement_threshold(reference, options.improvement)

    if threshold(baseline) is None:
        return DisabilityOutcome(
            kind, False, None, (), baseline, opts, reason="baseline EDSS cannot improve under this definition"
        )

    def meets(value: float, reference: float) -> bool:
        limit = threshold(reference)
        if limit is None:
            return False
        change = value - reference if kind is Direction.WORSENING else reference - value
        return change >= limit - 1e-9

    window = options.relapse_exclusion_days
    scored_days = set(days)
    # an unscored visit on a scored visit's day does not count: the scored one wins, as for the baseline;
    # one within the relapse exclusion window neither confirms nor refutes (D-19.690)
    unscored = sorted(
        u for u in set(unscored_days) if u not in scored_days and not during_relapse(u, relapse_days, window)
    )
    excluded = [during_relapse(d, relapse_days, window) for d, _ in ordered]
    unconfirmed: list[UnconfirmedChange] = []
    for i in range(1, len(ordered)):
        day_i, value_i = ordered[i]
        # roving: a visit during an attack neither becomes the reference nor holds one — its score is the
        # attack's, as for the baseline and a confirmation (D-19.864); the previous visit outside an attack
        previous = next((j for j in range(i - 1, 0, -1) if not excluded[j]), None)
        if options.reference is Reference.ROVING and previous is not None and not excluded[i]:
            prev_value = ordered[previous][1]
            better = prev_value < ref if kind is Direction.WORSENING else prev_value > ref
            held = value_i <= prev_value if kind is Direction.WORSENING else value_i >= prev_value
            if better and held:
                ref = prev_value
        if not meets(value_i, ref):
            continue
        change = value_i - ref if kind is Direction.WORSENING else ref - value_i
        confirming = next(
            (
                j
                for j in range(i + 1, len(ordered))
                if ordered[j][0] - day_i >= options.confirmation_days and not excluded[j]
            ),
            None,
        )
        last = confirming if confirming is not None else len(ordered) - 1
        held_all = all(meets(ordered[k][1], ref) for k in range(i + 1, last + 1) if not excluded[k])
        if confirming is not None:
            blocked = any(day_i < u <= ordered[confirming][0] for u in unscored)
        else:
            blocked = any(u - day_i >= options.confirmation_days for u in unscored)
        if blocked and held_all:
            unconfirmed.append(UnconfirmedChange(day_i, ref, value_i, change, UNSCORED_BEFORE_CONFIRMATION))
            if confirming is None:
                break
            continue
        if confirming is not None and held_all and options.sustained:
            # MSoutcomes sustained=TRUE: held at every later scored visit outside an attack (D-19.897)
            lost = any(
                not meets(ordered[k][1], ref) for k in range(confirming + 1, len(ordered)) if not excluded[k]
            )
            if lost:
                unconfirmed.append(UnconfirmedChange(day_i, ref, value_i, change, NOT_SUSTAINED_TO_END))
                continue
        if confirming is not None and held_all:
            associated = None
            if kind is Direction.WORSENING:
                associated = any(
                    day_i - options.relapse_window_days <= r <= ordered[confirming][0] for r in relapse_days
                )
            event = ConfirmedChange(day_i, ordered[confirming][0], ref, value_i, change, associated)
            return DisabilityOutcome(kind, True, event, tuple(unconfirmed), baseline, opts)
        if held_all:
            unconfirmed.append(
                UnconfirmedChange(day_i, ref, value_i, change, "follow-up ended before confirmation")
            )
            break
        unconfirmed.append(UnconfirmedChange(day_i, ref, value_i, change, "not sustained"))
    return DisabilityOutcome(kind, True, None, tuple(unconfirmed), baseline, opts)


__all__ = [
    "NOT_SUSTAINED_TO_END",
    "RELAPSE_EXCLUSION_ALLOWED",
    "RELAPSE_EXCLUSION_DAYS",
    "UNSCORED_BEFORE_CONFIRMATION",
    "BaselineVisit",
    "ConfirmedChange",
    "Direction",
    "DisabilityOptions",
    "DisabilityOutcome",
    "ImprovementDefinition",
    "Reference",
    "UnconfirmedChange",
    "WorseningThresholds",
    "baseline_excluded_days",
    "confirmed_disability_change",
    "during_relapse",
    "improvement_threshold",
    "worsening_threshold",
]
