"""`simulate study`'s committee and `simulate trial`'s escalation follow the conduct engine's rule (D-19.132):
a virtual patient who drops out or dies inside the DLT window without a DLT has no outcome letter and is
replaced at the same level; the decision waits for the replacement (D-19.123, Storer 1989)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

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


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_high_dropout_study_replays_without_a_deviation(make_scenario, tmp_path, seed):
    """Before: SIMxxx "has an outcome letter but is not DLT-evaluable" in the imported study's replay."""
    study = _study(make_scenario, seed)
    out = tmp_path / "study"
    out.mkdir()
    for name, frame in study.forms.items():
        frame.to_csv(out / f"{name}.csv", index=False)
    url = f"sqlite:///{tmp_path / 'study.db'}"
    init_study(url, PROTOCOL, "admin")
    import_templates(url, out, "admin")
    analysis = analyse(read_snapshot(url, dt.date.fromisoformat(study.summary["data_cutoff"])))
    pops = analysis.datasets["populations"].table
    replay = analysis.datasets["escalation_replay"].table
    assert len(replay) >= 1
    assert list(replay["deviation"]) == [""] * len(replay)
    # the seeds are chosen so that the rule is exercised: a replaced patient in a decided cohort
    replaced = [s for cell in replay["replaced"] for s in str(cell).replace(",", " ").split()]
    lettered = {s for cell in replay["subjects"] for s in str(cell).replace(",", " ").split()}
    not_evaluable = set(pops.loc[~pops["dlt_evaluable"] & ~pops["dlt_window_pending"], "subject_id"])
    assert lettered.isdisjoint(not_evaluable)
    assert set(replaced) <= not_evaluable
    # each decision's letters are its counted patients: 3 per cohort (3+3)
    letters = study.forms["escalation_decisions"]["outcomes"].str.len() - 1
    assert (letters == 3).all()
    if seed == 1:
        assert replaced, "seed 1 has a patient replaced inside the window"


def test_a_patient_who_drops_out_on_day_5_without_a_dlt_is_replaced_at_the_same_level(make_scenario):
    """Hand-built: cohort 1's first patient leaves on day 5 (no DLT), everybody else stays on study without
    a DLT. The design must see three evaluable patients at level 1 (0/3), the dropout counted as treated but
    not as an outcome, and a fourth patient — the first reserve slot — treated in cohort 1 at level 1 after
    the cohort's others, the decision (the next cohort's gate) waiting for the replacement's window."""
    from cartrial.protocol import load_protocol
    from cartrial.simulation import load_scenario, prepare
    from cartrial.simulation.trials import (
        DECISION_LAG_DAYS,
        _calendar,
        _escalate,
        draw_with_reserve,
        max_cohorts,
        observed_dlts,
        reserve_slots,
    )

    scenario, protocol = load_scenario(make_scenario({"pool_size": 100}))
    prepared = prepare(scenario, load_protocol(protocol), 1)
    size, cohorts = int(prepared.design.cohort_size), max_cohorts(prepared)
    base = cohorts * size + prepared.design.expansion.n_patients
    reserve = reserve_slots(prepared, cohorts, size)
    rng = np.random.default_rng(5)
    draws = draw_with_reserve(prepared, rng, rng, 1, base, reserve)
    draws.dlt[...] = False
    draws.crs[...] = np.minimum(draws.crs, 3)  # nobody dies, no CRS or ICANS DLT
    draws.icans[...] = np.minimum(draws.icans, 2)
    for name in ("neutrophils_grade", "platelets_grade"):
        draws.cytopenia[name][...] = 0
    draws.dropout_days[...] = np.inf
    draws.dropout_days[0, 0] = 5.4  # written withdrawn on day 5
    seen, evaluable = observed_dlts(prepared, draws)
    assert not evaluable[0, 0].any() and evaluable[0, 1:].all() and not seen.any()
    slot_dose, cohort_of, _mtd, _safety, n, y, _reason = _escalate(prepared, draws, 1, size, cohorts)
    assert slot_dose.shape == (1, base + reserve)
    # the dropout was treated in cohort 1 at level 1, and so was its replacement, the first reserve slot
    assert cohort_of[0, 0] == 0 and slot_dose[0, 0] == 0
    assert cohort_of[0, base] == 0 and slot_dose[0, base] == 0
    assert (cohort_of[0, base + 1 :] == -1).all()  # one replacement only
    # 0/3 at level 1 (3+3: escalate): the design counted the three evaluable patients, not the dropout
    assert n[0, 0] == 3 and y[0, 0] == 0
    assert cohort_of[0, size] == 1 and slot_dose[0, size] == 1
    infusion = _calendar(prepared, draws, slot_dose, cohort_of, cohorts)
    window = prepared.settings["window_days"]
    assert infusion[0, base] > max(infusion[0, :size])  # enrolled after the cohort's others
    assert infusion[0, size] >= infusion[0, base] + window + DECISION_LAG_DAYS


