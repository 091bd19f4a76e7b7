"""The Stein 2019 tisagenlecleucel cellular-kinetic model: closed form, simulation with IIV, individual fit.

Source: Stein AM, Grupp SA, Levine JE, et al. Tisagenlecleucel model-based cellular kinetic analysis of
chimeric antigen receptor-T cells. *CPT Pharmacometrics Syst Pharmacol* 2019;8(5):285-295,
doi:10.1002/psp4.12388: Figure 2 (structure), supplement (analytical solution), Table 1 (typical values,
IIV variances, residual error); transcription nlmixr2lib ``Stein_2019_Tisagenlecleucel.R`` (commit 7394947).
See ``docs/science/cellular-kinetics.md §5.

Closed form (transgene, copies/µg gDNA; t in days after infusion)::

    C(t) = R0 · exp(rho · t)                                                  t < Tmax
    C(t) = Cmax · [(1 - F_B) · exp(-alpha (t - Tmax)) + F_B · exp(-beta (t - Tmax))]   t ≥ Tmax
    rho = ln(FOLDX) / Tmax,  R0 = Cmax / FOLDX

C(t) = R0 for t < 0 (as the nlmixr2lib transcription). Individual parameters are log-normal
(theta_i = theta · exp(eta_i), eta_i ~ N(0, omega²), diagonal); residual error is additive on the log scale,
SD 0.56. Co-medication factors Ftoci (1.2) and Fster (1.0) multiplying rho were not significant in the
paper; they are optional factors here with default 1.0 (docs/science/cellular-kinetics.md §5.2, [P]).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import optimize, special

from cartrial.allowed import (
    MAX_CONCENTRATION,
    OMEGA_LOG_VARIANCE,
    SIMULATED_RESIDUAL_LOG_SD,
    Allowed,
    check_argument,
    check_flag,
    check_instance,
    check_seed,
)
from cartrial.errors import ConfigurationError, InputError, NotEstimableError, Problem
from cartrial.wording import count

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

STEIN_2019_SOURCE = (
    "Stein AM et al. CPT Pharmacometrics Syst Pharmacol 2019;8:285-295 (doi:10.1002/psp4.12388), "
    "Figure 2, supplement analytical solution, Table 1; nlmixr2lib Stein_2019_Tisagenlecleucel.R"
)

STEIN_PARAMETERS: tuple[str, ...] = ("foldx", "tmax_days", "cmax", "alpha_per_day", "fb", "beta_per_day")
"""Parameter names of the Stein 2019 model, in the order used by arrays."""


_POSITIVE = Allowed(low=0, low_exclusive=True, label="a finite number > 0")
_PARAMETER_DOMAIN: dict[str, Allowed] = {
    "foldx": Allowed(low=1, label="a finite number ≥ 1 (a fold expansion)"),
    "tmax_days": _POSITIVE,
    "cmax": _POSITIVE,
    "alpha_per_day": _POSITIVE,
    "fb": Allowed(low=0, high=1, low_exclusive=True, label="greater than 0 and at most 1 (a fraction)"),
    "beta_per_day": _POSITIVE,
}
"""Where each Stein 2019 parameter is defined (FOLDX ≥ 1 so that the expansion rate ln(FOLDX)/Tmax ≥ 0;
F_B a fraction; the others rates, times and levels > 0)."""


@dataclass(frozen=True)
class Stein2019Parameters:
    """One subject's (or the typical) Stein 2019 parameters; defaults are Table 1 typical values.

    foldx: fold expansion (-); tmax_days: time of peak (day); cmax: peak (copies/µg gDNA);
    alpha_per_day: rapid contraction rate (1/day); fb: fraction entering the slow phase (-);
    beta_per_day: slow decline rate (1/day).
    """

    foldx: float = 3900.0
    tmax_days: float = 9.3
    cmax: float = 24000.0
    alpha_per_day: float = 0.16
    fb: float = 0.0079
    beta_per_day: float = 0.0032

    def __post_init__(self) -> None:
        # a NaN, zero or negative parameter gives NaN or negative concentrations without a word (D-19.79)
        for name in STEIN_PARAMETERS:
            check_argument(name, getattr(self, name), _PARAMETER_DOMAIN[name])

    @property
    def rho_per_day(self) -> float:
        """Expansion rate ln(FOLDX)/Tmax (1/day)."""
        return math.log(self.foldx) / self.tmax_days

    @property
    def r0(self) -> float:
        """Level at infusion Cmax/FOLDX (copies/µg)."""
        return self.cmax / self.foldx

    def as_array(self) -> FloatArray:
        return np.array([getattr(self, name) for name in STEIN_PARAMETERS], dtype=float)


STEIN_2019_TYPICAL = Stein2019Parameters()
"""Table 1 typical values (Stein 2019)."""

STEIN_2019_OMEGA2: dict[str, float] = {
    "foldx": 2.4,
    "tmax_days": 0.38,
    "cmax": 0.65,
    "alpha_per_day": 0.91,
    "fb": 0.8,
    "beta_per_day": 0.86,
}
"""Table 1 IIV variances omega² on the log scale (Stein 2019)."""

STEIN_2019_RESIDUAL_SD_LOG = 0.56
"""Table 1 residual error: additive on the log scale, SD 0.56 (Stein 2019)."""


def stein2019_concentration(
    days: npt.ArrayLike,
    foldx: npt.ArrayLike,
    tmax_days: npt.ArrayLike,
    cmax: npt.ArrayLike,
    alpha_per_day: npt.ArrayLike,
    fb: npt.ArrayLike,
    beta_per_day: npt.ArrayLike,
    *,
    rho_factor: npt.ArrayLike = 1.0,
    rate_bound: float | None = None,
) -> FloatArray:
    """Transgene level C(t) (copies/µg) of the Stein 2019 closed form, broadcasting parameters over times.

    Parameters of shape (n,) and `days` of shape (m,) give an (n, m) array (parameters are reshaped to a
    column when `days` is 1-D and a parameter has more than one value). `rho_factor` multiplies rho (the
    optional co-medication factor Ftoci·Fster, default 1); R0 = Cmax/FOLDX is kept, so Cmax is reached
    at Tmax only with the default factor. `rate_bound` (optional) is the largest rate the evaluation on an
    even grid must accommodate; give the population's when evaluating it in blocks of subjects, so that every
    block rounds exactly as one call would. Source: Stein 2019 supplement (docs/science/cellular-kinetics.md
    §5.1).

    >>> stein2019_concentration([0, 9.3, 28], 3900, 9.3, 24000, 0.16, 0.0079, 0.0032).round(1).tolist()
    [6.2, 24000.0, 1373.6]
    """
    t = np.asarray(days, dtype=float)
    params = [np.asarray(p, dtype=float) for p in (foldx, tmax_days, cmax, alpha_per_day, fb, beta_per_day)]
    factor = np.asarray(rho_factor, dtype=float)
    if t.ndim == 1 and any(p.ndim == 1 and p.size > 1 for p in [*params, factor]):
        params = [p[:, None] if p.ndim == 1 else p for p in params]
        factor = factor[:, None] if factor.ndim == 1 else factor
    f, tm, cm, a, b_frac, b = params
    # a Tmax that underflowed to 0 (an extreme draw of a fit's sampler) gives an infinite rho, which only the
    # expansion branch uses, and no time is before such a peak: no warning for it
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.log(f) / tm * factor
    r0 = cm / f
    grid = _uniform_grid(t)
    if grid is not None and all(p.ndim == 2 and p.shape[1] == 1 for p in params):
        return _concentration_on_grid(
            grid, rho[:, 0], r0[:, 0], cm[:, 0], tm[:, 0], a[:, 0], b_frac[:, 0], b[:, 0], rate_bound
        )
    after = t >= tm
    with np.errstate(over="ignore", invalid="ignore"):  # the branch np.where does not take may be inf·0
        since_peak = np.maximum(t - tm, 0.0)
        expansion = r0 * np.exp(rho * np.clip(t, 0.0, None) * ~after)
        contraction = cm * ((1.0 - b_frac) * np.exp(-a * since_peak) + b_frac * np.exp(-b * since_peak))
    return np.asarray(np.where(after, contraction, expansion), dtype=float)


def _uniform_grid(t: FloatArray) -> tuple[float, float, int] | None:
    """(start, step, count) when `t` is an increasing arithmetic grid from ≥ 0 with ≥ 16 points."""
    if t.ndim != 1 or t.size < 16 or t[0] < 0:
        return None
    step = (t[-1] - t[0]) / (t.size - 1)
    if not step > 0:
        return None
    expected = t[0] + step * np.arange(t.size)
    if not np.allclose(t, expected, rtol=1e-13, atol=1e-12 * max(1.0, abs(t[-1]))):
        return None
    return float(t[0]), float(step), int(t.size)


def _grid_factors(
    log_coef: FloatArray, rate: FloatArray, grid: tuple[float, float, int], block: int
) -> tuple[FloatArray, FloatArray]:
    """Coarse and fine factors with exp(log_coef + rate·t_j) = coarse[:, u] · fine[:, v], j = block·u + v."""
    t0, h, m = grid
    n_blocks = -(-m // block)
    starts = t0 + h * block * np.arange(n_blocks)
    offsets = h * np.arange(block)
    with np.errstate(over="ignore", invalid="ignore"):
        coarse = np.exp(log_coef[:, None] + rate[:, None] * starts[None, :])
        fine = np.exp(rate[:, None] * offsets[None, :])
    return coarse, fine


def _concentration_on_grid(
    grid: tuple[float, float, int],
    rho: FloatArray,
    r0: FloatArray,
    cm: FloatArray,
    tm: FloatArray,
    a: FloatArray,
    b_frac: FloatArray,
    b: FloatArray,
    rate_bound: float | None = None,
) -> FloatArray:
    """The closed form on an arithmetic grid t_j = t0 + j·h (same values as the direct formula, to rounding).

    Speed: writing j = B·u + v, exp(c + r·t_j) = exp(c + r·(t0 + B·u·h)) · exp(r·v·h), so each subject needs
    about 2·sqrt(m) exponentials and one multiplication per sample instead of m exponentials. The block B
    keeps |r|·B·h ≤ 300, so no factor overflows where the product is finite; the contraction terms carry
    their coefficient inside the exponent (log((1-F_B)·Cmax) + alpha·Tmax), so nothing overflows there.
    """
    t0, h, m = grid
    n = len(rho)
    max_rate = float(max(np.max(np.abs(rho)), np.max(np.abs(a)), np.max(np.abs(b)))) if n else 0.0
    if rate_bound is not None:
        max_rate = max(max_rate, float(rate_bound))
    block = max(1, math.ceil(math.sqrt(m)))
    if max_rate > 0:
        block = max(1, min(block, int(300.0 / (max_rate * h))))
    n_blocks = -(-m // block)
    padded = n_blocks * block
    out = np.empty((n, n_blocks, block))
    tmp = np.empty((n, n_blocks, block))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        coarse, fine = _grid_factors(np.log(cm * (1.0 - b_frac)) + a * tm, -a, grid, block)
        np.multiply(coarse[:, :, None], fine[:, None, :], out=out)
        coarse, fine = _grid_factors(np.log(cm * b_frac) + b * tm, -b, grid, block)
        np.multiply(coarse[:, :, None], fine[:, None, :], out=tmp)
        np.add(out, tmp, out=out)
        # the expansion phase only matters before the latest Tmax: fill just those blocks
        expansion_blocks = min(n_blocks, max(0, int((float(np.max(tm)) - t0) // (h * block)) + 1)) if n else 0
        coarse, fine = _grid_factors(np.log(r0), rho, grid, block)
        part = tmp[:, :expansion_blocks, :]
        np.multiply(coarse[:, :expansion_blocks, None], fine[:, None, :], out=part)
    width = expansion_blocks * block
    t = t0 + h * np.arange(width)
    before_peak = t[None, :] < tm[:, None]
    flat = out.reshape(n, padded)
    np.copyto(flat[:, :width], tmp.reshape(n, padded)[:, :width], where=before_peak)
    return flat[:, :m]


def _check_auc_interval(start_days: float, end_days: float) -> None:
    """The one check of an AUC interval of the closed form (`typical_auc`, `stein2019_auc`): both bounds days
    0 to `MAX_DAY` and the end not before the start; anything else is an `InputError` naming the argument
    (a reversed interval gave a negative area, D-19.1181)."""
    for name, value in (("start_days", start_days), ("end_days", end_days)):
        check_argument(name, value, Allowed(low=0, high=MAX_DAY, unit="days"))
    if end_days < start_days:
        raise InputError(
            Problem(
                "the interval ends before it starts",
                field="end_days",
                value=end_days,
                allowed=f"≥ start_days ({start_days})",
            )
        )


def typical_auc(
    start_days: float, end_days: float, parameters: Stein2019Parameters = STEIN_2019_TYPICAL
) -> float:
    """Exact AUC of the closed form over [start, end] (copies·day/µg), integrated analytically.

    Pieces: R0·e^{rho a}·expm1(rho w)/rho over [a, a + w] in the expansion phase (R0·w at FOLDX = 1, rho = 0;
    D-19.757); (1-F_B)·Cmax/alpha·(e^{-alpha u} - e^{-alpha v}) +
    F_B·Cmax/beta·(e^{-beta u} - e^{-beta v}) after Tmax (docs/science/cellular-kinetics.md §5.2 derived
    values).

    >>> round(typical_auc(0, 28), -3)  # Table 1 typical subject: 1.72e5 copies·day/µg
    172000.0
    """
    _check_auc_interval(start_days, end_days)
    check_instance("parameters", parameters, Stein2019Parameters)
    p = parameters
    rho, tm = p.rho_per_day, p.tmax_days
    total = 0.0
    a, b = max(start_days, 0.0), end_days
    if a < tm:
        hi = min(b, tm)
        # R0·e^(rho·a)·(e^(rho·(hi - a)) - 1)/rho, whose limit at FOLDX = 1 (rho = 0, a flat R0 = Cmax) is
        # R0·(hi - a): the difference quotient divided 0 by 0 there (D-19.757)
        width = hi - a
        growth = math.expm1(rho * width) / rho if rho != 0 else width
        total += p.r0 * math.exp(rho * a) * growth
    if b > tm:
        u, v = max(a, tm) - tm, b - tm
        total += (1 - p.fb) * p.cmax / p.alpha_per_day * (
            math.exp(-p.alpha_per_day * u) - math.exp(-p.alpha_per_day * v)
        ) + p.fb * p.cmax / p.beta_per_day * (math.exp(-p.beta_per_day * u) - math.exp(-p.beta_per_day * v))
    return total


def stein2019_auc(
    start_days: float,
    end_days: float,
    foldx: npt.ArrayLike,
    tmax_days: npt.ArrayLike,
    cmax: npt.ArrayLike,
    alpha_per_day: npt.ArrayLike,
    fb: npt.ArrayLike,
    beta_per_day: npt.ArrayLike,
) -> FloatArray:
    """Vectorised `typical_auc`: exact AUC of the closed form over [start, end] (copies·day/µg) for arrays of
    individual parameters (broadcast together), integrated analytically piece by piece as `typical_auc`
    (docs/science/cellular-kinetics.md §5.2 derived values). Added for the trial simulator (issue 16). The
    interval is checked as `typical_auc` checks it: days 0 to `MAX_DAY`, end ≥ start (D-19.1181).

    >>> float(stein2019_auc(0, 28, 3900, 9.3, 24000, 0.16, 0.0079, 0.0032)) == typical_auc(0, 28)
    True
    """
    _check_auc_interval(start_days, end_days)  # a reversed interval gave a negative area (D-19.1181)
    f, tm, cm, a, b_frac, b = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (foldx, tmax_days, cmax, alpha_per_day, fb, beta_per_day))
    )
    rho = np.log(f) / tm
    r0 = cm / f
    lo, hi = max(float(start_days), 0.0), float(end_days)
    total = np.zeros(f.shape)
    up = np.minimum(hi, tm)
    width = up - lo
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        # R0·e^(rho·lo)·expm1(rho·width)/rho, R0·width at FOLDX = 1 (rho = 0; was 0/0 = NaN, D-19.757)
        growth = np.where(rho != 0, np.expm1(rho * width) / np.where(rho != 0, rho, 1.0), width)
        expansion = r0 * np.exp(rho * lo) * growth
    total = np.where(lo < tm, expansion, 0.0)
    u = np.maximum(lo, tm) - tm
    v = hi - tm
    contraction = (1 - b_frac) * cm / a * (np.exp(-a * u) - np.exp(-a * v)) + b_frac * cm / b * (
        np.exp(-b * u) - np.exp(-b * v)
    )
    total = total + np.where(hi > tm, contraction, 0.0)
    return np.asarray(total, dtype=float)


@dataclass(frozen=True)
class Stein2019Simulation:
    """Simulated virtual subjects: individual parameters and concentrations (subjects × days, copies/µg,
    with residual error if requested). `parameters` (a DataFrame with subject labels) is built on first
    use, so large simulations pay for it only when it is needed."""

    days: FloatArray
    parameter_values: FloatArray  # (subjects, 6) in STEIN_PARAMETERS order
    fb_capped: npt.NDArray[np.bool_]
    concentration: FloatArray
    seed: int | None
    settings: dict[str, Any] = field(default_factory=dict)
    subject_prefix: str = "SIM-"

    @cached_property
    def parameters(self) -> pd.DataFrame:
        """One row per subject: subject label, the six parameters, and ``fb_capped``."""
        n = self.parameter_values.shape[0]
        width = max(3, len(str(n)))
        table = pd.DataFrame(self.parameter_values, columns=list(STEIN_PARAMETERS))
        table.insert(0, "subject", [f"{self.subject_prefix}{i + 1:0{width}d}" for i in range(n)])
        table["fb_capped"] = self.fb_capped
        return table

    def long_table(self) -> pd.DataFrame:
        """Tidy samples: subject, day, conc_copies_per_ug and its flag ``conc_copies_per_ug_alq``
        (`alq_flag_column`: the level is the limit `MAX_CONCENTRATION`, `above_limit`; D-19.663)."""
        n, m = self.concentration.shape
        levels = self.concentration.ravel()
        return pd.DataFrame(
            {
                "subject": np.repeat(self.parameters["subject"].to_numpy(), m),
                "day": np.tile(self.days, n),
                "conc_copies_per_ug": levels,
                alq_flag_column("conc_copies_per_ug"): above_limit(levels),
            }
        )


MAX_SUBJECTS = 1_000_000
"""Most virtual subjects of one run (their parameters are held in memory, 48 MB at the limit; more are run
as several seeds)."""
MAX_DAY = 36_500.0
"""Latest simulated day (100 years after infusion): beyond any follow-up."""
MAX_SAMPLES = 50_000_000
"""Most samples (subjects × days) of one run (about 2 GB of CSV)."""
RESIDUAL_SD_LOG = SIMULATED_RESIDUAL_LOG_SD
"""The residual SD on the log scale of a simulation: `cartrial.allowed.SIMULATED_RESIDUAL_LOG_SD`, 0 to 10,
the upper bound of a fitted one, so every fit `kinetics map` reads is simulated (D-19.600)."""
OMEGA2 = OMEGA_LOG_VARIANCE
"""A between-subject variance ω² on the log scale (Stein 2019 Table 1: 0.38 to 2.4):
`cartrial.allowed.OMEGA_LOG_VARIANCE`, 0 to 100, the range a scenario's `kinetics.omega2`, `kinetics popfit`
and `kinetics map` take, so a fit's ω² drives this engine as it drives a scenario (D-19.603)."""


