"""The routes match the path as received (review of branch webui, findings 1, 2, 3 and 5; D-19.1129).

The ASGI ``path`` is decoded once by the server, so a percent-encoded ``%`` or ``/`` inside a subject id
was read as the path's own: after the session ended, a form sent to ``/subjects/CT-00%2531/…`` (subject
``CT-00%31``) was offered to be sent again to ``/subjects/CT-00%31/…``, which is CT-001's; logged out,
``/subjects/CT-00%2531`` led after the login to CT-001's casebook; with the ``path`` converter the casebook
of the subject ``CT-001/forms/adverse_events/new`` was CT-001's new adverse-event form; and ``/subjects/``
and ``/subjects/CT-001/`` no longer redirected to the path without the slash. The URLs below are written
by hand as a browser sends them (RFC 3986 §2.1: ``%25`` is ``%``, ``%2F`` is ``/`` inside a segment)."""

from __future__ import annotations

import html
import re

import pytest


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def _enrol(client, subject_id: str):
    token = _csrf(client.get("/subjects/new").text)
    values = {"csrf_token": token, "subject_id": subject_id, "site_id": "TJH", "consent_date": "2021-06-01"}
    return client.post("/subjects", data={**values, "sex": "F"}, follow_redirects=False)


def _heading(page: str) -> str:
    shown = re.search(r"<h1>(.*?)</h1>", page, re.S)
    assert shown, page[:500]
    return html.unescape(shown.group(1).strip())


AE = {
    "term": "Headache",
    "started_on": "2021-06-10",
    "category": "non_hematologic",
    "grade": "1",
    "grading_scale": "CTCAE",
    "grading_scale_version": "5.0",
    "serious": "false",
    "relatedness": "unlikely",
    "dlt": "false",
    "outcome": "recovered",
}


def test_a_form_sent_after_the_session_ended_resumes_at_its_own_subject(web_study):
    from cartrial.store.auth import end_session
    from cartrial.web.security import SESSION_COOKIE, split_credential

    client = web_study.session("inv")
    assert _enrol(client, "CT-00%31").status_code == 303
    token = _csrf(client.get("/subjects/new").text)
    parts = split_credential(client.cookies[SESSION_COOKIE])
    assert parts is not None
    end_session(web_study.service, parts[0])
    answer = client.post("/subjects/CT-00%2531/forms/adverse_events", data={**AE, "csrf_token": token})
    assert answer.status_code == 401, answer.text[:500]
    assert '<input type="hidden" name="resume_path" value="/subjects/CT-00%2531/forms/adverse_events">' in (
        answer.text
    )


def test_the_login_leads_back_to_the_subject_asked_for(web_study):
    client = web_study.bearer(None)
    answer = client.get("/subjects/CT-00%2531", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/subjects/CT-00%252531"
    assert 'name="next" value="/subjects/CT-00%2531"' in client.get(answer.headers["location"]).text


def test_a_subject_id_that_reads_as_another_route_is_its_own_casebook(web_study):
    client = web_study.session("inv")
    answer = _enrol(client, "CT-001/forms/adverse_events/new")
    assert answer.status_code == 303, answer.text[:2000]
    assert answer.headers["location"].startswith("/subjects/CT-001%2Fforms%2Fadverse_events%2Fnew?")
    casebook = client.get(answer.headers["location"])
    assert casebook.status_code == 200, casebook.text[:500]
    assert _heading(casebook.text) == "Casebook CT-001/forms/adverse_events/new"
    link = "/subjects/CT-001%2Fforms%2Fadverse_events%2Fnew/forms/adverse_events/new"
    assert f'href="{link}"' in casebook.text
    form = client.get(link)
    assert form.status_code == 200
    assert 'action="/subjects/CT-001%2Fforms%2Fadverse_events%2Fnew/forms/adverse_events"' in form.text
    # the subject CT-001/forms/adverse_events: its casebook, and a form saved under it, not under CT-001
    assert _enrol(client, "CT-001/forms/adverse_events").status_code == 303
    target = "/subjects/CT-001%2Fforms%2Fadverse_events/forms/adverse_events"
    saved = client.post(target, data={**AE, "csrf_token": _csrf(form.text)}, follow_redirects=False)
    assert saved.status_code == 303, saved.text[:2000]
    rows = web_study.service.find_records("admin", "adverse_event")
    assert [r["subject_id"] for r in rows if r["term"] == "Headache"] == ["CT-001/forms/adverse_events"]


@pytest.mark.parametrize(
    ("path", "to"),
    [
        ("/subjects/", "/subjects"),
        ("/subjects/CT-001/", "/subjects/CT-001"),
        ("/subjects/CT-00%2531/", "/subjects/CT-00%2531"),
        ("/subjects/TJH%2F0001/", "/subjects/TJH%2F0001"),
        ("/audit/subjects/CT-001/", "/audit/subjects/CT-001"),
        ("/api/v1/audit/subjects/CT-001/", "/api/v1/audit/subjects/CT-001"),
    ],
)
def test_a_trailing_slash_redirects_to_the_path_without_it(web_study, path, to):
    client = web_study.session("inv")
    answer = client.get(path, follow_redirects=False)
    assert answer.status_code == 307, (answer.status_code, answer.text[:300])
    assert answer.headers["location"] == f"http://testserver{to}"


def test_a_user_name_with_a_slash_that_reads_as_a_route_is_one_user(web_study):
    api = web_study.bearer("admin")
    made = api.post(
        "/api/v1/users",
        json={"username": "lab/password", "role": "monitor", "password": "a long enough pass phrase 1"},
    )
    assert made.status_code in (200, 201), made.text[:500]
    changed = api.patch("/api/v1/users/lab%2Fpassword", json={"role": "statistician", "reason": "moved"})
    assert changed.status_code == 200, changed.text[:500]
    assert changed.json()["username"] == "lab/password"
