"""Diagnostic figures of a population fit (matplotlib, Agg backend): observations vs PRED/IPRED, NPDE vs time
and vs PRED, individual fits, VPC with a BLQ-fraction panel, SAEM trace. Titles carry the fit's status.

Renderer layer: the engine (`cartrial.kinetics.popfit.diagnostics.fit_tables`) gives the tables; each
function here draws one figure from them and returns a matplotlib figure; `popfit_figures` returns the
encoded files (name → bytes) and writes nothing. The goodness-of-fit, NPDE and VPC figures need only the
``diagnostics`` and ``vpc`` tables, so the interim report redraws them from a fit's folder
(`cartrial.report.popfit.popfit_report_section`).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from cartrial.kinetics.popfit.fit import PopulationFit


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _status_tag(converged: bool) -> str:
    return "" if converged else " — NOT CONVERGED"


def _blq_mask(obs: pd.DataFrame) -> pd.Series:
    """The ``blq`` column as booleans (also when read back from CSV text)."""
    col = obs["blq"]
    if col.dtype == bool:
        return col
    return col.astype(str).str.lower().isin({"true", "1", "yes"})


def gof_figure(obs: pd.DataFrame, *, log: bool, converged: bool = True) -> Any:
    """Observed vs PRED and vs IPRED (quantified samples; identity line)."""
    plt = _pyplot()
    tag = _status_tag(converged)
    q = obs[~_blq_mask(obs)]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, col, label in ((axes[0], "pred", "PRED"), (axes[1], "ipred", "IPRED")):
        ax.scatter(q[col], q["dv"], s=10, alpha=0.6)
        lo = float(np.nanmin([q[col].min(), q["dv"].min()]))
        hi = float(np.nanmax([q[col].max(), q["dv"].max()]))
        ax.plot([lo, hi], [lo, hi], "k--", lw=1)
        if log:
            ax.set_xscale("log")
            ax.set_yscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("observed")
        ax.set_title(f"observed vs {label}{tag}")
    return fig


def npde_figure(obs: pd.DataFrame, *, log: bool, converged: bool = True) -> Any:
    """NPDE vs time and vs PRED (BLQ samples, imputed, in red; ±1.96 lines)."""
    plt = _pyplot()
    tag = _status_tag(converged)
    blq = _blq_mask(obs)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, col in ((axes[0], "time"), (axes[1], "pred")):
        colors = np.where(blq, "tab:red", "tab:blue")
        ax.scatter(obs[col], obs["npde"], s=10, c=colors, alpha=0.7)
        for y in (-1.96, 0, 1.96):
            ax.axhline(y, color="k", lw=0.8, ls="--" if y else "-")
        if col == "pred" and log:
            ax.set_xscale("log")
        ax.set_xlabel(col)
        ax.set_ylabel("NPDE (red: BLQ imputed)")
        ax.set_title(f"NPDE vs {col}{tag}")
    return fig


def vpc_figure(vpc: pd.DataFrame, obs: pd.DataFrame, *, log: bool, converged: bool = True) -> Any:
    """VPC: observed 5/50/95th percentiles vs the simulated 90 % intervals, and the BLQ-fraction panel."""
    plt = _pyplot()
    tag = _status_tag(converged)
    fig, axes = plt.subplots(2, 1, figsize=(8, 7), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax = axes[0]
    t = vpc["time_mid"]
    for name, color in (("p05", "tab:blue"), ("p50", "tab:red"), ("p95", "tab:blue")):
        ax.fill_between(t, vpc[f"sim_{name}_lo"], vpc[f"sim_{name}_hi"], color=color, alpha=0.2)
        ax.plot(t, vpc[f"obs_{name}"], "o-", color=color, ms=3, lw=1)
    q2 = obs[~_blq_mask(obs)]
    ax.plot(q2["time"], q2["dv"], ".", color="grey", ms=2, alpha=0.6)
    if log:
        ax.set_yscale("log")
    ax.set_ylabel("value")
    ax.set_title(f"VPC: observed 5/50/95th percentiles vs simulated 90 % intervals{tag}")
    axes[1].fill_between(
        t, vpc["sim_blq_fraction_p05"], vpc["sim_blq_fraction_p95"], color="tab:red", alpha=0.2
    )
    axes[1].plot(t, vpc["obs_blq_fraction"], "o-", color="tab:red", ms=3)
    axes[1].set_ylabel("BLQ fraction")
    axes[1].set_xlabel("time")
    return fig


def individual_fits_figure(fit: PopulationFit, obs: pd.DataFrame) -> Any:
    """IPRED and PRED curves with the samples of the first 16 subjects (BLQ drawn at the LLOQ)."""
    plt = _pyplot()
    tag = _status_tag(fit.converged)
    log = fit.model.spec.error.scale == "log"
    blq = _blq_mask(obs)
    subjects = list(dict.fromkeys(obs["subject"]))[:16]
    ncol = 4
    nrow = max(1, -(-len(subjects) // ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3 * ncol, 2.6 * nrow), squeeze=False)
    spec, theta, work = fit.model.spec, fit.model.theta, fit.work
    for k, sid in enumerate(subjects):
        ax = axes[k // ncol][k % ncol]
        i = fit.data.subjects.index(sid)
        mine = obs["subject"] == sid
        part = obs[mine]
        tmax = float(part["time"].max())
        grid = np.linspace(0, max(tmax, 1e-6), 150)[None, :]
        phi_i = spec.phi(theta, work.x[[i]], fit.eta_mode[[i]])
        phi_p = spec.typical_phi(theta, work.x[[i]])
        dose = fit.data.dose[[i]]
        ax.plot(grid[0], spec.model.predict(np.exp(phi_i), grid, dose)[0], "b-", lw=1, label="IPRED")
        ax.plot(grid[0], spec.model.predict(np.exp(phi_p), grid, dose)[0], "k--", lw=0.8, label="PRED")
        qq = obs[mine & ~blq]
        bb = obs[mine & blq]
        ax.plot(qq["time"], qq["dv"], "o", ms=3, color="tab:blue")
        ax.plot(bb["time"], bb["lloq"], "v", ms=4, color="tab:red")
        if log:
            ax.set_yscale("log")
        ax.set_title(str(sid), fontsize=8)
    for k in range(len(subjects), nrow * ncol):
        axes[k // ncol][k % ncol].axis("off")
    fig.suptitle(f"individual fits (red ▼: BLQ at LLOQ){tag}")
    return fig


def trace_figure(fit: PopulationFit) -> Any:
    """SAEM iterations of each typical value, variance and residual parameter (dashed: end of K1)."""
    plt = _pyplot()
    tag = _status_tag(fit.converged)
    tr = fit.trace
    cols = [c for c in tr.columns if c.startswith(("typical_", "omega2_", "sigma_"))]
    ncol = 4
    nrow = max(1, -(-len(cols) // ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3 * ncol, 2.2 * nrow), squeeze=False)
    for k, c in enumerate(cols):
        ax = axes[k // ncol][k % ncol]
        ax.plot(tr["iteration"], tr[c], lw=0.8)
        ax.axvline(fit.settings["k1"], color="k", lw=0.5, ls="--")
        ax.set_title(c, fontsize=8)
    for k in range(len(cols), nrow * ncol):
        axes[k // ncol][k % ncol].axis("off")
    fig.suptitle(f"SAEM trace (dashed: end of exploration){tag}")
    return fig


def encode(fig: Any, fmt: str, dpi: int = 72) -> bytes:
    """The figure as `fmt` (png or svg) bytes; the figure is closed."""
    plt = _pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()


def popfit_figures(fit: PopulationFit, tables: dict[str, pd.DataFrame], fmt: str = "png") -> dict[str, bytes]:
    """The fit's figures, file name (``obs_vs_pred.png``, ``npde``, ``individual_fits``, ``vpc``,
    ``saem_trace``) → encoded bytes; `tables` from `cartrial.kinetics.popfit.diagnostics.fit_tables`."""
    obs, vpc = tables["diagnostics"], tables["vpc"]
    log = fit.model.spec.error.scale == "log"
    ok = fit.converged
    out: dict[str, bytes] = {}
    out[f"obs_vs_pred.{fmt}"] = encode(gof_figure(obs, log=log, converged=ok), fmt)
    out[f"npde.{fmt}"] = encode(npde_figure(obs, log=log, converged=ok), fmt)
    out[f"individual_fits.{fmt}"] = encode(individual_fits_figure(fit, obs), fmt)
    if len(vpc):
        out[f"vpc.{fmt}"] = encode(vpc_figure(vpc, obs, log=log, converged=ok), fmt)
    out[f"saem_trace.{fmt}"] = encode(trace_figure(fit), fmt)
    return out


__all__ = [
    "encode",
    "gof_figure",
    "individual_fits_figure",
    "npde_figure",
    "popfit_figures",
    "trace_figure",
    "vpc_figure",
]
