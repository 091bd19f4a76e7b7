"""Defects found by the web attack review of 2026-12-06 (authorization, sessions, errors), each with the
probe that found it."""

from __future__ import annotations

import re

import pytest

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

    from cartrial.store.writes import StaleVersionError

    record = _crs_of(web_study, "CT-001")
    service = StudyService(web_study.service.engine)
    service.update_record("admin", "crs_assessment", record, {"temperature_c": 38.4}, 1, "correction")
    with pytest.raises(StaleVersionError):
        service.delete_record("dm", "crs_assessment", record, "entered twice", expected_version=1)
    assert service.find_records("admin", "crs_assessment", subject_id="CT-001")


def _password_hash(web_study, username: str) -> str:
    from sqlalchemy import text

    with web_study.service.engine.connect() as connection:
        return str(
            connection.execute(
                text("SELECT password_hash FROM app_user WHERE username = :u"), {"u": username}
            ).scalar_one()
        )


def test_changing_ones_own_password_on_the_admin_page_needs_the_current_password(web_study):
    """Whoever held an administrator's session (a browser left open) set the administrator's password on
    the admin page with the session alone, and so kept the account after the session ended. OWASP ASVS
    4.0.3 V2.1.6: changing a password requires the user's current and new password."""
    from .conftest import TEST_PASSWORD

    before = _password_hash(web_study, "admin")
    client = web_study.session("admin")
    token = _csrf(client.get("/admin/users").text)
    for current in ("", "not the password of admin"):
        answer = client.post(
            "/admin/users/admin/password",
            data={
                "password": NEW_PASSWORD,
                "current_password": current,
                "reason": "new",
                "csrf_token": token,
            },
            follow_redirects=False,
        )
        assert answer.status_code in (403, 422), answer.status_code
        assert "current_password" in answer.text or "current password" in answer.text
        assert NEW_PASSWORD not in answer.text and TEST_PASSWORD not in answer.text
    assert _password_hash(web_study, "admin") == before
    answer = client.post(
        "/admin/users/admin/password",
        data={
            "password": NEW_PASSWORD,
            "current_password": TEST_PASSWORD,
            "reason": "new",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:500]
    assert _password_hash(web_study, "admin") != before


def test_changing_ones_own_password_through_the_api_needs_the_current_password(web_study):
    from .conftest import TEST_PASSWORD

    before = _password_hash(web_study, "admin")
    client = web_study.bearer("admin")
    missing = client.post("/api/v1/users/admin/password", json={"password": NEW_PASSWORD, "reason": "new"})
    assert missing.status_code == 422 and missing.json()["field"] == "current_password", missing.text
    wrong = client.post(
        "/api/v1/users/admin/password",
        json={"password": NEW_PASSWORD, "current_password": "not the password of admin", "reason": "new"},
    )
    assert wrong.status_code == 403 and "current password" in wrong.json()["error"], wrong.text
    assert _password_hash(web_study, "admin") == before
    right = client.post(
        "/api/v1/users/admin/password",
        json={"password": NEW_PASSWORD, "current_password": TEST_PASSWORD, "reason": "new"},
    )
    assert right.status_code == 204, right.text
    assert _password_hash(web_study, "admin") != before


def test_an_admin_still_resets_another_users_password_without_theirs(web_study):
    before = _password_hash(web_study, "inv")
    answer = web_study.bearer("admin").post(
        "/api/v1/users/inv/password", json={"password": NEW_PASSWORD, "reason": "forgotten"}
    )
    assert answer.status_code == 204, answer.text
    assert _password_hash(web_study, "inv") != before


INVISIBLE_REASONS = ["\u200b", "\u2060\ufeff", "\u3164", "\u00a0\u200b\u3000", "\u200d \u200c"]
"""Texts that show nothing: ZERO WIDTH SPACE; WORD JOINER + ZERO WIDTH NO-BREAK SPACE; HANGUL FILLER (a
letter by category, Default_Ignorable_Code_Point by Unicode's DerivedCoreProperties.txt); NO-BREAK SPACE +
ZWSP + IDEOGRAPHIC SPACE; ZERO WIDTH JOINER, a space, ZERO WIDTH NON-JOINER."""


@pytest.mark.parametrize("reason", INVISIBLE_REASONS)
def test_a_reason_that_shows_nothing_is_no_reason(web_study, reason):
    """A blank reason was refused, but one made of invisible characters was taken: the audit trail then
    showed an edit with an empty-looking reason, which 21 CFR 11.10(e) / ICH E6(R3) 4.2.4 (docs/security.md:
    "a reason is required for every update") exist to prevent."""
    record = _crs_of(web_study, "CT-001")
    answer = web_study.bearer("dm").patch(
        f"/api/v1/records/crs_assessments/{record}",
        json={"values": {"temperature_c": 38.0}, "reason": reason},
        headers={"If-Match": f'"{record}-1"'},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "reason"
    deleted = web_study.bearer("dm").delete(
        f"/api/v1/records/crs_assessments/{record}", params={"reason": reason}
    )
    assert deleted.status_code == 422, deleted.text
    rows = web_study.service.find_records("admin", "crs_assessment", subject_id="CT-001")
    assert rows[0]["temperature_c"] == 39.2 and rows[0]["version"] == 1


@pytest.mark.parametrize("reason", ["Ｘ", "é", "修正", "x\u200b"])
def test_a_reason_with_a_visible_character_is_taken(web_study, reason):
    record = _crs_of(web_study, "CT-001")
    answer = web_study.bearer("dm").patch(
        f"/api/v1/records/crs_assessments/{record}",
        json={"values": {"temperature_c": 38.0}, "reason": reason},
        headers={"If-Match": f'"{record}-1"'},
    )
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("text", INVISIBLE_REASONS)
def test_a_query_text_or_answer_that_shows_nothing_is_empty(web_study, text):
    """The same rule for a data query's question and answer (`queries.query_text`): a question of invisible
    characters asks nothing."""
    record = _crs_of(web_study, "CT-001")
    monitor = web_study.bearer("mon")
    answer = monitor.post(
        "/api/v1/queries", json={"form": "crs_assessments", "record_id": record, "text": text}
    )
    assert answer.status_code == 422, answer.text
    assert web_study.service.find_records("admin", "data_query") == []


def _subject_id_of(web_study, subject: str) -> int:
    return int(web_study.service.find_records("admin", "subject", subject_id=subject)[0]["id"])


def test_a_refused_edit_does_not_quote_the_stored_record_it_conflicts_with(web_study):
    """Moving CT-001's consent after its stored infusion (2021-04-27T02:00Z, conftest) is refused by
    INFUSION-BEFORE-CONSENT, located at the stored infusion's field — and the answer quoted the infusion's
    stored time as the problem's value (``"value": "2021-04-27T02:00:00+00:00"``). D-12.2 and
    `Finding.problem`: a value is shown only for the record being written, a stored record is named by
    its table, id and field."""
    record = _subject_id_of(web_study, "CT-001")
    client = web_study.bearer("dm")
    body = {"values": {"consent_date": "2021-04-28"}, "reason": "transcription error"}
    answer = client.patch(
        f"/api/v1/records/subjects/{record}", json=body, headers={"If-Match": f'"{record}-1"'}
    )
    assert answer.status_code == 422, answer.text
    assert "2021-04-27" not in answer.text and "02:00" not in answer.text
    assert "INFUSION-BEFORE-CONSENT" in answer.text and "infusion.infused_at" in answer.text
    checked = client.post(
        "/api/v1/forms/subjects/validate",
        json={
            "values": {"subject_id": "CT-001", "site_id": "TJH", "consent_date": "2021-04-28", "sex": "F"},
            "record_id": record,
        },
    )
    assert checked.status_code == 200, checked.text
    assert "INFUSION-BEFORE-CONSENT" in checked.text
    assert "2021-04-27" not in checked.text and "02:00" not in checked.text


def test_a_refused_entry_still_shows_the_value_the_user_gave(web_study):
    """The user's own value stays in the answer (D-12.2 allows it: it is their input)."""
    answer = web_study.bearer("dm").post(
        "/api/v1/records/infusions",
        json={
            "values": {
                "subject_id": "CT-002",
                "dose_level": 1,
                "infused_at": "2021-04-10T02:00:00Z",
                "weight_kg": 61.3,
                "cells_per_kg": 500000,
                "total_car_t_cells": 30650000,
            }
        },
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["value"] == "2021-04-10T02:00:00+00:00"


def test_signing_in_over_a_session_ends_the_session_it_replaces(web_study):
    """A browser signed in as ``inv`` signed in as ``dm`` (the login form posted with the session cookie):
    the browser's cookie then named dm's session, but inv's session stayed valid on the server, an orphan
    that whoever had copied the cookie kept using (OWASP Session Management Cheat Sheet: on sign-in the
    previous session is invalidated; ASVS 4.0.3 V3.2.1 / V3.3.1)."""
    from .conftest import TEST_PASSWORD

    browser = web_study.session("inv")
    earlier = browser.cookies.get("cartrial_session")
    copy = web_study.client()
    copy.cookies.set("cartrial_session", earlier)
    assert copy.get("/api/v1/me").status_code == 200
    token = re.search(r'name="csrf-token" content="([^"]+)"', browser.get("/").text)
    assert token
    answer = browser.post(
        "/login",
        data={"username": "dm", "password": TEST_PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert browser.get("/api/v1/me").json()["username"] == "dm"
    assert copy.get("/api/v1/me").status_code == 401


DECISION = {
    "cohort": 1,
    "dose_level": 1,
    "decided_on": "2021-04-28",
    "outcomes": "1N",
    "decision": "escalate",
}
"""A committee decision on cohort 1 one day after CT-001's and CT-101's infusion (2021-04-27, conftest):
inside the protocol's DLT window (docs/science/dose-escalation.md), so saving it raises the data query
DECISION-BEFORE-DLT-WINDOW."""


def test_the_check_of_an_unsaved_decision_lists_the_query_its_save_raises(web_study):
    """docs/web.md: ``POST /forms/{form}/validate`` runs the edit checks as saving would, a soft one listed
    under ``queries``. For an escalation decision it listed none, and the save then raised
    DECISION-BEFORE-DLT-WINDOW: the committee was not warned before recording a decision taken inside the
    DLT window."""
    client = web_study.bearer("dm")
    checked = client.post("/api/v1/forms/escalation_decisions/validate", json={"values": DECISION})
    assert checked.status_code == 200, checked.text
    assert len(checked.json()["queries"]) == 1
    assert "DECISION-BEFORE-DLT-WINDOW" in checked.text
    saved = client.post("/api/v1/records/escalation_decisions", json={"values": DECISION})
    assert saved.status_code == 201, saved.text
    assert [q["check"] for q in saved.json()["queries"]] == ["DECISION-BEFORE-DLT-WINDOW"]


def test_the_check_of_an_unsaved_decision_says_nothing_to_who_may_not_record_one(web_study):
    """An investigator may not record a decision (D-19.410), and the check reads every site's infusions: it
    lists no query for them (nothing of other sites' DLT windows is told). Since D-19.725 the check is
    refused (403) before the values are judged, as the write is (it answered 200 with no query)."""
    checked = web_study.bearer("inv").post(
        "/api/v1/forms/escalation_decisions/validate", json={"values": DECISION}
    )
    assert checked.status_code == 403, checked.text
    assert "DECISION-BEFORE-DLT-WINDOW" not in checked.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/records/escalation_decisions", {"values": {"cohort": "not a number"}}),
        # a time zone the field rules refuse (the case " bad id " was answered 403 before D-19.823 too)
        ("post", "/api/v1/records/sites", {"values": {"site_id": "MARS", "time_zone": "Mars/Olympus"}}),
        ("patch", "/api/v1/records/sites/1", {"values": {"time_zone": "Mars/Olympus"}, "reason": "x"}),
    ],
)
def test_a_write_the_role_may_not_make_is_refused_before_its_values_are_read(web_study, method, path, body):
    """An investigator may enter records but not escalation decisions (D-19.410) nor sites: such a write
    was answered 422 with the field rules' findings on the values sent, and refused (403) only when the
    values were right — the values of a write nobody let them make were read and judged first. OWASP ASVS
    4.0.3 V4.1.1/V4.1.5 (access control enforced first, failing closed); docs/web.md: 403 "the role may
    not"."""
    client = web_study.bearer("inv")
    answer = getattr(client, method)(path, json=body, headers={"If-Match": '"1-1"'})
    assert answer.status_code == 403, answer.text
    assert "may not" in answer.json()["error"]


COMMITTEE = {
    "cohort": 1,
    "dose_level": 1,
    "decided_on": "2021-06-30",
    "outcomes": "1NN",
    "decision": "escalate",
}
"""The small study's committee decision: the design (3+3) after 1NN says "stay" (tests/web/test_api.py's
`test_committee_decision_needs_reason_when_it_differs`), so "escalate" needs the committee's reason."""


@pytest.mark.parametrize("reason", INVISIBLE_REASONS)
def test_a_committee_reason_that_shows_nothing_is_no_reason(web_study, reason):
    """A decision other than the design's with a reason of invisible characters was stored (201) with
    ``design_state.committee_reason`` "\\u200b" and the same audit reason: the web tested ``reason.strip()``
    (D-19.819 missed it). The rule is the store's now (D-19.724)."""
    answer = web_study.bearer("dm").post("/api/v1/escalation/decisions", json={**COMMITTEE, "reason": reason})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "reason"
    assert web_study.service.find_records("admin", "escalation_decision") == []


def test_a_committee_reason_that_shows_nothing_is_refused_on_the_page(web_study):
    client = web_study.session("dm")
    page = client.get("/escalation").text
    recommended = re.search(r'id="rec-decision">([^<]+)<', page)
    assert recommended
    other = next(
        d for d in ("escalate", "stay", "de-escalate", "expand", "stop") if d != recommended.group(1)
    )
    answer = client.post(
        "/escalation/decision",
        data={
            "decision": other,
            "dose_level": "2",
            "decided_on": "2021-06-30",
            "reason": "\u200b",
            "csrf_token": _csrf(page),
        },
        follow_redirects=False,
    )
    assert answer.status_code == 422, answer.text[:500]
    assert "reason is required" in answer.text
    assert web_study.service.find_records("admin", "escalation_decision") == []


def test_the_store_refuses_a_decision_other_than_the_designs_without_a_visible_reason(web_study):
    """The record API writes an escalation decision too: the store, not the web's decision form, holds the
    rule, so every front end meets it (D-19.724)."""
    state = {"design_decision": "stay", "committee_reason": "\u200b\u2060"}
    client = web_study.bearer("dm")
    body = {"values": {**COMMITTEE, "design": "3+3", "design_state": state}}
    answer = client.post("/api/v1/records/escalation_decisions", json=body)
    assert answer.status_code == 422, answer.text
    # the missing value is the committee's reason, not the audit reason the API's `reason` is
    assert answer.json()["field"] == "design_state.committee_reason"
    kept = {**body["values"], "decision": "stay", "design_state": {"design_decision": "stay"}}
    assert client.post("/api/v1/records/escalation_decisions", json={"values": kept}).status_code == 201


@pytest.mark.parametrize(
    ("path", "values"),
    [
        ("/records/site/1", {"time_zone": "Mars/Olympus", "version": "1", "reason": "x"}),
        ("/forms/escalation_decisions/check", {"cohort": "not a number"}),
        ("/forms/sites/check", {"site_id": "MARS", "time_zone": "Mars/Olympus"}),
    ],
)
def test_a_page_write_the_role_may_not_make_is_refused_before_its_values_are_read(web_study, path, values):
    """D-19.823 covered the API only: the record page's save of a site by an investigator with a time zone
    the field rules refuse answered 422 (the values judged), and the live check judged the values of a form
    the role may not write. Both are refused 403 first now, by the store's `check_write` (D-19.725)."""
    browser = web_study.session("inv")
    token = re.search(r'name="csrf-token" content="([^"]+)"', browser.get("/").text)
    assert token
    answer = browser.post(path, data={**values, "csrf_token": token.group(1)}, follow_redirects=False)
    assert answer.status_code == 403, answer.text[:500]


def test_validating_a_form_the_role_may_not_write_is_refused_before_its_values_are_read(web_study):
    """``POST /api/v1/forms/escalation_decisions/validate`` as an investigator answered 200 with the field
    problems of the values sent; a site's too (D-19.725)."""
    client = web_study.bearer("inv")
    for form, values in (("escalation_decisions", {"cohort": "x"}), ("sites", {"time_zone": "Mars/Olympus"})):
        answer = client.post(f"/api/v1/forms/{form}/validate", json={"values": values})
        assert answer.status_code == 403, answer.text
        assert "may not" in answer.json()["error"]
    # a reader still checks the values of a form of ordinary study data
    assert (
        web_study.bearer("mon")
        .post("/api/v1/forms/crs_assessments/validate", json={"values": {}})
        .status_code
        == 200
    )


def test_a_failed_sign_in_over_a_session_ends_nothing(web_study):
    """Guard (passes before and after D-19.821, which must not break it): only a successful sign-in ends the
    session it replaces; a mistyped password (here the wrong one for dm, sent from inv's browser) is answered
    401 (the login page's wrong-name-or-password answer) and signs nobody out."""
    browser = web_study.session("inv")
    token = re.search(r'name="csrf-token" content="([^"]+)"', browser.get("/").text)
    assert token
    answer = browser.post(
        "/login",
        data={"username": "dm", "password": "not the password of dm 2026", "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert answer.status_code == 401, answer.text[:500]
    assert browser.get("/api/v1/me").json()["username"] == "inv"


@pytest.mark.parametrize("method", ["patch", "put", "delete"])
def test_a_weak_etag_in_if_match_is_refused(web_study, method):
    """RFC 9110 §13.1.1: If-Match uses the strong comparison, a weak entity tag (``W/"…"``) never matches.
    The API stripped ``W/`` and took it as the strong tag (cartrial sends only strong ETags)."""
    record = _crs_of(web_study, "CT-001")
    client = web_study.bearer("dm")
    path = f"/api/v1/records/crs_assessments/{record}"
    headers = {"If-Match": f'W/"{record}-1"'}
    if method == "delete":
        answer = client.delete(path, params={"reason": "entered twice"}, headers=headers)
    else:
        body = {"values": {"temperature_c": 38.0}, "reason": "transcription error"}
        if method == "put":
            body["values"] = {**client.get(path).json()["values"], "temperature_c": 38.0}
        answer = getattr(client, method)(path, json=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "If-Match" and "weak" in answer.json()["error"]
    rows = web_study.service.find_records("admin", "crs_assessment", subject_id="CT-001")
    assert rows[0]["temperature_c"] == 39.2 and rows[0]["version"] == 1


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_if_match_star_is_refused_with_its_own_words(web_study, method):
    """``If-Match: *`` (any version, RFC 9110 §13.1.1) would defeat the lost-update check: refused with a
    422 that says so (documented in docs/web.md), not as "not a version token"."""
    record = _crs_of(web_study, "CT-001")
    client = web_study.bearer("dm")
    path = f"/api/v1/records/crs_assessments/{record}"
    if method == "delete":
        answer = client.delete(path, params={"reason": "entered twice"}, headers={"If-Match": "*"})
    else:
        body = {"values": {"temperature_c": 38.0}, "reason": "transcription error"}
        answer = client.patch(path, json=body, headers={"If-Match": "*"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "If-Match" and "*" in answer.json()["error"]
    assert len(web_study.service.find_records("admin", "crs_assessment", subject_id="CT-001")) == 1


def test_an_empty_if_match_on_a_delete_is_named_as_a_deletes(web_study):
    """A DELETE with an empty If-Match was told "an update must send the version token"."""
    record = _crs_of(web_study, "CT-001")
    answer = web_study.bearer("dm").delete(
        f"/api/v1/records/crs_assessments/{record}",
        params={"reason": "entered twice"},
        headers={"If-Match": ""},
    )
    assert answer.status_code == 422, answer.text
    assert "update" not in answer.json()["error"] and "delete" in answer.json()["error"]


def test_a_finding_on_a_field_not_typed_shows_no_value(web_study):
    """CT-001's stored infusion: 60.0 kg, 500000 cells/kg, 30000000 cells (conftest; 60.0 × 500000 =
    30000000). Checking a weight of 80.0 kg makes the stored total 25 % short of 80.0 × 500000 = 40000000
    (TOTAL-CELLS-MISMATCH, soft, ±10 %), located at ``total_car_t_cells`` — a field the user did not type:
    its stored value (30000000) was shown beside the finding. Only the fields this write types show their
    value (D-12.2, D-19.820)."""
    record = int(web_study.service.find_records("admin", "infusion", subject_id="CT-001")[0]["id"])
    checked = web_study.bearer("dm").post(
        "/api/v1/forms/infusions/validate",
        json={"values": {"weight_kg": 80.0}, "record_id": record, "partial": True},
    )
    assert checked.status_code == 200, checked.text
    queries = checked.json()["queries"]
    assert [q["field"] for q in queries] == ["infusion.total_car_t_cells"], checked.text
    assert queries[0].get("value") is None and "3e+07" not in checked.text and "30000000" not in checked.text


def _stored_decision(web_study, decision: str) -> None:
    """The committee's decision on cohort 1 stored with the design's recommendation it keeps (no reason
    needed: the decision is the design's)."""
    state = {"design_decision": decision}
    values = {**COMMITTEE, "decision": decision, "design": "3+3", "design_state": state}
    answer = web_study.bearer("dm").post("/api/v1/records/escalation_decisions", json={"values": values})
    assert answer.status_code == 201, answer.text


def test_a_bulk_write_of_another_decision_over_the_stored_record_needs_a_reason(web_study):
    """The bulk write judged the row as sent: a row with only ``decision`` "escalate" over a stored "stay"
    kept by the design's "stay" was written without a reason. It is judged as the record it makes, the
    stored one with the row applied, as `update_record` judges an edit (D-19.724)."""
    from cartrial.errors import InputError

    _stored_decision(web_study, "stay")
    with (
        pytest.raises(InputError) as refused,
        web_study.service.transaction("dm", "test", reason="changed") as tx,
    ):
        tx.upsert_rows("escalation_decision", [{"cohort": 1, "decision": "escalate"}])
    assert refused.value.problems[0].field == "escalation_decision.design_state.committee_reason"
    stored = web_study.service.find_records("admin", "escalation_decision")
    assert [r["decision"] for r in stored] == ["stay"]


def test_a_bulk_write_of_the_design_state_alone_is_judged_with_the_stored_decision(web_study):
    """The reverse: stored "escalate" and a row with only ``design_state`` whose design says "escalate" too
    keeps the design's decision, so it needs no reason; it was refused because the row has no ``decision``."""
    _stored_decision(web_study, "escalate")
    with web_study.service.transaction("dm", "test", reason="design state") as tx:
        tx.upsert_rows(
            "escalation_decision", [{"cohort": 1, "design_state": {"design_decision": "escalate", "n": 1}}]
        )
    stored = web_study.service.find_records("admin", "escalation_decision")
    assert [r["design_state"] for r in stored] == [{"design_decision": "escalate", "n": 1}]


@pytest.mark.parametrize("token", ['"{id}-01"', '"0{id}-1"', '"{id}-1', '{id}-1"', '""{id}-1""', '"{id}-+1"'])
def test_a_version_token_not_written_exactly_is_refused(web_study, token):
    """The token is compared as written: ``"<id>-<version>"`` (or the bare ``version_token``), no leading
    zero, no half quotes. ``strip('"')`` and the integer parse took ``"1-01"``, ``"1-1`` and ``""1-1""``
    as version 1 (D-19.726)."""
    record = _crs_of(web_study, "CT-001")
    client = web_study.bearer("dm")
    path = f"/api/v1/records/crs_assessments/{record}"
    body = {"values": {"temperature_c": 38.0}, "reason": "transcription error"}
    answer = client.patch(path, json=body, headers={"If-Match": token.format(id=record)})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "If-Match"
    rows = web_study.service.find_records("admin", "crs_assessment", subject_id="CT-001")
    assert rows[0]["temperature_c"] == 39.2 and rows[0]["version"] == 1
    # the ETag as sent by GET, and the body's version_token, are taken
    for sent in (f'"{record}-1"', f"{record}-2"):
        answer = client.patch(
            path, json=body | {"values": {"temperature_c": 38.0 + len(sent)}}, headers={"If-Match": sent}
        )
        assert answer.status_code == 200, answer.text
