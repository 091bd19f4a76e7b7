"""CLI of authentication: `cartrial login`, `cartrial logout`, `cartrial password`, and `acting_user`, the
helper every command that writes (or reads identified data) calls to establish who acts.

How a command authenticates the acting user (`--user`, else `$CARTRIAL_USER`), first that applies:

1. a login session of that user on that database (`cartrial login`; the token is kept in
   ``$XDG_CONFIG_HOME/cartrial/sessions.json`` — default ``~/.config/cartrial`` —, mode 0600, one entry per
   database; it expires after 30 minutes without use);
2. ``$CARTRIAL_PASSWORD_FILE``: a file holding the password (non-interactive jobs; keep it mode 0600);
3. an interactive password prompt (when the standard input is a terminal).

Otherwise the command is refused. Passwords are never echoed, logged, or written anywhere but as the
argon2id hash (`cartrial.store.auth`).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import typer

from cartrial.errors import InputError, Problem
from cartrial.sources import parse_json

URL_HELP = "Database URL (default: $CARTRIAL_DB_URL, else sqlite:///cartrial.db)."
USER_HELP = "User name (default: $CARTRIAL_USER)."
PASSWORD_FILE_VARIABLE = "CARTRIAL_PASSWORD_FILE"
NEW_PASSWORD_FILE_VARIABLE = "CARTRIAL_NEW_PASSWORD_FILE"


def register(app: typer.Typer) -> None:
    """Add `login`, `logout` and `password` to the root app."""
    from cartrial.commands import COMMANDS

    short = {entry.name: entry.help for entry in COMMANDS}
    app.command(
        "login",
        short_help=short["login"],
        epilog="Example: [bold]cartrial login --user admin --url sqlite:///study.db[/]",
    )(login_command)
    app.command(
        "logout",
        short_help=short["logout"],
        epilog="Example: [bold]cartrial logout --url sqlite:///study.db[/]",
    )(logout_command)
    app.command(
        "password",
        short_help=short["password"],
        epilog="Example: [bold]cartrial password --user admin --url sqlite:///study.db[/]",
    )(password_command)


def register_db_group(db_app: typer.Typer) -> None:
    """Add `db roles-sql` to the `db` group (created by `store_commands`, which calls this)."""
    db_app.command(
        "roles-sql", epilog="Example: [bold]cartrial db roles-sql --database cartrial --out roles.sql[/]"
    )(roles_sql_command)


# --------------------------------------------------------------------------------------------------
# the session file
# --------------------------------------------------------------------------------------------------


def config_dir() -> Path:
    """``$XDG_CONFIG_HOME/cartrial``, else ``~/.config/cartrial``."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "cartrial"


def sessions_file() -> Path:
    return config_dir() / "sessions.json"


def database_key(url: str | None) -> str:
    """The database a session belongs to: its URL without password (SQLite: the absolute file path)."""
    from cartrial.store.database import parse_url

    parsed = parse_url(url)  # a located error, not a traceback, for text that is not a URL
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return "sqlite:///" + str(Path(str(parsed.database)).expanduser().resolve())
    return parsed.render_as_string(hide_password=True)


def _read_sessions() -> dict[str, Any]:
    path = sessions_file()
    try:
        data = parse_json(path.read_text(encoding="utf-8"))  # too deep a nesting is a ValueError too
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_sessions(data: dict[str, Any]) -> None:
    folder = config_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = sessions_file()
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def _read_secret_file(variable: str) -> str | None:
    name = os.environ.get(variable)
    if not name:
        return None
    from cartrial.sources import refuse_special_source

    refuse_special_source(name, field=variable)  # a FIFO would wait for ever for a writer
    try:
        text = Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        problem = Problem(f"cannot read the password file ({variable}): {reason}", file=name)
        raise InputError(problem) from None
    secret = text.rstrip("\r\n")
    if not secret:
        raise InputError(Problem(f"the password file ({variable}) is empty", file=name))
    return secret


