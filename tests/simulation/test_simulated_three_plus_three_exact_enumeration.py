"""`simulate trial`'s 3+3 against an exact enumeration written here, independently of the escalation engine
(docs/science/dose-escalation.md §3; as `bcrm::threep3`): three dose levels with fixed true DLT
probabilities, no expansion cohort, without dropout and then with it (below). Every cohort outcome (0-3 DLTs
among 3, binomial) is followed to the end of the trial by the rules of §3, for both variants:

- 0/3 or <= 1/6 at level d: escalate, unless d is the top level, d+1 has had >= 2 DLTs or already has 6
  patients: stop, MTD = d; 1/3: 3 more at d; >= 2 DLTs at d: d is exceeded —
- escalation only (A; Storer 1989): stop, MTD = d-1 (none at level 1);
- with de-escalation (B; Korn 1994): 3 more at d-1 if it has fewer than 6 patients, else stop with the
  highest level holding 6 patients with <= 1 DLT (none if there is no such level).

The enumeration gives each level's selection probability and the mean and variance of its number of
patients exactly; 3,000 simulated trials must agree within 4 Monte Carlo standard errors.

With dropout (exponential, hazard h per day) a patient is DLT-evaluable with a DLT seen (the fixed model's
DLT is on day 7: followed to day 7) or followed through the 28-day window without one, and the others are
replaced (`cartrial.protocol.dlt.dlt_evaluable`; Storer 1989), so an evaluable patient has a DLT with
probability p·e^(-7h) / (p·e^(-7h) + (1 - p)·e^(-28h)): the same enumeration at that probability. Each
place of an evaluable patient is filled after a geometric number G of treated patients (each evaluable
with probability e = p·e^(-7h) + (1 - p)·e^(-28h), whatever the others), so the patients treated at a
level, T = G_1 + … + G_N (N the evaluable patients there), have E[T] = E[N]/e and
Var T = E[N]·(1 - e)/e² + Var N/e² (Wald; D-19.1225): `mean_treated`; without dropout T = N."""

from __future__ import annotations

from collections.abc import Callable
from math import comb, exp, sqrt
from pathlib import Path

import pytest

from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare, simulate_trials, summarise

P = (0.1, 0.25, 0.45)
TRIALS = 3000
LEVELS = [
    {"level": i + 1, "label": f"level {i + 1}", "cells_per_kg": cells}
    for i, cells in enumerate((250_000, 500_000, 1_000_000))
]


def enumerate_three_plus_three(
    p: tuple[float, ...], variant: str
) -> tuple[list[float], float, list[float], list[float]]:
    """(P(MTD = level), P(no MTD), E[n at level], E[n² at level]) by exhaustive enumeration."""
    k = len(p)
    selected, none = [0.0] * k, [0.0]
    mean_n, mean_n2 = [0.0] * k, [0.0] * k

    def finish(mtd: int | None, n: list[int], prob: float) -> None:
        for level in range(k):
            mean_n[level] += prob * n[level]
            mean_n2[level] += prob * n[level] ** 2
        if mtd is None:
            none[0] += prob
        else:
            selected[mtd] += prob

    def cohort(d: int, n: list[int], y: list[int], exceeded: frozenset[int], prob: float) -> None:
        for dlts in range(4):
            weight = comb(3, dlts) * p[d] ** dlts * (1 - p[d]) ** (3 - dlts)
            n2, y2 = list(n), list(y)
            n2[d] += 3
            y2[d] += dlts
            decide(d, n2, y2, exceeded, prob * weight)

    def decide(d: int, n: list[int], y: list[int], exceeded: frozenset[int], prob: float) -> None:
        if (y[d] == 0 and n[d] == 3) or (y[d] <= 1 and n[d] == 6):
            if d == k - 1 or d + 1 in exceeded or n[d + 1] >= 6:
                return finish(d, n, prob)
            return cohort(d + 1, n, y, exceeded, prob)
        if y[d] == 1 and n[d] == 3:
            return cohort(d, n, y, exceeded, prob)
        exceeded = exceeded | {d}
        if variant == "escalation_only":
            return finish(d - 1 if d > 0 else None, n, prob)
        if d == 0:
            return finish(None, n, prob)
        if n[d - 1] < 6:
            return cohort(d - 1, n, y, exceeded, prob)
        six = [level for level in range(k) if n[level] == 6 and y[level] <= 1]
        return finish(max(six) if six else None, n, prob)

    cohort(0, [0] * k, [0] * k, frozenset(), 1.0)
    return selected, none[0], mean_n, mean_n2


