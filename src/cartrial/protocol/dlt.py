"""Dose-limiting toxicity (DLT) rules as data, and the graded events they are evaluated against.

The protocol declares its DLT definition as a list of `DltRule`s (YAML section ``escalation.dlt_rules``);
the grading engine produces `GradedEvent`s; the escalation engine (`cartrial.escalation`) decides whether
an event is a DLT by evaluating the rules. Keeping both types here lets every engine depend on `protocol`
only.

Default template (not the CT103A definition, which was not retrievable): the S103 BCMA CAR-T myasthenia
gravis trial, NCT06958939, as summarised in docs/science/ct103a-nmosd-trial.md §4 [V for that trial].
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cartrial.allowed import Allowed, check_argument, check_instance, choice_text
from cartrial.protocol.design_options import DAYS
from cartrial.protocol.organs import ORGAN_TERMS, organ_key
from cartrial.protocol.yaml_source import Issue, TrueFalse, semantic_error


class ToxicityCategory(StrEnum):
    """What kind of toxicity an event is; DLT rules select events by category."""

    CRS = "crs"
    ICANS = "icans"
    HEMATOLOGIC = "hematologic"
    NON_HEMATOLOGIC = "non_hematologic"
    INFECTION = "infection"
    DEATH = "death"


#: The categories whose events cartrial grades itself (ASTCT CRS and ICANS, CTCAE haematology results): their
#: terms have no organ of `cartrial.protocol.organs`, so a DLT rule of one of them takes no organs (D-19.1209)
ORGANLESS_CATEGORIES = frozenset({ToxicityCategory.CRS, ToxicityCategory.ICANS, ToxicityCategory.HEMATOLOGIC})


class Relatedness(StrEnum):
    """Investigator's causality assessment, ordered from least to most related."""

    UNRELATED = "unrelated"
    UNLIKELY = "unlikely"
    POSSIBLE = "possible"
    PROBABLE = "probable"
    DEFINITE = "definite"

    @property
    def rank(self) -> int:
        return list(Relatedness).index(self)


@dataclass(frozen=True)
class GradedEvent:
    """One graded toxicity of one subject, as the DLT rules see it.

    `onset_day` and `duration_days` are days relative to the infusion (day 0). `duration_days` is None
    when the event has not resolved or its end is unknown; a rule with a duration condition is then not met
    (and the evaluation says so) unless `ongoing_at_day` shows it lasted long enough.

    `ongoing_at_day` (unresolved event): the day it is known not to have resolved by — for a CRS or ICANS
    episode its subject's last assessment, an ICANS assessment that could not grade (unarousable from
    sedation, D-19.675) included: such a row does not resolve the episode (D-19.787). `graded_to_day`: the
    day of the unresolved episode's last assessment that graded it (`EpisodeSummary.last_ongoing_at`,
    D-19.767); earlier than `ongoing_at_day` only when "not assessable" rows follow it; for a resolved ICANS
    episode the day of the first "not assessable" row after its last graded one (the earliest it could have
    resolved), None without such rows. A duration rule met
    only through those rows fires and says so (`cartrial.escalation.dlt.duration_query`).

    `onset_study_day`: the onset's day on the site's calendar (the onset instant on the site's clock minus
    the infusion's date, D-19.699), when the onset is an instant (a CRS, ICANS or laboratory event, whose
    `onset_day` is elapsed time); the DLT window reads it, as it reads an adverse event's calendar day
    (D-19.1193). None: `onset_day` is the day.

    `pre_existing`: a laboratory run the grading engine found not treatment-emergent — present before the
    treatment-emergent period and not worse than its baseline grade (`cartrial.grading.lab_runs`, D-19.1195,
    D-19.1196); no DLT rule fires on it.
    """

    subject_id: str
    category: ToxicityCategory
    term: str
    grade: int
    scale: str
    onset_day: float
    duration_days: float | None = None
    relatedness: Relatedness | None = None
    organ: str | None = None
    due_to_underlying_disease: bool = False
    judged_dlt_by_committee: bool = False
    ongoing_at_day: float | None = None
    graded_to_day: float | None = None
    onset_study_day: int | None = None
    pre_existing: bool = False


