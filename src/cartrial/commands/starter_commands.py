"""CLI to start a study from what ships in the package: `cartrial examples list|copy` (the example studies,
`cartrial.examples`) and `cartrial templates write` (the blank CSV import templates with their column
documentation, `cartrial.templates`). Only stdlib, typer and rich at module top."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from cartrial.commands.terminal import terminal

EXAMPLES_HELP = "Example studies shipped with cartrial: list them, copy one to start from."
TEMPLATES_HELP = "Blank CSV import templates with their column documentation."
LIST_EXAMPLE = "Example: [bold]cartrial examples list[/]"
COPY_EXAMPLE = (
    "Example: [bold]cartrial examples copy ct103a-nmosd my-study[/]  "
    "(then `cartrial protocol check my-study/protocol.yaml`)"
)
WRITE_EXAMPLE = (
    "Example: [bold]cartrial templates write my-templates[/]  (then fill in and `cartrial import templates`)"
)

examples_app = typer.Typer(
    help=EXAMPLES_HELP, epilog=LIST_EXAMPLE, no_args_is_help=True, add_completion=False
)
templates_app = typer.Typer(
    help=TEMPLATES_HELP, epilog=WRITE_EXAMPLE, no_args_is_help=True, add_completion=False
)


@examples_app.command("list", epilog=LIST_EXAMPLE)
def list_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON (name, title, files) instead of a table."),
) -> None:
    """List the example studies shipped inside the package."""
    from rich.table import Table

    from cartrial import examples

    rows: list[dict[str, Any]] = [
        {
            "name": name,
            "title": examples.title(name),
            "files": sorted(
                str(p.relative_to(examples.path(name))) for p in examples.path(name).rglob("*") if p.is_file()
            ),
        }
        for name in examples.names()
    ]
    if as_json:
        from cartrial.tabular import dumps_json

        typer.echo(dumps_json(rows))
        return
    table = Table("name", "title", "files")
    for row in rows:
        table.add_row(row["name"], row["title"], str(len(row["files"])))
    console = terminal()
    console.print(table)
    console.print("Copy one to start from: [bold]cartrial examples copy NAME DIR[/]")


@examples_app.command("copy", epilog=COPY_EXAMPLE)
def copy_command(
    name: str = typer.Argument(..., help="The example's name (see `cartrial examples list`)."),
    directory: Path = typer.Argument(..., help="Folder to copy into (created; must be empty or new)."),
    force: bool = typer.Option(False, "--force", help="Write into a folder that is not empty."),
) -> None:
    """Copy an example study (protocol, candidates, study forms, REDCap export) into DIR to start from."""
    from cartrial import examples

    written = examples.copy(name, directory, force=force)
    typer.echo(f"copied {name}: {len(written)} files into {directory}/")
    typer.echo(f"next: cartrial protocol check {directory / examples.PROTOCOL_FILE}")


@templates_app.command("write", epilog=WRITE_EXAMPLE)
def write_command(
    directory: Path = typer.Argument(..., help="Folder to write into (created; must be empty or new)."),
    example_rows: bool = typer.Option(
        False, "--example-rows", help="Keep the example rows of each template (default: header only)."
    ),
    force: bool = typer.Option(False, "--force", help="Write into a folder that is not empty."),
    protocol_file: Path | None = typer.Option(
        None,
        "--protocol",
        help="The study's protocol: write only the forms and fields it collects (as the web app offers "
        "them), e.g. no EDSS or relapse form for a lupus protocol. Default: every form.",
    ),
) -> None:
    """Write the CSV import templates (one per form) and their column documentation (FIELDS.md, generated
    from the field rules the import checks) into DIR."""
    from cartrial import templates

    forms: tuple[str, ...] | None = None
    leave_out: frozenset[tuple[str, str]] = frozenset()
    if protocol_file is not None:  # D-19.206
        from cartrial.analysis.outcomes import collected_forms, uncollected_fields
        from cartrial.protocol import load_protocol

        protocol = load_protocol(protocol_file)
        forms, leave_out = collected_forms(protocol), uncollected_fields(protocol)
    written = templates.write(
        directory, force=force, example_rows=example_rows, forms=forms, leave_out=leave_out
    )
    n = sum(1 for p in written if p.suffix == ".csv")
    typer.echo(f"wrote {n} templates and {len(written) - n} documentation pages into {directory}/")
    typer.echo(f"column rules: {directory / templates.FIELD_REFERENCE}")


def register(app: typer.Typer) -> None:
    """Add the `examples` and `templates` groups to the root app."""
    app.add_typer(examples_app, name="examples", help=EXAMPLES_HELP)
    app.add_typer(templates_app, name="templates", help=TEMPLATES_HELP)
