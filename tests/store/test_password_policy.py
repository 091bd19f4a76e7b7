"""One password policy on every path that sets a password (decisions D-19.45; NIST SP 800-63B-4 §3.1.1.2):
15 to 256 characters counted as Unicode code points, no composition rule, not the user name, not a common
password. Refused with field ``password`` and the rule; the password itself is never in a message."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import InputError
from cartrial.store import init_study, users
from cartrial.store.auth import authenticate

from ..conftest import run_cartrial
from .conftest import PROTOCOL, StudyDb

SHORT = "fourteen-chars"  # 14 characters
assert len(SHORT) == 14


@pytest.mark.parametrize(
    ("password", "username", "message"),
    [
        (SHORT, "alice", "too short"),
        ("", "alice", "too short"),
        ("x" * 14 + "é", "alice", None),  # 15 code points (16 bytes in UTF-8)
        ("密码" * 7, "alice", "too short"),  # 14 code points, 42 bytes: code points count, not bytes
        ("fifteen chars!!", "alice", None),
        ("a" + "b" * 255, "alice", None),  # 256
        ("a" + "b" * 256, "alice", "too long"),  # 257
        ("no digits or capitals at all", "alice", None),  # no composition rule
        ("Administrator-1", "administrator-1", "the user name"),  # compared without case
        ("PasswordPassword", "alice", "common password"),
        ("zzzzzzzzzzzzzzzz", "alice", "one character repeated"),
    ],
)
def test_the_policy(password: str, username: str, message: str | None) -> None:
    problem = users.password_problem(password, username)
    if message is None:
        assert problem is None
        return
    assert problem is not None and message in problem.message
    assert problem.field == "password" and problem.value is None
    assert problem.allowed == users.PASSWORD_RULE and "15 to 256 characters" in problem.allowed
    if password:
        assert password not in str(InputError(problem))


def test_new_user_and_set_password_apply_the_policy(study: StudyDb) -> None:
    """`StudyService.add_user` and `set_password` (the store calls every front end uses) set any password;
    a short one, or one equal to the user name, was stored as given."""
    with pytest.raises(InputError, match="too short") as caught:
        study.service.add_user("admin", "newbie", "monitor", password=SHORT)
    assert SHORT not in str(caught.value)
    with pytest.raises(InputError, match="the user name"):
        study.service.add_user("admin", "newbie-monitor-1", "monitor", password="Newbie-Monitor-1")
    assert "newbie" not in {u["username"] for u in study.service.find_records("admin", "app_user")}
    with pytest.raises(InputError, match="too short"):
        study.service.set_password("admin", "mon", SHORT, "reset")
    with pytest.raises(InputError, match="too short"):
        study.service.set_password("mon", "mon", SHORT)
    assert authenticate(study.service, "mon", password="test-password-0123").username == "mon"


def test_db_init_refuses_a_short_admin_password_before_creating_anything(tmp_path: Path) -> None:
    path = tmp_path / "study.db"
    with pytest.raises(InputError, match="too short") as caught:
        init_study(f"sqlite:///{path}", PROTOCOL, "admin", admin_password=SHORT)
    assert SHORT not in str(caught.value) and not path.exists()
    with pytest.raises(InputError, match="too short"):  # an empty one was silently "no password"
        init_study(f"sqlite:///{path}", PROTOCOL, "admin", admin_password="")


def test_every_cli_path_that_sets_a_password_refuses_a_short_one(
    study: StudyDb, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`db init` (CARTRIAL_PASSWORD_FILE), `db user add --password`, `db user password` and `password`
    (CARTRIAL_NEW_PASSWORD_FILE): exit 2, the rule named, the password never shown."""
    short = tmp_path / "short"
    short.write_text(SHORT + "\n")
    url = ["--url", study.url]
    monkeypatch.setenv("CARTRIAL_NEW_PASSWORD_FILE", str(short))
    runs = [
        ("db", "user", "add", "newbie", "--role", "monitor", "--password", "--user", "admin", *url),
        ("db", "user", "password", "mon", "--user", "admin", *url),
        ("password", "--user", "admin", "--for", "mon", *url),
        ("password", "--user", "dm", *url),
    ]
    for args in runs:
        code, out, err = run_cartrial(*args, capsys=capsys).astuple()
        assert code == 2 and "password: the password is too short (14 characters)" in err, (args, err)
        assert "15 to 256 characters" in err and SHORT not in out + err
    monkeypatch.setenv("CARTRIAL_PASSWORD_FILE", str(short))
    target = tmp_path / "new.db"
    code, out, err = run_cartrial(
        "db",
        "init",
        "--url",
        f"sqlite:///{target}",
        "--protocol",
        str(PROTOCOL),
        "--admin",
        "alice",
        capsys=capsys,
    ).astuple()
    assert code == 2 and "too short" in err and SHORT not in out + err and not target.exists()


