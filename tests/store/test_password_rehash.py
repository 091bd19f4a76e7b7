"""A password sign-in re-hashes a stored hash made with other parameters than `users.password_hasher`
(argon2-cffi `PasswordHasher.check_needs_rehash`; OWASP Password Storage Cheat Sheet), audited as a password
change is, so that `audit verify` stays OK (decision D-19.544).

The suite's hasher is the test-only argon2id hasher (`tests/conftest.py`, `TEST_ONLY_HASHER_PARAMETERS`:
t=1, m=8 KiB, p=1, argon2's minimum work), so the "weaker" hash here is argon2i with those costs (what an
older tool stored); the production parameters are checked end to end in
tests/store/test_password_hashing.py."""

from __future__ import annotations

import json
import logging
import re
import secrets
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher, Type, extract_parameters
from sqlalchemy import text

from cartrial.store import StudyService, auth, connect, database, users
from cartrial.store import transaction as transaction_module
from cartrial.store.audit import row_mac
from cartrial.store.auth import AuthenticationError, authenticate, create_session
from cartrial.store.database import ReadOnlyDatabaseError
from cartrial.store.tables import masked
from cartrial.store.tamper import verify_complete
from cartrial.store.transaction import open_transaction

from ..conftest import TEST_ONLY_HASHER_PARAMETERS, TEST_PASSWORD, copy_sqlite_file
from .conftest import KEY_PROBLEMS, StudyDb, audit_rows, withhold_audit_key

REHASH_REASON = "password re-hashed at login with current parameters"
"""The reason the audit trail gives a re-hash (written out: the test's own statement of the rule)."""


def argon2i_hasher() -> PasswordHasher:
    """An argon2i hasher with the test-only costs: not the current parameters (argon2id) under the suite."""
    return PasswordHasher(**TEST_ONLY_HASHER_PARAMETERS, type=Type.I)


def user_row(db: StudyDb, username: str) -> dict[str, Any]:
    with db.service.engine.connect() as connection:
        row = connection.execute(
            text("SELECT * FROM app_user WHERE username = :name"), {"name": username}
        ).mappings()
        return dict(row.one())


def store_weak_hash(db: StudyDb, monkeypatch: pytest.MonkeyPatch, username: str = "dm") -> str:
    """Set `username`'s password (`TEST_PASSWORD`) through the audited password change, hashed by argon2i
    (as an older release or another tool stored it); returns the stored hash."""
    current = users.password_hasher
    with monkeypatch.context() as patch:
        patch.setattr(users, "password_hasher", argon2i_hasher)
        db.service.set_password(username, username, TEST_PASSWORD, "set by an older release")
    assert users.password_hasher is current
    stored = str(user_row(db, username)["password_hash"])
    assert extract_parameters(stored).type is Type.I
    return stored


