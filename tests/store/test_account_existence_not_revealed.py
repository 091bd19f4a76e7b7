"""A role that may not manage users learns nothing of the accounts from a write it may not make
(D-19.910, D-19.911): adding a user, changing one or setting another's password is refused with the same
permission error whether the name is taken, the account exists or not. Adding ``INV2`` as a monitor used to
answer "user name 'INV2' is taken by user 'inv2'" (the name looked up before the permission), and setting
or changing an unknown account's password or role answered "unknown user" where a known one was refused."""

from __future__ import annotations

import pytest

from cartrial.errors import InputError, PermissionDeniedError

NOT_USER_ADMINS = ("mon", "dm", "inv", "stat")
PASSWORD = "a-long-enough-pass-phrase-42"


@pytest.mark.parametrize("actor", NOT_USER_ADMINS)
def test_adding_a_user_is_refused_before_the_name_is_looked_up(study, actor: str) -> None:
    handle = study.service.as_user(actor)
    for name in ("INV2", "inv2", "nobody-here"):
        with pytest.raises(PermissionDeniedError, match="may not manage users") as refused:
            handle.add_user(name, "monitor", None, PASSWORD)
        assert "taken" not in str(refused.value)
        assert "inv2" not in str(refused.value).lower()
    # the generic record insert too
    for name in ("INV2", "nobody-here"):
        with pytest.raises(PermissionDeniedError, match="may not manage users"):
            handle.insert_record("app_user", {"username": name, "role": "monitor"})


@pytest.mark.parametrize("actor", NOT_USER_ADMINS)
def test_another_account_is_refused_alike_whether_it_exists(study, actor: str) -> None:
    handle = study.service.as_user(actor)
    for target in ("inv2", "nobody-here"):
        with pytest.raises(PermissionDeniedError, match="may not manage users"):
            handle.set_password(target, PASSWORD, "rotate")
        with pytest.raises(PermissionDeniedError, match="may not manage users"):
            handle.set_role(target, "monitor", "promotion")
        with pytest.raises(PermissionDeniedError, match="may not manage users"):
            handle.set_active(target, False, "left")


def test_own_password_and_the_administrator_still_work(study) -> None:
    study.service.as_user("mon").set_password("mon", PASSWORD)  # one's own: no MANAGE_USERS needed
    admin = study.service.as_user("admin")
    with pytest.raises(InputError, match="unknown user"):
        admin.set_password("nobody-here", PASSWORD, "rotate")
    from cartrial.errors import ConflictError

    with pytest.raises(ConflictError, match="the user name is taken"):
        admin.add_user("INV2", "monitor", None, PASSWORD)


def test_the_cli_user_add_answers_a_monitor_without_the_name(sqlite_study, cli) -> None:
    answer = cli("db", "user", "add", "INV2", "--role", "monitor", "--user", "mon", "--url", sqlite_study.url)
    assert answer.exit_code == 2, answer.stdout
    assert "may not manage users" in answer.stderr
    assert "taken" not in answer.stderr and "inv2" not in answer.stderr
