"""`report_files(analysis, tables)` and `export_cdisc(snapshot, analysis, out)` take the records apart from
the analysis: they list and export only the tables the analysis was made from (D-19.1291).

The example at 2022-03-20 cut by a notebook to CT-001 … CT-003 (the subjects and their records, the
escalation decisions emptied) is analysed (a safety set of 3). Given with it the FULL tables, the report
listed the infusions of CT-001 … CT-012 in ``tables/records_infusions.csv`` — nine subjects the analysis
never read — and nothing refused it. The analysis records the SHA-256 of the tables it read
(`metadata()["tables_sha256"]`); tables with another digest are not the analysed ones."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from cartrial.analysis import analyse
from cartrial.errors import InputError
from cartrial.report import report_files
from cartrial.store.snapshot import StudySnapshot

KEPT = ("CT-001", "CT-002", "CT-003")
WHEN = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _cut(snapshot: StudySnapshot) -> StudySnapshot:
    tables = {}
    for name, frame in snapshot.tables.items():
        if name == "escalation_decisions":
            frame = frame.iloc[0:0]
        elif "subject_id" in frame.columns:
            frame = frame[frame["subject_id"].isin(KEPT)]
        tables[name] = frame.reset_index(drop=True)
    return dataclasses.replace(snapshot, tables=tables)


def test_the_full_tables_with_the_analysis_of_a_cut_are_refused(snapshot: StudySnapshot) -> None:
    cut = _cut(snapshot)
    analysis = analyse(cut)
    assert len(analysis.populations["safety"].subject_ids) == 3
    with pytest.raises(InputError) as error:
        report_files(analysis, snapshot.tables, generated_at=WHEN, pdf=False)
    assert [p.field for p in error.value.problems] == ["tables"]
    assert "CT-0" not in str(error.value)  # never a record value (D-12.2)


def test_the_tables_of_the_cut_are_reported(snapshot: StudySnapshot) -> None:
    cut = _cut(snapshot)
    files = report_files(analyse(cut), cut.tables, generated_at=WHEN, pdf=False)
    listed = str(files["tables/records_infusions.csv"])
    assert all(f"CT-0{n:02d}" not in listed for n in range(4, 13))
    assert all(sid in listed for sid in KEPT)


def test_a_copy_of_the_analysed_tables_is_reported(snapshot: StudySnapshot) -> None:
    copied = {name: frame.copy() for name, frame in snapshot.tables.items()}
    files = report_files(analyse(snapshot), copied, generated_at=WHEN, pdf=False)
    assert "tables/records_infusions.csv" in files


def test_the_cdisc_export_refuses_the_full_snapshot_with_the_analysis_of_a_cut(
    snapshot: StudySnapshot,
) -> None:
    from cartrial.cdisc.export import build_all

    analysis = analyse(_cut(snapshot))
    with pytest.raises(InputError) as error:
        build_all(snapshot, analysis)
    assert [p.field for p in error.value.problems] == ["snapshot"]
    assert "CT-0" not in str(error.value)
