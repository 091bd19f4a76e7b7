"""Each stop reason says why the trial stopped (D-19.313): a trial still running when the simulation's
cohort limit is reached is `max_cohorts_reached`, not `max_n_reached` (kept for the design's own maximum
sample size, `max_n`)."""

from __future__ import annotations

import numpy as np

from cartrial.escalation import Boin, StopAtN, ThreePlusThree, with_behaviours
from cartrial.escalation.design import StopReason
from cartrial.escalation.simulation import run_cohorts, simulate
from cartrial.escalation.three_plus_three import enumerate_three_plus_three


def _no_dlts(trials: int):  # type: ignore[no-untyped-def]
    return lambda cohort, dose, m: np.zeros((trials, m), dtype=bool)


def test_cohort_limit_without_max_n_is_not_max_n() -> None:
    # BOIN with no max_n never stops on its own without DLTs: 2 cohorts of 3 = 6 patients, no max_n at all
    run = run_cohorts(Boin(3, 0.3), _no_dlts(10), trials=10, cohorts=2, cohort_size=3)
    assert set(run.reason.tolist()) == {int(StopReason.MAX_COHORTS_REACHED)}


def test_max_n_is_max_n() -> None:
    design = with_behaviours(Boin(3, 0.3), StopAtN(6))
    run = run_cohorts(design, _no_dlts(10), trials=10, cohorts=5, cohort_size=3)
    assert set(run.reason.tolist()) == {int(StopReason.MAX_N_REACHED)}
    assert run.n.sum(axis=1).tolist() == [6.0] * 10


def test_trials_table_labels() -> None:
    oc = simulate(Boin(3, 0.3), [0.01, 0.02, 0.03], cohorts=2, trials=50, seed=1, keep_trials=True)
    labels = set(oc.trials_table()["stop_reason"])
    assert "max_n_reached" not in labels
    assert "max_cohorts_reached" in labels


def test_exact_three_plus_three_cohort_limit() -> None:
    # one cohort, no DLT possible: the rule has not ended (escalate to level 2) when the limit stops it
    terminals = enumerate_three_plus_three(ThreePlusThree(3), np.array([0.0, 0.0, 0.0]), max_cohorts=1)
    assert [t.reason for t in terminals] == [StopReason.MAX_COHORTS_REACHED]


def test_tite_crm_labels() -> None:
    from cartrial.escalation import TiteCrm

    run = {"cohorts": 3, "cohort_size": 3, "trials": 5, "seed": 1, "accrual_days": 7, "keep_trials": True}
    design = TiteCrm(skeleton=[0.1, 0.2, 0.3], target=0.3, window_days=28)
    oc = simulate(design, [0.1, 0.2, 0.3], **run)
    assert set(oc.trials_table()["stop_reason"]) == {"max_cohorts_reached"}
    capped = with_behaviours(design, StopAtN(6))
    oc = simulate(capped, [0.1, 0.2, 0.3], **run)
    assert set(oc.trials_table()["stop_reason"]) == {"max_n_reached"}
