"""Simulated CAR-T-like datasets and the parameter-recovery study of the population estimator.

Design (docs/popfit.md §7): the reference study's nominal PK days after infusion (1, 4, 7, 10, 14, 21, 28,
60, 90, 180, 270, 365 — `cartrial.kinetics.templates.PK_NOMINAL_DAYS` without the pre-infusion sample), each
actual day jittered by ±10 % (uniform); individual Stein 2019 parameters drawn by the kinetics engine
(`simulate_stein2019`: Table 1 typical values and IIV); log-normal residual error SD 0.56 (Table 1);
LLOQ 50 copies/µg (the example study's ddPCR LLOQ), which censors about 20 % of the samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from cartrial.kinetics.models import (
    STEIN_2019_OMEGA2,
    STEIN_2019_RESIDUAL_SD_LOG,
    STEIN_2019_TYPICAL,
    STEIN_PARAMETERS,
    simulate_stein2019,
)
from cartrial.kinetics.popfit.data import PopulationData
from cartrial.kinetics.popfit.saem import SaemSettings
from cartrial.kinetics.popfit.structural import predict_stein2019
from cartrial.kinetics.templates import PK_NOMINAL_DAYS

FloatArray = npt.NDArray[np.float64]

CART_DAYS: tuple[float, ...] = tuple(float(d) for d in PK_NOMINAL_DAYS if d > 0)
CART_LLOQ = 50.0
REDUCED_IIV: tuple[str, ...] = ("tmax_days", "cmax", "alpha_per_day")
"""The between-subject variability a 12-subject study can identify (docs/popfit.md §7): IIV on the time
and height of the peak and the fast decline, whose ω² the full model recovered at 12 subjects within
15 %; FOLDX, F_B and β as typical values only (their ω² collapsed or was biased by up to 50 %)."""


def simulate_cart_dataset(
    n_subjects: int,
    seed: int,
    *,
    days: Sequence[float] = CART_DAYS,
    lloq: float = CART_LLOQ,
    residual_sd_log: float = STEIN_2019_RESIDUAL_SD_LOG,
    jitter: float = 0.1,
    iiv: Sequence[str] | None = None,
) -> tuple[PopulationData, FloatArray]:
    """A censored CAR-T-like dataset and the true individual parameters (n, 6). `iiv`: the parameters that
    vary between subjects (default all six, with Stein 2019's ω²); the others take their typical value."""
    rng = np.random.default_rng(seed)
    nominal = np.asarray(days, float)
    params = simulate_stein2019(n_subjects, nominal[:1], seed=seed + 1, omega2=_omega2(iiv)).parameter_values
    times = nominal[None, :] * (1 + rng.uniform(-jitter, jitter, (n_subjects, nominal.size)))
    times = np.sort(times, axis=1)
    level = predict_stein2019(params, times, np.ones(n_subjects))
    obs = level * np.exp(rng.standard_normal(level.shape) * residual_sd_log)
    values = [np.where(row < lloq, np.nan, row) for row in obs]
    data = PopulationData.from_arrays(
        [f"SIM-{i + 1:03d}" for i in range(n_subjects)],
        list(times),
        values,
        lloq=lloq,
        source=f"simulated CAR-T dataset (seed {seed})",
        allow_unquantified=True,
    )
    return data, params


def _omega2(iiv: Sequence[str] | None) -> dict[str, float]:
    """Stein 2019's ω² of the parameters in `iiv` (all six when None)."""
    return {n: float(STEIN_2019_OMEGA2[n]) for n in STEIN_PARAMETERS if iiv is None or n in iiv}


def truth_table(iiv: Sequence[str] | None = None) -> dict[str, float]:
    """True population values of the simulation: typical values, omega² (of the `iiv` parameters, default
    all) and the residual SD."""
    out = {
        f"typical:{n}": float(v) for n, v in zip(STEIN_PARAMETERS, STEIN_2019_TYPICAL.as_array(), strict=True)
    }
    out.update({f"omega2:{n}": v for n, v in _omega2(iiv).items()})
    out["residual:a"] = STEIN_2019_RESIDUAL_SD_LOG
    return out


def recovery_study(
    n_subjects: int,
    n_replicates: int,
    *,
    seed: int = 1,
    settings: SaemSettings | None = None,
    progress: Callable[[int, pd.DataFrame], None] | None = None,
    first: int = 0,
    iiv: Sequence[str] | None = None,
    saem: Mapping[str, Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit `n_replicates` simulated datasets; returns (per-replicate estimates, summary per parameter).

    Summary: truth, mean estimate, relative bias % of the mean, coverage % of the 95 % CI, number of
    replicates with a CI, converged fraction and mean BLQ %. `first`: index of the first replicate (its
    dataset seed is seed + 1000·r, its SAEM seed seed + r), so a study can be run in parts and concatenated
    (or its replicates fitted in parallel with `recovery_replicate`). `iiv`: the parameters with
    between-subject variability, in the simulation and in the fitted model (default all six; e.g.
    `REDUCED_IIV` for a design too small to identify all six ω²). `saem`: SAEM settings that differ from the
    defaults for every replicate (`SaemSettings` fields, e.g. ``{"polish_rounds": 0}`` to report SAEM's last
    iterate); ignored when `settings` is given.
    """
    parts: list[pd.DataFrame] = []
    for r in range(first, first + n_replicates):
        parts.append(recovery_replicate(r, n_subjects, seed=seed, settings=settings, iiv=iiv, saem=saem))
        if progress is not None:
            progress(r, pd.concat(parts, ignore_index=True))
    per = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return per, summarise(per, iiv)


def recovery_replicate(
    replicate: int,
    n_subjects: int,
    *,
    seed: int = 1,
    settings: SaemSettings | None = None,
    iiv: Sequence[str] | None = None,
    saem: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Replicate `replicate` of `recovery_study` (the same arguments): its dataset (seed + 1000·replicate)
    fitted with SAEM seed seed + replicate; one row per population parameter with its estimate, 95 % CI and
    interval method, the fit's convergence label and the dataset's BLQ %. Independent of the other
    replicates, so a study's replicates can be fitted in any order or in parallel."""
    from cartrial.kinetics.popfit.fit import fit_population

    truth = truth_table(iiv)
    data, _ = simulate_cart_dataset(n_subjects, seed + 1000 * replicate, iiv=iiv)
    fit = fit_population(
        data,
        "stein2019",
        iiv=iiv,
        settings=settings or SaemSettings(seed=seed + replicate, **dict(saem or {})),
        ci="auto",  # the recovery table's intervals (D-17.17): profile where Wald is not available
    )
    blq = data.summary()["blq_percent"]
    rows = [
        {
            "replicate": replicate,
            "parameter": f"{rec.kind}:{rec.parameter}",
            "estimate": rec.estimate,
            "se": rec.se,
            "ci95_low": rec.ci95_low,
            "ci95_high": rec.ci95_high,
            "ci_method": rec.ci_method,
            "converged": fit.converged,
            "blq_percent": blq,
        }
        for rec in fit.estimates.itertuples()
        if f"{rec.kind}:{rec.parameter}" in truth
    ]
    return pd.DataFrame(rows)


def summarise(per: pd.DataFrame, iiv: Sequence[str] | None = None) -> pd.DataFrame:
    """Summary per parameter of per-replicate estimates (see `recovery_study`).

    `relative_bias_percent` is the issue's measure: the mean of θ̂ over all replicates (converged or not, so
    that no selection biases it) against the truth. Typical values, variances and residual SDs are estimated
    on the log scale (θ = exp(μ)), so that mean carries the Jensen term exp(s²/2) - 1 of the spread s of
    log θ̂ (about +25 % for FOLDX at 12 subjects); `geometric_bias_percent` = exp(mean log θ̂) / θ - 1 is the
    bias of μ̂ itself. `bias_mc_se_percent`: the Monte-Carlo SE of `relative_bias_percent` from the number of
    replicates (100·SD(θ̂)/(θ·√R)) — a bias is only resolved against the 5 % target when it is well below 5.
    `sd_over_se` is the SD of log θ̂ over the replicates with a standard error divided by their median SE of
    log θ̂ (≈ 1 when the SEs are calibrated); `ci_methods` counts the replicates per interval method
    (``ci_method``). `iiv`: the study's IIV parameters (`recovery_study`)."""
    truth = truth_table(iiv)
    summary = []
    for key, part in per.groupby("parameter", sort=False):
        t = truth[str(key)]
        with_ci = part[np.isfinite(part["ci95_low"]) & np.isfinite(part["ci95_high"])]
        covered = (
            ((with_ci["ci95_low"] <= t) & (t <= with_ci["ci95_high"])).mean() if len(with_ci) else math.nan
        )
        # calibration of the SEs: SD over replicates of log θ̂ against the median SE of log θ̂ = SE/θ̂ (delta
        # method; every recovery parameter is estimated on the log scale), over the replicates with an SE;
        # ≈ 1 when calibrated
        with_se = part[np.isfinite(part["se"]) & (part["se"] > 0)]
        se_log = with_se["se"] / with_se["estimate"]
        with np.errstate(divide="ignore", invalid="ignore"):
            sd_log = float(np.log(with_se["estimate"]).std(ddof=1)) if len(with_se) > 1 else math.nan
        se_med = float(np.nanmedian(se_log)) if len(with_se) else math.nan
        est = part["estimate"].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            geo = 100 * (math.exp(float(np.mean(np.log(est)))) / t - 1) if np.all(est > 0) else math.nan
        methods = (
            ";".join(f"{m}:{c}" for m, c in part["ci_method"].value_counts().sort_index().items())
            if "ci_method" in part
            else ""
        )
        summary.append(
            {
                "parameter": key,
                "truth": t,
                "mean_estimate": float(part["estimate"].mean()),
                "relative_bias_percent": 100 * (float(part["estimate"].mean()) / t - 1),
                "geometric_bias_percent": geo,
                "bias_mc_se_percent": 100 * float(np.std(est, ddof=1)) / (t * math.sqrt(len(est)))
                if len(est) > 1
                else math.nan,
                "coverage_percent": 100 * float(covered),
                "sd_over_se": sd_log / se_med if se_med > 0 else math.nan,
                "replicates_with_ci": len(with_ci),
                "converged_percent": 100 * float(part["converged"].mean()),
                "blq_percent": float(part["blq_percent"].mean()),
                "ci_methods": methods,
            }
        )
    return pd.DataFrame(summary)


def estimator_comparison(
    n_subjects: int,
    n_replicates: int,
    variants: Mapping[str, Mapping[str, Any]],
    *,
    seed: int = 11,
    first: int = 0,
    progress: Callable[[int, pd.DataFrame], None] | None = None,
) -> pd.DataFrame:
    """Estimates of the same simulated datasets by several SAEM settings (`variants`: name → `SaemSettings`
    fields, e.g. ``{"polish_rounds": 0}``), point estimates only; the datasets and seeds of
    `recovery_study`. Columns: n_subjects, variant, replicate, parameter, estimate. Used to tell an
    estimator's artefact (a shift between variants that does not shrink with the number of subjects) from
    the maximum likelihood estimator's own finite-sample bias (D-17.23)."""
    from cartrial.kinetics.popfit.fit import fit_population

    truth = truth_table()
    rows: list[dict[str, Any]] = []
    for r in range(first, first + n_replicates):
        data, _ = simulate_cart_dataset(n_subjects, seed + 1000 * r)
        for name, overrides in variants.items():
            fit = fit_population(
                data, "stein2019", settings=SaemSettings(seed=seed + r, **dict(overrides)), compute_se=False
            )
            rows += [
                {
                    "n_subjects": n_subjects,
                    "variant": name,
                    "replicate": r,
                    "parameter": f"{rec.kind}:{rec.parameter}",
                    "estimate": rec.estimate,
                }
                for rec in fit.estimates.itertuples()
                if f"{rec.kind}:{rec.parameter}" in truth
            ]
        if progress is not None:
            progress(r, pd.DataFrame(rows))
    return pd.DataFrame(rows)


SHIFT_BEGIN = (
    "<!-- estimator-shift:begin (generated from benchmarks/popfit_estimator_comparison.csv; do not edit) -->"
)
SHIFT_END = "<!-- estimator-shift:end -->"


def shift_markdown(frame: pd.DataFrame, reference: str = "saem") -> str:
    """Table of `estimator_comparison` results: per study size and variant, the bias % of the geometric mean
    (100·(exp(mean log(θ̂/θ)) − 1), as `summarise`'s ``geometric_bias_percent``) and, for each other
    variant, its paired shift from `reference` (100·(exp(m) − 1), m = mean of log θ̂_variant −
    log θ̂_reference over the same datasets), each ± its Monte-Carlo SE (delta method: 100·exp(m)·SE(m))."""
    truth = truth_table()
    columns: list[tuple[str, pd.Series]] = []

    def mean_se(values: pd.Series) -> str:
        v = values.to_numpy(float)
        m = float(v.mean())
        se = float(v.std(ddof=1)) / math.sqrt(v.size) if v.size > 1 else math.nan
        return f"{100 * math.expm1(m):+.1f} ± {100 * math.exp(m) * se:.1f}"

    for (n, variant), part in frame.groupby(["n_subjects", "variant"], sort=False):
        est = part.set_index(["replicate", "parameter"])["estimate"]
        log_error = np.log(est / est.index.get_level_values("parameter").map(truth).to_numpy(float))
        reps = est.index.get_level_values("replicate").nunique()
        columns.append((f"{n} subj., {variant} ({reps}): geo. bias %", log_error))
        if variant != reference:
            ref = frame[(frame["n_subjects"] == n) & (frame["variant"] == reference)]
            ref_est = ref.set_index(["replicate", "parameter"])["estimate"]
            shift = (np.log(est) - np.log(ref_est)).dropna()
            if len(shift):
                n_ref = shift.index.get_level_values("replicate").nunique()
                columns.append((f"{n} subj., {variant} − {reference} ({n_ref}): shift %", shift))
    head = "| parameter |" + "".join(f" {name} |" for name, _ in columns)
    lines = [head, "|---|" + "---|" * len(columns)]
    for key in truth:
        cells = []
        for _, values in columns:
            mine = values[values.index.get_level_values("parameter") == key]
            cells.append(mean_se(mine) if len(mine) else "n/a")
        lines.append(f"| {key} |" + "".join(f" {c} |" for c in cells))
    return "\n".join(lines)


TABLE_BEGIN = "<!-- recovery-table:begin (generated from benchmarks/popfit_recovery.csv; do not edit) -->"
TABLE_END = "<!-- recovery-table:end -->"
TARGETS_BEGIN = "<!-- recovery-targets:begin (generated from benchmarks/popfit_recovery.csv; do not edit) -->"
TARGETS_END = "<!-- recovery-targets:end -->"
TYPICAL_BIAS_TARGET_PERCENT = 5.0
VARIANCE_BIAS_TARGET_PERCENT = 20.0
COVERAGE_TARGET_PERCENT = (90.0, 98.0)
"""Issue 17's recovery targets: |relative bias| of the typical values and of the variances (ω², residual
parameters), and the coverage of the 95 % intervals."""


def target_check(summary: pd.DataFrame) -> dict[str, Any]:
    """Issue 17's targets on one study's summary (`summarise`): the largest |relative bias| of the typical
    values and of the variances, the range of coverage, and whether every target is met (a parameter
    without an interval in any replicate has no coverage and does not meet the coverage target)."""
    kind = summary["parameter"].str.split(":").str[0]
    fixed = summary[kind == "typical"]["relative_bias_percent"].abs()
    var = summary[kind.isin(["omega2", "residual"])]["relative_bias_percent"].abs()
    cov = summary["coverage_percent"]
    low, high = COVERAGE_TARGET_PERCENT
    return {
        "max_abs_typical_bias_percent": float(fixed.max()),
        "max_abs_variance_bias_percent": float(var.max()),
        "coverage_percent_range": [float(cov.min()), float(cov.max())] if cov.notna().any() else None,
        "meets_target": bool(
            (fixed <= TYPICAL_BIAS_TARGET_PERCENT).all()
            and (var <= VARIANCE_BIAS_TARGET_PERCENT).all()
            and cov.between(low, high).all()  # False for a missing coverage
        ),
    }


def targets_markdown(summary: pd.DataFrame) -> str:
    """One line per study of `benchmarks/popfit_recovery.csv` (the first replicates of a longer study
    included, column ``subset``): replicates, the largest |bias| of typical values and of variances, the
    coverage range, the parameter outside it, and whether issue 17's targets are met."""
    lines = [
        "| study | replicates | max \\|bias\\| typical % | max \\|bias\\| variances % | coverage % "
        "| outside 90-98 % | targets met |",
        "|---|---|---|---|---|---|---|",
    ]
    labels = summary["study"].astype(str)
    low, high = COVERAGE_TARGET_PERCENT
    for label in dict.fromkeys(labels):
        part = summary[labels == label]
        check = target_check(part)
        cov = check["coverage_percent_range"]
        cov_s = "—" if cov is None else f"{cov[0]:.1f}-{cov[1]:.1f}"
        outside = part[~part["coverage_percent"].between(low, high)]
        out_s = ", ".join(
            f"{row.parameter} {row.coverage_percent:.1f}"
            if math.isfinite(row.coverage_percent)
            else f"{row.parameter} (no CI)"
            for row in outside.itertuples()
        )
        lines.append(
            f"| {label} | {int(part['replicates'].iloc[0])} | {check['max_abs_typical_bias_percent']:.1f} "
            f"| {check['max_abs_variance_bias_percent']:.1f} | {cov_s} | {out_s or '—'} "
            f"| {'yes' if check['meets_target'] else 'no'} |"
        )
    return "\n".join(lines)


def study_label(
    n_subjects: int, iiv: Sequence[str] | None = None, saem: Mapping[str, Any] | None = None
) -> str:
    """The column heading of a study in the recovery table: "100 subj.", "12 subj., IIV on tmax_days,
    cmax, alpha_per_day" or "100 subj., SAEM's last iterate" (``saem={"polish_rounds": 0}``)."""
    label = f"{n_subjects} subj." + ("" if iiv is None else f", IIV on {', '.join(iiv)}")
    extra = dict(saem or {})
    if extra.pop("polish_rounds", None) == 0:
        label += ", SAEM's last iterate"
    return label + "".join(f", {k}={v}" for k, v in extra.items())


def recovery_markdown(summary: pd.DataFrame) -> str:
    """The docs/popfit.md recovery table from the study summary (`benchmarks/popfit_recovery.csv`: columns
    n_subjects, replicates, optionally study (`study_label`; default the size) and those of `summarise`),
    per study: bias % of the mean ± its Monte-Carlo SE, bias % of the geometric mean, coverage %, SD/SE and
    the replicates with a CI; "n/a" for a variance the study's model does not have."""
    if "subset" in summary:  # the first replicates of a longer study: in `targets_markdown` only
        summary = summary[~summary["subset"].astype(bool)]
    labels = (
        summary["study"].astype(str)
        if "study" in summary
        else summary["n_subjects"].map(lambda n: study_label(int(n)))
    )
    studies = list(dict.fromkeys(labels))
    by = {label: summary[labels == label].set_index("parameter") for label in studies}
    params = list(dict.fromkeys(summary["parameter"]))
    truths = summary.drop_duplicates("parameter").set_index("parameter")["truth"]
    head = "| parameter | truth |"
    rule = "|---|---|"
    for label in studies:
        head += f" {label}: bias % ± MC SE | geo. bias % | coverage % | SD/SE | CIs |"
        rule += "---|---|---|---|---|"
    lines = [head, rule]
    for name in params:
        row = f"| {name} | {float(truths[name]):.4g} |"
        for label in studies:
            if name not in by[label].index:
                row += " n/a | n/a | n/a | n/a | n/a |"
                continue
            rec = by[label].loc[name]
            cov = float(rec["coverage_percent"])
            cov_s = "—" if math.isnan(cov) else f"{cov:.0f}"
            ratio = float(rec["sd_over_se"]) if "sd_over_se" in rec else math.nan
            ratio_s = "—" if math.isnan(ratio) else f"{ratio:.2f}"
            mc = float(rec["bias_mc_se_percent"]) if "bias_mc_se_percent" in rec else math.nan
            geo = float(rec["geometric_bias_percent"]) if "geometric_bias_percent" in rec else math.nan
            mc_s = "" if math.isnan(mc) else f" ± {mc:.1f}"
            geo_s = "—" if math.isnan(geo) else f"{geo:+.1f}"
            row += (
                f" {float(rec['relative_bias_percent']):+.1f}{mc_s} | {geo_s} | {cov_s} | {ratio_s} |"
                f" {int(rec['replicates_with_ci'])}/{int(rec['replicates'])} |"
            )
        lines.append(row)
    lines.append("")
    for label in studies:
        first = by[label].iloc[0]
        lines.append(
            f"{label}: {int(first['replicates'])} replicates, {float(first['converged_percent']):.0f} % "
            f"labelled converged, mean BLQ {float(first['blq_percent']):.1f} %."
            + (f" Run: {first['measured']}." if isinstance(first.get("measured"), str) else "")
        )
    return "\n".join(lines)


def replace_generated_block(
    text: str, block: str, begin: str = TABLE_BEGIN, end_marker: str = TABLE_END
) -> str:
    """`text` with the part between `begin` and `end_marker` (default the recovery table's) replaced by
    `block`."""
    start = text.index(begin) + len(begin)
    end = text.index(end_marker)
    return text[:start] + "\n" + block + "\n" + text[end:]
