"""Invariants of the demographics summary statistics (`continuous_summary`, `category_counts`,
`demographics_table`): hypothesis properties and small hand-computed cases."""

from __future__ import annotations

import math
import statistics

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cartrial.analysis.demographics import Characteristic, demographics_table
from cartrial.analysis.stats import category_counts, continuous_summary

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
maybe = st.one_of(st.none(), finite, st.just(math.nan))


def test_hand_computed_summary() -> None:
    s = continuous_summary([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0])
    # mean 5; sample variance 32/7
    assert (s.n, s.mean, s.median, s.minimum, s.maximum) == (8, 5.0, 4.5, 2.0, 9.0)
    assert s.sd == pytest.approx(math.sqrt(32 / 7))
    assert continuous_summary([3.0]).sd is None
    empty = continuous_summary([None, math.nan])
    assert (empty.n, empty.n_missing, empty.mean) == (0, 2, None)


@settings(deadline=None)  # pandas work per example; no timing assertions (shared machine)
@given(st.lists(maybe, max_size=60))
def test_continuous_summary_invariants(values: list[float | None]) -> None:
    s = continuous_summary(values)
    present = [v for v in values if v is not None and not math.isnan(v)]
    assert s.n == len(present) and s.n + s.n_missing == len(values)
    if not present:
        assert s.mean is None and s.median is None and s.sd is None
        return
    assert s.minimum is not None and s.maximum is not None and s.mean is not None and s.median is not None
    tol = 1e-9 * max(1.0, abs(s.minimum), abs(s.maximum))
    assert s.minimum - tol <= s.mean <= s.maximum + tol
    assert s.minimum <= s.median <= s.maximum
    assert s.median == pytest.approx(statistics.median(present))
    if len(present) > 1:
        assert s.sd is not None and s.sd >= 0
        assert s.sd == pytest.approx(statistics.stdev(present), rel=1e-6, abs=1e-6)
    else:
        assert s.sd is None


@settings(deadline=None)  # pandas work per example; no timing assertions (shared machine)
@given(st.lists(st.one_of(st.none(), st.just(""), st.sampled_from(["F", "M", "X"])), max_size=40))
def test_category_counts_add_up(values: list[str | None]) -> None:
    counts = category_counts(values, levels=["F", "M"])
    present = [v for v in values if v]
    assert [c for c, _, _ in counts][:2] == ["F", "M"]  # declared levels kept, in order, even at zero
    assert sum(k for _, k, _ in counts) == len(present)
    if present:
        assert sum(p for _, _, p in counts) == pytest.approx(100.0, abs=1e-3)
    assert all(k == present.count(c) for c, k, _ in counts)


@settings(deadline=None)  # pandas work per example; no timing assertions (shared machine)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([1, 2, 3]),
            st.one_of(st.none(), st.integers(18, 80)),
            st.sampled_from(["F", "M", None]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_table_denominators_and_missing(subjects: list[tuple[int, int | None, str | None]]) -> None:
    frame = pd.DataFrame(
        {
            "subject_id": [f"S{i:02d}" for i in range(len(subjects))],
            "dose_level": pd.array([s[0] for s in subjects], dtype="Int64"),
            "age_years": pd.array([s[1] for s in subjects], dtype="Int64"),
            "sex": [s[2] for s in subjects],
        }
    )
    specs = [
        Characteristic("age_years", "Age", "continuous", "test"),
        Characteristic("sex", "Sex", "categorical", "test", ("F", "M")),
    ]
    table = demographics_table(frame, specs).set_index(["characteristic", "statistic"])
    levels = sorted({s[0] for s in subjects})
    for group, part in [
        *((f"dose level {lv}", frame[frame["dose_level"] == lv]) for lv in levels),
        ("all", frame),
    ]:
        assert table.loc[("Subjects (safety set)", "N"), group] == str(len(part))
        for label, column in (("Age", "age_years"), ("Sex", "sex")):
            if (label, "not captured") in table.index:
                assert frame[column].isna().all()
                continue
            n = int(table.loc[(label, "n"), group])
            missing = table.loc[(label, "missing"), group]
            assert n + int(missing.split(" ")[0]) == len(part)
            for sid in part.loc[part[column].isna(), "subject_id"]:
                assert sid in missing
