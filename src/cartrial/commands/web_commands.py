"""CLI of the web application: `cartrial serve` (the study web app and REST API on uvicorn).

Thin: resolve the database URL, build the app (`cartrial.web.app.create_app`), run uvicorn. docs/web.md.
"""

from __future__ import annotations

import typer

SERVE_EXAMPLE = "Example: [bold]cartrial serve --url sqlite:///study.db --port 8000[/]"
SERVE_HELP = (
    "Serve the study web application (pages and the REST API at /api/v1) on one study database. "
    "Without --url: ./study.db. Listens on 127.0.0.1 unless --host says otherwise; put a TLS-terminating "
    "reverse proxy in front for use over a network (docs/web.md)."
)
DEFAULT_SERVE_URL = "sqlite:///study.db"


def register(app: typer.Typer) -> None:
    """Add `serve` to the root app."""
    from cartrial.commands import COMMANDS

    short = {entry.name: entry.help for entry in COMMANDS}
    app.command("serve", help=SERVE_HELP, short_help=short["serve"], epilog=SERVE_EXAMPLE)(serve_command)


def serve_command(
    url: str | None = typer.Option(
        None, "--url", help="Study database URL (SQLite path URL or PostgreSQL); default sqlite:///study.db."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes (uvicorn)."),
    session_minutes: float = typer.Option(
        30.0, "--session-minutes", min=1.0, max=30.0, help="Idle minutes before a session expires (sliding)."
    ),
    secure_cookie: bool = typer.Option(
        False, "--secure-cookie", help="Send the session cookie over HTTPS only (behind a TLS proxy)."
    ),
    keep_alive: int = typer.Option(
        5,
        "--keep-alive",
        min=1,
        max=600,
        help="Seconds an idle client connection is kept open (uvicorn's keep-alive); behind a reverse proxy, "
        "longer than the proxy's idle timeout for upstream connections (docs/web.md).",
    ),
) -> None:
    """Serve the web app (see SERVE_HELP)."""
    import os

    import uvicorn

    from cartrial.errors import InputError, Problem
    from cartrial.store.database import resolve_url

    if url is None:
        chosen = DEFAULT_SERVE_URL
        typer.echo(f"no --url given: using {chosen} (./study.db)", err=True)
    else:
        chosen = resolve_url(url)
    if chosen.startswith("sqlite:///") and chosen != "sqlite:///:memory:":
        from pathlib import Path

        path = Path(chosen[len("sqlite:///") :])
        if not path.is_file():
            raise InputError(
                Problem(
                    "no study database at this path",
                    field="--url",
                    value=str(path),
                    allowed="an existing study database (`cartrial db init`, or `cartrial demo`)",
                )
            )
    _check_listen_address(host, port)
    os.environ["CARTRIAL_WEB_URL"] = chosen
    os.environ["CARTRIAL_WEB_SESSION_MINUTES"] = str(session_minutes)
    if secure_cookie:
        os.environ["CARTRIAL_WEB_SECURE_COOKIE"] = "1"
    if workers > 1 and not os.environ.get("CARTRIAL_WEB_SECRET"):
        import secrets

        # every worker must sign CSRF tokens with the same key
        os.environ["CARTRIAL_WEB_SECRET"] = secrets.token_hex(32)
    typer.echo(
        f"cartrial web app on http://{host}:{port}/ (API: http://{host}:{port}/api/v1/docs); Ctrl+C stops"
    )
    uvicorn.run(
        "cartrial.web.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        timeout_keep_alive=keep_alive,
        log_level="info",
        access_log=True,
    )


def _check_listen_address(host: str, port: int) -> None:
    """Refuse, before the server starts, an address it could not listen on: an empty or unresolvable
    --host, an address of another machine, a --port in use or reserved. uvicorn found these only after
    starting the app and exited 3 with its own log line, naming neither option."""
    import errno
    import socket

    from cartrial.errors import InputError, Problem

    hosts = (
        "an address of this machine: 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or a host name"
    )
    if not host.strip():
        raise InputError(Problem("no address given", field="--host", value=host, allowed=hosts))
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError(
            Problem(
                f"not an address, nor a host name that resolves ({reason})",
                field="--host",
                value=host,
                allowed=hosts,
            )
        ) from None
    family, kind, protocol, _name, address = infos[0]
    with socket.socket(family, kind, protocol) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                problem = Problem(
                    f"the port is in use on {host}: another program listens there",
                    field="--port",
                    value=port,
                    allowed="a free port (or stop the other server)",
                )
            elif exc.errno == errno.EACCES:
                problem = Problem(
                    "not allowed to listen on this port (ports below 1024 need administrator rights)",
                    field="--port",
                    value=port,
                    allowed="a port from 1024 to 65535",
                )
            elif exc.errno == errno.EADDRNOTAVAIL:
                problem = Problem("not an address of this machine", field="--host", value=host, allowed=hosts)
            else:
                problem = Problem(
                    f"cannot listen on {host}:{port} ({exc.strerror or exc})",
                    field="--host",
                    value=host,
                    allowed=hosts,
                )
            raise InputError(problem) from None
