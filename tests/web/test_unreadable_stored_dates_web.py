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


# -- a form of another record of the subject: the edit checks read the planted infusion (review of D-19.556)

TERM = "Headache typed while another record has an unreadable date"
AE = {
    "term": TERM,
    "started_on": "2021-05-10",
    "category": "non_hematologic",
    "grade": "1",
    "grading_scale": "CTCAE",
    "grading_scale_version": "5.0",
    "serious": "false",
    "relatedness": "unlikely",
    "dlt": "false",
    "outcome": "recovered",
    "ended_on": "2021-05-12",
}


def _assert_names_the_infusion(text: str, record_id: int) -> None:
    assert re.search(rf"infusion record {record_id}, infused_at: not a readable date-time", text), text
    assert "cartrial never stores" in text and "cartrial audit verify" in text, text  # the header kept
    assert PLANTED not in text and "Traceback" not in text


def test_the_live_check_does_not_say_no_findings_when_it_could_not_check(web_study: WebStudy) -> None:
    """Before: the store's preview caught the refusal as an input problem and returned no findings, so the
    form's live check answered "ok" while the save refused."""
    from cartrial.errors import StoredValueError

    record_id = _plant(web_study, "CT-001")
    answer = web_study.bearer("admin").post(
        "/api/v1/forms/adverse_events/validate", json={"values": {**AE, "subject_id": "CT-001"}}
    )
    assert answer.status_code == 409, answer.text
    (problem,) = answer.json()["problems"]
    assert problem["record"] == f"infusion record {record_id}" and problem["field"] == "infused_at"
    _assert_names_the_infusion(answer.json()["error"] + "\n" + str(problem), record_id)
    try:
        web_study.service.as_user("admin").preview_write_checks(
            "adverse_event", {**AE, "subject_id": "CT-001"}
        )
    except StoredValueError as error:
        _assert_names_the_infusion(str(error), record_id)
    else:
        raise AssertionError("the preview answered although it could not read the subject's infusion")


def test_a_form_save_answers_409_naming_the_other_record_and_keeps_the_entries(web_study: WebStudy) -> None:
    """Before: the refusal became a form problem at the user's own box of the same field name (422, the
    header and the record lost); the record is another one, not what the user typed."""
    record_id = _plant(web_study, "CT-001")
    client = web_study.session("admin")
    page = client.post("/subjects/CT-001/forms/adverse_events", data=AE)
    assert page.status_code == 409, (page.status_code, page.text[:2000])
    _assert_names_the_infusion(page.text, record_id)
    assert TERM in page.text  # as a version conflict: what the user typed is kept in the form
    answer = web_study.bearer("admin").post(
        "/api/v1/records/adverse_events", json={"values": {**AE, "subject_id": "CT-001"}}
    )
    assert answer.status_code == 409, answer.text
    (problem,) = answer.json()["problems"]
    assert problem["record"] == f"infusion record {record_id}" and problem["field"] == "infused_at"
    listed = web_study.bearer("admin").get("/api/v1/records/adverse_events?subject_id=CT-001").json()
    assert TERM not in str(listed)  # nothing was written


def test_the_dashboards_answer_409_not_nothing_to_analyse(web_study: WebStudy) -> None:
    """Before: the safety and escalation views caught every refusal as "nothing to analyse yet" / "not
    available" (200), hiding that the study database holds a value cartrial never writes."""
    record_id = _plant(web_study, "CT-001")
    session = web_study.session("admin")
    for path in ("/safety", "/escalation"):
        page = session.get(path)
        assert page.status_code == 409, (path, page.status_code)
        _assert_names_the_infusion(page.text, record_id)
    answer = web_study.bearer("admin").get("/api/v1/escalation")
    assert answer.status_code == 409, answer.text
    _assert_names_the_infusion(answer.text, record_id)
