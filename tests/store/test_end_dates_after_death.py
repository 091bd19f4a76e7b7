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

import pytest

from cartrial.store import StudyService, connect
from cartrial.store.importing import import_templates

from .conftest import PROTOCOL
from .test_death_checks import FATAL, death_findings, queries, small_study

ENDS_AFTER = "CT-001,Pneumonia,,infection,2021-06-01,2021-06-20,3,CTCAE,5.0,true,possible,false,,recovered,,"
ENDS_SAME_DAY = (
    "CT-001,Fever,,non_hematologic,2021-06-01,2021-06-12,1,CTCAE,5.0,false,possible,false,,recovered,,"
)


@pytest.fixture
def empty_study_url(db_url: str) -> str:
    from cartrial.store.study_setup import init_study

    init_study(db_url, PROTOCOL, "admin")
    return db_url


def test_an_adverse_event_ending_after_the_death_is_queried(empty_study_url: str, tmp_path: Path) -> None:
    folder = small_study(tmp_path / "in", (FATAL, ENDS_AFTER, ENDS_SAME_DAY))
    planned = death_findings(import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks)
    assert sorted((f.check.id, f.record.row, f.field) for f in planned) == [
        ("RECORD-AFTER-DEATH", 3, "ended_on")
    ]
    assert "adverse_event.ended_on is after the subject's date of death" in planned[0].message
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
