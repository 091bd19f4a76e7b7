"""A field or parameter given twice (web sweep, D-19.547, D-19.548): the app kept the last value and dropped
the first without a word — a form post's ``temperature_c=38.5&temperature_c=41`` saved 41, a JSON body's
repeated key likewise, ``?limit=1&limit=500`` read 500. Each is now refused before anything is written,
naming the field and what is allowed: a 422 in the API's error shape, the error page on pages."""

from __future__ import annotations

import re

import pytest

from .conftest import CRS_ROW


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def _temperatures(web_study) -> dict[str, float]:
    rows = web_study.service.find_records("admin", "crs_assessment")
    return {r["subject_id"]: r["temperature_c"] for r in rows}


def _crs_id(web_study, subject: str) -> int:
    rows = web_study.service.find_records("admin", "crs_assessment")
    return next(int(r["id"]) for r in rows if r["subject_id"] == subject)


def test_a_page_form_field_sent_twice_is_refused_and_nothing_is_saved(any_web_study):
    web_study = any_web_study
    client = web_study.session("inv")
    record = _crs_id(web_study, "CT-001")
    before = _temperatures(web_study)
    token = _csrf(client.get(f"/records/crs_assessment/{record}").text)
    sent = _post(token, record, ["38.5", "41"])
    answer = client.post(f"/records/crs_assessment/{record}", data=sent)
    assert answer.status_code == 422, answer.text[:500]
    assert "temperature_c" in answer.text and "more than once" in answer.text
    assert "Traceback" not in answer.text
    assert _temperatures(web_study) == before


def _post(token: str, record: int, temperatures: list[str]) -> dict[str, str | list[str]]:
    """The record form of CT-001's CRS assessment as a browser posts it, ``temperature_c`` as `temperatures`
    (a list: each sent under the same name)."""
    return {
        "csrf_token": token,
        "version": "1",
        "record_id": str(record),
        "subject_id": "CT-001",
        "assessed_at": str(CRS_ROW["assessed_at"]),
        "temperature_c": temperatures,
        "fever_masked": "false",
        "hypotension": "false",
        "vasopressors": "0",
        "vasopressin": "false",
        "oxygen": "none",
        "reason": "temperature corrected from the chart",
    }


def test_a_form_sent_once_per_field_still_saves(web_study):
    """The refusal does not touch a browser's own post: each field once (the page's form as served)."""
    client = web_study.session("inv")
    record = _crs_id(web_study, "CT-001")
    token = _csrf(client.get(f"/records/crs_assessment/{record}").text)
    sent = _post(token, record, ["38.5"])
    answer = client.post(f"/records/crs_assessment/{record}", data=sent, follow_redirects=False)
    assert answer.status_code == 303, answer.text[:2000]
    assert _temperatures(web_study)["CT-001"] == 38.5


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/api/v1/token", {"username": ["inv", "admin"], "password": ["x", "y"]}),
        ("/api/v1/import/templates", {"reason": ["first reason", "second reason"]}),
    ],
)
def test_an_api_form_field_sent_twice_is_a_located_422(web_study, path, data):
    client = web_study.bearer("admin") if "import" in path else web_study.client()
    answer = client.post(path, data=data)
    assert answer.status_code == 422, answer.text[:500]
    body = answer.json()
    assert body["field"] == next(iter(data)) and "more than once" in body["error"]
    assert body["value"] is None  # a password is never echoed


def test_an_api_body_key_given_twice_is_a_located_422_and_nothing_is_saved(any_web_study):
    web_study = any_web_study
    client = web_study.bearer("inv")
    record = _crs_id(web_study, "CT-001")
    token = client.get(f"/api/v1/records/crs_assessments/{record}").headers["ETag"]
    before = _temperatures(web_study)
    body = (
        '{"values": {"temperature_c": 38.5, "temperature_c": 41},'
        ' "reason": "temperature corrected from the chart"}'
    )
    answer = client.patch(
        f"/api/v1/records/crs_assessments/{record}",
        content=body.encode(),
        headers={"Content-Type": "application/json", "If-Match": token},
    )
    assert answer.status_code == 422, answer.text[:500]
    error = answer.json()
    assert error["field"] == "body" and "'temperature_c'" in error["error"] and "twice" in error["error"]
    assert _temperatures(web_study) == before


@pytest.mark.parametrize(
    "path",
    ["/api/v1/records/crs_assessments?limit=1&limit=500", "/api/v1/queries?status=open&status=closed"],
)
def test_an_api_query_parameter_given_twice_is_a_located_422(web_study, path):
    answer = web_study.bearer("admin").get(path)
    assert answer.status_code == 422, answer.text[:500]
    body = answer.json()
    assert body["field"] == path.split("?")[1].split("=")[0] and "more than once" in body["error"]


def test_a_page_query_parameter_given_twice_is_refused(web_study):
    answer = web_study.session("admin").get("/subjects?page=1&page=2")
    assert answer.status_code == 422
    assert "page" in answer.text and "more than once" in answer.text


