"""BOIN Monte Carlo against an independent, patient-by-patient reading of BOIN 2.7.2 `get.oc` + `select.mtd`
(``dose-escalation.md`` 4.2-4.5), fed the same uniforms: the vectorised simulator must agree exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from cartrial.escalation import Boin, StopWhenNAtDose, simulate, with_behaviours


def _boundaries(target: float, n_max: int) -> tuple[dict[int, int], dict[int, int], dict[int, int | None]]:
    """Section 4.1-4.3: escalate if y <= floor(lambda_e n); de-escalate if y/n > lambda_d (strict), capped at
    the elimination count; eliminate if n >= 3 and 1 - pbeta(target, y + 1, n - y + 1) > 0.95."""
    phi1, phi2 = 0.6 * target, 1.4 * target
    lam_e = math.log((1 - phi1) / (1 - target)) / math.log(target * (1 - phi1) / (phi1 * (1 - target)))
    lam_d = math.log((1 - target) / (1 - phi2)) / math.log(phi2 * (1 - target) / (target * (1 - phi2)))
    esc, de, elim = {}, {}, {}
    for n in range(1, n_max + 1):
        esc[n] = math.floor(lam_e * n)
        de[n] = min(y for y in range(n + 2) if y / n > lam_d)
        hits = [y for y in range(n + 1) if n >= 3 and stats.beta.sf(target, y + 1, n - y + 1) > 0.95]
        elim[n] = hits[0] if hits else None
        if elim[n] is not None:
            de[n] = min(de[n], elim[n])
    return esc, de, elim


def _select_mtd(target: float, n: list[int], y: list[int], extrasafe: bool) -> int | None:
    """Section 4.5 select.mtd: elimination recomputed from the final data, (y+.05)/(n+.1), PAVA with 1/var
    weights, + i * 1e-10, closest to the target (first on ties)."""
    k = len(n)
    out = [False] * k
    for i in range(k):
        if n[i] >= 3 and stats.beta.sf(target, y[i] + 1, n[i] - y[i] + 1) > 0.95:
            out[i:] = [True] * (k - i)
            break
    if extrasafe and n[0] >= 3 and stats.beta.sf(target, y[0] + 1, n[0] - y[0] + 1) > 0.90:
        out = [True] * k
    if out[0] or all(n[i] == 0 for i in range(k) if not out[i]):
        return None
    kept = [i for i in range(k) if n[i] > 0 and not out[i]]
    blocks: list[list[float]] = []
    for i in kept:
        est = (y[i] + 0.05) / (n[i] + 0.1)
        var = (y[i] + 0.05) * (n[i] - y[i] + 0.05) / ((n[i] + 0.1) ** 2 * (n[i] + 1.1))
        blocks.append([est, 1 / var, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, s2 = blocks.pop()
            m1, w1, s1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, s1 + s2])
    iso = [b[0] for b in blocks for _ in range(int(b[2]))]
    distance = [abs(v + (j + 1) * 1e-10 - target) for j, v in enumerate(iso)]
    return kept[distance.index(min(distance))]


def _get_oc(target: float, truth: list[float], ncohort: int, size: int, trials: int, seed: int,
            n_earlystop: int, extrasafe: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """One trial at a time as `get.oc` 2.7.2 runs it: the last cohort is truncated to the total and ends
    the loop; elimination (and extrasafe at level 1) after each cohort; n.earlystop only when the decision
    would keep the dose; escalation into an eliminated level stays."""
    k, total = len(truth), ncohort * size
    esc, de, elim = _boundaries(target, total)
    rng = np.random.default_rng(seed)
    uniforms = [rng.random((trials, size)) for _ in range(ncohort)]
    selected = np.zeros(k + 1)
    mean_n, mean_y = np.zeros(k), np.zeros(k)
    for t in range(trials):
        n, y, d, out, early = [0] * k, [0] * k, 0, [False] * k, False
        for c in range(ncohort):
            dlts = [bool(u < truth[d]) for u in uniforms[c][t]]
            if sum(n) + size >= total:
                rest = total - sum(n)
                n[d], y[d] = n[d] + rest, y[d] + sum(dlts[:rest])
                break
            n[d], y[d] = n[d] + size, y[d] + sum(dlts)
            if elim[n[d]] is not None:
                if y[d] >= elim[n[d]]:
                    out[d:] = [True] * (k - d)
                    if d == 0:
                        early = True
                        break
                if extrasafe and d == 0 and stats.beta.sf(target, y[0] + 1, n[0] - y[0] + 1) > 0.90:
                    early = True
                    break
            keeps = (
                esc[n[d]] < y[d] < de[n[d]]
                or (d == 0 and y[d] >= de[n[d]])
                or ((d == k - 1 or out[d + 1]) and y[d] <= esc[n[d]])
            )
            if n[d] >= n_earlystop and keeps:
                break
            if y[d] <= esc[n[d]] and d != k - 1:
                d += 0 if out[d + 1] else 1
            elif y[d] >= de[n[d]] and d != 0:
                d -= 1
        mtd = None if early else _select_mtd(target, n, y, extrasafe)
        selected[k if mtd is None else mtd] += 1
        mean_n += n
        mean_y += y
    return selected / trials * 100, mean_n / trials, mean_y / trials


@pytest.mark.parametrize(
    ("truth", "n_earlystop", "extrasafe"),
    [
        ([0.05, 0.15, 0.30, 0.45, 0.60], 100, False),
        ([0.05, 0.15, 0.30, 0.45, 0.60], 12, False),
        ([0.30, 0.40, 0.50, 0.60, 0.70], 100, True),
        ([0.25, 0.35, 0.50, 0.60, 0.70], 9, True),
    ],
)
def test_vectorised_boin_equals_get_oc_trial_by_trial(
    truth: list[float], n_earlystop: int, extrasafe: bool
) -> None:
    """Same uniforms in, same selection %, mean n and mean DLT per level out (exact equality), for the
    standard scenario, n.earlystop (requires_stay, section 4.3), extrasafe and a toxic scenario."""
    trials = 400
    expected_sel, expected_n, expected_y = _get_oc(0.3, truth, 10, 3, trials, 6, n_earlystop, extrasafe)
    design = Boin(5, 0.3, extrasafe=extrasafe)
    if n_earlystop < 100:
        design = with_behaviours(design, StopWhenNAtDose(n_earlystop, requires_stay=True))  # type: ignore[assignment]
    oc = simulate(design, truth, cohorts=10, trials=trials, seed=6)
    assert np.allclose([*oc.selection_pct, oc.no_mtd_pct], expected_sel, atol=1e-9)
    assert np.allclose(oc.mean_n, expected_n, atol=1e-9)
    assert np.allclose(oc.mean_dlt, expected_y, atol=1e-9)
