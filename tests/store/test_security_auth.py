"""Decisions §19: writes (and reads of identified data) need the user's password, verified against the
stored argon2id hash, or a short-lived login session; failures are throttled and audited; passwords never
appear in messages or audit rows."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
from pathlib import Path

import pytest
from sqlalchemy import text

from cartrial.store import connect
from cartrial.store.auth import (
    FREE_FAILURES,
    AuthenticationError,
    authenticate,
    create_session,
    end_session,
    throttle_delay,
)
from cartrial.store.tamper import verify_complete

from ..conftest import run_cartrial
from .conftest import StudyDb

PASSWORD = "test-password-0123"  # tests/conftest.py TEST_PASSWORD
WRONG = "Wrong-Secret-987"


def audit_actions(db: StudyDb) -> list[tuple[str, str]]:
    with db.service.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT username, action FROM audit_log WHERE action LIKE 'login%' ORDER BY id")
        ).all()
    return [(r[0], r[1]) for r in rows]


def all_audit_text(db: StudyDb) -> str:
    with db.service.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM audit_log")).all()
    return json.dumps([[str(v) for v in row] for row in rows])


def test_password_is_verified_against_the_stored_hash_and_failures_are_audited(study: StudyDb) -> None:
    user = authenticate(study.service, "dm", password=PASSWORD)
    assert (user.username, user.role, user.method) == ("dm", "data_manager", "password")
    with pytest.raises(AuthenticationError, match="wrong user name or password") as caught:
        authenticate(study.service, "dm", password=WRONG)
    assert WRONG not in str(caught.value)
    with pytest.raises(AuthenticationError):
        authenticate(study.service, "nobody", password=WRONG)
    assert audit_actions(study) == [("dm", "login_failed"), ("?", "login_failed")]
    assert WRONG not in all_audit_text(study) and PASSWORD not in all_audit_text(study)
    assert verify_complete(study.service).ok  # authentication events do not disturb the replay


def test_user_without_a_password_cannot_authenticate(study: StudyDb) -> None:
    study.service.add_user("admin", "nopass", "monitor")
    for attempt in ("", PASSWORD, "anything"):
        with pytest.raises(AuthenticationError):
            authenticate(study.service, "nopass", password=attempt)


def test_throttle_delays_then_locks_out_and_is_persisted(study: StudyDb) -> None:
    """From the third failure within the window attempts must wait (2 s, 4 s, …); meanwhile even the right
    password is refused without being checked; the state is in the database (another engine sees it)."""
    assert [throttle_delay(n).total_seconds() for n in range(1, 6)] == [0, 0, 2, 4, 8]
    for _ in range(FREE_FAILURES):
        with pytest.raises(AuthenticationError, match="wrong user name"):
            authenticate(study.url, "mon", password=WRONG)
    with pytest.raises(AuthenticationError, match="try again in 2 s"):
        authenticate(study.url, "mon", password=WRONG)
    with study.service.engine.begin() as connection:  # the wait was stored; hold it so that a slow machine
        locked_until = connection.execute(text("SELECT locked_until FROM auth_throttle")).scalar_one()
        assert locked_until is not None  # (taking more than 2 s to the next attempt) cannot end it early
        connection.execute(
            text("UPDATE auth_throttle SET locked_until = :t"),
            {"t": dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)},
        )
    with pytest.raises(AuthenticationError, match="try again"):
        authenticate(connect(study.url), "MON", password=PASSWORD)  # same user name, other case
    assert audit_actions(study)[-1] == ("?", "login_throttled")  # "MON" is no user name
    with study.service.engine.begin() as connection:
        connection.execute(text("UPDATE auth_throttle SET locked_until = :t"), {"t": dt.datetime(2000, 1, 1)})
    assert authenticate(study.service, "mon", password=PASSWORD).username == "mon"
    with study.service.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM auth_throttle")).scalar() == 0


def test_sessions_expire_when_idle_and_are_tied_to_their_database(study: StudyDb) -> None:
    user = authenticate(study.service, "stat", password=PASSWORD)
    token = create_session(study.service, user)
    assert authenticate(study.service, "stat", token=token).method == "token"
    with pytest.raises(AuthenticationError):
        authenticate(study.service, "mon", token=token)  # another user's name
    with study.service.engine.begin() as connection:
        assert connection.execute(text("SELECT count(*) FROM auth_session")).scalar() == 1
        assert token not in str(connection.execute(text("SELECT * FROM auth_session")).all())
        connection.execute(
            text("UPDATE auth_session SET last_used_at = :t"),
            {"t": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31)},
        )
    with pytest.raises(AuthenticationError, match="expired"):
        authenticate(study.service, "stat", token=token)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    return run_cartrial(*args, capsys=capsys).astuple()


def test_cli_login_session_file_logout_and_refusals(
    study: StudyDb, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = ["--url", study.url]
    code, out, err = cli(capsys, "login", "--user", "dm", *url)
    assert code == 0, err
    sessions = Path(os.environ["XDG_CONFIG_HOME"]) / "cartrial" / "sessions.json"
    assert sessions.stat().st_mode & 0o777 == 0o600
    assert PASSWORD not in sessions.read_text()
    monkeypatch.delenv("CARTRIAL_PASSWORD_FILE")  # from now on only the session authenticates
    code, out, err = cli(capsys, "db", "records", "subject", *url, "--user", "dm", "--json")
    assert code == 0, err
    assert len(json.loads(out)) == 3
    code, out, err = cli(capsys, "db", "records", "subject", *url, "--user", "mon", "--json")
    assert code == 2 and "authentication required" in err  # the session is dm's
    other = f"sqlite:///{tmp_path / 'other.db'}"
    code, out, err = cli(capsys, "db", "records", "subject", "--url", other, "--user", "dm")
    assert code == 2  # the session is tied to its database
    assert cli(capsys, "logout", *url)[0] == 0
    code, out, err = cli(capsys, "db", "records", "subject", *url, "--user", "dm")
    assert code == 2 and "authentication required" in err
    wrong = tmp_path / "wrong"
    wrong.write_text(WRONG)
    monkeypatch.setenv("CARTRIAL_PASSWORD_FILE", str(wrong))
    code, out, err = cli(capsys, "db", "site", "add", "NEW", *url, "--user", "admin")
    assert code == 2 and "authentication failed" in err and WRONG not in out + err
    assert ("admin", "login_failed") in audit_actions(study)


def test_cli_password_change(
    study: StudyDb, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    new = tmp_path / "new"
    new.write_text("a-brand-new-secret\n")
    monkeypatch.setenv("CARTRIAL_NEW_PASSWORD_FILE", str(new))
    code, _out, err = cli(capsys, "password", "--user", "inv", "--url", study.url)
    assert code == 0, err
    with pytest.raises(AuthenticationError):
        authenticate(study.service, "inv", password=PASSWORD)
    assert authenticate(study.service, "inv", password="a-brand-new-secret").username == "inv"
    assert "a-brand-new-secret" not in all_audit_text(study)
    short = tmp_path / "short"
    short.write_text("short")
    monkeypatch.setenv("CARTRIAL_NEW_PASSWORD_FILE", str(short))
    code, _out, err = cli(capsys, "password", "--user", "admin", "--for", "mon", "--url", study.url)
    assert code == 2 and "too short" in err
    assert verify_complete(study.service).ok


# -- sessions keyed with the audit key (D-19.366) ----------------------------------------------------


def _use_audit_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "audit.key"
    key_file.write_text(secrets.token_hex(32))  # what `cartrial audit keygen` writes
    key_file.chmod(0o600)
    monkeypatch.setenv("CARTRIAL_AUDIT_KEY_FILE", str(key_file))


def forge_session(db: StudyDb, username: str) -> str:
    """What a database writer without the key can do: insert a session row holding the SHA-256 of a token
    of their choosing (the unkeyed digest), for any user."""
    token = secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC)
    with db.service.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO auth_session (token_sha256, username, created_at, last_used_at, expires_at) "
                "VALUES (:digest, :user, :now, :now, :later)"
            ),
            {
                "digest": hashlib.sha256(token.encode()).hexdigest(),
                "user": username,
                "now": now,
                "later": now + dt.timedelta(hours=1),
            },
        )
    return token


def test_with_the_audit_key_a_session_row_inserted_by_sql_does_not_authenticate(
    study: StudyDb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_audit_key(tmp_path, monkeypatch)
    forged = forge_session(study, "admin")
    with pytest.raises(AuthenticationError, match="not valid"):
        authenticate(study.service, "admin", token=forged)
    # a real login still works, and what is stored is not the SHA-256 of the token
    user = authenticate(study.service, "admin", password=PASSWORD)
    token = create_session(study.service, user)
    assert authenticate(study.service, "admin", token=token).method == "token"
    with study.service.engine.connect() as connection:
        stored = {r[0] for r in connection.execute(text("SELECT token_sha256 FROM auth_session")).all()}
    assert hashlib.sha256(token.encode()).hexdigest() not in stored and len(stored) == 2
    assert end_session(study.service, token)  # logout finds the keyed row
    with pytest.raises(AuthenticationError):
        authenticate(study.service, "admin", token=token)


def test_without_a_key_sessions_are_unkeyed_and_verify_says_so(study: StudyDb) -> None:
    """Unchanged behaviour without the key (the documented limit): the SHA-256 row authenticates, and
    `audit verify` warns that sessions can be forged by a database writer."""
    forged = forge_session(study, "admin")
    assert authenticate(study.service, "admin", token=forged).username == "admin"
    result = verify_complete(study.service)
    assert any("login sessions are not keyed" in w for w in result.warnings)


def test_configuring_the_key_ends_unkeyed_sessions(
    study: StudyDb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = authenticate(study.service, "stat", password=PASSWORD)
    token = create_session(study.service, user)
    assert authenticate(study.service, "stat", token=token).method == "token"
    _use_audit_key(tmp_path, monkeypatch)
    with pytest.raises(AuthenticationError, match="log in again"):
        authenticate(study.service, "stat", token=token)


def test_cli_with_the_audit_key_refuses_a_forged_session_and_accepts_a_login(
    study: StudyDb, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from cartrial.commands.auth_commands import _write_sessions, database_key

    _use_audit_key(tmp_path, monkeypatch)
    url = ["--url", study.url]
    _write_sessions({database_key(study.url): {"username": "admin", "token": forge_session(study, "admin")}})
    monkeypatch.delenv("CARTRIAL_PASSWORD_FILE")
    code, out, err = cli(capsys, "db", "records", "subject", *url, "--user", "admin", "--json")
    assert code == 2 and "authentication required" in err
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD)
    monkeypatch.setenv("CARTRIAL_PASSWORD_FILE", str(password_file))
    code, out, err = cli(capsys, "login", "--user", "dm", *url)
    assert code == 0, err
    monkeypatch.delenv("CARTRIAL_PASSWORD_FILE")
    code, out, err = cli(capsys, "db", "records", "subject", *url, "--user", "dm", "--json")
    assert code == 0, err
    assert len(json.loads(out)) == 3


def test_a_process_without_the_key_refuses_every_session_of_a_keyed_study(
    study: StudyDb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A front end started without the key on a keyed study could otherwise accept a forged SHA-256 row
    (it cannot write there, but it could read identified data)."""
    _use_audit_key(tmp_path, monkeypatch)
    user = authenticate(study.service, "stat", password=PASSWORD)
    create_session(study.service, user)  # audited `login`: the trail is now keyed
    monkeypatch.delenv("CARTRIAL_AUDIT_KEY_FILE")
    forged = forge_session(study, "admin")
    with pytest.raises(AuthenticationError, match="keyed"):
        authenticate(study.service, "admin", token=forged)
    assert not any("login sessions are not keyed" in w for w in verify_complete(study.service).warnings)
