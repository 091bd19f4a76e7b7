"""`PATCH /api/v1/users/{name}` changing role and active together is one change (D-19.835). Verified
2026-12-07 before the change: the route wrote the role change, then the active change in a second
transaction: an administrator demoting and deactivating their own account (another administrator kept)
was demoted, then refused 403 for the deactivation (a monitor may not manage users) — half applied."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from tests.conftest import TEST_PASSWORD

from cartrial.store.models import AuditLog


def _user(web_study: Any, username: str) -> dict[str, Any]:
    (row,) = [u for u in web_study.service.as_user("admin").list_users() if u["username"] == username]
    return row


def _second_admin(web_study: Any) -> None:
    web_study.service.add_user("admin", "admin2", "admin", site_id="TJH", password=TEST_PASSWORD)


def test_demoting_and_deactivating_oneself_is_one_change(web_study: Any) -> None:
    _second_admin(web_study)
    client = web_study.bearer("admin2")
    answer = client.patch(
        "/api/v1/users/admin2", json={"role": "monitor", "active": False, "reason": "left the study"}
    )
    assert answer.status_code == 200, answer.text
    row = _user(web_study, "admin2")
    assert (row["role"], row["active"]) == ("monitor", False)
    # one audited update of the account, both fields in it
    with web_study.service.engine.connect() as connection:
        fields = connection.scalars(
            select(AuditLog.field).where(
                AuditLog.table_name == "app_user",
                AuditLog.action == "update",
                AuditLog.reason == "left the study",
            )
        ).all()
    assert sorted(fields) == ["active", "role"]


def test_a_refused_part_writes_neither(web_study: Any) -> None:
    """The last active administrator demoted to monitor and kept active: refused (409), and the role is
    not written either."""
    client = web_study.bearer("admin")
    answer = client.patch("/api/v1/users/admin", json={"role": "monitor", "active": True, "reason": "r"})
    assert answer.status_code == 409, answer.text
    row = _user(web_study, "admin")
    assert (row["role"], row["active"]) == ("admin", True)


def test_a_refused_deactivation_leaves_the_role(web_study: Any) -> None:
    """Role first and then active: an unknown site refuses the whole change, the deactivation too."""
    client = web_study.bearer("admin")
    answer = client.patch(
        "/api/v1/users/inv", json={"role": "investigator", "site_id": "NOPE", "active": False, "reason": "r"}
    )
    assert answer.status_code in (404, 409, 422), answer.text
    row = _user(web_study, "inv")
    assert (row["role"], row["site_id"], row["active"]) == ("investigator", "TJH", True)
