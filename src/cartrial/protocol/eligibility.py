"""Eligibility criteria as data: human text plus a typed, machine-checkable rule.

Semantics: a rule states a condition about the candidate. An inclusion criterion is *met* when its
condition holds; an exclusion criterion is *met* when its (excluding) condition holds. A candidate is
eligible when every inclusion criterion is met and no exclusion criterion is met (`screening.screen`).
The `washout` rule states a requirement ("washout completed") and is therefore only allowed in inclusion
criteria; express "received X within N days" as an inclusion washout.

Reference rules: NCT04561557 registry eligibility (docs/science/ct103a-nmosd-trial.md §2 [V]): age 18-75,
AQP4-IgG+ NMOSD by the 2015 IPND criteria (Wingerchuk DM et al., *Neurology* 2015;85:177-189), ≥ 1
immunosuppressant for > 1 year with poorly controlled disease, and "≥ 2 relapses in the last 12 months,
or 3 relapses in the last 24 months with ≥ 1 in the 12 months before screening".
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from cartrial.protocol.calendar import WindowInclusive
from cartrial.protocol.candidate import Aqp4Assay, TherapyClass
from cartrial.protocol.edss_steps import edss_step_problem
from cartrial.protocol.relapse_options import MERGE_WINDOW_DAYS_RANGE
from cartrial.protocol.yaml_source import Issue, option_error, semantic_error

MAX_AGE_YEARS = 130
"""Oldest age an age rule may name (completed years)."""

MAX_LOOKBACK_MONTHS = 12 * MAX_AGE_YEARS
"""Longest look-back (or duration) in calendar months an eligibility rule may name: a lifetime of the oldest
allowed age. Longer windows reach no record a candidate can have and moved the screening date out of the
calendar (year 1 to 9999), so the screening failed (docs/science/decisions.md D-19.32)."""

MAX_LOOKBACK_DAYS = int(MAX_AGE_YEARS * 365.25)
"""The same look-back in days (130 × 365.25, the year of docs/science/neuro-outcomes.md §4.3), for the rules
that count days (washout `min_days`, EDSS and lab freshness `max_days_before_screening`; D-19.24)."""


class CriterionKind(StrEnum):
    INCLUSION = "inclusion"
    EXCLUSION = "exclusion"


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class AgeRangeRule(_Rule):
    """Age in completed years at screening within [min_years, max_years] (inclusive)."""

    type: Literal["age_range"]
    min_years: int | None = Field(default=None, ge=0, le=MAX_AGE_YEARS)
    max_years: int | None = Field(default=None, ge=0, le=MAX_AGE_YEARS)

    @model_validator(mode="after")
    def _bounds(self) -> AgeRangeRule:
        if self.min_years is None and self.max_years is None:
            raise semantic_error([Issue(("min_years",), "give min_years, max_years or both")])
        if self.min_years is not None and self.max_years is not None and self.min_years > self.max_years:
            raise semantic_error(
                [Issue(("max_years",), "max_years is below min_years", self.max_years, f"≥ {self.min_years}")]
            )
        return self


class Aqp4AssayRequirement(StrEnum):
    """Which AQP4-IgG assays the rule accepts. ``cell_based`` accepts every cell-based format (fixed,
    live, flow cytometry, or unspecified CBA) — the 2015 IPND criteria recommend cell-based assays."""

    CELL_BASED = "cell_based"
    FIXED_CELL_BASED = "fixed_cell_based"
    LIVE_CELL_BASED = "live_cell_based"
    FLOW_CYTOMETRY = "flow_cytometry"
    ELISA = "elisa"
    ANY = "any"

    def accepts(self, assay: Aqp4Assay) -> bool:
        if self is Aqp4AssayRequirement.ANY:
            return True
        if self is Aqp4AssayRequirement.CELL_BASED:
            return assay in {
                Aqp4Assay.CELL_BASED,
                Aqp4Assay.FIXED_CELL_BASED,
                Aqp4Assay.LIVE_CELL_BASED,
                Aqp4Assay.FLOW_CYTOMETRY,
            }
        return assay.value == self.value


class Aqp4IggSeropositiveRule(_Rule):
    """AQP4-IgG positive by an accepted assay (any positive result by such an assay)."""

    type: Literal["aqp4_igg_seropositive"]
    assay: Aqp4AssayRequirement = Aqp4AssayRequirement.CELL_BASED


#: the diagnostic criteria a diagnosis rule of this condition takes when it names none (the reference
#: indication's); a rule of another condition must name its own (D-19.204)
DEFAULT_DIAGNOSIS_CRITERIA: dict[str, str] = {"nmosd": "ipnd_2015"}


class DiagnosisRule(_Rule):
    """Diagnosis of `condition` by `criteria` (default: NMOSD by the 2015 IPND criteria). A rule of another
    condition names its criteria: the default ``ipnd_2015`` is NMOSD's, and taking it for, e.g., ``sle``
    made every candidate not eligible (D-19.204)."""

    type: Literal["diagnosis"]
    condition: str = "nmosd"
    criteria: str = DEFAULT_DIAGNOSIS_CRITERIA["nmosd"]

    @model_validator(mode="after")
    def _criteria_of_the_condition(self) -> DiagnosisRule:
        if "criteria" in self.model_fields_set or self.condition.lower() in DEFAULT_DIAGNOSIS_CRITERIA:
            return self
        raise semantic_error(
            [
                Issue(
                    ("condition",),
                    f"a diagnosis rule of condition '{self.condition}' must name its diagnostic criteria "
                    f"(the default '{self.criteria}' is the criteria of nmosd only)",
                    self.condition,
                    "add criteria: the condition's classification criteria as the candidate files record "
                    "them (e.g. eular_acr_2019 for sle)",
                )
            ]
        )


class PoorControlEvidence(StrEnum):
    """What shows that the disease was poorly controlled on a treatment (the registry does not define
    it [U]): the investigator's judgement (``investigator``, default), a relapse while on the treatment
    (``relapse_on_treatment``), or ``either``."""

    INVESTIGATOR = "investigator"
    RELAPSE_ON_TREATMENT = "relapse_on_treatment"
    EITHER = "either"


class ImmunosuppressantRefractoryRule(_Rule):
    """≥ `min_agents` treatments of the listed classes, each used for `min_duration_months` calendar months
    (start to last dose, or to screening if ongoing), with poorly controlled disease (NCT04561557: "at least
    one immunosuppressant used for more than one year with poorly controlled disease").

    `duration_comparator` says how the duration meets `min_duration_months`, as the protocol words it:
    ``">"`` (default, "used for more than one year", NCT04561557: the end is after the start moved by
    `min_duration_months` calendar months) or ``">="`` ("used for at least 12 months": on that day or
    after; D-19.810)."""

    type: Literal["immunosuppressant_refractory"]
    min_agents: int = Field(default=1, ge=1)
    min_duration_months: int = Field(default=12, ge=1, le=MAX_LOOKBACK_MONTHS)
    duration_comparator: Literal[">", ">="] = ">"
    therapy_classes: list[TherapyClass] = Field(
        default_factory=lambda: [TherapyClass.IMMUNOSUPPRESSANT], min_length=1
    )
    poor_control_evidence: PoorControlEvidence = PoorControlEvidence.INVESTIGATOR


class RelapseActivityRule(_Rule):
    """Relapse activity counted from the dated relapse list against the screening date.

    Met when (relapses in the last `short_window_months` ≥ `min_in_short_window`) or (relapses in the
    last `long_window_months` ≥ `min_in_long_window` and relapses in the last `short_window_months` ≥
    `min_in_short_window_with_long`). Defaults are the registry rule of NCT04561557 (12/24 months; 2, 3,
    1) [V] (docs/science/ct103a-nmosd-trial.md §2). Options (each recorded in the screening result):

    - `window_unit`: ``calendar_months`` (default: the window starts on the same day `n` calendar months
      before screening, end-of-month clamped, `calendar.months_before`) or ``days`` (the window is the
      last floor(n × `days_per_year` / 12) days: 365 and 730 days with the default 365.25, the year
      length of docs/science/neuro-outcomes.md §4.3) [U: the registry text does not define "month"].
    - `inclusive`: which window ends count (default "both": a relapse exactly 12 months before
      screening, or on the screening date, counts) [U: the registry text does not say].
    - `merge_window_days` (default **30**) and `merge_anchor` (default **first**): onsets less than 30
      days after the first onset of the current attack ("chain": after the latest merged onset) are one
      attack — the relapse definition of docs/science/neuro-outcomes.md §4.2 [V], which
      ``docs/science/ct103a-nmosd-trial.md``
      section 2 names for this rule. ``merge_window_days: null`` counts the records as given.
    """

    type: Literal["relapse_activity"]
    short_window_months: int = Field(default=12, ge=1, le=MAX_LOOKBACK_MONTHS)
    long_window_months: int = Field(default=24, ge=1, le=MAX_LOOKBACK_MONTHS)
    min_in_short_window: int = Field(default=2, ge=1)
    min_in_long_window: int = Field(default=3, ge=1)
    min_in_short_window_with_long: int = Field(default=1, ge=0)
    window_unit: Literal["calendar_months", "days"] = "calendar_months"
    days_per_year: float = Field(default=365.25, ge=360, le=366)
    inclusive: WindowInclusive = "both"
    merge_window_days: int | None = Field(default=30, ge=1, le=MERGE_WINDOW_DAYS_RANGE[1])
    merge_anchor: Literal["first", "chain"] = "first"

    @model_validator(mode="after")
    def _windows(self) -> RelapseActivityRule:
        if self.long_window_months <= self.short_window_months:
            raise semantic_error(
                [
                    Issue(
                        ("long_window_months",),
                        "the long window must be longer than the short window",
                        self.long_window_months,
                        f"> {self.short_window_months}",
                    )
                ]
            )
        return self


def _edss_bound(value: float) -> float:
    """An EDSS bound is a step of the scale (0, 1.0, 1.5, ..., 9.5, 10; Kurtzke 1983): the one EDSS-step rule
    of a candidate's score (`cartrial.protocol.edss_steps`, D-19.691), so ``max_score: 8.25`` is refused at
    its line rather than silently meaning 8.0 (D-19.1201)."""
    problem = edss_step_problem("score", value)
    if problem is not None:
        raise option_error(problem)
    return value


class EdssRangeRule(_Rule):
    """EDSS at screening within [min_score, max_score] (inclusive), each bound a step of the scale
    (D-19.1201); optionally no older than `max_days_before_screening`."""

    type: Literal["edss_range"]
    min_score: Annotated[float, AfterValidator(_edss_bound)] = Field(default=0.0, ge=0, le=10)
    max_score: Annotated[float, AfterValidator(_edss_bound)] = Field(default=10.0, ge=0, le=10)
    max_days_before_screening: int | None = Field(default=None, ge=0, le=MAX_LOOKBACK_DAYS)

    @model_validator(mode="after")
    def _bounds(self) -> EdssRangeRule:
        if self.min_score > self.max_score:
            raise semantic_error(
                [Issue(("max_score",), "max_score is below min_score", self.max_score, f"≥ {self.min_score}")]
            )
        return self


Comparator = Literal[">=", ">", "<=", "<"]

#: Unit string meaning "multiples of the laboratory's upper limit of normal".
ULN_UNIT = "x ULN"


class LabThresholdRule(_Rule):
    """The most recent `analyte` result on or before screening satisfies `comparator` `value` `unit`.

    Units must match exactly (no silent conversion); the unit ``x ULN`` (also written ``× ULN``, ``xULN``, in
    any case) compares the value with `value` × the result's ``upper_limit_normal`` (D-19.808, D-19.813).
    """

    type: Literal["lab_threshold"]
    analyte: str = Field(min_length=1)
    comparator: Comparator
    value: float
    unit: str = Field(min_length=1)
    max_days_before_screening: int | None = Field(default=None, ge=0, le=MAX_LOOKBACK_DAYS)

    @field_validator("unit", mode="after")
    @classmethod
    def _uln_spelling(cls, unit: str) -> str:
        """The multiple of the upper limit of normal in any spelling ("× ULN", "xULN", "X uln") is ``x ULN``:
        another spelling was compared as a unit and could never be assessed (D-19.813)."""
        return ULN_UNIT if "".join(unit.split()).replace("×", "x").casefold() == "xuln" else unit


class WashoutRule(_Rule):
    """Washout completed: no treatment of the listed classes is ongoing, and the last dose of each was at
    least `min_days` days (or `min_months` calendar months) before screening. Never exposed = met."""

    type: Literal["washout"]
    therapy_classes: list[TherapyClass] = Field(min_length=1)
    min_days: int | None = Field(default=None, ge=1, le=MAX_LOOKBACK_DAYS)
    min_months: int | None = Field(default=None, ge=1, le=MAX_LOOKBACK_MONTHS)

    @model_validator(mode="after")
    def _one_period(self) -> WashoutRule:
        if (self.min_days is None) == (self.min_months is None):
            raise semantic_error([Issue(("min_days",), "give exactly one of min_days or min_months")])
        return self


class ManualRule(_Rule):
    """Confirmed by the investigator: the candidate's ``answers[<criterion id>]`` (true/false)."""

    type: Literal["manual"]
    question: str | None = None


EligibilityRule = Annotated[
    AgeRangeRule
    | Aqp4IggSeropositiveRule
    | DiagnosisRule
    | ImmunosuppressantRefractoryRule
    | RelapseActivityRule
    | EdssRangeRule
    | LabThresholdRule
    | WashoutRule
    | ManualRule,
    Field(discriminator="type"),
]

CRITERION_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]*$"


