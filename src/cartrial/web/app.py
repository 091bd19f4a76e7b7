"""The web application: `create_app(url)` builds the FastAPI app on one study database.

It mounts ``/static`` (files served by the app: no CDN, works offline), the JSON API at ``/api/v1``
(`cartrial.web.api`) and its Swagger UI page ``/api/v1/docs`` (`cartrial.web.apidocs`), the login and
logout pages, and every router of `cartrial.web.pages.ROUTERS`.
Run it with ``cartrial serve --url URL`` (uvicorn; docs/web.md).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from cartrial import __version__
from cartrial.web.paths import RoutingPath
from cartrial.web.security import (
    KEPT_PREFIX,
    PRESESSION_COOKIE,
    SESSION_COOKIE,
    LoginThrottle,
    WebSettings,
    credential,
    current_user,
    ended_session_user,
    logged_out_credential,
    public,
    verify_csrf,
)

STATIC_DIR = Path(__file__).parent / "static"
REQUEST_THREADS = 4
"""Requests handled at once by one worker process (the threads that run the routes; more wait their turn
in the event loop). FastAPI's default, 40 threads, lets a loaded worker switch between 40 requests at
once: each waits longer, connections beyond the pool are opened and closed per request, and the server
spends more CPU per request (docs/web.md "Performance"). Environment: ``CARTRIAL_WEB_THREADS``."""
SQLITE_POOL_SIZE = REQUEST_THREADS
"""SQLite connections kept open by the server: one per request thread (more are opened on demand for a
request that nests reads); PostgreSQL uses SQLAlchemy's default pool (5 + 10)."""

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'self'"
    ),
}
"""Headers on every response (OWASP Secure Headers): no sniffing, no framing, scripts only from the app."""

__all__ = ["STATIC_DIR", "WebSettings", "create_app", "login_user", "render_login", "safe_next"]


class SecurityHeaders:
    """ASGI middleware: `SECURITY_HEADERS` on every response, ``Cache-Control: no-store`` on pages and API
    answers, the pre-session cookie (CSRF seed before login) when a page made one
    (`cartrial.web.security.csrf_token`), ``Secure`` on every cookie over HTTPS (`secure_cookies`), and
    the 500 of an exception no handler took, answered here so that it carries them too (D-19.350).
    Plain ASGI (not Starlette's BaseHTTPMiddleware): no extra task or stream per request."""

    def __init__(self, app: Any, *, cookie_secure: bool) -> None:
        self.app = app
        self.cookie_secure = cookie_secure

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from starlette.datastructures import MutableHeaders
        from starlette.requests import cookie_parser

        scope.setdefault("state", {})
        path = str(scope.get("path", ""))

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if path.startswith(("/api/", "/login", "/logout")) or "text/html" in headers.get(
                    "content-type", ""
                ):
                    headers.setdefault("Cache-Control", "no-store")
                state = scope.get("state") or {}
                seed = state.get("presession") if isinstance(state, dict) else None
                if seed is not None:
                    raw = dict(scope.get("headers") or ()).get(b"cookie", b"").decode("latin-1")
                    if PRESESSION_COOKIE not in cookie_parser(raw):
                        headers.append(
                            "set-cookie", f"{PRESESSION_COOKIE}={seed}; HttpOnly; Path=/; SameSite=lax"
                        )
                if self.cookie_secure or scope.get("scheme") == "https":
                    message["headers"] = secure_cookies(message.get("headers") or [])
            if message["type"] == "http.response.start":
                started.append(True)
            await send(message)

        started: list[bool] = []
        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if not started:  # answered here, inside this middleware: the headers as on every answer
                await _unexpected_error(path)(scope, receive, send_with_headers)
            raise  # the server logs it (Starlette's outer handler sends nothing more once answered)


