"""The user accounts are read only by a role that manages users (D-19.906): the store's record reads
(`find_records`, `get_record`, `page_records`, `visible_record`, `list_users`), `cartrial db user list`,
`cartrial db records app_user` and a data query on an account refuse every role without MANAGE_USERS, as
the web's ``/api/v1/users`` and users page do and as the accounts' audit rows are (D-19.837)."""

from __future__ import annotations

import json

import pytest

from cartrial.errors import PermissionDeniedError

READERS_WITHOUT_USER_ADMINISTRATION = ("mon", "stat", "dm", "inv")


@pytest.mark.parametrize("reader", READERS_WITHOUT_USER_ADMINISTRATION)
def test_the_store_refuses_the_accounts_to_a_reader_who_does_not_manage_users(study, reader: str) -> None:
    service = study.service
    target = {r["username"]: int(r["id"]) for r in service.find_records("admin", "app_user")}["inv"]
    handle = service.as_user(reader)
    reads = {
        "find_records": lambda: handle.find_records("app_user"),
        "get_record": lambda: handle.get_record("app_user", target),
        "page_records": lambda: handle.page_records("app_user"),
        "visible_record": lambda: handle.visible_record("app_user", target),
        "list_users": handle.list_users,
        "service.find_records": lambda: service.find_records(reader, "app_user", username="admin"),
    }
    for name, read in reads.items():
        with pytest.raises(PermissionDeniedError, match=r"may not manage users \(app_user\)"):
            read()
            pytest.fail(name)
    # the study data stay readable to them
    assert handle.find_records("subject")


def test_a_monitor_raises_no_query_on_an_account(study) -> None:
    service = study.service
    target = {r["username"]: int(r["id"]) for r in service.find_records("admin", "app_user")}["inv2"]
    with pytest.raises(PermissionDeniedError, match="may not manage users"):
        service.as_user("mon").raise_query("app_user", target, "who is this?")
    assert service.find_records("admin", "data_query") == []
    subject = service.find_records("admin", "subject")[0]["id"]
    assert service.as_user("mon").raise_query("subject", int(subject), "consent date?").startswith("Q-")


def test_the_administrator_still_reads_every_account(study) -> None:
    handle = study.service.as_user("admin")
    names = {"admin", "dm", "inv", "inv2", "mon", "stat"}
    assert {row["username"] for row in handle.list_users()} == names
    assert {row["username"] for row in handle.page_records("app_user")[0]} == names
    assert all("password_hash" not in row for row in handle.find_records("app_user"))


@pytest.mark.parametrize("reader", ["mon", "stat"])
def test_the_cli_lists_users_only_for_user_administration(sqlite_study, cli, reader: str) -> None:
    url = sqlite_study.url
    for args in (("db", "user", "list", "--json"), ("db", "records", "app_user", "--json")):
        answer = cli(*args, "--user", reader, "--url", url)
        assert answer.exit_code == 2, (args, answer.stdout)
        assert answer.stdout == ""
        assert "may not manage users (app_user)" in answer.stderr
        assert "inv2" not in answer.stderr
    allowed = cli("db", "user", "list", "--json", "--user", "admin", "--url", url)
    assert allowed.exit_code == 0, allowed.stderr
    assert "mon" in {row["username"] for row in json.loads(allowed.stdout)}


@pytest.mark.parametrize("reader", ["inv", "mon"])
def test_no_account_name_is_learnt_from_a_key_or_check_preview(study, reader: str) -> None:
    """`held_key_refusal("app_user", …)` told a site-restricted reader whether another site's account held
    a user name; `preview_write_checks("app_user", …)` ran the account's checks for any reader: both are
    reads of the accounts, refused like the others (D-19.906)."""
    handle = study.service.as_user(reader)
    with pytest.raises(PermissionDeniedError, match="may not manage users"):
        handle.held_key_refusal("app_user", {"username": "inv2"})
    with pytest.raises(PermissionDeniedError, match="may not manage users"):
        handle.preview_write_checks("app_user", {"username": "zed", "role": "monitor"})
    assert study.service.as_user("admin").held_key_refusal("app_user", {"username": "inv2"}) is None