def password_from_file() -> str | None:
    """The password in ``$CARTRIAL_PASSWORD_FILE`` (trailing newline removed), or None when not set."""
    return _read_secret_file(PASSWORD_FILE_VARIABLE)


def new_password_from_file() -> str | None:
    """A new user's password from ``$CARTRIAL_NEW_PASSWORD_FILE`` (non-interactive set-up), or None."""
    return _read_secret_file(NEW_PASSWORD_FILE_VARIABLE)


# --------------------------------------------------------------------------------------------------
# the acting user
# --------------------------------------------------------------------------------------------------


def _user_name(user: str | None) -> str:
    name = user or os.environ.get("CARTRIAL_USER")
    if not name:
        raise InputError(Problem("no acting user: pass --user NAME or set CARTRIAL_USER", field="--user"))
    return name


def authenticate_cli(url: str | None, username: str, *, current_password: bool = False) -> Any:
    """Authenticate `username` on the database at `url` by session, password file or prompt (module
    docstring); returns the `AuthenticatedUser`. `current_password`: by the password alone, never by the
    login session (the change of one's own password, D-19.838): a wrong one is a failed sign-in (audited,
    throttled)."""
    from cartrial.store import connect
    from cartrial.store.auth import AuthenticationError, authenticate

    engine = connect(url)
    try:
        key = database_key(url)
        sessions = _read_sessions()
        entry = sessions.get(key)
        if current_password:
            password = _typed_password(
                f"current password of {username}",
                f"changing your own password needs your current password, not a login session: set "
                f"{PASSWORD_FILE_VARIABLE} to a file holding it, or run the command in a terminal",
            )
            return authenticate(engine, username, password=password)
        if isinstance(entry, dict) and entry.get("username") == username and entry.get("token"):
            try:
                return authenticate(engine, username, token=str(entry["token"]))
            except AuthenticationError:
                sessions.pop(key, None)
                _write_sessions(sessions)
        password = _typed_password(
            f"password of {username}",
            f"authentication required for user '{username}': run `cartrial login --user {username}`, "
            f"or set {PASSWORD_FILE_VARIABLE} for non-interactive jobs",
        )
        return authenticate(engine, username, password=password)
    finally:
        engine.dispose()


def _typed_password(prompt: str, missing: str) -> str:
    """The password from ``$CARTRIAL_PASSWORD_FILE``, else typed at a terminal after `prompt`; without
    either, an `AuthenticationError` saying `missing`."""
    from cartrial.store.auth import AuthenticationError

    password = password_from_file()
    if password is None and sys.stdin.isatty():
        password = typer.prompt(prompt, hide_input=True)
    if password is None:
        raise AuthenticationError(missing)
    return password


def acting_user(user: str | None, url: str | None) -> str:
    """The authenticated acting user's name: `user` (``--user``), else ``$CARTRIAL_USER``, authenticated on
    the database at `url` (the command's ``--url``). Every CLI command that writes, or reads identified
    data, calls this."""
    name = _user_name(user)
    authenticate_cli(url, name)
    return name


def user_snapshot(user: str | None, url: str | None, cutoff: Any, **options: Any) -> Any:
    """The study snapshot at `cutoff` as the authenticated acting user reads it (`acting_user`, then
    `cartrial.store.snapshot.snapshot_for_user`: READ permission, a site investigator's own sites only,
    the view recorded in the snapshot's metadata; D-19.457, D-19.458). For every command that reads the
    store's identified data (`analyse`, `report`, `export cdisc`, `kinetics popfit --url`). `options`: those
    of `read_snapshot`."""
    from cartrial.store import StudyService
    from cartrial.store.snapshot import snapshot_for_user

    name = acting_user(user, url)
    service = StudyService(url)
    try:
        return snapshot_for_user(service.as_user(name), cutoff, **options)
    finally:
        service.engine.dispose()


# --------------------------------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------------------------------


