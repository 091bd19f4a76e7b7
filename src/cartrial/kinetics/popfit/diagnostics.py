"""Goodness-of-fit tables of a population fit: PRED/IPRED/IWRES, NPDE, and the visual predictive check.

* PRED: prediction of the typical subject (η = 0, with the subject's covariates); IPRED: at the EBE (mode);
  IWRES = (h(y) - h(IPRED))/g(IPRED) on the fitted scale.
* NPDE (Brendel K, Comets E, Laffont C, Laveille C, Mentré F. Pharm Res 2006;23:2036-2049; BLQ handling as
  Nguyen THT, Comets E, Mentré F. J Pharmacokinet Pharmacodyn 2012;39:499-518): `n_sim` datasets are
  simulated from the model with the subjects' own designs; each subject's observations and simulations are
  decorrelated with the simulated covariance (Cholesky), pde = fraction of decorrelated simulations below the
  decorrelated observation, npde = Φ⁻¹(pde). A BLQ observation is first imputed by a draw from the simulated
  predictive distribution below its LLOQ. Under the model, npde ~ N(0, 1).
* VPC: `n_sim` replicate datasets; per time bin the observed 5th/50th/95th percentiles against the 90 %
  prediction interval of the same simulated percentiles; BLQ values count as below every percentile they are
  below (percentiles under the LLOQ are not shown for the observations); the BLQ fraction per bin (observed
  vs simulated 90 % interval) is its own panel.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from cartrial.kinetics.popfit.fit import PopulationFit

FloatArray = npt.NDArray[np.float64]


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


def observation_table(fit: PopulationFit, n_sim: int = 500, seed: int | None = 7) -> pd.DataFrame:
    """One row per sample: subject, time, dv (NaN when BLQ), blq, lloq, pred, ipred, iwres, npde."""
    spec, theta, work, data = fit.model.spec, fit.model.theta, fit.work, fit.data
    n = data.n_subjects
    rows = np.arange(n)
    pred = work.predict(spec.typical_phi(theta, work.x), rows)
    ipred = work.predict(spec.phi(theta, work.x, fit.eta_mode), rows)
    err = spec.error
    g = err.sd(ipred, theta.sigma)
    with np.errstate(invalid="ignore", divide="ignore"):
        # interval-censored samples (titres) at their representative value
        yt_all = err.transform(np.where(data.quantified, data.y, 1.0))
        iwres = np.where(data.quantified, (yt_all - err.transform(ipred)) / g, np.nan)
    sims = simulate_replicates(fit, n_sim, seed)
    rng = np.random.default_rng(None if seed is None else seed + 1)
    npde = np.full(data.times.shape, np.nan)
    for i in range(n):
        obs = data.observed[i]
        if not obs.any():
            continue
        s = err.transform(sims[:, i, obs])
        y = np.where(data.blq[i, obs], np.nan, data.y[i, obs])
        yt = err.transform(np.where(np.isnan(y), 1.0, y))
        for k in np.flatnonzero(np.isnan(y)):
            ll = err.transform(np.array([data.lloq[i, obs][k]]))[0]
            below = s[:, k][s[:, k] < ll]
            yt[k] = rng.choice(below) if below.size else ll - 1e-6
        mean = s.mean(axis=0)
        cov = np.cov(s, rowvar=False).reshape(s.shape[1], s.shape[1])
        try:
            chol = np.linalg.cholesky(cov + 1e-10 * np.eye(cov.shape[0]))
            dec_y = np.linalg.solve(chol, yt - mean)
            dec_s = np.linalg.solve(chol, (s - mean).T).T
        except np.linalg.LinAlgError:
            sd = np.sqrt(np.maximum(np.diag(cov), 1e-300))
            dec_y, dec_s = (yt - mean) / sd, (s - mean) / sd
        pde = (np.sum(dec_s < dec_y, axis=0) + 0.5) / (n_sim + 1)
        npde[i, obs] = stats.norm.ppf(pde)
    mask = data.observed
    idx = np.nonzero(mask)
    return pd.DataFrame(
        {
            "subject": np.asarray(data.subjects, dtype=object)[idx[0]],
            "time": data.times[idx],
            "dv": data.y[idx],
            "blq": data.blq[idx],
            "lloq": data.lloq[idx],
            "pred": pred[idx],
            "ipred": ipred[idx],
            "iwres": iwres[idx],
            "npde": npde[idx],
            "status": fit.status,
        }
    )


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
    """Per bin: observed percentiles and BLQ fraction, and the simulated medians and 90 % intervals."""
    data = fit.data
    obs_mask = data.observed
    times = data.times[obs_mask]
    edges = time_bins(times)
    which = np.clip(np.digitize(data.times, edges) - 1, 0, len(edges) - 2)
    sims = simulate_replicates(fit, n_sim, seed)
    lloq = np.where(np.isnan(data.lloq), -np.inf, data.lloq)
    rows = []
    for b in range(len(edges) - 1):
        in_bin = obs_mask & (which == b)
        if not in_bin.any():
            continue
        y = np.where(data.blq[in_bin], -np.inf, data.y[in_bin])
        ll_bin = lloq[in_bin]
        obs_q = [_pctl(y, p) for p in (5, 50, 95)]
        obs_q = [v if v > np.max(ll_bin) else np.nan for v in obs_q]
        s = sims[:, in_bin]
        s_cens = np.where(s < ll_bin, -np.inf, s)
        sim_q = np.array([[_pctl(r, p) for p in (5, 50, 95)] for r in s_cens])
        blq_sim = (s < ll_bin).mean(axis=1)
        row = {
            "bin": b,
            "time_mid": float(np.median(data.times[in_bin])),
            "n_obs": int(in_bin.sum()),
            "obs_p05": obs_q[0],
            "obs_p50": obs_q[1],
            "obs_p95": obs_q[2],
            "obs_blq_fraction": float(data.blq[in_bin].mean()),
            "sim_blq_fraction_p05": float(np.percentile(blq_sim, 5)),
            "sim_blq_fraction_p50": float(np.percentile(blq_sim, 50)),
            "sim_blq_fraction_p95": float(np.percentile(blq_sim, 95)),
        }
        for k, name in enumerate(("p05", "p50", "p95")):
            col = sim_q[:, k]
            finite = col[np.isfinite(col)]
            for lab, pp in (("lo", 5), ("med", 50), ("hi", 95)):
                row[f"sim_{name}_{lab}"] = (
                    float(np.percentile(finite, pp)) if finite.size > n_sim // 2 else np.nan
                )
        rows.append(row)
    out = pd.DataFrame(rows)
    out["status"] = fit.status
    return out


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
    ``vpc`` (`vpc_table`, seed + 3) and ``trace`` (the SAEM iterations). Plain data, no I/O: the renderers
    (`cartrial.report.popfit`) turn them into files."""
    ebe = fit.ebe.copy()
    ebe["status"] = fit.status
    return {
        "estimates": fit.estimates,
        "ebe": ebe,
        "diagnostics": observation_table(fit, n_sim=max(n_sim, 100), seed=seed),
        "vpc": vpc_table(fit, n_sim=n_sim, seed=None if seed is None else seed + 3),
        "trace": fit.trace,
    }
