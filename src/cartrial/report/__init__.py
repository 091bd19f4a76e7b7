"""The interim report (issue 13 §2): renderers over the analysis layer.

`report_files(analysis, tables, ...)` returns file name → content (text or bytes): ``report.html`` (one
self-contained file), ``report.pdf`` (A4, paginated, from a Typst source compiled by the bundled `typst`
compiler), ``tables/<name>.csv`` and ``figures/<name>.svg``. No file or database I/O here; the command
(`cartrial report`) reads the snapshot, calls `cartrial.analysis.analyse`, and writes the files.

How to read the report: docs/report.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd

from cartrial.analysis.core import analysed_tables
from cartrial.analysis.model import Analysis
from cartrial.errors import InputError, Problem
from cartrial.report.figures import Figure, build_figures
from cartrial.report.popfit import PopfitResult, map_files, popfit_files, read_popfit
from cartrial.report.render import DRAFT_TEXT, Report, build_report, render_html


def _check_arguments(analysis: Any, tables: Any, generated_at: Any) -> dict[str, pd.DataFrame]:
    """The arguments of `report_files` checked where they enter (decisions D-19.69): an `Analysis`, a
    mapping of every snapshot table to its DataFrame, and an optional `datetime` (a naive one is local
    time, as Python reads it)."""
    problems = []
    if not isinstance(analysis, Analysis):
        problems.append(
            Problem(
                f"not an Analysis: a {type(analysis).__name__}",
                field="analysis",
                allowed="the result of cartrial.analysis.analyse(snapshot)",
            )
        )
    if generated_at is not None and not isinstance(generated_at, dt.datetime):
        problems.append(
            Problem(
                f"not a date-time: a {type(generated_at).__name__}",
                field="generated_at",
                allowed="a datetime.datetime (with a zone; a naive one is local time) | None (now)",
            )
        )
    if problems:
        raise InputError(problems)
    # every snapshot table in its layout (a missing one would drop its listings), read as the analysis read it
    # at its cut-off: nothing listed or plotted that the analysis had not seen (D-19.997)
    return analysed_tables(analysis, tables)


def _check_popfit(analysis: Analysis, popfit: PopfitResult) -> None:
    """A population fit of the analysis's own view and data cut-off only, for every caller of
    `report_files` (the command and the Python API; D-19.460, D-19.1148, D-19.1288): the cut-off the
    analysis read its tables at, and the view its snapshot records (an object without one: not compared)."""
    from cartrial.report.popfit import check_fit_cutoff, check_fit_view

    view = analysis.snapshot.get("view")
    if isinstance(view, dict):
        check_fit_view(popfit, view, "popfit")  # the parameter's name (D-19.69, D-19.1292)
    cutoff = analysis.intermediates.get("cutoff")
    if isinstance(cutoff, dt.date):
        check_fit_cutoff(popfit, cutoff, "popfit")


def report_files(
    analysis: Analysis,
    tables: Mapping[str, pd.DataFrame],
    *,
    generated_at: dt.datetime | None = None,
    pdf: bool = True,
    popfit: PopfitResult | None = None,
) -> dict[str, str | bytes]:
    """Every file of the report folder, by relative path: ``report.html``, ``report.pdf`` (when `pdf`),
    ``tables/*.csv``, ``figures/*.svg``. `tables` are the snapshot's record tables (for the record
    listings and the individual time courses in the figures). `popfit`: a population fit
    (`cartrial.report.popfit.read_popfit`) adds the population-PK section, its tables and figures."""
    from cartrial import __version__

    tables = _check_arguments(analysis, tables, generated_at)
    if popfit is not None:
        _check_popfit(analysis, popfit)
    when = generated_at or dt.datetime.now(dt.UTC)
    report = build_report(analysis, tables, cartrial_version=__version__, generated_at=when, popfit=popfit)
    files: dict[str, str | bytes] = {"report.html": render_html(report)}
    for name, text in sorted(report.csv_files.items()):
        files[f"tables/{name}"] = text
    for name, figure in report.figures.items():
        files[f"figures/{name}.svg"] = figure.svg
    if pdf:
        from cartrial.report.pdf import render_pdf

        files["report.pdf"] = render_pdf(report)
    return files


__all__ = [
    "DRAFT_TEXT",
    "Figure",
    "PopfitResult",
    "Report",
    "build_figures",
    "build_report",
    "map_files",
    "popfit_files",
    "read_popfit",
    "render_html",
    "report_files",
]
