"""A death that only the subjects form records (disposition ``death`` with its ``disposition_date``, no fatal
adverse event yet: the store queries it as DEATH-WITHOUT-FATAL-AE) is read by the analysis as a death on that
date (`populations.end_of_study`, D-19.92: study status DISCONTINUED, reason DEATH, follow-up to the date).
The reverse Kaplan-Meier median follow-up censors a subject who died (D-19.90), so it censors this one too
(D-19.112): before, only the deaths of the adverse events were censored, and the same subject's end of
follow-up was counted as a living subject's.

CT-003 (infused 2021-06-08, infusions.csv) dies on day 10 (2021-06-18) by the form only; with
`relapse_follow_up_end: cutoff` the other eleven are followed to the cut-off. Expected by hand, as for a death
recorded as a fatal adverse event (tests/analysis/test_death_populations.py): CT-003 censored at day 10, the
median is the smallest time with S <= 1/2 of the eleven ends, the 6th of the eleven follow-ups.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cartrial.analysis.core import study_populations
from cartrial.analysis.efficacy import relapse_datasets
from cartrial.protocol import parse_protocol
from cartrial.store.snapshot import StudySnapshot

from .conftest import CUTOFF

SUBJECT = "CT-003"
INFUSED = dt.date(2021, 6, 8)
DIED = INFUSED + dt.timedelta(days=10)


def _form_death(snapshot: StudySnapshot) -> dict[str, pd.DataFrame]:
    tables = dict(snapshot.tables)
    subjects = tables["subjects"].copy()
    for column in ("disposition", "disposition_date"):
        if column not in subjects.columns:
            subjects[column] = ""
    at = subjects["subject_id"] == SUBJECT
    subjects.loc[at, "disposition"] = "death"
    subjects.loc[at, "disposition_date"] = DIED.isoformat()
    tables["subjects"] = subjects
    return tables


def test_a_death_recorded_on_the_form_only_is_censored_in_the_reverse_km(snapshot: StudySnapshot) -> None:
    protocol = parse_protocol(
        snapshot.protocol_yaml.replace("relapse_follow_up_end: last_contact", "relapse_follow_up_end: cutoff")
    )
    tables = _form_death(snapshot)
    study = study_populations(tables, protocol, CUTOFF)
    member = study.membership.set_index("subject_id").loc[SUBJECT]
    assert (member["study_status"], member["discontinuation_reason"]) == ("DISCONTINUED", "DEATH")
    assert member["follow_up_days"] == 10
    _, result = relapse_datasets(tables, protocol, CUTOFF, study.populations, "cutoff")
    days = {s.subject_id: s.post_days for s in result.arr.subjects}
    assert days[SUBJECT] == 10
    alive = sorted(d for s, d in days.items() if s != SUBJECT)
    assert len(alive) == 11
    assert result.km.n_deaths == 1
    assert result.km.median_follow_up_days == alive[5]
