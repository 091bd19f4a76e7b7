"""The API's 409 for a data lock's refusal counts honestly (issue 19, §4; decision D-19.1421).

150 new CRS assessments dated before the lock's cut-off: the store lists the first 100 frozen records
(`cartrial.store.bulk.MAX_LOCKED_LISTED`) one problem each and counts the other 50 in one summary problem.
The API's body said ``problems_total: 101`` (it counted the summary as a problem) and listed the summary
as if it were a record. Now, as the CLI and the web import page (`cartrial.errors.conflict_problems`,
D-19.1364): ``problems`` lists the records only, ``records_total`` and ``problems_total`` are the store's
true count (150: each frozen record is one problem, the first 100 listed), ``more`` is the summary's text.
The OpenAPI schema of every error declares these fields."""

from __future__ import annotations

import datetime as dt
import io
import zipfile


def _upload_with_new_records(admin, count: int) -> bytes:
    archive = zipfile.ZipFile(io.BytesIO(admin.get("/api/v1/export/templates.zip").content))
    crs = archive.read("crs_assessments.csv").decode().splitlines()
    header = crs[0].split(",")
    first = crs[1].split(",")
    at = header.index("assessed_at")
    day = dt.date.fromisoformat(first[at][:10]) + dt.timedelta(days=1)
    new = []
    for minute in range(count):  # one day's new assessments, a minute apart, none stored
        cells = list(first)
        moment = dt.datetime.combine(day, dt.time(0, 0)) + dt.timedelta(minutes=minute)
        cells[at] = moment.strftime("%Y-%m-%dT%H:%M:%S") + first[at][19:]
        new.append(",".join(cells))
    return "\n".join([*crs, *new]).encode() + b"\n"


def test_a_lock_refusal_of_150_records_counts_150_and_lists_100_records(web_study) -> None:
    admin = web_study.bearer("admin")
    upload = _upload_with_new_records(admin, 150)
    web_study.service.as_user("admin").lock(dt.date(2030, 1, 1), "interim analysis")
    files = [("files", ("crs_assessments.csv", upload, "text/csv"))]
    answer = admin.post("/api/v1/import/templates", files=files, data={"reason": "re-import"})
    assert answer.status_code == 409, answer.text[:500]
    body = answer.json()
    assert "150 record(s) of crs_assessment" in body["error"]
    assert body["records_total"] == 150, {k: v for k, v in body.items() if k != "problems"}
    assert body["problems_total"] == 150, {k: v for k, v in body.items() if k != "problems"}
    assert len(body["problems"]) == 100
    assert all("more record(s)" not in p["message"] for p in body["problems"])
    assert all(p["message"].startswith("a new crs_assessment record") for p in body["problems"])
    assert body["more"].startswith("50 more record(s) of crs_assessment"), body["more"]


def test_a_lock_refusal_of_two_records_counts_two(web_study) -> None:
    """Under the listing cap: every record listed, the counts equal the list, no summary."""
    admin = web_study.bearer("admin")
    upload = _upload_with_new_records(admin, 2)
    web_study.service.as_user("admin").lock(dt.date(2030, 1, 1), "interim analysis")
    files = [("files", ("crs_assessments.csv", upload, "text/csv"))]
    answer = admin.post("/api/v1/import/templates", files=files, data={"reason": "re-import"})
    assert answer.status_code == 409, answer.text[:500]
    body = answer.json()
    assert (body["records_total"], body["problems_total"], len(body["problems"])) == (2, 2, 2)
    assert body["more"] is None


def test_the_openapi_error_body_declares_the_counts(web_study) -> None:
    schema = web_study.bearer("admin").get("/api/v1/openapi.json").json()
    properties = schema["components"]["schemas"]["ErrorBody"]["properties"]
    for name in ("problems", "problems_total", "records_total", "more"):
        assert name in properties, sorted(properties)


def test_a_taken_user_name_409_counts_no_records(web_study) -> None:
    """A taken user name is one located problem, no data lock's records: the body has no
    ``records_total`` (only a refusal that counts records, `ConflictError.records_total` or a ``more``
    summary, reports one; review of D-19.1421)."""
    admin = web_study.bearer("admin")
    made = admin.post(
        "/api/v1/users", json={"username": "dup1", "role": "monitor", "password": "quiet larch 7 moved east"}
    )
    assert made.status_code in (200, 201), made.text
    again = admin.post(
        "/api/v1/users", json={"username": "dup1", "role": "monitor", "password": "quiet larch 7 moved east"}
    )
    assert again.status_code == 409, again.text
    body = again.json()
    assert body.get("records_total") is None, body
    assert body.get("more") is None, body


def test_a_conflict_of_only_a_summary_lists_no_record() -> None:
    """The API never lists the "N more record(s)" summary as a record, even when a refusal holds no
    other problem (the old fallback listed it)."""
    from cartrial.errors import ConflictError, Problem
    from cartrial.web.errors import error_body

    more = Problem(message="3 more record(s) of crs_assessment")
    body = error_body(ConflictError("3 frozen", records_total=3, more=more))
    assert body["problems"] == [] and body["records_total"] == 3, body
    assert body["more"] == "3 more record(s) of crs_assessment"
