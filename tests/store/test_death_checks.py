"""Soft edit checks that reconcile a death (D-19.93): a dated record after the date of death
(RECORD-AFTER-DEATH), a disposition ``death`` without a fatal adverse event (DEATH-WITHOUT-FATAL-AE), a fatal
adverse event with another disposition (FATAL-AE-DISPOSITION). Each is accepted (the record is stored) and
raises a data query; the dry run lists it; the messages name tables, fields and locations, never a value.

The small study is the example's sites, subjects and infusions (CT-001 infused 2021-04-27, CT-002 on
2021-05-18) with the adverse events and labs of each test. The fatal event below ends on 2021-06-12: its end
date is the date of death (D-19.83), so a lab at 23:00 on 2021-06-12 in Wuhan (15:00Z; TJH's time zone is
Asia/Shanghai, the calendar of its subjects' days, D-19.607) is the same day (no query) and one on 2021-06-20
is after it.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartrial.analysis.populations import death_dates
from cartrial.store import StudyService, connect
from cartrial.store.edit_checks import EDIT_CHECK_USER, Finding, Record, SubjectRecords
from cartrial.store.importing import import_templates

from .conftest import PROTOCOL

EXAMPLE_STUDY = PROTOCOL.parent / "study"
AE_HEADER = (
    "subject_id,term,meddra_code,category,started_on,ended_on,grade,grading_scale,grading_scale_version,"
    "serious,relatedness,dlt,action_taken,outcome,pathogen,infection_site"
)
FATAL = "CT-001,Sepsis,,infection,2021-06-10,2021-06-12,5,CTCAE,5.0,true,possible,false,,fatal,,"
LAB_HEADER = "subject_id,collected_at,analyte,value,unit,lln"
LAB_SAME_DAY = "CT-001,2021-06-12T15:00:00Z,platelets,100,10^9/L,125"
LAB_AFTER = "CT-001,2021-06-20T07:00:00Z,platelets,100,10^9/L,125"
END_DATE = "2021-06-12"
"""The date of the end of study of a subject given a disposition: FATAL's end date."""
DEATH_CHECKS = ("RECORD-AFTER-DEATH", "DEATH-WITHOUT-FATAL-AE", "FATAL-AE-DISPOSITION")


def small_study(
    folder: Path,
    adverse_events: tuple[str, ...] = (),
    labs: tuple[str, ...] = (),
    dispositions: dict[str, str] | None = None,
) -> Path:
    folder.mkdir()
    for name in ("sites", "subjects", "infusions"):
        shutil.copyfile(EXAMPLE_STUDY / f"{name}.csv", folder / f"{name}.csv")
    if dispositions is not None:
        subjects = pd.read_csv(folder / "subjects.csv", dtype=str, keep_default_na=False)
        subjects["disposition"] = [dispositions.get(s, "") for s in subjects["subject_id"]]
        # an end of study is dated (D-19.92): the day of FATAL's death
        subjects["disposition_date"] = [
            END_DATE if d and d != "ongoing" else "" for d in subjects["disposition"]
        ]
        subjects.to_csv(folder / "subjects.csv", index=False)
    if adverse_events:
        (folder / "adverse_events.csv").write_text("\n".join([AE_HEADER, *adverse_events]) + "\n", "utf-8")
    if labs:
        (folder / "labs.csv").write_text("\n".join([LAB_HEADER, *labs]) + "\n", "utf-8")
    return folder


def death_findings(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.check.id in DEATH_CHECKS]


def queries(url: str) -> list[dict[str, object]]:
    service = StudyService(connect(url))
    return [
        q
        for q in service.find_records("admin", "data_query")
        if q["raised_by"] == EDIT_CHECK_USER and str(q["text"]).split(" ")[2] in DEATH_CHECKS
    ]


def assert_no_values(finding: Finding) -> None:
    """The message names tables, fields and locations only: no date, grade or disposition of a record."""
    for value in ("2021", "completed", "withdrawn", "moved abroad", "platelets", "Sepsis", "Pneumonia"):
        assert value not in finding.message, finding.message