SUBJECTS_LIMIT_REASON = "individual parameters are held in memory; run several seeds for more"
"""Why a run holds at most `MAX_SUBJECTS` virtual subjects of the Stein 2019 model."""


def check_subjects(n_subjects: Any, limit: int = MAX_SUBJECTS, why: str = SUBJECTS_LIMIT_REASON) -> None:
    """Refuse a number of virtual subjects that is not a whole number from 1 to `limit` (`why`: the reason
    of the limit), before anything is allocated (`simulate_stein2019`, `kinetics.check_simulation`)."""
    check_argument("n_subjects", n_subjects, Allowed(integer=True, label=f"1 to {limit:,}"))
    if not (1 <= int(n_subjects) <= limit):
        raise InputError(
            Problem(
                f"more virtual subjects than the limit of {limit:,} ({why})"
                if n_subjects > limit
                else "at least one virtual subject is needed",
                field="n_subjects",
                value=n_subjects,
                allowed=f"1 to {limit:,}",
            )
        )


def check_samples(n_subjects: int, n_days: int) -> None:
    """Refuse a run of more than `MAX_SAMPLES` samples (subjects × days) before anything is allocated."""
    total = int(n_subjects) * int(n_days)
    if total > MAX_SAMPLES:
        raise InputError(
            Problem(
                f"{n_subjects:,} subjects × {n_days:,} days = {total:,} rows exceed the limit of "
                f"{MAX_SAMPLES:,} rows per run (about 2 GB of CSV)",
                field="n_subjects",
                value=n_subjects,
                allowed="fewer subjects or days, or several runs with different seeds",
            )
        )


