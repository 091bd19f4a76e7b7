"""Renderers of a population fit (issue 17): the files of ``cartrial kinetics popfit`` / ``map`` and the
population-PK section of the interim report.

* `popfit_files(fit)` → file name → content (text or bytes): ``estimates.json``, ``estimates.csv``,
  ``ebe.csv``, ``diagnostics.csv``, ``vpc.csv``, ``trace.csv``, the figures
  (`cartrial.report.popfit_figures`) and ``summary.html``. A non-converged fit says so in every file (status
  column, JSON ``status``, HTML banner, figure titles). `map_files(result)`: a MAP estimate's files, with
  the figure of the fit. Nothing is written here; the command (or
  `cartrial.commands.report_commands.write_report`) writes them.
* `read_popfit(path)` reads what a popfit wrote (its folder or its ``estimates.json``, with the
  ``diagnostics.csv`` and ``vpc.csv`` beside it) into a `PopfitResult`; `popfit_report_section` turns it into
  the interim report's "Population pharmacokinetics" section: typical values with RSE % and 95 % CIs,
  between-subject variability (ω², CV %) with shrinkage, −2LL/AIC/BIC, the convergence status (a fit that
  did not converge is labelled NOT CONVERGED in the section title, text and figures) and the GOF, NPDE and
  VPC figures redrawn as SVG from the tables.

The tables come from the engine (`cartrial.kinetics.popfit.diagnostics.fit_tables`); no number is derived
here: the CV % of each ω² is the fit's own (`kinetics.popfit.fit.bsv_cv_percent`, D-19.536),
100·sqrt(exp(ω²) − 1) for a log-normal parameter (η on the log scale) and 100·ω/|typical value| for a
normal one (η on the natural scale); a document written before that column shows none.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from cartrial.errors import InputError, Problem
from cartrial.sources import parse_json

if TYPE_CHECKING:
    from cartrial.kinetics.popfit.fit import PopulationFit
    from cartrial.kinetics.popfit.map import MapResult
    from cartrial.report.figures import Figure
    from cartrial.report.render import ReportSection

ESTIMATE_COLUMNS: tuple[str, ...] = (
    "kind",
    "parameter",
    "estimate",
    "unit",
    "se",
    "rse_percent",
    "ci95_low",
    "ci95_high",
    "ci_method",
    "shrinkage_percent",
    "fixed",
)
"""Columns of the estimates table shown in summary.html."""

FILE_KEYS: dict[str, str] = {
    "estimates.json": "estimates_json",
    "estimates.csv": "estimates_csv",
    "ebe.csv": "ebe",
    "diagnostics.csv": "diagnostics",
    "vpc.csv": "vpc",
    "trace.csv": "trace",
    "summary.html": "summary_html",
    "map_parameters.csv": "map_parameters",
    "map_profile.csv": "map_profile",
    "map.json": "map_json",
}
"""The key of each file in the command's ``files`` listing (figures: ``figure_<stem>``)."""

POPFIT_FIGURE_STEMS = ("obs_vs_pred", "npde", "individual_fits", "vpc", "saem_trace")
"""The figures of a fit (`cartrial.report.popfit_figures.popfit_figures`), each ``.png`` or ``.svg``."""
MAP_FIGURE_STEM = "map_fit"
FIGURE_SUFFIXES = ("png", "svg")


def written_file_names(command: str) -> frozenset[str]:
    """The names, relative to ``--out``, of every file `kinetics popfit` (``command="popfit"``: its files,
    figures and, for a PD model fitted from the study, the kinetic fit's under ``kinetics/``) or `kinetics
    map` (``"map"``) may write: an input of the command may not be one of them (D-19.583)."""
    figures = {f"{stem}.{suffix}" for stem in POPFIT_FIGURE_STEMS for suffix in FIGURE_SUFFIXES}
    fit = {name for name in FILE_KEYS if not name.startswith("map")} | figures
    if command == "popfit":
        return frozenset(fit | {f"kinetics/{name}" for name in fit})
    return frozenset(
        {name for name in FILE_KEYS if name.startswith("map")}
        | {f"{MAP_FIGURE_STEM}.{suffix}" for suffix in FIGURE_SUFFIXES}
    )


