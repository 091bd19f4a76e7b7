"""3+3 in both variants, exact operating characteristics (``dose-escalation.md`` section 3)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

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


@settings(max_examples=property_examples(25), deadline=None)
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


def _brute_force_sketch(
    k: int, variant: str, p: list[float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple[float, int | None, list[tuple[int, int]]]]]:
    """Independent enumeration of the section 3 sketch, cohort by cohort with Binomial(3, p) DLT counts
    (no grouping of outcomes): selection probabilities (last entry = no MTD), mean n and mean DLTs per level,
    and every terminal path as (probability, 0-based MTD or None, [(0-based dose, DLTs), ...])."""
    import math

    selection = np.zeros(k + 1)
    mean_n = np.zeros(k)
    mean_dlt = np.zeros(k)
    paths: list[tuple[float, int | None, list[tuple[int, int]]]] = []

    def treat(
        prob: float, d: int, n: list[int], y: list[int], exceeded: list[bool], hist: list[tuple[int, int]]
    ) -> None:
        for x in range(4):
            px = math.comb(3, x) * p[d] ** x * (1 - p[d]) ** (3 - x)
            if px > 0:
                n2, y2 = list(n), list(y)
                n2[d] += 3
                y2[d] += x
                decide(prob * px, d, n2, y2, list(exceeded), [*hist, (d, x)])

    def finish(prob: float, mtd: int | None, n: list[int], y: list[int], hist: list[tuple[int, int]]) -> None:
        selection[k if mtd is None else mtd] += prob
        mean_n[:] += prob * np.array(n)
        mean_dlt[:] += prob * np.array(y)
        paths.append((prob, mtd, hist))

    def decide(
        prob: float, d: int, n: list[int], y: list[int], exceeded: list[bool], hist: list[tuple[int, int]]
    ) -> None:
        if (y[d] == 0 and n[d] == 3) or (y[d] <= 1 and n[d] == 6):
            if d == k - 1 or exceeded[d + 1] or n[d + 1] >= 6:
                return finish(prob, d, n, y, hist)
            return treat(prob, d + 1, n, y, exceeded, hist)
        if y[d] == 1 and n[d] == 3:
            return treat(prob, d, n, y, exceeded, hist)
        exceeded[d] = True
        if variant == "escalation_only":
            return finish(prob, d - 1 if d > 0 else None, n, y, hist)
        if d == 0:
            return finish(prob, None, n, y, hist)
        if n[d - 1] < 6:
            return treat(prob, d - 1, n, y, exceeded, hist)
        korn = [i for i in range(k) if n[i] == 6 and y[i] <= 1]
        return finish(prob, max(korn) if korn else None, n, y, hist)

    treat(1.0, 0, [0] * k, [0] * k, [False] * k, [])
    return selection, mean_n, mean_dlt, paths


@pytest.mark.parametrize("variant", ["escalation_only", "deescalation"])
@pytest.mark.parametrize(
    "truth",
    [
        [0.1, 0.3],
        [0.3, 0.6],
        [0.6, 0.8],
        [0.05, 0.2, 0.45],
        [0.2, 0.35, 0.5],
        [0.5, 0.6, 0.7],
        [0.01, 0.02, 0.03],
    ],
)
def test_exact_and_live_rule_equal_an_independent_enumeration_of_the_sketch(
    variant: str, truth: list[float]
) -> None:
    """Section 3 sketch enumerated independently (2 and 3 levels, both variants): exact selection %, mean n
    and mean DLTs per level agree to 1e-12; replaying every terminal path through the live rule gives the
    same next dose after every cohort, stops exactly at the end with the same MTD, and never recommends a
    level that has had >= 2 DLTs (common rule)."""
    k = len(truth)
    selection, mean_n, mean_dlt, paths = _brute_force_sketch(k, variant, truth)
    design = ThreePlusThree(k, variant=variant)  # type: ignore[arg-type]
    oc = exact_three_plus_three(design, truth)
    assert np.allclose(np.array([*oc.selection_pct, oc.no_mtd_pct]) / 100, selection, atol=1e-12)
    assert np.allclose(oc.mean_n, mean_n, atol=1e-12)
    assert np.allclose(oc.mean_dlt, mean_dlt, atol=1e-12)
    for _, mtd, hist in paths:
        blocks: list[str] = []
        for dose, dlts in hist:
            fit = design.fit(parse_outcomes(" ".join(blocks), k))
            assert fit.continue_ and fit.next_dose == dose + 1, (blocks, fit.next_dose)
            exceeded = {i + 1 for i in range(k) if fit.dlt_per_dose[i] >= 2}
            assert fit.next_dose not in exceeded
            blocks.append(f"{dose + 1}" + "T" * dlts + "N" * (3 - dlts))
        end = design.fit(parse_outcomes(" ".join(blocks), k))
        assert not end.continue_ and end.next_dose is None
        assert end.select_mtd().dose_level == (None if mtd is None else mtd + 1), blocks


def test_start_dose_above_1_variant_b_keeps_korns_six_at_the_mtd() -> None:
    """Variant B (Korn 1994, section 3: "de-escalate to d-1 and treat 3 more there"; the MTD needs 6
    patients): starting at level 2, 2/3 there, then 0/3 at level 1 -> 3 more at 1 (not a stop without MTD);
    <= 1/6 -> MTD 1. Exact and Monte Carlo OCs agree within 3 SE for this start."""
    design = ThreePlusThree(3, start_dose=2)
    held = design.fit(parse_outcomes("2TTN 1NNN", 3))
    assert held.continue_ and held.next_dose == 1 and held.decision == "stay"
    done = design.fit(parse_outcomes("2TTN 1NNN 1NTN", 3))
    assert not done.continue_ and done.select_mtd().dose_level == 1
    truth = [0.2, 0.4, 0.6]
    exact = exact_three_plus_three(design, truth)
    mc = simulate(design, truth, cohorts=6, trials=20000, seed=3)
    for e, m in zip(
        [*exact.selection_pct, exact.no_mtd_pct], [*mc.selection_pct, mc.no_mtd_pct], strict=True
    ):
        assert abs(e - m) <= 3 * 100 * np.sqrt(max(e / 100 * (1 - e / 100), 1e-12) / 20000) + 1e-9


def test_report_definitions_by_hand_two_levels() -> None:
    """Section 11 definitions on exact 3+3 (variant A, K = 2, truth 0.1 / 0.5, MTD target 0.3): early stop =
    P(level 1 exceeded) = 1 - P(clear 1); % treated above the true MTD = mean n at level 2 / mean total n;
    true MTD = level 1 (highest level with p <= 0.3)."""
    p1, p2 = 0.1, 0.5
    oc = exact_three_plus_three(ThreePlusThree(2, variant="escalation_only"), [p1, p2], mtd_target=0.3)
    q1 = 3 * p1 * (1 - p1) ** 2
    n1 = 3 + 3 * q1
    n2 = _clear(p1) * (3 + 3 * 3 * p2 * (1 - p2) ** 2)
    assert oc.early_stop_pct == pytest.approx(100 * (1 - _clear(p1)), abs=1e-10)
    assert oc.total_n == pytest.approx(n1 + n2, abs=1e-10)
    assert oc.pct_treated_above_mtd == pytest.approx(100 * n2 / (n1 + n2), abs=1e-10)
    assert oc.true_mtd == 1
