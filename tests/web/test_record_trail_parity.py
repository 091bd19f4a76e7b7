"""The audit trail of one record answers alike in the API and on its page (D-19.1038): 404 for a record
the user may not see (an id no record had, another site's record), the trail of a stored or a deleted
record otherwise. The API answered 200 with ``[]`` where the page answered 404, and the page answered 404
for a deleted record whose trail the API showed (docs/web.md: "the whole record is kept in the audit
trail")."""

from __future__ import annotations

from typing import Any

import pytest


def _crs_id(study: Any, subject: str) -> int:
    rows = study.service.find_records("admin", "crs_assessment", subject_id=subject)
    return int(rows[0]["id"])


def _answers(study: Any, user: str, record_id: int) -> tuple[int, int]:
    api = study.bearer(user).get(f"/api/v1/audit/records/crs_assessments/{record_id}")
    page = study.session(user).get(f"/audit/records/crs_assessment/{record_id}")
    return api.status_code, page.status_code


@pytest.mark.parametrize("user", ["dm", "inv", "mon"])
def test_an_unknown_record_is_404_in_the_api_as_on_the_page(any_web_study: Any, user: str) -> None:
    never = 999_999  # no record of the small study has this id
    api = any_web_study.bearer(user).get(f"/api/v1/audit/records/crs_assessments/{never}")
    assert api.status_code == 404, api.text
    body = api.json()
    assert set(body) >= {"error", "field", "value", "allowed"} and body["field"] == "id"
    assert "crs_assessment" in body["error"]
    assert any_web_study.session(user).get(f"/audit/records/crs_assessment/{never}").status_code == 404


def test_another_sites_record_answers_as_an_unknown_one_in_both(any_web_study: Any) -> None:
    foreign = _crs_id(any_web_study, "CT-101")  # PUMCH; inv is of TJH
    assert _answers(any_web_study, "inv", foreign) == (404, 404)
    unknown = any_web_study.bearer("inv").get("/api/v1/audit/records/crs_assessments/999999").json()
    other = any_web_study.bearer("inv").get(f"/api/v1/audit/records/crs_assessments/{foreign}").json()
    assert other["error"] == unknown["error"] and "PUMCH" not in str(other)
    assert _answers(any_web_study, "inv", _crs_id(any_web_study, "CT-001")) == (200, 200)
    assert _answers(any_web_study, "inv2", foreign) == (200, 200)


def test_a_deleted_records_trail_shows_in_both_to_who_may_see_it(any_web_study: Any) -> None:
    own, foreign = _crs_id(any_web_study, "CT-001"), _crs_id(any_web_study, "CT-101")
    dm = any_web_study.bearer("dm")
    for record_id in (own, foreign):
        deleted = dm.delete(f"/api/v1/records/crs_assessments/{record_id}?reason=entered in error")
        assert deleted.status_code == 200, deleted.text
    trail = any_web_study.bearer("inv").get(f"/api/v1/audit/records/crs_assessments/{own}")
    assert trail.status_code == 200
    assert [row["action"] for row in trail.json()][-1] == "delete"
    page = any_web_study.session("inv").get(f"/audit/records/crs_assessment/{own}")
    assert page.status_code == 200, page.status_code
    assert "entered in error" in page.text and "(deleted)" in page.text
    assert "Back to the record" not in page.text  # no link to a record page that is gone
    # nor from its insert or update rows (they linked /records/crs_assessment/<id>, a 404)
    assert f'href="/records/crs_assessment/{own}"' not in page.text
    # the subject's trail holds the same rows: no link to the deleted record there either
    subject_page = any_web_study.session("inv").get("/audit/subjects/CT-001")
    assert subject_page.status_code == 200 and "entered in error" in subject_page.text
    assert f'href="/records/crs_assessment/{own}"' not in subject_page.text
    # the other site's deleted record: as absent in both, to the investigator of TJH
    assert _answers(any_web_study, "inv", foreign) == (404, 404)
    assert _answers(any_web_study, "mon", foreign) == (200, 200)
