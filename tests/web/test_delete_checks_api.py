"""The web API's delete runs the reconciling edit checks like `cartrial db delete` (D-19.103): deleting the
only fatal adverse event of a subject whose disposition is ``death`` raises DEATH-WITHOUT-FATAL-AE on the
subject row (the fixture's CT-001, infused 2021-04-27), and its answer names the query (D-19.160)."""

from __future__ import annotations

from cartrial.store.edit_checks import EDIT_CHECK_USER

FATAL = {
    "subject_id": "CT-001",
    "term": "Sepsis",
    "category": "infection",
    "started_on": "2021-05-10",
    "ended_on": "2021-05-12",
    "grade": 5,
    "grading_scale": "CTCAE",
    "grading_scale_version": "5.0",
    "serious": True,
    "serious_death": True,  # the ICH E2A criterion of a fatal event (D-19.328)
    "relatedness": "possible",
    "dlt": False,
    "outcome": "fatal",
}


def test_api_delete_of_the_only_fatal_event_queries_the_disposition(web_study):
    service = web_study.service
    fatal_id = service.insert_record("admin", "adverse_event", FATAL)
    (subject,) = service.find_records("admin", "subject", subject_id="CT-001")
    service.update_record(
        "admin",
        "subject",
        int(subject["id"]),
        {"disposition": "death", "disposition_date": "2021-05-12"},
        int(subject["version"]),
        "died",
    )

    def queries():
        return [q for q in service.find_records("admin", "data_query") if q["raised_by"] == EDIT_CHECK_USER]

    assert queries() == []
    response = web_study.bearer("admin").delete(
        f"/api/v1/records/adverse_events/{fatal_id}?reason=wrong subject"
    )
    assert response.status_code == 200, response.text
    (query,) = queries()
    # the answer names the query it raised, as `db delete` and the web page do (D-19.160), never a value
    assert response.json() == {
        "form": "adverse_events",
        "id": fatal_id,
        "queries": [
            {
                "code": query["query_code"],
                "check": "DEATH-WITHOUT-FATAL-AE",
                "table": "subject",
                "field": "disposition",
                "record_id": subject["id"],
            }
        ],
    }
    assert str(query["text"]).startswith("Edit check DEATH-WITHOUT-FATAL-AE ")
    assert (query["table_name"], query["record_id"], query["field"]) == (
        "subject",
        subject["id"],
        "disposition",
    )
    assert "2021" not in str(query["text"])
