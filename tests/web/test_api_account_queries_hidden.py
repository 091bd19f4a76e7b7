"""``GET /api/v1/queries`` lists a data query on a user account only to a role that manages users
(D-19.913): a monitor or data manager read its table, record id and text (D-19.906's rule for the
accounts)."""

from __future__ import annotations


def test_the_api_lists_no_query_on_an_account_to_a_monitor(any_web_study) -> None:
    service = any_web_study.service
    account = {r["username"]: int(r["id"]) for r in service.find_records("admin", "app_user")}["inv2"]
    code = service.as_user("admin").raise_query("app_user", account, "still needed?")
    for reader in ("mon", "dm"):
        page = any_web_study.bearer(reader).get("/api/v1/queries").json()
        assert code not in [q["query_code"] for q in page["items"]], reader
        assert page["total"] == len(page["items"])
    admin = any_web_study.bearer("admin").get("/api/v1/queries").json()
    assert code in [q["query_code"] for q in admin["items"]]


def test_the_pages_read_of_several_tables_applies_each_tables_read_action(any_web_study) -> None:
    """`views.rows_by_table` read every table with READ alone: the accounts (`app_user`, MANAGE_USERS,
    D-19.906) and the queries on them to any reader; now as `StudyUser.page_records`."""
    import pytest

    from cartrial.errors import PermissionDeniedError
    from cartrial.web.views import rows_by_table

    service = any_web_study.service
    account = {r["username"]: int(r["id"]) for r in service.find_records("admin", "app_user")}["inv2"]
    code = service.as_user("admin").raise_query("app_user", account, "still needed?")
    mon = service.as_user("mon")
    with pytest.raises(PermissionDeniedError, match="may not manage users"):
        rows_by_table(mon, ["subject", "app_user"])
    rows = rows_by_table(mon, ["data_query"])["data_query"]
    assert code not in [q["query_code"] for q in rows]
    admin_rows = rows_by_table(service.as_user("admin"), ["data_query", "app_user"])
    assert code in [q["query_code"] for q in admin_rows["data_query"]]
    assert "inv2" in [u["username"] for u in admin_rows["app_user"]]