def _check_simulation_arguments(
    n_subjects: Any,
    days: Any,
    seed: Any,
    typical: Any,
    omega2: Any,
    iiv: Any,
    residual_sd_log: Any,
    cmax_scale: Any,
    rho_factor: Any,
) -> tuple[FloatArray, dict[str, float], FloatArray]:
    """The day grid, the variances and the per-subject Cmax scale of a `simulate_stein2019` request; any
    argument outside its domain is an `InputError` naming it, before anything is allocated (D-19.79)."""
    check_subjects(n_subjects)
    check_seed(seed, optional=True)
    check_flag("iiv", iiv)
    check_argument("residual_sd_log", residual_sd_log, RESIDUAL_SD_LOG)
    check_argument("rho_factor", rho_factor, _POSITIVE)
    check_instance("typical", typical, Stein2019Parameters)
    try:
        t = np.asarray(days, dtype=float)
        scale = np.asarray(cmax_scale, dtype=float)
    except (TypeError, ValueError):
        raise InputError(Problem("not numbers", field="days / cmax_scale", allowed="numbers")) from None
    if t.ndim != 1 or t.size == 0:
        raise InputError(Problem("not a list of days", field="days", allowed="one or more days, 1-D"))
    outside = ~np.isfinite(t) | (t < 0) | (t > MAX_DAY)
    if outside.any():
        value = float(t[np.flatnonzero(outside)[0]])
        raise InputError(
            Problem("day outside the simulated range", field="days", value=value, allowed=f"0 to {MAX_DAY:g}")
        )
    check_samples(n_subjects, t.size)
    if scale.ndim > 1 or scale.size not in (1, int(n_subjects)):
        raise InputError(
            Problem(
                f"{scale.size} values for {int(n_subjects)} subjects",
                field="cmax_scale",
                allowed="one value, or one per subject",
            )
        )
    bad = ~np.isfinite(scale) | (scale <= 0)
    if bad.any():
        raise InputError(
            Problem(
                "not a finite number > 0",
                field="cmax_scale",
                value=float(scale.ravel()[np.flatnonzero(bad)[0]]),
                allowed="finite numbers > 0",
            )
        )
    variances = STEIN_2019_OMEGA2 if omega2 is None else omega2
    check_instance("omega2", variances, dict, "a dict of parameter name to ω²")
    for name, value in variances.items():
        if name not in STEIN_PARAMETERS:
            raise InputError(
                Problem(
                    "not a parameter of the model",
                    field="omega2",
                    value=name,
                    allowed=" | ".join(STEIN_PARAMETERS),
                )
            )
        check_argument(f"omega2[{name}]", value, OMEGA2)
    return t, dict(variances), np.broadcast_to(scale, (int(n_subjects),)).astype(float)


