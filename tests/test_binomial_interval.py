"""The exact (Clopper-Pearson) interval is declared once (`cartrial.binomial`, decisions D-19.396): the
3+3 per-dose estimate, the simulation summaries and the analysis layer's `proportion` all give it, and it
equals the beta quantiles of Clopper & Pearson (computed here with scipy directly)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import beta

from cartrial.analysis.stats import proportion
from cartrial.escalation import ThreePlusThree
from cartrial.simulation.oc import exact_interval_pct

SRC = Path(__file__).resolve().parents[1] / "src" / "cartrial"


def _expected(k: int, n: int) -> tuple[float, float]:
    low = 0.0 if k == 0 else beta.ppf(0.025, k, n - k + 1)
    high = 1.0 if k == n else beta.ppf(0.975, k + 1, n - k)
    return float(low), float(high)


@given(st.integers(1, 400).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_every_layer_gives_the_clopper_pearson_interval(kn: tuple[int, int]) -> None:
    k, n = kn
    low, high = _expected(k, n)
    assert exact_interval_pct(k, n) == pytest.approx((100 * low, 100 * high), abs=1e-9)
    p = proportion(k, n)
    assert (p.ci_low_pct, p.ci_high_pct) == pytest.approx((100 * low, 100 * high), abs=1e-4)


def test_three_plus_three_estimate_is_clopper_pearson() -> None:
    fit = ThreePlusThree(3).fit("1NNN 2NTN")
    for est in fit.estimates[:2]:
        assert (est.lower, est.upper) == pytest.approx(_expected(est.dlt, est.n), abs=1e-12)


def test_no_second_implementation() -> None:
    """No module but `cartrial.binomial` computes the interval itself (a beta quantile at 0.025/0.975 or
    scipy's binomtest interval)."""
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.name == "binomial.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in {"binomtest", "proportion_ci"}:
                offenders.append(str(path))
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "ppf":
                args = [a.value for a in node.args[:1] if isinstance(a, ast.Constant)]
                if args and args[0] in (0.025, 0.975):
                    offenders.append(str(path))
    assert offenders == []
