"""A form sent after the session ended (idle timeout, logged out in another tab, ended by an admin): the
user is told the session ended and nothing was saved, logs in again, and sends what they typed without
typing it again (D-19.172). Before, the answer was "Error 403: the form has no valid CSRF token" and every
value typed into the form was lost; pressing Log out after the session ended gave the same 403."""

from __future__ import annotations

import re
from typing import Any

from ...conftest import TEST_PASSWORD
from .helpers import csrf_of

TERM = "Headache typed before the session ended"
AE = {
    "term": TERM,
    "started_on": "2021-05-10",
    "category": "non_hematologic",
    "grade": "1",
    "grading_scale": "CTCAE",
    "grading_scale_version": "5.0",
    "serious": "false",
    "relatedness": "unlikely",
    "dlt": "false",
    "outcome": "recovered",
    "ended_on": "2021-05-12",
}


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


def test_a_form_sent_after_logging_out_in_another_tab_says_the_session_ended(login: Any) -> None:
    """Logging out removes the cookie: the form's answer names the ended session (not a CSRF token), and
    its entries are offered to nobody."""
    client = login("inv_a")
    token = csrf_of(client.get("/subjects/CT-001/forms/adverse_events/new").text)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    client.cookies.clear()  # as a browser does on the logout's expired Set-Cookie
    answer = client.post("/subjects/CT-001/forms/adverse_events", data={**AE, "csrf_token": token})
    assert answer.status_code == 401
    shown = answer.text[answer.text.index("<main") :]
    assert "session has ended" in shown and "CSRF" not in shown and TERM not in shown


def test_log_out_after_the_session_ended_goes_to_the_login_page(login: Any, web_app: Any) -> None:
    client, token = _ended(login, web_app, "dm")
    answer = client.post("/logout", data={"csrf_token": token})
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