def test_a_lab_and_an_adverse_event_after_the_death_are_stored_and_queried(
    empty_study_url: str, tmp_path: Path
) -> None:
    pneumonia = "CT-001,Pneumonia,,infection,2021-06-15,,3,CTCAE,5.0,true,possible,false,,not_recovered,,"
    folder = small_study(tmp_path / "in", (FATAL, pneumonia), (LAB_SAME_DAY, LAB_AFTER))
    planned = death_findings(import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks)
    assert sorted((f.check.id, Path(str(f.record.file)).name, f.record.row, f.field) for f in planned) == [
        ("RECORD-AFTER-DEATH", "adverse_events.csv", 3, "started_on"),
        ("RECORD-AFTER-DEATH", "labs.csv", 3, "collected_at"),
    ]
    for finding in planned:
        assert_no_values(finding)
        assert "adverse_events.csv row 2" in finding.message  # the fatal event, by location
    assert queries(empty_study_url) == []  # a dry run writes nothing

    report = import_templates(empty_study_url, folder, "admin")
    assert report.totals["inserted"] > 0
    service = StudyService(connect(empty_study_url))
    assert len(service.find_records("admin", "lab_result")) == 2  # accepted: soft
    assert len(service.find_records("admin", "adverse_event")) == 2
    raised = queries(empty_study_url)
    assert sorted((q["table_name"], q["field"], q["subject_id"]) for q in raised) == [
        ("adverse_event", "started_on", "CT-001"),
        ("lab_result", "collected_at", "CT-001"),
    ]
    import_templates(empty_study_url, folder, "admin")  # unchanged re-import: not raised twice
    assert len(queries(empty_study_url)) == 2
    assert service.verify_audit().ok


def test_a_death_recorded_after_the_labs_queries_the_stored_lab(empty_study_url: str, tmp_path: Path) -> None:
    """The labs come first, the fatal event later: by import (located by table and id) and by a single
    write (the web form's path); only the lab after the death is queried."""
    import_templates(empty_study_url, small_study(tmp_path / "labs", labs=(LAB_SAME_DAY, LAB_AFTER)), "admin")
    service = StudyService(connect(empty_study_url))
    after = next(
        r for r in service.find_records("admin", "lab_result") if str(r["collected_at"])[:10] > "2021-06-13"
    )
    (ae_file,) = [tmp_path / "ae" / "adverse_events.csv"]
    ae_file.parent.mkdir()
    ae_file.write_text(f"{AE_HEADER}\n{FATAL}\n", "utf-8")
    planned = death_findings(
        import_templates(empty_study_url, ae_file.parent, "admin", dry_run=True).edit_checks
    )
    assert [(f.check.id, f.record.table, f.record.record_id, f.field) for f in planned] == [
        ("RECORD-AFTER-DEATH", "lab_result", after["id"], "collected_at")
    ]
    assert planned[0].problem().field == "lab_result.collected_at"
    assert_no_values(planned[0])

    record = {
        "subject_id": "CT-001",
        "term": "Sepsis",
        "category": "infection",
        "started_on": "2021-06-10",
        "ended_on": "2021-06-12",
        "grade": 5,
        "grading_scale": "CTCAE",
        "grading_scale_version": "5.0",
        "outcome": "fatal",
    }  # FATAL, as a form would write it
    service.insert_record("admin", "adverse_event", record)
    (query,) = queries(empty_study_url)
    assert (query["table_name"], query["record_id"], query["field"]) == (
        "lab_result",
        after["id"],
        "collected_at",
    )