@given(
    st.lists(st.tuples(st.integers(0, 400), st.booleans()), min_size=1, max_size=30),
    st.integers(1, 90),
)
def test_the_array_evaluability_is_the_analysis_rule_patient_by_patient(patients, window):
    """The simulator's elementwise `dlt_evaluable` (arrays) is the analysis's per-subject rule: a DLT, or the
    window complete by `dlt_window_complete` on calendar dates."""
    from cartrial.protocol.dlt import dlt_evaluable, dlt_window_complete

    days = np.array([d for d, _ in patients])
    dlts = np.array([x for _, x in patients])
    together = dlt_evaluable(days, dlts, window)
    day0 = dt.date(2021, 6, 1)
    for (d, x), got in zip(patients, together, strict=True):
        assert bool(got) == (x or dlt_window_complete(day0, day0 + dt.timedelta(days=d), window)[1])


def _quiet_draws(make_scenario):
    """One trial's draws with no toxicity that is a DLT and nobody leaving: the rest is set by each test."""
    from cartrial.protocol import load_protocol
    from cartrial.simulation import load_scenario, prepare
    from cartrial.simulation.trials import draw_with_reserve, max_cohorts, reserve_slots

    scenario, protocol = load_scenario(make_scenario({"pool_size": 100}))
    prepared = prepare(scenario, load_protocol(protocol), 1)
    size, cohorts = int(prepared.design.cohort_size), max_cohorts(prepared)
    base = cohorts * size + prepared.design.expansion.n_patients
    rng = np.random.default_rng(5)
    draws = draw_with_reserve(prepared, rng, rng, 1, base, reserve_slots(prepared, cohorts, size))
    draws.crs[...] = np.minimum(draws.crs, 3)
    draws.icans[...] = np.minimum(draws.icans, 2)
    for name in ("neutrophils_grade", "platelets_grade"):
        draws.cytopenia[name][...] = 0
    draws.dropout_days[...] = np.inf
    return prepared, draws


@pytest.mark.parametrize(
    ("dropout_day", "seen"),
    [(5.4, False), (8.5, False), (9.5, True), (12.0, True), (np.inf, True)],
)
def test_a_blood_count_dlt_is_seen_only_once_it_has_lasted_the_rule_s_days(make_scenario, dropout_day, seen):
    """D-19.161: a grade-3 neutropenia from day 1 for 20 days meets "grade >= 3 lasting > 7 days"
    (hematologic_grade_3_over_7_days) only once more than 7 days are seen: followed to day 9, 8 days from
    day 1. Before, it was seen from its first day: a patient who left on day 5 was a DLT ("T"), though the
    adverse-event record left open then is 4 days long and the analysis finds no DLT — the patient is not
    DLT-evaluable and is replaced."""
    from cartrial.simulation.trials import observed_dlts

    prepared, draws = _quiet_draws(make_scenario)
    draws.cytopenia["neutrophils_grade"][0, 0, :] = 3
    draws.cytopenia["neutrophils_days"][0, 0, :] = 20
    draws.dlt[0, 0, :] = True  # as `draw_patients` judges the whole course
    draws.dropout_days[0, 0] = dropout_day
    observed, evaluable = observed_dlts(prepared, draws)
    assert observed[0, 0].tolist() == [seen] * prepared.n_doses
    assert evaluable[0, 0].tolist() == [seen] * prepared.n_doses
    assert not observed[0, 1:].any() and evaluable[0, 1:].all()


