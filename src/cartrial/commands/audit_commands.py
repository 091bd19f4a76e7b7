"""CLI of tamper evidence: `cartrial audit checkpoint`, `cartrial audit keygen`, and the complete
`cartrial audit verify` (hash chain, keyed seals, checkpoint, lock anchors, data replayed against the trail).

Thin: parse, call `cartrial.store.tamper`, print. Messages name tables, ids and fields, never values.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import typer

from cartrial.errors import InputError, Problem

URL_HELP = "Database URL (default: $CARTRIAL_DB_URL, else sqlite:///cartrial.db)."


def register_audit_group(audit_app: typer.Typer) -> None:
    """Add `audit checkpoint` and `audit keygen` to the `audit` group (created by `store_commands`, which
    calls this when it registers the group)."""
    audit_app.command(
        "checkpoint",
        epilog=(
            "Example: [bold]cartrial audit checkpoint --url sqlite:///study.db --out study-checkpoint.json[/]"
        ),
    )(checkpoint_command)
    audit_app.command("keygen", epilog="Example: [bold]cartrial audit keygen --out audit.key[/]")(
        keygen_command
    )


def checkpoint_command(
    out: Path = typer.Option(..., "--out", help="JSON file to write the checkpoint to (keep it elsewhere)."),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
) -> None:
    """Record the audit trail's head (row count, head hash, time) in a file you keep outside the database;
    `audit verify --checkpoint FILE` then detects removal of the newest rows and rewrites before it."""
    from cartrial.store import connect
    from cartrial.store.audit import load_audit_key
    from cartrial.store.database import require_current_schema
    from cartrial.store.tamper import make_checkpoint, save_checkpoint

    engine = connect(url)
    try:
        require_current_schema(engine)
        with engine.connect() as connection:
            checkpoint = make_checkpoint(connection, key=load_audit_key())
    finally:
        engine.dispose()
    save_checkpoint(checkpoint, out)
    head = checkpoint["head_hash"] or "-"
    typer.echo(
        f"checkpoint written to {out}: {checkpoint['rows']} audit rows, head {head[:16]}… "
        f"at {checkpoint['recorded_at']}"
    )


def keygen_command(
    out: Path = typer.Option(..., "--out", help="New key file (created with mode 0600; never overwritten)."),
) -> None:
    """Create an audit key file (256 random bits, hex). Keep it outside the database and its backups;
    point CARTRIAL_AUDIT_KEY_FILE at it for every command that writes or verifies."""
    from cartrial.store.audit import key_id

    key = secrets.token_hex(32)
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError(Problem("the key file exists; it is never overwritten", file=str(out))) from None
    except OSError as exc:
        problem = Problem(f"cannot create the key file: {exc.strerror or exc}", file=str(out))
        raise InputError(problem) from None
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    typer.echo(
        f"audit key written to {out} (key id {key_id(key.encode())}); set CARTRIAL_AUDIT_KEY_FILE={out}"
    )


def run_verify(url: str | None, as_json: bool, checkpoint: Path | None, chain_only: bool) -> None:
    """`audit verify`: every check of `cartrial.store.tamper.verify_complete` (the audit key from
    `$CARTRIAL_AUDIT_KEY_FILE` when set); prints OK or BROKEN with each finding; exit 1 when broken."""
    from cartrial.store import StudyService, connect
    from cartrial.store.audit import load_audit_key
    from cartrial.store.tamper import load_checkpoint, verify_complete
    from cartrial.tabular import dumps_json

    saved = load_checkpoint(checkpoint) if checkpoint is not None else None
    service = StudyService(connect(url))
    try:
        result = verify_complete(service, key=load_audit_key(), checkpoint=saved, replay=not chain_only)
    finally:
        service.engine.dispose()
    if as_json:
        data = result.as_dict()
        # the fields of the chain-only report, kept for existing readers
        first = next((f.audit_row_id for f in result.findings if f.kind == "chain"), None)
        data.update({"message": result.chain_message, "first_broken_id": first})
        typer.echo(dumps_json(data))
    else:
        if result.ok:
            typer.echo(f"OK: {result.chain_message}")
        else:
            typer.echo(f"BROKEN: {len(result.findings)} finding(s)")
            for finding in result.findings:
                typer.echo(f"  - [{finding.kind}] {finding.message}")
            if result.truncated_report:
                typer.echo("  (report truncated)")
        typer.echo("checked: " + "; ".join(result.checks))
        for warning in result.warnings:
            typer.echo(f"warning: {warning}")
    if not result.ok:
        raise typer.Exit(code=1)
