"""The documentation's own checks, marked `docs` (decisions D-20.3): the built site in a real browser and
the shell commands the documents show.

`make docs` builds the site and then runs ``pytest -m docs tests/docs`` with CARTRIAL_REQUIRE_DOCS=1. In
any other run (plain `make test`, which runs before `make docs` in CI) the `docs` tests are skipped with
the reason: the browser check needs the build of this run (a site left over from an earlier build would be
checked stale), and the documents' commands take about a minute that `make test` need not spend twice.
With ``-m docs`` but no built site the browser check skips too, unless CARTRIAL_REQUIRE_DOCS=1 turns that
into a failure.

The browser is Debian's chromium (/usr/bin/chromium) driven by Playwright, never a downloaded browser; the
same set-up as the report's browser check (tests/report/test_report_browser.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SITE = REPO_ROOT / "docs" / "_build" / "html"
ARTEFACTS = REPO_ROOT / "docs" / "_build" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def _docs_selected(config: pytest.Config) -> bool:
    return "docs" in (config.getoption("markexpr", "") or "").replace("not docs", "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _docs_selected(config):
        return
    skip = pytest.mark.skip(reason="a check of the documentation: run by `make docs` (pytest -m docs)")
    for item in items:
        if "docs" in item.keywords and item.get_closest_marker("docs") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def site() -> Path:
    """The built site (docs/_build/html); skips without it, fails under CARTRIAL_REQUIRE_DOCS=1."""
    if not (SITE / "index.html").is_file():
        reason = f"no built documentation site at {SITE} (run `make docs`)"
        if os.environ.get("CARTRIAL_REQUIRE_DOCS") == "1":
            pytest.fail(f"CARTRIAL_REQUIRE_DOCS=1 but {reason}")
        pytest.skip(reason)
    return SITE


@pytest.fixture(scope="session")
def docs_chromium() -> Path:
    """Debian's chromium; installed with apt when missing and we are root; else skip (fail when required)."""
    if not CHROMIUM.exists() and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        for command in (
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "--no-install-recommends", "chromium", "chromium-driver"],
        ):
            subprocess.run(command, check=False, capture_output=True, timeout=900)
    if not CHROMIUM.exists():
        reason = "Debian chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
        if "1" in (os.environ.get("CARTRIAL_REQUIRE_BROWSER"), os.environ.get("CARTRIAL_REQUIRE_DOCS")):
            pytest.fail(f"browser check required but {reason}")
        pytest.skip(reason)
    return CHROMIUM