def popfit_files(
    fit: PopulationFit,
    *,
    figures: bool = True,
    figure_format: str = "png",
    n_sim: int = 200,
    seed: int | None = 7,
) -> dict[str, str | bytes]:
    """Every output of `fit` by file name (see the module docstring); `n_sim` simulations for the VPC
    (NPDE: at least 100), `seed` for them."""
    from cartrial.kinetics.popfit.diagnostics import clean, fit_tables
    from cartrial.tabular import csv_text, dumps_json

    tables = fit_tables(fit, n_sim=n_sim, seed=seed)
    files: dict[str, str | bytes] = {"estimates.json": dumps_json(clean(fit.to_dict())) + "\n"}
    for name, frame in (
        ("estimates.csv", tables["estimates"]),
        ("ebe.csv", tables["ebe"]),
        ("diagnostics.csv", tables["diagnostics"]),
        ("vpc.csv", tables["vpc"]),
        ("trace.csv", tables["trace"]),
    ):
        files[name] = csv_text(frame)  # formula-like text cells (subject ids) neutralised
    figure_names: list[str] = []
    if figures:
        from cartrial.report.popfit_figures import popfit_figures

        drawn = popfit_figures(fit, tables, figure_format)
        files.update(drawn)
        figure_names = list(drawn)
    files["summary.html"] = summary_html(fit, figure_names)
    return files


def file_listing(files: dict[str, str | bytes], out: Path) -> dict[str, str]:
    """{what: path} of the files written to `out` (the command's ``--json`` ``files`` entry)."""
    listing: dict[str, str] = {}
    for name in files:
        key = FILE_KEYS.get(name, f"figure_{Path(name).stem}")
        listing[key] = str(out / name)
    return listing


