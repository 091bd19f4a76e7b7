"""`cartrial.store.users`: new users and sites, roles, passwords (argon2id, never audited in clear)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from cartrial.errors import InputError
from cartrial.store import users


def test_new_user_values_are_checked_and_the_password_hashed() -> None:
    values = users.new_user("alice", "monitor", None, "correct horse battery", "Alice A")
    assert values["password_hash"].startswith("$argon2id$")
    assert users.password_matches(values["password_hash"], "correct horse battery")
    assert not users.password_matches(values["password_hash"], "wrong")
    assert not users.password_matches(None, "x") and not users.password_matches("not a hash", "x")
    with pytest.raises(InputError, match="unknown role"):
        users.new_user("bob", "superuser", None, None, None)
    with pytest.raises(InputError, match="investigator needs a site"):
        users.new_user("bob", "investigator", None, None, None)
    with pytest.raises(InputError, match="empty password"):
        users.hash_password("")


def test_set_password_is_audited_masked(study) -> None:
    admin = study.service.as_user("admin")
    with admin.transaction("cli", "reset") as tx:
        users.set_password(tx, "mon", "s3cret-pass-phrase", "reset")
    assert study.service.verify_password("mon", "s3cret-pass-phrase")
    last = admin.audit_rows()[-1]
    # every test user already has a password (tests/conftest.py TEST_PASSWORD): old and new are both masked
    assert last["field"] == "password_hash"
    # old and new are fingerprints (D-19.360), never the hash, and they differ (a new salt at least)
    pattern = r'"<set sha256:[0-9a-f]{32}>"'
    assert re.fullmatch(pattern, last["old_value"]) and re.fullmatch(pattern, last["new_value"])
    assert last["old_value"] != last["new_value"]
    with study.service.engine.connect() as connection:
        stored = connection.execute(
            text("SELECT password_hash FROM app_user WHERE username = 'mon'")
        ).scalar()
    assert stored not in last["new_value"] and "argon2" not in last["new_value"]
