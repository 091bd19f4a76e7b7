"""Authentication: passwords verified against the stored argon2id hashes, login sessions, throttling.

Issue 19 section 2; 21 CFR 11.10(d) (limiting system access to authorised individuals), 11.100/11.300
(the identity behind each signed record: a user name and a password known only to its owner).

- `authenticate(target, username, password=... | token=...)` is the one entry point of every front end
  (CLI, later the web app): it returns an `AuthenticatedUser` or raises `AuthenticationError`;
- passwords are checked with argon2-cffi against `app_user.password_hash` (argon2id, RFC 9106). A user
  without a stored hash cannot authenticate (an admin sets one: `cartrial password --for NAME`). A
  successful check of a hash made with other parameters than `users.password_hasher`'s replaces it by a
  current one, audited (`_rehash_if_needed`, D-19.544);
- failed attempts are counted per user name in `auth_throttle` (in the database, so the count holds across
  processes and machines): from the `FREE_FAILURES`-th failure within `FAILURE_WINDOW` each further attempt
  must wait 2, 4, 8, … seconds, up to `MAX_DELAY` (a lock-out); an attempt while waiting is refused
  without checking the password. Failures and refusals are audited (``login_failed``,
  ``login_throttled``) — on a keyed trail without its key they are still counted and refused alike, and
  only logged (D-19.558) —; a login creating a session is audited (``login``). The password never appears in
  an audit row, message or log; an unknown user name is recorded as ``?`` (it may be a mistyped password);
- sessions (`create_session`): a random token (256 bits) given to the client; the database keeps only
  its digest in `auth_session` (keyed with the audit key when one is configured, else SHA-256: D-19.366,
  `_token_digest`), with the user, the last use and a hard expiry. A session expires after
  `IDLE_TIMEOUT` without use and after `MAX_SESSION` in any case; logging out deletes it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, replace
from typing import Any, cast

from sqlalchemy import Connection, Engine, Integer, String, Table, delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Mapped, mapped_column

from cartrial import __version__
from cartrial.columns import NOT_UNICODE_ALLOWED, is_unicode_text
from cartrial.errors import CartrialError, ConfigurationError, InputError, PermissionDeniedError, Problem
from cartrial.store import audit as audit_chain
from cartrial.store import users
from cartrial.store.database import ReadOnlyDatabaseError, opened_read_only
from cartrial.store.fields import lookup_text_problem
from cartrial.store.models import AuditLog, Base, User, utc_now
from cartrial.store.users import password_matches

IDLE_TIMEOUT = dt.timedelta(minutes=30)
"""A session unused this long has expired."""
MAX_SESSION = dt.timedelta(hours=12)
"""A session expires this long after login, however it is used."""
FAILURE_WINDOW = dt.timedelta(minutes=15)
"""Failures older than this (counted from the first of a run) are forgotten."""
FREE_FAILURES = 2
"""Failures allowed in a window before attempts are delayed."""
MAX_DELAY = dt.timedelta(minutes=15)
"""The longest wait imposed between attempts (reached at the 11th failure in a window)."""
_log = logging.getLogger(__name__)
"""Warnings of this module: a stored hash that could not be upgraded, a failed attempt that could not be
audited for lack of the audit key (never a user name, hash, key or password)."""
UNKNOWN_USER = "?"
"""How an attempt on a user name that does not exist is recorded in the audit trail."""


class AuthSession(Base):
    """A login session; only the digest of its token is stored (migration 0004): `token_sha256` is the
    HMAC-SHA256 under the audit key's session subkey when the key is configured, else SHA-256 (D-19.366)."""

    __tablename__ = "auth_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    username: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime]
    last_used_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]


class AuthThrottle(Base):
    """Failed password attempts of one user name (migration 0004)."""

    __tablename__ = "auth_throttle"

    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    first_failure_at: Mapped[dt.datetime]
    last_failure_at: Mapped[dt.datetime]
    locked_until: Mapped[dt.datetime | None]


class AuthenticationError(PermissionDeniedError):
    """Wrong user name or password, expired session, or too many failed attempts (CLI exit 2)."""


@dataclass(frozen=True)
class AuthenticatedUser:
    """Who was authenticated, how (``password`` or ``token``), and the role and site stored for them."""

    username: str
    role: str
    site_id: str | None
    method: str


def _engine(target: Any) -> Engine:
    if isinstance(target, Engine):
        return target
    engine = getattr(target, "engine", None)
    if isinstance(engine, Engine):
        return engine
    from cartrial.store.database import connect

    return connect(cast(str | None, target))