class Criterion(BaseModel):
    """One inclusion or exclusion criterion: id, protocol text, machine rule, and where it came from."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    id: str = Field(pattern=CRITERION_ID_PATTERN)
    kind: CriterionKind
    text: str = Field(min_length=1)
    rule: EligibilityRule
    source: str | None = None

    @model_validator(mode="after")
    def _polarity(self) -> Criterion:
        if self.kind is CriterionKind.EXCLUSION and isinstance(self.rule, WashoutRule):
            raise semantic_error(
                [
                    Issue(
                        ("kind",),
                        "a washout rule states a requirement; use it in an inclusion criterion",
                        self.kind.value,
                        "inclusion",
                    )
                ]
            )
        return self


class Eligibility(BaseModel):
    """The protocol's inclusion and exclusion criteria."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    criteria: list[Criterion] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Eligibility:
        seen: set[str] = set()
        issues: list[Issue] = []
        for index, criterion in enumerate(self.criteria):
            if criterion.id in seen:
                issues.append(
                    Issue(
                        ("criteria", index, "id"),
                        f"criterion id {criterion.id!r} is used twice",
                        criterion.id,
                    )
                )
            seen.add(criterion.id)
        if issues:
            raise semantic_error(issues)
        return self


__all__ = [
    "MAX_AGE_YEARS",
    "MAX_LOOKBACK_DAYS",
    "MAX_LOOKBACK_MONTHS",
    "ULN_UNIT",
    "AgeRangeRule",
    "Aqp4AssayRequirement",
    "Aqp4IggSeropositiveRule",
    "Comparator",
    "Criterion",
    "CriterionKind",
    "DiagnosisRule",
    "EdssRangeRule",
    "Eligibility",
    "EligibilityRule",
    "ImmunosuppressantRefractoryRule",
    "LabThresholdRule",
    "ManualRule",
    "PoorControlEvidence",
    "RelapseActivityRule",
    "WashoutRule",
]
