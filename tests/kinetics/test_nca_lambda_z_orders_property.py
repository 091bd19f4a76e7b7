"""Property of the two lambda_z orders (shared/reference/cellular-kinetics.md §2.4: PKNCA takes the best
adjusted R² over all windows before removing those with lambda_z ≤ 0; Phoenix removes them first)."""

from __future__ import annotations

import math

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.kinetics import NcaOptions, nca


def _one(times: list[float], concs: list[float], options: NcaOptions) -> pd.Series:
    frame = pd.DataFrame({"id": "S1", "t": times, "c": concs})
    return nca(
        frame, subject="id", time="t", conc="c", time_unit="day", conc_unit="copies/ug", options=options
    ).table.iloc[0]


@given(
    concs=st.lists(st.floats(min_value=1e-2, max_value=1e5), min_size=4, max_size=10),
)
@settings(max_examples=property_examples(80), deadline=None)
def test_phoenix_order_finds_a_half_life_whenever_pknca_does(concs: list[float]) -> None:
    """Property of the two orders (shared/reference/cellular-kinetics.md §2.4): a window PKNCA accepts has
    lambda_z > 0 and adj R² > (best over all windows) − 1e-4 ≥ (best over windows with lambda_z > 0) − 1e-4,
    so Phoenix accepts it too; Phoenix therefore returns a half-life whenever PKNCA does, from at least as
    many points (and "can return a half-life where PKNCA returns none")."""
    times = [float(i) for i in range(len(concs) + 1)]
    pknca = _one(times, [0.0, *concs], NcaOptions(lambda_z_order="pknca"))  # type: ignore[arg-type]
    phoenix = _one(times, [0.0, *concs], NcaOptions(lambda_z_order="phoenix"))  # type: ignore[arg-type]
    if not math.isnan(pknca["lambda_z"]):
        assert not math.isnan(phoenix["lambda_z"])
        assert phoenix["lambda_z_n"] >= pknca["lambda_z_n"]
