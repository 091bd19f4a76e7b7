"""The escalation state of a TITE-CRM protocol weighs each patient still inside the DLT window by the
follow-up so far (docs/science/dose-escalation.md §8, D-19.694).

TITE-CRM (Cheung & Chappell 2000; dfcrm `titecrm`, linear scheme): a patient without a DLT weighs
min(u / T, 1), u the follow-up so far, T the DLT window. The page fitted the design to the outcome letters
only, so a patient infused 3 days earlier counted as a full 28-day window without a DLT.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from cartrial import examples as cartrial_examples
from cartrial.escalation import TiteCrm, parse_outcomes
from cartrial.store import StudyService, connect, init_study

SKELETON = [0.12, 0.25]
TODAY = dt.date(2021, 6, 1)


def _protocol(tmp_path: Path) -> Path:
    text = (cartrial_examples.path("ct103a-nmosd") / "protocol.yaml").read_text(encoding="utf-8")
    text = text.replace(
        'design: "3+3"', 'design: "tite-crm"\n  target: 0.25\n  skeleton: [0.12, 0.25]\n  max_n: 12'
    )
    text = text.replace("  variant: deescalation\n", "").replace("cohort_size: 3 ", "cohort_size: 1 ")
    path = tmp_path / "protocol.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _study(tmp_path: Path) -> Any:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    init_study(url, _protocol(tmp_path), "admin", admin_site="TJH", admin_password="test-password-0123")
    service = StudyService(connect(url))
    infusions = {
        "S-1": (1, "2021-04-01"),
        "S-2": (1, "2021-04-02"),
        "S-3": (2, "2021-05-01"),
        "S-4": (2, "2021-05-29"),
    }
    with service.transaction("admin", "test setup") as tx:
        service.upsert_rows(
            tx,
            "subject",
            [
                {"subject_id": s, "site_id": "TJH", "consent_date": "2021-03-01", "sex": "F"}
                for s in infusions
            ],
        )
    for subject, (level, day) in infusions.items():
        service.insert_record(
            "admin",
            "infusion",
            {
                "subject_id": subject,
                "dose_level": level,
                "infused_at": f"{day}T02:00:00Z",
                "weight_kg": 60.0,
                "cells_per_kg": 500000 * level,
                "total_car_t_cells": 30000000 * level,
            },
        )
    # S-3: a DLT on day 4 (the committee-judged rule reads the investigator's DLT flag)
    _dlt(service, "S-3", "2021-05-05", "2021-05-07")
    return service


def _dlt(service: Any, subject: str, started_on: str, ended_on: str) -> None:
    """A grade-3 serious adverse event the investigator flagged as a DLT."""
    service.insert_record(
        "admin",
        "adverse_event",
        {
            "subject_id": subject,
            "term": "Nausea",
            "category": "non_hematologic",
            "started_on": started_on,
            "ended_on": ended_on,
            "grade": 3,
            "grading_scale": "CTCAE",
            "grading_scale_version": "5.0",
            "serious": True,
            "relatedness": "possible",
            "dlt": True,
        },
    )


def _decide(
    service: Any, decided_on: str, outcomes: str, decision: str, raised: list[Any] | None = None
) -> None:
    """Cohort 1 (level 1) recorded `outcomes` and `decision` on `decided_on`."""
    service.insert_record(
        "admin",
        "escalation_decision",
        {"cohort": 1, "dose_level": 1, "decided_on": decided_on, "outcomes": outcomes, "decision": decision},
        raised=[] if raised is None else raised,
    )


def _withdraw_s1(service: Any) -> None:
    """S-1 left the study on 2021-04-15 (day 14)."""
    with service.transaction("admin", "test withdrawal", "withdrew") as tx:
        service.upsert_rows(
            tx,
            "subject",
            [
                {
                    "subject_id": "S-1",
                    "site_id": "TJH",
                    "consent_date": "2021-03-01",
                    "sex": "F",
                    "disposition": "withdrawn",
                    "disposition_date": "2021-04-15",
                }
            ],
        )


def test_a_patient_inside_the_window_weighs_the_follow_up_so_far(tmp_path: Path) -> None:
    """S-1, S-2 (level 1) and S-3 (level 2, DLT on day 4) are complete; S-4 (level 2) was infused on
    2021-05-29: 3 days of follow-up on 2021-06-01, weight 3/28. By the TITE-CRM rule the next dose is that of
    `1N 1N 2T 2N` with follow-up (28, 28, 4, 3); taken as fully followed (the CRM) it would be level 2."""
    from cartrial.web.escalation import escalation_state

    state = escalation_state(_study(tmp_path), None, TODAY)
    rec = state["recommendation"]
    assert rec["outcomes"] == "1NN 2TN"
    # by quadrature of the weighted empiric likelihood, N(0, 1.34) prior (independent of the engine):
    # follow-up (28, 28, 4, 3) beta-hat -0.367497, p (0.230, 0.383): level 1; fully followed beta-hat
    # -0.175675, p (0.169, 0.313): level 2 (the case distinguishes the two)
    assert rec["next_dose"] == 1
    # the case distinguishes the two: the same history taken as fully followed gives level 2
    design = TiteCrm(SKELETON, 0.25, window_days=28, cohort_size=1)
    assert design.fit(parse_outcomes("1N 1N 2T 2N", 2)).next_dose == 2
    assert rec["provisional"] is True


def _dlt_of_s1(service: Any) -> None:
    """S-1 (level 1, infused 2021-04-01): a DLT on 2021-04-10, day 9."""
    _dlt(service, "S-1", "2021-04-10", "2021-04-12")


def test_a_dlt_after_its_cohort_s_decision_is_counted_on_the_page(tmp_path: Path) -> None:
    """Cohort 1 (S-1) recorded `1N` on 2021-04-02, as the TITE-CRM decides early; S-1's DLT came on day 9.
    On 2021-06-01 the design weighs S-1's DLT, not the stale letter (D-19.696): level 1 has 2 patients and
    1 DLT, level 2 2 patients and 1 DLT. Quadrature with DLTs (1, 0, 1, 0), weights (1, 1, 1, 3/28):
    beta-hat -1.068256, p (0.483, 0.621): level 1. The page listed S-1 as "DLT" but counted 0 DLTs at
    level 1. The decision is the TITE-CRM's rule, not a DECISION-BEFORE-DLT-WINDOW query (D-19.697)."""
    from cartrial.web.escalation import escalation_state

    service = _study(tmp_path)
    raised: list[Any] = []
    _decide(service, "2021-04-02", "1N", "escalate", raised=raised)
    assert [q.check for q in raised] == []
    _dlt_of_s1(service)
    state = escalation_state(service, None, TODAY)
    rec = state["recommendation"]
    assert [(d["n"], d["dlt"]) for d in rec["per_dose"]] == [(2, 1), (2, 1)]
    assert rec["next_dose"] == 1
    (row,) = state["replay"]
    assert row["window_rule"] is False
    assert row["deviation"] == ""  # S-1's DLT came after the decision: its letter N was right then


