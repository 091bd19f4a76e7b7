"""Errors as HTTP answers: every `CartrialError` becomes a 4xx with ``{error, field, value, allowed}``.

- `InputError` → 422 (each located problem in ``problems``; the first one's field/value/allowed on top);
- authentication failures → 401 with a ``WWW-Authenticate`` Bearer challenge (`authentication_challenge`):
  `NotAuthenticated` (no credential, an invalid or expired token) and the store's `AuthenticationError`
  (wrong user name or password, a user name throttled by the store); the per-address login throttle → 429;
  authorisation failures, `PermissionDeniedError` (an authenticated user's role or site, CSRF) → 403;
- `ConflictError` (changed since read, data lock, existing key) → 409; so is `StoredValueError` (a stored
  value cartrial never writes, by its record: the server's data conflicts with its types, D-19.556);
- any other `CartrialError` (configuration, not estimable) → 400;
- a request that does not match the declared parameters (`RequestValidationError`) → 422 in the same shape;
- a control character in the URL (``%00``…) → 400 in the same shape, before any route runs;
- a query parameter or form field given more than once, an API query parameter the route does not take
  (`one_value_each`) → 422 in the same shape;
- a request body larger than `MAX_BODY_BYTES` (a file upload to an import route excepted) → 413 in the same
  shape, before any route runs and without reading more of it (`LimitRequestBody`);
- pages: anonymous → redirect to the login page; other errors → a short HTML page with the same message.

No message shows a password or a stored record's values (the store's messages follow that rule; a typed
field value is echoed only as the offending ``value``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from cartrial.columns import is_unicode_text
from cartrial.errors import (
    MAX_PROBLEMS_SHOWN,
    CartrialError,
    ConflictError,
    InputError,
    InternalError,
    PermissionDeniedError,
    Problem,
    StoredValueError,
    conflict_problems,
    conflict_records,
    shown_name,
)
from cartrial.web.security import BEARER_CHALLENGE, CsrfError, LoginRequired, NotAuthenticated, SessionEnded

__all__ = [
    "JSON_BODY_ALLOWED",
    "MAX_BODY_BYTES",
    "JSONBodyRoute",
    "NotFoundError",
    "ThrottledError",
    "authentication_challenge",
    "error_body",
    "install",
    "status_of",
]

MAX_BODY_BYTES = 1024 * 1024
"""The largest request body a route reads into memory (JSON or a form post: a record, a reason of at most
a few thousand characters, a query text — a few kilobytes). Larger: 413, refused before a route runs, after
reading at most this much. File uploads to `UPLOAD_PATHS` by a user who may import are held to
`MAX_UPLOAD_REQUEST_BYTES` instead: their file parts are streamed to disk and capped per file
(`cartrial.web.api.MAX_UPLOAD_BYTES`, `cartrial.web.pages.data.MAX_UPLOAD_BYTES`)."""
UPLOAD_PATHS = ("/api/v1/import/", "/data/import")
"""Routes that take files (multipart/form-data only)."""
MAX_UPLOAD_REQUEST_BYTES = 1024 * 1024 * 1024
"""The largest upload request (all files together) of a user who may import: twice the largest file the
API takes (`cartrial.web.api.MAX_UPLOAD_BYTES`, 512 MB; a 1,000-subject study's largest template is about
60 MB). Anyone else (anonymous, a role that may not import) is held to `MAX_BODY_BYTES` on these routes
too: the body is not spooled to disk before the route asks who sent it (D-19.346)."""


JSON_BODY_ALLOWED = "a JSON object in UTF-8 (Content-Type: application/json)"
"""What an API body must be (RFC 8259: JSON exchanged between systems is UTF-8)."""
UNPAIRED_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
"""A ``\\uD800``–``\\uDFFF`` escape without its pair, as a JSON text spells it (where to point at)."""


def _has_unpaired_surrogate(value: Any) -> bool:
    """Whether any text (key or value) of a parsed JSON value holds a lone surrogate."""
    if isinstance(value, str):
        return not is_unicode_text(value)
    if isinstance(value, dict):
        return any(_has_unpaired_surrogate(k) or _has_unpaired_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_unpaired_surrogate(item) for item in value)
    return False


def read_json_body(body: bytes) -> Any:
    """The JSON value of a request body, or `json.JSONDecodeError` naming what is wrong — the one error
    FastAPI reports as a located 422 (``body``), for every body JSON cannot give as text (D-19.171): not
    UTF-8, a number beyond the interpreter's digit limit (4,300 by default), nesting deeper than 100
    levels (`cartrial.sources.NESTED_TOO_DEEP`), and a
    ``\\uD800``–``\\uDFFF`` escape without its pair, which no UTF-8 text (no database, no answer) can hold
    (D-19.170)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        shown = body[: exc.start].decode("utf-8")
        raise json.JSONDecodeError("not UTF-8 text", shown, exc.start) from None
    from cartrial.sources import parse_json

    value = parse_json(text)  # the one JSON reader of user text: depth and long numbers located (D-19.496)
    if _has_unpaired_surrogate(value):
        found = UNPAIRED_SURROGATE.search(text)
        raise json.JSONDecodeError(
            "an unpaired surrogate escape (\\uD800 to \\uDFFF) is not a character",
            text,
            found.start() if found else 0,
        )
    return value


