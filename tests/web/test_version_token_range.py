"""A version token names a version a record can have: 1 to 1000000000, written in ASCII digits — the range
`db edit --expected-version` declares (D-19.371), on the API and the record page alike (D-19.413)."""

from __future__ import annotations

import pytest

from .conftest import csrf_of

BAD_VERSIONS = ["0", "00", "1000000001", "99999999999999999999", "²", "١", "1_0"]
"""Not a version: below 1, above the range, beyond every integer column, not ASCII digits."""


def _crs_record(study) -> dict:
    rows = study.service.find_records("admin", "crs_assessment", subject_id="CT-001")
    return rows[0]


@pytest.mark.parametrize("version", BAD_VERSIONS)
def test_the_api_refuses_a_version_token_out_of_the_declared_range(any_web_study, version):
    record = _crs_record(any_web_study)
    api = any_web_study.bearer("dm")
    token = f"{record['id']}-{version}"
    sent = [{"json": {"values": {"temperature_c": 38.6}, "reason": "re-read", "version_token": token}}]
    if version.isascii():  # a header holds ASCII only
        sent.append(
            {
                "headers": {"If-Match": f'"{token}"'},
                "json": {"values": {"temperature_c": 38.6}, "reason": "x"},
            }
        )
    for request, field in zip(sent, ["version_token", "If-Match"], strict=False):
        answer = api.patch(f"/api/v1/records/crs_assessments/{record['id']}", **request)
        assert answer.status_code == 422, (answer.status_code, answer.text)
        body = answer.json()
        assert body["field"] == field and "1 to 1000000000" in body["allowed"]  # where the token was sent
    assert any_web_study.service.get_record("admin", "crs_assessment", record["id"]) == record


@pytest.mark.parametrize("version", [*BAD_VERSIONS, "-1"])
def test_the_record_page_refuses_a_version_out_of_the_declared_range(web_study, version):
    record = _crs_record(web_study)
    page = web_study.session("dm")
    form = page.get(f"/records/crs_assessment/{record['id']}")
    assert form.status_code == 200
    answer = page.post(
        f"/records/crs_assessment/{record['id']}",
        data={"temperature_c": "38.6", "version": version, "reason": "re-read", "csrf_token": csrf_of(page)},
    )
    assert answer.status_code == 422, (answer.status_code, answer.text[:300])
    assert "1 to 1000000000" in answer.text
    assert web_study.service.get_record("admin", "crs_assessment", record["id"]) == record
    # the form is redrawn with the version posted, never the stored one: saving it again as it is would
    # otherwise skip the "changed since you opened it" check (D-19.413)
    hidden = answer.text.split('name="version" value="', 1)[1].split('"', 1)[0]
    assert hidden != str(record["version"]), hidden


def test_a_version_in_range_still_saves(any_web_study):
    record = _crs_record(any_web_study)
    answer = any_web_study.bearer("dm").patch(
        f"/api/v1/records/crs_assessments/{record['id']}",
        headers={"If-Match": f'"{record["id"]}-{record["version"]}"'},
        json={"values": {"temperature_c": 38.6}, "reason": "re-read"},
    )
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("where", ["If-Match", "version_token"])
def test_a_stale_version_token_is_a_409_naming_where_it_was_sent(web_study, where):
    """D-19.551: the 409 of a token read before another change had ``field: null``: it now names the
    header or body field the stale token came in, echoes that token (the caller's own) and says what to
    send instead. Nothing is written."""
    record = _crs_record(web_study)
    api = web_study.bearer("dm")
    first = api.patch(
        f"/api/v1/records/crs_assessments/{record['id']}",
        json={"values": {"temperature_c": 38.6}, "reason": "re-read the chart"},
        headers={"If-Match": f'"{record["id"]}-1"'},
    )
    assert first.status_code == 200, first.text
    stale = f"{record['id']}-1"
    change = {"values": {"temperature_c": 37.0}, "reason": "another reading"}
    path = f"/api/v1/records/crs_assessments/{record['id']}"
    if where == "If-Match":
        answer = api.patch(path, json=change, headers={where: stale})
    else:
        answer = api.patch(path, json={**change, where: stale})
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert body["field"] == where and body["value"] == stale and "GET" in body["allowed"]
    (problem,) = body["problems"]  # the problem's own message is in the body, as a 422's is
    assert problem["field"] == where and "changed since this version token was read" in problem["message"]
    assert _crs_record(web_study)["temperature_c"] == 38.6
