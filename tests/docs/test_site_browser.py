"""The built documentation site in a real browser (headless Debian chromium through Playwright): the
landing page and one executed tutorial load without console errors, page errors, broken images or any
request off this machine, and the tutorial shows its executed output. Screenshots are kept as artefacts in
docs/_build/screenshots/. Marked `docs`: run by `make docs` after the build (tests/docs/conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ..conftest import CHROMIUM_ARGS
from .conftest import ARTEFACTS

pytestmark = pytest.mark.docs


def _visit(browser: Any, page_file: Path, screenshot: Path) -> dict[str, Any]:
    console_errors: list[str] = []
    page_errors: list[str] = []
    requests: list[str] = []
    failed: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(page_file.resolve().as_uri(), wait_until="load")
    images = page.eval_on_selector_all(
        "img", "els => els.map(e => [e.getAttribute('src'), e.complete, e.naturalWidth])"
    )
    found = {
        "title": page.title(),
        "h1": page.eval_on_selector_all("h1", "els => els.map(e => e.textContent)"),
        "outputs": page.eval_on_selector_all("div.cell_output", "els => els.map(e => e.innerText)"),
        "output_images": page.locator("div.cell_output img").count(),
        "nav": page.eval_on_selector_all("nav a", "els => els.map(e => e.textContent.trim())"),
    }
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshot), full_page=False)
    page.close()
    return {
        **found,
        "console_errors": console_errors,
        "page_errors": page_errors,
        "requests": requests,
        "failed": failed,
        "images": images,
    }


def _example_counts() -> tuple[int, int]:
    """Enrolled and infused patients of the shipped example, counted from its CSV forms (not from the
    analysis under test)."""
    import csv

    from cartrial import examples

    study = examples.path("ct103a-nmosd") / "study"
    with (study / "subjects.csv").open(encoding="utf-8") as handle:
        enrolled = {row["subject_id"] for row in csv.DictReader(handle)}
    with (study / "infusions.csv").open(encoding="utf-8") as handle:
        infused = {row["subject_id"] for row in csv.DictReader(handle)}
    return len(enrolled), len(infused & enrolled)


def _common_checks(seen: dict[str, Any]) -> None:
    assert not seen["console_errors"], seen["console_errors"]
    assert not seen["page_errors"], seen["page_errors"]
    assert not seen["failed"], seen["failed"]
    broken = [src for src, complete, width in seen["images"] if not (complete and width > 0)]
    assert not broken, broken
    external = [url for url in seen["requests"] if not url.startswith(("file:", "data:", "blob:"))]
    assert not external, external


@pytest.mark.slow
def test_landing_page_and_tutorial_in_chromium(site: Path, chromium: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            landing = _visit(browser, site / "index.html", ARTEFACTS / "landing.png")
            tutorial = _visit(
                browser,
                site / "tutorials" / "analyse-at-cutoff.html",
                ARTEFACTS / "tutorial-analyse-at-cutoff.png",
            )
            kinetics = _visit(
                browser, site / "tutorials" / "kinetics-and-nca.html", ARTEFACTS / "tutorial-kinetics.png"
            )
        finally:
            browser.close()
    for seen in (landing, tutorial, kinetics):
        _common_checks(seen)
    assert landing["h1"] and "cartrial" in landing["h1"][0]
    assert {"Getting started", "Tutorials"} <= set(landing["nav"]), landing["nav"]
    # the executed tutorial: the lock made in the notebook and the analysis' findings are on the page,
    # which only a run of the notebook at this build can have put there
    text = "\n".join(tutorial["outputs"])
    assert "at cut-off 2022-03-20" in text, text[:2000]  # the lock the notebook made
    enrolled, infused = _example_counts()
    assert f"{infused} of {enrolled} enrolled patients were infused" in text, text[:2000]
    # the kinetics tutorial's figures were drawn by the build's kernel
    assert kinetics["output_images"] >= 2
