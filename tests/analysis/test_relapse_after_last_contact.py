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


def _engine(relapse: str, **given: object) -> tuple[int, int]:
    """S1 infused 2021-01-01, last assessed 2021-06-01 (cut-off 2021-07-01): (post_attacks, post_days)."""
    result = derive_relapses(
        "subject_id,onset_date,phenotype,severity\n" + relapse,
        {"S1": dt.date(2021, 1, 1)},
        last_assessment={"S1": dt.date(2021, 6, 1)},
        cutoff=dt.date(2021, 7, 1),
        **given,  # type: ignore[arg-type]
    )
    row = result.table.set_index("subject_id").loc["S1"]
    return int(row["post_attacks"]), int(row["post_days"])


def test_a_relapse_after_the_death_or_end_of_study_extends_nothing() -> None:
    """The reviewer's case: death (or dated end of study) 2021-06-10, relapse 2021-06-15 after it. The
    relapse is not on study, so the follow-up stays at the last assessment, as without the relapse: Jan 1 to
    Jun 1 is 31 + 28 + 31 + 30 + 31 = 151 days, 0 attacks (the old code reached the death, 160 days)."""
    late = "S1,2021-06-15,myelitis,severe\n"
    for given in ({"deaths": {"S1": dt.date(2021, 6, 10)}}, {"ends_of_study": {"S1": dt.date(2021, 6, 10)}}):
        assert _engine("", **given) == (0, 151)
        assert _engine(late, **given) == (0, 151)
    # a relapse before that end extends the follow-up to its onset: Jun 1 + 4 days = 155
    early = "S1,2021-06-05,myelitis,severe\n"
    assert _engine(early, deaths={"S1": dt.date(2021, 6, 10)}) == (1, 155)
    assert _engine(early, ends_of_study={"S1": dt.date(2021, 6, 10)}) == (1, 155)
    # an end of study without its date (None, stored before D-19.92) is the last assessment: nothing after it
    assert _engine(early, ends_of_study={"S1": None}) == (0, 151)
    assert _engine(late, ends_of_study={"S1": None}) == (0, 151)


def test_the_note_counts_the_subjects_followed_past_the_last_assessment() -> None:
    """Only S1 (relapse 2021-06-15 after its last assessment 2021-06-01) is extended; S2's relapse on
    2021-05-01 is before its last assessment; S3's after its death extends nothing: 1 subject."""
    relapses = (
        "subject_id,onset_date,phenotype,severity\nS1,2021-06-15,myelitis,severe\n"
        "S2,2021-05-01,myelitis,severe\nS3,2021-06-20,myelitis,severe\n"
    )
    ids = ("S1", "S2", "S3")
    result = derive_relapses(
        relapses,
        dict.fromkeys(ids, dt.date(2021, 1, 1)),
        last_assessment=dict.fromkeys(ids, dt.date(2021, 6, 1)),
        deaths={"S3": dt.date(2021, 6, 10)},
        cutoff=dt.date(2021, 7, 1),
    )
    (note,) = [n for n in result.notes if n.startswith("follow-up extended")]
    assert "onset: 1 subject (D-19.587)" in note and "relapse_follow_up_end: cutoff" in note
    without = derive_relapses(
        relapses,
        dict.fromkeys(ids, dt.date(2021, 1, 1)),
        last_assessment=dict.fromkeys(ids, dt.date(2021, 7, 1)),
    )
    assert not [n for n in without.notes if n.startswith("follow-up extended")]


def test_an_undated_end_of_study_ends_the_follow_up_at_the_last_contact(snapshot: StudySnapshot) -> None:
    """CT-002's study ended (withdrawn) with no disposition date (stored before D-19.92): its end is its last
    contact 2022-02-11, day 269. A relapse on 2022-03-15, after that end, is not on study: 0 attacks and 269
    days, both follow-up ends (the cut-off one ends at that end too: `follow_up_ends`)."""
    tables = _with_relapse(dict(snapshot.tables), "2022-03-15")
    subjects = tables["subjects"].copy()
    at = subjects["subject_id"] == SUBJECT
    subjects.loc[at, "disposition"] = "withdrawn"
    subjects.loc[at, "disposition_date"] = ""
    tables["subjects"] = subjects
    study = study_populations(tables, snapshot.protocol, CUTOFF)
    for end in ("last_contact", "cutoff"):
        datasets, _ = relapse_datasets(tables, snapshot.protocol, CUTOFF, study.populations, end)
        row = datasets["relapses_by_subject"].table.set_index("subject_id").loc[SUBJECT]
        assert (row["post_attacks"], row["post_days"]) == (0, 269), end
