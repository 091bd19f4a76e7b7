"""Isotonic (pool-adjacent-violators) estimation and the final MTD selection of interval designs.

Source: R package `BOIN` 2.7.2, `select.mtd` (docs/science/dose-escalation.md §4.5): drop eliminated and
untreated levels; raw estimate (y + 0.05)/(n + 0.1) with variance (y + 0.05)(n - y + 0.05) /
((n + 0.1)^2 (n + 1.1)); PAVA with weights 1/var; add i x 1e-10 to level i; MTD = argmin |p - target|
(first minimum); with `bound_mtd`, only levels whose tie-broken estimate is <= lambda_d qualify
(none: no MTD).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cartrial.errors import InputError, Problem

TIE_BREAK = 1e-10


def pava(values: Sequence[float], weights: Sequence[float]) -> np.ndarray:
    """Weighted non-decreasing isotonic regression by pool-adjacent-violators (docs/science/dose-escalation.md
    §4.5).

    >>> pava([0.1, 0.3, 0.2], [1, 1, 1]).tolist()
    [0.1, 0.25, 0.25]

    `values` and `weights` have one entry each per level; a value that is not finite, a weight that is not
    a finite number > 0, or lengths that differ are an `InputError` naming the argument (D-19.79).
    """
    try:
        v = np.asarray(values, dtype=float)
        w = np.asarray(weights, dtype=float)
    except (TypeError, ValueError):
        raise InputError(Problem("not a sequence of numbers", field="values / weights")) from None
    if v.ndim != 1 or w.shape != v.shape:
        raise InputError(
            Problem(
                f"values and weights differ in length or shape ({v.shape} and {w.shape})",
                field="weights",
                allowed="one weight per value",
            )
        )
    for name, array, positive in (("values", v, False), ("weights", w, True)):
        bad = ~np.isfinite(array) | ((array <= 0) if positive else False)
        if bad.any():
            raise InputError(
                Problem(
                    "not a finite number" + (" > 0" if positive else ""),
                    field=name,
                    value=array[np.flatnonzero(bad)[0]],
                    allowed="finite numbers" + (" > 0" if positive else ""),
                )
            )
    blocks: list[list[float]] = []  # [mean, weight, size]
    for value, weight in zip(v.tolist(), w.tolist(), strict=True):
        blocks.append([float(value), float(weight), 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, s2 = blocks.pop()
            m1, w1, s1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, s1 + s2])
    return np.array([b[0] for b in blocks for _ in range(int(b[2]))])


def boin_raw_estimates(n: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BOIN `select.mtd` raw estimate (y + 0.05)/(n + 0.1) and its variance (docs/science/dose-escalation.md
    §4.5)."""
    n = np.asarray(n, dtype=float)
    y = np.asarray(y, dtype=float)
    p_hat = (y + 0.05) / (n + 0.1)
    var = (y + 0.05) * (n - y + 0.05) / ((n + 0.1) ** 2 * (n + 1.1))
    return p_hat, var


def isotonic_batch(values: np.ndarray, weights: np.ndarray, include: np.ndarray) -> np.ndarray:
    """Weighted isotonic regression for a batch (T, K), over the `include`d levels only (others NaN).

    Uses the max-min formula iso_i = max_{s<=i} min_{t>=i} Av(s, t) (Barlow et al. 1972, Theorem 1.4),
    which equals PAVA and vectorises across trials; excluded levels carry weight 0.
    """
    w = np.where(include, weights, 0.0)
    wv = w * np.where(include, values, 0.0)
    trials, k = values.shape
    # dose-major layout (K + 1, T): each level's column is contiguous, which is what the loops read
    cw = np.zeros((k + 1, trials))
    cwv = np.zeros((k + 1, trials))
    np.cumsum(w.T, axis=0, out=cw[1:])
    np.cumsum(wv.T, axis=0, out=cwv[1:])
    result = np.full((k, trials), -np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        for s in range(k):
            # running minimum over t >= i of Av(s, t), for i = k-1 down to s
            running = np.full(trials, np.inf)
            for i in range(k - 1, s - 1, -1):
                running = np.fmin(running, (cwv[i + 1] - cwv[s]) / (cw[i + 1] - cw[s]))
                np.fmax(result[i], running, out=result[i])
    return np.where(include, result.T, np.nan)


def isotonic_mtd_batch(
    n: np.ndarray,
    y: np.ndarray,
    eliminated: np.ndarray,
    target: float,
    *,
    bound_mtd_at: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """BOIN `select.mtd` (2.7.2) for a batch: 0-based MTD per trial (-1 = none) and isotonic estimates.

    Levels that are eliminated, or above an eliminated level, or untreated are excluded. No MTD when level 1
    is eliminated or nothing was treated. `bound_mtd_at` (BOIN ``boundMTD = TRUE``: lambda_d) keeps only
    levels whose estimate is <= that value (none qualify: no MTD [U]).
    """
    n = np.atleast_2d(n)
    y = np.atleast_2d(y)
    eliminated = np.atleast_2d(eliminated)
    blocked = np.logical_or.accumulate(eliminated, axis=1)
    include = (n > 0) & ~blocked
    p_hat, var = boin_raw_estimates(n, y)
    with np.errstate(divide="ignore"):
        weights = np.where(include, 1.0 / var, 0.0)
    iso = isotonic_batch(p_hat, weights, include)
    rank = np.cumsum(include, axis=1)  # i = 1, 2, ... over the kept levels
    broken = iso + rank * TIE_BREAK
    distance = np.abs(broken - target)
    usable = include.copy()
    if bound_mtd_at is not None:
        usable &= broken <= bound_mtd_at  # BOIN 2.7.2 filters the tie-broken estimates
    distance = np.where(usable, distance, np.inf)
    mtd = np.argmin(distance, axis=1)
    none = ~usable.any(axis=1) | eliminated[:, 0]
    return np.where(none, -1, mtd), iso


__all__ = ["TIE_BREAK", "boin_raw_estimates", "isotonic_batch", "isotonic_mtd_batch", "pava"]
