"""``aucint_all_<a>_<b>`` with an end inside the AUCall triangle follows the AUC method, as every other
segment (docs/science/decisions.md D-19.1107).

Before: a partial AUC whose end falls between Tlast and the next (BLQ, 0) sample put the end's concentration
on the straight line from Clast to that 0 (PKNCA ``interp.extrap.conc``, AUCall) and then integrated the
segment Tlast → end with the log rule whatever ``auc_method``: with ``auc_method = linear`` the profile 0, 10,
5, BLQ at days 0, 1, 2, 4 gave aucint.all(0, 3) = 16.107, (0, 3.9) = 15.513, (0, 3.99) = 14.369 and
(0, 4) = 17.5 — an area that shrank as the interval grew and jumped at the BLQ sample.

Oracle (hand calculation from PKNCA's documented rules, vignette "AUC integration methods"): "linear" uses
linear interpolation for every segment that is not 0 → 0; "AUCall" integrates linearly the triangle between
Tlast and the time of the zero concentration after Tlast. Linear AUC to Tlast (day 2) = 10·1/2 + (10 + 5)/2
= 12.5; C(b) = 5·(4 − b)/2 on the triangle; the segment 2 → b adds (b − 2)·(5 + C(b))/2.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.kinetics.nca import interval_column, nca
from cartrial.protocol.nca_options import AucMethod, NcaOptions

TIMES = [0.0, 1.0, 2.0, 4.0]
CONCS = [0.0, 10.0, 5.0, 0.0]


def _aucint_all(times: list[float], concs: list[float], end: float, **options: object) -> float:
    frame = pd.DataFrame({"id": "S1", "t": times, "c": concs})
    table = nca(
        frame,
        subject="id",
        time="t",
        conc="c",
        time_unit="day",
        conc_unit="copies/ug",
        options=NcaOptions(intervals=((0.0, end),), **options),  # type: ignore[arg-type]
    ).table
    return float(table[interval_column(0, end, prefix="aucint_all")].iloc[0])


@pytest.mark.parametrize("end", [2.5, 3.0, 3.9, 3.99, 4.0])
def test_linear_method_integrates_the_aucall_triangle_linearly(end: float) -> None:
    c_end = 5.0 * (4.0 - end) / 2.0
    expected = 12.5 + (end - 2.0) * (5.0 + c_end) / 2.0
    assert _aucint_all(TIMES, CONCS, end, auc_method=AucMethod.LINEAR) == pytest.approx(expected, rel=1e-12)


def test_linear_interval_interpolation_integrates_the_segment_to_the_end_linearly() -> None:
    """``interval_interpolation = linear``: interpolated ends are linear and the segments touching them are
    integrated linearly (the option's definition) — also the end inside the AUCall triangle."""
    log_to_tlast = 5.0 + (10.0 - 5.0) / math.log(2.0)  # lin up 0→1, log down 1→2
    expected = log_to_tlast + 1.0 * (5.0 + 2.5) / 2.0
    value = _aucint_all(TIMES, CONCS, 3.0, interval_interpolation="linear")
    assert value == pytest.approx(expected, rel=1e-12)


@settings(max_examples=property_examples(25), deadline=None)
@given(
    clast=st.floats(min_value=0.01, max_value=1e4),
    gap=st.floats(min_value=0.1, max_value=30.0),
    fractions=st.tuples(st.floats(0.01, 0.99), st.floats(0.01, 0.99)),
)
def test_linear_aucint_all_never_shrinks_as_the_end_moves_later(
    clast: float, gap: float, fractions: tuple[float, float]
) -> None:
    """Concentrations are ≥ 0, so the area over [0, b] cannot fall as b grows; at the BLQ sample it reaches
    AUCall continuously (linear method)."""
    times = [0.0, 1.0, 2.0, 2.0 + gap]
    concs = [0.0, 2.0 * clast, clast, 0.0]
    early, late = sorted(2.0 + f * gap for f in fractions)
    a, b = (_aucint_all(times, concs, x, auc_method=AucMethod.LINEAR) for x in (early, late))
    full = _aucint_all(times, concs, 2.0 + gap, auc_method=AucMethod.LINEAR)
    assert a <= b * (1 + 1e-12) + 1e-12
    assert b <= full * (1 + 1e-12) + 1e-12
