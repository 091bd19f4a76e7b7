"""The analysis of a notebook's own tables refuses a record whose subject is not in its `subjects` table
(D-19.1290).

A data cut keeps the subjects of the cut with all their records, and no record of another subject
(`read_snapshot`'s `of_subjects_enrolled`, D-19.1147; datacutr's DCUT patient cut; SDTMIG 3.4 §5.1: a
subject of any domain is in DM). A notebook cutting its own tables by subject — the example at 2022-03-20
with `subjects` reduced to CT-001 … CT-003 and every other table as read — was analysed silently: a safety
set of 3 under a "whole study (every site)" view, while the infusions, adverse events, labs and samples of
the nine other subjects stayed in the tables the report lists (D-19.997) and the CDISC export reads."""

from __future__ import annotations

import dataclasses

import pytest

from cartrial.analysis import analyse, study_populations
from cartrial.errors import InputError
from cartrial.store.snapshot import StudySnapshot

KEPT = ("CT-001", "CT-002", "CT-003")


def _cut_by_subject(snapshot: StudySnapshot) -> StudySnapshot:
    subjects = snapshot.tables["subjects"]
    kept = subjects[subjects["subject_id"].isin(KEPT)].reset_index(drop=True)
    return dataclasses.replace(snapshot, tables={**snapshot.tables, "subjects": kept})


def test_records_of_subjects_not_in_subjects_are_refused_by_record(snapshot: StudySnapshot) -> None:
    with pytest.raises(InputError) as error:
        analyse(_cut_by_subject(snapshot))
    problems = error.value.problems
    located = [p.location() for p in problems]
    # CT-004 … CT-012 were infused (infusions.csv): their infusions are named by store table and id
    assert any(p.startswith("infusions, infusion record ") and p.endswith("subject_id") for p in located)
    assert {p.message for p in problems if p.record} == {"a subject not in the subjects table"}
    text = str(error.value)
    assert all(f"CT-0{n:02d}" not in text for n in range(4, 13))  # never the value (D-12.2)


def test_study_populations_refuses_them_too(snapshot: StudySnapshot) -> None:
    cut = _cut_by_subject(snapshot)
    with pytest.raises(InputError):
        study_populations(cut.tables, cut.protocol, cut.cutoff, time_zones=cut.time_zones)


def test_the_snapshot_as_read_is_analysed(snapshot: StudySnapshot) -> None:
    assert len(analyse(snapshot).populations["safety"].subject_ids) == 12


def test_a_blank_subject_is_kept_by_both_rules_alike() -> None:
    """A record without a subject — NaN as a frame holds a blank, or empty text — is kept by `read_snapshot`'s
    patient cut and by the analysis's refusal alike (D-19.1294): `of_subjects_enrolled` read NaN as the
    text "nan", another subject, and left the record out while the analysis kept it."""
    import pandas as pd

    from cartrial.analysis.core import refuse_records_of_other_subjects
    from cartrial.store.snapshot import of_subjects_enrolled

    tables = {
        "subjects": pd.DataFrame({"subject_id": ["A"]}),
        "relapses": pd.DataFrame(
            {"subject_id": ["A", None, float("nan"), " "], "onset_date": ["2020-01-02"] * 4}
        ),
    }
    kept, left = of_subjects_enrolled(tables)
    assert len(kept["relapses"]) == 4 and left == {}
    refuse_records_of_other_subjects(tables)  # nothing refused
