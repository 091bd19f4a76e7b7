"""A subject id the web app's own addresses take (``new``: ``/subjects/new`` is the enrolment page) is refused
wherever a subject is enrolled, naming the field and what is allowed (D-19.1167). Before, the subject
``new`` was enrolled, then its casebook could not be opened: its address showed the enrolment page."""

from __future__ import annotations

import re

from cartrial.store.fields import RESERVED_SUBJECT_IDS, validate_record


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_enrolling_the_subject_new_is_refused_at_its_field(web_study):
    client = web_study.session("inv")
    token = _csrf(client.get("/subjects/new").text)
    values = {"csrf_token": token, "subject_id": "new", "site_id": "TJH", "consent_date": "2021-06-01"}
    answer = client.post("/subjects", data={**values, "sex": "F"}, follow_redirects=False)
    assert answer.status_code == 422, answer.text[:500]
    assert "the address of the enrolment page" in answer.text
    assert not [r for r in web_study.service.find_records("admin", "subject") if r["subject_id"] == "new"]
    api = web_study.bearer("admin").post(
        "/api/v1/records/subjects",
        json={"values": {"subject_id": "new", "site_id": "TJH", "consent_date": "2021-06-01", "sex": "F"}},
    )
    assert api.status_code == 422, api.text[:500]
    assert "subject_id" in api.text and "enrolment page" in api.text


def test_the_reserved_ids_are_the_fixed_words_after_subjects_in_the_pages_routes() -> None:
    """The reserved words are the app's own: every fixed segment right after ``/subjects/`` of a page."""
    from cartrial.web.pages import ROUTERS

    words = set()
    for router in ROUTERS:
        for route in router.routes:
            found = re.fullmatch(r"/subjects/([^/{]+)", getattr(route, "path", ""))
            if found:
                words.add(found.group(1))
    assert words == set(RESERVED_SUBJECT_IDS) == {"new"}


def test_the_rule_is_the_field_rule_of_every_path() -> None:
    """`validate_record` is the import's own validator on one row: what the import, a form and the API run."""
    problems = validate_record("subject", {"subject_id": "new"}, protocol=None, partial=True)
    assert [(p.field, p.message) for p in problems] == [("subject_id", "not in the expected form")]
    assert "`new`" in str(problems[0].allowed) and "at most 40 characters" in str(problems[0].allowed)
    assert validate_record("subject", {"subject_id": "New-1"}, protocol=None, partial=True) == []
    assert validate_record("subject", {"subject_id": "NEW"}, protocol=None, partial=True) == []
