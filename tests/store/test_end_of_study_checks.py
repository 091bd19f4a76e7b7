"""Soft edit checks that reconcile the end of study (D-19.101): a disposition ``death`` dated otherwise
than its fatal adverse event (DEATH-DATE-MISMATCH), and a dated record after the end of study of a subject
who completed, withdrew or was lost (RECORD-AFTER-END-OF-STUDY; a fatal adverse event is exempt). Both are
accepted (the record is stored) and raise a data query, by import, partial re-import and single-record
write; the messages name tables, fields and locations, never a value. A lymphodepletion dose is a dated
record (RECORD-AFTER-DEATH too).

Same small study as tests/store/test_death_checks.py: CT-001 infused 2021-04-27; FATAL ends on 2021-06-12,
the date of death (D-19.83); an end of study on 2021-06-12 puts LAB_SAME_DAY (23:00 that day in Wuhan,
15:00Z) on it and LAB_AFTER (2021-06-20) after it.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartrial.store import StudyService, connect
from cartrial.store.edit_checks import EDIT_CHECK_USER, Finding
from cartrial.store.importing import import_templates

from .test_death_checks import (
    AE_HEADER,
    END_DATE,
    EXAMPLE_STUDY,
    FATAL,
    LAB_AFTER,
    LAB_SAME_DAY,
    assert_no_values,
    small_study,
)

sys.path.insert(0, str(Path(__file__).parent))
from partial_import_support import two_databases  # noqa: F401 - fixture `two`

EOS_CHECKS = ("DEATH-DATE-MISMATCH", "RECORD-AFTER-END-OF-STUDY")
PNEUMONIA_AFTER = "CT-001,Pneumonia,,infection,2021-06-15,,3,CTCAE,5.0,true,possible,false,,not_recovered,,"
FATAL_AFTER = "CT-001,Sepsis,,infection,2021-06-25,2021-06-28,5,CTCAE,5.0,true,possible,false,,fatal,,"
LD_HEADER = (
    "subject_id,drug,administered_on,day_relative_to_infusion,dose_mg_per_m2,dose_mg,body_surface_area_m2"
)
LD_AFTER = "CT-001,fludarabine,2021-06-20,,30,48.3,1.61"


def eos_findings(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.check.id in EOS_CHECKS]


def queries(url: str, checks: tuple[str, ...] = EOS_CHECKS) -> list[dict[str, object]]:
    service = StudyService(connect(url))
    return [
        q
        for q in service.find_records("admin", "data_query")
        if q["raised_by"] == EDIT_CHECK_USER and str(q["text"]).split(" ")[2] in checks
    ]


def dated(folder: Path, subject_id: str, day: str) -> None:
    """Give `subject_id`'s end of study the date `day` in the folder's subjects.csv."""
    subjects = pd.read_csv(folder / "subjects.csv", dtype=str, keep_default_na=False)
    subjects.loc[subjects["subject_id"] == subject_id, "disposition_date"] = day
    subjects.to_csv(folder / "subjects.csv", index=False)


def located(findings: list[Finding]) -> list[tuple[str, str, int | None, str]]:
    return sorted((f.check.id, Path(str(f.record.file)).name, f.record.row, f.field) for f in findings)


# -------------------------------------------------------------------------------------------------------
# DEATH-DATE-MISMATCH
# -------------------------------------------------------------------------------------------------------


def test_a_death_dated_otherwise_than_its_fatal_adverse_event_is_queried(
    empty_study_url: str, tmp_path: Path
) -> None:
    folder = small_study(tmp_path / "in", (FATAL,), dispositions={"CT-001": "death"})
    dated(folder, "CT-001", "2021-06-15")  # FATAL dates the death 2021-06-12
    planned = eos_findings(import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks)
    assert located(planned) == [("DEATH-DATE-MISMATCH", "subjects.csv", 2, "disposition_date")]
    assert_no_values(planned[0])
    assert "adverse_events.csv row 2" in planned[0].message  # the fatal event, by location
    import_templates(empty_study_url, folder, "admin")
    (subject,) = StudyService(connect(empty_study_url)).find_records("admin", "subject", subject_id="CT-001")
    assert str(subject["disposition_date"])[:10] == "2021-06-15"  # stored as given: soft
    (query,) = queries(empty_study_url)
    assert (query["table_name"], query["record_id"], query["field"]) == (
        "subject",
        subject["id"],
        "disposition_date",
    )


def test_a_death_dated_as_its_fatal_adverse_event_raises_none(empty_study_url: str, tmp_path: Path) -> None:
    folder = small_study(tmp_path / "in", (FATAL,), dispositions={"CT-001": "death"})
    assert eos_findings(import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks) == []


def test_the_death_date_edited_on_the_form_is_queried(empty_study_url: str, tmp_path: Path) -> None:
    """Single-record write of the subject (the web form's path): the date moved away from the death."""
    import_templates(
        empty_study_url, small_study(tmp_path / "in", (FATAL,), dispositions={"CT-001": "death"}), "admin"
    )
    assert queries(empty_study_url) == []
    service = StudyService(connect(empty_study_url))
    (row,) = service.find_records("admin", "subject", subject_id="CT-001")
    service.update_record(
        "admin",
        "subject",
        int(row["id"]),
        {"disposition_date": dt.date(2021, 6, 11)},
        int(row["version"]),
        "date corrected",
    )
    (query,) = queries(empty_study_url)
    assert (query["table_name"], query["record_id"], query["field"]) == (
        "subject",
        row["id"],
        "disposition_date",
    )
    assert "DEATH-DATE-MISMATCH" in str(query["text"])


def test_a_fatal_adverse_event_re_imported_with_another_end_queries_the_death_date(
    empty_study_url: str, tmp_path: Path
) -> None:
    """The adverse-events file alone changes the date of death: the stored subject is queried (table, id)."""
    import_templates(
        empty_study_url, small_study(tmp_path / "in", (FATAL,), dispositions={"CT-001": "death"}), "admin"
    )
    only_events = tmp_path / "ae"
    only_events.mkdir()
    moved = FATAL.replace("2021-06-12", "2021-06-13")
    (only_events / "adverse_events.csv").write_text(f"{AE_HEADER}\n{moved}\n", "utf-8")
    planned = eos_findings(import_templates(empty_study_url, only_events, "admin", dry_run=True).edit_checks)
    (subject,) = StudyService(connect(empty_study_url)).find_records("admin", "subject", subject_id="CT-001")
    assert [(f.check.id, f.record.table, f.record.record_id, f.field) for f in planned] == [
        ("DEATH-DATE-MISMATCH", "subject", subject["id"], "disposition_date")
    ]


# -------------------------------------------------------------------------------------------------------
# RECORD-AFTER-END-OF-STUDY
# -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("disposition", ["completed", "withdrawn: moved abroad", "lost"])
def test_records_after_the_end_of_study_are_queried_but_not_a_later_fatal_event(
    empty_study_url: str, tmp_path: Path, disposition: str
) -> None:
    """D-19.101: a death learnt in follow-up after the end of study is exempt (and not a FATAL-AE-DISPOSITION
    query either, D-19.124); the other records after the end are queried, the same day is not."""
    folder = small_study(
        tmp_path / "in",
        (PNEUMONIA_AFTER, FATAL_AFTER),
        (LAB_SAME_DAY, LAB_AFTER),
        dispositions={"CT-001": disposition},
    )
    (folder / "lymphodepletion.csv").write_text(f"{LD_HEADER}\n{LD_AFTER}\n", "utf-8")
    planned = eos_findings(import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks)
    assert located(planned) == [
        ("RECORD-AFTER-END-OF-STUDY", "adverse_events.csv", 2, "started_on"),
        ("RECORD-AFTER-END-OF-STUDY", "labs.csv", 3, "collected_at"),
        ("RECORD-AFTER-END-OF-STUDY", "lymphodepletion.csv", 2, "administered_on"),
    ]
    for finding in planned:
        assert_no_values(finding)
        assert disposition.split(":")[0] not in finding.message
        assert "subjects.csv row 2" in finding.message  # the end of study, by location
    import_templates(empty_study_url, folder, "admin")
    assert len(StudyService(connect(empty_study_url)).find_records("admin", "lab_result")) == 2  # soft
    assert sorted((q["table_name"], q["field"]) for q in queries(empty_study_url)) == [
        ("adverse_event", "started_on"),
        ("lab_result", "collected_at"),
        ("lymphodepletion_administration", "administered_on"),
    ]
    import_templates(empty_study_url, folder, "admin")  # unchanged re-import: not raised twice
    assert len(queries(empty_study_url)) == 3


def test_a_death_disposition_is_left_to_record_after_death(empty_study_url: str, tmp_path: Path) -> None:
    folder = small_study(tmp_path / "in", (FATAL,), (LAB_AFTER,), dispositions={"CT-001": "death"})
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
    assert eos_findings(planned) == []
    assert [f.check.id for f in planned if f.record.table == "lab_result"] == ["RECORD-AFTER-DEATH"]


def test_an_end_of_study_written_after_the_records_queries_the_stored_ones(
    empty_study_url: str, tmp_path: Path
) -> None:
    """The labs and a lymphodepletion dose come first; the end of study later: by import of subjects.csv
    (located by table and id) and by a single write of the subject (the web form's path)."""
    folder = small_study(tmp_path / "in", labs=(LAB_SAME_DAY, LAB_AFTER))
    (folder / "lymphodepletion.csv").write_text(f"{LD_HEADER}\n{LD_AFTER}\n", "utf-8")
    import_templates(empty_study_url, folder, "admin")
    service = StudyService(connect(empty_study_url))
    lab = next(
        r for r in service.find_records("admin", "lab_result") if str(r["collected_at"])[:10] > "2021-06-13"
    )
    (dose,) = service.find_records("admin", "lymphodepletion_administration")
    expected = [
        ("RECORD-AFTER-END-OF-STUDY", "lab_result", lab["id"], "collected_at"),
        ("RECORD-AFTER-END-OF-STUDY", "lymphodepletion_administration", dose["id"], "administered_on"),
    ]
    only_subjects = small_study(tmp_path / "subjects", dispositions={"CT-001": "withdrawn"})
    for name in ("sites", "infusions"):
        (only_subjects / f"{name}.csv").unlink()
    planned = eos_findings(
        import_templates(empty_study_url, only_subjects, "admin", dry_run=True).edit_checks
    )
    assert sorted((f.check.id, f.record.table, f.record.record_id, f.field) for f in planned) == expected
    assert planned[0].problem().field in (
        "lab_result.collected_at",
        "lymphodepletion_administration.administered_on",
    )

    (row,) = service.find_records("admin", "subject", subject_id="CT-001")
    service.update_record(
        "admin",
        "subject",
        int(row["id"]),
        {"disposition": "withdrawn", "disposition_date": dt.date.fromisoformat(END_DATE)},
        int(row["version"]),
        "end of study",
    )
    assert (
        sorted(
            ("RECORD-AFTER-END-OF-STUDY", q["table_name"], q["record_id"], q["field"])
            for q in queries(empty_study_url)
        )
        == expected
    )


def test_a_lab_written_after_the_end_of_study_is_queried(empty_study_url: str, tmp_path: Path) -> None:
    import_templates(
        empty_study_url, small_study(tmp_path / "in", dispositions={"CT-001": "completed"}), "admin"
    )
    service = StudyService(connect(empty_study_url))
    service.insert_record(
        "admin",
        "lab_result",
        {
            "subject_id": "CT-001",
            "collected_at": dt.datetime(2021, 6, 20, 7, tzinfo=dt.UTC),
            "analyte": "platelets",
            "value": 100.0,
            "unit": "10^9/L",
            "lln": 125.0,
        },
    )
    (query,) = queries(empty_study_url)
    assert (query["table_name"], query["field"]) == ("lab_result", "collected_at")


def test_a_lymphodepletion_dose_after_the_death_is_queried(empty_study_url: str, tmp_path: Path) -> None:
    folder = small_study(tmp_path / "in", (FATAL,))
    (folder / "lymphodepletion.csv").write_text(f"{LD_HEADER}\n{LD_AFTER}\n", "utf-8")
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
    assert located([f for f in planned if f.check.id == "RECORD-AFTER-DEATH"]) == [
        ("RECORD-AFTER-DEATH", "lymphodepletion.csv", 2, "administered_on")
    ]


def test_the_example_study_raises_none_of_the_end_of_study_checks(
    empty_study_url: str, tmp_path: Path
) -> None:
    import shutil

    folder = tmp_path / "example"
    shutil.copytree(EXAMPLE_STUDY, folder)
    assert eos_findings(import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks) == []


def test_a_partial_re_import_lists_the_end_of_study_checks_of_the_full_path(
    two: tuple[str, str, Path],
) -> None:
    """subjects.csv gains CT-001's end of study; the labs, relapses (with one after the end), lymphodepletion
    (with a dose after the end) and other files are byte-identical (left out of the partial path), yet their
    records after the end are queried as on the full path."""
    partial_url, full_url, folder = two
    relapse = "CT-001,2021-07-01,myelitis,moderate,true,false,,IVMP,\n"
    with (folder / "relapses.csv").open("a", encoding="utf-8") as relapses:
        relapses.write(relapse)
    with (folder / "lymphodepletion.csv").open("a", encoding="utf-8") as doses:
        doses.write(LD_AFTER + "\n")
    for url in (partial_url, full_url):
        import_templates(url, folder, "admin")
    subjects = pd.read_csv(folder / "subjects.csv", dtype=str, keep_default_na=False)
    subjects["disposition"] = ["withdrawn" if s == "CT-001" else "" for s in subjects["subject_id"]]
    subjects["disposition_date"] = ["2021-05-20" if s == "CT-001" else "" for s in subjects["subject_id"]]
    subjects.to_csv(folder / "subjects.csv", index=False)
    partial = import_templates(partial_url, folder, "admin", reason="end of study")
    full = import_templates(full_url, folder, "admin", reason="end of study", partial=False)
    after = sorted(
        (f.record.table, f.field) for f in full.edit_checks if f.check.id == "RECORD-AFTER-END-OF-STUDY"
    )
    # the case is not vacuous: an assessment, a relapse and a dose of files that are not read again
    assert {("lab_result", "collected_at"), ("relapse", "onset_date")} <= set(after)
    assert ("lymphodepletion_administration", "administered_on") in after
    assert (
        sorted(
            (f.record.table, f.field)
            for f in partial.edit_checks
            if f.check.id == "RECORD-AFTER-END-OF-STUDY"
        )
        == after
    )
    assert sorted((q["table_name"], q["record_id"], q["field"]) for q in queries(partial_url)) == sorted(
        (q["table_name"], q["record_id"], q["field"]) for q in queries(full_url)
    )


# -------------------------------------------------------------------------------------------------------
# FATAL-AE-DISPOSITION after a dated end of study (D-19.124)
# -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("disposition", ["completed", "withdrawn: moved abroad", "lost"])
def test_a_death_after_a_dated_end_of_study_is_not_a_disposition_query(
    empty_study_url: str, tmp_path: Path, disposition: str
) -> None:
    """D-19.124: FATAL_AFTER's death (2021-06-28) is after the end of study (2021-06-12): the study ended
    first (D-19.92), the disposition is right and nothing is queried; RECORD-AFTER-END-OF-STUDY exempts the
    fatal event (D-19.101)."""
    folder = small_study(tmp_path / "in", (FATAL_AFTER,), dispositions={"CT-001": disposition})
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
    assert [f.check.id for f in planned if f.check.id in (*EOS_CHECKS, "FATAL-AE-DISPOSITION")] == []
    import_templates(empty_study_url, folder, "admin")
    assert queries(empty_study_url, ("FATAL-AE-DISPOSITION",)) == []


def test_an_end_of_study_dated_after_the_death_is_queried_with_an_accurate_text(
    empty_study_url: str, tmp_path: Path
) -> None:
    """The death (FATAL, 2021-06-12) before the withdrawal's date (2021-06-20) is the end of study: queried,
    and the message says so without quoting a value (D-19.124, D-12.2)."""
    folder = small_study(tmp_path / "in", (FATAL,), dispositions={"CT-001": "withdrawn: moved abroad"})
    dated(folder, "CT-001", "2021-06-20")
    planned = [
        f
        for f in import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
        if f.check.id == "FATAL-AE-DISPOSITION"
    ]
    assert [(f.record.row, f.field) for f in planned] == [(2, "disposition")]
    assert_no_values(planned[0])
    message = planned[0].message
    assert "the analysis reads the subject as dead" not in message
    assert "adverse_events.csv row 2" in message and "subject.disposition_date" in message


def _fatal_ae_disposition_fires(word: str, end: dt.date | None, died: dt.date) -> bool:
    from cartrial.store.edit_checks import Record, SubjectRecords, run_edit_checks

    subject = Record("subject", {"subject_id": "S1", "disposition": word, "disposition_date": end}, new=True)
    fatal = Record(
        "adverse_event",
        {"subject_id": "S1", "grade": 5, "category": "infection", "outcome": "fatal", "started_on": died},
        new=True,
    )
    records = SubjectRecords("S1", {"subject": [subject], "adverse_event": [fatal]})
    found = run_edit_checks([records], None, dt.date(2030, 1, 1))
    return any(f.check.id == "FATAL-AE-DISPOSITION" for f in found)


@given(
    word=st.sampled_from(["ongoing", "completed", "withdrawn", "lost", "death", "withdrawn: moved"]),
    end=st.one_of(st.none(), st.integers(-5, 5)),
)
def test_the_query_fires_exactly_when_the_analysis_reads_the_death_as_the_end(
    word: str, end: int | None
) -> None:
    """Property (D-19.124): FATAL-AE-DISPOSITION fires on a non-death disposition exactly when the analysis's
    end of study (`populations.end_of_study`) is the death — i.e. unless a dated completion, withdrawal or
    loss strictly precedes the date of death (D-19.92)."""
    from cartrial.analysis.populations import end_of_study

    died = dt.date(2021, 6, 12)
    ended = None if end is None else died + dt.timedelta(days=end)
    frame = pd.DataFrame(
        [{"subject_id": "S1", "disposition": word, "disposition_date": ended.isoformat() if ended else ""}]
    )
    analysed = end_of_study(frame, {"S1": died})["S1"]
    # by hand: a non-death word is reconciled only by an end of study dated strictly before the death
    ends_first = word.split(":")[0] in ("completed", "withdrawn", "lost") and end is not None and end < 0
    expected = word != "death" and not ends_first
    assert _fatal_ae_disposition_fires(word, ended, died) is expected
    assert (analysed.disposition is not None and analysed.disposition.word == "death") is (
        word == "death" or not ends_first
    )


# -------------------------------------------------------------------------------------------------------
# END-OF-STUDY-FUTURE (D-19.162)
# -------------------------------------------------------------------------------------------------------


def test_an_end_of_study_dated_after_today_is_queried_on_import_and_on_edit(
    empty_study_url: str, tmp_path: Path
) -> None:
    """Before: `completed` dated next month was stored without a word (only the consent was compared with
    today). It is accepted (soft) and queried, on the subject's disposition_date, never with the date."""
    future = (dt.date.today() + dt.timedelta(days=40)).isoformat()
    folder = small_study(tmp_path / "in", dispositions={"CT-001": "completed"})
    dated(folder, "CT-001", future)
    planned = [
        f
        for f in import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
        if f.check.id == "END-OF-STUDY-FUTURE"
    ]
    assert located(planned) == [("END-OF-STUDY-FUTURE", "subjects.csv", 2, "disposition_date")]
    assert_no_values(planned[0])
    assert future not in planned[0].message
    import_templates(empty_study_url, folder, "admin")
    service = StudyService(connect(empty_study_url))
    (row,) = service.find_records("admin", "subject", subject_id="CT-001")
    assert str(row["disposition_date"])[:10] == future  # stored as given: soft
    (query,) = queries(empty_study_url, ("END-OF-STUDY-FUTURE",))
    assert (query["table_name"], query["record_id"], query["field"]) == (
        "subject",
        row["id"],
        "disposition_date",
    )
    # corrected to a past date on the form: no new query; moved to the future again: queried again (D-19.122)
    service.update_record(
        "admin",
        "subject",
        int(row["id"]),
        {"disposition_date": dt.date(2021, 6, 12)},
        int(row["version"]),
        "fix",
    )
    assert len(queries(empty_study_url, ("END-OF-STUDY-FUTURE",))) == 1
