"""Operating characteristics of many virtual trials, with Monte Carlo standard errors (docs/simulation.md §6).

`summarise(batch)` turns the per-trial results of `simulate_trials` into:
- per dose level: the scenario's true DLT probability (% of the trials' patients who would have a DLT
  there, D-19.292), selection % (binomial SE), mean patients treated and DLTs (SE = sd/√trials);
- trial level: each metric's mean with its SE and the 5/25/50/75/95 % quantiles (patients with grade ≥ 3
  CRS or any ICANS, early stops, duration and sample size, the efficacy endpoints);
- derived probabilities: early stop for toxicity, P(no MTD), P(≥ 50 % of patients with EDSS improvement) —
  the last over the trials with an EDSS-evaluable patient (`p_edss_improved_half_n_trials`, D-19.131).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cartrial.binomial import clopper_pearson
from cartrial.errors import InputError, Problem
from cartrial.simulation.trials import Prepared, TrialBatch, _check_type

QUANTILES = (5, 25, 50, 75, 95)

#: The SE of a mean over one trial: none (NaN, null in JSON, "n/a" printed), never 0.0, which read as a
#: value known exactly (decisions D-19.394).
_NO_SE = float("nan")

_BATCH = "a TrialBatch (simulate_trials(prepared, trials))"

METRIC_LABELS: dict[str, str] = {
    "n_treated": "patients treated",
    "n_screened": "candidates screened",
    "n_dlt": "patients with a DLT",
    "n_crs_any": "patients with CRS (any grade)",
    "n_crs_grade3plus": "patients with grade ≥ 3 CRS",
    "n_icans_any": "patients with ICANS (any grade)",
    "n_deaths": "deaths",
    "pct_crs_any": "% with CRS",
    "pct_crs_grade3plus": "% with grade ≥ 3 CRS",
    "pct_icans_any": "% with ICANS",
    "pct_persistence": "% CAR-T quantifiable after the persistence day",
    "pct_aqp4_fell": "% with AQP4-IgG falling",
    "pct_edss_improved": "% with EDSS improvement",
    "pct_relapse_free": "% relapse-free",
    "arr_pre": "ARR before (24 months)",
    "arr_post": "ARR after infusion",
    "arr_reduction_pct": "ARR reduction %",
    "duration_months": "trial duration (months)",
    "enrolment_months": "last infusion (months)",
    "accrual_beyond_list": "needed more candidates than the listed dates (share of trials)",
}

#: metric → the protocol assessment it rests on; left out for a protocol that does not collect it (D-19.64)
METRIC_ASSESSMENT: dict[str, str] = {
    "pct_aqp4_fell": "aqp4_igg",
    "pct_edss_improved": "edss",
    "pct_relapse_free": "relapse_review",
    "arr_pre": "relapse_review",
    "arr_post": "relapse_review",
    "arr_reduction_pct": "relapse_review",
}


@dataclass(frozen=True)
class TrialOc:
    """Operating characteristics: `doses` (one row per level), `metrics` (one row per trial metric) and the
    run's settings; `as_dict()` is JSON-ready."""

    doses: pd.DataFrame
    metrics: pd.DataFrame
    summary: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "derivation": "cartrial.simulation.summarise",
            **self.summary,
            "doses": self.doses.to_dict(orient="records"),
            "metrics": self.metrics.to_dict(orient="records"),
        }


def _prop(values: np.ndarray) -> tuple[float, float]:
    p = float(np.mean(values)) if values.size else float("nan")
    return p * 100, float(np.sqrt(p * (1 - p) / max(values.size, 1))) * 100


def exact_interval_pct(k: int, n: int) -> tuple[float, float]:
    """The exact (Clopper-Pearson) two-sided 95 % interval of a proportion k of n, in %: the beta quantiles
    B(0.025; k, n - k + 1) and B(0.975; k + 1, n - k), 0 at k = 0 and 100 at k = n (Clopper & Pearson,
    Biometrika 1934;26:404; `cartrial.binomial.clopper_pearson`). At k = 0 the upper end is 1 - 0.025^(1/n),
    near the rule of three (3/n); used where the binomial SE, sqrt(p(1 - p)/n), is 0 (decisions D-19.393).

    >>> [round(v, 1) for v in exact_interval_pct(0, 30)], [round(v, 1) for v in exact_interval_pct(30, 30)]
    ([0.0, 11.6], [88.4, 100.0])
    """
    low, high = clopper_pearson(k, n)
    return low * 100, high * 100


