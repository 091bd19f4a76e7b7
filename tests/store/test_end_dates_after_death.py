"""RECORD-AFTER-DEATH also compares an adverse event's end (``ended_on``) and a therapy's stop
(``stopped_at``) with the date of death (D-19.727): a record that ends after the subject died is as
impossible as one that starts after it, and the CDISC export lists the same dates (AEENDTC, CMENDTC).

By hand: the fatal event FATAL (CT-001) ends on 2021-06-12, the date of death (D-19.83). A pneumonia from
2021-06-01 to 2021-06-20 ends eight days after it (queried); one ending on 2021-06-12 ends on the day of
death (not queried). A tocilizumab given 2021-06-05 and stopped 2021-06-15 stops after the death (queried);
corrected to 2021-06-11 its query is closed.
"""

from __future__ import annotations

from pathlib import Path

from cartrial.store import StudyService, connect
from cartrial.store.importing import import_templates

from .test_death_checks import FATAL, assert_no_values, death_findings, queries, small_study

ENDS_AFTER = "CT-001,Pneumonia,,infection,2021-06-01,2021-06-20,3,CTCAE,5.0,true,possible,false,,recovered,,"
ENDS_SAME_DAY = (
    "CT-001,Fever,,non_hematologic,2021-06-01,2021-06-12,1,CTCAE,5.0,false,possible,false,,recovered,,"
)
# `empty_study_url` (tests/store/conftest.py): each test's own copy of the session's initialised empty study,
# a SQLite file or a PostgreSQL database copied from the template (no migrations run per test)


def test_an_adverse_event_ending_after_the_death_is_queried(empty_study_url: str, tmp_path: Path) -> None:
    folder = small_study(tmp_path / "in", (FATAL, ENDS_AFTER, ENDS_SAME_DAY))
    planned = death_findings(import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks)
    assert sorted((f.check.id, f.record.row, f.field) for f in planned) == [
        ("RECORD-AFTER-DEATH", 3, "ended_on")
    ]
    assert "adverse_event.ended_on is after the subject's date of death" in planned[0].message
    assert_no_values(planned[0])
    import_templates(empty_study_url, folder, "admin")
    assert sorted((q["table_name"], q["field"], q["status"]) for q in queries(empty_study_url)) == [
        ("adverse_event", "ended_on", "open")
    ]


def test_a_stored_adverse_event_ending_after_a_later_recorded_death_is_queried(
    empty_study_url: str, tmp_path: Path
) -> None:
    import_templates(empty_study_url, small_study(tmp_path / "first", (ENDS_AFTER,)), "admin")
    service = StudyService(connect(empty_study_url))
    (stored,) = service.find_records("admin", "adverse_event")
    folder = small_study(tmp_path / "second", (FATAL,))
    planned = death_findings(import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks)
    assert [(f.record.table, f.record.record_id, f.field) for f in planned] == [
        ("adverse_event", stored["id"], "ended_on")
    ]


def test_a_therapy_stopped_after_the_death_is_queried_and_closed_when_corrected(
    empty_study_url: str, tmp_path: Path
) -> None:
    import_templates(empty_study_url, small_study(tmp_path / "in", (FATAL,)), "admin")
    service = StudyService(connect(empty_study_url))
    therapy = {
        "subject_id": "CT-001",
        "therapy": "tocilizumab",
        "given_at": "2021-06-05T14:00:00Z",
        "stopped_at": "2021-06-15T08:00:00Z",
    }
    record_id = service.insert_record("admin", "therapy", therapy)
    (query,) = queries(empty_study_url)
    assert (query["table_name"], query["record_id"], query["field"], query["status"]) == (
        "therapy",
        record_id,
        "stopped_at",
        "open",
    )
    stored = service.get_record("admin", "therapy", record_id)
    service.update_record(
        "admin",
        "therapy",
        record_id,
        {"stopped_at": "2021-06-11T08:00:00Z"},
        int(stored["version"]),
        "typing slip",
    )
    assert [q["status"] for q in queries(empty_study_url)] == ["closed"]


TOCILIZUMAB = {"subject_id": "CT-001", "therapy": "tocilizumab", "given_at": "2021-06-05T14:00:00Z"}
FATAL_EVENT = {
    "subject_id": "CT-001",
    "term": "Sepsis",
    "category": "infection",
    "started_on": "2021-06-10",
    "ended_on": "2021-06-12",
    "grade": 5,
    "grading_scale": "CTCAE",
    "grading_scale_version": "5.0",
    "serious": True,
    "relatedness": "possible",
    "dlt": False,
    "outcome": "fatal",
}


