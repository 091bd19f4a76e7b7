"""Two fatal adverse events of one subject that date the death on different days (D-19.794).

A subject dies once: each fatal adverse event (grade 5, category death or outcome fatal) dates the death by
its end date, else its onset (D-19.83). Two such events with different dates were stored without a word:
RECORD-AFTER-DEATH exempts a fatal event's end (D-19.727), DEATH-DATE-MISMATCH compares the disposition
date with the earliest event only. The soft check DEATH-DATES-DIFFER queries the fatal event whose date of
death is not the subject's (the earliest, the one the analysis reads), naming the other event by its
location, never a value: by import (dry run lists it), by a single write, on both backends.

By hand: FATAL (tests/store/test_death_checks.py) ends on 2021-06-12, the date of death; CARDIAC, fatal,
starts on 2021-06-08 (before that death: no RECORD-AFTER-DEATH) and ends on 2021-06-15, another date of
death; SAME_DAY ends on 2021-06-12, the same date.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cartrial.store import StudyService, connect
from cartrial.store.edit_checks import CHECKS_BY_ID, EDIT_CHECK_USER, Severity
from cartrial.store.importing import import_templates
from cartrial.store.writes import preview_write_checks

from ..conftest import TEST_PASSWORD, Cli
from .conftest import PROTOCOL
from .test_death_checks import FATAL, assert_no_values, small_study

CHECK = "DEATH-DATES-DIFFER"
CARDIAC = "CT-001,Cardiac arrest,,death,2021-06-08,2021-06-15,5,CTCAE,5.0,true,possible,false,,fatal,,"
SAME_DAY = "CT-001,Cardiac arrest,,death,2021-06-08,2021-06-12,5,CTCAE,5.0,true,possible,false,,fatal,,"


@pytest.fixture
def empty_study_url(db_url: str) -> str:
    from cartrial.store.study_setup import init_study

    init_study(db_url, PROTOCOL, "admin", admin_password=TEST_PASSWORD)
    return db_url


def queries(url: str) -> list[dict[str, object]]:
    service = StudyService(connect(url))
    return [
        q
        for q in service.find_records("admin", "data_query")
        if q["raised_by"] == EDIT_CHECK_USER and str(q["text"]).split(" ")[2] == CHECK
    ]


def test_the_check_is_soft_with_a_rule_and_a_source() -> None:
    check = CHECKS_BY_ID[CHECK]
    assert check.severity is Severity.SOFT and check.rule and check.source


def test_two_fatal_events_dated_differently_are_imported_and_queried(
    empty_study_url: str, tmp_path: Path
) -> None:
    folder = small_study(tmp_path / "in", (FATAL, CARDIAC))
    planned = [
        f
        for f in import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
        if f.check.id == CHECK
    ]
    assert [(Path(str(f.record.file)).name, f.record.row, f.field) for f in planned] == [
        ("adverse_events.csv", 3, "ended_on")
    ]
    assert_no_values(planned[0])
    assert "adverse_events.csv row 2" in planned[0].message  # the event dating the death, by location
    import_templates(empty_study_url, folder, "admin")
    service = StudyService(connect(empty_study_url))
    assert len(service.find_records("admin", "adverse_event")) == 2  # soft: stored as given
    (query,) = queries(empty_study_url)
    (cardiac,) = service.find_records("admin", "adverse_event", term="Cardiac arrest")
    assert (query["table_name"], query["record_id"], query["field"]) == (
        "adverse_event",
        cardiac["id"],
        "ended_on",
    )


def test_two_fatal_events_on_the_same_date_raise_none(empty_study_url: str, tmp_path: Path) -> None:
    folder = small_study(tmp_path / "in", (FATAL, SAME_DAY))
    found = import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
    assert [f for f in found if f.check.id == CHECK] == []


def test_a_second_fatal_event_entered_on_the_form_is_queried(empty_study_url: str, tmp_path: Path) -> None:
    """The single write (web form and API path): a fatal event dated before the stored one becomes the date
    of death; the stored event, whose date now differs, is queried (located by table and id)."""
    import_templates(empty_study_url, small_study(tmp_path / "in", (FATAL,)), "admin")
    assert queries(empty_study_url) == []
    service = StudyService(connect(empty_study_url))
    (stored,) = service.find_records("admin", "adverse_event")
    event = {
        "subject_id": "CT-001",
        "term": "Cardiac arrest",
        "category": "death",
        "started_on": dt.date(2021, 6, 9),
        "grade": 5,
        "grading_scale": "CTCAE",
        "grading_scale_version": "5.0",
        "serious": True,
        "outcome": "fatal",
    }
    with service.engine.connect() as connection:  # the live check of the form and the API, before saving
        live = [f for f in preview_write_checks(connection, "adverse_event", event) if f.check.id == CHECK]
    assert [(f.record.table, f.record.record_id, f.field) for f in live] == [
        ("adverse_event", stored["id"], "ended_on")
    ]
    new_id = service.insert_record("admin", "adverse_event", event)
    (query,) = queries(empty_study_url)  # the stored event ends 2021-06-12, the new one dates 2021-06-09
    assert (query["table_name"], query["record_id"], query["field"]) == (
        "adverse_event",
        stored["id"],
        "ended_on",
    )
    assert "adverse_event record" in str(query["text"]) and "2021" not in str(query["text"])
    assert new_id != stored["id"]


def test_the_dry_run_of_the_command_lists_it(cli: Cli, empty_study_url: str, tmp_path: Path) -> None:
    folder = small_study(tmp_path / "in", (FATAL, CARDIAC))
    result = cli("import", "templates", folder, "--url", empty_study_url, "--user", "admin", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert CHECK in result.stdout + result.stderr
