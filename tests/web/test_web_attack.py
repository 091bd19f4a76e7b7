"""Defects found by the web attack review of 2026-12-06 (authorization, sessions, errors), each with the
probe that found it."""

from __future__ import annotations

import re

from cartrial.store import StudyService

NEW_PASSWORD = "a new long passphrase 2026"
"""23 characters, no repeated character run, not the user name: passes the password policy (15-256)."""


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_a_password_reset_on_the_admin_page_ends_the_users_sessions(web_study):
    """docs/web.md: "A password reset or a deactivation by an admin ends all the user's sessions". The API's
    reset did; the admin page's reset (``POST /admin/users/{name}/password``) left every session of the
    user working, so whoever held a stolen session kept it after the reset meant to lock them out."""
    victim = web_study.session("inv")
    assert victim.get("/api/v1/me").status_code == 200
    admin = web_study.session("admin")
    token = _csrf(admin.get("/admin/users").text)
    answer = admin.post(
        "/admin/users/inv/password",
        data={"password": NEW_PASSWORD, "reason": "suspected account misuse", "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:500]
    assert victim.get("/api/v1/me").status_code == 401


def test_a_password_set_through_the_store_ends_the_users_sessions(web_study):
    """The rule lives in the store: every front end that sets a password (CLI, pages, API, a script on
    `StudyService`) ends the sessions of the user whose password changed, in the same transaction."""
    victim = web_study.bearer("inv2")
    other = web_study.bearer("mon")
    assert victim.get("/api/v1/me").status_code == 200
    StudyService(web_study.service.engine).set_password(
        "admin", "inv2", NEW_PASSWORD, "suspected account misuse"
    )
    assert victim.get("/api/v1/me").status_code == 401
    assert other.get("/api/v1/me").status_code == 200  # only that user's sessions


def _crs_of(web_study, subject: str) -> int:
    rows = web_study.service.find_records("admin", "crs_assessment", subject_id=subject)
    return int(rows[0]["id"])


def test_a_delete_with_a_stale_if_match_is_refused_and_deletes_nothing(web_study):
    """A client read a CRS assessment (version 1), another corrected it (version 2), and the first sent
    ``DELETE`` with the ``If-Match`` of what it had read: the record was deleted, the correction it never
    saw with it. RFC 9110 §13.1.1: a server MUST evaluate If-Match and MUST NOT perform the method when it
    is false; §15.5.13: 412 is for that, but cartrial answers a stale version 409 (as for PUT/PATCH)."""
    record = _crs_of(web_study, "CT-001")
    reader, editor = web_study.bearer("dm"), web_study.bearer("admin")
    assert reader.get(f"/api/v1/records/crs_assessments/{record}").headers["etag"] == f'"{record}-1"'
    changed = editor.patch(
        f"/api/v1/records/crs_assessments/{record}",
        json={"values": {"temperature_c": 38.4}, "reason": "transcription error"},
        headers={"If-Match": f'"{record}-1"'},
    )
    assert changed.status_code == 200
    answer = reader.delete(
        f"/api/v1/records/crs_assessments/{record}",
        params={"reason": "entered twice"},
        headers={"If-Match": f'"{record}-1"'},
    )
    assert answer.status_code == 409, answer.text
    assert answer.json()["field"] == "If-Match"
    assert reader.get(f"/api/v1/records/crs_assessments/{record}").status_code == 200


def test_a_delete_with_the_current_if_match_or_none_still_deletes(web_study):
    record = _crs_of(web_study, "CT-001")
    client = web_study.bearer("dm")
    answer = client.delete(
        f"/api/v1/records/crs_assessments/{record}",
        params={"reason": "entered twice"},
        headers={"If-Match": f'"{record}-1"'},
    )
    assert answer.status_code == 200, answer.text
    other = _crs_of(web_study, "CT-101")
    unconditional = client.delete(f"/api/v1/records/crs_assessments/{other}", params={"reason": "x"})
    assert unconditional.status_code == 200


def test_a_delete_with_an_if_match_of_another_record_is_refused(web_study):
    record = _crs_of(web_study, "CT-001")
    other = _crs_of(web_study, "CT-101")
    answer = web_study.bearer("dm").delete(
        f"/api/v1/records/crs_assessments/{record}",
        params={"reason": "entered twice"},
        headers={"If-Match": f'"{other}-1"'},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "If-Match"
    assert web_study.service.find_records("admin", "crs_assessment", subject_id="CT-001")


def test_the_store_refuses_a_delete_of_a_record_changed_since_it_was_read(web_study):
    """The rule in the store, for every front end that knows the version it read."""
    import pytest

    from cartrial.store.writes import StaleVersionError

    record = _crs_of(web_study, "CT-001")
    service = StudyService(web_study.service.engine)
    service.update_record("admin", "crs_assessment", record, {"temperature_c": 38.4}, 1, "correction")
    with pytest.raises(StaleVersionError):
        service.delete_record("dm", "crs_assessment", record, "entered twice", expected_version=1)
    assert service.find_records("admin", "crs_assessment", subject_id="CT-001")
