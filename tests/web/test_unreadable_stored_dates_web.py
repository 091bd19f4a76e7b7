"""The web answers a stored date cartrial never writes with 409 naming its record, never a 500 or the value
(issue 19, D-19.556): the request is fine, the server's data is not (``cartrial audit verify``).

Before: the record page, the API's record list and record read, and the casebook crashed in SQLAlchemy's
parser (an unexpected-error 500). A refusal of a record read must not be taken for "no such record" (404)
either. SQLite only: PostgreSQL refuses such text at the write (tests/store/test_unreadable_stored_dates.py).
"""

from __future__ import annotations

import re
import sqlite3

from .conftest import WebStudy

PLANTED = "zzzz"


def _plant(study: WebStudy, subject_id: str) -> int:
    """`PLANTED` in the infused_at of `subject_id`'s infusion (a direct change); its record id."""
    connection = sqlite3.connect(study.url.removeprefix("sqlite:///"))
    try:
        with connection:
            (record_id,) = connection.execute(
                "SELECT id FROM infusion WHERE subject_id = ?", (subject_id,)
            ).fetchone()
            connection.execute("UPDATE infusion SET infused_at = ? WHERE id = ?", (PLANTED, record_id))
    finally:
        connection.close()
    return int(record_id)


def test_the_api_answers_409_naming_the_record(web_study: WebStudy) -> None:
    record_id = _plant(web_study, "CT-001")
    client = web_study.bearer("admin")
    for path in ("/api/v1/records/infusions", f"/api/v1/records/infusions/{record_id}"):
        answer = client.get(path)
        assert answer.status_code == 409, (path, answer.status_code, answer.text)
        body = answer.json()
        assert PLANTED not in answer.text
        (problem,) = body["problems"]
        assert problem["record"] == f"infusion record {record_id}" and problem["field"] == "infused_at"
        assert problem["value"] is None and "YYYY-MM-DD" in problem["allowed"]
        assert "cartrial audit verify" in body["error"]


def test_the_record_page_answers_409_naming_the_record(web_study: WebStudy) -> None:
    record_id = _plant(web_study, "CT-001")
    client = web_study.session("admin")
    for path in (f"/records/infusion/{record_id}", "/subjects/CT-001"):
        page = client.get(path)
        assert page.status_code == 409, (path, page.status_code)
        assert PLANTED not in page.text and "Traceback" not in page.text
        assert re.search(rf"infusion record {record_id}, infused_at: not a readable date-time", page.text), (
            path
        )


def test_another_sites_reader_is_not_refused_for_it(web_study: WebStudy) -> None:
    """Only what the read reads is refused: PUMCH's investigator lists PUMCH's infusion (CT-101)."""
    _plant(web_study, "CT-001")
    answer = web_study.bearer("inv2").get("/api/v1/records/infusions")
    assert answer.status_code == 200, answer.text
    assert [item["values"]["subject_id"] for item in answer.json()["items"]] == ["CT-101"]
