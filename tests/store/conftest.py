"""Fixtures of the store tests: a fresh study database on each backend (SQLite file, PostgreSQL schema).

PostgreSQL: `CARTRIAL_TEST_POSTGRES_URL` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``); each
test gets its own database copied from a session template (or, without the CREATEDB privilege, its own
schema), dropped afterwards. Without a server the PostgreSQL cases skip with the reason
shown, unless `CARTRIAL_REQUIRE_POSTGRES=1` (set by `.ci/run`), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from cartrial.store import StudyService, connect, init_study

REPO = Path(__file__).resolve().parents[2]
PROTOCOL = REPO / "examples" / "ct103a-nmosd" / "protocol.yaml"
TEST_PASSWORD = "test-password-0123"
"""Every user's password (as `tests/conftest.py` gives the CLI through CARTRIAL_PASSWORD_FILE)."""
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")

USERS = {
    "admin": ("admin", "TJH"),
    "dm": ("data_manager", None),
    "inv": ("investigator", "TJH"),
    "inv2": ("investigator", "PUMCH"),
    "mon": ("monitor", None),
    "stat": ("statistician", None),
}
"""Username -> (role, site) of the users every `study` fixture has."""


def postgres_base_url() -> str:
    return os.environ.get("CARTRIAL_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def require_postgres() -> str:
    """The server URL, or skip (fail under CARTRIAL_REQUIRE_POSTGRES=1) with the reason."""
    base = postgres_base_url()
    try:
        engine = create_engine(base)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any driver or connection failure means: no usable server
        reason = f"PostgreSQL not reachable at {base} ({type(exc).__name__}: {exc})"
        if os.environ.get("CARTRIAL_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"CARTRIAL_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(f"{reason}; PostgreSQL store tests skipped")
    return base


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose search_path is a fresh, empty schema."""
    base = require_postgres()
    schema = f"t_store_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'study.db'}"
    return str(request.getfixturevalue("postgres_url"))


@dataclass
class StudyDb:
    url: str
    service: StudyService

    @property
    def backend(self) -> str:
        return self.service.backend


def make_study(url: str) -> StudyDb:
    """Initialise a study (reference protocol), sites TJH and PUMCH, one user per role (`USERS`) and three
    subjects: CT-001 and CT-002 at TJH, CT-101 at PUMCH."""
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
                {"subject_id": "CT-001", "site_id": "TJH", "consent_date": "2021-05-06", "sex": "F"},
                {"subject_id": "CT-002", "site_id": "TJH", "consent_date": "2021-05-27", "sex": "F"},
                {"subject_id": "CT-101", "site_id": "PUMCH", "consent_date": "2021-06-10", "sex": "M"},
            ],
        )
    return StudyDb(url, service)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make_study` run once on SQLite; tests get a copy of the file (fast and isolated)."""
    path = tmp_path_factory.mktemp("template") / "study.db"
    db = make_study(f"sqlite:///{path}")
    db.service.engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str | None]:
    """A database made by `make_study` once per session, copied per test with CREATE DATABASE … TEMPLATE
    (fast). None when the server does not allow creating databases: tests then build a fresh schema."""
    base = require_postgres()
    name = f"cartrial_tpl_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:  # no CREATEDB privilege: fall back to schemas
        admin.dispose()
        yield None
        return
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    db = make_study(url)
    db.service.engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def postgres_copy(template_url: str) -> Iterator[str]:
    """A fresh database copied from the template database."""
    base = postgres_base_url()
    template = make_url(template_url).database
    name = f"cartrial_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def study(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StudyDb]:
    """A small study database (see `make_study`) on each backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "study.db"
        for suffix in ("", "-wal"):
            source = Path(f"{template}{suffix}")
            if source.exists():
                shutil.copyfile(source, f"{target}{suffix}")
        url = f"sqlite:///{target}"
        db = StudyDb(url, StudyService(connect(url)))
        yield db
        db.service.engine.dispose()
        return
    template_url = request.getfixturevalue("postgres_template")
    if template_url is None:
        db = make_study(str(request.getfixturevalue("postgres_url")))
        yield db
        db.service.engine.dispose()
        return
    with postgres_copy(template_url) as url:
        db = StudyDb(url, StudyService(connect(url)))
        yield db
        db.service.engine.dispose()
