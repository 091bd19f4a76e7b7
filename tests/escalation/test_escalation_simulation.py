"""Monte Carlo operating characteristics (``dose-escalation.md`` section 11)."""

from __future__ import annotations

import numpy as np
import pytest

from cartrial.errors import ConfigurationError, InputError
from cartrial.escalation import Boin, Crm, I3plus3, Mtpi2, ThreePlusThree, TiteCrm, simulate

TRUTH = [0.05, 0.15, 0.30, 0.45, 0.60]


def test_same_seed_same_result_and_different_seed_differs() -> None:
    """Section 11 / decisions §5 acceptance: simulation with a fixed seed is reproducible."""
    a = simulate(Boin(5, 0.3), TRUTH, cohorts=10, trials=3000, seed=6).as_dict()
    b = simulate(Boin(5, 0.3), TRUTH, cohorts=10, trials=3000, seed=6).as_dict()
    c = simulate(Boin(5, 0.3), TRUTH, cohorts=10, trials=3000, seed=7).as_dict()
    for key in ("selection_pct", "no_mtd_pct", "mean_n", "mean_dlt", "early_stop_pct", "total_n"):
        assert a[key] == b[key]
    assert a["selection_pct"] != c["selection_pct"]


def test_report_is_consistent() -> None:
    """Selection % and no-MTD % sum to 100; total n = sum of mean n; BOIN uses all 30 patients when no
    safety stop occurs (section 4.3 sample size)."""
    oc = simulate(Boin(5, 0.3), TRUTH, cohorts=10, trials=2000, seed=1)
    assert sum(oc.selection_pct) + oc.no_mtd_pct == pytest.approx(100)
    assert oc.total_n == pytest.approx(sum(oc.mean_n))
    assert oc.total_n == pytest.approx(30)
    assert oc.true_mtd == 3
    expected_above = 100 * (oc.mean_n[3] + oc.mean_n[4]) / oc.total_n
    assert oc.pct_treated_above_mtd == pytest.approx(expected_above)
    assert oc.selection_pct[2] > 45  # the true MTD is the modal choice


def test_all_safe_scenario_boin_selects_top() -> None:
    """With all doses far below target, BOIN escalates to the top and selects it most often."""
    oc = simulate(Boin(3, 0.3), [0.01, 0.02, 0.03], cohorts=10, trials=1000, seed=2)
    assert oc.selection_pct[2] > 90


def test_all_toxic_scenario_stops_early() -> None:
    """Section 4.3: level 1 eliminated -> stop, no MTD; with truth 0.8 at level 1 most trials stop."""
    oc = simulate(Boin(3, 0.3), [0.8, 0.9, 0.95], cohorts=10, trials=1000, seed=2)
    assert oc.early_stop_pct > 80
    assert oc.no_mtd_pct >= oc.early_stop_pct


@pytest.mark.parametrize("design", [Mtpi2(5, 0.3), I3plus3(5, 0.3)])
def test_mtpi2_and_i3plus3_practically_identical(design: object) -> None:
    """Section 6: with cohorts of 3, i3+3 and mTPI-2 give practically identical OCs in the standard scenario
    (same decision tables up to n = 9 here; common random numbers)."""
    a = simulate(Mtpi2(5, 0.3), TRUTH, cohorts=10, trials=2000, seed=5)
    b = simulate(I3plus3(5, 0.3), TRUTH, cohorts=10, trials=2000, seed=5)
    assert np.allclose(a.selection_pct, b.selection_pct, atol=3)


def test_crm_simulation_runs_and_selects_near_target() -> None:
    """CRM simulation (grid integration), cohorts of 3: the true MTD is the modal selection."""
    oc = simulate(
        Crm([0.05, 0.12, 0.25, 0.40, 0.55], 0.3), TRUTH, cohorts=8, cohort_size=3, trials=500, seed=4
    )
    assert int(np.argmax(oc.selection_pct)) == 2


