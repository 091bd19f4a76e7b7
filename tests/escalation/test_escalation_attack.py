"""Silent wrong decisions and operating characteristics found in review (decisions D-19.693 onwards).

Expected values come from the rules of docs/science/dose-escalation.md and hand calculation, never from
running the code."""

from __future__ import annotations

import numpy as np

from cartrial.escalation import Crm, DontSkipDoses, TiteCrm, parse_outcomes, simulate, with_behaviours

SKELETON = [0.02, 0.05, 0.10, 0.20, 0.30, 0.40]
LOW_TRUTH = [0.01, 0.02, 0.03, 0.05, 0.10, 0.25]


def test_tite_simulation_keeps_the_final_mtd_admissible_as_the_live_design() -> None:
    """§10 invariant, D-19.390: with the no-skipping rule the final MTD is never a level the rule makes
    inadmissible — more than one level above the last dose given. Three patients, one per cohort, fully
    followed before each decision (accrual 28 days = the window): at most levels 1, 2, 3 are treated, so
    the MTD is at most level 4 in every simulated trial, as the live fit says after ``1N 2N 3N`` (the
    CRM's unrestricted choice is level 6). The TITE-CRM simulation selected level 6 in most trials."""
    tite = with_behaviours(TiteCrm(SKELETON, 0.25, window_days=28, cohort_size=1), DontSkipDoses())
    live = tite.fit(parse_outcomes("1N 2N 3N", 6).with_followup([28, 28, 28])).select_mtd().dose_level
    assert live == 4  # the cap: last dose 3 + 1
    oc = simulate(tite, LOW_TRUTH, cohorts=3, trials=400, seed=1, accrual_days=28, keep_trials=True)
    assert oc.per_trial is not None
    n, mtd = oc.per_trial["n"], oc.per_trial["mtd"]
    highest = np.where(n > 0, np.arange(6)[None, :], -1).max(axis=1)
    assert (mtd <= highest + 1).all()
    assert oc.selection_pct[5] == 0.0
    # with complete follow-up every weight is 1: the TITE-CRM is the CRM (§8), selection included
    crm = with_behaviours(Crm(SKELETON, 0.25, cohort_size=1), DontSkipDoses())
    assert simulate(crm, LOW_TRUTH, cohorts=3, trials=400, seed=1).selection_pct == oc.selection_pct


def _tite_protocol() -> object:
    from types import SimpleNamespace

    spec = SimpleNamespace(
        design="tite-crm",
        target=0.25,
        skeleton=[0.12, 0.25],
        dlt_window_days=28,
        cohort_size=1,
        no_skip=True,
        max_n=12,
    )
    return SimpleNamespace(escalation=spec, dose_levels=[1, 2], expansion=None)


def test_tite_replay_weighs_follow_up_at_the_decision_and_allows_deciding_before_the_window() -> None:
    """§8: a TITE-CRM decides while earlier patients are still inside the DLT window, each weighing
    min(u / T, 1) at the decision. Patients A, B (level 1) and C (level 2, DLT) complete; D (level 2) infused
    on 2021-05-29 and the decision taken on 2021-06-01: D weighs 3/28 and the design gives level 1
    (de-escalate); as a complete window it would give level 2 (stay). A decision before D's window closes is
    the design's rule, not a protocol deviation. The replay compared with full follow-up and called it one."""
    import pandas as pd

    from cartrial.escalation import replay_decisions

    infusions = pd.DataFrame(
        {
            "subject_id": ["A", "B", "C", "D"],
            "dose_level": [1, 1, 2, 2],
            "infused_at": ["2021-04-01", "2021-04-02", "2021-05-01", "2021-05-29"],
        }
    )
    decisions = pd.DataFrame(
        {
            "cohort": [1, 2, 3, 4],
            "dose_level": [1, 1, 2, 2],
            "decided_on": ["2021-04-01", "2021-05-01", "2021-05-29", "2021-06-01"],
            "outcomes": ["1N", "1N", "2T", "2N"],
            "decision": ["stay", "escalate", "stay", "de-escalate"],
        }
    )
    design = TiteCrm([0.12, 0.25], 0.25, window_days=28, cohort_size=1)
    history = parse_outcomes("1N 1N 2T 2N", 2)
    assert design.fit(history.with_followup([28, 28, 28, 3])).next_dose == 1  # the rule, D at day 3
    assert design.fit(history).next_dose == 2  # D taken as fully followed
    row = replay_decisions(decisions, infusions, None, _tite_protocol()).table.iloc[3]
    assert row.design_decision == "de-escalate"
    assert int(row.design_next_dose) == 1
    assert row.deviation == ""
