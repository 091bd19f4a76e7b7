"""D-19.420, D-19.424 on the web paths: the API and the web form refuse a key text with an invisible or
look-alike character (naming the field and the character's code point), and a real date beyond the
parser's range as out of range (naming the range), with the import's words — one rule."""

from __future__ import annotations

from cartrial.web.forms import validate

SUBJECT = {"site_id": "TJH", "consent_date": "2021-04-01"}


def test_the_api_refuses_a_subject_id_with_a_zero_width_space(any_web_study):
    client = any_web_study.bearer("admin")
    answer = client.post(
        "/api/v1/records/subjects", json={"values": {"subject_id": "CT-9\u200b02", **SUBJECT}}
    )
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["field"] == "subject.subject_id" and "U+200B ZERO WIDTH SPACE" in answer.text
    assert "U+0020" in body["allowed"]
    listed = client.get("/api/v1/records/subjects").json()
    assert [r["values"]["subject_id"] for r in listed["items"]] == ["CT-001", "CT-002", "CT-101"]


def test_the_api_says_a_far_future_date_is_out_of_range(any_web_study):
    client = any_web_study.bearer("admin")
    values = {"subject_id": "CT-950", "site_id": "TJH", "consent_date": "9999-12-31"}
    answer = client.post("/api/v1/records/subjects", json={"values": values})
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["field"] == "subject.consent_date" and "out of range" in answer.text
    assert "2262-04-11" in body["allowed"]


def test_the_web_form_refuses_them_as_the_import_does():
    problems = validate("subjects", {"subject_id": "CT-\u202e903", **SUBJECT})
    assert [p.field for p in problems if "U+202E RIGHT-TO-LEFT OVERRIDE" in p.message] == ["subject_id"]
    problems = validate(
        "adverse_events", {"subject_id": "CT-001", "term": "Rash", "started_on": "9999-12-31"}
    )
    assert [(p.field, p.message) for p in problems if p.field == "started_on"] == [
        ("started_on", "date out of range")
    ]


def test_the_web_form_accepts_a_chinese_term_and_refuses_an_override_in_it():
    """D-19.425: an AE term typed with full-width parentheses is ordinary Chinese; a bidi override is not."""
    values = {"subject_id": "CT-001", "started_on": "2021-06-01", "grade": "1"}
    accepted = validate("adverse_events", {**values, "term": "头痛（轻度）"})
    assert [p for p in accepted if p.field == "term"] == []
    problems = validate("adverse_events", {**values, "term": "头痛\u202e轻度"})
    assert [p.field for p in problems if "U+202E RIGHT-TO-LEFT OVERRIDE" in p.message] == ["term"]