def observed_levels(
    levels: FloatArray, residual_sd_log: float, rng: np.random.Generator, *, draw_at_zero: bool = False
) -> tuple[FloatArray, int]:
    """The simulated observations of `levels` and how many were limited: with ``residual_sd_log`` > 0 each
    is C·exp(eps), eps ~ N(0, sd²) drawn from `rng` in the shape of `levels` (`draw_at_zero`: drawn at an SD
    of 0 too, as a simulated study does to keep its random stream); an observation above
    `cartrial.allowed.MAX_CONCENTRATION` (1e15, the largest level cartrial's readers take) is written as
    it, as an assay reports a level above its upper limit of quantification. The one rule of every
    simulated level (`simulate_stein2019`, `kinetics simulate`, a simulated study's PK samples), so what
    cartrial simulates it reads back (`kinetics nca`, `popfit`, `db import`; D-19.606): a lognormal draw is
    unbounded, so no bound of the SD alone guarantees it (at an SD of 10, 5.3e18 in 5,300 draws).

    >>> observed_levels(np.array([1.0, 1e16]), 0.0, np.random.default_rng(1))
    (array([1.e+00, 1.e+15]), 1)
    """
    if residual_sd_log > 0 or draw_at_zero:
        levels = levels * np.exp(rng.standard_normal(levels.shape) * residual_sd_log)
    above = ~(levels <= MAX_CONCENTRATION) & ~np.isnan(levels)
    limited = int(np.count_nonzero(above))
    if limited:
        levels = np.where(above, MAX_CONCENTRATION, levels)
    return levels, limited