def secure_cookies(raw_headers: Any) -> list[tuple[bytes, bytes]]:
    """Response headers with ``Secure`` added to every ``Set-Cookie`` that lacks it: on a response over
    HTTPS, or every response with ``--secure-cookie`` (behind a TLS proxy), each cookie of the app — the
    session, the pre-session CSRF seed, the cookie a logout leaves — goes back only over HTTPS (D-19.344).
    One place for every cookie, not a flag at each ``set_cookie``."""
    out: list[tuple[bytes, bytes]] = []
    for name, value in raw_headers:
        if name.lower() == b"set-cookie":
            flags = {part.strip().lower() for part in value.split(b";")[1:]}
            if b"secure" not in flags:
                value = value + b"; Secure"
        out.append((name, value))
    return out


UNEXPECTED_ERROR = (
    "the server could not complete this request (an unexpected error, logged for the administrator); "
    "nothing of the request is shown"
)


def _unexpected_error(path: str) -> Response:
    """The 500 of an exception no handler took: the API's error shape, or a plain page; never the
    exception's text, which may hold a record's values (D-12.2, D-19.350)."""
    from fastapi.responses import JSONResponse, PlainTextResponse

    if path.startswith("/api/"):
        body = {"error": UNEXPECTED_ERROR, "field": None, "value": None, "allowed": None}
        return JSONResponse(body, status_code=500, headers={"Cache-Control": "no-store"})
    return PlainTextResponse(
        f"Error 500: {UNEXPECTED_ERROR}", status_code=500, headers={"Cache-Control": "no-store"}
    )


class HeadAsGet:
    """ASGI middleware: a HEAD request is answered as its GET would be, headers included, without the
    content (RFC 9110 §9.1 and §9.3.2; FastAPI routes declare GET only, so HEAD was a 405) (D-19.198). The
    route, its authentication and its checks run as for GET; only the body is not sent."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_content(message: Any) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_content)


MAX_NEXT_LENGTH = 2000
"""Longest login target kept (`safe_next`): the URL length every browser and proxy handles (RFC 9110 §4.1
recommends at least 8,000 octets for a request line; a redirect is a header, kept short) (D-19.198)."""


def render_login(
    request: Request,
    next_url: str | None,
    *,
    username: str | None = None,
    error: str | None = None,
    kept: Sequence[tuple[str, str]] | None = None,
    resume_path: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The login page, built in one place for every path that shows it (the page itself, a refused login,
    an ended session with the entries kept, an expired login form): `next_url` and `resume_path` made safe
    (`safe_next`)."""
    from cartrial.web.templating import render

    context: dict[str, Any] = {"title": "Log in", "next_url": safe_next(next_url), "username": username}
    if error is not None:
        context["error"] = error
    if kept is not None:
        context.update(kept=kept, resume_path=safe_next(resume_path))
    return render(request, "login.html", context, status_code=status_code)


def safe_next(target: str | None) -> str:
    """A local path of at most `MAX_NEXT_LENGTH` characters to go to after login (anything else — another
    host, ``//host``, a path long enough to make a huge Location header — goes home)."""
    if (
        not target
        or len(target) > MAX_NEXT_LENGTH
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
    ):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def login_user(request: Request, username: str, password: str, source: str) -> tuple[Any, str]:
    """Check a password with the store (argon2id, per-user-name throttling, audited failures) after the
    per-address throttle; returns (the authenticated user, the new session token)."""
    from cartrial.store.auth import AuthenticationError, authenticate, create_session
    from cartrial.web.errors import ThrottledError

    throttle: LoginThrottle = request.app.state.login_throttle
    address = client_address(request)
    if not username.strip() or not password:
        raise AuthenticationError("authentication failed: give a user name and a password")
    if throttle.blocked(address):
        raise ThrottledError("too many failed logins from this address; try again later")
    service = request.app.state.service
    try:
        user = authenticate(service, username, password=password)
    except AuthenticationError:
        throttle.failed(address)
        raise
    return user, create_session(service, user, source=source)


def _set_session_cookie(response: Response, request: Request, value: str) -> None:
    settings: WebSettings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        value,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )


