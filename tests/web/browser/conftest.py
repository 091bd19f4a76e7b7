"""The browser tests' server: the web test study (`tests/web/pages/helpers.build_web_study`) served by a real
uvicorn on 127.0.0.1 (a free port, in a thread), and one headless Debian Chromium (/usr/bin/chromium) driven
by Playwright — never a browser downloaded by the test tool. When /usr/bin/chromium is missing and we are
root, Debian's `chromium` is installed with apt (the `chromium` fixture of tests/conftest.py); otherwise the
tests skip with the reason (they fail under CARTRIAL_REQUIRE_BROWSER=1)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ...conftest import CHROMIUM_ARGS, TEST_PASSWORD
from ..pages.helpers import build_web_study

SCREENSHOTS_ENV = "CARTRIAL_WEB_SCREENSHOTS"
"""Folder to also write the documentation screenshots to (e.g. docs/images/web); unset: test output only."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    """A running server: its base URL, the app (for store calls) and the artefact folder."""

    url: str
    app: Any
    artefacts: Path
    console_errors: list[str] = field(default_factory=list)

    def screenshot(self, page: Any, name: str, *, docs: bool = False) -> Path:
        """Save a screenshot as a test artefact (and, for `docs` ones, in $CARTRIAL_WEB_SCREENSHOTS)."""
        path = self.artefacts / f"{name}.png"
        page.screenshot(path=str(path), full_page=False)
        folder = os.environ.get(SCREENSHOTS_ENV)
        if docs and folder:
            from PIL import Image  # Pillow comes with matplotlib

            Path(folder).mkdir(parents=True, exist_ok=True)
            with Image.open(path) as image:  # a 64-colour palette keeps the committed PNGs small
                image.convert("RGB").quantize(colors=64).save(Path(folder) / f"{name}.png", optimize=True)
        return path


@pytest.fixture(scope="module")
def served(
    example_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, chromium: Path
) -> Iterator[Served]:
    """The web test study on a real uvicorn server (one per test module)."""
    import uvicorn

    from cartrial.web.app import create_app
    from cartrial.web.security import WebSettings

    folder = tmp_path_factory.mktemp("browser_study")
    url = build_web_study(folder / "study.db", example_sqlite_template)
    app = create_app(url, settings=WebSettings(secret_key="browser-tests"))
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    artefacts = tmp_path_factory.mktemp("web_screenshots")
    try:
        yield Served(f"http://127.0.0.1:{port}", app, artefacts)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        app.state.service.engine.dispose()


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def signed_in(browser: Any, served: Any, username: str) -> tuple[Any, Any]:
    """(context, page): a new browser context whose page is signed in as `username` (the test password) on the
    home page, and collects the console errors and uncaught page errors in ``page.errors``. The caller
    closes the context."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(f"{served.url}/login")
    page.fill("#username", username)
    page.fill("#password", TEST_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{served.url}/")
    return context, page


@pytest.fixture
def inv(browser: Any, served: Any) -> Iterator[Any]:
    """A page signed in as the example site's investigator ``inv_a`` (`signed_in`)."""
    context, page = signed_in(browser, served, "inv_a")
    yield page
    context.close()


@pytest.fixture
def mon(browser: Any, served: Any) -> Iterator[Any]:
    """A page signed in as the monitor ``mon`` (`signed_in`)."""
    context, page = signed_in(browser, served, "mon")
    yield page
    context.close()
