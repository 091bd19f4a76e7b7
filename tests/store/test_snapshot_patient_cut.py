"""A data cut keeps only the subjects enrolled by the cut-off, with all their records (D-19.1147).

The snapshot left out a subject consented after the cut-off (their `subjects` row is dated after it) but kept
their records dated before it: the relapses a subject had before enrolling. At the cut-off 2021-08-01 the
example's CT-007 … CT-012 (consented 2021-09-02 … 2021-11-11) were absent from the snapshot's subjects, from
ADSL and from SDTM DM, yet 15 of their earlier relapses stayed in the snapshot's relapses table and reached
SDTM MH as medical history of subjects DM does not hold. pharmaverse `datacutr`'s date cut keeps only the
patients of the cut (DCUT) and then removes the records dated after the cut-off; SDTMIG 3.4 §5.1 DM holds
one record per subject of the study, every other domain's subjects among them.

Expected values by hand from the example study's templates (`examples/ct103a-nmosd/study`): consent dates
subjects.csv, relapse onsets relapses.csv.
"""

from __future__ import annotations

import datetime as dt

CUT = dt.date(2021, 8, 1)
ENROLLED = {"CT-001", "CT-002", "CT-003", "CT-004", "CT-005", "CT-006"}  # consent on or before 2021-08-01
LATER = {"CT-007", "CT-008", "CT-009", "CT-010", "CT-011", "CT-012"}  # consent 2021-09-02 … 2021-11-11
LATER_RELAPSES_BEFORE_CUT = 15
"""Relapse onsets on or before 2021-08-01 of the six later subjects: CT-007 2, CT-008 3, CT-009 2, CT-010 3
(its 2021-09-04 onset is after the cut-off), CT-011 2, CT-012 3."""
RELAPSES_DATED_AFTER = 2  # CT-003 2021-10-06, CT-010 2021-09-04


def test_records_of_a_subject_consented_after_the_cutoff_are_left_out(example_sqlite: str) -> None:
    from cartrial.store.snapshot import read_snapshot

    snapshot = read_snapshot(example_sqlite, CUT)
    assert set(snapshot.tables["subjects"]["subject_id"]) == ENROLLED
    for name, frame in snapshot.tables.items():
        if "subject_id" in frame.columns:
            assert set(frame["subject_id"]) - {""} <= ENROLLED, name
    # counted, never silently, apart from the records dated after the cut-off (which are unchanged)
    assert snapshot.after_cutoff["relapses"] == RELAPSES_DATED_AFTER
    assert dict(snapshot.not_enrolled_at_cutoff) == {"relapses": LATER_RELAPSES_BEFORE_CUT}
    meta = snapshot.metadata()
    assert meta["records_of_subjects_consented_after_cutoff"] == {"relapses": LATER_RELAPSES_BEFORE_CUT}
    assert meta["records"]["relapses"] == len(snapshot.tables["relapses"])


def test_every_sdtm_domain_holds_only_the_subjects_of_dm(example_sqlite: str) -> None:
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all
    from cartrial.store.snapshot import read_snapshot

    snapshot = read_snapshot(example_sqlite, CUT)
    analysis = analyse(snapshot)
    out = build_all(snapshot, analysis, {"TJH": "China"})
    dm = set(out["DM"]["USUBJID"])
    assert {u.rsplit("-", 2)[-2] + "-" + u.rsplit("-", 1)[-1] for u in dm} == ENROLLED
    for name, frame in out.items():
        if hasattr(frame, "columns") and "USUBJID" in frame.columns:
            assert set(frame["USUBJID"]) <= dm, name
    statement = analysis.findings[0].statement
    assert (
        f"{LATER_RELAPSES_BEFORE_CUT} records of subjects consented after the cut-off left out" in statement
    )
    assert "relapses: 15" in statement


def test_the_example_at_its_cutoff_loses_nothing(example_sqlite: str) -> None:
    from cartrial.store.snapshot import read_snapshot

    snapshot = read_snapshot(example_sqlite, dt.date(2022, 3, 20))
    assert dict(snapshot.not_enrolled_at_cutoff) == {}
    assert set(snapshot.tables["subjects"]["subject_id"]) == ENROLLED | LATER
    assert len(snapshot.tables["relapses"]) == 34  # every relapse row of relapses.csv


def test_a_subject_consented_on_the_cutoff_day_is_kept_with_their_records(example_sqlite: str) -> None:
    """The cut-off day is inside the cut (D-19.1147, as D-19.186's dates): CT-007 consented 2021-09-02 is kept
    at the cut-off 2021-09-02 with both of their relapses (2020-09-17, 2021-05-25; relapses.csv)."""
    from cartrial.store.snapshot import read_snapshot

    snapshot = read_snapshot(example_sqlite, dt.date(2021, 9, 2))
    assert set(snapshot.tables["subjects"]["subject_id"]) == ENROLLED | {"CT-007"}
    relapses = snapshot.tables["relapses"]
    assert (relapses["subject_id"] == "CT-007").sum() == 2


def test_subject_ids_are_compared_alike_on_both_sides() -> None:
    """A record of a subject whose stored id has a trailing space is that subject's (D-19.1150): the record's
    id and the subjects' ids are compared the same way, so it is neither dropped nor counted."""
    import pandas as pd

    from cartrial.store.snapshot import of_subjects_enrolled

    subjects = pd.DataFrame({"subject_id": ["A "]})
    relapses = pd.DataFrame({"subject_id": ["A ", "B"], "onset_date": ["2020-01-02"] * 2})
    kept, left = of_subjects_enrolled({"subjects": subjects, "relapses": relapses})
    assert kept["relapses"]["subject_id"].tolist() == ["A "]
    assert left == {"relapses": 1}
