"""Key text (a subject id, a user name) as one segment of a URL path, and the path the routes match
(D-19.1128, D-19.1129).

A subject id or a user name may hold ``/``, ``%``, ``#`` or ``?`` (D-19.420). `path_segment` writes such a
value into a link as one percent-encoded segment (RFC 3986 §2.1, §3.3). The server's ASGI ``path`` is
decoded, so ``/subjects/CT-001%2Fforms%2Fadverse_events%2Fnew`` (one subject id) and
``/subjects/CT-00%2531`` (the id ``CT-00%31``) arrive as another subject's form and ``CT-00%31``, which
every later use decodes once more to ``CT-001``. `RoutingPath` therefore replaces the ``path`` by one built
from the bytes received (``raw_path``): each segment decoded, then its ``%`` and ``/`` encoded again, so a
segment stays one segment and is decoded exactly once, by the route's ``segment`` convertor. Every user of
the path (the routes, the trailing-slash redirect, the login's ``next``, the resume path of a form sent
after the session ended) reads it so.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote, unquote_to_bytes

from starlette.convertors import Convertor, register_url_convertor

__all__ = ["RoutingPath", "path_segment", "routing_path"]


def path_segment(value: object) -> str:
    """`value` as one segment of a URL path, every character but the unreserved ones percent-encoded in
    UTF-8 (RFC 3986 §2.1, §3.3), ``/`` too: a subject id or a user name is key text that may hold ``/``,
    ``%``, ``#`` or ``?`` (D-19.420), each of which the path would otherwise read as its own (D-19.1128).
    Jinja's ``urlencode`` keeps ``/``. The template filter ``segment`` and the route convertor ``segment``."""
    return quote(str(value), safe="")


def _kept_segment(text: str) -> str:
    """One decoded segment with the two characters a route would read as its own encoded again."""
    return text.replace("%", "%25").replace("/", "%2F")


def routing_path(scope: dict[str, Any]) -> str:
    """The path the routes match (D-19.1129): built from the request's ``raw_path`` (the path as
    received), each ``/``-separated segment percent-decoded as UTF-8 (a byte that is not: U+FFFD, as the
    server decodes the path) with its ``%`` and ``/`` encoded again. Without a ``raw_path`` (an ASGI server
    that gives none) the decoded ``path`` with its ``%`` encoded again: a ``/`` in a segment is then lost."""
    raw = scope.get("raw_path")
    if not isinstance(raw, bytes):
        return str(scope["path"]).replace("%", "%25")
    return "/".join(
        _kept_segment(unquote_to_bytes(segment).decode("utf-8", "replace")) for segment in raw.split(b"/")
    )


class RoutingPath:
    """ASGI middleware: the request's ``path`` is `routing_path` (D-19.1129)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, "path": routing_path(scope)}
        await self.app(scope, receive, send)


class SegmentConvertor(Convertor[str]):
    """Route convertor ``segment``: one segment of the `routing_path`, decoded (its ``%25`` and ``%2F``)."""

    regex = "[^/]+"

    def convert(self, value: str) -> str:
        return unquote(value)

    def to_string(self, value: str) -> str:
        return path_segment(value)


register_url_convertor("segment", SegmentConvertor())
