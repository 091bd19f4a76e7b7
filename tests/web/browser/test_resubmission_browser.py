"""A monitor's form sent a second time in headless Chromium (D-19.1258): after raising a query, the
browser's Back button brings the record page back with the question still typed in its box; pressing Raise
again sent the same question once more, and the site found two identical open queries on the same field
(two codes to answer for one question). The second raise is refused at the question's box, the text kept,
and the record keeps one open query."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.slow

QUESTION = "Please confirm the temperature against the nursing chart."


def _open_queries(served: Any, record: int) -> list[dict[str, Any]]:
    admin = served.app.state.service.as_user("admin")
    rows = admin.find_records("data_query", record_id=record)
    return [
        row
        for row in rows
        if row["table_name"] == "crs_assessment" and row["status"] == "open" and row["text"] == QUESTION
    ]


def test_a_query_raised_again_with_the_back_button_is_refused_at_its_box(mon: Any, served: Any) -> None:
    admin = served.app.state.service.as_user("admin")
    record = int(admin.find_records("crs_assessment", subject_id="CT-004")[0]["id"])
    mon.goto(f"{served.url}/records/crs_assessment/{record}")
    mon.select_option("#q-field", "temperature_c")
    mon.fill("#q-text", QUESTION)
    mon.click("#raise-query button[type=submit]")
    mon.wait_for_url(re.compile(r".*done=raised"))
    assert len(_open_queries(served, record)) == 1
    mon.go_back()
    mon.wait_for_load_state()
    if mon.locator("#q-text").input_value() != QUESTION:  # the browser did not keep the typed text
        mon.select_option("#q-field", "temperature_c")
        mon.fill("#q-text", QUESTION)
    mon.click("#raise-query button[type=submit]")
    mon.wait_for_selector("#err-q-text")
    told = mon.locator("#err-q-text").inner_text()
    code = _open_queries(served, record)[0]["query_code"]
    assert "already" in told and code in told
    assert mon.locator("#q-text").input_value() == QUESTION
    assert len(_open_queries(served, record)) == 1
