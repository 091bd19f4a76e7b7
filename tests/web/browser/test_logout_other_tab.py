"""A form filled in one tab while the user logs out in another (D-19.247), in headless Chromium: Save says
the session ended and nothing was saved, and after logging in again as the same user the entries are
offered back and one press saves them. Before, the logout removed the session cookie, so the entries were
offered to nobody and lost (an idle or administrator-ended session already kept them, D-19.172)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ...conftest import TEST_PASSWORD
from ..pages.helpers import adverse_event_entries, fill_browser_form

pytestmark = pytest.mark.slow

TERM = "Nausea typed while logging out in another tab"
ENTRIES = adverse_event_entries(TERM)


def test_a_form_saved_after_logging_out_in_another_tab_is_sent_again_after_logging_in(
    browser: Any, served: Any
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    form = context.new_page()
    form.on("pageerror", lambda e: errors.append(str(e)))
    try:
        form.goto(f"{served.url}/login")
        form.fill("#username", "inv_a")
        form.fill("#password", TEST_PASSWORD)
        form.click("main button[type=submit]")
        form.wait_for_url(f"{served.url}/")
        form.goto(f"{served.url}/subjects/CT-001/forms/adverse_events/new")
        fill_browser_form(form, ENTRIES)
        other = context.new_page()  # the second tab of the same browser: log out there
        other.goto(f"{served.url}/")
        other.click("header button:has-text('Log out'), button:has-text('Log out')")
        other.wait_for_url(re.compile(r"/login"))
        other.close()
        form.click("#save")
        form.wait_for_load_state()
        said = form.locator("#login-error").inner_text()
        assert "session has ended" in said and "nothing was saved" in said and "CSRF" not in said
        assert "Log in again to send what you entered" in said
        stored = served.app.state.service.as_user("admin").find_records("adverse_event", subject_id="CT-001")
        assert TERM not in [r["term"] for r in stored]
        assert form.locator("#username").input_value() == "inv_a"
        form.fill("#password", TEST_PASSWORD)
        form.click("main button[type=submit]")
        form.wait_for_load_state()
        assert form.locator("h1").inner_text() == "Send your entries again"
        form.click("main button:has-text('Send my entries again')")
        form.wait_for_url(re.compile(r"/records/adverse_event/\d+"))
        stored = served.app.state.service.as_user("admin").find_records("adverse_event", subject_id="CT-001")
        assert TERM in [r["term"] for r in stored]
        assert errors == []
    finally:
        context.close()