def summary_html(fit: PopulationFit, figures: list[str]) -> str:
    """The short HTML summary of a fit: status banner, data, method, −2LL/AIC/BIC, estimates, figures
    (referenced by file name, beside the HTML)."""
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
    table = fit.estimates[list(ESTIMATE_COLUMNS)].to_html(index=False, float_format=number_text, na_rep="–")
    from cartrial.kinetics.popfit.fit import CI_METHOD_LABELS

    covariates = fit.estimates[fit.estimates["kind"] == "covariate"]
    if len(covariates):  # what each coefficient is relative to (reference level or centre; D-19.239)
        table += (
            "<p><small>Covariate effects: "
            + "; ".join(f"<b>{e(str(r.parameter))}</b>: {e(str(r.note))}" for r in covariates.itertuples())
            + ".</small></p>"
        )
    used = [m for m in CI_METHOD_LABELS if m in set(fit.estimates["ci_method"])]
    table += (
        "<p><small>95 % CI method (<code>ci_method</code>): "
        + "; ".join(f"<b>{e(m)}</b> = {e(CI_METHOD_LABELS[m])}" for m in used)
        + ".</small></p>"
    )
    ll = fit.likelihood
    imgs = "".join(
        f'<figure><img src="{e(Path(f).name)}" style="max-width:100%">'
        f"<figcaption>{e(Path(f).stem)}</figcaption></figure>"
        for f in figures
    )
    from cartrial.wording import count

    d = fit.data.summary()
    spec, st = fit.model.spec, fit.settings
    method_text = (
        f"SAEM (K1 = {st['k1']}, K2 = {st['k2']}, {count(int(st['n_chains']), 'chain')}, seed {st['seed']})"
        if st.get("method", "saem") == "saem"
        else "Laplacian conditional estimation with interaction"
    )
    n_interval = int(d.get("n_interval_censored", 0) or 0)
    censoring_note = (
        f"<p>Censored samples in the diagnostics: {d['n_blq']} BLQ and {n_interval} interval-censored "
        "(titres) are marked in diagnostics.csv (column censored) and in the figures; their NPDE and IWRES "
        "come from draws within their censoring interval (npde 'cdf' method; docs/popfit.md §4.1)"
        + ("; the VPC compares titres on the dilution grid" if n_interval else "")
        + ".</p>"
        if d["n_blq"] or n_interval
        else ""
    )
    left = list(st.get("left_out") or [])
    left_out_note = (  # the subjects not in the fit, with why (M1 and every sample BLQ, D-19.1173)
        f"<p>Left out of the fit ({count(len(left), 'subject')}): "
        + "; ".join(f"{e(str(x['subject']))} ({e(str(x['reason']))})" for x in left)
        + ".</p>"
        if left
        else ""
    )
    parts = [
        '<!doctype html><html><head><meta charset="utf-8">',
        f"<title>cartrial population fit ({e(status)})</title></head>",
        '<body style="font-family:sans-serif;max-width:1100px;margin:auto">',
        f"<h1>Population fit: {e(spec.model.name)} — {e(status)}</h1>",
        banner,
        f"<p><b>Data: {e(fit_view_statement(d.get('view')))}</b></p>",
        f"<p>{d['n_subjects']} subjects, {d['n_observations']} samples, {d['n_blq']} BLQ "
        f"({number_text(d['blq_percent'], '.1f')} %, BLQ method {e(spec.blq.upper())}). "
        f"Error model: {e(spec.error.kind)} on the {e(spec.error.scale)} scale. Method: {method_text}.</p>",
        censoring_note,
        left_out_note,
        f"<p>−2LL (importance sampling, {int(ll['importance_draws'])} draws/subject) = "
        f"{number_text(ll['minus_2_log_likelihood'], '.2f')} "
        f"(MC SE {number_text(ll['minus_2_log_likelihood_mc_se'], '.2f')}); "
        f"AIC = {number_text(ll['aic'], '.2f')}; BIC = {number_text(ll['bic'], '.2f')}.</p>",
        f"<h2>Estimates</h2>{table}",
        f"<h2>Figures</h2>{imgs}",
        f'<p style="font-size:small">{e(fit.to_dict()["source"])}</p>',
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def map_files(
    result: MapResult, *, figures: bool = True, figure_format: str = "png"
) -> dict[str, str | bytes]:
    """A MAP estimate's files: ``map_parameters.csv`` (subject, parameter, map_estimate, …; readable by
    ``--individual-parameters`` of a PD fit or MAP), ``map_profile.csv``, ``map.json`` and, with `figures`,
    the figure of the fit ``map_fit.png`` / ``.svg`` (`cartrial.report.popfit_figures.map_figure`)."""
    from cartrial.kinetics.popfit.diagnostics import clean
    from cartrial.tabular import csv_text, dumps_json

    files: dict[str, str | bytes] = {
        # the label travels with the parameters a PD fit or MAP may read (D-19.979)
        "map_parameters.csv": csv_text(
            result.parameters.assign(subject=result.subject, status=result.status)[
                ["subject", *result.parameters.columns, "status"]
            ]
        ),
        "map_profile.csv": csv_text(result.profile),
        "map.json": dumps_json(clean(result.to_dict())) + "\n",
    }
    if figures:
        from cartrial.report.popfit_figures import encode, map_figure

        files[f"{MAP_FIGURE_STEM}.{figure_format}"] = encode(map_figure(result), figure_format)
    return files


# --- the interim report's population-PK section -------------------------------------------------------


@dataclass(frozen=True)
class PopfitResult:
    """What a popfit wrote, as read back: the ``estimates.json`` document and, when present beside it, the
    ``diagnostics`` and ``vpc`` tables; `source` names the file."""

    document: dict[str, Any]
    source: str
    diagnostics: pd.DataFrame | None = None
    vpc: pd.DataFrame | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def converged(self) -> bool:
        return self.document.get("status") == "converged" and bool(self.document.get("converged", True))

    @property
    def status(self) -> str:
        return "converged" if self.converged else "NOT CONVERGED"


REQUIRED_KEYS: tuple[str, ...] = ("model", "status", "estimates", "likelihood")
"""Keys of ``estimates.json`` the report section needs."""


def read_popfit(path: Path) -> PopfitResult:
    """Read a popfit's folder (or its ``estimates.json``): the document, and ``diagnostics.csv`` and
    ``vpc.csv`` when they are beside it (the figures need them; their absence is noted, not an error).
    A missing or malformed ``estimates.json`` is an `InputError` naming the file."""
    from cartrial.allowed import path_argument
    from cartrial.tabular import read_csv

    path = path_argument(path, "path")
    target = path / "estimates.json" if path.is_dir() else path
    allowed = "the folder (or its estimates.json) written by `cartrial kinetics popfit --out DIR`"
    try:
        document = parse_json(target.read_text(encoding="utf-8"))  # never a traceback (D-19.496)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError(
            Problem(f"cannot read the population fit: {reason}", file=str(target), allowed=allowed)
        ) from None
    missing = [k for k in REQUIRED_KEYS if not isinstance(document, dict) or k not in document]
    if missing:
        raise InputError(
            Problem(
                "not a population fit: no " + ", ".join(missing),
                file=str(target),
                field="estimates.json",
                allowed=allowed,
            )
        )
    _check_document(document, str(target))
    if not isinstance(document.get("data", {}), dict | type(None)):  # read as an object after (D-19.1150)
        raise InputError(
            Problem(
                "not what a population fit writes",
                file=str(target),
                field="estimates.json: data",
                allowed="an object (the fitted data's summary: view, cut-off, …)",
            )
        )
    tables: dict[str, pd.DataFrame | None] = {}
    notes: list[str] = []
    for name in ("diagnostics", "vpc"):
        csv_path = target.parent / f"{name}.csv"
        if csv_path.is_file():
            tables[name] = _numeric_columns(read_csv(csv_path, header_only=True))
        else:
            tables[name] = None
            notes.append(f"{name}.csv not found beside {target.name}: its figure is not shown")
    return PopfitResult(document, str(target), tables["diagnostics"], tables["vpc"], tuple(notes))


