"""A relapse after the last contact is within the follow-up (D-19.587).

The relapse follow-up ends by default at the last contact (`populations.last_contact`: the last EDSS, lab,
sample … record), and only attacks with onset on or before that end were counted after the infusion. A
relapse reported with an onset after the last visit but before the cut-off (the patient phoned, or was
treated elsewhere) was silently dropped: the subject was listed relapse-free, with no event in the
Kaplan-Meier curve nor in ADTTE. A relapse is itself observed on its onset day, so the follow-up reaches at
least that day.

The example's CT-002 is infused 2021-05-18 (infusions.csv) and last seen 2022-02-11 (269 days later, its
last contact at the cut-off 2022-03-20). A relapse with onset 2022-03-15 is added. By hand: 2022-02-11 to
2022-03-15 is 17 + 15 = 32 days, so the onset is day 269 + 32 = 301 after the infusion; the subject has one
attack after the infusion, on day 301, and is followed to that day at least.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cartrial.analysis.core import study_populations
from cartrial.analysis.efficacy import relapse_datasets
from cartrial.neuro.derive import derive_relapses
from cartrial.store.snapshot import StudySnapshot

from .conftest import CUTOFF

SUBJECT = "CT-002"


def _with_relapse(tables: dict[str, pd.DataFrame], onset: str) -> dict[str, pd.DataFrame]:
    relapses = tables["relapses"]
    row = {c: "" for c in relapses.columns} | {
        "subject_id": SUBJECT,
        "onset_date": onset,
        "phenotype": "myelitis",
        "severity": "moderate",
        "lasted_over_24h": "true",
        "fever_or_infection": "false",
        "record_id": "999999",
    }
    return {**tables, "relapses": pd.concat([relapses, pd.DataFrame([row])], ignore_index=True)}


def test_a_relapse_after_the_last_contact_is_counted(snapshot: StudySnapshot) -> None:
    tables = dict(snapshot.tables)
    study = study_populations(tables, snapshot.protocol, CUTOFF)
    before, _ = relapse_datasets(tables, snapshot.protocol, CUTOFF, study.populations)
    row = before["relapses_by_subject"].table.set_index("subject_id").loc[SUBJECT]
    assert (row["post_attacks"], row["post_days"]) == (0, 269)  # the case as the example has it

    tables = _with_relapse(tables, "2022-03-15")
    datasets, _ = relapse_datasets(tables, snapshot.protocol, CUTOFF, study.populations)
    row = datasets["relapses_by_subject"].table.set_index("subject_id").loc[SUBJECT]
    assert row["post_attacks"] == 1
    assert row["first_post_attack_day"] == 301
    assert row["post_days"] == 301
    assert not row["relapse_free"]
    km = datasets["relapse_free_km"].table
    assert km.loc[km["time_days"] == 301.0, "events"].tolist() == [1]
    # the other follow-up end, the cut-off: 2021-05-18 to 2022-03-20 is 301 + 5 = 306 days, one attack
    datasets, _ = relapse_datasets(tables, snapshot.protocol, CUTOFF, study.populations, "cutoff")
    row = datasets["relapses_by_subject"].table.set_index("subject_id").loc[SUBJECT]
    assert (row["post_attacks"], row["first_post_attack_day"], row["post_days"]) == (1, 301, 306)


def test_the_engine_follows_a_subject_to_a_relapse_after_the_given_end() -> None:
    """S1 infused 2021-01-01, last assessed 2021-06-01, relapse 2021-06-15 (cut-off 2021-07-01): by hand
    Jan 1 to Jun 15 is 31 + 28 + 31 + 30 + 31 + 14 = 165 days. An episode after the cut-off is not in the
    data and does not extend anything."""
    relapses = "subject_id,onset_date,phenotype,severity\nS1,2021-06-15,myelitis,severe\n"
    result = derive_relapses(
        relapses,
        {"S1": dt.date(2021, 1, 1), "S2": dt.date(2021, 1, 1)},
        last_assessment={"S1": dt.date(2021, 6, 1), "S2": dt.date(2021, 6, 1)},
        cutoff=dt.date(2021, 7, 1),
    )
    table = result.table.set_index("subject_id")
    assert table.loc["S1", "post_attacks"] == 1
    assert table.loc["S1", "first_post_attack_day"] == 165
    assert table.loc["S1", "post_days"] == 165
    assert table.loc["S2", "post_days"] == 151  # Jan 1 to Jun 1: 31 + 28 + 31 + 30 + 31, unchanged
    assert result.km is not None and result.km.n_events == 1
