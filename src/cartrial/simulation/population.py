"""Virtual candidates: covariates (Gaussian copula), screening records, and the protocol's screen.

docs/simulation.md §2. Covariates are drawn on normal scores with the scenario's correlations (a Gaussian
copula), transformed to their marginals; each candidate becomes a `cartrial.protocol.Candidate` (dated
relapse list, AQP4-IgG test, treatments, EDSS computed by the neuro engine from simulated functional
systems, labs, answers to the manual criteria) and `cartrial.protocol.screen` decides eligibility — the
protocol's rules, never a copy of them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from cartrial.errors import InputError, Problem
from cartrial.protocol import Candidate, Protocol, screen
from cartrial.protocol.birth import earliest_birth
from cartrial.protocol.eligibility import (
    DiagnosisRule,
    ImmunosuppressantRefractoryRule,
    ManualRule,
)
from cartrial.simulation.scenario import (
    LOGNORMAL_RANGES,
    PLAUSIBLE_COVARIATES,
    POPULATION_COVARIATES,
    LogNormal,
    Normal,
    Population,
)

FloatArray = npt.NDArray[np.float64]
TITRE_GRID = np.array([10, 32, 100, 320, 1000, 3200, 10000], dtype=float)
FS_COLUMNS = ("visual", "brainstem", "pyramidal", "cerebellar", "sensory", "bowel_bladder", "cerebral")


def _normal(spec: Normal, z: FloatArray, name: str | None = None) -> FloatArray:
    """Draws of `spec` clipped to [min, max], and to the covariate `name`'s plausible range (D-19.335)."""
    lo = -np.inf if spec.min is None else spec.min
    hi = np.inf if spec.max is None else spec.max
    if name is not None:
        rule = PLAUSIBLE_COVARIATES[name]
        lo, hi = max(lo, float(rule.low or 0)), min(hi, float(rule.high or 0))
    return np.asarray(np.clip(spec.mean + spec.sd * z, lo, hi), dtype=float)


def _lognormal(spec: LogNormal, z: FloatArray) -> FloatArray:
    values = spec.median * np.exp(spec.sd_log * z)
    return np.asarray(values if spec.max is None else np.minimum(values, spec.max), dtype=float)


def lognormal_draw(spec: LogNormal, rng: np.random.Generator, size: Any) -> FloatArray:
    """Draws from a scenario `LogNormal` (median · exp(sd_log · z), capped at `max`)."""
    return _lognormal(spec, rng.standard_normal(size))


def correlation_matrix(population: Population) -> FloatArray:
    """The copula's correlation matrix over `POPULATION_COVARIATES` (refused if not positive definite)."""
    names = list(POPULATION_COVARIATES)
    matrix = np.eye(len(names))
    for c in population.correlations:
        i, j = names.index(c.between[0]), names.index(c.between[1])
        matrix[i, j] = matrix[j, i] = c.rho
    if np.linalg.eigvalsh(matrix).min() <= 1e-9:
        raise InputError(
            Problem(
                "the correlations do not form a valid correlation matrix (not positive definite)",
                field="population.correlations",
                value=[f"{c.between[0]}~{c.between[1]}={c.rho}" for c in population.correlations],
                allowed="a positive definite set of correlations",
            )
        )
    return matrix


@dataclass(frozen=True)
class Covariates:
    """Covariates of virtual candidates (arrays of one length; units in the names)."""

    age_years: FloatArray
    female: npt.NDArray[np.bool_]
    weight_kg: FloatArray
    height_cm: FloatArray
    disease_duration_years: FloatArray
    relapses_24m: npt.NDArray[np.int64]
    relapses_12m: npt.NDArray[np.int64]
    relapse_days_before: list[list[int]]
    fs: npt.NDArray[np.int64]  # (n, 7) raw FS in FS_COLUMNS order
    ambulation: npt.NDArray[np.int64]
    edss: FloatArray
    aqp4_titre: FloatArray
    aqp4_positive: npt.NDArray[np.bool_]
    aqp4_cell_based: npt.NDArray[np.bool_]
    refractory: npt.NDArray[np.bool_]
    recent_b_cell_depletion: npt.NDArray[np.bool_]
    neutrophils: FloatArray
    platelets: FloatArray
    alt_x_uln: FloatArray
    creatinine_clearance: FloatArray
    infection: npt.NDArray[np.bool_]
    pregnancy: npt.NDArray[np.bool_]
    cardiac: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.age_years.size)

    def take(self, index: npt.ArrayLike) -> Covariates:
        """The candidates at `index` (array indexing of every field)."""
        idx = np.asarray(index, dtype=np.int64)
        values: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            values[name] = [value[i] for i in idx] if isinstance(value, list) else value[idx]
        return Covariates(**values)


