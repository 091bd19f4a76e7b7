"""The `cartrial` command line: parse, call the engines, print. Every command lives in `cartrial.commands`.

User errors (`CartrialError`) print their message and exit 2 without a traceback; `--debug` shows it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from cartrial import __version__
from cartrial.commands import AREAS
from cartrial.demo import DemoContext, repository_root, run_demo
from cartrial.errors import CartrialError, InputError, Problem

app = typer.Typer(
    name="cartrial",
    help="Design, run and analyse first-in-human CAR-T cell therapy trials in autoimmune disease.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cartrial {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback of any error."),
) -> None:
    """cartrial: protocol, grading, neuro outcomes, escalation, kinetics and an audited study database."""


for _area in AREAS:
    _area.register(app)


@app.command()
def demo(
    out: Path = typer.Option(Path("demo-output"), "--out", help="Folder to write the results to."),
    examples: Path | None = typer.Option(None, "--examples", help="Source checkout holding examples/."),
) -> None:
    """Run every capability on the shipped example study and write the results to demo-output/."""
    root = examples or repository_root()
    console = Console()
    ctx = DemoContext(
        examples_dir=root / "examples",
        templates_dir=root / "docs" / "templates",
        out_dir=out,
        console=console,
    )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            Problem(f"cannot create the output folder: {exc.strerror or exc}", file=str(out), field="--out")
        ) from None
    run_demo(ctx)
    console.print(f"[bold green]demo complete[/]: results in {out}/")


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        app(args=args, prog_name="cartrial")
    except SystemExit as exc:  # typer/click end every run, and usage errors (exit 2), this way
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except CartrialError as exc:
        if debug:
            raise
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except OSError as exc:
        # a file the user named cannot be read or written (folder, permissions, disk full): a user error
        if debug:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        typer.echo(f"error: {where}{exc.strerror or exc}", err=True)
        return 2
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
