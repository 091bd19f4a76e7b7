"""Fixtures of the store tests: a small study database on each backend.

The server, a fresh schema (`postgres_url`), an empty database on each backend (`db_url`) and the CLI
runner (`cli`) come from `tests/conftest.py`. On PostgreSQL each `study` gets its own database copied from a
session template (or, without the CREATEDB privilege, its own schema), dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text

from cartrial import examples as cartrial_examples
from cartrial.store import StudyService, connect, init_study

from ..conftest import copy_sqlite_file, make_read_only

REPO = Path(__file__).resolve().parents[2]
PROTOCOL = cartrial_examples.path("ct103a-nmosd") / "protocol.yaml"
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
def postgres_template(postgres_server: str) -> Iterator[str | None]:
    """A database made by `make_study` once per session, copied per test with CREATE DATABASE … TEMPLATE
    (fast). None when the server does not allow creating databases: tests then build a fresh schema."""
    base = postgres_server
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
    base = os.environ.get("CARTRIAL_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
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
        copy_sqlite_file(template, target)
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


@pytest.fixture
def sqlite_study(sqlite_template: Path, tmp_path: Path) -> StudyDb:
    """A copy of the SQLite study template (`make_study`) of this test's own."""
    target = tmp_path / "study.db"
    copy_sqlite_file(sqlite_template, target)
    url = f"sqlite:///{target}"
    return StudyDb(url, StudyService(connect(url)))


# ---------------------------------------------------------------------------------------------------------
# the example study at two sites (the tests of site-restricted reads, D-19.457)
# ---------------------------------------------------------------------------------------------------------

HOUSEKEEPING = {"id", "version", "created_at", "updated_at"}


def _add_second_site(url: str) -> None:
    """PUMCH with one infused subject, CT-901 (a copy of CT-001), and an investigator at each site."""
    service = StudyService(connect(url))
    try:
        service.add_site("admin", "PUMCH", "Peking Union Medical College Hospital", "CN")
        service.add_user("admin", "inv_tjh", "investigator", site_id="TJH", password=TEST_PASSWORD)
        service.add_user("admin", "inv_pumch", "investigator", site_id="PUMCH", password=TEST_PASSWORD)
        subject = service.find_records("admin", "subject", subject_id="CT-001")[0]
        infusion = service.find_records("admin", "infusion", subject_id="CT-001")[0]
        copy = {k: v for k, v in subject.items() if k not in HOUSEKEEPING}
        copy.update(subject_id="CT-901", site_id="PUMCH", screening_number="S-901")
        given = {k: v for k, v in infusion.items() if k not in HOUSEKEEPING}
        given.update(subject_id="CT-901")
        with service.transaction("admin", "test setup") as tx:
            service.upsert_rows(tx, "subject", [copy])
            service.upsert_rows(tx, "infusion", [given])
    finally:
        service.engine.dispose()


@pytest.fixture(scope="session")
def two_sites_template(example_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example study (every subject at TJH) with a second site, built once per session (read only)."""
    path = tmp_path_factory.mktemp("two_sites") / "study.db"
    copy_sqlite_file(example_sqlite_template, path)
    _add_second_site(f"sqlite:///{path}")
    return path


@pytest.fixture
def two_sites(two_sites_template: Path, tmp_path: Path) -> str:
    """A private copy of the example study (every subject at TJH) with a second site PUMCH holding one
    infused subject, CT-901, and an investigator at each site (`inv_tjh`, `inv_pumch`)."""
    target = tmp_path / "study.db"
    copy_sqlite_file(two_sites_template, target)
    return f"sqlite:///{target}"


@dataclass(frozen=True)
class TwoSitesReports:
    """`cartrial report` of `two_sites_template` at the 2022-03-20 cut-off as `inv_tjh` (a site view) and as
    `admin` (the whole study): each run's stdout and output folder."""

    tjh_stdout: str
    tjh: Path
    admin: Path


@contextmanager
def session_credentials(factory: pytest.TempPathFactory) -> Iterator[None]:
    """The test password file and a private config folder for a session fixture that runs the CLI (the
    per-test credentials of `tests/conftest.py` are not set up yet at session scope)."""
    secret = factory.mktemp("session_credentials") / "password"
    secret.write_text(TEST_PASSWORD + "\n")
    secret.chmod(0o600)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CARTRIAL_PASSWORD_FILE", str(secret))
        patch.setenv("XDG_CONFIG_HOME", str(secret.parent / "config"))
        yield


@pytest.fixture(scope="session")
def two_sites_reports(
    two_sites_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TwoSitesReports]:
    """The two reports, run once per session (read only): the tests of the restriction label share them."""
    from ..conftest import run_cartrial

    folder = tmp_path_factory.mktemp("two_sites_reports")
    database = folder / "study.db"
    copy_sqlite_file(two_sites_template, database)
    url = f"sqlite:///{database}"
    base = ("report", "--url", url, "--cutoff", "2022-03-20", "--no-pdf", "--out")
    with session_credentials(tmp_path_factory):
        tjh = run_cartrial(*base, folder / "tjh", "--user", "inv_tjh")
        admin = run_cartrial(*base, folder / "admin", "--user", "admin")
    assert tjh.exit_code == 0, tjh.stderr
    assert admin.exit_code == 0, admin.stderr
    with make_read_only(folder / "tjh", folder / "admin"):
        yield TwoSitesReports(tjh.stdout, folder / "tjh", folder / "admin")


def audit_rows(db: StudyDb) -> list[dict[str, Any]]:
    """Every audit row of `db`'s study, oldest first, as plain dicts."""
    with db.service.engine.connect() as connection:
        return [dict(r) for r in connection.execute(text("SELECT * FROM audit_log ORDER BY id")).mappings()]


KEY_PROBLEMS = ("unset", "another-key", "missing-file")
"""How a process can lack a keyed trail's audit key (D-19.366): `withhold_audit_key`."""


def withhold_audit_key(key_problem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make this process lack the study's audit key as `key_problem` says (one of `KEY_PROBLEMS`):
    `CARTRIAL_AUDIT_KEY_FILE` unset, naming another key, or naming a file that does not exist."""
    if key_problem == "unset":
        monkeypatch.delenv("CARTRIAL_AUDIT_KEY_FILE")
    elif key_problem == "another-key":
        other = tmp_path / "other.key"
        other.write_text(secrets.token_hex(32))
        monkeypatch.setenv("CARTRIAL_AUDIT_KEY_FILE", str(other))
    else:
        assert key_problem == "missing-file", key_problem
        monkeypatch.setenv("CARTRIAL_AUDIT_KEY_FILE", str(tmp_path / "no-such.key"))
