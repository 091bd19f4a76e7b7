"""Exact 3+3 operating characteristics against closed-form formulas (Lin & Shih, Biostatistics
2001;2:203-215, the A+B designs with A = B = 3), for K = 3..6 levels and any dose-toxicity curve.

Per level j with DLT probability p: a = P(0/3) = (1-p)^3, b = P(1/3 then 0/3) = 3p(1-p)^2 (1-p)^3,
alpha = a + b (the level is cleared), c = P(<= 1 DLT in 3 more) = (1-p)^3 + 3p(1-p)^2.

Escalation only (Lin & Shih's traditional A+B without de-escalation; docs/science/dose-escalation.md §3
variant A): P(MTD = i) = prod_{j<=i} alpha_j (1 - alpha_{i+1}) for i < K, prod_{j<=K} alpha_j for i = K.
Expected patients at level j: prod_{l<j} alpha_l (3 + 3 x 3p(1-p)^2).

With de-escalation (their A+B with dose de-escalation; variant B): the trial that exceeds level k comes down
through levels i+1..k-1 that had 0/3 and then >= 2 in 3 more, and stops at i cleared with 6 (b_i) or with
0/3 and then <= 1 in 3 more (a_i c_i): P(MTD = i) = prod_{j<i} alpha_j (b_i + a_i c_i)
sum_{k>i} prod_{i<j<k} a_j (1 - c_j) (1 - alpha_k), and prod alpha_j for i = K.
Expected values are written by hand from these formulas, not from the engine."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.escalation import ThreePlusThree
from cartrial.escalation.simulation import exact_three_plus_three


def _parts(p: float) -> tuple[float, float, float, float]:
    a = (1 - p) ** 3
    b = 3 * p * (1 - p) ** 2 * (1 - p) ** 3
    c = (1 - p) ** 3 + 3 * p * (1 - p) ** 2
    return a, b, a + b, c


def lin_shih_escalation_only(truth: list[float]) -> tuple[list[float], list[float]]:
    k = len(truth)
    parts = [_parts(p) for p in truth]
    select = []
    for i in range(k):
        cleared = math.prod(parts[j][2] for j in range(i + 1))
        select.append(cleared * (1 - parts[i + 1][2]) if i + 1 < k else cleared)
    mean_n = [
        math.prod(parts[j][2] for j in range(i)) * (3 + 3 * 3 * p * (1 - p) ** 2) for i, p in enumerate(truth)
    ]
    return select, mean_n


def lin_shih_deescalation(truth: list[float]) -> list[float]:
    k = len(truth)
    parts = [_parts(p) for p in truth]
    select = []
    for i in range(k):
        reach = math.prod(parts[j][2] for j in range(i))
        if i == k - 1:
            select.append(reach * parts[i][2])
            continue
        a, b, _, c = parts[i]
        down = sum(
            math.prod(parts[j][0] * (1 - parts[j][3]) for j in range(i + 1, top)) * (1 - parts[top][2])
            for top in range(i + 1, k)
        )
        select.append(reach * (b + a * c) * down)
    return select


CURVES = [
    [0.05, 0.1, 0.2, 0.35],
    [0.1, 0.25, 0.4],
    [0.02, 0.05, 0.08, 0.12, 0.3, 0.5],
    [0.3, 0.3, 0.3, 0.3, 0.3],
]


@pytest.mark.parametrize("truth", CURVES)
def test_escalation_only_equals_lin_shih(truth: list[float]) -> None:
    oc = exact_three_plus_three(ThreePlusThree(len(truth), variant="escalation_only"), truth)
    select, mean_n = lin_shih_escalation_only(truth)
    assert [v / 100 for v in oc.selection_pct] == pytest.approx(select, abs=1e-12)
    assert oc.no_mtd_pct / 100 == pytest.approx(1 - _parts(truth[0])[2], abs=1e-12)
    assert list(oc.mean_n) == pytest.approx(mean_n, abs=1e-12)


@pytest.mark.parametrize("truth", CURVES)
def test_deescalation_equals_lin_shih(truth: list[float]) -> None:
    oc = exact_three_plus_three(ThreePlusThree(len(truth), variant="deescalation"), truth)
    select = lin_shih_deescalation(truth)
    assert [v / 100 for v in oc.selection_pct] == pytest.approx(select, abs=1e-12)
    assert oc.no_mtd_pct / 100 == pytest.approx(1 - sum(select), abs=1e-12)


@settings(max_examples=property_examples(60), deadline=None)
@given(
    st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=3, max_size=6).map(sorted),
    st.sampled_from(["escalation_only", "deescalation"]),
)
def test_any_curve_equals_lin_shih(truth: list[float], variant: str) -> None:
    oc = exact_three_plus_three(ThreePlusThree(len(truth), variant=variant), truth)
    select = (
        lin_shih_escalation_only(truth)[0] if variant == "escalation_only" else lin_shih_deescalation(truth)
    )
    assert [v / 100 for v in oc.selection_pct] == pytest.approx(select, abs=1e-9)