def test_a_disposition_death_without_a_fatal_adverse_event_is_queried(
    empty_study_url: str, tmp_path: Path
) -> None:
    folder = small_study(tmp_path / "in", dispositions={"CT-002": "death"})
    planned = death_findings(import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks)
    assert [(f.check.id, Path(str(f.record.file)).name, f.record.row, f.field) for f in planned] == [
        ("DEATH-WITHOUT-FATAL-AE", "subjects.csv", 3, "disposition")
    ]
    assert "record the fatal adverse event" in planned[0].message
    assert_no_values(planned[0])
    import_templates(empty_study_url, folder, "admin")
    (subject,) = StudyService(connect(empty_study_url)).find_records("admin", "subject", subject_id="CT-002")
    assert subject["disposition"] == "death"  # stored as given
    (query,) = queries(empty_study_url)
    assert (query["table_name"], query["record_id"], query["field"]) == (
        "subject",
        subject["id"],
        "disposition",
    )


def test_a_disposition_death_with_its_fatal_adverse_event_is_not_queried(
    empty_study_url: str, tmp_path: Path
) -> None:
    folder = small_study(tmp_path / "in", (FATAL,), dispositions={"CT-001": "Death: sepsis"})
    assert death_findings(import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks) == []


@pytest.mark.parametrize("disposition", ["completed", "withdrawn: moved abroad", "lost"])
def test_a_fatal_adverse_event_with_another_disposition_is_queried(
    empty_study_url: str, tmp_path: Path, disposition: str
) -> None:
    folder = small_study(tmp_path / "in", (FATAL,), dispositions={"CT-001": disposition})
    planned = death_findings(import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks)
    assert [(f.check.id, Path(str(f.record.file)).name, f.record.row, f.field) for f in planned] == [
        ("FATAL-AE-DISPOSITION", "subjects.csv", 2, "disposition")
    ]
    assert_no_values(planned[0])
    assert disposition.split(":")[0] not in planned[0].message
    import_templates(empty_study_url, folder, "admin")
    (query,) = queries(empty_study_url)
    assert (query["table_name"], query["field"]) == ("subject", "disposition")


def test_a_disposition_edited_away_from_death_after_the_fatal_event_is_queried(
    empty_study_url: str, tmp_path: Path
) -> None:
    """Single-record write of the subject (the web form's path), and a blank disposition raises nothing."""
    import_templates(empty_study_url, small_study(tmp_path / "in", (FATAL,)), "admin")
    assert queries(empty_study_url) == []  # blank: not yet recorded
    service = StudyService(connect(empty_study_url))
    (row,) = service.find_records("admin", "subject", subject_id="CT-001")
    service.update_record(
        "admin",
        "subject",
        int(row["id"]),
        {"disposition": "completed", "disposition_date": dt.date.fromisoformat(END_DATE)},
        int(row["version"]),
        "end of study",
    )
    (query,) = queries(empty_study_url)
    assert (query["table_name"], query["record_id"], query["field"]) == ("subject", row["id"], "disposition")
    assert "FATAL-AE-DISPOSITION" in str(query["text"])


def test_the_example_study_raises_none_of_the_death_checks(empty_study_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "example"
    shutil.copytree(EXAMPLE_STUDY, folder)
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True)
    assert death_findings(planned.edit_checks) == []


# -------------------------------------------------------------------------------------------------------
# One rule: the store's death is the analysis's death (cartrial.protocol.death)
# -------------------------------------------------------------------------------------------------------

DAYS = st.dates(min_value=dt.date(2021, 1, 1), max_value=dt.date(2021, 12, 31))
EVENT = st.tuples(
    st.sampled_from([None, 1, 3, 4, 5]),
    st.sampled_from([None, "crs", "death", "Death", "infection"]),
    st.sampled_from([None, "fatal", "Fatal", "recovered", "not recovered"]),
    DAYS,
    st.one_of(st.none(), DAYS),
)


