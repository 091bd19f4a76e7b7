"""The role × route matrix: every route of the app (API and pages, including pages added later) for every
role and for an anonymous client returns what the store's permission matrix allows.

Routes are enumerated from `app.routes`; each declares its permission (`cartrial.web.security`:
`public`, `page_user`/`api_user`, or `permit(action)`), read with `route_permission`. The expectation comes
from `cartrial.store.permissions.PERMISSIONS` (the one permission model), not from the app:

- a route that declares nothing fails the test (every route must say who may use it);
- anonymous: 401 on the API, a redirect to the login page (303) for pages;
- a role without the route's action: 403; a role with it: anything but 401/403 and never a 5xx (a request
  with placeholder values may well be a 404 or 422 — the point is that it was not refused).
"""

from __future__ import annotations

import re

import pytest

from cartrial.store.permissions import PERMISSIONS
from cartrial.web.security import PRESESSION_COOKIE, SESSION_COOKIE, _csrf_for, app_routes, route_permission

FRAMEWORK_ROUTES = {"/api/v1/openapi.json"}
"""Routes FastAPI adds itself (the schema): public, declared by the framework. The Swagger UI pages are the
app's own and declare `public` like any route (D-19.363)."""
SECRET = "test-secret"
ROLE_USER = {
    "admin": "admin",
    "data_manager": "dm",
    "investigator": "inv",
    "monitor": "mon",
    "statistician": "stat",
}


def _placeholder(name: str) -> str:
    """A plausible value for a path parameter of the fixture study."""
    lowered = name.lower()
    if "form" in lowered:
        return "crs_assessments"
    if "subject" in lowered:
        return "CT-001"
    if "code" in lowered or "query" in lowered:
        return "Q-000001"
    if "user" in lowered:
        return "mon"
    if "site" in lowered:
        return "TJH"
    return "1"


def _path(template: str) -> str:
    return re.sub(r"\{([^}:]+)(:[^}]+)?\}", lambda m: _placeholder(m.group(1)), template)


def _routes(app):
    return [
        (method, item.path, item.route)
        for item in app_routes(app)
        for method in sorted(item.methods)
        if method != "HEAD"
    ]


def test_every_route_declares_its_permission(web_study):
    undeclared = [
        f"{method} {path}"
        for method, path, route in _routes(web_study.app)
        if path not in FRAMEWORK_ROUTES and not route_permission(route).declared
    ]
    assert undeclared == [], "routes without public / page_user / api_user / permit(action)"


def _client(study, username: str | None):
    client = study.client()
    if username is None:
        client.cookies.set(PRESESSION_COOKIE, "anonymous-seed")
        client.headers["X-CSRF-Token"] = _csrf_for(SECRET, "anonymous-seed")
        return client
    credential = study.session_token(username)
    client.cookies.set(SESSION_COOKIE, credential)
    client.headers["X-CSRF-Token"] = _csrf_for(SECRET, credential.split(".", 1)[0])
    return client


@pytest.mark.parametrize("role", [None, *PERMISSIONS])
def test_role_route_matrix(web_study, role):
    routes = _routes(web_study.app)
    assert len(routes) >= 25
    wrong: list[str] = []
    client = None
    for method, template, route in routes:
        if template in FRAMEWORK_ROUTES:
            continue
        permission = route_permission(route)
        path = _path(template)
        if permission.public and role is not None:
            continue  # the same for everyone: checked with the anonymous client
        if client is None:
            client = _client(web_study, None if role is None else ROLE_USER[role])
        response = client.request(method, path, follow_redirects=False)
        if "logout" in path:
            client = None  # the session ended: a fresh one for the next route
        status = response.status_code
        is_api = template.startswith("/api/")
        if status >= 500:
            wrong.append(f"{role} {method} {path}: {status}")
            continue
        if permission.public:
            continue
        if role is None:
            # a page form sent without a session: the login page itself, 401 (D-19.172); a page read: 303
            form_post = not is_api and method == "POST"
            expected_ok = (
                status == 401
                if is_api
                else (status == 401 and 'action="/login"' in response.text)
                if form_post
                else (status == 303 and response.headers["location"].startswith("/login"))
            )
            if not expected_ok:
                expected = "401" if is_api or form_post else "303"
                wrong.append(f"anonymous {method} {path}: {status}, expected {expected}")
            continue
        allowed = permission.action is None or permission.action in PERMISSIONS[role]
        if allowed and status in (401, 403):
            wrong.append(f"{role} {method} {path}: {status} but the role may {permission.action}")
        if not allowed and status != 403:
            wrong.append(f"{role} {method} {path}: {status}, expected 403 ({permission.action})")
    assert wrong == []
