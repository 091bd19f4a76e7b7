"""The DLT window a recorded decision waits for is that of its cohort's patients still without a DLT
(D-19.248): a patient with a DLT is DLT-evaluable already (`cartrial.protocol.dlt.dlt_evaluable`: "a DLT
seen inside the window, or followed for the whole window"), a replaced patient (not DLT-evaluable) takes no
letter (D-19.123). Before, the replay waited for the whole window of the cohort's last-infused lettered
patient even when that patient had a DLT, so a legitimate early de-escalation was a deviation.

3+3 at two levels, 28-day window. A on 2021-06-01, B on 2021-06-08, C on 2021-07-01; decision 2021-07-20:
19 days after C (window incomplete for C), 42 after B (complete), 49 after A (hand counts)."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from cartrial.escalation import replay_decisions

PROTOCOL = SimpleNamespace(
    escalation=SimpleNamespace(design="3+3", variant="deescalation", dlt_window_days=28, no_skip=True),
    dose_levels=[1, 2],
    expansion=None,
)
INFUSED = ["2021-06-01T02:00:00Z", "2021-06-08T02:00:00Z", "2021-07-01T02:00:00Z"]


def replay(outcomes: str, decided_on: str = "2021-07-20", infused: list[str] = INFUSED) -> pd.Series:
    decisions = pd.DataFrame(
        {
            "cohort": [1],
            "dose_level": [1],
            "decided_on": [decided_on],
            "outcomes": [outcomes],
            "decision": ["stay"],
        }
    )
    infusions = pd.DataFrame(
        {"subject_id": list("ABC")[: len(infused)], "dose_level": [1] * len(infused), "infused_at": infused}
    )
    return replay_decisions(decisions, infusions, None, PROTOCOL).table.iloc[0]


def test_the_last_patient_with_a_dlt_does_not_hold_the_decision() -> None:
    row = replay("1NNT")  # C had a DLT: A and B completed their windows
    assert bool(row.window_complete)
    assert "DLT window" not in row.deviation


def test_a_patient_without_a_dlt_inside_the_window_still_holds_it() -> None:
    row = replay("1TNN")  # A had a DLT, C (19 days) has none yet
    assert not bool(row.window_complete)
    assert "before the 28-day DLT window was complete" in row.deviation
    assert int(row.days_after_last_infusion) == 19


def test_the_window_waited_for_is_the_last_patient_without_a_dlt() -> None:
    """B without a DLT on day 14 of the decision (2021-06-22): incomplete, named B, even though C (DLT)
    was infused after it."""
    row = replay("1NNT", decided_on="2021-06-22", infused=[INFUSED[0], INFUSED[1], "2021-06-20T02:00:00Z"])
    assert not bool(row.window_complete)
    assert "(B, 2021-06-08)" in row.deviation and "14 days" in row.deviation


@given(
    offsets=st.lists(st.integers(0, 60), min_size=3, max_size=3),
    letters=st.lists(st.sampled_from("NT"), min_size=3, max_size=3),
    decided=st.integers(0, 120),
)
def test_a_dlt_never_makes_the_window_incomplete(
    offsets: list[int], letters: list[str], decided: int
) -> None:
    """Properties: all letters T → complete; turning an N into a T never turns complete into incomplete;
    all letters N → complete exactly when 28 days passed since the last infusion (the old rule)."""
    start = pd.Timestamp("2021-01-01T02:00:00Z")
    days = sorted(offsets)
    infused = [(start + pd.Timedelta(days=d)).isoformat() for d in days]
    on = (start + pd.Timedelta(days=max(days) + decided)).date().isoformat()
    complete = bool(replay("1" + "".join(letters), on, infused).window_complete)
    assert bool(replay("1TTT", on, infused).window_complete)
    if complete:
        for i, letter in enumerate(letters):
            if letter == "N":
                more = [*letters[:i], "T", *letters[i + 1 :]]
                assert bool(replay("1" + "".join(more), on, infused).window_complete)
    assert bool(replay("1NNN", on, infused).window_complete) == (decided >= 28)
