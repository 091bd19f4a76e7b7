"""The API documentation page `/api/v1/docs` in a real browser (headless Debian Chromium through Playwright)
against a real uvicorn server with the app's Content-Security-Policy (D-19.363): Swagger UI renders the
API's operations from the app's own files — no console error (a CSP violation is one: "Refused to load
the script …", "Refused to execute inline script …"), no request to another host (the page works offline).
The operation count is the schema's own (``/api/v1/openapi.json``), not a number copied from the page."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.slow


def _watch(page: Any, served: Any) -> tuple[list[str], list[str]]:
    errors: list[str] = []
    foreign: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "request",
        lambda r: foreign.append(r.url) if not r.url.startswith((served.url, "data:")) else None,
    )
    return errors, foreign


def test_api_docs_render_the_operations_without_csp_violation(browser: Any, served: Any) -> None:
    import httpx

    schema = httpx.get(f"{served.url}/api/v1/openapi.json").json()
    methods = {"get", "post", "put", "patch", "delete", "head", "options"}
    operations = sum(1 for item in schema["paths"].values() for method in item if method in methods)
    assert operations > 10
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors, foreign = _watch(page, served)
    try:
        response = page.goto(f"{served.url}/api/v1/docs")
        assert response is not None and response.status == 200
        assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
        page.wait_for_function(
            "n => document.querySelectorAll('.opblock').length >= n", arg=operations, timeout=30_000
        )
        assert page.locator(".opblock").count() == operations
        assert page.locator(".info .title").inner_text().startswith("cartrial study API")
        # one operation opens with its parameters and its "Try it out" button (the UI is live, not a shell)
        page.locator(".opblock-summary").first.click()
        page.wait_for_selector(".opblock.is-open .try-out__btn", timeout=10_000)
        served.screenshot(page, "api-docs")
    finally:
        context.close()
    csp = [e for e in errors if "Content Security Policy" in e or "Refused to" in e]
    assert csp == [], csp
    assert errors == [], errors
    assert foreign == [], foreign


def test_oauth2_redirect_page_runs_its_script_under_the_csp(browser: Any, served: Any) -> None:
    """Opened by Swagger UI as a popup after an OAuth2 authorization; opened on its own (no opener) its
    script runs and fails on ``window.opener`` — proof that the CSP let it run, not a refused script."""
    context = browser.new_context()
    page = context.new_page()
    errors, foreign = _watch(page, served)
    try:
        response = page.goto(f"{served.url}/api/v1/docs/oauth2-redirect")
        assert response is not None and response.status == 200
        page.wait_for_load_state("load")
        page.wait_for_timeout(200)
    finally:
        context.close()
    assert not [e for e in errors if "Content Security Policy" in e or "Refused to" in e], errors
    assert any("swaggerUIRedirectOauth2" in e or "opener" in e for e in errors), errors
    assert foreign == [], foreign
