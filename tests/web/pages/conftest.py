"""Fixtures of the page tests: the web test study (`helpers.build_web_study`, on a copy of the session's
example study), the app on a private copy (tests that write) or on one shared copy per module (tests that
only read: the analysis behind the dashboards is then computed once), and logged-in TestClients."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .helpers import build_web_study


@pytest.fixture(scope="session")
def pages_study_template(example_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The web test study, built once per session from the example study (copy it with `pages_study`)."""
    path = tmp_path_factory.mktemp("pages_study") / "study.db"
    build_web_study(path, example_sqlite_template)
    return path


def _copy(template: Path, folder: Path) -> str:
    target = folder / "study.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


def _app(url: str) -> Any:
    from cartrial.web.app import create_app
    from cartrial.web.security import WebSettings

    return create_app(url, settings=WebSettings(secret_key="page-tests"))


Login = Callable[[str | None], Any]


def _login(app: Any, username: str | None) -> Any:
    """A client with a session of `username` created through the store, as after a successful password
    check (the login form itself, with its argon2 check, is tested by the browser tests and tests/web)."""
    from fastapi.testclient import TestClient

    from cartrial.store.auth import AuthenticatedUser, create_session
    from cartrial.web.security import SESSION_COOKIE, credential

    client = TestClient(app, follow_redirects=False)
    if username is None:
        return client
    service = app.state.service
    actor = service.actor(username)
    token = create_session(service, AuthenticatedUser(username, actor.role, actor.site_id, "password"))
    client.cookies.set(SESSION_COOKIE, credential(token, username))
    return client


@pytest.fixture
def pages_study(pages_study_template: Path, tmp_path: Path) -> str:
    """A private copy of the web test study (SQLite URL)."""
    return _copy(pages_study_template, tmp_path)


@pytest.fixture
def web_app(pages_study: str) -> Iterator[Any]:
    """The app on a private copy (for tests that write)."""
    app = _app(pages_study)
    yield app
    app.state.service.engine.dispose()


@pytest.fixture
def login(web_app: Any) -> Login:
    """``login("inv_a")``: a TestClient logged in as that user on `web_app` (``login(None)``: anonymous)."""
    return lambda username: _login(web_app, username)


@pytest.fixture(scope="module")
def read_app(pages_study_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The app on one copy shared by a module's read-only tests."""
    app = _app(_copy(pages_study_template, tmp_path_factory.mktemp("read_study")))
    yield app
    app.state.service.engine.dispose()


@pytest.fixture(scope="module")
def read_login(read_app: Any) -> Login:
    """Like `login`, on `read_app` (one client per user, reused); for tests that do not write."""
    clients: dict[str | None, Any] = {}

    def make(username: str | None) -> Any:
        if username not in clients:
            clients[username] = _login(read_app, username)
        return clients[username]

    return make