ALQ_SUFFIX = "_alq"
"""The suffix of the flag column of a level above the upper limit of quantification (`alq_flag_column`)."""


def alq_flag_column(value_column: str) -> str:
    """The column flagging (true/false) the levels of `value_column` above the upper limit of quantification,
    as ``blq`` flags one below the lower: ``<value column>_alq``. cartrial's simulators write a level above
    `MAX_CONCENTRATION` as it and flag it there (`above_limit`), one flag per value column with residual
    error; `cartrial.kinetics.frames.validate_profiles` (NCA, the per-subject and the population fit) reads
    it by default for its value column, or the column named by its `alq_column` option (CLI ``--alq-col``),
    and refuses a flagged sample by its row (D-19.663, D-19.668).

    >>> alq_flag_column("car_t_copies_per_ug")
    'car_t_copies_per_ug_alq'
    """
    return f"{value_column}{ALQ_SUFFIX}"


def above_limit(levels: FloatArray) -> npt.NDArray[np.bool_]:
    """Which simulated observations `observed_levels` wrote as the limit `MAX_CONCENTRATION` (the written
    level is the limit): the flag (`alq_flag_column`) of the simulators' tables, so no reader takes the
    limit for a measured level (D-19.663).

    >>> above_limit(np.array([1.0, 1e15])).tolist()
    [False, True]
    """
    return np.asarray(np.asarray(levels) >= MAX_CONCENTRATION, dtype=bool)


def simulate_stein2019(
    n_subjects: int,
    days: npt.ArrayLike,
    *,
    seed: int | None = None,
    typical: Stein2019Parameters = STEIN_2019_TYPICAL,
    omega2: dict[str, float] | None = None,
    iiv: bool = True,
    residual_sd_log: float = 0.0,
    cmax_scale: npt.ArrayLike = 1.0,
    rho_factor: float = 1.0,
    subject_prefix: str = "SIM-",
) -> Stein2019Simulation:
    """Simulate `n_subjects` virtual subjects of the Stein 2019 model at `days` (vectorised).

    Individual parameters: theta · exp(eta), eta ~ N(0, omega²) (Table 1; diagonal). F_B is capped at 1
    (a log-normal fraction can exceed 1 at extreme eta; the cap keeps C(t) ≥ 0 and is recorded). With
    ``residual_sd_log`` > 0 (Table 1: 0.56), observations are C·exp(eps), eps ~ N(0, sd²); one above
    `MAX_CONCENTRATION` is written as it, counted in ``settings["limited_to_max_concentration"]``
    (`observed_levels`, D-19.606). `cmax_scale`
    (scalar or per subject) multiplies the typical Cmax, e.g. for a dose-level assumption. Deterministic
    for a given `seed` (numpy PCG64). Limits: 1 to `MAX_SUBJECTS` subjects, days 0 to `MAX_DAY`, at most
    `MAX_SAMPLES` samples; `omega2` names model parameters, each `OMEGA2` (0 to 100); `cmax_scale` and
    `rho_factor` > 0; anything else is an `InputError` naming the argument (D-19.79).

    >>> sim = simulate_stein2019(2, [0, 7, 28], seed=1)
    >>> sim.concentration.shape, sim.parameters["subject"].tolist()
    ((2, 3), ['SIM-001', 'SIM-002'])
    """
    t, variances, scale = _check_simulation_arguments(
        n_subjects, days, seed, typical, omega2, iiv, residual_sd_log, cmax_scale, rho_factor
    )
    rng = np.random.default_rng(seed)
    base = typical.as_array()
    if iiv:
        sd = np.sqrt(np.array([variances.get(name, 0.0) for name in STEIN_PARAMETERS]))
        eta = rng.standard_normal((n_subjects, len(STEIN_PARAMETERS))) * sd
        individual = base * np.exp(eta)
    else:
        individual = np.tile(base, (n_subjects, 1))
    individual[:, 2] = individual[:, 2] * scale
    capped = individual[:, 4] > 1.0
    individual[:, 4] = np.minimum(individual[:, 4], 1.0)
    individual[:, 0] = np.maximum(individual[:, 0], 1.0 + 1e-9)  # FOLDX ≥ 1 keeps rho ≥ 0
    conc = stein2019_concentration(t, *individual.T, rho_factor=rho_factor)
    if conc.ndim == 1:
        conc = conc[None, :]
    conc, limited = observed_levels(conc, residual_sd_log, rng)
    return Stein2019Simulation(
        days=t,
        parameter_values=individual,
        fb_capped=capped,
        subject_prefix=subject_prefix,
        concentration=conc,
        seed=seed,
        settings={
            "model": "stein2019",
            "source": STEIN_2019_SOURCE,
            "typical": asdict(typical),
            "omega2": dict(variances) if iiv else {},
            "residual_sd_log": residual_sd_log,
            "rho_factor": rho_factor,
            "seed": seed,
            "limited_to_max_concentration": limited,
        },
    )


# --------------------------------------------------------------------------------------------------------
# Individual fit
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FitOptions:
    """Settings of `fit_stein2019`.

    lower / upper: bounds of each parameter (natural scale) in `STEIN_PARAMETERS` order.
    min_points_before_tmax / min_points_after_tmax: identifiability requirements on quantifiable
    samples around the observed peak (the expansion needs R0 and rho; the biphasic decline needs alpha,
    F_B and beta). n_starts: starting points tried (a grid over Tmax and alpha/beta); the best
    likelihood wins. Residual SD is estimated (log scale).
    """

    lower: tuple[float, ...] = (1.0001, 0.5, 1e-3, 1e-3, 1e-6, 1e-6)
    upper: tuple[float, ...] = (1e9, 120.0, 1e9, 20.0, 1.0, 1.0)
    min_points_before_tmax: int = 2
    min_points_after_tmax: int = 4
    n_starts: int = 8


