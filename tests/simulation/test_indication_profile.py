"""The simulator's virtual candidates belong to the protocol's indication (D-19.60): a second indication's
protocol (tests/data/indication-gmg, generalized myasthenia gravis) enrols, and the reference protocol's
candidates are unchanged."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario
from cartrial.simulation.population import (
    IndicationProfile,
    candidate_record,
    draw_covariates,
    screen_covariates,
)

GMG = "tests/data/indication-gmg/scenario.yaml"
NMOSD = "examples/ct103a-nmosd/scenario.yaml"


def _pool(path: str, n: int = 200):
    scenario, protocol_path = load_scenario(path)
    protocol = load_protocol(protocol_path)
    covariates = draw_covariates(scenario.population, n, np.random.default_rng(3))
    return screen_covariates(protocol, covariates, dt.date(2024, 3, 15))


def test_second_indication_candidates_meet_its_diagnosis_refractoriness_and_manual_criteria():
    pool = _pool(GMG)
    # the old candidates were all NMOSD (ipnd_2015), with one prior agent and no answer for inc_achr_ab
    for criterion in ("inc_diagnosis", "inc_refractory", "inc_achr_ab", "exc_crisis"):
        assert pool.blocked_by.get(criterion, 0) < len(pool.covariates) * 0.2, (criterion, pool.blocked_by)
    assert pool.pass_rate > 0.5


def test_profile_read_from_the_protocol():
    _scenario, protocol_path = load_scenario(GMG)
    profile = IndicationProfile.of(load_protocol(protocol_path))
    assert (profile.condition, profile.criteria, profile.min_agents) == ("gmg", "mgfa_ii_iv", 2)
    assert dict(profile.manual) == {"inc_achr_ab": True, "exc_crisis": False, "exc_active_infection": False}


def test_reference_candidates_unchanged_by_the_profile():
    scenario, protocol_path = load_scenario(NMOSD)
    covariates = draw_covariates(scenario.population, 50, np.random.default_rng(5))
    profile = IndicationProfile.of(load_protocol(protocol_path))
    day = dt.date(2024, 3, 15)
    for i in range(len(covariates)):
        assert candidate_record(covariates, i, day, "V", profile) == candidate_record(covariates, i, day, "V")


def test_collected_outcomes_follow_the_protocol():
    """D-19.61/62: the reference protocol collects EDSS, relapses, AQP4-IgG, OSIS and (through its walking
    endpoint) the timed walk; the gMG protocol none of them, unless its forms hold rows."""
    import pandas as pd

    from cartrial.analysis.outcomes import collected_outcomes

    nmosd = load_protocol("examples/ct103a-nmosd/protocol.yaml")
    gmg = load_protocol("tests/data/indication-gmg/protocol.yaml")
    assert "timed_25_foot_walk" in nmosd.collected_assessments
    assert collected_outcomes(nmosd, {}) == {
        "edss",
        "relapses",
        "aqp4_igg",
        "osis",
        "visual_acuity",
        "timed_walk",
    }
    assert collected_outcomes(gmg, {"relapses": pd.DataFrame(), "subjects": pd.DataFrame()}) == frozenset()
    with_rows = {
        "relapses": pd.DataFrame({"subject_id": ["X"]}),
        "subjects": pd.DataFrame({"aqp4_igg_status": [""]}),
    }
    assert collected_outcomes(gmg, with_rows) == {"relapses"}  # data are never dropped silently


def test_collected_forms_follow_collected_outcomes():
    """D-19.70: the forms a study is offered are every form less those of outcomes it does not collect."""
    from cartrial.analysis.outcomes import FORM_OUTCOME, collected_forms, collected_outcomes
    from cartrial.store.importing import FORMS

    every = tuple(f.name for f in FORMS)
    nmosd = load_protocol("examples/ct103a-nmosd/protocol.yaml")
    gmg = load_protocol("tests/data/indication-gmg/protocol.yaml")
    assert collected_forms(nmosd) == every and collected_forms(None) == every
    assert set(FORM_OUTCOME) == {"edss", "visual_acuity", "osis", "timed_walk", "relapses"}
    assert collected_forms(gmg) == tuple(n for n in every if n not in FORM_OUTCOME)
    for form, outcome in FORM_OUTCOME.items():  # a form holding rows is offered, as its outcome is analysed
        offered = collected_forms(gmg, {form})
        assert form in offered and set(offered) - {form} == set(collected_forms(gmg))
        assert outcome in collected_outcomes(gmg, {form: pd.DataFrame({"subject_id": ["X"]})})


def test_simulated_study_has_only_the_protocol_forms():
    from cartrial.simulation import prepare
    from cartrial.simulation.study import simulate_study

    scenario, protocol_path = load_scenario(GMG)
    study = simulate_study(prepare(scenario, load_protocol(protocol_path), 1), 1)
    assert not {"edss", "visual_acuity", "timed_walk", "relapses", "pd_samples"} & set(study.forms)
    assert "aqp4_igg_status" not in study.forms["subjects"]


def test_trial_oc_has_no_disease_metric_the_protocol_does_not_collect():
    """D-19.64: `simulate trial` on the gMG protocol printed "% relapse-free", ARR, EDSS and AQP4-IgG
    operating characteristics drawn from the NMOSD disease model; the reference protocol keeps them."""
    from cartrial.simulation import prepare, simulate_trials, summarise

    for path, expected in ((GMG, False), (NMOSD, True)):
        scenario, protocol_path = load_scenario(path)
        protocol = load_protocol(protocol_path)
        batch = simulate_trials(prepare(scenario, protocol, 1), 3, seed=1)
        oc = summarise(batch, collected=protocol.collected_assessments)
        metrics = set(oc.metrics["metric"])
        assert ({"pct_relapse_free", "arr_post", "pct_edss_improved", "pct_aqp4_fell"} <= metrics) is expected
        assert bool(metrics & {"pct_relapse_free", "pct_edss_improved"}) is expected
        assert (oc.summary["p_edss_improved_half_pct"] is not None) is expected
