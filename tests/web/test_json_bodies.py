"""What the API does with JSON bodies it cannot use (web sweep, D-19.170 and D-19.171): every such body
is a 422 located at ``body`` naming what is allowed, never a 500, a 400 without a field, or an echo of it."""

from __future__ import annotations

import json

import pytest

LONE_SURROGATE = "\ud800"
"""A UTF-16 surrogate without its pair: JSON may spell it (``"\\ud800"``), no UTF-8 text can hold it."""


def _raw(body: object) -> bytes:
    """`body` as JSON with every non-ASCII character escaped (how a client sends a lone surrogate)."""
    return json.dumps(body, ensure_ascii=True).encode("ascii")


WRITES = [
    ("POST", "/api/v1/records/crs_assessments", {"values": {"subject_id": LONE_SURROGATE}}),
    (
        "POST",
        "/api/v1/records/crs_assessments",
        {"values": {"subject_id": "CT-002", "assessed_at": "2021-05-02T10:00:00Z", "oxygen": LONE_SURROGATE}},
    ),
    ("PATCH", "/api/v1/records/crs_assessments/1", {"values": {"oxygen": "none"}, "reason": LONE_SURROGATE}),
    ("POST", "/api/v1/forms/crs_assessments/validate", {"values": {"subject_id": LONE_SURROGATE}}),
    ("POST", "/api/v1/forms/crs_assessments/preview", {"values": {"oxygen": "x" + LONE_SURROGATE}}),
    (
        "POST",
        "/api/v1/users",
        {"username": LONE_SURROGATE, "role": "monitor", "password": "a-long-passphrase-1"},
    ),
    ("POST", "/api/v1/escalation/decisions", {"decision": LONE_SURROGATE}),
    (
        "POST",
        "/api/v1/queries",
        {"form": "crs_assessments", "record_id": 1, "field": "oxygen", "text": "\udfff"},
    ),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
def test_a_lone_surrogate_is_refused_at_the_body(web_study, method, path, body):
    """A ``\\ud800`` escape reached the store (SQLite: UnicodeEncodeError, 500) or the error answer that
    echoed it (500 while encoding the answer), on records, reasons, queries, users and decisions."""
    client = web_study.bearer("admin")
    before = client.get("/api/v1/records/crs_assessments").json()["total"]
    answer = client.request(
        method, path, content=_raw(body), headers={"Content-Type": "application/json", "If-Match": "1-1"}
    )
    assert answer.status_code == 422, answer.text[:400]
    found = answer.json()
    assert found["field"] == "body"
    assert "surrogate" in found["error"] and "UTF-8" in found["allowed"]
    assert client.get("/api/v1/records/crs_assessments").json()["total"] == before
    assert client.get("/api/v1/records/crs_assessments/1").json()["version"] == 1


def test_a_surrogate_pair_is_a_character(web_study):
    """An emoji escaped as its pair (``\\ud83d\\ude00``) is one character, not refused as a surrogate."""
    answer = web_study.bearer("admin").post(
        "/api/v1/forms/crs_assessments/validate",
        content=_raw({"values": {"vasopressor_names": "\U0001f600"}}),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 200, answer.text[:400]


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b'{"values": {"temperature_c": 1' + b"0" * 5000 + b"}}", "digits"),  # Python's 4300-digit limit
        (b'{"values": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested"),  # the recursion limit
        (b'{"values": {"subject_id": "\xff\xfe"}}', "UTF-8"),  # not UTF-8 (RFC 8259 §8.1)
        # not JSON numbers, or beyond the range read (RFC 8259 §6): Python's parser read both as non-finite
        # floats (D-19.1046)
        (b'{"values": {"temperature_c": NaN}}', "NaN and Infinity are not JSON numbers"),
        (b'{"values": {"temperature_c": 1e400}}', "beyond the range read"),
    ],
    ids=["huge-integer", "deep-nesting", "not-utf8", "nan", "overflow"],
)
def test_a_body_json_cannot_read_is_located_at_the_body(web_study, content, said):
    """Such bodies answered 400 "There was an error parsing the body" with no field and nothing allowed,
    where malformed JSON is a located 422."""
    answer = web_study.bearer("admin").post(
        "/api/v1/records/crs_assessments", content=content, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422, answer.text[:400]
    found = answer.json()
    assert found["field"] == "body" and found["allowed"]
    assert said in found["error"]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_json_object_sent_as_another_type_names_the_content_type(web_study, content_type):
    """A record sent as text/plain was refused as "Input should be a valid dictionary" (it is one) with its
    first 200 characters echoed as the offending value — the subject's id and values among them."""
    content = json.dumps({"values": {"subject_id": "CT-001", "assessed_at": "2021-05-02T10:00:00Z"}})
    headers = {} if content_type is None else {"Content-Type": content_type}
    client = web_study.bearer("admin")
    answer = client.post("/api/v1/records/crs_assessments", content=content.encode(), headers=headers)
    if content_type is None:  # no Content-Type: FastAPI reads the body as JSON (not strict)
        assert answer.status_code in (201, 409, 422), answer.text[:300]
        return
    assert answer.status_code == 422, answer.text[:400]
    found = answer.json()
    assert found["field"] == "body" and found["value"] is None
    assert "application/json" in found["allowed"]
    assert "CT-001" not in answer.text


def test_a_huge_integer_in_a_number_field_is_not_echoed(web_study):
    """D-19.1046: a 401-digit integer is a JSON number (RFC 8259 §6 grammar), read as an integer; the number
    field refused it as "not a number" and its 422 echoed 120 of its digits ("got '1000…'"). Refused as a
    number beyond the range read, without its digits."""
    content = b'{"values": {"subject_id": "CT-001", "temperature_c": 1' + b"0" * 400 + b"}}"
    answer = web_study.bearer("admin").post(
        "/api/v1/records/crs_assessments", content=content, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422, answer.text[:400]
    found = answer.json()
    assert found["field"] == "crs_assessment.temperature_c" and found["value"] is None, answer.text[:400]
    assert "beyond the range read" in found["error"] and "not a number" not in found["error"]
    assert "000" not in answer.text, answer.text[:400]