def throttle_delay(failures: int) -> dt.timedelta:
    """The wait imposed after `failures` failed attempts in a window: none up to `FREE_FAILURES`, then
    2 s, 4 s, 8 s, … doubling, at most `MAX_DELAY`.

    >>> [throttle_delay(n).total_seconds() for n in (1, 2, 3, 4, 5)]
    [0.0, 0.0, 2.0, 4.0, 8.0]
    >>> throttle_delay(40) == MAX_DELAY
    True
    """
    if failures <= FREE_FAILURES:
        return dt.timedelta(0)
    exponent = min(failures - FREE_FAILURES, 20)
    return min(dt.timedelta(seconds=2**exponent), MAX_DELAY)


_DUMMY_HASH: list[str] = []


def _dummy_hash() -> str:
    """A hash to verify against when the user has none, so that the time taken does not reveal it."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(users.password_hasher().hash(secrets.token_hex(16)))
    return _DUMMY_HASH[0]


def _password_matches(stored: str | None, password: str) -> bool:
    """`users.password_matches`, verifying against a dummy hash when the user has none (same time taken)."""
    return password_matches(stored or _dummy_hash(), password) and stored is not None


def _user(connection: Connection, username: str) -> Any:
    return connection.execute(
        select(User.id, User.username, User.role, User.site_id, User.active, User.password_hash).where(
            User.username == username
        )
    ).first()


def _audit(
    connection: Connection, username: str, role: str, action: str, user_id: int | None, detail: Any
) -> None:
    """Append one authentication event to the audit chain (the caller holds the chain lock)."""
    head = audit_chain.read_head(connection)
    audit_chain.append(
        connection,
        head,
        [
            audit_chain.AuditEntry(
                utc_now(),
                username,
                role,
                action,
                "app_user",
                user_id,
                None,
                None,
                None,
                None if detail is None else audit_chain.canonical_json(detail),
                None,
                "authentication",
                __version__,
            )
        ],
    )


def _write(engine: Engine) -> Any:
    """A write transaction holding the audit-chain lock (as `StudyService.transaction` takes it)."""
    from contextlib import contextmanager

    from cartrial.store.database import SQLITE_BEGIN_OPTION

    @contextmanager
    def scope() -> Any:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                connection.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            with connection.begin():
                if engine.dialect.name == "postgresql":
                    from cartrial.store.transaction import PG_CHAIN_LOCK_SQL

                    connection.execute(text(PG_CHAIN_LOCK_SQL))
                yield connection

    return scope()


def _throttle_key(username: str) -> str:
    """The throttle's key of a name: its fold as names are compared (`users.username_fold`, D-19.1423)."""
    return users.username_fold(username.strip())[:80]


def _check_throttle(connection: Connection, username: str, now: dt.datetime) -> dt.datetime | None:
    """`locked_until` if attempts on this user name must still wait, else None."""
    row = connection.execute(
        select(AuthThrottle.locked_until).where(AuthThrottle.username == _throttle_key(username))
    ).first()
    if row is None or row.locked_until is None or row.locked_until <= now:
        return None
    return cast(dt.datetime, row.locked_until)


def _record_failure(connection: Connection, username: str, now: dt.datetime) -> int:
    key = _throttle_key(username)
    row = connection.execute(
        select(AuthThrottle.failures, AuthThrottle.first_failure_at).where(AuthThrottle.username == key)
    ).first()
    if row is None or now - row.first_failure_at > FAILURE_WINDOW:
        failures = 1
        values = {"failures": 1, "first_failure_at": now, "last_failure_at": now}
    else:
        failures = int(row.failures) + 1
        values = {"failures": failures, "last_failure_at": now}
    delay = throttle_delay(failures)
    values["locked_until"] = now + delay if delay else None
    table = cast(Table, AuthThrottle.__table__)
    if row is None:
        connection.execute(insert(table).values(username=key, **values))
    else:
        connection.execute(update(table).where(table.c.username == key).values(**values))
    return failures


