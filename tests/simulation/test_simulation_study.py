"""`cartrial simulate study`: a virtual study (import templates) flows through import, analyse and report."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from cartrial.analysis import analyse
from cartrial.errors import InputError
from cartrial.grading import grade_crs
from cartrial.report import report_files
from cartrial.store import init_study
from cartrial.store.importing import import_templates
from cartrial.store.snapshot import read_snapshot

SCENARIO = "examples/ct103a-nmosd/scenario.yaml"


def test_study_imports_with_no_rejected_row_and_builds_the_report(cli, tmp_path, make_scenario):
    # longer neutropenia than the reference scenario: DLTs occur (seed 3: 1NNT 1NNN 2NNT 2NNN, expansion)
    scenario = make_scenario(
        {
            "pool_size": 200,
            "toxicity": {"neutropenia": {"duration_days": {"median": 5, "sd_log": 0.5, "max": 60}}},
        }
    )
    out = tmp_path / "study"
    result = cli("simulate", "study", "--scenario", scenario, "--seed", "3", "--out", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["patients"] >= 3
    # the template headers are the import contract
    from cartrial import templates

    for name, count in summary["rows"].items():
        header = (templates.path() / f"{name}.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
        written = pd.read_csv(out / f"{name}.csv", dtype=str, keep_default_na=False)
        assert len(written) == count
        assert set(written.columns) <= set(header), name
    url = f"sqlite:///{tmp_path / 'study.db'}"
    init_study(url, "examples/ct103a-nmosd/protocol.yaml", "admin")
    report = import_templates(url, out, "admin")  # raises InputError on any rejected row
    read = {f.file.split("/")[-1]: f.read for f in report.forms}
    assert sum(read.values()) == sum(summary["rows"].values())
    snapshot = read_snapshot(url, dt.date.fromisoformat(summary["data_cutoff"]))
    analysis = analyse(snapshot)
    # the recorded decisions are the design's own, taken after each DLT window (the engine's replay agrees)
    replay = analysis.datasets["escalation_replay"].table
    assert len(replay) >= 1 and (replay["deviation"] == "").all()
    decisions = pd.read_csv(out / "escalation_decisions.csv")
    events = pd.read_csv(out / "adverse_events.csv", keep_default_na=False)
    n_dlt_letters = sum(o.count("T") for o in decisions.outcomes)
    assert n_dlt_letters >= 2
    # subjects are numbered in infusion order: the escalation cohorts are the first ones
    n_escalation = sum(len(o) - 1 for o in decisions.outcomes)
    escalation_ids = {f"SIM-{i:03d}" for i in range(1, n_escalation + 1)}
    flagged = events[events.dlt.astype(str).str.lower() == "true"].subject_id
    assert flagged[flagged.isin(escalation_ids)].nunique() == n_dlt_letters
    files = report_files(
        analysis, snapshot.tables, generated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), pdf=False
    )
    assert "report.html" in files and "SIM-" in str(files["report.html"])


def test_study_is_deterministic_and_its_crs_rows_grade_to_the_recorded_events(cli, tmp_path, make_scenario):
    scenario = make_scenario({"pool_size": 200})
    paths = []
    for name in ("a", "b"):
        out = tmp_path / name
        assert (
            cli("simulate", "study", "--scenario", scenario, "--seed", "9", "--out", str(out)).exit_code == 0
        )
        paths.append(out)
    for file in sorted(p.name for p in paths[0].iterdir()):
        assert (paths[0] / file).read_bytes() == (paths[1] / file).read_bytes(), file
    crs = pd.read_csv(paths[0] / "crs_assessments.csv", keep_default_na=False)
    events = pd.read_csv(paths[0] / "adverse_events.csv", keep_default_na=False)
    worst = {}
    for row in crs.itertuples():
        grade = grade_crs(
            temperature_c=row.temperature_c,
            fever_masked=row.fever_masked,
            hypotension=row.hypotension,
            vasopressors=row.vasopressors,
            vasopressin=row.vasopressin,
            oxygen=row.oxygen,
        ).grade
        worst[row.subject_id] = max(worst.get(row.subject_id, 0), grade)
    recorded = events[events.category == "crs"].groupby("subject_id").grade.max().to_dict()
    assert {s: g for s, g in worst.items() if g > 0} == recorded


def test_data_cutoff_limits_the_written_study(make_scenario):
    from cartrial.protocol import load_protocol
    from cartrial.simulation import load_scenario, prepare
    from cartrial.simulation.study import simulate_study

    scenario, protocol = load_scenario(make_scenario({"pool_size": 100, "data_cutoff_day": 200}))
    study = simulate_study(prepare(scenario, load_protocol(protocol), 1), 1)
    cutoff = dt.date(2021, 4, 1) + dt.timedelta(days=200)
    infused = pd.to_datetime(study.forms["infusions"]["infused_at"]).dt.date
    assert len(infused) >= 1 and (infused <= cutoff).all()
    for name, column in (
        ("crs_assessments", "assessed_at"),
        ("labs", "collected_at"),
        ("edss", "assessed_at"),
    ):
        assert (pd.to_datetime(study.forms[name][column]).dt.date <= cutoff).all(), name
    early = load_scenario(make_scenario({"pool_size": 100, "data_cutoff_day": 1}))[0]
    with pytest.raises(InputError, match="no virtual patient"):
        simulate_study(prepare(early, load_protocol(protocol), 1), 1)


@pytest.mark.nightly
def test_large_virtual_study_imports_with_no_rejected_row(make_scenario, tmp_path):
    """200 patients (expansion resized, fast accrual): every row of every form passes the import."""
    from cartrial.protocol import load_protocol
    from cartrial.simulation import load_scenario, prepare
    from cartrial.simulation.study import simulate_study

    changes = {"accrual": {"candidates_per_month": 60}, "design": {"expansion_patients": 194}}
    scenario, protocol = load_scenario(make_scenario(changes))
    study = simulate_study(prepare(scenario, load_protocol(protocol), 11), 11)
    out = tmp_path / "study"
    out.mkdir()
    for name, frame in study.forms.items():
        frame.to_csv(out / f"{name}.csv", index=False)
    url = f"sqlite:///{tmp_path / 'big.db'}"
    init_study(url, protocol, "admin")
    report = import_templates(url, out, "admin")
    assert sum(f.read for f in report.forms) == sum(study.summary["rows"].values())
    assert study.summary["patients"] == 200
