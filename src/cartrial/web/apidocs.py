"""The API documentation page ``/api/v1/docs``: Swagger UI served by the app itself (D-19.363).

FastAPI's default docs page loads Swagger UI from a CDN and starts it with an inline script; the app's
Content-Security-Policy (``script-src 'self'``, `cartrial.web.app.SECURITY_HEADERS`) blocks both and a site
without internet access could not load it either. Here the Swagger UI files come from the
``swagger-ui-py`` package (Swagger UI 5, which renders FastAPI's OpenAPI 3.1 schema; Apache-2.0, its
``static/LICENSE``), served under ``/static/swagger/`` (only the files the page loads), and the page and the
OAuth2 redirect page are templates whose scripts are files of the app (``static/swagger-init.js``,
``static/swagger-oauth2-redirect.js``): no inline script, no other host.
Public like the schema ``/api/v1/openapi.json``: they show no study data.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

from cartrial.web.security import public

DOCS_URL = "/api/v1/docs"
OAUTH2_REDIRECT_URL = "/api/v1/docs/oauth2-redirect"
OPENAPI_URL = "/api/v1/openapi.json"
SWAGGER_FILES_URL = "/static/swagger"
SWAGGER_FILES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
"""The files of the package the page loads (not its demo start script nor the Swagger Editor it holds)."""

router = APIRouter(include_in_schema=False, dependencies=[Depends(public)])

__all__ = ["DOCS_URL", "OAUTH2_REDIRECT_URL", "OPENAPI_URL", "router"]


@router.get(DOCS_URL, response_class=HTMLResponse)
def docs_page(request: Request) -> HTMLResponse:
    from cartrial.web.templating import templates

    return templates.TemplateResponse(
        request,
        "api_docs.html",
        {
            "title": f"{request.app.title} - Swagger UI",
            "openapi_url": OPENAPI_URL,
            "oauth2_redirect_url": OAUTH2_REDIRECT_URL,
            "swagger": SWAGGER_FILES_URL,
        },
    )


@router.get(OAUTH2_REDIRECT_URL, response_class=HTMLResponse)
def oauth2_redirect_page(request: Request) -> HTMLResponse:
    from cartrial.web.templating import templates

    return templates.TemplateResponse(request, "api_docs_oauth2_redirect.html", {})


@router.get(SWAGGER_FILES_URL + "/{name}")
def swagger_file(name: str) -> FileResponse:
    media_type = SWAGGER_FILES.get(name)
    if media_type is None:
        raise HTTPException(status_code=404, detail="Not Found")
    return FileResponse(swagger_ui_dir() / name, media_type=media_type)


@cache
def swagger_ui_dir() -> Path:
    """The folder of Swagger UI's files in the installed ``swagger-ui-py`` (found without importing it)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the package swagger-ui-py is not installed (a dependency of cartrial)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"
