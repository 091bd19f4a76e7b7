"""A failed password attempt on a study whose audit trail is keyed (D-19.366), made by a process without the
key (`CARTRIAL_AUDIT_KEY_FILE` unset, naming another key, or a file that cannot be read): the answer is the
same `AuthenticationError` as anywhere else — never the key error, which would tell a wrong password from a
right one —, the failure is counted in `auth_throttle` (so throttling applies), and the `login_failed` /
`login_throttled` row that cannot be sealed is skipped with one warning naming only the kind of failure
(decision D-19.558)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
from pathlib import Path

import pytest
from sqlalchemy import text

from cartrial.errors import ConfigurationError
from cartrial.store.audit import row_mac
from cartrial.store.auth import FREE_FAILURES, AuthenticationError, authenticate, create_session
from cartrial.store.tamper import verify_complete

from ..conftest import TEST_PASSWORD
from .conftest import KEY_PROBLEMS, StudyDb, audit_rows, withhold_audit_key

WRONG = "Wrong-Secret-987"
WRONG_PASSWORD = "authentication failed: wrong user name or password, or the user is inactive"
"""The whole answer to a wrong password (written out: the test's own statement of the rule)."""
NOT_AUDITED = (
    "a sign-in attempt ({}) was not audited: CARTRIAL_AUDIT_KEY_FILE does not give a key this study's "
    "audit trail accepts ({}); a failed attempt is still counted for throttling"
)
"""The whole warning of a failed attempt whose audit row could not be sealed (D-19.558)."""


def throttle(db: StudyDb) -> dict[str, int]:
    with db.service.engine.connect() as connection:
        rows = connection.execute(text("SELECT username, failures FROM auth_throttle")).all()
    return {str(r[0]): int(r[1]) for r in rows}


def unlock(db: StudyDb) -> None:
    """End the stored wait (as if it had passed) without forgetting the count."""
    with db.service.engine.begin() as connection:
        connection.execute(text("UPDATE auth_throttle SET locked_until = :t"), {"t": dt.datetime(2000, 1, 1)})


def auth_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "cartrial.store.auth" and r.levelno == logging.WARNING
    ]


@pytest.mark.parametrize("key_problem", KEY_PROBLEMS)
def test_a_wrong_password_without_the_key_is_refused_counted_and_throttled(
    study: StudyDb,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    key_problem: str,
) -> None:
    key_file = tmp_path / "audit.key"
    key_file.write_text(secrets.token_hex(32))  # what `cartrial audit keygen` writes
    key = key_file.read_text().strip()
    monkeypatch.setenv("CARTRIAL_AUDIT_KEY_FILE", str(key_file))
    with pytest.raises(AuthenticationError) as with_key:  # with the key: audited as before, keying the trail
        authenticate(study.service, "mon", password=WRONG)
    assert str(with_key.value) == WRONG_PASSWORD
    last = audit_rows(study)[-1]
    assert (last["username"], last["action"]) == ("mon", "login_failed")
    assert last["row_mac"] == row_mac(key.encode(), last["row_hash"])
    trail = audit_rows(study)

    withhold_audit_key(key_problem, tmp_path, monkeypatch)
    with caplog.at_level(logging.WARNING, logger="cartrial.store.auth"):
        for n in range(1, FREE_FAILURES + 1):
            with pytest.raises(AuthenticationError) as caught:
                authenticate(study.service, "dm", password=WRONG)
            assert str(caught.value) == WRONG_PASSWORD  # the same answer as with the key, no key error
            assert throttle(study)["dm"] == n  # counted, though not audited
        with pytest.raises(AuthenticationError, match=r"^authentication failed; too many.* in 2 s$"):
            authenticate(study.service, "dm", password=WRONG)
        assert throttle(study)["dm"] == FREE_FAILURES + 1
        with pytest.raises(AuthenticationError, match="try again in"):  # waiting: even the right password
            authenticate(study.service, "dm", password=TEST_PASSWORD)
        unlock(study)
        with pytest.raises(AuthenticationError, match="try again in 4 s"):  # the wait grows
            authenticate(study.service, "dm", password=WRONG)
        assert throttle(study)["dm"] == FREE_FAILURES + 2
    assert audit_rows(study) == trail  # nothing written without the key
    warnings = auth_warnings(caplog)
    assert len(warnings) == FREE_FAILURES + 3  # one per unaudited attempt (failed or throttled)
    actions = set()
    for message in warnings:
        action = next(a for a in ("login_failed", "login_throttled") if f"({a})" in message)
        actions.add(action)
        assert re.fullmatch(re.escape(NOT_AUDITED.format(action, "ConfigurationError")), message), message
        assert not re.search(r"\bdm\b", message) and WRONG not in message and key not in message
    assert actions == {"login_failed", "login_throttled"}  # the warning says which event was not audited

    monkeypatch.setenv("CARTRIAL_AUDIT_KEY_FILE", str(key_file))  # with the key again: audited as before
    unlock(study)
    with pytest.raises(AuthenticationError, match="try again in 8 s"):
        authenticate(study.service, "dm", password=WRONG)
    last = audit_rows(study)[-1]
    assert (last["username"], last["action"]) == ("dm", "login_failed")
    assert json.loads(last["new_value"]) == {"failures": FREE_FAILURES + 3}  # the unaudited ones counted
    assert last["row_mac"] == row_mac(key.encode(), last["row_hash"])
    unlock(study)
    assert authenticate(study.service, "dm", password=TEST_PASSWORD).username == "dm"
    assert "dm" not in throttle(study)  # a success resets the count
    assert verify_complete(study.service).ok


def test_a_right_password_without_the_key_still_signs_in_and_resets_the_count(
    study: StudyDb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The oracle the rule closes: without the key a right password signs in (D-19.545) and a wrong one is
    an ordinary refusal, not a different error."""
    key_file = tmp_path / "audit.key"
    key_file.write_text(secrets.token_hex(32))
    monkeypatch.setenv("CARTRIAL_AUDIT_KEY_FILE", str(key_file))
    with pytest.raises(AuthenticationError):
        authenticate(study.service, "mon", password=WRONG)  # keys the trail
    monkeypatch.delenv("CARTRIAL_AUDIT_KEY_FILE")
    with pytest.raises(AuthenticationError) as caught:
        authenticate(study.service, "dm", password=WRONG)
    assert str(caught.value) == WRONG_PASSWORD and "CARTRIAL_AUDIT_KEY_FILE" not in str(caught.value)
    assert throttle(study)["dm"] == 1
    user = authenticate(study.service, "dm", password=TEST_PASSWORD)
    assert user.username == "dm"
    assert "dm" not in throttle(study)
    trail = audit_rows(study)
    with pytest.raises(ConfigurationError, match="audit trail is keyed"):  # unchanged: no session (and no
        create_session(study.service, user)  # `login` row) without the key (docs/security.md)
    assert audit_rows(study) == trail
    with study.service.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM auth_session")).scalar() == 0
