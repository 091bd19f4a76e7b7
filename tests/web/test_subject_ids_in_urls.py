"""A subject id holding a character a URL path gives a meaning to (webui attack, D-19.1128). The key-text rule
allows punctuation (D-19.420: ``TJH/0001``, ``CT-00%31``, ``CT#9``), but the web built its URLs with the id as
typed: after enrolling ``CT-00%31`` the page redirected to ``/subjects/CT-00%31``, which the server reads as
``CT-001`` — another subject's casebook, under "Saved"; ``CT#9`` and ``CT?9`` landed on the casebook of
``CT``; and a subject id with a ``/`` could not be opened at all (Jinja's ``urlencode`` keeps ``/``, and a
route's ``{subject_id}`` takes none): the subjects list linked a 404. Each id is now one percent-encoded path
segment (RFC 3986 §3.3) and the subject routes take a ``/`` in it."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

import pytest


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def _enrol(client, subject_id: str):
    token = _csrf(client.get("/subjects/new").text)
    values = {"csrf_token": token, "subject_id": subject_id, "site_id": "TJH", "consent_date": "2021-06-01"}
    return client.post("/subjects", data={**values, "sex": "F"}, follow_redirects=False)


@pytest.mark.parametrize("subject_id", ["CT-00%31", "TJH/0001", "CT#9", "CT?9", "CT-9 1"])
def test_after_enrolling_the_page_shows_the_new_subjects_casebook(web_study, subject_id):
    client = web_study.session("inv")
    answer = _enrol(client, subject_id)
    assert answer.status_code == 303, answer.text[:2000]
    location = answer.headers["location"]
    assert location.startswith(f"/subjects/{quote(subject_id, safe='')}?"), location
    casebook = client.get(location)
    assert casebook.status_code == 200, casebook.text[:500]
    shown = re.search(r"<h1>(.*?)</h1>", casebook.text, re.S)
    assert shown and shown.group(1).strip() == f"Casebook {html.escape(subject_id)}", shown


def test_a_subject_id_with_a_slash_is_linked_opened_entered_and_audited(web_study):
    client = web_study.session("inv")
    assert _enrol(client, "TJH/0001").status_code == 303
    listed = client.get("/subjects").text
    assert 'href="/subjects/TJH%2F0001"' in listed and 'href="/audit/subjects/TJH%2F0001"' in listed
    casebook = client.get("/subjects/TJH%2F0001")
    assert casebook.status_code == 200 and "Casebook TJH/0001" in casebook.text
    assert 'href="/subjects/TJH%2F0001/forms/adverse_events/new"' in casebook.text
    form = client.get("/subjects/TJH%2F0001/forms/adverse_events/new")
    assert form.status_code == 200, form.text[:500]
    assert 'action="/subjects/TJH%2F0001/forms/adverse_events"' in form.text
    entries = {
        "csrf_token": _csrf(form.text),
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
    saved = client.post("/subjects/TJH%2F0001/forms/adverse_events", data=entries, follow_redirects=False)
    assert saved.status_code == 303, saved.text[:2000]
    rows = web_study.service.find_records("admin", "adverse_event")
    assert [r["term"] for r in rows if r["subject_id"] == "TJH/0001"] == ["Headache"]
    assert client.get("/audit/subjects/TJH%2F0001").status_code == 200
    api = web_study.bearer("inv").get("/api/v1/audit/subjects/TJH%2F0001")
    assert api.status_code == 200, api.text[:500]