def forbid_rehash_attempts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record (and refuse) every step of a re-hash: computing a new hash, opening the write, writing it;
    returns the list of the steps called (empty: no attempt was made)."""
    calls: list[str] = []

    def refuse(name: str) -> Callable[..., Any]:
        def called(*_: Any, **__: Any) -> Any:
            calls.append(name)
            raise AssertionError(f"{name} called: a re-hash was attempted")

        return called

    monkeypatch.setattr(users, "hash_password", refuse("hash_password"))
    monkeypatch.setattr(users, "rehash_password", refuse("rehash_password"))
    monkeypatch.setattr(transaction_module, "open_transaction", refuse("open_transaction"))
    return calls


def rehash_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The warnings logged by the authentication module."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "cartrial.store.auth" and r.levelno == logging.WARNING
    ]


REHASH_FAILED = (
    "the stored password hash of the user signing in could not be upgraded to the current parameters ({}); "
    "the sign-in goes on and a later sign-in tries again"
)
"""The whole warning of a failed re-hash (written out: the test's own statement of D-19.545)."""
WAITS_FOR_KEY = (
    "stored password hashes are upgraded to the current parameters only with this study's audit key, which "
    "CARTRIAL_AUDIT_KEY_FILE does not give ({}); sign-ins go on meanwhile"
)
"""The whole warning, once per process, of a keyed study signed into without its key (D-19.545)."""


@pytest.fixture(autouse=True)
def _key_wait_not_yet_logged(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts as a new process would: the key-wait warning not yet logged."""
    monkeypatch.setattr(auth, "_key_wait_logged", False)


def assert_warning_names_nothing(
    message: str, kind: str, *values: str, template: str = REHASH_FAILED
) -> None:
    """A re-hash warning is exactly the template with the failure's class name: never the exception's
    message (a file, a database detail), the user name, a hash or the password (D-12.2, D-19.545)."""
    assert re.fullmatch(re.escape(template.format(kind)), message), message
    for value in values:
        assert value not in message
    assert not re.search(r"\bdm\b", message)


def test_a_login_rehashes_a_hash_with_other_parameters_and_audits_it(
    study: StudyDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    weak = store_weak_hash(study, monkeypatch)
    before = user_row(study, "dm")
    audit_before = len(audit_rows(study))
    assert verify_complete(study.service).ok

    assert authenticate(study.service, "dm", password=TEST_PASSWORD).username == "dm"

    after = user_row(study, "dm")
    stored = str(after["password_hash"])
    parameters = extract_parameters(stored)
    assert stored != weak
    assert (parameters.type, parameters.time_cost, parameters.memory_cost, parameters.parallelism) == (
        Type.ID,
        *TEST_ONLY_HASHER_PARAMETERS.values(),
    )
    assert users.password_matches(stored, TEST_PASSWORD) and not users.password_matches(stored, "x" * 16)
    # nothing else of the user changes; the version moves on as with every audited change
    unchanged = {"id", "username", "role", "site_id", "full_name", "active", "created_at"}
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
    assert after["version"] == before["version"] + 1
    # audited exactly as a password change: one update row, by the user, fingerprints only
    new_rows = audit_rows(study)[audit_before:]
    updates = [row for row in new_rows if row["action"] == "update"]
    assert len(updates) == 1
    (row,) = updates
    assert (row["username"], row["table_name"], row["record_id"], row["field"], row["reason"]) == (
        "dm",
        "app_user",
        after["id"],
        "password_hash",
        REHASH_REASON,
    )
    assert row["source"] == "authentication"
    assert row["old_value"] == f'"{masked(weak)}"' and row["new_value"] == f'"{masked(stored)}"'
    trail = str(audit_rows(study))
    assert weak not in trail and stored not in trail and TEST_PASSWORD not in trail
    assert verify_complete(study.service).ok  # the replay expects exactly the re-hashed value

    # the password still signs in, and a current hash is left as it is
    assert authenticate(study.service, "dm", password=TEST_PASSWORD).username == "dm"
    assert user_row(study, "dm") == after
    assert len(audit_rows(study)) == len(new_rows) + audit_before


def test_a_current_hash_is_not_rewritten(study: StudyDb) -> None:
    before = user_row(study, "dm")
    assert not users.password_hasher().check_needs_rehash(before["password_hash"])
    audit_before = audit_rows(study)
    for _ in range(2):
        assert authenticate(study.service, "dm", password=TEST_PASSWORD).username == "dm"
    assert user_row(study, "dm") == before  # byte-identical hash, same version and update time
    assert audit_rows(study) == audit_before


def test_a_wrong_password_never_rewrites_a_weak_hash(study: StudyDb, monkeypatch: pytest.MonkeyPatch) -> None:
    weak = store_weak_hash(study, monkeypatch)
    before = user_row(study, "dm")
    with pytest.raises(AuthenticationError):
        authenticate(study.service, "dm", password="not-the-password-of-dm")
    assert user_row(study, "dm") == before and before["password_hash"] == weak
    assert not [row for row in audit_rows(study) if row["reason"] == REHASH_REASON]
    assert verify_complete(study.service).ok


def test_an_inactive_user_with_a_weak_hash_is_refused_and_not_rewritten(
    study: StudyDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No re-hash is even attempted (not merely refused later by the transaction's actor check): no new
    hash is computed, no write is opened, the stored hash and the trail's re-hash rows stay as they were."""
    store_weak_hash(study, monkeypatch)
    study.service.as_user("admin").set_active("dm", False, "left the study")
    before = user_row(study, "dm")
    calls = forbid_rehash_attempts(monkeypatch)
    with pytest.raises(AuthenticationError):
        authenticate(study.service, "dm", password=TEST_PASSWORD)
    assert calls == []
    assert user_row(study, "dm") == before
    assert not [row for row in audit_rows(study) if row["reason"] == REHASH_REASON]


def test_a_password_changed_meanwhile_is_never_overwritten(
    study: StudyDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The re-hash replaces only the hash that was verified: a sign-in with the old password racing an
    admin's password change cannot bring the old password back."""
    weak = store_weak_hash(study, monkeypatch)
    study.service.set_password("admin", "dm", "a brand new password for dm", "reset by the admin")
    before = user_row(study, "dm")
    with open_transaction(study.service.engine, "dm", "authentication", REHASH_REASON) as tx:
        assert (
            users.rehash_password(tx, "dm", weak, users.hash_password(TEST_PASSWORD), REHASH_REASON) is False
        )
    assert user_row(study, "dm") == before
    assert users.password_matches(before["password_hash"], "a brand new password for dm")


def test_a_password_the_current_policy_refuses_is_still_rehashed(
    study: StudyDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The re-hash keeps the password the user has: one set before the policy (D-19.45), too short for it
    now, signs in and is upgraded, not refused."""
    legacy = "short-pw-9"  # 10 characters: below MIN_PASSWORD_LENGTH
    assert users.password_problem(legacy, "dm") is not None
    with monkeypatch.context() as patch:
        patch.setattr(users, "password_hasher", argon2i_hasher)
        patch.setattr(users, "check_password", lambda *_: None)
        study.service.set_password("dm", "dm", legacy, "set before the password policy")
    assert authenticate(study.service, "dm", password=legacy).username == "dm"
    stored = user_row(study, "dm")["password_hash"]
    assert extract_parameters(stored).type is Type.ID and users.password_matches(stored, legacy)
    assert verify_complete(study.service).ok


@contextmanager
def read_only(path: Path, *, folder: bool) -> Iterator[None]:
    """The SQLite file (and, with `folder`, its folder) without write permission, as an archived copy."""
    path.chmod(0o444)
    if folder:
        path.parent.chmod(0o555)
    try:
        yield
    finally:
        path.parent.chmod(0o755)
        path.chmod(0o644)


@pytest.mark.parametrize("folder", [False, True], ids=["file", "folder"])
def test_a_read_only_copy_signs_in_without_rewriting(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folder: bool
) -> None:
    """A read-only archived SQLite copy still signs a user in with a weak hash; the re-hash is skipped
    (nothing can be written there), and the next sign-in on a writable copy makes it."""
    (tmp_path / "archive").mkdir()
    path = tmp_path / "archive" / "study.db"
    copy_sqlite_file(sqlite_template, path)
    study = StudyDb(f"sqlite:///{path}", StudyService(connect(f"sqlite:///{path}")))
    weak = store_weak_hash(study, monkeypatch)
    study.service.engine.dispose()
    content = path.read_bytes()
    with read_only(path, folder=folder):
        archive = StudyService(connect(f"sqlite:///{path}"))
        with pytest.raises(ReadOnlyDatabaseError):  # the copy really is read-only to the store
            archive.add_site("admin", "NEW", "New site")
        archive.engine.dispose()
        with monkeypatch.context() as patch:  # not even the new hash is computed (64 MiB in production)
            calls = forbid_rehash_attempts(patch)
            user = authenticate(study.url, "dm", password=TEST_PASSWORD)
        assert calls == []
        assert (user.username, user.method) == ("dm", "password")
        assert path.read_bytes() == content
    assert user_row(study, "dm")["password_hash"] == weak
    assert authenticate(study.url, "dm", password=TEST_PASSWORD).username == "dm"  # writable again
    assert extract_parameters(user_row(study, "dm")["password_hash"]).type is Type.ID
    study.service.engine.dispose()


def test_a_failed_rehash_write_does_not_fail_the_login(
    study: StudyDb, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever keeps the re-hash from being written (a read-only PostgreSQL role, a lock held too long),
    the password was right: the user signs in and the stored hash stays as it was."""
    from cartrial.store.database import DatabaseError

    weak = store_weak_hash(study, monkeypatch)

    def refuse(*_: Any, **__: Any) -> bool:
        raise DatabaseError("the database refused the operation")

    monkeypatch.setattr(users, "rehash_password", refuse)
    with caplog.at_level(logging.WARNING, logger="cartrial.store.auth"):
        assert auth.authenticate(study.service, "dm", password=TEST_PASSWORD).username == "dm"
    assert user_row(study, "dm")["password_hash"] == weak
    (message,) = rehash_warnings(caplog)
    assert_warning_names_nothing(message, "DatabaseError", weak, TEST_PASSWORD)
    assert not [row for row in audit_rows(study) if row["reason"] == REHASH_REASON]


def sqlite_study(sqlite_template: Path, tmp_path: Path) -> tuple[StudyDb, Path]:
    """A SQLite copy of the test study (for what only a SQLite file can show: its write lock)."""
    path = tmp_path / "study.db"
    copy_sqlite_file(sqlite_template, path)
    return StudyDb(f"sqlite:///{path}", StudyService(connect(f"sqlite:///{path}"))), path


def test_the_new_hash_is_computed_before_the_write_lock_is_taken(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hashing costs about 0.1 s and 64 MiB at the production parameters: while it runs, another writer
    can take the database's write lock (the re-hash's own write, compare-and-swap, follows)."""
    study, path = sqlite_study(sqlite_template, tmp_path)
    weak = store_weak_hash(study, monkeypatch)
    hash_password = users.hash_password
    lock_free: list[bool] = []

    def hash_and_try_the_lock(password: str) -> str:
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            lock_free.append(True)
        except sqlite3.OperationalError:  # database is locked: a writer (the re-hash) holds it
            lock_free.append(False)
        finally:
            other.close()
        return hash_password(password)

    monkeypatch.setattr(users, "hash_password", hash_and_try_the_lock)
    assert authenticate(study.service, "dm", password=TEST_PASSWORD).username == "dm"
    assert lock_free == [True]
    stored = str(user_row(study, "dm")["password_hash"])
    assert stored != weak and extract_parameters(stored).type is Type.ID
    assert verify_complete(study.service).ok
    study.service.engine.dispose()


def test_a_rehash_refused_by_a_lock_held_too_long_does_not_fail_the_login(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A real failure where the write transaction opens: another writer holds the SQLite write lock longer
    than the busy wait. The sign-in succeeds, the hash stays, and one warning says why in general terms."""
    study, path = sqlite_study(sqlite_template, tmp_path)
    weak = store_weak_hash(study, monkeypatch)
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 50)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    reset_throttle = auth._reset_throttle

    def release_then_reset(engine: Any, username: str) -> None:  # the lock is released after the re-hash
        if blocker.in_transaction:
            blocker.execute("ROLLBACK")
        reset_throttle(engine, username)

    monkeypatch.setattr(auth, "_reset_throttle", release_then_reset)
    with caplog.at_level(logging.WARNING, logger="cartrial.store.auth"):
        assert authenticate(study.service, "dm", password=TEST_PASSWORD).username == "dm"
    assert not blocker.in_transaction  # the lock was held until the re-hash had given up
    blocker.close()
    assert user_row(study, "dm")["password_hash"] == weak
    (message,) = rehash_warnings(caplog)
    assert_warning_names_nothing(message, "DatabaseError", weak, TEST_PASSWORD, str(path))
    assert verify_complete(study.service).ok
    study.service.engine.dispose()


def test_a_rehash_refused_when_its_audit_row_is_written_does_not_fail_the_login(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A real failure at the transaction's flush: the database refuses the audit row (a trigger standing for
    a role without INSERT on audit_log). The update of the hash is rolled back with it."""
    study, _path = sqlite_study(sqlite_template, tmp_path)
    weak = store_weak_hash(study, monkeypatch)
    trail = audit_rows(study)
    with study.service.engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit rows refused'); END"
            )
        )
    with caplog.at_level(logging.WARNING, logger="cartrial.store.auth"):
        assert authenticate(study.service, "dm", password=TEST_PASSWORD).username == "dm"
    assert user_row(study, "dm")["password_hash"] == weak
    assert audit_rows(study) == trail
    (message,) = rehash_warnings(caplog)
    assert_warning_names_nothing(message, "IntegrityError", weak, TEST_PASSWORD)
    study.service.engine.dispose()


@pytest.mark.parametrize("key_problem", KEY_PROBLEMS)
def test_a_keyed_study_signs_in_without_its_key_and_upgrades_with_it(
    study: StudyDb,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    key_problem: str,
) -> None:
    """A keyed trail (D-19.366) refuses rows sealed without its key: without the key (or with another, or
    with a key file that cannot be read) a correct password still signs in, as it did before re-hashing
    existed (a read-only `db summary` with a password file needs no key), and the hash waits; with the key
    the next sign-in upgrades it."""
    key_file = tmp_path / "audit.key"
    key_file.write_text(secrets.token_hex(32))  # what `cartrial audit keygen` writes
    monkeypatch.setenv("CARTRIAL_AUDIT_KEY_FILE", str(key_file))
    weak = store_weak_hash(study, monkeypatch)
    trail = audit_rows(study)
    assert trail[-1]["row_mac"] is not None  # the trail is keyed

    withhold_audit_key(key_problem, tmp_path, monkeypatch)
    with monkeypatch.context() as patch, caplog.at_level(logging.WARNING, logger="cartrial.store.auth"):
        calls = forbid_rehash_attempts(patch)  # checked up front: no 64 MiB hash, no write transaction
        for _ in range(3):  # e.g. three CLI commands of a notebook, or a server's sign-ins
            assert authenticate(study.service, "dm", password=TEST_PASSWORD).username == "dm"
    assert calls == []
    assert user_row(study, "dm")["password_hash"] == weak
    assert audit_rows(study) == trail
    (message,) = rehash_warnings(caplog)  # once per process, not at every sign-in
    assert_warning_names_nothing(
        message, "ConfigurationError", weak, TEST_PASSWORD, key_file.read_text(), template=WAITS_FOR_KEY
    )

    monkeypatch.setenv("CARTRIAL_AUDIT_KEY_FILE", str(key_file))
    assert authenticate(study.service, "dm", password=TEST_PASSWORD).username == "dm"
    stored = str(user_row(study, "dm")["password_hash"])
    assert stored != weak and extract_parameters(stored).type is Type.ID
    last = audit_rows(study)[-1]  # the re-hash row, sealed with the study's key
    assert (last["reason"], last["field"]) == (REHASH_REASON, "password_hash")
    assert last["row_mac"] == row_mac(key_file.read_text().strip().encode(), last["row_hash"])
    assert verify_complete(study.service).ok


def test_an_empty_legacy_password_signs_in_and_its_hash_is_left(
    study: StudyDb, caplog: pytest.LogCaptureFixture
) -> None:
    """An older tool stored a hash of the empty password, which `hash_password` refuses to make
    (`InputError`, D-19.57): the sign-in is decided by the stored hash as before, and the re-hash gives up
    with a warning instead of failing it."""
    legacy = argon2i_hasher().hash("")
    with study.service.engine.begin() as connection:  # as the other tool wrote it, outside cartrial
        connection.execute(
            text("UPDATE app_user SET password_hash = :h WHERE username = 'dm'"), {"h": legacy}
        )
    with caplog.at_level(logging.WARNING, logger="cartrial.store.auth"):
        assert authenticate(study.service, "dm", password="").username == "dm"
    assert user_row(study, "dm")["password_hash"] == legacy
    (message,) = rehash_warnings(caplog)
    assert_warning_names_nothing(message, "InputError", legacy)


def test_a_session_login_leaves_a_weak_hash_alone(study: StudyDb, monkeypatch: pytest.MonkeyPatch) -> None:
    """A session token carries no password to hash: only a password sign-in upgrades. (The session is
    made after the weak hash is stored: setting a password ends the user's sessions, D-19.816; a password
    sign-in would upgrade the hash, so the session is made as after one, as the web tests make theirs.)"""
    weak = store_weak_hash(study, monkeypatch)
    row = user_row(study, "dm")
    token = create_session(
        study.service, auth.AuthenticatedUser("dm", str(row["role"]), row["site_id"], "password")
    )
    before, trail = user_row(study, "dm"), audit_rows(study)
    calls = forbid_rehash_attempts(monkeypatch)
    user = authenticate(study.service, "dm", token=token)
    assert (user.username, user.method) == ("dm", "token")
    assert calls == []
    assert user_row(study, "dm") == before and before["password_hash"] == weak
    assert not [row for row in audit_rows(study)[len(trail) :] if row["reason"] == REHASH_REASON]


def test_a_hash_argon2_cannot_make_does_not_fail_the_login(
    study: StudyDb, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """argon2 refuses to hash (`HashingError`: e.g. the 64 MiB of the production parameters not
    allocated): the password was right, so the user signs in and the weak hash stays."""
    from argon2.exceptions import HashingError

    weak = store_weak_hash(study, monkeypatch)

    class FailingHasher(PasswordHasher):
        def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
            raise HashingError("Memory allocation error")

    monkeypatch.setattr(users, "password_hasher", lambda: FailingHasher(**TEST_ONLY_HASHER_PARAMETERS))
    with caplog.at_level(logging.WARNING, logger="cartrial.store.auth"):
        assert authenticate(study.service, "dm", password=TEST_PASSWORD).username == "dm"
    assert user_row(study, "dm")["password_hash"] == weak
    (message,) = rehash_warnings(caplog)
    assert_warning_names_nothing(message, "HashingError", weak, TEST_PASSWORD, "Memory allocation")
    assert not [row for row in audit_rows(study) if row["reason"] == REHASH_REASON]


def test_a_read_only_file_named_by_a_sqlite_uri_signs_in_without_rewriting(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`connect` leaves a ``file:`` URI as it is given (no writability check): a read-only archived file
    named that way is still recognised, and no re-hash is attempted (docs/security.md)."""
    study, path = sqlite_study(sqlite_template, tmp_path)
    weak = store_weak_hash(study, monkeypatch)
    study.service.engine.dispose()
    url = f"sqlite:///file:{path}?uri=true"
    assert not database.opened_read_only(connect(url))  # writable: the re-hash would be made
    content = path.read_bytes()
    with read_only(path, folder=False):
        assert database.opened_read_only(connect(url))
        with monkeypatch.context() as patch:
            calls = forbid_rehash_attempts(patch)
            assert authenticate(url, "dm", password=TEST_PASSWORD).username == "dm"
        assert calls == []
        assert path.read_bytes() == content
    assert user_row(study, "dm")["password_hash"] == weak


IMMUTABLE_VALUES = [
    "1",
    "2",
    "yes",
    "YES",
    "on",
    "On",
    "TRUE",
    "true",
    "0",
    "no",
    "off",
    "False",
    "full",
    "256",
]
"""SQLite's true spellings (any case, any non-zero number) and false ones (``256`` is 0 as 8 bits)."""


@pytest.mark.parametrize("value", IMMUTABLE_VALUES)
def test_opened_read_only_reads_immutable_as_sqlite_does(
    sqlite_template: Path, tmp_path: Path, value: str
) -> None:
    """The oracle is SQLite itself: a write through a connection opened with the same URI parameter is
    refused exactly when `opened_read_only` says the engine opens the file read-only."""
    path = tmp_path / "study.db"
    copy_sqlite_file(sqlite_template, path)
    raw = sqlite3.connect(f"file:{path}?immutable={value}", uri=True, isolation_level=None)
    try:
        raw.execute("CREATE TABLE probe (x)")
        refused = False
    except sqlite3.OperationalError as exc:
        assert "readonly" in str(exc)
        refused = True
    finally:
        raw.close()
    engine = connect(f"sqlite:///file:{path}?uri=true&immutable={value}")
    assert database.opened_read_only(engine) is refused
    engine.dispose()


def _weak_hash_on_a_keyed_study_without_its_key(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """The arguments of a `cartrial` run that logs the key-wait warning (`WAITS_FOR_KEY`) once."""
    study, _path = sqlite_study(sqlite_template, tmp_path)
    key_file = tmp_path / "audit.key"
    key_file.write_text(secrets.token_hex(32))
    monkeypatch.setenv("CARTRIAL_AUDIT_KEY_FILE", str(key_file))
    store_weak_hash(study, monkeypatch)
    study.service.engine.dispose()
    monkeypatch.delenv("CARTRIAL_AUDIT_KEY_FILE")
    return ["audit", "log", "--url", study.url, "--user", "dm", "--json"]


def test_the_cli_prints_a_rehash_warning_on_stderr_once_and_keeps_stdout_clean(
    sqlite_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A CLI user sees the warning as the commands print theirs (``warning: …`` on stderr), once per
    warning however often `main` runs in one process (D-19.541's trap); ``--json`` output stays parseable."""
    from cartrial.cli import main

    args = _weak_hash_on_a_keyed_study_without_its_key(sqlite_template, tmp_path, monkeypatch)
    capsys.readouterr()
    for run in range(3):
        monkeypatch.setattr(auth, "_key_wait_logged", False)  # as a new process: the warning is due again
        assert main(args) == 0
        out, err = capsys.readouterr()
        json.loads(out)
        assert err == "warning: " + WAITS_FOR_KEY.format("ConfigurationError") + "\n", (run, err)
    handlers = [h for h in logging.getLogger("cartrial").handlers if type(h).__name__ == "_WarningLine"]
    assert len(handlers) == 1


def test_an_application_that_configured_logging_sees_a_cli_warning_once(
    sqlite_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """D-19.601: an application whose root logger writes to stderr (the handler `logging.basicConfig`
    installs) and that runs `cartrial.cli.main` in-process saw each warning twice — its own line and the
    CLI's ``warning: …`` (the record propagates from ``cartrial`` to the root). Now once, in the
    application's format; the record still reaches the application's handler."""
    from cartrial.cli import main

    args = _weak_hash_on_a_keyed_study_without_its_key(sqlite_template, tmp_path, monkeypatch)
    warning = WAITS_FOR_KEY.format("ConfigurationError")
    capsys.readouterr()
    root = logging.getLogger()
    configured = logging.StreamHandler(sys.stderr)  # what logging.basicConfig() adds, its format too
    configured.setFormatter(logging.Formatter(logging.BASIC_FORMAT))
    root.addHandler(configured)
    try:
        for run in range(2):
            monkeypatch.setattr(auth, "_key_wait_logged", False)
            assert main(args) == 0
            out, err = capsys.readouterr()
            json.loads(out)
            assert err == f"WARNING:cartrial.store.auth:{warning}\n", (run, err)
    finally:
        root.removeHandler(configured)
    monkeypatch.setattr(auth, "_key_wait_logged", False)  # and without it: the CLI's own line, once
    assert main(args) == 0
    assert capsys.readouterr().err == f"warning: {warning}\n"


def test_a_cli_warning_captured_by_a_handler_off_the_terminal_is_still_printed_once(
    sqlite_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A handler that does not write to the terminal (pytest's caplog, a log file) gets the record, and the
    CLI user still sees the warning on stderr, once (D-19.601)."""
    from cartrial.cli import main

    args = _weak_hash_on_a_keyed_study_without_its_key(sqlite_template, tmp_path, monkeypatch)
    warning = WAITS_FOR_KEY.format("ConfigurationError")
    capsys.readouterr()
    with caplog.at_level(logging.WARNING):
        assert main(args) == 0
    assert capsys.readouterr().err == f"warning: {warning}\n"
    assert [(r.name, r.getMessage()) for r in caplog.records] == [("cartrial.store.auth", warning)]


@pytest.mark.parametrize("configured", [True, False])
def test_a_python_program_running_the_cli_sees_a_warning_once(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, configured: bool
) -> None:
    """The same in a program of its own (no pytest handler on the root): with `logging.basicConfig()` the
    warning is its line, without it the CLI's ``warning: …`` (D-19.601)."""
    import subprocess

    args = _weak_hash_on_a_keyed_study_without_its_key(sqlite_template, tmp_path, monkeypatch)
    program = (
        "import logging, sys\n"
        + ("logging.basicConfig()\n" if configured else "")
        + "from cartrial.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    json.loads(done.stdout)
    warning = WAITS_FOR_KEY.format("ConfigurationError")
    expected = f"WARNING:cartrial.store.auth:{warning}\n" if configured else f"warning: {warning}\n"
    assert done.stderr == expected
