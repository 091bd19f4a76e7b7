"""mTPI-2 and i3+3 decision rules at the boundaries (``dose-escalation.md`` sections 5-6; Guo et al. 2017;
Liu, Wang & Ji 2020), each checked against an independent computation of the paper's rule."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from cartrial.escalation import I3plus3, Mtpi2, TableDesign, decision_table, parse_outcomes


def _upm_decision(n: int, y: int, target: float = 0.3, eps: float = 0.05) -> str:
    """mTPI-2 by hand: intervals of width 0.1 tiling [0, 1] around EI [0.25, 0.35] for target 0.3:
    [0,0.05] [0.05,0.15] [0.15,0.25] | [0.25,0.35] | [0.35,0.45] ... [0.85,0.95] [0.95,1]."""
    edges = [0.0, 0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95, 1.0]
    post = stats.beta(1 + y, 1 + n - y)
    upm = [(post.cdf(b) - post.cdf(a)) / (b - a) for a, b in itertools.pairwise(edges)]
    best = int(np.argmax(upm))
    if post.sf(target) > 0.95 and n >= 3:
        return "DU"
    return "E" if best < 3 else ("S" if best == 3 else "D")


def test_mtpi2_intervals_for_target_0_3() -> None:
    """Section 5: EI [0.25, 0.35] and same-width pieces, truncated at 0 and 1."""
    edges, ei = Mtpi2(5, 0.3).intervals
    assert np.allclose(edges, [0.0, 0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95, 1.0])
    assert ei == 3


def test_mtpi2_table_matches_hand_rule() -> None:
    """Section 5: every cell for n = 1..15 equals the UPM rule computed independently."""
    table = Mtpi2(5, 0.3).table_array(15)
    codes = ["E", "S", "D", "DU"]
    for n in range(1, 16):
        for y in range(n + 1):
            assert codes[table[n, y]] == _upm_decision(n, y), (n, y)


def test_mtpi2_known_cells_cohorts_of_three() -> None:
    """Section 5 / 6: with cohorts of 3 at target 0.3, n = 3: E S D DU; n = 6: E E S D DU DU DU (the same
    table as i3+3 there, which is why their OCs are practically identical)."""
    table = decision_table(Mtpi2(5, 0.3), 6, 3)
    assert table.row(3).decisions == ("E", "S", "D", "DU")
    assert table.row(6).decisions == ("E", "E", "S", "D", "DU", "DU", "DU")


def test_mtpi2_exclusion_min_n_option() -> None:
    """Section 5: `exclusion_min_n` default 3; 0 reproduces `escalation` (DU possible at n = 2: 2/2 has
    P(p > 0.3) = 1 - 0.3^3 = 0.973 > 0.95)."""
    assert Mtpi2(5, 0.3).cell(2, 2).code == "D"
    assert Mtpi2(5, 0.3, exclusion_min_n=0).cell(2, 2).code == "DU"


def _i3_rule(n: int, y: int, low: float = 0.25, high: float = 0.35) -> str:
    if n >= 3 and stats.beta.sf(0.3, y + 1, n - y + 1) > 0.95:
        return "DU"
    if y / n < low:
        return "E"
    if y / n <= high:
        return "S"
    return "S" if (y - 1) / n < low else "D"


def test_i3plus3_table_matches_paper_rule() -> None:
    """Section 6: i3+3 rule for every cell n = 1..20 (EI inclusive; above: S if (y-1)/n below the EI)."""
    table = I3plus3(5, 0.3).table_array(20)
    codes = ["E", "S", "D", "DU"]
    for n in range(1, 21):
        for y in range(n + 1):
            assert codes[table[n, y]] == _i3_rule(n, y), (n, y)


def test_i3plus3_boundary_cells_with_exact_interval_ends() -> None:
    """Section 6: y/n exactly at an EI end is inside (inclusive): 1/4 = 0.25 -> S; and 2/5 = 0.4 > 0.35 but
    (2-1)/5 = 0.2 < 0.25 -> S; 3/8 = 0.375 > 0.35 and (3-1)/8 = 0.25 not < 0.25 -> D."""
    design = I3plus3(5, 0.3, cohort_size=1)
    assert design.cell(4, 1).code == "S"
    assert design.cell(5, 2).code == "S"
    assert design.cell(8, 3).code == "D"
    assert design.cell(20, 7).code == "S"  # 0.35: upper end inclusive


def test_interval_designs_never_recommend_eliminated_levels() -> None:
    """Section 10 invariant: an eliminated level is never recommended, as next dose or as MTD."""
    for design in (Mtpi2(3, 0.3), I3plus3(3, 0.3)):
        fit = design.fit(parse_outcomes("1NNN 2NNN 3TTT 2NNN", 3))
        assert 3 in fit.eliminated
        assert fit.next_dose != 3
        assert fit.select_mtd().dose_level != 3


def test_user_supplied_table_drives_conduct() -> None:
    """Section 6: a user-supplied decision table drives conduct (cells not given: S; DU eliminates)."""
    design = TableDesign(3, 0.3, {(3, 0): "E", (3, 1): "S", (3, 2): "D", (3, 3): "DU"})
    assert design.fit(parse_outcomes("1NNN", 3)).next_dose == 2
    fit = design.fit(parse_outcomes("1NNN 2TTT", 3))
    assert fit.eliminated == (2, 3)
    assert fit.next_dose == 1


@pytest.mark.parametrize("cls", [Mtpi2, I3plus3])
def test_equivalence_interval_must_fit(cls: type) -> None:
    """Bad input: the EI must lie inside (0, 1)."""
    from cartrial.errors import InputError

    with pytest.raises(InputError, match="eps1"):
        cls(5, 0.3, eps1=0.4)


@pytest.mark.parametrize("cls", [Mtpi2, I3plus3])
@pytest.mark.parametrize("target", [0.2, 0.25, 0.3, 0.33])
def test_more_dlts_never_give_a_higher_dose(cls: type, target: float) -> None:
    """Monotonicity (both papers): for fixed n the decision never moves up as y increases (E < S < D < DU)."""
    table = cls(5, target, cohort_size=1).table_array(24)
    for n in range(1, 25):
        codes = [int(table[n, y]) for y in range(n + 1)]
        assert codes == sorted(codes), (n, codes)


@pytest.mark.parametrize("cell", [(-1, 0), (3, 4), (0, 0), (3, -1), (2.0, 1)])
def test_user_table_cells_must_be_valid(cell: tuple[int, int]) -> None:
    """Bad input: a user-supplied table cell (n, y) must have n >= 1 and 0 <= y <= n (a negative n would
    otherwise index the last row of the generated table and silently eliminate there)."""
    from cartrial.errors import InputError

    with pytest.raises(InputError, match="table"):
        TableDesign(3, 0.3, {cell: "DU"})
