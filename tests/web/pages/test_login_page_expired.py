"""A login form sent with a token the server no longer accepts (the page was opened before a restart, whose
`CARTRIAL_WEB_SECRET` was random, or its pre-session cookie was cleared): still refused — a login without
the token would allow login CSRF — but as the login page saying it had expired, the user name kept, not
"Error 403: the form has no valid CSRF token" with a link to the study home (D-19.175)."""

from __future__ import annotations

import re
from typing import Any

from ...conftest import TEST_PASSWORD


def test_an_expired_login_page_is_shown_again_with_a_plain_message(login: Any) -> None:
    client = login(None)
    client.get("/login")  # the pre-session cookie
    answer = client.post(
        "/login",
        data={"username": "inv_a", "password": TEST_PASSWORD, "csrf_token": "0" * 64, "next": "/queries"},
    )
    assert answer.status_code == 403
    main = answer.text[answer.text.index("<main") :]
    assert "CSRF" not in main and "expired" in main
    assert re.search(r'id="username"[^>]*value="inv_a"', main)
    assert 'name="next" value="/queries"' in main
    assert TEST_PASSWORD not in answer.text
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', main)
    assert token is not None  # the fresh page's token logs in
    again = client.post(
        "/login",
        data={
            "username": "inv_a",
            "password": TEST_PASSWORD,
            "csrf_token": token.group(1),
            "next": "/queries",
        },
    )
    assert again.status_code == 303 and again.headers["location"] == "/queries"
