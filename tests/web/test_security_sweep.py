"""Defects found by the security sweep of every route (issue 19, web-sec): each fixed as a class in one
place, with the route × role probe that found it."""

from __future__ import annotations

import re

import pytest


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def _user_ids(web_study) -> dict[str, int]:
    return {r["username"]: int(r["id"]) for r in web_study.service.find_records("admin", "app_user")}


@pytest.mark.parametrize("username", ["inv", "mon", "stat", "dm"])
@pytest.mark.parametrize("table", ["app_user", "audit_log", "data_lock", "import_manifest", "study"])
def test_record_pages_serve_only_the_tables_of_the_studys_forms(web_study, username, table):
    """The record page refused a table without a form, but its audit page did not: any reader (an
    investigator of one site too) read the accounts of every user — names, roles, sites, activity — from
    ``/audit/records/app_user/<id>``, which only user administration may see (D-19.343)."""
    client = web_study.session(username)
    other = _user_ids(web_study)["inv2"]
    for path in (f"/audit/records/{table}/{other}", f"/records/{table}/{other}", f"/audit/records/{table}/1"):
        answer = client.get(path)
        assert answer.status_code == 404, (path, answer.status_code)
        assert "inv2" not in answer.text and "PUMCH" not in answer.text


def test_no_query_is_raised_on_a_table_without_a_form(web_study):
    """A monitor raised a data query on a user account (``POST /records/app_user/<id>/queries``): a write
    on user administration data by a role that may not manage users (D-19.343)."""
    client = web_study.session("mon")
    token = _csrf(client.get("/queries").text)
    target = _user_ids(web_study)["inv2"]
    answer = client.post(
        f"/records/app_user/{target}/queries", data={"text": "who is this?", "csrf_token": token}
    )
    assert answer.status_code == 404
    assert web_study.service.find_records("admin", "data_query") == []


def test_the_record_audit_of_a_forms_record_still_shows(web_study):
    client = web_study.session("inv")
    subject = {r["subject_id"]: int(r["id"]) for r in web_study.service.find_records("admin", "subject")}
    answer = client.get(f"/audit/records/subject/{subject['CT-001']}")
    assert answer.status_code == 200
    assert "CT-001" in answer.text
    assert client.get(f"/audit/records/subject/{subject['CT-101']}").status_code == 404


