"""A blank subject or site filter of an API list is refused 422 at the parameter (D-19.1039). It was read
two opposite ways: ``GET /records/{form}?subject_id=`` listed no record (a filter on an empty id) while
``GET /queries?subject_id=`` listed every query (no filter) — a client whose variable was unset got an
empty list or everybody's, silently."""

from __future__ import annotations

from typing import Any

import pytest

LISTS = ("/api/v1/records/crs_assessments", "/api/v1/records/subjects", "/api/v1/queries")


@pytest.mark.parametrize("blank", ["", "%20", "%20%20"])
@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("parameter", ["subject_id", "site_id"])
def test_a_blank_filter_is_a_located_422(web_study: Any, path: str, parameter: str, blank: str) -> None:
    """A space-only filter too (the key-text rule: no space at a key's edges, D-19.420): ``?site_id=%20``
    answered 200 with no record listed."""
    dm = web_study.bearer("dm")
    answer = dm.get(f"{path}?{parameter}={blank}")
    assert answer.status_code == 422, (path, parameter, answer.status_code)
    body = answer.json()
    assert body["field"] == parameter and set(body) >= {"error", "value", "allowed"}


def test_the_same_filters_given_or_left_out_still_list(web_study: Any) -> None:
    dm = web_study.bearer("dm")
    crs = dm.get("/api/v1/records/crs_assessments?limit=1").json()["items"][0]
    raised = web_study.bearer("mon").post(
        "/api/v1/queries", json={"form": "crs_assessments", "record_id": crs["id"], "text": "Check time"}
    )
    assert raised.status_code == 201
    # the small study: CRS assessments of CT-001 (TJH) and CT-101 (PUMCH); one query, on the first listed
    assert dm.get("/api/v1/records/crs_assessments").json()["total"] == 2
    assert dm.get("/api/v1/records/crs_assessments?subject_id=CT-001").json()["total"] == 1
    assert dm.get("/api/v1/records/crs_assessments?site_id=PUMCH").json()["total"] == 1
    assert dm.get("/api/v1/queries").json()["total"] == 1
    subject = crs["values"]["subject_id"]
    assert dm.get(f"/api/v1/queries?subject_id={subject}").json()["total"] == 1
    other = "CT-101" if subject == "CT-001" else "CT-001"
    assert dm.get(f"/api/v1/queries?subject_id={other}").json()["total"] == 0
