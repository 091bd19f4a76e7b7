"""Named responder definitions for vision, walking and bladder function, selected by name in a protocol.

The CT103A reports ("vision improved in 50 %, walking in 67 %, bladder in 75 %";
docs/science/ct103a-nmosd-trial.md §5)
do not say which measure was used [U]. Each candidate measure is therefore a named, documented definition;
a protocol endpoint selects one by ``definition`` (its name) with optional ``parameters``, and every
percentage reports the definition, its parameters and the number of evaluable patients.

All measures here are "lower is better" (FS grades, ambulation score, OSIS grades, logMAR, T25FW seconds).
A patient is evaluable when both a baseline and a follow-up value exist and the baseline leaves room for
the required improvement (e.g. a baseline ambulation score of 0 cannot decrease by 1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from cartrial.neuro.choices import choose
from cartrial.neuro.disability import RELAPSE_EXCLUSION_DAYS, during_relapse
from cartrial.neuro.edss_scale import AMBULATION_0_OR_1
from cartrial.neuro.visual_acuity import (
    AcuityChange,
    VisualAcuity,
    eye_change,
    reaches,
)
from cartrial.protocol.responders import (
    DEFAULT_RESPONDERS,
    RESPONDER_DEFINITIONS,
    Domain,
    ResponderDefinition,
    RuleKind,
    get_definition,
    responder_parameters,
)
from cartrial.rounding import fixed


class NotEvaluable(StrEnum):
    """Kind of the reason a subject is not evaluable for a responder definition (`ResponderOutcome.kind`):
    the reason's text may quote the subject's values, the kind never does, so a caller words it without
    reading the text (D-19.1140). One member per not-evaluable branch of `evaluate_responder`."""

    COMPARISON_EXCLUDED = "comparison_excluded"
    """The follow-up mapping's `NOT_EVALUABLE` blocks the measure: an EDSS method switch in the walking range
    under ``method_switch=exclude`` (D-19.746)."""
    BASELINE_ONLY_DURING_ATTACK = "baseline_only_during_attack"
    """One measure: every value on or before day 0 is within the relapse exclusion window (D-19.896)."""
    EYE_BASELINE_ONLY_DURING_ATTACK = "eye_baseline_only_during_attack"
    """Per eye: no eye evaluable, and at least one eye's every value on or before day 0 is within the window
    (the others missing or without room to improve; D-19.896)."""
    MISSING_BASELINE = "missing_baseline"
    """One measure: no value on or before day 0 (none during an attack either)."""
    MISSING_FOLLOW_UP = "missing_follow_up"
    """One measure: a baseline but no follow-up value."""
    NO_ROOM = "no_room"
    """Baseline below the decrease required (e.g. ambulation score 0 for a decrease of 1)."""
    UNDECIDED_0_OR_1 = "undecided_0_or_1"
    """A compared ambulation "0 or 1" (a Kurtzke visit) whose two readings disagree (D-19.1006)."""
    BASELINE_NOT_POSITIVE = "baseline_not_positive"
    """T25FW baseline not above 0 seconds: no fraction faster."""
    UNABLE_TO_WALK_AT_BASELINE = "unable_to_walk_at_baseline"
    """T25FW baseline unable to walk (infinitely slow): no fraction faster."""
    NO_EYE_EVALUABLE = "no_eye_evaluable"
    """Per eye: every eye missing or without room to improve at baseline, none during an attack."""


@dataclass(frozen=True)
class ResponderOutcome:
    subject_id: str
    evaluable: bool
    responder: bool | None
    reason: str
    baseline: dict[str, Any] = field(default_factory=dict)
    follow_up: dict[str, Any] = field(default_factory=dict)
    kind: NotEvaluable | None = None
    """Why not evaluable (`NotEvaluable`); None when evaluable (D-19.1140)."""


@dataclass(frozen=True)
class ResponderSummary:
    """One percentage with everything needed to read it: definition, parameters, n evaluable."""

    definition: str
    domain: Domain
    description: str
    source: str
    parameters: dict[str, Any]
    n_subjects: int
    n_evaluable: int
    n_responders: int
    percent: float | None
    subjects: tuple[ResponderOutcome, ...]

    def label(self) -> str:
        # rounded as the report's percentages, a tie half away from zero (D-19.189, D-19.1137)
        pct = "n/a" if self.percent is None else f"{fixed(self.percent, 0)}%"
        return f"{self.n_responders}/{self.n_evaluable} evaluable ({pct}) by {self.definition}"


NOT_EVALUABLE = "_not_evaluable"
"""Key of a follow-up measures mapping: {measure: reason} for measures whose comparison is not evaluable
(an EDSS method switch in the walking range, D-19.746); a definition using one is not evaluable."""

BASELINE_IN_ATTACK = "_baseline_in_attack"
"""Key of a follow-up measures mapping: the measures without a baseline only because every value on or
before day 0 is during an attack (``baseline_visit=outside_relapse``, D-19.896); named in the reason."""

BASELINE_ONLY_DURING_ATTACK = "baseline only during an attack"
"""Start of the reason of a subject not evaluable because every pre-infusion value of the measure is within
the relapse exclusion window after an attack onset (D-19.896)."""


class ResponderBaseline(StrEnum):
    """Which pre-infusion value is a responder baseline (D-19.896, by analogy with the EDSS baseline of
    D-19.864; the sources of the responder definitions are silent).

    ``outside_relapse`` (default): the last value on or before day 0 not within ``relapse_exclusion_days``
    (30) after an attack onset (0 <= value day - onset day <= 30, `cartrial.neuro.disability.during_relapse`):
    an acuity, walk time or bladder grade taken during an attack is the attack's, and the recovery from it
    would read as a response. ``last``: the last value on or before day 0 whatever its timing.
    """

    OUTSIDE_RELAPSE = "outside_relapse"
    LAST = "last"


def baseline_window(
    baseline_visit: ResponderBaseline | str, relapse_exclusion_days: int = RELAPSE_EXCLUSION_DAYS
) -> int:
    """The exclusion window `baseline_and_follow_up` applies under a `ResponderBaseline` rule: the window
    with ``outside_relapse``, 0 (off) with ``last`` (D-19.896); the rule of the responders and of the
    analysis' ``osis_change`` (D-19.898).

    >>> baseline_window("outside_relapse"), baseline_window("last")
    (30, 0)
    """
    rule = choose(ResponderBaseline, baseline_visit, "baseline_visit")
    return relapse_exclusion_days if rule is ResponderBaseline.OUTSIDE_RELAPSE else 0


def evaluate_responder(
    definition: str,
    subject_id: str,
    baseline: Mapping[str, Any],
    follow_up: Mapping[str, Any],
    parameters: Mapping[str, Any] | None = None,
) -> ResponderOutcome:
    """Apply one named definition to one patient's baseline and follow-up measures (None = not recorded).

    >>> name = "ambulation_score_decrease_1"
    >>> outcome = evaluate_responder(name, "S1", {"ambulation": 3}, {"ambulation": 1})
    >>> outcome.responder
    True
    """
    spec = get_definition(definition)
    params = responder_parameters(spec, parameters)
    base = {m: baseline.get(m) for m in spec.measures}
    follow = {m: follow_up.get(m) for m in spec.measures}
    shown_base = {k: _show(v) for k, v in base.items()}
    shown_follow = {k: _show(v) for k, v in follow.items()}

    def outcome(
        evaluable: bool, responder: bool | None, reason: str, kind: NotEvaluable | None = None
    ) -> ResponderOutcome:
        return ResponderOutcome(subject_id, evaluable, responder, reason, shown_base, shown_follow, kind)

    def not_evaluable(kind: NotEvaluable, reason: str) -> ResponderOutcome:
        return outcome(False, None, reason, kind)

    blocked = follow_up.get(NOT_EVALUABLE) or {}
    for measure in spec.measures:
        if measure in blocked:  # e.g. an EDSS method switch between baseline and follow-up (D-19.746)
            return not_evaluable(NotEvaluable.COMPARISON_EXCLUDED, str(blocked[measure]))
    in_attack = set(follow_up.get(BASELINE_IN_ATTACK) or ())

    if spec.kind in (RuleKind.DECREASE_BY, RuleKind.FRACTION_FASTER):
        (measure,) = spec.measures
        b, f = base[measure], follow[measure]
        if b is None and measure in in_attack:
            return not_evaluable(
                NotEvaluable.BASELINE_ONLY_DURING_ATTACK,
                f"{BASELINE_ONLY_DURING_ATTACK}: every {measure} on or before day 0 (D-19.896)",
            )
        if b is None or f is None:
            missing = NotEvaluable.MISSING_BASELINE if b is None else NotEvaluable.MISSING_FOLLOW_UP
            return not_evaluable(missing, f"{measure} missing at baseline or follow-up")
        if spec.kind is RuleKind.DECREASE_BY:
            need = float(params["min_decrease"])
            (low_b, high_b), (low_f, high_f) = _readings(b), _readings(f)
            if high_b < need:
                return not_evaluable(
                    NotEvaluable.NO_ROOM,
                    f"baseline {measure} {_text(b)} leaves no room for a decrease of {need:g}",
                )
            if low_b < need:  # "0 or 1" with a decrease of 1: room for it under one reading only
                return not_evaluable(
                    NotEvaluable.UNDECIDED_0_OR_1, f"baseline {measure} {_text(b)}: {UNDECIDED_0_OR_1}"
                )
            # a visit that is "0 or 1" (D-19.1006) decides only where both of its readings give one answer
            improved = low_b - high_f >= need - 1e-9
            if improved != (high_b - low_f >= need - 1e-9):
                return not_evaluable(
                    NotEvaluable.UNDECIDED_0_OR_1, f"{measure} {_text(b)} -> {_text(f)}: {UNDECIDED_0_OR_1}"
                )
            return outcome(True, improved, f"{measure} {_text(b)} -> {_text(f)}")
        if b <= 0:
            return not_evaluable(NotEvaluable.BASELINE_NOT_POSITIVE, f"baseline {measure} must be > 0")
        if math.isinf(b):
            return not_evaluable(NotEvaluable.UNABLE_TO_WALK_AT_BASELINE, "unable to walk at baseline")
        if math.isinf(f):
            return outcome(True, False, "unable to walk at follow-up")
        faster = (b - f) / b
        return outcome(True, faster >= float(params["min_fraction_faster"]) - 1e-9, f"{faster:+.0%} faster")
    evaluable_eyes: list[str] = []
    improved_eyes: list[str] = []
    for measure in spec.measures:
        b, f = base[measure], follow[measure]
        if b is None or f is None:
            continue
        if spec.kind is RuleKind.ACUITY_PER_EYE:
            assert isinstance(b, VisualAcuity) and isinstance(f, VisualAcuity)
            # the baseline read as the change is, exactly or in whole chart letters on the chart (D-19.684):
            # 6/9.5 is the 0.2 line
            if b.logmar is not None and not reaches(
                b.logmar, float(params["min_baseline_logmar"]), in_letters=b.off_chart is None
            ):
                continue
            evaluable_eyes.append(measure)
            change = eye_change(b, f, threshold_logmar=float(params["threshold_logmar"]))
            if change.category is AcuityChange.IMPROVED:
                improved_eyes.append(measure)
        else:
            need = float(params["min_decrease"])
            if b < need:
                continue
            evaluable_eyes.append(measure)
            if b - f >= need - 1e-9:
                improved_eyes.append(measure)
    if not evaluable_eyes:
        if any(m in in_attack for m in spec.measures):
            shown = ", ".join(m for m in spec.measures if m in in_attack)
            return not_evaluable(
                NotEvaluable.EYE_BASELINE_ONLY_DURING_ATTACK,
                f"{BASELINE_ONLY_DURING_ATTACK} ({shown}); no other eye evaluable (D-19.896)",
            )
        return not_evaluable(
            NotEvaluable.NO_EYE_EVALUABLE, "no eye evaluable (missing or no room to improve at baseline)"
        )
    reason = f"improved: {', '.join(improved_eyes) or 'none'} of {', '.join(evaluable_eyes)}"
    return outcome(True, bool(improved_eyes), reason)


UNDECIDED_0_OR_1 = (
    "walking >= 500 m without aid (a Kurtzke visit) is Neurostatus ambulation score 0 or 1 (§1.6), and the "
    "two readings give different answers: not evaluable (D-19.1006)"
)
"""Reason of a subject not evaluable on the ambulation score because a compared visit is "0 or 1"."""


def _readings(value: Any) -> tuple[float, float]:
    """The lowest and highest value a compared measure may have: (0, 1) for "0 or 1" (D-19.1006)."""
    if isinstance(value, str) and value == AMBULATION_0_OR_1:
        return 0.0, 1.0
    return float(value), float(value)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else f"{value:g}"


def ambulation_rank(value: Any) -> float:
    """Rank of an ambulation score for the "best" follow-up (lower is better): "0 or 1", walking >= 500 m
    without aid at a Kurtzke visit, between 0 and 1 (D-19.1006).

    >>> sorted([2.0, AMBULATION_0_OR_1, 0.0, 1.0], key=ambulation_rank)
    [0.0, '0 or 1', 1.0, 2.0]
    """
    return 0.5 if isinstance(value, str) and value == AMBULATION_0_OR_1 else float(value)


def _show(value: Any) -> Any:
    if isinstance(value, str) and value == AMBULATION_0_OR_1:
        return None  # no §1.6 score can be derived (D-19.1006)
    if isinstance(value, float) and math.isinf(value):
        return "unable"  # T25FW: unable to walk
    return value.native if isinstance(value, VisualAcuity) else value


def responder_rate(
    definition: str,
    measures: Mapping[str, tuple[Mapping[str, Any], Mapping[str, Any]]],
    parameters: Mapping[str, Any] | None = None,
) -> ResponderSummary:
    """Percentage of evaluable patients who responded under the named definition.

    ``measures`` maps subject_id to (baseline measures, follow-up measures). The summary records the
    definition, its parameters (defaults merged with ``parameters``), n evaluable and n responders.

    >>> measures = {"S1": ({"bowel_bladder": 2}, {"bowel_bladder": 1}),
    ...             "S2": ({"bowel_bladder": 0}, {"bowel_bladder": 0})}
    >>> s = responder_rate("bowel_bladder_fs_decrease_1", measures)
    >>> s.n_evaluable, s.n_responders, s.percent
    (1, 1, 100.0)
    """
    spec = get_definition(definition)
    params = responder_parameters(spec, parameters)
    outcomes = tuple(
        evaluate_responder(definition, subject, base, follow, params)
        for subject, (base, follow) in sorted(measures.items())
    )
    evaluable = [o for o in outcomes if o.evaluable]
    responders = sum(1 for o in evaluable if o.responder)
    return ResponderSummary(
        definition=spec.name,
        domain=spec.domain,
        description=spec.description,
        source=spec.source,
        parameters=params,
        n_subjects=len(outcomes),
        n_evaluable=len(evaluable),
        n_responders=responders,
        percent=100.0 * responders / len(evaluable) if evaluable else None,
        subjects=outcomes,
    )


class FollowUpChoice(StrEnum):
    """Which post-infusion value is compared with baseline [P]: the last (default, conservative) or best."""

    LAST = "last"
    BEST = "best"


def baseline_and_follow_up(
    visits: Sequence[tuple[date, Any]],
    infusion: date,
    choice: FollowUpChoice | str = FollowUpChoice.LAST,
    key: Any = None,
    attack_onsets: Sequence[date] = (),
    relapse_exclusion_days: int = 0,
) -> tuple[Any, Any]:
    """Baseline = the last value on or before the infusion day; follow-up = the last (or best = lowest) value
    after it. ``key`` maps a value to a number for "best" (default: the value itself). None when absent.
    A value on or before day 0 within ``relapse_exclusion_days`` after one of ``attack_onsets`` (0 <= value
    day - onset day <= window; 0 turns the rule off) is not the baseline (D-19.896); the follow-up is not
    affected (an attack after infusion is an outcome, not a baseline problem).

    >>> from datetime import date
    >>> visits = [(date(2021, 1, 1), 4), (date(2021, 3, 1), 2), (date(2021, 6, 1), 3)]
    >>> baseline_and_follow_up(visits, date(2021, 1, 2))
    (4, 3)
    >>> baseline_and_follow_up(visits, date(2021, 1, 2), "best")
    (4, 2)
    """
    chosen = choose(FollowUpChoice, choice, "follow_up")
    ordered = sorted((v for v in visits if v[1] is not None), key=lambda v: v[0])
    onsets = [(o - infusion).days for o in attack_onsets]
    before = [
        v
        for d, v in ordered
        if d <= infusion and not during_relapse((d - infusion).days, onsets, relapse_exclusion_days)
    ]
    after = [v for d, v in ordered if d > infusion]
    baseline = before[-1] if before else None
    if not after:
        return baseline, None
    if chosen is FollowUpChoice.LAST:
        return baseline, after[-1]
    rank = key or (lambda v: v)
    return baseline, min(after, key=rank)


def measures_at_baseline_and_follow_up(
    series: Mapping[str, Mapping[str, Sequence[tuple[date, Any]]]],
    infusions: Mapping[str, date],
    choice: FollowUpChoice | str = FollowUpChoice.LAST,
    rank: Mapping[str, Any] | None = None,
    attack_onsets: Mapping[str, Sequence[date]] | None = None,
    relapse_exclusion_days: int = 0,
) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Per subject, the baseline and follow-up value of every measure (see `baseline_and_follow_up`).

    ``series`` maps subject -> measure -> [(date, value)]; ``rank`` optionally maps a measure to the key
    function used for "best". Subjects without an infusion date are left out (they have no day 0).
    ``attack_onsets`` (subject -> onset dates) with ``relapse_exclusion_days`` > 0: a value during an attack
    is not the baseline; a measure whose every pre-infusion value is is listed under `BASELINE_IN_ATTACK`
    in the follow-up mapping (D-19.896).
    """
    out: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for subject, measures in series.items():
        if subject not in infusions:
            continue
        base: dict[str, Any] = {}
        follow: dict[str, Any] = {}
        onsets = (attack_onsets or {}).get(subject, ())
        in_attack: list[str] = []
        for measure, visits in measures.items():
            key = (rank or {}).get(measure)
            base[measure], follow[measure] = baseline_and_follow_up(
                visits, infusions[subject], choice, key, onsets, relapse_exclusion_days
            )
            if base[measure] is None and baseline_and_follow_up(visits, infusions[subject])[0] is not None:
                in_attack.append(measure)
        if in_attack:
            follow[BASELINE_IN_ATTACK] = tuple(in_attack)
        out[subject] = (base, follow)
    return out


__all__ = [
    "BASELINE_IN_ATTACK",
    "BASELINE_ONLY_DURING_ATTACK",
    "DEFAULT_RESPONDERS",
    "NOT_EVALUABLE",
    "RESPONDER_DEFINITIONS",
    "UNDECIDED_0_OR_1",
    "Domain",
    "FollowUpChoice",
    "NotEvaluable",
    "ResponderBaseline",
    "ResponderDefinition",
    "ResponderOutcome",
    "ResponderSummary",
    "RuleKind",
    "ambulation_rank",
    "baseline_and_follow_up",
    "baseline_window",
    "evaluate_responder",
    "get_definition",
    "measures_at_baseline_and_follow_up",
    "responder_rate",
]