def authenticate(
    target: Any, username: str, *, password: str | None = None, token: str | None = None
) -> AuthenticatedUser:
    """Verify `username` by `password` (against its argon2id hash) or by a session `token`.

    `target`: a `StudyService`, an `Engine` or a database URL. Raises `AuthenticationError` (wrong user
    name or password — the message does not say which —, expired or unknown session, deactivated user,
    attempts throttled) and audits failures and throttled attempts; never records the password."""
    if (password is None) == (token is None):
        raise InputError(Problem("give exactly one of a password or a session token", field="authentication"))
    _refuse_impossible_name(username)
    if password is not None and not is_unicode_text(password):  # argon2 cannot encode it (D-19.197)
        raise InputError(
            Problem("the password is not Unicode text", field="password", allowed=NOT_UNICODE_ALLOWED)
        )
    engine = _engine(target)
    try:
        if token is not None:
            return _authenticate_token(engine, username, token)
        assert password is not None
        return _authenticate_password(engine, username, password)
    finally:
        if engine is not target and engine is not getattr(target, "engine", None):
            engine.dispose()


def _refuse_impossible_name(username: str) -> None:
    """No user name breaks the identifier rule (the field rules refuse it when the user is created), and
    PostgreSQL cannot compare a text holding NUL: such a name is refused as input before any query, named
    as every refused key character is (``contains U+200B ZERO WIDTH SPACE (…)``), not echoed back
    (`fields.lookup_text_problem`, D-19.522)."""
    problem = lookup_text_problem("app_user", "username", username)
    if problem is not None:
        raise InputError(replace(problem, field="username"))


def _authenticate_password(engine: Engine, username: str, password: str) -> AuthenticatedUser:
    now = utc_now()
    with engine.connect() as connection:
        locked_until = _check_throttle(connection, username, now)
        user = _user(connection, username)
    if locked_until is None:
        ok = _password_matches(user.password_hash if user is not None else None, password)
        if ok and user.active:
            _rehash_if_needed(engine, user.username, user.password_hash, password)
            _reset_throttle(engine, username)
            return AuthenticatedUser(user.username, user.role, user.site_id, "password")
    recorded_name = user.username if user is not None else UNKNOWN_USER
    role = user.role if user is not None else "none"
    user_id = int(user.id) if user is not None else None
    try:
        with _write(engine) as connection:
            if locked_until is not None:
                _audit_unless_keyless(connection, recorded_name, role, "login_throttled", user_id, None)
            else:
                failures = _record_failure(connection, username, now)
                _audit_unless_keyless(
                    connection, recorded_name, role, "login_failed", user_id, {"failures": failures}
                )
                delay = throttle_delay(failures)
                if delay:
                    locked_until = now + delay
    except (DBAPIError, ReadOnlyDatabaseError):  # an archive cannot record the attempt; it still fails
        pass
    if locked_until is not None and locked_until > now:
        wait = max(1, int((locked_until - now).total_seconds() + 0.999))
        raise AuthenticationError(
            f"authentication failed; too many failed attempts for this user name: try again in {wait} s"
        )
    raise AuthenticationError("authentication failed: wrong user name or password, or the user is inactive")


_FAILURE_NOT_AUDITED = (
    "a sign-in attempt (%s) was not audited: CARTRIAL_AUDIT_KEY_FILE does not give a key this study's "
    "audit trail accepts (%s); a failed attempt is still counted for throttling"
)


def _audit_unless_keyless(
    connection: Connection, username: str, role: str, action: str, user_id: int | None, detail: Any
) -> None:
    """`_audit` of a failed or throttled attempt, skipped with one warning (the exception's class name only:
    no user name, key path or value) when the trail is keyed and `CARTRIAL_AUDIT_KEY_FILE` is unset,
    unreadable or names another key (`audit.check_writing_key`, checked under the chain lock before any row
    is written). The answer to a wrong password never depends on the key — a key error would tell a wrong
    password from a right one, which signs in without the key (D-19.545) — and the failure counted in
    `auth_throttle` in the same transaction is kept, so throttling holds (D-19.558)."""
    try:
        audit_chain.check_writing_key(connection)
    except (ConfigurationError, InputError) as exc:
        _log.warning(_FAILURE_NOT_AUDITED, action, type(exc).__name__)
        return
    _audit(connection, username, role, action, user_id, detail)


_REHASH_FAILED = (
    "the stored password hash of the user signing in could not be upgraded to the current parameters (%s); "
    "the sign-in goes on and a later sign-in tries again"
)
_REHASH_WAITS_FOR_KEY = (
    "stored password hashes are upgraded to the current parameters only with this study's audit key, which "
    "CARTRIAL_AUDIT_KEY_FILE does not give (%s); sign-ins go on meanwhile"
)
_key_wait_logged = False
"""Whether this process has logged `_REHASH_WAITS_FOR_KEY` (once per process: every CLI run of a keyed
study without its key would otherwise print it, a server at every sign-in)."""


