"""The escalation page after an expansion decision: the replay's expansion rule, one implementation
(D-19.751, D-19.754), and never a 4xx on stored data.

The example protocol (3+3, 3 per cohort, 28-day window, a 6-patient expansion at level 2). ``1NNN`` escalate
(05-01); ``2NNN`` expand on 05-20, 13 days after S-6's infusion (05-07): early, so it starts no expansion;
S-6's DLT starts 05-27 (day 20). Six more at level 2 recorded ``2NNNNNN`` stop (07-20). The real history
``1NNN 2NNT 2NNNNNN`` has 9 patients at level 2, more than a 3+3 ever treats at a level (≤ 6): the design
gives no recommendation. Before, the page answered 422 with the design's message quoting the history built
from the stored DLT records (D-12.2); now 200 with a note naming no stored value.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi.testclient import TestClient

from cartrial import examples
from cartrial.store import StudyService, connect, init_study
from cartrial.store.auth import AuthenticatedUser, create_session
from cartrial.web.app import create_app
from cartrial.web.security import SESSION_COOKIE, WebSettings, credential

from ..conftest import TEST_PASSWORD

DAYS = ["2021-04-01", "2021-04-02", "2021-04-03", "2021-05-05", "2021-05-06", "2021-05-07"]
DAYS += [f"2021-06-{10 + k:02d}" for k in range(6)]


def _study(tmp_path: Path, expand_on: str) -> str:
    url = f"sqlite:///{tmp_path / 's.db'}"
    protocol = examples.path("ct103a-nmosd") / "protocol.yaml"
    init_study(url, protocol, "admin", admin_site="TJH", admin_password=TEST_PASSWORD)
    service = StudyService(connect(url))
    infused = {f"S-{i}": (1 if i <= 3 else 2, day) for i, day in enumerate(DAYS, start=1)}
    with service.transaction("admin", "setup") as tx:
        service.upsert_rows(
            tx,
            "subject",
            [{"subject_id": k, "site_id": "TJH", "consent_date": "2021-03-01", "sex": "F"} for k in infused],
        )
    for k, (level, day) in infused.items():
        service.insert_record(
            "admin",
            "infusion",
            {"subject_id": k, "dose_level": level, "infused_at": f"{day}T02:00:00Z", "weight_kg": 60.0,
             "cells_per_kg": 500000 * level, "total_car_t_cells": 30000000 * level},
        )  # fmt: skip

    def decide(cohort: int, level: int, day: str, outcomes: str, decision: str) -> None:
        service.insert_record(
            "admin",
            "escalation_decision",
            {
                "cohort": cohort,
                "dose_level": level,
                "decided_on": day,
                "outcomes": outcomes,
                "decision": decision,
            },
            raised=[],
        )

    decide(1, 1, "2021-05-01", "1NNN", "escalate")
    decide(2, 2, expand_on, "2NNN", "expand")
    service.insert_record(
        "admin",
        "adverse_event",
        {"subject_id": "S-6", "term": "Nausea", "category": "non_hematologic", "started_on": "2021-05-27",
         "ended_on": "2021-05-29", "grade": 3, "grading_scale": "CTCAE", "grading_scale_version": "5.0",
         "serious": True, "relatedness": "possible", "dlt": True},
    )  # fmt: skip
    decide(3, 2, "2021-07-20", "2NNNNNN", "stop")
    service.engine.dispose()
    return url


def _client(url: str) -> TestClient:
    app = create_app(url, settings=WebSettings(secret_key="x"))
    service = app.state.service
    token = create_session(
        service,
        AuthenticatedUser("admin", service.actor("admin").role, service.actor("admin").site_id, "password"),
    )
    client = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
    client.cookies.set(SESSION_COOKIE, credential(token, "admin"))
    return client


def test_an_early_expand_then_the_expansion_is_a_note_not_a_422(tmp_path: Path) -> None:
    client = _client(_study(tmp_path, "2021-05-20"))
    page = client.get("/escalation?as_of=2021-08-01")
    api = client.get("/api/v1/escalation?as_of=2021-08-01")
    assert page.status_code == 200
    assert api.status_code == 200

    from cartrial.web.escalation import NO_RECOMMENDATION

    rec = api.json()["recommendation"]
    assert rec["reasons"] == [NO_RECOMMENDATION]
    assert rec["decision"] == ""
    assert "2NNT" not in NO_RECOMMENDATION and "got" not in NO_RECOMMENDATION
    # the API's reasons and the HTML page: the note, naming no stored value (subject id, history; D-12.2)
    for k in range(1, 13):
        assert all(f"S-{k}" not in reason for reason in rec["reasons"])
    assert all("2NNT" not in reason for reason in rec["reasons"])
    assert NO_RECOMMENDATION in html.unescape(page.text)
    assert [(d["n"], d["dlt"]) for d in rec["per_dose"]] == [(3, 0), (9, 1)]


def test_a_fully_followed_wrong_expand_is_a_note_too(tmp_path: Path) -> None:
    """The expand on 06-05, after S-6's window (05-07 + 28 = 06-04), though S-6's DLT (05-27) was known:
    the design gives 'stay' (1/3, three more), not 'expand' — the expand starts no expansion (D-19.751):
    the page fits the real history, 9 patients at level 2, and shows the note."""
    from cartrial.web.escalation import NO_RECOMMENDATION

    client = _client(_study(tmp_path, "2021-06-05"))
    api = client.get("/api/v1/escalation?as_of=2021-08-01")
    assert api.status_code == 200
    assert api.json()["recommendation"]["reasons"] == [NO_RECOMMENDATION]
