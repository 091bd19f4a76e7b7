"""Login and logout, session expiry, bearer tokens, throttling, CSRF, and passwords never shown.

The password is checked by the store (argon2id, per-user-name throttling: 2 free failures in 15 minutes,
then 2 s, 4 s, … — cartrial.store.auth); the web app adds a per-address limit (`WebSettings.ip_failures`).
"""

from __future__ import annotations

import datetime as dt
import re

from cartrial.store.models import utc_now
from cartrial.web.security import SESSION_COOKIE

PASSWORD = "test-password-0123"


def _login_form(client) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert match
    return match.group(1)


def test_page_redirects_to_login_and_back(web_study):
    client = web_study.client()
    anonymous = client.get("/", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=/"
    token = _login_form(client)
    done = client.post(
        "/login",
        data={"username": "inv", "password": PASSWORD, "csrf_token": token, "next": "/api/v1/me"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/api/v1/me"
    cookie = done.headers.get_list("set-cookie")
    session = next(c for c in cookie if c.startswith(SESSION_COOKIE + "="))
    assert "httponly" in session.lower() and "samesite=lax" in session.lower()
    me = client.get("/api/v1/me").json()
    assert (me["username"], me["role"], me["site_id"]) == ("inv", "investigator", "TJH")
    # an open redirect is refused: `next` must be a local path
    other = web_study.client()
    token = _login_form(other)
    away = other.post(
        "/login",
        data={"username": "inv", "password": PASSWORD, "csrf_token": token, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert away.headers["location"] == "/"


def test_wrong_password_is_audited_without_the_password(web_study):
    client = web_study.client()
    token = _login_form(client)
    wrong = client.post("/login", data={"username": "inv", "password": "Guess-123!", "csrf_token": token})
    assert wrong.status_code == 401
    assert "wrong user name or password" in wrong.text
    assert "Guess-123!" not in wrong.text
    api = web_study.client().post("/api/v1/token", data={"username": "inv", "password": "Guess-456!"})
    assert api.status_code == 401 and "Guess-456!" not in api.text
    rows = web_study.service.audit_rows(actor="admin")
    failed = [r for r in rows if r["action"] == "login_failed"]
    assert len(failed) == 2
    assert not any("Guess-" in str(value) for r in rows for value in r.values())
    assert client.get("/api/v1/me").status_code == 401


def test_logout_ends_the_session(web_study):
    client = web_study.session("dm")
    assert client.get("/api/v1/me").status_code == 200
    token = client.headers["X-CSRF-Token"]
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    client.cookies.delete(SESSION_COOKIE)
    assert client.get("/api/v1/me").status_code == 401
    # the old cookie value no longer works either (the store session is gone)
    bearer = web_study.bearer("mon")
    assert bearer.post("/api/v1/logout").status_code == 204
    assert bearer.get("/api/v1/me").status_code == 401


def _age_sessions(study, seconds: float) -> None:
    """Move every session's last use `seconds` into the past (instead of waiting: no timing in tests)."""
    from sqlalchemy import update

    from cartrial.store.auth import AuthSession
    from cartrial.store.models import utc_now

    with study.service.engine.begin() as connection:
        connection.execute(update(AuthSession).values(last_used_at=utc_now() - dt.timedelta(seconds=seconds)))


def _last_use(study):
    from sqlalchemy import select

    from cartrial.store.auth import AuthSession

    with study.service.engine.connect() as connection:
        return connection.execute(select(AuthSession.last_used_at)).scalars().all()


def test_session_expires_when_idle_and_slides_with_use(serve_study):
    study = serve_study(session_minutes=1.0)  # 60 s idle timeout (sliding)
    client = study.bearer("dm")
    for _ in range(3):  # 50 s idle, then used: still valid, and the use renews it (sliding)
        _age_sessions(study, 50)
        assert client.get("/api/v1/me").status_code == 200
        (last,) = _last_use(study)
        assert utc_now() - last < dt.timedelta(seconds=15)  # written again at this use
    _age_sessions(study, 61)  # idle longer than the server's 60 s: expired, and deleted
    expired = client.get("/api/v1/me")
    assert expired.status_code == 401
    assert set(expired.json()) >= {"error", "field", "value", "allowed"}
    assert _last_use(study) == []
    page = study.client()
    page.cookies.set(SESSION_COOKIE, study.session_token("dm"))
    _age_sessions(study, 61)
    redirected = page.get("/", follow_redirects=False)
    assert redirected.status_code == 303 and redirected.headers["location"].startswith("/login")


def test_throttling_per_user_name_and_per_address(serve_study):
    study = serve_study(ip_failures=4)
    client = study.client()
    codes = [
        client.post("/api/v1/token", data={"username": "mon", "password": f"wrong-{i}"}).status_code
        for i in range(3)
    ]
    assert codes == [401, 401, 401]
    # the store now delays attempts on this user name: even the right password is refused, unchecked
    delayed = client.post("/api/v1/token", data={"username": "mon", "password": PASSWORD})
    assert delayed.status_code == 401 and "try again in" in delayed.json()["error"]
    # 4 failures from this address: the app refuses further logins from it, for any user
    blocked = client.post("/api/v1/token", data={"username": "dm", "password": PASSWORD})
    assert blocked.status_code == 429
    throttled = [r for r in study.service.audit_rows(actor="admin") if r["action"] == "login_throttled"]
    assert len(throttled) == 1


def test_bearer_token_flow(web_study):
    client = web_study.client()
    issued = client.post("/api/v1/token", data={"username": "stat", "password": PASSWORD})
    assert issued.status_code == 200
    body = issued.json()
    assert body["token_type"] == "bearer" and PASSWORD not in issued.text
    assert client.get("/api/v1/me").status_code == 401
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get("/api/v1/me", headers=headers).json()["role"] == "statistician"
    forged = {"Authorization": f"Bearer {body['access_token'][:-1]}x"}
    assert client.get("/api/v1/me", headers=forged).status_code == 401
    other_user = body["access_token"].split(".", 1)[0] + ".admin"
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {other_user}"}).status_code == 401


def test_csrf_form_post_without_token_is_refused(web_study):
    client = web_study.session("inv")
    csrf = client.headers.pop("X-CSRF-Token")
    # a form post (logout) without the token: 403, the session survives
    refused = client.post("/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/api/v1/me").status_code == 200
    wrong = client.post("/logout", data={"csrf_token": "0" * 64}, follow_redirects=False)
    assert wrong.status_code == 403
    # an API write authenticated by the cookie needs the header too
    body = {"values": {"subject_id": "CT-002", "term": "Headache", "started_on": "2021-06-01", "grade": 1}}
    assert client.post("/api/v1/records/adverse_events", json=body).status_code == 403
    done = client.post("/api/v1/records/adverse_events", json=body, headers={"X-CSRF-Token": csrf})
    assert done.status_code in (201, 422), done.text  # accepted past CSRF (422: the form's own rules)
    # the login form itself needs the pre-session token
    anonymous = web_study.client()
    login = anonymous.post("/login", data={"username": "inv", "password": PASSWORD}, follow_redirects=False)
    assert login.status_code == 403
    assert anonymous.cookies.get(SESSION_COOKIE) is None


def test_csrf_token_is_bound_to_the_session(web_study):
    first = web_study.session("dm")
    second = web_study.session("dm")
    token_of_first = first.headers["X-CSRF-Token"]
    assert token_of_first != second.headers.pop("X-CSRF-Token")
    refused = second.post("/logout", data={"csrf_token": token_of_first}, follow_redirects=False)
    assert refused.status_code == 403


def test_security_headers(web_study):
    response = web_study.client().get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_a_user_name_with_a_control_character_is_refused_as_input_on_both_backends(any_web_study):
    """PostgreSQL cannot compare a text holding NUL: the name is refused before any query (422, not echoed),
    on the login page and at the token endpoint, never a server error."""
    client = any_web_study.client()
    token = _login_form(client)
    page = client.post("/login", data={"username": "in\x00v", "password": PASSWORD, "csrf_token": token})
    assert page.status_code == 422 and "control character" in page.text
    for name in ("in\x00v", "inv\x1b"):
        answer = any_web_study.client().post("/api/v1/token", data={"username": name, "password": PASSWORD})
        assert answer.status_code == 422
        assert (answer.json()["field"], answer.json()["value"]) == ("username", None)


def test_authentication_failures_are_401_with_a_challenge_and_refusals_403(web_study):
    """A wrong password at `POST /api/v1/token` was a 403 (the store's `AuthenticationError` is a
    `PermissionDeniedError`): every failure to establish who the caller is — wrong password, no credential,
    an invalid or expired token — is a 401 with a ``WWW-Authenticate`` Bearer challenge (RFC 9110 §11.6.1,
    RFC 6750 §3); an authenticated user who may not is a 403 without one. The JSON body keeps its shape."""
    shape = {"error", "field", "value", "allowed"}
    anonymous = web_study.client()
    wrong = anonymous.post("/api/v1/token", data={"username": "inv", "password": "not-the-password-1"})
    assert wrong.status_code == 401 and set(wrong.json()) >= shape
    assert wrong.headers["WWW-Authenticate"] == 'Bearer realm="cartrial"'
    unknown = anonymous.post("/api/v1/token", data={"username": "nobody", "password": "not-the-password-1"})
    assert unknown.status_code == 401 and unknown.json()["error"] == wrong.json()["error"]
    missing = anonymous.get("/api/v1/me")
    assert missing.status_code == 401 and set(missing.json()) >= shape
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="cartrial"'
    forged = anonymous.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token.inv"})
    assert forged.status_code == 401 and set(forged.json()) >= shape
    assert forged.headers["WWW-Authenticate"] == 'Bearer realm="cartrial", error="invalid_token"'
    refused = web_study.bearer("dm").get("/api/v1/users")  # authenticated; the role may not manage users
    assert refused.status_code == 403 and set(refused.json()) >= shape
    assert "WWW-Authenticate" not in refused.headers
    page = web_study.client()
    token = _login_form(page)
    failed = page.post(
        "/login", data={"username": "inv", "password": "not-the-password-1", "csrf_token": token}
    )
    assert failed.status_code == 401 and failed.headers["WWW-Authenticate"] == 'Bearer realm="cartrial"'
    assert "not-the-password-1" not in failed.text


def _forge_session(study, username: str) -> str:
    """A session row inserted by SQL by a database writer without the audit key: the SHA-256 of a token of
    their choosing (the unkeyed digest). Returns the credential a client would send."""
    import hashlib
    import secrets

    from sqlalchemy import text

    from cartrial.web.security import credential

    token = secrets.token_urlsafe(32)
    now = utc_now()
    with study.service.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO auth_session (token_sha256, username, created_at, last_used_at, expires_at) "
                "VALUES (:digest, :user, :now, :now, :later)"
            ),
            {
                "digest": hashlib.sha256(token.encode()).hexdigest(),
                "user": username,
                "now": now,
                "later": now + dt.timedelta(hours=1),
            },
        )
    return credential(token, username)


def _use_audit_key(tmp_path, monkeypatch) -> None:
    import secrets

    key_file = tmp_path / "audit.key"
    key_file.write_text(secrets.token_hex(32))
    monkeypatch.setenv("CARTRIAL_AUDIT_KEY_FILE", str(key_file))


def test_with_the_audit_key_a_forged_session_row_is_refused_and_a_real_login_works(
    any_web_study, tmp_path, monkeypatch
):
    """D-19.366: keyed session digests — a row holding SHA-256(token) inserted by SQL authenticates
    neither as a bearer token nor as the page's session cookie; a password login still does."""
    _use_audit_key(tmp_path, monkeypatch)
    forged = _forge_session(any_web_study, "admin")
    api = any_web_study.client()
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    page = any_web_study.client()
    page.cookies.set(SESSION_COOKIE, forged)
    refused = page.get("/", follow_redirects=False)
    assert refused.status_code == 303 and refused.headers["location"].startswith("/login")
    issued = api.post("/api/v1/token", data={"username": "stat", "password": PASSWORD})
    assert issued.status_code == 200
    bearer = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    assert api.get("/api/v1/me", headers=bearer).json()["username"] == "stat"
    browser = any_web_study.client()
    token = _login_form(browser)
    done = browser.post(
        "/login",
        data={"username": "inv", "password": PASSWORD, "csrf_token": token, "next": "/api/v1/me"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert browser.get("/api/v1/me").json()["username"] == "inv"


def test_without_a_key_the_web_app_behaves_as_before(web_study):
    """Without the key the digest stays SHA-256 (the documented limit in docs/security.md)."""
    forged = _forge_session(web_study, "admin")
    client = web_study.client()
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert me.json()["username"] == "admin"