MULTIPART_LOGGERS = ("python_multipart.multipart", "multipart.multipart")
"""The loggers of the multipart parser (python-multipart; ``multipart`` is its old import name)."""
MULTIPART_LOG_LINE = (
    "a multipart/form-data body could not be parsed (the parser's detail is withheld: it quotes body bytes)"
)
"""What the server's log says instead of a parser warning quoting a byte of the body (D-19.1329)."""


class _WithheldDetail(logging.Filter):
    """Replaces a multipart parser's log message (which quotes body bytes: a byte of an uploaded record, a
    header's bytes) by `MULTIPART_LOG_LINE`, keeping its level (D-19.1329)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = MULTIPART_LOG_LINE, None
        record.exc_info = record.exc_text = None  # an exception's text may quote a path or bytes alike
        return True


def withhold_multipart_details() -> None:
    """Install `_WithheldDetail` on the multipart parser's loggers, once per process."""
    for name in MULTIPART_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _WithheldDetail) for f in logger.filters):
            logger.addFilter(_WithheldDetail())


def create_app(url: str, *, settings: WebSettings | None = None) -> FastAPI:
    """The web application on the study database at `url` (SQLite path URL or PostgreSQL URL)."""
    from cartrial.store import StudyService, connect
    from cartrial.web import api, apidocs, errors
    from cartrial.web.pages import ROUTERS

    settings = settings or WebSettings()
    withhold_multipart_details()  # no body byte in the server's log (D-19.1329)
    threads = _request_threads()
    service = StudyService(connect(url, sqlite_pool_size=max(SQLITE_POOL_SIZE, threads)))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        import anyio.to_thread

        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="cartrial study API",
        version=__version__,
        description=(
            "The study database of a CAR-T first-in-human trial: data entry with the import's validation, "
            "queries, audit trail, data lock, import/export and dose escalation. Authenticate with "
            "`POST /api/v1/token` (OAuth2 password flow) and send `Authorization: Bearer <token>`."
        ),
        openapi_url=apidocs.OPENAPI_URL,
        docs_url=None,  # FastAPI's page loads Swagger UI from a CDN with an inline script: our own (D-19.363)
        swagger_ui_oauth2_redirect_url=None,
        redoc_url=None,
        dependencies=[Depends(errors.one_value_each)],  # a name given twice: refused, not its last value kept
    )
    app.state.service = service
    app.state.settings = settings
    app.state.login_throttle = LoginThrottle(settings.ip_failures, settings.ip_window_s)
    app.state.study_code = _study_code(service)
    errors.install(app)

    app.add_middleware(SecurityHeaders, cookie_secure=settings.cookie_secure)
    app.add_middleware(HeadAsGet)
    app.add_middleware(RoutingPath)  # outermost: every later reader of the path sees it (D-19.1129)

    app.include_router(apidocs.router)  # before the /static mount: it serves /static/swagger/…
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
    app.include_router(api.router, prefix="/api/v1")

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False, dependencies=[Depends(public)])
    def login_page(request: Request, next: str = "/") -> Response:
        if current_user(request) is not None:
            return RedirectResponse(safe_next(next), status_code=303)
        return render_login(request, next)

    @app.post(
        "/login",
        response_class=HTMLResponse,
        include_in_schema=False,
        dependencies=[Depends(public), Depends(verify_csrf)],
    )
    def login_submit(
        request: Request,
        username: str = Form(""),
        password: str = Form(""),
        next: str = Form("/"),
        resume_path: str = Form(""),
        kept: list[tuple[str, str]] = Depends(_kept_entries),
    ) -> Response:
        from cartrial.errors import PermissionDeniedError

        try:
            _user, token = login_user(request, username, password, "web login")
        except PermissionDeniedError as exc:
            from cartrial.web.errors import authentication_challenge, status_of

            page = render_login(
                request,
                next,
                username=username,
                error=str(exc),
                kept=kept,
                resume_path=resume_path,
                status_code=status_of(exc),  # 401 wrong name or password (a challenge), 429 this address
            )
            challenge = authentication_challenge(exc)
            if challenge is not None:
                page.headers["WWW-Authenticate"] = challenge
            return page
        replaced = current_user(request)
        if replaced is not None and replaced.method == "session":
            # signing in over a session ends it: no orphan session outlives the cookie (D-19.821)
            from cartrial.store.auth import end_session

            end_session(service, replaced.token)
        response: Response = RedirectResponse(safe_next(next), status_code=303)
        if kept and resume_path and ended_session_user(request) == _user.username:
            response = _resume_page(request, _user, token, safe_next(resume_path), kept)
        _set_session_cookie(response, request, credential(token, username))
        # a new session: a new pre-session seed for the next login on this browser (no fixation)
        response.set_cookie(
            PRESESSION_COOKIE,
            secrets.token_urlsafe(32),
            httponly=True,
            samesite="lax",
            secure=settings.cookie_secure,
            path="/",
        )
        return response

    @app.post("/logout", include_in_schema=False, dependencies=[Depends(public), Depends(verify_csrf)])
    def logout(request: Request) -> Response:
        from cartrial.store.auth import end_session

        user = current_user(request)
        if user is not None and user.method == "session":
            end_session(service, user.token)
        response = RedirectResponse("/login", status_code=303)
        # the cookie keeps the user's name and no token: a form of another tab sent after this logout is
        # offered back to the same user after they log in again, as after the idle timeout (D-19.247)
        username = user.username if user is not None else ended_session_user(request)
        if username is None:
            response.delete_cookie(SESSION_COOKIE, path="/")
        else:
            _set_session_cookie(response, request, logged_out_credential(username))
        return response

    for router in ROUTERS:
        app.include_router(router)
    return app


