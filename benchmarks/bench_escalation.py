"""Escalation benchmarks (decisions §5): BOIN operating characteristics and exact 3+3.

Scenario: BOIN, target 0.3, truth 0.05/0.15/0.30/0.45/0.60, 10 cohorts of 3, 10,000 trials, in-process,
vectorised across trials (target <= 0.05 s; R BOIN get.oc about 6.4 s on 2 cores). Also 100,000 trials to
show scaling, and exact 3+3 enumeration for 5 doses (target <= 5 ms). CRM live decision (decisions §12): one
`Crm.fit` on the dfcrm documentation example (decision, estimates, MTD), target <= 2 ms (dfcrm ~2 ms; the
scipy-quadrature path of cartrial 0.1.0 took ~95 ms).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from benchmarks.timing import best_seconds
from cartrial.escalation import Boin, Crm, ThreePlusThree, exact_three_plus_three, parse_outcomes, simulate

TRUTH = [0.05, 0.15, 0.30, 0.45, 0.60]


def run() -> list[dict[str, Any]]:
    design = Boin(5, 0.3)
    results: list[dict[str, Any]] = []
    for trials, target_s in ((10_000, 0.05), (100_000, None)):
        seconds = best_seconds(partial(simulate, design, TRUTH, cohorts=10, trials=trials, seed=6), repeat=5)
        oc = simulate(design, TRUTH, cohorts=10, trials=trials, seed=6)
        results.append(
            {
                "name": f"boin_oc_{trials}_trials",
                "value": seconds,
                "unit": "s",
                "target": "<= 0.05 s (decisions §5; R BOIN get.oc ~6.4 s)"
                if target_s
                else "scaling (no target)",
                "meets_target": seconds <= target_s if target_s else True,
                "trials": trials,
                "selection_pct": [round(v, 2) for v in oc.selection_pct],
                "speedup_vs_r_boin": round(6.4 / seconds, 1),
            }
        )
    for variant in ("deescalation", "escalation_only"):
        three = ThreePlusThree(5, variant=variant)
        seconds = best_seconds(partial(exact_three_plus_three, three, TRUTH), repeat=20, warmup=2)
        results.append(
            {
                "name": f"exact_3plus3_5_doses_{variant}",
                "value": seconds * 1000,
                "unit": "ms",
                "target": "<= 5 ms (decisions §5)",
                "meets_target": seconds <= 0.005,
            }
        )
    crm = Crm([0.05, 0.10, 0.20, 0.35, 0.50, 0.70], 0.2)
    history = parse_outcomes("3N 4N 4T 3N 3N 4T 3T 2N 2N 2N", 6)
    seconds = best_seconds(lambda: crm.fit(history).select_mtd(), repeat=50, warmup=3)
    results.append(
        {
            "name": "crm_live_decision",
            "value": seconds * 1000,
            "unit": "ms",
            "target": "<= 2 ms (decisions §12; dfcrm ~2 ms, cartrial 0.1.0 quadrature ~95 ms)",
            "meets_target": seconds <= 0.002,
        }
    )
    return results