def _rehash_if_needed(engine: Engine, username: str, stored: str, password: str) -> None:
    """After a successful password check of an active user: a stored hash made with other parameters than
    the current `users.password_hasher` is replaced by a current one (`users.rehash_password`, audited by
    the user with `users.REHASH_REASON`; OWASP Password Storage Cheat Sheet, D-19.544).

    Nothing is attempted on a SQLite file opened read-only (`database.opened_read_only`: an archived copy,
    however its URL names it), nor on a keyed trail whose key is unset, unreadable or another
    (`audit.check_writing_key`, D-19.366): no hash is computed and no transaction opened; the latter is
    logged once per process (the upgrade waits for the key). The new hash is computed before the write
    transaction opens (the lock is not held while hashing); the write replaces the stored hash only if it
    is still `stored`. The sign-in never depends on it: whatever cartrial or the database refuses
    (`CartrialError`: a hash `hash_password` refuses to make, a lock held too long, a read-only role, the
    record changed meanwhile; argon2's `HashingError`, e.g. the 64 MiB not allocated; and the driver's own
    errors) leaves the hash as it is, logs one warning naming only the kind of failure, and the next sign-in
    tries again (D-19.545)."""
    global _key_wait_logged
    if not users.needs_rehash(stored) or opened_read_only(engine):
        return
    from argon2.exceptions import HashingError

    from cartrial.store.transaction import open_transaction

    try:
        try:
            with engine.connect() as connection:
                audit_chain.check_writing_key(connection)
        except (ConfigurationError, InputError) as exc:
            if not _key_wait_logged:
                _key_wait_logged = True
                _log.warning(_REHASH_WAITS_FOR_KEY, type(exc).__name__)
            return
        new_hash = users.hash_password(password)
        with open_transaction(engine, username, "authentication", users.REHASH_REASON) as tx:
            users.rehash_password(tx, username, stored, new_hash, users.REHASH_REASON)
    except (CartrialError, HashingError, DBAPIError, engine.dialect.loaded_dbapi.Error) as exc:
        _log.warning(_REHASH_FAILED, type(exc).__name__)


def _reset_throttle(engine: Engine, username: str) -> None:
    try:
        with engine.begin() as connection:
            table = cast(Table, AuthThrottle.__table__)
            connection.execute(delete(table).where(table.c.username == _throttle_key(username)))
    except (DBAPIError, ReadOnlyDatabaseError):  # read-only archive
        pass


_SESSION_SUBKEY_MESSAGE = b"cartrial session v1"
"""Derives the session subkey from the audit key (domain separation from the audit seals, D-19.366)."""


def _token_digest(token: str, key: bytes | None = None, *, load_key: bool = True) -> str:
    """What `auth_session.token_sha256` holds for `token` (D-19.366): with the audit key configured,
    HMAC-SHA256(HMAC-SHA256(key, ``cartrial session v1``), token) (RFC 2104), so that a row inserted by
    SQL without the key matches no token; without the key, SHA-256(token) — which a database writer can
    forge (docs/security.md). Unkeyed rows never match once a key is set (users log in again)."""
    data = token.encode("utf-8")
    if key is None and load_key:
        key = audit_chain.load_audit_key()
    if key is None:
        return hashlib.sha256(data).hexdigest()
    subkey = hmac.digest(key, _SESSION_SUBKEY_MESSAGE, "sha256")
    return hmac.digest(subkey, data, "sha256").hex()


def authenticate_session(
    target: Any,
    username: str,
    token: str,
    *,
    idle_timeout: dt.timedelta = IDLE_TIMEOUT,
    touch_after: dt.timedelta = dt.timedelta(0),
) -> AuthenticatedUser:
    """`authenticate(target, username, token=token)` for a server checking a session on every request:
    `idle_timeout` (at most `IDLE_TIMEOUT`) is the server's own idle limit, and the last use is written
    only when older than `touch_after` (fewer writes; the idle limit is then exact to `touch_after`).
    An expired session is deleted. Raises `AuthenticationError` like `authenticate` — also when the
    credential's user-name part breaks the identifier rule: no user has such a name, so the credential names
    no user (a 401 on the web, never a 422; `current_user` never raises, D-19.522)."""
    if lookup_text_problem("app_user", "username", username) is not None:
        raise AuthenticationError(
            "the login session has expired or is not valid: log in again (`cartrial login`)"
        )
    return _authenticate_token(
        _engine(target),
        username,
        token,
        idle_timeout=min(idle_timeout, IDLE_TIMEOUT),
        touch_after=touch_after,
    )


