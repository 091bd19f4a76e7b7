"""A form sent after the session ended (idle timeout, logged out in another tab, ended by an admin): the
user is told the session ended and nothing was saved, logs in again, and sends what they typed without
typing it again (D-19.172). Before, the answer was "Error 403: the form has no valid CSRF token" and every
value typed into the form was lost; pressing Log out after the session ended gave the same 403."""

from __future__ import annotations

import re
from typing import Any

from ...conftest import TEST_PASSWORD
from .helpers import adverse_event_entries, csrf_of

TERM = "Headache typed before the session ended"
AE = adverse_event_entries(TERM)


def _ended(login: Any, web_app: Any, username: str) -> tuple[Any, str]:
    """A client whose session ended (as after the idle timeout: the browser keeps its cookie) after it
    opened the adverse-event form: the client and the form's CSRF token."""
    from cartrial.store.auth import end_session
    from cartrial.web.security import SESSION_COOKIE, split_credential

    client = login(username)
    token = csrf_of(client.get("/subjects/CT-001/forms/adverse_events/new").text)
    parts = split_credential(client.cookies[SESSION_COOKIE])
    assert parts is not None
    end_session(web_app.state.service, parts[0])
    return client, token


def _hidden(html: str) -> dict[str, str]:
    import html as markup

    return {
        markup.unescape(name): markup.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    }


def test_a_form_sent_after_the_session_ended_says_so_and_keeps_the_entries(login: Any, web_app: Any) -> None:
    client, token = _ended(login, web_app, "inv_a")
    answer = client.post("/subjects/CT-001/forms/adverse_events", data={**AE, "csrf_token": token})
    assert answer.status_code == 401, answer.text[:300]
    text = answer.text
    shown = text[text.index("<main") :]
    assert "session has ended" in shown and "nothing was saved" in shown and "CSRF" not in shown
    kept = _hidden(text)
    assert (
        kept.get("keep.term") == TERM and kept.get("resume_path") == "/subjects/CT-001/forms/adverse_events"
    )
    assert not any("csrf" in name for name in kept if name.startswith("keep."))
    # log in again (the real password check) with the kept entries: offered to send them again
    login_form = {name: value for name, value in kept.items()}
    login_form.update(username="inv_a", password=TEST_PASSWORD)
    again = client.post("/login", data=login_form)
    assert again.status_code == 200, again.text[:300]
    resend = _hidden(again.text)
    assert resend["term"] == TERM and resend["csrf_token"] != token
    assert 'action="/subjects/CT-001/forms/adverse_events"' in again.text
    saved = client.post("/subjects/CT-001/forms/adverse_events", data=resend)
    assert saved.status_code == 303, saved.text[:500]
    record = client.get(saved.headers["location"])
    assert TERM in record.text


def test_another_user_logging_in_is_not_offered_the_entries(login: Any, web_app: Any) -> None:
    """The entries go back to the user whose session ended only (a shared workstation)."""
    client, token = _ended(login, web_app, "inv_a")
    kept = _hidden(
        client.post("/subjects/CT-001/forms/adverse_events", data={**AE, "csrf_token": token}).text
    )
    again = client.post("/login", data={**kept, "username": "dm", "password": TEST_PASSWORD})
    assert again.status_code == 303
    assert TERM not in client.get(again.headers["location"]).text


def test_a_password_typed_into_a_form_is_not_carried(login: Any, web_app: Any) -> None:
    from cartrial.store.auth import end_session
    from cartrial.web.security import SESSION_COOKIE, split_credential

    client = login("admin")
    token = csrf_of(client.get("/admin/users").text)
    parts = split_credential(client.cookies[SESSION_COOKIE])
    assert parts is not None
    end_session(web_app.state.service, parts[0])
    answer = client.post(
        "/admin/users",
        data={
            "username": "newmon",
            "role": "monitor",
            "password": "a-secret-passphrase-42",
            "csrf_token": token,
        },
    )
    assert answer.status_code == 401
    assert "a-secret-passphrase-42" not in answer.text and "newmon" in answer.text
    assert "type the password again" in answer.text


