"""Per-patient models of a virtual trial: kinetics, PD, toxicity (graded by the grading engine, judged by the
protocol's DLT rules) and efficacy. docs/simulation.md §3-§5.

Everything here is vectorised over arrays of patients of any shape; the rules come from the engines:
- kinetics: `cartrial.kinetics.stein2019_concentration` / `stein2019_auc` (Stein 2019) and `simulate_pd`
  (the project's CAR-T → plasma cell → AQP4-IgG model);
- grades: each latent toxicity grade is turned into a representative assessment (vital signs, oxygen,
  vasopressors; ICE score and consciousness) and graded by `cartrial.grading.grade_crs` / `grade_icans`;
- DLT: every distinct graded event (category, term, grade, onset day, duration) is judged once by
  `cartrial.escalation.assess_dlt` under the protocol's rules and window, and the verdicts are looked up;
- EDSS: `cartrial.neuro.edss_array` on simulated functional systems.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from cartrial.kinetics.models import (
    STEIN_2019_OMEGA2,
    STEIN_PARAMETERS,
    stein2019_auc,
    stein2019_concentration,
)
from cartrial.protocol import DltRule, GradedEvent, Relatedness, ToxicityCategory
from cartrial.simulation.scenario import Cytopenia, Kinetics, Ordinal, Scenario

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

CRS_TERM = "Cytokine release syndrome"
ICANS_TERM = "Immune effector cell-associated neurotoxicity syndrome"


# ------------------------------------------------------------------------------------------------ kinetics
def kinetic_parameters(kinetics: Kinetics, eta: FloatArray) -> FloatArray:
    """Individual Stein 2019 parameters (..., 6) in `STEIN_PARAMETERS` order from standard-normal draws
    `eta` (..., 6): theta · exp(sqrt(omega² · scale) · eta) (Stein 2019 Table 1 variances, or the scenario's
    ``kinetics.omega2``, e.g. from a population fit); F_B capped at 1
    and FOLDX kept ≥ 1 as `cartrial.kinetics.simulate_stein2019` does."""
    typical = np.array([getattr(kinetics, name) for name in STEIN_PARAMETERS], dtype=float)
    if kinetics.iiv:
        omega2 = [kinetics.omega2.get(name, STEIN_2019_OMEGA2[name]) for name in STEIN_PARAMETERS]
        sd = np.sqrt(np.array(omega2) * kinetics.omega2_scale)
        values = typical * np.exp(eta * sd)
    else:
        values = np.broadcast_to(typical, eta.shape).copy()
    values[..., 4] = np.minimum(values[..., 4], 1.0)
    values[..., 0] = np.maximum(values[..., 0], 1.0 + 1e-9)
    return values


def dose_factor(cells_per_kg: npt.ArrayLike, reference: float, exponent: float) -> FloatArray:
    """Power dose effect (dose / reference)^exponent [assumption, docs/simulation.md §3]."""
    return np.asarray((np.asarray(cells_per_kg, dtype=float) / reference) ** exponent, dtype=float)


#: The CAR transgene sampling days of a virtual patient (days after the infusion; `simulate study`'s
#: pk_samples): the samples the analysis reads persistence on, so the simulator reads it there too (D-19.855).
PK_DAYS = (0, 1, 4, 7, 10, 14, 21, 28, 60, 90, 180, 270, 365, 545, 730)

#: The AQP4-IgG sampling days of a virtual patient (days after the infusion; `simulate study`'s pd_samples,
#: the baseline on day -7): the OC reads "AQP4-IgG falling" at the last of them followed (D-19.1321).
PD_DAYS = (-7, 14, 28, 90, 180, 270, 365, 545, 730)


def persistence_sample_day(persistence_day: float) -> float:
    """The first sampling day (`PK_DAYS`) after `persistence_day`: the sample that shows persistence beyond
    the day (`cartrial.kinetics.persistence_flags`: a quantifiable sample after it), NaN when none is
    scheduled after it (D-19.855). The level declines after its peak (Stein 2019), so a quantifiable level
    on a later sample implies one on this one.

    >>> persistence_sample_day(180.0), persistence_sample_day(200.0)
    (270.0, 270.0)
    """
    later = [d for d in PK_DAYS if d > persistence_day]
    return float(later[0]) if later else float("nan")


def exposures(params: FloatArray, factor: FloatArray, kinetics: Kinetics) -> dict[str, FloatArray]:
    """Cmax (copies/µg), Tmax (days), AUC0-28 (copies·day/µg) and the level on the first sample after the
    persistence day (`persistence_sample_day`; NaN when none, D-19.855), for individual parameters `params`
    (..., 6) with Cmax multiplied by the dose `factor` (...)."""
    p = [params[..., j] for j in range(6)]
    cmax = p[2] * factor
    auc = stein2019_auc(0.0, 28.0, p[0], p[1], cmax, p[3], p[4], p[5])
    sample_day = persistence_sample_day(kinetics.persistence_day)
    if np.isnan(sample_day):
        level = np.full(cmax.shape, np.nan)
    else:
        level = _concentration_at(np.full(cmax.shape, sample_day), p[0], p[1], cmax, p[3], p[4], p[5])
    return {"cmax": cmax, "tmax_days": p[1].copy(), "auc_0_28": auc, "level_after_persistence_day": level}


def _concentration_at(day: FloatArray, *params: FloatArray) -> FloatArray:
    """The closed form at one day per subject (scalar-day broadcasting of `stein2019_concentration`)."""
    return np.asarray(stein2019_concentration(float(np.ravel(day)[0]), *params), dtype=float)


# ---------------------------------------------------------------------------------------------- toxicity
def ordinal_grade(
    model: Ordinal, log_exposure_ratio: FloatArray, covariates: dict[str, FloatArray], u: FloatArray
) -> IntArray:
    """Latent grade 0..len(intercepts) of a cumulative-logit model with one uniform `u` per patient:
    grade ≥ g when logit(u) < intercepts[g-1] + slope · ln(exposure/ref) + Σ beta_c · x_c (so
    P(grade ≥ g) = expit(intercept_g + ...), the proportional-odds model of McCullagh 1980)."""
    linear = model.slope_log_exposure * log_exposure_ratio
    for name, beta in model.covariates.items():
        linear = linear + beta * covariates[name]
    logit_u = np.log(u) - np.log1p(-u)
    grade = np.zeros(np.shape(u), dtype=np.int64)
    for intercept in model.intercepts:
        grade += (logit_u < intercept + linear).astype(np.int64)
    return grade


@functools.lru_cache(maxsize=4)
def crs_engine_grades() -> tuple[int, ...]:
    """The ASTCT 2019 grade (`cartrial.grading.grade_crs`) of the representative assessment of each latent
    CRS grade 0-5 (`crs_assessment`)."""
    from cartrial.grading import grade_crs

    return tuple(int(grade_crs(**crs_assessment(g)).grade) for g in range(6))


def crs_assessment(grade: int, temperature_c: float | None = None) -> dict[str, Any]:
    """Representative CRS assessment of a latent grade [assumption, docs/simulation.md §4.1]: fever alone
    (1), hypotension without vasopressor (2), one vasopressor (3), two vasopressors (4), death (5)."""
    fever = grade >= 1
    return {
        "temperature_c": temperature_c if temperature_c is not None else (38.7 if fever else 36.8),
        "fever_masked": False,
        "hypotension": grade >= 2,
        "vasopressors": {3: 1, 4: 2, 5: 2}.get(grade, 0),
        "vasopressin": False,
        "oxygen": "none",
        "oxygen_l_min": None,
        "death_due_to_crs": grade == 5,
    }


def icans_assessment(grade: int) -> dict[str, Any]:
    """Representative ICANS assessment of a latent grade [assumption, docs/simulation.md §4.1]: ICE 7-9
    (1), 3-6 (2), 0-2 awake (3), unarousable (4)."""
    ice = {0: 10, 1: 8, 2: 5, 3: 1, 4: None, 5: None}[grade]
    consciousness = {0: "alert", 1: "awakens_spontaneously", 2: "awakens_to_voice", 3: "awakens_to_tactile"}
    return {"consciousness": consciousness.get(grade, "unarousable"), "ice_total": ice}


@functools.lru_cache(maxsize=4)
def icans_engine_grades() -> tuple[int, ...]:
    """The ASTCT 2019 grade (`cartrial.grading.grade_icans`) of each latent ICANS grade's assessment."""
    from cartrial.grading import grade_icans

    return tuple(int(grade_icans(**icans_assessment(g)).grade) for g in range(5))


