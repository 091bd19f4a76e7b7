"""Write a population fit to a folder: estimates (CSV + JSON), EBEs, diagnostics, VPC, trace, figures and
a short HTML summary. A non-converged fit says so in every file (status column, JSON ``status``, HTML
banner, figure titles)."""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cartrial.errors import InputError, Problem
from cartrial.kinetics.popfit.fit import PopulationFit
from cartrial.kinetics.popfit.map import MapResult


def clean(value: Any) -> Any:
    """NaN/inf → None, recursively (strict JSON)."""
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


def write_fit(
    fit: PopulationFit,
    out: Path,
    *,
    figures: bool = True,
    figure_format: str = "png",
    n_sim: int = 200,
    seed: int | None = 7,
) -> dict[str, str]:
    """Write every output of `fit` into `out` (created); returns {what: path}."""
    from cartrial.kinetics.popfit.diagnostics import observation_table, vpc_table
    from cartrial.tabular import dumps_json

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            Problem(f"cannot create the output folder: {exc.strerror or exc}", file=str(out))
        ) from None
    files: dict[str, str] = {}
    doc = clean(fit.to_dict())
    (out / "estimates.json").write_text(dumps_json(doc) + "\n", encoding="utf-8")
    files["estimates_json"] = str(out / "estimates.json")
    fit.estimates.to_csv(out / "estimates.csv", index=False)
    files["estimates_csv"] = str(out / "estimates.csv")
    ebe = fit.ebe.copy()
    ebe["status"] = fit.status
    ebe.to_csv(out / "ebe.csv", index=False)
    files["ebe"] = str(out / "ebe.csv")
    obs = observation_table(fit, n_sim=max(n_sim, 100), seed=seed)
    obs.to_csv(out / "diagnostics.csv", index=False)
    files["diagnostics"] = str(out / "diagnostics.csv")
    vpc = vpc_table(fit, n_sim=n_sim, seed=None if seed is None else seed + 3)
    vpc.to_csv(out / "vpc.csv", index=False)
    files["vpc"] = str(out / "vpc.csv")
    fit.trace.to_csv(out / "trace.csv", index=False)
    files["trace"] = str(out / "trace.csv")
    figs: list[str] = []
    if figures:
        from cartrial.kinetics.popfit.plots import draw_all

        figs = draw_all(fit, obs, vpc, out, figure_format)
        for f in figs:
            files[f"figure_{Path(f).stem}"] = f
    (out / "summary.html").write_text(_html(fit, figs, out), encoding="utf-8")
    files["summary_html"] = str(out / "summary.html")
    return files


def _html(fit: PopulationFit, figures: list[str], out: Path) -> str:
    e = html.escape
    status = fit.status
    if fit.converged:
        banner = (
            '<p style="background:#dfd;padding:8px">Converged (stationarity, identifiability and '
            "likelihood checks passed).</p>"
        )
    else:
        banner = (
            '<p style="background:#fdd;padding:8px;border:1px solid #c00"><b>NOT CONVERGED</b>: '
            + "; ".join(e(p) for p in fit.convergence_problems)
            + "</p>"
        )
    cols = [
        "kind",
        "parameter",
        "estimate",
        "se",
        "rse_percent",
        "ci95_low",
        "ci95_high",
        "shrinkage_percent",
    ]
    table = fit.estimates[cols].to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="–")
    ll = fit.likelihood
    imgs = "".join(
        f'<figure><img src="{e(Path(f).name)}" style="max-width:100%">'
        f"<figcaption>{e(Path(f).stem)}</figcaption></figure>"
        for f in figures
    )
    d = fit.data.summary()
    spec, st = fit.model.spec, fit.settings
    method_text = (
        f"SAEM (K1 = {st['k1']}, K2 = {st['k2']}, {st['n_chains']} chain(s), seed {st['seed']})"
        if st.get("method", "saem") == "saem"
        else "Laplacian conditional estimation with interaction"
    )
    parts = [
        '<!doctype html><html><head><meta charset="utf-8">',
        f"<title>cartrial population fit ({e(status)})</title></head>",
        '<body style="font-family:sans-serif;max-width:1100px;margin:auto">',
        f"<h1>Population fit: {e(spec.model.name)} — {e(status)}</h1>",
        banner,
        f"<p>{d['n_subjects']} subjects, {d['n_observations']} samples, {d['n_blq']} BLQ "
        f"({d['blq_percent']:.1f} %, BLQ method {e(spec.blq.upper())}). Error model: {e(spec.error.kind)} "
        f"on the {e(spec.error.scale)} scale. Method: {method_text}.</p>",
        f"<p>−2LL (importance sampling, {int(ll['importance_draws'])} draws/subject) = "
        f"{ll['minus_2_log_likelihood']:.2f} (MC SE {ll['minus_2_log_likelihood_mc_se']:.2f}); "
        f"AIC = {ll['aic']:.2f}; BIC = {ll['bic']:.2f}.</p>",
        f"<h2>Estimates</h2>{table}",
        f"<h2>Figures</h2>{imgs}",
        f'<p style="font-size:small">{e(fit.to_dict()["source"])}</p>',
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_map(result: MapResult, out: Path) -> dict[str, str]:
    """MAP outputs: parameters CSV, profile CSV and JSON."""
    from cartrial.tabular import dumps_json

    out.mkdir(parents=True, exist_ok=True)
    result.parameters.to_csv(out / "map_parameters.csv", index=False)
    result.profile.to_csv(out / "map_profile.csv", index=False)
    (out / "map.json").write_text(dumps_json(clean(result.to_dict())) + "\n", encoding="utf-8")
    return {
        "parameters": str(out / "map_parameters.csv"),
        "profile": str(out / "map_profile.csv"),
        "json": str(out / "map.json"),
    }


def estimates_frame(fit: PopulationFit) -> pd.DataFrame:
    return fit.estimates
