"""Records the grading refuses never stop the DLT evaluation (issue 13, found after its resolution): a CRS or
ICANS assessment (or a lab result) stored without the edit checks — written by another tool or by an older
version, here with plain SQL into a real SQLite study database — is left out of the graded events and named
(subject, form, record id, field, rule; never a value) in the DLT notes and key finding; the rest of the
analysis goes on and equals the analysis of the study without those records."""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import pandas as pd
import pytest
from sqlalchemy import create_engine, select, update

from cartrial.analysis import analyse, safety
from cartrial.store.models import CrsAssessment, IcansAssessment, LabResult
from cartrial.store.snapshot import StudySnapshot, read_snapshot

CUTOFF = date(2022, 3, 20)


def _corrupt(url: str) -> dict[str, int]:
    """Write three records the grading refuses, bypassing the store's edit checks; their ids by form."""
    engine = create_engine(url)
    with engine.begin() as connection:
        crs_id = connection.execute(
            select(CrsAssessment.id)
            .where(CrsAssessment.subject_id == "CT-004", CrsAssessment.temperature_c >= 38.0)
            .order_by(CrsAssessment.assessed_at)
            .limit(1)
        ).scalar_one()
        # ASTCT 2019 grading: vasopressors are only allowed with hypotension=true
        connection.execute(update(CrsAssessment).where(CrsAssessment.id == crs_id).values(vasopressors=2))
        icans_id = connection.execute(
            select(IcansAssessment.id)
            .where(IcansAssessment.subject_id == "CT-005")
            .order_by(IcansAssessment.assessed_at)
            .offset(2)
            .limit(1)
        ).scalar_one()
        # the ICE total must equal the sum of its five items (given)
        connection.execute(update(IcansAssessment).where(IcansAssessment.id == icans_id).values(ice_total=7))
        lab_id = connection.execute(
            select(LabResult.id)
            .where(LabResult.subject_id == "CT-006", LabResult.analyte == "neutrophils")
            .order_by(LabResult.collected_at)
            .offset(3)
            .limit(1)
        ).scalar_one()
        # a unit the CTCAE grading cannot convert
        connection.execute(update(LabResult).where(LabResult.id == lab_id).values(unit="furlongs"))
    engine.dispose()
    return {"crs_assessments": crs_id, "icans_assessments": icans_id, "labs": lab_id}


@pytest.fixture(scope="module")
def corrupted(tmp_path_factory: pytest.TempPathFactory, example_sqlite_template: object) -> tuple[str, dict]:
    import shutil

    path = tmp_path_factory.mktemp("refused") / "study.db"
    shutil.copyfile(str(example_sqlite_template), path)
    url = f"sqlite:///{path}"
    return url, _corrupt(url)


def _without(snapshot: StudySnapshot, ids: dict[str, int]) -> StudySnapshot:
    tables = dict(snapshot.tables)
    for form, record in ids.items():
        frame = tables[form]
        tables[form] = frame[frame["record_id"].astype(str) != str(record)].reset_index(drop=True)
    return dataclasses.replace(snapshot, tables=tables)


def test_refused_crs_icans_and_lab_records_are_left_out_and_named(corrupted: tuple[str, dict]) -> None:
    url, ids = corrupted
    snapshot = read_snapshot(url, CUTOFF)
    analysis = analyse(snapshot)  # raised InputError (crs_assessments) before the fix
    finding = next(f.statement for f in analysis.findings if "dose-limiting toxicity" in f.statement)
    assert "Records the grading refused, left out of the graded events: 3" in finding
    assert f"CT-004 (crs_assessments record {ids['crs_assessments']}, vasopressors:" in finding
    assert f"CT-005 (icans_assessments record {ids['icans_assessments']}, ice_total:" in finding
    assert f"CT-006 (labs record {ids['labs']}, unit:" in finding
    notes = analysis.datasets["dlt_assessments"].notes
    named = [n for n in notes if "left out:" in n]
    assert len(named) == 3
    assert any(n.startswith("CRS assessment of CT-004 (crs_assessments record") for n in named)
    assert any(n.startswith("ICANS assessment of CT-005 (icans_assessments record") for n in named)
    # the rule of refusal, never the record's values (2 vasopressors, ICE total 7, sum of items, the unit)
    for text in (finding, *named):
        assert "got" not in text and "furlongs" not in text and "(10)" not in text and " 7" not in text
    assert any("allowed: 0 when hypotension=false" in n for n in named)
    # nor in the analysis metadata written beside the datasets (analysis.json: engine metadata and notes)
    written = json.dumps(analysis.metadata(), default=str)
    assert "furlongs" not in written and '"value": "2"' not in written and '"value": "7"' not in written
    # everything else goes on: the DLT evaluation equals that of the study without the refused records
    clean = analyse(_without(snapshot, ids))
    for name in ("dlt_assessments", "dlt_by_subject", "dlt_by_dose_level", "escalation_replay"):
        pd.testing.assert_frame_equal(analysis.datasets[name].table, clean.datasets[name].table)
    episodes = analysis.datasets["crs_episodes"].table
    assert episodes["excluded_rows"].astype(str).str.len().sum() > 0  # grading names the row it left out
    pd.testing.assert_frame_equal(
        episodes.drop(columns="excluded_rows"), clean.datasets["crs_episodes"].table, check_like=True
    )


def test_the_graded_events_leave_out_refused_rows_without_the_episodes_handed_in(
    corrupted: tuple[str, dict],
) -> None:
    # graded_events on its own (no episodes or lab grades handed in) finds the same refused rows itself
    url, ids = corrupted
    tables = read_snapshot(url, CUTOFF).tables
    alone = safety.graded_events(tables)
    shared = safety.graded_events(
        tables,
        crs=safety.crs_episodes(tables),
        icans=safety.icans_episodes(tables),
        labs=safety.graded_labs(tables),
    )
    assert sorted((r.form, r.record_id) for r in alone.refused) == sorted(
        (form, str(record)) for form, record in ids.items()
    )
    assert sorted(alone.refused, key=str) == sorted(shared.refused, key=str)
    pd.testing.assert_frame_equal(alone.table, shared.table)


def test_analyse_command_reports_refused_records(
    corrupted: tuple[str, dict], capsys: pytest.CaptureFixture[str]
) -> None:
    from typer.testing import CliRunner

    from cartrial.cli import app

    url, ids = corrupted
    result = CliRunner().invoke(
        app, ["analyse", "--url", url, "--user", "admin", "--cutoff", CUTOFF.isoformat(), "--json"]
    )
    assert result.exit_code == 0, result.output
    findings = json.loads(result.stdout)["findings"]
    dlt = next(f["statement"] for f in findings if "dose-limiting toxicity" in f["statement"])
    assert f"crs_assessments record {ids['crs_assessments']}" in dlt