def _logout_as_a_browser(client: Any, token: str) -> str | None:
    """Log out and apply the answer's session cookie as a browser does (the test client keeps an expired
    cookie beside the fixture's): dropped when expired, else replaced. Returns the cookie's value left."""
    from http.cookies import SimpleCookie

    from cartrial.web.security import SESSION_COOKIE

    left = client.cookies.get(SESSION_COOKIE)
    answer = client.post("/logout", data={"csrf_token": token})
    assert answer.status_code == 303
    for header in answer.headers.get_list("set-cookie"):
        if not header.startswith(f"{SESSION_COOKIE}="):
            continue
        client.cookies.delete(SESSION_COOKIE)
        morsel = SimpleCookie(header)[SESSION_COOKIE]
        left = None if morsel["max-age"] == "0" else morsel.value.strip('"')
        if left is not None:
            client.cookies.set(SESSION_COOKIE, left)
    return left


def test_a_form_sent_after_logging_out_in_another_tab_keeps_the_entries(login: Any) -> None:
    """D-19.247: logging out in another tab ends the session as the idle timeout does. Before, the logout
    removed the cookie, so the form's entries were offered to nobody and lost; now the cookie names the user
    (and no session), and the entries come back after the same user logs in again."""
    client = login("inv_a")
    token = csrf_of(client.get("/subjects/CT-001/forms/adverse_events/new").text)
    _logout_as_a_browser(client, token)
    assert client.get("/subjects/CT-001", follow_redirects=False).status_code in (
        303,
        307,
        401,
    )  # logged out: no page
    answer = client.post("/subjects/CT-001/forms/adverse_events", data={**AE, "csrf_token": token})
    assert answer.status_code == 401
    shown = answer.text[answer.text.index("<main") :]
    assert "session has ended" in shown and "CSRF" not in shown
    kept = _hidden(answer.text)
    assert kept.get("keep.term") == TERM
    again = client.post("/login", data={**kept, "username": "inv_a", "password": TEST_PASSWORD})
    assert again.status_code == 200, again.text[:300]
    resend = _hidden(again.text)
    saved = client.post("/subjects/CT-001/forms/adverse_events", data=resend)
    assert saved.status_code == 303, saved.text[:500]
    assert TERM in client.get(saved.headers["location"]).text


def test_after_logging_out_the_cookie_holds_no_session_token(login: Any) -> None:
    """The cookie left by the logout names the user only: no token, live or ended, stays in the browser."""
    from cartrial.web.security import SESSION_COOKIE, split_credential

    client = login("inv_a")
    live = split_credential(client.cookies[SESSION_COOKIE])
    assert live is not None
    left = _logout_as_a_browser(client, csrf_of(client.get("/").text))
    parts = split_credential(left or "")
    assert parts is not None and parts[1] == "inv_a" and live[0] not in str(left)
    assert client.get("/", follow_redirects=False).status_code in (303, 307, 401)


def test_a_form_sent_without_any_session_cookie_keeps_nothing(login: Any) -> None:
    """A browser holding no session cookie (cleared cookies, a cross-site post): the answer names the ended
    session and its entries are offered to nobody."""
    client = login("inv_a")
    token = csrf_of(client.get("/subjects/CT-001/forms/adverse_events/new").text)
    client.cookies.clear()
    answer = client.post("/subjects/CT-001/forms/adverse_events", data={**AE, "csrf_token": token})
    assert answer.status_code == 401
    shown = answer.text[answer.text.index("<main") :]
    assert "session has ended" in shown and "CSRF" not in shown and TERM not in shown


def test_log_out_after_the_session_ended_goes_to_the_login_page(login: Any, web_app: Any) -> None:
    client, token = _ended(login, web_app, "dm")
    answer = client.post("/logout", data={"csrf_token": token})
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
