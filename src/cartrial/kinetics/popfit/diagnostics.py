"""Goodness-of-fit tables of a population fit: PRED/IPRED/IWRES, NPDE, and the visual predictive check.

Every table marks censored samples (column ``censored``: ``none``, ``blq`` — below the LLOQ, Beal's M3 —
or ``interval`` — an AQP4-IgG end-point titre known only to lie in its dilution interval [L, U) of
`cartrial.protocol.AQP4_TITRE_DILUTIONS`); no censored sample is taken at an arbitrary value.

* PRED: prediction of the typical subject (η = 0, with the subject's covariates); IPRED: at the EBE (mode);
  IWRES = (h(y) - h(IPRED))/g(IPRED) on the fitted scale. A censored sample has no residual, only bounds;
  its IWRES is the randomised quantile residual (Dunn PK, Smyth GK. Randomized quantile residuals. J Comput
  Graph Stat 1996;5:236-244): Φ⁻¹(u), u uniform on [Φ(z_L), Φ(z_U)) with z = (h(bound) - h(IPRED))/g —
  N(0, 1) under the model like the IWRES of a quantified sample.
* NPDE (Brendel K, Comets E, Laffont C, Laveille C, Mentré F. Pharm Res 2006;23:2036-2049): `n_sim` datasets
  are simulated from the model with the subjects' own designs; each subject's observations and simulations
  are decorrelated with the simulated covariance (Cholesky), pde = fraction of decorrelated simulations
  below the decorrelated observation, npde = Φ⁻¹(pde). Under the model, npde ~ N(0, 1).
  Censored observations by the ``cdf`` method of the npde package (Nguyen THT, Comets E, Mentré F.
  Extension of NPDE for evaluation of nonlinear mixed effect models in presence of data below the
  quantification limit with applications to HIV dynamic model. J Pharmacokinet Pharmacodyn
  2012;39:499-518; R package npde ≥ 2.0, ``cens.method = "cdf"``, its default): a censored observation is
  replaced by a draw from its predictive distribution (the simulated values of that sample) conditional on
  lying in its censoring interval — pd ~ U(F(L), F(U)), y* = F⁻¹(pd) — and every simulated value is
  censored the same way and imputed the same way before the decorrelation. One code path
  (`npde_censored`) serves BLQ samples (interval (-∞, LLOQ)) and titres (their dilution interval; a
  simulated titre is censored to the dilution grid). The draws use a fixed seed: the table is
  reproducible.
* VPC: `n_sim` replicate datasets; per time bin the observed 5th/50th/95th percentiles against the 90 %
  prediction interval of the same simulated percentiles. Concentrations: BLQ values count as below every
  percentile they are below (percentiles under the LLOQ are not shown for the observations, nor a bound of a
  simulated interval, which is taken over all simulated datasets, censored percentiles lowest); the BLQ
  fraction per bin (observed vs simulated 90 % interval) is its own panel. Titres (`titre_vpc_table`):
  observed and simulated titres on the dilution grid — each simulated value is censored to the titre the
  assay would report (0 = negative) before the percentiles are taken (inverted-CDF percentiles, so every
  percentile is a grid value) — and the censoring panel holds the fractions negative and at the top
  dilution.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special, stats

from cartrial.allowed import choice_text
from cartrial.kinetics.popfit.data import PopulationData
from cartrial.kinetics.popfit.fit import PopulationFit
from cartrial.kinetics.popfit.likelihood import ErrorModel
from cartrial.protocol import AQP4_TITRE_DILUTIONS

FloatArray = npt.NDArray[np.float64]

CENSORING_KINDS: tuple[str, ...] = ("none", "blq", "interval")
"""Values of the ``censored`` column: quantified, below the LLOQ (M3), interval-censored (a titre)."""

NPDE_CENSORED_METHODS: tuple[str, ...] = ("cdf", "centre")
"""``cdf``: censored observations imputed from their conditional predictive distribution (npde's default);
``centre``: each observation at its representative value and simulations uncensored (the approximation
the ``cdf`` method replaces; kept to show what it does to interval-censored titres)."""


def simulate_replicates(fit: PopulationFit, n_sim: int, seed: int | None) -> FloatArray:
    """(n_sim, n, m) simulated observations (natural scale) with each subject's design and covariates."""
    spec, theta, work = fit.model.spec, fit.model.theta, fit.work
    rng = np.random.default_rng(seed)
    n, m = fit.data.times.shape
    chol = np.linalg.cholesky(theta.omega + 1e-12 * np.eye(spec.q))
    eta = rng.standard_normal((n_sim * n, spec.q)) @ chol.T
    rows = np.tile(np.arange(n), n_sim)
    phi = spec.phi(theta, work.x[rows], eta)
    pred = work.predict(phi, rows)
    sims = spec.error.simulate(pred, theta.sigma, rng)
    return np.asarray(sims.reshape(n_sim, n, m), dtype=float)


def titre_grid(data: PopulationData) -> FloatArray | None:
    """The dilution grid (denominators, ascending) when the data hold interval-censored titres: the
    protocol's grid (`cartrial.protocol.AQP4_TITRE_DILUTIONS`) with any other finite bound of the data's
    intervals; None for data without intervals (concentrations, or titres fitted at their centre)."""
    if data.n_interval == 0 or data.interval_low is None or data.interval_high is None:
        return None
    mask = data.interval
    bounds = np.concatenate([data.interval_low[mask], data.interval_high[mask]])
    bounds = bounds[np.isfinite(bounds) & (bounds > 0)]
    return np.asarray(np.unique(np.concatenate([np.asarray(AQP4_TITRE_DILUTIONS, float), bounds])), float)


def censoring_table(data: PopulationData) -> tuple[npt.NDArray[np.object_], FloatArray, FloatArray]:
    """Per sample (n, m): the kind (`CENSORING_KINDS`; padding ``none``) and the bounds [low, high) of a
    censored sample on the natural scale (BLQ: [-∞, LLOQ); a titre: its dilution interval; NaN when not
    censored)."""
    shape = data.times.shape
    kind = np.full(shape, "none", dtype=object)
    low = np.full(shape, np.nan)
    high = np.full(shape, np.nan)
    blq = data.observed & data.blq
    kind[blq] = "blq"
    low[blq] = -np.inf
    high[blq] = data.lloq[blq]
    interval = data.interval
    if interval.any() and data.interval_low is not None and data.interval_high is not None:
        kind[interval] = "interval"
        low[interval] = data.interval_low[interval]
        high[interval] = data.interval_high[interval]
    return kind, low, high


def _edges_t(lloq: float, grid: FloatArray | None, err: ErrorModel) -> FloatArray:
    """Censoring cells of one sample on the transformed scale, ascending, first edge -∞: a value below the
    last finite edge is censored to its cell; the last edge +∞ means every value is censored (a titre).
    Titre: (-∞, h(D_1), …, h(D_K), +∞); concentration with an LLOQ: (-∞, h(LLOQ)); none: empty."""
    if grid is not None:
        return np.concatenate([[-np.inf], err.transform(grid), [np.inf]])
    if np.isfinite(lloq):
        return np.array([-np.inf, float(err.transform(np.array([lloq]))[0])])
    return np.zeros(0)


def _draw_in_cell(
    sorted_sims: FloatArray, lower: FloatArray, upper: FloatArray, rng: np.random.Generator
) -> FloatArray:
    """Draws from the empirical predictive distribution (`sorted_sims`, ascending) conditional on
    [lower, upper): pd ~ U(F(lower), F(upper)), y* = F⁻¹(pd) with the inverted-CDF quantile (a simulated
    value of the cell, each with equal probability). A cell no simulation reaches gives its bound nearest
    to the simulations (the observation is then extreme, as it is)."""
    k = sorted_sims.size
    lo_idx = np.searchsorted(sorted_sims, lower, side="left")
    hi_idx = np.searchsorted(sorted_sims, upper, side="left")
    width = hi_idx - lo_idx
    u = rng.random(np.shape(lower))
    pick = np.minimum(lo_idx + np.floor(u * width).astype(np.int64), k - 1)
    out = np.asarray(sorted_sims[np.maximum(pick, 0)], dtype=float)
    empty = width <= 0
    if np.any(empty):
        nearest = np.where(lo_idx >= k, lower, upper)
        out = np.where(empty, nearest, out)
    return out


def npde_censored(
    y_t: FloatArray,
    low_t: FloatArray,
    high_t: FloatArray,
    sims_t: FloatArray,
    edges_t: list[FloatArray],
    rng: np.random.Generator,
    *,
    method: str = "cdf",
) -> tuple[FloatArray, FloatArray]:
    """NPDE of one subject's m observations, and the completed observations (transformed scale).

    `y_t` (m,): observation (transformed; ignored where censored with ``method="cdf"``); `low_t`,
    `high_t` (m,): bounds of a censored observation (NaN where not censored); `sims_t` (K, m): simulated
    values of the same samples; `edges_t`: each sample's censoring cells (`_edges_t`). ``cdf``: censored
    observations and simulations imputed (module docstring); ``centre``: `y_t` as it is and the
    simulations uncensored. Decorrelation by the Cholesky factor of the simulated covariance (Brendel et
    al. 2006); pde = #{decorrelated simulations < decorrelated observation}/K, 0 and 1 replaced by 1/(2K)
    and 1 − 1/(2K) (the npde package's ``ties`` option, Comets et al. 2008)."""
    if method not in NPDE_CENSORED_METHODS:
        raise ValueError(f"unknown NPDE method {method!r}; allowed: {choice_text(NPDE_CENSORED_METHODS)}")
    s = np.array(sims_t, dtype=float, copy=True)
    n_sim, m = s.shape
    yt = np.array(y_t, dtype=float, copy=True)
    if method == "cdf":
        for j in range(m):
            col = np.sort(sims_t[:, j])
            if not np.isnan(low_t[j]):  # censored: BLQ (-∞, LLOQ) or a titre's interval
                yt[j] = _draw_in_cell(col, np.array([low_t[j]]), np.array([high_t[j]]), rng)[0]
            edges = edges_t[j]
            if edges.size < 2:
                continue
            cell = np.searchsorted(edges, sims_t[:, j], side="right") - 1
            cens = cell < edges.size - 1
            if not cens.any():
                continue
            c = cell[cens]
            s[cens, j] = _draw_in_cell(col, edges[c], edges[c + 1], rng)
    mean = s.mean(axis=0)
    cov = np.cov(s, rowvar=False).reshape(m, m)
    try:
        chol = np.linalg.cholesky(cov + 1e-10 * np.eye(m))
        dec_y = np.linalg.solve(chol, yt - mean)
        dec_s = np.linalg.solve(chol, (s - mean).T).T
    except np.linalg.LinAlgError:
        sd = np.sqrt(np.maximum(np.diag(cov), 1e-300))
        dec_y, dec_s = (yt - mean) / sd, (s - mean) / sd
    # the fraction of simulations below (Brendel et al. 2006), 0 and 1 as npde's ties option: 1/(2K),
    # 1 - 1/(2K) (Comets et al. 2008; D-19.980)
    pde = np.clip(np.sum(dec_s < dec_y, axis=0) / n_sim, 1 / (2 * n_sim), 1 - 1 / (2 * n_sim))
    return np.asarray(stats.norm.ppf(pde), dtype=float), yt


def randomised_residual(low_z: FloatArray, high_z: FloatArray, rng: np.random.Generator) -> FloatArray:
    """Randomised quantile residual of censored samples (Dunn & Smyth 1996): Φ⁻¹(u), u ~ U(Φ(low_z),
    Φ(high_z)), for standardised bounds (±∞ allowed)."""
    p_lo = special.ndtr(low_z)
    p_hi = special.ndtr(high_z)
    u = p_lo + rng.random(np.shape(low_z)) * (p_hi - p_lo)
    eps = 1e-12
    return np.asarray(special.ndtri(np.clip(u, eps, 1 - eps)), dtype=float)


def data_npde(
    data: PopulationData,
    sims: FloatArray,
    err: ErrorModel,
    rng: np.random.Generator,
    *,
    method: str = "cdf",
) -> tuple[FloatArray, FloatArray]:
    """NPDE (n, m; NaN on padding) of `data` against `sims` ((n_sim, n, m) simulated values, natural scale)
    and the completed observations (natural scale): `npde_censored` per subject on the error model's scale,
    censored samples as `censoring_table` says, simulated titres censored to `titre_grid`, simulated
    concentrations to their LLOQ. ``method="centre"``: a titre at its interval centre (``data.y``), a BLQ
    sample at its LLOQ, simulations uncensored."""
    kind, low, high = censoring_table(data)
    censored = kind != "none"
    grid = titre_grid(data)
    npde = np.full(data.times.shape, np.nan)
    imputed = np.full(data.times.shape, np.nan)
    for i in range(data.n_subjects):
        obs = data.observed[i]
        if not obs.any():
            continue
        s = err.transform(sims[:, i, obs])
        c_i = censored[i, obs]
        y_i = np.nan_to_num(data.y[i, obs], nan=1.0)
        if method == "centre":
            rep = np.where(kind[i, obs] == "interval", data.y[i, obs], data.lloq[i, obs])
            y_i = np.where(c_i, np.nan_to_num(rep, nan=1.0), y_i)
        yt = err.transform(np.where(c_i & (method != "centre"), 1.0, y_i))
        lo_t = np.where(c_i, _t(err, low[i, obs]), np.nan)
        hi_t = np.where(c_i, _t(err, high[i, obs]), np.nan)
        edges = [_edges_t(float(ll), grid, err) for ll in data.lloq[i, obs]]
        npde[i, obs], y_done = npde_censored(yt, lo_t, hi_t, s, edges, rng, method=method)
        imputed[i, obs] = _untransform(err, y_done)
    return npde, imputed


def observation_table(
    fit: PopulationFit, n_sim: int = 500, seed: int | None = 7, *, npde_method: str = "cdf"
) -> pd.DataFrame:
    """One row per sample: subject, time, dv (NaN when censored: a censored sample has bounds, not a
    value), blq, lloq, ``censored`` (`CENSORING_KINDS`), ``dv_low``/``dv_high`` (bounds of a censored
    sample), pred, ipred, iwres (randomised for censored samples), npde, ``dv_imputed`` (the value the
    NPDE used: the observation, or the draw that replaced a censored one). See the module docstring."""
    spec, theta, work, data = fit.model.spec, fit.model.theta, fit.work, fit.data
    n = data.n_subjects
    rows = np.arange(n)
    pred = work.predict(spec.typical_phi(theta, work.x), rows)
    ipred = work.predict(spec.phi(theta, work.x, fit.eta_mode), rows)
    err = spec.error
    g = err.sd(ipred, theta.sigma)
    kind, low, high = censoring_table(data)
    censored = kind != "none"
    base = None if seed is None else int(seed)
    rng_res = np.random.default_rng(None if base is None else base + 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        iwres = err.iwres(data.y, ipred, theta.sigma, data.quantified & ~censored)
        ci = np.nonzero(censored)
        if ci[0].size:
            f_t = err.transform(ipred[ci])
            lz = np.where(np.isneginf(low[ci]), -np.inf, (_t(err, low[ci]) - f_t) / g[ci])
            hz = np.where(np.isposinf(high[ci]), np.inf, (_t(err, high[ci]) - f_t) / g[ci])
            iwres[ci] = randomised_residual(lz, hz, rng_res)
    sims = simulate_replicates(fit, n_sim, seed)
    npde, imputed = data_npde(
        data, sims, err, np.random.default_rng(None if base is None else base + 1), method=npde_method
    )
    mask = data.observed
    idx = np.nonzero(mask)
    return pd.DataFrame(
        {
            "subject": np.asarray(data.subjects, dtype=object)[idx[0]],
            "time": data.times[idx],
            "dv": np.where(censored[idx], np.nan, data.y[idx]),
            "blq": data.blq[idx],
            "lloq": data.lloq[idx],
            "censored": kind[idx].astype(str),
            "dv_low": np.where(np.isneginf(low[idx]), np.nan, low[idx]),
            "dv_high": high[idx],
            "pred": pred[idx],
            "ipred": ipred[idx],
            "iwres": iwres[idx],
            "npde": npde[idx],
            "dv_imputed": imputed[idx],
            "status": fit.status,
        }
    )


def _t(err: ErrorModel, x: FloatArray) -> FloatArray:
    """`err.transform` keeping ±∞ (the log of 0 or -∞ is -∞; of +∞, +∞)."""
    x = np.asarray(x, dtype=float)
    out = np.where(np.isfinite(x), err.transform(np.where(np.isfinite(x), x, 1.0)), x)
    if err.scale == "log":
        out = np.where(np.isfinite(x) & (x <= 0), -np.inf, out)
    return np.asarray(out, dtype=float)


def _untransform(err: ErrorModel, x: FloatArray) -> FloatArray:
    return np.asarray(np.exp(x) if err.scale == "log" else x, dtype=float)


def time_bins(times: FloatArray, max_bins: int = 12) -> FloatArray:
    """Bin edges: the distinct times when there are few, else quantiles of the sampling times."""
    uniq = np.unique(np.round(times, 6))
    if uniq.size <= max_bins:
        mids = (uniq[1:] + uniq[:-1]) / 2
        return np.concatenate([[uniq[0] - 1e-9], mids, [uniq[-1] + 1e-9]])
    edges = np.unique(np.quantile(times, np.linspace(0, 1, max_bins + 1)))
    edges[0] -= 1e-9
    edges[-1] += 1e-9
    return np.asarray(edges, dtype=float)


def vpc_table(fit: PopulationFit, n_sim: int = 200, seed: int | None = 11) -> pd.DataFrame:
    """Per bin: observed percentiles and BLQ fraction, and the simulated medians and 90 % intervals
    (``titre_grid`` False); for interval-censored titres `titre_vpc_table` (``titre_grid`` True).

    ``lloq`` is the bin's LLOQ (the highest LLOQ of its samples, in the data's value unit; blank when none
    has one): an observed percentile or a simulated bound below it is not given (one equal to it is: BLQ
    means below the LLOQ; `_quantified_percentile`), and the BLQ fractions (observed and
    simulated) count the samples below their own LLOQ — one value, the LLOQ line of the figure, when the
    assay has one LLOQ (D-19.238)."""
    data = fit.data
    sims = simulate_replicates(fit, n_sim, seed)
    grid = titre_grid(data)
    if grid is not None:
        out = titre_vpc_table(data, sims, grid)
        out["status"] = fit.status
        return out
    obs_mask = data.observed
    times = data.times[obs_mask]
    edges = time_bins(times)
    which = np.clip(np.digitize(data.times, edges) - 1, 0, len(edges) - 2)
    lloq = np.where(np.isnan(data.lloq), -np.inf, data.lloq)
    rows = []
    for b in range(len(edges) - 1):
        in_bin = obs_mask & (which == b)
        if not in_bin.any():
            continue
        y = np.where(data.blq[in_bin], -np.inf, data.y[in_bin])
        ll_bin = lloq[in_bin]
        bin_lloq = float(np.max(ll_bin))  # -inf: no sample of the bin has an LLOQ
        obs_q = [_pctl(y, p) for p in (5, 50, 95)]
        obs_q = [_quantified_percentile(v, bin_lloq) for v in obs_q]
        s = sims[:, in_bin]
        s_cens = np.where(s < ll_bin, -np.inf, s)
        sim_q = np.array([[_pctl(r, p) for p in (5, 50, 95)] for r in s_cens])
        blq_sim = (s < ll_bin).mean(axis=1)
        row = {
            "bin": b,
            "time_mid": float(np.median(data.times[in_bin])),
            "n_obs": int(in_bin.sum()),
            "lloq": bin_lloq if math.isfinite(bin_lloq) else float("nan"),
            "obs_p05": obs_q[0],
            "obs_p50": obs_q[1],
            "obs_p95": obs_q[2],
            "obs_blq_fraction": float(data.blq[in_bin].mean()),
            "sim_blq_fraction_p05": float(np.percentile(blq_sim, 5)),
            "sim_blq_fraction_p50": float(np.percentile(blq_sim, 50)),
            "sim_blq_fraction_p95": float(np.percentile(blq_sim, 95)),
        }
        for k, name in enumerate(("p05", "p50", "p95")):
            # over every simulated dataset, a censored percentile (-inf) the lowest: leaving those datasets
            # out shifted the band upwards (Bergstrand & Karlsson 2009); a bound below the LLOQ is censored
            # like an observed percentile (NaN, not drawn; D-19.976)
            col = sim_q[:, k]
            for lab, pp in (("lo", 5), ("med", 50), ("hi", 95)):
                bound = _pctl(col, pp)
                row[f"sim_{name}_{lab}"] = _quantified_percentile(bound, bin_lloq)
        rows.append(row)
    out = pd.DataFrame(rows)
    out["titre_grid"] = False
    out["status"] = fit.status
    return out


def reported_titre(values: FloatArray, grid: FloatArray) -> FloatArray:
    """The end-point titre (dilution denominator) an assay on `grid` reports for latent titres `values`:
    the largest dilution ≤ the value (the top dilution for any value above it), 0 (negative) below the
    first dilution; NaN stays NaN.

    >>> reported_titre(np.array([5.0, 10.0, 99.9, 20000.0]), np.array([10.0, 32.0, 100.0, 10000.0]))
    array([    0.,    10.,    32., 10000.])
    """
    v = np.asarray(values, dtype=float)
    k = np.searchsorted(grid, v, side="right") - 1
    out = np.where(k >= 0, grid[np.clip(k, 0, grid.size - 1)], 0.0)
    return np.asarray(np.where(np.isnan(v), np.nan, out), dtype=float)


def titre_vpc_table(data: PopulationData, sims: FloatArray, grid: FloatArray) -> pd.DataFrame:
    """VPC of interval-censored titres on the dilution grid: per time bin the observed 5th/50th/95th
    percentiles of the reported titres (0 = negative) against the 5/50/95 % of the same percentiles of the
    simulated titres, each simulated value first censored to the titre the assay would report
    (`reported_titre`); percentiles by the inverted CDF, so every one is a grid value (or 0). Censoring
    panel: the fractions negative (``obs_blq_fraction``) and at the top dilution (``obs_top_fraction``),
    observed vs the simulated 5/50/95 %. `sims`: (n_sim, n, m) latent simulated values."""
    obs_mask = data.observed
    edges = time_bins(data.times[obs_mask])
    which = np.clip(np.digitize(data.times, edges) - 1, 0, len(edges) - 2)
    low = data.interval_low if data.interval_low is not None else np.full(data.times.shape, np.nan)
    observed = np.where(data.blq, 0.0, reported_titre(low, grid))
    simulated = reported_titre(sims, grid)
    top = float(grid[-1])
    pcts = (5, 50, 95)
    rows = []
    for b in range(len(edges) - 1):
        in_bin = obs_mask & (which == b) & (data.blq | np.isfinite(low))
        if not in_bin.any():
            continue
        y = observed[in_bin]
        s = simulated[:, in_bin]
        sim_q = np.percentile(s, pcts, axis=1, method="inverted_cdf").T  # (n_sim, 3)
        neg_sim = (s <= 0).mean(axis=1)
        top_sim = (s >= top).mean(axis=1)
        row: dict[str, Any] = {
            "bin": b,
            "time_mid": float(np.median(data.times[in_bin])),
            "n_obs": int(in_bin.sum()),
        }
        for k, name in enumerate(("p05", "p50", "p95")):
            row[f"obs_{name}"] = float(np.percentile(y, pcts[k], method="inverted_cdf"))
        row["obs_blq_fraction"] = float((y <= 0).mean())
        row["obs_top_fraction"] = float((y >= top).mean())
        for lab, series in (("blq", neg_sim), ("top", top_sim)):
            for pp in pcts:
                row[f"sim_{lab}_fraction_p{pp:02d}"] = float(np.percentile(series, pp))
        for k, name in enumerate(("p05", "p50", "p95")):
            col = sim_q[:, k]
            for lab, pp in (("lo", 5), ("med", 50), ("hi", 95)):
                row[f"sim_{name}_{lab}"] = float(np.percentile(col, pp, method="inverted_cdf"))
        rows.append(row)
    out = pd.DataFrame(rows)
    out["titre_grid"] = True
    return out


def _quantified_percentile(value: float, lloq: float) -> float:
    """A VPC percentile as shown: `value`, or NaN when it is censored — not finite, or below the bin's
    `lloq` (BLQ means below the LLOQ, `PopulationData.from_arrays`: a value equal to it is quantified). The
    one rule for an observed percentile and a bound of a simulated interval (D-19.981)."""
    return value if math.isfinite(value) and not value < lloq else float("nan")


def _pctl(values: FloatArray, p: float) -> float:
    v = np.sort(values)
    if v.size == 0:
        return float("nan")
    pos = (p / 100) * (v.size - 1)
    lo, hi = int(np.floor(pos)), int(np.ceil(pos))
    if not np.isfinite(v[lo]) or not np.isfinite(v[hi]):
        return float("-inf")
    return float(v[lo] + (v[hi] - v[lo]) * (pos - lo))


def clean(value: Any) -> Any:
    """NaN/inf → None, numpy scalars → Python numbers, recursively (strict JSON of a fit's dictionaries)."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def fit_tables(fit: PopulationFit, *, n_sim: int = 200, seed: int | None = 7) -> dict[str, pd.DataFrame]:
    """Every table of a population fit, each carrying the fit's status: ``estimates``, ``ebe`` (with a
    ``status`` column), ``diagnostics`` (`observation_table`, at least 100 simulations for the NPDE),
    ``vpc`` (`vpc_table`, seed + 3) and ``trace`` (the SAEM iterations, with a ``status`` column). Plain
    data, no I/O: the renderers (`cartrial.report.popfit`) turn them into files."""
    ebe = fit.ebe.copy()
    ebe["status"] = fit.status
    trace = fit.trace.copy()
    trace["status"] = fit.status  # every CSV carries the label (docs/popfit.md §3; D-19.977)
    return {
        "estimates": fit.estimates,
        "ebe": ebe,
        "diagnostics": observation_table(fit, n_sim=max(n_sim, 100), seed=seed),
        "vpc": vpc_table(fit, n_sim=n_sim, seed=None if seed is None else seed + 3),
        "trace": trace,
    }
