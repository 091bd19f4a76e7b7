"""The scenario file: what a virtual trial assumes (population, accrual, models), validated like the protocol.

A scenario is one YAML file (`load_scenario`) that names a protocol file (relative to the scenario) and gives
the models of docs/simulation.md. Every problem is reported at once with its line (`cartrial.errors.
InputError`, the protocol's YAML reader `cartrial.protocol.yaml_source`). Every parameter carries a default
whose source or "assumption" note is in docs/simulation.md (§2-§7); a scenario may add a ``source`` note per
section.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from cartrial.allowed import SIMULATED_RESIDUAL_LOG_SD, Allowed
from cartrial.errors import InputError, Problem
from cartrial.protocol.candidate import SCREENING_DATES, screening_date_problem
from cartrial.protocol.design_options import PATIENTS
from cartrial.protocol.yaml_source import (
    SEMANTIC_ERROR_TYPE,
    Issue,
    allowed_from_ctx,
    option_error,
    parse_yaml_model,
    plain_message,
    read_text_file,
    semantic_error,
)

MAX_TRIALS = 1_000_000
TRIALS = Allowed(low=1, high=MAX_TRIALS, integer=True)
"""Virtual trials of one run (`simulate_trials`, `simulate trial --trials`, a sweep grid's `trials`)."""
EXPANSION_PATIENTS = PATIENTS
"""Size of a resized expansion cohort (`DesignSettings.expansion_patients`, `simulate study
--expansion-patients`): the protocol's rule for an expansion cohort (`ExpansionSpec.n_patients`, the
escalation engine's `PATIENTS`, 1 to 10000). It declared 1 to 100000, so 10001 to 100000 passed the scenario
and the option and were refused later by the protocol's rule without file, line or option (D-19.339)."""

SCENARIO_SCHEMA_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Normal(_Model):
    """A normal distribution truncated to [min, max] (values outside are redrawn by clipping)."""

    mean: float
    sd: float = Field(ge=0)
    min: float | None = None
    max: float | None = None


LOGIT_LIMIT = 50.0
"""Largest |intercept|, |slope| or |covariate effect| of a logit or log-scale model term: e^50 already
saturates any probability; 1e308 overflowed (numpy warnings, a sweep written with exit 0)."""
Coefficient = Annotated[float, Field(ge=-LOGIT_LIMIT, le=LOGIT_LIMIT)]


class LogNormal(_Model):
    """A log-normal distribution: median and SD of the natural log (≤ 5: a factor of about 150 per SD)."""

    median: float = Field(gt=0)
    sd_log: float = Field(default=0.0, ge=0, le=5)
    max: float | None = None


class Correlation(_Model):
    """A correlation between two population covariates (Gaussian copula on their normal scores)."""

    between: tuple[str, str]
    rho: float = Field(gt=-1, lt=1)


def _plausible_covariates() -> dict[str, Allowed]:
    from cartrial.protocol.dosing import HEIGHT_LIMITS_CM, WEIGHT_LIMITS_KG

    return {
        "age_years": Allowed(low=0, high=130, unit="years"),  # the candidate model's age (Candidate)
        "weight_kg": Allowed(low=WEIGHT_LIMITS_KG[0], high=WEIGHT_LIMITS_KG[1], unit="kg"),  # dosing's
        "height_cm": Allowed(low=HEIGHT_LIMITS_CM[0], high=HEIGHT_LIMITS_CM[1], unit="cm"),  # dosing's
        "edss": Allowed(low=0, high=10),  # the EDSS scale
        "aqp4_log10_titre": Allowed(low=0, high=6),  # end-point titres 1 to 1:10^6 (the grid: 1:10-1:10^4)
    }


PLAUSIBLE_COVARIATES: dict[str, Allowed] = _plausible_covariates()
"""The range of each normally distributed population covariate (D-19.335): its mean, min and max lie in it,
min ≤ max, the SD is at most its width, and every draw is kept in it (`population._normal`); these are the
ranges the screening and dosing engines accept, so no virtual candidate can fail their checks."""


def _covariate_range_issues(population: Any) -> list[Issue]:
    issues: list[Issue] = []
    for name, rule in PLAUSIBLE_COVARIATES.items():
        spec: Normal = getattr(population, name)
        width = float(rule.high or 0) - float(rule.low or 0)
        for key in ("mean", "min", "max"):
            value = getattr(spec, key)
            if value is not None and (problem := rule.problem(key, value)):
                issues.append(Issue((name, key), problem.message, value, problem.allowed))
        if spec.sd > width:
            issues.append(
                Issue((name, "sd"), "SD wider than the covariate's range", spec.sd, f"0 to {width:g}")
            )
        if spec.min is not None and spec.max is not None and spec.min > spec.max:
            issues.append(Issue((name, "min"), "min above max", spec.min, f"at most max ({spec.max:g})"))
    return issues


POPULATION_COVARIATES: tuple[str, ...] = (
    "age_years",
    "weight_kg",
    "disease_duration_years",
    "relapses_24m",
    "edss",
    "aqp4_log10_titre",
)
"""Covariates that take part in the Gaussian copula (names usable in `correlations`)."""


class Screening(_Model):
    """Screening mix: the share of candidates with each eligibility-relevant feature (the protocol's rules,
    evaluated by `cartrial.protocol.screen`, decide who is eligible)."""

    aqp4_positive_fraction: float = Field(default=0.95, ge=0, le=1)
    aqp4_cell_based_fraction: float = Field(default=0.9, ge=0, le=1)
    refractory_fraction: float = Field(default=0.9, ge=0, le=1)
    recent_b_cell_depletion_fraction: float = Field(default=0.1, ge=0, le=1)
    active_infection_fraction: float = Field(default=0.03, ge=0, le=1)
    pregnancy_fraction: float = Field(default=0.01, ge=0, le=1)
    cardiac_fraction: float = Field(default=0.02, ge=0, le=1)
    neutrophils_10e9_l: LogNormal = LogNormal(median=3.5, sd_log=0.35)
    platelets_10e9_l: LogNormal = LogNormal(median=220, sd_log=0.25)
    alt_x_uln: LogNormal = LogNormal(median=0.6, sd_log=0.5)
    creatinine_clearance_ml_min: LogNormal = LogNormal(median=105, sd_log=0.25)


class Population(_Model):
    """Virtual candidates (docs/simulation.md §2)."""

    age_years: Normal = Normal(mean=45, sd=12, min=16, max=80)
    female_fraction: float = Field(default=0.85, ge=0, le=1)
    weight_kg: Normal = Normal(mean=62, sd=11, min=38, max=130)
    height_cm: Normal = Normal(mean=162, sd=7, min=140, max=200)
    disease_duration_years: LogNormal = LogNormal(median=5.0, sd_log=0.7, max=40)
    relapses_24m: LogNormal = LogNormal(median=3.0, sd_log=0.45, max=12)
    edss: Normal = Normal(mean=4.0, sd=1.6, min=0, max=8.5)
    aqp4_log10_titre: Normal = Normal(mean=2.5, sd=0.5, min=1.0, max=4.0)
    correlations: list[Correlation] = Field(default_factory=list)
    screening: Screening = Screening()

    @model_validator(mode="after")
    def _known_covariates(self) -> Population:
        issues = _covariate_range_issues(self)
        seen: dict[frozenset[str], int] = {}
        for i, c in enumerate(self.correlations):
            for name in c.between:
                if name not in POPULATION_COVARIATES:
                    issues.append(
                        Issue(
                            ("correlations", i, "between"),
                            "unknown covariate",
                            name,
                            ", ".join(POPULATION_COVARIATES),
                        )
                    )
            if c.between[0] == c.between[1]:
                issues.append(Issue(("correlations", i, "between"), "a covariate with itself", c.between[0]))
            pair = frozenset(c.between)
            if pair in seen:  # two values for one pair: never silently the last one (D-19.336)
                issues.append(
                    Issue(
                        ("correlations", i, "between"),
                        f"pair given twice (first as correlation {seen[pair]})",
                        "~".join(c.between),
                        "each pair once",
                    )
                )
            seen.setdefault(pair, i)
        if issues:
            raise semantic_error(issues)
        return self


#: The latest accrual start: a century before the end of the screening dates, the room a study's accrual,
#: follow-up and cut-off (`MAX_STUDY_DAY`) need (D-19.370).
LATEST_ACCRUAL_START = dt.date(SCREENING_DATES[1].year - 100, 12, 31)
#: The latest study day a scenario names (`data_cutoff_day`): a century (D-19.369).
MAX_STUDY_DAY = 36500.0
MAX_FOLLOW_UP_DAYS = 3650.0
"""The longest follow-up of a scenario (`follow_up_days`, ten years), the bound of `kinetics.persistence_day`
too (D-19.605)."""


class Accrual(_Model):
    """Screening candidates arrive as a Poisson process (`candidates_per_month`), or on the listed `dates`
    (one candidate per date, in order; past the list, at the list's mean rate — the share of trials that
    needed more candidates than listed is reported)."""

    candidates_per_month: float = Field(default=2.0, ge=0.1, le=1000, description="0.1 to 1000 (D-19.369)")
    start_date: str = Field(default="2021-04-01", pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    dates: list[dt.date] | None = Field(default=None, min_length=2, max_length=100_000)
    site_country: str = Field(default="China", min_length=1, max_length=80)
    """Country of the virtual site, as a site records it (ISO 3166-1 name or code; the reference study's by
    default): `simulate study` writes it to sites.csv, and the CDISC export needs it (DM.COUNTRY)."""
    site_time_zone: str = Field(default="UTC", min_length=1, max_length=64)
    """IANA time zone of the virtual site's clock (e.g. Asia/Shanghai, the reference study's site):
    `simulate study` writes it to sites.csv and times each assessment on that clock — the study days are
    the site's calendar days and a day-0 assessment is before or after the infusion instant as the
    protocol places it (D-19.856)."""

    @field_validator("site_time_zone")
    @classmethod
    def _site_time_zone_is_iana(cls, value: str) -> str:
        """The store's one rule of a site's time zone (`cartrial.columns.time_zone_of`, D-19.607): a place's
        IANA zone, not a folder (``America``), ``localtime``, ``Factory``, ``posixrules`` or a ``right/``
        copy (D-19.859)."""
        from cartrial.columns import time_zone_of

        if time_zone_of(value) is None:
            raise option_error(
                Problem(
                    "not an IANA time zone",
                    field="site_time_zone",
                    value=value,
                    allowed="an IANA time zone such as Asia/Shanghai, Europe/Berlin or UTC",
                )
            )
        return value

    @field_validator("site_country")
    @classmethod
    def _site_country_is_iso(cls, value: str) -> str:
        from cartrial.countries import COUNTRY_ALLOWED, country_alpha3

        if country_alpha3(value) is None:
            raise option_error(
                Problem(
                    "not a country ISO 3166-1 knows",
                    field="site_country",
                    value=value,
                    allowed=COUNTRY_ALLOWED,
                )
            )
        return value

    @field_validator("start_date")
    @classmethod
    def _start_is_a_screening_date(cls, value: str) -> str:
        """A calendar date on which virtual candidates can be screened (`SCREENING_DATES`: from 1900); an
        earlier start ended in a traceback when the first candidate was screened (D-19.24)."""
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise option_error(
                Problem("not a calendar date", field="start_date", value=value, allowed="YYYY-MM-DD")
            ) from None
        problem = screening_date_problem(day, "start_date")
        if problem is None and day > LATEST_ACCRUAL_START:
            # a later start left no room for the study: screening a year later ended in an unlocated
            # "months: … leaves the calendar" (D-19.370)
            problem = Problem(
                "too late to accrue and follow a study",
                field="start_date",
                value=value,
                allowed=f"{SCREENING_DATES[0]} to {LATEST_ACCRUAL_START}",
            )
        if problem is not None:
            raise option_error(problem)
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Accrual:
        if self.dates is not None:
            start = dt.date.fromisoformat(self.start_date)
            if any(b < a for a, b in zip(self.dates, self.dates[1:], strict=False)) or self.dates[0] < start:
                raise semantic_error(
                    [
                        Issue(
                            ("dates",),
                            "dates must be in order and not before start_date",
                            None,
                            "ordered dates",
                        )
                    ]
                )
        return self

    def arrival_days(self) -> list[float] | None:
        """The listed arrivals as study days (day 0 = `start_date`)."""
        if self.dates is None:
            return None
        start = dt.date.fromisoformat(self.start_date)
        return [float((d - start).days) for d in self.dates]


class Manufacturing(_Model):
    failure_probability: float = Field(default=0.03, ge=0, lt=1)
    vein_to_vein_days: LogNormal = LogNormal(median=28, sd_log=0.2, max=120)


class Dropout(_Model):
    hazard_per_year: float = Field(default=0.03, ge=0, le=10)


class Kinetics(_Model):
    """Stein 2019 cellular kinetics with IIV and a power dose effect on Cmax (docs/simulation.md §3)."""

    model: Literal["stein2019"] = "stein2019"
    foldx: float = Field(default=3900.0, gt=1)
    tmax_days: float = Field(default=9.3, gt=0)
    cmax: float = Field(default=24000.0, gt=0)
    alpha_per_day: float = Field(default=0.16, gt=0)
    fb: float = Field(default=0.0079, gt=0, le=1)
    beta_per_day: float = Field(default=0.0032, gt=0)
    iiv: bool = True
    omega2_scale: float = Field(default=1.0, ge=0, le=10)
    reference_cells_per_kg: float = Field(default=1.0e6, gt=0)
    dose_exponent: float = Field(default=0.5, ge=0, le=3)
    residual_sd_log: float = Field(default=0.3, description="residual SD on the log scale (D-19.600)")
    lloq_copies_per_ug: float = Field(default=50.0, gt=0)
    persistence_day: float = Field(default=180.0, gt=0)
    omega2: dict[str, float] = Field(
        default_factory=dict,
        description="IIV variance (log scale) per Stein parameter; a parameter left out keeps Stein 2019's",
    )
    population_model: str | None = Field(
        default=None,
        description="estimates.json of a `cartrial kinetics popfit --model stein2019`, relative to the "
        "scenario file: its typical values, omega² and residual SD replace the ones above",
    )
    _residual_sd_from: str | None = PrivateAttr(default=None)

    @property
    def residual_sd_from(self) -> str | None:
        """The population model (its estimates.json path) whose ``sigma.a`` is `residual_sd_log`
        (`population_kinetics`: an additive error on the log scale), or None when the value is the
        scenario's own ``kinetics.residual_sd_log``; a refusal names the key the user wrote (D-19.670)."""
        return self._residual_sd_from

    @model_validator(mode="after")
    def _known_omega2(self) -> Kinetics:
        from cartrial.kinetics.models import STEIN_PARAMETERS

        issues = _kinetics_range_issues(self)
        issues += [
            Issue(("omega2", name), "unknown Stein 2019 parameter", name, ", ".join(STEIN_PARAMETERS))
            for name in self.omega2
            if name not in STEIN_PARAMETERS
        ]
        issues += _omega2_issues(self)
        if issues:
            raise semantic_error(issues)
        return self


REFERENCE_CELLS_PER_KG = Allowed(low=1.0, high=1e12, unit="cells/kg")
"""`kinetics.reference_cells_per_kg`: within 10^6 of its default 10^6, the top being the protocol's largest
dose (`cartrial.protocol.dosing.MAX_CELLS_PER_KG`); 1e-300 made every exposure overflow and ran for ever."""
PERSISTENCE_DAY = Allowed(low=1.0, high=MAX_FOLLOW_UP_DAYS, unit="days")
"""`kinetics.persistence_day`: within the longest follow-up a scenario allows (`MAX_FOLLOW_UP_DAYS`)."""


def _omega2_issues(kinetics: Any) -> list[Issue]:
    """Each Stein 2019 ω² of `kinetics.omega2`, and the variance the simulator draws with (ω² ×
    `omega2_scale`), within `cartrial.allowed.OMEGA_LOG_VARIANCE` (0 to 100 on the log scale): the one range
    `kinetics popfit` labels and `kinetics map` reads, so a fit map reads drives a simulation (D-19.409)."""
    from cartrial.allowed import OMEGA_LOG_VARIANCE
    from cartrial.kinetics.models import STEIN_PARAMETERS

    issues = []
    for name, value in kinetics.omega2.items():
        if name not in STEIN_PARAMETERS:
            continue
        if (problem := OMEGA_LOG_VARIANCE.problem(name, value)) is not None:
            issues.append(Issue(("omega2", name), problem.message, value, problem.allowed))
        elif OMEGA_LOG_VARIANCE.problem(name, value * kinetics.omega2_scale) is not None:
            issues.append(
                Issue(
                    ("omega2", name),
                    f"times omega2_scale {kinetics.omega2_scale:g}, the variance simulated is out of range",
                    value,
                    f"ω² × omega2_scale {OMEGA_LOG_VARIANCE.text()}",
                    refs=(("omega2_scale",),),  # the other key of the product (D-19.532)
                )
            )
    return issues


def _kinetics_range_issues(kinetics: Any) -> list[Issue]:
    """Each Stein 2019 typical value by the rule of `kinetics popfit --initial` (within 10^6 of the model's
    default and its domain, D-19.37), the residual SD (the one range of a simulated one, which holds every
    fit `kinetics map` reads, D-19.600), the reference dose, the LLOQ (the one LLOQ range) and the
    persistence day (D-19.335)."""
    from cartrial.kinetics.popfit.structural import STEIN2019
    from cartrial.kinetics.templates import LLOQ

    rules = {name: STEIN2019.initial_rule(j) for j, name in enumerate(STEIN2019.parameters)}
    rules |= {
        "residual_sd_log": SIMULATED_RESIDUAL_LOG_SD,
        "reference_cells_per_kg": REFERENCE_CELLS_PER_KG,
        "lloq_copies_per_ug": LLOQ,
        "persistence_day": PERSISTENCE_DAY,
    }
    issues = []
    for name, rule in rules.items():
        value = getattr(kinetics, name)
        if (problem := rule.problem(name, value)) is not None:
            issues.append(Issue((name,), problem.message, value, problem.allowed))
    return issues


class PdSettings(_Model):
    """The proposed CAR-T → plasma cell → AQP4-IgG model (kinetics/data/pd_model.yaml) with overrides."""

    model: Literal["cartrial_pd_2026"] = "cartrial_pd_2026"
    overrides: dict[str, float] = Field(default_factory=dict)
    dose_exponent: float = Field(default=0.5, ge=0, le=3)
    titre_fall_steps: float = Field(
        default=0.5, ge=0.1, le=6, description="log10 fall counted as 'falling': 0.1 to 6 (log10 titre range)"
    )

    @model_validator(mode="after")
    def _known_parameters(self) -> PdSettings:
        from cartrial.kinetics.pd import PD_PARAMETERS, pd_override_rules

        rules = pd_override_rules()

        issues = [
            Issue(("overrides", name), "unknown PD parameter", name, ", ".join(PD_PARAMETERS))
            for name in self.overrides
            if name not in PD_PARAMETERS
        ]
        for name, value in self.overrides.items():  # the engine's rule (D-19.604)
            if name in PD_PARAMETERS and (problem := rules[name].problem(name, value)) is not None:
                issues.append(Issue(("overrides", name), problem.message, value, problem.allowed))
        if issues:
            raise semantic_error(issues)
        return self


#: Covariates a toxicity model may use (docs/simulation.md §4); ``crs_grade`` only in the ICANS model.
TOXICITY_COVARIATES: tuple[str, ...] = ("age_per_decade", "female", "edss", "weight_per_10kg", "crs_grade")


class Ordinal(_Model):
    """Cumulative-logit (proportional odds) grade model: logit P(grade ≥ g) = intercepts[g-1] +
    slope · ln(exposure / reference) + Σ covariate effects (docs/simulation.md §4)."""

    intercepts: list[Coefficient] = Field(min_length=1, max_length=5)
    slope_log_exposure: Coefficient = 0.0
    covariates: dict[str, Coefficient] = Field(default_factory=dict)
    onset_days: LogNormal = LogNormal(median=3.0, sd_log=0.4, max=27)
    duration_days: LogNormal = LogNormal(median=4.0, sd_log=0.5, max=60)

    @model_validator(mode="after")
    def _decreasing(self) -> Ordinal:
        issues = []
        if any(b > a for a, b in zip(self.intercepts, self.intercepts[1:], strict=False)):
            issues.append(Issue(("intercepts",), "intercepts must not increase with grade", self.intercepts))
        for name in self.covariates:
            if name not in TOXICITY_COVARIATES:
                issues.append(
                    Issue(("covariates", name), "unknown covariate", name, ", ".join(TOXICITY_COVARIATES))
                )
        if issues:
            raise semantic_error(issues)
        return self


class Cytopenia(_Model):
    """Grade ≥ 3 cytopenia after lymphodepletion and CAR-T: probability and duration of the grade ≥ 3 run
    (log-normal), exposure effect on the log duration (docs/simulation.md §4.3)."""

    probability_grade3: float = Field(ge=0, le=1)
    probability_grade4_given_3: float = Field(default=0.4, ge=0, le=1)
    duration_days: LogNormal
    slope_log_exposure: Coefficient = 0.0


class Toxicity(_Model):
    """Toxicity model; `fixed_dlt_probability` (one per dose level) replaces it by Bernoulli DLTs."""

    exposure: Literal["cmax", "auc_0_28"] = "cmax"
    crs: Ordinal = Ordinal(intercepts=[2.2, -1.2, -3.6, -5.5], slope_log_exposure=0.8)
    icans: Ordinal = Ordinal(
        intercepts=[-3.5, -4.2, -5.0, -6.5],
        slope_log_exposure=0.8,
        covariates={"crs_grade": 0.5},
        onset_days=LogNormal(median=6.0, sd_log=0.4, max=27),
        duration_days=LogNormal(median=3.0, sd_log=0.5, max=30),
    )
    neutropenia: Cytopenia = Cytopenia(
        probability_grade3=0.6,
        duration_days=LogNormal(median=3.0, sd_log=0.45, max=60),
        slope_log_exposure=0.2,
    )
    thrombocytopenia: Cytopenia = Cytopenia(
        probability_grade3=0.15,
        duration_days=LogNormal(median=3.0, sd_log=0.45, max=60),
        slope_log_exposure=0.2,
    )
    relatedness: Literal["possible", "probable", "definite"] = "probable"
    fixed_dlt_probability: list[float] | None = None

    @model_validator(mode="after")
    def _probabilities(self) -> Toxicity:
        if "crs_grade" in self.crs.covariates:
            raise semantic_error(
                [
                    Issue(
                        ("crs", "covariates", "crs_grade"),
                        "the CRS model cannot depend on the CRS grade",
                        "crs_grade",
                    )
                ]
            )
        bad = [
            Issue(("fixed_dlt_probability", index), "a probability must be 0 to 1", p, "0 to 1")
            for index, p in enumerate(self.fixed_dlt_probability or [])
            if not 0 <= p <= 1
        ]  # each at its position, never the list as Python writes it (D-19.373)
        if bad:
            raise semantic_error(bad)
        return self


class Efficacy(_Model):
    """Relapse hazard linked to AQP4-IgG and EDSS course (docs/simulation.md §5)."""

    regression_to_mean: float = Field(default=0.6, gt=0, le=1, description="post/pre rate without effect")
    hazard_exponent: float = Field(default=2.0, ge=0, le=10, description="h = h0 · A(t)^exponent")
    fs_step_at_relapse: float = Field(default=0.8, ge=0, le=1, description="P(+1 FS grade) per relapse")
    recovery_probability: float = Field(default=0.4, ge=0, le=1)
    improvement_probability: float = Field(default=0.5, ge=0, le=1, description="P(-1 FS grade) if IgG falls")


class DesignSettings(_Model):
    """The design comes from the protocol's escalation section; `overrides` change its fields (a sweep axis),
    `max_cohorts` bounds designs without their own stop (default: 2 × levels for 3+3, else max_n);
    `mtd_target` is the target toxicity the "% treated above the target" OC reads (default: the design's own
    target; none for a 3+3, D-19.315)."""

    overrides: dict[str, Any] = Field(default_factory=dict)
    max_cohorts: int | None = Field(default=None, ge=1, le=1000)
    mtd_target: float | None = Field(
        default=None, description="target toxicity of the % treated above the target OC"
    )
    expansion_patients: int | None = Field(
        default=None, description="size of the protocol's expansion cohort (e.g. a large study)"
    )

    @field_validator("mtd_target")
    @classmethod
    def _target_in_range(cls, value: float | None) -> float | None:
        from cartrial.protocol.design_options import TARGET

        if value is not None and (problem := TARGET.problem("mtd_target", value)):
            raise option_error(problem)
        return value

    @field_validator("expansion_patients")
    @classmethod
    def _expansion_in_range(cls, value: int | None) -> int | None:
        if value is not None and (problem := EXPANSION_PATIENTS.problem("expansion_patients", value)):
            raise option_error(problem)
        return value


class Scenario(_Model):
    """A complete simulation scenario (docs/simulation.md)."""

    schema_version: int = Field(default=SCENARIO_SCHEMA_VERSION, ge=1, le=SCENARIO_SCHEMA_VERSION)
    name: str = Field(min_length=1)
    protocol: str = Field(min_length=1, description="protocol YAML file, relative to the scenario file")
    population: Population = Population()
    accrual: Accrual = Accrual()
    manufacturing: Manufacturing = Manufacturing()
    dropout: Dropout = Dropout()
    kinetics: Kinetics = Kinetics()
    pd: PdSettings = PdSettings()
    toxicity: Toxicity = Toxicity()
    efficacy: Efficacy = Efficacy()
    design: DesignSettings = DesignSettings()
    follow_up_days: float = Field(default=365.0, gt=28, le=MAX_FOLLOW_UP_DAYS)
    data_cutoff_day: float | None = Field(
        default=None, ge=1, le=MAX_STUDY_DAY, description="study day of the cut-off: 1 to 36500"
    )
    metric_denominator: Literal["evaluable", "treated"] = Field(
        default="evaluable",
        description="denominator of the persistence and EDSS-improvement proportions: the patients "
        "evaluable as the analysis counts them (observed beyond the persistence day; followed to the first "
        "post-baseline EDSS visit) | every treated patient (D-19.98)",
    )
    pool_size: int = Field(default=1000, ge=50, le=20000, description="screened virtual candidates per run")
    sources: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _lognormal_ranges(self) -> Scenario:
        issues = [
            Issue((*path, key), problem.message, value, problem.allowed)
            for path, spec, rule in _lognormals(self)
            for key, value in (("median", spec.median), ("max", spec.max))
            if value is not None and (problem := rule.problem(key, value)) is not None
        ]
        if issues:
            raise semantic_error(issues)
        return self


LOGNORMAL_RANGES: dict[str, Allowed] = {
    "disease_duration_years": Allowed(low=0, high=100, low_exclusive=True, unit="years"),
    "relapses_24m": Allowed(low=0, high=730, low_exclusive=True),  # one onset a day over 24 months
    "neutrophils_10e9_l": Allowed(low=0, high=100, low_exclusive=True, unit="10^9/L"),  # grading's range
    "platelets_10e9_l": Allowed(low=0, high=5000, low_exclusive=True, unit="10^9/L"),
    "alt_x_uln": Allowed(low=0, high=1000, low_exclusive=True, unit="× ULN"),
    "creatinine_clearance_ml_min": Allowed(low=0, high=400, low_exclusive=True, unit="mL/min"),  # dosing's
    "vein_to_vein_days": Allowed(low=0, high=3650, low_exclusive=True, unit="days"),
    "onset_days": Allowed(low=0, high=3650, low_exclusive=True, unit="days"),
    "duration_days": Allowed(low=0, high=3650, low_exclusive=True, unit="days"),
}
"""The range of the median and max of each log-normal of a scenario, by its key (D-19.338); a relapse count
and a disease duration are also drawn within it (`population.draw_covariates`): a median of 1e7 relapses
ran for ever, 1e9 years of disease was an OverflowError traceback."""


def _lognormals(model: BaseModel, path: tuple[str | int, ...] = ()) -> Any:
    """(path, LogNormal, range) of every log-normal below `model`."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, LogNormal):
            yield (*path, name), value, LOGNORMAL_RANGES[name]
        elif isinstance(value, BaseModel):
            yield from _lognormals(value, (*path, name))


def load_scenario(path: str | Path) -> tuple[Scenario, Path]:
    """Read and validate a scenario file; returns it and the resolved protocol path.

    >>> scenario, protocol = load_scenario("examples/ct103a-nmosd/scenario.yaml")
    >>> scenario.name, protocol.name
    ('ct103a-nmosd-reference', 'protocol.yaml')
    """
    text = read_text_file(path)
    scenario = parse_yaml_model(Scenario, text, str(path), "scenario")
    if scenario.kinetics.population_model is not None:
        scenario = _with_population_model(scenario, Path(path), text)
    protocol_path = (Path(path).parent / scenario.protocol).resolve()
    if not protocol_path.is_file():
        raise InputError(
            Problem(
                "the protocol file named by the scenario does not exist",
                file=str(path),
                line=_line_of(text, "protocol"),
                field="protocol",
                value=scenario.protocol,
                allowed="a protocol YAML file, relative to the scenario file",
            )
        )
    return scenario, protocol_path


def population_kinetics(kinetics: Kinetics, document: dict[str, Any], source: str) -> Kinetics:
    """`kinetics` with the typical values, omega² (parameters without IIV: 0) and, for an additive error on
    the log scale, the residual SD of a stein2019 population fit (its ``estimates.json`` document). A fit
    of another model, with covariate effects (the simulator's dose effect is its own), or labelled NOT
    CONVERGED is refused (`InputError` naming `source`)."""
    from cartrial.kinetics.models import STEIN_PARAMETERS
    from cartrial.kinetics.popfit.pdmodel import is_pd_model
    from cartrial.kinetics.popfit.population import PopulationModel
    from cartrial.kinetics.popfit.structural import MODELS

    allowed = (
        "the estimates.json of a converged `cartrial kinetics popfit --model stein2019` without covariates"
    )

    def refuse(message: str, field: str, value: Any = None) -> InputError:
        return InputError(Problem(message, file=source, field=field, value=value, allowed=allowed))

    if not isinstance(document, dict) or document.get("model") != "stein2019":
        model = document.get("model") if isinstance(document, dict) else None
        known = isinstance(model, str) and (model in MODELS or is_pd_model(model))
        # the file's text is named only when it is a model name (D-12.2)
        raise refuse("not a stein2019 population model", "model", model if known else None)
    # read by the one reader of `kinetics map` first: each key's kind and range, located, and its
    # `converged` (default true) the one rule of both (D-19.466)
    population = PopulationModel.from_dict(document, source=source)
    if not population.converged:
        raise refuse(
            "the population fit is labelled NOT CONVERGED: its estimates cannot drive a simulation",
            "converged",
        )
    if population.spec.covariate_effects:
        raise refuse(
            "covariate effects cannot be carried into the simulator (it applies its own dose effect)",
            "covariates",
        )
    typical = population.typical()
    omega2 = {name: 0.0 for name in STEIN_PARAMETERS}
    for k, name in enumerate(population.spec.iiv_names):
        omega2[name] = float(population.theta.omega[k, k])
    update: dict[str, Any] = {**kinetics.model_dump(), **typical, "omega2": omega2, "iiv": True}
    error = population.spec.error
    if error.kind == "additive" and error.scale == "log":
        update["residual_sd_log"] = float(population.theta.sigma[0])
    try:
        result = Kinetics.model_validate(update)
    except ValidationError as exc:  # located at the fit's key, in words, never pydantic's header (D-19.532)
        raise InputError(
            [
                Problem(
                    f"{plain_message(issue)} for the simulator (scenario "
                    + ", ".join(  # the key refused and each key the refusal refers to (omega2_scale)
                        "kinetics." + ".".join(str(part) for part in path)
                        for path in (issue.path, *issue.refs)
                    )
                    + ")",
                    file=source,
                    field=_fit_key(issue.path, population.spec.iiv_names),
                    allowed=issue.allowed,
                )
                for issue in _kinetics_issues(exc)
            ]
        ) from None
    if error.kind == "additive" and error.scale == "log":  # the fit's sigma.a replaced the scenario's SD
        result._residual_sd_from = source
    return result


def _kinetics_issues(exc: ValidationError) -> list[Issue]:
    """The located issues of a `Kinetics` validation error: a cross-field (semantic) error's own, else one
    per field with pydantic's bound in the reader's words (`allowed_from_ctx`): "out of range" for a bound,
    else "not allowed" (a value of another kind)."""
    issues: list[Issue] = []
    for item in exc.errors():
        if item["type"] == SEMANTIC_ERROR_TYPE:
            issues.extend(item["ctx"]["issues"])
        else:
            message = "out of range" if item["type"] in _BOUND_ERRORS else "not allowed"
            issues.append(Issue(tuple(item["loc"]), message, None, allowed_from_ctx(item)))
    return issues


_BOUND_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})
"""pydantic's error types of a bound (``gt``, ``ge``, ``lt``, ``le``): the value is out of range."""


def _fit_key(path: tuple[str | int, ...], iiv: tuple[str, ...]) -> str:
    """The estimates.json key a `Kinetics` field is taken from (`population_kinetics`): ``typical.NAME``,
    ``omega[k][k]`` (an IIV variance). The residual SD (``sigma.a``) has none: the fit's reader refuses at
    ``sigma.a`` whatever is outside `RESIDUAL_LOG_SD`, which lies within the simulator's range
    (`SIMULATED_RESIDUAL_LOG_SD`, one bound, D-19.600), so the simulator never refuses it."""
    from cartrial.kinetics.models import STEIN_PARAMETERS

    name = str(path[0]) if path else ""
    if name in STEIN_PARAMETERS:
        return f"typical.{name}"
    if name == "omega2" and len(path) > 1 and path[1] in iiv:
        k = iiv.index(str(path[1]))
        return f"omega[{k}][{k}]"
    return "omega" if name == "omega2" else name


def _with_population_model(scenario: Scenario, path: Path, text: str) -> Scenario:
    """The scenario with ``kinetics.population_model`` (relative to the scenario file) applied."""
    from cartrial.sources import load_json_file

    name = scenario.kinetics.population_model or ""
    target = (path.parent / name).resolve()
    try:
        document = load_json_file(target)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError(
            Problem(
                f"cannot read the population model: {reason}",
                file=str(path),
                line=_line_of_nested(text, "population_model"),
                field="kinetics.population_model",
                value=name,
                allowed="an estimates.json written by `cartrial kinetics popfit`, relative to the scenario",
            )
        ) from None
    kinetics = population_kinetics(scenario.kinetics, document, str(target))
    return scenario.model_copy(update={"kinetics": kinetics})


def _line_of_nested(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip().startswith(f"{key}:"):
            return number
    return None


def parse_scenario(text: str, source: str = "<string>") -> Scenario:
    """Validate scenario YAML `text` (no protocol file check; a file: `load_scenario`)."""
    if not isinstance(text, str):
        raise InputError(
            Problem(
                f"not YAML text: a {type(text).__name__}",
                field="text",
                allowed="the scenario YAML as a str (a file: load_scenario(path))",
            )
        )
    if not isinstance(source, str | os.PathLike):  # the name every message about the text gives
        raise InputError(
            Problem(f"not a name: a {type(source).__name__}", field="source", allowed="a str (a file name)")
        )
    return parse_yaml_model(Scenario, text, str(source), "scenario")


def _line_of(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(f"{key}:"):
            return number
    return None


__all__ = [
    "EXPANSION_PATIENTS",
    "MAX_TRIALS",
    "POPULATION_COVARIATES",
    "SCENARIO_SCHEMA_VERSION",
    "TRIALS",
    "Scenario",
    "load_scenario",
    "parse_scenario",
    "population_kinetics",
]
