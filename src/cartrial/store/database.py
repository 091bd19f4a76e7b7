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

Failures of the database itself (a file that is not a SQLite database, disk full, a lock held longer than
the wait, a lost PostgreSQL connection, a read-only file) become one `DatabaseError` (a `CartrialError`: the
CLI prints one line and exits 2). Record values never appear in an error: engines are created with
`hide_parameters=True` and the translation keeps only the driver's first message line, never the SQL
parameters, and does not chain the driver's exception.

A SQLite file that is not writable (file mode 0444, or a read-only folder: an archived copy) is opened
read-only (SQLite URI `mode=ro`, or `immutable=1` when its folder is read-only and it has no write-ahead
log): reads, `audit verify` and listings work; a write is refused with one line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import NullPool

from cartrial.errors import CartrialError, ConfigurationError, InputError, Problem
from cartrial.sources import refuse_special_source

DEFAULT_URL = "sqlite:///cartrial.db"
URL_ENVIRONMENT_VARIABLE = "CARTRIAL_DB_URL"
SQLITE_BUSY_TIMEOUT_MS = 60_000
"""How long a writer waits for another writer's transaction before giving up (milliseconds; SQLite busy
timeout, PostgreSQL `lock_timeout` on the audit-chain lock)."""
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BEGIN_OPTION = "cartrial_sqlite_begin"
"""Connection execution option: ``"IMMEDIATE"`` for write transactions, default ``"DEFERRED"``."""
SQLITE_HEADER = b"SQLite format 3\x00"


class DatabaseError(CartrialError):
    """The database failed (not a database, full, locked too long, connection lost, read-only). The message
    is one line and never contains record values."""


class ReadOnlyDatabaseError(DatabaseError):
    """The database can only be read (an archived copy: the file or its folder is not writable)."""


def resolve_url(url: str | os.PathLike[str] | None = None) -> str:
    """The database URL to use: `url`, else `$CARTRIAL_DB_URL`, else `sqlite:///cartrial.db`.

    A `pathlib.Path` (any `os.PathLike`) names a SQLite file and is taken as ``sqlite:///<path>``; a `str`
    must be a URL (a bare path in a `str` is refused by `parse_url`, naming the URL forms). Any other type
    is an `InputError` naming it (decisions D-19.66)."""
    if isinstance(url, os.PathLike):
        url = f"sqlite:///{os.fspath(url)}"
    elif url is not None and not isinstance(url, str):
        raise InputError(
            Problem(
                f"not a database URL: a {type(url).__name__}",
                field="url",
                allowed="a URL str (sqlite:///path.db or postgresql+psycopg://user@host:port/database), "
                "a pathlib.Path of a SQLite file, or an Engine from cartrial.store.connect",
            )
        )
    chosen = url or os.environ.get(URL_ENVIRONMENT_VARIABLE) or DEFAULT_URL
    if chosen.startswith("postgres://"):
        chosen = "postgresql+psycopg://" + chosen[len("postgres://") :]
    elif chosen.startswith("postgresql://"):
        chosen = "postgresql+psycopg://" + chosen[len("postgresql://") :]
    return chosen


def parse_url(url: str | None = None) -> URL:
    """The parsed database URL (`resolve_url`); `InputError` naming the value when it is not a URL."""
    text = resolve_url(url)
    try:
        return make_url(text)
    except ArgumentError as exc:
        raise InputError(
            Problem(
                "not a database URL",
                field="url",
                value=text,
                allowed="sqlite:///path.db or postgresql+psycopg://user@host:port/database",
            )
        ) from exc


