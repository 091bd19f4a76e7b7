"""CLI of the study analysis: ``cartrial analyse --url URL --cutoff YYYY-MM-DD [--out DIR] [--json]``.

Thin layer: read the study snapshot as of the cut-off (`cartrial.store.snapshot.read_snapshot`), run the
analysis (`cartrial.analysis.analyse`), write one CSV per dataset with a README.md of the columns and
``analysis.json`` (`cartrial.analysis.output.analysis_files`, written through
`cartrial.tabular.write_atomic`), and print the key findings. Only the standard library, typer and rich
at module level.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import typer

from cartrial.commands.auth_commands import USER_HELP, user_snapshot
from cartrial.commands.terminal import terminal
from cartrial.errors import InputError, Problem

URL_HELP = "Study database URL (default $CARTRIAL_DB_URL, else sqlite:///cartrial.db)."


def data_cutoff(text: str, option: str = "--cutoff") -> date:
    """A data cut-off typed on the command line: a date YYYY-MM-DD, not after today — the rule of the Python
    API, `cartrial.columns.not_after_today` (D-19.51, D-19.380), for `analyse`, `report`, `export cdisc` and
    the neuro commands."""
    from cartrial.columns import iso_date, not_after_today

    return not_after_today(iso_date(text, option), option, text)


def view_line(meta: Mapping[str, object]) -> str:
    """The terminal line stating whose view of the study an output is (`StudySnapshot.view`, D-19.457):
    bold red for a site-restricted view, so that it is never mistaken for the study."""
    view = meta["view"]
    assert isinstance(view, dict)
    statement = str(view["statement"])
    return statement if view["whole_study"] else f"[bold red]{statement}[/]"


def analyse_command(
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    cutoff: str = typer.Option(
        ..., "--cutoff", help="Data cut-off date (YYYY-MM-DD, not after today); later records are left out."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Folder for the dataset CSVs, README.md and analysis.json."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the findings and metadata as JSON."),
    persist: bool = typer.Option(
        False, "--persist", help="Store the per-subject results as derived values (statistician or admin)."
    ),
    user: str | None = typer.Option(None, "--user", help=USER_HELP),
) -> None:
    """Analyse the study database as of a data cut-off: datasets (CSV) and key findings.

    Reads as the acting user (--user, authenticated): a site investigator's analysis holds only their
    sites' subjects and says so; --persist stores the results as that user. Populations, safety,
    efficacy, PK/PD datasets and the key findings (each with numerator, denominator, population and
    source)."""
    from cartrial.analysis import analyse
    from cartrial.analysis.output import analysis_files
    from cartrial.tabular import check_output_folder, dumps_json, staged_folder, write_atomic

    if out is not None:  # refused before anything is read or analysed (D-19.874)
        if out.exists() and not out.is_dir():
            raise InputError(Problem("not a folder", field="--out", value=str(out)))
        check_output_folder(out)
    persisting: dict[str, Any] = {}
    if persist:  # checked before anything is read or analysed (D-19.462)
        from cartrial.store.permissions import Action

        persisting = {"require": Action.DERIVE, "whole_study_for": "storing derived values (--persist)"}
    snapshot = user_snapshot(user, url, data_cutoff(cutoff), **persisting)
    analysis = analyse(snapshot)
    stored = None
    if persist:
        from cartrial.analysis.provenance import derived_value_rows
        from cartrial.store import StudyService

        subjects = snapshot.tables["subjects"]
        record_ids = {
            str(s): int(i) for s, i in zip(subjects["subject_id"], subjects["record_id"], strict=True)
        }
        stored = StudyService(url).store_derived(
            str(snapshot.read_by),
            derived_value_rows(analysis, record_ids),
            source=f"cartrial analyse --cutoff {cutoff}",
        )
    if out is not None:
        files = analysis_files(analysis)
        earlier = stale_dataset_names(out, files)
        with staged_folder(out) as stage:  # all files or none (D-19.501)
            for name, text in files.items():
                write_atomic(stage / name, text)
        removed = remove_stale_datasets(earlier)
        if removed:
            typer.echo(
                f"removed {len(removed)} dataset(s) of the earlier analysis in {out} that this one does not "
                f"have: {', '.join(removed)}",
                err=True,
            )
    console = terminal()
    if as_json:
        payload: dict[str, object] = {
            "snapshot": analysis.snapshot,
            "findings": [f.as_dict() for f in analysis.findings],
        }
        if stored is not None:
            payload["derived_values"] = {
                "inserted": stored.inserted,
                "updated": stored.updated,
                "unchanged": stored.unchanged,
            }
        typer.echo(dumps_json(payload))
        return
    from rich.table import Table

    meta = analysis.snapshot
    status = "[bold red]DRAFT — unlocked data[/]" if meta["unlocked"] else f"locked (lock {meta['lock_id']})"
    console.print(f"[bold]{meta['study']}[/] — data cut-off {meta['cutoff']}: {status}")
    console.print(view_line(meta))
    table = Table(title="Key findings", show_lines=False)
    table.add_column("domain")
    table.add_column("finding")
    table.add_column("n/N", justify="right")
    table.add_column("population / source")
    for finding in analysis.findings:
        fraction = "" if finding.denominator is None else f"{finding.numerator}/{finding.denominator}"
        table.add_row(finding.domain, finding.statement, fraction, f"{finding.population} / {finding.source}")
    console.print(table)
    if stored is not None:
        console.print(
            f"derived values: {stored.inserted} inserted, {stored.updated} updated, "
            f"{stored.unchanged} unchanged"
        )
    if out is not None:
        console.print(
            f"{len(analysis.datasets)} datasets written to {out}/ (README.md describes the columns)"
        )


def register(app: typer.Typer) -> None:
    """Add ``analyse`` to the root app."""
    app.command(
        "analyse",
        epilog=(
            "Example: [bold]cartrial analyse --url sqlite:///study.db --user admin --cutoff 2022-03-20 "
            "--out analysis/[/]"
        ),
    )(analyse_command)


__all__ = ["analyse_command", "register"]


def stale_dataset_names(out: Path, files: Mapping[str, str]) -> list[Path]:
    """The dataset CSVs of `out` that the analysis written there before listed (its ``analysis.json``) and
    this one does not write: a folder never mixes two analyses (a study analysed again without PK samples
    kept the earlier ``nca_by_subject.csv`` beside the new README; D-19.53). Only names that the earlier
    analysis.json lists are returned; read before the new analysis.json replaces it."""
    from cartrial.sources import parse_json

    try:  # parse_json: a nesting too deep is a ValueError too, not a RecursionError
        earlier = parse_json((out / "analysis.json").read_text(encoding="utf-8"))
        names = list(earlier["datasets"])
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return []
    stale: list[Path] = []
    for name in names:
        if not isinstance(name, str) or not name or any(c in name for c in "/\\:") or name.startswith("."):
            continue
        target = out / f"{name}.csv"
        if target.name not in files and target.is_file() and not target.is_symlink():
            stale.append(target)
    return stale


def remove_stale_datasets(stale: list[Path]) -> list[str]:
    """Remove the `stale_dataset_names` once the new analysis is in place; returns the file names removed."""
    removed: list[str] = []
    for target in stale:
        target.unlink(missing_ok=True)
        removed.append(target.name)
    return removed
