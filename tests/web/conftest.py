"""Fixtures of the web tests: a small study served by the app, on SQLite and PostgreSQL.

`make_web_study(url)`: the reference protocol, sites TJH and PUMCH, one user per role (`USERS`, password
`TEST_PASSWORD`), subjects CT-001, CT-002 (TJH) and CT-101 (PUMCH), an infusion and a CRS assessment of
CT-001 and of CT-101. `web_study` (SQLite) and `any_web_study` (both backends) give a `WebStudy`: its
URL, store service and app, and `session(user)` / `bearer(user)` logged-in `TestClient`s (sessions are
created through the store without the argon2 check, except in the tests of login itself).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text

from cartrial import examples as cartrial_examples
from cartrial.store import StudyService, connect, init_study

from ..conftest import copy_sqlite_file

PROTOCOL = cartrial_examples.path("ct103a-nmosd") / "protocol.yaml"
TEST_PASSWORD = "test-password-0123"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
USERS = {
    "admin": ("admin", "TJH"),
    "dm": ("data_manager", None),
    "inv": ("investigator", "TJH"),
    "inv2": ("investigator", "PUMCH"),
    "mon": ("monitor", None),
    "stat": ("statistician", None),
}
"""User name -> (role, site)."""
ROLE_USER = {
    "admin": "admin",
    "data_manager": "dm",
    "investigator": "inv",
    "monitor": "mon",
    "statistician": "stat",
}
"""One user per role."""

CRS_ROW = {
    "assessed_at": "2021-04-30T10:00:00Z",
    "temperature_c": 39.2,
    "fever_masked": False,
    "hypotension": False,
    "vasopressors": 0,
    "vasopressin": False,
    "oxygen": "none",
}


def make_web_study(url: str) -> None:
    init_study(url, PROTOCOL, "admin", admin_site="TJH", admin_password=TEST_PASSWORD)
    service = StudyService(connect(url))
    service.add_site("admin", "PUMCH", "Peking Union Medical College Hospital", "CN")
    for username, (role, site) in USERS.items():
        if username != "admin":
            service.add_user("admin", username, role, site_id=site, password=TEST_PASSWORD)
    with service.transaction("admin", "test setup") as tx:
        service.upsert_rows(
            tx,
            "subject",
            [
                {"subject_id": "CT-001", "site_id": "TJH", "consent_date": "2021-04-01", "sex": "F"},
                {"subject_id": "CT-002", "site_id": "TJH", "consent_date": "2021-05-01", "sex": "F"},
                {"subject_id": "CT-101", "site_id": "PUMCH", "consent_date": "2021-04-02", "sex": "M"},
            ],
        )
        for subject in ("CT-001", "CT-101"):
            service.upsert_rows(
                tx,
                "infusion",
                [
                    {
                        "subject_id": subject,
                        "dose_level": 1,
                        "infused_at": "2021-04-27T02:00:00Z",
                        "weight_kg": 60.0,
                        "cells_per_kg": 500000,
                        "total_car_t_cells": 30000000,
                    }
                ],
            )
            service.upsert_rows(tx, "crs_assessment", [{"subject_id": subject, **CRS_ROW}])
    service.engine.dispose()


@dataclass
class WebStudy:
    url: str
    service: StudyService
    app: Any
    clients: list[Any] = field(default_factory=list)

    @property
    def backend(self) -> str:
        return self.service.backend

    def client(self) -> Any:
        from fastapi.testclient import TestClient

        client = TestClient(self.app, base_url="http://testserver")
        self.clients.append(client)
        return client

    def session_token(self, username: str) -> str:
        """A store session for `username` (as after a successful password check) → credential."""
        from cartrial.store.auth import AuthenticatedUser, create_session
        from cartrial.web.security import credential

        actor = self.service.actor(username)
        token = create_session(
            self.service, AuthenticatedUser(username, actor.role, actor.site_id, "password")
        )
        return credential(token, username)

    def bearer(self, username: str | None) -> Any:
        """A client sending `Authorization: Bearer …` for `username` (None: anonymous)."""
        client = self.client()
        if username is not None:
            client.headers["Authorization"] = f"Bearer {self.session_token(username)}"
        return client

    def session(self, username: str) -> Any:
        """A browser-like client logged in by the session cookie, sending the CSRF header on writes."""
        from cartrial.web.security import SESSION_COOKIE

        client = self.client()
        client.cookies.set(SESSION_COOKIE, self.session_token(username))
        client.headers["X-CSRF-Token"] = csrf_of(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.service.engine.dispose()


def csrf_of(client: Any) -> str:
    """The CSRF token of a client's session (`GET /api/v1/me` gives it to session-cookie clients)."""
    token = client.get("/api/v1/me").json()["csrf_token"]
    assert token
    return str(token)


