"""CLI of the CDISC export: ``cartrial export cdisc --url URL --cutoff YYYY-MM-DD --out DIR [--format
xpt|json|both] [--sdtmig 3.4] [--edss-domain qs|rs] [--core PATH]`` and ``cartrial export cdisc --check DIR``.

Thin layer: read the cut-off snapshot (`cartrial.store.snapshot.read_snapshot`, the same as `cartrial
analyse`), run the analysis (`cartrial.analysis.analyse`), then `cartrial.cdisc.export.export_cdisc` builds,
validates and writes. Only the standard library, typer and rich at module level.
"""

from __future__ import annotations

from pathlib import Path

import typer

from cartrial.commands.analysis_commands import URL_HELP, data_cutoff, view_line
from cartrial.commands.auth_commands import USER_HELP, user_snapshot
from cartrial.commands.terminal import terminal
from cartrial.errors import InputError, Problem

EXAMPLE = (
    "Example: [bold]cartrial export cdisc --url sqlite:///study.db --user admin --cutoff 2022-03-20 "
    "--out cdisc/[/]"
    "  (then `cartrial export cdisc --check cdisc/`; add `--edss-domain rs` for EDSS/KFSS in RS)"
)

export_app = typer.Typer(
    help="Export study data in submission formats: CDISC SDTM and ADaM (XPT v5, Dataset-JSON, Define-XML).",
    no_args_is_help=True,
    epilog=EXAMPLE,
)


@export_app.command("cdisc", epilog=EXAMPLE)
def cdisc_command(
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    cutoff: str | None = typer.Option(
        None, "--cutoff", help="Data cut-off date (YYYY-MM-DD, not after today)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Output folder (sdtm/, adam/, cdisc-export.json)."),
    file_format: str = typer.Option(
        "both", "--format", help="xpt (SAS XPORT v5), json (Dataset-JSON v1.1) or both."
    ),
    sdtmig: str = typer.Option("3.4", "--sdtmig", help="SDTMIG version (3.4 is the one offered)."),
    edss_domain: str = typer.Option(
        "qs",
        "--edss-domain",
        help="Domain of the EDSS and Kurtzke FS records: qs (default, QRS questionnaire domain) or rs "
        "(SDTMIG 3.4 clinical classification); the other is not written.",
    ),
    check: Path | None = typer.Option(
        None, "--check", help="Re-validate a folder of written datasets instead."
    ),
    core: str | None = typer.Option(
        None, "--core", help="Path of a CDISC CORE executable to run on the SDTM output."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    user: str | None = typer.Option(None, "--user", help=USER_HELP),
) -> None:
    """SDTM (SDTMIG 3.4) and ADaM (ADaMIG 1.3) of the study as of a data cut-off, with Define-XML 2.1.

    Every dataset is validated before anything is written (XPT v5 limits, ISO 8601 dates, --SEQ, keys,
    codelists); any finding fails the export. A record dated after the subject's death is written as
    recorded and listed as a data issue, not a failure (D-19.653). ADaM values come from the same analysis as
    `cartrial analyse`. Reads as the acting user (--user, authenticated): a site investigator's export
    holds only their sites' subjects and names them (README.md, define.xml, cdisc-export.json)."""
    from cartrial.tabular import dumps_json

    console = terminal()
    if check is not None:
        from cartrial.cdisc.export import check_folder_issues

        findings, seen, issues = check_folder_issues(check)
        if as_json:
            typer.echo(
                dumps_json(
                    {
                        "files": [{"file": f, "records": r, "variables": v} for f, r, v in seen],
                        "findings": [f.as_dict() for f in findings],
                        "data_issues": [i.as_dict() for i in issues],
                    }
                )
            )
        else:
            from rich.markup import escape
            from rich.table import Table

            table = Table(title=f"CDISC check of {escape(str(check))}")  # a path is no markup
            for column in ("file", "records", "variables"):
                table.add_column(column, justify="right" if column != "file" else "left")
            for f, r, v in seen:
                table.add_row(escape(f), str(r), str(v))
            console.print(table)
            # escaped: a finding's "[rule]" is no rich markup tag (D-19.659)
            for finding in findings:
                console.print(f"[red]finding[/] {escape(str(finding))}", markup=True, highlight=False)
            for issue in issues:  # listed, not failing the check (D-19.653)
                console.print(f"[yellow]data issue[/] {escape(str(issue))}", highlight=False)
            console.print(
                f"{len(findings)} finding(s) in {len(seen)} dataset file(s)"
                + (f"; {len(issues)} data issue(s) (not failing the check)" if issues else "")
            )
        if findings:
            raise typer.Exit(1)
        return
    if cutoff is None or out is None:
        raise InputError(Problem("--cutoff and --out are required (or --check DIR)", field="--cutoff"))
    for folder in (out, *out.parents):
        if folder.exists() and not folder.is_dir():
            raise InputError(Problem("not a folder", field="--out", value=str(folder)))
    from cartrial.cdisc.export import check_options

    check_options(file_format, sdtmig, edss_domain)  # refused before any work
    core_path = None
    if core is not None:
        from cartrial.cdisc.core_adapter import resolve_core

        core_path = resolve_core(core)
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import export_cdisc

    # SDTM/ADaM submission datasets describe the whole study: no site-restricted export (D-19.461)
    snapshot = user_snapshot(user, url, data_cutoff(cutoff), whole_study_for="a CDISC export (export cdisc)")
    analysis = analyse(snapshot)
    result = export_cdisc(
        snapshot,
        analysis,
        out,
        formats=file_format,
        sdtmig=sdtmig,
        edss_domain=edss_domain,
    )  # the sites' countries are the snapshot's, read with its records (D-19.383)
    core_lines: list[str] = []
    if core_path is not None:
        from cartrial.cdisc.core_adapter import run_core

        core_lines = run_core(core_path, out / "sdtm", out / "sdtm" / "define.xml").lines()
    if as_json:
        typer.echo(dumps_json({**result.metadata(), "core": core_lines}))
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"CDISC export as of {cutoff} → {out}")
    for column in ("standard", "dataset", "records", "variables", "findings"):
        table.add_column(column, justify="left" if column in ("standard", "dataset") else "right")
    for d in result.datasets:
        table.add_row(d.standard, d.name, str(d.records), str(d.variables), str(d.findings))
    console.print(table)
    console.print(view_line(result.snapshot))
    for issue in result.data_issues:  # written as recorded, listed (D-19.653)
        console.print(f"[yellow]data issue[/] {escape(str(issue))}", highlight=False)
    if result.snapshot.get("unlocked"):
        console.print("[bold red]DRAFT — unlocked data[/] (no data lock at this cut-off)")
    for line in core_lines:
        console.print(line)
    if core is None:
        from cartrial.cdisc.core_adapter import INSTALL_HINT

        console.print(f"[dim]CDISC CORE conformance rules not run (--core PATH). {INSTALL_HINT}[/]")


def register(app: typer.Typer) -> None:
    """Add the ``export`` group (with ``cdisc``) to the root app."""
    app.add_typer(export_app, name="export")


__all__ = ["cdisc_command", "export_app", "register"]