def test_an_upload_of_several_files_under_one_name_is_not_a_repeated_field(web_study):
    """``files`` repeats by design (an upload of several templates): the refusal is for text fields. Every
    part is read: the first file's name is the one refused (a read of the last part only would check the
    good template alone and answer 200)."""
    client = web_study.bearer("admin")
    therapies = (
        b"subject_id,given_at,therapy,agent,dose,unit\n"
        b"CT-001,2021-04-30T11:00:00Z,antipyretic,paracetamol,500,mg\n"
    )
    files = [("files", ("a.csv", b"x\n", "text/csv")), ("files", ("therapies.csv", therapies, "text/csv"))]
    answer = client.post("/api/v1/import/templates", files=files, data={"dry_run": "true"})
    assert answer.status_code == 422, answer.text[:500]
    body = answer.json()
    assert body["field"] == "files" and body["value"] == "a.csv" and "template file name" in body["error"]
    assert "more than once" not in answer.text


def test_an_api_query_parameter_the_route_does_not_take_is_refused_naming_those_it_takes(web_study):
    """D-19.549: ``?subjectid=CT-001`` (a typo of ``subject_id``) was ignored without a word, and the list
    answered every subject's records as if filtered — while a body's unknown key was already refused."""
    client = web_study.bearer("admin")
    answer = client.get("/api/v1/records/crs_assessments?subjectid=CT-001")
    assert answer.status_code == 422, answer.text[:500]
    body = answer.json()
    assert body["field"] == "subjectid" and "subject_id" in body["allowed"] and "limit" in body["allowed"]
    assert body["value"] is None
    plain = client.get("/api/v1/me?verbose=1")
    assert plain.status_code == 422 and plain.json()["field"] == "verbose"
    assert client.get("/api/v1/records/crs_assessments?subject_id=CT-001&limit=5").status_code == 200
    assert client.delete("/api/v1/records/crs_assessments/1?reasn=entered+twice").status_code == 422
    assert len(web_study.service.find_records("admin", "crs_assessment")) == 2
    # before authentication (an app dependency): the names are public in openapi.json anyway
    anonymous = web_study.client().get("/api/v1/records/crs_assessments?subjectid=CT-001")
    assert anonymous.status_code == 422 and anonymous.json()["field"] == "subjectid"
    assert web_study.client().get("/api/v1/records/crs_assessments").status_code == 401


def test_a_page_keeps_its_own_query_parameters(web_study):
    """Pages take parameters the pages read themselves (``done``, ``queries`` after a redirect): untouched."""
    client = web_study.session("admin")
    assert client.get("/subjects?done=saved").status_code == 200


@pytest.mark.parametrize(
    "path", ["/api/v1/docs?configUrl=x", "/api/v1/docs/oauth2-redirect?code=abc&state=xyz"]
)
def test_the_html_pages_under_api_keep_their_query_parameters(web_study, path):
    """The Swagger UI page and its OAuth2 redirect page are under ``/api/`` but outside the API's schema:
    reading ``code`` and ``state`` is the redirect page's job, so they are not refused as unknown."""
    answer = web_study.client().get(path)
    assert answer.status_code == 200, answer.text[:500]
    assert answer.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("multipart/form-data", b"x"),  # no boundary
        ("multipart/form-data; boundary=b", b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n"),
    ],
)
def test_a_form_body_that_cannot_be_read_is_located_at_the_body(web_study, content_type, content):
    """D-19.550: a multipart body without its boundary (or a part without a name) was a 400 with
    ``field: null`` ("Missing boundary in multipart."): now located at ``body`` with what is allowed."""
    client = web_study.bearer("admin")
    answer = client.post("/api/v1/token", content=content, headers={"Content-Type": content_type})
    assert 400 <= answer.status_code < 500, answer.text
    body = answer.json()
    assert body["field"] == "body" and "multipart/form-data" in body["allowed"], body
    page = web_study.session("inv").post("/subjects", content=content, headers={"Content-Type": content_type})
    assert page.status_code == answer.status_code and "form body" in page.text


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        (f"{'q' * 40}=1&{'q' * 40}=2", "q" * 40),
        (f"{'q' * 41}=1&{'q' * 41}=2", "q" * 40 + "…"),  # given twice: cut at 40 (D-19.599)
        (f"{'q' * 40}=1", "q" * 40),
        (f"{'q' * 41}=1", "q" * 40 + "…"),  # not taken by the route
    ],
)
def test_a_long_query_parameter_name_is_shown_by_its_first_forty_characters(web_study, query, shown):
    answer = web_study.bearer("admin").get(f"/api/v1/records/crs_assessments?{query}")
    assert answer.status_code == 422, answer.text[:500]
    body = answer.json()
    assert body["field"] == shown and repr(shown) in body["error"]


@pytest.mark.parametrize(("name", "shown"), [("q" * 40, "q" * 40), ("q" * 41, "q" * 40 + "…")])
def test_a_long_query_parameter_name_with_a_control_character_is_cut_visibly(web_study, name, shown):
    """The control-character refusal named a long parameter by its first 40 characters without a sign of
    the cut (``name[:40]``), the one place the web did not use `shown_name` (D-19.602)."""
    answer = web_study.bearer("admin").get(f"/api/v1/records/crs_assessments?{name}=x%1b")
    assert answer.status_code == 400, answer.text[:500]
    assert answer.json()["field"] == f"query parameter {shown!r}"
