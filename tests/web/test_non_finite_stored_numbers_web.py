"""The web answers a number cartrial never writes (NaN, an infinity, put in by SQL) with 409 naming its
record, as it answers an unreadable stored date (D-19.556): never the value, never the number handed out
as data (issue 19 §3, D-19.1096).

Before: the API's record read answered 200 with the planted value (``cells_per_kg`` +Inf read as JSON
``null`` or ``Infinity``), the record list likewise: a client synchronising the table took it as data.
"""

from __future__ import annotations

import sqlite3

from .conftest import WebStudy


def _plant(study: WebStudy, subject_id: str) -> int:
    """+Inf (SQLite's ``9e999``) in the cells_per_kg of `subject_id`'s infusion (a direct change)."""
    connection = sqlite3.connect(study.url.removeprefix("sqlite:///"))
    try:
        with connection:
            (record_id,) = connection.execute(
                "SELECT id FROM infusion WHERE subject_id = ?", (subject_id,)
            ).fetchone()
            connection.execute("UPDATE infusion SET cells_per_kg = 9e999 WHERE id = ?", (record_id,))
    finally:
        connection.close()
    return int(record_id)


def test_the_api_answers_409_naming_the_record_never_the_value(web_study: WebStudy) -> None:
    record_id = _plant(web_study, "CT-001")
    client = web_study.bearer("admin")
    for path in ("/api/v1/records/infusions", f"/api/v1/records/infusions/{record_id}"):
        answer = client.get(path)
        assert answer.status_code == 409, (path, answer.status_code, answer.text)
        body = answer.json()
        assert "Infinity" not in answer.text and "inf" not in answer.text.replace("infusion", "")
        (problem,) = body["problems"]
        assert problem["record"] == f"infusion record {record_id}" and problem["field"] == "cells_per_kg"
        assert problem["value"] is None and "finite number" in problem["allowed"]
        assert "cartrial audit verify" in body["error"]


def test_the_record_page_answers_409_naming_the_record(web_study: WebStudy) -> None:
    record_id = _plant(web_study, "CT-001")
    page = web_study.session("admin").get(f"/records/infusion/{record_id}")
    assert page.status_code == 409, page.status_code
    assert f"infusion record {record_id}, cells_per_kg: not a finite number" in page.text
    assert "Traceback" not in page.text
