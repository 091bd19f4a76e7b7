"""Data-quality sweep of the study store (D-19.163 to D-19.169): plausible-but-wrong data that was stored
without a word, and edit-check queries that went stale.

Same small study as tests/store/test_death_checks.py (example sites, subjects, infusions; CT-001 infused
2021-04-27)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from cartrial.store import StudyService, connect
from cartrial.store.edit_checks import EDIT_CHECK_USER, Finding
from cartrial.store.importing import import_templates

from .test_death_checks import assert_no_values, small_study


def system_queries(url: str, check: str) -> list[dict[str, object]]:
    service = StudyService(connect(url))
    return [
        q
        for q in service.find_records("admin", "data_query")
        if q["raised_by"] == EDIT_CHECK_USER and str(q["text"]).split(" ")[2] == check
    ]


def located(findings: list[Finding], check: str) -> list[tuple[str | None, int | None, str]]:
    return sorted(
        (f.record.file and Path(f.record.file).name, f.record.row, f.field)
        for f in findings
        if f.check.id == check
    )


# -------------------------------------------------------------------------------------------------------
# DATE-FUTURE (D-19.163)
# -------------------------------------------------------------------------------------------------------


def test_any_date_after_today_is_queried_on_import_and_on_edit(empty_study_url: str, tmp_path: Path) -> None:
    """Before: only the consent and the end of study were compared with today; a lab collected next month,
    an adverse event ending next year were stored without a word. Each such date is accepted (soft) and
    queried on its field, never quoting it; a past date raises nothing."""
    soon = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)
    later = soon + dt.timedelta(days=300)
    folder = small_study(
        tmp_path / "in",
        labs=(
            "CT-001,2021-05-01T07:00:00Z,platelets,100,10^9/L,125",
            f"CT-001,{soon.isoformat()}T07:00:00Z,platelets,100,10^9/L,125",
        ),
        adverse_events=(
            f"CT-002,Fever,,crs,2021-05-21,{later.isoformat()},1,CTCAE,5.0,false,possible,false,,recovered,,",
        ),
    )
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
    assert located(planned, "DATE-FUTURE") == [
        ("adverse_events.csv", 2, "ended_on"),
        ("labs.csv", 3, "collected_at"),
    ]
    for finding in planned:
        if finding.check.id == "DATE-FUTURE":
            assert_no_values(finding)
            assert soon.isoformat() not in finding.message and later.isoformat() not in finding.message
    import_templates(empty_study_url, folder, "admin")
    assert {(q["table_name"], q["field"]) for q in system_queries(empty_study_url, "DATE-FUTURE")} == {
        ("lab_result", "collected_at"),
        ("adverse_event", "ended_on"),
    }
    # a single-record write (db edit, web form, API): a therapy given the day after tomorrow (UTC's tomorrow
    # at 09:00Z is 17:00 of today in Wuhan, the example site's zone, from 16:00Z on: D-19.613)
    service = StudyService(connect(empty_study_url))
    day_after_tomorrow = dt.datetime.combine(soon - dt.timedelta(days=28), dt.time(9), dt.UTC)
    service.insert_record(
        "admin",
        "therapy",
        {"subject_id": "CT-001", "given_at": day_after_tomorrow, "therapy": "antipyretic"},
        "entry",
    )
    fields = {(q["table_name"], q["field"]) for q in system_queries(empty_study_url, "DATE-FUTURE")}
    assert ("therapy", "given_at") in fields


def test_the_example_study_raises_no_date_future(empty_study_url: str, tmp_path: Path) -> None:
    import shutil

    from .test_death_checks import EXAMPLE_STUDY

    folder = tmp_path / "example"
    shutil.copytree(EXAMPLE_STUDY, folder)
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
    assert [f for f in planned if f.check.id == "DATE-FUTURE"] == []


# -------------------------------------------------------------------------------------------------------
# PK value, LLOQ and BLQ flag (D-19.165)
# -------------------------------------------------------------------------------------------------------

PK_HEADER = "subject_id,analyte,assay,matrix,nominal_day,actual_day,sampled_at,value,unit,lloq,blq"


def pk_row(day: int, value: str, lloq: str, blq: str) -> str:
    moment = (dt.datetime(2021, 4, 27, 1, tzinfo=dt.UTC) + dt.timedelta(days=day)).strftime("%Y-%m-%dT%H:%MZ")
    where = f"CT-001,car_transgene,ddPCR,peripheral_blood,{day},{day}.0,{moment}"
    return f"{where},{value},copies/ug gDNA,{lloq},{blq}"


def test_a_pk_row_flagged_blq_with_a_value_at_or_above_its_lloq_is_refused(
    empty_study_url: str, tmp_path: Path
) -> None:
    """BLQ true and a value ≥ LLOQ: the row says both "below the LLOQ" and "quantified at or above it"
    (the LLOQ is the lowest quantified concentration, ICH M10) — refused, located; a value below the LLOQ
    with the flag (a lab reporting the raw reading) is accepted."""
    from cartrial.errors import InputError

    folder = small_study(tmp_path / "in")
    (folder / "pk_samples.csv").write_text(
        "\n".join([PK_HEADER, pk_row(1, "50", "50", "true"), pk_row(2, "20", "50", "true")]) + "\n", "utf-8"
    )
    with pytest.raises(InputError) as refused:
        import_templates(empty_study_url, folder, "admin")
    problems = [p for p in refused.value.problems if p.field == "blq"]
    assert [(Path(str(p.file)).name, p.row) for p in problems] == [("pk_samples.csv", 2)]


def test_a_quantified_pk_value_below_its_lloq_and_a_blq_without_lloq_are_queried(
    empty_study_url: str, tmp_path: Path
) -> None:
    """Soft: a value below its LLOQ not flagged BLQ (the analysis reads it as a concentration, or as BLQ
    under the LLOQ/2 rule: two readings of one row), and a BLQ flag without an LLOQ (LLOQ/2 impossible,
    no PCLLOQ). Both by import and by a single-record write."""
    folder = small_study(tmp_path / "in")
    rows = [
        pk_row(1, "60", "50", "false"),  # fine
        pk_row(2, "20", "50", "false"),  # PK-VALUE-BELOW-LLOQ
        pk_row(3, "20", "50", ""),  # PK-VALUE-BELOW-LLOQ (blank flag)
        pk_row(4, "", "", "true"),  # PK-BLQ-WITHOUT-LLOQ
        pk_row(5, "", "50", "true"),  # fine
    ]
    (folder / "pk_samples.csv").write_text("\n".join([PK_HEADER, *rows]) + "\n", "utf-8")
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
    assert located(planned, "PK-VALUE-BELOW-LLOQ") == [
        ("pk_samples.csv", 3, "value"),
        ("pk_samples.csv", 4, "value"),
    ]
    assert located(planned, "PK-BLQ-WITHOUT-LLOQ") == [("pk_samples.csv", 5, "lloq")]
    for finding in planned:
        assert "20" not in finding.message and "50" not in finding.message
    import_templates(empty_study_url, folder, "admin")
    assert len(system_queries(empty_study_url, "PK-VALUE-BELOW-LLOQ")) == 2
    service = StudyService(connect(empty_study_url))
    service.insert_record(
        "admin",
        "pk_sample",
        {
            "subject_id": "CT-001",
            "analyte": "car_t_cells",
            "sampled_at": dt.datetime(2021, 5, 10, 1, tzinfo=dt.UTC),
            "value": 0.1,
            "lloq": 0.5,
            "blq": False,
        },
        "entry",
    )
    assert len(system_queries(empty_study_url, "PK-VALUE-BELOW-LLOQ")) == 3


def test_the_example_study_raises_no_pk_lloq_check(empty_study_url: str, tmp_path: Path) -> None:
    import shutil

    from .test_death_checks import EXAMPLE_STUDY

    folder = tmp_path / "example"
    shutil.copytree(EXAMPLE_STUDY, folder)
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
    assert [f for f in planned if f.check.id.startswith("PK-")] == []


# -------------------------------------------------------------------------------------------------------
# Queries whose condition no longer holds are closed by the system (D-19.164)
# -------------------------------------------------------------------------------------------------------


def audit_of(url: str, query_code: str) -> list[dict[str, object]]:
    from sqlalchemy import select

    from cartrial.store.models import AuditLog

    with connect(url).connect() as connection:
        service = StudyService(connect(url))
        (query,) = [q for q in service.find_records("admin", "data_query") if q["query_code"] == query_code]
        audit = AuditLog.__table__
        rows = connection.execute(
            select(audit).where(audit.c.table_name == "data_query", audit.c.record_id == query["id"])
        ).mappings()
        return [dict(r) for r in rows]


def test_an_end_of_study_set_back_to_ongoing_closes_its_record_after_end_queries(
    empty_study_url: str, tmp_path: Path
) -> None:
    """Before: CT-001 completed on 2021-06-12 with a lab on 2021-06-20 is queried
    (RECORD-AFTER-END-OF-STUDY); the site sets the subject back to ongoing and the query stayed open,
    asking about a conflict that no longer exists. Now the system closes it, audited as the edit-check
    user with a reason naming the check; a query raised by a person stays open; the end of study entered
    again raises a new query (the system's closure does not stand for a value, D-19.122)."""
    from .test_death_checks import LAB_AFTER

    folder = small_study(tmp_path / "in", labs=(LAB_AFTER,), dispositions={"CT-001": "completed"})
    import_templates(empty_study_url, folder, "admin")
    (query,) = system_queries(empty_study_url, "RECORD-AFTER-END-OF-STUDY")
    service = StudyService(connect(empty_study_url))
    (lab,) = service.find_records("admin", "lab_result", subject_id="CT-001")
    human = service.raise_query("admin", "lab_result", int(lab["id"]), "Please confirm the collection time.")
    (subject,) = service.find_records("admin", "subject", subject_id="CT-001")
    service.update_record(
        "admin",
        "subject",
        int(subject["id"]),
        {"disposition": "ongoing", "disposition_date": None},
        int(subject["version"]),
        "the subject is still followed",
    )
    by_code = {q["query_code"]: q for q in service.find_records("admin", "data_query")}
    assert by_code[query["query_code"]]["status"] == "closed"
    assert by_code[human]["status"] == "open"
    (closure,) = [r for r in audit_of(empty_study_url, str(query["query_code"])) if r["action"] == "update"]
    assert closure["username"] == EDIT_CHECK_USER and json.loads(str(closure["new_value"])) == "closed"
    assert "RECORD-AFTER-END-OF-STUDY no longer fires" in str(closure["reason"])
    # the end of study again: a new query (the lab's own date did not change)
    (subject,) = service.find_records("admin", "subject", subject_id="CT-001")
    service.update_record(
        "admin",
        "subject",
        int(subject["id"]),
        {"disposition": "completed", "disposition_date": dt.date(2021, 6, 12)},
        int(subject["version"]),
        "ended after all",
    )
    statuses = sorted(str(q["status"]) for q in system_queries(empty_study_url, "RECORD-AFTER-END-OF-STUDY"))
    assert statuses == ["closed", "open"]


def test_a_reimport_moving_the_end_of_study_later_closes_the_query(
    empty_study_url: str, tmp_path: Path
) -> None:
    """The import path: subjects.csv imported again with the end of study after the lab."""
    import pandas as pd

    from .test_death_checks import LAB_AFTER

    folder = small_study(tmp_path / "in", labs=(LAB_AFTER,), dispositions={"CT-001": "completed"})
    import_templates(empty_study_url, folder, "admin")
    assert [q["status"] for q in system_queries(empty_study_url, "RECORD-AFTER-END-OF-STUDY")] == ["open"]
    subjects = pd.read_csv(folder / "subjects.csv", dtype=str, keep_default_na=False)
    subjects.loc[subjects["subject_id"] == "CT-001", "disposition_date"] = "2021-06-30"
    subjects.to_csv(folder / "subjects.csv", index=False)
    import_templates(empty_study_url, folder, "admin")
    assert [q["status"] for q in system_queries(empty_study_url, "RECORD-AFTER-END-OF-STUDY")] == ["closed"]


# -------------------------------------------------------------------------------------------------------
# Lymphodepletion and leukapheresis dates (D-19.167)
# -------------------------------------------------------------------------------------------------------

LD_HEADER = (
    "subject_id,drug,administered_on,day_relative_to_infusion,dose_mg_per_m2,dose_mg,body_surface_area_m2"
)


def test_swapped_or_miscounted_lymphodepletion_dates_are_queried(
    empty_study_url: str, tmp_path: Path
) -> None:
    """CT-001: consent 2021-04-01, infused 2021-04-27 (day 0). Lymphodepletion on 2021-04-23 is day -4
    (27 - 23). Before, a dose dated after the infusion (2021-05-23: month typed for April), one whose
    day_relative_to_infusion disagrees with its date (2021-04-24 given as day -4: -3 by the dates), and
    one before the consent were stored without a word."""
    folder = small_study(tmp_path / "in")
    rows = [
        "CT-001,cyclophosphamide,2021-04-23,-4,300,483.0,1.61",  # right
        "CT-001,fludarabine,2021-05-23,,30,48.3,1.61",  # after the infusion
        "CT-001,fludarabine,2021-04-24,-4,30,48.3,1.61",  # 24 - 27 = -3, not -4
        "CT-001,mesna,2021-03-25,,30,48.3,1.61",  # before consent (2021-04-01)
    ]
    (folder / "lymphodepletion.csv").write_text("\n".join([LD_HEADER, *rows]) + "\n", "utf-8")
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
    assert located(planned, "LYMPHODEPLETION-DAY") == [
        ("lymphodepletion.csv", 3, "administered_on"),
        ("lymphodepletion.csv", 4, "day_relative_to_infusion"),
    ]
    assert located(planned, "PROCEDURE-BEFORE-CONSENT") == [("lymphodepletion.csv", 5, "administered_on")]
    for finding in planned:
        assert_no_values(finding)
    import_templates(empty_study_url, folder, "admin")
    assert len(system_queries(empty_study_url, "LYMPHODEPLETION-DAY")) == 2
    # the infusion moved one day later (single-record edit): the right dose now disagrees with its day
    # (23 - 28 = -5), and the query on the miscounted one is closed (24 - 28 = -4) (D-19.164)
    service = StudyService(connect(empty_study_url))
    (infusion,) = service.find_records("admin", "infusion", subject_id="CT-001")
    service.update_record(
        "admin",
        "infusion",
        int(infusion["id"]),
        {"infused_at": infusion["infused_at"] + dt.timedelta(days=1)},
        int(infusion["version"]),
        "infusion date corrected",
    )
    day_queries = system_queries(empty_study_url, "LYMPHODEPLETION-DAY")
    assert sorted((q["field"], q["status"]) for q in day_queries) == [
        ("administered_on", "open"),
        ("day_relative_to_infusion", "closed"),
        ("day_relative_to_infusion", "open"),
    ]


def test_leukapheresis_before_consent_is_queried(empty_study_url: str, tmp_path: Path) -> None:
    folder = small_study(tmp_path / "in")
    import_templates(empty_study_url, folder, "admin")
    service = StudyService(connect(empty_study_url))
    (infusion,) = service.find_records("admin", "infusion", subject_id="CT-001")
    service.update_record(
        "admin",
        "infusion",
        int(infusion["id"]),
        {"leukapheresis_on": dt.date(2021, 3, 20)},
        int(infusion["version"]),
        "entry",
    )
    (query,) = system_queries(empty_study_url, "PROCEDURE-BEFORE-CONSENT")
    assert (query["table_name"], query["field"]) == ("infusion", "leukapheresis_on")


# -------------------------------------------------------------------------------------------------------
# A sample's actual day and its date-time (D-19.168)
# -------------------------------------------------------------------------------------------------------


def test_a_sample_day_that_disagrees_with_its_date_time_is_queried(
    empty_study_url: str, tmp_path: Path
) -> None:
    """The NCA reads a PK sample's actual_day, SDTM PC its sampled_at. CT-001's infusion time is read from
    the store (not assumed): a sample drawn on day 14 by its
    date-time entered as actual_day 41 (digits swapped) was stored without a word, and the NCA put it at
    day 41 while PCDTC said day 14."""
    folder = small_study(tmp_path / "in")
    import_templates(empty_study_url, folder, "admin")
    service = StudyService(connect(empty_study_url))
    (infusion,) = service.find_records("admin", "infusion", subject_id="CT-001")
    infused = infusion["infused_at"]
    infused = infused if infused.tzinfo else infused.replace(tzinfo=dt.UTC)

    def row(day: float, actual: float) -> str:
        moment = (infused + dt.timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%SZ")
        where = f"CT-001,car_transgene,ddPCR,peripheral_blood,{round(day)},{actual},{moment}"
        return f"{where},120,copies/ug gDNA,50,false"

    rows = [row(14, 14.0), row(7, 7.4), row(28.0, 28.6), row(21, 12.0)]  # fine, fine (0.4 d), off, off
    (folder / "pk_samples.csv").write_text("\n".join([PK_HEADER, *rows]) + "\n", "utf-8")
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
    assert located(planned, "SAMPLE-DAY-MISMATCH") == [
        ("pk_samples.csv", 4, "actual_day"),
        ("pk_samples.csv", 5, "actual_day"),
    ]
    import_templates(empty_study_url, folder, "admin")
    assert len(system_queries(empty_study_url, "SAMPLE-DAY-MISMATCH")) == 2
    # corrected by a single-record edit: the query is closed by the system (D-19.164)
    (sample,) = [s for s in service.find_records("admin", "pk_sample") if s["actual_day"] == 12.0]
    service.update_record(
        "admin", "pk_sample", int(sample["id"]), {"actual_day": 21.0}, int(sample["version"]), "fix"
    )
    statuses = sorted(str(q["status"]) for q in system_queries(empty_study_url, "SAMPLE-DAY-MISMATCH"))
    assert statuses == ["closed", "open"]


def test_the_example_study_raises_none_of_the_new_checks(empty_study_url: str, tmp_path: Path) -> None:
    import shutil

    from .test_death_checks import EXAMPLE_STUDY

    folder = tmp_path / "example"
    shutil.copytree(EXAMPLE_STUDY, folder)
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
    new = {
        "SAMPLE-DAY-MISMATCH",
        "LYMPHODEPLETION-DAY",
        "PROCEDURE-BEFORE-CONSENT",
        "DATE-FUTURE",
        "AE-BEFORE-CONSENT",
        "INFUSION-WEIGHT-CHANGE",
    }
    assert [f.check.id for f in planned if f.check.id in new or f.check.id.startswith("PK-")] == []


# -------------------------------------------------------------------------------------------------------
# An adverse event before consent; an infusion weight far from the subject's (D-19.169)
# -------------------------------------------------------------------------------------------------------


def test_an_adverse_event_before_consent_and_an_infusion_weight_in_pounds_are_queried(
    empty_study_url: str, tmp_path: Path
) -> None:
    """CT-002 consented 2021-04-22: an event starting 2021-03-22 (month mistyped, or medical history) was
    stored as an adverse event without a word. CT-001 weighs 58.0 kg at enrolment: an infusion weight of
    127.9 (58.0 × 2.2046, pounds) was stored and the protocol dose computed from it."""
    import pandas as pd

    folder = small_study(
        tmp_path / "in",
        adverse_events=(
            "CT-002,Fever,,crs,2021-03-22,2021-05-25,1,CTCAE,5.0,false,possible,false,,recovered,,",
            "CT-002,Headache,,non_hematologic,2021-05-22,2021-05-25,1,CTCAE,5.0,false,possible,false,,recovered,,",
        ),
    )
    infusions = pd.read_csv(folder / "infusions.csv", dtype=str, keep_default_na=False)
    subjects = pd.read_csv(folder / "subjects.csv", dtype=str, keep_default_na=False)
    kg = float(subjects.loc[subjects["subject_id"] == "CT-001", "weight_kg"].iloc[0])
    infusions.loc[infusions["subject_id"] == "CT-001", "weight_kg"] = f"{kg * 2.2046:.1f}"
    infusions.to_csv(folder / "infusions.csv", index=False)
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
    assert located(planned, "AE-BEFORE-CONSENT") == [("adverse_events.csv", 2, "started_on")]
    assert located(planned, "INFUSION-WEIGHT-CHANGE") == [("infusions.csv", 2, "weight_kg")]
    for finding in planned:
        assert_no_values(finding)
        assert f"{kg * 2.2046:.1f}" not in finding.message
