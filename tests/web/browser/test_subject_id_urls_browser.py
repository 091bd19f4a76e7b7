"""Subject ids holding ``%``, ``/`` or ``#`` in a real browser on uvicorn (webui attack, D-19.1128). Before,
enrolling ``CT-00%31`` showed the casebook of CT-001 under "Saved" (the redirect put the id in the path as
typed, and the server read ``%31`` as ``1``), ``CT#9`` the 404 of ``CT``, and a subject ``TJH/0001`` could
not be opened from the subjects list at all; a user name with ``/`` could not be managed on the users page."""

from __future__ import annotations

from typing import Any

import pytest

from ...conftest import TEST_PASSWORD
from ..pages.helpers import adverse_event_entries, fill_browser_form

pytestmark = pytest.mark.slow


def _enrol(page: Any, served: Any, subject_id: str) -> None:
    page.goto(f"{served.url}/subjects/new")
    page.fill("[name=subject_id]", subject_id)
    page.fill("[name=consent_date]", "2021-01-05")
    page.locator("main form [name=sex]").select_option("F")
    with page.expect_navigation():
        page.click("#save")


@pytest.mark.parametrize("subject_id", ["CT-00%31", "CT#9"])
def test_enrolling_a_subject_shows_its_own_casebook(inv: Any, served: Any, subject_id: str) -> None:
    _enrol(inv, served, subject_id)
    assert inv.locator("h1").inner_text() == f"Casebook {subject_id}"
    assert inv.locator("p.notice").inner_text().startswith("Saved")


def test_a_subject_id_with_a_slash_is_opened_from_the_list_and_a_record_entered(
    inv: Any, served: Any
) -> None:
    _enrol(inv, served, "TJH/0001")
    inv.goto(f"{served.url}/subjects")
    inv.click("text=TJH/0001")
    assert inv.locator("h1").inner_text() == "Casebook TJH/0001"
    inv.click("a[href$='/forms/adverse_events/new']")
    fill_browser_form(inv, adverse_event_entries("Headache"))
    with inv.expect_navigation():
        inv.click("#save")
    assert "/records/adverse_event/" in inv.url
    assert "TJH/0001" in inv.locator("h1").inner_text()


def test_an_administrator_deactivates_a_user_whose_name_holds_a_slash(browser: Any, served: Any) -> None:
    """Before, the users page posted the row's forms to ``/admin/users/lab/02/active``: a 404 page."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the row's "Deactivate …?" confirmation
    page.goto(f"{served.url}/login")
    page.fill("#username", "admin")
    page.fill("#password", TEST_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{served.url}/")
    page.goto(f"{served.url}/admin/users")
    page.fill("#nu-username", "lab/02")
    page.locator("#nu-role").select_option("monitor")
    page.fill("#nu-password", TEST_PASSWORD + "-lab")
    with page.expect_navigation():
        page.click("#add-user-form button[type=submit]")
    assert "User created" in page.locator("p.notice").inner_text()
    row = page.locator("form[action='/admin/users/lab%2F02/active']")
    row.locator("[name=reason]").fill("left the laboratory")
    with page.expect_navigation():
        row.locator("button[type=submit]").click()
    assert "User deactivated" in page.locator("p.notice").inner_text()
    assert page.locator("form[action='/admin/users/lab%2F02/active'] button").inner_text() == "Activate"
    context.close()
