"""The reason for a change (an update, a deletion, a lock, a query closure) has one rule in the store
(`cartrial.store.tables.require_reason`): given, printable, at most `MAX_REASON_LENGTH` characters — the
same on every route and in `db edit` (found by the adversarial web sweep, issue 19)."""

from __future__ import annotations

import pytest

from cartrial.store.tables import MAX_REASON_LENGTH


@pytest.mark.parametrize("reason", ["typo\x00fixed", "typo\x1bfixed", "r" * (MAX_REASON_LENGTH + 1)])
def test_a_reason_breaking_the_rule_is_refused_on_update_and_delete(any_web_study, reason):
    """A NUL or an escape sequence in a reason was written to the audit trail (both backends); a 1 MB reason
    was written to the audit trail on update while a deletion refused more than 2000 characters."""
    client = any_web_study.bearer("admin")
    record = client.get("/api/v1/records/crs_assessments", params={"subject_id": "CT-001"}).json()["items"][0]
    path = f"/api/v1/records/crs_assessments/{record['id']}"
    change = {"values": {"temperature_c": 38.0}, "reason": reason, "version_token": record["version_token"]}
    answer = client.patch(path, json=change)
    assert answer.status_code == 422, answer.text[:300]
    assert answer.json()["field"] == "reason"
    answer = client.delete(path, params={"reason": reason})  # a control character in a URL: 400 at once
    assert answer.status_code in (400, 422), answer.text[:300]
    assert "reason" in answer.json()["field"]
    assert client.get(path).json()["version"] == record["version"]


def test_db_edit_and_an_import_take_the_same_reason_rule(web_study):
    """The store's rule, not the web's: `db edit` (the service) and a transaction's reason (an import's)."""
    from cartrial.errors import InputError

    service = web_study.service
    record = service.find_records("admin", "crs_assessment", subject_id="CT-001")[0]
    with pytest.raises(InputError) as refused:
        service.update_record("admin", "crs_assessment", record["id"], {"temperature_c": 38.0}, 1, "a\x00b")
    assert refused.value.problems[0].field == "reason"
    with pytest.raises(InputError), service.transaction("admin", "test", "r" * (MAX_REASON_LENGTH + 1)):
        pass


@pytest.mark.parametrize("text", ["is this right?\x00", "see \x1b[31msource", "q" * (MAX_REASON_LENGTH + 1)])
def test_a_query_text_or_answer_breaking_the_rule_is_refused(any_web_study, text):
    """A query text or an answer took a NUL, an escape sequence and a megabyte (both backends)."""
    client = any_web_study.bearer("admin")
    record = client.get("/api/v1/records/infusions", params={"subject_id": "CT-001"}).json()["items"][0]
    raised = client.post(
        "/api/v1/queries", json={"form": "infusions", "record_id": record["id"], "text": text}
    )
    assert raised.status_code == 422, raised.text[:300]
    assert raised.json()["field"] == "query_text"
    ok = client.post("/api/v1/queries", json={"form": "infusions", "record_id": record["id"], "text": "ok?"})
    code = ok.json()["query_code"]
    answer = client.post(f"/api/v1/queries/{code}/answer", json={"answer": text})
    assert answer.status_code == 422, answer.text[:300]
    assert answer.json()["field"] == "answer"
    assert client.get("/api/v1/queries").json()["total"] == 1


def test_a_closed_query_is_not_answered_or_closed_again(web_study):
    """A late answer to a closed query set it back to "answered" (the closure silently undone, the answer
    overwritten), and closing it again wrote another closure: a closed query is final (D-19.29)."""
    admin = web_study.bearer("admin")
    record = admin.get("/api/v1/records/infusions", params={"subject_id": "CT-001"}).json()["items"][0]
    code = admin.post(
        "/api/v1/queries", json={"form": "infusions", "record_id": record["id"], "text": "weight?"}
    ).json()["query_code"]
    investigator = web_study.bearer("inv")
    assert investigator.post(f"/api/v1/queries/{code}/answer", json={"answer": "60 kg"}).status_code == 200
    assert admin.post(f"/api/v1/queries/{code}/close", json={"reason": "confirmed"}).status_code == 200
    late = investigator.post(f"/api/v1/queries/{code}/answer", json={"answer": "61 kg"})
    again = admin.post(f"/api/v1/queries/{code}/close", json={"reason": "again"})
    for answer in (late, again):
        assert answer.status_code == 409, answer.text
        assert (answer.json()["field"], answer.json()["value"]) == ("query", code)
    query = admin.get("/api/v1/queries", params={"status": "closed"}).json()["items"]
    assert [(q["query_code"], q["answer"]) for q in query] == [(code, "60 kg")]
