"""An administrator sets a site's time zone on the site's record page (D-19.285): an IANA zone is taken,
anything else is a problem at the field; the forms of that site's subjects then default to it, and a clinic
time posted with an explicit zone is stored in UTC (a zone the database does not know is refused at the
selector)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from .helpers import csrf_of

CRS = {
    "temperature_c": "38.6",
    "vasopressors": "0",
    "fever_masked": "false",
    "vasopressin": "false",
    "oxygen": "none",
    "hypotension": "false",
}


def test_an_admin_sets_the_sites_time_zone_and_the_forms_default_to_it(login: Any, web_app: Any) -> None:
    admin = web_app.state.service.as_user("admin")
    site = admin.find_records("site", site_id="TJH")[0]
    client = login("admin")
    page = client.get(f"/records/site/{site['id']}")
    token = csrf_of(page.text)
    base = {"site_id": "TJH", "version": str(site["version"]), "csrf_token": token, "reason": "clinic zone"}
    refused = client.post(f"/records/site/{site['id']}", data={**base, "time_zone": "Europe/Bonn"})
    assert refused.status_code == 422
    box = re.search(r'id="err-time_zone"[^>]*>(.*?)</div>', refused.text, re.S)
    assert box and "IANA" in box.group(1)
    saved = client.post(f"/records/site/{site['id']}", data={**base, "time_zone": "Asia/Shanghai"})
    assert saved.status_code == 303, saved.text[:300]
    inv = login("inv_a")
    form = inv.get("/subjects/CT-001/forms/crs_assessments/new").text
    assert re.search(r'<option value="Asia/Shanghai" selected>Asia/Shanghai \(the site', form)


def test_a_clinic_time_posted_with_a_zone_is_stored_in_utc(login: Any, web_app: Any) -> None:
    client = login("inv_a")
    token = csrf_of(client.get("/subjects/CT-001/forms/crs_assessments/new").text)
    data = {**CRS, "assessed_at": "2021-05-25T10:00", "csrf_token": token}
    unknown = client.post(
        "/subjects/CT-001/forms/crs_assessments", data={**data, "entry_time_zone": "Europe/Bonn"}
    )
    assert unknown.status_code == 422
    assert re.search(r'id="err-entry_time_zone"[^>]*>\s*<span>not a time zone', unknown.text)
    saved = client.post(
        "/subjects/CT-001/forms/crs_assessments", data={**data, "entry_time_zone": "Europe/Berlin"}
    )
    assert saved.status_code == 303, saved.text[:300]
    record = int(saved.headers["location"].split("?")[0].rsplit("/", 1)[1])
    stored = web_app.state.service.as_user("admin").visible_record("crs_assessment", record)["assessed_at"]
    assert stored.astimezone(dt.UTC) == dt.datetime(2021, 5, 25, 8, 0, tzinfo=dt.UTC)


def _field_error(page: str, field: str) -> str:
    box = re.search(rf'id="err-{field}"[^>]*>(.*?)</div>', page, re.S)
    assert box, f"no error box at {field}"
    return re.sub(r"\s+", " ", box.group(1))


def test_an_impossible_clinic_time_is_reported_as_such_not_as_a_daylight_saving_change(login: Any) -> None:
    """`2026-02-30 10:00` (no such day), `25:00`, `10:61` were "a clinic time skipped or repeated in
    Asia/Shanghai (a daylight-saving change)" — in a zone without one (D-19.296): it is an invalid date-time,
    said by the field rules as for any other path."""
    client = login("inv_a")
    token = csrf_of(client.get("/subjects/CT-001/forms/crs_assessments/new").text)
    for typed in ["2026-02-30 10:00", "2026-03-01 25:00", "2026-03-01T10:61"]:
        data = {**CRS, "assessed_at": typed, "csrf_token": token, "entry_time_zone": "Asia/Shanghai"}
        refused = client.post("/subjects/CT-001/forms/crs_assessments", data=data)
        assert refused.status_code == 422
        said = _field_error(refused.text, "assessed_at")
        assert "daylight-saving" not in said and "without a time zone" not in said
        assert "not a real calendar date and time" in said


def test_a_time_a_daylight_saving_change_skips_is_still_said_so(login: Any) -> None:
    client = login("inv_a")
    token = csrf_of(client.get("/subjects/CT-001/forms/crs_assessments/new").text)
    data = {**CRS, "csrf_token": token, "entry_time_zone": "Europe/Berlin"}
    for typed in ["2021-03-28 02:30", "2021-10-31 02:30"]:  # skipped, then repeated, in Berlin
        refused = client.post("/subjects/CT-001/forms/crs_assessments", data={**data, "assessed_at": typed})
        assert refused.status_code == 422
        assert "skipped or repeated in Europe/Berlin" in _field_error(refused.text, "assessed_at")
