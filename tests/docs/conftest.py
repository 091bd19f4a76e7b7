"""The documentation's own checks, marked `docs` (decisions D-20.3): the built site in a real browser and
the shell commands the documents show.

`make docs` builds the site and then runs ``pytest -m docs tests/docs`` with CARTRIAL_REQUIRE_DOCS=1. In
any other run (plain `make test`, which runs before `make docs` in CI) the `docs` tests are skipped with
the reason: the browser check needs the build of this run (a site left over from an earlier build would be
checked stale), and the documents' commands take about a minute that `make test` need not spend twice.
With ``-m docs`` but no built site the browser check skips too, unless CARTRIAL_REQUIRE_DOCS=1 turns that
into a failure.

The browser is Debian's chromium (/usr/bin/chromium) driven by Playwright, never a downloaded browser; the
`chromium` fixture of tests/conftest.py, shared with the report and web browser checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SITE = REPO_ROOT / "docs" / "_build" / "html"
ARTEFACTS = REPO_ROOT / "docs" / "_build" / "screenshots"


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
