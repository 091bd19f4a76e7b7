"""BOIN extrasafe offset and empty decision tables (decisions D-19.1113, D-19.1114).

Oracles: BOIN 2.7.2 `get.oc` / `get.boundary` refuse ``offset >= 0.5`` ("the offset is too large!");
extrasafe stops when n_1 >= 3 and P(p_1 > target) > cutoff.eli - offset (docs/science/dose-escalation.md
§4.3), a probability threshold that must be positive. A decision table tabulates n = cohort size, 2 cohort
size, ... <= max_n (§4.4); with fewer patients than one cohort it has no column at all.
"""

from __future__ import annotations

import pytest

from cartrial.errors import CartrialError
from cartrial.escalation import Boin, ThreePlusThree, assemble_design, decision_table

from ..conftest import run_cartrial


@pytest.mark.parametrize("offset", [0.5, 0.9, 0.96])
def test_boin_refuses_an_extrasafe_offset_of_one_half_or_more(offset: float) -> None:
    """BOIN 2.7.2 refuses offset >= 0.5. Before, offset 0.9 made the extrasafe threshold 0.05, so a trial
    with 0/3 at level 1 (P(p_1 > 0.3) = 0.7^4 = 0.24) stopped "for toxicity" with no dose recommended."""
    with pytest.raises(CartrialError) as info:
        Boin(3, 0.3, extrasafe=True, offset=offset)
    assert "offset" in str(info.value)


def test_boin_refuses_an_extrasafe_threshold_at_or_below_zero() -> None:
    """cutoff_eliminate - offset is the extrasafe threshold on a probability: 0.04 - 0.05 < 0 would stop every
    trial at level 1 after its first cohort whatever its outcome."""
    with pytest.raises(CartrialError) as info:
        Boin(3, 0.3, extrasafe=True, cutoff_eliminate=0.04, offset=0.05)
    assert "offset" in str(info.value)


def test_boin_extrasafe_with_an_offset_below_one_half_still_stops_and_continues_as_before() -> None:
    """The default (cutoff 0.95, offset 0.05: threshold 0.90) and the largest offset allowed, 0.49 (threshold
    0.46): 0/3 continues (P(p_1 > 0.3 | 0/3) = 0.7^4 = 0.2401 by hand, below both); 3/3 stops
    (P(p_1 > 0.3 | 3/3) = 1 - 0.3^4 = 0.9919 by hand, above both)."""
    for offset in (0.05, 0.49):
        assert Boin(3, 0.3, extrasafe=True, offset=offset).fit("1NNN").continue_
        assert not Boin(3, 0.3, extrasafe=True, offset=offset).fit("1TTT").continue_
    assert Boin(3, 0.3, extrasafe=True).fit("1NNN").continue_


def test_cli_next_refuses_a_large_offset_at_its_flag() -> None:
    result = run_cartrial(
        "escalate", "next", "--design", "boin", "--target", "0.3", "--doses", "3",
        "--outcomes", "1NNN", "--extrasafe", "--offset", "0.9",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "error: --offset" in result.output


def test_decision_table_with_fewer_patients_than_one_cohort_is_refused() -> None:
    """n = 7, 14, ... <= 5 is empty: before, an empty table (no column, JSON rows []) was printed as if it
    were the design's table."""
    with pytest.raises(CartrialError) as info:
        decision_table(Boin(3, 0.3, cohort_size=7), 5)
    assert "max_n" in str(info.value)
    with pytest.raises(CartrialError):
        decision_table(ThreePlusThree(3), 2)
    assert [row.n for row in decision_table(Boin(3, 0.3, cohort_size=7), 7).rows] == [7]


def test_cli_table_with_fewer_patients_than_one_cohort_exits_2() -> None:
    result = run_cartrial(
        "escalate", "table", "--design", "boin", "--target", "0.3", "--cohort-size", "7", "--max-n", "5"
    )
    assert result.exit_code == 2, result.output
    assert "error: --max-n" in result.output


def test_assembled_boin_refuses_the_offset_too() -> None:
    with pytest.raises(CartrialError):
        assemble_design("boin", 3, {"target": 0.3, "extrasafe": True, "offset": 0.7})


@pytest.mark.parametrize(("phi1", "phi2"), [(0.29, None), (None, 0.32), (0.2999, 0.3001)])
def test_boin_refuses_phi1_or_phi2_within_a_tenth_of_the_target(
    phi1: float | None, phi2: float | None
) -> None:
    """BOIN 2.7.2 `get.oc` / `get.boundary`: "the probability deemed safe cannot be higher than or too close
    to the target" when target - p.saf < 0.1 target, and likewise for p.tox - target < 0.1 target (D-19.1115).
    Before, phi1 = 0.29 with target 0.3 built a design (lambda_e = 0.295) the reference refuses."""
    with pytest.raises(CartrialError) as info:
        Boin(3, 0.3, phi1=phi1, phi2=phi2)
    assert "phi" in str(info.value)


def test_boin_accepts_phi1_and_phi2_a_tenth_of_the_target_away() -> None:
    """The limits themselves are allowed (R refuses only a strictly smaller distance): 0.27 and 0.33."""
    boin = Boin(3, 0.3, phi1=0.27, phi2=0.33)
    # by hand (Liu & Yuan 2015 §2.2): lambda_e = ln(0.73/0.7) / ln(0.3 x 0.73 / (0.27 x 0.7)) = 0.28484,
    # lambda_d = ln(0.7/0.67) / ln(0.33 x 0.7 / (0.3 x 0.67)) = 0.31487
    assert boin.lambda_e == pytest.approx(0.28484, abs=5e-6)
    assert boin.lambda_d == pytest.approx(0.31487, abs=5e-6)
