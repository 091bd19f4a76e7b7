"""The escalation section of a protocol: design name and parameters, DLT window and DLT rules.

Field names are the contract with `cartrial.escalation` (``design_from_spec(spec, n_doses)``); do not
rename them. Design rules and defaults: ``docs/science/dose-escalation.md`` (3+3 variants section 3; BOIN
section 4;
mTPI-2 section 5; i3+3 section 6; CRM section 7 with the dfcrm prior variance 1.34; TITE-CRM section 8).
Dose levels are 1-based everywhere.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from cartrial.errors import InputError
from cartrial.protocol.design_options import (
    DESIGN_OPTIONS,
    DESIGNS,
    OPTIONS,
    PATIENTS,
    STAGGER_DAYS,
    check_design_options,
    not_for_design,
    spec_options,
)
from cartrial.protocol.dlt import DltRule
from cartrial.protocol.yaml_source import (
    Issue,
    TrueFalse,
    option_error,
    option_issues,
    semantic_error,
)


class DesignName(StrEnum):
    """Dose-escalation designs the protocol can name (docs/science/dose-escalation.md §3-8)."""

    THREE_PLUS_THREE = "3+3"
    BOIN = "boin"
    MTPI2 = "mtpi2"
    I3PLUS3 = "i3+3"
    CRM = "crm"
    TITE_CRM = "tite-crm"


class ThreePlusThreeVariant(StrEnum):
    """3+3 variants (docs/science/dose-escalation.md §3): A = escalation only (Storer 1989), B = with
    de-escalation (Korn 1994)."""

    ESCALATION_ONLY = "escalation_only"
    DEESCALATION = "deescalation"


class CrmModel(StrEnum):
    """CRM dose-toxicity model (docs/science/dose-escalation.md §7.1): empiric power (dfcrm default) or
    logistic."""

    EMPIRIC = "empiric"
    LOGISTIC = "logistic"


class CrmMethod(StrEnum):
    """CRM estimation (docs/science/dose-escalation.md §7.2): posterior mean ("bayes", dfcrm default) or
    "mle"."""

    BAYES = "bayes"
    MLE = "mle"


class TiteScheme(StrEnum):
    """TITE-CRM weight scheme (docs/science/dose-escalation.md §8): linear (dfcrm default) or adaptive."""

    LINEAR = "linear"
    ADAPTIVE = "adaptive"


_TARGET_DESIGNS = {DesignName.BOIN, DesignName.MTPI2, DesignName.I3PLUS3, DesignName.CRM, DesignName.TITE_CRM}
_CRM_DESIGNS = {DesignName.CRM, DesignName.TITE_CRM}
_INTERVAL_DESIGNS = {DesignName.MTPI2, DesignName.I3PLUS3}
_ELIMINATING_DESIGNS = {DesignName.BOIN, DesignName.MTPI2, DesignName.I3PLUS3}

#: Which explicitly given fields each design accepts: read from the one declaration of the design options
#: (`cartrial.protocol.design_options.DESIGN_OPTIONS`), for every option that does not apply to all designs.
_DESIGN_FIELDS: dict[str, set[DesignName]] = {
    option.field: {DesignName(d) for d in option.designs}
    for option in DESIGN_OPTIONS
    if option.designs != frozenset(DESIGNS) and option.field != "dlt_window_days"
}

#: The range of each numeric field, as the option registry declares it (the one declaration of each option;
#: ``dlt_window_days`` is the `window` option of TITE-CRM, the DLT window of every design).
_RANGED_FIELDS: dict[str, str] = {
    option.field: option.name for option in DESIGN_OPTIONS if option.kind in ("float", "int")
}

#: Options added after cartrial 0.1.0: shown by `parameters()` only when set (None = engine default), so the
#: summary of an existing protocol is unchanged.
_OPTIONAL_FIELDS = (
    "incomplete_cohort",
    "require_six_at_top",
    "ptox",
    "integration",
    "conf_level",
    "intercept",
    "exclusion_min_n",
    "extrasafe",
    "offset",
    "deescalate_inequality",
    "bound_mtd",
    "skip_rule",
    "coherent",
    "safety_stop",
    "safety_stop_min_n",
)


class EscalationSpec(BaseModel):
    """Dose-escalation design as data.

    Fields (defaults from ``docs/science/dose-escalation.md``):
    - `design`: one of ``3+3``, ``boin``, ``mtpi2``, ``i3+3``, ``crm``, ``tite-crm``.
    - `variant` (3+3 only): ``deescalation`` (default) or ``escalation_only``. The default is variant
      "B" of docs/science/dose-escalation.md §3 (Korn et al. 1994; it ensures 6 patients at a declared
      MTD below the top level) [P], the same default as the escalation engine; the variants differ
      materially in operating characteristics, so a protocol should state its variant explicitly.
    - `target`: target DLT probability, 0.05 to 0.6 (the registry's `TARGET`); required for boin, mtpi2, i3+3,
      crm, tite-crm.
    - `skeleton` (crm/tite-crm, required): prior DLT probabilities, strictly increasing in (0, 1), one
      per dose level.
    - `prior_var` (crm/tite-crm): prior variance of beta, default 1.34 (dfcrm 0.2-2.1 ``crm``, scale =
      sqrt(1.34); docs/science/dose-escalation.md §7.1 [V]).
    - `model` ``empiric`` | ``logistic`` (default empiric), `method` ``bayes`` | ``mle`` (default bayes),
      `tite_scheme` ``linear`` | ``adaptive`` (tite-crm; default linear).
    - `cutoff_eliminate` (boin/mtpi2/i3+3): elimination posterior cut-off, default 0.95 (BOIN 2.7.2
      ``cutoff.eli``; mTPI-2/i3+3 xi = 0.95).
    - `phi1`, `phi2` (boin): sub-therapeutic / overly toxic rates; None means 0.6 × and 1.4 × target
      (Liu & Yuan 2015, docs/science/dose-escalation.md §4.1). `eps1`, `eps2` (mtpi2/i3+3): equivalence
      interval half-widths below/above the target; None means the engine's default (0.05).
    - `cohort_size` (default 3), `max_n` (maximum total patients; None for 3+3 means "by the rule"),
      `stop_n_at_dose` (stop when this many are at the recommended dose; None = off), `no_skip`
      (default True: never escalate more than one level above the current dose, R `escalation` 0.2.3
      `dont_skip_doses`; `skip_rule: highest_tried` caps at the highest level tried + 1 instead),
      `start_level` (1-based, default 1).
    - Every other design option of `cartrial.protocol.design_options.DESIGN_OPTIONS` under its own name
      (None = the engine's documented default): `incomplete_cohort`, `require_six_at_top` (3+3); `ptox`,
      `integration`, `conf_level`, `intercept`, `safety_stop` (crm/tite-crm: stop with no dose when
      P(p_1 > target) > it, Zohar & Chevret 2001; not given: no safety stop, as dfcrm, D-19.478),
      `safety_stop_min_n` (patients at level 1 before that stop may act, default
      `design_options.SAFETY_STOP_MIN_N`, D-19.479);
      `exclusion_min_n` (mtpi2/i3+3, default 3;
      0 = R `escalation` 0.2.3); `extrasafe`, `offset`, `deescalate_inequality`, `bound_mtd` (boin);
      `skip_rule` (with `no_skip`: ``current`` = R `dont_skip_doses`, default; ``highest_tried``) and
      `coherent` (all designs).
    - `dlt_window_days`: DLT observation window after infusion (day 0), days (more than 0, at most 3650:
      the registry's `window`).
    - `stagger_days`: minimum days between the first and the next patient of a cohort (sentinel dosing;
      default 0; NCT07488546 used 14 [V for that trial]).
    - `dlt_rules`: the DLT definition as `DltRule`s.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    design: DesignName
    variant: ThreePlusThreeVariant = ThreePlusThreeVariant.DEESCALATION
    # the range of each numeric option is the registry's (`_RANGED_FIELDS`, checked by `_in_range`)
    target: float | None = None
    skeleton: list[float] | None = None
    prior_var: float = 1.34
    model: CrmModel = CrmModel.EMPIRIC
    method: CrmMethod = CrmMethod.BAYES
    tite_scheme: TiteScheme = TiteScheme.LINEAR
    cutoff_eliminate: float = 0.95
    phi1: float | None = None
    phi2: float | None = None
    eps1: float | None = None
    eps2: float | None = None
    cohort_size: int = 3
    max_n: int | None = None
    stop_n_at_dose: int | None = None
    no_skip: TrueFalse = True
    start_level: int = 1
    incomplete_cohort: Literal["decide", "complete"] | None = None
    require_six_at_top: TrueFalse | None = None
    ptox: Literal["plugin", "posterior_mean"] | None = None
    integration: Literal["grid", "quad"] | None = None
    conf_level: float | None = None
    intercept: float | None = None
    exclusion_min_n: int | None = None
    extrasafe: TrueFalse | None = None
    offset: float | None = None
    deescalate_inequality: Literal["strict", "non_strict"] | None = None
    bound_mtd: TrueFalse | None = None
    skip_rule: Literal["current", "highest_tried"] | None = None
    coherent: TrueFalse | None = None
    safety_stop: float | None = None
    safety_stop_min_n: int | None = None
    dlt_window_days: int
    stagger_days: int = 0
    dlt_rules: list[DltRule] = Field(default_factory=list)

    @field_validator(*_RANGED_FIELDS)
    @classmethod
    def _in_range(cls, value: object, info: ValidationInfo) -> object:
        """A numeric option outside its registry declaration: "out of range", allowed as declared (the
        protocol reader locates it: file, line, key)."""
        field = str(info.field_name)
        problem = OPTIONS[_RANGED_FIELDS[field]].problem(value, field)
        if problem is not None:
            raise option_error(problem)
        return value

    @field_validator("stagger_days", mode="before")
    @classmethod
    def _stagger(cls, value: object) -> object:
        """`STAGGER_DAYS` (0 to 3650 days): 10^12 days passed, and `simulate study` then refused the study
        as running past the year 9999, naming the expansion cohort."""
        problem = STAGGER_DAYS.problem("stagger_days", value)
        if problem is not None:
            raise option_error(problem)
        return value

    @model_validator(mode="after")
    def _valid_for_design(self) -> EscalationSpec:
        issues: list[Issue] = []
        design = self.design
        for name, designs in _DESIGN_FIELDS.items():
            # a key given with a non-default value for a design it does not apply to (the defaults are
            # tolerated so that a full dump of a valid spec validates again)
            given = name in self.model_fields_set
            if (
                given
                and design not in designs
                and getattr(self, name) != type(self).model_fields[name].default
            ):
                wrong = not_for_design(name, design.value, getattr(self, name), {d.value for d in designs})
                issues.append(Issue((name,), wrong.message, wrong.value, wrong.allowed))
        if design in _TARGET_DESIGNS and self.target is None:
            issues.append(Issue(("target",), f"design {design.value!r} needs a target DLT probability"))
        if design in _CRM_DESIGNS:
            if self.skeleton is None:
                issues.append(Issue(("skeleton",), f"design {design.value!r} needs a skeleton"))
            else:
                issues.extend(_skeleton_issues(self.skeleton))
        if design in _CRM_DESIGNS and self.method is CrmMethod.MLE:
            # the trial starts without a DLT, where the likelihood has no maximum (the engine refuses, as
            # dfcrm's crm needs heterogeneity); a two-stage start (dfcrm crmsim x0) is not offered (D-19.36)
            issues.append(
                Issue(
                    ("method",),
                    "a CRM by maximum likelihood cannot choose the first doses (no DLT yet: the likelihood "
                    "has no maximum) and cartrial offers no two-stage start",
                    self.method.value,
                    "bayes",
                )
            )
        if design is DesignName.THREE_PLUS_THREE and self.cohort_size != 3:
            issues.append(Issue(("cohort_size",), "a 3+3 design treats cohorts of 3", self.cohort_size, "3"))
        if design is not DesignName.THREE_PLUS_THREE and self.max_n is None:
            issues.append(Issue(("max_n",), f"design {design.value!r} needs a maximum sample size max_n"))
        if self.target is not None and design in _INTERVAL_DESIGNS:
            low = self.target - (self.eps1 if self.eps1 is not None else 0.05)
            high = self.target + (self.eps2 if self.eps2 is not None else 0.05)
            if low <= 0 or high >= 1:
                issues.append(
                    Issue(
                        ("eps1",),
                        "the equivalence interval must lie inside (0, 1)",
                        (low, high),
                        "0 < ... < 1",
                    )
                )
        if self.max_n is not None and self.cohort_size > self.max_n:
            issues.append(
                Issue(("cohort_size",), "cohort_size exceeds max_n", self.cohort_size, f"≤ {self.max_n}")
            )
        if self.max_n is not None and self.stop_n_at_dose is not None and self.stop_n_at_dose > self.max_n:
            issues.append(
                Issue(
                    ("stop_n_at_dose",),
                    "stop_n_at_dose exceeds max_n",
                    self.stop_n_at_dose,
                    f"≤ {self.max_n}",
                )
            )
        # the escalation engine's own check of the design options (`assemble_design` makes it again when the
        # design is built): the rules between options, e.g. skip_rule only with no_skip, BOIN's phi1/phi2 and
        # extrasafe offset (`boin_option_problems`, D-19.1116; each numeric field's
        # registry range was checked at its key by `_in_range`)
        try:
            check_design_options(design.value, None, spec_options(self), strict=False)
        except InputError as error:
            located = {issue.path for issue in issues}
            issues += [
                issue
                for issue in option_issues(
                    error, lambda name: (OPTIONS[name].field if name in OPTIONS else name,)
                )
                if issue.path not in located
            ]
        seen: dict[str, int] = {}
        for index, rule in enumerate(self.dlt_rules):
            if rule.id in seen:
                issues.append(
                    Issue(
                        ("dlt_rules", index, "id"),
                        f"DLT rule id {rule.id!r} is used twice",
                        rule.id,
                        "unique ids",
                    )
                )
            seen.setdefault(rule.id, index)
        if issues:
            raise semantic_error(issues)
        return self

    def parameters(self) -> dict[str, object]:
        """The parameters that apply to this design (for display and for recording in outputs)."""
        data = self.model_dump(mode="json", exclude={"dlt_rules"})
        return {
            key: value
            for key, value in data.items()
            if (key not in _DESIGN_FIELDS or self.design in _DESIGN_FIELDS[key])
            and not (key in _OPTIONAL_FIELDS and value is None)
        }


def _skeleton_issues(skeleton: list[float]) -> list[Issue]:
    issues: list[Issue] = []
    if not skeleton:
        return [Issue(("skeleton",), "the skeleton is empty", None, "one probability per dose level")]
    rule = OPTIONS["skeleton"].rule  # each value, as the registry declares it
    for index, value in enumerate(skeleton):
        if (problem := rule.problem("skeleton", value)) is not None:
            issues.append(Issue(("skeleton", index), problem.message, value, problem.allowed))
    for index in range(1, len(skeleton)):
        if skeleton[index] <= skeleton[index - 1]:
            issues.append(
                Issue(
                    ("skeleton", index),
                    f"the skeleton must be strictly increasing (level {index + 1} not above level {index})",
                    skeleton[index],
                    f"> {skeleton[index - 1]}",
                )
            )
    return issues


class ExpansionSpec(BaseModel):
    """Expansion cohort: `n_patients` more patients at the 1-based `dose_level`."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    dose_level: int = Field(ge=1, description="1-based dose level number.")
    n_patients: int
    notes: str | None = None

    @field_validator("n_patients", mode="before")
    @classmethod
    def _patients(cls, value: object) -> object:
        """The escalation engine's rule for an expansion cohort (`PATIENTS`, the `ExpansionCohort` behaviour
        that `simulate` builds from this section): 1 to 10000."""
        problem = PATIENTS.problem("n_patients", value)
        if problem is not None:
            raise option_error(problem)
        return value


__all__ = [
    "CrmMethod",
    "CrmModel",
    "DesignName",
    "EscalationSpec",
    "ExpansionSpec",
    "ThreePlusThreeVariant",
    "TiteScheme",
]