def test_a_recorded_dlt_letter_is_counted_on_the_page_though_no_rule_fires(tmp_path: Path) -> None:
    """Cohort 1 (S-1) recorded `1T` on 2021-04-20 (the investigator's DLT); no protocol rule fires on S-1's
    records. The page never drops the site's recorded DLT (D-19.698): level 1 has 2 patients and 1 DLT (it
    fitted `1N 1N 2TN`, 0 DLTs at level 1). Quadrature with DLTs (1, 0, 1, 0), weights (1, 1, 1, 3/28):
    beta-hat -1.068256: level 1; the replay's design stays, as recorded."""
    from cartrial.web.escalation import escalation_state

    service = _study(tmp_path)
    _decide(service, "2021-04-20", "1T", "stay")
    state = escalation_state(service, None, TODAY)
    rec = state["recommendation"]
    assert rec["outcomes"].startswith("1T ")
    assert [(d["n"], d["dlt"]) for d in rec["per_dose"]] == [(2, 1), (2, 1)]
    assert rec["next_dose"] == 1
    (row,) = state["replay"]
    assert row["design_decision"] == "stay"


def test_a_replaced_patient_s_recorded_dlt_letter_is_counted_on_the_page(tmp_path: Path) -> None:
    """Cohort 1 (S-1) recorded `1T` on 2021-04-01, the day of S-1's infusion (the investigator's DLT); S-1
    then left the study on 2021-04-15 (day 14) with no DLT by the protocol's rules: not DLT-evaluable,
    replaced. The site's recorded DLT is never dropped (D-19.698, D-19.83): level 1 counts S-1 with its
    letter's DLT and S-2 (2 patients, 1 DLT); the page left S-1 out (1 patient, 0 DLTs)."""
    from cartrial.web.escalation import escalation_state

    service = _study(tmp_path)
    _withdraw_s1(service)
    _decide(service, "2021-04-01", "1T", "stay")
    state = escalation_state(service, None, TODAY)
    evaluation = {q["subject_id"]: q["evaluation"] for q in state["patients"]}
    assert evaluation["S-1"] == "not evaluable"
    rec = state["recommendation"]
    assert [(d["n"], d["dlt"]) for d in rec["per_dose"]] == [(2, 1), (2, 1)]


def test_the_page_gives_a_cohort_s_letter_to_the_patient_the_replay_gives_it(tmp_path: Path) -> None:
    """Cohort 1 recorded `1T` on 2021-04-05 (S-1 and S-2 infused by then); S-1 left the study on 2021-04-15,
    after the decision: still on study at it, so the replay gives S-1 the letter (D-19.700). The page, which
    grouped patients without their leave dates, gave the letter to S-2 and left S-1 out (level 1: 1
    patient, 1 DLT); with them it groups as the replay does: cohort 1 is S-1, whose recorded DLT counts, and
    S-2 is the next cohort's (level 1: 2 patients, 1 DLT)."""
    from cartrial.web.escalation import escalation_state

    service = _study(tmp_path)
    _withdraw_s1(service)
    _decide(service, "2021-04-05", "1T", "stay")
    state = escalation_state(service, None, TODAY)
    (row,) = state["replay"]
    assert row["subjects"] == "S-1"
    assert state["cohorts"][0]["patients"] == ["S-1"]
    assert [(d["n"], d["dlt"]) for d in state["recommendation"]["per_dose"]] == [(2, 1), (2, 1)]


def test_a_cohort_s_dlt_letter_goes_to_the_patient_with_the_dlt_on_the_page(tmp_path: Path) -> None:
    """Cohort 1 (S-1, S-2) recorded `1TN` on 2021-04-20; the DLT was S-2's (2021-04-05, day 3). The site
    recorded one DLT at level 1 and the assessment gives one: the page counts one (level 1: 2 patients, 1
    DLT), not two (S-1 taking the `T` by its position, S-2 the assessment's DLT; D-19.701)."""
    from cartrial.web.escalation import escalation_state

    service = _study(tmp_path)
    _dlt(service, "S-2", "2021-04-05", "2021-04-07")
    _decide(service, "2021-04-20", "1TN", "stay")
    state = escalation_state(service, None, TODAY)
    assert [(d["n"], d["dlt"]) for d in state["recommendation"]["per_dose"]] == [(2, 1), (2, 1)]
    (row,) = state["replay"]
    assert "the outcome letter says" not in row["deviation"]
