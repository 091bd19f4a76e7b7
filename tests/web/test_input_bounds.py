"""Bounds of what the API takes, found by the adversarial web sweep (issue 19): a value, a body or a
reason beyond what the study can store or should hold is refused with a located 4xx, never a 500."""

from __future__ import annotations

import pytest

from cartrial.store.fields import INTEGER_BOUNDS

DECISION = {
    "cohort": 1,
    "dose_level": 1,
    "decided_on": "2021-07-06",
    "outcomes": "1NNN",
    "design": "3+3",
    "decision": "escalate",
    "approved_by": "safety review committee",
}


@pytest.mark.parametrize("cohort", [INTEGER_BOUNDS[1] + 1, 99999999999999999999, "99999999999999999999"])
def test_whole_number_beyond_storage_is_refused_as_the_fields_rule(any_web_study, cohort):
    """`escalation_decision.cohort` declares only a minimum: a value beyond a 32-bit INTEGER reached the
    database (SQLite OverflowError, PostgreSQL "integer out of range") and answered 500."""
    client = any_web_study.bearer("admin")
    answer = client.post(
        "/api/v1/records/escalation_decisions", json={"values": {**DECISION, "cohort": cohort}}
    )
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["field"] == "escalation_decision.cohort"
    assert body["value"] == str(cohort)
    assert str(INTEGER_BOUNDS[1]) in body["allowed"]
    saved = client.post("/api/v1/records/escalation_decisions", json={"values": DECISION})
    assert saved.status_code == 201, saved.text
    record = f"/api/v1/records/escalation_decisions/{saved.json()['id']}"
    token = saved.json()["version_token"]
    change = {"values": {"cohort": cohort}, "reason": "probe", "version_token": token}
    answer = client.patch(record, json=change)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "escalation_decision.cohort"
    assert client.get(record).json()["values"]["cohort"] == 1


def _chunks(total: int, head: bytes = b'{"values": {"oxygen": "', tail: bytes = b'"}}'):
    yield head
    for _ in range(total // (256 * 1024)):
        yield b"x" * (256 * 1024)
    yield tail


def test_a_body_over_the_limit_is_refused_before_it_is_read(web_study):
    """A 50 MB JSON body was read whole, parsed, validated and echoed back in the error (peak memory of the
    process +300 MB for one request): now 413 naming the limit, whether the size is declared
    (Content-Length) or the body streams without one."""
    from cartrial.web.errors import MAX_BODY_BYTES

    client = web_study.bearer("admin")
    body = b'{"values": {"oxygen": "' + b"x" * (2 * MAX_BODY_BYTES) + b'"}}'
    declared = client.post(
        "/api/v1/records/crs_assessments", content=body, headers={"Content-Type": "application/json"}
    )
    streamed = client.post(
        "/api/v1/forms/crs_assessments/validate",
        content=_chunks(2 * MAX_BODY_BYTES),
        headers={"Content-Type": "application/json"},
    )
    for answer in (declared, streamed):
        assert answer.status_code == 413, answer.text[:300]
        assert answer.json()["field"] == "body"
        assert str(MAX_BODY_BYTES) in answer.json()["allowed"]
        assert len(answer.content) < 1000
    assert client.post("/api/v1/forms/crs_assessments/validate", json={"values": {}}).status_code == 200


def test_a_form_post_over_the_limit_is_refused_and_an_upload_is_not(web_study):
    from cartrial.web.errors import MAX_BODY_BYTES

    page = web_study.client().post("/login", data={"username": "x" * (2 * MAX_BODY_BYTES), "password": "p"})
    assert page.status_code == 413
    assert "text/html" in page.headers["content-type"]
    upload = web_study.bearer("admin").post(
        "/api/v1/import/templates",
        files={"files": ("not_a_template.csv", b"a\n" + b"1\n" * MAX_BODY_BYTES, "text/csv")},
        data={"dry_run": "true"},
    )
    assert upload.status_code == 422, upload.text[:300]
    assert upload.json()["field"] == "files"


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(b'{"values": {"oxygen": ', "application/json"), (b"values=nasal_cannula", "text/plain")],
)
def test_a_body_that_is_not_json_is_located_at_the_body(web_study, content, content_type):
    """Malformed JSON was reported on a "field" named by the character position (``"10"``), and a body
    that is not JSON was echoed as a Python bytes repr (``b'values=…'``)."""
    answer = web_study.bearer("admin").post(
        "/api/v1/forms/crs_assessments/validate", content=content, headers={"Content-Type": content_type}
    )
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["field"] == "body"
    assert "b'" not in answer.text


@pytest.mark.parametrize(
    "moment", ["2300-01-01T00:00:00Z", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00Z"]
)
def test_a_well_formed_date_time_out_of_range_says_so(web_study, moment):
    """A well-formed date-time beyond the parser's range (pandas' nanosecond date-times: 1677 to 2262) was
    refused as "not an ISO 8601 date-time", with an example of the very format it has."""
    answer = web_study.bearer("admin").post(
        "/api/v1/forms/crs_assessments/validate", json={"values": {"assessed_at": moment}}
    )
    problem = answer.json()["problems"][0]
    assert problem["message"] == "date-time out of range"
    assert "1677" in problem["allowed"] and "2262" in problem["allowed"]


@pytest.mark.parametrize("moment", ["2026-02-30T10:00:00Z", "2026-03-01 25:00", "2026-03-01T10:61"])
def test_an_impossible_date_time_is_said_to_be_one(web_study, moment):
    """An impossible date or time was "date-time without a time zone (ambiguous)" when typed without an
    offset (D-19.296): the API says what it is, with what is allowed."""
    answer = web_study.bearer("admin").post(
        "/api/v1/forms/crs_assessments/validate", json={"values": {"assessed_at": moment}}
    )
    problem = answer.json()["problems"][0]
    assert problem["message"] == "not a real calendar date and time"
    assert "real calendar date and time" in problem["allowed"]


def test_a_parameter_too_long_says_its_limit(web_study):
    """A request parameter beyond its length is worded as every bad input with its limit (``at most 40
    characters``), from the one reading of the parser's bounds (`allowed_from_ctx`, D-19.1456): it said
    "too long" and no limit."""
    client = web_study.bearer("admin")
    answer = client.get("/api/v1/audit/subjects/" + "S" * 41)
    assert answer.status_code == 422, answer.text[:300]
    [problem] = answer.json()["problems"]
    assert (problem["field"], problem["message"], problem["allowed"]) == (
        "subject_id",
        "too long",
        "at most 40 characters",
    ), problem
    assert "should" not in answer.text