def login_command(
    user: str | None = typer.Option(None, "--user", help=USER_HELP),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
) -> None:
    """Log in: check your password once and keep a session for this database (expires after 30 minutes
    without use; the token is stored in your config folder, mode 0600)."""
    from cartrial.store import connect
    from cartrial.store.auth import IDLE_TIMEOUT, authenticate, create_session

    name = _user_name(user)
    password = password_from_file()
    if password is None:
        password = typer.prompt(f"password of {name}", hide_input=True)
    engine = connect(url)
    try:
        authenticated = authenticate(engine, name, password=password)
        token = create_session(engine, authenticated)
    finally:
        engine.dispose()
    sessions = _read_sessions()
    sessions[database_key(url)] = {"username": name, "token": token}
    _write_sessions(sessions)
    minutes = int(IDLE_TIMEOUT.total_seconds() // 60)
    typer.echo(f"logged in as {name} ({authenticated.role}); the session ends after {minutes} min unused")


def logout_command(url: str | None = typer.Option(None, "--url", help=URL_HELP)) -> None:
    """Log out of this database: end the session and forget its token."""
    from cartrial.store import connect
    from cartrial.store.auth import end_session

    key = database_key(url)
    sessions = _read_sessions()
    entry = sessions.pop(key, None)
    if not isinstance(entry, dict) or not entry.get("token"):
        typer.echo("not logged in to this database")
        return
    engine = connect(url)
    try:
        end_session(engine, str(entry["token"]))
    finally:
        engine.dispose()
    _write_sessions(sessions)
    typer.echo(f"logged out ({entry.get('username')})")


def password_command(
    user: str | None = typer.Option(None, "--user", help=USER_HELP + " Authenticated first."),
    target: str | None = typer.Option(None, "--for", help="Set this user's password (admin only)."),
    reason: str = typer.Option("password change", "--reason", help="Reason recorded in the audit trail."),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
) -> None:
    """Change your password, or (admin) set another user's. Your own needs your current password (from
    $CARTRIAL_PASSWORD_FILE or prompted; a login session alone is not enough). The new password is
    prompted twice, or read from $CARTRIAL_NEW_PASSWORD_FILE. Ends the user's sessions. The password is
    stored only as its argon2id hash and never appears in the audit trail."""
    from cartrial.store import StudyService, connect
    from cartrial.store.auth import has_any_password

    name = _user_name(user)
    service = StudyService(connect(url))
    try:
        whose = target or name
        if has_any_password(service):
            # one's own password: the current one, never the session alone (as the web, D-19.818, D-19.838)
            authenticate_cli(url, name, current_password=whose == name)
        else:
            typer.echo(
                "warning: no user of this study has a password yet; this first password is set without "
                "authentication (audited)",
                err=True,
            )
        new = _read_secret_file(NEW_PASSWORD_FILE_VARIABLE)
        if new is None:
            new = typer.prompt("new password", hide_input=True, confirmation_prompt=True)
        # the store's password policy (`check_password`); it ends the user's sessions (D-19.816)
        service.set_password(name, whose, new, reason)
    finally:
        service.engine.dispose()
    typer.echo(f"password of {whose} changed")


def roles_sql_command(
    database: str = typer.Option(..., "--database", help="PostgreSQL database name."),
    owner: str = typer.Option("cartrial_owner", "--owner", help="Schema owner role (runs migrations)."),
    app_role: str = typer.Option("cartrial_app", "--app", help="Application role (data rights only)."),
    schema: str = typer.Option("cartrial", "--schema", help="Schema holding the study tables."),
    out: Path | None = typer.Option(None, "--out", help="Write the SQL to this file instead of printing."),
) -> None:
    """PostgreSQL least privilege: print the SQL creating a schema owner and an application role that can
    only read and write data (no DDL, no TRIGGER, INSERT-only on the audit trail). Run part 1 once as a
    superuser, `cartrial db init` as the owner, then part 2 (again after every `db upgrade`); the
    application then connects as the application role."""
    from cartrial.store.roles import roles_sql

    text = roles_sql(owner=owner, app=app_role, schema=schema, database=database).text()
    if out is None:
        typer.echo(text, nl=False)
        return
    from cartrial.tabular import write_atomic

    write_atomic(out, text)
    typer.echo(f"SQL written to {out}")
