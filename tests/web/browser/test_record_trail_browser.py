"""The audit trail page of a deleted record in headless Chromium (D-19.1038): shown to whoever sees its
deletion, marked deleted and without a link back to the record page that is gone; an id no record had is
the 404 page, as the API's 404."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.slow


def test_a_deleted_records_trail_page(inv: Any, served: Any) -> None:
    admin = served.app.state.service.as_user("admin")
    own = {str(s["subject_id"]) for s in admin.find_records("subject", site_id="TJH")}
    record = next(r for r in admin.find_records("crs_assessment") if str(r["subject_id"]) in own)
    record_id = int(record["id"])
    admin.delete_record("crs_assessment", record_id, "entered on the wrong subject", "test")
    answer = inv.goto(f"{served.url}/audit/records/crs_assessment/{record_id}")
    assert answer is not None and answer.status == 200
    assert "(deleted)" in inv.locator("h1").inner_text()
    trail = inv.locator("#audit-table").inner_text()
    assert "delete" in trail and "entered on the wrong subject" in trail
    assert inv.locator("text=Back to the record").count() == 0
    unknown = inv.goto(f"{served.url}/audit/records/crs_assessment/999999")
    assert unknown is not None and unknown.status == 404
    assert inv.errors == [] or all("404" in e for e in inv.errors)
