"""Server-rendered pages: one Jinja2 environment over ``cartrial/web/templates/`` (autoescaped).

`render(request, name, context)` adds what every page needs: the logged-in `user` (or None), the
`csrf_token` of the session for its forms, and the study's active data `lock` (None when unlocked), so that
every page can name the lock and hide edit controls while it holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from cartrial.web.paths import path_segment
from cartrial.web.preview import RESULT_LABELS
from cartrial.web.security import csrf_token, current_user

TEMPLATE_DIR = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
"""The page templates (base.html and the pages that extend it)."""
templates.env.globals["result_labels"] = RESULT_LABELS  # the engine panel's labels (D-19.199)

__all__ = ["TEMPLATE_DIR", "path_segment", "render", "templates"]


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """The page `name` with `context` plus ``user``, ``csrf_token`` and ``lock`` (the active data lock)."""
    service = request.app.state.service
    full: dict[str, Any] = {
        "user": current_user(request),
        "csrf_token": csrf_token(request),
        "lock": service.active_lock(zones=False),  # the banner: no subject → zone map per page
        "study": request.app.state.study_code,
    }
    full.update(context or {})
    return templates.TemplateResponse(request, name, full, status_code=status_code)


templates.env.filters["segment"] = path_segment  # a subject id in a URL path (D-19.1128)
