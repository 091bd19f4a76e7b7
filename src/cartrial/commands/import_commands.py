"""CLI commands for study data import: `cartrial import templates` and `cartrial import redcap`.

Thin: parse the options, call `cartrial.store.importing`, print the reconciliation report (rich table, or
JSON with ``--json``). Bad input exits 2 listing every problem; nothing is written then. A write refused
record by record (a data lock's frozen records) exits 2 listing each record (`_refusal_listed`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cartrial.commands.auth_commands import acting_user
from cartrial.commands.terminal import terminal


def dumps_json(payload: Any) -> str:
    """`cartrial.tabular.dumps_json`, imported on first use (pandas stays out of `--help`)."""
    from cartrial.tabular import dumps_json as dumps

    return dumps(payload)


import_app = typer.Typer(
    help="Import study data (CSV templates, REDCap exports) into the study database: validated, atomic, "
    "idempotent, audited.",
    no_args_is_help=True,
    epilog=(
        "Example: [bold]cartrial import templates examples/ct103a-nmosd/study --user admin --url "
        "sqlite:///study.db --dry-run[/]"
    ),
)

URL_HELP = "Database URL (default: $CARTRIAL_DB_URL, else sqlite:///cartrial.db)."
USER_HELP = "Acting user (default: $CARTRIAL_USER; must exist in the database with a role that may import)."
REASON_HELP = "Reason recorded in the audit trail for every update (the file and its SHA-256 are added)."
DRY_RUN_HELP = "Validate everything (files, rows, references, permission) and write nothing."


def register(app: typer.Typer) -> None:
    """Add the `import` command group to the root app."""
    app.add_typer(import_app, name="import")


@import_app.command(
    "templates",
    epilog=(
        "Example: [bold]cartrial import templates examples/ct103a-nmosd/study --user admin --url "
        "sqlite:///study.db --dry-run[/]"
    ),
)
def templates_command(
    directory: Path = typer.Argument(
        ..., help="Folder with one <form>.csv per form (blank templates: `cartrial templates write DIR`)."
    ),
    user: str | None = typer.Option(None, "--user", help=USER_HELP),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
    reason: str | None = typer.Option(None, "--reason", help=REASON_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the reconciliation report as JSON."),
) -> None:
    """Import a folder of CSV templates (one file per form) in one transaction."""
    from cartrial.store.importing import import_templates

    user = acting_user(user, url)
    # the bar stops (its exit runs first) before a refusal's table prints (D-19.1365)
    with _refusal_listed(), _progress(as_json) as callback:
        # a one-shot process: the cyclic garbage collector paused while the folder is read whole (D-19.935)
        report = import_templates(
            url, directory, user, dry_run=dry_run, reason=reason, progress=callback, pause_collector=True
        )
    _emit(report, as_json)


@import_app.command(
    "redcap",
    epilog=(
        "Example: [bold]cartrial import redcap examples/ct103a-nmosd/redcap/records.csv --dictionary "
        "examples/ct103a-nmosd/redcap/dictionary.csv --mapping examples/ct103a-nmosd/redcap/mapping.yaml "
        "--user admin --url sqlite:///study.db --dry-run[/]"
    ),
)
def redcap_command(
    records: Path = typer.Argument(..., help="Flat REDCap record export (CSV, raw codes)."),
    dictionary: Path = typer.Option(..., "--dictionary", help="REDCap data dictionary (CSV, 18 columns)."),
    mapping: Path = typer.Option(..., "--mapping", help="Mapping YAML: REDCap fields to cartrial forms."),
    user: str | None = typer.Option(None, "--user", help=USER_HELP),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
    reason: str | None = typer.Option(None, "--reason", help=REASON_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the reconciliation report as JSON."),
) -> None:
    """Import a flat REDCap export (events, repeating instruments, checkboxes) through a mapping."""
    from cartrial.store.importing import import_redcap

    user = acting_user(user, url)
    # the bar stops (its exit runs first) before a refusal's table prints (D-19.1365)
    with _refusal_listed(), _progress(as_json) as callback:
        report = import_redcap(
            url,
            records,
            dictionary,
            mapping,
            user,
            dry_run=dry_run,
            reason=reason,
            progress=callback,
        )
    _emit(report, as_json)


@contextmanager
def _refusal_listed() -> Iterator[None]:
    """A refusal located record by record (a data lock's frozen records, `ConflictError.problems`,
    D-19.1331) lists them on stderr before the error line (`cartrial.errors.conflict_problems`: record
    id, ``table.column``, never a value; the store's true count in the title, its "N more" under the
    table). With ``--json`` as without: an error is the ``error:`` line on stderr with nothing on stdout,
    as every command's error (`cartrial.cli.main`); exit 2, a refused write's code (D-19.1351, D-19.1365)."""
    from cartrial.errors import ConflictError, conflict_problems

    try:
        yield
    except ConflictError as exc:
        if not exc.problems:
            raise
        listing = conflict_problems(exc)
        listed = listing.problems
        shown = "" if len(listed) == listing.total else f", the first {len(listed)} listed"
        table = Table(
            title=f"{listing.total} frozen record(s){shown}",
            title_justify="left",
            caption=escape(listing.more) if listing.more else None,
            caption_justify="left",
        )
        table.add_column("record", no_wrap=True)  # the store's id and the table.column: never cut
        table.add_column("field", no_wrap=True)
        table.add_column("problem", overflow="fold")  # what is allowed: in the error line below
        for problem in listed:
            table.add_row(*(escape(str(problem[k] or "")) for k in ("record", "field", "message")))
        terminal(stderr=True).print(table)
        raise


class _progress:
    """A rich progress bar on stderr while rows are written (silent with --json). Started at the first
    progress report, so that a command failing before any write prints nothing but its error."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Progress | None = None
        self.task: object = None

    def __enter__(self) -> _progress:
        return self

    def __call__(self, form: str, done: int, total: int) -> None:
        if self.quiet:
            return
        if self.bar is None:
            self.bar = Progress(
                TextColumn("writing {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=terminal(stderr=True),
                transient=True,
            )
            self.bar.__enter__()
        if self.task is None:
            self.task = self.bar.add_task(form, total=total)
        self.bar.update(self.task, completed=done, description=form)  # type: ignore[arg-type]

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _emit(report: object, as_json: bool) -> None:
    from cartrial.store.importing import ImportReport

    assert isinstance(report, ImportReport)
    if as_json:
        typer.echo(dumps_json(report.as_dict()))
    else:
        print_report(terminal(), report)


def print_report(console: Console, report: object) -> None:
    """The reconciliation report: rows read / inserted / updated / unchanged per form, files and hashes."""
    from cartrial.store.importing import ImportReport

    assert isinstance(report, ImportReport)
    title = f"{report.kind} import by {report.user}" + (
        " (dry run: nothing written)" if report.dry_run else ""
    )
    table = Table(title=title, title_justify="left")
    table.add_column("form", no_wrap=True)
    for name in ("read", "inserted", "updated", "unchanged"):
        table.add_column(name, justify="right", no_wrap=True)
    for counts in report.forms:
        written = [counts.inserted, counts.updated, counts.unchanged]
        table.add_row(
            counts.form,
            str(counts.read),
            *("-" if report.dry_run else str(n) for n in written),
        )
    totals = report.totals
    written_totals = [totals["inserted"], totals["updated"], totals["unchanged"]]
    table.add_row(
        "[bold]total[/]",
        str(totals["read"]),
        *("-" if report.dry_run else str(n) for n in written_totals),
    )
    console.print(table)
    for finding in report.edit_checks:  # soft edit checks: accepted, one data query each
        verb = "would raise" if report.dry_run else "raised"
        console.print(f"  [yellow]edit check[/] ({verb} a data query) {escape(str(finding.problem()))}")
    for message in report.kept_messages():  # an import never deletes, and never keeps silently (D-19.86)
        console.print(f"  [yellow]{escape(message)}[/]")
    if not report.dry_run:
        unreconciled = [c.form for c in report.forms if not c.reconciled]
        console.print(
            "  every row read is accounted for (inserted + updated + unchanged = read)"
            if not unreconciled
            else f"  [red]rows unaccounted for in: {', '.join(unreconciled)}[/]"
        )
    files = Table(show_header=True, box=None, padding=(0, 2))
    files.add_column("file", no_wrap=True)
    files.add_column("sha256", no_wrap=True)
    files.add_column("bytes", justify="right")
    for entry in report.files:
        files.add_row(Path(entry.file).name, entry.sha256[:16] + "…", str(entry.size_bytes))
    console.print(files)
    if report.redcap is not None:
        summary = report.redcap
        console.print(
            f"  REDCap export: {summary.rows_in_export} rows, {summary.records} records; options "
            + ", ".join(f"{k}={v}" for k, v in summary.options.items())
        )
        for item in summary.instruments:
            status = ", ".join(f"{k} {v}" for k, v in item.status_counts.items()) or "no status"
            console.print(
                f"    instrument {item.instrument} → {item.form}: {item.rows_with_data} rows with data, "
                f"{item.rows_imported} imported, {item.skipped_below_status} skipped below the minimum form "
                f"status ({status}), {item.blank_rows_with_status} blank (status only, not imported)"
            )
        if summary.ignored_fields:
            console.print(
                "    ignored fields (not imported): "
                + ", ".join(f"{name} ({count} values)" for name, count in summary.ignored_fields.items())
            )
        if summary.data_access_group:
            console.print(f"    data access groups (redcap_data_access_group): {summary.data_access_group}")
        if summary.missing_codes_found:
            console.print(
                "    missing-data codes (read as blank): "
                + ", ".join(f"{code} ({count} cells)" for code, count in summary.missing_codes_found.items())
            )
        if summary.unmapped_instruments:
            console.print(
                "    instruments not mapped to any form: "
                + ", ".join(
                    f"{name} ({count} rows with data)" for name, count in summary.unmapped_instruments.items()
                )
            )
    console.print(f"  {report.seconds:.2f} s")
