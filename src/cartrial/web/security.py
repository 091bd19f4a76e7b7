"""Who is asking, and may they: sessions, bearer tokens, CSRF and the per-route permission.

Authentication reuses the store (`cartrial.store.auth`): passwords are checked against the argon2id hashes
with the store's throttling and audited failures; a login creates a store session (only a digest of
its 256-bit token is kept in ``auth_session``: keyed with the audit key when set, D-19.366). The browser
holds the session as an HttpOnly, SameSite=Lax
cookie; API clients send the same kind of credential as ``Authorization: Bearer <token>`` (OAuth2 password
flow, ``POST /api/v1/token``). A credential is ``<session token>.<user name>``.

Permissions are the store's one matrix (`cartrial.store.permissions`): `permit(action)` is a dependency
that refuses (403) a role that may not do `action`; the action is recorded on the dependency
(`ACTION_ATTRIBUTE`) so that a test can enumerate every route of the app with the action it needs.
Anonymous or expired: pages redirect to ``/login?next=…``, the API answers 401 JSON with a
``WWW-Authenticate: Bearer`` challenge (``error="invalid_token"`` when a bearer token was sent); a wrong
password at ``POST /api/v1/token`` or ``/login`` is a 401 too. 403 is kept for an authenticated user who may
not (role, site, CSRF).

CSRF (OWASP CSRF Prevention Cheat Sheet, "synchronizer token" bound to the session): the token is an
HMAC-SHA256 of the session token (or, before login, of a random pre-session cookie) under the app's
secret; every form POST carries it (`verify_csrf`), and an API write authenticated by the session cookie
(rather than a bearer token) must send it as ``X-CSRF-Token``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import Depends, Request

from cartrial.errors import PermissionDeniedError
from cartrial.store.permissions import SITE_RESTRICTED_ROLES, Action, allowed

if TYPE_CHECKING:
    from cartrial.store import StudyService, StudyUser

SESSION_COOKIE = "cartrial_session"
PRESESSION_COOKIE = "cartrial_presession"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
ACTION_ATTRIBUTE = "cartrial_action"
"""Attribute of a permission dependency: the `Action` the route needs (None: any logged-in user)."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOUCH_AFTER = dt.timedelta(seconds=15)
"""A session's last use is written at most this often (at most a quarter of the idle timeout), so that
reads do not each write to the database; the idle timeout is exact to that."""

__all__ = [
    "ACTION_ATTRIBUTE",
    "BEARER_CHALLENGE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "KEPT_PREFIX",
    "SESSION_COOKIE",
    "AppRoute",
    "CsrfError",
    "LoginRequired",
    "LoginThrottle",
    "NotAuthenticated",
    "RoutePermission",
    "SessionEnded",
    "WebSettings",
    "WebUser",
    "api_user",
    "app_routes",
    "csrf_token",
    "current_user",
    "ended_session_user",
    "page_user",
    "permit",
    "public",
    "require_current_password",
    "route_permission",
    "verify_csrf",
]


@dataclass(frozen=True)
class WebSettings:
    """Settings of one web application.

    `secret_key`: signs the CSRF tokens (env ``CARTRIAL_WEB_SECRET``, else random per process: tokens of
    forms open before a restart are then refused); `session_minutes`: idle timeout of a session, sliding
    (each request renews it; the store's own idle limit, `cartrial.store.auth.IDLE_TIMEOUT`, 30 min, and
    its 12-hour maximum apply as well); `cookie_secure`: send the session cookie only over HTTPS (set it
    behind a TLS-terminating proxy; env ``CARTRIAL_WEB_SECURE_COOKIE=1``); `ip_failures` / `ip_window_s`:
    failed logins allowed per client address in a window before further attempts are refused (on top of
    the store's per-user-name throttling)."""

    secret_key: str = field(
        default_factory=lambda: os.environ.get("CARTRIAL_WEB_SECRET") or secrets.token_hex(32)
    )
    session_minutes: float = 30.0
    cookie_secure: bool = field(
        default_factory=lambda: os.environ.get("CARTRIAL_WEB_SECURE_COOKIE", "") in ("1", "true", "yes")
    )
    ip_failures: int = 30
    ip_window_s: float = 900.0


BEARER_CHALLENGE = 'Bearer realm="cartrial"'
"""The ``WWW-Authenticate`` challenge of every 401 (RFC 9110 §11.6.1: a 401 carries one; RFC 6750 §3: the
Bearer scheme, which every route accepts as ``Authorization: Bearer <token>``)."""
INVALID_TOKEN_CHALLENGE = BEARER_CHALLENGE + ', error="invalid_token"'
"""The challenge when a bearer token was sent and is not (or no longer) valid (RFC 6750 §3.1)."""


