"""A subject lymphodepleted but never infused is outside the safety set (infused by the cut-off), and so
were their adverse events: counted in no analysis dataset and not mentioned by the report (silent loss).
The analysis lists every adverse event of an enrolled subject not infused (`ae_not_infused`, with the first
lymphodepletion dose and whether the event began on or after it), names the subjects lymphodepleted but not
infused among those left out of the safety set, and says so in the key findings (D-19.88)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.analysis import analyse
from cartrial.analysis.populations import SAFETY
from cartrial.store.snapshot import StudySnapshot

LD_ONLY = "CT-098"
"""Consented, lymphodepleted on 2022-01-20..22, never infused (e.g. the product could not be given)."""
CONSENT_ONLY = "CT-099"
"""Consented, neither lymphodepleted nor infused."""
LD_DAYS = ("2022-01-20", "2022-01-21", "2022-01-22")


def _subject(snapshot: StudySnapshot, sid: str, record_id: str) -> dict[str, str]:
    row = snapshot.tables["subjects"].iloc[0].to_dict()
    return row | {
        "subject_id": sid,
        "screening_number": f"S-{sid[-3:]}",
        "consent_date": "2022-01-05",
        "record_id": record_id,
    }


def _lymphodepletion(day: str, drug: str, record_id: str) -> dict[str, str]:
    dose = "300" if drug == "cyclophosphamide" else "30"
    return {
        "subject_id": LD_ONLY,
        "drug": drug,
        "administered_on": day,
        "day_relative_to_infusion": "",
        "dose_mg_per_m2": dose,
        "dose_mg": str(float(dose) * 1.6),
        "body_surface_area_m2": "1.6",
        "record_id": record_id,
    }


def _event(term: str, started: str, grade: str, serious: str, record_id: str) -> dict[str, str]:
    return {
        "subject_id": LD_ONLY,
        "term": term,
        "meddra_code": "",
        "category": "hematologic" if "neutropenia" in term.lower() else "non_hematologic",
        "started_on": started,
        "ended_on": "",
        "grade": grade,
        "grading_scale": "CTCAE",
        "grading_scale_version": "5.0",
        "serious": serious,
        "relatedness": "probable" if serious == "true" else "unrelated",
        "dlt": "false",
        "action_taken": "",
        "outcome": "recovering",
        "pathogen": "",
        "infection_site": "",
        "record_id": record_id,
    }


BEFORE = _event("Headache", "2022-01-10", "1", "false", "990001")  # after consent, before lymphodepletion
AFTER = _event("Febrile neutropenia", "2022-01-27", "3", "true", "990002")  # 5 days after the last dose


def with_ld_only_subject(snapshot: StudySnapshot) -> StudySnapshot:
    """The example snapshot plus `LD_ONLY` (lymphodepleted, two adverse events, no infusion) and
    `CONSENT_ONLY` (consented only, no record)."""
    tables = dict(snapshot.tables)

    def add(name: str, *rows: dict[str, str]) -> None:
        tables[name] = pd.concat([tables[name], pd.DataFrame(list(rows))], ignore_index=True)

    add("subjects", _subject(snapshot, LD_ONLY, "990001"), _subject(snapshot, CONSENT_ONLY, "990002"))
    add(
        "lymphodepletion",
        *(
            _lymphodepletion(day, drug, f"99{k}{j}")
            for k, day in enumerate(LD_DAYS)
            for j, drug in enumerate(("cyclophosphamide", "fludarabine"))
        ),
    )
    add("adverse_events", BEFORE, AFTER)
    return dataclasses.replace(snapshot, tables=tables)


def _datasets_with_record(analysis: object, subject: str, record_id: str) -> list[str]:
    out = []
    for name, dataset in analysis.datasets.items():  # type: ignore[attr-defined]
        table = dataset.table
        if {"subject_id", "record_id"} <= set(table.columns):
            hit = (table["subject_id"].astype(str) == subject) & (table["record_id"].astype(str) == record_id)
            if hit.any():
                out.append(name)
    return out


def test_adverse_events_of_a_subject_lymphodepleted_not_infused_are_listed(snapshot: StudySnapshot) -> None:
    analysis = analyse(with_ld_only_subject(snapshot))
    # the subject stays out of the safety set (infused by the cut-off) and out of its tables
    assert LD_ONLY not in analysis.populations[SAFETY].subject_ids
    assert LD_ONLY not in set(analysis.datasets["teae_listing"].table["subject_id"])
    # ...but each of their adverse events is in an analysis dataset: the listing of the not-infused
    for event in (BEFORE, AFTER):
        assert _datasets_with_record(analysis, LD_ONLY, event["record_id"]) == ["ae_not_infused"]
    listing = analysis.datasets["ae_not_infused"]
    assert listing.population == "enrolled"
    table = listing.table.set_index("record_id")
    assert table.loc[AFTER["record_id"], "lymphodepletion_start"] == LD_DAYS[0]
    assert bool(table.loc[AFTER["record_id"], "after_lymphodepletion"])
    assert not bool(table.loc[BEFORE["record_id"], "after_lymphodepletion"])
    # treatment-emergent by the study's rule (default: from the first lymphodepletion dose)
    assert bool(table.loc[AFTER["record_id"], "treatment_emergent"])
    assert not bool(table.loc[BEFORE["record_id"], "treatment_emergent"])


def test_the_safety_set_names_who_was_lymphodepleted_but_not_infused(snapshot: StudySnapshot) -> None:
    from cartrial.analysis.populations import LYMPHODEPLETED_NOT_INFUSED, NOT_INFUSED

    analysis = analyse(with_ld_only_subject(snapshot))
    excluded = analysis.populations[SAFETY].excluded
    assert excluded == {LYMPHODEPLETED_NOT_INFUSED: (LD_ONLY,), NOT_INFUSED: (CONSENT_ONLY,)}
    membership = analysis.datasets["populations"].table.set_index("subject_id")
    assert membership.loc[LD_ONLY, "reason_not_dlt_evaluable"] == LYMPHODEPLETED_NOT_INFUSED
    assert membership.loc[CONSENT_ONLY, "reason_not_dlt_evaluable"] == NOT_INFUSED
    assert not membership.loc[LD_ONLY, "safety"]


def test_the_findings_count_the_events_of_the_not_infused(snapshot: StudySnapshot) -> None:
    analysis = analyse(with_ld_only_subject(snapshot))
    statements = {f.source: f for f in analysis.findings}
    disposition = next(f for f in analysis.findings if f.domain == "disposition")
    # 12 infused in the example (infusions.csv) of 14 enrolled; one of the two others was lymphodepleted
    assert disposition.statement.startswith("12 of 14 enrolled patients were infused")
    assert f"1 more was lymphodepleted but not infused ({LD_ONLY})" in disposition.statement
    finding = statements["ae_not_infused"]
    assert (finding.numerator, finding.denominator) == (1, 2)  # 1 of the 2 enrolled not infused had events
    assert finding.statement == (
        "2 adverse events in 1 of 2 enrolled patients not infused (1 event on or after the first "
        "lymphodepletion dose, in 1 patient) are listed in ae_not_infused, not in the safety tables."
    )


def test_no_listing_and_no_statement_when_everyone_was_infused(analysis: object) -> None:
    """The example study infused every enrolled subject: nothing is added to its outputs."""
    assert "ae_not_infused" not in analysis.datasets  # type: ignore[attr-defined]
    assert analysis.populations[SAFETY].excluded == {}  # type: ignore[attr-defined]
    assert all(f.source != "ae_not_infused" for f in analysis.findings)  # type: ignore[attr-defined]
    disposition = next(f for f in analysis.findings if f.domain == "disposition")  # type: ignore[attr-defined]
    assert "lymphodepleted" not in disposition.statement


def _ld(sid: str, day: dt.date) -> dict[str, str]:
    return {"subject_id": sid, "administered_on": day.isoformat(), "drug": "fludarabine"}


@settings(max_examples=property_examples(40), deadline=None)
@given(
    subjects=st.lists(
        st.tuples(
            st.booleans(),  # infused on day 30
            st.one_of(st.none(), st.integers(0, 29)),  # first lymphodepletion day (None: none)
            st.lists(st.integers(0, 60), max_size=3),  # adverse event onset days
        ),
        min_size=1,
        max_size=5,
    )
)
def test_every_event_of_a_subject_not_infused_is_listed_once(
    subjects: list[tuple[bool, int | None, list[int]]],
) -> None:
    """Property: the listing holds exactly the events of the subjects outside the safety set, each once;
    ``after_lymphodepletion`` iff the onset is on or after the subject's first lymphodepletion dose."""
    from cartrial.analysis.model import Population
    from cartrial.analysis.toxicity import not_infused_adverse_events

    day0 = dt.date(2022, 1, 1)
    ids = [f"S{k}" for k in range(len(subjects))]
    infusions, ld, ae, expected = [], [], [], {}
    for sid, (infused, first_ld, onsets) in zip(ids, subjects, strict=True):
        if infused:
            infusions.append({"subject_id": sid, "infused_at": "2022-01-31T02:00:00Z", "dose_level": "1"})
        if first_ld is not None:
            ld += [_ld(sid, day0 + dt.timedelta(days=first_ld + k)) for k in (2, 0, 1)]  # any row order
        for k, onset in enumerate(onsets):
            record = f"{sid}-{k}"
            ae.append(
                {"subject_id": sid, "started_on": (day0 + dt.timedelta(days=onset)).isoformat()}
                | {"record_id": record}
            )
            if not infused:
                expected[record] = first_ld is not None and onset >= first_ld
    columns = {"subject_id": [], "infused_at": [], "dose_level": []}
    tables = {
        "infusions": pd.DataFrame(infusions) if infusions else pd.DataFrame(columns),
        "lymphodepletion": pd.DataFrame(ld, columns=["subject_id", "administered_on", "drug"]),
        "adverse_events": pd.DataFrame(ae, columns=["subject_id", "started_on", "record_id"]),
    }
    safety = tuple(s for s, (infused, _l, _o) in zip(ids, subjects, strict=True) if infused)
    populations = {"enrolled": Population("enrolled", "", tuple(ids)), SAFETY: Population(SAFETY, "", safety)}
    listing = not_infused_adverse_events(tables, populations)
    assert sorted(listing["record_id"]) == sorted(expected)
    got = dict(zip(listing["record_id"], listing["after_lymphodepletion"].astype(bool), strict=True))
    assert got == expected


