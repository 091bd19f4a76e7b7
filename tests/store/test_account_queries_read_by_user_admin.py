"""A data query on a user account is read only by a role that manages users, as the account itself
(D-19.913, the rule of D-19.906 for the queries about the accounts): the store's reads of `data_query`
(`find_records`, `page_records`, `get_record`), `cartrial db query list`, answering and closing, and the
query's audit rows leave it out for a monitor, data manager, statistician or investigator. They read the
query's table, record id, field and text, the account's administration; a data manager answered it."""

from __future__ import annotations

import json

import pytest

from cartrial.errors import InputError

NOT_USER_ADMINS = ("mon", "dm", "stat", "inv")


def _queries(study) -> tuple[str, str]:
    """An admin's query on the account ``inv2`` and a monitor's on a subject: their codes."""
    service = study.service
    account = {r["username"]: int(r["id"]) for r in service.find_records("admin", "app_user")}["inv2"]
    on_account = service.as_user("admin").raise_query("app_user", account, "is this account still needed?")
    subject = next(r for r in service.find_records("admin", "subject") if r["site_id"] == "TJH")
    on_subject = service.as_user("mon").raise_query("subject", int(subject["id"]), "consent date?")
    return on_account, on_subject


@pytest.mark.parametrize("reader", NOT_USER_ADMINS)
def test_a_query_on_an_account_is_not_read_without_user_administration(study, reader: str) -> None:
    on_account, on_subject = _queries(study)
    handle = study.service.as_user(reader)
    assert [q["query_code"] for q in handle.find_records("data_query")] == [on_subject]
    assert [q["query_code"] for q in handle.page_records("data_query")[0]] == [on_subject]
    assert handle.page_records("data_query")[1] == 1
    assert handle.find_records("data_query", query_code=on_account) == []
    hidden_id = int(study.service.find_records("admin", "data_query", query_code=on_account)[0]["id"])
    with pytest.raises(InputError, match="no data_query record with this id"):
        handle.get_record("data_query", hidden_id)
    written = [r for r in handle.audit_rows() if r["table_name"] == "data_query"]
    assert written and all(int(r["record_id"]) != hidden_id for r in written)


@pytest.mark.parametrize("actor", ["dm", "mon"])
def test_a_query_on_an_account_is_answered_and_closed_only_by_user_administration(study, actor: str) -> None:
    on_account, _ = _queries(study)
    handle = study.service.as_user(actor)
    with pytest.raises(InputError, match="unknown query"):
        if actor == "dm":
            handle.answer_query(on_account, "yes")
        else:
            handle.close_query(on_account, "resolved")
    # answered as an unknown code is
    with pytest.raises(InputError, match="unknown query"):
        handle.close_query("Q-999999", "resolved")
    admin = study.service.as_user("admin")
    admin.answer_query(on_account, "yes, until the study ends")
    admin.close_query(on_account, "answered")
    assert admin.find_records("data_query", query_code=on_account)[0]["status"] == "closed"


def test_the_cli_lists_no_query_on_an_account_without_user_administration(sqlite_study, cli) -> None:
    on_account, on_subject = _queries(sqlite_study)
    url = sqlite_study.url
    listed = cli("db", "query", "list", "--json", "--user", "dm", "--url", url)
    assert listed.exit_code == 0, listed.stderr
    assert [q["query_code"] for q in json.loads(listed.stdout)] == [on_subject]
    admin = cli("db", "query", "list", "--json", "--user", "admin", "--url", url)
    assert {q["query_code"] for q in json.loads(admin.stdout)} == {on_account, on_subject}