FILE_VIEW = "fit from a file, view unknown"
"""How a fit of a sample file (no ``data.view`` in its estimates.json) is labelled (D-19.460)."""


def fit_view_statement(view: Any) -> str:
    """The view statement of a fit's data (``data.view.statement`` of estimates.json, D-19.459), or
    `FILE_VIEW` for a fit of a sample file."""
    if isinstance(view, dict) and isinstance(view.get("statement"), str):
        return str(view["statement"])
    return FILE_VIEW


def check_fit_view(result: PopfitResult, view: dict[str, Any], field: str = "--popfit") -> None:
    """Refuse a population fit read from a different view of the study than the report's (`view`,
    `StudySnapshot.view`; D-19.460): a fit of one site's subjects shown in a whole-study report (or the
    reverse) was not told apart. Views are equal when both are the whole study or both hold the same
    sites; a fit of a sample file (no recorded view) is allowed and labelled `FILE_VIEW`. `field`: the
    caller's name of the fit (the command's ``--popfit``, the Python API's ``popfit``; D-19.1292)."""
    fitted = (result.document.get("data") or {}).get("view")
    if not isinstance(fitted, dict):
        return

    def scope(v: dict[str, Any]) -> tuple[bool, tuple[str, ...]]:
        whole = v.get("whole_study") is True
        return whole, () if whole else tuple(sorted(str(s) for s in v.get("sites") or []))

    if scope(fitted) != scope(view):
        raise InputError(
            Problem(
                f"the population fit is of another view of the study (fit: {fit_view_statement(fitted)}; "
                f"report: {view['statement']})",
                file=result.source,
                field=field,
                allowed="a fit of `kinetics popfit --url` read as a user with the report's view, or a fit "
                "of a sample file",
            )
        )


