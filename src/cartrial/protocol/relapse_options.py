"""The relapse options a protocol's relapse endpoints set, declared once for the protocol and the neuro
engine.

`RelapseOptions` (attack merging, what counts as a relapse, the pre-treatment ARR window) is read by the
neuro engine (`cartrial.neuro.relapses`, which re-exports it) and set by the ``parameters`` of the protocol's
relapse endpoints (measure ``annualized_relapse_rate`` or ``relapse_free_survival``).
`relapse_options_issues` is the one rule that turns those parameters into options: `cartrial protocol
check` (every protocol load) calls it and reports each problem at its YAML line;
`cartrial.neuro.relapse_options_from_protocol` calls it for `relapses --protocol` and the analysis.
Sources: docs/science/neuro-outcomes.md §4.2, §4.3; docs/science/decisions.md D-19.19, D-19.20.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cartrial.allowed import METADATA_KEY, TRUE_FALSE, allowed, check_fields, choice_text, enum_member
from cartrial.errors import OptionError, Problem
from cartrial.protocol.attacks import MergeAnchor
from cartrial.protocol.yaml_source import Issue

DAYS_PER_YEAR = 365.25
"""Days per patient-year of the ARR (PyPI ``mstrial`` 0.1.0 ``endpoints``; docs/science/neuro-outcomes.md
§4.3)."""

#: Documented range of ``pre_window_months`` (calendar months before infusion). Eligibility look-backs are
#: 12-24 months; 120 months (10 years) covers any pre-treatment history a trial records, and keeps the
#: window start inside the calendar.
PRE_WINDOW_MONTHS_RANGE: tuple[int, int] = (1, 120)
#: Documented range of ``merge_window_days`` (0 = no merging; 365 days is far beyond any published window).
MERGE_WINDOW_DAYS_RANGE: tuple[int, int] = (0, 365)

_TRUE_FALSE = {METADATA_KEY: TRUE_FALSE}


class PreWindowStart(StrEnum):
    """Where the pre-infusion ARR window starts (`RelapseOptions.pre_window_start`, D-19.708).

    ``disease_onset`` (default): ``pre_window_months`` before the infusion, but no earlier than the disease
    onset — the earliest of the diagnosis date, the relapse_history onsets and the first recorded attack —
    when the diagnosis date is known; the attack at onset is the onset event, not a relapse, and is not
    counted (person-time at risk of a relapse starts at onset: Rothman KJ, Greenland S, Lash TL, *Modern
    Epidemiology* 3rd ed. 2008, ch. 3, person-time at risk). ``fixed``: the whole ``pre_window_months`` window
    whatever the onset, every attack in it counted (cartrial before D-19.708): it counts person-time before
    the disease, so it understates the pre-infusion rate (the post/pre ratio is biased towards 1,
    conservatively)."""

    DISEASE_ONSET = "disease_onset"
    FIXED = "fixed"


@dataclass(frozen=True)
class RelapseOptions:
    """Options of the relapse definition and ARR windows (docs/science/neuro-outcomes.md §4.2, §4.3).

    - ``merge_window_days`` default **30**, strict "<" (onsets < 30 days apart are one attack), range
      0-365.
    - ``merge_anchor`` default **first** (see `MergeAnchor`).
    - ``require_objective_change`` default **False**: when True an episode counts only if an objective
      change (EDSS >= 0.5, +1 in >= 2 FS or +2 in one FS) was recorded as True.
    - ``require_adjudicated`` default **False** (an open-label phase 1 has no adjudication committee):
      when True an episode counts only if its adjudication is ``confirmed`` (`Adjudication`), as in the
      NMOSD pivotal trials; a protocol sets it in its relapse endpoint's parameters.
    - ``pre_window_months`` default **24** (calendar months before infusion; matches the eligibility
      look-back) [P]; 12 is the usual alternative; range 1-120.
    - ``pre_window_start`` default **disease_onset** (`PreWindowStart`): the window starts no earlier than
      the disease onset and the onset attack is not a relapse; ``fixed``: the whole window (D-19.708).

    The two switches are true or false (a word such as ``"yes"`` would otherwise read as true).

    >>> RelapseOptions(require_adjudicated=True).as_dict()["require_adjudicated"]
    True
    """

    merge_window_days: int = field(
        default=30,
        metadata=allowed(
            low=MERGE_WINDOW_DAYS_RANGE[0], high=MERGE_WINDOW_DAYS_RANGE[1], integer=True, unit="days"
        ),
    )
    merge_anchor: MergeAnchor = MergeAnchor.FIRST
    require_objective_change: bool = field(default=False, metadata=_TRUE_FALSE)
    pre_window_months: int = field(
        default=24,
        metadata=allowed(
            low=PRE_WINDOW_MONTHS_RANGE[0],
            high=PRE_WINDOW_MONTHS_RANGE[1],
            integer=True,
            unit="calendar months",
        ),
    )
    require_adjudicated: bool = field(default=False, metadata=_TRUE_FALSE)
    pre_window_start: PreWindowStart = PreWindowStart.DISEASE_ONSET

    def __post_init__(self) -> None:
        check_fields(self)
        object.__setattr__(self, "merge_anchor", enum_member(MergeAnchor, self.merge_anchor, "merge_anchor"))
        object.__setattr__(
            self,
            "pre_window_start",
            enum_member(PreWindowStart, self.pre_window_start, "pre_window_start"),
        )

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Any]) -> RelapseOptions:
        """Options from a protocol endpoint's ``parameters``: unknown keys and bad values are refused together
        (one `OptionError`, a `Problem` per key).

        >>> RelapseOptions.from_parameters({"require_adjudicated": True}).require_adjudicated
        True
        """
        known = sorted(f for f in cls.__dataclass_fields__)
        problems = [
            Problem("unknown relapse option", field=name, value=name, allowed=choice_text(known))
            for name in sorted(set(parameters) - set(known), key=str)
        ]
        try:
            options = cls(**{name: value for name, value in parameters.items() if name in known})
        except OptionError as error:
            problems.extend(error.problems)
        if problems:
            raise OptionError(problems)
        return options

    def as_dict(self) -> dict[str, Any]:
        return {
            "merge_window_days": self.merge_window_days,
            "merge_anchor": self.merge_anchor.value,
            "require_objective_change": self.require_objective_change,
            "require_adjudicated": self.require_adjudicated,
            "pre_window_months": self.pre_window_months,
            "pre_window_start": self.pre_window_start.value,
        }


#: Endpoint measures whose parameters set the relapse options.
RELAPSE_MEASURES: tuple[str, ...] = ("annualized_relapse_rate", "relapse_free_survival")
#: Endpoint parameters that describe the relapse analysis but are not `RelapseOptions` (fixed conventions).
FIXED_RELAPSE_PARAMETERS: dict[str, float] = {"days_per_year": DAYS_PER_YEAR}


def relapse_options_issues(endpoints: Mapping[str, Any]) -> tuple[RelapseOptions | None, list[Issue]]:
    """The `RelapseOptions` the relapse endpoints of `endpoints` (key → `EndpointSpec`) set, and every problem
    with its path from the protocol root (``endpoints.<key>.parameters.<name>``): an unknown parameter, a
    value outside `RelapseOptions`' declaration, a fixed convention given another value, or two endpoints
    giving one option different values. The options are None when there is a problem.

    >>> from types import SimpleNamespace as Endpoint
    >>> arr = Endpoint(measure="annualized_relapse_rate", parameters={"pre_window_months": 500})
    >>> options, issues = relapse_options_issues({"arr": arr})
    >>> options, issues[0].path, issues[0].allowed
    (None, ('endpoints', 'arr', 'parameters', 'pre_window_months'), '1 to 120 calendar months')
    """
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    issues: list[Issue] = []
    for key, endpoint in endpoints.items():
        if endpoint.measure not in RELAPSE_MEASURES:
            continue
        for name, value in endpoint.parameters.items():
            path = ("endpoints", key, "parameters", name)
            if name in FIXED_RELAPSE_PARAMETERS:
                fixed = FIXED_RELAPSE_PARAMETERS[name]
                if value != fixed:
                    issues.append(
                        Issue(path, "not supported: cartrial uses a fixed value", value, str(fixed))
                    )
                continue
            if name in merged and merged[name] != value:
                issues.append(
                    Issue(
                        path,
                        f"contradicts endpoints.{origin[name]}.parameters.{name}",
                        value,
                        f"{merged[name]} (one value for every relapse endpoint)",
                    )
                )
                continue
            merged[name] = value
            origin.setdefault(name, key)
    try:
        options = RelapseOptions.from_parameters(merged)
    except OptionError as error:
        issues.extend(
            Issue(("endpoints", origin[p.field], "parameters", p.field), p.message, p.value, p.allowed)
            for p in error.problems
            if p.field in origin
        )
        return None, issues
    return (None if issues else options), issues


__all__ = [
    "DAYS_PER_YEAR",
    "FIXED_RELAPSE_PARAMETERS",
    "MERGE_WINDOW_DAYS_RANGE",
    "PRE_WINDOW_MONTHS_RANGE",
    "RELAPSE_MEASURES",
    "PreWindowStart",
    "RelapseOptions",
    "relapse_options_issues",
]