def test_the_enumeration_reproduces_the_two_level_closed_form() -> None:
    # the closed form of test_simulated_three_plus_three_closed_form (Storer 1989; Korn et al. 1994)
    p, q = 0.3, 0.7
    escalate = q**3 + 3 * p * q**2 * q**3
    selected, _, mean_n, _ = enumerate_three_plus_three((p, 1.0), "escalation_only")
    assert selected[0] == pytest.approx(escalate)
    assert mean_n[1] == pytest.approx(3 * escalate)
    selected, _, _, _ = enumerate_three_plus_three((p, 1.0), "deescalation")
    assert selected[0] == pytest.approx(q**3 * (q**3 + 3 * p * q**2) + 3 * p * q**2 * q**3)


def evaluable_dlt_probability(p: float, hazard_per_year: float) -> float:
    """P(DLT | DLT-evaluable) under exponential dropout: DLT seen on day 7, window of 28 days."""
    h = hazard_per_year / 365.25
    return p * exp(-7 * h) / (p * exp(-7 * h) + (1 - p) * exp(-28 * h))


@pytest.mark.parametrize("hazard_per_year", [0.0, 5.0])
@pytest.mark.parametrize("variant", ["escalation_only", "deescalation"])
def test_three_level_three_plus_three_matches_the_exact_enumeration(
    make_scenario: Callable[..., Path], variant: str, hazard_per_year: float
) -> None:
    path = make_scenario(
        {
            "toxicity": {"fixed_dlt_probability": list(P)},
            "dropout": {"hazard_per_year": hazard_per_year},
            "design": {"overrides": {"variant": variant}},
            "pool_size": 100,
        },
        protocol_changes={"dose_levels": LEVELS, "expansion": None},
    )
    scenario, protocol_path = load_scenario(path)
    batch = simulate_trials(prepare(scenario, load_protocol(protocol_path), 1), TRIALS, seed=7)
    oc = summarise(batch)
    truth = tuple(evaluable_dlt_probability(p, hazard_per_year) for p in P)
    selected, none, mean_n, mean_n2 = enumerate_three_plus_three(truth, variant)
    assert sum(selected) + none == pytest.approx(1.0)
    for level in range(len(P)):
        se = sqrt(selected[level] * (1 - selected[level]) / TRIALS)
        assert oc.doses.loc[level, "selection_pct"] / 100 == pytest.approx(selected[level], abs=4 * se)
        se_n = sqrt((mean_n2[level] - mean_n[level] ** 2) / TRIALS)
        assert oc.doses.loc[level, "mean_n"] == pytest.approx(mean_n[level], abs=4 * se_n)
        h = hazard_per_year / 365.25
        e = P[level] * exp(-7 * h) + (1 - P[level]) * exp(-28 * h)
        var_n = mean_n2[level] - mean_n[level] ** 2
        se_t = sqrt((mean_n[level] * (1 - e) / e**2 + var_n / e**2) / TRIALS)
        assert oc.doses.loc[level, "mean_treated"] == pytest.approx(mean_n[level] / e, abs=4 * se_t)
        if hazard_per_year == 0.0:  # nobody replaced: every treated patient is DLT-evaluable
            assert oc.doses.loc[level, "mean_treated"] == oc.doses.loc[level, "mean_n"]
    se_none = sqrt(none * (1 - none) / TRIALS)
    assert oc.summary["no_mtd_pct"] / 100 == pytest.approx(none, abs=4 * se_none)
