"""D-19.708 through the analysis: a subject diagnosed after the start of the 24-month pre-infusion window has
the window start at the diagnosis (or an earlier relapse), so `relapses_by_subject.pre_days` is the days from
there to the infusion (hand count from the example's CSVs: infusion date, relapse onsets)."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

from cartrial.analysis import analyse
from cartrial.store.snapshot import StudySnapshot

from .conftest import rows


def test_a_recent_diagnosis_shortens_the_pre_window(snapshot: StudySnapshot) -> None:
    sid = "CT-001"
    infusion = date.fromisoformat(
        next(r for r in rows("infusions") if r["subject_id"] == sid)["infused_at"][:10]
    )
    onsets = [
        date.fromisoformat(r["onset_date"][:10])
        for r in rows("relapses")
        if r["subject_id"] == sid and r["onset_date"][:10] < infusion.isoformat()
    ]
    diagnosis = infusion - timedelta(days=100)
    start = min([diagnosis, *onsets])
    subjects = snapshot.tables["subjects"].copy()
    subjects["diagnosis_date"] = [diagnosis.isoformat() if s == sid else None for s in subjects["subject_id"]]
    result = analyse(dataclasses.replace(snapshot, tables={**snapshot.tables, "subjects": subjects}))
    table = result.datasets["relapses_by_subject"].table
    own = table[table["subject_id"] == sid].iloc[0]
    assert (
        int(own["pre_days"])
        == (infusion - max(start, date(infusion.year - 2, infusion.month, infusion.day))).days
    )
    others = table[table["subject_id"] != sid]
    assert set(others["pre_days"].astype(int)) <= {730, 731}  # no diagnosis date: the whole 24 months


def test_a_bad_stored_diagnosis_date_is_located_without_its_value() -> None:
    import pandas as pd
    import pytest

    from cartrial.analysis.efficacy import disease_onset_dates
    from cartrial.errors import StoredValueError

    frame = pd.DataFrame({"subject_id": ["CT-009"], "diagnosis_date": ["2020-10"]})
    with pytest.raises(StoredValueError) as caught:
        disease_onset_dates(frame)
    text = str(caught.value)
    assert "CT-009" in text and "diagnosis_date" in text
    assert "2020-10" not in text


def test_a_missing_diagnosis_date_nat_is_skipped() -> None:
    import pandas as pd

    from cartrial.analysis.efficacy import disease_onset_dates

    frame = pd.DataFrame({"subject_id": ["A", "B"], "diagnosis_date": [pd.Timestamp("2020-10-01"), pd.NaT]})
    assert disease_onset_dates(frame) == {"A": date(2020, 10, 1)}


def test_the_relapse_history_onset_is_the_disease_onset_when_earlier() -> None:
    # the attack history (SDTM MH lists it as pre-infusion attacks) counts as a recorded attack: the disease
    # began at the earliest of the diagnosis and the history's onsets (D-19.708)
    import pandas as pd

    from cartrial.analysis.efficacy import disease_onset_dates

    frame = pd.DataFrame(
        {
            "subject_id": ["A", "B", "C"],
            "diagnosis_date": ["2020-10-01", "2020-10-01", None],
            "relapse_history": ['[{"onset_date": "2020-06-15"}]', '[{"onset_date": "2021-01-01"}]', "[]"],
        }
    )
    assert disease_onset_dates(frame) == {"A": date(2020, 6, 15), "B": date(2020, 10, 1)}


def test_the_onset_window_is_noted_and_recorded_in_the_options(snapshot: StudySnapshot) -> None:
    # CT-001 diagnosed 100 days before its infusion: its window starts at disease onset (one subject)
    sid = "CT-001"
    infusion = date.fromisoformat(
        next(r for r in rows("infusions") if r["subject_id"] == sid)["infused_at"][:10]
    )
    subjects = snapshot.tables["subjects"].copy()
    subjects["diagnosis_date"] = [
        (infusion - timedelta(days=100)).isoformat() if s == sid else None for s in subjects["subject_id"]
    ]
    result = analyse(dataclasses.replace(snapshot, tables={**snapshot.tables, "subjects": subjects}))
    notes = result.datasets["relapses_by_subject"].notes
    assert any("1 subject's pre-infusion window starts at disease onset" in n for n in notes)
    rates = result.datasets["relapse_rates"].table
    ratio = rates[rates["measure"] == "ARR ratio after/before"]["method"].iloc[0]
    assert "pre_window_start: disease_onset" in ratio


def test_a_partial_relapse_history_onset_does_not_fail_the_analysis(snapshot: StudySnapshot) -> None:
    # review 2 of D-19.708: a partial onset ("2019-07", as SDTM MH exports it) made analyse() fail for every
    # subject, even with no diagnosis date. Now: no diagnosis date → the history is not read (the whole
    # 24 months); with one, the partial onset is the first day of its month (D-19.711); an unreadable entry
    # is skipped with a note naming the subject and the field, never the value
    sid, other = "CT-001", "CT-002"
    infusion = date.fromisoformat(
        next(r for r in rows("infusions") if r["subject_id"] == sid)["infused_at"][:10]
    )
    attacks = [
        date.fromisoformat(r["onset_date"][:10])
        for r in rows("relapses")
        if r["subject_id"] == sid and r["onset_date"][:10] < infusion.isoformat()
    ]
    subjects = snapshot.tables["subjects"].copy()
    subjects["relapse_history"] = [
        '[{"onset_date": "2019-07"}]' if s == other else None for s in subjects["subject_id"]
    ]
    table = (
        analyse(dataclasses.replace(snapshot, tables={**snapshot.tables, "subjects": subjects}))
        .datasets["relapses_by_subject"]
        .table
    )
    assert set(table["pre_days"].astype(int)) <= {730, 731}

    # CT-001: diagnosed 100 days before the infusion, history onset month 60 days before it
    history = infusion - timedelta(days=60)
    first_of_month = history.replace(day=1)
    subjects["diagnosis_date"] = [
        (infusion - timedelta(days=100)).isoformat() if s == sid else None for s in subjects["subject_id"]
    ]
    subjects["relapse_history"] = [
        f'[{{"onset_date": "{history.isoformat()[:7]}"}}, {{"onset_date": "hidden-value"}}]'
        if s == sid
        else None
        for s in subjects["subject_id"]
    ]
    result = analyse(dataclasses.replace(snapshot, tables={**snapshot.tables, "subjects": subjects}))
    dataset = result.datasets["relapses_by_subject"]
    own = dataset.table[dataset.table["subject_id"] == sid].iloc[0]
    start = min([infusion - timedelta(days=100), first_of_month, *attacks])
    assert (
        int(own["pre_days"])
        == (infusion - max(start, date(infusion.year - 2, infusion.month, infusion.day))).days
    )
    noted = [n for n in dataset.notes if "relapse_history entr" in n]
    assert noted and sid in noted[0] and "hidden-value" not in " ".join(dataset.notes)
