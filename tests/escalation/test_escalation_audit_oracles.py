"""Independent oracles for the escalation engine, written from docs/science/dose-escalation.md alone.

Each oracle re-states a rule of the reference text in the simplest possible form (patient-level
enumeration, a plain loop) and the engine must agree with it exactly:

- §3: exact 3+3 operating characteristics (both variants, ``require_six_at_top``) against a brute-force
  enumeration of every cohort outcome following the §3 sketch;
- §4.1/§4.2/§4.3: BOIN boundary rows for target 0.25 (lambda_e = 0.1968, lambda_d = 0.2984) and every
  next-dose decision along random trial paths against a loop that applies §4.2-§4.3 literally
  (escalate if y <= floor(lambda_e n), de-escalate if y/n > lambda_d capped at the elimination count,
  eliminate d and above when n >= 3 and P(p > phi | Beta(y + 1, n - y + 1)) > 0.95);
- §4.5: the `select.mtd` documentation example.
"""

from __future__ import annotations

import math
from math import comb

import numpy as np
import pytest
from scipy import stats

from cartrial.escalation import Boin, ThreePlusThree
from cartrial.escalation.isotonic import isotonic_mtd_batch
from cartrial.escalation.simulation import exact_three_plus_three


def _brute_force_three_plus_three(
    p: list[float], variant: str, six_at_top: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Selection probabilities (levels 1..K, then 'no MTD') and mean patients per level, by enumerating
    0-3 DLTs in every cohort of 3 (dose-escalation.md §3 sketch)."""
    k = len(p)
    selection = np.zeros(k + 1)
    mean_n = np.zeros(k)

    def end(prob: float, mtd: int | None, n: list[int]) -> None:
        selection[k if mtd is None else mtd] += prob
        mean_n[:] += prob * np.array(n)

    def treat(prob: float, d: int, n: list[int], y: list[int], exceeded: list[bool]) -> None:
        for x in range(4):
            branch = comb(3, x) * p[d] ** x * (1 - p[d]) ** (3 - x)
            if branch > 0:
                n2, y2 = list(n), list(y)
                n2[d] += 3
                y2[d] += x
                decide(prob * branch, d, n2, y2, list(exceeded))

    def decide(prob: float, d: int, n: list[int], y: list[int], exceeded: list[bool]) -> None:
        if (y[d] == 0 and n[d] == 3) or (y[d] <= 1 and n[d] == 6):
            if d == k - 1 and six_at_top and n[d] < 6:
                treat(prob, d, n, y, exceeded)
            elif d == k - 1 or exceeded[d + 1] or n[d + 1] >= 6:
                end(prob, d, n)
            else:
                treat(prob, d + 1, n, y, exceeded)
        elif y[d] == 1 and n[d] == 3:
            treat(prob, d, n, y, exceeded)
        else:
            exceeded[d] = True
            if variant == "escalation_only":
                end(prob, d - 1 if d > 0 else None, n)
            elif d == 0:
                end(prob, None, n)
            elif n[d - 1] < 6:
                treat(prob, d - 1, n, y, exceeded)
            else:
                korn = [i for i in range(k) if n[i] == 6 and y[i] <= 1]
                end(prob, max(korn) if korn else None, n)

    treat(1.0, 0, [0] * k, [0] * k, [False] * k)
    return selection, mean_n


@pytest.mark.parametrize("variant", ["escalation_only", "deescalation"])
@pytest.mark.parametrize("six_at_top", [False, True])
def test_exact_three_plus_three_equals_brute_force(variant: str, six_at_top: bool) -> None:
    rng = np.random.default_rng(20261204)
    for _ in range(25):
        k = int(rng.integers(1, 6))
        truth = [float(v) for v in np.sort(rng.uniform(0.0, 0.8, k))]
        selection, mean_n = _brute_force_three_plus_three(truth, variant, six_at_top)
        oc = exact_three_plus_three(
            ThreePlusThree(k, variant=variant, require_six_at_top=six_at_top),  # type: ignore[arg-type]
            truth,
        )
        engine = np.array([*oc.selection_pct, oc.no_mtd_pct]) / 100
        assert engine == pytest.approx(selection, abs=1e-12)
        assert np.array(oc.mean_n) == pytest.approx(mean_n, abs=1e-12)


def test_boin_boundary_rows_target_025() -> None:
    """§4.1 boundaries for phi = 0.25 applied with the §4.2-§4.3 rules (n = 1..12)."""
    design = Boin(5, 0.25)
    rows = [design.boundary_row(n) for n in range(1, 13)]
    assert [r["escalate_max"] for r in rows] == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2]
    assert [r["deescalate_min"] for r in rows] == [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4]
    assert [r["eliminate_min"] for r in rows] == [None, None, 3, 3, 3, 4, 4, 4, 5, 5, 6, 6]


def _boin_path_oracle(
    target: float, truth: list[float], cohorts: int, rng: np.random.Generator
) -> list[tuple[str, int | None]]:
    """(outcome string so far, next 1-based level or None when the trial stops) after every cohort."""
    phi1, phi2 = 0.6 * target, 1.4 * target
    lam_e = math.log((1 - phi1) / (1 - target)) / math.log(target * (1 - phi1) / (phi1 * (1 - target)))
    lam_d = math.log((1 - target) / (1 - phi2)) / math.log(phi2 * (1 - target) / (target * (1 - phi2)))
    k = len(truth)
    n, y, eliminated = [0] * k, [0] * k, [False] * k
    d = 0
    blocks: list[str] = []
    path: list[tuple[str, int | None]] = []
    for _ in range(cohorts):
        letters = "".join("T" if rng.random() < truth[d] else "N" for _ in range(3))
        blocks.append(f"{d + 1}{letters}")
        n[d] += 3
        y[d] += letters.count("T")
        if n[d] >= 3 and stats.beta.sf(target, y[d] + 1, n[d] - y[d] + 1) > 0.95:
            for j in range(d, k):
                eliminated[j] = True
        if eliminated[0]:
            path.append((" ".join(blocks), None))
            break
        if y[d] <= math.floor(lam_e * n[d] + 1e-12) and d < k - 1 and not eliminated[d + 1]:
            d += 1
        elif (y[d] / n[d] > lam_d or eliminated[d]) and d > 0:
            d -= 1
        path.append((" ".join(blocks), d + 1))
    return path


@pytest.mark.parametrize("target", [0.25, 0.3])
def test_boin_next_dose_follows_the_rules_along_random_paths(target: float) -> None:
    rng = np.random.default_rng(7)
    design = Boin(5, target)
    for truth in ([0.05, 0.15, 0.3, 0.45, 0.6], [0.3, 0.45, 0.55, 0.6, 0.7], [0.02, 0.05, 0.1, 0.2, 0.5]):
        for _ in range(6):
            for history, expected in _boin_path_oracle(target, truth, 10, rng):
                assert design.fit(history).next_dose == expected, history


def test_select_mtd_documentation_example() -> None:
    """§4.5: select.mtd(target = 0.3, npts = c(3, 3, 15, 9, 0), ntox = c(0, 0, 4, 4, 0)) -> level 3."""
    mtd, iso = isotonic_mtd_batch(
        np.array([3, 3, 15, 9, 0]), np.array([0, 0, 4, 4, 0]), np.zeros(5, dtype=bool), 0.3
    )
    assert int(mtd[0]) == 2
    assert np.round(iso[0, :4], 2).tolist() == [0.02, 0.02, 0.27, 0.45]