class _JSONCheckedRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = read_json_body(await self.body())
        return self._json


class JSONBodyRoute(APIRoute):
    """An API route whose JSON body is read by `read_json_body`: every body the API cannot use is a
    located 422, never a 400 without a field or a 500 further on."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            return await handler(_JSONCheckedRequest(request.scope, request.receive))

        return checked


NOT_KEPT_NOTE = {"files": "choose the files again", "password": "type the password again"}
"""What the login page after an ended session asks to be given again (`SessionEnded.not_kept`)."""


class ThrottledError(PermissionDeniedError):
    """Too many failed logins from one address (429)."""


class NotFoundError(InputError):
    """No such form, record, query or subject — or not one this user may see (404)."""


def authentication_challenge(exc: CartrialError) -> str | None:
    """The ``WWW-Authenticate`` value of an authentication failure (answered 401), else None: who the
    caller is could not be established. An authenticated caller who may not is a 403 (no challenge)."""
    from cartrial.store.auth import AuthenticationError

    if isinstance(exc, NotAuthenticated):
        return exc.challenge
    if isinstance(exc, AuthenticationError):
        return BEARER_CHALLENGE
    return None


def status_of(exc: CartrialError) -> int:
    if authentication_challenge(exc) is not None:
        return 401
    if isinstance(exc, ThrottledError):
        return 429
    if isinstance(exc, PermissionDeniedError):
        return 403
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError | StoredValueError):  # the server's data, not the request (D-19.556)
        return 409
    if isinstance(exc, InputError):
        return 422
    if isinstance(exc, InternalError):
        return 500
    return 400


DATABASE_SHOWN_AS = "the study database"
"""What a page or an API answer says where a message names the study database's URL (D-19.121)."""


def without_database_location(message: str, engine: Any) -> str:
    """`message` with the URL of `engine`'s database (and a SQLite file's path) replaced by
    `DATABASE_SHOWN_AS`: the store's messages start with the URL for the command line, where it tells the
    user which file is meant; a web user must not learn the server's paths, host or database user
    (D-19.121)."""
    url = getattr(engine, "url", None)
    if url is None:
        return message
    shown = {url.render_as_string(hide_password=False), url.render_as_string(hide_password=True), str(url)}
    for text in sorted(shown, key=len, reverse=True):
        message = message.replace(text, DATABASE_SHOWN_AS)
    if url.database and url.database != ":memory:" and len(url.database) > 1:
        message = message.replace(url.database, DATABASE_SHOWN_AS)
    return message


def _engine_of(request: Request) -> Any:
    service = getattr(request.app.state, "service", None)
    return getattr(service, "engine", None)


def _text(value: Any) -> str | None:
    """A value as an answer may show it: a lone surrogate (which no UTF-8 answer can carry) escaped."""
    if value is None:
        return None
    return str(value).encode("utf-8", "backslashreplace").decode("utf-8")


MAX_ERROR_CHARACTERS = 4000
"""Longest ``error`` text of an answer (or message of an error page): the problems beyond are in
`problems` (D-19.349)."""


def bounded_text(text: str, limit: int = MAX_ERROR_CHARACTERS) -> str:
    """`text` cut to `limit` characters, saying so."""
    return text if len(text) <= limit else text[:limit] + f"… (cut at {limit:,} of {len(text):,} characters)"


