"""A stored date-time on a record's page, read on the site's clock (D-19.1259): an investigator at the
Asia/Shanghai site opening a CRS assessment saw only its stored UTC text `2021-05-02T10:30:00Z` — the
ward's 18:30 — with nothing under the field, while a clinic time typed on the same form is shown with its
UTC value (D-19.285) and a query's raise time on the site's clock (D-19.923). Now the stored or typed
instant is shown under its field as the site's clock reads it, the zone named."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

pytestmark = pytest.mark.slow


def test_a_stored_time_is_shown_on_the_sites_clock_and_a_typed_one_too(inv: Any, served: Any) -> None:
    admin = served.app.state.service.as_user("admin")
    stored = dt.datetime(2021, 5, 2, 10, 30, tzinfo=dt.UTC)  # the example's CT-001 day-4 CRS assessment
    record = next(
        r
        for r in admin.find_records("crs_assessment", subject_id="CT-001")
        if r["assessed_at"].replace(tzinfo=r["assessed_at"].tzinfo or dt.UTC) == stored
    )
    inv.goto(f"{served.url}/records/crs_assessment/{record['id']}")
    assert inv.locator("#in-assessed_at").input_value() == "2021-05-02T10:30:00Z"
    assert "2021-05-02 18:30 Asia/Shanghai" in inv.locator("#utc-assessed_at").inner_text()  # UTC + 8 h
    inv.fill("#in-assessed_at", "2021-05-02T17:15:00Z")  # typed in UTC: 01:15 the next day at the site
    inv.locator("#in-assessed_at").dispatch_event("change")
    inv.wait_for_selector("#utc-assessed_at:has-text('2021-05-03 01:15 Asia/Shanghai')")