def _cookies_of_login(client) -> list[str]:
    from .conftest import TEST_PASSWORD

    page = client.get("/login")
    cookies = page.headers.get_list("set-cookie")
    sent = client.post(
        "/login",
        data={"username": "inv", "password": TEST_PASSWORD, "csrf_token": _csrf(page.text)},
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text[:300]
    return cookies + sent.headers.get_list("set-cookie")


def test_cookies_set_over_https_are_secure_without_the_setting(web_study):
    """Served over HTTPS (uvicorn with a certificate, or a proxy whose scheme uvicorn trusts) without
    ``--secure-cookie``, the session and pre-session cookies were sent without ``Secure``: a browser then
    sends the session over a plain-HTTP request to the same host (a link, a redirect before HSTS). Every
    cookie of an HTTPS response is now ``Secure`` (D-19.344)."""
    from fastapi.testclient import TestClient

    with TestClient(web_study.app, base_url="https://testserver") as client:
        cookies = _cookies_of_login(client)
        assert {c.split("=", 1)[0] for c in cookies} == {"cartrial_presession", "cartrial_session"}
        for cookie in cookies:
            flags = [f.strip().lower() for f in cookie.split(";")[1:]]
            assert "secure" in flags and "httponly" in flags and "samesite=lax" in flags, cookie
        # logging out over HTTPS: the cookie it leaves is Secure too
        token = _csrf(client.get("/queries").text)
        out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
        assert all("secure" in c.lower() for c in out.headers.get_list("set-cookie"))


def test_cookies_over_plain_http_stay_usable_for_a_local_server(web_study):
    """A server on localhost over plain HTTP (no ``--secure-cookie``) keeps cookies without ``Secure``, or
    the browser would drop them and nobody could log in (the documented local use, docs/web.md)."""
    cookies = _cookies_of_login(web_study.client())
    assert cookies and all("secure" not in c.lower() for c in cookies)


def _query_codes(web_study) -> dict[str, str]:
    """A query on the CRS assessment of CT-001 (TJH) and of CT-101 (PUMCH): subject -> code."""
    admin = web_study.bearer("admin")
    crs = {r["subject_id"]: int(r["id"]) for r in web_study.service.find_records("admin", "crs_assessment")}
    codes = {}
    for subject in ("CT-101", "CT-001"):
        raised = admin.post(
            "/api/v1/queries",
            json={"form": "crs_assessments", "record_id": crs[subject], "text": "check the temperature"},
        )
        assert raised.status_code == 201, raised.text
        codes[subject] = raised.json()["query_code"]
    return codes


def test_a_query_of_another_site_is_answered_as_one_that_does_not_exist(web_study):
    """Answering another site's query on the queries page said 403 "this data_query record belongs to
    another site" while an unknown code said 422: an investigator could walk the codes and learn which
    exist at other sites. The page now answers both 404 with the same words, as the API does (D-19.345)."""
    codes = _query_codes(web_study)
    client = web_study.session("inv")
    token = _csrf(client.get("/queries").text)
    answers = {}
    for code in (codes["CT-101"], "Q-999999"):
        answers[code] = client.post(
            f"/queries/{code}/answer", data={"answer": "checked", "csrf_token": token}, follow_redirects=False
        )
    other, unknown = answers[codes["CT-101"]], answers["Q-999999"]
    assert other.status_code == unknown.status_code == 404
    for answer in (other, unknown):
        assert "another site" not in answer.text and "belongs" not in answer.text
    assert other.text.replace(codes["CT-101"], "Q-999999") == unknown.text
    status = {r["query_code"]: r["status"] for r in web_study.service.find_records("admin", "data_query")}
    assert status[codes["CT-101"]] == "open"
    api = web_study.bearer("inv").post(f"/api/v1/queries/{codes['CT-101']}/answer", json={"answer": "x"})
    assert api.status_code == 404
    own = client.post(
        f"/queries/{codes['CT-001']}/answer",
        data={"answer": "checked", "csrf_token": token},
        follow_redirects=False,
    )
    assert own.status_code == 303


def _post_streamed(app, path: str, total: int, headers: list[tuple[bytes, bytes]]) -> tuple[int, int]:
    """POST a multipart body of about `total` bytes to `path`, straight through ASGI: (status, bytes the app
    pulled from the client before it answered)."""
    import anyio

    boundary = b"xyz"
    head = b'--xyz\r\nContent-Disposition: form-data; name="files"; filename="subjects.csv"\r\n\r\n'
    chunk = b"a" * (256 * 1024)
    pulled = 0
    status: list[int] = []
    chunks = total // len(chunk)

    async def receive():
        nonlocal pulled, chunks
        if pulled == 0:
            pulled += len(head)
            return {"type": "http.request", "body": head, "more_body": True}
        if chunks > 0:
            chunks -= 1
            pulled += len(chunk)
            return {"type": "http.request", "body": chunk, "more_body": True}
        return {"type": "http.request", "body": b"\r\n--xyz--\r\n", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"multipart/form-data; boundary=" + boundary),
            *headers,
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    anyio.run(app, scope, receive, send)
    return status[0], pulled


@pytest.mark.parametrize("path", ["/api/v1/import/templates", "/data/import"])
@pytest.mark.parametrize("who", [None, "mon"])
def test_an_upload_is_not_read_for_a_client_that_may_not_import(web_study, path, who):
    """The import routes were exempt from the body limit so that files stream to disk, but the whole body
    was read — every file spooled to disk, with no cap on their number or size — before the route asked
    who sent it: an anonymous client (or a monitor) could fill the server's disk. A client that may not
    import is now held to the ordinary body limit and answered 401/403/413 after at most that many bytes
    (D-19.346)."""
    from cartrial.web.errors import MAX_BODY_BYTES

    headers = []
    if who is not None:
        headers = [(b"authorization", b"Bearer " + web_study.session_token(who).encode())]
    status, pulled = _post_streamed(web_study.app, path, 8 * MAX_BODY_BYTES, headers)
    assert status in (401, 403, 413), status
    assert pulled <= 2 * MAX_BODY_BYTES


def test_an_upload_of_an_importer_over_the_request_limit_is_refused(web_study, monkeypatch):
    """An importer's upload streams to disk up to `MAX_UPLOAD_REQUEST_BYTES` in all, then 413 (D-19.346)."""
    from cartrial.web import errors

    monkeypatch.setattr(errors, "MAX_UPLOAD_REQUEST_BYTES", 4 * errors.MAX_BODY_BYTES)
    headers = [(b"authorization", b"Bearer " + web_study.session_token("dm").encode())]
    status, pulled = _post_streamed(
        web_study.app, "/api/v1/import/templates", 16 * errors.MAX_BODY_BYTES, headers
    )
    assert status == 413
    assert pulled <= 5 * errors.MAX_BODY_BYTES


@pytest.mark.parametrize("dry_run", [True, False])
def test_an_import_by_an_investigator_counts_only_their_sites_records_as_kept(web_study, dry_run):
    """The import report's "kept" (stored records not in the file) counted and listed every record of the
    table: an investigator of TJH importing their subjects learnt how many subjects the other sites hold
    and their ids. It now counts the records of the sites the importer may read (D-19.347)."""
    admin = web_study.bearer("admin")
    header = admin.get("/api/v1/export/subjects.csv").text.splitlines()[0]
    columns = header.split(",")
    values = {"subject_id": "CT-003", "site_id": "TJH", "consent_date": "2021-06-01", "sex": "F"}
    text = header + "\n" + ",".join(values.get(c, "") for c in columns) + "\n"
    answer = web_study.bearer("inv").post(
        "/api/v1/import/templates",
        files=[("files", ("subjects.csv", text.encode(), "text/csv"))],
        data={"reason": "new subject", "dry_run": str(dry_run).lower()},
    )
    assert answer.status_code == 200, answer.text
    ids = {r["subject_id"]: int(r["id"]) for r in web_study.service.find_records("admin", "subject")}
    form = answer.json()["forms"][0]
    assert form["kept"] == 2
    assert form["kept_ids"] == [ids["CT-001"], ids["CT-002"]]
    assert "PUMCH" not in answer.text
    # the admin, who reads every site, still hears of every record not in the file
    admin_answer = admin.post(
        "/api/v1/import/templates",
        files=[("files", ("subjects.csv", text.encode(), "text/csv"))],
        data={"reason": "new subject", "dry_run": "true"},
    )
    assert admin_answer.json()["forms"][0]["kept"] == 3


def test_an_import_row_for_another_sites_subject_is_answered_as_for_an_unknown_one(web_study):
    """An investigator's import of a row for a subject of another site was refused 403 "belongs to another
    site", one for an unknown subject 422 "unknown subject_id … allowed: CT-001, CT-002, CT-101": the
    other site's subject ids listed for anyone to read, and their existence told apart. The import now
    knows only the subjects of the sites the importer may read (D-19.348)."""
    admin = web_study.bearer("admin")
    header = admin.get("/api/v1/export/crs_assessments.csv").text.splitlines()[0]
    columns = header.split(",")
    values = {
        "assessed_at": "2021-05-03T10:00:00Z",
        "temperature_c": "38.5",
        "fever_masked": "no",
        "hypotension": "no",
        "vasopressors": "0",
        "vasopressin": "no",
        "oxygen": "none",
    }
    answers = {}
    for subject in ("CT-101", "CT-777"):
        row = ",".join({**values, "subject_id": subject}.get(c, "") for c in columns)
        answers[subject] = web_study.bearer("inv").post(
            "/api/v1/import/templates",
            files=[("files", ("crs_assessments.csv", f"{header}\n{row}\n".encode(), "text/csv"))],
            data={"reason": "probe"},
        )
    other, unknown = answers["CT-101"], answers["CT-777"]
    assert other.status_code == unknown.status_code == 422, other.text
    assert other.text.replace("CT-101", "CT-777") == unknown.text
    assert "CT-101" not in unknown.text and "PUMCH" not in other.text
    assert "CT-001" in unknown.json()["allowed"]
    # the admin still imports for every site
    row = ",".join({**values, "subject_id": "CT-101"}.get(c, "") for c in columns)
    done = admin.post(
        "/api/v1/import/templates",
        files=[("files", ("crs_assessments.csv", f"{header}\n{row}\n".encode(), "text/csv"))],
        data={"reason": "probe", "dry_run": "true"},
    )
    assert done.status_code == 200, done.text


def test_an_error_answer_is_bounded_whatever_the_request_holds(web_study):
    """A 1 MB body of 50,000 unknown field names was answered with a 36 MB 422 (every problem listed twice,
    in `error` and `problems`, each with the form's field list); a 900 kB value or field name came back
    whole in `value` / `field`. An error answer now echoes each value shortened, at most
    `MAX_PROBLEMS_SHOWN` problems (`problems_total` counts them all) and an `error` text of bounded length
    (D-19.349)."""
    from cartrial.web.errors import MAX_PROBLEMS_SHOWN

    client = web_study.bearer("admin")
    many = client.post("/api/v1/records/subjects", json={"values": {f"f{i}": "v" for i in range(50_000)}})
    assert many.status_code == 422
    assert len(many.content) < 2_000_000
    body = many.json()
    assert body["problems_total"] == 50_000
    assert len(body["problems"]) == MAX_PROBLEMS_SHOWN
    assert body["field"] == "subject.f0"
    for values in ({"subject_id": "s" * 900_000}, {"k" * 900_000: 1}):
        answer = client.post("/api/v1/records/subjects", json={"values": values})
        assert answer.status_code == 422
        assert len(answer.content) < 10_000, len(answer.content)
        assert answer.json()["problems_total"] == 1


def test_an_unexpected_error_is_answered_with_the_security_headers_and_no_detail(web_study, monkeypatch):
    """A route that failed unexpectedly was answered by Starlette's outermost error handler, outside the
    app's middleware: a text/plain 500 without ``X-Content-Type-Options``, ``Content-Security-Policy``,
    frame protection or ``Cache-Control: no-store``, and the API's not in its JSON error shape. Now the
    security-header middleware answers it: the headers as on every answer, JSON on the API, and nothing of
    the exception's text; the exception still reaches the server's log (D-19.350)."""
    from fastapi.testclient import TestClient

    from cartrial.web import api, views
    from cartrial.web.app import SECURITY_HEADERS
    from cartrial.web.security import SESSION_COOKIE

    def fail(*_args, **_kwargs):
        raise ValueError("temperature 39.5 of CT-001")

    monkeypatch.setattr(views, "study_home", fail)
    monkeypatch.setattr(api, "version_token", fail)
    client = TestClient(web_study.app, raise_server_exceptions=False)
    client.cookies.set(SESSION_COOKIE, web_study.session_token("admin"))
    for path in ("/", "/api/v1/records/subjects/1"):
        answer = client.get(path)
        assert answer.status_code == 500
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers.get(name) == value, (path, name)
        assert answer.headers.get("cache-control") == "no-store"
        assert "39.5" not in answer.text and "CT-001" not in answer.text
    api_answer = client.get("/api/v1/records/subjects/1")
    assert api_answer.headers["content-type"].startswith("application/json")
    assert set(api_answer.json()) >= {"error", "field", "value", "allowed"}
    logged = TestClient(web_study.app)  # raises what the server would log
    logged.cookies.set(SESSION_COOKIE, web_study.session_token("admin"))
    with pytest.raises(ValueError, match=r"39\.5"):
        logged.get("/api/v1/records/subjects/1")
