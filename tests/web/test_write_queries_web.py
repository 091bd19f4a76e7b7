"""D-19.130: the API's answer to a record write and the web form's confirmation did not say that the write
raised data queries; the API's `Saved` answer now lists them (code, check, table, field, record id — no
value, D-12.2) and the form's confirmation names their codes (read from the redirect only when they are
query codes)."""

from __future__ import annotations

from starlette.requests import Request

from cartrial.web.pages.common import done_message

from .test_api import _infusion


def test_the_api_answer_lists_the_queries_the_write_raised(any_web_study):
    inv = any_web_study.bearer("inv")
    dm = any_web_study.bearer("dm")
    before = {q["query_code"] for q in dm.get("/api/v1/queries").json()["items"]}
    # total cells three times cells/kg × weight (500000 × 60 = 3e7): TOTAL-CELLS-MISMATCH, soft
    created = inv.post(
        "/api/v1/records/infusions",
        json={"values": _infusion("CT-002", "2021-05-20T02:00:00Z", total_car_t_cells=90000000)},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    new = [q for q in dm.get("/api/v1/queries").json()["items"] if q["query_code"] not in before]
    assert len(new) == 1
    assert [(q["code"], q["check"], q["table"], q["record_id"]) for q in body["queries"]] == [
        (new[0]["query_code"], "TOTAL-CELLS-MISMATCH", "infusion", body["id"])
    ]
    assert "90000000" not in created.text.replace('"total_car_t_cells"', "")
    # a change that raises nothing: an empty list
    changed = inv.patch(
        f"/api/v1/records/infusions/{body['id']}",
        headers={"If-Match": created.headers["ETag"]},
        json={"values": {"weight_kg": 180.0}, "reason": "weighed again"},  # 5e5 × 180 = 9e7: no mismatch
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["queries"] == []


def _request(query: str) -> Request:
    return Request(
        {"type": "http", "method": "GET", "path": "/", "query_string": query.encode(), "headers": []}
    )


def test_the_form_confirmation_names_the_query_codes_only() -> None:
    assert done_message(_request("done=saved&queries=Q-000012")) == (
        "Saved. The edit checks raised data query Q-000012 (see the queries page)."
    )
    assert done_message(_request("done=updated&queries=Q-000012%2CQ-000013")).endswith(
        "raised data queries Q-000012, Q-000013 (see the queries page)."
    )
    assert done_message(_request("done=saved&queries=<b>hi</b>")) == "Saved."  # nothing else from the URL
    assert done_message(_request("done=saved")) == "Saved."


def test_a_second_edss_of_a_site_day_posted_to_the_api_is_listed_as_a_query(any_web_study):
    """D-19.1101: the analysis refuses two EDSS of a subject's day; the API takes the second (soft) and its
    answer lists the EDSS-SAME-DAY query on it, no value. 01:00Z and 03:00Z of 25 May are 09:00 and 11:00
    on 25 May in Shanghai (TJH) and in UTC alike: one site day whatever the site's zone."""
    inv = any_web_study.bearer("inv")
    scores = {n: 1 for n in ("visual", "brainstem", "pyramidal", "cerebellar", "sensory", "bowel_bladder")}
    edss = {"subject_id": "CT-001", **scores, "cerebral": 1, "ambulation": 0}
    first = inv.post("/api/v1/records/edss", json={"values": {**edss, "assessed_at": "2021-05-25T01:00:00Z"}})
    assert first.status_code == 201, first.text
    assert [q["check"] for q in first.json()["queries"]] == []
    second = inv.post(
        "/api/v1/records/edss", json={"values": {**edss, "assessed_at": "2021-05-25T03:00:00Z"}}
    )
    assert second.status_code == 201, second.text
    body = second.json()
    assert [(q["check"], q["table"], q["record_id"]) for q in body["queries"]] == [
        ("EDSS-SAME-DAY", "edss_assessment", body["id"])
    ]
    assert "2021-05-25" not in second.text.replace('"assessed_at"', "")