def _authenticate_token(
    engine: Engine,
    username: str,
    token: str,
    *,
    idle_timeout: dt.timedelta = IDLE_TIMEOUT,
    touch_after: dt.timedelta = dt.timedelta(0),
) -> AuthenticatedUser:
    now = utc_now()
    table = cast(Table, AuthSession.__table__)
    key = audit_chain.load_audit_key()
    digest = _token_digest(token, key, load_key=False)
    from cartrial.store.transaction import read_connection

    # the newest audit row's seal, in the same query: without the key, a keyed study's trail says its
    # sessions are keyed and an unkeyed digest could be a row forged by SQL (D-19.366)
    head_mac = select(AuditLog.row_mac).order_by(AuditLog.id.desc()).limit(1).scalar_subquery()
    with read_connection(engine) as connection:  # the session and its user in one query (every web request)
        session = connection.execute(
            select(
                AuthSession.id,
                AuthSession.username,
                AuthSession.last_used_at,
                AuthSession.expires_at,
                User.username.label("user_username"),
                User.role,
                User.site_id,
                User.active,
                head_mac.label("head_mac"),
            )
            .select_from(AuthSession)
            .outerjoin(User, User.username == AuthSession.username)
            .where(AuthSession.token_sha256 == digest)
        ).first()
    if key is None and session is not None and session.head_mac is not None:
        raise AuthenticationError(
            "this study's audit trail is keyed: login sessions are checked only with its audit key "
            "(set CARTRIAL_AUDIT_KEY_FILE)"
        )
    user = (
        None
        if session is None or session.user_username is None
        else AuthenticatedUser(session.user_username, session.role, session.site_id, "token")
    )
    if (
        session is None
        or session.username != username
        or now - session.last_used_at > idle_timeout
        or now > session.expires_at
        or user is None
        or not session.active
    ):
        if session is not None and idle_timeout < IDLE_TIMEOUT and now - session.last_used_at > idle_timeout:
            end_session(engine, token)  # expired by the server's own, shorter idle limit
        raise AuthenticationError(
            "the login session has expired or is not valid: log in again (`cartrial login`)"
        )
    if now - session.last_used_at >= touch_after:
        try:
            with engine.begin() as connection:
                connection.execute(update(table).where(table.c.id == session.id).values(last_used_at=now))
        except (DBAPIError, ReadOnlyDatabaseError):  # read-only archive: the session still counts as used
            pass
    return user


def create_session(target: Any, user: AuthenticatedUser, *, source: str = "cli login") -> str:
    """Start a session for a user just authenticated by password; returns the token (give it only to the
    user; the database keeps its digest, `_token_digest`). Audited as ``login``. Expired sessions are
    purged."""
    if user.method != "password":
        raise InputError(Problem("a session is created only after a password check", field="login"))
    engine = _engine(target)
    token = secrets.token_urlsafe(32)
    now = utc_now()
    table = cast(Table, AuthSession.__table__)
    with _write(engine) as connection:
        connection.execute(
            delete(table).where((table.c.expires_at < now) | (table.c.last_used_at < now - IDLE_TIMEOUT))
        )
        connection.execute(
            insert(table).values(
                token_sha256=_token_digest(token),
                username=user.username,
                created_at=now,
                last_used_at=now,
                expires_at=now + MAX_SESSION,
            )
        )
        row = _user(connection, user.username)
        _audit(
            connection,
            user.username,
            user.role,
            "login",
            int(row.id) if row is not None else None,
            {"idle_timeout_min": IDLE_TIMEOUT.total_seconds() / 60, "source": source},
        )
    return token


def end_session(target: Any, token: str) -> bool:
    """Delete the session of `token` (logout); True if there was one."""
    table = cast(Table, AuthSession.__table__)
    with _engine(target).begin() as connection:
        result = connection.execute(delete(table).where(table.c.token_sha256 == _token_digest(token)))
    return bool(result.rowcount)


def end_sessions_of(target: Any, username: str) -> int:
    """Delete every session of `username` (after a password change or deactivation); returns how many."""
    table = cast(Table, AuthSession.__table__)
    with _engine(target).begin() as connection:
        result = connection.execute(delete(table).where(table.c.username == username))
    return int(result.rowcount or 0)


def has_any_password(target: Any) -> bool:
    """Whether any active user has a password (False only for a legacy study never given one)."""
    with _engine(target).connect() as connection:
        return (
            connection.execute(
                select(User.id).where(User.password_hash.is_not(None), User.active.is_(True)).limit(1)
            ).first()
            is not None
        )
