"""D-19.522 amended: a session or bearer credential whose user-name part breaks the identifier rule is no
credential — the caller is not authenticated (401 with the Bearer challenge), and the login page, which
reads the optional user and "never raises", still opens."""

from __future__ import annotations

import pytest

from cartrial.store.auth import AuthenticationError, authenticate_session


def test_a_bearer_token_with_a_bad_name_part_is_401_with_the_challenge(web_study):
    answer = web_study.client().get("/api/v1/me", headers={"Authorization": "Bearer tok.ad  min"})
    assert answer.status_code == 401, answer.text
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="cartrial", error="invalid_token"'


def test_the_login_page_opens_with_a_cookie_holding_a_bad_name_part(web_study):
    client = web_study.client()
    client.cookies.set("cartrial_session", "tok.a  b")
    page = client.get("/login")
    assert page.status_code == 200, page.text


@pytest.mark.parametrize("name", ["ad  min", "a\u200bb", "in\x00v"])
def test_authenticate_session_refuses_a_bad_name_as_no_user(web_study, name):
    with pytest.raises(AuthenticationError):
        authenticate_session(web_study.service, name, "tok")