def _interval(values: np.ndarray) -> list[float] | None:
    """The exact 95 % interval (in %) of the share of true values in `values`; None when empty."""
    if not values.size:
        return None
    return list(exact_interval_pct(int(np.count_nonzero(values)), int(values.size)))


def shows_exact_interval(pct: float, se: float, n: int) -> bool:
    """Whether a proportion of `n` trials is shown with its count and exact 95 % interval instead of an SE:
    at 0 % or 100 %, where the binomial SE is 0 and says nothing (decisions D-19.393)."""
    return n >= 1 and se == 0 and pct in (0.0, 100.0)


def proportion_text(pct: float, se: float, n: int) -> str:
    """A proportion of `n` trials as printed: ``"40.0 % (SE 8.9)"``, but at 0 % or 100 %, where the
    binomial SE is 0.0 and says nothing, the count and its exact 95 % interval (`exact_interval_pct`):
    ``"0.0 % (0 of 30; exact 95 % CI 0.0–11.6)"`` (decisions D-19.393).

    >>> proportion_text(0.0, 0.0, 30)
    '0.0 % (0 of 30; exact 95 % CI 0.0–11.6)'
    """
    if shows_exact_interval(pct, se, n):
        k = round(pct * n / 100)
        low, high = exact_interval_pct(k, n)
        return f"{pct:.1f} % ({k} of {n}; exact 95 % CI {low:.1f}–{high:.1f})"
    return f"{pct:.1f} % (SE {se:.1f})"


def mean_cell(mean: float, se: float, digits: int = 2) -> str:
    """A mean and its SE in a table cell, ``"12.00 (0.25)"``; ``"15.00 (SE n/a)"`` when there is no SE
    (one trial, decisions D-19.394).

    >>> mean_cell(15.0, float("nan"))
    '15.00 (SE n/a)'
    """
    if np.isnan(se):
        return f"{mean:.{digits}f} (SE n/a)"
    return f"{mean:.{digits}f} ({se:.{digits}f})"


def proportion_cell(pct: float, se: float, n: int) -> str:
    """A proportion in a table cell: ``"12.3 (1.0)"`` (% and its SE), at 0 % or 100 % the exact 95 %
    interval instead of an SE of 0.0: ``"0.0 (95 % CI 0.0–11.6)"`` (decisions D-19.393)."""
    if shows_exact_interval(pct, se, n):
        low, high = exact_interval_pct(round(pct * n / 100), n)
        return f"{pct:.1f} (95 % CI {low:.1f}–{high:.1f})"
    return f"{pct:.1f} ({se:.1f})"