async def _kept_entries(request: Request) -> list[tuple[str, str]]:
    """The entries of a form sent after its session ended, carried by the login page (`KEPT_PREFIX`)."""
    form = await request.form()
    return [
        (name[len(KEPT_PREFIX) :], value)
        for name, value in form.multi_items()
        if name.startswith(KEPT_PREFIX) and isinstance(value, str)
    ]


def _resume_page(
    request: Request, user: Any, token: str, resume_path: str, kept: list[tuple[str, str]]
) -> Response:
    """After logging in again as the user whose session ended: their entries, to send again to
    `resume_path` (the route they were sent to) with the new session's CSRF token (D-19.172). Nothing is
    sent by itself: the user presses the button, and the route checks everything as before."""
    from cartrial.web.security import WebUser
    from cartrial.web.templating import render

    service = request.app.state.service
    request.state.web_user = WebUser(
        user.username, user.role, user.site_id, service.as_user(user.username), "session", token
    )
    return render(
        request,
        "resume.html",
        {"title": "Send your entries again", "resume_path": resume_path, "kept": kept},
    )


def _request_threads() -> int:
    """`REQUEST_THREADS`, or ``CARTRIAL_WEB_THREADS`` (1–64)."""
    import os

    from cartrial.errors import InputError, Problem

    text = os.environ.get("CARTRIAL_WEB_THREADS", "").strip()
    if not text:
        return REQUEST_THREADS
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 64:  # `"²".isdigit()` (D-19.520)
        raise InputError(
            Problem(
                "not a thread count",
                field="CARTRIAL_WEB_THREADS",
                value=text,
                allowed="1 to 64, written in the digits 0-9",
            )
        )
    return int(text)


def app_from_environment() -> FastAPI:
    """The app for `cartrial serve` (uvicorn factory; one per worker process): the database URL from
    ``CARTRIAL_WEB_URL``, the idle minutes from ``CARTRIAL_WEB_SESSION_MINUTES``."""
    import os

    minutes = float(os.environ.get("CARTRIAL_WEB_SESSION_MINUTES", "30"))
    return create_app(os.environ["CARTRIAL_WEB_URL"], settings=WebSettings(session_minutes=minutes))


def _study_code(service: Any) -> str | None:
    from sqlalchemy import select

    from cartrial.store.models import Study

    with service.read() as connection:
        return connection.execute(select(Study.study_code)).scalar()