def check_fit_cutoff(result: PopfitResult, cutoff: dt.date, field: str = "--popfit") -> None:
    """Refuse a population fit of the store read at another data cut-off than the report's (D-19.1148): the
    fit's ``data.cutoff`` (written by `kinetics popfit --url … --cutoff …`) must be the report's `cutoff`,
    else a section fitted on samples after the report's cut-off (or fewer than it holds) sat in a report of
    another cut. A fit of a sample file, or one written before the cut-off was recorded, has none to
    compare and is allowed (its section names its source). `field` as `check_fit_view`'s."""
    fitted = (result.document.get("data") or {}).get("cutoff")
    if fitted is None:
        return
    if str(fitted) != cutoff.isoformat():
        raise InputError(
            Problem(
                f"the population fit is of another data cut-off (fit: {fitted}; "
                f"report: {cutoff.isoformat()})",
                file=result.source,
                field=field,
                allowed="a fit of `kinetics popfit --url … --cutoff` at the report's cut-off, or a fit of a "
                "sample file",
            )
        )


FIT_STATUSES: tuple[str, ...] = ("converged", "NOT CONVERGED")
"""The ``status`` a popfit writes (`cartrial.kinetics.popfit.PopulationFit.status`)."""


def _check_document(document: dict[str, Any], source: str) -> None:
    """Refuse an ``estimates.json`` whose model, status, estimates or likelihood is not what a popfit
    writes, naming the key (a hand-edited or foreign file was shown as a fit, a numeric status as NOT
    CONVERGED)."""
    from cartrial.allowed import choice_text

    checks: tuple[tuple[str, bool, str], ...] = (
        # a fit of the Python API may use its own structural model: any name, not only the registry's
        ("model", isinstance(document["model"], str) and document["model"].strip() != "", "the model's name"),
        ("status", document["status"] in FIT_STATUSES, choice_text(FIT_STATUSES)),
        (
            "estimates",
            isinstance(document["estimates"], list)
            and all(isinstance(r, dict) for r in document["estimates"]),
            "a list of estimate rows (objects)",
        ),
        ("likelihood", isinstance(document["likelihood"], dict), "an object (-2LL, AIC, BIC)"),
    )
    problems = [
        Problem(
            "not what a population fit writes",
            file=source,
            field=f"estimates.json: {key}",
            value=document[key]
            if isinstance(document[key], str | int | float | bool)
            else type(document[key]).__name__,
            allowed=what,
        )
        for key, ok, what in checks
        if not ok
    ]
    if problems:
        raise InputError(problems)