def summarise(
    batch: TrialBatch,
    *,
    labels: list[str] | None = None,
    settings: dict[str, Any] | None = None,
    collected: Collection[str] | None = None,
) -> TrialOc:
    """Operating characteristics of `batch` (see the module docstring). With `collected` (the protocol's
    `collected_assessments`), the disease metrics of an assessment it does not collect are left out: no
    "% relapse-free" or "EDSS improvement" for a myasthenia gravis protocol (D-19.64)."""
    _check_type("batch", batch, TrialBatch, _BATCH)
    if settings is not None and not isinstance(settings, Mapping):
        raise InputError(
            Problem(f"not a mapping: a {type(settings).__name__}", field="settings", allowed="a dict | None")
        )
    if collected is not None and (
        isinstance(collected, str)
        or not isinstance(collected, Collection)
        or not all(isinstance(name, str) for name in collected)
    ):  # a str would be read as its letters: every disease metric left out silently
        raise InputError(
            Problem(
                f"not a collection of assessment names: a {type(collected).__name__}",
                field="collected",
                allowed="a set or list of assessment names (protocol.collected_assessments) | None (all)",
            )
        )
    t = batch.trials
    root = np.sqrt(t)
    k = batch.n_doses
    if labels is not None and (
        isinstance(labels, str) or not isinstance(labels, Collection) or len(labels) != k
    ):
        raise InputError(
            Problem(
                f"one label per dose level is needed ({k})",
                field="labels",
                value=labels
                if isinstance(labels, str)
                else f"{len(labels)} label(s)"
                if isinstance(labels, Collection)
                else type(labels).__name__,
                allowed=f"a list of {k} labels | None (the level numbers)",
            )
        )
    rows = []
    above = batch.above_target
    for level in range(k):
        # counted per level: a trials × slots × levels array is ~1 GB near MAX_TRIAL_SLOTS with 50 levels
        treated = (batch.slot_dose == level).sum(axis=1).astype(float)
        sel, sel_se = _prop(batch.mtd == level)
        n, y = batch.n[:, level], batch.y[:, level]
        true = batch.true_dlt[:, level] if batch.true_dlt is not None else np.full(t, np.nan)
        rows.append(
            {
                "dose_level": level + 1,
                "label": labels[level] if labels else str(level + 1),
                # the scenario's true DLT probability at the level (D-19.292)
                "true_dlt_pct": float(true.mean()),
                "true_dlt_se_pct": float(true.std(ddof=1) / root) if t > 1 else _NO_SE,
                "selection_pct": sel,
                "selection_se_pct": sel_se,
                "mean_n": float(n.mean()),
                "mean_n_se": float(n.std(ddof=1) / root) if t > 1 else _NO_SE,
                "mean_dlt": float(y.mean()),
                "mean_dlt_se": float(y.std(ddof=1) / root) if t > 1 else _NO_SE,
                # every patient the design treated at the level, the replaced (not DLT-evaluable) ones too;
                # `mean_n` counts the design's DLT-evaluable patients and the expansion's (D-19.1225)
                "mean_treated": float(treated.mean()),
                "mean_treated_se": float(treated.std(ddof=1) / root) if t > 1 else _NO_SE,
                # the level's true DLT probability is above the target toxicity (D-19.315)
                **({"above_target": bool(above[level])} if above is not None else {}),
            }
        )
    metric_rows = []
    for name, values in batch.metrics.items():
        if name not in METRIC_LABELS:
            continue
        needs = METRIC_ASSESSMENT.get(name)
        if collected is not None and needs is not None and needs not in collected:
            continue
        finite = values[np.isfinite(values)]
        row: dict[str, Any] = {"metric": name, "label": METRIC_LABELS[name], "n_trials": int(finite.size)}
        if finite.size:
            row["mean"] = float(finite.mean())
            row["se"] = float(finite.std(ddof=1) / np.sqrt(finite.size)) if finite.size > 1 else _NO_SE
            # the inverted CDF: each quantile is a value a trial had (a count stays a whole number), never
            # an interpolation between two trials (decisions D-19.393; Hyndman & Fan 1996, definition 1)
            for q, v in zip(QUANTILES, np.percentile(finite, QUANTILES, method="inverted_cdf"), strict=True):
                row[f"p{q}"] = float(v)
        metric_rows.append(row)
    no_mtd, no_mtd_se = _prop(batch.mtd < 0)
    stop, stop_se = _prop(batch.safety_stop)
    # over the trials with an EDSS-evaluable patient (the proportion has a value), as the metric's mean and
    # quantiles: a trial with nobody evaluable is neither a success nor a failure (D-19.98, D-19.131)
    half_values = batch.metrics["edss_half_improved"]
    half_defined = half_values[np.isfinite(half_values)]
    half, half_se = _prop(half_defined > 0)
    any_g3, any_g3_se = _prop(batch.metrics["n_crs_grade3plus"] > 0)
    summary = {
        "trials": t,
        "seed": batch.seed,
        "batch_size": batch.batch_size,  # the seed's random stream depends on it (D-19.1319)
        "seconds": batch.seconds,
        "no_mtd_pct": no_mtd,
        "no_mtd_se_pct": no_mtd_se,
        "no_mtd_ci95_pct": _interval(batch.mtd < 0),  # exact (Clopper-Pearson), D-19.393
        "early_stop_pct": stop,
        "early_stop_se_pct": stop_se,
        "early_stop_ci95_pct": _interval(batch.safety_stop),
        **_treated_above(batch),
        # % of trials per stop reason, each with its binomial SE (D-19.313)
        "stop_reasons": stop_reason_pct(batch),
        "p_edss_improved_half_pct": half if collected is None or "edss" in collected else None,
        "p_edss_improved_half_se_pct": half_se if collected is None or "edss" in collected else None,
        "p_edss_improved_half_n_trials": (
            int(half_defined.size) if collected is None or "edss" in collected else None
        ),
        "p_edss_improved_half_ci95_pct": (
            _interval(half_defined > 0) if collected is None or "edss" in collected else None
        ),
        "p_any_crs_grade3plus_pct": any_g3,
        "p_any_crs_grade3plus_se_pct": any_g3_se,
        "p_any_crs_grade3plus_ci95_pct": _interval(batch.metrics["n_crs_grade3plus"] > 0),
        **(settings or {}),
    }
    return TrialOc(pd.DataFrame(rows), pd.DataFrame(metric_rows), summary)