def connect(
    url: str | os.PathLike[str] | Engine | None = None, *, sqlite_pool_size: int = 0, create: bool = False
) -> Engine:
    """An engine on the study database (see the module docstring for the URL and SQLite settings).

    `sqlite_pool_size`: 0 (default) opens a new SQLite connection for every use (nothing stays open); a
    long-running server passes a pool size to keep that many SQLite connections open (each connection's
    settings are made once, when it opens). PostgreSQL always pools. `create`: a SQLite file that does not
    exist yet may be created (`init_study`, `upgrade`); otherwise it is refused, so that a mistyped path
    given to a reading command is an error and leaves no empty database behind (decisions D-19.58).
    An `Engine` given as `url` is returned as it is; a `pathlib.Path` names a SQLite file (D-19.66)."""
    if isinstance(url, Engine):
        return url
    text = resolve_url(url)
    parsed = parse_url(text)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        read_only = False
        if database and database != ":memory:" and not database.startswith("file:"):
            path = Path(database).expanduser().resolve()
            if not path.parent.is_dir():
                raise InputError(
                    Problem("the folder of the SQLite database does not exist", field="url", value=text)
                )
            if not create and not path.exists():
                raise InputError(
                    Problem(
                        "no study database at this path",
                        field="url",
                        value=text,
                        allowed="the path of an existing study database (a new one is made by "
                        "`cartrial db init --url URL`)",
                    )
                )
            _refuse_non_sqlite_file(path, text)
            if not create and path.is_file() and path.stat().st_size == 0:
                # SQLite would write its header into it: a reading command must leave the file as it was,
                # as it leaves no database at a mistyped path (D-19.58, D-19.497)
                raise InputError(
                    Problem(
                        "an empty file, not a study database",
                        field="url",
                        value=text,
                        allowed="the path of an existing study database (a new one is made by "
                        "`cartrial db init --url URL`)",
                    )
                )
            read_only_uri = _read_only_uri(path)
            if read_only_uri is not None:
                parsed = parsed.set(database=read_only_uri, query={**parsed.query, "uri": "true"})
                read_only = True
        if sqlite_pool_size > 0:
            from sqlalchemy.pool import QueuePool

            engine = create_engine(
                parsed,
                poolclass=QueuePool,
                pool_size=sqlite_pool_size,
                max_overflow=2 * sqlite_pool_size,
                hide_parameters=True,
            )
        else:
            engine = create_engine(parsed, poolclass=NullPool, hide_parameters=True)
        _configure_sqlite(engine, read_only=read_only)
        _translate_errors(engine)
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
        engine = create_engine(parsed, hide_parameters=True)
        _load_unreadable_dates(engine)
        _check_pooled_postgresql_connections(engine)
        _translate_errors(engine)
        return engine
    raise InputError(
        Problem("unsupported database backend", field="url", value=text, allowed="sqlite | postgresql")
    )


def _load_unreadable_dates(engine: Engine) -> None:
    """A stored ``infinity`` date or date-time is refused by its column, not a psycopg ``DataError`` for
    the row quoting the value (`stored_dates.register_postgresql_loaders`, D-19.1062 amended)."""
    from cartrial.store.stored_dates import register_postgresql_loaders

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        register_postgresql_loaders(dbapi_connection)


def _check_pooled_postgresql_connections(engine: Engine) -> None:
    """Replace a pooled PostgreSQL connection that the server closed while it sat idle in the pool (backend
    terminated, server restarted) by a new one, without a round trip per checkout (SQLAlchemy's
    ``pool_pre_ping`` sends one query per checkout, the largest share of a short web request's round trips).

    An idle connection outside a transaction receives nothing from the server unless the server closes it
    (PostgreSQL then sends the termination notice and closes the socket), so a readable socket at checkout
    means the connection is gone (a pending notice of any other kind is treated the same: the connection is
    replaced, which is always safe). `DisconnectionError` makes the pool open a new connection (SQLAlchemy
    "custom pessimistic ping"). A connection lost during use is still detected by the driver's error
    (invalidated by SQLAlchemy, translated to one line by `_translate_errors`)."""
    from sqlalchemy.exc import DisconnectionError

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if dbapi_connection.closed or dbapi_connection.broken:
            raise DisconnectionError("the pooled connection is closed")
        try:
            readable = _socket_readable(dbapi_connection.fileno())
        except (OSError, ValueError) as exc:  # the socket is gone
            raise DisconnectionError("the pooled connection has no socket") from exc
        if readable:
            raise DisconnectionError("the server closed the pooled connection")


