"""Engines and migrations: one code path for SQLite (default) and PostgreSQL.

`connect(url)` returns a SQLAlchemy `Engine`. The URL comes from the argument, else the environment variable
`CARTRIAL_DB_URL`, else `sqlite:///cartrial.db`. `postgresql://` and `postgres://` URLs are routed to the
psycopg 3 driver (extra `postgres`).

SQLite connections are configured for a multi-process study database: WAL journal (readers never block the
writer), `foreign_keys=ON`, a busy timeout, and cartrial controls `BEGIN` itself so that write transactions
start with `BEGIN IMMEDIATE` (the write lock is taken at the start, so the audit chain head read inside the
transaction cannot go stale). On PostgreSQL write transactions take a transaction-scoped advisory lock for
the same purpose (`cartrial.store.service`).

`upgrade(url)` runs the Alembic migrations shipped inside the package (`cartrial/store/migrations`) up to
head; it is idempotent.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import NullPool

from cartrial.errors import ConfigurationError, InputError, Problem

DEFAULT_URL = "sqlite:///cartrial.db"
URL_ENVIRONMENT_VARIABLE = "CARTRIAL_DB_URL"
SQLITE_BUSY_TIMEOUT_MS = 60_000
"""How long a SQLite writer waits for another writer's transaction before giving up (milliseconds)."""
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BEGIN_OPTION = "cartrial_sqlite_begin"
"""Connection execution option: ``"IMMEDIATE"`` for write transactions, default ``"DEFERRED"``."""


def resolve_url(url: str | None = None) -> str:
    """The database URL to use: `url`, else `$CARTRIAL_DB_URL`, else `sqlite:///cartrial.db`."""
    chosen = url or os.environ.get(URL_ENVIRONMENT_VARIABLE) or DEFAULT_URL
    if chosen.startswith("postgres://"):
        chosen = "postgresql+psycopg://" + chosen[len("postgres://") :]
    elif chosen.startswith("postgresql://"):
        chosen = "postgresql+psycopg://" + chosen[len("postgresql://") :]
    return chosen


def connect(url: str | None = None) -> Engine:
    """An engine on the study database (see the module docstring for the URL and SQLite settings)."""
    text = resolve_url(url)
    try:
        parsed = make_url(text)
    except ArgumentError as exc:
        raise InputError(
            Problem(
                "not a database URL",
                field="url",
                value=text,
                allowed="sqlite:///path.db or postgresql+psycopg://user@host:port/database",
            )
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            folder = Path(database).expanduser().resolve().parent
            if not folder.is_dir():
                raise InputError(
                    Problem("the folder of the SQLite database does not exist", field="url", value=text)
                )
        engine = create_engine(parsed, poolclass=NullPool)
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise ConfigurationError(
                "PostgreSQL needs the psycopg driver: pip install 'cartrial[postgres]'"
            ) from exc
        return create_engine(parsed, pool_pre_ping=True)
    raise InputError(
        Problem("unsupported database backend", field="url", value=text, allowed="sqlite, postgresql")
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take control of transactions from the sqlite3 module so that BEGIN IMMEDIATE can be issued.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # 16 KiB pages (SQLite's default is 4 KiB; applies only when the file is created): a million-row
        # import runs ~9 % faster (fewer pages, WAL frames and B-tree splits; benchmarks/bench_store.py)
        cursor.execute("PRAGMA page_size=16384")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def alembic_config(engine: Engine | None = None) -> Any:
    """An Alembic `Config` whose script location is the migrations folder inside the installed package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if engine is not None:
        config.set_main_option(
            "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
        )
    return config


def upgrade(url: str | Engine | None = None, revision: str = "head") -> str | None:
    """Run the migrations up to `revision` (idempotent); returns the database's revision afterwards."""
    from alembic import command

    owned = not isinstance(url, Engine)
    engine = url if isinstance(url, Engine) else connect(url)
    config = alembic_config(engine)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        return current_revision(engine)
    except OperationalError as exc:
        raise ConfigurationError(f"cannot open the database {engine.url!r}: {exc.orig}") from exc
    finally:
        if owned:
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at (None: not initialised)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest migration shipped with this cartrial."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def require_current_schema(engine: Engine) -> None:
    """Raise a clear error when the database is not initialised or not at the shipped migration head."""
    try:
        revision = current_revision(engine)
    except OperationalError as exc:
        raise ConfigurationError(f"cannot open the database {engine.url!r}: {exc.orig}") from exc
    if revision is None:
        has_tables = bool(inspect(engine).get_table_names())
        hint = "it has tables but no migration record" if has_tables else "it is empty"
        raise ConfigurationError(
            f"the database {engine.url.render_as_string(hide_password=True)} is not a cartrial study "
            f"database ({hint}); create it with `cartrial db init`"
        )
    head = head_revision()
    if revision != head:
        raise ConfigurationError(
            f"the database schema is at revision {revision} but this cartrial expects {head}; "
            "run `cartrial db upgrade`"
        )