def test_a_grade_4_crs_is_seen_on_its_first_day(make_scenario):
    """A rule without a duration (crs_grade_4_5) is met on the event's first day: a patient who leaves that
    day has the DLT (unchanged by D-19.161)."""
    from cartrial.simulation.trials import observed_dlts

    prepared, draws = _quiet_draws(make_scenario)
    draws.crs[0, 0, :] = 4
    draws.crs_onset[0, 0], draws.crs_duration[0, 0] = 3, 6
    draws.dlt[0, 0, :] = True
    draws.dropout_days[0, 0] = 3.2
    observed, evaluable = observed_dlts(prepared, draws)
    assert observed[0, 0].all() and evaluable[0, 0].all()
    draws.dropout_days[0, 0] = 2.9  # left the day before it began
    observed, evaluable = observed_dlts(prepared, draws)
    assert not observed[0, 0].any() and not evaluable[0, 0].any()


@pytest.mark.parametrize("seed", [1, 2])
def test_no_simulated_adverse_event_ends_after_the_patient_was_last_followed(make_scenario, seed):
    """D-19.161: `simulate study` wrote each event with the end it would have had, also when the patient had
    left, died or reached the data cut-off before it (an end date nobody could have recorded), and flagged
    its DLT on the whole course. An event still running on the last day followed is now written open (not
    recovered), its DLT flag judged on the days seen."""
    study = _study(make_scenario, seed)
    subjects = study.forms["subjects"].set_index("subject_id")
    cutoff = study.summary["data_cutoff"]
    events = study.forms["adverse_events"]
    for row in events.to_dict("records"):
        if not row["ended_on"] or str(row["ended_on"]) == "nan":
            continue
        ended = str(row["ended_on"])
        assert ended <= cutoff
        end_of_study = str(subjects.loc[row["subject_id"], "disposition_date"])
        if subjects.loc[row["subject_id"], "disposition"] != "ongoing" and end_of_study != "nan":
            assert ended <= end_of_study, (row["subject_id"], row["term"])
    if seed == 1:  # the seed is chosen so that the rule is exercised: an event written open
        assert (events["ended_on"].isna() | (events["ended_on"] == "")).any()


def test_an_expansion_patient_s_dlt_is_judged_on_the_course_observed(make_scenario):
    """An expansion patient's DLT was read from the drawn course (`draws.dlt`), the escalation's patients'
    from the course observed by the last day followed (D-19.161): an expansion patient with a grade-3
    neutropenia of 20 days who left on day 5 counted as a DLT at the expansion dose, though the adverse-event
    record `simulate study` writes for it is open after 4 days and the analysis finds no DLT. Nobody else has
    a DLT, so 3+3 escalates to the top level and expands there: the expansion adds no DLT."""
    from cartrial.simulation.trials import _escalate, max_cohorts

    prepared, draws = _quiet_draws(make_scenario)
    draws.dlt[...] = False
    size, cohorts = int(prepared.design.cohort_size), max_cohorts(prepared)
    first = cohorts * size  # the expansion's first slot
    draws.cytopenia["neutrophils_grade"][0, first, :] = 3
    draws.cytopenia["neutrophils_days"][0, first, :] = 20
    draws.dlt[0, first, :] = True  # as `draw_patients` judges the whole course
    draws.dropout_days[0, first] = 5.4
    slot_dose, _cohort_of, mtd, _safety, n, y, _reason = _escalate(prepared, draws, 1, size, cohorts)
    top = prepared.n_doses - 1
    assert mtd[0] == top and slot_dose[0, first] == top
    assert n[0, top] > 3 + 3  # the expansion was treated there
    assert y[0].sum() == 0
