"""The escalation state counts for the design only the patients the analysis layer calls DLT-evaluable, or
still inside the DLT window on study (D-19.123).

The web tests' small study: CT-001 (TJH) and CT-101 (PUMCH) infused at dose level 1 on 2021-04-27, no DLT;
here CT-002 (TJH) is infused at level 1 on 2021-05-03 (day 0; the 28-day window closes on 2021-05-31).
Before the fix, a patient who left the study (or died) inside the window without a DLT was an "N" for the
design: with CT-002 withdrawn on day 5 the design saw ``1NNN`` (0/3 at level 1) and recommended
escalating to level 2. In a 3+3 such a patient is not evaluable and is replaced (Storer 1989; the analysis's
`dlt_evaluable` population, D-19.83, D-19.92): the design sees ``1NN`` — 2 evaluable patients without a DLT,
fewer than the cohort of 3 — and stays at level 1 (enrol a third patient).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

AS_OF = "2021-06-30"
INFUSED_ON = dt.date(2021, 5, 3)


def _infuse(service: Any, subject: str, day: dt.date) -> None:
    service.insert_record(
        "admin",
        "infusion",
        {
            "subject_id": subject,
            "dose_level": 1,
            "infused_at": f"{day.isoformat()}T02:00:00Z",
            "weight_kg": 60.0,
            "cells_per_kg": 500000,
            "total_car_t_cells": 30000000,
        },
    )


def _end_study(service: Any, subject: str, disposition: str, day: dt.date) -> None:
    (row,) = service.find_records("admin", "subject", subject_id=subject)
    service.update_record(
        "admin",
        "subject",
        int(row["id"]),
        {"disposition": disposition, "disposition_date": day.isoformat()},
        int(row["version"]),
        "end of study",
    )


def _adverse_event(service: Any, subject: str, **values: Any) -> None:
    base = {
        "subject_id": subject,
        "grading_scale": "CTCAE",
        "grading_scale_version": "5.0",
        "serious": True,
        "relatedness": "unrelated",
        "dlt": False,
    }
    service.insert_record("admin", "adverse_event", {**base, **values})


def _state(study: Any, as_of: str = AS_OF) -> dict[str, Any]:
    answer = study.bearer("admin").get(f"/api/v1/escalation?as_of={as_of}")
    assert answer.status_code == 200, answer.text
    state = answer.json()
    assert state["available"] is True, state
    return state


def _patient(state: dict[str, Any], subject: str) -> dict[str, Any]:
    return next(p for p in state["patients"] if p["subject_id"] == subject)


def test_a_patient_withdrawn_inside_the_window_without_dlt_is_replaced_not_an_n(web_study):
    """CT-002 withdrawn on 2021-05-08 (day 5) without a DLT; CT-001 and CT-101 completed the window
    (closed 2021-05-25) without one. The design sees 2 evaluable patients at level 1, 0 DLT: 3+3 with fewer
    than 3 patients at the current dose → treat more there (stay, next dose 1), not 0/3 → escalate."""
    _infuse(web_study.service, "CT-002", INFUSED_ON)
    _end_study(web_study.service, "CT-002", "withdrawn: consent withdrawn", INFUSED_ON + dt.timedelta(days=5))
    state = _state(web_study)
    rec = state["recommendation"]
    assert rec["outcomes"] == "1NN"
    assert (rec["decision"], rec["next_dose"]) == ("stay", 1)
    assert rec["per_dose"][0] == {"dose_level": 1, "n": 2, "dlt": 0, "not_evaluable": 1}
    assert state["pending"]["outcomes"] == "1NN"
    assert state["pending"]["patients"] == ["CT-001", "CT-101", "CT-002"]
    ct002 = _patient(state, "CT-002")
    assert (ct002["dlt"], ct002["evaluable"], ct002["evaluation"], ct002["replace"]) == (
        False,
        False,
        "not evaluable",
        True,
    )
    assert ct002["reason_not_evaluable"].startswith(
        "left the study (withdrawal by subject) before completing"
    )
    assert _patient(state, "CT-001")["evaluation"] == "no DLT"
    page = web_study.session("admin").get("/escalation").text  # as of today: every window closed
    assert 'id="rec-decision">stay<' in page
    assert "not evaluable (replace)" in page and "left the study (withdrawal by subject)" in page


def test_a_withdrawn_patient_whose_window_has_not_closed_does_not_make_the_recommendation_provisional(
    web_study,
):
    """On 2021-05-28 CT-002's window would still be open on the calendar (it closes 2021-05-31), but CT-002
    left on day 5: there is nothing to wait for. The two others closed their windows on 2021-05-25."""
    _infuse(web_study.service, "CT-002", INFUSED_ON)
    _end_study(web_study.service, "CT-002", "lost", INFUSED_ON + dt.timedelta(days=5))
    state = _state(web_study, "2021-05-28")
    rec = state["recommendation"]
    assert (rec["outcomes"], rec["decision"], rec["provisional"]) == ("1NN", "stay", False)
    assert _patient(state, "CT-002")["reason_not_evaluable"].startswith("left the study (lost to follow-up)")


def test_a_death_inside_the_window_without_dlt_is_not_evaluable(web_study):
    """CT-002 dies on 2021-05-13 (day 10) of an unrelated grade 5 event (no DLT rule fires: the
    treatment-related death rule needs a possibly related death): not evaluable (D-19.83), replaced."""
    _infuse(web_study.service, "CT-002", INFUSED_ON)
    died = INFUSED_ON + dt.timedelta(days=10)
    _adverse_event(
        web_study.service,
        "CT-002",
        term="Death NOS",
        category="death",
        started_on=died.isoformat(),
        ended_on=died.isoformat(),
        grade=5,
        outcome="fatal",
    )
    _end_study(web_study.service, "CT-002", "death", died)
    state = _state(web_study)
    rec = state["recommendation"]
    assert (rec["outcomes"], rec["decision"], rec["next_dose"]) == ("1NN", "stay", 1)
    ct002 = _patient(state, "CT-002")
    assert ct002["replace"] and ct002["reason_not_evaluable"].startswith("died before completing")


def test_a_dlt_inside_the_window_stays_a_dlt_after_a_withdrawal(web_study):
    """CT-002 has an adverse event flagged DLT by the investigator on day 2 (the committee-judged rule), then
    withdraws on day 5: a DLT-evaluable patient with a DLT. 3+3 at level 1 with 1/3 → 3 more at level 1
    (stay)."""
    _infuse(web_study.service, "CT-002", INFUSED_ON)
    onset = INFUSED_ON + dt.timedelta(days=2)
    _adverse_event(
        web_study.service,
        "CT-002",
        term="Nausea",
        category="non_hematologic",
        started_on=onset.isoformat(),
        ended_on=(onset + dt.timedelta(days=1)).isoformat(),
        grade=3,
        relatedness="possible",
        dlt=True,
        outcome="recovered",
    )
    _end_study(web_study.service, "CT-002", "withdrawn", INFUSED_ON + dt.timedelta(days=5))
    state = _state(web_study)
    rec = state["recommendation"]
    assert (rec["outcomes"], rec["decision"], rec["next_dose"]) == ("1NNT", "stay", 1)
    assert rec["per_dose"][0] == {"dose_level": 1, "n": 3, "dlt": 1, "not_evaluable": 0}
    ct002 = _patient(state, "CT-002")
    assert (ct002["evaluation"], ct002["replace"]) == ("DLT", False)


def test_a_patient_on_study_inside_the_window_stays_pending(web_study):
    """CT-002 on study on 2021-05-28, its window open to 2021-05-31: counted (as no DLT so far) and the
    recommendation is provisional — 1NNN, 3+3 would escalate once the window closes without a DLT."""
    _infuse(web_study.service, "CT-002", INFUSED_ON)
    state = _state(web_study, "2021-05-28")
    rec = state["recommendation"]
    assert (rec["outcomes"], rec["decision"], rec["provisional"]) == ("1NNN", "escalate", True)
    ct002 = _patient(state, "CT-002")
    assert (ct002["evaluation"], ct002["replace"], ct002["window_open"]) == ("pending", False, True)


def test_a_replaced_patient_belongs_to_the_recorded_cohort_and_the_next_patient_is_pending(web_study):
    """The committee records cohort 1 as ``1NN`` (CT-002 withdrawn and replaced, the design's stay); CT-003,
    infused later at level 1, is the pending cohort: the design sees ``1NN 1N`` → 3 evaluable at level 1
    without DLT once its window closes (escalate). Before the fix, CT-002 took a letter of cohort 1 and
    CT-101 was pushed into the pending cohort."""
    service = web_study.service
    _infuse(service, "CT-002", INFUSED_ON)
    _end_study(service, "CT-002", "withdrawn", INFUSED_ON + dt.timedelta(days=5))
    client = web_study.bearer("dm")
    body = {"cohort": 1, "dose_level": 1, "decided_on": "2021-06-01", "outcomes": "1NN", "decision": "stay"}
    saved = client.post("/api/v1/escalation/decisions", json=body)
    assert saved.status_code == 201, saved.text
    assert saved.json()["differs"] is False
    with service.transaction("admin", "test setup") as tx:
        service.upsert_rows(
            tx,
            "subject",
            [{"subject_id": "CT-003", "site_id": "TJH", "consent_date": "2021-05-20", "sex": "M"}],
        )
    _infuse(service, "CT-003", dt.date(2021, 6, 2))
    state = _state(web_study, "2021-07-01")  # CT-003's window closed on 2021-06-30
    assert state["cohorts"][0]["patients"] == ["CT-001", "CT-101", "CT-002"]
    (replayed,) = state["replay"]  # the analysis's replay assigns the patients alike: no deviation
    assert (replayed["subjects"], replayed["replaced"], replayed["deviation"]) == (
        "CT-001 CT-101",
        "CT-002",
        "",
    )
    assert state["pending"] == {"patients": ["CT-003"], "outcomes": "1N", "dose_level": 1}
    rec = state["recommendation"]
    assert (rec["outcomes"], rec["decision"], rec["next_dose"], rec["provisional"]) == (
        "1NN 1N",
        "escalate",
        2,
        False,
    )
    page = web_study.session("admin").get("/escalation").text  # as of today
    assert "Cohort 1 · dose level 1 · decided stay" in page


def test_a_pending_cohort_of_replaced_patients_only_has_nothing_to_decide(web_study):
    """The committee records cohort 1 as ``1NN`` (CT-001, CT-101) on 2021-06-01; CT-002, infused on
    2021-06-02, withdraws on day 5: the pending cohort holds no outcome, the design still sees ``1NN``
    (stay), and the page offers no decision form (before the fix: ``1NN 1N`` and a decision to record)."""
    service = web_study.service
    body = {"cohort": 1, "dose_level": 1, "decided_on": "2021-06-01", "outcomes": "1NN", "decision": "stay"}
    assert web_study.bearer("dm").post("/api/v1/escalation/decisions", json=body).status_code == 201
    infused = dt.date(2021, 6, 2)
    _infuse(service, "CT-002", infused)
    _end_study(service, "CT-002", "withdrawn", infused + dt.timedelta(days=5))
    state = _state(web_study, "2021-07-15")
    assert state["pending"] == {"patients": ["CT-002"], "outcomes": "", "dose_level": 1}
    assert (state["recommendation"]["outcomes"], state["recommendation"]["decision"]) == ("1NN", "stay")
    page = web_study.session("dm").get("/escalation").text
    assert 'id="decision-form"' not in page
    assert "not evaluable (replace)" in page
