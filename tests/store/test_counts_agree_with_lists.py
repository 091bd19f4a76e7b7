"""A count agrees with the list the same user reads (D-19.991): `db summary`'s table counts
(`StudyUser.table_counts`, `StudyService.table_counts(actor)`) left a data query on a user account, and the
account's audit rows, in the counts of a reader who may not read them (D-19.913, D-19.837): a monitor was
told of two queries and listed one.

By hand: the study fixture holds no data query; an admin raises one on the account ``inv2`` and a monitor
one on a subject of TJH. A monitor, data manager or statistician lists one query and counts one; the admin
lists and counts two. The audit trail's count is the number of audit rows the user reads (`audit_rows`)."""

from __future__ import annotations

import pytest

from .test_account_queries_read_by_user_admin import NOT_USER_ADMINS, _queries


@pytest.mark.parametrize("reader", [*NOT_USER_ADMINS, "admin"])
def test_the_query_and_audit_counts_are_those_of_the_users_lists(study, reader: str) -> None:
    _queries(study)
    handle = study.service.as_user(reader)
    listed = handle.find_records("data_query")
    counts = handle.table_counts()
    assert counts["data_query"] == len(listed)
    assert counts["data_query"] == (2 if reader == "admin" else 1)
    assert counts["audit_log"] == len(handle.audit_rows())
    assert study.service.table_counts(reader) == counts


def test_db_summary_counts_what_the_user_lists(sqlite_study, cli) -> None:
    import json

    _queries(sqlite_study)
    summary = cli("db", "summary", "--json", "--user", "mon", "--url", sqlite_study.url)
    assert summary.exit_code == 0, summary.stderr
    listed = cli("db", "query", "list", "--json", "--user", "mon", "--url", sqlite_study.url)
    assert json.loads(summary.stdout)["tables"]["data_query"] == len(json.loads(listed.stdout)) == 1