class NotAuthenticated(PermissionDeniedError):
    """No valid session or token (API: 401, with the `challenge` as ``WWW-Authenticate``)."""

    def __init__(self, message: str, challenge: str = BEARER_CHALLENGE) -> None:
        super().__init__(message)
        self.challenge = challenge


class LoginRequired(PermissionDeniedError):
    """A page asked without a valid session: redirect to the login page."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url
        super().__init__("log in to continue")


KEPT_PREFIX = "keep."
"""Name prefix, on the login page, of the entries of a form sent after its session ended (`SessionEnded`)."""
NOT_KEPT = ("password",)
"""Fields never carried through the login page (a typed password is typed again)."""


class SessionEnded(LoginRequired):
    """A page form sent without a valid session (it expired, or was ended by logging out in another tab or
    by an administrator): the login page (401) says so, nothing is saved, and the entries (`kept`, less
    passwords and files) ride along with the login so that the user the session cookie still names
    (`username`; an idle or ended session, or a logout, which leaves the user's name without a token,
    D-19.247) can send them again to `resume_path` without typing them anew (D-19.172)."""

    def __init__(
        self,
        next_url: str,
        resume_path: str,
        kept: list[tuple[str, str]],
        username: str | None,
        not_kept: tuple[str, ...] = (),
    ) -> None:
        super().__init__(next_url)
        self.resume_path = resume_path
        self.kept = kept
        self.username = username
        self.not_kept = not_kept
        """What the user must give again: ``files`` (an upload), ``password`` (a typed password)."""


def ended_session_user(request: Request) -> str | None:
    """The user name of the session cookie the browser sent (valid or not), or None."""
    value = request.cookies.get(SESSION_COOKIE)
    parts = split_credential(value) if value else None
    return parts[1] if parts is not None else None


async def _session_ended(request: Request) -> SessionEnded:
    """The `SessionEnded` of this page form post (its entries read from the form body)."""
    from urllib.parse import urlsplit

    kept: list[tuple[str, str]] = []
    not_kept: set[str] = set()
    if "form" in request.headers.get("content-type", ""):
        for name, value in (await request.form()).multi_items():
            if not isinstance(value, str):
                not_kept.add("files")
            elif any(word in name.lower() for word in NOT_KEPT):
                if value:
                    not_kept.add("password")
            elif name != CSRF_FIELD:
                kept.append((name, value))
    referer = urlsplit(request.headers.get("referer", ""))
    same_host = referer.netloc == request.url.netloc
    back = (referer.path + (f"?{referer.query}" if referer.query else "")) if same_host else "/"
    username = ended_session_user(request)
    if username is None:  # no session cookie (cleared, or a cross-site post): kept for nobody
        kept, not_kept = [], set()
    return SessionEnded(back or "/", request.url.path, kept, username, tuple(sorted(not_kept)))


class CsrfError(PermissionDeniedError):
    """A form post without a valid CSRF token (403)."""


@dataclass(frozen=True)
class WebUser:
    """The logged-in user of one request: name, role, site, and the store handle acting as them."""

    username: str
    role: str
    site_id: str | None
    service: StudyUser
    method: str
    """``session`` (cookie) or ``bearer``."""
    token: str

    @property
    def sites(self) -> tuple[str, ...] | None:
        """The sites whose subjects this user may see (None: every site; the store's site-restricted
        roles, `cartrial.store.permissions.SITE_RESTRICTED_ROLES`, see only their own)."""
        if self.role in SITE_RESTRICTED_ROLES:
            return (self.site_id,) if self.site_id else ()
        return None

    def may(self, action: Action) -> bool:
        """Whether the store's permission matrix lets this user's role do `action`."""
        return allowed(self.role, action)


class LoginThrottle:
    """Failed logins per client address within a sliding window (in memory, per process)."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit, self.window_s = limit, window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        times = self._failures.setdefault(address, deque())
        while times and now - times[0] > self.window_s:
            times.popleft()
        return times

    def blocked(self, address: str) -> bool:
        with self._lock:
            return len(self._recent(address, time.monotonic())) >= self.limit

    def failed(self, address: str) -> None:
        with self._lock:
            self._recent(address, time.monotonic()).append(time.monotonic())


# -- credentials --------------------------------------------------------------------------------------


def credential(token: str, username: str) -> str:
    """The cookie / bearer value of a store session."""
    return f"{token}.{username}"


LOGGED_OUT = "logged-out"
"""The token part of the session cookie a logout leaves (`logged_out_credential`): it names the user whose
session was ended by the logout, and no session (D-19.247)."""


def logged_out_credential(username: str) -> str:
    """The session cookie's value after `username` logged out: their name, no token. A form of another tab
    sent afterwards is then `SessionEnded` for that user, as after the idle timeout (D-19.247)."""
    return credential(LOGGED_OUT, username)