def _serve(url: str, **settings: Any) -> WebStudy:
    from cartrial.web.app import create_app
    from cartrial.web.security import WebSettings

    app = create_app(url, settings=WebSettings(secret_key="test-secret", **settings))
    return WebStudy(url, app.state.service, app)


@pytest.fixture(scope="session")
def web_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("web_template") / "study.db"
    make_web_study(f"sqlite:///{path}")
    return path


def _copy_sqlite(template: Path, tmp_path: Path) -> str:
    target = tmp_path / "study.db"
    copy_sqlite_file(template, target)
    return f"sqlite:///{target}"


@pytest.fixture(scope="session")
def web_postgres_template(postgres_server: str) -> Iterator[str | None]:
    """`make_web_study` once per session in its own database, copied per test (CREATE DATABASE … TEMPLATE);
    None without the CREATEDB privilege (tests then build a fresh schema)."""
    name = f"cartrial_webtpl_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:  # no CREATEDB privilege
        admin.dispose()
        yield None
        return
    url = make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    make_web_study(url)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _postgres_study(request: pytest.FixtureRequest) -> Iterator[str]:
    template_url = request.getfixturevalue("web_postgres_template")
    if template_url is None:
        url = str(request.getfixturevalue("postgres_url"))
        make_web_study(url)
        yield url
        return
    base = os.environ.get("CARTRIAL_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    name = f"cartrial_web_{uuid.uuid4().hex[:12]}"
    template = make_url(template_url).database
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def web_study(web_sqlite_template: Path, tmp_path: Path) -> Iterator[WebStudy]:
    """The small study served by the app (SQLite)."""
    study = _serve(_copy_sqlite(web_sqlite_template, tmp_path))
    yield study
    study.close()


@pytest.fixture(params=("sqlite", "postgresql"))
def any_web_study(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WebStudy]:
    """The small study served by the app, on each backend."""
    if request.param == "sqlite":
        study = _serve(_copy_sqlite(request.getfixturevalue("web_sqlite_template"), tmp_path))
        yield study
        study.close()
        return
    generator = _postgres_study(request)
    url = next(generator)
    study = _serve(url)
    try:
        yield study
    finally:
        study.close()
        generator.close()


@pytest.fixture
def serve_study(web_sqlite_template: Path, tmp_path: Path) -> Any:
    """A factory: the study (SQLite copy) served with given `WebSettings` fields (expiry, throttling)."""
    made: list[WebStudy] = []

    def factory(**settings: Any) -> WebStudy:
        target = tmp_path / f"s{len(made)}"
        target.mkdir()
        study = _serve(_copy_sqlite(web_sqlite_template, target), **settings)
        made.append(study)
        return study

    yield factory
    for study in made:
        study.close()


@pytest.fixture
def example_web(example_sqlite: str) -> Iterator[WebStudy]:
    """The shipped example study (imported; `example_sqlite`) served by the app; admin's password set."""
    study = _serve(example_sqlite)
    study.service.set_password("admin", "admin", TEST_PASSWORD)
    yield study
    study.close()