# D-19.109: one Unicode normalisation (NFKC) before a password is checked, hashed or verified
# (NIST SP 800-63B-4 §3.1.1.2: the normalisation process for stabilised strings, NFKC or NFKD).
COMPOSED = "caf\u00e9 au lait, deux sucres"  # "é" as one code point (what most keyboards type)
DECOMPOSED = "cafe\u0301 au lait, deux sucres"  # "e" + combining acute (what some systems send)
FULL_WIDTH = "\uff26\uff55\uff4c\uff4c-width password 1"  # "Full" in full-width forms
assert COMPOSED != DECOMPOSED


def test_the_same_characters_in_another_unicode_form_sign_in(study: StudyDb) -> None:
    """A password set in one Unicode form signs in when typed in another: it was hashed as given, so a
    password set on one system was refused on another that sends "é" decomposed."""
    study.service.set_password("admin", "mon", COMPOSED, "reset")
    assert authenticate(study.service, "mon", password=DECOMPOSED).username == "mon"
    assert study.service.verify_password("mon", DECOMPOSED)
    study.service.set_password("admin", "mon", FULL_WIDTH, "reset")
    assert authenticate(study.service, "mon", password="Full-width password 1").username == "mon"
    assert not study.service.verify_password("mon", "full-width password 1")  # case still counts


def test_a_hash_stored_before_normalisation_still_verifies() -> None:
    """A hash of the password exactly as typed (stored before D-19.109) keeps working, in that form only."""
    legacy = users.password_hasher().hash(DECOMPOSED)
    assert users.password_matches(legacy, DECOMPOSED)
    assert users.password_matches(users.hash_password(DECOMPOSED), COMPOSED)
    assert not users.password_matches(legacy, "cafe au lait, deux sucres")


def test_the_policy_counts_normalised_code_points() -> None:
    """Length, the user-name rule and the repeated-character rule read the normalised password: 15
    full-width "Ａ" are one character repeated, and "e" + combining acute is one character."""
    assert "one character repeated" in users.password_problem("\uff21" * 15, "alice").message  # type: ignore[union-attr]
    assert "too short" in users.password_problem("e\u0301" * 13 + "x", "alice").message  # type: ignore[union-attr]
    assert "the user name" in users.password_problem("\uff21dministrator-1", "administrator-1").message  # type: ignore[union-attr]


@settings(max_examples=property_examples(15), deadline=None)
@given(st.text(min_size=1, max_size=24))
def test_every_unicode_form_of_a_password_verifies(password: str) -> None:
    """Property: a password's NFC, NFD, NFKC and NFKD forms all verify against its hash."""
    import unicodedata

    stored = users.hash_password(password)
    for form in ("NFC", "NFD", "NFKC", "NFKD"):
        assert users.password_matches(stored, unicodedata.normalize(form, password))


def test_the_user_name_rule_folds_names_as_user_names_are_folded() -> None:
    """The password-equals-name rule compares as user names are compared (`username_fold`): a full-width
    or case variant of the name, on either side, is the name."""
    for password, username in [
        ("ＡＤＭＩＮＩＳＴＲＡＴＯＲ-1", "administrator-1"),
        ("administrator-1", "ＡＤＭＩＮＩＳＴＲＡＴＯＲ-1"),
        ("STRASSE-STRASSE", "straße-straße"),
    ]:
        assert users.username_fold(password) == users.username_fold(username)
        assert "the user name" in users.password_problem(password, username).message  # type: ignore[union-attr]
