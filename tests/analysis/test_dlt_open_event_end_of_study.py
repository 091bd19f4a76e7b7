"""An adverse event left open at the end of study is ongoing at that end, not at the cut-off, for the DLT
rules' duration conditions (D-19.116), as an event left open by a death is ongoing at the death (D-19.83).

A protocol whose organ-toxicity rule reads "lasting > 7 days" (the example's `organ_toxicity_related` with
`min_duration_days: 7`). CT-003 (infused 2021-06-08, infusions.csv) has a grade 3 hepatic event possibly
related from day 1 with no end date, and withdraws on day 3 (2021-06-11). By hand: the event is known to
have lasted to day 3 (2 days), not > 7, so it is no DLT, and CT-003 left the study inside the 28-day window
without a DLT: not DLT-evaluable. Before: the event was "ongoing at the cut-off" (day 285), a 284-day
event, a DLT — CT-003 counted as an evaluable patient with a DLT at dose level 1.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cartrial.analysis.core import study_populations
from cartrial.protocol import parse_protocol
from cartrial.store.snapshot import StudySnapshot

from .conftest import CUTOFF

SUBJECT = "CT-003"
INFUSED = dt.date(2021, 6, 8)
RULE = """      organ_min_grade: {cardiac: 2, renal: 2}
      min_relatedness: possible
"""


def _tables(snapshot: StudySnapshot, disposition: str, day: dt.date | None) -> dict[str, pd.DataFrame]:
    tables = dict(snapshot.tables)
    ae = tables["adverse_events"]
    event = {c: "" for c in ae.columns} | {
        "subject_id": SUBJECT,
        "term": "Alanine aminotransferase increased",
        "category": "non_hematologic",
        "started_on": (INFUSED + dt.timedelta(days=1)).isoformat(),
        "grade": "3",
        "grading_scale": "CTCAE",
        "grading_scale_version": "5.0",
        "serious": "false",
        "relatedness": "possible",
        "dlt": "false",
        "outcome": "not_recovered",
        "record_id": "999999",
    }
    tables["adverse_events"] = pd.concat([ae, pd.DataFrame([event])], ignore_index=True)
    subjects = tables["subjects"].copy()
    for column in ("disposition", "disposition_date"):
        if column not in subjects.columns:
            subjects[column] = ""
    at = subjects["subject_id"] == SUBJECT
    subjects.loc[at, ["disposition", "disposition_date"]] = [disposition, day.isoformat() if day else ""]
    tables["subjects"] = subjects
    return tables


def _protocol(snapshot: StudySnapshot):  # type: ignore[no-untyped-def]
    assert RULE in snapshot.protocol_yaml
    return parse_protocol(snapshot.protocol_yaml.replace(RULE, RULE + "      min_duration_days: 7\n", 1))


def test_an_open_event_is_ongoing_at_the_end_of_study(snapshot: StudySnapshot) -> None:
    protocol = _protocol(snapshot)
    study = study_populations(
        _tables(snapshot, "withdrawn", INFUSED + dt.timedelta(days=3)), protocol, CUTOFF
    )
    member = study.membership.set_index("subject_id").loc[SUBJECT]
    assert member["follow_up_days"] == 3
    assert not member["dlt_in_window"]
    assert not member["dlt_evaluable"]
    assert member["reason_not_dlt_evaluable"].startswith("left the study (withdrawal by subject)")


def test_the_same_open_event_of_a_subject_on_study_is_a_dlt(snapshot: StudySnapshot) -> None:
    """The control: on study to the cut-off, the open event has lasted > 7 days: a DLT in the window."""
    study = study_populations(_tables(snapshot, "", None), _protocol(snapshot), CUTOFF)
    member = study.membership.set_index("subject_id").loc[SUBJECT]
    assert member["dlt_in_window"] and member["dlt_evaluable"]
