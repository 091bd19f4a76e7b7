"""A list filter the form cannot apply is refused 422 at the parameter, as ``subject_id`` on a form
without a subject was (D-19.1041): ``GET /records/escalation_decisions?site_id=…`` listed every decision
(they are study-wide) and ``GET /records/sites?date_from=…`` every site (a site has no clinical date), as
if each had matched."""

from __future__ import annotations

from typing import Any

import pytest


def _decision(study: Any) -> None:
    answer = study.bearer("dm").post(
        "/api/v1/records/escalation_decisions",
        json={
            "values": {
                "cohort": 1,
                "dose_level": 1,
                "decided_on": "2021-06-01",
                "outcomes": "1NNN",
                "decision": "escalate",
            }
        },
    )
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    "query",
    [
        "/api/v1/records/escalation_decisions?site_id=PUMCH",
        "/api/v1/records/sites?date_from=2030-01-01",
        "/api/v1/records/sites?date_to=2000-01-01",
    ],
)
def test_a_filter_the_form_cannot_apply_is_refused(web_study: Any, query: str) -> None:
    _decision(web_study)
    answer = web_study.bearer("dm").get(query)
    assert answer.status_code == 422, (query, answer.text)
    parameter = query.split("?", 1)[1].split("=", 1)[0]
    assert answer.json()["field"] == parameter


def test_the_filters_a_form_can_apply_still_filter(web_study: Any) -> None:
    _decision(web_study)
    dm = web_study.bearer("dm")
    assert dm.get("/api/v1/records/escalation_decisions").json()["total"] == 1
    # decided on 2021-06-01: inside [2021-06-01, 2021-06-01], outside from 2021-06-02
    assert (
        dm.get("/api/v1/records/escalation_decisions?date_from=2021-06-01&date_to=2021-06-01").json()["total"]
        == 1
    )
    assert dm.get("/api/v1/records/escalation_decisions?date_from=2021-06-02").json()["total"] == 0
    # the small study's sites: TJH and PUMCH
    assert dm.get("/api/v1/records/sites?site_id=PUMCH").json()["total"] == 1
    assert dm.get("/api/v1/records/subjects?date_to=2021-04-01").json()["total"] == 1  # CT-001's consent