def _problem_out(problem: Any) -> dict[str, Any]:
    """One problem as an answer shows it: its value shortened (`Problem.as_dict`), and its other texts (a
    field name as sent, a message) of bounded length (D-19.349)."""
    return {
        k: bounded_text(_text(v) or "", 1000) if isinstance(v, str) else v
        for k, v in problem.as_dict().items()
    }


def error_body(exc: CartrialError) -> dict[str, Any]:
    """``{error, field, value, allowed}`` (+ ``problems`` and ``problems_total`` for input errors and a
    located conflict: a 409's problem message is in the body as a 422's is). Bounded
    whatever the request held (D-19.349): values shortened, at most `MAX_PROBLEMS_SHOWN` problems, an
    ``error`` text of at most `MAX_ERROR_CHARACTERS`."""
    body: dict[str, Any] = {"error": str(exc), "field": None, "value": None, "allowed": None}
    if isinstance(exc, InputError) and exc.problems:
        shown = [_problem_out(p) for p in exc.problems[:MAX_PROBLEMS_SHOWN]]
        first = shown[0]
        body.update(field=first["field"], value=first["value"], allowed=first["allowed"])
        if len(exc.problems) == 1 and exc.header is None:
            body["error"] = first["message"]
        body["problems"] = shown
        body["problems_total"] = len(exc.problems)
    elif isinstance(exc, ConflictError) and exc.problems:
        # the records only, as the CLI and the web import page list them (`conflict_problems`): the store's
        # "N more record(s)" summary is `more`, not a problem; the counts are the store's true count of
        # records, each record one problem (a lock's 150 frozen records: 150, the first 100 listed;
        # D-19.1364, D-19.1421)
        # (`conflict_records`, the one filter; never the summary as a record). `records_total` only for a
        # refusal that counts records (the store's count or a `more` summary): a taken user name is one
        # problem, no records (review of D-19.1421)
        listing = conflict_problems(exc)
        listed = [_problem_out(p) for p in conflict_records(exc)[:MAX_PROBLEMS_SHOWN]]
        if listed:
            located = listed[0]
            body.update(field=located["field"], value=located["value"], allowed=located["allowed"])
        body["problems"] = listed
        body["problems_total"] = listing.total
        if exc.records_total is not None or exc.more is not None:
            body["records_total"] = listing.total
        body["more"] = listing.more
    body["error"] = bounded_text(str(body["error"]))
    return body


def _parameter_words(error: Any) -> dict[str, Any]:
    """``message`` and ``allowed`` of a request parameter the route's declaration refused, in the words of
    every bad input: "out of range" / ``≤ 1000`` (`cartrial.protocol.yaml_source.allowed_from_ctx`, the
    one reading of pydantic's bounds), not pydantic's sentence as both (D-19.1426)."""
    from cartrial.allowed import PARSER_ERROR_WORDS
    from cartrial.protocol.yaml_source import allowed_from_ctx

    kind = str(error.get("type"))
    words = PARSER_ERROR_WORDS.get(kind)  # the one table of the parser's error types (D-19.1455)
    message = words.message if words is not None and words.message is not None else str(error.get("msg"))
    if kind in ("missing", "extra_forbidden"):  # the field's name says it; the route's schema lists them
        return {"allowed": None, "message": message}
    allowed = allowed_from_ctx(error)
    return {"allowed": allowed if allowed is not None else error.get("msg"), "message": message}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _page(request: Request, status: int, message: str) -> Response:
    from cartrial.web.templating import render

    try:
        return render(
            request,
            "error.html",
            {"title": f"Error {status}", "message": bounded_text(message), "status": status},
            status_code=status,
        )
    except Exception:  # the error page itself must never fail
        from fastapi.responses import PlainTextResponse

        return PlainTextResponse(message, status_code=status)


def _control_character_problem(request: Request) -> Problem | None:
    """A control character in the URL's path or a query parameter (``%00`` and the like): refused before a
    route runs, as the store refuses it in a value (PostgreSQL cannot even compare a text holding NUL)."""
    from cartrial.store.fields import control_character_problem, named_control_character

    found = control_character_problem("URL path", request.url.path)
    text = request.url.path
    for name, value in request.query_params.multi_items():
        if found is None:
            found = control_character_problem(f"query parameter {shown_name(name)!r}", name + value)
            text = name + value
    if found is None or found.value is None:  # not Unicode text: said so, nothing named
        return found
    # named as every refused character of a key: "contains U+001B <control> (a control character)" (D-19.522)
    return replace(found, message=named_control_character(text))


