"""Benchmark of decisions §3: grade 1,000,000 CRS assessments with the vectorised ASTCT 2019 grader.

Target (decisions §3): ≥ 1,000,000 assessments/s. Inputs are random but valid (nasal cannula always has a
flow;
vasopressors only with hypotension). The first entry times the grades; the second adds the rule texts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.timing import best_seconds
from cartrial.grading import OXYGEN_DEVICES, CrsOptions, grade_crs_arrays

N_ASSESSMENTS = 1_000_000
TARGET_PER_SECOND = 1_000_000.0


def _inputs(n: int, seed: int = 3) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    hypotension = rng.random(n) < 0.2
    return {
        "temperature_c": rng.normal(37.8, 0.9, n),
        "fever_masked": rng.random(n) < 0.3,
        "hypotension": hypotension,
        "vasopressors": np.where(hypotension, rng.integers(0, 3, n), 0),
        "vasopressin": hypotension & (rng.random(n) < 0.1),
        "oxygen_code": rng.integers(0, len(OXYGEN_DEVICES), n).astype(np.int8),
        "oxygen_l_min": rng.uniform(0.5, 15.0, n),
        "death_due_to_crs": rng.random(n) < 0.0005,
        "fever_other_cause": rng.random(n) < 0.02,
    }


def run() -> list[dict[str, Any]]:
    inputs = _inputs(N_ASSESSMENTS)
    options = CrsOptions()
    grades_only = best_seconds(lambda: grade_crs_arrays(options=options, **inputs), repeat=5, warmup=1)
    with_texts = best_seconds(
        lambda: grade_crs_arrays(options=options, **inputs).rule_texts(), repeat=3, warmup=1
    )
    results = []
    for name, seconds in (
        ("crs_astct_grades_vectorised", grades_only),
        ("crs_astct_grades_and_rule_texts_vectorised", with_texts),
    ):
        rate = N_ASSESSMENTS / seconds
        results.append(
            {
                "name": name,
                "value": rate,
                "unit": "assessments/s",
                "target": "≥ 1,000,000 CRS assessments/s graded vectorised (decisions §3)",
                "meets_target": rate >= TARGET_PER_SECOND,
                "n_assessments": N_ASSESSMENTS,
                "seconds": seconds,
            }
        )
    return results
