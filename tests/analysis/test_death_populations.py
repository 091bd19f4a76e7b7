"""A subject who dies is followed up to the death, not to the cut-off, and one who dies inside the DLT window
without a DLT did not complete it (docs/analysis.md populations; D-19.83). The death is the recorded fatal
adverse event (CTCAE v5.0 grade 5 "death related to AE", category death, or outcome fatal); its date is the
event's end date when recorded, else its onset."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.analysis.core import study_populations
from cartrial.analysis.populations import death_dates, derive_populations
from cartrial.store.snapshot import StudySnapshot

from .conftest import CUTOFF

SUBJECT = "CT-003"
INFUSED = dt.date(2021, 6, 8)  # the example's CT-003 infusion day (infusions.csv)


def _death_row(
    day: dt.date,
    *,
    relatedness: str = "unrelated",
    grade: str = "5",
    category: str = "death",
    ended: str | None = None,
    outcome: str = "fatal",
) -> dict[str, str]:
    return {
        "subject_id": SUBJECT,
        "term": "Death NOS",
        "meddra_code": "",
        "category": category,
        "started_on": day.isoformat(),
        "ended_on": day.isoformat() if ended is None else ended,
        "grade": grade,
        "grading_scale": "CTCAE",
        "grading_scale_version": "5.0",
        "serious": "true",
        "relatedness": relatedness,
        "dlt": "false",
        "action_taken": "",
        "outcome": outcome,
        "pathogen": "",
        "infection_site": "",
        "record_id": "999999",
    }


def _with(snapshot: StudySnapshot, *extra: dict[str, str]) -> dict[str, pd.DataFrame]:
    tables = dict(snapshot.tables)
    tables["adverse_events"] = pd.concat(
        [snapshot.tables["adverse_events"], pd.DataFrame(list(extra))], ignore_index=True
    )
    return tables


def _row(frame: pd.DataFrame, subject: str = SUBJECT) -> pd.Series:
    return frame.set_index("subject_id").loc[subject]


def test_unrelated_death_on_day_10_ends_follow_up_and_dlt_evaluability(snapshot: StudySnapshot) -> None:
    tables = _with(snapshot, _death_row(INFUSED + dt.timedelta(days=10)))
    study = study_populations(tables, snapshot.protocol, CUTOFF)
    row = _row(study.membership)
    assert row["follow_up_days"] == 10  # not the 285 days to the cut-off
    assert not row["dlt_evaluable"]
    assert "died" in row["reason_not_dlt_evaluable"]
    assert SUBJECT not in study.populations["dlt_evaluable"].subject_ids
    assert SUBJECT in study.populations["safety"].subject_ids  # treated: still in the safety set


def test_treatment_related_death_in_the_window_is_a_dlt_and_evaluable(snapshot: StudySnapshot) -> None:
    tables = _with(snapshot, _death_row(INFUSED + dt.timedelta(days=10), relatedness="probable"))
    study = study_populations(tables, snapshot.protocol, CUTOFF)
    row = _row(study.membership)
    assert row["dlt_in_window"] and row["dlt_evaluable"]
    assert row["follow_up_days"] == 10


def test_death_after_the_window_keeps_evaluability(snapshot: StudySnapshot) -> None:
    tables = _with(snapshot, _death_row(INFUSED + dt.timedelta(days=40)))
    row = _row(study_populations(tables, snapshot.protocol, CUTOFF).membership)
    assert row["dlt_evaluable"] and row["follow_up_days"] == 40


def test_death_date_rules() -> None:
    cutoff = dt.date(2022, 1, 1)
    frame = pd.DataFrame(
        [
            # grade 5 CRS: dies at the end of the event
            _death_row(dt.date(2021, 6, 10), category="crs", ended="2021-06-15") | {"subject_id": "A"},
            # grade 5 without an end date: the onset
            _death_row(dt.date(2021, 6, 11), category="infection", ended="") | {"subject_id": "B"},
            # outcome fatal at a lower recorded grade
            _death_row(dt.date(2021, 6, 12), grade="4", category="non_hematologic") | {"subject_id": "C"},
            # dies after the cut-off: alive at the cut-off
            _death_row(dt.date(2021, 12, 20), category="crs", ended="2022-01-05") | {"subject_id": "D"},
            # not a death
            _death_row(dt.date(2021, 6, 12), grade="4", category="crs", outcome="recovered")
            | {"subject_id": "E"},
        ]
    )
    assert death_dates(frame, cutoff) == {
        "A": dt.date(2021, 6, 15),
        "B": dt.date(2021, 6, 11),
        "C": dt.date(2021, 6, 12),
    }


@settings(max_examples=property_examples(30), deadline=None)
@given(death_day=st.integers(min_value=0, max_value=120), window=st.sampled_from([14, 28, 42]))
def test_follow_up_never_passes_the_death(death_day: int, window: int) -> None:
    """Property: follow-up = min(death, cut-off) − day 0; without a DLT a subject is DLT-evaluable iff the
    window was observed to its end before the death and the cut-off: a death on the window's last day does
    not complete it (the day of death is not a day followed through, D-19.231)."""
    cutoff = INFUSED + dt.timedelta(days=60)
    tables = {
        "subjects": pd.DataFrame({"subject_id": [SUBJECT]}),
        "infusions": pd.DataFrame(
            {"subject_id": [SUBJECT], "infused_at": [f"{INFUSED.isoformat()}T02:00:00Z"], "dose_level": ["1"]}
        ),
        "adverse_events": pd.DataFrame([_death_row(INFUSED + dt.timedelta(days=death_day))]),
    }

    class Escalation:
        dlt_window_days = window

    class Protocol:
        escalation = Escalation()

    _, frame = derive_populations(tables, Protocol(), cutoff, {})
    row = _row(frame)
    observed = min(death_day, 60)
    assert row["follow_up_days"] == observed
    died_by_cutoff = death_day <= 60
    assert bool(row["dlt_evaluable"]) == (death_day > window if died_by_cutoff else observed >= window)


def test_relapse_follow_up_to_the_cutoff_stops_at_the_death(snapshot: StudySnapshot) -> None:
    """`relapse_follow_up_end: cutoff`: the exposure after infusion (ARR denominator, KM censoring) of a
    subject who died is day 0 to the death, not to the cut-off (D-19.83)."""
    from cartrial.analysis.efficacy import relapse_datasets
    from cartrial.protocol import parse_protocol

    text = snapshot.protocol_yaml.replace(
        "relapse_follow_up_end: last_contact", "relapse_follow_up_end: cutoff"
    )
    assert "relapse_follow_up_end: cutoff" in text
    protocol = parse_protocol(text)
    tables = _with(snapshot, _death_row(INFUSED + dt.timedelta(days=10)))
    study = study_populations(tables, protocol, CUTOFF)
    datasets, _ = relapse_datasets(tables, protocol, CUTOFF, study.populations, "cutoff")
    by_subject = datasets["relapses_by_subject"].table.set_index("subject_id")
    assert by_subject.loc[SUBJECT, "post_days"] == 10
    alive = by_subject.drop(index=SUBJECT)
    infused = {
        r["subject_id"]: dt.date.fromisoformat(r["infusion_date"]) for _, r in alive.reset_index().iterrows()
    }
    assert all(by_subject.loc[s, "post_days"] == (CUTOFF - d).days for s, d in infused.items())


def test_an_open_adverse_event_of_a_subject_who_died_lasts_to_the_death() -> None:
    """An adverse event without an end date is ongoing at the cut-off (D-13.2) — for a subject alive then;
    for one who died, it was observed to the death: a grade 3 event open from day 8 with a death on day 10
    did not last "> 7 days" (D-19.83)."""
    from cartrial.analysis.dlt import _ae_events

    open_event = _death_row(INFUSED + dt.timedelta(days=8), grade="3", category="non_hematologic", ended="")
    open_event |= {"outcome": "not_recovered", "term": "Pneumonitis", "record_id": "1"}
    death = _death_row(INFUSED + dt.timedelta(days=10)) | {"record_id": "2"}
    events = _ae_events(pd.DataFrame([open_event, death]), {SUBJECT: INFUSED}, CUTOFF)
    pneumonitis = next(e for e, _, _ in events if e.term == "Pneumonitis")
    assert pneumonitis.ongoing_at_day == 10.0  # was (CUTOFF - INFUSED).days = 285


def test_the_median_follow_up_censors_the_death(snapshot: StudySnapshot) -> None:
    """D-19.90: in the reverse Kaplan-Meier median follow-up a subject who died is censored at the death, not
    counted as reaching the end of follow-up. `relapse_follow_up_end: cutoff`, CT-003 dies on day 10: the
    other eleven are followed to the cut-off, all ends; the expected median is lifelines' Kaplan-Meier on the
    reversed indicator (death censored), the smallest time with S <= 1/2 (6 of 11 ends: S = 5/11)."""
    from lifelines import KaplanMeierFitter

    from cartrial.analysis.efficacy import relapse_datasets
    from cartrial.protocol import parse_protocol

    protocol = parse_protocol(
        snapshot.protocol_yaml.replace("relapse_follow_up_end: last_contact", "relapse_follow_up_end: cutoff")
    )
    tables = _with(snapshot, _death_row(INFUSED + dt.timedelta(days=10)))
    study = study_populations(tables, protocol, CUTOFF)
    _, result = relapse_datasets(tables, protocol, CUTOFF, study.populations, "cutoff")
    days = {s.subject_id: s.post_days for s in result.arr.subjects}
    assert days[SUBJECT] == 10
    fitter = KaplanMeierFitter().fit(list(days.values()), event_observed=[s != SUBJECT for s in days])
    curve = fitter.survival_function_.iloc[:, 0]
    expected = min(float(t) for t, s in curve.items() if s <= 0.5)
    assert result.km.median_follow_up_days == expected
    assert expected == sorted(d for s, d in days.items() if s != SUBJECT)[5]  # the 6th of the 11 alive
    assert result.km.n_deaths == 1


def test_a_median_follow_up_not_reached_is_reported_as_not_reached(snapshot: StudySnapshot) -> None:
    """D-19.100: `relapse_follow_up_end: cutoff`, the 7 subjects infused first die the day before the cut-off
    (censored), the 5 infused last are followed to the cut-off. Their 5 ends come first (shorter follow-up):
    the reverse curve falls to 7/12 > 1/2 and stays there — the median follow-up is not reached (lifelines:
    median_survival_time_ = inf on the same data). The relapse_free_km note and the finding say so, with the
    longest follow-up, and print no number of months (before: the longest follow-up, as if the median)."""
    import math

    from lifelines import KaplanMeierFitter

    from cartrial.analysis.efficacy import relapse_datasets
    from cartrial.analysis.findings import efficacy_findings
    from cartrial.protocol import parse_protocol

    protocol = parse_protocol(
        snapshot.protocol_yaml.replace("relapse_follow_up_end: last_contact", "relapse_follow_up_end: cutoff")
    )
    infused = snapshot.tables["infusions"]
    first_day = infused.groupby("subject_id")["infused_at"].min().map(lambda v: str(v)[:10]).sort_values()
    assert len(first_day) == 12 and first_day.is_unique
    dying = list(first_day.index[:7])
    day = CUTOFF - dt.timedelta(days=1)
    tables = _with(snapshot, *({**_death_row(day), "subject_id": sid} for sid in dying))
    study = study_populations(tables, protocol, CUTOFF)
    datasets, result = relapse_datasets(tables, protocol, CUTOFF, study.populations, "cutoff")
    days = {s.subject_id: s.post_days for s in result.arr.subjects}
    fitter = KaplanMeierFitter().fit(list(days.values()), event_observed=[s not in dying for s in days])
    assert math.isinf(fitter.median_survival_time_)  # the independent check: not reached
    assert result.km.n_deaths == 7
    assert result.km.median_follow_up_days is None and result.km.median_follow_up_months is None
    longest = max(days.values())
    note = datasets["relapse_free_km"].notes[0]
    assert f"median follow-up not reached (reverse Kaplan-Meier; longest follow-up {longest} days)" in note
    assert "months" not in note
    (finding,) = [
        f
        for f in efficacy_findings(datasets, study.populations, protocol, ("relapses",))
        if f.source == "relapse_free_km"
    ]
    assert "median follow-up not reached" in finding.statement and "months" not in finding.statement