def run_settings(prepared: Prepared) -> dict[str, Any]:
    """The settings a run's operating characteristics record (`TrialOc.summary`): the scenario's name, the
    design and its options, and the screening of the virtual pool (patients screened and eligible, pass
    rate in %, screen failures by criterion)."""
    _check_type("prepared", prepared, Prepared, "a Prepared (prepare(scenario, protocol, seed))")
    return {
        "scenario": prepared.scenario.name,
        "design": prepared.design.name,
        "design_options": prepared.design.options(),
        # the design's stopping rule for toxicity; None: it has none, early_stop_pct is 0 by construction
        "safety_stop": prepared.design.safety_stop(),
        "pool_screened": len(prepared.pool.covariates),
        "pool_eligible": len(prepared.eligible),
        "screening_pass_pct": prepared.pool.pass_rate * 100,
        "screen_failures_by_criterion": prepared.pool.blocked_by,
    }


def summarise_run(prepared: Prepared, batch: TrialBatch) -> TrialOc:
    """The operating characteristics of `batch` (trials of `prepared`) as `cartrial simulate trial` reports
    them: `summarise` with the protocol's dose-level labels, the run's settings (`run_settings`) and the
    protocol's collected assessments (a disease metric of an assessment the protocol does not collect is
    left out, D-19.64). Units and sources as `summarise` (docs/simulation.md).

    >>> from cartrial.protocol import load_protocol
    >>> from cartrial.simulation import load_scenario, prepare, simulate_trials
    >>> scenario, path = load_scenario("examples/ct103a-nmosd/scenario.yaml")
    >>> prepared = prepare(scenario, load_protocol(path), seed=1)
    >>> oc = summarise_run(prepared, simulate_trials(prepared, 20, seed=1))
    >>> oc.summary["scenario"], len(oc.doses) == prepared.n_doses
    ('ct103a-nmosd-reference', True)
    """
    _check_type("prepared", prepared, Prepared, "a Prepared (prepare(scenario, protocol, seed))")
    return summarise(
        batch,
        labels=[level.label for level in prepared.protocol.dose_levels],
        settings=run_settings(prepared),
        collected=prepared.protocol.collected_assessments,
    )


def _treated_above(batch: TrialBatch) -> dict[str, float | None]:
    """% of the patients (the doses table's: the design's evaluable patients and the expansion's) treated at
    a level whose true DLT probability is above the target toxicity, with its SE (D-19.315): the escalation
    engine's derivation (`treated_above_pct`); None without a target."""
    from cartrial.escalation.simulation import treated_above_pct

    if batch.target_toxicity is None or batch.above_target is None:
        keys = ("target_toxicity", "pct_treated_above_target", "pct_treated_above_target_se")
        return dict.fromkeys(keys)
    pct, se = treated_above_pct(np.asarray(batch.n, dtype=float), batch.above_target)
    return {
        "target_toxicity": batch.target_toxicity,
        "pct_treated_above_target": pct,
        "pct_treated_above_target_se": se,
    }


def early_stop_summary_text(summary: Mapping[str, Any]) -> str:
    """The early-stop sentence of a trial-simulation `summary` (`TrialOc.summary`): its rate, or "none
    possible" for a design without a safety stop (`summary["safety_stop"]` None, D-19.478). A summary written
    before that key existed says it does not state whether the design can stop — never taken as one that can
    (D-19.482). The rate's SE is over the summary's own ``trials``.

    >>> early_stop_summary_text({"early_stop_pct": 0.0, "early_stop_se_pct": 0.0, "trials": 10})[:31]
    'early stop for toxicity 0.0 % ('
    """
    from cartrial.escalation.simulation import early_stop_text

    shown = proportion_text(summary["early_stop_pct"], summary["early_stop_se_pct"], int(summary["trials"]))
    if "safety_stop" not in summary:
        unstated = "the summary does not state whether the design has a safety stop"
        return f"early stop for toxicity {shown} ({unstated})"
    return early_stop_text(shown, summary["safety_stop"])