@dataclass(frozen=True)
class DltJudge:
    """Judges graded events with the protocol's DLT rules (`cartrial.escalation.assess_dlt`), once per
    distinct event (category, term, grade, onset day, duration in whole days), and looks the verdicts up."""

    rules: tuple[DltRule, ...]
    window_days: float
    relatedness: Relatedness
    cache: dict[tuple[str, str, int, int, int], bool] = field(default_factory=dict, compare=False, repr=False)

    def judge(
        self,
        category: ToxicityCategory,
        term: str,
        grade: IntArray,
        onset_day: IntArray,
        duration_days: IntArray,
    ) -> npt.NDArray[np.bool_]:
        g = np.ravel(grade)
        key = np.stack([g, np.ravel(onset_day), np.ravel(duration_days)], axis=1).astype(np.int64)
        present = g >= 1
        out = np.zeros(g.size, dtype=bool)
        if not present.any():
            return out.reshape(np.shape(grade))
        unique, inverse = np.unique(key[present], axis=0, return_inverse=True)
        verdicts = np.array(
            [self._one(category, term, int(a), int(b), int(c)) for a, b, c in unique], dtype=bool
        )
        out[present] = verdicts[np.ravel(inverse)]
        return out.reshape(np.shape(grade))

    def _one(self, category: ToxicityCategory, term: str, grade: int, onset: int, duration: int) -> bool:
        from cartrial.escalation.dlt import assess_dlt

        key = (category.value, term, grade, onset, duration)
        if key in self.cache:
            return self.cache[key]

        event = GradedEvent(
            subject_id="virtual",
            category=category,
            term=term,
            grade=grade,
            scale="simulated",
            onset_day=float(onset),
            duration_days=float(duration),
            relatedness=self.relatedness,
        )
        verdict = assess_dlt(event, self.rules, self.window_days).is_dlt
        self.cache[key] = verdict
        return verdict


