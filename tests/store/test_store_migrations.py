"""Migrations: upgrade from an empty database on both backends, idempotent, shipped inside the package.

Requirements: decisions §7 ("SQLAlchemy 2, Alembic migrations"; "Same code, same migrations, same tests on
both";
`cartrial db upgrade`), and the append-only triggers being created by the migration itself.
"""

from __future__ import annotations

import warnings
from importlib import resources

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from cartrial.errors import ConfigurationError
from cartrial.store import StudyService, connect, upgrade
from cartrial.store.database import current_revision, head_revision, resolve_url
from cartrial.store.models import Base


def test_upgrade_from_empty_creates_every_table_and_is_idempotent(db_url: str) -> None:
    """Upgrading an empty database reaches head with every model table; upgrading again changes nothing."""
    engine = connect(db_url, create=True)
    assert current_revision(engine) is None
    assert upgrade(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert upgrade(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) == tables
    engine.dispose()


def test_upgrade_from_0001_adds_the_lab_flag_and_keeps_the_data(db_url: str) -> None:
    """A database made by the first release (revision 0001) upgrades to head in place: migration 0002 adds
    `lab_result.life_threatening_anemia` (blank for existing rows) and every stored row is kept; the service
    refuses the old schema until then, naming `cartrial db upgrade` (decisions §7: "same migrations")."""
    engine = connect(db_url, create=True)
    assert upgrade(engine, "0001") == "0001"
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO site (site_id, created_at, updated_at, version) VALUES ('S1', :t, :t, 1)"),
            {"t": "2021-01-01 00:00:00.000000"},
        )
    with pytest.raises(ConfigurationError, match="db upgrade"):
        StudyService(engine)
    assert "life_threatening_anemia" not in {c["name"] for c in inspect(engine).get_columns("lab_result")}
    assert upgrade(engine) == head_revision() != "0001"
    assert "life_threatening_anemia" in {c["name"] for c in inspect(engine).get_columns("lab_result")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT site_id FROM site")).scalars().all() == ["S1"]
    engine.dispose()


def test_migrated_indexes_are_the_models_indexes(db_url: str) -> None:
    """The migrations and the models agree on every named index (0003 dropped the single-column subject
    indexes that the natural-key unique constraints, which start with subject_id, make redundant)."""
    engine = connect(db_url, create=True)
    upgrade(engine)
    inspector = inspect(engine)
    for table in Base.metadata.sorted_tables:
        with warnings.catch_warnings():  # SQLite: 0005's expression index is not reflected (tested below)
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
            indexes = inspector.get_indexes(table.name)
        built = {i["name"] for i in indexes if str(i["name"]).startswith("ix_")}
        assert built == {str(i.name) for i in table.indexes}, table.name
    assert "ix_lab_result_subject_id" not in {i["name"] for i in inspector.get_indexes("lab_result")}
    engine.dispose()


def test_0005_makes_user_names_unique_whatever_their_case(db_url: str) -> None:
    """Migration 0005 adds a unique index on lower(username) (decisions §19); a database already holding names
    that differ only in case is refused with those names, and upgrades once they are renamed."""
    engine = connect(db_url, create=True)
    upgrade(engine, "0004")
    insert = (
        "INSERT INTO app_user (username, role, active, version, created_at, updated_at) "
        "VALUES (:name, 'monitor', true, 1, '2024-01-01 00:00:00', '2024-01-01 00:00:00')"
    )
    with engine.begin() as connection:
        for name in ("admin", "Admin"):
            connection.execute(text(insert), {"name": name})
    with pytest.raises(ConfigurationError, match="must be renamed before this upgrade: admin"):
        upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE app_user SET username = 'admin2' WHERE username = 'Admin'"))
    assert upgrade(engine) == head_revision() == "0009"
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text(insert), {"name": "ADMIN2"})
    engine.dispose()


def test_service_refuses_an_uninitialised_database(db_url: str) -> None:
    """A database without the schema gives a clear message pointing to `cartrial db init`."""
    with pytest.raises(ConfigurationError, match="cartrial db init"):
        StudyService(connect(db_url, create=True))


def test_migrations_ship_inside_the_package() -> None:
    """Alembic's script location is package data, so a non-editable install finds it (decisions §7)."""
    root = resources.files("cartrial.store.migrations")
    assert root.joinpath("env.py").is_file()
    assert root.joinpath("script.py.mako").is_file()
    versions = [p.name for p in root.joinpath("versions").iterdir() if p.name.endswith(".py")]
    assert "0001_initial_schema.py" in versions


def test_sqlite_connection_settings(tmp_path) -> None:
    """SQLite: WAL journal, foreign keys on, busy timeout (decisions §7: "WAL mode, foreign keys on")."""
    engine = connect(f"sqlite:///{tmp_path / 'x.db'}", create=True)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
        connection.exec_driver_sql("CREATE TABLE probe (x INTEGER)")  # the file is created now
        assert connection.exec_driver_sql("PRAGMA page_size").scalar() == 16384
    engine.dispose()


def test_url_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    """Default URL sqlite:///cartrial.db, overridden by CARTRIAL_DB_URL; postgresql:// uses psycopg."""
    monkeypatch.delenv("CARTRIAL_DB_URL", raising=False)
    assert resolve_url(None) == "sqlite:///cartrial.db"
    monkeypatch.setenv("CARTRIAL_DB_URL", "sqlite:///elsewhere.db")
    assert resolve_url(None) == "sqlite:///elsewhere.db"
    assert resolve_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert resolve_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"


def test_0009_adds_the_import_site_and_leaves_earlier_manifests_study_wide(db_url: str) -> None:
    """Migration 0009 adds `import_manifest.site_id` (D-19.483): a manifest written before has no site
    recorded (NULL, read as study-wide: no site-restricted user reads it)."""
    engine = connect(db_url, create=True)
    assert upgrade(engine, "0008") == "0008"
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO import_manifest (file_name, sha256, kind, row_counts, imported_by, "
                "imported_at, created_at, updated_at, version) "
                "VALUES ('a.csv', :h, 'templates', '{}', 'inv', :t, :t, :t, 1)"
            ),
            {"h": "0" * 64, "t": "2021-01-01 00:00:00.000000"},
        )
    assert "site_id" not in {c["name"] for c in inspect(engine).get_columns("import_manifest")}
    assert upgrade(engine) == head_revision() == "0009"
    columns = {c["name"]: c for c in inspect(engine).get_columns("import_manifest")}
    assert columns["site_id"]["nullable"]
    with engine.connect() as connection:
        assert connection.execute(text("SELECT site_id FROM import_manifest")).scalars().all() == [None]
    engine.dispose()
