"""D-19.121: a web page or API answer never shows where the study database is (its URL: the server's file
path of a SQLite study, a PostgreSQL host and user). The snapshot's errors start with the database URL for the
command line; the safety and escalation dashboards showed them as their note, and the error page too."""

from __future__ import annotations

from pathlib import Path

from cartrial.store import init_study

from ...conftest import TEST_PASSWORD
from ..conftest import PROTOCOL
from .conftest import _app, _login


def test_no_page_shows_the_database_location(tmp_path: Path) -> None:
    folder = tmp_path / "secret-server-folder"
    folder.mkdir()
    url = f"sqlite:///{folder / 'study.db'}"
    init_study(url, PROTOCOL, "admin", admin_site="TJH", admin_password=TEST_PASSWORD)  # no subject yet
    app = _app(url)
    try:
        client = _login(app, "admin")
        for path in ("/safety", "/escalation", "/api/v1/escalation", "/api/v1/safety"):
            answer = client.get(path)
            assert answer.status_code in (200, 404, 409, 422), (path, answer.status_code)
            assert "secret-server-folder" not in answer.text, path
            assert "study.db" not in answer.text, path
        assert "the study database" in client.get("/safety").text
    finally:
        app.state.service.engine.dispose()
