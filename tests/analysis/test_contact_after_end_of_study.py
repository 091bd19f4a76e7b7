"""Follow-up never runs past a dated end of study (D-19.110): in the default ``last_contact`` relapse
follow-up, a record dated after the subject's ``disposition_date`` (completed, withdrawn, lost: data the store
queries as RECORD-AFTER-END-OF-STUDY, D-19.101) counted as a contact, so the relapse exposure ran past the
end of study, while the populations' follow-up stopped at it — two follow-ups for one subject.

The example's CT-003 (infused 2021-06-08, infusions.csv) keeps every assessment (the last on 2022-02-08,
245 days after the infusion); the subjects form records a withdrawal on 2021-06-18. By hand: the last
contact is then 2021-06-18, 10 days after the infusion, as `populations.follow_up_days`.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.analysis.core import study_populations
from cartrial.analysis.efficacy import relapse_datasets
from cartrial.analysis.populations import last_contact
from cartrial.store.snapshot import StudySnapshot

from .conftest import CUTOFF

SUBJECT = "CT-003"
INFUSED = dt.date(2021, 6, 8)
WITHDRAWN = dt.date(2021, 6, 18)


def _ended(tables: dict[str, pd.DataFrame], text: str, day: dt.date) -> dict[str, pd.DataFrame]:
    subjects = tables["subjects"].copy()
    for column in ("disposition", "disposition_date"):
        if column not in subjects.columns:
            subjects[column] = ""
    at = subjects["subject_id"] == SUBJECT
    subjects.loc[at, "disposition"] = text
    subjects.loc[at, "disposition_date"] = day.isoformat()
    return {**tables, "subjects": subjects}


def test_a_record_after_the_end_of_study_is_not_a_contact(snapshot: StudySnapshot) -> None:
    tables = dict(snapshot.tables)
    assert last_contact(tables, [SUBJECT], CUTOFF)[SUBJECT] > WITHDRAWN  # later records exist
    for text in ("withdrawn: moved abroad", "LOST TO FOLLOW-UP", "completed"):
        assert last_contact(_ended(tables, text, WITHDRAWN), [SUBJECT], CUTOFF) == {SUBJECT: WITHDRAWN}


def test_the_relapse_follow_up_agrees_with_the_populations(snapshot: StudySnapshot) -> None:
    """Both follow-up ends give the populations' follow-up; CT-003's relapse on day 120 (relapses.csv,
    2021-10-06) is after the end of study, so it is not a relapse on study."""
    tables = _ended(dict(snapshot.tables), "withdrawn", WITHDRAWN)
    study = study_populations(tables, snapshot.protocol, CUTOFF)
    member = study.membership.set_index("subject_id").loc[SUBJECT]
    assert member["follow_up_days"] == (WITHDRAWN - INFUSED).days == 10
    for end in ("last_contact", "cutoff"):
        datasets, _ = relapse_datasets(tables, snapshot.protocol, CUTOFF, study.populations, end)
        row = datasets["relapses_by_subject"].table.set_index("subject_id").loc[SUBJECT]
        assert row["post_days"] == 10
        assert row["post_attacks"] == 0


def test_an_end_of_study_dated_after_the_last_record_keeps_the_last_record(snapshot: StudySnapshot) -> None:
    """The cap never lengthens the follow-up: an end of study after the last record leaves the last record
    as the last contact."""
    tables = dict(snapshot.tables)
    last = last_contact(tables, [SUBJECT], CUTOFF)[SUBJECT]
    later = _ended(tables, "completed", last + dt.timedelta(days=3))
    assert last_contact(later, [SUBJECT], CUTOFF) == {SUBJECT: last}


@settings(max_examples=property_examples(40), deadline=None)
@given(
    offset=st.integers(min_value=-30, max_value=400), word=st.sampled_from(["withdrawn", "lost", "completed"])
)
def test_the_last_contact_is_capped_by_the_end_of_study_never_lengthened(
    snapshot: StudySnapshot, offset: int, word: str
) -> None:
    """Property: with the study ended on any day, the last contact is the uncapped last contact capped at
    that day, never before the infusion day (D-19.94's rule for a death, D-19.110)."""
    tables = dict(snapshot.tables)
    uncapped = last_contact(tables, [SUBJECT], CUTOFF)[SUBJECT]
    day = min(INFUSED + dt.timedelta(days=offset), CUTOFF)
    capped = last_contact(_ended(tables, word, day), [SUBJECT], CUTOFF)[SUBJECT]
    assert capped == max(min(uncapped, day), INFUSED)
