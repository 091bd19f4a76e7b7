"""Coverage of a partial AUC by a subject's samples (docs/science/decisions.md D-19.95).

PKNCA's ``aucint.last`` (our ``auc_<a>_<b>``) counts the time after Tlast as 0 (``interp.extrap.conc`` with
``auc.type = "AUClast"``), so a subject whose samples stop before the interval end (a death on day 10, an
interim cut-off on day 14) gets an AUC to its last sample under the interval's name, with nothing to tell it
apart. The engine now says, per subject and interval, whether the samples cover the interval end
(``auc_<a>_<b>_covered``) and when the last sample was (``last_sample_time``)."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.kinetics.nca import NcaOptions, nca

engine = importlib.import_module("cartrial.kinetics.nca")

FULL = [(0.0, 0.0), (1.0, 100.0), (4.0, 5000.0), (7.0, 20000.0), (10.0, 15000.0), (14.0, 6000.0)]
FULL += [(21.0, 1500.0), (28.0, 400.0)]


def _run(profiles: dict[str, list[tuple[float, float]]], **options: object) -> pd.DataFrame:
    rows = [{"id": sid, "t": t, "c": c} for sid, samples in profiles.items() for t, c in samples]
    result = nca(
        pd.DataFrame(rows),
        subject="id",
        time="t",
        conc="c",
        time_unit="day",
        conc_unit="copies/ug",
        options=NcaOptions(intervals=((0, 28),), auc_method="linear", **options),  # type: ignore[arg-type]
    )
    return result.table.set_index("id")


def test_samples_ending_on_day_10_are_flagged_not_covered() -> None:
    """Failing first: the old engine gave the day-10 subject an auc_0_28 equal to its AUC to day 10 (linear
    trapezoids of its own samples, derived here with numpy) and no column telling it apart."""
    table = _run({"FULL": FULL, "DIED10": FULL[:5], "CUT14": FULL[:6]})
    died = np.array(FULL[:5])
    assert table.loc["DIED10", "auc_0_28"] == pytest.approx(np.trapezoid(died[:, 1], died[:, 0]))
    assert table["auc_0_28_covered"].tolist() == [True, False, False]
    assert table["last_sample_time"].tolist() == [28.0, 10.0, 14.0]


def test_a_blq_last_sample_covers_the_interval_by_default_not_when_sampled_to_end_is_asked() -> None:
    """A BLQ last sample before the end: the AUC (linear down to the BLQ 0, then 0) equals the one a BLQ
    sample at day 28 gives, so the value is the interval's AUC under the BLQ = 0 convention."""
    blq14 = [(0.0, 0.0), (1.0, 50.0), (7.0, 60.0), (10.0, 20.0), (14.0, 0.0)]
    profiles = {"BLQ14": blq14, "BLQ14_28": [*blq14, (28.0, 0.0)]}
    table = _run(profiles)
    assert table.loc["BLQ14", "auc_0_28"] == table.loc["BLQ14_28", "auc_0_28"]
    assert table["auc_0_28_covered"].tolist() == [True, True]
    strict = _run(profiles, interval_coverage="sampled_to_end")
    assert strict["auc_0_28_covered"].tolist() == [False, True]
    assert strict["auc_0_28"].tolist() == table["auc_0_28"].tolist()  # the flag only, never the value


def test_the_nominal_interval_end_visit_covers_it() -> None:
    """The day-28 visit sampled at day 27.9 (inside its ±3-day window) covers AUC0-28; without the nominal day
    it does not (nor without a window for day 28: D-19.104)."""
    frame = pd.DataFrame({"id": "S", "t": [0.0, 7.0, 27.9], "nominal": [0, 7, 28], "c": [0.0, 900.0, 40.0]})
    kwargs = {"subject": "id", "time": "t", "conc": "c", "time_unit": "day", "conc_unit": "copies/ug"}
    options = NcaOptions(intervals=((0, 28),))
    windows = {28.0: (3.0, 3.0)}
    with_nominal = nca(
        frame, nominal_time="nominal", nominal_windows=windows, options=options, **kwargs
    ).table  # type: ignore[arg-type]
    no_window = nca(frame, nominal_time="nominal", options=options, **kwargs).table  # type: ignore[arg-type]
    without = nca(frame, options=options, **kwargs).table  # type: ignore[arg-type]
    assert with_nominal["auc_0_28_covered"].tolist() == [True]
    assert no_window["auc_0_28_covered"].tolist() == [False]
    assert without["auc_0_28_covered"].tolist() == [False]