def _numeric_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns whose every non-empty cell is a number, as numbers (the CSV reader keeps text)."""
    out = frame.copy()
    for column in out.columns:
        cells = out[column]
        if cells.dtype != object:
            continue
        present = cells.notna() & (cells.astype(str).str.strip() != "")
        converted = pd.to_numeric(cells.where(present), errors="coerce")
        if int(converted.notna().sum()) == int(present.sum()):
            out[column] = converted
    return out


def _num(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return out


def number_text(value: Any, digits: str = ".4g") -> str:
    """`value` as the report writes it: ``".Nf"`` N decimals (`cartrial.rounding.fixed`), ``".Ng"`` N
    significant digits (`cartrial.rounding.significant`, then `format`'s "g" layout), a tie rounded half
    away from zero on the number's shortest decimal form (D-19.189) — not `format`'s half-to-even on the
    binary value, which wrote a shrinkage of 30.5 % as "30" under the > 30 % reading of high shrinkage
    (D-19.1056); a zero without a sign; "–" when not a finite number. The one number formatter of the
    popfit files, the report's section and the `cartrial kinetics popfit` / `map` console (D-19.1058).

    >>> number_text(30.5, ".0f"), number_text(12.25, ".1f"), number_text(1.2345), number_text(12345.5)
    ('31', '12.3', '1.235', '1.235e+04')
    >>> number_text(-0.0), number_text(-0.0, ".1f"), number_text(None), number_text(float("nan"), ".2f")
    ('0', '0.0', '–', '–')
    """
    from cartrial.rounding import fixed, significant

    v = _num(value)
    if not math.isfinite(v):
        return "–"
    places = int(digits[1:-1])
    if digits.endswith("f"):
        return fixed(v, places)
    return format(significant(v, places), digits)


def covariate_reference(row: Any) -> str:
    """What a covariate row's coefficient is relative to (the estimates' ``covariate``, ``level``,
    ``reference_level``, ``centre`` columns, D-19.239): "dose_level = 1 vs dose_level = 2 (reference)" or
    "weight_kg centred on 63.25"; "" for other rows or a document without those columns (D-19.274).

    >>> covariate_reference({"kind": "covariate", "covariate": "sex", "level": "M", "reference_level": "F"})
    'sex = M vs sex = F (reference)'
    >>> covariate_reference({"kind": "covariate", "covariate": "weight_kg", "centre": 63.25})
    'weight_kg centred on 63.25'
    """
    get = row.get if isinstance(row, dict) else lambda k, d=None: getattr(row, k, d)
    if str(get("kind", "")) != "covariate":
        return ""
    name = get("covariate", "")
    name = "" if name is None or (isinstance(name, float) and math.isnan(name)) else str(name)
    level, reference = get("reference_level", ""), get("level", "")
    if isinstance(level, str) and level.strip() and name:
        return f"{name} = {reference} vs {name} = {level} (reference)"
    centre = _num(get("centre", None))
    if math.isfinite(centre) and name:
        return f"{name} centred on {centre:.6g}"
    return ""


def _is_fixed(value: Any) -> bool:
    """A row's ``fixed`` cell (JSON true, CSV "True"); absent in fits written before D-19.273."""
    return value is True or str(value).strip().lower() == "true"


