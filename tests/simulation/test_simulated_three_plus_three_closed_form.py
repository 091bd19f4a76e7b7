"""`simulate trial`'s 3+3 against its closed form (Storer 1989; Korn et al. 1994): two levels, the first
with true DLT probability p, the second always toxic (p = 1), no dropout. With q = 1 - p:

- P(escalate from level 1) = q³ + 3pq²·q³ (0/3, or 1/3 then 0/3), so level 2 treats 3 patients with that
  probability and no others: E[n at level 2] = 3·(q³ + 3pq²·q³);
- escalation only (Storer): the MTD is level 1 whenever the trial left it, P = q³ + 3pq²·q³;
- with de-escalation (Korn): after level 2 fails, level 1 needs 6 patients with ≤ 1 DLT, so from 0/3 the
  next 3 must have ≤ 1 DLT: P = q³·(q³ + 3pq²) + 3pq²·q³.

At p = 0.3: 0.4943 (escalation, Storer MTD), 0.4202 (Korn MTD). 2,000 trials: Monte Carlo SE ≈ 1.1 %;
the tolerance is 4 SEs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare, simulate_trials, summarise

P = 0.3
Q = 1 - P
ESCALATE = Q**3 + 3 * P * Q**2 * Q**3
MTD_1 = {"escalation_only": ESCALATE, "deescalation": Q**3 * (Q**3 + 3 * P * Q**2) + 3 * P * Q**2 * Q**3}
TRIALS = 2000


@pytest.mark.parametrize("variant", sorted(MTD_1))
def test_three_plus_three_selection_and_allocation_match_the_closed_form(
    make_scenario: Callable[..., Path], variant: str
) -> None:
    path = make_scenario(
        {
            "toxicity": {"fixed_dlt_probability": [P, 1.0]},
            "dropout": {"hazard_per_year": 0.0},
            "design": {"overrides": {"variant": variant}},
            "pool_size": 100,
        }
    )
    scenario, protocol_path = load_scenario(path)
    batch = simulate_trials(prepare(scenario, load_protocol(protocol_path), 1), TRIALS, seed=5)
    doses = summarise(batch).doses
    expected = MTD_1[variant]
    se = np.sqrt(expected * (1 - expected) / TRIALS)
    assert doses.loc[0, "selection_pct"] / 100 == pytest.approx(expected, abs=4 * se)
    assert doses.loc[1, "selection_pct"] == 0.0  # always toxic: never the MTD
    # level 2: 3 patients exactly when the trial escalated (the expansion follows level 1, the MTD)
    se_n = 3 * np.sqrt(ESCALATE * (1 - ESCALATE) / TRIALS)
    assert doses.loc[1, "mean_n"] == pytest.approx(3 * ESCALATE, abs=4 * se_n)
    assert doses.loc[1, "mean_dlt"] == pytest.approx(doses.loc[1, "mean_n"])  # p = 1 there