def _socket_readable(fileno: int) -> bool:
    """Whether the socket has data (or end-of-file) waiting, without blocking; `poll` where the platform has
    it (no limit on descriptor numbers, unlike `select`'s FD_SETSIZE of 1,024)."""
    import select

    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fileno, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([fileno], [], [], 0)
    return bool(readable)


def _refuse_non_sqlite_file(path: Path, url: str) -> None:
    """`InputError` when `path` is an existing file that is not a SQLite database (a text or binary file
    given as the URL by mistake); an empty file is a new database."""
    if path.is_dir():
        raise InputError(Problem("a folder, not a SQLite database file", field="url", value=url))
    refuse_special_source(path, field="url")  # SQLite would wait for ever on a FIFO
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InputError(
            Problem(f"cannot read the database file: {exc.strerror or exc}", field="url", value=url)
        ) from None
    if header and header != SQLITE_HEADER:
        raise InputError(Problem("not a SQLite database file", field="url", value=url))


def _read_only_uri(path: Path) -> str | None:
    """A read-only SQLite URI for an existing file that cannot be written (None: open it normally)."""
    from urllib.parse import quote

    if not path.is_file():
        return None

    folder_writable = _writable(path.parent)
    if _writable(path) and folder_writable:
        return None
    wal = Path(f"{path}-wal")
    has_log = wal.is_file() and wal.stat().st_size > 0
    # immutable: no locking and no -shm file (a read-only folder cannot hold one); only safe without a log
    mode = "mode=ro" if folder_writable or has_log else "immutable=1"
    return f"file:{quote(str(path))}?{mode}"


def _writable(target: Path) -> bool:
    """Whether this process may write `target`, permission bits too: root may write a 0444 file, but an
    archive made read-only means read-only."""
    return os.access(target, os.W_OK) and bool(target.stat().st_mode & 0o222)


def opened_read_only(engine: Engine) -> bool:
    """Whether `engine` opens its SQLite file read-only, as SQLite itself decides it: a URI (``uri=true``)
    whose last ``mode`` is ``ro`` or whose first ``immutable`` is true (`_sqlite_boolean`: ``1``, ``yes``,
    ``on``, ``true`` in any case, any other non-zero number), or a file (or its folder) this process may not
    write (`_writable`, the check `connect` makes for a path; `connect` leaves a ``file:`` URI as it is
    given). An archived copy, however it is named. False for an in-memory database and for PostgreSQL,
    whose read-only role is known only when a write is refused."""
    url = engine.url
    if url.get_backend_name() != "sqlite":
        return False
    arguments, options = engine.dialect.create_connect_args(url)  # the file name SQLite is given
    filename = str(arguments[0]) if arguments else str(options.get("database", ""))
    if options.get("uri") and filename.startswith("file:"):
        path_text, parameters = _sqlite_uri(filename)
        modes = [value for key, value in parameters if key == "mode"]
        immutable = next((value for key, value in parameters if key == "immutable"), None)
        if (modes and modes[-1] == "ro") or (immutable is not None and _sqlite_boolean(immutable)):
            return True
        if (modes and modes[-1] == "memory") or any(k == "vfs" and v == "memdb" for k, v in parameters):
            return False
    else:
        path_text = filename
    if path_text in ("", ":memory:"):
        return False
    path = Path(path_text).expanduser()
    try:
        return path.is_file() and not (_writable(path) and _writable(path.resolve().parent))
    except OSError:
        return False


