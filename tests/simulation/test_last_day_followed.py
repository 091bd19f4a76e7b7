"""The last whole day a patient is followed: one rule (D-19.1026) for the DLTs seen (`observed_dlts`,
`_dlts_by`), the CRS and ICANS episodes counted (D-19.1022) and the events `simulate study` writes; it was
written three ways (floor of the follow-up; min(floor(dropout), death); min(floor(follow end), death)).

Expected values by hand: day d after the infusion is the interval [d, d + 1); a follow-up ending at t is
followed through day floor(t) (a death at 9.5 happens during day 9; a dropout on day 12 is written withdrawn
on day 12); a slot not treated (NaN) is followed on no day (-1, before every onset).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from cartrial.simulation.trials import last_day_followed


def test_a_death_within_a_day_and_a_whole_day_dropout() -> None:
    dropout = np.array([12.0, 12.0, 30.0, np.nan])
    death = np.array([9.5, np.inf, 12.0, np.inf])
    # 1: death at 9.5 before the dropout: followed through day 9; 2: no death, dropout on day 12: day 12;
    # 3: death on day 12 before the dropout at 30: day 12; 4: not treated: -1
    assert last_day_followed(np.minimum(dropout, death)).tolist() == [9.0, 12.0, 12.0, -1.0]
    assert last_day_followed(9.5) == 9.0  # a scalar (simulate study's per-patient reading)
    assert last_day_followed(math.nan) == -1.0


@given(st.floats(min_value=0.0, max_value=1e6, allow_nan=False))
def test_the_last_day_is_the_whole_day_the_follow_up_ends_in(follow: float) -> None:
    day = float(last_day_followed(follow))
    assert day == int(day) and day <= follow < day + 1
