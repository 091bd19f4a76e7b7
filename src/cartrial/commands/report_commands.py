"""CLI of the interim report: ``cartrial report --url URL --cutoff YYYY-MM-DD --out DIR``.

Thin layer: read the study snapshot as of the cut-off (`cartrial.store.snapshot.read_snapshot`), run the
analysis (`cartrial.analysis.analyse`), render the report (`cartrial.report.report_files`) and write
``report.html``, ``report.pdf``, ``tables/*.csv`` and ``figures/*.svg`` through
`cartrial.tabular.write_atomic`. Only the standard library, typer and rich at module level.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import typer

from cartrial.commands.analysis_commands import URL_HELP, data_cutoff, view_line
from cartrial.commands.auth_commands import USER_HELP, user_snapshot
from cartrial.commands.terminal import terminal
from cartrial.errors import InputError, Problem


def report_command(
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    cutoff: str = typer.Option(
        ..., "--cutoff", help="Data cut-off date (YYYY-MM-DD, not after today); later records are left out."
    ),
    out: Path = typer.Option(..., "--out", help="Folder for report.html, report.pdf, tables/ and figures/."),
    pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also write report.pdf (A4, via typst)."),
    popfit: Path | None = typer.Option(
        None,
        "--popfit",
        help="Folder (or its estimates.json) of `cartrial kinetics popfit`: adds a population-PK section.",
    ),
    user: str | None = typer.Option(None, "--user", help=USER_HELP),
) -> None:
    """Interim report as of a data cut-off: report.html, report.pdf, tables and figures.

    report.html is one self-contained file; report.pdf is A4 with page numbers and a running header;
    tables/*.csv and figures/*.svg hold each table and figure. The key findings are printed. With --popfit,
    a population-PK section shows the fit's estimates, variability, shrinkage, OFV/AIC/BIC, convergence
    status and GOF/VPC figures (docs/report.md). Reads as the acting user (--user, authenticated): a site
    investigator's report holds only their sites' subjects and says so on its first page."""
    from cartrial.analysis import analyse
    from cartrial.report import read_popfit, report_files
    from cartrial.report.popfit import check_fit_cutoff, check_fit_view
    from cartrial.tabular import check_output_folder

    cutoff_date = data_cutoff(cutoff)
    if out.exists() and not out.is_dir():
        raise InputError(Problem("not a folder", field="--out", value=str(out)))
    check_output_folder(out)  # under a file: refused before the analysis, not when writing (D-19.874)
    population_fit = read_popfit(popfit) if popfit is not None else None
    snapshot = user_snapshot(user, url, cutoff_date)
    if population_fit is not None:
        check_fit_view(population_fit, snapshot.view())
        check_fit_cutoff(population_fit, snapshot.cutoff)  # D-19.1148
    analysis = analyse(snapshot)
    files = report_files(analysis, snapshot.tables, pdf=pdf, popfit=population_fit)
    stale = earlier_report_files(out, files)  # decided before writing: report.html is then the new one
    write_report(out, files)  # all files or none (D-19.501); then the earlier report's leftovers go
    removed = remove_earlier_report_files(out, stale)
    if removed:
        typer.echo(
            f"removed {len(removed)} file(s) of the earlier report in {out} that this one does not have: "
            + ", ".join(removed),
            err=True,
        )
    console = terminal()
    meta = analysis.snapshot
    status = "[bold red]DRAFT — unlocked data[/]" if meta["unlocked"] else f"locked (lock {meta['lock_id']})"
    console.print(f"[bold]{meta['study']}[/] — data cut-off {meta['cutoff']}: {status}")
    console.print(view_line(meta))
    for finding in analysis.findings:
        console.print(f"  • {finding.statement}")
    if population_fit is not None:
        color = "green" if population_fit.converged else "red"
        console.print(f"  • population fit ({population_fit.source}): [{color}]{population_fit.status}[/]")
    n_tables = sum(name.startswith("tables/") for name in files)
    n_figures = sum(name.startswith("figures/") for name in files)
    written = ", ".join(name for name in ("report.html", "report.pdf") if name in files)
    console.print(f"{written}, {n_tables} tables and {n_figures} figures written to {out}/")


REPORT_FOLDERS = ("tables", "figures")
"""Sub-folders of a report's --out that the report owns: what is there and not written now is an earlier
report's (D-19.53)."""


def write_report(out: Path, files: dict[str, str | bytes]) -> None:
    """Write the report files under `out` all or none: into a temporary folder beside it, moved into place
    when every file is written (`cartrial.tabular.staged_folder`, D-19.501)."""
    from cartrial.tabular import staged_folder, write_atomic

    with staged_folder(out) as stage:
        for name, content in files.items():
            target = stage / name
            if isinstance(content, str):
                write_atomic(target, content)
                continue
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
            except OSError as exc:
                raise InputError(
                    Problem(f"cannot write the file: {exc.strerror or exc}", file=str(target))
                ) from None


def earlier_report_files(out: Path, files: Mapping[str, object]) -> list[str]:
    """The files of an earlier `cartrial report` in `out` that this one does not write (a table or figure
    under tables/ or figures/; report.pdf when this one has none). Called BEFORE this report is written:
    whether `out` holds an earlier report is told by its report.html, which afterwards is always the new
    one (D-19.53, D-19.501). Nothing when `out` holds no report.html: the folder's files are the user's."""
    if not (out / "report.html").is_file():  # no earlier report here
        return []
    candidates = [out / "report.pdf"]
    for folder in REPORT_FOLDERS:
        if (out / folder).is_dir() and not (out / folder).is_symlink():
            candidates += sorted(p for p in (out / folder).iterdir() if p.suffix in (".csv", ".svg"))
    return [
        path.relative_to(out).as_posix()
        for path in candidates
        if path.relative_to(out).as_posix() not in files and path.is_file() and not path.is_symlink()
    ]


def remove_earlier_report_files(out: Path, stale: list[str]) -> list[str]:
    """Remove `stale` (from `earlier_report_files`, taken before the new report was written) from `out`, so
    that the folder never mixes two reports; returns the names removed (D-19.53). Other files of `out` are
    left alone."""
    removed: list[str] = []
    for name in stale:
        path = out / name
        if path.is_file() and not path.is_symlink():
            path.unlink()
            removed.append(name)
    return removed


def register(app: typer.Typer) -> None:
    """Add ``report`` to the root app."""
    app.command(
        "report",
        epilog=(
            "Example: [bold]cartrial report --url sqlite:///study.db --user admin --cutoff 2022-03-20 "
            "--out report/[/]"
        ),
    )(report_command)


__all__ = ["register", "report_command", "write_report"]
