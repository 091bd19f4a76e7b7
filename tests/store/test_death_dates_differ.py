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

from ..conftest import Cli
from .test_death_checks import FATAL, assert_no_values, small_study

CHECK = "DEATH-DATES-DIFFER"
CARDIAC = "CT-001,Cardiac arrest,,death,2021-06-08,2021-06-15,5,CTCAE,5.0,true,possible,false,,fatal,,"
SAME_DAY = "CT-001,Cardiac arrest,,death,2021-06-08,2021-06-12,5,CTCAE,5.0,true,possible,false,,fatal,,"


@pytest.fixture
def empty_study_url(password_study_url: str) -> str:
    """The initialised empty study whose admin signs in with the test password (the CLI test acts as them):
    each test's own copy of the session template (tests/store/conftest.py)."""
    return password_study_url


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
        "ended_on": dt.date(2021, 6, 9),  # dated by its end: an onset alone is queried for it (D-19.794)
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


ONSET_ONLY = "CT-001,Cardiac arrest,,death,2021-06-05,,5,CTCAE,5.0,true,possible,false,,fatal,,"
"""A fatal event with an onset (2021-06-05, before FATAL's death on 2021-06-12) and no end date."""
STARTS_AFTER = "CT-001,Cardiac arrest,,death,2021-06-14,,5,CTCAE,5.0,true,possible,false,,fatal,,"
"""A fatal event starting on 2021-06-14, after FATAL's death on 2021-06-12, with no end date."""


def planned_death_checks(url: str, folder: Path) -> list[tuple[str, int, str]]:
    return sorted(
        (f.check.id, int(f.record.row or 0), f.field)
        for f in import_templates(url, folder, "admin", dry_run=True).edit_checks
        if f.check.id in (CHECK, "RECORD-AFTER-DEATH")
    )


def test_an_earliest_fatal_event_dated_by_its_onset_only_is_queried_for_its_end_date(
    empty_study_url: str, tmp_path: Path
) -> None:
    """Review of D-19.794: ONSET_ONLY (row 3) dates the death by its onset, 06-05, the earliest; FATAL (row
    2) ends 06-12. The query went to FATAL.ended_on, a complete record, and ONSET_ONLY's missing end date —
    the likelier error — got nothing. It now goes to ONSET_ONLY.ended_on (value-free); FATAL's end date is
    not queried by this check (its onset after 06-05 stays RECORD-AFTER-DEATH's, a separate check)."""
    folder = small_study(tmp_path / "in", (FATAL, ONSET_ONLY))
    found = [f for f in planned_death_checks(empty_study_url, folder) if f[0] == CHECK]
    assert found == [(CHECK, 3, "ended_on")]


def test_a_fatal_event_starting_after_the_death_is_queried_once_for_its_onset(
    empty_study_url: str, tmp_path: Path
) -> None:
    """Review of D-19.794: STARTS_AFTER (row 3) starts on 06-14, after the death on 06-12, and has no end:
    RECORD-AFTER-DEATH and DEATH-DATES-DIFFER both queried its started_on. One query per field: the
    record after the death covers it."""
    folder = small_study(tmp_path / "in", (FATAL, STARTS_AFTER))
    assert planned_death_checks(empty_study_url, folder) == [("RECORD-AFTER-DEATH", 3, "started_on")]


def test_the_query_closes_once_the_dates_agree(empty_study_url: str, tmp_path: Path) -> None:
    """CARDIAC's end date corrected to FATAL's (2021-06-12) by a single edit: the check no longer fires and
    its query is closed by the system (D-19.164)."""
    import_templates(empty_study_url, small_study(tmp_path / "in", (FATAL, CARDIAC)), "admin")
    (query,) = queries(empty_study_url)
    assert query["status"] == "open"
    service = StudyService(connect(empty_study_url))
    (cardiac,) = service.find_records("admin", "adverse_event", term="Cardiac arrest")
    service.update_record(
        "admin",
        "adverse_event",
        int(cardiac["id"]),
        {"ended_on": dt.date(2021, 6, 12)},
        int(cardiac["version"]),
        reason="date of death corrected",
    )
    (after,) = queries(empty_study_url)
    assert after["status"] == "closed"
