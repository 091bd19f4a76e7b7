"""A new record without a value for a field of its natural key is refused at that field (D-19.1042): the
API's 422 named ``crs_assessment[1]`` as the field, with the column's name in the value slot and nothing
allowed, where validate names the field ("value is required") — the JSON body did not say which field."""

from __future__ import annotations

from typing import Any

import pytest

CASES = [
    ("crs_assessments", "crs_assessment", "assessed_at"),
    ("subjects", "subject", "subject_id"),
    ("escalation_decisions", "escalation_decision", "cohort"),
]
VALUES = {
    "crs_assessments": {
        "subject_id": "CT-002",
        "assessed_at": "2021-05-03T10:00:00Z",
        "temperature_c": 38.5,
        "fever_masked": False,
        "hypotension": False,
        "vasopressors": 0,
        "vasopressin": False,
        "oxygen": "none",
    },
    "subjects": {"subject_id": "CT-003", "site_id": "TJH", "consent_date": "2021-06-01", "sex": "F"},
    "escalation_decisions": {
        "cohort": 1,
        "dose_level": 1,
        "decided_on": "2021-06-01",
        "outcomes": "1NNN",
        "decision": "stay",
    },
}


@pytest.mark.parametrize(("form", "table", "key"), CASES)
def test_a_missing_key_field_is_named_in_the_api_answer(web_study: Any, form: str, table: str, key: str):
    values = {k: v for k, v in VALUES[form].items() if k != key}
    answer = web_study.bearer("dm").post(f"/api/v1/records/{form}", json={"values": values})
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["field"] == f"{table}.{key}"
    assert body["value"] is None and body["allowed"]
    whole = web_study.bearer("dm").post(f"/api/v1/records/{form}", json={"values": VALUES[form]})
    assert whole.status_code == 201, whole.text


def test_one_row_missing_two_key_fields_is_one_bad_row(web_study: Any) -> None:
    """A CRS assessment without subject_id and assessed_at (its natural key): two problems, one per field,
    of one bad row (the answer said "2 bad row(s)")."""
    values = {k: v for k, v in VALUES["crs_assessments"].items() if k not in ("subject_id", "assessed_at")}
    answer = web_study.bearer("dm").post("/api/v1/records/crs_assessments", json={"values": values})
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert [p["field"] for p in body["problems"]] == [
        "crs_assessment.subject_id",
        "crs_assessment.assessed_at",
    ]
    assert body["error"].startswith("1 bad row(s) "), body["error"]
