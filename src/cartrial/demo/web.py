"""Demo step of the web application: serve `demo-output/study.db` (made by the import step) on a free local
port for a few seconds, fetch the study home and an API list as a logged-in user, and print the URL and the
demo users so that a person can try it afterwards with ``cartrial serve --url sqlite:///demo-output/study.db``.

The demo users (one per role) get a random password per demo run, printed once here; the demo database is a
local example, never a trial's database.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
import urllib.parse
import urllib.request
from typing import Any

from cartrial.demo import DemoContext
from cartrial.errors import CartrialError

__all__ = ["DEMO_USERS", "SERVE_SECONDS", "free_port", "run"]

DEMO_USERS = (
    ("demo_admin", "admin", None),
    ("demo_investigator", "investigator", "TJH"),
    ("demo_data_manager", "data_manager", None),
    ("demo_monitor", "monitor", None),
    ("demo_statistician", "statistician", None),
)
"""(user name, role, site) of the users the demo adds to its study database."""
SERVE_SECONDS = 3.0
"""How long the demo keeps the server up after its own requests (so the log shows it serving)."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on `host` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _demo_users(service: Any, admin: str, password: str) -> None:
    """Add the demo users (or reset their password) on the demo database."""
    existing = {row["username"] for row in service.find_records(admin, "app_user")}
    for username, role, site in DEMO_USERS:
        if username in existing:
            service.set_password(admin, username, password, "demo run: new demo password")
        else:
            service.add_user(admin, username, role, site_id=site, password=password, full_name=f"Demo {role}")


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def run(ctx: DemoContext) -> None:
    """Serve demo-output/study.db for a few seconds; fetch the study home and an API list; print the URL and
    the demo users."""
    import uvicorn

    from cartrial.demo.store import first_admin
    from cartrial.store import StudyService, connect
    from cartrial.web.app import create_app

    console = ctx.console
    console.rule("[bold]study web application and REST API")
    study_db = ctx.out_dir / "study.db"
    if not study_db.is_file():
        console.print(
            f"[yellow]{study_db} does not exist (the import demo step creates it); web demo skipped[/]"
        )
        return
    url = f"sqlite:///{study_db.resolve()}"
    password = secrets.token_urlsafe(16)  # 22 characters: the password policy (cartrial.store.users)
    try:
        service = StudyService(connect(url))
        _demo_users(service, first_admin(service), password)
        service.engine.dispose()
        app = create_app(url)
    except CartrialError as exc:
        console.print(f"[red]web demo: {exc}[/]")
        return
    host, port = "127.0.0.1", free_port()
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name="cartrial-web-demo", daemon=True)
    thread.start()
    base = f"http://{host}:{port}"
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline and thread.is_alive():
            time.sleep(0.05)
        if not server.started:
            console.print("[red]web demo: the server did not start[/]")
            return
        console.print(f"serving {study_db} at [bold]{base}/[/] (API: {base}/api/v1/docs)")
        form = urllib.parse.urlencode({"username": "demo_investigator", "password": password}).encode()
        token_request = urllib.request.Request(f"{base}/api/v1/token", data=form, method="POST")
        with urllib.request.urlopen(token_request, timeout=30) as response:
            token = json.loads(response.read())["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        status, _ = _get(f"{base}/", {"Cookie": f"cartrial_session={token}"})
        console.print(f"  GET / (study home, as demo_investigator): HTTP {status}")
        status, body = _get(f"{base}/api/v1/records/subjects?limit=5", auth)
        listing = json.loads(body) if status == 200 else {}
        shown = ", ".join(item["values"]["subject_id"] for item in listing.get("items", []))
        total = listing.get("total", 0)
        console.print(f"  GET /api/v1/records/subjects?limit=5: HTTP {status}, {total} subjects ({shown} …)")
        status, body = _get(f"{base}/api/v1/escalation", auth)
        if status == 200:
            recommendation = json.loads(body).get("recommendation") or {}
            console.print(
                f"  GET /api/v1/escalation: design {recommendation.get('design')}, outcomes "
                f"{recommendation.get('outcomes')!r} → {recommendation.get('decision')}"
            )
        time.sleep(SERVE_SECONDS)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    console.print("demo users (password for this demo run only):")
    for username, role, site in DEMO_USERS:
        console.print(f"  {username:<20} {role:<13} {('site ' + site) if site else ''}")
    console.print(f"  password: {password}")
    console.print(f"try it: [bold]cartrial serve --url {url}[/] then open http://127.0.0.1:8000/")