def split_credential(value: str) -> tuple[str, str] | None:
    token, _, username = value.partition(".")
    if not token or not username:
        return None
    return token, username


def _service(request: Request) -> StudyService:
    return request.app.state.service


def _settings(request: Request) -> WebSettings:
    return request.app.state.settings


def _authenticate(request: Request) -> WebUser | None:
    """The user of a valid session cookie or bearer token, or None (cached on the request)."""
    if hasattr(request.state, "web_user"):
        return request.state.web_user
    from cartrial.store.auth import AuthenticationError, authenticate_session

    user: WebUser | None = None
    value, method = None, "session"
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        value, method = header[7:].strip(), "bearer"
    else:
        value = request.cookies.get(SESSION_COOKIE)
    parts = split_credential(value) if value else None
    if parts is not None and parts[0] != LOGGED_OUT:
        token, username = parts
        service = _service(request)
        idle = dt.timedelta(minutes=_settings(request).session_minutes)
        try:
            found = authenticate_session(
                service, username, token, idle_timeout=idle, touch_after=min(idle / 4, TOUCH_AFTER)
            )
        except AuthenticationError:
            found = None
        if found is not None:
            from cartrial.store.transaction import Actor

            # the session check loaded the (active) user's role and site: the request's reads use them
            loaded = Actor(found.username, found.role, found.site_id)
            user = WebUser(
                found.username,
                found.role,
                found.site_id,
                service.as_user(found.username, loaded=loaded),
                method,
                token,
            )
    request.state.web_user = user
    return user


def current_user(request: Request) -> WebUser | None:
    """The logged-in user, or None (never raises; for pages shown to everyone, e.g. the login page)."""
    return _authenticate(request)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _require(request: Request) -> WebUser:
    user = _authenticate(request)
    if user is None:
        if _is_api(request):
            if request.headers.get("authorization", "")[:7].lower() == "bearer ":
                raise NotAuthenticated(
                    "the bearer token is not valid or has expired: get a new one (POST /api/v1/token)",
                    INVALID_TOKEN_CHALLENGE,
                )
            raise NotAuthenticated("not logged in, or the session has expired: log in again")
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    if _is_api(request) and user.method == "session" and request.method not in SAFE_METHODS:
        _check_csrf_value(request, request.headers.get(CSRF_HEADER))
    return user


def page_user(request: Request) -> WebUser:
    """Dependency of a page: the logged-in user, else a redirect to ``/login?next=<this page>``."""
    return _require(request)


def api_user(request: Request) -> WebUser:
    """Dependency of an API route: the user of the bearer token or session cookie, else 401 JSON.
    An unsafe request authenticated by the cookie must carry the CSRF token in ``X-CSRF-Token``."""
    return _require(request)


setattr(page_user, ACTION_ATTRIBUTE, None)
setattr(api_user, ACTION_ATTRIBUTE, None)


def permit(action: Action) -> Callable[[Request], WebUser]:
    """A dependency: the logged-in user if their role may do `action` (store permission matrix), else 403
    (anonymous: 401 on the API, a redirect to the login page for pages). The action is recorded on the
    dependency (attribute ``cartrial_action``) for the route × role matrix test."""

    def dependency(request: Request) -> WebUser:
        user = _require(request)
        if not user.may(action):
            roles = ", ".join(
                sorted(
                    r
                    for r in ("admin", "investigator", "data_manager", "monitor", "statistician")
                    if allowed(r, action)
                )
            )
            raise PermissionDeniedError(
                f"user '{user.username}' (role {user.role}) may not {action.value.replace('_', ' ')}; "
                f"allowed roles: {roles}"
            )
        return user

    setattr(dependency, ACTION_ATTRIBUTE, action)
    dependency.__name__ = f"permit_{action.value}"
    return dependency


PUBLIC_ATTRIBUTE = "cartrial_public"


def public() -> None:
    """Dependency marking a route as open to anonymous users (the login page, the token endpoint). Every
    route of the app declares either this, `page_user` / `api_user` (any logged-in user) or
    `permit(action)`; the route × role matrix test refuses a route that declares none."""


setattr(public, PUBLIC_ATTRIBUTE, True)


@dataclass(frozen=True)
class RoutePermission:
    """What a route declares: `public` (anyone), else a login, and the `action` needed (None: any role)."""

    public: bool
    declared: bool
    action: Action | None


@dataclass(frozen=True)
class AppRoute:
    """One route of the app as served: full path, methods and the route object (with its dependencies)."""

    path: str
    methods: frozenset[str]
    route: Any


