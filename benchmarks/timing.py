"""Shared timing helper for the benchmark modules."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_seconds(function: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    """Best wall-clock time of `repeat` calls after `warmup` calls (the usual timeit convention)."""
    for _ in range(warmup):
        function()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best