class DltRule(BaseModel):
    """One DLT criterion: which graded events count as dose-limiting.

    An event meets the rule when all given conditions hold: its category is `category` (or any, when
    `category` is None), its grade is ≥ `min_grade` (or ≥ `organ_min_grade[organ]` for the listed organs),
    its term is not in `exclude_terms`, its organ is in `organs` (when given), it lasted strictly longer than
    `min_duration_days` (when given: "lasting > 7 days"), its relatedness is at least `min_relatedness`
    (when given), and it is not due to the underlying disease when `exclude_underlying_disease`.
    `committee_judgement` rules match events the safety review committee judged to be DLTs.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    id: str = Field(min_length=1, description="Short key, e.g. 'crs_grade_4'.")
    description: str = Field(min_length=1, description="The criterion in the protocol's words.")
    category: ToxicityCategory | None = None
    min_grade: int = Field(default=1, ge=1, le=5)
    organ_min_grade: dict[str, int] = Field(default_factory=dict)
    organs: list[str] | None = None
    exclude_terms: list[str] = Field(default_factory=list)
    min_duration_days: float | None = Field(default=None, ge=0)
    min_relatedness: Relatedness | None = None
    exclude_underlying_disease: TrueFalse = False
    committee_judgement: TrueFalse = False

    @model_validator(mode="after")
    def _organ_grades_in_range(self) -> DltRule:
        issues: list[Issue] = []
        # the escalation engine matches an event's organ, the organ of its CTCAE term
        # (`cartrial.protocol.organs.ORGAN_TERMS`), with the rule's organs case-insensitively
        # (`organ_key`): another name could never match, and two names of one organ are one organ
        known = choice_text(ORGAN_TERMS)
        first_at: dict[str, int] = {}
        for index, organ in enumerate(self.organs or []):
            if organ_key(organ) not in ORGAN_TERMS:
                issues.append(Issue(("organs", index), "unknown organ (it could never match)", organ, known))
            elif (earlier := first_at.setdefault(organ_key(organ), index)) != index:
                # a repeat changes nothing the rule matches, but says the list was not what was meant
                issues.append(
                    Issue(
                        ("organs", index),
                        "the organ is listed twice (first at {ref0}; organs are matched case-insensitively)",
                        organ,
                        "each organ once",
                        refs=(("organs", earlier),),
                    )
                )
        # CRS, ICANS and haematological events are graded by cartrial from the assessments and the
        # laboratory results, terms without an organ of `ORGAN_TERMS`: organs there could never match
        # (D-19.1209)
        if self.category in ORGANLESS_CATEGORIES:
            for name in ("organs", "organ_min_grade"):
                if getattr(self, name):
                    issues.append(
                        Issue(
                            (name,),
                            f"a {self.category.value} rule's events have no organ (graded from the "
                            f"assessments and laboratory results), so `{name}` could never match",
                            None,
                            f"`{name}` only on a rule of category "
                            + ", ".join(
                                sorted(c.value for c in ToxicityCategory if c not in ORGANLESS_CATEGORIES)
                            )
                            + " or of any category (no `category`)",
                        )
                    )
        listed = None if self.organs is None else {organ_key(o) for o in self.organs}
        graded: dict[str, str] = {}
        for organ, grade in self.organ_min_grade.items():
            if organ_key(organ) not in ORGAN_TERMS:
                issues.append(
                    Issue(("organ_min_grade", organ), "unknown organ (it could never match)", organ, known)
                )
                continue
            if (first := graded.setdefault(organ_key(organ), organ)) != organ:
                # the assessment would keep one of the two grades, without a word
                issues.append(
                    Issue(
                        ("organ_min_grade", organ),
                        f"the organ {first!r} already has a grade (organs are matched case-insensitively)",
                        organ,
                        "one grade per organ",
                    )
                )
                continue
            if not 1 <= grade <= 5:
                issues.append(
                    Issue(
                        ("organ_min_grade", organ),
                        f"organ_min_grade[{organ}] must be a grade from 1 to 5",
                        grade,
                        Allowed(low=1, high=5, integer=True).text(),
                    )
                )
            if listed is not None and organ_key(organ) not in listed:
                issues.append(
                    Issue(
                        ("organ_min_grade", organ),
                        f"organ {organ!r} has a grade but is not in `organs`, so it could never match",
                        organ,
                        choice_text(self.organs or ()),
                    )
                )
        if issues:
            raise semantic_error(issues)
        return self


def in_dlt_window(day: Any, window_days: Any) -> Any:
    """Whether day `day` after the infusion (day 0) lies in a DLT window of `window_days` days: days 0 to
    `window_days` inclusive. The one rule of the DLT assessment (`cartrial.escalation.assess_dlt`) and of
    the CDISC epochs and elements (EPOCH TREATMENT through that day, SE's follow-up from the day after;
    D-19.1019). Elementwise on numpy arrays, as `dlt_evaluable`.

    >>> in_dlt_window(0, 28), in_dlt_window(28, 28), in_dlt_window(29, 28), in_dlt_window(-1, 28)
    (True, True, False, False)
    """
    return (day >= 0) & (day <= window_days)  # `&`, not `and`: elementwise on numpy arrays


def dlt_followed_days(infused_on: dt.date, end: dt.date, *, died: bool = False) -> int:
    """Whole days a patient was followed alive after the infusion day up to `end`, the `dlt_evaluable` input:
    the calendar days from day 0 to `end` when `end` is a day observed (a cut-off, whose data run to the end
    of that day, or the dated end of study), one fewer when the patient died on `end` — the day of death is
    not a day lived through: a patient who died on day 28 was not observed through day 28 of a 28-day window
    (days 0-28 inclusive, `cartrial.escalation.assess_dlt`), so without a DLT the window is not complete
    (D-19.231). Never below 0.

    >>> dlt_followed_days(dt.date(2021, 6, 1), dt.date(2021, 6, 29)), dlt_followed_days(
    ...     dt.date(2021, 6, 1), dt.date(2021, 6, 29), died=True)
    (28, 27)
    """
    check_instance("infused_on", infused_on, dt.date)
    check_instance("end", end, dt.date)
    days = (end - infused_on).days
    return max(days - 1, 0) if died else days


def dlt_window_complete(
    infused_on: dt.date, as_of: dt.date, window_days: int, *, died: bool = False
) -> tuple[int, bool]:
    """(days from day 0 to `as_of`, whether the DLT window is complete by then): complete when the patient
    was followed for at least `window_days` whole days after the infusion day (`dlt_followed_days`; day 0 to
    day `window_days` observed, the protocol's `escalation.dlt_window_days` [P]) — with `died` (a death on
    `as_of`), only when the death came after day `window_days` (D-19.231). The one rule behind the
    escalation engine's replay of recorded decisions (`cartrial.escalation.replay_decisions`) and the
    analysis's DLT-evaluable population.

    >>> dlt_window_complete(dt.date(2021, 6, 1), dt.date(2021, 6, 29), 28)
    (28, True)
    >>> dlt_window_complete(dt.date(2021, 6, 1), dt.date(2021, 6, 28), 28)
    (27, False)
    >>> dlt_window_complete(dt.date(2021, 6, 1), dt.date(2021, 6, 29), 28, died=True)
    (28, False)

    A window that is not more than 0 and at most 3650 days, or a day that is not a date, is an `InputError`
    (D-19.79).
    """
    check_instance("infused_on", infused_on, dt.date)
    check_instance("as_of", as_of, dt.date)
    check_argument("window_days", window_days, DAYS)
    followed = dlt_followed_days(infused_on, as_of, died=died)
    return (as_of - infused_on).days, bool(dlt_evaluable(followed, False, window_days))


def dlt_evaluable(follow_up_days: Any, had_dlt: Any, window_days: float) -> Any:
    """Whether a patient is DLT-evaluable (elementwise on arrays): a DLT seen inside the window, or followed
    (alive, on study) for at least `window_days` whole days after the infusion day (`dlt_followed_days`: the
    day of a death is not one, D-19.231) — the window complete (`dlt_window_complete`). Otherwise, once the
    patient died or left the study, never: not an outcome for the design, replaced (3+3, Storer 1989;
    D-19.123). The one rule the analysis's DLT-evaluable population and the simulator's escalation
    (`simulate trial`, `simulate study`'s committee; D-19.132) apply.

    >>> [bool(dlt_evaluable(days, dlt, 28)) for days, dlt in ((5, False), (5, True), (28, False))]
    [False, True, True]
    """
    return had_dlt | (follow_up_days >= window_days)  # `|`, not `or`: elementwise on numpy arrays


__all__ = [
    "DltRule",
    "GradedEvent",
    "Relatedness",
    "ToxicityCategory",
    "dlt_evaluable",
    "dlt_followed_days",
    "dlt_window_complete",
    "in_dlt_window",
]
