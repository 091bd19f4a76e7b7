"""D-19.607: the edit checks count a subject's days on its site's calendar. The example's site TJH is in
Asia/Shanghai; CT-001's lymphodepletion is stored on 2021-04-23 as day -4. An infusion at 07:30 on the Wuhan
ward on 2021-04-27 is stored 2021-04-26T23:30Z: on the ward calendar day 0 is 2021-04-27, so 2021-04-23 is
day -4 as recorded (no LYMPHODEPLETION-DAY finding); on the UTC calendar (a site without a time zone) day 0
is 2021-04-26 and the dose's date is day -3, which disagrees with the -4 recorded."""

from __future__ import annotations

from pathlib import Path

from cartrial.store.importing import import_templates

from .test_cross_form_checks import first_import, only, stored_side

EARLY_MORNING_IN_WUHAN = "2021-04-26T23:30:00Z"


def test_the_lymphodepletion_day_counts_from_the_infusion_on_the_ward_calendar(
    empty_study_url: str,
    tmp_path: Path,
) -> None:
    first_import(tmp_path / "first", empty_study_url, infused=False)
    folder = only(tmp_path / "infusions", "infusions", "infused_at", EARLY_MORNING_IN_WUHAN)
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
    assert stored_side(planned, "LYMPHODEPLETION-DAY") == []


def test_a_site_without_a_time_zone_keeps_the_utc_calendar(
    empty_study_url: str,
    tmp_path: Path,
) -> None:
    from sqlalchemy import create_engine, text

    first_import(tmp_path / "first", empty_study_url, infused=False)
    engine = create_engine(empty_study_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE site SET time_zone = NULL"))
    engine.dispose()
    folder = only(tmp_path / "infusions", "infusions", "infused_at", EARLY_MORNING_IN_WUHAN)
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
    assert stored_side(planned, "LYMPHODEPLETION-DAY") == [
        ("lymphodepletion_administration", "day_relative_to_infusion")
    ]


def _after_death(zone: str | None) -> list[tuple[str, str]]:
    """RECORD-AFTER-DEATH, RECORD-AFTER-END-OF-STUDY and INFUSION-BEFORE-CONSENT findings (check, record id)
    of a subject of a New York site (EST, UTC-5) consented on 2024-01-10 who died on 2024-03-01 (a fatal
    adverse event of that day) and whose study ended that day: a new lab drawn at 21:00 on the date of death
    (2024-03-02T02:00Z, the next UTC day) and a new infusion at 22:00 on 2024-01-09, the day before consent
    (2024-01-10T03:00Z, the consent's UTC day)."""
    import datetime as dt

    from cartrial.store.edit_checks import Record, SubjectRecords, run_edit_checks

    died = dt.date(2024, 3, 1)
    subject = Record(
        "subject",
        {
            "subject_id": "S-1",
            "site_id": "NYC",
            "consent_date": dt.date(2024, 1, 10),
            "disposition": "completed",
            "disposition_date": died,
        },
        False,
        record_id=1,
    )
    fatal = Record(
        "adverse_event",
        {"subject_id": "S-1", "term": "sepsis", "grade": 5, "started_on": died, "ended_on": died},
        False,
        record_id=2,
    )
    lab = Record(  # 2024-03-01 21:00 in New York
        "lab_result",
        {"subject_id": "S-1", "collected_at": dt.datetime(2024, 3, 2, 2, 0, tzinfo=dt.UTC)},
        True,
        record_id=3,
    )
    infusion = Record(  # 2024-01-09 22:00 in New York
        "infusion",
        {"subject_id": "S-1", "infused_at": dt.datetime(2024, 1, 10, 3, 0, tzinfo=dt.UTC)},
        True,
        record_id=4,
    )
    tables = {"subject": [subject], "adverse_event": [fatal], "lab_result": [lab], "infusion": [infusion]}
    records = SubjectRecords("S-1", tables, zone)
    wanted = {"RECORD-AFTER-DEATH", "RECORD-AFTER-END-OF-STUDY", "INFUSION-BEFORE-CONSENT"}
    found = run_edit_checks([records], None, dt.date(2024, 6, 1))
    return sorted((f.check.id, str(f.record.record_id)) for f in found if f.check.id in wanted)


def test_a_new_york_evening_lab_on_the_death_date_is_not_after_death() -> None:
    assert _after_death("America/New_York") == [("INFUSION-BEFORE-CONSENT", "4")]


def test_on_the_utc_calendar_the_same_lab_is_the_next_day() -> None:
    assert _after_death(None) == [("RECORD-AFTER-DEATH", "3"), ("RECORD-AFTER-END-OF-STUDY", "3")]