def test_the_adverse_event_datasets_of_a_study_with_nobody_infused(snapshot: StudySnapshot) -> None:
    """D-19.106: before any infusion (the web safety page at such a cut-off) the adverse-event derivation
    still lists the events of the enrolled patients not infused; before, an empty safety set made
    `teae_by_subject` a frame without columns and the derivation raised KeyError."""
    from cartrial.analysis import toxicity
    from cartrial.analysis.core import study_populations
    from cartrial.analysis.findings import not_infused_finding

    tables = dict(with_ld_only_subject(snapshot).tables)
    tables["infusions"] = tables["infusions"].iloc[0:0]
    populations = study_populations(tables, snapshot.protocol, snapshot.cutoff).populations
    assert populations[SAFETY].subject_ids == ()
    datasets = toxicity.adverse_event_datasets(tables, populations)
    assert len(datasets["teae_by_subject"].table) == 0 and "dose_level" in datasets["teae_by_subject"].table
    listed = datasets["ae_not_infused"].table
    assert set(listed.loc[listed["subject_id"] == LD_ONLY, "record_id"]) == {
        BEFORE["record_id"],
        AFTER["record_id"],
    }
    finding = not_infused_finding(datasets, populations)
    enrolled = len(populations["enrolled"].subject_ids)
    assert finding is not None and finding.denominator == enrolled  # every enrolled patient is not infused
