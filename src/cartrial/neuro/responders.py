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

from cartrial.errors import ConfigurationError
from cartrial.neuro.choices import choose
from cartrial.neuro.visual_acuity import AcuityChange, VisualAcuity, eye_change


class Domain(StrEnum):
    VISION = "vision"
    WALKING = "walking"
    BLADDER = "bladder"
    DISABILITY = "disability"


class RuleKind(StrEnum):
    DECREASE_BY = "decrease_by"  # baseline - follow_up >= min_decrease; evaluable if baseline >= min_decrease
    FRACTION_FASTER = "fraction_faster"  # (baseline - follow_up) / baseline >= min_fraction_faster
    ACUITY_PER_EYE = "acuity_per_eye"  # per-eye logMAR fall >= threshold_logmar in any evaluable eye
    DECREASE_PER_EYE = "decrease_per_eye"  # per-eye grade decrease >= min_decrease in any evaluable eye


@dataclass(frozen=True)
class ResponderDefinition:
    """A named responder rule: which measure, which rule, its default parameters and its source."""

    name: str
    domain: Domain
    measures: tuple[str, ...]
    kind: RuleKind
    defaults: Mapping[str, Any]
    description: str
    source: str


_FS_SOURCE = "Kurtzke 1983 / Neurostatus FS grades (docs/science/neuro-outcomes.md §1.2); threshold [P]"
_OSIS_SOURCE = (
    "Wingerchuk 1999 Neurology 53:1107 Table 1 (OSIS; docs/science/neuro-outcomes.md §3); threshold [P]"
)

RESPONDER_DEFINITIONS: dict[str, ResponderDefinition] = {
    d.name: d
    for d in (
        ResponderDefinition(
            "logmar_improved_0_2",
            Domain.VISION,
            ("acuity_od", "acuity_os"),
            RuleKind.ACUITY_PER_EYE,
            {"threshold_logmar": 0.2, "min_baseline_logmar": 0.2},
            "vision improved: logMAR fell by >= threshold_logmar (default 0.2 = 2 lines) in at least one eye "
            "whose baseline logMAR was >= min_baseline_logmar; off-chart levels compared on their order",
            "docs/science/neuro-outcomes.md §2.3 (0.2 logMAR [U]; 0.3 option); eligible-eye rule [P]",
        ),
        ResponderDefinition(
            "visual_fs_decrease_1",
            Domain.VISION,
            ("visual",),
            RuleKind.DECREASE_BY,
            {"min_decrease": 1},
            "vision improved: raw visual FS fell by >= 1 grade",
            _FS_SOURCE,
        ),
        ResponderDefinition(
            "osis_visual_decrease_1",
            Domain.VISION,
            ("osis_visual_od", "osis_visual_os"),
            RuleKind.DECREASE_PER_EYE,
            {"min_decrease": 1},
            "vision improved: OSIS visual grade fell by >= 1 in at least one eye with baseline grade >= 1",
            _OSIS_SOURCE,
        ),
        ResponderDefinition(
            "ambulation_score_decrease_1",
            Domain.WALKING,
            ("ambulation",),
            RuleKind.DECREASE_BY,
            {"min_decrease": 1},
            "walking improved: Neurostatus ambulation score (0-16) fell by >= 1",
            "Neurostatus ambulation score (docs/science/neuro-outcomes.md §1.6); threshold [P]",
        ),
        ResponderDefinition(
            "pyramidal_fs_decrease_1",
            Domain.WALKING,
            ("pyramidal",),
            RuleKind.DECREASE_BY,
            {"min_decrease": 1},
            "walking improved: pyramidal FS fell by >= 1 grade",
            _FS_SOURCE,
        ),
        ResponderDefinition(
            "osis_motor_decrease_1",
            Domain.WALKING,
            ("osis_motor",),
            RuleKind.DECREASE_BY,
            {"min_decrease": 1},
            "walking improved: OSIS motor grade fell by >= 1",
            _OSIS_SOURCE,
        ),
        ResponderDefinition(
            "t25fw_20pct_faster",
            Domain.WALKING,
            ("t25fw_seconds",),
            RuleKind.FRACTION_FASTER,
            {"min_fraction_faster": 0.2},
            "walking improved: timed 25-foot walk (mean of two trials) >= 20 % faster than baseline "
            "(unable to walk = infinitely slow)",
            "20 % T25FW change, the conventional clinically meaningful threshold of the MSFC literature "
            "(Kaufman M et al. Mult Scler 2000;6:286) [U]",
        ),
        ResponderDefinition(
            "bowel_bladder_fs_decrease_1",
            Domain.BLADDER,
            ("bowel_bladder",),
            RuleKind.DECREASE_BY,
            {"min_decrease": 1},
            "bladder improved: raw bowel/bladder FS (0-6, before conversion) fell by >= 1 grade",
            _FS_SOURCE,
        ),
        ResponderDefinition(
            "osis_sphincter_decrease_1",
            Domain.BLADDER,
            ("osis_sphincter",),
            RuleKind.DECREASE_BY,
            {"min_decrease": 1},
            "bladder improved: OSIS sphincter grade fell by >= 1",
            _OSIS_SOURCE,
        ),
        ResponderDefinition(
            "edss_decrease_0_5",
            Domain.DISABILITY,
            ("edss",),
            RuleKind.DECREASE_BY,
            {"min_decrease": 0.5},
            "EDSS reduced by >= 0.5 (one step; unconfirmed)",
            "EDSS steps (Kurtzke 1983); threshold [P]; confirmed improvement: cartrial.neuro.disability",
        ),
    )
}

