"""A Content-Length that is not ASCII digits is not read as a size: ``²`` (byte 0xB2, decoded as latin-1) is
a digit to `str.isdigit` but `int` refuses it, so the body limit raised instead of passing the request on
(the body is then counted as it streams)."""

from __future__ import annotations

import asyncio
from typing import Any

from cartrial.web.errors import LimitRequestBody


def test_a_superscript_content_length_is_not_read_as_a_size() -> None:
    called: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        called.append(scope["path"])

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/records/crs_assessments",
        "headers": [(b"content-length", b"\xb2")],
        "query_string": b"",
    }
    asyncio.run(LimitRequestBody(app)(scope, receive, send))
    assert called == ["/api/v1/records/crs_assessments"]
