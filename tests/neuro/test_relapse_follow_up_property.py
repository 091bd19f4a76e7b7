"""Property of `derive_relapses` and a relapse after the last assessment (D-19.587).

The subject's cap is the earliest of the cut-off, the death and the end of study (an undated end: the last
assessment). Every attack after the infusion with onset on or before that cap is counted — the follow-up
reaches it even when it is after the last assessment — none after it is, and the follow-up never runs past
the cap nor stops before the first attack it counts: the follow-up is exactly
max(0, min(max(last assessment, latest onset on or before the cap), cap)) days. The episodes are 100 days
apart, so none merge (merge window under 100 days), each is its own attack.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.neuro.derive import derive_relapses
from cartrial.neuro.relapses import Phenotype, RelapseEpisode

DAY0 = dt.date(2021, 1, 1)


def _on(offset: int) -> dt.date:
    return DAY0 + dt.timedelta(days=offset)


@settings(max_examples=property_examples(40), deadline=None)
@given(
    steps=st.sets(st.integers(-3, 9), max_size=8),
    last_offset=st.integers(0, 700),
    cutoff_after=st.integers(0, 400),
    death=st.one_of(st.none(), st.integers(0, 1200)),
    end=st.one_of(st.none(), st.just("undated"), st.integers(0, 1200)),
)
def test_every_attack_up_to_the_cap_is_counted(
    steps: set[int], last_offset: int, cutoff_after: int, death: int | None, end: int | str | None
) -> None:
    cutoff_offset = last_offset + cutoff_after
    onsets = sorted(
        100 * k for k in steps if 100 * k <= cutoff_offset
    )  # an onset after the cut-off: not data
    episodes = [
        RelapseEpisode("S1", _on(o), frozenset({Phenotype.MYELITIS}), row=i + 2) for i, o in enumerate(onsets)
    ]
    ends: dict[str, dt.date | None] = {}
    if end == "undated":
        ends["S1"] = None
    elif isinstance(end, int):
        ends["S1"] = _on(end)
    result = derive_relapses(
        episodes,
        {"S1": DAY0},
        last_assessment={"S1": _on(last_offset)},
        cutoff=_on(cutoff_offset),
        deaths={} if death is None else {"S1": _on(death)},
        ends_of_study=ends,
    )
    cap = min(
        cutoff_offset,
        death if death is not None else cutoff_offset,
        last_offset if end == "undated" else end if isinstance(end, int) else cutoff_offset,
    )
    row = result.table.set_index("subject_id").loc["S1"]
    within = [o for o in onsets if 0 <= o <= cap]
    assert int(row["post_attacks"]) == len(within)
    post_days = int(row["post_days"])
    # the documented rule exactly: the last assessment, or the latest onset on study when later, never past
    # the cap (`end_at_death`) nor before the infusion day (D-19.587, D-19.94)
    assert post_days == max(0, min(max([last_offset, *within]), cap))
    assert post_days <= cap
    assert post_days >= min(last_offset, cap)
    if within:
        assert post_days >= int(row["first_post_attack_day"]) == within[0]
        assert post_days >= within[-1]
