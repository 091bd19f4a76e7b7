"""The exact (Clopper-Pearson) interval of a binomial proportion, declared once for every layer: the 3+3
per-dose estimate (`cartrial.escalation`), the simulation summaries (`cartrial.simulation.oc`) and the
analysis layer's `proportion` (`cartrial.analysis.stats`). A shared leaf: imports nothing from cartrial.

Source: Clopper & Pearson, Biometrika 1934;26:404 — the bounds are the beta quantiles
B(α/2; k, n - k + 1) and B(1 - α/2; k + 1, n - k), 0 at k = 0 and 1 at k = n.
"""

from __future__ import annotations

import math


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The two-sided exact interval (low, high), as fractions, of `k` events in `n` trials at `confidence`;
    (nan, nan) when n < 1 or k is not within 0 … n (no proportion).

    >>> [round(v, 4) for v in clopper_pearson(0, 30)], [round(v, 4) for v in clopper_pearson(1, 3)]
    ([0.0, 0.1157], [0.0084, 0.9057])
    """
    from scipy.stats import beta

    if n < 1 or not 0 <= k <= n:
        return math.nan, math.nan
    alpha = 1.0 - confidence
    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


__all__ = ["clopper_pearson"]
