"""A subject whose study ended (completed, withdrawn, lost to follow-up) is followed up to the last contact,
not to the cut-off, and gets an end-of-study status and reason (D-19.92). The analysis ignored the subjects
form's ``disposition``: a subject withdrawn on day 5 counted as DLT-evaluable once 28 calendar days had
passed, showed follow-up to the cut-off, and ADSL EOSSTT said ONGOING while DS said WITHDRAWAL BY SUBJECT."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from cartrial.analysis import analyse
from cartrial.analysis.core import study_populations
from cartrial.analysis.efficacy import relapse_datasets
from cartrial.analysis.populations import CONTACT_COLUMNS, follow_up_ends
from cartrial.protocol.disposition import DISPOSITION_PATTERN, DISPOSITIONS, StudyStatus, parse_disposition
from cartrial.store.fields import validate_record
from cartrial.store.snapshot import StudySnapshot

from .conftest import CUTOFF

SUBJECT = "CT-003"
INFUSED = dt.date(2021, 6, 8)  # the example's CT-003 infusion day (infusions.csv)
LAST_SEEN = INFUSED + dt.timedelta(days=5)


def _left_on_day_5(snapshot: StudySnapshot, disposition: str, date: str = "") -> dict[str, pd.DataFrame]:
    """The example with CT-003's assessments after day 5 removed and its disposition (and its date) set; an
    end without a date is one stored before D-19.92 (the last contact ends the follow-up)."""
    tables = dict(snapshot.tables)
    for name, column in CONTACT_COLUMNS.items():
        frame = tables[name]
        later = (frame["subject_id"] == SUBJECT) & (
            frame[column].astype(str).str[:10] > LAST_SEEN.isoformat()
        )
        tables[name] = frame[~later].reset_index(drop=True)
    subjects = tables["subjects"].copy()
    subjects.loc[subjects["subject_id"] == SUBJECT, "disposition"] = disposition
    subjects.loc[subjects["subject_id"] == SUBJECT, "disposition_date"] = date
    tables["subjects"] = subjects
    return tables


def _row(frame: pd.DataFrame) -> pd.Series:
    return frame.set_index("subject_id").loc[SUBJECT]


def test_a_subject_withdrawn_on_day_5_is_followed_to_day_5_and_not_dlt_evaluable(
    snapshot: StudySnapshot,
) -> None:
    study = study_populations(_left_on_day_5(snapshot, "withdrawn: moved abroad"), snapshot.protocol, CUTOFF)
    row = _row(study.membership)
    assert row["follow_up_days"] == 5  # not the 285 days to the cut-off
    assert not row["dlt_evaluable"]
    assert row["reason_not_dlt_evaluable"].startswith("left the study (withdrawal by subject)")
    assert (row["study_status"], row["discontinuation_reason"]) == ("DISCONTINUED", "WITHDRAWAL BY SUBJECT")
    assert SUBJECT in study.populations["safety"].subject_ids


def test_the_same_data_of_an_ongoing_subject_run_to_the_cut_off(snapshot: StudySnapshot) -> None:
    """Control: without a disposition the subject is followed to the cut-off (still on study)."""
    study = study_populations(_left_on_day_5(snapshot, ""), snapshot.protocol, CUTOFF)
    row = _row(study.membership)
    assert row["follow_up_days"] == (CUTOFF - INFUSED).days
    assert row["dlt_evaluable"] and row["study_status"] == "ONGOING" and row["discontinuation_reason"] == ""


@pytest.mark.parametrize(
    ("disposition", "status", "reason"),
    [
        ("completed", "COMPLETED", ""),
        ("Lost to follow-up: no answer since June", "DISCONTINUED", "LOST TO FOLLOW-UP"),
        ("death", "DISCONTINUED", "DEATH"),  # a death the adverse events do not date: the last contact
    ],
)
def test_each_end_of_study_ends_follow_up_at_the_last_contact(
    snapshot: StudySnapshot, disposition: str, status: str, reason: str
) -> None:
    tables = _left_on_day_5(snapshot, disposition)
    row = _row(study_populations(tables, snapshot.protocol, CUTOFF).membership)
    assert (row["study_status"], row["discontinuation_reason"], row["follow_up_days"]) == (status, reason, 5)
    assert follow_up_ends(tables, [SUBJECT, "CT-001"], CUTOFF) == {SUBJECT: LAST_SEEN, "CT-001": CUTOFF}


def test_a_dated_end_of_study_ends_follow_up_on_its_date(snapshot: StudySnapshot) -> None:
    """The form's date of the end of study, not the last contact, ends the follow-up (day 7 here, two days
    after the last assessment)."""
    ended = INFUSED + dt.timedelta(days=7)
    tables = _left_on_day_5(snapshot, "withdrawn", ended.isoformat())
    row = _row(study_populations(tables, snapshot.protocol, CUTOFF).membership)
    assert (row["follow_up_days"], row["end_of_study_date"]) == (7, ended.isoformat())
    assert follow_up_ends(tables, [SUBJECT], CUTOFF) == {SUBJECT: ended}


def test_a_recorded_death_outranks_the_form(snapshot: StudySnapshot) -> None:
    """A fatal adverse event ends the study as a death whatever the disposition says (here "completed")."""
    tables = _left_on_day_5(snapshot, "completed")
    ae = tables["adverse_events"]
    death = {c: "" for c in ae.columns} | {
        "subject_id": SUBJECT,
        "term": "Death NOS",
        "category": "death",
        "started_on": "2021-06-12",
        "grade": "5",
        "outcome": "fatal",
        "record_id": "999999",
    }
    tables["adverse_events"] = pd.concat([ae, pd.DataFrame([death])], ignore_index=True)
    row = _row(study_populations(tables, snapshot.protocol, CUTOFF).membership)
    assert (row["study_status"], row["discontinuation_reason"], row["follow_up_days"]) == (
        "DISCONTINUED",
        "DEATH",
        4,
    )


def test_a_death_after_a_dated_withdrawal_does_not_move_the_end_of_study(snapshot: StudySnapshot) -> None:
    """Withdrawn on day 5 (dated), a fatal adverse event on day 40 (learnt of in long-term follow-up): the
    study ended at the withdrawal — 5 days of follow-up, not DLT-evaluable for having left, reason
    WITHDRAWAL BY SUBJECT — while the death is still a death (DM.DTHFL, death_dates)."""
    from cartrial.analysis.populations import death_dates

    tables = _left_on_day_5(snapshot, "withdrawn", LAST_SEEN.isoformat())
    ae = tables["adverse_events"]
    death = {c: "" for c in ae.columns} | {
        "subject_id": SUBJECT,
        "term": "Death NOS",
        "category": "death",
        "started_on": (INFUSED + dt.timedelta(days=40)).isoformat(),
        "grade": "5",
        "outcome": "fatal",
        "record_id": "999999",
    }
    tables["adverse_events"] = pd.concat([ae, pd.DataFrame([death])], ignore_index=True)
    row = _row(study_populations(tables, snapshot.protocol, CUTOFF).membership)
    ended = (
        row["study_status"],
        row["discontinuation_reason"],
        row["follow_up_days"],
        row["end_of_study_date"],
    )
    assert ended == ("DISCONTINUED", "WITHDRAWAL BY SUBJECT", 5, LAST_SEEN.isoformat())
    assert not row["dlt_evaluable"] and row["reason_not_dlt_evaluable"].startswith("left the study")
    assert SUBJECT in death_dates(tables["adverse_events"], CUTOFF)
    # a death dated before the form's end is the end (the form's later date cannot follow a death)
    tables = _left_on_day_5(snapshot, "withdrawn", (INFUSED + dt.timedelta(days=60)).isoformat())
    tables["adverse_events"] = pd.concat([ae, pd.DataFrame([death])], ignore_index=True)
    row = _row(study_populations(tables, snapshot.protocol, CUTOFF).membership)
    assert (row["discontinuation_reason"], row["follow_up_days"]) == ("DEATH", 40)


def test_relapse_follow_up_to_the_cut_off_stops_at_a_withdrawal(snapshot: StudySnapshot) -> None:
    """The ``cutoff`` relapse follow-up option runs to the cut-off only for subjects still on study."""
    tables = _left_on_day_5(snapshot, "withdrawn")
    study = study_populations(tables, snapshot.protocol, CUTOFF)
    datasets, _ = relapse_datasets(tables, snapshot.protocol, CUTOFF, study.populations, "cutoff")
    row = _row(datasets["relapses_by_subject"].table)
    ongoing = _row(
        relapse_datasets(
            _left_on_day_5(snapshot, ""), snapshot.protocol, CUTOFF, study.populations, "cutoff"
        )[0]["relapses_by_subject"].table
    )
    assert ongoing["post_days"] == (CUTOFF - INFUSED).days
    assert row["post_days"] == 5


def test_a_disposition_stored_before_its_vocabulary_is_named_not_guessed(snapshot: StudySnapshot) -> None:
    tables = dict(snapshot.tables)
    subjects = tables["subjects"].copy()
    subjects.loc[subjects["subject_id"] == SUBJECT, "disposition"] = "left the study"
    tables["subjects"] = subjects
    analysis = analyse(dataclasses.replace(snapshot, tables=tables))
    populations = analysis.datasets["populations"]
    assert _row(populations.table)["study_status"] == ""
    assert any("disposition not read for 1 subject (CT-003)" in note for note in populations.notes)
    assert "left the study" not in " ".join(populations.notes)  # the value itself is never repeated


def test_every_write_path_refuses_a_disposition_outside_the_vocabulary() -> None:
    refused = validate_record("subject", {"disposition": "left the study"}, protocol=None, partial=True)
    assert [p.field for p in refused] == ["disposition"]
    assert "withdrawn" in (refused[0].allowed or "")
    for text in ("ongoing", "Completed", "withdrawn: moved abroad", "LOST TO FOLLOW-UP", "death", ""):
        assert validate_record("subject", {"disposition": text}, protocol=None, partial=True) == []


@given(
    word=st.sampled_from(sorted({s for d in DISPOSITIONS.values() for s in d.spellings()})),
    reason=st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30),  # one line of text
    upper=st.booleans(),
)
def test_a_word_with_any_reason_reads_as_that_word(word: str, reason: str, upper: bool) -> None:
    text = (word.upper() if upper else word) + ": " + reason
    parsed = parse_disposition(text)
    assert parsed is not None and word in parsed.spellings()
    assert (parsed.status is StudyStatus.ONGOING) == (parsed.decoded == "")


@given(st.text(max_size=40))
@example("\x0c")
@example("completed\u00a0")
def test_the_parser_and_the_field_rule_agree(text: str) -> None:
    """Whatever the text, the analysis reads exactly what the write paths accept (one vocabulary)."""
    import re

    cell = text.strip(" \t\r\n")  # a cell loses only space, tab, CR and LF at its edges (D-19.445, D-19.446)
    accepted = not cell or re.fullmatch(DISPOSITION_PATTERN, cell) is not None
    assert (parse_disposition(text) is not None) == accepted


def test_an_end_of_study_dated_before_the_infusion_is_a_follow_up_of_0_days(snapshot: StudySnapshot) -> None:
    """A withdrawal dated before the infusion (contradictory data no store rule refuses) gave a follow-up of
    -3 days and failed the relapse analysis with ``cutoff`` ("last assessment is before the infusion"). The
    infusion is a contact: the follow-up ends on the infusion day (review of D-19.92)."""
    before = (INFUSED - dt.timedelta(days=3)).isoformat()
    tables = _left_on_day_5(snapshot, "withdrawn: moved abroad", before)
    assert follow_up_ends(tables, [SUBJECT], CUTOFF) == {SUBJECT: INFUSED}
    study = study_populations(tables, snapshot.protocol, CUTOFF)
    assert _row(study.membership)["follow_up_days"] == 0
    datasets, _ = relapse_datasets(tables, snapshot.protocol, CUTOFF, study.populations, "cutoff")
    assert _row(datasets["relapses_by_subject"].table)["post_days"] == 0


def test_an_end_of_study_on_the_cut_off_day_is_the_reason_not_dlt_evaluable(
    example_sqlite_template: object,
) -> None:
    """D-19.113: a subject withdrawn on the cut-off day, inside the DLT window without a DLT, left the study —
    their window can never complete — but was said to have a "DLT window (28 days) not complete at the
    cut-off" (the reason compared the end of follow-up with the cut-off, `end < cutoff`). At a 2021-12-20
    cut-off CT-012 (infused 2021-12-07, infusions.csv) is on day 13 of the window; withdrawn 2021-12-20."""
    from cartrial.store.snapshot import read_snapshot

    cutoff = dt.date(2021, 12, 20)
    snap = read_snapshot(f"sqlite:///{example_sqlite_template}", cutoff)
    tables = dict(snap.tables)
    subjects = tables["subjects"].copy()
    at = subjects["subject_id"] == "CT-012"
    subjects.loc[at, ["disposition", "disposition_date"]] = ["withdrawn", cutoff.isoformat()]
    tables["subjects"] = subjects
    member = study_populations(tables, snap.protocol, cutoff).membership.set_index("subject_id").loc["CT-012"]
    assert member["follow_up_days"] == 13 and not member["dlt_evaluable"]
    assert member["reason_not_dlt_evaluable"] == (
        "left the study (withdrawal by subject) before completing the DLT window (28 days) without a DLT"
    )
