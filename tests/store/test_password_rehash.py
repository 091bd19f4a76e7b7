"""A password sign-in re-hashes a stored hash made with other parameters than `users.password_hasher`
(argon2-cffi `PasswordHasher.check_needs_rehash`; OWASP Password Storage Cheat Sheet), audited as a password
change is, so that `audit verify` stays OK (decision D-19.544).

The suite's hasher is the test-only argon2id hasher (`tests/conftest.py`, `TEST_ONLY_HASHER_PARAMETERS`:
t=1, m=8 KiB, p=1, argon2's minimum work), so the "weaker" hash here is argon2i with those costs (what an
older tool stored); the production parameters are checked end to end in
tests/store/test_password_hashing.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher, Type, extract_parameters
from sqlalchemy import text

from cartrial.store import StudyService, auth, connect, users
from cartrial.store.auth import AuthenticationError, authenticate
from cartrial.store.tables import masked
from cartrial.store.tamper import verify_complete
from cartrial.store.transaction import open_transaction

from ..conftest import TEST_ONLY_HASHER_PARAMETERS, TEST_PASSWORD, copy_sqlite_file
from .conftest import StudyDb

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


def audit_rows(db: StudyDb) -> list[dict[str, Any]]:
    with db.service.engine.connect() as connection:
        return [dict(r) for r in connection.execute(text("SELECT * FROM audit_log ORDER BY id")).mappings()]


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
    store_weak_hash(study, monkeypatch)
    study.service.as_user("admin").set_active("dm", False, "left the study")
    before = user_row(study, "dm")
    with pytest.raises(AuthenticationError):
        authenticate(study.service, "dm", password=TEST_PASSWORD)
    assert user_row(study, "dm") == before


def test_a_password_changed_meanwhile_is_never_overwritten(
    study: StudyDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The re-hash replaces only the hash that was verified: a sign-in with the old password racing an
    admin's password change cannot bring the old password back."""
    weak = store_weak_hash(study, monkeypatch)
    study.service.set_password("admin", "dm", "a brand new password for dm", "reset by the admin")
    before = user_row(study, "dm")
    with open_transaction(study.service.engine, "dm", "authentication", REHASH_REASON) as tx:
        assert users.rehash_password(tx, "dm", TEST_PASSWORD, weak, REHASH_REASON) is False
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
        assert not os.access(path, os.W_OK) or not path.stat().st_mode & 0o222
        user = authenticate(study.url, "dm", password=TEST_PASSWORD)
        assert (user.username, user.method) == ("dm", "password")
        assert path.read_bytes() == content
    assert user_row(study, "dm")["password_hash"] == weak
    assert authenticate(study.url, "dm", password=TEST_PASSWORD).username == "dm"  # writable again
    assert extract_parameters(user_row(study, "dm")["password_hash"]).type is Type.ID
    study.service.engine.dispose()


def test_a_failed_rehash_write_does_not_fail_the_login(
    study: StudyDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever keeps the re-hash from being written (a read-only PostgreSQL role, a lock held too long),
    the password was right: the user signs in and the stored hash stays as it was."""
    from cartrial.store.database import DatabaseError

    weak = store_weak_hash(study, monkeypatch)

    def refuse(*_: Any, **__: Any) -> bool:
        raise DatabaseError("the database refused the operation")

    monkeypatch.setattr(users, "rehash_password", refuse)
    assert auth.authenticate(study.service, "dm", password=TEST_PASSWORD).username == "dm"
    assert user_row(study, "dm")["password_hash"] == weak
