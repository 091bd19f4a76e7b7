"""Password hashes with the production parameters, end to end (decision D-19.488).

The test suite hashes passwords with a test-only argon2id hasher (`tests/conftest.py`,
`_test_only_password_hasher`: minimum work) because every CLI command that acts as a user verifies a
password; these tests restore the shipped hasher (`production_password_hasher`) and check that a study's
users are stored with, and signed in against, the RFC 9106 low-memory profile (argon2-cffi's default)."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher, Type, extract_parameters
from argon2.profiles import RFC_9106_LOW_MEMORY
from sqlalchemy import create_engine, text

from cartrial.store import StudyService, auth, connect, users

from ..conftest import TEST_ONLY_HASHER_PARAMETERS, TEST_PASSWORD, Cli
from .conftest import PROTOCOL


def _stored_hashes(url: str) -> dict[str, str]:
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT username, password_hash FROM app_user")).all()
    engine.dispose()
    return {row.username: row.password_hash for row in rows}


def test_the_shipped_hasher_is_the_rfc_9106_low_memory_argon2id(production_password_hasher: None) -> None:
    stored = users.hash_password("correct horse battery staple")
    assert extract_parameters(stored) == RFC_9106_LOW_MEMORY
    parameters = extract_parameters(stored)
    # the documented production values (`users.password_hasher`, decision D-19.488), written out
    assert (parameters.time_cost, parameters.memory_cost, parameters.parallelism, parameters.type) == (
        3,
        65536,
        4,
        Type.ID,
    )
    assert users.password_matches(stored, "correct horse battery staple")
    assert not users.password_matches(stored, "correct horse battery stapler")


def test_users_act_end_to_end_with_production_hashes(
    production_password_hasher: None, tmp_path: Path, cli: Cli
) -> None:
    """`db init` and `db user add` store RFC 9106 low-memory hashes; the user then signs in with the
    password (a login session, and a read command by the password file); a wrong password and an unknown
    user are refused."""
    url = f"sqlite:///{tmp_path / 'study.db'}"
    assert cli("db", "init", "--url", url, "--protocol", str(PROTOCOL), "--admin", "alice")[0] == 0
    add = ("db", "user", "add", "--password", "--url", url, "--user", "alice")
    assert cli(*add, "sue", "--role", "statistician")[0] == 0
    hashes = _stored_hashes(url)
    assert set(hashes) == {"alice", "sue"}
    assert all(extract_parameters(stored) == RFC_9106_LOW_MEMORY for stored in hashes.values())
    assert users.password_matches(hashes["sue"], TEST_PASSWORD)

    assert cli("db", "summary", "--url", url, "--user", "sue").exit_code == 0
    assert cli("login", "--url", url, "--user", "sue").exit_code == 0
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password-of-sue\n")
    wrong.chmod(0o600)
    refused = cli(
        "db", "summary", "--url", url, "--user", "alice", env={"CARTRIAL_PASSWORD_FILE": str(wrong)}
    )
    assert refused.exit_code == 2
    assert "wrong user name or password" in refused.stderr
    unknown = cli("db", "summary", "--url", url, "--user", "nobody")  # verified against the dummy hash
    assert unknown.exit_code == 2
    assert "wrong user name or password" in unknown.stderr
    assert "nobody" not in unknown.stdout
    # the fixture emptied the dummy-hash cache, so its entry was made in this test: production parameters
    assert extract_parameters(auth._DUMMY_HASH[0]) == RFC_9106_LOW_MEMORY


def test_a_login_upgrades_a_weaker_stored_hash_to_the_production_parameters(
    production_password_hasher: None, tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hash stored with weaker parameters (argon2id t=1, m=8 KiB, p=1: an older release or another tool)
    is replaced at the next sign-in by an RFC 9106 low-memory hash of the same password, audited so that
    `audit verify` stays OK; the password keeps working and the new hash is not rewritten again
    (decision D-19.544)."""
    url = f"sqlite:///{tmp_path / 'study.db'}"
    assert cli("db", "init", "--url", url, "--protocol", str(PROTOCOL), "--admin", "alice")[0] == 0
    add = ("db", "user", "add", "--password", "--url", url, "--user", "alice")
    assert cli(*add, "sue", "--role", "statistician")[0] == 0
    production = users.password_hasher
    with monkeypatch.context() as patch:  # sue's password set through the audited change, weakly hashed
        patch.setattr(
            users, "password_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        )
        service = StudyService(connect(url))
        service.set_password("sue", "sue", TEST_PASSWORD, "set by an older release")
        service.engine.dispose()
    assert users.password_hasher is production
    weak = _stored_hashes(url)["sue"]
    weak_parameters = extract_parameters(weak)
    assert (weak_parameters.time_cost, weak_parameters.memory_cost, weak_parameters.parallelism) == (1, 8, 1)

    assert cli("login", "--url", url, "--user", "sue").exit_code == 0
    rehashed = _stored_hashes(url)["sue"]
    assert rehashed != weak and extract_parameters(rehashed) == RFC_9106_LOW_MEMORY
    assert users.password_matches(rehashed, TEST_PASSWORD)
    verify = cli("audit", "verify", "--url", url)
    assert verify.exit_code == 0, verify.output
    assert weak not in verify.output and rehashed not in verify.output
    assert cli("db", "summary", "--url", url, "--user", "sue").exit_code == 0
    assert _stored_hashes(url)["sue"] == rehashed  # a current hash is not rewritten


def test_the_suite_hashes_with_the_test_only_hasher() -> None:
    """Without `production_password_hasher` a hash has the test-only parameters (what keeps `make test`
    within its budget); verification reads them from the hash."""
    stored = users.hash_password(TEST_PASSWORD)
    parameters = extract_parameters(stored)
    assert (parameters.time_cost, parameters.memory_cost, parameters.parallelism) == tuple(
        TEST_ONLY_HASHER_PARAMETERS.values()
    )
    assert parameters.type is Type.ID
    assert users.password_matches(stored, TEST_PASSWORD) and not users.password_matches(stored, "x" * 16)