def treated_above_text(summary: Mapping[str, Any]) -> str:
    """The overdosing OC as printed (D-19.315); ``""`` without a target toxicity.

    >>> treated_above_text({"target_toxicity": 0.3, "pct_treated_above_target": 12.5,
    ...                     "pct_treated_above_target_se": 0.4})
    'patients treated above the target toxicity 0.3: 12.5 % (SE 0.4)'
    """
    pct = summary.get("pct_treated_above_target")
    if pct is None:
        return ""
    return (
        f"patients treated above the target toxicity {summary['target_toxicity']:g}: {pct:.1f} % "
        f"(SE {summary['pct_treated_above_target_se']:.1f})"
    )


def stop_reason_label(code: int) -> str:
    """The stop reason's label in trials.csv and oc.json: the `StopReason` name in lower case
    (``max_n_reached``, ``max_cohorts_reached``, ``rule_complete``…; docs/simulation.md §6)."""
    from cartrial.escalation.design import StopReason

    return StopReason(int(code)).name.lower()


def stop_reason_pct(batch: TrialBatch) -> dict[str, dict[str, float]]:
    """Per stop reason that occurred, % of the trials (and its binomial SE) that stopped for it (D-19.313);
    empty for a batch without stop reasons."""
    if batch.stop_reason is None:
        return {}
    out = {}
    for code in np.unique(batch.stop_reason):
        pct, se = _prop(batch.stop_reason == code)
        out[stop_reason_label(int(code))] = {"pct": pct, "se_pct": se}
    return out


def edss_probability_text(summary: Mapping[str, Any]) -> str:
    """P(≥ 50 % with EDSS improvement) with its denominator, the trials with an EDSS-evaluable patient
    (D-19.131): ``"P(≥ 50 % with EDSS improvement) 48.8 % (SE 1.6) of the 1000 trials with an
    EDSS-evaluable patient"``; ``""`` when the protocol does not collect EDSS.

    >>> edss_probability_text({"p_edss_improved_half_pct": 50.0, "p_edss_improved_half_se_pct": 25.0,
    ...                        "p_edss_improved_half_n_trials": 4})
    'P(≥ 50 % with EDSS improvement) 50.0 % (SE 25.0) of the 4 trials with an EDSS-evaluable patient'
    >>> edss_probability_text({"p_edss_improved_half_pct": float("nan"), "p_edss_improved_half_se_pct": 0.0,
    ...                        "p_edss_improved_half_n_trials": 0})
    'P(≥ 50 % with EDSS improvement): no trial with an EDSS-evaluable patient'
    """
    pct, n = summary.get("p_edss_improved_half_pct"), summary.get("p_edss_improved_half_n_trials")
    if pct is None or n is None:
        return ""
    if not n:
        return "P(≥ 50 % with EDSS improvement): no trial with an EDSS-evaluable patient"
    shown = proportion_text(pct, summary["p_edss_improved_half_se_pct"], n)
    return f"P(≥ 50 % with EDSS improvement) {shown} of the {n} trials with an EDSS-evaluable patient"


def trials_table(batch: TrialBatch) -> pd.DataFrame:
    """One row per simulated trial: trial, mtd (1-based, empty = none), safety_stop, stop_reason, n and DLTs
    per level, and every metric."""
    _check_type("batch", batch, TrialBatch, _BATCH)
    columns: dict[str, Any] = {
        "trial": np.arange(1, batch.trials + 1),
        "mtd": pd.Series(np.where(batch.mtd >= 0, batch.mtd + 1, 0), dtype="Int64").where(batch.mtd >= 0),
        "safety_stop": batch.safety_stop,
    }
    if batch.stop_reason is not None:  # why the escalation stopped (D-19.313)
        columns["stop_reason"] = [stop_reason_label(int(code)) for code in batch.stop_reason]
    for level in range(batch.n_doses):
        columns[f"n_{level + 1}"] = batch.n[:, level].astype(np.int64)
        columns[f"dlt_{level + 1}"] = batch.y[:, level].astype(np.int64)
    if batch.true_dlt is not None:  # the trial's patients' DLT share at each level (D-19.292)
        for level in range(batch.n_doses):
            columns[f"true_dlt_pct_{level + 1}"] = batch.true_dlt[:, level]
    for name in METRIC_LABELS:
        if name in batch.metrics:
            columns[name] = batch.metrics[name]
    return pd.DataFrame(columns)


