"""Named responder definitions (vision, walking, bladder, disability): what a protocol endpoint's
``definition`` may name and which ``parameters`` each takes, declared once for the protocol and the neuro
engine.

The neuro engine (`cartrial.neuro.responders`, which re-exports these names) applies the definitions. A
protocol endpoint selects one by ``definition`` with optional ``parameters``; `responder_parameters` is the
one rule for those parameters: `cartrial protocol check` (every protocol load) calls it and reports each
problem at its YAML line, and the engine calls it before it evaluates anyone. Sources of the definitions:
each entry's ``source``; docs/science/neuro-outcomes.md; docs/science/decisions.md D-19.20 (what the
parameters accept).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cartrial.allowed import Allowed, choice_text
from cartrial.errors import ConfigurationError, OptionError, Problem

#: A decrease on a whole-grade scale (FS, ambulation score, OSIS): at least one grade; 0 or less would count a
#: patient who did not improve as a responder.
_GRADE_STEP = Allowed(low=1, integer=True)
#: A decrease of the EDSS: at least one step of the scale (0.5).
_EDSS_STEP = Allowed(low=0.5)
#: A logMAR improvement: at least one ETDRS letter (0.02 logMAR, the scale's smallest step); the engine's
#: `cartrial.neuro.visual_acuity.eye_change` refuses a threshold of 0 or less.
_LOGMAR_STEP = Allowed(low=0.02, unit="logMAR")
#: The smallest baseline logMAR of an eligible eye: at or above the best a chart measures (-0.3 logMAR).
_LOGMAR_BASELINE = Allowed(low=-0.3, unit="logMAR")
#: A T25FW improvement as a fraction of the baseline time: above 0 (0 or less counts a patient who did not
#: improve) and below 1 (a walk in no time).
_FRACTION_FASTER = Allowed(low=0.01, high=0.99)


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
    """A named responder rule: which measure, which rule, its default parameters (and what each accepts)
    and its source."""

    name: str
    domain: Domain
    measures: tuple[str, ...]
    kind: RuleKind
    defaults: Mapping[str, Any]
    description: str
    source: str
    allowed: Mapping[str, Allowed] = field(default_factory=dict)
    """What each parameter accepts (`cartrial.allowed.Allowed`), keyed like `defaults`."""


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
            "whose baseline logMAR was >= min_baseline_logmar, each exactly or in whole letters "
            "(0.02 logMAR) on the chart (D-19.683); off-chart levels compared on their order",
            "docs/science/neuro-outcomes.md §2.3 (0.2 logMAR [U]; 0.3 option); eligible-eye rule [P]",
            allowed={"threshold_logmar": _LOGMAR_STEP, "min_baseline_logmar": _LOGMAR_BASELINE},
        ),
        ResponderDefinition(
            "visual_fs_decrease_1",
            Domain.VISION,
            ("visual",),
            RuleKind.DECREASE_BY,
            {"min_decrease": 1},
            "vision improved: raw visual FS fell by >= 1 grade",
            _FS_SOURCE,
            allowed={"min_decrease": _GRADE_STEP},
        ),
        ResponderDefinition(
            "osis_visual_decrease_1",
            Domain.VISION,
            ("osis_visual_od", "osis_visual_os"),
            RuleKind.DECREASE_PER_EYE,
            {"min_decrease": 1},
            "vision improved: OSIS visual grade fell by >= 1 in at least one eye with baseline grade >= 1",
            _OSIS_SOURCE,
            allowed={"min_decrease": _GRADE_STEP},
        ),
        ResponderDefinition(
            "ambulation_score_decrease_1",
            Domain.WALKING,
            ("ambulation",),
            RuleKind.DECREASE_BY,
            {"min_decrease": 1},
            "walking improved: Neurostatus ambulation score (0-16) fell by >= 1",
            "Neurostatus ambulation score (docs/science/neuro-outcomes.md §1.6); threshold [P]",
            allowed={"min_decrease": _GRADE_STEP},
        ),
        ResponderDefinition(
            "pyramidal_fs_decrease_1",
            Domain.WALKING,
            ("pyramidal",),
            RuleKind.DECREASE_BY,
            {"min_decrease": 1},
            "walking improved: pyramidal FS fell by >= 1 grade",
            _FS_SOURCE,
            allowed={"min_decrease": _GRADE_STEP},
        ),
        ResponderDefinition(
            "osis_motor_decrease_1",
            Domain.WALKING,
            ("osis_motor",),
            RuleKind.DECREASE_BY,
            {"min_decrease": 1},
            "walking improved: OSIS motor grade fell by >= 1",
            _OSIS_SOURCE,
            allowed={"min_decrease": _GRADE_STEP},
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
            allowed={"min_fraction_faster": _FRACTION_FASTER},
        ),
        ResponderDefinition(
            "bowel_bladder_fs_decrease_1",
            Domain.BLADDER,
            ("bowel_bladder",),
            RuleKind.DECREASE_BY,
            {"min_decrease": 1},
            "bladder improved: raw bowel/bladder FS (0-6, before conversion) fell by >= 1 grade",
            _FS_SOURCE,
            allowed={"min_decrease": _GRADE_STEP},
        ),
        ResponderDefinition(
            "osis_sphincter_decrease_1",
            Domain.BLADDER,
            ("osis_sphincter",),
            RuleKind.DECREASE_BY,
            {"min_decrease": 1},
            "bladder improved: OSIS sphincter grade fell by >= 1",
            _OSIS_SOURCE,
            allowed={"min_decrease": _GRADE_STEP},
        ),
        ResponderDefinition(
            "edss_decrease_0_5",
            Domain.DISABILITY,
            ("edss",),
            RuleKind.DECREASE_BY,
            {"min_decrease": 0.5},
            "EDSS reduced by >= 0.5 (one step; unconfirmed)",
            "EDSS steps (Kurtzke 1983); threshold [P]; confirmed improvement: cartrial.neuro.disability",
            allowed={"min_decrease": _EDSS_STEP},
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


def get_definition(name: str) -> ResponderDefinition:
    try:
        return RESPONDER_DEFINITIONS[name]
    except KeyError:
        raise ConfigurationError(
            f"unknown responder definition {name!r}; allowed: {choice_text(sorted(RESPONDER_DEFINITIONS))}"
        ) from None


def responder_parameters(
    definition: ResponderDefinition, parameters: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The parameters of `definition`: its defaults with `parameters` applied. An unknown parameter or a value
    outside what the definition declares is refused: one `OptionError` (also a `ConfigurationError`) with a
    `Problem` per parameter, each naming the parameter, the value and what is allowed.

    >>> responder_parameters(RESPONDER_DEFINITIONS["t25fw_20pct_faster"], {"min_fraction_faster": 0.25})
    {'min_fraction_faster': 0.25}
    >>> responder_parameters(RESPONDER_DEFINITIONS["edss_decrease_0_5"], {"min_decrease": 0})
    Traceback (most recent call last):
    ...
    cartrial.errors.OptionError: min_decrease: out of range (got 0); allowed: a number ≥ 0.5
    """
    merged = dict(definition.defaults)
    problems: list[Problem] = []
    for key, value in (parameters or {}).items():
        if key not in merged:
            problems.append(
                Problem(
                    f"unknown parameter of responder definition {definition.name!r}",
                    field=str(key),
                    value=key,
                    allowed=choice_text(sorted(merged)),
                )
            )
            continue
        rule = definition.allowed.get(key)
        problem = rule.problem(str(key), value) if rule is not None else None
        if problem is not None:
            problems.append(problem)
            continue
        merged[key] = value
    if problems:
        raise OptionError(problems)
    return merged


__all__ = [
    "DEFAULT_RESPONDERS",
    "RESPONDER_DEFINITIONS",
    "Domain",
    "ResponderDefinition",
    "RuleKind",
    "get_definition",
    "responder_parameters",
]