def test_an_infinite_interval_has_no_coverage_column() -> None:
    rows = pd.DataFrame({"id": "S", "t": [0.0, 1.0, 2.0], "c": [0.0, 5.0, 1.0]})
    table = nca(
        rows,
        subject="id",
        time="t",
        conc="c",
        time_unit="day",
        conc_unit="x/ul",
        options=NcaOptions(intervals=((0, float("inf")), (0, 1))),
    ).table
    assert "auc_0_inf_covered" not in table and table["auc_0_1_covered"].tolist() == [True]


def test_a_quantifiable_sample_after_a_blq_tail_refutes_it() -> None:
    """The one way a later sample uncovers (blq_tail only): BLQ at day 14 said "~0 from here", a quantifiable
    day-20 sample says otherwise and the AUC now stops there."""
    base = [(0.0, 0.0), (7.0, 900.0), (14.0, 0.0)]
    table = _run({"A": base, "B": [*base, (20.0, 30.0)]})
    assert table["auc_0_28_covered"].tolist() == [True, False]


# ---- properties --------------------------------------------------------------------------------------------

_profile = st.lists(
    st.tuples(
        st.floats(min_value=0.5, max_value=40.0, allow_nan=False).map(lambda x: round(x, 1)),
        st.one_of(st.just(0.0), st.floats(min_value=1.0, max_value=1e5, allow_nan=False)),
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda s: s[0],
)


def _arrays(samples: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ordered = sorted(samples)
    t = np.array([[s[0] for s in ordered]])
    c = np.array([[s[1] for s in ordered]])
    return t, c, np.ones_like(t, dtype=bool)


@settings(max_examples=property_examples(200), deadline=None)
@given(
    samples=_profile,
    end=st.sampled_from([7.0, 14.0, 28.0]),
    step=st.floats(min_value=0.1, max_value=30.0),
    later=st.one_of(st.just(0.0), st.floats(min_value=1.0, max_value=1e5)),
)
def test_adding_a_later_sample_never_uncovers(
    samples: list[tuple[float, float]], end: float, step: float, later: float
) -> None:
    """sampled_to_end: a later sample never uncovers. blq_tail: a later BLQ sample or one at or after the end
    never uncovers (a later quantifiable sample before the end can: it refutes the BLQ tail, above)."""
    t, c, present = _arrays(samples)
    new_time = round(float(t.max()) + step, 3)
    t2, c2, present2 = _arrays([*samples, (new_time, later)])
    for rule in ("sampled_to_end", "blq_tail"):
        before = engine.interval_coverage(t, c, present, end, rule)[0]
        after = engine.interval_coverage(t2, c2, present2, end, rule)[0]
        if rule == "sampled_to_end" or later == 0.0 or new_time >= end:
            assert not before or after
    # sampled_to_end is the stricter rule
    assert (
        not engine.interval_coverage(t, c, present, end, "sampled_to_end")[0]
        or engine.interval_coverage(t, c, present, end, "blq_tail")[0]
    )


@settings(max_examples=property_examples(100), deadline=None)
@given(samples=_profile, end=st.sampled_from([7.0, 14.0, 28.0]))
def test_coverage_matches_its_definition(samples: list[tuple[float, float]], end: float) -> None:
    """Covered ⇔ a sample at or after the end, or (blq_tail) a BLQ last sample; from the samples directly."""
    t, c, present = _arrays(samples)
    ordered = sorted(samples)
    reaches = any(time >= end for time, _ in ordered)
    assert engine.interval_coverage(t, c, present, end, "sampled_to_end")[0] == reaches
    assert engine.interval_coverage(t, c, present, end, "blq_tail")[0] == (reaches or ordered[-1][1] == 0.0)
