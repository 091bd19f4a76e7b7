"""`PATCH /api/v1/users/{name}` changing role, site and active together is one change (D-19.835). Verified
2026-12-07 before the change: the route wrote the role (and site) change, then the active change in a
second transaction: an administrator demoting and deactivating their own account (another administrator
kept) was demoted, then refused 403 for the deactivation (a monitor may not manage users) — half applied;
the last administrator moving to another site and deactivated was moved, then refused 409. Both backends."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select
from tests.conftest import TEST_PASSWORD

from cartrial.store import users
from cartrial.store.models import AuditLog
from cartrial.store.service import StudyUser


def _user(web_study: Any, username: str) -> dict[str, Any]:
    (row,) = [u for u in web_study.service.as_user("admin").list_users() if u["username"] == username]
    return row


def _second_admin(web_study: Any) -> None:
    web_study.service.add_user("admin", "admin2", "admin", site_id="TJH", password=TEST_PASSWORD)


def _account_audit(web_study: Any, reason: str) -> dict[str, tuple[Any, Any]]:
    """The updated fields of the `app_user` audit rows written with `reason`: field -> (old, new)."""
    with web_study.service.engine.connect() as connection:
        rows = connection.execute(
            select(AuditLog.field, AuditLog.old_value, AuditLog.new_value).where(
                AuditLog.table_name == "app_user", AuditLog.action == "update", AuditLog.reason == reason
            )
        ).all()
    return {str(f): (json.loads(o), json.loads(n)) for f, o, n in rows}


def test_demoting_and_deactivating_oneself_is_one_change(any_web_study: Any) -> None:
    _second_admin(any_web_study)
    client = any_web_study.bearer("admin2")
    answer = client.patch(
        "/api/v1/users/admin2", json={"role": "monitor", "active": False, "reason": "left the study"}
    )
    assert answer.status_code == 200, answer.text
    row = _user(any_web_study, "admin2")
    assert (row["role"], row["active"]) == ("monitor", False)
    # one audited update of the account, both fields in it with what they were and became
    changed = _account_audit(any_web_study, "left the study")
    assert changed == {"role": ("admin", "monitor"), "active": (True, False)}


def test_a_refused_part_writes_neither(any_web_study: Any) -> None:
    """The last active administrator demoted to monitor and kept active: refused (409, the last active
    administrator), and the role is not written either."""
    client = any_web_study.bearer("admin")
    answer = client.patch("/api/v1/users/admin", json={"role": "monitor", "active": True, "reason": "r"})
    assert answer.status_code == 409, answer.text
    row = _user(any_web_study, "admin")
    assert (row["role"], row["active"]) == ("admin", True)
    assert _account_audit(any_web_study, "r") == {}


def test_the_last_admin_moved_and_deactivated_is_refused_whole(any_web_study: Any) -> None:
    """Fails on the old route: the site was written, then the deactivation refused (409)."""
    client = any_web_study.bearer("admin")
    before = _user(any_web_study, "admin")
    assert before["site_id"] != "PUMCH"
    answer = client.patch(
        "/api/v1/users/admin", json={"site_id": "PUMCH", "active": False, "reason": "moving on"}
    )
    assert answer.status_code == 409, answer.text
    row = _user(any_web_study, "admin")
    assert (row["role"], row["site_id"], row["active"]) == ("admin", before["site_id"], True)
    assert _account_audit(any_web_study, "moving on") == {}


def test_a_refused_deactivation_leaves_the_role(any_web_study: Any) -> None:
    """Role first and then active: an unknown site refuses the whole change (422, a reference to no
    record), the deactivation too."""
    client = any_web_study.bearer("admin")
    answer = client.patch(
        "/api/v1/users/inv", json={"role": "investigator", "site_id": "NOPE", "active": False, "reason": "r"}
    )
    assert answer.status_code == 422, answer.text
    row = _user(any_web_study, "inv")
    assert (row["role"], row["site_id"], row["active"]) == ("investigator", "TJH", True)
    assert _account_audit(any_web_study, "r") == {}


def test_a_concurrent_role_change_is_a_conflict_not_reverted(
    any_web_study: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A site change alone keeps the role as the write itself reads it. Verified 2026-12-07 before the
    change: the route read the role first (`list_users`), so another administrator's role change made
    between that read and the write was silently reverted (answered 200). Now the account is read once,
    by the write, and a change after that read is a stale version (409) that keeps the other change."""
    _second_admin(any_web_study)
    fired: list[bool] = []

    def concurrent() -> None:
        if not fired:
            fired.append(True)
            any_web_study.service.as_user("admin2").set_role("inv", "data_manager", "concurrent")

    list_users, user_row = StudyUser.list_users, users.user_row

    def listing(self: StudyUser) -> list[dict[str, Any]]:
        rows = list_users(self)
        concurrent()
        return rows

    def reading(connection: Any, username: str) -> Any:
        row = user_row(connection, username)
        if username == "inv":
            concurrent()
        return row

    monkeypatch.setattr(StudyUser, "list_users", listing)
    monkeypatch.setattr(users, "user_row", reading)
    answer = any_web_study.bearer("admin").patch(
        "/api/v1/users/inv", json={"site_id": "PUMCH", "reason": "moved site"}
    )
    assert fired
    assert answer.status_code == 409, answer.text
    monkeypatch.undo()
    assert _user(any_web_study, "inv")["role"] == "data_manager"
    assert _account_audit(any_web_study, "moved site") == {}