#: Default definition per domain [P]; these reproduce the example study's 50 / 67 / 75 %.
DEFAULT_RESPONDERS: dict[Domain, str] = {
    Domain.VISION: "logmar_improved_0_2",
    Domain.WALKING: "ambulation_score_decrease_1",
    Domain.BLADDER: "bowel_bladder_fs_decrease_1",
    Domain.DISABILITY: "edss_decrease_0_5",
}


@dataclass(frozen=True)
class ResponderOutcome:
    subject_id: str
    evaluable: bool
    responder: bool | None
    reason: str
    baseline: dict[str, Any] = field(default_factory=dict)
    follow_up: dict[str, Any] = field(default_factory=dict)


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
        pct = "n/a" if self.percent is None else f"{self.percent:.0f}%"
        return f"{self.n_responders}/{self.n_evaluable} evaluable ({pct}) by {self.definition}"


def get_definition(name: str) -> ResponderDefinition:
    try:
        return RESPONDER_DEFINITIONS[name]
    except KeyError:
        raise ConfigurationError(
            f"unknown responder definition {name!r}; allowed: {', '.join(sorted(RESPONDER_DEFINITIONS))}"
        ) from None


def _parameters(definition: ResponderDefinition, parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    merged = dict(definition.defaults)
    for key, value in (parameters or {}).items():
        if key not in merged:
            raise ConfigurationError(
                f"responder definition {definition.name!r} has no parameter {key!r}; "
                f"allowed: {', '.join(sorted(merged))}"
            )
        merged[key] = value
    return merged


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
    params = _parameters(spec, parameters)
    base = {m: baseline.get(m) for m in spec.measures}
    follow = {m: follow_up.get(m) for m in spec.measures}
    shown_base = {k: _show(v) for k, v in base.items()}
    shown_follow = {k: _show(v) for k, v in follow.items()}

    def outcome(evaluable: bool, responder: bool | None, reason: str) -> ResponderOutcome:
        return ResponderOutcome(subject_id, evaluable, responder, reason, shown_base, shown_follow)

    if spec.kind in (RuleKind.DECREASE_BY, RuleKind.FRACTION_FASTER):
        (measure,) = spec.measures
        b, f = base[measure], follow[measure]
        if b is None or f is None:
            return outcome(False, None, f"{measure} missing at baseline or follow-up")
        if spec.kind is RuleKind.DECREASE_BY:
            need = float(params["min_decrease"])
            if b < need:
                return outcome(
                    False, None, f"baseline {measure} {b:g} leaves no room for a decrease of {need:g}"
                )
            improved = b - f >= need - 1e-9
            return outcome(True, improved, f"{measure} {b:g} -> {f:g}")
        if b <= 0:
            return outcome(False, None, f"baseline {measure} must be > 0")
        if math.isinf(b):
            return outcome(False, None, "unable to walk at baseline")
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
            if b.logmar is not None and b.logmar < float(params["min_baseline_logmar"]) - 1e-9:
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
        return outcome(False, None, "no eye evaluable (missing or no room to improve at baseline)")
    reason = f"improved: {', '.join(improved_eyes) or 'none'} of {', '.join(evaluable_eyes)}"
    return outcome(True, bool(improved_eyes), reason)


def _show(value: Any) -> Any:
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
    params = _parameters(spec, parameters)
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
) -> tuple[Any, Any]:
    """Baseline = the last value on or before the infusion day; follow-up = the last (or best = lowest) value
    after it. ``key`` maps a value to a number for "best" (default: the value itself). None when absent.

    >>> from datetime import date
    >>> visits = [(date(2021, 1, 1), 4), (date(2021, 3, 1), 2), (date(2021, 6, 1), 3)]
    >>> baseline_and_follow_up(visits, date(2021, 1, 2))
    (4, 3)
    >>> baseline_and_follow_up(visits, date(2021, 1, 2), "best")
    (4, 2)
    """
    chosen = choose(FollowUpChoice, choice, "follow_up")
    ordered = sorted((v for v in visits if v[1] is not None), key=lambda v: v[0])
    before = [v for d, v in ordered if d <= infusion]
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
) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Per subject, the baseline and follow-up value of every measure (see `baseline_and_follow_up`).

    ``series`` maps subject -> measure -> [(date, value)]; ``rank`` optionally maps a measure to the key
    function used for "best". Subjects without an infusion date are left out (they have no day 0).
    """
    out: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for subject, measures in series.items():
        if subject not in infusions:
            continue
        base: dict[str, Any] = {}
        follow: dict[str, Any] = {}
        for measure, visits in measures.items():
            key = (rank or {}).get(measure)
            base[measure], follow[measure] = baseline_and_follow_up(visits, infusions[subject], choice, key)
        out[subject] = (base, follow)
    return out


__all__ = [
    "DEFAULT_RESPONDERS",
    "RESPONDER_DEFINITIONS",
    "Domain",
    "FollowUpChoice",
    "ResponderDefinition",
    "ResponderOutcome",
    "ResponderSummary",
    "RuleKind",
    "baseline_and_follow_up",
    "evaluate_responder",
    "get_definition",
    "measures_at_baseline_and_follow_up",
    "responder_rate",
]
