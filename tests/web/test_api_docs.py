"""The API documentation page `/api/v1/docs` (Swagger UI) works under the app's Content-Security-Policy
(``script-src 'self'``, ``default-src 'self'``) and offline (D-19.363): the page and the OAuth2 redirect
page are served by the app with no inline script body and no URL of another host, and every script,
style sheet and icon they load is answered by the app itself with its content type. The rendering in a
real browser, without a CSP violation: tests/web/browser/test_api_docs_browser.py."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest

from cartrial.web.app import SECURITY_HEADERS

PAGES = ("/api/v1/docs", "/api/v1/docs/oauth2-redirect")


class _Resources(HTMLParser):
    """The scripts (src, inline body), style sheets, icons and every URL-valued attribute of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.inline_scripts: list[str] = []
        self.links: list[tuple[str, str]] = []
        self.urls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for name, value in values.items():
            if name in ("src", "href", "action") or (name.startswith("data-") and "url" in name):
                self.urls.append(value)
            if name.startswith("on"):
                self.inline_scripts.append(value)  # an event-handler attribute is inline script too
        if tag == "script":
            self._in_script = True
            if values.get("src"):
                self.scripts.append(values["src"])
        if tag == "link":
            self.links.append((values.get("rel", ""), values.get("href", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data)


def _parse(html: str) -> _Resources:
    parser = _Resources()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("path", PAGES)
def test_docs_pages_have_no_inline_script_and_no_other_host(web_study, path):
    response = web_study.client().get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    # the policy the browser applies is the app's, unchanged: no inline scripts allowed
    assert response.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]
    script_src = response.headers["content-security-policy"].split("script-src")[1].split(";")[0]
    assert "'unsafe-inline'" not in script_src
    page = _parse(response.text)
    assert page.inline_scripts == []
    assert page.scripts, "the page runs its script from a file of the app"
    assert not re.search(r"(?i)\b(?:https?:)?//[a-z0-9.-]+", response.text), "a URL of another host"
    for url in page.urls:
        assert url.startswith("/"), url


def test_docs_page_loads_bundle_css_icon_and_init_script_from_the_app(web_study):
    client = web_study.client()
    page = _parse(client.get("/api/v1/docs").text)
    expected = {
        ".js": "text/javascript",
        ".css": "text/css",
        ".png": "image/png",
    }
    loaded = [*page.scripts, *(href for rel, href in page.links if "stylesheet" in rel or "icon" in rel)]
    names = {url.rsplit("/", 1)[-1] for url in loaded}
    assert {"swagger-ui-bundle.js", "swagger-ui.css"} <= names
    assert any("icon" in rel for rel, _ in page.links)
    assert len(page.scripts) >= 2, "the bundle and the file that starts it"
    for url in loaded:
        response = client.get(urljoin("http://testserver/api/v1/docs", url))
        assert response.status_code == 200, url
        suffix = "." + url.rsplit(".", 1)[-1]
        assert response.headers["content-type"].split(";")[0] in (
            expected[suffix],
            "application/javascript" if suffix == ".js" else expected[suffix],
        ), url
        assert len(response.content) > 100, url
    bundle = next(url for url in page.scripts if url.endswith("swagger-ui-bundle.js"))
    assert "SwaggerUIBundle" in client.get(bundle).text


def test_docs_page_points_swagger_ui_at_the_schema_and_the_redirect_page(web_study):
    """The page tells its start script (a file, not inline) where the schema and the OAuth2 redirect page
    are; both answer."""
    client = web_study.client()
    html = client.get("/api/v1/docs").text
    assert 'data-openapi-url="/api/v1/openapi.json"' in html
    assert 'data-oauth2-redirect-url="/api/v1/docs/oauth2-redirect"' in html
    assert client.get("/api/v1/openapi.json").status_code == 200
    redirect = _parse(client.get("/api/v1/docs/oauth2-redirect").text)
    assert redirect.scripts and all(client.get(src).status_code == 200 for src in redirect.scripts)


def test_only_the_swagger_ui_files_the_page_needs_are_served(web_study):
    """The package's demo start script (petstore URL), its Swagger Editor and files outside it: not served."""
    client = web_study.client()
    for name in ("swagger-initializer.js", "swagger-editor-bundle.js", "..%2Futils.py", "nope.js"):
        assert client.get(f"/static/swagger/{name}").status_code == 404, name
