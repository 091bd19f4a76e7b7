"""D-19.445: a web form, the check while typing and the JSON API trimmed every Unicode space around a
value (`str.strip()`), so ``CT-053`` + U+00A0 NO-BREAK SPACE was stored as ``CT-053`` while the Python API
refused it; only space, tab, CR and LF are trimmed, and the key rule names what else is there."""

from __future__ import annotations

import re

from cartrial.web.forms import clean_values, validate

NEW = {"site_id": "TJH", "consent_date": "2021-06-01", "sex": "F"}


def test_the_form_values_lose_only_blanks_at_their_edges() -> None:
    assert clean_values({"subject_id": " CT-053\t", "notes": "a\u3000"}) == {
        "subject_id": "CT-053",
        "notes": "a\u3000",
    }
    problems = validate("subjects", {"subject_id": "CT-053\u00a0"}, partial=True)
    assert [p.field for p in problems] == ["subject_id"] and "U+00A0 NO-BREAK SPACE" in problems[0].message


def test_the_api_and_the_form_refuse_a_no_break_space_around_a_subject_id(web_study) -> None:
    client = web_study.bearer("inv")
    refused = client.post("/api/v1/records/subjects", json={"values": {**NEW, "subject_id": "CT-053\u00a0"}})
    assert refused.status_code == 422, refused.text
    assert "U+00A0 NO-BREAK SPACE" in refused.text
    session = web_study.session("inv")
    found = re.search(r'name="csrf_token" value="([^"]+)"', session.get("/subjects/new").text)
    assert found
    page = session.post("/subjects", data={**NEW, "subject_id": "CT-054\u00a0", "csrf_token": found.group(1)})
    assert page.status_code == 422 and "U+00A0 NO-BREAK SPACE" in page.text
    stored = {r["subject_id"] for r in web_study.service.find_records("admin", "subject")}
    assert not {"CT-053", "CT-054", "CT-053\u00a0", "CT-054\u00a0"} & stored