def estimates_tables(result: PopfitResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(fixed effects, between-subject variability) as shown in the report: typical values, covariate
    effects and residual parameters with SE, RSE % and 95 % CI, a covariate's reference level or centre
    (``reference``, D-19.274) and a typical value fixed by ``--fix`` marked "fixed" (D-19.273); ω² with its
    CV % and shrinkage %."""
    rows = pd.DataFrame(result.document["estimates"])
    if "fixed" not in rows:
        rows["fixed"] = False
    for col in ESTIMATE_COLUMNS:
        if col not in rows:
            rows[col] = float("nan")
    if "unit" not in rows:
        rows["unit"] = ""
    fixed = rows[rows["kind"].isin(["typical", "covariate", "residual"])]
    held = [_is_fixed(v) for v in fixed["fixed"]]
    fixed_out = pd.DataFrame(
        {
            "kind": fixed["kind"].astype(str),
            "parameter": fixed["parameter"].astype(str),
            "estimate": [
                number_text(v) + (" (fixed)" if h else "")
                for v, h in zip(fixed["estimate"], held, strict=True)
            ],
            "unit": fixed["unit"].fillna("").astype(str),
            "rse_percent": [
                "fixed" if h else number_text(v, ".1f")
                for v, h in zip(fixed["rse_percent"], held, strict=True)
            ],
            "ci95": [
                "not estimated" if h else f"{number_text(a)} – {number_text(b)}"
                for a, b, h in zip(fixed["ci95_low"], fixed["ci95_high"], held, strict=True)
            ],
            "ci_method": [m if isinstance(m, str) else "" for m in fixed["ci_method"]],
            "reference": [covariate_reference(r) for r in fixed.to_dict(orient="records")],
        }
    ).reset_index(drop=True)
    bsv = rows[rows["kind"].isin(["omega2", "omega_cov"])]
    # the CV % the fit derived on its model's η scale (`kinetics.popfit.fit.bsv_cv_percent`, D-19.536); a
    # document written before that column states none
    stated = bsv["cv_percent"] if "cv_percent" in bsv else pd.Series([math.nan] * len(bsv), index=bsv.index)
    cv = [number_text(v, ".1f") if k == "omega2" else "–" for k, v in zip(bsv["kind"], stated, strict=True)]
    bsv_out = pd.DataFrame(
        {
            "kind": bsv["kind"].astype(str),
            "parameter": bsv["parameter"].astype(str),
            "omega2": [number_text(v) for v in bsv["estimate"]],
            "cv_percent": cv,
            "rse_percent": [number_text(v, ".1f") for v in bsv["rse_percent"]],
            "ci95": [
                f"{number_text(a)} – {number_text(b)}"
                for a, b in zip(bsv["ci95_low"], bsv["ci95_high"], strict=True)
            ],
            "ci_method": [m if isinstance(m, str) else "" for m in bsv["ci_method"]],
            "shrinkage_percent": [number_text(v, ".0f") for v in bsv["shrinkage_percent"]],
        }
    ).reset_index(drop=True)
    return fixed_out, bsv_out


def popfit_figures_svg(result: PopfitResult) -> list[Figure]:
    """The GOF, NPDE and VPC figures of the fit as deterministic SVG (the report's settings), drawn from
    the diagnostics and VPC tables; titles carry NOT CONVERGED when the fit did not converge."""
    import matplotlib

    from cartrial.report.figures import SVG_RC, Figure, _svg
    from cartrial.report.popfit_figures import gof_figure, npde_figure, vpc_figure

    doc = result.document
    log = str((doc.get("error") or {}).get("scale", "log")) == "log"
    ok = result.converged
    tag = "" if ok else " (NOT CONVERGED)"
    out: list[Figure] = []
    obs = result.diagnostics
    with matplotlib.rc_context(SVG_RC):  # type: ignore[arg-type]
        if obs is not None and {"dv", "pred", "ipred", "npde", "blq", "time"} <= set(obs.columns):
            out.append(
                Figure(
                    "popfit_gof",
                    f"Population fit: observed vs population (PRED) and individual (IPRED) predictions{tag}",
                    _svg(gof_figure(obs, log=log, converged=ok)),
                )
            )
            out.append(
                Figure(
                    "popfit_npde",
                    "Population fit: NPDE vs time and vs PRED (censored samples — BLQ, titres — marked, "
                    f"imputed from their conditional predictive distribution){tag}",
                    _svg(npde_figure(obs, log=log, converged=ok)),
                )
            )
            vpc = result.vpc
            if vpc is not None and len(vpc):
                out.append(
                    Figure(
                        "popfit_vpc",
                        "Population fit: visual predictive check (observed 5/50/95th percentiles vs "
                        "simulated 90 % intervals; titres on the dilution grid) and the censored fractions"
                        f"{tag}",
                        _svg(vpc_figure(vpc, obs, log=log, converged=ok)),
                    )
                )
    return out


def popfit_report_section(result: PopfitResult) -> tuple[ReportSection, dict[str, str], list[Figure]]:
    """The interim report's population-PK section, its CSV files (``popfit_estimates.csv``,
    ``popfit_bsv.csv``) and its figures (see the module docstring)."""
    from cartrial.report.render import ReportSection, _table
    from cartrial.tabular import csv_text
    from cartrial.wording import count

    doc = result.document
    ll = doc.get("likelihood") or {}
    data = doc.get("data") or {}
    status = result.status
    problems = [str(p) for p in doc.get("convergence_problems") or []]
    method = str(doc.get("method", "saem"))
    # the parameters whose η the model adds on the natural scale (the ω² row's note, `kinetics.popfit.fit`)
    natural = [
        str(r.get("parameter"))
        for r in doc.get("estimates") or []
        if isinstance(r, dict) and r.get("kind") == "omega2" and "natural scale" in str(r.get("note", ""))
    ]
    intro = (
        f"Population (mixed-effects) fit of the {doc.get('model')} model by {method.upper()} "
        f"(cartrial kinetics popfit; {result.source}; data: {fit_view_statement(data.get('view'))}): "
        f"{data.get('n_subjects', '?')} subjects, {data.get('n_observations', '?')} samples, "
        f"{data.get('n_blq', '?')} BLQ (BLQ method {str(doc.get('blq', 'm3')).upper()}). "
        f"Status: {status}. "
        f"−2LL (importance sampling) {number_text(ll.get('minus_2_log_likelihood'), '.2f')}, "
        f"AIC {number_text(ll.get('aic'), '.2f')}, BIC {number_text(ll.get('bic'), '.2f')}. "
        "Typical values with their relative standard errors (RSE %) and 95 % confidence intervals; "
        "between-subject variability as ω², the variance of η on the scale the model declares for the "
        "parameter, and its CV %: 100·sqrt(exp(ω²) − 1) for a log-normal parameter (η on the log scale), "
        "100·ω/|typical value| for a normal parameter (η on the natural scale)"
        + (f" — here {', '.join(natural)}" if natural else "")
        + "; shrinkage of the empirical Bayes estimates. Method: docs/popfit.md."
    )
    if result.converged:
        findings = [f"The population fit converged ({doc.get('model')}, {method.upper()})."]
    else:
        findings = [
            "The population fit is labelled NOT CONVERGED; its estimates are not reliable"
            + (": " + "; ".join(problems) if problems else ".")
        ]
    held = {str(k): v for k, v in ((doc.get("settings") or {}).get("fixed") or {}).items()}
    if held:
        findings.append(
            "Typical values fixed, not estimated (--fix): "
            + ", ".join(f"{k} = {number_text(v)}" for k, v in held.items())
            + "; they have no standard error or interval."
        )
    # the subjects the fit left out, ids and reason only (M1 and every sample BLQ, D-19.1173), as summary.html
    # and the console name them: the intro's counts are of the fitted data (D-19.1176)
    left = [x for x in (doc.get("settings") or {}).get("left_out") or [] if isinstance(x, dict)]
    if left:
        reasons: dict[str, list[str]] = {}
        for x in left:
            reasons.setdefault(str(x.get("reason", "")), []).append(str(x.get("subject", "?")))
        findings.append(
            f"Left out of the fit ({count(len(left), 'subject')}, not in the counts above): "
            + "; ".join(f"{', '.join(ids)} ({reason})" for reason, ids in reasons.items())
            + "."
        )
    findings.extend(result.notes)
    fixed, bsv = estimates_tables(result)
    population = "subjects of the population fit"
    derivation = f"estimates.json of cartrial kinetics popfit ({status})"
    tables = [
        _table(
            "popfit_estimates",
            f"Population fit: typical values, covariate effects and residual error ({status})",
            population,
            derivation,
            fixed,
            (),
        ),
        _table(
            "popfit_bsv",
            f"Population fit: between-subject variability and shrinkage ({status})",
            population,
            derivation,
            bsv,
            (),
        ),
    ]
    csv_files = {"popfit_estimates.csv": csv_text(fixed), "popfit_bsv.csv": csv_text(bsv)}
    figures = popfit_figures_svg(result)
    title = "Population pharmacokinetics (population fit)"
    if not result.converged:
        title += " — NOT CONVERGED"
    section = ReportSection("popfit", title, intro, findings, tables, figures)
    return section, csv_files, figures


__all__ = [
    "PopfitResult",
    "covariate_reference",
    "estimates_tables",
    "file_listing",
    "map_files",
    "number_text",
    "popfit_files",
    "popfit_report_section",
    "read_popfit",
    "summary_html",
]
