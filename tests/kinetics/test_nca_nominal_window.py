"""A sample covers a partial-AUC end by its nominal time only inside its visit window
(docs/science/decisions.md D-19.104).

Before: a sample scheduled for day 28 but taken on day 20 "covered" AUC0-28 by its nominal day (D-19.95 had no
window check), so an AUC that is really AUC0-20 (``aucint.last`` counts the time after Tlast as 0) was flagged
``auc_0_28_covered`` and averaged with the true AUC0-28 values."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.kinetics.nca import NcaOptions, nca

engine = importlib.import_module("cartrial.kinetics.nca")

KWARGS = {"subject": "id", "time": "t", "conc": "c", "time_unit": "day", "conc_unit": "copies/ug"}


def _covered(actual_end: float, windows: dict[float, tuple[float, float]] | None, **options: object) -> bool:
    """Coverage of AUC0-28 when the last (quantifiable) sample is the day-28 visit at `actual_end`."""
    frame = pd.DataFrame(
        {"id": "S", "t": [0.0, 7.0, actual_end], "nominal": [0, 7, 28], "c": [0.0, 900.0, 40.0]}
    )
    table = nca(
        frame,
        nominal_time="nominal",
        options=NcaOptions(intervals=((0, 28),), **options),  # type: ignore[arg-type]
        nominal_windows=windows,
        **KWARGS,  # type: ignore[arg-type]
    ).table
    return bool(table["auc_0_28_covered"].iloc[0])


def test_the_day_28_visit_taken_on_day_20_does_not_cover_auc_0_28() -> None:
    """Failing first: the old engine counted the nominal day alone; day 20 is outside a ±2-day window, and
    without any window the nominal day never counts."""
    assert _covered(20.0, {28.0: (2.0, 2.0)}) is False
    assert _covered(20.0, None) is False


def test_the_day_28_visit_taken_on_day_27_inside_a_2_day_window_covers_it() -> None:
    assert _covered(27.0, {28.0: (2.0, 2.0)}) is True
    assert _covered(26.0, {28.0: (2.0, 2.0)}) is True  # the window's edge is inside
    assert _covered(25.9, {28.0: (2.0, 2.0)}) is False
    assert _covered(27.0, {7.0: (2.0, 2.0)}) is False  # no window for day 28: the actual time only


def test_actual_only_ignores_the_nominal_time() -> None:
    assert _covered(27.0, {28.0: (2.0, 2.0)}, nominal_coverage="actual_only") is False
    assert _covered(28.0, {28.0: (2.0, 2.0)}, nominal_coverage="actual_only") is True


_sample = st.tuples(
    st.floats(min_value=0.5, max_value=40.0, allow_nan=False).map(lambda x: round(x, 1)),  # actual
    st.sampled_from([7.0, 14.0, 21.0, 28.0, 60.0]),  # nominal
    st.one_of(st.just(0.0), st.floats(min_value=1.0, max_value=1e5, allow_nan=False)),  # concentration
    st.floats(min_value=0.0, max_value=7.0),  # window minus
    st.floats(min_value=0.0, max_value=7.0),  # window plus
)


@settings(max_examples=property_examples(300), deadline=None)
@given(
    samples=st.lists(_sample, min_size=1, max_size=8, unique_by=lambda s: s[0]),
    end=st.sampled_from([14.0, 28.0]),
)
def test_a_nominal_time_never_covers_from_outside_its_window(samples: list, end: float) -> None:
    """Covered ⇔ (a sample at or after the end by actual time, or one whose nominal time is at or after the
    end and whose actual time is inside [nominal − minus, nominal + plus]) or, under blq_tail, a BLQ last
    sample: a nominal time outside its window never counts; sampled_to_end coverage implies blq_tail
    coverage."""
    ordered = sorted(samples)
    t = np.array([[s[0] for s in ordered]])
    nominal = np.array([[s[1] for s in ordered]])
    c = np.array([[s[2] for s in ordered]])
    window = (nominal - np.array([[s[3] for s in ordered]]), nominal + np.array([[s[4] for s in ordered]]))
    present = np.ones_like(t, dtype=bool)
    reaches = any(a >= end or (n >= end and n - lo <= a <= n + hi) for a, n, _, lo, hi in ordered)
    strict = engine.interval_coverage(t, c, present, end, "sampled_to_end", nominal, window)[0]
    lenient = engine.interval_coverage(t, c, present, end, "blq_tail", nominal, window)[0]
    assert strict == reaches
    assert lenient == (reaches or ordered[-1][2] == 0.0)
    assert not strict or lenient
    outside = [s for s in ordered if not (s[1] - s[3] <= s[0] <= s[1] + s[4])]
    if len(outside) == len(ordered):  # no sample inside its window: the nominal times change nothing
        for rule in ("sampled_to_end", "blq_tail"):
            by_actual = engine.interval_coverage(t, c, present, end, rule)[0]
            assert engine.interval_coverage(t, c, present, end, rule, nominal, window)[0] == by_actual
