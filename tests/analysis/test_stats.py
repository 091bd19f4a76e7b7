"""Exact binomial CIs and geometric summaries: published values and invariants."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cartrial.analysis import geometric_summary, proportion
from cartrial.errors import InputError


def test_clopper_pearson_matches_closed_forms_and_a_published_value() -> None:
    # k = n: lower bound (alpha/2)^(1/n); k = 0: upper bound 1 - (alpha/2)^(1/n) (Clopper & Pearson 1934)
    assert proportion(12, 12).ci_low_pct == pytest.approx(100 * 0.025 ** (1 / 12), abs=1e-3)
    assert proportion(0, 12).ci_high_pct == pytest.approx(100 * (1 - 0.025 ** (1 / 12)), abs=1e-3)
    # 4 of 8: R binom.test(4, 8)$conf.int = 0.1570128 0.8429872
    p = proportion(4, 8)
    assert (round(p.ci_low_pct, 1), round(p.ci_high_pct, 1)) == (15.7, 84.3)
    assert p.text() == "4 of 8 (50 %; 95 % CI 16-84 %)"
    with pytest.raises(InputError, match="k is more than n"):  # a CartrialError naming k (D-19.68)
        proportion(3, 2)


@given(st.integers(0, 200), st.integers(0, 200))
def test_the_interval_contains_the_estimate(k: int, extra: int) -> None:
    n = k + extra
    p = proportion(k, n)
    if n == 0:
        assert p.percent is None
    else:
        assert p.ci_low_pct is not None and p.ci_high_pct is not None and p.percent is not None
        assert 0 <= p.ci_low_pct <= p.percent <= p.ci_high_pct <= 100


def test_geometric_cv_of_a_known_lognormal_spread() -> None:
    values = [math.exp(x) for x in (-1.0, 0.0, 1.0)]  # ln SD = 1 -> CV = sqrt(e - 1)
    s = geometric_summary(values)
    assert s["geometric_mean"] == pytest.approx(1.0)
    assert s["geometric_cv_pct"] == pytest.approx(100 * math.sqrt(math.e - 1))


@given(
    st.lists(st.floats(1e-3, 1e6), min_size=1, max_size=30),
    st.floats(1e-2, 1e2),
)
def test_geometric_mean_is_between_min_and_max_and_scales(values: list[float], factor: float) -> None:
    s = geometric_summary(values)
    scaled = geometric_summary([v * factor for v in values])
    assert s["min"] is not None and s["max"] is not None and s["geometric_mean"] is not None
    assert s["min"] * (1 - 1e-9) <= s["geometric_mean"] <= s["max"] * (1 + 1e-9)
    assert scaled["geometric_mean"] == pytest.approx(s["geometric_mean"] * factor, rel=1e-9)
    if len(values) > 1:
        assert scaled["geometric_cv_pct"] == pytest.approx(s["geometric_cv_pct"], rel=1e-6, abs=1e-6)


@settings(deadline=None)  # pandas work per example; the shared machine is slow at times
@given(st.lists(st.tuples(st.integers(1, 4), st.booleans()), min_size=1, max_size=40))
def test_incidence_per_dose_level_adds_up_to_the_overall_row(subjects: list[tuple[int, bool]]) -> None:
    import pandas as pd

    from cartrial.analysis.summaries import incidence

    frame = pd.DataFrame(
        {
            "subject_id": [f"S{i:03d}" for i in range(len(subjects))],
            "dose_level": [level for level, _ in subjects],
            "event": [flag for _, flag in subjects],
        }
    )
    table = incidence(frame, ["event"], "safety")
    overall = table[table["group"] == "all"].iloc[0]
    levels = table[table["group"] != "all"]
    assert levels["k"].sum() == overall["k"] == sum(flag for _, flag in subjects)
    assert levels["n"].sum() == overall["n"] == len(subjects)
    assert len(overall["subjects"].split(";")) == overall["k"] or overall["k"] == 0