def test_bad_inputs() -> None:
    """Bad input: truth length != doses, trials < 1, probabilities outside [0, 1] (decisions §5)."""
    with pytest.raises(InputError, match="truth"):
        simulate(Boin(5, 0.3), [0.1, 0.2], cohorts=10, trials=10, seed=1)
    with pytest.raises(InputError, match="trials"):
        simulate(Boin(2, 0.3), [0.1, 0.2], cohorts=10, trials=0, seed=1)
    with pytest.raises(InputError, match="truth"):
        simulate(Boin(2, 0.3), [0.1, 1.2], cohorts=10, trials=10, seed=1)
    with pytest.raises(InputError, match="cohort"):
        simulate(ThreePlusThree(2), [0.1, 0.2], cohorts=10, trials=10, seed=1, cohort_size=2)
    with pytest.raises(InputError, match="accrual"):
        simulate(TiteCrm([0.1, 0.2], 0.25, window_days=28), [0.1, 0.2], cohorts=3, trials=10, seed=1)
    with pytest.raises(InputError, match="seed"):
        simulate(Boin(2, 0.3), [0.1, 0.2], cohorts=10, trials=10, seed=-1)
    with pytest.raises(InputError, match="mtd_target"):
        simulate(Boin(2, 0.3), [0.1, 0.2], cohorts=10, trials=10, seed=1, mtd_target=1.5)
    with pytest.raises(ConfigurationError):
        adaptive = TiteCrm([0.1, 0.2], 0.25, window_days=28, scheme="adaptive")
        simulate(adaptive, [0.1, 0.2], cohorts=3, trials=10, seed=1, accrual_days=7)


@pytest.mark.parametrize("no_skip", [False, True])
def test_tite_with_complete_followup_equals_crm(no_skip: bool) -> None:
    """Section 8: when every earlier patient is fully followed at each decision (accrual interval >= DLT
    window), every weight is 1 and TITE-CRM is the CRM: same seed (common random numbers), same OCs."""
    from cartrial.escalation import DontSkipDoses, with_behaviours

    skeleton = [0.05, 0.12, 0.25, 0.40, 0.55]
    crm: object = Crm(skeleton, 0.3, cohort_size=3)
    tite: object = TiteCrm(skeleton, 0.3, window_days=28, cohort_size=3)
    if no_skip:
        crm, tite = with_behaviours(crm, DontSkipDoses()), with_behaviours(tite, DontSkipDoses())  # type: ignore[arg-type]
    a = simulate(crm, TRUTH, cohorts=8, trials=500, seed=3)  # type: ignore[arg-type]
    b = simulate(tite, TRUTH, cohorts=8, trials=500, seed=3, accrual_days=28)  # type: ignore[arg-type]
    assert a.selection_pct == b.selection_pct
    assert a.mean_n == b.mean_n
    c = simulate(tite, TRUTH, cohorts=8, trials=500, seed=3, accrual_days=3)  # type: ignore[arg-type]
    assert c.mean_n != a.mean_n  # pending follow-up changes the decisions


@pytest.mark.parametrize(
    "design", [Boin(3, 0.3), Mtpi2(3, 0.3), I3plus3(3, 0.3)], ids=["boin", "mtpi2", "i3+3"]
)
def test_a_long_simulation_builds_the_decision_table_once(
    design: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once n at a dose passed 30, the (n, y) decision table was rebuilt at every cohort, each time O(n²)
    cells: `escalate simulate --cohorts 1000` (the documented maximum) ran for hours (sweepcli). Now the
    table is built once and larger counts are decided per (n, y) met; the result is unchanged."""
    from cartrial.escalation.interval import IntervalDesign

    builds = []
    original = type(design).raw_decision_table

    def counted(self: IntervalDesign, n: np.ndarray, y: np.ndarray) -> np.ndarray:
        builds.append(n.shape)
        return original(self, n, y)

    monkeypatch.setattr(type(design), "raw_decision_table", counted)
    oc = simulate(design, [0.01, 0.02, 0.30], cohorts=60, trials=20, seed=4)  # type: ignore[arg-type]
    assert len(builds) == 1, builds
    assert oc.total_n == pytest.approx(180)


@pytest.mark.parametrize("target,cutoff", [(0.3, 0.95), (0.25, 0.9), (0.2, 0.99), (0.4, 0.95), (0.05, 0.95)])
def test_elimination_count_by_bisection_equals_the_direct_count(
    target: float, cutoff: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond `DIRECT_MAX_N` the elimination count is found by bisection (a 1000-cohort simulation of
    cohorts of 100 reaches n = 100,000: n + 1 beta evaluations per n took minutes); both ways agree."""
    from cartrial.escalation import interval

    ns = [3, 4, 7, 30, 31, 100, 333, 999, 1000]
    direct = [interval.elimination_count(target, n, cutoff) for n in ns]
    interval.elimination_count.cache_clear()
    monkeypatch.setattr(interval, "DIRECT_MAX_N", 0)
    try:
        assert [interval.elimination_count(target, n, cutoff) for n in ns] == direct
    finally:
        interval.elimination_count.cache_clear()