def _sentence(text: str) -> str:
    """`text` with its first letter upper case, the rest unchanged (str.capitalize lowers "SE", "CI")."""
    return text[:1].upper() + text[1:]


def html_summary(oc: TrialOc, batch: TrialBatch, title: str) -> str:
    """A short self-contained HTML page: the dose table, the metrics table and histograms (matplotlib SVG
    inline). `oc` is `summarise(batch)`, `title` the page's title (text)."""
    import html

    _check_type("oc", oc, TrialOc, "a TrialOc (summarise(batch))")
    _check_type("batch", batch, TrialBatch, _BATCH)
    if not isinstance(title, str):  # was an AttributeError from html.escape (decisions D-19.75)
        raise InputError(Problem(f"not text: a {type(title).__name__}", field="title", allowed="a str"))
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"  # text as text: smaller and much faster than glyph paths

    def svg_of(fig: Any, salt: str) -> str:
        """The figure as inline SVG, the same for the same data (D-19.293): no creation date, element ids
        from a fixed salt (one per figure of the page, so that the page's ids stay unique)."""
        buffer = io.StringIO()
        with plt.rc_context({"svg.hashsalt": f"cartrial-simulation-{salt}"}):
            fig.savefig(buffer, format="svg", metadata={"Date": None})
        plt.close(fig)
        text = buffer.getvalue()
        return text[text.index("<svg") :]

    figures = []
    panels = [
        ("n_treated", "patients treated"),
        ("duration_months", "trial duration (months)"),
        ("pct_crs_any", "% with CRS"),
        ("pct_edss_improved", "% with EDSS improvement"),
        ("arr_reduction_pct", "ARR reduction %"),
        ("pct_aqp4_fell", "% with AQP4-IgG falling"),
    ]
    # only the metrics the tables report: none of an assessment the protocol does not collect (D-19.64,
    # D-19.295), none without a value in any trial
    reported = set(oc.metrics.loc[oc.metrics["n_trials"] > 0, "metric"]) if len(oc.metrics) else set()
    panels = [(name, label) for name, label in panels if name in reported]
    rows_needed = max(1, -(-len(panels) // 3))
    fig, axes = plt.subplots(rows_needed, 3, figsize=(10, 2.75 * rows_needed), squeeze=False)
    for ax in axes.ravel()[len(panels) :]:
        ax.set_axis_off()
    for ax, (name, label) in zip(axes.ravel(), panels, strict=False):
        values = batch.metrics[name]
        values = values[np.isfinite(values)]
        ax.hist(values, bins=30, color="#4C72B0")
        ax.set_title(label, fontsize=9)
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    figures.append(svg_of(fig, "metrics"))
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.bar(oc.doses["label"].astype(str), oc.doses["selection_pct"], yerr=1.96 * oc.doses["selection_se_pct"])
    ax.set_ylabel("selected as MTD (%)")
    fig.tight_layout()
    figures.append(svg_of(fig, "selection"))
    s = oc.summary
    edss = edss_probability_text(s)
    head = (
        f"<p>{s['trials']} simulated trials, seed {s['seed']}. "
        + html.escape(_sentence(early_stop_summary_text(s)))
        + f"; no MTD "
        f"{proportion_text(s['no_mtd_pct'], s['no_mtd_se_pct'], s['trials'])}"
        + (f"; {html.escape(above)}" if (above := treated_above_text(s)) else "")
        + (f"; {edss}" if edss else "")
        + ".</p>"
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>{head}"
        "<h2>Dose levels</h2>"
        f"{oc.doses.to_html(index=False, float_format=lambda v: f'{v:.2f}', na_rep='n/a')}"
        f"{figures[1]}<h2>Trial metrics</h2>"
        f"{oc.metrics.to_html(index=False, float_format=lambda v: f'{v:.2f}', na_rep='n/a')}"
        f"{figures[0]}<p>Simulated with cartrial (docs/simulation.md): virtual data, not evidence.</p>"
        "</body></html>"
    )


__all__ = [
    "METRIC_LABELS",
    "QUANTILES",
    "TrialOc",
    "early_stop_summary_text",
    "edss_probability_text",
    "exact_interval_pct",
    "html_summary",
    "mean_cell",
    "proportion_cell",
    "proportion_text",
    "summarise",
    "trials_table",
]
