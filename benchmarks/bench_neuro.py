"""EDSS for 1,000,000 functional-system vectors (decisions §4 target: >= 1,000,000 EDSS per second)."""

from __future__ import annotations

import numpy as np

from benchmarks.timing import best_seconds
from cartrial.neuro.edss_scale import FS_MAX, FS_NAMES, EdssOptions, edss_array

N = 1_000_000
TARGET_PER_SECOND = 1_000_000


def run() -> list[dict]:
    rng = np.random.default_rng(20220320)
    fs = np.column_stack([rng.integers(0, FS_MAX[name] + 1, N, dtype=np.int8) for name in FS_NAMES])
    ambulation = rng.integers(0, 17, N, dtype=np.int8)
    options = EdssOptions()
    seconds = best_seconds(lambda: edss_array(fs, ambulation, options), repeat=5, warmup=1)
    rate = N / seconds
    return [
        {
            "name": "edss_array_1M",
            "value": rate,
            "unit": "EDSS/s",
            "target": ">= 1,000,000 EDSS/s (decisions §4)",
            "meets_target": rate >= TARGET_PER_SECOND,
            "n": N,
            "seconds": seconds,
        }
    ]
