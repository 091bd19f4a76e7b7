"""A record renamed to a key another record of the user's own sites holds (a subject renamed to an id
already enrolled, a CRS assessment moved to the time of another one) is refused with a located problem —
the field, what is allowed, the typed key as the problem's value only — as the import refuses a repeated
key, never the database's unique-constraint text (D-19.414)."""

from __future__ import annotations

import pytest

from .conftest import csrf_of


def _subject(study, subject_id: str) -> dict:
    return study.service.find_records("admin", "subject", subject_id=subject_id)[0]


def _assert_located(body: dict, field: str) -> None:
    assert body["field"] == field, body
    assert "UNIQUE" not in body["error"] and "unique" not in body["error"].lower(), body
    assert "database" not in body["error"], body
    assert "CT-001" not in body["error"]  # the key typed is the problem's value, not the message's text
    assert body["allowed"]


@pytest.mark.parametrize("username", ["inv", "dm"])
def test_a_subject_renamed_to_an_id_held_at_the_users_site_is_a_located_refusal(any_web_study, username):
    before = _subject(any_web_study, "CT-002")
    api = any_web_study.bearer(username)
    answer = api.patch(
        f"/api/v1/records/subjects/{before['id']}",
        headers={"If-Match": f'"{before["id"]}-{before["version"]}"'},
        json={"values": {"subject_id": "CT-001"}, "reason": "typo"},
    )
    assert answer.status_code == 409, answer.text
    _assert_located(answer.json(), "subject_id")
    assert answer.json()["value"] == "CT-001"
    assert _subject(any_web_study, "CT-002") == before


@pytest.mark.parametrize("username", ["inv", "dm"])
def test_a_new_record_on_a_held_key_is_the_same_refusal_as_an_edit_onto_it(any_web_study, username):
    """One refusal for a key a visible record holds (D-19.414): a new subject with an enrolled id answered
    409 with the key's values and the holding record's id in the message text (D-12.2), an edit 422 with
    other words; both are now 409, the same words, the typed key as the problem's value only."""
    held = _subject(any_web_study, "CT-001")
    api = any_web_study.bearer(username)
    created = api.post(
        "/api/v1/records/subjects",
        json={"values": {"subject_id": "CT-001", "site_id": "TJH", "consent_date": "2021-05-06", "sex": "F"}},
    )
    assert created.status_code == 409, created.text
    _assert_located(created.json(), "subject_id")
    assert created.json()["value"] == "CT-001" and f"id {held['id']}" not in created.json()["error"]
    before = _subject(any_web_study, "CT-002")
    edited = api.patch(
        f"/api/v1/records/subjects/{before['id']}",
        headers={"If-Match": f'"{before["id"]}-{before["version"]}"'},
        json={"values": {"subject_id": "CT-001"}, "reason": "typo"},
    )
    assert (edited.status_code, edited.json()["error"]) == (409, created.json()["error"])


def test_an_assessment_moved_onto_another_ones_key_is_a_located_refusal(any_web_study):
    service = any_web_study.service
    (first,) = service.find_records("admin", "crs_assessment", subject_id="CT-001")
    api = any_web_study.bearer("inv")
    created = api.post(
        "/api/v1/records/crs_assessments",
        json={
            "values": {
                **{k: first[k] for k in ("subject_id", "temperature_c")},
                "assessed_at": "2021-05-02T10:00:00Z",
                "fever_masked": False,
                "hypotension": False,
                "vasopressors": 0,
                "vasopressin": False,
                "oxygen": "none",
            }
        },
    )
    assert created.status_code == 201, created.text
    record = api.get(f"/api/v1/records/crs_assessments/{created.json()['id']}")
    answer = api.patch(
        f"/api/v1/records/crs_assessments/{created.json()['id']}",
        headers={"If-Match": record.headers["ETag"]},
        json={"values": {"assessed_at": "2021-04-30T10:00:00Z"}, "reason": "wrong day"},
    )
    assert answer.status_code == 409, answer.text
    _assert_located(answer.json(), "subject_id, assessed_at")


def test_the_record_page_shows_the_refusal_next_to_the_field(web_study):
    """The record page keeps a subject's id (it is not renamed there); an assessment moved onto another
    one's time is refused on the page with the problem, not the database's text."""
    service = web_study.service
    (first,) = service.find_records("admin", "crs_assessment", subject_id="CT-001")
    moved = {**first, "assessed_at": "2021-05-02T10:00:00Z"}
    record_id = service.insert_record(
        "admin",
        "crs_assessment",
        {k: v for k, v in moved.items() if k not in ("id", "version", "created_at", "updated_at")},
    )
    before = service.get_record("admin", "crs_assessment", record_id)
    page = web_study.session("inv")
    assert page.get(f"/records/crs_assessment/{record_id}").status_code == 200
    form = {
        k: "" if v is None else str(v).lower() if isinstance(v, bool) else str(v) for k, v in before.items()
    }
    form.update(assessed_at="2021-04-30T10:00:00Z", version=str(before["version"]), reason="wrong day")
    answer = page.post(f"/records/crs_assessment/{record_id}", data={**form, "csrf_token": csrf_of(page)})
    assert answer.status_code == 409, answer.text[:500]
    assert "already has this subject_id + assessed_at" in answer.text
    assert "UNIQUE" not in answer.text and "database refused" not in answer.text
    assert service.get_record("admin", "crs_assessment", record_id) == before
