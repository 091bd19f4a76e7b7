"""BOIN: boundaries, decisions, elimination and final MTD (``dose-escalation.md`` section 4; Liu & Yuan 2015;
R BOIN 2.7.2 get.boundary / get.oc / select.mtd)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from tests.conftest import property_examples

from cartrial.errors import InputError
from cartrial.escalation import Boin, boin_boundaries, decision_table, parse_outcomes, pava
from cartrial.escalation.isotonic import isotonic_batch, isotonic_mtd_batch


@pytest.mark.parametrize(
    ("target", "lambda_e", "lambda_d"),
    [
        (0.20, 0.1572422867, 0.2384624388),
        (0.25, 0.1968008706, 0.2983921524),
        (0.30, 0.2364906852, 0.3585194646),
    ],
)
def test_boundaries_match_reference_values(target: float, lambda_e: float, lambda_d: float) -> None:
    """Section 4.1 table (BOIN 2.7.2 get.boundary), to 1e-9 (values printed to 10 decimals)."""
    e, d = boin_boundaries(target)
    assert abs(e - lambda_e) < 1e-9
    assert abs(d - lambda_d) < 1e-9


def test_get_boundary_documentation_table() -> None:
    """Section 4.4: get.boundary(target = 0.3, ncohort = 10, cohortsize = 3), BOIN 2.7.2 output."""
    table = decision_table(Boin(5, 0.3), 30, 3)
    assert [r.n for r in table.rows] == [3, 6, 9, 12, 15, 18, 21, 24, 27, 30]
    assert [r.escalate_max for r in table.rows] == [0, 1, 2, 2, 3, 4, 4, 5, 6, 7]
    assert [r.deescalate_min for r in table.rows] == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert [r.eliminate_min for r in table.rows] == [3, 4, 5, 7, 8, 9, 10, 11, 12, 14]


def test_elimination_row_is_the_beta_posterior_rule() -> None:
    """Section 4.3: eliminate when n >= 3 and 1 - pbeta(phi, y + 1, n - y + 1) > 0.95; none below n = 3."""
    design = Boin(5, 0.3)
    for n in range(1, 31):
        row = design.boundary_row(n)
        expected = None
        if n >= 3:
            hits = [y for y in range(n + 1) if stats.beta.sf(0.3, y + 1, n - y + 1) > 0.95]
            expected = hits[0] if hits else None
        assert row["eliminate_min"] == expected


def test_decisions_at_the_boundaries() -> None:
    """Section 4.2: escalate iff y/n <= lambda_e (non-strict); de-escalate iff y/n > lambda_d (strict)."""
    design = Boin(5, 0.3)
    table = design.table_array(30)
    for n in range(1, 31):
        for y in range(n + 1):
            code = table[n, y]
            elim = design.boundary_row(n)["eliminate_min"]
            if elim is not None and y >= elim:
                assert code == 3
            elif y / n > design.lambda_d:
                assert code == 2
            elif y / n <= design.lambda_e:
                assert code == 0
            else:
                assert code == 1


def test_deescalate_inequality_option_when_lambda_d_times_n_is_an_integer() -> None:
    """Section 4.2: strict (as coded) vs non_strict (help text) differ only when lambda_d * n is an integer.
    phi2 chosen so that lambda_d is exactly 0.4 (solved numerically), n = 5: 2/5 stays (strict) or
    de-escalates (non_strict)."""
    from scipy import optimize

    def lam_d(phi2: float) -> float:
        return boin_boundaries(0.3, None, phi2)[1] - 0.4

    phi2 = optimize.brentq(lam_d, 0.33, 0.9, xtol=1e-15)  # phi2 >= 1.1 target (D-19.1115)
    strict = Boin(5, 0.3, phi2=phi2, cohort_size=1)
    loose = Boin(5, 0.3, phi2=phi2, cohort_size=1, deescalate_inequality="non_strict")
    assert abs(strict.lambda_d * 5 - 2) < 1e-12
    assert strict.deescalate_min(5) == 3
    assert loose.deescalate_min(5) == 2


def test_select_mtd_documentation_example() -> None:
    """Section 4.5: select.mtd(0.3, npts = (3, 3, 15, 9, 0), ntox = (0, 0, 4, 4, 0)) -> MTD 3; isotonic
    estimates 0.02, 0.02, 0.27, 0.45 (level 5 untreated)."""
    mtd, iso = isotonic_mtd_batch(
        np.array([3, 3, 15, 9, 0]), np.array([0, 0, 4, 4, 0]), np.zeros(5, bool), 0.3
    )
    assert mtd[0] == 2
    assert np.allclose(np.round(iso[0, :4], 2), [0.02, 0.02, 0.27, 0.45])
    assert np.isnan(iso[0, 4])
    fit = Boin(5, 0.3).fit(
        parse_outcomes("1NNN 2NNN " + " ".join(["3NNN"] * 3) + " 3TTN 3TTN 4TTN 4NTN 4NNN", 5)
    )
    assert fit.select_mtd().dose_level == 3


def test_tie_break_rules() -> None:
    """Section 4.5 step 4: equal pooled estimates below the target -> the higher level; above -> the lower;
    a symmetric tie across the target -> the level below."""
    below = isotonic_mtd_batch(np.array([6, 6]), np.array([1, 1]), np.zeros(2, bool), 0.3)[0][0]
    assert below == 1
    above = isotonic_mtd_batch(np.array([6, 6]), np.array([4, 4]), np.zeros(2, bool), 0.3)[0][0]
    assert above == 0
    # Symmetric tie across the target: 1/6 and 2/6 give (y+0.05)/(n+0.1) = 1.05/6.1 and 2.05/6.1 (already
    # increasing, so PAVA keeps them); a target at their midpoint is equidistant -> the level below.
    low, high = 1.05 / 6.1, 2.05 / 6.1
    midpoint = (low + high) / 2
    across = isotonic_mtd_batch(np.array([6, 6]), np.array([1, 2]), np.zeros(2, bool), midpoint)[0][0]
    assert across == 0
    # the same tie one level higher (an untreated level in between is skipped but ranks follow kept levels)
    shifted = isotonic_mtd_batch(np.array([6, 0, 6]), np.array([1, 0, 2]), np.zeros(3, bool), midpoint)[0][0]
    assert shifted == 0


def test_bound_mtd_filters_tie_broken_estimates_and_can_give_no_mtd() -> None:
    """Section 4.5 step 5 (BOIN 2.7.2 select.mtd, boundMTD = TRUE): only levels whose (tie-broken) isotonic
    estimate is <= lambda_d qualify; none -> no MTD. 0/6 and 3/6 give 0.008 and 0.5: unbounded, 3/6 is
    closer to 0.3 (0.2 < 0.292); with lambda_d = 0.3585 only level 1 qualifies."""
    n, y, elim = np.array([6, 6]), np.array([0, 3]), np.zeros(2, bool)
    assert isotonic_mtd_batch(n, y, elim, 0.3)[0][0] == 1  # |0.5 - 0.3| < |0.008 - 0.3|
    lam_d = Boin(2, 0.3).lambda_d
    assert isotonic_mtd_batch(n, y, elim, 0.3, bound_mtd_at=lam_d)[0][0] == 0
    none = isotonic_mtd_batch(np.array([6]), np.array([4]), np.zeros(1, bool), 0.3, bound_mtd_at=lam_d)
    assert none[0][0] == -1
    # the tie-break is part of the filtered estimate: a bound equal to the raw estimate excludes the level
    p_hat = 2.05 / 6.1
    assert (
        isotonic_mtd_batch(np.array([6]), np.array([2]), np.zeros(1, bool), 0.3, bound_mtd_at=p_hat)[0][0]
        == -1
    )


def test_eliminated_levels_are_never_selected_and_level1_eliminated_means_no_mtd() -> None:
    """Section 4.5 step 1 and 4.3: eliminated levels are dropped; level 1 eliminated -> no MTD."""
    fit = Boin(3, 0.3).fit(parse_outcomes("1NNN 2TTT", 3))
    assert fit.eliminated == (2, 3)
    assert fit.next_dose == 1
    assert fit.select_mtd().dose_level == 1
    stop = Boin(3, 0.3).fit(parse_outcomes("1TTT", 3))
    assert not stop.continue_ and stop.next_dose is None
    assert stop.select_mtd().dose_level is None


def test_escalation_into_eliminated_level_becomes_stay_and_elimination_persists() -> None:
    """Section 4.2-4.3: escalating into an eliminated level becomes stay; elimination persists."""
    fit = Boin(3, 0.3).fit(parse_outcomes("1NNN 2TTT 1NNN", 3))
    assert fit.eliminated == (2, 3)
    assert fit.next_dose == 1
    assert fit.decision == "escalate"


def test_top_level_escalate_becomes_stay_and_level1_deescalate_becomes_stay() -> None:
    """Section 4.2: escalating from the top level or de-escalating from level 1 becomes stay."""
    assert Boin(2, 0.3).fit(parse_outcomes("1NNN 2NNN", 2)).next_dose == 2
    assert Boin(2, 0.3).fit(parse_outcomes("1TTN", 2)).next_dose == 1


def test_extrasafe_stops_at_level_1() -> None:
    """Section 4.3: extrasafe stops when n1 >= 3 and P(p1 > phi) > cutoff - 0.05 (= 0.90)."""
    prob = stats.beta.sf(0.3, 2 + 1, 3 - 2 + 1)  # 2/3 at level 1: 0.9163
    assert 0.90 < prob <= 0.95
    history = parse_outcomes("1NTT", 3)
    assert Boin(3, 0.3).fit(history).continue_
    assert not Boin(3, 0.3, extrasafe=True).fit(history).continue_


def test_bad_targets() -> None:
    """Bad input: target outside (0, 1) names the argument (decisions §5)."""
    for target in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(InputError, match="target"):
            Boin(5, target)


@settings(max_examples=property_examples(60), deadline=None)
@given(st.lists(st.tuples(st.floats(0.01, 0.99), st.floats(0.1, 10)), min_size=1, max_size=7))
def test_pava_equals_max_min_formula_and_is_monotone(pairs: list[tuple[float, float]]) -> None:
    """PAVA (section 4.5 sketch) equals the max-min formula of isotonic regression (Barlow et al. 1972)
    and is non-decreasing."""
    values = np.array([p[0] for p in pairs])
    weights = np.array([p[1] for p in pairs])
    by_pava = pava(values, weights)
    by_formula = isotonic_batch(values[None, :], weights[None, :], np.ones((1, values.size), bool))[0]
    assert np.allclose(by_pava, by_formula, atol=1e-12)
    assert np.all(np.diff(by_pava) >= -1e-12)


@settings(max_examples=property_examples(30), deadline=None)
@given(st.sampled_from([0.15, 0.2, 0.25, 0.3, 0.33, 0.4]), st.integers(1, 40))
def test_more_dlts_never_give_a_higher_dose(target: float, n: int) -> None:
    """Monotonicity: for fixed n, the decision never moves up as y increases (E < S < D < DU)."""
    table = Boin(5, target, cohort_size=1).table_array(n)
    codes = [int(table[n, y]) for y in range(n + 1)]
    assert codes == sorted(codes)
    assert math.isclose(sum(1 for _ in codes), n + 1)


def test_extrasafe_in_final_selection() -> None:
    """BOIN select.mtd with extrasafe: no MTD when n1 >= 3 and P(p1 > phi) > cutoff - offset (2/3: 0.916)."""
    history = parse_outcomes("1NTT 1NNN", 3)  # 2/6 at level 1: P = 0.74, fine; then check 2/3 alone
    assert Boin(3, 0.3, extrasafe=True).fit(history).select_mtd().dose_level == 1
    state = Boin(3, 0.3, extrasafe=True).replay(parse_outcomes("1NTT", 3))
    assert Boin(3, 0.3, extrasafe=True).select_mtd(state).dose_level is None
    assert Boin(3, 0.3).select_mtd(state).dose_level == 1
