"""A user name holding ``/`` (webui attack, D-19.1128): the users page posted its role, password and access
forms to ``/admin/users/lab/01/active`` (Jinja's ``urlencode`` keeps ``/``), a path no route took — a 404,
so an administrator could not deactivate, re-role or reset such an account on the web, nor through the
API's ``/users/{username}``. The name is now one percent-encoded segment and the routes take a ``/``."""

from __future__ import annotations

import re

from tests.conftest import TEST_PASSWORD


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def _active(web_study, username: str) -> bool:
    return next(
        bool(u["active"])
        for u in web_study.service.as_user("admin").list_users()
        if u["username"] == username
    )


def test_a_user_name_with_a_slash_is_managed_on_the_users_page_and_the_api(web_study):
    client = web_study.session("admin")
    token = _csrf(client.get("/admin/users").text)
    added = client.post(
        "/admin/users",
        data={"csrf_token": token, "username": "lab/01", "role": "monitor", "password": TEST_PASSWORD + "x"},
    )
    assert added.status_code == 200 and "User created" in added.text, added.text[:2000]
    assert 'action="/admin/users/lab%2F01/active"' in added.text
    answer = client.post(
        "/admin/users/lab%2F01/active",
        data={"csrf_token": token, "active": "false", "reason": "left the lab"},
    )
    assert answer.status_code == 200 and "User deactivated" in answer.text, answer.text[:2000]
    assert _active(web_study, "lab/01") is False
    api = web_study.bearer("admin").patch(
        "/api/v1/users/lab%2F01", json={"active": True, "reason": "back in the lab"}
    )
    assert api.status_code == 200, api.text
    assert _active(web_study, "lab/01") is True
