"""Diagnostic figures of a population fit (matplotlib, Agg backend): observations vs PRED/IPRED, NPDE vs time
and vs PRED, individual fits, VPC with a BLQ-fraction panel (titres: on the dilution grid, with the fractions
negative and at the top dilution), SAEM trace; and the MAP fit of one new patient (`map_figure`, for
``cartrial kinetics map``). Censored samples are drawn by kind (``censored`` column),
never at a value without saying so. Titles carry the fit's status.

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
    from cartrial.kinetics.popfit.map import MapResult


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


def censored_kind(obs: pd.DataFrame) -> pd.Series:
    """The ``censored`` column (none / blq / interval); from ``blq`` for a table written before it existed."""
    if "censored" in obs.columns:
        return obs["censored"].fillna("none").astype(str)
    return pd.Series(np.where(_blq_mask(obs), "blq", "none"), index=obs.index)


_KIND_STYLE = {
    "none": ("tab:blue", "o", "quantified"),
    "blq": ("tab:red", "v", "BLQ"),
    "interval": ("tab:orange", "s", "interval-censored (titre)"),
}


def axis_label(name: str, unit: str) -> str:
    """An axis title with its unit: ``time (day)``; the name alone when the unit is not known."""
    return f"{name} ({unit})" if unit and unit != "-" else name


def fit_units(fit: PopulationFit) -> tuple[str, str]:
    """(time unit, value unit) of a fit's axes: the data's time unit (`PopulationData.time_unit`, set by
    ``--time-unit``), else the structural model's (``day`` for the Stein and PD models, whose rates are per
    day; "" for the models that take the data's own time unit), and the unit of the fitted values (the
    sample table's unit column, `PopulationData.value_unit`)."""
    from cartrial.kinetics.popfit.structural import time_unit_of

    return fit.data.time_unit or time_unit_of(fit.model.spec.model.units), fit.data.value_unit


