"""A delete re-runs the reconciling edit checks of the subject's remaining records (D-19.103).

Deleting a record changed what other records of the subject say without any check: deleting the only
fatal adverse event of a subject whose disposition is ``death`` left the disposition without a death
(DEATH-WITHOUT-FATAL-AE unraised), and deleting the earlier of two fatal events moved the date of death
away from ``subject.disposition_date`` (DEATH-DATE-MISMATCH unraised). The delete now raises the soft
queries it creates, in its own transaction, through the store API, the web API and ``cartrial db delete``
alike (one path, `cartrial.store.writes.delete_record`).

The study (`make_study`, a real SQLite file): CT-001 consented 2021-05-06, infused 2021-06-01; a fatal
sepsis from 2021-06-10 to 2021-06-12 (the date of death is its end date, D-19.83) and a disposition
``death`` on 2021-06-12, which agree; a second fatal event ending on 2021-06-20 in the second test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cartrial.store import StudyService
from cartrial.store.edit_checks import EDIT_CHECK_USER

from ..conftest import Cli
from .conftest import make_study

INFUSION = {
    "subject_id": "CT-001",
    "infused_at": "2021-06-01T02:00:00Z",
    "dose_level": 1,
    "weight_kg": 58.0,
    "cells_per_kg": 5e5,
    "total_car_t_cells": 2.9e7,
}


def adverse_event(term: str, started_on: str, ended_on: str, grade: int, outcome: str) -> dict[str, object]:
    return {
        "subject_id": "CT-001",
        "term": term,
        "category": "infection",
        "started_on": started_on,
        "ended_on": ended_on,
        "grade": grade,
        "grading_scale": "CTCAE",
        "grading_scale_version": "5.0",
        "serious": grade >= 3,
        "serious_death": grade == 5,  # ICH E2A criteria of a serious event (D-19.328)
        "serious_hospitalisation": 3 <= grade < 5,
        "relatedness": "possible",
        "dlt": False,
        "outcome": outcome,
    }


SEPSIS = adverse_event("Sepsis", "2021-06-10", "2021-06-12", 5, "fatal")
LATER_DEATH = adverse_event("Pneumonia", "2021-06-08", "2021-06-20", 5, "fatal")
FEVER = adverse_event("Fever", "2021-06-03", "2021-06-04", 1, "recovered")


def edit_check_queries(service: StudyService) -> list[dict[str, object]]:
    return [q for q in service.find_records("admin", "data_query") if q["raised_by"] == EDIT_CHECK_USER]


def check_of(query: dict[str, object]) -> str:
    return str(query["text"]).split(" ")[2]


@pytest.fixture
def dead_subject(tmp_path: Path) -> tuple[str, StudyService, dict[str, int]]:
    """CT-001 infused, dead of sepsis, disposition death on the day of death; no edit-check query."""
    url = f"sqlite:///{tmp_path / 'study.db'}"
    service = make_study(url).service
    ids = {
        "infusion": service.insert_record("admin", "infusion", INFUSION),
        "fever": service.insert_record("admin", "adverse_event", FEVER),
        "sepsis": service.insert_record("admin", "adverse_event", SEPSIS),
    }
    (subject,) = service.find_records("admin", "subject", subject_id="CT-001")
    ids["subject"] = int(subject["id"])
    service.update_record(
        "admin",
        "subject",
        ids["subject"],
        {"disposition": "death", "disposition_date": "2021-06-12"},
        int(subject["version"]),
        "died of sepsis",
    )
    assert edit_check_queries(service) == []  # consistent: the case starts clean
    return url, service, ids


def test_deleting_the_only_fatal_event_of_a_dead_subject_queries_the_disposition(
    dead_subject: tuple[str, StudyService, dict[str, int]],
) -> None:
    _, service, ids = dead_subject
    service.delete_record("admin", "adverse_event", ids["fever"], "entered twice")
    assert edit_check_queries(service) == []  # a delete that breaks nothing raises nothing
    service.delete_record("admin", "adverse_event", ids["sepsis"], "entered for the wrong subject")
    (query,) = edit_check_queries(service)
    assert check_of(query) == "DEATH-WITHOUT-FATAL-AE"
    assert (
        query["table_name"],
        query["record_id"],
        query["field"],
        query["subject_id"],
        query["status"],
    ) == (
        "subject",
        ids["subject"],
        "disposition",
        "CT-001",
        "open",
    )
    for value in ("2021", "Sepsis", "infection"):  # the text names fields, never a record's value
        assert value not in str(query["text"]), query["text"]
    # entered again: the condition no longer holds and the system closes the query (D-19.164); deleted
    # again: the check fires anew and raises a new query (a system closure does not stand for a value)
    service.insert_record("admin", "adverse_event", SEPSIS)
    assert [q["status"] for q in edit_check_queries(service)] == ["closed"]
    (again,) = [r for r in service.find_records("admin", "adverse_event") if r["term"] == "Sepsis"]
    service.delete_record("admin", "adverse_event", int(again["id"]), "entered for the wrong subject")
    assert sorted(str(q["status"]) for q in edit_check_queries(service)) == ["closed", "open"]
    assert service.verify_audit().ok
    # the query is raised by the edit-check user, audited as such in the delete's transaction
    raised = [r for r in service.audit_history("CT-001", actor="admin") if r["table_name"] == "data_query"]
    assert raised and all(r["username"] == EDIT_CHECK_USER for r in raised)


def test_cli_delete_of_the_earlier_fatal_event_queries_the_death_date(
    dead_subject: tuple[str, StudyService, dict[str, int]], cli: Cli
) -> None:
    """The earlier death (2021-06-12) deleted, the later fatal event dates the death on 2021-06-20, which
    is not subject.disposition_date (2021-06-12): DEATH-DATE-MISMATCH on the subject."""
    url, service, ids = dead_subject
    later = service.insert_record("admin", "adverse_event", LATER_DEATH)
    # the earlier event still dates the death; the second fatal event dates it on another day, which
    # DEATH-DATES-DIFFER queries at the later event (D-19.794; before that check, no query: changed by design)
    (differ,) = edit_check_queries(service)
    assert check_of(differ) == "DEATH-DATES-DIFFER"
    assert (differ["table_name"], differ["record_id"], differ["field"]) == (
        "adverse_event",
        later,
        "ended_on",
    )
    result = cli(
        "db",
        "delete",
        "adverse_event",
        str(ids["sepsis"]),
        "--reason",
        "wrong subject",
        "--url",
        url,
        "--user",
        "admin",
    )
    assert result.exit_code == 0, result.stderr
    assert f"adverse_event record {ids['sepsis']} deleted" in result.stdout
    # one fatal event left: the system closes the DEATH-DATES-DIFFER query (D-19.164) and the death date
    # now disagrees with the disposition
    queries = edit_check_queries(service)
    assert [(check_of(q), q["status"]) for q in queries if q["id"] == differ["id"]] == [
        ("DEATH-DATES-DIFFER", "closed")
    ]
    (query,) = [q for q in queries if q["id"] != differ["id"]]
    assert check_of(query) == "DEATH-DATE-MISMATCH"
    assert (query["table_name"], query["record_id"], query["field"]) == (
        "subject",
        ids["subject"],
        "disposition_date",
    )
    text = str(query["text"])
    assert f"adverse_event record {later}" in text  # the event now dating the death, by location
    assert "2021-06-20" not in text and "2021-06-12" not in text
    assert service.verify_audit().ok
