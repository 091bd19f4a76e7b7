"""`cartrial password` for one's own account needs the current password, as the web does since D-19.818
(D-19.838). Verified 2026-12-07 before the change: with only a login session kept in the user's session
file (no password file, no terminal), `cartrial password --user dm` set dm's password: whoever held the
session (a copied sessions.json) could set a password of their choosing and keep the account. An
administrator setting another user's password still needs only to be signed in (the reset of a
forgotten password, as on the web)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from cartrial.store.auth import AuthenticationError, authenticate

from ..conftest import run_cartrial
from .conftest import StudyDb

PASSWORD = "test-password-0123"  # tests/conftest.py TEST_PASSWORD
NEW = "a-brand-new-secret-for-dm"
WRONG = "Wrong-Secret-987"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    return run_cartrial(*args, capsys=capsys).astuple()


def _new_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str = NEW) -> None:
    new = tmp_path / "new"
    new.write_text(value + "\n")
    monkeypatch.setenv("CARTRIAL_NEW_PASSWORD_FILE", str(new))


def _signed_in_by_session_only(
    study: StudyDb, user: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _out, err = cli(capsys, "login", "--user", user, "--url", study.url)
    assert code == 0, err
    monkeypatch.delenv("CARTRIAL_PASSWORD_FILE")  # from now on only the session authenticates


def test_ones_own_password_is_not_changed_with_a_session_alone(
    study: StudyDb, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _signed_in_by_session_only(study, "dm", capsys, monkeypatch)
    _new_password(tmp_path, monkeypatch)
    code, out, err = cli(capsys, "password", "--user", "dm", "--url", study.url)
    assert code == 2, out + err
    assert "current password" in err
    assert authenticate(study.service, "dm", password=PASSWORD).username == "dm"  # unchanged
    with pytest.raises(AuthenticationError):
        authenticate(study.service, "dm", password=NEW)
    # nor by naming oneself as the target
    code, out, err = cli(capsys, "password", "--user", "dm", "--for", "dm", "--url", study.url)
    assert code == 2 and "current password" in err
    code, out, err = cli(capsys, "db", "user", "password", "dm", "--user", "dm", "--url", study.url)
    assert code == 2 and "current password" in err
    assert authenticate(study.service, "dm", password=PASSWORD).username == "dm"


def test_a_wrong_current_password_is_a_failed_sign_in(
    study: StudyDb, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _signed_in_by_session_only(study, "dm", capsys, monkeypatch)
    wrong = tmp_path / "wrong"
    wrong.write_text(WRONG)
    monkeypatch.setenv("CARTRIAL_PASSWORD_FILE", str(wrong))
    _new_password(tmp_path, monkeypatch)
    code, out, err = cli(capsys, "password", "--user", "dm", "--url", study.url)
    assert code == 2 and WRONG not in out + err
    assert authenticate(study.service, "dm", password=PASSWORD).username == "dm"
    with study.service.engine.connect() as connection:
        actions = (
            connection.execute(
                text(
                    "SELECT action FROM audit_log WHERE username = 'dm' AND action LIKE 'login%' ORDER BY id"
                )
            )
            .scalars()
            .all()
        )
    assert actions[-1] == "login_failed"


def test_the_current_password_changes_it(
    study: StudyDb, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a session kept and the current password given as well: changed."""
    _signed_in_by_session_only(study, "dm", capsys, monkeypatch)
    current = tmp_path / "current"
    current.write_text(PASSWORD)
    monkeypatch.setenv("CARTRIAL_PASSWORD_FILE", str(current))
    _new_password(tmp_path, monkeypatch)
    code, _out, err = cli(capsys, "password", "--user", "dm", "--url", study.url)
    assert code == 0, err
    assert authenticate(study.service, "dm", password=NEW).username == "dm"


def test_an_admin_resets_another_users_password_signed_in(
    study: StudyDb, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _signed_in_by_session_only(study, "admin", capsys, monkeypatch)
    _new_password(tmp_path, monkeypatch, "a-brand-new-secret-for-mon")
    code, _out, err = cli(capsys, "password", "--user", "admin", "--for", "mon", "--url", study.url)
    assert code == 0, err
    assert authenticate(study.service, "mon", password="a-brand-new-secret-for-mon").username == "mon"
