"""Site staff in headless Chromium, after a reviewer's findings (D-19.281 onwards): a local clinic time on a
date-time field, the casebook's entry buttons (one infusion per subject), the link to the record a
duplicate key names, a refused query raise or close kept at its box, and a subject's site edited to
another site told at the site field."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import signed_in

pytestmark = pytest.mark.slow


def _login(browser: Any, served: Any, username: str) -> Any:
    return signed_in(browser, served, username)[1]


@pytest.fixture
def inv(browser: Any, served: Any) -> Any:
    page = _login(browser, served, "inv_a")
    yield page
    page.context.close()


@pytest.fixture
def mon(browser: Any, served: Any) -> Any:
    page = _login(browser, served, "mon")
    yield page
    page.context.close()


def _subject_record_id(served: Any, subject: str) -> int:
    admin = served.app.state.service.as_user("admin")
    return int(admin.find_records("subject", subject_id=subject)[0]["id"])


# --- a subject's site edited to another site (D-19.281) ------------------------------------------------


def test_editing_a_subjects_site_to_another_site_is_told_at_the_site_field(inv: Any, served: Any) -> None:
    record = _subject_record_id(served, "CT-002")
    inv.goto(f"{served.url}/records/subject/{record}")
    inv.fill("main form [name=site_id]", "PUMCH")
    inv.fill("main form [name=reason]", "moved to the other hospital")
    inv.click("main form#record-form button[type=submit]")
    inv.wait_for_selector("#err-site_id span", timeout=5000)
    assert "your own site" in inv.locator("#err-site_id").inner_text()
    assert "403" not in inv.locator("main").inner_text()
    assert inv.locator("main form [name=site_id]").input_value() == "PUMCH"
    assert inv.locator("main form [name=reason]").input_value() == "moved to the other hospital"
    admin = served.app.state.service.as_user("admin")
    assert admin.find_records("subject", subject_id="CT-002")[0]["site_id"] == "TJH"


# --- a refused query raise or close kept at its box (D-19.282) ----------------------------------------

LONG = "Please check the source document for this value against the nursing chart. " * 30  # > 2000


def _crs_record(served: Any) -> int:
    admin = served.app.state.service.as_user("admin")
    return int(admin.find_records("crs_assessment", subject_id="CT-003")[0]["id"])


def test_a_refused_query_raise_keeps_the_text_at_its_box(mon: Any, served: Any) -> None:
    record = _crs_record(served)
    mon.goto(f"{served.url}/records/crs_assessment/{record}")
    mon.fill("#q-text", LONG)
    mon.click("#raise-query button[type=submit]")
    mon.wait_for_selector("#err-q-text", timeout=5000)
    assert "2000" in mon.locator("#err-q-text").inner_text()
    assert mon.locator("#q-text").input_value() == LONG
    assert mon.locator("#q-text").get_attribute("aria-invalid") == "true"
    assert "Error 422" not in mon.locator("main").inner_text()
    mon.fill("#q-text", "Please confirm the onset time.")
    mon.click("#raise-query button[type=submit]")
    mon.wait_for_selector("#record-queries", timeout=5000)
    assert "Please confirm the onset time." in mon.locator("#record-queries").inner_text()


def test_a_refused_query_close_keeps_the_reason_at_its_box(mon: Any, served: Any) -> None:
    service = served.app.state.service.as_user("mon")
    code = service.raise_query("crs_assessment", _crs_record(served), "Please confirm the grade.", None)
    mon.goto(f"{served.url}/queries")
    mon.fill(f"#close-{code}", LONG)
    mon.click(f"form.query-close:has(#close-{code}) button[type=submit]")
    mon.wait_for_selector(f"#err-close-{code}", timeout=5000)
    assert "2000" in mon.locator(f"#err-close-{code}").inner_text()
    assert mon.locator(f"#close-{code}").input_value() == LONG
    assert "Error 422" not in mon.locator("main").inner_text()
    mon.fill(f"#close-{code}", "   ")
    mon.click(f"form.query-close:has(#close-{code}) button[type=submit]")
    mon.wait_for_selector(f"#err-close-{code}", timeout=5000)
    admin = served.app.state.service.as_user("admin")
    assert admin.find_records("data_query", query_code=code)[0]["status"] == "open"


# --- the duplicate-key conflict links the record it names (D-19.283) -----------------------------------


def test_a_taken_subject_id_links_the_existing_record(inv: Any, served: Any) -> None:
    inv.goto(f"{served.url}/subjects/new")
    inv.fill("main form [name=subject_id]", "CT-004")
    inv.fill("main form [name=consent_date]", "2024-02-01")
    inv.locator("main form [name=sex]").select_option("F")
    inv.click("main form#record-form button[type=submit]")
    inv.wait_for_selector("#conflict", timeout=5000)
    link = inv.locator("#conflict a#existing-record")
    assert link.count() == 1
    link.click()
    inv.wait_for_url(f"{served.url}/records/subject/{_subject_record_id(served, 'CT-004')}")


def test_a_taken_key_of_a_record_the_user_may_not_see_has_no_link(inv: Any, served: Any) -> None:
    """PU-101 is a subject of site PUMCH: an investigator of TJH sees no link to it."""
    inv.goto(f"{served.url}/subjects/new")
    inv.fill("main form [name=subject_id]", "PU-101")
    inv.fill("main form [name=consent_date]", "2024-02-01")
    inv.locator("main form [name=sex]").select_option("F")
    inv.click("main form#record-form button[type=submit]")
    inv.wait_for_selector("#conflict", timeout=5000)
    assert inv.locator("#conflict a#existing-record").count() == 0


# --- the casebook's entry buttons: one record each, no second infusion (D-19.284) ----------------------


def test_an_infused_subject_is_offered_no_second_infusion_and_labels_name_one_record(
    inv: Any, served: Any
) -> None:
    inv.goto(f"{served.url}/subjects/CT-001")
    entry = inv.locator("#enter-forms")
    text = entry.inner_text()
    assert "New adverse event" in text and "New adverse events" not in text
    assert "New CRS assessment" in text and "New infusions" not in text
    assert entry.get_by_role("link", name="New infusion", exact=True).count() == 0
    refused = entry.locator("[aria-disabled=true]", has_text="New infusion")
    assert refused.count() == 1
    why = inv.locator(f"#{refused.get_attribute('aria-describedby')}").inner_text()
    assert "INFUSION-ONCE" in why and "one" in why
    assert inv.errors == []


def test_a_subject_not_yet_infused_is_offered_the_infusion(browser: Any, served: Any) -> None:
    page = _login(browser, served, "dm")
    try:
        page.goto(f"{served.url}/subjects/PU-101")
        link = page.locator("#enter-forms").get_by_role("link", name="New infusion", exact=True)
        assert link.count() == 1
        link.click()
        page.wait_for_url(f"{served.url}/subjects/PU-101/forms/infusions/new")
    finally:
        page.context.close()


# --- a clinic time read in the site's time zone, the UTC value shown (D-19.285) ------------------------

CRS = {
    "#in-temperature_c": "38.6",
    "#in-vasopressors": "0",
}
CRS_CHOICES = {
    "#in-fever_masked": "false",
    "#in-vasopressin": "false",
    "#in-oxygen": "none",
    "#in-hypotension": "false",
}


def _set_site_zone(served: Any, site: str, zone: str | None) -> None:
    """What an administrator does (`cartrial db edit site ID --set time_zone=…`)."""
    admin = served.app.state.service.as_user("admin")
    row = admin.find_records("site", site_id=site)[0]
    admin.update_record(
        "site", int(row["id"]), {"time_zone": zone}, int(row["version"]), "clinic zone", "cli"
    )


def _crs_form(page: Any, served: Any, when: str) -> None:
    page.goto(f"{served.url}/subjects/CT-001/forms/crs_assessments/new")
    page.fill("#in-assessed_at", when)
    for selector, value in CRS.items():
        page.fill(selector, value)
    for selector, value in CRS_CHOICES.items():
        page.select_option(selector, value)


def test_a_clinic_time_is_read_in_the_sites_zone_and_the_utc_value_shown(inv: Any, served: Any) -> None:
    import datetime as dt

    admin = served.app.state.service.as_user("admin")
    assert admin.find_records("site", site_id="TJH")[0]["time_zone"] == "Asia/Shanghai"  # shipped (D-19.298)
    _crs_form(inv, served, "2021-05-23 10:00")
    assert inv.locator("#in-entry_time_zone").input_value() == "Asia/Shanghai"
    inv.locator("#in-assessed_at").dispatch_event("change")
    inv.wait_for_selector("#utc-assessed_at:has-text('UTC')", timeout=5000)
    assert "2021-05-23 02:00 UTC" in inv.locator("#utc-assessed_at").inner_text()
    assert inv.locator("#err-assessed_at").inner_text().strip() == ""
    inv.click("#save")
    inv.wait_for_url(f"{served.url}/records/crs_assessment/*", timeout=10_000)
    record = int(inv.url.split("?")[0].rsplit("/", 1)[1])
    admin = served.app.state.service.as_user("admin")
    stored = admin.visible_record("crs_assessment", record)["assessed_at"]
    assert stored.astimezone(dt.UTC) == dt.datetime(2021, 5, 23, 2, 0, tzinfo=dt.UTC)
    inv.goto(f"{served.url}/audit/records/crs_assessment/{record}")
    trail = inv.locator("#audit-table").inner_text()
    assert "2021-05-23" in trail and "02:00" in trail and "Asia/Shanghai" in trail
    assert inv.errors == []


def test_without_a_zone_a_clinic_time_is_refused_as_the_import_does(inv: Any, served: Any) -> None:
    """The site has no zone: the selector says so and a time without an offset is refused at its field;
    choosing a zone in the form reads it there."""
    _set_site_zone(served, "TJH", None)
    try:
        _without_a_zone(inv, served)
    finally:
        _set_site_zone(served, "TJH", "Asia/Shanghai")


def _without_a_zone(inv: Any, served: Any) -> None:
    _crs_form(inv, served, "2021-05-24 10:00")
    assert inv.locator("#in-entry_time_zone").input_value() == ""
    assert "no time zone" in inv.locator("#hint-entry_time_zone").inner_text()
    inv.click("#save")
    inv.wait_for_selector("#err-assessed_at span", timeout=5000)
    assert "without a time zone" in inv.locator("#err-assessed_at").inner_text()
    assert inv.locator("#in-assessed_at").input_value() == "2021-05-24 10:00"
    inv.select_option("#in-entry_time_zone", "Europe/Berlin")
    inv.wait_for_selector("#utc-assessed_at:has-text('08:00 UTC')", timeout=5000)
    inv.click("#save")
    inv.wait_for_url(f"{served.url}/records/crs_assessment/*", timeout=10_000)
