"""3+3 in both variants, exact operating characteristics (``dose-escalation.md`` section 3)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cartrial.escalation import (
    ThreePlusThree,
    decision_table,
    exact_three_plus_three,
    parse_outcomes,
    simulate,
)


def _fit(variant: str, history: str, k: int = 3):  # type: ignore[no-untyped-def]
    return ThreePlusThree(k, variant=variant).fit(parse_outcomes(history, k))  # type: ignore[arg-type]


@pytest.mark.parametrize("variant", ["escalation_only", "deescalation"])
def test_common_rules(variant: str) -> None:
    """Section 3 table: 0/3 escalate; 1/3 treat 3 more; <= 1/6 escalate; top level 0/3 -> MTD = top."""
    assert _fit(variant, "1NNN").next_dose == 2
    assert _fit(variant, "1NNT").next_dose == 1
    assert _fit(variant, "1NNT 1NNN").next_dose == 2
    top = _fit(variant, "1NNN 2NNN 3NNN")
    assert not top.continue_ and top.select_mtd().dose_level == 3


def test_escalation_only_stops_at_exceeded_level() -> None:
    """Variant A (Storer 1989): >= 2 DLTs at d -> stop, MTD = d - 1 (which may have only 3 patients)."""
    fit = _fit("escalation_only", "1NNN 2NNN 3TTN")
    assert not fit.continue_ and fit.next_dose is None
    assert fit.select_mtd().dose_level == 2
    assert _fit("escalation_only", "1TTN").select_mtd().dose_level is None


def test_deescalation_variant() -> None:
    """Variant B (Korn 1994): de-escalate to d-1 when it has < 6 patients; MTD = highest level with 6 and
    <= 1 DLT; 1/6 at d when d+1 is exceeded ends with MTD = d."""
    fit = _fit("deescalation", "1NNN 2NNN 3TTN")
    assert fit.continue_ and fit.next_dose == 2
    done = _fit("deescalation", "1NNN 2NNN 3TTN 2NTN")
    assert not done.continue_ and done.select_mtd().dose_level == 2
    fail = _fit("deescalation", "1NNN 2NNN 3TTN 2TTN")
    assert fail.continue_ and fail.next_dose == 1
    end = _fit("deescalation", "1NNN 2NNN 3TTN 2TTN 1NNN")
    assert not end.continue_ and end.select_mtd().dose_level == 1
    stop = _fit("deescalation", "1NNT 1NNN 2TTN")  # level 1 already has 6: stop
    assert not stop.continue_ and stop.select_mtd().dose_level == 1


def test_exceeded_level_never_reentered() -> None:
    """Section 3 common rule: a level with >= 2 DLTs is never re-entered (0/6 at d-1 then stop)."""
    fit = _fit("deescalation", "1NNN 2TTN 1NNN")
    assert not fit.continue_
    assert fit.eliminated == (2, 3)


def test_decision_table() -> None:
    """Section 3 table: n=3: 0 E, 1 S, >=2 exceeded; n=6: <=1 E, >=2 exceeded."""
    table = decision_table(ThreePlusThree(3), 6)
    assert table.row(3).decisions == ("E", "S", "DU", "DU")
    assert table.row(6).decisions == ("E", "E", "DU", "DU", "DU", "DU", "DU")


def _clear(p: float) -> float:
    q0, q1 = (1 - p) ** 3, 3 * p * (1 - p) ** 2
    return q0 + q1 * q0


def test_exact_two_levels_escalation_only_by_hand() -> None:
    """Exact OCs by hand for K = 2, variant A: P(clear d) = P(0/3) + P(1/3) P(0/3)."""
    p1, p2 = 0.1, 0.3
    oc = exact_three_plus_three(ThreePlusThree(2, variant="escalation_only"), [p1, p2])
    c1, c2 = _clear(p1), _clear(p2)
    assert oc.selection_pct[1] == pytest.approx(100 * c1 * c2, abs=1e-10)
    assert oc.selection_pct[0] == pytest.approx(100 * c1 * (1 - c2), abs=1e-10)
    assert oc.no_mtd_pct == pytest.approx(100 * (1 - c1), abs=1e-10)
    q1 = lambda p: 3 * p * (1 - p) ** 2  # noqa: E731
    assert oc.mean_n[0] == pytest.approx(3 + 3 * q1(p1), abs=1e-10)
    assert oc.mean_n[1] == pytest.approx(c1 * (3 + 3 * q1(p2)), abs=1e-10)
    assert oc.mean_dlt[0] == pytest.approx(oc.mean_n[0] * p1, abs=1e-10)  # DLT mean = n mean * p
    assert oc.mean_dlt[1] == pytest.approx(oc.mean_n[1] * p2, abs=1e-10)


def test_exact_two_levels_deescalation_by_hand() -> None:
    """Variant B, K = 2: after level 2 is exceeded, level 1 with 0/3 gets 3 more (MTD 1 if <= 1/6)."""
    p1, p2 = 0.2, 0.5
    q0, q1 = (1 - p1) ** 3, 3 * p1 * (1 - p1) ** 2
    oc = exact_three_plus_three(ThreePlusThree(2, variant="deescalation"), [p1, p2])
    select1 = (q0 * (q0 + q1) + q1 * q0) * (1 - _clear(p2))
    assert oc.selection_pct[0] == pytest.approx(100 * select1, abs=1e-10)
    assert oc.selection_pct[1] == pytest.approx(100 * _clear(p1) * _clear(p2), abs=1e-10)
    assert sum(oc.selection_pct) + oc.no_mtd_pct == pytest.approx(100, abs=1e-10)


@pytest.mark.parametrize("variant", ["escalation_only", "deescalation"])
def test_monte_carlo_agrees_with_exact_within_three_se(variant: str) -> None:
    """Acceptance: MC 3+3 agrees with exact 3+3 within 3 standard errors (section 11)."""
    truth = [0.05, 0.15, 0.30, 0.45, 0.60]
    design = ThreePlusThree(5, variant=variant)  # type: ignore[arg-type]
    exact = exact_three_plus_three(design, truth)
    trials = 20000
    mc = simulate(design, truth, cohorts=10, trials=trials, seed=11)
    for e, m in zip(
        [*exact.selection_pct, exact.no_mtd_pct], [*mc.selection_pct, mc.no_mtd_pct], strict=True
    ):
        se = 100 * np.sqrt(max(e / 100 * (1 - e / 100), 1e-12) / trials)
        assert abs(e - m) <= 3 * se + 1e-9
    for e, m in zip(exact.mean_n, mc.mean_n, strict=True):
        assert abs(e - m) < 0.1
    assert abs(exact.total_n - mc.total_n) < 0.1


def test_require_six_at_top_option() -> None:
    """Section 3 option require_six_at_top: True expands the top level to 6 before declaring it."""
    history = parse_outcomes("1NNN 2NNN", 2)
    assert not ThreePlusThree(2).fit(history).continue_
    held = ThreePlusThree(2, require_six_at_top=True).fit(history)
    assert held.continue_ and held.next_dose == 2


@settings(max_examples=25, deadline=None)
@given(st.floats(0.0, 0.9), st.floats(0.0, 0.09), st.floats(0.0, 0.9))
def test_no_mtd_probability_increases_with_level1_toxicity(p1: float, step: float, p2: float) -> None:
    """Monotonicity: P(no MTD) = P(level 1 exceeded) is non-decreasing in the level-1 toxicity."""
    for variant in ("escalation_only", "deescalation"):
        design = ThreePlusThree(2, variant=variant)  # type: ignore[arg-type]
        low = exact_three_plus_three(design, [p1, p2]).no_mtd_pct
        high = exact_three_plus_three(design, [min(p1 + step, 1.0), p2]).no_mtd_pct
        assert high >= low - 1e-9


def test_simulation_runs_3plus3_to_its_own_end() -> None:
    """A 3+3 trial is not truncated by a small --cohorts: at least 2K cohorts are simulated (section 3)."""
    truth = [0.01] * 6
    oc = simulate(ThreePlusThree(6), truth, cohorts=3, trials=200, seed=1)
    exact = exact_three_plus_three(ThreePlusThree(6), truth)
    assert oc.selection_pct[5] > 80 and exact.selection_pct[5] > 80
