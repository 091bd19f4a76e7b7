"""Attacks grouped on whole-day numbers (`group_day_onsets`), the one rule `group_onsets` calls with the
dates' ordinals and the simulation's onset placement calls on day numbers (D-19.1320's speed-up).

Expectations by hand from the protocol's relapse definition: an onset less than `merge_window_days` after
the attack's first onset (``first``) or its last onset (``chain``) is that attack.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from cartrial.protocol import group_day_onsets, group_onsets


def test_day_numbers_group_as_the_protocol_counts_attacks() -> None:
    # 0 and 29 are one attack (29 < 30); 30 is 30 days after the first onset: a new attack
    assert group_day_onsets([0, 29, 30], 30) == [[0, 1], [2]]
    # chain: 30 is 1 day after the last onset 29
    assert group_day_onsets([0, 29, 30], 30, "chain") == [[0, 1, 2]]
    # any day origin, negative days, unsorted input and ties in input order
    assert group_day_onsets([-5, -40, -5, 100], 30) == [[1], [0, 2], [3]]
    assert group_day_onsets([3, 1], None) == [[1], [0]]


@given(
    st.lists(st.integers(-800, 800), max_size=8),
    st.one_of(st.none(), st.integers(0, 60)),
    st.sampled_from(["first", "chain"]),
)
def test_dates_and_their_day_numbers_group_alike(days: list[int], window: int | None, anchor: str) -> None:
    origin = dt.date(2021, 3, 1)
    dates = [origin + dt.timedelta(days=d) for d in days]
    assert group_onsets(dates, window, anchor) == group_day_onsets(days, window, anchor)