def fs_maxima() -> npt.NDArray[np.int64]:
    """The highest grade of each functional system in `FS_COLUMNS` order: the neuro engine's
    (`cartrial.neuro.edss_scale.FS_MAX`, Kurtzke 1983), the one definition (D-19.1226)."""
    from cartrial.neuro.edss_scale import FS_MAX

    return np.array([FS_MAX[name] for name in FS_COLUMNS], dtype=np.int64)


def functional_systems(severity: FloatArray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Raw FS grades and ambulation score from a latent disability severity (EDSS-like, 0-9.5) [assumption,
    docs/simulation.md §2]: NMOSD mostly affects vision, motor, sensory and bladder function."""
    n = severity.size
    weights = np.array([0.45, 0.15, 0.6, 0.2, 0.45, 0.45, 0.15])  # FS_COLUMNS order
    raw = np.rint(severity[:, None] * weights[None, :] + rng.normal(0, 0.6, (n, 7)))
    fs = np.clip(raw, 0, fs_maxima()).astype(np.int64)
    ambulation = np.clip(np.rint((severity - 4.0) * 2.5 + rng.normal(0, 0.5, n)), 0, 12).astype(np.int64)
    return fs, ambulation


def edss_of(fs: np.ndarray, ambulation: np.ndarray) -> FloatArray:
    """EDSS from raw FS and ambulation score by the neuro engine (`cartrial.neuro.edss_array`)."""
    from cartrial.neuro.edss_scale import edss_array

    values, _rules = edss_array(fs, ambulation)
    return np.asarray(values, dtype=float)


def _distinct_days(days: list[int], last: int = 730) -> list[int]:
    """`days` (onset days before screening, 1..`last`) sorted, with a repeated day moved to the nearest
    free day (the later one on a tie): a candidate has one relapse per onset date (`Candidate` refuses a
    repeat, docs/science/decisions.md D-19.18). The random draws are unchanged, so a seed gives the same
    population as before wherever no day repeats (0.75 % of candidates of the example scenario had one).

    >>> _distinct_days([40, 3, 40, 40])
    [3, 39, 40, 41]
    """
    taken: set[int] = set()
    for day in sorted(days):
        free = (c for k in range(last) for c in (day + k, day - k) if 1 <= c <= last and c not in taken)
        taken.add(next(free, day))
    return sorted(taken)


def attack_counts(relapse_days_before: list[list[int]], protocol: Protocol) -> npt.NDArray[np.int64]:
    """Attacks among each candidate's relapse onsets (days before screening) by the protocol's relapse
    definition, as the analysis of the written study counts them (D-19.800): onsets less than
    ``merge_window_days`` (default 30) after the first onset of the current attack (``merge_anchor``
    "chain": after the latest merged one) are one attack — `cartrial.protocol.group_onsets` with the
    protocol's `RelapseOptions` (docs/science/neuro-outcomes.md §4.2).

    >>> from cartrial import examples
    >>> from cartrial.protocol import load_protocol
    >>> protocol = load_protocol(examples.path("ct103a-nmosd") / "protocol.yaml")
    >>> attack_counts([[20, 10, 400], [700, 500]], protocol).tolist()
    [2, 2]
    """
    from cartrial.neuro.derive import relapse_options_from_protocol
    from cartrial.protocol import group_onsets

    options = relapse_options_from_protocol(protocol)
    origin = dt.date(2000, 1, 1)  # only the differences between onsets matter
    anchor = options.merge_anchor
    return np.array(
        [
            len(
                group_onsets(
                    [origin - dt.timedelta(days=int(d)) for d in days], options.merge_window_days, anchor
                )
            )
            for days in relapse_days_before
        ],
        dtype=np.int64,
    )


def draw_covariates(population: Population, n: int, rng: np.random.Generator) -> Covariates:
    """`n` virtual candidates (docs/simulation.md §2)."""
    matrix = correlation_matrix(population)
    z = rng.standard_normal((n, len(POPULATION_COVARIATES))) @ np.linalg.cholesky(matrix).T
    col = {name: z[:, i] for i, name in enumerate(POPULATION_COVARIATES)}
    rate24 = np.minimum(  # draws within the key's range too (D-19.338)
        _lognormal(population.relapses_24m, col["relapses_24m"]),
        float(LOGNORMAL_RANGES["relapses_24m"].high or 0),
    )
    relapses_24m = rng.poisson(rate24)
    # onsets uniform over the 24 months before screening (days 1..730 before), one relapse per day
    days_before = [_distinct_days(rng.integers(1, 731, size=int(k)).tolist()) for k in relapses_24m]
    relapses_12m = np.array([sum(d <= 365 for d in days) for days in days_before], dtype=np.int64)
    fs, ambulation = functional_systems(_normal(population.edss, col["edss"], "edss"), rng)
    titre_log10 = _normal(population.aqp4_log10_titre, col["aqp4_log10_titre"], "aqp4_log10_titre")
    titre = TITRE_GRID[np.abs(np.log10(TITRE_GRID)[None, :] - titre_log10[:, None]).argmin(axis=1)]
    s = population.screening
    age_years = _normal(population.age_years, col["age_years"], "age_years")
    return Covariates(
        age_years=age_years,
        female=rng.random(n) < population.female_fraction,
        weight_kg=_normal(population.weight_kg, col["weight_kg"], "weight_kg"),
        height_cm=_normal(population.height_cm, rng.standard_normal(n), "height_cm"),
        # the disease begins after birth: never longer than the age (D-19.1251)
        disease_duration_years=np.minimum(
            np.minimum(
                _lognormal(population.disease_duration_years, col["disease_duration_years"]),
                float(LOGNORMAL_RANGES["disease_duration_years"].high or 0),
            ),
            age_years,
        ),
        relapses_24m=relapses_24m.astype(np.int64),
        relapses_12m=relapses_12m,
        relapse_days_before=days_before,
        fs=fs,
        ambulation=ambulation,
        edss=edss_of(fs, ambulation),
        aqp4_titre=titre,
        aqp4_positive=rng.random(n) < s.aqp4_positive_fraction,
        aqp4_cell_based=rng.random(n) < s.aqp4_cell_based_fraction,
        refractory=rng.random(n) < s.refractory_fraction,
        recent_b_cell_depletion=rng.random(n) < s.recent_b_cell_depletion_fraction,
        neutrophils=lognormal_draw(s.neutrophils_10e9_l, rng, n),
        platelets=lognormal_draw(s.platelets_10e9_l, rng, n),
        alt_x_uln=lognormal_draw(s.alt_x_uln, rng, n),
        creatinine_clearance=lognormal_draw(s.creatinine_clearance_ml_min, rng, n),
        infection=rng.random(n) < s.active_infection_fraction,
        pregnancy=rng.random(n) < s.pregnancy_fraction,
        cardiac=rng.random(n) < s.cardiac_fraction,
    )


def _shift(day: dt.date, days: float) -> str:
    return (day - dt.timedelta(days=round(days))).isoformat()


#: the manual criteria the scenario's `screening` fractions answer (ids of the reference protocol);
#: any other manual criterion is answered as the protocol wants it (see `IndicationProfile`)
_MANUAL_FRACTIONS = {
    "exc_active_infection": "infection",
    "exc_pregnancy": "pregnancy",
    "exc_cardiac": "cardiac",
}
#: conventional immunosuppressants given in turn when the protocol asks for several failed agents
_PRIOR_AGENTS = ("azathioprine", "mycophenolate mofetil", "tacrolimus", "methotrexate", "cyclosporine")


@dataclass(frozen=True)
class IndicationProfile:
    """What a virtual candidate of the protocol's indication looks like at screening, read from the
    protocol's own eligibility rules (never a copy of the reference study's): the diagnosis its
    diagnosis rule asks for, as many prior agents (of its classes, each longer than its duration) as its
    refractoriness rule asks for, and an answer for each manual criterion — the scenario's fraction for
    the three it models (`_MANUAL_FRACTIONS`), otherwise met for an inclusion and not met for an
    exclusion (a population of the indication, drawn without the unmodelled exclusions). D-19.60."""

    condition: str = "nmosd"
    criteria: str = "ipnd_2015"
    min_agents: int = 1
    min_duration_months: int = 12
    therapy_classes: tuple[str, ...] = ("immunosuppressant",)
    manual: tuple[tuple[str, bool], ...] = (
        ("exc_active_infection", False),
        ("exc_pregnancy", False),
        ("exc_cardiac", False),
    )

    @classmethod
    def of(cls, protocol: Protocol) -> IndicationProfile:
        criteria = protocol.eligibility.criteria
        diagnosis = next((c.rule for c in criteria if isinstance(c.rule, DiagnosisRule)), None)
        refractory = [c.rule for c in criteria if isinstance(c.rule, ImmunosuppressantRefractoryRule)]
        manual = tuple(
            (c.id, c.kind.value == "inclusion") for c in criteria if isinstance(c.rule, ManualRule)
        )
        return cls(
            condition=diagnosis.condition if diagnosis else cls.condition,
            criteria=diagnosis.criteria if diagnosis else cls.criteria,
            min_agents=max((r.min_agents for r in refractory), default=1),
            min_duration_months=max((r.min_duration_months for r in refractory), default=12),
            therapy_classes=tuple(str(t.value) for t in refractory[0].therapy_classes)
            if refractory
            else ("immunosuppressant",),
            manual=manual,
        )


def _prior_treatments(
    profile: IndicationProfile,
    screening_date: dt.date,
    duration_days: float,
    poor_control: bool,
    since_birth: float = float("inf"),
) -> list[dict[str, Any]]:
    """The current agent (ongoing, as in the reference study) and, before it, the earlier failed agents
    the protocol's refractoriness rule asks for, each used one month longer than its minimum; no date is
    more than `since_birth` days before screening (D-19.1251)."""
    classes = list(profile.therapy_classes)
    current_start = min(duration_days - 30, 800)
    treatments: list[dict[str, Any]] = [
        {
            "agent": _PRIOR_AGENTS[0],
            "therapy_classes": classes,
            "start_date": _shift(screening_date, current_start),
            "ongoing": True,
            "poor_control": poor_control,
        }
    ]
    course = (profile.min_duration_months + 1) * 31
    end = current_start + 14
    for j in range(1, profile.min_agents):
        treatments.append(
            {
                "agent": _PRIOR_AGENTS[j % len(_PRIOR_AGENTS)] + ("" if j < len(_PRIOR_AGENTS) else f" {j}"),
                "therapy_classes": classes,
                "start_date": _shift(screening_date, min(end + course, since_birth)),
                "last_dose_date": _shift(screening_date, min(end, since_birth)),
                "poor_control": poor_control,
            }
        )
        end += course + 14
    return treatments


def _answers(profile: IndicationProfile, c: Covariates, i: int) -> dict[str, bool]:
    drawn = {
        "infection": bool(c.infection[i]),
        "pregnancy": bool(c.pregnancy[i]),
        "cardiac": bool(c.cardiac[i]),
    }
    answers = {cid: drawn[_MANUAL_FRACTIONS[cid]] for cid in _MANUAL_FRACTIONS}
    for cid, inclusion in profile.manual:
        if cid not in _MANUAL_FRACTIONS:
            answers[cid] = inclusion
    return answers


def candidate_record(
    c: Covariates,
    i: int,
    screening_date: dt.date,
    candidate_id: str,
    profile: IndicationProfile | None = None,
) -> dict[str, Any]:
    """Candidate `i` as screening data (the `cartrial.protocol.Candidate` fields), of the indication
    `profile` describes (default: the reference study's, NMOSD)."""
    profile = profile or IndicationProfile()
    age = float(c.age_years[i])
    duration_days = max(float(c.disease_duration_years[i]) * 365.25, 400.0)
    needed = 30 + profile.min_agents * ((profile.min_duration_months + 1) * 31 + 14)
    if profile.min_agents > 1:
        duration_days = max(duration_days, float(needed))
    # no dated record before the earliest birth screening allows for the recorded age (D-19.1251)
    born = earliest_birth(age_years=int(age), age_on=screening_date)
    since_birth = float((screening_date - born).days) if born is not None else float("inf")
    duration_days = min(duration_days, since_birth)
    alt_uln = 40.0
    treatments = _prior_treatments(profile, screening_date, duration_days, bool(c.refractory[i]), since_birth)
    if c.recent_b_cell_depletion[i]:
        treatments.append(
            {
                "agent": "rituximab",
                "therapy_classes": ["anti_cd20", "b_cell_depleting", "immunosuppressant"],
                "start_date": _shift(screening_date, min(300, since_birth)),
                "last_dose_date": _shift(screening_date, min(90, since_birth)),
                "poor_control": bool(c.refractory[i]),
            }
        )
    return {
        "id": candidate_id,
        "screening_date": screening_date.isoformat(),
        "age_years": int(age),
        "sex": "female" if c.female[i] else "male",
        "diagnosis": {
            "condition": profile.condition,
            "criteria": profile.criteria,
            "date": _shift(screening_date, duration_days),
        },
        "aqp4_igg": [
            {
                "result": "positive" if c.aqp4_positive[i] else "negative",
                "assay": "fixed_cell_based" if c.aqp4_cell_based[i] else "elisa",
                "date": _shift(screening_date, 7),
                "titre": f"1:{int(c.aqp4_titre[i])}" if c.aqp4_positive[i] else None,
            }
        ],
        "treatments": treatments,
        "relapses": [
            {"onset_date": _shift(screening_date, min(d, since_birth))} for d in c.relapse_days_before[i]
        ],
        "edss": {"score": float(c.edss[i]), "date": _shift(screening_date, 3)},
        "labs": [
            {"analyte": "neutrophils", "value": round(float(c.neutrophils[i]), 2), "unit": "10^9/L"},
            {"analyte": "platelets", "value": round(float(c.platelets[i]), 0), "unit": "10^9/L"},
            {
                "analyte": "alt",
                "value": round(float(c.alt_x_uln[i]) * alt_uln, 1),
                "unit": "U/L",
                "upper_limit_normal": alt_uln,
            },
            {
                "analyte": "creatinine_clearance",
                "value": round(float(c.creatinine_clearance[i]), 1),
                "unit": "mL/min",
            },
        ],
        "answers": _answers(profile, c, i),
    }


@dataclass(frozen=True)
class ScreenedPool:
    """Screened virtual candidates: who is eligible, the criteria that blocked the others and, of those
    blocked by none, how many were incomplete (a criterion that could not be assessed, D-19.1027) and which
    criteria could not be assessed for them."""

    covariates: Covariates
    eligible: npt.NDArray[np.bool_]
    blocked_by: dict[str, int]
    #: candidates screened `incomplete` (blocked by no criterion, some criterion not assessable)
    incomplete: int = 0
    #: per criterion id, the incomplete candidates it could not be assessed for
    unassessed_by: dict[str, int] = field(default_factory=dict)

    @property
    def pass_rate(self) -> float:
        return float(self.eligible.mean()) if self.eligible.size else 0.0

    def eligible_covariates(self) -> Covariates:
        return self.covariates.take(np.flatnonzero(self.eligible))


def screen_covariates(protocol: Protocol, covariates: Covariates, screening_date: dt.date) -> ScreenedPool:
    """Screen each candidate with `cartrial.protocol.screen` (the protocol's eligibility rules)."""
    eligible = np.zeros(len(covariates), dtype=bool)
    blocked: Counter[str] = Counter()
    unassessed: Counter[str] = Counter()
    incomplete = 0
    profile = IndicationProfile.of(protocol)
    for i in range(len(covariates)):
        record = candidate_record(covariates, i, screening_date, f"V{i + 1}", profile)
        candidate = Candidate.model_validate(record)
        result = screen(protocol, candidate, screening_date)
        eligible[i] = result.verdict.value == "eligible"
        for criterion in result.criteria:
            if criterion.blocks_eligibility:
                blocked[criterion.id] += 1
        if result.verdict.value == "incomplete":
            incomplete += 1
            for criterion in result.criteria:
                if criterion.status.value == "cannot_assess":
                    unassessed[criterion.id] += 1
    return ScreenedPool(
        covariates, eligible, dict(sorted(blocked.items())), incomplete, dict(sorted(unassessed.items()))
    )


def check_feasible(pool: ScreenedPool, scenario_file: str | None = None) -> None:
    """Refuse a population in which nobody meets the protocol's eligibility (an `InputError` naming the
    criteria that blocked the candidates and, for those blocked by none, the criteria that could not be
    assessed: "12 incomplete (cannot assess: inc_aqp4_igg)", D-19.1027), instead of screening forever."""
    if pool.eligible.any():
        return
    n = len(pool.covariates)
    worst = sorted(pool.blocked_by.items(), key=lambda kv: -kv[1])
    detail = ", ".join(f"{cid} blocked {k} of {n}" for cid, k in worst[:5])
    if pool.incomplete:
        ids = ", ".join(cid for cid, _k in sorted(pool.unassessed_by.items(), key=lambda kv: -kv[1]))
        detail = ", ".join(filter(None, [detail, f"{pool.incomplete} incomplete (cannot assess: {ids})"]))
    detail = detail or "no criterion met"
    raise InputError(
        Problem(
            f"no virtual candidate meets the protocol's eligibility ({n} screened): {detail}; the trial "
            "could never enrol — change the population (or the protocol)",
            file=scenario_file,
            field="population",
            value=f"0 of {n} eligible",
            allowed="a population in which some candidates are eligible",
        )
    )


__all__ = [
    "FS_COLUMNS",
    "Covariates",
    "IndicationProfile",
    "ScreenedPool",
    "attack_counts",
    "candidate_record",
    "check_feasible",
    "correlation_matrix",
    "draw_covariates",
    "edss_of",
    "fs_maxima",
    "functional_systems",
    "lognormal_draw",
    "screen_covariates",
]