@given(st.lists(EVENT, max_size=6))
def test_the_store_and_the_analysis_read_the_same_death(events: list[tuple[object, ...]]) -> None:
    records = [
        Record(
            "adverse_event",
            {"subject_id": "S1", "grade": g, "category": c, "outcome": o, "started_on": s, "ended_on": e},
            new=True,
        )
        for g, c, o, s, e in events
    ]
    death = SubjectRecords("S1", {"adverse_event": records}).death()
    frame = pd.DataFrame(
        [
            {
                "subject_id": "S1",
                "grade": "" if g is None else str(g),
                "category": c or "",
                "outcome": o or "",
                "started_on": s.isoformat(),  # type: ignore[union-attr]
                "ended_on": "" if e is None else e.isoformat(),  # type: ignore[attr-defined]
            }
            for g, c, o, s, e in events
        ],
        columns=["subject_id", "grade", "category", "outcome", "started_on", "ended_on"],
    )
    analysed = death_dates(frame, dt.date.max).get("S1")
    assert (None if death is None else death[0]) == analysed
    # independent statement of D-19.83: the earliest (end, else onset) of the fatal events
    fatal = [
        e or s for g, c, o, s, e in events if g == 5 or str(c).lower() == "death" or str(o).lower() == "fatal"
    ]
    assert analysed == (min(fatal) if fatal else None)  # type: ignore[type-var]


def test_a_fatal_event_re_imported_as_non_fatal_queries_the_death_disposition(
    empty_study_url: str, tmp_path: Path
) -> None:
    """The subject (disposition death) is stored with its fatal event; the adverse-events file alone is
    re-imported with the event corrected to grade 3, recovered: the death has lost its date."""
    folder = small_study(tmp_path / "in", (FATAL,), dispositions={"CT-001": "death"})
    import_templates(empty_study_url, folder, "admin")
    assert queries(empty_study_url) == []
    only_events = tmp_path / "ae"
    only_events.mkdir()
    corrected = FATAL.replace(",5,CTCAE,", ",3,CTCAE,").replace(",fatal,", ",recovered,")
    (only_events / "adverse_events.csv").write_text(f"{AE_HEADER}\n{corrected}\n", "utf-8")
    planned = death_findings(
        import_templates(empty_study_url, only_events, "admin", dry_run=True).edit_checks
    )
    (subject,) = StudyService(connect(empty_study_url)).find_records("admin", "subject", subject_id="CT-001")
    assert [(f.check.id, f.record.table, f.record.record_id, f.field) for f in planned] == [
        ("DEATH-WITHOUT-FATAL-AE", "subject", subject["id"], "disposition")
    ]
    import_templates(empty_study_url, only_events, "admin", reason="grade corrected")
    (query,) = queries(empty_study_url)
    assert (query["table_name"], query["record_id"], query["field"]) == (
        "subject",
        subject["id"],
        "disposition",
    )


def test_a_fatal_event_moved_to_another_subject_queries_both_subjects(
    empty_study_url: str, tmp_path: Path
) -> None:
    """CT-001 (disposition death) is stored with its fatal event; `db edit adverse_event ID --set
    subject_id=CT-002` moves the event: CT-001's death has lost its date (DEATH-WITHOUT-FATAL-AE, as when
    the event is deleted) and CT-002, ongoing, now has a fatal event (FATAL-AE-DISPOSITION). Before, the
    event's old values counted among CT-002's records before the edit and CT-001's records were not read:
    no query (D-19.146)."""
    folder = small_study(tmp_path / "in", (FATAL,), dispositions={"CT-001": "death", "CT-002": "ongoing"})
    import_templates(empty_study_url, folder, "admin")
    assert queries(empty_study_url) == []
    service = StudyService(connect(empty_study_url))
    (event,) = service.find_records("admin", "adverse_event")
    service.update_record(
        "admin", "adverse_event", int(event["id"]), {"subject_id": "CT-002"}, int(event["version"]), "moved"
    )
    (first,) = service.find_records("admin", "subject", subject_id="CT-001")
    (second,) = service.find_records("admin", "subject", subject_id="CT-002")
    assert sorted(
        (q["check"], q["subject_id"], q["table_name"], q["record_id"])
        for q in ({**q, "check": str(q["text"]).split(" ")[2]} for q in queries(empty_study_url))
    ) == [
        ("DEATH-WITHOUT-FATAL-AE", "CT-001", "subject", first["id"]),
        ("FATAL-AE-DISPOSITION", "CT-002", "subject", second["id"]),
    ]
