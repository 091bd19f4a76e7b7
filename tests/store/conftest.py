"""Fixtures of the store tests: a small study database on each backend.

The server, a fresh schema (`postgres_url`), an empty database on each backend (`db_url`) and the CLI
runner (`cli`) come from `tests/conftest.py`. On PostgreSQL each `study` gets its own database copied from a
session template (or, without the CREATEDB privilege, its own schema), dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text
from tests.conftest import schema_url

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


@contextmanager
def postgres_template_database(base: str, build: Callable[[str], None]) -> Iterator[str | None]:
    """A database made by `build(url)` once (a session template, copied per test with `postgres_copy`),
    dropped afterwards; None when the server does not allow creating databases (CREATEDB privilege)."""
    name = f"cartrial_tpl_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:  # no CREATEDB privilege: fall back to schemas
        admin.dispose()
        yield None
        return
    try:
        build(make_url(base).set(database=name).render_as_string(hide_password=False))
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _make_study_closed(url: str) -> None:
    make_study(url).service.engine.dispose()


@pytest.fixture(scope="session")
def postgres_template(postgres_server: str) -> Iterator[str | None]:
    """A database made by `make_study` once per session, copied per test with CREATE DATABASE … TEMPLATE
    (fast). None when the server does not allow creating databases: tests then build a fresh schema."""
    with postgres_template_database(postgres_server, _make_study_closed) as url:
        yield url


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
# an initialised study with nothing in it, copied from a session template
# ---------------------------------------------------------------------------------------------------------


def init_empty_study(url: str) -> None:
    """`init_study` with the reference protocol and the admin user ``admin`` (no password, no site): the
    study every `empty_study_url` (and `empty_study_copy`) holds."""
    init_study(url, PROTOCOL, "admin")


@pytest.fixture(scope="session")
def empty_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`init_empty_study` run once on SQLite (read only: tests get a copy of the file)."""
    path = tmp_path_factory.mktemp("empty_template") / "study.db"
    init_empty_study(f"sqlite:///{path}")
    return path


def empty_sqlite_copy(template: Path, path: Path) -> str:
    """The URL of a copy at `path` of `template` (`empty_sqlite_template`): what ``init_empty_study`` on a new
    SQLite file there writes, without running the migrations again."""
    copy_sqlite_file(template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def empty_postgres_template(postgres_server: str) -> Iterator[str | None]:
    """`init_empty_study` run once on a PostgreSQL database (None without the CREATEDB privilege)."""
    with postgres_template_database(postgres_server, init_empty_study) as url:
        yield url


def init_password_study(url: str) -> None:
    """`init_empty_study` whose admin signs in with `TEST_PASSWORD` (for tests that run the CLI as them):
    the study every `password_study_url` holds."""
    init_study(url, PROTOCOL, "admin", admin_password=TEST_PASSWORD)


@pytest.fixture(scope="session")
def password_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`init_password_study` run once on SQLite (read only: tests get a copy of the file)."""
    path = tmp_path_factory.mktemp("password_template") / "study.db"
    init_password_study(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def password_postgres_template(postgres_server: str) -> Iterator[str | None]:
    """`init_password_study` run once on a PostgreSQL database (None without the CREATEDB privilege)."""
    with postgres_template_database(postgres_server, init_password_study) as url:
        yield url


def fresh_schema(request: pytest.FixtureRequest) -> str:
    """A URL whose search_path is a new, empty PostgreSQL schema of this test's own (dropped afterwards);
    unlike `postgres_url`, a test may ask for as many as it needs."""
    base = str(request.getfixturevalue("postgres_server"))
    schema = f"t_{uuid.uuid4().hex[:16]}"
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()

    request.addfinalizer(drop)
    return schema_url(base, schema)


def empty_study_copy(
    request: pytest.FixtureRequest,
    backend: str,
    tmp_path: Path,
    name: str = "study",
    *,
    imported: bool = False,
    password: bool = False,
) -> str:
    """The URL of a private copy of the empty study (`init_empty_study`) on `backend`, for this test only:
    the SQLite file `name`.db in `tmp_path`, or a PostgreSQL database copied from the session template and
    dropped after the test (without the CREATEDB privilege: `init_empty_study` on a fresh schema). The copy
    holds exactly what running `init_empty_study` on an empty database writes; the tests of the migrations
    and of `init_study` itself run it on an empty database (`db_url`). `imported`: the copy also holds the
    example study's templates imported once (`import_example_study`); `password`: its admin has the test
    password (`init_password_study`)."""
    kind = "imported" if imported else "password" if password else "empty"
    build = import_example_study if imported else init_password_study if password else init_empty_study
    if backend == "sqlite":
        target = tmp_path / f"{name}.db"
        copy_sqlite_file(request.getfixturevalue(f"{kind}_sqlite_template"), target)
        return f"sqlite:///{target}"
    assert backend == "postgresql", backend
    template: str | None = request.getfixturevalue(f"{kind}_postgres_template")
    if template is None:
        url = fresh_schema(request)
        build(url)
        return url
    copy = postgres_copy(template)
    url = copy.__enter__()
    request.addfinalizer(lambda: copy.__exit__(None, None, None))
    return url


def import_example_study(url: str) -> None:
    """`init_empty_study`, then the example study's templates imported as ``admin`` (`import_templates` of
    the shipped folder, unchanged): what a test that starts by importing an unchanged copy of that folder
    into an empty study has after its first import."""
    from cartrial.store.importing import import_templates

    init_empty_study(url)
    engine = connect(url)  # closed afterwards: a template database must have no session left open
    try:
        import_templates(engine, cartrial_examples.path("ct103a-nmosd") / "study", "admin")
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def imported_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`import_example_study` run once on SQLite (read only: tests get a copy of the file)."""
    path = tmp_path_factory.mktemp("imported_template") / "study.db"
    import_example_study(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def imported_postgres_template(postgres_server: str) -> Iterator[str | None]:
    """`import_example_study` run once on a PostgreSQL database (None without the CREATEDB privilege)."""
    with postgres_template_database(postgres_server, import_example_study) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def empty_study_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An initialised study with nothing else in it (`init_empty_study`) on each backend, this test's own."""
    return empty_study_copy(request, request.param, tmp_path)


@pytest.fixture(params=BACKENDS)
def password_study_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An initialised study with nothing else in it whose admin has the test password
    (`init_password_study`) on each backend, this test's own."""
    return empty_study_copy(request, request.param, tmp_path, password=True)


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
