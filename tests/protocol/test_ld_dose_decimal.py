"""Lymphodepletion doses in decimal arithmetic on the numbers as written (D-19.1018, as D-19.1014 for cells).

`daily_dose_mg` multiplied mg/m²/day × BSA in binary: 25 × 1.12 was 28.000000000000004 (so a cap of exactly
28 mg "bound"), 30 × 1.015 was 30.449999999999996 and `protocol show` printed it with `:.1f` as 30.4 mg/day
(course 91.3) where the dose is 30.45 mg (course 91.35). Expected values by hand or by an integer oracle: a
dose of k/10 mg/m² on a BSA of n/1000 m² at p % is k × n × p / 10^6 mg exactly, and Python's int/int
division is correctly rounded, so it gives the float nearest that exact dose.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartrial.protocol import Lymphodepletion, LymphodepletionAgent, lymphodepletion_doses

from ..conftest import run_captured as run


def test_a_dose_equal_to_the_cap_does_not_bind() -> None:
    """25 mg/m² × 1.12 m² = 28 mg exactly (25 × 112 / 100); a cap of 28 mg is not exceeded."""
    agent = LymphodepletionAgent(name="x", dose_mg_per_m2_per_day=25, days=[-4], max_daily_dose_mg=28)
    (dose,) = lymphodepletion_doses(Lymphodepletion(agents=[agent]), bsa_m2=1.12).doses
    assert dose.cap_applied is False
    assert dose.dose_mg == 28.0
    assert dose.calculated_mg == 28.0


def test_fludarabine_at_1_015_m2_is_30_45_mg() -> None:
    """30 mg/m² × 1.015 m² = 30.45 mg (30 × 1015 / 1000); three days: 91.35 mg."""
    agent = LymphodepletionAgent(name="fludarabine", dose_mg_per_m2_per_day=30, days=[-4, -3, -2])
    plan = lymphodepletion_doses(Lymphodepletion(agents=[agent]), bsa_m2=1.015)
    assert [d.dose_mg for d in plan.doses] == [30.45, 30.45, 30.45]
    assert plan.total_mg("fludarabine") == 91.35


def test_protocol_show_prints_the_dose_computed(
    capsys: pytest.CaptureFixture[str], examples_dir: Path
) -> None:
    """The reference protocol's fludarabine 30 mg/m²/day at 1.015 m²: 30.45 mg a day, 91.35 mg a course
    (`:.1f` printed 30.4 and 91.3); cyclophosphamide 300 × 1.015 = 304.5 mg, 913.5 mg."""
    protocol = examples_dir / "ct103a-nmosd" / "protocol.yaml"
    code, out, _ = run(capsys, "protocol", "show", str(protocol), "--bsa", "1.015")
    assert code == 0
    row = next(line for line in out.splitlines() if "fludarabine" in line and "│" in line)
    cells = [cell.strip() for cell in row.split("│")]
    assert "30.45" in cells and "91.35" in cells
    assert "30.4" not in cells and "91.3" not in cells


@given(
    tenths=st.integers(min_value=1, max_value=30_000),  # 0.1 to 3000 mg/m²/day
    thousandths=st.integers(min_value=100, max_value=5_000),  # BSA 0.1 to 5 m², up to 3 decimals
    percent=st.sampled_from([100, 80, 75, 50, 33]),
    cap_tenths=st.integers(min_value=1, max_value=200_000),
)
def test_daily_dose_matches_the_integer_oracle(
    tenths: int, thousandths: int, percent: int, cap_tenths: int
) -> None:
    tiers = (
        [] if percent == 100 else [{"below_ml_min": 70, "includes_threshold": True, "dose_percent": percent}]
    )
    agent = LymphodepletionAgent(
        name="x",
        dose_mg_per_m2_per_day=tenths / 10,
        days=[-4],
        max_daily_dose_mg=cap_tenths / 10,
        renal_adjustment=tiers,
    )
    exact = tenths * thousandths * percent  # the dose in units of 10^-6 mg
    calculated, capped, final = agent.daily_dose_mg(thousandths / 1000, float(percent))
    assert calculated == exact / 10**6
    assert capped == (exact > cap_tenths * 10**5)
    assert final == (cap_tenths / 10 if capped else exact / 10**6)
    # the store's LD-DOSE-PROTOCOL check compares with the same doses (one rule)
    allowed = Lymphodepletion(agents=[agent]).allowed_daily_doses_mg(agent, thousandths / 1000)
    assert (cap_tenths / 10 if capped else exact / 10**6) in allowed
    assert agent.allowed_doses_mg_per_m2()[-1] == tenths * percent / 1000
