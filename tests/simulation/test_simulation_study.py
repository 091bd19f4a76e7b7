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


def test_each_virtual_patient_has_the_disposition_its_written_data_show(make_scenario):
    """A dropout is written as withdrawn (its records stop before the follow-up and the cut-off), a patient
    followed to the end of the protocol's follow-up by the cut-off as completed, the others as ongoing
    (D-19.92): before, every virtual patient read as on study, so an early dropout's follow-up ran to the
    cut-off."""
    from cartrial.protocol import load_protocol
    from cartrial.protocol.disposition import parse_disposition
    from cartrial.simulation import load_scenario, prepare
    from cartrial.simulation.study import simulate_study

    changes = {"pool_size": 100, "dropout": {"hazard_per_year": 3.0}, "follow_up_days": 120}
    scenario, protocol = load_scenario(make_scenario(changes))
    study = simulate_study(prepare(scenario, load_protocol(protocol), 2), 2)
    subjects = study.forms["subjects"].set_index("subject_id")
    day0 = pd.to_datetime(study.forms["infusions"].set_index("subject_id")["infused_at"])
    cutoff = pd.Timestamp(study.summary["data_cutoff"], tz="UTC")
    edss = study.forms["edss"]
    last = pd.to_datetime(edss["assessed_at"]).groupby(edss["subject_id"]).max()
    words = {sid: parse_disposition(text).word for sid, text in subjects["disposition"].items()}  # type: ignore[union-attr]
    assert {"withdrawn", "completed"} <= set(words.values())
    for sid, word in words.items():  # in days, to within the day (the cut-off is a date)
        days_on_study = (last[sid] - day0[sid]) / pd.Timedelta(days=1)
        days_to_cutoff = (cutoff - day0[sid]) / pd.Timedelta(days=1)
        if word == "withdrawn":
            assert days_on_study < min(120, days_to_cutoff + 1), sid
        elif word == "completed":
            assert days_to_cutoff > 120 - 1 and days_on_study >= 120 - 31, sid  # its last visit in the window
        else:
            assert days_to_cutoff < 120 + 1, sid


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


#: the reference protocol's levels with caps binding above 65 kg (the reference population weighs 62 ± 11 kg)
CAPS = {1: 3.25e7, 2: 6.5e7}
CAPPED_LEVELS = {
    "dose_levels": [
        {"level": 1, "label": "0.5×10^6 CAR+ T cells/kg", "cells_per_kg": 500000, "max_total_cells": CAPS[1]},
        {
            "level": 2,
            "label": "1.0×10^6 CAR+ T cells/kg",
            "cells_per_kg": 1000000,
            "max_total_cells": CAPS[2],
        },
    ]
}


def test_a_capped_protocol_caps_the_virtual_doses_and_imports_without_a_total_query(
    make_scenario, tmp_path, monkeypatch
):
    """The simulated infusion recorded cells/kg × weight and its kinetics used the nominal cells/kg, whatever
    the protocol's `max_total_cells`: heavy virtual patients got more than the cap and the import raised
    false TOTAL-CELLS-MISMATCH queries. The dose is now the protocol's `dose_for` (D-19.55)."""
    import sys

    import numpy as np

    from cartrial.protocol import load_protocol
    from cartrial.simulation import load_scenario, prepare
    from cartrial.simulation import models as m
    from cartrial.simulation import study as study_module

    scenario, protocol_path = load_scenario(make_scenario({"pool_size": 200}, protocol_changes=CAPPED_LEVELS))
    protocol = load_protocol(protocol_path)
    assert [level.max_total_cells for level in protocol.dose_levels] == [CAPS[1], CAPS[2]]
    prepared = prepare(scenario, protocol, 3)
    pk_doses: list[float] = []
    dose_factor = m.dose_factor

    def spy(cells_per_kg, reference, exponent):  # the dose behind each virtual patient's PK samples
        if sys._getframe(1).f_code.co_name == "simulate_study":
            pk_doses.append(float(cells_per_kg))
        return dose_factor(cells_per_kg, reference, exponent)

    monkeypatch.setattr(study_module.m, "dose_factor", spy)
    study = study_module.simulate_study(prepared, 3)
    infusions = study.forms["infusions"]
    nominal = infusions.dose_level.map({1: 5e5, 2: 1e6})
    cap = infusions.dose_level.map(CAPS)
    heavy = nominal * infusions.weight_kg > cap
    assert heavy.any() and (~heavy).any()
    assert (infusions.total_car_t_cells <= cap).all()
    assert (infusions.total_car_t_cells[heavy] == cap[heavy]).all()
    assert (infusions.total_car_t_cells[~heavy] == (nominal * infusions.weight_kg).round()[~heavy]).all()
    # the recorded cells/kg is the delivered dose (templates: "actual dose"): the nominal one unless capped
    assert (infusions.cells_per_kg[~heavy] == nominal[~heavy]).all()
    delivered = infusions.total_car_t_cells / infusions.weight_kg
    assert np.allclose(infusions.cells_per_kg, delivered, rtol=1e-6)
    assert (infusions.cells_per_kg[heavy] < nominal[heavy]).all()
    # the PK of each patient follows the delivered dose
    assert np.allclose(pk_doses, delivered, rtol=1e-6)
    # no false data query on import into a study of the capped protocol
    out = tmp_path / "study"
    out.mkdir()
    for name, frame in study.forms.items():
        frame.to_csv(out / f"{name}.csv", index=False)
    url = f"sqlite:///{tmp_path / 'capped.db'}"
    init_study(url, protocol_path, "admin")
    report = import_templates(url, out, "admin")
    assert sum(f.read for f in report.forms) == sum(study.summary["rows"].values())
    assert [f for f in report.edit_checks if f.check.id == "TOTAL-CELLS-MISMATCH"] == []