@dataclass(frozen=True)
class Stein2019Fit:
    """Result of an individual fit: estimates, standard errors, diagnostics and the per-sample table."""

    estimates: dict[str, float]
    standard_errors: dict[str, float]
    se_reasons: dict[str, str]
    residual_sd_log: float
    diagnostics: dict[str, Any]
    observations: pd.DataFrame
    blq_rule: str
    source: str = STEIN_2019_SOURCE

    def parameters(self) -> Stein2019Parameters:
        return Stein2019Parameters(**self.estimates)

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": "stein2019",
            "estimates": self.estimates,
            "standard_errors": self.standard_errors,
            "rse_percent": {
                k: (100 * self.standard_errors[k] / v if v else float("nan"))
                for k, v in self.estimates.items()
            },
            "se_not_estimable": self.se_reasons,
            "residual_sd_log": self.residual_sd_log,
            "diagnostics": self.diagnostics,
            "blq_rule": self.blq_rule,
            "source": self.source,
        }


def _log_prediction(theta: FloatArray, t: FloatArray) -> tuple[FloatArray, FloatArray]:
    """log C(t) of the closed form and its Jacobian (n × 6) with respect to the log parameters.

    Before Tmax: L = log Cmax - log FOLDX + (log FOLDX / Tmax)·t. After: L = log Cmax + log(mix),
    mix = (1 - F_B)·e^{-alpha s} + F_B·e^{-beta s}, s = t - Tmax (Stein 2019 closed form, section 5.1).
    """
    log_fold, log_tm, log_cm, log_a, log_fb, log_b = theta[:6]
    tm = math.exp(log_tm)
    alpha, beta = math.exp(log_a), math.exp(log_b)
    fb = min(math.exp(log_fb), 1.0)
    after = t >= tm
    s = np.maximum(t - tm, 0.0)
    fast = (1.0 - fb) * np.exp(-alpha * s)
    slow = fb * np.exp(-beta * s)
    mix = np.maximum(fast + slow, 1e-300)
    tt = np.maximum(t, 0.0)
    log_after = log_cm + np.log(mix)
    log_before = log_cm - log_fold + log_fold / tm * tt
    jac = np.zeros((t.size, 6))
    jac[:, 0] = np.where(after, 0.0, -1.0 + tt / tm)
    jac[:, 1] = np.where(after, tm * (alpha * fast + beta * slow) / mix, -log_fold * tt / tm)
    jac[:, 2] = 1.0
    jac[:, 3] = np.where(after, -alpha * s * fast / mix, 0.0)
    jac[:, 4] = np.where(after, (slow - fb * np.exp(-alpha * s)) / mix, 0.0)
    jac[:, 5] = np.where(after, -beta * s * slow / mix, 0.0)
    return np.where(after, log_after, log_before), jac


def log_y_jacobian(quantified_values: npt.ArrayLike) -> float:
    """2·Σ log y over the quantified observations y: added to the −2LL of log y (a fit with its residual error
    on the log scale) it gives the −2LL of y itself, since p(y) = p(log y)/y. The one rule of the reported
    −2LL (and AIC, BIC) of `fit_stein2019` (`kinetics fit`) and `kinetics popfit` (docs/popfit.md), so their
    likelihoods are on the scale of the data and comparable with a linear-scale fit (D-19.664). A censored
    (BLQ) sample contributes a probability, which needs no Jacobian.

    >>> round(log_y_jacobian([1.0, math.e]), 12)
    2.0
    """
    values = np.asarray(quantified_values, dtype=float)
    return float(2.0 * np.sum(np.log(values)))


def _negative_log_likelihood(
    theta: FloatArray, t: FloatArray, log_y: FloatArray, quantified: BoolArray, log_lloq: FloatArray
) -> tuple[float, FloatArray]:
    """Negative log-likelihood (log-normal residuals; M3 censoring for BLQ) and its gradient."""
    sigma = math.exp(theta[6])
    log_pred, jac = _log_prediction(theta, t)
    z = (log_y[quantified] - log_pred[quantified]) / sigma
    nll = 0.5 * float(z @ z) + z.size * (theta[6] + 0.5 * math.log(2 * math.pi))
    d_pred = np.zeros(t.size)
    d_pred[quantified] = -z / sigma
    d_sigma = float(z.size - z @ z)
    if log_lloq.size:
        # M3 (Beal 2001): a BLQ sample contributes P(observation < LLOQ) = Phi((log LLOQ - log pred) / sigma)
        zc = (log_lloq - log_pred[~quantified]) / sigma
        log_cdf = special.log_ndtr(zc)
        nll -= float(np.sum(log_cdf))
        mills = np.exp(-0.5 * zc * zc - 0.5 * math.log(2 * math.pi) - log_cdf)  # phi / Phi
        d_pred[~quantified] = mills / sigma
        d_sigma += float(mills @ zc)
    gradient = np.empty(7)
    gradient[:6] = jac.T @ d_pred
    gradient[6] = d_sigma
    return nll, gradient


