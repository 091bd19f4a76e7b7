"""The study `simulate study` writes reproduces, under the analysis's rule, the duration the simulator
judged (D-19.136): a cytopenia's grade >= 3 run in the written haematology results lasts exactly the
simulated whole days (`cartrial.grading.lab_runs`: from the first result at grade >= 3 to the first later
result below it)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.analysis import analyse
from cartrial.store import init_study
from cartrial.store.importing import import_templates
from cartrial.store.snapshot import read_snapshot

PROTOCOL = "examples/ct103a-nmosd/protocol.yaml"
HIGH_DROPOUT = {"pool_size": 150, "dropout": {"hazard_per_year": 6.0}}


def _study(make_scenario, seed: int, changes: dict = HIGH_DROPOUT):
    from cartrial.protocol import load_protocol
    from cartrial.simulation import load_scenario, prepare
    from cartrial.simulation.study import simulate_study

    scenario, protocol = load_scenario(make_scenario(changes))
    return simulate_study(prepare(scenario, load_protocol(protocol), seed), seed)


def test_seed_4_replays_without_a_deviation(make_scenario, tmp_path):
    """Before: "SIM-002: the outcome letter says no DLT, the DLT assessment says DLT" — the simulator judged
    a 7-day grade 3 neutropenia (not "> 7 days"), the analysis read 9 days from the written labs (grade 3
    on day 1, first result below grade 3 on the scheduled day 10)."""
    study = _study(make_scenario, 4)
    out = tmp_path / "study"
    out.mkdir()
    for name, frame in study.forms.items():
        frame.to_csv(out / f"{name}.csv", index=False)
    url = f"sqlite:///{tmp_path / 'study.db'}"
    init_study(url, PROTOCOL, "admin")
    import_templates(url, out, "admin")
    analysis = analyse(read_snapshot(url, dt.date.fromisoformat(study.summary["data_cutoff"])))
    replay = analysis.datasets["escalation_replay"].table
    assert len(replay) >= 1
    assert list(replay["deviation"]) == [""] * len(replay)
    # every haematological run the analysis graded has the duration of the written adverse event (the
    # simulated whole days: ended_on - started_on), where the run closed
    aes = study.forms["adverse_events"]
    cyto = aes[aes["category"] == "hematologic"]
    assessed = analysis.datasets["dlt_assessments"].table
    runs = assessed[(assessed["category"] == "hematologic") & assessed["duration_days"].notna()]
    # the seed exercises the case: SIM-002's 7-day neutropenia, read 9 days before (day 1 -> day 10)
    assert 7.0 in set(runs["duration_days"])
    for row in runs.to_dict("records"):
        ae = cyto[(cyto["subject_id"] == row["subject_id"]) & (cyto["term"] == row["term"])]
        assert len(ae) == 1
        days = (
            dt.date.fromisoformat(str(ae["ended_on"].iloc[0])[:10])
            - dt.date.fromisoformat(str(ae["started_on"].iloc[0])[:10])
        ).days
        assert float(row["duration_days"]) == days


INFUSED = dt.datetime(2021, 6, 14, 10, 0)


@settings(max_examples=property_examples(150), deadline=None)
@given(
    st.sampled_from(["neutrophils", "platelets"]),
    st.sampled_from([3, 4]),
    st.integers(1, 30),
    st.floats(0.0, 1.0),
)
def test_the_written_results_last_the_simulated_days(analyte, grade, days, where):
    """Every simulated grade >= 3 cytopenia of 1-30 whole days from day 1 is read back by the grading
    engine as one run at that grade, starting at the day-1 result and lasting exactly `days` days (the
    days between its first result at grade >= 3 and the first later result below), whatever the eligible
    baseline count (neutrophils >= 1.0, platelets >= 75 x 10^9/L, the example protocol's inclusion)."""
    from cartrial.grading import derive_graded_events
    from cartrial.simulation.study import LLN, lab_course

    low, high = {"neutrophils": (1.0, 8.0), "platelets": (75.0, 450.0)}[analyte]
    baseline = low + where * (high - low)
    labs = pd.DataFrame(
        [
            {
                "subject_id": "S1",
                "collected_at": (INFUSED + dt.timedelta(days=day)).replace(hour=7).isoformat(),
                "analyte": analyte,
                "value": value,
                "unit": "10^9/L",
                "lln": LLN[analyte],
            }
            for day, value in lab_course(analyte, baseline, grade, days)
        ]
    )
    infusions = pd.DataFrame({"subject_id": ["S1"], "infused_at": [INFUSED.isoformat()]})
    events = derive_graded_events(infusions, labs=labs, pre_treatment=[False] * len(labs)).table
    assert len(events) == 1
    event = events.iloc[0]
    assert int(event["grade"]) == grade
    # the run starts at the day-1 result (07:00 the day after a 10:00 infusion) and lasts `days` days
    assert float(event["onset_day"]) == 1 - 3 / 24
    assert float(event["duration_days"]) == days