def _sqlite_uri(uri: str) -> tuple[str, list[tuple[str, str]]]:
    """The path and the (name, value) parameters, in order, of a SQLite ``file:`` URI as `sqlite3ParseUri`
    reads it: an authority of ``//`` or ``//localhost``, ``%HH`` escapes decoded, ``#`` ends it."""
    from urllib.parse import unquote

    rest = uri[len("file:") :].partition("#")[0]
    path, _, query = rest.partition("?")
    if path.startswith("//"):
        slash = path.find("/", 2)
        path = path[slash:] if slash >= 0 else ""
    parameters = []
    for pair in query.split("&") if query else []:
        if pair:
            key, _, value = pair.partition("=")
            parameters.append((unquote(key), unquote(value)))
    return unquote(path), parameters


def _sqlite_boolean(value: str) -> bool:
    """A URI boolean as SQLite reads it (`sqlite3GetBoolean`): a number by its leading digits (as an 8-bit
    value: ``256`` is false), else ``on``, ``yes``, ``true`` (true) or ``no``, ``off``, ``false`` (false)
    in any case; anything else is the default, false."""
    digits = len(value) - len(value.lstrip("0123456789"))
    if digits:
        number = int(value[:digits])
        return number <= 2**31 - 1 and number % 256 != 0
    return value.lower() in ("on", "yes", "true")


def _translate_errors(engine: Engine) -> None:
    """Replace the failures of the database itself (operational and interface errors, a file that is not a
    database) by one-line `DatabaseError`s without SQL or parameters. Errors about the statement or the data
    (integrity, programming, trigger refusals) are left to the code that issued it, which names table,
    column and value."""
    from sqlalchemy import exc

    @event.listens_for(engine, "handle_error")
    def _on_error(context: Any) -> Exception | None:
        error = context.sqlalchemy_exception
        failure = (
            isinstance(error, exc.OperationalError | exc.InterfaceError) or type(error) is exc.DatabaseError
        )
        if not failure and not context.is_disconnect:
            return None
        return database_error(error, disconnected=bool(context.is_disconnect))


def database_error(error: BaseException, *, disconnected: bool = False) -> DatabaseError:
    """The one-line user message for a failure of the database itself (see the module docstring)."""
    original = getattr(error, "orig", None) or error
    first_line = (str(original).strip().splitlines() or [type(original).__name__])[0]
    lowered = first_line.lower()
    if "database or disk is full" in lowered or "no space left" in lowered or "disk full" in lowered:
        message = "the database is full (disk full or size limit reached); nothing of this write was kept"
    elif "database is locked" in lowered or "table is locked" in lowered or "lock timeout" in lowered:
        message = (
            f"the database stayed locked by another writer longer than the wait "
            f"({SQLITE_BUSY_TIMEOUT_MS // 1000} s); nothing was written: try again later"
        )
    elif "file is not a database" in lowered or "not a database" in lowered:
        message = "not a SQLite database file"
    elif "readonly database" in lowered or "read-only" in lowered:
        return ReadOnlyDatabaseError(
            "the database is read-only (the file or its folder is not writable): it can only be read"
        )
    elif "connection failed" in lowered or "could not connect" in lowered or "connection refused" in lowered:
        message = f"cannot connect to the database server: {first_line}"
    elif disconnected or "terminating connection" in lowered or "server closed the connection" in lowered:
        message = (
            "the connection to the database server was lost; the transaction was rolled back and nothing "
            "of it was written"
        )
    else:
        message = f"the database refused the operation: {first_line}"
    return DatabaseError(message)


def _configure_sqlite(engine: Engine, *, read_only: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take control of transactions from the sqlite3 module so that BEGIN IMMEDIATE can be issued.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if read_only:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.close()
            return
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
    engine = url if isinstance(url, Engine) else connect(url, create=True)
    config = alembic_config(engine)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        return current_revision(engine)
    except OperationalError as exc:
        raise ConfigurationError(
            f"cannot open the database {engine.url.render_as_string(hide_password=True)}: "
            f"{database_error(exc)}"
        ) from None
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
        raise ConfigurationError(
            f"cannot open the database {engine.url.render_as_string(hide_password=True)}: "
            f"{database_error(exc)}"
        ) from None
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