def test_a_stored_therapy_stopping_after_a_death_an_import_records_is_queried(
    empty_study_url: str, tmp_path: Path
) -> None:
    """The therapy is stored by a single write (no import form carries `stopped_at`); a later import records
    the death: the stored records the import reads for the new death include the therapy by its stop
    (edit_checks `_stored_after_death`, D-19.727). By hand: stop 2021-06-15 > death 2021-06-12."""
    import_templates(empty_study_url, small_study(tmp_path / "first"), "admin")
    service = StudyService(connect(empty_study_url))
    record_id = service.insert_record(
        "admin", "therapy", {**TOCILIZUMAB, "stopped_at": "2021-06-15T08:00:00Z"}
    )
    assert queries(empty_study_url) == []  # no death yet
    folder = small_study(tmp_path / "second", (FATAL,))
    planned = death_findings(import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks)
    assert [(f.check.id, f.record.table, f.record.record_id, f.field) for f in planned] == [
        ("RECORD-AFTER-DEATH", "therapy", record_id, "stopped_at")
    ]
    assert "therapy.stopped_at is after the subject's date of death" in planned[0].message
    assert_no_values(planned[0])
    import_templates(empty_study_url, folder, "admin")
    assert [(q["table_name"], q["record_id"], q["field"], q["status"]) for q in queries(empty_study_url)] == [
        ("therapy", record_id, "stopped_at", "open")
    ]


def test_a_fatal_event_written_after_the_therapy_queries_its_stop(
    empty_study_url: str, tmp_path: Path
) -> None:
    """The other order: the therapy stored first, the fatal event then entered by a single write."""
    import_templates(empty_study_url, small_study(tmp_path / "in"), "admin")
    service = StudyService(connect(empty_study_url))
    record_id = service.insert_record(
        "admin", "therapy", {**TOCILIZUMAB, "stopped_at": "2021-06-15T08:00:00Z"}
    )
    assert queries(empty_study_url) == []
    service.insert_record("admin", "adverse_event", FATAL_EVENT)
    assert [(q["table_name"], q["record_id"], q["field"], q["status"]) for q in queries(empty_study_url)] == [
        ("therapy", record_id, "stopped_at", "open")
    ]


def test_a_stop_is_read_on_the_site_calendar(empty_study_url: str, tmp_path: Path) -> None:
    """TJH is in Asia/Shanghai (UTC+8 in June, no DST): 2021-06-12T08:00Z is 16:00 and 15:59Z is 23:59 on
    12 June, the day of death (not after it: not queried); 16:00Z is 00:00 on 13 June (queried)."""
    import_templates(empty_study_url, small_study(tmp_path / "in", (FATAL,)), "admin")
    service = StudyService(connect(empty_study_url))
    ids = {
        stop: service.insert_record(
            "admin", "therapy", {**TOCILIZUMAB, "given_at": f"2021-06-0{day}T14:00:00Z", "stopped_at": stop}
        )
        for day, stop in (
            (5, "2021-06-12T08:00:00Z"),
            (6, "2021-06-12T15:59:00Z"),
            (7, "2021-06-12T16:00:00Z"),
        )
    }
    assert [(q["table_name"], q["record_id"], q["field"], q["status"]) for q in queries(empty_study_url)] == [
        ("therapy", ids["2021-06-12T16:00:00Z"], "stopped_at", "open")
    ]


def test_an_event_starting_and_ending_after_the_death_is_queried_once_per_date(
    empty_study_url: str, tmp_path: Path
) -> None:
    """D-19.727: one query per date field, each its own correction (a start typed in the wrong month need
    not mean the end is wrong too)."""
    late = "CT-001,Pneumonia,,infection,2021-06-14,2021-06-20,3,CTCAE,5.0,true,possible,false,,recovered,,"
    folder = small_study(tmp_path / "in", (FATAL, late))
    planned = death_findings(import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks)
    assert sorted((f.check.id, f.record.row, f.field) for f in planned) == [
        ("RECORD-AFTER-DEATH", 3, "ended_on"),
        ("RECORD-AFTER-DEATH", 3, "started_on"),
    ]


def test_deleting_the_therapy_closes_its_system_query_and_keeps_a_persons(
    empty_study_url: str, tmp_path: Path
) -> None:
    """D-19.731: the therapy stopped after the death is deleted (entered for the wrong subject): its
    RECORD-AFTER-DEATH query was left open, asking about a record that no longer exists. Now the system
    closes it, audited as the edit-check user with the reason "the record was found deleted"; a query a
    person raised on the record stays open (a person asked it; a person closes it)."""
    import json

    from cartrial.store.edit_checks import EDIT_CHECK_USER

    from .test_store_data_quality import audit_of

    import_templates(empty_study_url, small_study(tmp_path / "in", (FATAL,)), "admin")
    service = StudyService(connect(empty_study_url))
    record_id = service.insert_record(
        "admin", "therapy", {**TOCILIZUMAB, "stopped_at": "2021-06-15T08:00:00Z"}
    )
    (query,) = queries(empty_study_url)
    human = service.raise_query("admin", "therapy", record_id, "Please confirm the stop time.")
    service.delete_record("admin", "therapy", record_id, "entered for the wrong subject")
    by_code = {q["query_code"]: q for q in service.find_records("admin", "data_query")}
    assert by_code[query["query_code"]]["status"] == "closed"
    assert by_code[human]["status"] == "open"
    (closure,) = [r for r in audit_of(empty_study_url, str(query["query_code"])) if r["action"] == "update"]
    assert closure["username"] == EDIT_CHECK_USER and json.loads(str(closure["new_value"])) == "closed"
    assert "the record was found deleted" in str(closure["reason"])
    assert "by the write" not in str(closure["reason"])  # names no write: a later one may find it gone
    assert "RECORD-AFTER-DEATH" in str(closure["reason"])