def app_routes(app: Any) -> list[AppRoute]:
    """Every route of `app`, including those of included routers (flattened; FastAPI ≥ 0.120 keeps an
    included router as one entry of `app.routes`), without mounts (``/static``)."""
    out: list[AppRoute] = []

    def walk(routes: Any) -> None:
        for route in routes:
            if hasattr(route, "effective_candidates"):  # an included router
                for candidate in route.effective_candidates():
                    if hasattr(candidate, "effective_candidates"):
                        walk([candidate])
                    else:
                        original = candidate.original_route
                        methods = frozenset(getattr(original, "methods", None) or ())
                        if methods:
                            out.append(AppRoute(candidate.path, methods, original))
            elif getattr(route, "methods", None):
                out.append(AppRoute(route.path, frozenset(route.methods), route))

    walk(app.routes)
    return out


def route_permission(route: Any) -> RoutePermission:
    """The permission a route declares, read from its dependencies (for the matrix test and docs)."""
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return RoutePermission(False, False, None)
    stack = list(dependant.dependencies)
    found: RoutePermission | None = None
    while stack:
        dep = stack.pop()
        if hasattr(dep.call, ACTION_ATTRIBUTE):
            return RoutePermission(False, True, getattr(dep.call, ACTION_ATTRIBUTE))
        if getattr(dep.call, PUBLIC_ATTRIBUTE, False):
            found = RoutePermission(True, True, None)
        stack.extend(dep.dependencies)
    return found or RoutePermission(False, False, None)


# -- one's own password -------------------------------------------------------------------------------


def require_current_password(
    service: StudyService, user: WebUser, username: str, current: str | None
) -> None:
    """A user setting their own password (an administrator on the users page or ``POST /api/v1/users/{name}
    /password``) must give their current password: a session alone does not change the password (OWASP ASVS
    4.0.3 V2.1.6, D-19.818). Checked by the store's `authenticate`, so a wrong one counts towards the
    per-user-name throttle and is audited (``login_failed``) like a failed sign-in. Another user's password
    is set by an administrator without theirs (a reset)."""
    from cartrial.errors import InputError, Problem
    from cartrial.store.auth import AuthenticationError, authenticate

    if username != user.username:
        return
    if not current:
        raise InputError(
            Problem(
                "your current password is required to change your own password",
                field="current_password",
                allowed="the password you log in with",
            )
        )
    try:
        authenticate(service, user.username, password=current)
    except AuthenticationError:
        raise PermissionDeniedError(
            "the current password is not right (or too many failed attempts): your password was not changed"
        ) from None


# -- CSRF ---------------------------------------------------------------------------------------------


def _csrf_for(secret: str, seed: str) -> str:
    return hmac.new(secret.encode(), b"csrf:" + seed.encode(), hashlib.sha256).hexdigest()


def _csrf_seed(request: Request) -> str | None:
    user = _authenticate(request)
    if user is not None and user.method == "session":
        return user.token
    seed = request.cookies.get(PRESESSION_COOKIE) or getattr(request.state, "presession", None)
    return seed


def csrf_token(request: Request) -> str:
    """The CSRF token of this request's session (before login: of a pre-session cookie, set by the app's
    middleware on the response when missing)."""
    seed = _csrf_seed(request)
    if seed is None:
        seed = secrets.token_urlsafe(32)
        request.state.presession = seed
    return _csrf_for(_settings(request).secret_key, seed)


def _check_csrf_value(request: Request, given: str | None) -> None:
    seed = _csrf_seed(request)
    if (
        not given
        or seed is None
        or not hmac.compare_digest(given, _csrf_for(_settings(request).secret_key, seed))
    ):
        raise CsrfError("the form has no valid CSRF token (reload the page and submit again)")


async def verify_csrf(request: Request) -> None:
    """Dependency of every form POST: refuse (403) unless the form field ``csrf_token`` (or the header
    ``X-CSRF-Token``) matches this session's token. A page form sent without a valid session is
    `SessionEnded` (the login page, 401; nothing is written): the entries are offered back only to the
    user the browser's session cookie names, after they log in again (a forged cross-site post carries no
    session cookie, SameSite=Lax, so its entries are offered to nobody). Logging out without a valid
    session just goes to the login page."""
    if (
        not _is_api(request)
        and request.url.path not in ("/login", "/logout")
        and _authenticate(request) is None
    ):
        raise await _session_ended(request)  # nothing is written without a session (D-19.172)
    if request.url.path == "/logout" and _authenticate(request) is None:
        return  # no session to end: the route only clears the cookie
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        content_type = request.headers.get("content-type", "")
        if "form" in content_type:
            form = await request.form()
            value = form.get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
    _check_csrf_value(request, given)


CSRF = Depends(verify_csrf)
