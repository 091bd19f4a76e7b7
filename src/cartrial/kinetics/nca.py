"""Non-compartmental analysis (NCA) of concentration-time profiles, vectorised over subjects.

Rules follow the documented business rules of the R package PKNCA (Denney W; examined at tag v0.12.1,
files ``R/auc_integrate.R``, ``R/half.life.R``, ``R/pk.calc.simple.R``, ``R/cleaners.R``) as transcribed in
``docs/science/cellular-kinetics.md §2 and 4; Phoenix WinNonlin conventions (Phoenix 8.3 help,
"Lambda Z or Slope Estimation settings") are options. Defaults reproduce PKNCA:

* AUC method lin-up/log-down (``auc_method``; docs/science/cellular-kinetics.md §2.2);
* BLQ (concentration 0, or below ``lloq``): first kept as 0, middle dropped, last kept (``blq_first``,
  ``blq_middle``, ``blq_last``; docs/science/cellular-kinetics.md §2.3, PKNCA ``clean.conc.blq``);
* lambda_z by adjusted R² over tail windows of ≥ 3 points strictly after Tmax, tolerance 1e-4, most
  points among qualifying windows (``lambda_z_order``; docs/science/cellular-kinetics.md §2.4).

Input: one long DataFrame (subject, time, concentration). Output: `NcaResult` with a tidy table, one row per
subject, the columns of docs/science/decisions.md D-6.1 (``cmax, tmax, clast, tlast, auclast, aucall,
aumclast, lambda_z,
half_life, adj_r2, lambda_z_n, lambda_z_tfirst, clast_pred, aucinf_obs, aucinf_pred``, ``auc_<a>_<b>``),
a ``not_estimable`` column giving the reason for every missing value, and the options and units used.

Input rules (documented choice): times within a subject need not be sorted: they are sorted and the result
says so in ``notes``; a repeated time within a subject (a second sample at a time, identical or not),
negative or non-numeric concentrations and blank units are errors (`InputError`); missing (NaN)
concentrations are dropped, as PKNCA does by default, and counted in ``n_missing``; samples before time 0
(pre-infusion) are not part of the profile (PKNCA's interval starts at the dose; the concentration at the
infusion is 0) and are counted in ``n_pre_dose`` (decisions D-6.7).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from cartrial.allowed import choice_text
from cartrial.columns import (
    FIRST_DATA_ROW,
    FLAG_ALLOWED,
    RowProblems,
    check_repeated_keys,
    parse_bool,
)
from cartrial.errors import ConfigurationError, InputError, OptionError, Problem
from cartrial.kinetics.templates import (
    LLOQ,
    MAX_CONCENTRATION,
    MIN_LLOQ,
    TIME_UNITS,
    days_per_time_unit,
)
from cartrial.protocol.nca_options import (
    BLQ_PRESETS,
    PKNCA_SOURCE,
    AucMethod,
    FoldExpansionReference,
    LambdaZOrder,
    NcaOptions,
    PersistenceRule,
)
from cartrial.wording import count

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

LAMBDA_Z_PARAMETERS: tuple[str, ...] = (
    "lambda_z",
    "half_life",
    "r2",
    "adj_r2",
    "lambda_z_n",
    "lambda_z_tfirst",
    "lambda_z_tlast",
    "span_ratio",
    "clast_pred",
    "aucinf_obs",
    "aucinf_pred",
    "auc_pct_extrap_obs",
    "auc_pct_extrap_pred",
)
"""The parameters that need the terminal phase (blank with a reason when it cannot be estimated)."""

PARAMETERS: tuple[str, ...] = (
    "cmax",
    "tmax",
    "clast",
    "tlast",
    "auclast",
    "aucall",
    "aumclast",
    *LAMBDA_Z_PARAMETERS,
    "persistence_days",
    "fold_expansion",
    "fold_expansion_reference_conc",
)
"""Per-subject NCA parameters, in output order (interval AUC columns follow); ``fold_expansion_reference``
(the definition of ``fold_expansion``, `FoldExpansionReference`) follows ``fold_expansion``."""

NO_POST_INFUSION_REFERENCE = (
    "no quantifiable post-infusion sample (time > 0) to divide Cmax by (fold_expansion_reference "
    "first_quantifiable)"
)
"""The reason of a blank ``fold_expansion`` whose profile is quantifiable only at time 0 (D-19.1450)."""

NO_POST_INFUSION_PEAK = "Cmax is at time 0 (Tmax 0): no post-infusion peak to divide by the reference"
"""The reason of a blank ``fold_expansion`` whose Cmax is the time-0 (pre-infusion) sample (D-19.1450)."""


def _bound_text(bound: float) -> str:
    """An interval bound written exactly: a whole number without a decimal point (``28``), ``inf``, else the
    shortest decimal that reads back as the same float (``0.5``, ``1.0000001``; Python's `repr`)."""
    value = float(bound)
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value.is_integer():
        return str(int(value))
    return repr(value)


def interval_column(start: float, end: float, prefix: str = "auc") -> str:
    """Column name of a partial AUC, e.g. ``auc_0_28`` (docs/science/decisions.md D-6.2) or ``auc_0_inf``.
    The bounds are written exactly (`_bound_text`), so different intervals never share a name and the name
    reads back as the interval (D-19.1183; 6 significant digits made [0, 1.0000001] and [0, 1.0000002] one
    column, the second AUC overwriting the first).

    >>> interval_column(0, 28), interval_column(0, float("inf"), prefix="aucint_inf_obs")
    ('auc_0_28', 'aucint_inf_obs_0_inf')
    >>> interval_column(0.5, 1234567), interval_column(0, 1.0000001)
    ('auc_0.5_1234567', 'auc_0_1.0000001')
    """
    return f"{prefix}_{_bound_text(start)}_{_bound_text(end)}"


def persistence_flags(
    last_quantifiable_day: npt.ArrayLike, last_sample_day: npt.ArrayLike, persistence_day: float
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """CAR-T persistence beyond `persistence_day` (D-13.1, D-19.87, D-19.855), the one rule of the analysis
    and the simulator: (persisting, evaluable) per subject. Persisting: the last quantifiable sample
    (`nca`'s ``persistence_days``, by the protocol's `PersistenceRule`; NaN: none) is after the day.
    Evaluable: a sample (quantifiable or not) was taken after the day (NaN: none) — a subject whose samples
    all precede it cannot show persistence and is not counted as one without it.

    >>> persisting, evaluable = persistence_flags([270.0, 90.0, float("nan")], [365.0, 365.0, 150.0], 180)
    >>> persisting.tolist(), evaluable.tolist()
    ([True, False, False], [True, True, False])
    """
    last_q = np.asarray(last_quantifiable_day, dtype=float)
    last_s = np.asarray(last_sample_day, dtype=float)
    with np.errstate(invalid="ignore"):
        return (np.nan_to_num(last_q, nan=-np.inf) > persistence_day), (
            np.nan_to_num(last_s, nan=-np.inf) > persistence_day
        )


def derived_units(conc_unit: str, time_unit: str) -> dict[str, str]:
    """Units of every output column given concentration and time units (copies/ug, day → copies·day/ug).

    >>> units = derived_units("copies/ug", "day")
    >>> units["auclast"], units["lambda_z"]
    ('copies·day/ug', '1/day')
    """
    if "/" in conc_unit:
        numerator, denominator = conc_unit.split("/", 1)
        auc = f"{numerator}·{time_unit}/{denominator}"
        aumc = f"{numerator}·{time_unit}²/{denominator}"
    else:
        auc = f"{conc_unit}·{time_unit}"
        aumc = f"{conc_unit}·{time_unit}²"
    units = {
        "cmax": conc_unit,
        "clast": conc_unit,
        "clast_pred": conc_unit,
        "tmax": time_unit,
        "tlast": time_unit,
        "lambda_z_tfirst": time_unit,
        "lambda_z_tlast": time_unit,
        "half_life": time_unit,
        # in days when the time unit converts to days (`nca` converts it; D-19.405)
        "persistence_days": "day" if days_per_time_unit(time_unit) is not None else time_unit,
        "fold_expansion": "1",
        "fold_expansion_reference_conc": conc_unit,
        "last_sample_time": time_unit,
        "auclast": auc,
        "aucall": auc,
        "aucinf_obs": auc,
        "aucinf_pred": auc,
        "aumclast": aumc,
        "lambda_z": f"1/{time_unit}",
        "auc_pct_extrap_obs": "%",
        "auc_pct_extrap_pred": "%",
        "r2": "1",
        "adj_r2": "1",
        "lambda_z_n": "points",
        "span_ratio": "1",
    }
    return units


@dataclass(frozen=True)
class NcaResult:
    """NCA output: the tidy table (one row per subject), reasons, options, units and notes."""

    table: pd.DataFrame
    options: NcaOptions
    units: dict[str, str]
    notes: tuple[str, ...] = field(default=())

    def metadata(self) -> dict[str, Any]:
        """Options, units and notes, for JSON output next to the rows."""
        return {"options": self.options.as_dict(), "units": self.units, "notes": list(self.notes)}


# --------------------------------------------------------------------------------------------------------
# Core array computation
# --------------------------------------------------------------------------------------------------------


def _left_compact(mask: BoolArray, *arrays: FloatArray) -> tuple[BoolArray, list[FloatArray]]:
    """Move the True entries of each row to the left, keeping their order; other entries become NaN."""
    order = np.argsort(~mask, axis=1, kind="stable")
    new_mask = np.take_along_axis(mask, order, axis=1)
    out = []
    for array in arrays:
        moved = np.take_along_axis(array, order, axis=1)
        out.append(np.where(new_mask, moved, np.nan))
    return new_mask, out


def _log_ratio(c1: FloatArray, c2: FloatArray, where: BoolArray) -> FloatArray:
    """ln(c1/c2) where `where` holds (both positive), else 1: as log1p of the relative change, exact to
    rounding also when c1 and c2 nearly agree (np.log of a ratio within 1e-8 of 1 loses half its digits, and
    a log-trapezoid area with them; decisions D-6.8)."""
    return np.asarray(np.where(where, np.log1p((c1 - c2) / np.where(where, c2, 1.0)), 1.0), dtype=np.float64)


def _segments(
    t: FloatArray, c: FloatArray, use: BoolArray, method: AucMethod, imax: npt.NDArray[np.intp]
) -> tuple[FloatArray, FloatArray, BoolArray, BoolArray]:
    """Area and first-moment area of each segment (j, j+1) between consecutive used points.

    Returns (auc, aumc, valid, is_log), shape (n, m-1). Formulas: docs/science/cellular-kinetics.md §2.2
    (linear and log trapezoid,
    linear and log AUMC).
    """
    t1, t2 = t[:, :-1], t[:, 1:]
    c1, c2 = c[:, :-1], c[:, 1:]
    valid = use[:, :-1] & use[:, 1:]
    dt = t2 - t1
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if method == AucMethod.LINEAR:
            is_log = np.zeros_like(valid)
        elif method == AucMethod.LIN_UP_LOG_DOWN:
            is_log = valid & (c2 < c1) & (c2 > 0)
        else:
            start_index = np.arange(t.shape[1] - 1)[None, :]
            is_log = valid & (start_index >= imax[:, None]) & (c1 > 0) & (c2 > 0) & (c1 != c2)
        lin_auc = dt * (c1 + c2) / 2.0
        lin_aumc = dt * (t1 * c1 + t2 * c2) / 2.0
        x = _log_ratio(c1, c2, is_log)  # k·dt
        log_auc = (c1 - c2) * dt / x
        # first moment: t1·AUC + c1·dt²·g(x), g(x) = (1 − e^(−x)(1 + x))/x², which is the usual
        # (t1·c1 − t2·c2)/k + (c1 − c2)/k² without its two ~1/x terms cancelling; a series for small |x|
        series = 0.5 - x / 3 + x * x / 8 - x**3 / 30 + x**4 / 144
        direct = (-np.expm1(-x) - x * np.exp(-x)) / (x * x)
        g = np.where(np.abs(x) < 1e-3, series, direct)
        log_aumc = t1 * log_auc + c1 * dt * dt * g
        auc = np.where(valid, np.where(is_log, log_auc, lin_auc), 0.0)
        aumc = np.where(valid, np.where(is_log, log_aumc, lin_aumc), 0.0)
    return auc, aumc, valid, is_log


def _last_positive_index(c: FloatArray, use: BoolArray) -> tuple[npt.NDArray[np.intp], BoolArray]:
    positive = use & (c > 0)
    m = c.shape[1]
    has: BoolArray = np.asarray(positive.any(axis=1), dtype=bool)
    last = m - 1 - np.argmax(positive[:, ::-1], axis=1)
    return np.asarray(np.where(has, last, -1), dtype=np.intp), has


def _max_index(c: FloatArray, use: BoolArray) -> npt.NDArray[np.intp]:
    return np.argmax(np.where(use, c, -np.inf), axis=1)


def _auclast_masked(
    t: FloatArray, c: FloatArray, use: BoolArray, method: AucMethod
) -> tuple[FloatArray, FloatArray]:
    """AUClast and AUMClast of the used points (to the last positive one)."""
    imax = _max_index(c, use)
    ilast, has = _last_positive_index(c, use)
    auc, aumc, _, _ = _segments(t, c, use, method, imax)
    before_last = np.arange(t.shape[1] - 1)[None, :] < ilast[:, None]
    return np.where(has, (auc * before_last).sum(axis=1), np.nan), np.where(
        has, (aumc * before_last).sum(axis=1), np.nan
    )


def _apply_blq_rules(
    c: FloatArray, present: BoolArray, options: NcaOptions, lloq: FloatArray | None
) -> tuple[BoolArray, FloatArray]:
    """PKNCA ``clean.conc.blq`` on the `present` samples of each row (sorted by time): BLQ (0) values before
    the first quantifiable one are "first", between the first and last "middle", after the last "last"
    (all "first" when none is quantifiable); or, with ``blq_before_tmax``/``blq_after_tmax`` (D-19.966),
    before the first maximum and at or after it; each position is kept, dropped or substituted
    (docs/science/cellular-kinetics.md §2.3). Returns (samples used, concentrations after substitution)."""
    m = c.shape[1]
    positions = np.arange(m)[None, :]
    quant = present & (c > 0)
    has_quant: BoolArray = np.asarray(quant.any(axis=1), dtype=bool)
    first_q = np.where(has_quant, np.argmax(quant, axis=1), m)
    last_q = np.where(has_quant, m - 1 - np.argmax(quant[:, ::-1], axis=1), -1)
    blq = present & (c == 0)
    where_blq: dict[str, BoolArray]
    if options.blq_by_tmax:
        # PKNCA clean.conc.blq before.tmax / after.tmax: BLQ before the time of the first maximum, and at or
        # after it; with every sample BLQ, Tmax is the last sample's time (D-19.966)
        last_present = m - 1 - np.argmax(present[:, ::-1], axis=1)
        imax = np.where(has_quant, np.argmax(np.where(present, c, -np.inf), axis=1), last_present)
        where_blq = {
            "blq_before_tmax": blq & (positions < imax[:, None]),
            "blq_after_tmax": blq & (positions >= imax[:, None]),
        }
    else:
        where_blq = {
            "blq_first": blq & (positions < first_q[:, None]),
            "blq_middle": blq & (positions > first_q[:, None]) & (positions < last_q[:, None]),
            "blq_last": blq & (positions > last_q[:, None]) & has_quant[:, None],
        }
    use = present.copy()
    c_used = c.copy()
    for name, mask in where_blq.items():
        action = getattr(options, name)
        if action is None or action == "keep":
            continue
        if action == "drop":
            use &= ~mask
        elif action == "half_lloq":
            if lloq is None:
                raise ConfigurationError(f"{name}=half_lloq needs the LLOQ of every BLQ sample")
            half = np.asarray(lloq, dtype=float) / 2.0
            if np.isnan(half[mask]).any():
                raise ConfigurationError(f"{name}=half_lloq: a BLQ sample has no LLOQ")
            c_used = np.where(mask, half, c_used)
        else:
            c_used = np.where(mask, float(action), c_used)
    return use, c_used


def _interval_auclast(
    t_raw: FloatArray,
    c_raw: FloatArray,
    present: BoolArray,
    a: float,
    b: float,
    options: NcaOptions,
    lloq: FloatArray | None,
) -> tuple[FloatArray, npt.NDArray[np.object_]]:
    """PKNCA ``auclast`` of an interval [a, b] (the samples-only ``auclast_<a>_<b>``), with the reason where
    it is missing. As PKNCA ``pk.nca`` (data subset to the interval) and ``pk.calc.auxc`` (R/auc.R): the BLQ
    rules are applied to the samples inside the interval; fewer than 2 samples: missing; every sample BLQ:
    0; no sample at the start `a`: missing ("Requesting an AUC range starting before the first measurement
    is not allowed"); otherwise AUClast of those samples (docs/science/cellular-kinetics.md §2.5)."""
    with np.errstate(invalid="ignore"):
        inside = present & (t_raw >= a) & (t_raw <= b)
    use, c_used = _apply_blq_rules(c_raw, inside, options, lloq)
    use, (t, c) = _left_compact(use, t_raw, c_used)
    n_inside = use.sum(axis=1)
    area, _ = _auclast_masked(t, c, use, options.auc_method)
    all_blq = ~(use & (c > 0)).any(axis=1)
    starts_at_a = use[:, 0] & (t[:, 0] == a)
    few = n_inside < 2
    value = np.where(few, np.nan, np.where(all_blq, 0.0, np.where(starts_at_a, area, np.nan)))
    reason = np.where(
        few,
        "fewer than 2 samples inside the interval",
        np.where(
            all_blq | starts_at_a,
            "",
            f"no sample at the interval start {a:g} (PKNCA: an AUC cannot start before the first "
            "measurement; the aucint_ columns interpolate)",
        ),
    )
    return np.asarray(value, dtype=float), np.asarray(reason, dtype=object)


COVERAGE_SOURCE = (
    "D-19.95: PKNCA aucint.last counts the time after Tlast as 0 (interp.extrap.conc, auc.type AUClast) and "
    "flags nothing; EMA BE Q&A (3rd EGA symposium 2010, Q12): AUC(0-72h) where the 72-h sample was taken"
)
"""Where the coverage rule of a partial AUC comes from (`interval_coverage`)."""


def interval_coverage(
    times: FloatArray,
    concentrations: FloatArray,
    present: BoolArray,
    end: float,
    rule: str = "blq_tail",
    nominal: FloatArray | None = None,
    window: tuple[FloatArray, FloatArray] | None = None,
) -> BoolArray:
    """Whether each profile's samples cover a partial AUC ending at `end` (docs/science/decisions.md D-19.95,
    D-19.104).

    Rows are profiles (subjects × samples, as `nca_arrays`: post-dose samples with a concentration are
    `present`, BLQ coded 0). Covered: a present sample at or after `end` by its actual time, or by its
    `nominal` (scheduled) time when its actual time is inside its visit window — `window` = (earliest,
    latest) actual times accepted for each sample's nominal time, NaN where none applies (the interval-end
    visit sampled inside its window, e.g. the day-28 sample at day 27.9 in a ±2-day window; the day-28
    sample taken on day 20 does not cover: its AUC is an AUC to day 20). Without `window` a nominal time
    never counts; with ``rule="blq_tail"`` (default) also a last sample before `end` that is BLQ: the
    concentration is below the LLOQ there, and ``aucint.last`` counts the rest of the interval as 0, the
    value a BLQ sample at `end` would give. Not covered (samples stop before `end` at a quantifiable value,
    e.g. a death on day 10 or an interim cut-off on day 14): ``auc_<a>_<b>`` is then an AUC to the last
    sample (PKNCA ``aucint.last`` extrapolates 0 after Tlast, with no flag). An infinite `end` is covered.

    >>> t = np.array([[0.0, 7.0, 10.0], [0.0, 7.0, 14.0], [0.0, 14.0, 28.0]])
    >>> c = np.array([[0.0, 900.0, 500.0], [0.0, 900.0, 0.0], [0.0, 900.0, 40.0]])
    >>> interval_coverage(t, c, np.ones_like(t, bool), 28.0).tolist()
    [False, True, True]
    >>> interval_coverage(t, c, np.ones_like(t, bool), 28.0, rule="sampled_to_end").tolist()
    [False, False, True]
    """
    n = times.shape[0]
    if math.isinf(end):
        return np.ones(n, dtype=bool)
    with np.errstate(invalid="ignore"):
        at_end = present & (times >= end)
        if nominal is not None and window is not None:
            earliest, latest = window
            at_end |= present & (nominal >= end) & (times >= earliest) & (times <= latest)
    covered: BoolArray = np.asarray(at_end.any(axis=1), dtype=bool)
    if rule == "sampled_to_end":
        return covered
    if rule != "blq_tail":
        raise ConfigurationError(f"unknown interval_coverage rule {rule!r} (blq_tail | sampled_to_end)")
    last = np.argmax(np.where(present, times, -np.inf), axis=1)
    last_blq = present.any(axis=1) & (concentrations[np.arange(n), last] == 0)
    return np.asarray(covered | last_blq, dtype=bool)


def _lambda_z(
    t: FloatArray,
    c: FloatArray,
    use: BoolArray,
    tmax: FloatArray,
    options: NcaOptions,
    excluded: BoolArray | None = None,
) -> dict[str, Any]:
    """Terminal log-linear regression by tail windows (docs/science/cellular-kinetics.md §2.4; PKNCA
    half.life.R / Phoenix). `excluded` samples are no candidates (PKNCA ``exclude_half.life``, D-19.1412)."""
    n, m = t.shape
    positive = use & (c > 0)
    if excluded is not None:
        positive = positive & ~excluded
    if options.lambda_z_window is not None:
        a, b = options.lambda_z_window
        with np.errstate(invalid="ignore"):
            candidate = positive & (t >= a) & (t <= b)
    else:
        with np.errstate(invalid="ignore"):
            after = t >= tmax[:, None] if options.allow_tmax_in_lambda_z else t > tmax[:, None]
        candidate = positive & after
    n_candidates = candidate.sum(axis=1)
    # right-align the candidates so that window w = the last w columns
    order = np.argsort(candidate, axis=1, kind="stable")
    cand = np.take_along_axis(candidate, order, axis=1)
    tt = np.take_along_axis(t, order, axis=1)
    cc = np.take_along_axis(c, order, axis=1)
    t_ref = tt[:, -1:]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        y_ref = np.log(cc[:, -1:])
        x = np.where(cand, tt - t_ref, 0.0)
        y = np.where(cand, np.log(np.where(cand, cc, 1.0)) - y_ref, 0.0)
    xr, yr = x[:, ::-1], y[:, ::-1]
    sx = np.cumsum(xr, axis=1)
    sy = np.cumsum(yr, axis=1)
    sxx = np.cumsum(xr * xr, axis=1)
    sxy = np.cumsum(xr * yr, axis=1)
    syy = np.cumsum(yr * yr, axis=1)
    w = np.arange(1, m + 1, dtype=float)[None, :]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        cxx = sxx - sx * sx / w
        cxy = sxy - sx * sy / w
        cyy = syy - sy * sy / w
        # a slope within the rounding error of its sums is 0 (a flat window: 50, 1e5, 50 gave ±2e-16 by the
        # scale of the data, a "positive" lambda_z at one unit and none at another; decisions D-19.156)
        magnitude = np.cumsum(np.abs(xr * yr), axis=1) + np.abs(sx * sy) / w
        magnitude = magnitude + np.cumsum(np.abs(xr), axis=1) * (np.abs(y_ref) + 1.0)
        rounding = 16.0 * w * np.finfo(float).eps * magnitude
        cxy = np.where(np.abs(cxy) <= rounding, 0.0, cxy)
        slope = cxy / cxx
        intercept = (sy - slope * sx) / w
        r2 = np.where(cyy > 0, cxy * cxy / (cxx * cyy), np.nan)
        # adjusted R² is undefined for n <= 2 (division by n - 2 = 0): PKNCA adj.r.squared returns NA
        adj = np.where(w > 2, 1.0 - (1.0 - r2) * (w - 1.0) / (w - 2.0), np.nan)
    lam = -slope
    manual = options.lambda_z_window is not None
    # a manual window fits exactly its points: PKNCA's manually.selected.points ignores min.hl.points,
    # adj.r.squared.factor and allow.tmax.in.half.life (R/half.life.R); a slope needs 2 points (D-19.1410)
    min_points = 2 if manual else options.min_lambda_z_points
    if manual:
        window_ok = (w == n_candidates[:, None]) & (n_candidates[:, None] >= min_points)
    else:
        window_ok = (w >= options.min_lambda_z_points) & (w <= n_candidates[:, None])
    base = window_ok & np.isfinite(adj)
    if options.lambda_z_order == LambdaZOrder.PHOENIX:
        base = base & (lam > 0)
    best = np.nanmax(np.where(base, adj, -np.inf), axis=1)
    qualifies = window_ok & (lam > 0) & np.isfinite(adj) & (adj > best[:, None] - options.adj_r2_tolerance)
    # A 2-point window (only with min_lambda_z_points = 2) has no adjusted R²: it never sets the best and is
    # chosen only when it is the only window, i.e. exactly 2 candidates (PKNCA half.life.R: "min.hl.points ==
    # 2 & nrow == 2"; docs/science/cellular-kinetics.md §2.4 step 3), or when it is the manual window.
    if manual:
        qualifies = window_ok & (lam > 0)
    elif options.min_lambda_z_points == 2:
        only_window = (w == 2) & (n_candidates[:, None] == 2)
        qualifies = qualifies | (window_ok & only_window & (lam > 0))
    has = qualifies.any(axis=1)
    chosen = m - 1 - np.argmax(qualifies[:, ::-1], axis=1)  # largest window among qualifying ones
    rows = np.arange(n)
    k = np.where(has, chosen, 0)
    npts = k + 1
    lambda_z = np.where(has, lam[rows, k], np.nan)
    first_col = m - npts
    reasons = np.full(n, "", dtype=object)
    window_text = "in the manual lambda_z window" if options.lambda_z_window else "after Tmax"
    few = n_candidates < min_points
    reasons[few] = f"fewer than {min_points} quantifiable points {window_text}"
    any_positive = (window_ok & (lam > 0)).any(axis=1)
    reasons[~few & ~has & ~any_positive] = "no window with a positive lambda_z (profile not declining)"
    reasons[~few & ~has & any_positive] = (
        "no window with lambda_z > 0 has adjusted R² within the tolerance of the best window (PKNCA rule)"
    )
    return {
        "lambda_z": lambda_z,
        "r2": np.where(has, r2[rows, k], np.nan),
        "adj_r2": np.where(has, adj[rows, k], np.nan),
        "lambda_z_n": np.where(has, npts, np.nan).astype(float),
        "lambda_z_tfirst": np.where(has, tt[rows, np.clip(first_col, 0, m - 1)], np.nan),
        "lambda_z_tlast": np.where(has, tt[:, -1], np.nan),
        "clast_pred_at_tref": np.where(has, np.exp(intercept[rows, k] + y_ref[:, 0]), np.nan),
        "reason": reasons,
    }


AUCINT_KINDS: tuple[str, ...] = ("last", "all", "inf_obs", "inf_pred")
"""The PKNCA interval-AUC types computed for every interval: ``aucint.last``, ``aucint.all``,
``aucint.inf.obs``, ``aucint.inf.pred`` (columns ``aucint_last_<a>_<b>``, ``aucint_all_<a>_<b>``,
``aucint_inf_obs_<a>_<b>``, ``aucint_inf_pred_<a>_<b>``; the last D-19.967)."""


@dataclass(frozen=True)
class _Profile:
    """The cleaned profiles (after the BLQ rules, left-compacted) and what `_aucint` needs from them."""

    t: FloatArray
    c: FloatArray
    use: BoolArray
    is_log: BoolArray
    ilast: npt.NDArray[np.intp]
    has_last: BoolArray
    clast: FloatArray
    tlast: FloatArray
    lambda_z: FloatArray
    options: NcaOptions
    clast_pred: FloatArray | None = None


def _conc_at(p: _Profile, x: float, kind: str) -> FloatArray:
    """Concentration at time `x` as PKNCA ``interp.extrap.conc`` gives it (R/interpolate.conc.R): 0 before the
    first sample (``conc.origin``); up to Tlast interpolated between the neighbouring samples (log for a
    log-down segment, else linear; always linear with ``interval_interpolation='linear'``); after Tlast
    extrapolated by the AUC type: 0 (``last``), Clast·exp(-lambda_z·(x - Tlast)) (``inf_obs``; Clast,pred for
    ``inf_pred``, PKNCA ``aucint.inf.pred`` passing ``clast.pred`` as ``clast``), or for ``all`` the straight
    line from Clast down to the next (BLQ) sample and 0 after it."""
    t, c, use = p.t, p.c, p.use
    n, m = t.shape
    rows = np.arange(n)
    with np.errstate(invalid="ignore"):
        j = (use & (t <= x)).sum(axis=1) - 1
    jc = np.clip(j, 0, max(m - 2, 0))
    t1, c1 = t[rows, jc], c[rows, jc]
    t2 = t[rows, np.minimum(jc + 1, m - 1)]
    c2 = c[rows, np.minimum(jc + 1, m - 1)]
    log_seg = (
        p.is_log[rows, np.minimum(jc, p.is_log.shape[1] - 1)] if p.is_log.shape[1] else np.zeros(n, bool)
    )
    if p.options.interval_interpolation == "linear":
        log_seg = np.zeros(n, dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        frac = (x - t1) / (t2 - t1)
        inside = np.where(log_seg, c1 * np.exp(np.log(c2 / c1) * frac), c1 + (c2 - c1) * frac)
        inside = np.where(t1 == x, c1, inside)
        after: FloatArray
        if kind == "last":
            after = np.zeros(n)
        elif kind in ("inf_obs", "inf_pred"):
            after = _clast_of(p, kind) * np.exp(-p.lambda_z * (x - p.tlast))
        else:
            n_use = use.sum(axis=1)
            nxt = np.clip(p.ilast + 1, 0, m - 1)
            t_next = t[rows, nxt]
            triangle = p.clast * (t_next - x) / (t_next - p.tlast)
            after = np.where((p.ilast + 1 < n_use) & (j == p.ilast), triangle, 0.0)
        value = np.where(j < 0, 0.0, np.where(x <= p.tlast, inside, after))
    return np.asarray(np.where(p.has_last, value, 0.0), dtype=float)


def _clast_of(p: _Profile, kind: str) -> FloatArray:
    """The Clast an AUCinf-type partial AUC extrapolates from: Clast,pred for ``inf_pred``, else Clast,obs."""
    if kind == "inf_pred":
        assert p.clast_pred is not None
        return p.clast_pred
    return p.clast


def _aucint(p: _Profile, a: float, b: float, kind: str) -> FloatArray:
    """AUC over [a, b] with PKNCA's ``pk.calc.aucint`` semantics (R/aucint.R; ``aucint.last``,
    ``aucint.all``, ``aucint.inf.obs``), vectorised over profiles.

    1. The cleaned profile (BLQ rules applied) keeps its samples inside [a, b]; an interval end that is not
       a sample time gets the concentration `_conc_at` gives for the AUC type (the end only when finite).
    2. Each segment between consecutive points is integrated by the AUC method, deciding on the pair itself
       as PKNCA's ``choose_interval_method`` does with Tlast set to the last point of the interval: 0 for
       0→0, log for a fall to a non-zero value (lin-up/log-down; lin-log: after the interval's Tmax, both
       ends > 0), else linear. So a **BLQ sample kept as 0 at or before the interval end is reached by a
       linear segment from the last quantifiable sample** (the CAR-T case of the engine review,
       docs/science/decisions.md D-12.1: 310 copies/µg at day
       21 and BLQ at 28 add 7·310/2 to aucint.last(0, 28)).
    3. A segment that ends at an extrapolated end (a missing end after Tlast) is integrated with the log rule
       (a fall to 0 adds nothing; the exponential of ``inf_obs``/``inf_pred``), except an ``all`` end inside
       the AUCall triangle (a concentration > 0 on the line from Clast to the next BLQ 0): that segment is
       decided by the AUC method as in 2 — linear under ``linear`` (PKNCA vignette "AUC integration methods":
       AUCall integrates the triangle linearly), log under lin-up/log-down (D-19.1107).
    4. ``inf_obs`` with an infinite end adds Clast/lambda_z (Clast,obs), or C(a)/lambda_z when a > Tlast.
    5. ``inf_pred`` (PKNCA ``aucint.inf.pred``, D-19.967) extrapolates from Clast,pred instead, and adds
       Clast,pred/lambda_z for an infinite end. As ``pk.calc.auxcint`` (which puts a second point at Tlast
       with Clast,pred when an interval end is interpolated and the end is after Tlast), the segment leaving
       Tlast then starts from Clast,pred: the area after Tlast is that of the regression line.

    With ``interval_interpolation='linear'`` (a cartrial option, not PKNCA), interpolated ends are
    linear and the segments touching them are integrated linearly.
    """
    t, c, use = p.t, p.c, p.use
    n, m = t.shape
    finite_end = not math.isinf(b)
    with np.errstate(invalid="ignore"):
        sampled_a = (use & (t == a)).any(axis=1)
        sampled_b = (use & (t == b)).any(axis=1) if finite_end else np.ones(n, dtype=bool)
        in_range = use & (t >= a) & (t <= b)
        after_tlast_a = a > p.tlast
        after_tlast_b = (b > p.tlast) if finite_end else np.zeros(n, dtype=bool)
    c_a = _conc_at(p, a, kind)
    c_b = _conc_at(p, b, kind) if finite_end else np.zeros(n)
    big_t = np.hstack([t, np.full((n, 1), a), np.full((n, 1), b if finite_end else np.inf)])
    big_c = np.hstack([c, c_a[:, None], c_b[:, None]])
    valid = np.hstack([in_range, ~sampled_a[:, None], (~sampled_b & finite_end)[:, None]])
    extrapolated = np.hstack(
        [np.zeros((n, m), bool), (~sampled_a & after_tlast_a)[:, None], (~sampled_b & after_tlast_b)[:, None]]
    )
    inserted = np.hstack([np.zeros((n, m), bool), ~sampled_a[:, None], (~sampled_b & finite_end)[:, None]])
    order = np.argsort(np.where(valid, big_t, np.inf), axis=1, kind="stable")
    big_t, big_c, valid, extrapolated, inserted = (
        np.take_along_axis(x, order, axis=1) for x in (big_t, big_c, valid, extrapolated, inserted)
    )
    t1, t2 = big_t[:, :-1], big_t[:, 1:]
    c1, c2 = big_c[:, :-1], big_c[:, 1:]
    if kind == "inf_pred":
        # pk.calc.auxcint: with a time to interpolate (missing_times: the start, or a finite end) and the
        # end after Tlast (always so for an infinite end), a second point (Tlast, Clast,pred) follows the
        # observed one; the zero-width step between them adds 0 (D-19.967)
        with np.errstate(invalid="ignore"):
            end_after_tlast = b > p.tlast
        doubled = end_after_tlast & (~sampled_a | (finite_end & ~sampled_b))
        leaves_tlast = doubled[:, None] & (t1 == p.tlast[:, None]) & (t2 > t1)
        c1 = np.where(leaves_tlast, _clast_of(p, kind)[:, None], c1)
    segment = valid[:, :-1] & valid[:, 1:]
    method = p.options.auc_method
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if method == AucMethod.LINEAR:
            log = np.zeros_like(segment)
        elif method == AucMethod.LIN_UP_LOG_DOWN:
            log = (c2 < c1) & (c2 != 0)
        else:
            peak = np.argmax(np.where(valid, big_c, -np.inf), axis=1)
            tmax_interval = np.take_along_axis(big_t, peak[:, None], axis=1)
            log = (t2 > tmax_interval) & (c1 != 0) & (c2 != 0)
        if p.options.interval_interpolation == "linear":
            log = log & ~inserted[:, :-1] & ~inserted[:, 1:]
        # a segment to an extrapolated end takes the log rule: after Tlast aucint.last adds nothing (a fall
        # to 0) and aucint.inf.* follow the exponential; aucint.all's end inside the AUCall triangle (C > 0,
        # on the line from Clast to the next BLQ 0) is a pair like any other, by the AUC method (D-19.1107)
        forced = extrapolated[:, 1:]
        if kind == "all":
            forced = forced & ~(c2 > 0)
        log = log | forced
        dt = t2 - t1
        both_positive = (c1 > 0) & (c2 > 0) & (c1 != c2)
        log_area = np.where(both_positive, (c1 - c2) * dt / _log_ratio(c1, c2, both_positive), 0.0)
        log_area = np.where((c1 == c2) & (c1 > 0), c1 * dt, log_area)
        linear_area = dt * (c1 + c2) / 2.0
        seg_area = np.where(log, log_area, linear_area)
        seg_area = np.where(np.isnan(c1) | np.isnan(c2), np.nan, seg_area)  # e.g. no lambda_z to extrapolate
        area = np.where(segment, seg_area, 0.0).sum(axis=1)
        if kind in ("inf_obs", "inf_pred") and not finite_end:
            tail = np.where(after_tlast_a & ~sampled_a, c_a, _clast_of(p, kind)) / p.lambda_z
            area = area + tail
    return np.asarray(np.where(p.has_last, area, np.nan), dtype=float)


def _quality_flags(
    values: dict[str, FloatArray], options: NcaOptions
) -> tuple[npt.NDArray[np.object_], dict[str, npt.NDArray[np.object_]]]:
    """PKNCA's result exclusions as flags (PKNCA 0.12 ``exclude_nca_span.ratio``,
    ``exclude_nca_min.hl.r.squared``, ``exclude_nca_min.hl.adj.r.squared``, ``exclude_nca_max.aucinf.pext``):
    span ratio below ``min_span_ratio`` (PKNCA option ``min.span.ratio``, default 2), R² below ``min_r2``
    (PKNCA option ``min.hl.r.squared``, default 0.9; D-19.1411), adjusted R² below ``min_adj_r2``
    (default 0.9) and % AUC extrapolated above ``max_auc_pct_extrap`` (PKNCA option ``max.aucinf.pext``,
    default 20). Returns one text per profile and, per affected parameter, the text of the flags that
    affect it (the half-life flags affect every terminal-phase parameter; the extrapolation flags the
    AUCinf and %extrapolated of their own kind)."""
    n = len(values["cmax"])
    per_param: dict[str, npt.NDArray[np.object_]] = {}
    texts = np.full(n, "", dtype=object)

    def add(mask: BoolArray, label: npt.NDArray[np.object_], params: Sequence[str]) -> None:
        nonlocal texts
        piece = np.where(mask, label, "")
        texts = np.where(mask, np.where(texts != "", texts + "; " + piece, piece), texts)
        for name in params:
            current = per_param.get(name, np.full(n, "", dtype=object))
            per_param[name] = np.where(mask, np.where(current != "", current + "; " + piece, piece), current)

    terminal = [
        k
        for k in values
        if k in TERMINAL_ESTIMATES
        or k.startswith(("aucint_inf_obs_", "aucint_inf_pred_"))
        or (k.startswith("auc_") and k.endswith("_inf") and k not in PARAMETERS)
    ]
    fmt = np.vectorize(lambda v: f"{v:.3g}", otypes=[object])
    with np.errstate(invalid="ignore"):
        if options.min_span_ratio is not None:
            span = values["span_ratio"]
            bad = span < options.min_span_ratio
            if bad.any():
                add(bad, "span_ratio " + fmt(span) + f" < {options.min_span_ratio:g}", terminal)
        if options.min_r2 is not None:
            r2 = values["r2"]
            bad = r2 < options.min_r2
            if bad.any():
                add(bad, "r2 " + fmt(r2) + f" < {options.min_r2:g}", terminal)
        if options.min_adj_r2 is not None:
            adj = values["adj_r2"]
            bad = adj < options.min_adj_r2
            if bad.any():
                add(bad, "adj_r2 " + fmt(adj) + f" < {options.min_adj_r2:g}", terminal)
        if options.max_auc_pct_extrap is not None:
            for kind in ("obs", "pred"):
                pct = values[f"auc_pct_extrap_{kind}"]
                bad = pct > options.max_auc_pct_extrap
                if bad.any():
                    label = f"auc_pct_extrap_{kind} " + fmt(pct) + f" > {options.max_auc_pct_extrap:g}"
                    add(bad, label, [f"aucinf_{kind}", f"auc_pct_extrap_{kind}"])
    return texts, per_param


TERMINAL_ESTIMATES: tuple[str, ...] = (
    "lambda_z",
    "half_life",
    "clast_pred",
    "aucinf_obs",
    "aucinf_pred",
    "auc_pct_extrap_obs",
    "auc_pct_extrap_pred",
)
"""Parameters resting on the terminal phase, excluded with the half-life quality flags."""


def nca_arrays(
    times: FloatArray,
    concentrations: FloatArray,
    present: BoolArray,
    options: NcaOptions,
    lloq: FloatArray | None = None,
    lambda_z_exclude: BoolArray | None = None,
) -> tuple[dict[str, FloatArray], dict[str, npt.NDArray[np.object_]]]:
    """NCA on padded arrays (subjects × samples), the vectorised core of `nca`.

    `times` must be sorted within each row with no duplicates among present entries; `concentrations` ≥ 0
    where present, BLQ coded as 0; `lloq` (same shape) is needed only for ``half_lloq`` substitution;
    `lambda_z_exclude` (same shape) flags samples left out of the half-life only (PKNCA
    ``exclude_half.life``, D-19.1412).
    Returns parameter arrays and per-parameter reason arrays ('' where the value is estimable).

    >>> t, c = np.array([[0.0, 1.0, 2.0, 4.0]]), np.array([[0.0, 10.0, 5.0, 2.5]])
    >>> values, reasons = nca_arrays(t, c, np.ones_like(t, bool), NcaOptions())
    >>> round(float(values["auclast"][0]), 6), str(reasons["lambda_z"][0])
    (19.42695, 'fewer than 3 quantifiable points after Tmax')
    """
    t = np.where(present, times, np.nan).astype(float)
    c = np.where(present, concentrations, np.nan).astype(float)
    n, m = t.shape
    positions = np.arange(m)[None, :]
    quant = present & (c > 0)
    has_quant: BoolArray = np.asarray(quant.any(axis=1), dtype=bool)
    first_q = np.where(has_quant, np.argmax(quant, axis=1), m)
    blq = present & (c == 0)
    t_raw, c_raw = t, c
    use, c_used = _apply_blq_rules(c, present, options, lloq)
    flagged = np.zeros((n, m)) if lambda_z_exclude is None else np.asarray(lambda_z_exclude, dtype=float)
    use, (t, c, flagged) = _left_compact(use, t, c_used, flagged)
    n_use = use.sum(axis=1)
    rows = np.arange(n)

    imax = _max_index(c, use)
    cmax = np.where(n_use > 0, c[rows, imax], np.nan)
    tmax = np.where(n_use > 0, t[rows, imax], np.nan)
    ilast, has_last = _last_positive_index(c, use)
    il = np.clip(ilast, 0, m - 1)
    tlast = np.where(has_last, t[rows, il], np.nan)
    clast = np.where(has_last, c[rows, il], np.nan)

    _, _, _, is_log = _segments(t, c, use, options.auc_method, imax)
    # the AUCs from the dose start at time 0: a profile not sampled there gets a concentration of 0 at the
    # dose (missing_time0 = zero; PKNCA impute start_conc0, Phoenix), or those AUCs are missing
    # (not_estimable; PKNCA without imputation); the interpolating partial AUCs start from 0 either way
    # (conc.origin) and use the profile as sampled (decisions D-19.153). A time-0 sample the BLQ rules drop
    # (blq_first or blq_before_tmax "drop") is no sample there either (D-19.968): zero then follows Phoenix
    # (PKNCA imputes start_conc0 before cleaning, so its AUC is NA there, as not_estimable)
    with np.errstate(invalid="ignore"):
        unsampled_0: BoolArray = np.asarray(present.any(axis=1) & ~(use & (t <= 0)).any(axis=1))
    t0 = np.hstack([np.zeros((n, 1)), t])
    c0 = np.hstack([np.zeros((n, 1)), c])
    use0, (t0, c0) = _left_compact(np.hstack([unsampled_0[:, None], use]), t0, c0)
    n_use0 = use0.sum(axis=1)
    ilast0, _ = _last_positive_index(c0, use0)
    seg_auc, seg_aumc, _, _ = _segments(t0, c0, use0, options.auc_method, _max_index(c0, use0))
    before_last = np.arange(m)[None, :] < ilast0[:, None]
    auclast = (seg_auc * before_last).sum(axis=1)
    aumclast = (seg_aumc * before_last).sum(axis=1)
    has_next = has_last & (ilast0 + 1 < n_use0)
    nxt = np.clip(ilast0 + 1, 0, m)
    tail = np.where(has_next, (t0[rows, nxt] - tlast) * clast / 2.0, 0.0)
    aucall = auclast + tail

    lz = _lambda_z(t, c, use, tmax, options, use & (flagged == 1.0))
    lambda_z = lz["lambda_z"]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        half_life = math.log(2) / lambda_z
        span_ratio = (lz["lambda_z_tlast"] - lz["lambda_z_tfirst"]) / half_life
        # Clast,pred = exp(b0 - lambda_z * Tlast) from the regression (docs/science/cellular-kinetics.md §2.1)
        clast_pred = lz["clast_pred_at_tref"] * np.exp(-lambda_z * (tlast - lz["lambda_z_tlast"]))
        aucinf_obs = auclast + clast / lambda_z
        aucinf_pred = auclast + clast_pred / lambda_z
        pct_obs = 100.0 * (aucinf_obs - auclast) / aucinf_obs
        pct_pred = 100.0 * (aucinf_pred - auclast) / aucinf_pred

    # persistence is read on the samples as measured: the last quantifiable one, not a BLQ sample given a
    # substituted value (half_lloq or a number, which PKNCA's Tlast counts; decisions D-19.155)
    raw_last = m - 1 - np.argmax(quant[:, ::-1], axis=1)
    persistence = np.where(has_quant, t_raw[rows, raw_last], np.nan)
    if options.persistence_rule == PersistenceRule.LAST_POSITIVE_BEFORE_2_NEGATIVES:
        # raw BLQ flags (before the BLQ rules), in original sample order
        raw_blq = blq
        pair = raw_blq[:, :-1] & raw_blq[:, 1:] & (positions[:, :-1] > first_q[:, None])
        has_pair = pair.any(axis=1)
        first_pair = np.where(has_pair, np.argmax(pair, axis=1), m)
        positive_before = quant & (positions < first_pair[:, None])
        last_before = m - 1 - np.argmax(positive_before[:, ::-1], axis=1)
        persistence = np.where(has_quant, t_raw[rows, last_before], np.nan)

    # fold expansion = Cmax / reference (docs/science/cellular-kinetics.md §4; D-19.1450). The first
    # post-infusion quantifiable sample is read as measured, as persistence is: a BLQ sample given a
    # substituted value for the AUCs is never the reference; time 0 is the dose (the pre-infusion sample, the
    # NCA's concentration at the infusion), so post-infusion is time > 0
    # the numerator is a post-infusion peak too: a Cmax at time 0 (Tmax 0, no later value higher) is the
    # pre-infusion level, no expansion, and the fold is blank with its reason under either reference
    fold_reason = np.full(n, "", dtype=object)
    reference_reason = np.full(n, "", dtype=object)
    nominal = options.fold_expansion_reference == FoldExpansionReference.NOMINAL_R0
    if nominal:
        reference = np.full(n, float(options.fold_expansion_r0 or np.nan))
    else:
        with np.errstate(invalid="ignore"):
            post_quant = quant & (t_raw > 0)
        has_post = post_quant.any(axis=1)
        reference = np.where(has_post, c_raw[rows, np.argmax(post_quant, axis=1)], np.nan)
        fold_reason = np.where(has_quant & ~has_post, NO_POST_INFUSION_REFERENCE, fold_reason)
        reference_reason = fold_reason.copy()
    with np.errstate(invalid="ignore"):
        peak_at_dose = has_quant & (tmax <= 0)
    fold_reason = np.where(peak_at_dose & (fold_reason == ""), NO_POST_INFUSION_PEAK, fold_reason)
    with np.errstate(invalid="ignore", divide="ignore"):
        fold_expansion = np.where(peak_at_dose, np.nan, cmax / reference)

    values: dict[str, FloatArray] = {
        "cmax": cmax,
        "tmax": tmax,
        "clast": clast,
        "tlast": tlast,
        "auclast": auclast,
        "aucall": aucall,
        "aumclast": aumclast,
        "lambda_z": lambda_z,
        "half_life": half_life,
        "r2": lz["r2"],
        "adj_r2": lz["adj_r2"],
        "lambda_z_n": lz["lambda_z_n"],
        "lambda_z_tfirst": lz["lambda_z_tfirst"],
        "lambda_z_tlast": lz["lambda_z_tlast"],
        "span_ratio": span_ratio,
        "clast_pred": clast_pred,
        "aucinf_obs": aucinf_obs,
        "aucinf_pred": aucinf_pred,
        "auc_pct_extrap_obs": pct_obs,
        "auc_pct_extrap_pred": pct_pred,
        "persistence_days": persistence,
        "fold_expansion": fold_expansion,
        "fold_expansion_reference_conc": reference,
    }
    reasons: dict[str, npt.NDArray[np.object_]] = {name: np.full(n, "", dtype=object) for name in values}
    reasons["fold_expansion"] = fold_reason
    reasons["fold_expansion_reference_conc"] = reference_reason
    lz_reason = np.asarray(lz["reason"], dtype=object)
    for name in LAMBDA_Z_PARAMETERS:
        reasons[name] = np.where(lz_reason != "", lz_reason, reasons[name])
    reasons["adj_r2"] = np.where(
        ~np.isnan(lambda_z) & np.isnan(lz["adj_r2"]),
        "undefined for a 2-point lambda_z fit (n - 2 = 0; PKNCA adj.r.squared gives NA)",
        reasons["adj_r2"],
    )
    too_few = has_quant & (n_use < 2)
    few_from_dose = has_quant & (n_use0 < 2)
    for name in ("auclast", "aucall", "aumclast"):
        values[name] = np.where(few_from_dose, np.nan, values[name])
        reasons[name] = np.where(few_from_dose, "fewer than 2 usable samples", reasons[name])
    if options.missing_time0 == "not_estimable":
        no_start = has_quant & unsampled_0
        with np.errstate(invalid="ignore"):
            dropped_0 = no_start & (present & (t_raw <= 0)).any(axis=1)
        why = "(missing_time0=not_estimable, PKNCA without imputation: an AUC cannot start before the first "
        why += "measurement)"
        for name in ("auclast", "aucall", "aumclast", *TERMINAL_ESTIMATES[3:]):
            values[name] = np.where(no_start, np.nan, values[name])
            reasons[name] = np.where(no_start, "no sample at time 0 " + why, reasons[name])
            reasons[name] = np.where(
                dropped_0, "no kept sample at time 0 (dropped by a BLQ rule) " + why, reasons[name]
            )

    profile = _Profile(t, c, use, is_log, ilast, has_last, clast, tlast, lambda_z, options, clast_pred)
    for a, b in options.intervals:
        lz_missing = np.isnan(lambda_z)
        kinds: dict[str, FloatArray] = {}
        kind_reasons: dict[str, npt.NDArray[np.object_]] = {}
        for kind in AUCINT_KINDS:
            name = interval_column(a, b, prefix=f"aucint_{kind}")
            area = _aucint(profile, a, b, kind)
            reason = np.where(too_few, "fewer than 2 usable samples", "")
            if kind == "inf_pred":
                # pk.calc.auxcint returns NA whenever clast.pred and lambda.z are NA, even for an interval
                # that needs no extrapolation (D-19.967); aucint.inf.obs keeps its value there
                area = np.where(lz_missing, np.nan, area)
            if kind in ("inf_obs", "inf_pred"):
                needs_lz = np.isnan(area) & lz_missing & ~too_few
                reason = np.where(needs_lz, "lambda_z not estimable (" + lz["reason"] + ")", reason)
            kinds[name] = np.where(too_few, np.nan, area)
            kind_reasons[name] = reason
        # auc_<a>_<b>: aucint.last for a finite end, aucint.inf.obs for an infinite one (reference doc §4)
        primary = interval_column(a, b, prefix="aucint_inf_obs" if math.isinf(b) else "aucint_last")
        values[interval_column(a, b)] = kinds[primary].copy()
        reasons[interval_column(a, b)] = kind_reasons[primary].copy()
        values.update(kinds)
        reasons.update(kind_reasons)
        if not math.isinf(b):
            samples_column = interval_column(a, b, prefix="auclast")
            values[samples_column], reasons[samples_column] = _interval_auclast(
                t_raw, c_raw, present, a, b, options, lloq
            )

    no_quant = ~has_quant
    for name in values:
        values[name] = np.where(no_quant, np.nan, values[name]).astype(float)
        reasons[name] = np.where(
            no_quant, "no quantifiable concentration (all samples BLQ or missing)", reasons[name]
        )
        still_missing = np.isnan(values[name]) & (reasons[name] == "")
        reasons[name] = np.where(still_missing, "not estimable from this profile", reasons[name])
    if nominal:  # the nominal R0 is the reference of every profile, quantifiable or not (only the fold blank)
        values["fold_expansion_reference_conc"] = reference
        reasons["fold_expansion_reference_conc"] = np.full(n, "", dtype=object)
    return values, reasons


# --------------------------------------------------------------------------------------------------------
# DataFrame front end
# --------------------------------------------------------------------------------------------------------


def _numeric_column(frame: pd.DataFrame, column: str, what: str, problems: list[Problem]) -> FloatArray:
    raw = frame[column]
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        return raw.to_numpy(dtype=float)
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(values) & raw.notna().to_numpy() & (raw.astype(str).str.strip() != "").to_numpy()
    for i in np.flatnonzero(bad)[:50]:
        problems.append(
            Problem(
                f"{what} is not a number",
                row=int(i) + FIRST_DATA_ROW,
                field=column,
                value=raw.iat[i],
                allowed="a number",
            )
        )
    return values


def _flag_column(frame: pd.DataFrame, column: str, problems: list[Problem]) -> BoolArray:
    """A flag column of `nca` as booleans, read by the one true/false reader `cartrial.columns.parse_bool`
    with its number fallback (``numbers=True``, as ``cartrial nca --blq-col`` reads it; D-19.1413): a
    boolean, the import's true/false words (`cartrial.columns.TRUE_WORDS` / `FALSE_WORDS`, any case) or the
    number 1 / 0 (as PKNCA counts a number in a logical column; 1.0 and 0.0 as a float column holds them);
    blank or NaN is false. Any other value is a `Problem` naming the column and the row, never the value
    (the engine's problems carry none)."""
    found = RowProblems("")
    flags = parse_bool(frame, column, found, required=False, numbers=True)
    for bad in found.all()[:50]:
        problems.append(Problem("not a true/false flag", row=bad.row, field=column, allowed=FLAG_ALLOWED))
    return flags


def nca(
    data: pd.DataFrame,
    *,
    subject: str | Sequence[str],
    time: str,
    conc: str,
    time_unit: str,
    conc_unit: str,
    options: NcaOptions | None = None,
    lloq: float | None = None,
    lloq_column: str | None = None,
    blq_column: str | None = None,
    lambda_z_exclude: str | None = None,
    nominal_time: str | None = None,
    nominal_windows: Mapping[float, tuple[float, float]] | None = None,
) -> NcaResult:
    """NCA of every subject in a long table (rows = samples), PKNCA rules by default.

    Args:
        data: one row per sample.
        subject: column(s) identifying a profile (e.g. ``"subject_id"`` or ``["subject_id", "analyte"]``).
        time, conc: column names of time since dose and concentration (BLQ coded 0, or flagged).
        time_unit, conc_unit: units (required; e.g. ``"day"``, ``"copies/ug"``); AUC units are derived.
        options: rule choices (`NcaOptions`, PKNCA defaults).
        lloq: one LLOQ for all samples; concentrations below it are BLQ. ``lloq_column``: per-sample LLOQ.
        blq_column: flag column of BLQ samples (their concentration is set to 0 before the rules): a
            boolean, a true/false word of the import (true/false, t/f, yes/no, y/n, 1/0, any case) or the
            number 1 / 0 (1.0 / 0.0 too); blank or NaN is false; anything else is an `InputError`
            (`FLAG_ALLOWED`, D-19.1413).
        lambda_z_exclude: flag column (read as `blq_column`) of samples left out of the half-life
            (lambda_z) only, as PKNCA's ``exclude_half.life`` (docs/science/cellular-kinetics.md §2.4
            step 8; D-19.1412): the automatic selection runs without them; Tmax, Tlast and the AUCs use
            them. Not with ``options.lambda_z_window`` (an `OptionError`, as PKNCA refuses to both include
            and exclude half-life points).
        nominal_time: column of scheduled (nominal) times, used only to judge whether a sample is at a
            partial-AUC end (`interval_coverage`); blank or non-numeric means unknown (the actual time only).
        nominal_windows: the visit window of each nominal time, ``{nominal: (minus, plus)}`` in time units
            (the analysis takes it from the protocol's schedule): a sample counts at its nominal time only
            when its actual time is in [nominal − minus, nominal + plus]; a nominal time without a window
            never counts (D-19.104). ``options.nominal_coverage = actual_only`` ignores nominal times.

    Returns:
        `NcaResult`; its ``table`` has the subject column(s), ``n_samples``, ``n_blq``, ``n_missing``, every
        parameter in `PARAMETERS`, the interval columns, ``not_estimable`` (``param: reason`` for every
        missing value), the unit columns and ``nca_options``; ``last_sample_time`` (the last post-dose
        sample with a concentration, quantifiable or BLQ) and per finite interval ``auc_<a>_<b>_covered``
        (`interval_coverage` under ``options.interval_coverage``; docs/science/decisions.md D-19.95).

    A sample table read from a file, with units or BLQ flags in columns, is better served by
    `cartrial.kinetics.derive_nca`, which validates it first (this function expects clean columns).

    >>> frame = pd.DataFrame({"id": "S1", "t": [0, 1, 2, 4], "c": [0.0, 10.0, 5.0, 2.5]})
    >>> result = nca(frame, subject="id", time="t", conc="c", time_unit="day", conc_unit="copies/ug")
    >>> result.table[["cmax", "tmax"]].iloc[0].tolist(), round(float(result.table["auclast"].iloc[0]), 4)
    ([10.0, 1.0], 19.427)

    Raises:
        InputError: blank units, missing columns, non-numeric or negative concentrations, missing times,
            a repeated time within a subject, a flag that is no true/false value (rows are spreadsheet
            rows: the first row of `data` is row 2, as in `cartrial.errors`).
        OptionError: ``lambda_z_exclude`` together with ``options.lambda_z_window``.
    """
    options = options or NcaOptions()
    keys = [subject] if isinstance(subject, str) else list(subject)
    problems: list[Problem] = []
    if not str(time_unit).strip():
        problems.append(Problem("time unit is missing", field="time_unit", allowed="e.g. day, h"))
    if not str(conc_unit).strip():
        problems.append(Problem("concentration unit is missing", field="conc_unit", allowed="e.g. copies/ug"))
    optional_columns = (lloq_column, blq_column, lambda_z_exclude, nominal_time)
    for column in [*keys, time, conc, *(c for c in optional_columns if c)]:
        if column not in data.columns:
            problems.append(
                Problem("column is missing", field=column, allowed=choice_text(map(str, data.columns)))
            )
    if problems:
        raise InputError(problems)
    if lambda_z_exclude and options.lambda_z_window is not None:
        # PKNCA pk.nca.intervals: "Cannot both include and exclude half-life points for the same interval"
        raise OptionError(
            Problem(
                "a manual lambda_z window (lambda_z_window) and excluded half-life samples "
                "(lambda_z_exclude) cannot both be given",
                field="lambda_z_exclude",
                allowed="lambda_z_window or lambda_z_exclude, not both",
            )
        )
    times = _numeric_column(data, time, "time", problems)
    concs = _numeric_column(data, conc, "concentration", problems)
    for i in np.flatnonzero(np.isnan(times))[:50]:
        if not any(p.row == i + FIRST_DATA_ROW and p.field == time for p in problems):
            problems.append(
                Problem("time is missing", row=int(i) + FIRST_DATA_ROW, field=time, allowed="a number")
            )
    for parsed, column, what in ((times, time, "time"), (concs, conc, "concentration")):
        for i in np.flatnonzero(np.isinf(parsed))[:50]:
            problems.append(
                Problem(
                    f"{what} is not a finite number",
                    row=int(i) + FIRST_DATA_ROW,
                    field=column,
                    value=data[column].iat[i],
                    allowed="a finite number",
                )
            )
    for i in np.flatnonzero(concs < 0)[:50]:
        problems.append(
            Problem(
                "negative concentration",
                row=int(i) + FIRST_DATA_ROW,
                field=conc,
                value=data[conc].iat[i],
                allowed="≥ 0",
            )
        )
    lloq_values: FloatArray | None = None
    if lloq_column:
        lloq_values = _numeric_column(data, lloq_column, "LLOQ", problems)
        with np.errstate(invalid="ignore"):
            inside = (lloq_values >= MIN_LLOQ) & (lloq_values <= MAX_CONCENTRATION)
            outside = ~np.isnan(lloq_values) & ~inside
        for i in np.flatnonzero(outside)[:50]:
            problem = LLOQ.problem(lloq_column, float(lloq_values[i]))
            assert problem is not None
            problems.append(replace(problem, row=int(i) + FIRST_DATA_ROW, value=data[lloq_column].iat[i]))
    elif lloq is not None:
        problem = LLOQ.problem("lloq", lloq)
        if problem is not None:
            problems.append(problem)
        else:
            lloq_values = np.full(len(data), float(lloq))
    blq_flags = _flag_column(data, blq_column, problems) if blq_column else None
    lz_flags = _flag_column(data, lambda_z_exclude, problems) if lambda_z_exclude else None
    frame = pd.DataFrame({f"_k{i}": data[k].to_numpy() for i, k in enumerate(keys)})
    frame["_t"] = times
    frame["_row"] = np.arange(len(data))
    key_cols = [f"_k{i}" for i in range(len(keys))]
    # one sample per profile and time (the rule of every reader, docs/science/decisions.md D-19.18)
    repeated = RowProblems("")
    key_frame = pd.DataFrame({**{str(k): data[k].to_numpy() for k in keys}, str(time): times})
    check_repeated_keys(key_frame, data, repeated, time)
    problems.extend(replace(p, file=None) for p in repeated.all()[:50])
    if problems:
        raise InputError(problems, header=f"{count(len(problems), 'problem')} in the NCA input")

    c = concs.copy()
    n_blq_flag = np.zeros(len(data), dtype=bool)
    if blq_flags is not None:
        n_blq_flag = blq_flags
        c = np.where(n_blq_flag, 0.0, c)
    if lloq_values is not None:
        with np.errstate(invalid="ignore"):
            c = np.where(c < lloq_values, 0.0, c)
    frame["_c"] = c
    frame["_lloq"] = lloq_values if lloq_values is not None else np.nan

    notes: list[str] = []
    group_index = frame.groupby(key_cols, sort=False, dropna=False).ngroup().to_numpy()
    by_group = np.argsort(group_index, kind="stable")
    same_group = group_index[by_group][1:] == group_index[by_group][:-1]
    decreasing = same_group & (np.diff(times[by_group]) < 0)
    if decreasing.any():
        n_unsorted = len(np.unique(group_index[by_group][1:][decreasing]))
        notes.append(f"times were not in increasing order for {count(n_unsorted, 'subject')}; sorted by time")
    order = np.lexsort((times, group_index))
    g = group_index[order]
    n_groups = int(g.max()) + 1 if len(g) else 0
    counts = np.bincount(g, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]) if n_groups else np.zeros(0, dtype=int)
    pos = np.arange(len(g)) - starts[g]
    m = int(counts.max()) if n_groups else 1
    shape = (n_groups, m)
    t_arr = np.full(shape, np.nan)
    c_arr = np.full(shape, np.nan)
    l_arr = np.full(shape, np.nan)
    x_arr = np.zeros(shape)
    n_arr = np.full(shape, np.nan)
    present = np.zeros(shape, dtype=bool)
    t_arr[g, pos] = times[order]
    c_arr[g, pos] = c[order]
    l_arr[g, pos] = frame["_lloq"].to_numpy()[order]
    if lz_flags is not None:
        x_arr[g, pos] = lz_flags.astype(float)[order]
    if nominal_time:
        n_arr[g, pos] = pd.to_numeric(data[nominal_time], errors="coerce").to_numpy(dtype=float)[order]
    # samples before the infusion (time < 0) are not part of the profile: the NCA interval starts at the
    # infusion, where the concentration is 0 (PKNCA's [0, Inf] interval; a pre-infusion BLQ counts as 0 at
    # day 0, docs/science/cellular-kinetics.md §4); they are counted in n_pre_dose
    pre_dose = np.zeros(shape, dtype=bool)
    pre_dose[g, pos] = times[order] < 0
    present[g, pos] = ~np.isnan(c[order]) & ~pre_dose[g, pos]
    n_pre_dose = pre_dose.sum(axis=1)
    if n_pre_dose.any():
        notes.append(
            f"{count(int(n_pre_dose.sum()), 'sample')} before time 0 (pre-infusion) not used, see n_pre_dose"
        )
    # missing concentrations are dropped (PKNCA default) and counted
    n_missing = (~present & ~pre_dose & ~np.isnan(t_arr)).sum(axis=1)
    if n_missing.any():
        notes.append(
            f"{count(int(n_missing.sum()), 'missing concentration')} dropped (PKNCA default), see n_missing"
        )
    present_sorted, (t_arr, c_arr, l_arr, n_arr, x_arr) = _left_compact(
        present, t_arr, c_arr, l_arr, n_arr, x_arr
    )
    lz_excluded = present_sorted & (x_arr == 1.0)
    if lz_excluded.any():
        notes.append(
            f"{count(int(lz_excluded.sum()), 'sample')} left out of the half-life only ({lambda_z_exclude}; "
            "PKNCA exclude_half.life)"
        )

    values, reasons = nca_arrays(t_arr, c_arr, present_sorted, options, l_arr, lz_excluded)
    flag_text, flagged = _quality_flags(values, options)
    if options.exclude_flagged:
        for name, texts in flagged.items():
            hit = texts != ""
            values[name] = np.where(hit, np.nan, values[name])
            reasons[name] = np.where(hit, "excluded by quality flag: " + texts, reasons[name])

    first_rows = frame.iloc[order[starts]] if n_groups else frame.iloc[:0]
    out = pd.DataFrame({k: data[k].to_numpy()[first_rows["_row"].to_numpy()] for k in keys})
    out["n_samples"] = present_sorted.sum(axis=1)
    out["n_blq"] = (present_sorted & (c_arr == 0)).sum(axis=1)
    out["n_missing"] = n_missing
    out["n_pre_dose"] = n_pre_dose
    for name, array in values.items():
        out[name] = array
    # the definition recorded with each value (docs/science/cellular-kinetics.md §4; D-19.1450)
    out.insert(
        out.columns.get_loc("fold_expansion_reference_conc"),
        "fold_expansion_reference",
        str(options.fold_expansion_reference),
    )
    days_per_unit = days_per_time_unit(time_unit)
    if days_per_unit is not None:  # a name in days holds days (D-19.405)
        out["persistence_days"] = values["persistence_days"] * days_per_unit
    else:
        notes.append(
            f"persistence_days is in {time_unit}, the time unit, which is not one cartrial converts to days "
            f"({choice_text(TIME_UNITS)} or their usual spellings, e.g. d, hours, wk)"
        )
    with np.errstate(invalid="ignore"):
        out["last_sample_time"] = np.where(
            present_sorted.any(axis=1), np.max(np.where(present_sorted, t_arr, -np.inf), axis=1), np.nan
        )
    window = _nominal_window(n_arr, nominal_windows)
    use_nominal = bool(nominal_time) and options.nominal_coverage == "visit_window"
    for start, end in options.intervals:
        if not math.isinf(end):
            out[interval_column(start, end) + "_covered"] = interval_coverage(
                t_arr,
                c_arr,
                present_sorted,
                end,
                options.interval_coverage,
                n_arr if use_nominal else None,
                window,
            )
    out["quality_flags"] = flag_text
    out["not_estimable"] = _reason_text(reasons, n_groups)
    units = derived_units(conc_unit, time_unit)
    for name in values:
        if name.startswith(("aucint_", "auclast_")) or (name.startswith("auc_") and name not in PARAMETERS):
            units[name] = units["auclast"]
    out["time_unit"] = time_unit
    out["conc_unit"] = conc_unit
    out["auc_unit"] = units["auclast"]
    out["aumc_unit"] = units["aumclast"]
    out["nca_options"] = options.describe()
    return NcaResult(table=out, options=options, units=units, notes=tuple(notes))


def _nominal_window(
    nominal: FloatArray, windows: Mapping[float, tuple[float, float]] | None
) -> tuple[FloatArray, FloatArray]:
    """(earliest, latest) actual time accepted for each sample's nominal time: ``nominal − minus`` and
    ``nominal + plus`` from `windows` (``{nominal: (minus, plus)}``), NaN where no window applies (D-19.104).

    >>> _nominal_window(np.array([[0.0, 28.0, 60.0]]), {28.0: (2.0, 3.0)})
    (array([[nan, 26., nan]]), array([[nan, 31., nan]]))
    """
    minus = np.full(nominal.shape, np.nan)
    plus = np.full(nominal.shape, np.nan)
    for day, (before, after) in (windows or {}).items():
        hit = nominal == float(day)
        minus[hit] = float(before)
        plus[hit] = float(after)
    return nominal - minus, nominal + plus


def _reason_text(reasons: dict[str, npt.NDArray[np.object_]], n: int) -> list[str]:
    """Group parameters sharing a reason: 'lambda_z, half_life: fewer than 3 ...; auc_0_28: ...'."""
    texts = [""] * n
    any_reason = np.zeros(n, dtype=bool)
    for array in reasons.values():
        any_reason |= array != ""
    for i in np.flatnonzero(any_reason):
        grouped: dict[str, list[str]] = {}
        for name, array in reasons.items():
            if array[i]:
                grouped.setdefault(str(array[i]), []).append(name)
        texts[i] = "; ".join(f"{', '.join(names)}: {reason}" for reason, names in grouped.items())
    return texts


_REASON_GROUP = re.compile(r"(?:^|; )((?:[a-z][a-z0-9_.]*, )*[a-z][a-z0-9_.]*): ")


def parameter_reasons(text: str) -> dict[str, str]:
    """The reason of each parameter in a ``not_estimable`` text (the inverse of its grouping,
    ``param, param: reason; param: reason``), e.g. for one record per parameter (SDTM PPREASND).

    >>> parameter_reasons("lambda_z, half_life: fewer than 3 points; auc_0_28: no sample")
    {'lambda_z': 'fewer than 3 points', 'half_life': 'fewer than 3 points', 'auc_0_28': 'no sample'}
    """
    out: dict[str, str] = {}
    heads = list(_REASON_GROUP.finditer(text or ""))
    ends = [following.start() for following in heads[1:]] + [len(text)]
    for head, end in zip(heads, ends[: len(heads)], strict=True):
        reason = text[head.end() : end]
        for name in head.group(1).split(", "):
            out[name] = reason
    return out


__all__ = [
    "BLQ_PRESETS",
    "COVERAGE_SOURCE",
    "PARAMETERS",
    "PKNCA_SOURCE",
    "AucMethod",
    "FoldExpansionReference",
    "LambdaZOrder",
    "NcaOptions",
    "NcaResult",
    "PersistenceRule",
    "derived_units",
    "interval_column",
    "interval_coverage",
    "nca",
    "nca_arrays",
    "parameter_reasons",
    "persistence_flags",
]