REPEATABLE_FIELDS = frozenset({"files"})
"""Form fields a request may give more than once: the files of an upload (one part per file)."""
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


FORM_BODY_ALLOWED = (
    "a form body: application/x-www-form-urlencoded, or multipart/form-data with its boundary and a name for "
    "each part (at most 1000 parts, 1 MB per field)"
)


def _content_type(request: Request) -> str:
    """The request's media type, lower case, without parameters."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


FORM_BODY_KEY = "cartrial.form_body"
"""Scope key of the bytes of an `application/x-www-form-urlencoded` body as received (`LimitRequestBody`,
bounded by `MAX_BODY_BYTES`): Starlette's form parser leaves nothing to tell a byte it replaced
(D-19.1127)."""
UPLOAD_TEXTS_KEY = "cartrial.upload_texts"
"""Scope key of the `MultipartTexts` of an upload to `UPLOAD_PATHS` (`LimitRequestBody`): its text parts,
checked by `one_value_each` as a form's are (D-19.1166); the files' bytes are not kept."""
FORM_TEXT_ALLOWED = "UTF-8 text, each byte beyond ASCII percent-encoded (as a browser sends a form)"
"""What the names and values of an `application/x-www-form-urlencoded` body must be (D-19.1127)."""


MULTIPART_ALLOWED = "UTF-8 text in each part that is not a file (as a browser sends a form)"
"""What the names and text parts of a `multipart/form-data` body must be (D-19.1130)."""


def _form_text_problem(body: bytes) -> Problem | None:
    """The first name or value of an `application/x-www-form-urlencoded` body that is not UTF-8 text, as a
    located problem without the value; None if all are (D-19.1127). The format is ASCII, its bytes beyond
    ASCII percent-encoded, and those bytes are UTF-8 (WHATWG HTML's form encoding in a UTF-8 page; the
    WHATWG URL parser's "UTF-8 decode"). Starlette's parser reads a percent-encoded byte that is not UTF-8
    as U+FFFD and a raw byte as its Latin-1 character, without a word: text nobody typed would be saved
    (the API refuses a body that is not UTF-8, D-19.171; the CLI such a byte, D-19.197)."""
    from urllib.parse import unquote_to_bytes

    for pair in body.split(b"&"):
        name, _, value = pair.partition(b"=")
        names = unquote_to_bytes(name.replace(b"+", b" "))
        shown = shown_name(names.decode("utf-8")) if _utf8(names) else None
        named = f"the name of the form field {shown!r}" if shown is not None else "the name of a form field"
        for field, part, what in (("body", name, named), (shown, value, f"the form field {shown!r}")):
            if not part.isascii() and _utf8(part):  # UTF-8 sent as it is (D-19.1131)
                text = f"{what} is not percent-encoded UTF-8 text (a byte beyond ASCII sent as it is)"
            elif not part.isascii() or not _utf8(unquote_to_bytes(part.replace(b"+", b" "))):
                text = f"{what} is not UTF-8 text"
            else:
                continue
            return Problem(text, field=field, allowed=FORM_TEXT_ALLOWED)
    return None


def _multipart_text_problem(content_type: str, body: bytes) -> Problem | None:
    """The first text part of the whole `multipart/form-data` body `body` that is not UTF-8
    (`MultipartTexts`)."""
    texts = MultipartTexts(content_type)
    texts.feed(body)
    return texts.problem()


class MultipartTexts:
    """The text parts (those without a file name) of a `multipart/form-data` body, read as it streams in
    (`feed`): `problem` is the first whose name or value is not UTF-8, as a located problem without the
    value; None if all are, or if the body cannot be parsed (Starlette's parser then answers it, D-19.550)
    (D-19.1130). Starlette decodes such a part as Latin-1, and a part of a body declaring another charset
    in that charset, without a word; a browser sends a UTF-8 page's form in UTF-8 (WHATWG HTML,
    "multipart/form-data encoding"). File parts are the import's, read by its own UTF-8 reader: their bytes
    are not kept, so an upload of any size is checked in flat memory (D-19.1166); a text part is kept up to
    `TEXT_PART_BYTES` (Starlette refuses a longer one)."""

    TEXT_PART_BYTES = 1024 * 1024 + 1

    def __init__(self, content_type: str) -> None:
        from python_multipart.multipart import MultipartParser, parse_options_header

        self._parse_options = parse_options_header
        self._charset: Problem | None = None
        self._failed = False
        self._parser: Any = None
        # (name, kept bytes, is a file) of each part; the headers of the part being read
        self._parts: list[tuple[bytes, bytearray, bool]] = []
        self._headers: dict[bytes, bytes] = {}
        self._header = [bytearray(), bytearray()]
        _kind, params = parse_options_header(content_type)
        boundary = params.get(b"boundary")
        if not boundary:
            return
        if params.get(b"charset", b"utf-8").lower() not in (b"utf-8", b"utf8"):
            self._charset = Problem(
                "the form body declares a charset other than UTF-8", field="body", allowed=MULTIPART_ALLOWED
            )
            return
        callbacks: Any = {
            "on_part_begin": self._begin,
            "on_part_data": self._data,
            "on_header_field": lambda data, start, end: self._header[0].extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._header[1].extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
        }
        try:
            self._parser = MultipartParser(boundary, callbacks)
        except Exception:
            self._failed = True

    def _begin(self) -> None:
        self._headers = {}

    def _header_end(self) -> None:
        self._headers[bytes(self._header[0]).lower()] = bytes(self._header[1])
        self._header[0], self._header[1] = bytearray(), bytearray()

    def _headers_finished(self) -> None:
        _disposition, options = self._parse_options(self._headers.get(b"content-disposition", b""))
        self._parts.append((options.get(b"name", b""), bytearray(), b"filename" in options))

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._parts and not self._parts[-1][2]:
            kept = self._parts[-1][1]
            if len(kept) < self.TEXT_PART_BYTES:
                kept.extend(data[start : min(end, start + self.TEXT_PART_BYTES - len(kept))])

    def feed(self, chunk: bytes) -> None:
        """Read the next bytes of the body."""
        if self._parser is None or self._failed or not chunk:
            return
        try:
            self._parser.write(chunk)
        except Exception:  # Starlette parses the same body; it answers one it cannot
            self._failed = True

    def problem(self) -> Problem | None:
        """The problem of the body read so far (the whole body: call once it has been received)."""
        if self._charset is not None:
            return self._charset
        if self._parser is None or self._failed:
            return None
        try:
            self._parser.finalize()
        except Exception:
            return None
        for name, data, is_file in self._parts:
            if is_file:
                continue
            if not _utf8(name):
                return Problem(
                    "the name of a form field is not UTF-8 text", field="body", allowed=MULTIPART_ALLOWED
                )
            shown = shown_name(name.decode("utf-8"))
            if len(data) < self.TEXT_PART_BYTES and not _utf8(bytes(data)):
                return Problem(
                    f"the form field {shown!r} is not UTF-8 text", field=shown, allowed=MULTIPART_ALLOWED
                )
        return None


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _repeated_problem(kind: str, pairs: Any) -> Problem | None:
    """The first name of `pairs` (name, value) given more than once, as a located problem; None if none."""
    seen: set[str] = set()
    for name, _value in pairs:
        if name in seen and name not in REPEATABLE_FIELDS:
            shown = shown_name(name)
            return Problem(
                f"the {kind} {shown!r} is given more than once (the app would keep only one of the values)",
                field=shown,
                allowed=f"each {kind} once",
            )
        seen.add(name)
    return None


def _unknown_query_problem(request: Request) -> Problem | None:
    """An API request's first query parameter its route does not take, naming those it takes (D-19.549):
    FastAPI ignores it, so a misspelt filter (``?subjectid=``) answered the unfiltered list. Only the API's
    own routes, those of its schema (``openapi.json``), are checked: pages read some parameters themselves
    (``done``, ``queries``), and so do the HTML pages under ``/api/`` outside the schema (the Swagger UI
    page's ``configUrl``, its OAuth2 redirect page's ``code`` and ``state``)."""
    route = request.scope.get("route")
    if not _is_api(request) or not getattr(route, "include_in_schema", False):
        return None
    taken = _query_names(route)
    if taken is None:
        return None
    for name in request.query_params:
        if name not in taken:
            shown = shown_name(name)
            return Problem(
                f"the query parameter {shown!r} is not one this route takes",
                field=shown,
                allowed=", ".join(sorted(taken)) or "no query parameter",
            )
    return None


QUERY_NAMES_ATTRIBUTE = "cartrial_query_names"
"""Where `_query_names` keeps a route's names (computed once per route)."""


def _query_names(route: Any) -> frozenset[str] | None:
    """The query parameter names `route` declares (its dependencies' included); None if not an API route."""
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return None
    names: frozenset[str] | None = getattr(route, QUERY_NAMES_ATTRIBUTE, None)
    if names is None:
        found: set[str] = set()
        todo = [dependant]
        while todo:
            one = todo.pop()
            found.update(field.alias for field in one.query_params)
            todo.extend(one.dependencies)
        names = frozenset(found)
        setattr(route, QUERY_NAMES_ATTRIBUTE, names)
    return names


async def one_value_each(request: Request) -> None:
    """App dependency of every route: a query parameter or form field given twice is a located 422 (API) or
    the error page, before the route reads either (D-19.548). FastAPI and Starlette keep the last value of a
    repeated name and drop the others without a word (``temperature_c=38.5&temperature_c=41`` saved 41).
    The value is not shown (a repeated field may be a password). A form is read here only where the route
    reads one (a page, or an API route declaring form fields): an API route taking JSON keeps its
    "not a JSON body" answer to a form. An API query parameter the route does not take is refused too
    (`_unknown_query_problem`, D-19.549)."""
    problem = _repeated_problem("query parameter", request.query_params.multi_items())
    if problem is None:
        problem = _unknown_query_problem(request)
    if problem is None and _content_type(request) in FORM_TYPES and _reads_a_form(request):
        pairs = (await request.form()).multi_items()  # the body received whole (`LimitRequestBody` kept it)
        body = bytes(request.scope.get(FORM_BODY_KEY, b""))
        if _content_type(request) == FORM_TYPES[0]:
            problem = _form_text_problem(body)
        elif FORM_BODY_KEY in request.scope:  # multipart, not an upload to `UPLOAD_PATHS`
            problem = _multipart_text_problem(request.headers.get("content-type", ""), body)
        elif isinstance(texts := request.scope.get(UPLOAD_TEXTS_KEY), MultipartTexts):  # an upload
            problem = texts.problem()  # its text parts, read as the body streamed in (D-19.1166)
        if problem is None:
            problem = _repeated_problem("form field", pairs)
    if problem is not None:
        raise InputError(problem)


def _reads_a_form(request: Request) -> bool:
    from fastapi import params

    route = request.scope.get("route")
    if not _is_api(request):
        return True
    body = getattr(route, "body_field", None)
    return body is not None and isinstance(body.field_info, params.Form)


class RefuseControlCharacters:
    """ASGI middleware: a request whose URL holds a control character gets a 400 in the error shape (API)
    or the error page, before routing (`_control_character_problem`; the URL is not echoed back). Plain
    ASGI, as `cartrial.web.app.SecurityHeaders`: no extra task or stream per request."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            request = Request(scope, receive)
            problem = _control_character_problem(request)
            if problem is not None:
                exc = InputError(replace(problem, value=None))
                answer = (
                    JSONResponse(error_body(exc), status_code=400)
                    if _is_api(request)
                    else _page(request, 400, str(exc))
                )
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _too_large_problem(limit: int | None = None) -> Problem:
    if limit is not None and limit != MAX_BODY_BYTES:
        return Problem("the upload is too large", field="body", allowed=f"at most {limit} bytes in all")
    return Problem(
        "the request body is too large",
        field="body",
        allowed=f"at most {MAX_BODY_BYTES} bytes (files: upload them to an import route)",
    )


async def _may_upload(scope: Any) -> bool:
    """Whether the request to an upload route comes from a logged-in user who may import (their session
    or bearer token checked from the headers alone, before the body is read; the user is kept on the
    request, so the route does not look them up again)."""
    from anyio import to_thread

    from cartrial.store.permissions import Action
    from cartrial.web.security import current_user

    user = await to_thread.run_sync(current_user, Request(scope))
    return user is not None and user.may(Action.IMPORT)


class LimitRequestBody:
    """ASGI middleware: a request body over `MAX_BODY_BYTES` gets a 413 in the error shape (API) or the
    error page, never read further into memory: refused at once by its ``Content-Length``, or, streamed
    without one, when the bytes received pass the limit (the route then sees the body end, and its answer
    is replaced by the 413). Multipart uploads to `UPLOAD_PATHS` by a user who may import are held to
    `MAX_UPLOAD_REQUEST_BYTES` (streamed to disk, capped per file by the routes) (D-19.346).
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = MAX_BODY_BYTES
        if _upload(scope) and await _may_upload(scope):
            limit = MAX_UPLOAD_REQUEST_BYTES
        request = Request(scope, receive)
        length = request.headers.get("content-length", "")
        if length.isascii() and length.isdigit() and int(length) > limit:
            await _refuse_too_large(request, scope, receive, send, limit)
            return
        received = 0
        over = False
        started = False
        kept: bytearray | None = None
        texts: MultipartTexts | None = None
        if _content_type(request) in FORM_TYPES and not _upload(scope):  # checked by `one_value_each`
            kept = scope[FORM_BODY_KEY] = bytearray()  # (D-19.1127, D-19.1130)
        elif _upload(scope):  # its text parts only, read as the body streams in (D-19.1166)
            texts = scope[UPLOAD_TEXTS_KEY] = MultipartTexts(request.headers.get("content-type", ""))

        async def limited_receive() -> Any:
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    return {"type": "http.disconnect"}
                if kept is not None:
                    kept.extend(message.get("body", b""))
                if texts is not None:
                    texts.feed(message.get("body", b""))
            return message

        async def guarded_send(message: Any) -> None:
            nonlocal started
            if over and not started:
                return  # the route's answer to a cut body: replaced by the 413 below
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not over or started:
                raise
        if over and not started:
            await _refuse_too_large(request, scope, receive, send, limit)


def _upload(scope: Any) -> bool:
    path = str(scope.get("path", ""))
    if not path.startswith(UPLOAD_PATHS):
        return False
    content_type = dict(scope.get("headers") or ()).get(b"content-type", b"")
    return content_type.lower().startswith(b"multipart/form-data")


async def _refuse_too_large(
    request: Request, scope: Any, receive: Any, send: Any, limit: int = MAX_BODY_BYTES
) -> None:
    exc = InputError(_too_large_problem(limit))
    answer = (
        JSONResponse(error_body(exc), status_code=413, headers={"Connection": "close"})
        if _is_api(request)
        else _page(request, 413, str(exc))
    )
    await answer(scope, receive, send)


def install(app: FastAPI) -> None:
    """Register the exception handlers (and `RefuseControlCharacters`, `LimitRequestBody`) on `app`."""

    app.add_middleware(LimitRequestBody)
    app.add_middleware(RefuseControlCharacters)

    @app.exception_handler(SessionEnded)
    async def _ended(request: Request, exc: SessionEnded) -> Response:
        from cartrial.web.app import render_login

        minutes = request.app.state.settings.session_minutes
        message = (
            "Your session has ended (you logged out, an administrator ended it, or there was no activity "
            f"for {minutes:g} minutes), so nothing was saved. "
            + (
                "Log in again to send what you entered"
                + "".join(f" ({NOT_KEPT_NOTE[name]})" for name in exc.not_kept if name in NOT_KEPT_NOTE)
                + "."
                if exc.username is not None
                else "Log in again and enter it anew (no session of this browser to return the entries to)."
            )
        )
        page = render_login(
            request,
            exc.next_url,
            username=exc.username,
            error=message,
            kept=exc.kept,
            resume_path=exc.resume_path,
            status_code=401,
        )
        page.headers["WWW-Authenticate"] = BEARER_CHALLENGE
        return page

    @app.exception_handler(CsrfError)
    async def _csrf(request: Request, exc: CsrfError) -> Response:
        if request.url.path != "/login":
            return await _cartrial(request, exc)
        # the login page itself expired (a restart changed the signing key, or its cookie was cleared):
        # refused as before, shown again with a fresh token and the user name kept (D-19.175)
        from cartrial.web.app import render_login

        form = await request.form()
        username, next_url = form.get("username"), form.get("next")
        return render_login(
            request,
            next_url if isinstance(next_url, str) else "/",
            username=username if isinstance(username, str) else "",
            error="This login page had expired (the server was restarted, or the page was open for a "
            "long time); nothing was sent. Enter your password again.",
            status_code=403,
        )

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(exc.next_url, safe='/')}", status_code=303)

    @app.exception_handler(CartrialError)
    async def _cartrial(request: Request, exc: CartrialError) -> Response:
        status = status_of(exc)
        challenge = authentication_challenge(exc)
        headers = None if challenge is None else {"WWW-Authenticate": challenge}
        engine = _engine_of(request)
        if not _is_api(request):
            page = _page(request, status, without_database_location(str(exc), engine))
            page.headers.update(headers or {})
            return page
        body = error_body(exc)
        body["error"] = without_database_location(str(body["error"]), engine)
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for error in exc.errors():
            if error.get("type") == "json_invalid":  # its location is a character position, not a field
                at = [part for part in error.get("loc", ()) if isinstance(part, int)]
                detail = (error.get("ctx") or {}).get("error") or "JSON decode error"
                problems.append(
                    {
                        "field": "body",
                        "value": None,
                        "allowed": JSON_BODY_ALLOWED,
                        "message": f"not valid JSON: {detail}" + (f" at character {at[0]}" if at else ""),
                    }
                )
                continue
            if isinstance(error.get("input"), bytes | bytearray):  # a body FastAPI did not read as JSON
                problems.append(
                    {
                        "field": "body",
                        "value": None,  # the body is the user's record: never echoed (D-12.2)
                        "allowed": JSON_BODY_ALLOWED,
                        "message": "not a JSON body (send it with Content-Type: application/json)",
                    }
                )
                continue
            location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
            problems.append(
                {
                    "field": ".".join(location) or ("body" if "body" in error.get("loc", ()) else None),
                    "value": _shown(location, error.get("input")),
                    **_parameter_words(error),
                }
            )
        first = problems[0] if problems else {"field": None, "value": None, "allowed": None}
        message = "; ".join(f"{p['field']}: {p['message']}" for p in problems) or "invalid request"
        if not _is_api(request):
            return _page(request, 422, message)
        return JSONResponse(
            {
                "error": message,
                "field": first["field"],
                "value": first["value"],
                "allowed": first["allowed"],
                "problems": problems,
            },
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = str(exc.detail)
        headers = dict(getattr(exc, "headers", None) or {})
        body: dict[str, Any] = {"error": message, "field": None, "value": None, "allowed": None}
        if exc.status_code == 405:  # every method of the path, not only the first route's (D-19.176)
            methods = ", ".join(_path_methods(request)) or str(headers.get("Allow", ""))
            headers["Allow"] = methods
            message = f"method {request.method} is not allowed on this path; allowed: {methods}"
            body.update(error=message, field="method", value=request.method, allowed=methods)
        elif exc.status_code == 404 and _is_api(request):
            message = "no such API route"
            body.update(error=message, field="path", allowed="the routes of /api/v1/openapi.json")
        elif exc.status_code == 400 and _content_type(request) in FORM_TYPES:
            # Starlette's form parser (no boundary, a part without a name, too many parts): located (D-19.550)
            message = f"the form body could not be read: {message}"
            body.update(error=message, field="body", allowed=FORM_BODY_ALLOWED)
        if not _is_api(request):
            page = _page(request, exc.status_code, message)
            page.headers.update(headers)
            return page
        return JSONResponse(body, status_code=exc.status_code, headers=headers or None)


def _path_methods(request: Request) -> list[str]:
    """The methods served on the request's path by any route of the app, sorted (the routes of included
    routers too: `cartrial.web.security.app_routes`)."""
    from starlette.routing import compile_path

    from cartrial.web.security import app_routes

    path = request.url.path
    methods: set[str] = set()
    for route in app_routes(request.app):
        regex, _format, _convertors = compile_path(route.path)
        if regex.match(path):
            methods.update(route.methods)
    if "GET" in methods:
        methods.add("HEAD")  # answered as GET (`cartrial.web.app.HeadAsGet`, D-19.198)
    return sorted(methods)


def _shown(location: list[str], value: Any) -> str | None:
    """The offending value as typed (never a password, never a whole body)."""
    if value is None or any("password" in part for part in location) or isinstance(value, dict | list):
        return None
    if isinstance(value, bytes | bytearray):  # a body that is not JSON: never echoed (the record's values)
        return None
    text = str(_text(value))
    return text if len(text) <= 200 else text[:200] + "…"
