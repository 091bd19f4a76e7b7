"""Cell dose per dose level and body-surface-area-based lymphodepletion doses.

CAR-T cell doses are weight-based: total CAR+ T cells = cells/kg × actual body weight (kg), optionally
capped at a maximum total (docs/science/ct103a-nmosd-trial.md §3: level 1 = 0.5×10^6 and level 2 =
1.0×10^6 CAR+ T cells/kg [V]). Lymphodepletion chemotherapy is dosed per m² of body surface area (BSA);
the registry regimen of NCT04561557 is cyclophosphamide 300 mg/m²/day and fludarabine 30 mg/m²/day on
days −4, −3 and −2 [V].

BSA formulas:
- Mosteller RD. Simplified calculation of body-surface area. *N Engl J Med* 1987;317:1098:
  BSA (m²) = sqrt(height (cm) × weight (kg) / 3600). Default.
- Du Bois D, Du Bois EF. A formula to estimate the approximate surface area if height and weight be
  known. *Arch Intern Med* 1916;17:863-871: BSA (m²) = 0.007184 × weight (kg)^0.425 × height (cm)^0.725.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cartrial.errors import InputError, Problem
from cartrial.protocol.yaml_source import Issue, TrueFalse, semantic_error
from cartrial.rounding import EXACT, half_up, significant, significant_decimal, written

if TYPE_CHECKING:
    from cartrial.protocol.model import Protocol

#: Plausible adult body weight and height ranges accepted by the calculators (input sanity, not
#: eligibility): a value outside is almost certainly a unit error (lb for kg, m for cm).
WEIGHT_LIMITS_KG = (1.0, 500.0)
HEIGHT_LIMITS_CM = (30.0, 272.0)

#: Largest dose a protocol may state (docs/science/decisions.md D-19.33): 10^12 CAR+ T cells per kg is above
#: the body's own cell count per kg (about 3.7×10^13 cells in 70 kg, Bianconi E et al., Ann Hum Biol
#: 2013;40:463), so a larger value is a unit error; the cap on the total is that dose at the heaviest weight
#: the calculators accept. Unbounded, 1.7e308 cells/kg passed the check and the dose for 50 kg overflowed to
#: infinity (`protocol show` failed).
MAX_CELLS_PER_KG = 1e12
MAX_TOTAL_CELLS = MAX_CELLS_PER_KG * WEIGHT_LIMITS_KG[1]
#: Lowest product concentration (CAR+ cells per mL): below it the infusion volume of the largest dose
#: overflows; real products hold 10^5 to 10^8 cells/mL.
MIN_CONCENTRATION_CELLS_PER_ML = 1.0
#: Largest lymphodepletion dose per m² and day (mg): 100 g/m²/day is far above any regimen (cyclophosphamide
#: at most a few g/m²/day); unbounded, 1.7e308 mg/m² gave infinite daily doses.
MAX_LD_DOSE_MG_PER_M2 = 1e5


class BsaMethod(StrEnum):
    """Body-surface-area formula (Mosteller 1987 is the default; DuBois & DuBois 1916 on request)."""

    MOSTELLER = "mosteller"
    DUBOIS = "dubois"


class DoseRoundingMethod(StrEnum):
    """How the total cell dose is rounded: not at all, or to a number of significant figures."""

    NONE = "none"
    SIGNIFICANT_FIGURES = "significant_figures"


class DoseRounding(BaseModel):
    """Rounding rule for the total CAR+ cell dose and the infusion volume.

    Default: **no rounding** — the total is exactly cells/kg × kg, as protocols state the dose
    (docs/science/ct103a-nmosd-trial.md §3 gives doses per kg and no rounding rule [U]); the volume is
    likewise
    exact. Options: ``method: significant_figures`` rounds the total half-up (decimal arithmetic) to
    `significant_figures` (default 3) before the cap is applied, so rounding never takes a dose above its
    cap; `volume_ml_decimals` rounds the volume half-up to that many decimals (e.g. 1 for 0.1 mL). The
    total and the volume are computed from the numbers as written (cells/kg, kg, cells/mL) in decimal
    arithmetic, so a tie is a tie: 0.5×10^6 × 64.1 kg = 32,050,000 rounds to 3.21×10^7 (in binary the
    product is 32049999.999999996, which rounded to 3.20×10^7; D-19.1014). The rule used is recorded in
    every `DoseCalculation` (`rounding`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    method: DoseRoundingMethod = DoseRoundingMethod.NONE
    significant_figures: int = Field(default=3, ge=1, le=15)
    volume_ml_decimals: int | None = Field(default=None, ge=0, le=6)

    def describe(self) -> str:
        cells = (
            "total cells not rounded (cells/kg × kg), then capped"
            if self.method is DoseRoundingMethod.NONE
            else f"total cells rounded half-up to {self.significant_figures} significant figures, then capped"
        )
        volume = (
            "volume not rounded"
            if self.volume_ml_decimals is None
            else f"volume rounded half-up to {self.volume_ml_decimals} decimal place(s) in mL"
        )
        return f"{cells}; {volume}"


def _share(value: Decimal, percent: float) -> Decimal:
    """`percent` % of `value`, exact (decimal arithmetic on the numbers as written; D-19.1018)."""
    if percent == 100:
        return value
    return EXACT.divide(EXACT.multiply(value, written(percent)), Decimal(100))


def round_significant(value: float, figures: int) -> float:
    """`value` rounded half-up to `figures` significant figures (decimal arithmetic: 3.665e7 → 3.67e7):
    `cartrial.rounding.significant`, the one significant-digit rounding (D-19.1057)."""
    return significant(value, figures)


class DoseLevel(BaseModel):
    """One dose level of the protocol: a weight-based CAR+ T-cell dose.

    `level` is the 1-based number (1 = lowest) used everywhere else (escalation, expansion, data);
    `label` is the human-readable name. `max_total_cells` caps the total dose for heavy patients;
    `min_weight_kg`/`max_weight_kg` bound the weights for which the dose is defined;
    `concentration_cells_per_ml` (CAR+ cells per mL of final product) gives the infusion volume.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    level: int = Field(ge=1, description="1-based dose level number (1 = lowest).")
    label: str = Field(min_length=1)
    cells_per_kg: float = Field(gt=0, le=MAX_CELLS_PER_KG, description="CAR+ T cells per kg of body weight.")
    max_total_cells: float | None = Field(
        default=None, gt=0, le=MAX_TOTAL_CELLS, description="Cap on total CAR+ T cells."
    )
    min_weight_kg: float | None = Field(default=None, gt=0, le=WEIGHT_LIMITS_KG[1])
    max_weight_kg: float | None = Field(default=None, gt=0, le=WEIGHT_LIMITS_KG[1])
    concentration_cells_per_ml: float | None = Field(default=None, ge=MIN_CONCENTRATION_CELLS_PER_ML)
    notes: str | None = None

    @model_validator(mode="after")
    def _bounds_ordered(self) -> DoseLevel:
        issues: list[Issue] = []
        if (
            self.min_weight_kg is not None
            and self.max_weight_kg is not None
            and self.min_weight_kg >= self.max_weight_kg
        ):
            issues.append(
                Issue(
                    ("max_weight_kg",),
                    f"max_weight_kg must be greater than min_weight_kg ({self.min_weight_kg})",
                    self.max_weight_kg,
                    f"> {self.min_weight_kg}",
                )
            )
        if issues:
            raise semantic_error(issues)
        return self


@dataclass(frozen=True)
class DoseCalculation:
    """The cell dose for one patient at one dose level (units in the names).

    `uncapped_total_cells` = cells_per_kg × weight_kg; `total_cells` is after rounding and the cap;
    `effective_cells_per_kg` = total_cells / weight_kg, the delivered dose per kg (below the nominal dose when
    the cap applied; exactly `cells_per_kg` when neither rounding nor the cap changed the total).
    `volume_ml` is None when the product concentration is not known.
    """

    level: int
    label: str
    weight_kg: float
    cells_per_kg: float
    uncapped_total_cells: float
    total_cells: float
    cap_applied: bool
    max_total_cells: float | None
    effective_cells_per_kg: float
    concentration_cells_per_ml: float | None
    volume_ml: float | None
    rounding: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _check_measure(name: str, value: float, limits: tuple[float, float], unit: str) -> None:
    """`InputError` at the field `name` when `value` is not a number in `limits`; the message does not repeat
    `name` (the field names it, and a caller may rename the field: `protocol show` names its option,
    D-19.1047)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(Problem("must be a number", field=name, value=value))
    if not limits[0] <= value <= limits[1]:
        raise InputError(
            Problem(
                "outside the plausible range",
                field=name,
                value=value,
                allowed=f"{limits[0]:g} to {limits[1]:g} {unit}",
            )
        )


def dose_for(
    source: Protocol | DoseLevel,
    weight_kg: float,
    level: int | None = None,
    rounding: DoseRounding | None = None,
) -> DoseCalculation:
    """Total CAR+ T cells (and infusion volume) for a patient of `weight_kg` at a dose level.

    `source` is a `DoseLevel` or a `Protocol` (then `level`, 1-based, picks the level and the protocol's
    ``dose_rounding`` applies). Computation, in decimal arithmetic on the numbers as written (D-19.1014):
    uncapped = cells_per_kg × weight_kg; rounded by the rounding rule (`DoseRounding`; default none); then
    capped at ``max_total_cells`` (``cap_applied`` says whether it bound); volume_ml = total_cells /
    concentration_cells_per_ml (rounded only if the rule says so); each result is the float nearest it.
    Weight outside the level's ``min_weight_kg``/``max_weight_kg`` (or outside 1-500 kg) is an
    `InputError`. Source of the weight-based dosing: docs/science/ct103a-nmosd-trial.md §3
    (doses in CAR+ T cells/kg, NCT04561557). 0.5×10^6 cells/kg × 70 kg = 3.5×10^7 cells; with a cap of
    3×10^7 cells the cap binds:

    >>> dose_for(DoseLevel(level=1, label="low", cells_per_kg=5e5), weight_kg=70).total_cells
    35000000.0
    >>> capped = dose_for(DoseLevel(level=1, label="low", cells_per_kg=5e5, max_total_cells=3e7), 70)
    >>> capped.total_cells, capped.cap_applied, capped.effective_cells_per_kg
    (30000000.0, True, 428571.428...)
    """
    if isinstance(source, DoseLevel):
        dose_level = source
        if level is not None and level != dose_level.level:
            raise InputError(
                Problem(f"level {level} asked for, but dose level {dose_level.level} given", field="level")
            )
        rule = rounding or DoseRounding()
    else:
        if level is None:
            raise InputError(Problem("a dose level number is needed with a protocol", field="level"))
        dose_level = source.dose_level(level)
        rule = rounding or source.dose_rounding
    _check_measure("weight_kg", weight_kg, WEIGHT_LIMITS_KG, "kg")
    low = dose_level.min_weight_kg
    high = dose_level.max_weight_kg
    if (low is not None and weight_kg < low) or (high is not None and weight_kg > high):
        raise InputError(
            Problem(
                f"weight is outside the bounds of dose level {dose_level.level} ({dose_level.label})",
                field="weight_kg",
                value=weight_kg,
                allowed=f"{low if low is not None else 'any'} to {high if high is not None else 'any'} kg",
            )
        )
    # the product of the numbers as written, in decimal arithmetic (D-19.1014): in binary, 0.5×10^6 × 64.1 kg
    # is 32049999.999999996, not 32,050,000, and rounding it half-up to 3 significant figures gave 3.20×10^7
    exact = EXACT.multiply(written(dose_level.cells_per_kg), written(float(weight_kg)))
    uncapped = float(exact)
    if rule.method is DoseRoundingMethod.SIGNIFICANT_FIGURES:
        exact = significant_decimal(exact, rule.significant_figures)
    total = float(exact)
    cap_applied = False
    if dose_level.max_total_cells is not None and total > dose_level.max_total_cells:
        total = dose_level.max_total_cells
        exact = written(total)
        cap_applied = True
    volume = None
    if dose_level.concentration_cells_per_ml is not None:
        quotient = EXACT.divide(exact, written(dose_level.concentration_cells_per_ml))
        volume = (
            float(quotient)
            if rule.volume_ml_decimals is None
            else float(half_up(quotient, rule.volume_ml_decimals))
        )
    return DoseCalculation(
        level=dose_level.level,
        label=dose_level.label,
        weight_kg=float(weight_kg),
        cells_per_kg=dose_level.cells_per_kg,
        uncapped_total_cells=uncapped,
        total_cells=total,
        cap_applied=cap_applied,
        max_total_cells=dose_level.max_total_cells,
        # exactly the nominal dose when neither rounding nor the cap changed the total (total / weight
        # differs from it in the last bit for about one weight in six)
        effective_cells_per_kg=dose_level.cells_per_kg if total == uncapped else total / float(weight_kg),
        concentration_cells_per_ml=dose_level.concentration_cells_per_ml,
        volume_ml=volume,
        rounding=rule.describe(),
    )


def _bsa_method(method: BsaMethod | str) -> BsaMethod:
    """Accept the enum or its name in any case / spacing ("Mosteller", "DuBois", "du bois", "du_bois")."""
    if isinstance(method, BsaMethod):
        return method
    key = str(method).lower().replace(" ", "").replace("_", "").replace("-", "")
    return BsaMethod(key)


def body_surface_area_m2(weight_kg: float, height_cm: float, method: BsaMethod | str = "mosteller") -> float:
    """Body surface area in m² from weight (kg) and height (cm).

    - ``"mosteller"`` (default): sqrt(height_cm × weight_kg / 3600) — Mosteller RD, *N Engl J Med*
      1987;317:1098 (the formula of the letter's single equation). Default because it is the formula
      most oncology protocols and pharmacy systems use for chemotherapy dosing.
    - ``"dubois"``: 0.007184 × weight_kg^0.425 × height_cm^0.725 — Du Bois D & Du Bois EF, *Arch Intern
      Med* 1916;17:863-871 (the formula as usually restated with weight in kg and height in cm).

    70 kg and 170 cm: Mosteller sqrt(170 × 70 / 3600) = 1.818 m²; DuBois 0.007184 × 70^0.425 × 170^0.725
    = 1.810 m².

    >>> round(body_surface_area_m2(70, 170), 4), round(body_surface_area_m2(70, 170, "dubois"), 4)
    (1.8181, 1.8097)
    """
    try:
        chosen = _bsa_method(method)
    except ValueError:
        raise InputError(
            Problem("unknown BSA method", field="method", value=method, allowed="mosteller, dubois")
        ) from None
    _check_measure("weight_kg", weight_kg, WEIGHT_LIMITS_KG, "kg")
    _check_measure("height_cm", height_cm, HEIGHT_LIMITS_CM, "cm")
    if chosen is BsaMethod.MOSTELLER:
        return math.sqrt(height_cm * weight_kg / 3600.0)
    return 0.007184 * weight_kg**0.425 * height_cm**0.725


class RenalAdjustmentTier(BaseModel):
    """Give `dose_percent` % of the dose when creatinine clearance is below `below_ml_min` mL/min (at or
    below it when `includes_threshold`); 0 % means the agent is not given (contraindicated). `source`
    names where the tier comes from (prescribing information, protocol section).

    Fludarabine, for example (US prescribing information of fludarabine phosphate injection, "Renal
    insufficiency"): creatinine clearance 30 to 70 mL/min/1.73 m² → 20 % dose reduction; below 30 → not
    to be given. As tiers: ``{below_ml_min: 70, includes_threshold: true, dose_percent: 80}`` and
    ``{below_ml_min: 30, dose_percent: 0}``.

    >>> tier = RenalAdjustmentTier(below_ml_min=70, includes_threshold=True, dose_percent=80)
    >>> tier.applies(70.0), tier.applies(70.5), tier.describe()
    (True, False, 'CrCl ≤ 70 mL/min: 80 % of the dose')
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    below_ml_min: float = Field(gt=0)
    dose_percent: float = Field(ge=0, le=100)
    includes_threshold: TrueFalse = False
    source: str | None = None

    def applies(self, clearance_ml_min: float) -> bool:
        """Whether a creatinine clearance (mL/min) falls in this tier."""
        if self.includes_threshold:
            return clearance_ml_min <= self.below_ml_min
        return clearance_ml_min < self.below_ml_min

    def describe(self) -> str:
        """The tier in words, e.g. ``CrCl < 30 mL/min: not given (contraindicated)``."""
        sign = "≤" if self.includes_threshold else "<"
        action = (
            "not given (contraindicated)"
            if self.dose_percent == 0
            else f"{self.dose_percent:g} % of the dose"
        )
        return f"CrCl {sign} {self.below_ml_min:g} mL/min: {action}"


class LymphodepletionAgent(BaseModel):
    """One lymphodepleting drug: mg/m²/day on given days relative to the infusion (day 0).

    `max_daily_dose_mg` caps the per-day dose; `renal_adjustment` lists creatinine-clearance tiers (the
    hook is off unless tiers are given *and* a clearance is passed to `lymphodepletion_doses`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(min_length=1)
    dose_mg_per_m2_per_day: float = Field(gt=0, le=MAX_LD_DOSE_MG_PER_M2)
    days: list[int] = Field(min_length=1, description="Days relative to infusion (day 0); negative.")
    route: str = "IV"
    infusion_minutes: float | None = Field(default=None, gt=0)
    max_daily_dose_mg: float | None = Field(default=None, gt=0)
    renal_adjustment: list[RenalAdjustmentTier] = Field(default_factory=list)
    notes: str | None = None

    def allowed_doses_mg_per_m2(self) -> tuple[float, ...]:
        """The daily doses per m² (mg) this regimen allows: the full dose and, for each renal tier that gives
        the agent (`dose_percent` > 0), its share of it (`renal_adjustment`; 0 % is "not given", no dose).
        What a recorded dose is compared with (the store's LD-DOSE-PROTOCOL edit check, D-19.993).

        >>> LymphodepletionAgent(name="fludarabine", dose_mg_per_m2_per_day=30, days=[-4],
        ...     renal_adjustment=[{"below_ml_min": 70, "dose_percent": 80},
        ...                       {"below_ml_min": 30, "dose_percent": 0}]).allowed_doses_mg_per_m2()
        (30.0, 24.0)
        """
        return tuple(
            float(_share(written(self.dose_mg_per_m2_per_day), percent)) for percent in self.given_percents()
        )

    def given_percents(self) -> tuple[float, ...]:
        """The percentages of the full dose this agent may be given at: 100 and each renal tier's non-zero
        share below it, largest first (0 % is "not given")."""
        shares = sorted(
            {t.dose_percent for t in self.renal_adjustment if 0 < t.dose_percent < 100}, reverse=True
        )
        return (100.0, *(float(p) for p in shares))

    def daily_dose_mg(self, bsa_m2: float, percent: float = 100.0) -> tuple[float, bool, float]:
        """(calculated, capped, final) daily dose in mg on a dosing BSA `bsa_m2` (m², already capped at the
        regimen's ``max_bsa_m2``, `Lymphodepletion.dosing_bsa_m2`) at `percent` of the dose: mg/m²/day × BSA
        × percent / 100, then capped at ``max_daily_dose_mg``. The one rule of `lymphodepletion_doses` and
        of the store's LD-DOSE-PROTOCOL check (D-19.996). The product and the cap comparison are in decimal
        arithmetic on the numbers as written (D-19.1018, as D-19.1014): 25 mg/m² × 1.12 m² is 28 mg, not
        binary's 28.000000000000004, so a cap of 28 mg does not bind.

        >>> LymphodepletionAgent(name="x", dose_mg_per_m2_per_day=25, days=[-4], max_daily_dose_mg=28
        ...     ).daily_dose_mg(1.12)
        (28.0, False, 28.0)
        """
        exact = _share(EXACT.multiply(written(self.dose_mg_per_m2_per_day), written(bsa_m2)), percent)
        calculated = float(exact)
        cap = self.max_daily_dose_mg
        capped = cap is not None and exact > written(cap)
        return calculated, capped, cap if capped and cap is not None else calculated

    @model_validator(mode="after")
    def _days_valid(self) -> LymphodepletionAgent:
        issues: list[Issue] = []
        seen: set[int] = set()
        for index, day in enumerate(self.days):
            if day >= 0:
                issues.append(
                    Issue(("days", index), "lymphodepletion days must be before the infusion", day, "< 0")
                )
            if day in seen:
                issues.append(Issue(("days", index), f"day {day} is listed twice", day, "each day once"))
            seen.add(day)
        thresholds = [tier.below_ml_min for tier in self.renal_adjustment]
        if len(set(thresholds)) != len(thresholds):
            issues.append(
                Issue(("renal_adjustment",), "two renal tiers share a threshold", None, "distinct thresholds")
            )
        else:
            # a lower clearance never gets a larger dose
            by_threshold = sorted(enumerate(self.renal_adjustment), key=lambda item: item[1].below_ml_min)
            for (_, lower), (index, higher) in pairwise(by_threshold):
                if lower.dose_percent > higher.dose_percent:
                    issues.append(
                        Issue(
                            ("renal_adjustment", index, "dose_percent"),
                            f"a lower clearance (< {lower.below_ml_min:g} mL/min) would get a larger dose "
                            f"({lower.dose_percent:g} %) than this tier",
                            higher.dose_percent,
                            f"≥ {lower.dose_percent:g} (doses must not increase as clearance falls)",
                        )
                    )
        if issues:
            raise semantic_error(issues)
        return self


class Lymphodepletion(BaseModel):
    """The lymphodepletion regimen: agents, and the BSA formula used to dose them."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    bsa_method: BsaMethod = BsaMethod.MOSTELLER
    max_bsa_m2: float | None = Field(default=None, gt=0, description="Cap on the BSA used for dosing.")
    agents: list[LymphodepletionAgent] = Field(min_length=1)
    notes: str | None = None

    def dosing_bsa_m2(self, bsa_m2: float) -> float:
        """The BSA (m²) the doses are calculated on: `bsa_m2` capped at ``max_bsa_m2`` when set."""
        return min(bsa_m2, self.max_bsa_m2) if self.max_bsa_m2 is not None else bsa_m2

    def allowed_daily_doses_mg(self, agent: LymphodepletionAgent, bsa_m2: float) -> tuple[float, ...]:
        """The daily doses (mg) `agent` may be given on a patient's BSA `bsa_m2` (m²): at each of its
        `given_percents` (the store does not know the clearance), with the regimen's BSA cap and the
        agent's daily cap (`LymphodepletionAgent.daily_dose_mg`, as `lymphodepletion_doses`; D-19.996).

        >>> cy = LymphodepletionAgent(name="cyclophosphamide", dose_mg_per_m2_per_day=300, days=[-4])
        >>> Lymphodepletion(max_bsa_m2=2.0, agents=[cy]).allowed_daily_doses_mg(cy, 2.4)
        (600.0,)
        """
        bsa = self.dosing_bsa_m2(bsa_m2)
        return tuple(agent.daily_dose_mg(bsa, percent)[2] for percent in agent.given_percents())

    @field_validator("bsa_method", mode="before")
    @classmethod
    def _method_name(cls, value: object) -> object:
        if isinstance(value, str) and not isinstance(value, BsaMethod):
            key = value.lower().replace(" ", "").replace("_", "").replace("-", "")
            return key if key in {m.value for m in BsaMethod} else value
        return value

    @model_validator(mode="after")
    def _unique_agents(self) -> Lymphodepletion:
        names = [agent.name.lower() for agent in self.agents]
        issues = [
            Issue(
                ("agents", i, "name"),
                f"agent {self.agents[i].name!r} is listed twice",
                name,
                "each agent once",
            )
            for i, name in enumerate(names)
            if name in names[:i]
        ]
        if issues:
            raise semantic_error(issues)
        return self


@dataclass(frozen=True)
class AgentDailyDose:
    """One agent's dose on one day for one patient (mg)."""

    agent: str
    day: int
    dose_mg_per_m2: float
    bsa_m2: float
    calculated_mg: float
    renal_dose_percent: float
    cap_applied: bool
    dose_mg: float
    #: the renal tier that fired (with its source), or why none did; None when the agent has no tiers
    renal_rule: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class LymphodepletionPlan:
    """Per-agent, per-day doses for one patient, with the BSA and options used."""

    bsa_m2: float
    bsa_source: str
    bsa_method: str | None
    creatinine_clearance_ml_min: float | None
    doses: tuple[AgentDailyDose, ...]

    def total_mg(self, agent: str) -> float:
        """Total course dose of `agent` in mg: the sum of its daily doses as written, in decimal arithmetic
        (30.45 mg on three days is 91.35 mg, not binary's 91.35000000000001; D-19.1018)."""
        return float(sum((written(d.dose_mg) for d in self.doses if d.agent == agent), Decimal(0)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "bsa_m2": self.bsa_m2,
            "bsa_source": self.bsa_source,
            "bsa_method": self.bsa_method,
            "creatinine_clearance_ml_min": self.creatinine_clearance_ml_min,
            "doses": [d.to_dict() for d in self.doses],
        }


def _renal_percent(agent: LymphodepletionAgent, clearance: float | None) -> tuple[float, str | None]:
    """The percentage of the dose for `clearance` and the rule that gave it (None: the agent has no tiers).
    Of the tiers the clearance falls in, the one with the lowest threshold applies."""
    if not agent.renal_adjustment:
        return 100.0, None
    if clearance is None:
        return 100.0, "no creatinine clearance given: full dose, renal tiers not applied"
    applicable = [tier for tier in agent.renal_adjustment if tier.applies(clearance)]
    if not applicable:
        return 100.0, f"CrCl {clearance:g} mL/min: above every renal tier, full dose"
    tier = min(applicable, key=lambda t: t.below_ml_min)
    source = f" (source: {tier.source})" if tier.source else ""
    return tier.dose_percent, f"CrCl {clearance:g} mL/min → {tier.describe()}{source}"


def lymphodepletion_doses(
    protocol: Protocol | Lymphodepletion,
    weight_kg: float | None = None,
    height_cm: float | None = None,
    method: BsaMethod | str | None = None,
    creatinine_clearance_ml_min: float | None = None,
    bsa_m2: float | None = None,
) -> LymphodepletionPlan:
    """Daily lymphodepletion doses (mg) per agent and day for one patient.

    BSA: from `weight_kg` and `height_cm` with `method` (default: the protocol's ``bsa_method``,
    Mosteller unless set; see `body_surface_area_m2`), or given directly as `bsa_m2`; it is capped at
    the protocol's ``max_bsa_m2`` when set. Dose = mg/m²/day × BSA, times the renal tier's percentage,
    then capped at ``max_daily_dose_mg`` (flag ``cap_applied``). No rounding (pharmacy rounding is a
    local rule). Renal adjustment: when the agent lists ``renal_adjustment`` tiers and
    `creatinine_clearance_ml_min` is passed, the tier with the lowest threshold the clearance falls in
    applies (0 % = not given); each dose records the rule that fired in ``renal_rule`` (without a
    clearance the full dose is given and ``renal_rule`` says the tiers were not applied). Regimen source
    for the reference study: NCT04561557 registry
    (cyclophosphamide 300 mg/m²/day, fludarabine 30 mg/m²/day, days −4 to −2) [V]. Fludarabine
    30 mg/m²/day × 1.7 m² = 51 mg a day, 153 mg over the three days:

    >>> flu = LymphodepletionAgent(name="fludarabine", dose_mg_per_m2_per_day=30, days=[-4, -3, -2])
    >>> plan = lymphodepletion_doses(Lymphodepletion(agents=[flu]), bsa_m2=1.7)
    >>> [dose.dose_mg for dose in plan.doses], round(plan.total_mg("fludarabine"), 6)
    ([51.0, 51.0, 51.0], 153.0)
    """
    regimen = protocol if isinstance(protocol, Lymphodepletion) else protocol.lymphodepletion
    if regimen is None:
        raise InputError(Problem("the protocol has no lymphodepletion section", field="lymphodepletion"))
    if bsa_m2 is not None:
        if weight_kg is not None or height_cm is not None:
            raise InputError(Problem("give either the BSA or weight and height, not both", field="bsa_m2"))
        _check_measure("bsa_m2", bsa_m2, (0.1, 5.0), "m²")
        bsa = float(bsa_m2)
        bsa_source = "given"
        used_method: str | None = None
    else:
        if weight_kg is None or height_cm is None:
            raise InputError(Problem("weight_kg and height_cm (or bsa_m2) are needed", field="bsa_m2"))
        try:
            chosen = _bsa_method(method) if method is not None else regimen.bsa_method
        except ValueError:
            raise InputError(
                Problem("unknown BSA method", field="method", value=method, allowed="mosteller, dubois")
            ) from None
        bsa = body_surface_area_m2(weight_kg, height_cm, chosen)
        bsa_source = f"{chosen.value} formula from {weight_kg:g} kg and {height_cm:g} cm"
        used_method = chosen.value
    if creatinine_clearance_ml_min is not None:
        _check_measure("creatinine_clearance_ml_min", creatinine_clearance_ml_min, (0.0, 400.0), "mL/min")
    if regimen.dosing_bsa_m2(bsa) != bsa and regimen.max_bsa_m2 is not None:
        bsa = regimen.dosing_bsa_m2(bsa)
        bsa_source += f", capped at {regimen.max_bsa_m2:g} m²"
    doses: list[AgentDailyDose] = []
    for agent in regimen.agents:
        percent, renal_rule = _renal_percent(agent, creatinine_clearance_ml_min)
        calculated, capped, final = agent.daily_dose_mg(bsa, percent)
        for day in sorted(agent.days):
            doses.append(
                AgentDailyDose(
                    agent=agent.name,
                    day=day,
                    dose_mg_per_m2=agent.dose_mg_per_m2_per_day,
                    bsa_m2=bsa,
                    calculated_mg=calculated,
                    renal_dose_percent=percent,
                    cap_applied=capped,
                    dose_mg=final,
                    renal_rule=renal_rule,
                )
            )
    doses.sort(key=lambda d: (d.day, [a.name for a in regimen.agents].index(d.agent)))
    return LymphodepletionPlan(
        bsa_m2=bsa,
        bsa_source=bsa_source,
        bsa_method=used_method,
        creatinine_clearance_ml_min=creatinine_clearance_ml_min,
        doses=tuple(doses),
    )


__all__ = [
    "HEIGHT_LIMITS_CM",
    "MAX_CELLS_PER_KG",
    "MAX_LD_DOSE_MG_PER_M2",
    "MAX_TOTAL_CELLS",
    "MIN_CONCENTRATION_CELLS_PER_ML",
    "WEIGHT_LIMITS_KG",
    "AgentDailyDose",
    "BsaMethod",
    "DoseCalculation",
    "DoseLevel",
    "DoseRounding",
    "DoseRoundingMethod",
    "Lymphodepletion",
    "LymphodepletionAgent",
    "LymphodepletionPlan",
    "RenalAdjustmentTier",
    "body_surface_area_m2",
    "dose_for",
    "lymphodepletion_doses",
    "round_significant",
]
