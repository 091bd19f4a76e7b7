"""Site staff entering data in headless Chromium (D-19.250 onwards): the check while typing on the forms
without an engine preview (subject, infusion, adverse event, ...). Before, their check posted its answer to
`#preview`, an element only the CRS, ICANS, EDSS and visual-acuity forms have: htmx refused the swap
("htmx:targetError" in the console) and dropped the whole answer, so no field error and no "Saving will
raise a data query" was ever shown while typing on those forms."""

from __future__ import annotations

from typing import Any

import pytest

from ..pages.helpers import adverse_event_entries, fill_browser_form

pytestmark = pytest.mark.slow


ENTRIES = adverse_event_entries("Headache")


@pytest.fixture
def page(inv: Any) -> Any:
    """The investigator's signed-in page (conftest `inv`)."""
    return inv


def test_an_adverse_event_form_shows_its_problems_while_typing(page: Any, served: Any) -> None:
    """CT-001 consented 2021-04-01: an event starting 2021-03-01 would raise AE-BEFORE-CONSENT (soft), and
    an end before the start is a field error (AE-END-BEFORE-START) — both shown before Save."""
    page.goto(f"{served.url}/subjects/CT-001/forms/adverse_events/new")
    fill_browser_form(page, ENTRIES)
    page.fill("[name=started_on]", "2021-03-10")
    page.fill("[name=ended_on]", "2021-03-01")
    page.locator("[name=ended_on]").dispatch_event("change")
    page.wait_for_selector("#err-ended_on span", timeout=5000)
    assert "ends before it starts" in page.locator("#err-ended_on").inner_text()
    page.fill("[name=ended_on]", "2021-03-12")
    page.locator("[name=ended_on]").dispatch_event("change")
    page.wait_for_selector("#would-query", timeout=5000)
    assert "AE-BEFORE-CONSENT" in page.locator("#would-query").inner_text()
    assert page.locator("#err-ended_on").inner_text().strip() == ""
    assert page.errors == []


def test_the_subject_form_checks_while_typing_without_console_errors(page: Any, served: Any) -> None:
    page.goto(f"{served.url}/subjects/new")
    page.fill("[name=birth_year]", "2190")
    page.locator("[name=birth_year]").dispatch_event("change")
    page.wait_for_selector("#err-birth_year span", timeout=5000)
    assert "2100" in page.locator("#err-birth_year").inner_text()
    assert page.errors == []