def cytopenia_course(
    model: Cytopenia, log_exposure_ratio: FloatArray, u: FloatArray, u4: FloatArray, z: FloatArray
) -> tuple[IntArray, IntArray]:
    """Grade (0, 3 or 4) and whole-day duration of the grade ≥ 3 run (log-normal, exposure effect on the
    log duration) [assumption, docs/simulation.md §4.3]."""
    grade3 = u < model.probability_grade3
    grade = np.where(grade3, np.where(u4 < model.probability_grade4_given_3, 4, 3), 0).astype(np.int64)
    d = model.duration_days
    days = d.median * np.exp(d.sd_log * z + model.slope_log_exposure * log_exposure_ratio)
    if d.max is not None:
        days = np.minimum(days, d.max)
    return grade, np.where(grade3, np.maximum(np.rint(days), 1), 0).astype(np.int64)


# ----------------------------------------------------------------------------------------------- scenario
def dlt_probability_check(scenario: Scenario, n_doses: int) -> None:
    """A fixed-DLT-probability toxicity model needs one probability per dose level."""
    from cartrial.errors import InputError, Problem

    fixed = scenario.toxicity.fixed_dlt_probability
    if fixed is not None and len(fixed) != n_doses:
        raise InputError(
            Problem(
                "the fixed DLT probabilities need one value per dose level of the protocol",
                field="toxicity.fixed_dlt_probability",
                value=len(fixed),
                allowed=f"{n_doses} values",
            )
        )


def log_ratio(values: FloatArray, reference: float) -> FloatArray:
    return np.asarray(np.log(np.maximum(values, 1e-300) / reference), dtype=float)


def reference_exposure(scenario: Scenario) -> float:
    """Exposure of the typical subject at the reference dose (Cmax or AUC0-28 of the typical parameters)."""
    k = scenario.kinetics
    if scenario.toxicity.exposure == "cmax":
        return float(k.cmax)
    return float(
        stein2019_auc(0.0, 28.0, k.foldx, k.tmax_days, k.cmax, k.alpha_per_day, k.fb, k.beta_per_day)
    )


def expit(x: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=float)


__all__ = [
    "CRS_TERM",
    "ICANS_TERM",
    "DltJudge",
    "crs_assessment",
    "crs_engine_grades",
    "cytopenia_course",
    "dose_factor",
    "expit",
    "exposures",
    "icans_assessment",
    "icans_engine_grades",
    "kinetic_parameters",
    "log_ratio",
    "ordinal_grade",
    "reference_exposure",
]
