"""Follow-up never runs past a death (D-19.94): in the default ``last_contact`` relapse follow-up, a record
dated after the death (impossible data, which the store queries as RECORD-AFTER-DEATH, D-19.93) counted as a
contact, so the subject's post-infusion follow-up ran past the death to that record.

The example's CT-003 (infused 2021-06-08, infusions.csv) keeps every assessment; a fatal event dated
2021-06-12 (day 4) is added. By hand: its last contact is then the death day, 4 days after the infusion.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cartrial.analysis.core import study_populations
from cartrial.analysis.efficacy import relapse_datasets
from cartrial.analysis.populations import CONTACT_COLUMNS, last_contact
from cartrial.store.snapshot import StudySnapshot

from .conftest import CUTOFF

SUBJECT = "CT-003"
INFUSED = dt.date(2021, 6, 8)
DIED = dt.date(2021, 6, 12)


def _with_death(tables: dict[str, pd.DataFrame], died: dt.date = DIED) -> dict[str, pd.DataFrame]:
    ae = tables["adverse_events"]
    death = {c: "" for c in ae.columns} | {
        "subject_id": SUBJECT,
        "term": "Death NOS",
        "category": "death",
        "started_on": died.isoformat(),
        "grade": "5",
        "outcome": "fatal",
        "record_id": "999999",
    }
    return {**tables, "adverse_events": pd.concat([ae, pd.DataFrame([death])], ignore_index=True)}


def test_a_record_after_the_death_is_not_a_contact(snapshot: StudySnapshot) -> None:
    tables = dict(snapshot.tables)
    later = [
        name
        for name, column in CONTACT_COLUMNS.items()
        if (
            (tables[name]["subject_id"] == SUBJECT)
            & (tables[name][column].astype(str).str[:10] > DIED.isoformat())
        ).any()
    ]
    assert later  # the case is not vacuous: the example has CT-003 records after day 4
    assert last_contact(tables, [SUBJECT], CUTOFF)[SUBJECT] > DIED  # alive: the latest record
    assert last_contact(_with_death(tables), [SUBJECT], CUTOFF) == {SUBJECT: DIED}


def test_the_default_relapse_follow_up_stops_at_the_death(snapshot: StudySnapshot) -> None:
    tables = _with_death(dict(snapshot.tables))
    study = study_populations(tables, snapshot.protocol, CUTOFF)
    datasets, _ = relapse_datasets(tables, snapshot.protocol, CUTOFF, study.populations)  # last_contact
    row = datasets["relapses_by_subject"].table.set_index("subject_id").loc[SUBJECT]
    assert row["post_days"] == (DIED - INFUSED).days == 4


def test_a_death_dated_before_the_infusion_ends_the_follow_up_at_the_infusion_day(
    snapshot: StudySnapshot,
) -> None:
    """A fatal event dated two days before the infusion (impossible data the store accepts with the soft
    query RECORD-AFTER-DEATH on the infusion) capped the last contact before the infusion: the follow-up was
    -2 days and the relapse analysis — hence `analyse` — failed under either follow-up end ("last assessment
    is before the infusion"). The infusion is a contact, so the follow-up ends there: 0 days."""
    tables = _with_death(dict(snapshot.tables), INFUSED - dt.timedelta(days=2))
    assert last_contact(tables, [SUBJECT], CUTOFF) == {SUBJECT: INFUSED}
    study = study_populations(tables, snapshot.protocol, CUTOFF)
    member = study.membership.set_index("subject_id").loc[SUBJECT]
    assert member["follow_up_days"] == 0 and not member["dlt_evaluable"]
    for end in ("last_contact", "cutoff"):
        datasets, _ = relapse_datasets(tables, snapshot.protocol, CUTOFF, study.populations, end)
        assert datasets["relapses_by_subject"].table.set_index("subject_id").loc[SUBJECT, "post_days"] == 0