def test_the_capped_dose_drives_the_virtual_kinetics_and_pd(make_scenario):
    """Exposure (and so CRS, ICANS, cytopenias and DLTs) and the AQP4-IgG course of a capped patient follow
    the delivered dose; an uncapped patient's are those of the protocol without a cap, bit for bit."""
    import numpy as np

    from cartrial.protocol import load_protocol
    from cartrial.simulation import load_scenario, prepare
    from cartrial.simulation.trials import draw_patients

    prepared = {}
    for name, changes in (("plain", None), ("capped", CAPPED_LEVELS)):
        scenario, path = load_scenario(make_scenario({"pool_size": 200}, protocol_changes=changes))
        prepared[name] = prepare(scenario, load_protocol(path), 5)
    plain, capped = prepared["plain"], prepared["capped"]
    weights = np.array([round(float(w), 1) for w in capped.eligible.weight_kg])
    heavy = weights[:, None] * plain.cells_per_kg[None, :] > np.array([CAPS[1], CAPS[2]])[None, :]
    assert heavy.any() and (~heavy).any()
    assert np.array_equal(capped.total_cells[heavy], np.broadcast_to([CAPS[1], CAPS[2]], heavy.shape)[heavy])
    assert np.array_equal(capped.delivered_cells_per_kg[~heavy], plain.delivered_cells_per_kg[~heavy])
    assert (capped.delivered_cells_per_kg[heavy] < plain.delivered_cells_per_kg[heavy]).all()
    # PD: a lower dose depletes AQP4-IgG less (the relative titre at day 90 is higher)
    # (the PD model integrates a chunk of patients together: a neighbour's dose moves the last digits)
    assert np.allclose(capped.antibody[~heavy], plain.antibody[~heavy], rtol=1e-6)
    assert (capped.antibody[heavy][:, 90] > plain.antibody[heavy][:, 90]).all()
    # kinetics: the same draws, a lower exposure where the cap bound
    draws = {
        name: draw_patients(p, np.random.default_rng(11), 4, 30)
        for name, p in (("plain", plain), ("capped", capped))
    }
    slot_heavy = heavy[draws["capped"].pool_index]
    assert slot_heavy.any()
    assert np.array_equal(draws["capped"].exposure[~slot_heavy], draws["plain"].exposure[~slot_heavy])
    assert (draws["capped"].exposure[slot_heavy] < draws["plain"].exposure[slot_heavy]).all()


def test_a_level_weight_bound_the_virtual_population_exceeds_is_a_located_error(make_scenario):
    """`dose_for` refuses a weight outside a level's bounds; the simulator gives every level to any eligible
    virtual patient, so a population heavier than a level allows is refused up front, naming the level."""
    from cartrial.protocol import load_protocol
    from cartrial.simulation import load_scenario, prepare

    bounded = {
        "dose_levels": [
            dict(CAPPED_LEVELS["dose_levels"][0]),
            {**CAPPED_LEVELS["dose_levels"][1], "max_weight_kg": 80},
        ]
    }
    scenario, path = load_scenario(make_scenario({"pool_size": 100}, protocol_changes=bounded))
    with pytest.raises(InputError, match="outside the weight bounds of dose level 2") as caught:
        prepare(scenario, load_protocol(path), 1)
    assert caught.value.problems[0].field == "population.weight_kg"
    assert "any to 80.0 kg" in str(caught.value.problems[0].allowed)


def test_a_study_running_past_today_says_it_cannot_be_imported_today_and_when_it_could_start(
    cli, tmp_path, make_scenario
):
    """A scenario whose accrual starts recently writes consents after today: the store refuses every one of
    them (CONSENT-FUTURE, hard), yet `simulate study` said "next: cartrial import templates …". It now says
    which consents are after today and the latest accrual start_date whose study has its cut-off by today
    (the calendar is a translation of the start date), and `--json` carries the same."""
    today = dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(days=60)
    scenario = make_scenario({"pool_size": 100, "accrual": {"start_date": start.isoformat()}})
    out = tmp_path / "study"
    result = cli("simulate", "study", "--scenario", scenario, "--seed", "1", "--out", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    subjects = pd.read_csv(out / "subjects.csv", dtype=str, keep_default_na=False)
    after = sorted(subjects.loc[subjects["consent_date"] > today.isoformat(), "subject_id"])
    assert after, "the scenario is chosen so that consents fall after today"
    cutoff = dt.date.fromisoformat(summary["data_cutoff"])
    latest = start - (cutoff - today)
    assert summary["after_today"] == {
        "consents_after_today": len(after),
        "latest_start_date": latest.isoformat(),
    }
    text = cli("simulate", "study", "--scenario", scenario, "--seed", "1", "--out", str(tmp_path / "b"))
    assert text.exit_code == 0, text.stderr
    flat = " ".join(text.stdout.split())
    assert f"{len(after)} consent(s) after today" in flat and latest.isoformat() in flat
    assert "next: cartrial import templates" not in flat
    # moved to that start date, the study imports (nothing after today)
    moved = make_scenario({"pool_size": 100, "accrual": {"start_date": latest.isoformat()}})
    result = cli(
        "simulate", "study", "--scenario", moved, "--seed", "1", "--out", str(tmp_path / "c"), "--json"
    )
    assert json.loads(result.stdout)["after_today"] is None
    assert json.loads(result.stdout)["data_cutoff"] <= today.isoformat()