def _hessian(gradient: Any, x: FloatArray, step: float = 1e-5) -> FloatArray:
    """Symmetrised central-difference Hessian from the analytic gradient."""
    n = len(x)
    h = np.empty((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = step
        h[:, i] = (gradient(x + e) - gradient(x - e)) / (2 * step)
    return (h + h.T) / 2


POORLY_DETERMINED_RSE_PERCENT = 100.0
"""RSE (SE / estimate, %) above which a per-subject estimate is poorly determined (D-19.276): SE(log θ) > 1,
a 95 % interval wider than a factor e^{2·1.96} ≈ 50 on each side."""

POORLY_DETERMINED_CONDITION = 1000.0
"""Condition number of the estimates' correlation matrix (largest / smallest eigenvalue) above which the fit
is ill-conditioned (D-19.276; the PsN/NONMEM rule of thumb for the $COV step's correlation matrix)."""


def correlation_condition_number(cov: FloatArray) -> float:
    """Largest / smallest eigenvalue of the correlation matrix of `cov` (inf when it is not positive
    definite, NaN when `cov` is not finite).

    >>> correlation_condition_number(np.eye(3))
    1.0
    >>> correlation_condition_number(np.array([[1.0, 0.999], [0.999, 1.0]])) > 1000
    True
    """
    if not np.all(np.isfinite(cov)):
        return math.nan
    variances = np.diag(cov)
    if not np.all(variances > 0):
        return math.inf
    sd = np.sqrt(variances)
    eig = np.linalg.eigvalsh(cov / np.outer(sd, sd))
    return float(eig[-1] / eig[0]) if eig[0] > 0 else math.inf


def determination_problems(
    estimates: dict[str, float], se: dict[str, float], se_reasons: dict[str, str], condition: float
) -> list[str]:
    """Why an individual fit is poorly determined (empty when it is not; D-19.276): a parameter without a
    standard error (at its bound, or a Hessian — NONMEM's R matrix — not positive definite), an RSE above
    `POORLY_DETERMINED_RSE_PERCENT`, or a correlation matrix with a condition number above
    `POORLY_DETERMINED_CONDITION`. The estimate is kept; the label says it is not to be relied on.

    >>> determination_problems({"a": 2.0}, {"a": 3.0}, {}, 10.0)
    ['a RSE 150 % > 100 %']
    """
    out = [f"{name} has no SE ({reason})" for name, reason in se_reasons.items()]
    for name, value in estimates.items():
        s = se.get(name, math.nan)
        if (
            name not in se_reasons
            and math.isfinite(s)
            and value
            and 100 * s / abs(value) > POORLY_DETERMINED_RSE_PERCENT
        ):
            out.append(f"{name} RSE {100 * s / abs(value):.0f} % > {POORLY_DETERMINED_RSE_PERCENT:.0f} %")
    if not se_reasons and not condition <= POORLY_DETERMINED_CONDITION:
        text = "not finite" if not math.isfinite(condition) else f"{condition:.3g}"
        out.append(
            f"correlation matrix ill-conditioned (condition number {text} > {POORLY_DETERMINED_CONDITION:g})"
        )
    return out


def fit_stein2019(
    days: npt.ArrayLike,
    concentration: npt.ArrayLike,
    *,
    lloq: npt.ArrayLike | None = None,
    blq: npt.ArrayLike | None = None,
    options: FitOptions | None = None,
    lloq_names: str = "lloq",
) -> Stein2019Fit:
    """Fit the Stein 2019 closed form to one subject's transgene profile by maximum likelihood.

    Residuals are on the log scale with an estimated SD (the paper's error model, Table 1). BLQ samples
    (concentration 0, flagged in `blq`, or below `lloq`) enter as left-censored observations (M3 method, Beal
    SL, J Pharmacokinet Pharmacodyn 2001;28:481-504): likelihood Phi((log LLOQ - log C)/sigma). A BLQ sample
    without an LLOQ is not estimable, the reason naming how to give one as `lloq_names` (the argument ``lloq``
    here; a caller names its own, the CLI its options: D-19.1182). Estimation: bounded truncated Newton (scipy
    TNC, analytic gradient) on log parameters from several starts (grid over Tmax near the observed peak and
    over alpha/beta/F_B); the best likelihood wins. Standard errors: inverse of the Hessian of the negative
    log-likelihood (central differences of the analytic gradient), delta method SE = theta · SE(log theta).
    (TNC rather than L-BFGS-B: L-BFGS-B's Fortran core calls multithreaded BLAS and ran 15× slower on a loaded
    machine.)

    A saturated profile — no more quantifiable samples than the 7 estimated quantities — is refused as not
    identifiable (it would fit every point exactly and report a residual SD near 0).

    >>> days = np.array([0.5, 2, 4, 7, 10, 14, 21, 28, 60, 90, 180, 365])
    >>> level = stein2019_concentration(days, 3900, 9.3, 24000, 0.16, 0.0079, 0.0032)
    >>> noisy = level * np.exp(np.random.default_rng(3).normal(0, 0.2, days.size))
    >>> fit = fit_stein2019(days, noisy)
    >>> 8 < fit.estimates["tmax_days"] < 11, 0.1 < fit.residual_sd_log < 0.4
    (True, True)
    >>> fit_stein2019(days[:7], noisy[:7])
    Traceback (most recent call last):
    ...
    cartrial.errors.NotEstimableError: the profile cannot identify the Stein 2019 model: ...

    Raises:
        NotEstimableError: too few quantifiable samples overall, before or after the observed peak, or no
            start converged (the message says which).
    """
    opts = options or FitOptions()
    t = np.asarray(days, dtype=float)
    y = np.asarray(concentration, dtype=float)
    if t.shape != y.shape or t.ndim != 1:
        raise ConfigurationError("days and concentration must be 1-D arrays of the same length")
    keep = ~np.isnan(y) & ~np.isnan(t)
    ll = (
        np.full(t.shape, np.nan) if lloq is None else np.broadcast_to(np.asarray(lloq, float), t.shape).copy()
    )
    flag = np.zeros(t.shape, bool) if blq is None else np.asarray(blq, dtype=bool).copy()
    t, y, ll, flag = t[keep], y[keep], ll[keep], flag[keep]
    with np.errstate(invalid="ignore"):
        is_blq = flag | (y <= 0) | (y < ll)
    if np.isnan(ll[is_blq]).any():
        raise NotEstimableError(
            "a BLQ sample has no LLOQ: the censored likelihood needs the LLOQ of every BLQ sample "
            f"(give {lloq_names})"
        )
    quant = ~is_blq
    n_q = int(quant.sum())
    if n_q == 0:
        raise NotEstimableError("cannot fit the Stein 2019 model: no quantifiable sample (all BLQ)")
    peak = int(np.argmax(np.where(quant, y, -np.inf)))
    t_peak = float(t[peak])
    before = int((quant & (t <= t_peak) & (t >= 0)).sum())
    after = int((quant & (t > t_peak)).sum())
    problems = []
    if before < opts.min_points_before_tmax:
        problems.append(
            f"{count(before, 'quantifiable sample')} up to the observed peak "
            f"(need {opts.min_points_before_tmax} to identify the expansion rate and R0)"
        )
    if after < opts.min_points_after_tmax:
        problems.append(
            f"{count(after, 'quantifiable sample')} after the observed peak "
            f"(need {opts.min_points_after_tmax} to identify alpha, F_B and beta of the biphasic decline)"
        )
    n_estimated = len(STEIN_PARAMETERS) + 1  # six structural parameters and the residual SD
    if n_q <= n_estimated:
        problems.append(
            f"{n_q} quantifiable samples for {n_estimated} estimated quantities (6 parameters and the "
            f"residual SD): a saturated fit is not identifiable (need at least {n_estimated + 1})"
        )
    if problems:
        raise NotEstimableError("the profile cannot identify the Stein 2019 model: " + "; ".join(problems))

    log_y = np.where(quant, np.log(np.where(quant, y, 1.0)), 0.0)
    log_ll = np.where(is_blq, np.log(np.where(is_blq, ll, 1.0)), 0.0)
    log_ll_blq = log_ll[~quant]
    lower = np.log(np.array(opts.lower))
    upper = np.log(np.array(opts.upper))
    bounds = [*zip(lower, upper, strict=True), (math.log(1e-3), math.log(10.0))]

    def objective_and_gradient(theta: FloatArray) -> tuple[float, FloatArray]:
        return _negative_log_likelihood(theta, t, log_y, quant, log_ll_blq)

    def objective(theta: FloatArray) -> float:
        return objective_and_gradient(theta)[0]

    cmax0 = float(y[peak])
    first_pos = t[quant & (t >= 0)]
    c_first = float(y[quant & (t >= 0)][0]) if first_pos.size else cmax0 / 100
    neighbours = sorted({t_peak, *(t[quant][(t[quant] > 0)][:])})
    peak_candidates = [
        tp
        for tp in neighbours
        if abs(np.searchsorted(neighbours, tp) - np.searchsorted(neighbours, t_peak)) <= 1
    ]
    starts = []
    fold0 = max(cmax0 / max(c_first, 1e-9) * math.exp(0.5), 2.0)
    for alpha0, beta0, fb0 in (
        (0.16, 0.0032, 0.0079),
        (0.4, 0.01, 0.05),
        (0.08, 0.001, 0.002),
        (0.2, 0.02, 0.1),
    ):
        for tp in peak_candidates:
            starts.append(np.log([fold0, max(float(tp), 0.6), cmax0, alpha0, fb0, beta0, 0.3]))
    starts = starts[: max(opts.n_starts, 1)]
    fits = []
    for start in starts:
        x0 = np.clip(start, [b[0] for b in bounds], [b[1] for b in bounds])
        result = optimize.minimize(
            objective_and_gradient, x0, jac=True, method="TNC", bounds=bounds, options={"maxfun": 3000}
        )
        fits.append(result)
    finite = [f for f in fits if np.isfinite(f.fun)]
    if not finite:
        raise NotEstimableError("the Stein 2019 fit did not converge from any start")
    best = min(finite, key=lambda f: f.fun)
    theta = best.x
    estimates = dict(zip(STEIN_PARAMETERS, np.exp(theta[:6]).tolist(), strict=True))
    sigma = float(math.exp(theta[6]))

    se: dict[str, float] = {}
    se_reasons: dict[str, str] = {}
    at_bound = [
        name
        for name, value, lo, hi in zip(STEIN_PARAMETERS, theta[:6], lower, upper, strict=True)
        if value <= lo + 1e-6 or value >= hi - 1e-6
    ]
    hessian = _hessian(lambda x: objective_and_gradient(x)[1], theta)
    try:
        cov = np.linalg.inv(hessian)
        variances = np.diag(cov)
    except np.linalg.LinAlgError:
        cov = np.full((7, 7), np.nan)
        variances = np.full(7, np.nan)
    condition = correlation_condition_number(np.asarray(cov, dtype=np.float64))
    for i, name in enumerate(STEIN_PARAMETERS):
        if name in at_bound:
            se[name] = float("nan")
            se_reasons[name] = "estimate at its bound: standard error not estimable"
        elif not (np.isfinite(variances[i]) and variances[i] > 0):
            se[name] = float("nan")
            se_reasons[name] = "Hessian not positive definite: parameter not identifiable from this profile"
        else:
            se[name] = float(estimates[name] * math.sqrt(variances[i]))

    pred = stein2019_concentration(t, *[estimates[k] for k in STEIN_PARAMETERS])
    log_pred = np.log(np.maximum(pred, 1e-300))
    residual = np.where(quant, log_y - log_pred, np.nan)
    observations = pd.DataFrame(
        {
            "day": t,
            "observed": np.where(quant, y, np.nan),
            "blq": is_blq,
            "lloq": ll,
            "predicted": pred,
            "log_residual": residual,
            "weighted_residual": residual / sigma,
        }
    )
    n_par = 7
    # the −2LL of y, as `kinetics popfit` reports it: that of log y plus 2·Σ log y (D-19.664)
    m2ll = 2 * float(best.fun) + log_y_jacobian(y[quant])
    q_res = residual[quant]
    ss_tot = float(np.sum((log_y[quant] - log_y[quant].mean()) ** 2))
    diagnostics = {
        "n_observations": len(t),
        "n_quantifiable": n_q,
        "n_blq": int(is_blq.sum()),
        "minus_2_log_likelihood": m2ll,
        "aic": m2ll + 2 * n_par,
        "bic": m2ll + n_par * math.log(len(t)),
        "r2_log": 1.0 - float(np.sum(q_res**2)) / ss_tot if ss_tot > 0 else float("nan"),
        "max_abs_weighted_residual": float(np.nanmax(np.abs(residual / sigma))),
        "converged": bool(best.success),
        "optimizer_message": str(best.message),
        "n_starts": len(starts),
        "n_starts_converged": int(sum(bool(f.success) for f in fits)),
        "starts_within_1_of_best": int(sum(f.fun - best.fun < 1.0 for f in finite)),
        "parameters_at_bounds": at_bound,
        "condition_number": condition,
    }
    diagnostics["determination"] = determination_problems(estimates, se, se_reasons, condition)
    diagnostics["status"] = (
        "not converged"
        if not best.success
        else "poorly determined"
        if diagnostics["determination"]
        else "converged"
    )
    return Stein2019Fit(
        estimates=estimates,
        standard_errors=se,
        se_reasons=se_reasons,
        residual_sd_log=sigma,
        diagnostics=diagnostics,
        observations=observations,
        blq_rule="M3 censored likelihood (Beal 2001): BLQ = concentration 0, flagged, or below LLOQ",
    )


__all__ = [
    "STEIN_2019_OMEGA2",
    "STEIN_2019_RESIDUAL_SD_LOG",
    "STEIN_2019_SOURCE",
    "STEIN_2019_TYPICAL",
    "STEIN_PARAMETERS",
    "FitOptions",
    "Stein2019Fit",
    "Stein2019Parameters",
    "Stein2019Simulation",
    "fit_stein2019",
    "observed_levels",
    "simulate_stein2019",
    "stein2019_auc",
    "stein2019_concentration",
    "typical_auc",
]
