"""The user accounts' audit rows (a role change, a password reset, sign-ins) are read only by a role
that manages users (D-19.837). Verified 2026-12-07 before the change: a monitor's `/audit` page listed the
administrator's role change and password reset of another user with their reasons, as did the store's
`audit_rows` and `record_audit("app_user", …)` the page, `cartrial audit show` and the record trail read.
Study-data audit rows stay visible to the monitor."""

from __future__ import annotations

from typing import Any

import pytest

ROLE_REASON = "moved to the coordinating centre xq7"
RESET_REASON = "forgotten password reset zk4"
DATA_REASON = "corrected consent date wv9"


def _account_changes(web_study: Any) -> int:
    """A role change and a password reset of user ``stat`` by the admin, and one study-data edit; returns
    the user's record id."""
    admin = web_study.service.as_user("admin")
    admin.set_role("stat", "data_manager", ROLE_REASON)
    admin.set_password("stat", "another-Passw0rd-for-stat", RESET_REASON)
    (subject,) = [r for r in admin.find_records("subject") if r["subject_id"] == "CT-002"]
    admin.update_record(
        "subject",
        int(subject["id"]),
        {"consent_date": "2021-05-02"},
        int(subject["version"]),
        DATA_REASON,
        "test",
    )
    (row,) = [u for u in admin.list_users() if u["username"] == "stat"]
    return int(row["id"])


@pytest.mark.parametrize("reader", ["mon", "dm"])
def test_a_reader_without_user_management_reads_no_account_rows(any_web_study: Any, reader: str) -> None:
    """Both backends: the condition is SQL (a NULL table name kept on each)."""
    web_study = any_web_study
    user_id = _account_changes(web_study)
    handle = web_study.service.as_user(reader)
    for rows in (handle.audit_rows(), handle.last_audit_rows(100), handle.record_audit("app_user", user_id)):
        assert not [r for r in rows if r["table_name"] == "app_user"]
    assert DATA_REASON in {r["reason"] for r in handle.audit_rows()}  # study data: still read
    page = web_study.session(reader).get("/audit")
    assert page.status_code == 200
    assert ROLE_REASON not in page.text and RESET_REASON not in page.text
    assert DATA_REASON in page.text
    trail = web_study.session(reader).get(f"/audit/records/app_user/{user_id}")
    assert ROLE_REASON not in trail.text and RESET_REASON not in trail.text


def test_the_admin_reads_the_account_rows(web_study: Any) -> None:
    user_id = _account_changes(web_study)
    handle = web_study.service.as_user("admin")
    reasons = {r["reason"] for r in handle.audit_rows() if r["table_name"] == "app_user"}
    assert {ROLE_REASON, RESET_REASON} <= reasons
    assert {r["reason"] for r in handle.record_audit("app_user", user_id)} >= {ROLE_REASON, RESET_REASON}
    page = web_study.session("admin").get("/audit")
    assert ROLE_REASON in page.text and RESET_REASON in page.text