def gof_figure(obs: pd.DataFrame, *, log: bool, converged: bool = True, value_unit: str = "") -> Any:
    """Observed vs PRED and vs IPRED: quantified samples as points; an interval-censored titre as a
    vertical bar over its dilution interval (no point: its value is unknown within it); a BLQ sample as a
    ▼ at its LLOQ (an upper bound, said in the legend); identity line."""
    plt = _pyplot()
    tag = _status_tag(converged)
    kind = censored_kind(obs)
    q = obs[kind == "none"]
    iv = obs[kind == "interval"]
    bq = obs[kind == "blq"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, col, label in ((axes[0], "pred", "PRED"), (axes[1], "ipred", "IPRED")):
        if len(q):
            ax.scatter(q[col], q["dv"], s=10, alpha=0.6, label="quantified")
        ys = [q["dv"]]
        if len(iv) and {"dv_low", "dv_high"} <= set(iv.columns):
            top = float(np.nanmax(iv["dv_low"])) * 3.2
            high = np.where(np.isfinite(iv["dv_high"]), iv["dv_high"], top)
            ax.vlines(
                iv[col],
                iv["dv_low"],
                high,
                color="tab:orange",
                lw=1,
                alpha=0.5,
                label="titre: its dilution interval",
            )
            ys.append(iv["dv_low"])
        if len(bq):
            ax.scatter(
                bq[col],
                bq["lloq"],
                s=14,
                marker="v",
                color="tab:red",
                alpha=0.6,
                label="BLQ: below the ▼ (LLOQ)",
            )
            ys.append(bq["lloq"])
        allx = obs[col]
        ally = pd.concat(ys) if ys else q["dv"]
        lo = float(np.nanmin([allx.min(), ally.min()]))
        hi = float(np.nanmax([allx.max(), ally.max()]))
        ax.plot([lo, hi], [lo, hi], "k--", lw=1)
        if log:
            ax.set_xscale("log")
            ax.set_yscale("log")
        ax.set_xlabel(axis_label(label, value_unit))
        ax.set_ylabel(axis_label("observed", value_unit))
        ax.set_title(f"observed vs {label}{tag}")
        if len(iv) or len(bq):
            ax.legend(fontsize=7)
    return fig


def npde_figure(
    obs: pd.DataFrame, *, log: bool, converged: bool = True, time_unit: str = "", value_unit: str = ""
) -> Any:
    """NPDE vs time and vs PRED; censored samples (BLQ ▼ red, titres ■ orange) drawn by kind: their NPDE
    are those of the value imputed from the predictive distribution conditional on the censoring interval
    (npde's ``cdf`` method; docs/popfit.md §4); ±1.96 lines."""
    plt = _pyplot()
    tag = _status_tag(converged)
    kind = censored_kind(obs)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, col in ((axes[0], "time"), (axes[1], "pred")):
        for name, (color, marker, label) in _KIND_STYLE.items():
            part = obs[kind == name]
            if len(part):
                text = label if name == "none" else f"{label}, imputed"
                ax.scatter(part[col], part["npde"], s=10, c=color, marker=marker, alpha=0.7, label=text)
        for y in (-1.96, 0, 1.96):
            ax.axhline(y, color="k", lw=0.8, ls="--" if y else "-")
        if col == "pred" and log:
            ax.set_xscale("log")
        ax.set_xlabel(axis_label(col, time_unit) if col == "time" else axis_label("PRED", value_unit))
        ax.set_ylabel("NPDE")
        ax.set_title(f"NPDE vs {'time' if col == 'time' else 'PRED'}{tag}")
        if (kind != "none").any():
            ax.legend(fontsize=7)
    return fig


def _is_titre_vpc(vpc: pd.DataFrame) -> bool:
    if "titre_grid" not in vpc.columns or not len(vpc):
        return False
    return bool(vpc["titre_grid"].astype(str).str.lower().isin({"true", "1"}).all())


def titre_vpc_figure(
    vpc: pd.DataFrame, obs: pd.DataFrame, *, converged: bool = True, time_unit: str = ""
) -> Any:
    """VPC of titres on the dilution grid (y axis: the reported titres, negative to the top dilution):
    observed 5/50/95th percentiles (steps) vs the simulated 90 % intervals of the same percentiles of
    simulated titres censored to the grid; lower panel the fractions negative and at the top dilution."""
    plt = _pyplot()
    tag = _status_tag(converged)
    levels = sorted({0.0, *[float(v) for v in obs.get("dv_low", pd.Series(dtype=float)).dropna()]})
    for c in vpc.columns:
        if c.startswith(("obs_p", "sim_p")):
            levels = sorted(set(levels) | {float(v) for v in vpc[c].dropna()})
    index = {v: k for k, v in enumerate(levels)}

    def pos(values: pd.Series) -> np.ndarray:
        return np.array([index.get(float(v), np.nan) for v in values], dtype=float)

    fig, axes = plt.subplots(2, 1, figsize=(8, 7), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax = axes[0]
    t = vpc["time_mid"]
    for name, color in (("p05", "tab:blue"), ("p50", "tab:red"), ("p95", "tab:blue")):
        ax.fill_between(
            t,
            pos(vpc[f"sim_{name}_lo"]) - 0.15,
            pos(vpc[f"sim_{name}_hi"]) + 0.15,
            color=color,
            alpha=0.2,
            step="mid",
        )
        ax.step(t, pos(vpc[f"obs_{name}"]), where="mid", color=color, lw=1.2)
        ax.plot(t, pos(vpc[f"obs_{name}"]), "o", color=color, ms=3)
    kind = censored_kind(obs)
    reported = np.where(kind == "blq", 0.0, obs.get("dv_low", obs["dv"]))
    ax.plot(obs["time"], pos(pd.Series(reported)), ".", color="grey", ms=2, alpha=0.5)
    ax.set_yticks(range(len(levels)))
    ax.set_yticklabels(["negative" if v == 0 else f"1:{v:g}" for v in levels])
    ax.set_ylabel("end-point titre (dilution grid)")
    ax.set_title(f"VPC of titres on the dilution grid: observed vs simulated (censored to the grid){tag}")
    low = axes[1]
    for lab, color, text in (("blq", "tab:red", "negative"), ("top", "tab:purple", "top dilution")):
        if f"obs_{lab}_fraction" not in vpc.columns:
            continue
        low.fill_between(
            t, vpc[f"sim_{lab}_fraction_p05"], vpc[f"sim_{lab}_fraction_p95"], color=color, alpha=0.2
        )
        low.plot(t, vpc[f"obs_{lab}_fraction"], "o-", color=color, ms=3, label=text)
    low.set_ylabel("fraction censored")
    low.set_xlabel(axis_label("time", time_unit))
    low.legend(fontsize=7)
    return fig


def _draw_lloq(ax: Any, vpc: pd.DataFrame, value_unit: str) -> str:
    """The LLOQ reference line of a VPC (`vpc.csv` ``lloq``, the LLOQ its percentiles and BLQ fractions are
    read against; D-19.238): a dotted horizontal line labelled with its value and unit, a step line when the
    bins' LLOQs differ. Returns the LLOQ's text for the BLQ-fraction axis ("" when the data have none)."""
    if "lloq" not in vpc.columns:
        return ""
    lloq = pd.to_numeric(vpc["lloq"], errors="coerce")
    if not lloq.notna().any():
        return ""
    unit = f" {value_unit}" if value_unit else ""
    values = sorted(set(lloq.dropna().astype(float)))
    if len(values) == 1:
        text = f"LLOQ {values[0]:g}{unit}"
        ax.axhline(values[0], color="black", linestyle=":", linewidth=1.2, label=text)
        return text
    text = f"LLOQ (per bin, {values[0]:g} to {values[-1]:g}{unit})"
    ax.step(vpc["time_mid"], lloq, where="mid", color="black", linestyle=":", linewidth=1.2, label=text)
    return "LLOQ (per bin)"


def vpc_figure(
    vpc: pd.DataFrame,
    obs: pd.DataFrame,
    *,
    log: bool,
    converged: bool = True,
    time_unit: str = "",
    value_unit: str = "",
) -> Any:
    """VPC: observed 5/50/95th percentiles vs the simulated 90 % intervals, and the BLQ-fraction panel
    (`titre_vpc_figure` for titres on the dilution grid)."""
    if _is_titre_vpc(vpc):
        return titre_vpc_figure(vpc, obs, converged=converged, time_unit=time_unit)
    plt = _pyplot()
    tag = _status_tag(converged)
    fig, axes = plt.subplots(2, 1, figsize=(8, 7), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax = axes[0]
    t = vpc["time_mid"]
    # a band's lower bound below the LLOQ is censored (blank in vpc.csv, D-19.976): drawn from the LLOQ
    floor = pd.to_numeric(vpc["lloq"], errors="coerce") if "lloq" in vpc.columns else None
    for name, color in (("p05", "tab:blue"), ("p50", "tab:red"), ("p95", "tab:blue")):
        pct = name[1:].lstrip("0")
        band = "simulated 5th/95th: 90 % interval" if name == "p05" else None
        lower = pd.to_numeric(vpc[f"sim_{name}_lo"], errors="coerce")
        if floor is not None:
            lower = lower.where(lower.notna(), floor)
        ax.fill_between(
            t,
            lower,
            vpc[f"sim_{name}_hi"],
            color=color,
            alpha=0.2,
            label=band if name != "p50" else "simulated median: 90 % interval",
        )
        ax.plot(
            t,
            vpc[f"obs_{name}"],
            "o-",
            color=color,
            ms=3,
            lw=1,
            label="observed 5th/95th percentile"
            if name == "p05"
            else ("observed median" if pct == "50" else None),
        )
    q2 = obs[~_blq_mask(obs)]
    ax.plot(q2["time"], q2["dv"], ".", color="grey", ms=2, alpha=0.6, label="observed (quantified)")
    lloq_text = _draw_lloq(ax, vpc, value_unit)
    if log:
        ax.set_yscale("log")
    ax.set_ylabel(axis_label("value", value_unit))
    ax.legend(fontsize=7)
    ax.set_title(f"VPC: observed 5/50/95th percentiles vs simulated 90 % intervals{tag}")
    axes[1].fill_between(
        t,
        vpc["sim_blq_fraction_p05"],
        vpc["sim_blq_fraction_p95"],
        color="tab:red",
        alpha=0.2,
        label="simulated: 90 % interval",
    )
    axes[1].plot(t, vpc["obs_blq_fraction"], "o-", color="tab:red", ms=3, label="observed")
    # two lines: the axis is a third of the figure's height
    axes[1].set_ylabel(f"fraction < {lloq_text.replace(' ', chr(10), 1)}" if lloq_text else "BLQ fraction")
    axes[1].set_xlabel(axis_label("time", time_unit))
    axes[1].legend(fontsize=7)
    return fig


def individual_fits_figure(fit: PopulationFit, obs: pd.DataFrame) -> Any:
    """IPRED and PRED curves with the samples of the first 16 subjects (BLQ drawn at the LLOQ)."""
    plt = _pyplot()
    tag = _status_tag(fit.converged)
    log = fit.model.spec.error.scale == "log"
    blq = _blq_mask(obs)
    kind = censored_kind(obs)
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
        ax.plot(
            grid[0],
            spec.model.predict(spec.model.to_natural(phi_i), grid, dose)[0],
            "b-",
            lw=1,
            label="IPRED",
        )
        ax.plot(
            grid[0],
            spec.model.predict(spec.model.to_natural(phi_p), grid, dose)[0],
            "k--",
            lw=0.8,
            label="PRED",
        )
        qq = obs[mine & ~blq & (kind == "none")]
        bb = obs[mine & blq]
        iv = obs[mine & (kind == "interval")]
        ax.plot(qq["time"], qq["dv"], "o", ms=3, color="tab:blue")
        ax.plot(bb["time"], bb["lloq"], "v", ms=4, color="tab:red")
        if len(iv) and {"dv_low", "dv_high"} <= set(iv.columns):
            high = np.where(np.isfinite(iv["dv_high"]), iv["dv_high"], iv["dv_low"] * 3.2)
            ax.vlines(iv["time"], iv["dv_low"], high, color="tab:orange", lw=2)
        if log:
            ax.set_yscale("log")
        ax.set_title(str(sid), fontsize=8, pad=2)
        ax.tick_params(labelsize=7)
        if k == 0:
            ax.legend(fontsize=6)
    for k in range(len(subjects), nrow * ncol):
        axes[k // ncol][k % ncol].axis("off")
    time_unit, value_unit = fit_units(fit)
    fig.supxlabel(axis_label("time", time_unit))
    fig.supylabel(axis_label("value", value_unit))
    fig.suptitle(
        "individual fits (blue: IPRED, dashed: PRED; red ▼: BLQ, below the LLOQ; "
        f"orange bar: a titre's dilution interval){tag}"
    )
    fig.tight_layout()
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
        ax.set_title(c, fontsize=8, pad=2)
        ax.tick_params(labelsize=7)
    for k in range(len(cols), nrow * ncol):
        axes[k // ncol][k % ncol].axis("off")
    fig.supxlabel("SAEM iteration")
    fig.suptitle(f"SAEM trace (dashed: end of exploration){tag}")
    fig.tight_layout()
    return fig


def map_figure(result: MapResult) -> Any:
    """The MAP fit of one patient (`cartrial kinetics map`): the samples the MAP used (quantified ●, BLQ ▼ at
    its LLOQ, a titre as a bar over its dilution interval), the individual MAP prediction with its 90 % band
    (5th-95th percentile of predictions over the Laplace draws, no residual error) and the population
    typical prediction (the patient's covariates, η = 0). Log y axis when the error model is on the log
    scale, as the individual fits of `individual_fits_figure`."""
    plt = _pyplot()
    profile, obs = result.profile, result.observations
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.fill_between(
        profile["time"], profile["p05"], profile["p95"], color="tab:blue", alpha=0.2,
        label="MAP 90 % band (5th-95th, no residual error)",
    )  # fmt: skip
    ax.plot(profile["time"], profile["map_prediction"], "b-", lw=1.2, label="MAP (individual)")
    ax.plot(profile["time"], profile["population_prediction"], "k--", lw=1, label="population typical")
    if len(obs):
        kind = censored_kind(obs)
        quantified, blq, interval = obs[kind == "none"], obs[kind == "blq"], obs[kind == "interval"]
        if len(quantified):
            ax.plot(quantified["time"], quantified["dv"], "o", ms=5, color="tab:blue", label="quantified")
        if len(blq):
            ax.plot(blq["time"], blq["lloq"], "v", ms=6, color="tab:red", label="BLQ: below the ▼ (LLOQ)")
        if len(interval):
            high = np.where(np.isfinite(interval["dv_high"]), interval["dv_high"], interval["dv_low"] * 3.2)
            ax.vlines(
                interval["time"], interval["dv_low"], high, color="tab:orange", lw=2,
                label="titre: its dilution interval",
            )  # fmt: skip
    if result.scale == "log":
        ax.set_yscale("log")
    ax.set_xlabel(axis_label("time", result.time_unit))
    ax.set_ylabel(axis_label("value", result.value_unit))
    status = "" if result.status == "converged" else f" — {result.status_text}"  # MapResult.status (D-19.981)
    ax.set_title(f"MAP estimate for {result.subject}{status}", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
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
    tu, vu = fit_units(fit)
    out: dict[str, bytes] = {}
    out[f"obs_vs_pred.{fmt}"] = encode(gof_figure(obs, log=log, converged=ok, value_unit=vu), fmt)
    out[f"npde.{fmt}"] = encode(npde_figure(obs, log=log, converged=ok, time_unit=tu, value_unit=vu), fmt)
    out[f"individual_fits.{fmt}"] = encode(individual_fits_figure(fit, obs), fmt)
    if len(vpc):
        out[f"vpc.{fmt}"] = encode(
            vpc_figure(vpc, obs, log=log, converged=ok, time_unit=tu, value_unit=vu), fmt
        )
    out[f"saem_trace.{fmt}"] = encode(trace_figure(fit), fmt)
    return out


__all__ = [
    "axis_label",
    "censored_kind",
    "encode",
    "fit_units",
    "gof_figure",
    "individual_fits_figure",
    "map_figure",
    "npde_figure",
    "popfit_figures",
    "titre_vpc_figure",
    "trace_figure",
    "vpc_figure",
]
