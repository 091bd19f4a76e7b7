"""Bounds of what the API takes, found by the adversarial web sweep (issue 19): a value, a body or a
reason beyond what the study can store or should hold is refused with a located 4xx, never a 500."""

from __future__ import annotations

import pytest

from cartrial.store.fields import INTEGER_BOUNDS

DECISION = {
    "cohort": 1,
    "dose_level": 1,
    "decided_on": "2021-07-06",
    "outcomes": "1NNN",
    "design": "3+3",
    "decision": "escalate",
    "approved_by": "safety review committee",
}


@pytest.mark.parametrize("cohort", [INTEGER_BOUNDS[1] + 1, 99999999999999999999, "99999999999999999999"])
def test_whole_number_beyond_storage_is_refused_as_the_fields_rule(any_web_study, cohort):
    """`escalation_decision.cohort` declares only a minimum: a value beyond a 32-bit INTEGER reached the
    database (SQLite OverflowError, PostgreSQL "integer out of range") and answered 500."""
    client = any_web_study.bearer("admin")
    answer = client.post(
        "/api/v1/records/escalation_decisions", json={"values": {**DECISION, "cohort": cohort}}
    )
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["field"] == "escalation_decision.cohort"
    assert body["value"] == str(cohort)
    assert str(INTEGER_BOUNDS[1]) in body["allowed"]
    saved = client.post("/api/v1/records/escalation_decisions", json={"values": DECISION})
    assert saved.status_code == 201, saved.text
    record = f"/api/v1/records/escalation_decisions/{saved.json()['id']}"
    token = saved.json()["version_token"]
    change = {"values": {"cohort": cohort}, "reason": "probe", "version_token": token}
    answer = client.patch(record, json=change)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "escalation_decision.cohort"
    assert client.get(record).json()["values"]["cohort"] == 1
