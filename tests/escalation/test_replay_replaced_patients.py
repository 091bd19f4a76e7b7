"""The replay of recorded decisions skips a patient who is not DLT-evaluable (``dlts.evaluable`` false: died
or left the study inside the DLT window without a DLT): replaced, it takes no outcome letter (D-19.123).

A 3+3 at two levels, 28-day window. A and B infused on 2021-04-27, C on 2021-05-03 and withdrawn on day 5;
the committee records cohort 1 as ``1NN`` (two evaluable patients without a DLT → the 3+3 treats a third
patient at level 1: stay) on 2021-06-01 — 35 days after A and B's infusion, window complete. D is infused on
2021-06-02 after the decision. Before the fix the replay gave the letters to A and B and took C, infused on
2021-05-03, for the next cohort infused before the decision (a deviation).
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from cartrial.escalation import replay_decisions
from cartrial.escalation.conduct import assign_cohorts

PROTOCOL = SimpleNamespace(
    escalation=SimpleNamespace(design="3+3", variant="deescalation", dlt_window_days=28, no_skip=True),
    dose_levels=[1, 2],
    expansion=None,
)
DECISIONS = pd.DataFrame(
    {
        "cohort": [1],
        "dose_level": [1],
        "decided_on": ["2021-06-01"],
        "outcomes": ["1NN"],
        "decision": ["stay"],
    }
)
INFUSIONS = pd.DataFrame(
    {
        "subject_id": ["A", "B", "C", "D"],
        "dose_level": [1, 1, 1, 1],
        "infused_at": [
            "2021-04-27T02:00:00Z",
            "2021-04-27T02:00:00Z",
            "2021-05-03T02:00:00Z",
            "2021-06-02T02:00:00Z",
        ],
    }
)


def _dlts(evaluable_c: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject_id": ["A", "B", "C", "D"],
            "dlt": ["false"] * 4,
            "evaluable": ["true", "true", evaluable_c, ""],
        }
    )


def test_a_replaced_patient_takes_no_letter_and_stays_in_the_cohort_it_was_infused_in() -> None:
    row = replay_decisions(DECISIONS, INFUSIONS, _dlts("false"), PROTOCOL).table.iloc[0]
    assert (row.subjects, row.replaced) == ("A B", "C")
    assert (int(row.days_after_last_infusion), bool(row.window_complete)) == (35, True)
    assert (row.design_decision, int(row.design_next_dose)) == ("stay", 1)
    assert row.deviation == ""


def test_an_evaluable_patient_still_takes_a_letter() -> None:
    """C evaluable: the letters go to A and B as before, and C, infused before the decision, is the next
    cohort's patient infused before it — the deviation the replay reported before, unchanged."""
    row = replay_decisions(DECISIONS, INFUSIONS, _dlts("true"), PROTOCOL).table.iloc[0]
    assert (row.subjects, row.replaced) == ("A B", "")
    assert "C (next cohort) was infused at level 1 on 2021-05-03, before this decision" in row.deviation
    without = replay_decisions(DECISIONS, INFUSIONS, None, PROTOCOL).table.iloc[0]
    assert without.deviation == row.deviation


def test_a_record_that_counted_a_replaced_patient_is_a_deviation_not_a_shift() -> None:
    """A decision recorded before the rule: ``1NNN`` on 2021-06-01 counts C. The letters go to A, B and C
    (the only patients infused by the decision) with a deviation naming C; D stays out of cohort 1. C is no
    outcome for the design (D-19.123), so the design fits `1NN` (A and B: treat a third patient, stay) and the
    recorded "escalate" is a deviation too (D-19.747; before, the design fitted C's letter, `1NNN`)."""
    decisions = DECISIONS.assign(outcomes=["1NNN"], decision=["escalate"])
    row = replay_decisions(decisions, INFUSIONS, _dlts("false"), PROTOCOL).table.iloc[0]
    assert (row.subjects, row.replaced) == ("A B C", "C")
    assert (
        row.deviation
        == "C has an outcome letter but is not DLT-evaluable (replaced): not an outcome for the design; "
        "recorded decision 'escalate', the protocol's design gives 'stay' after '1NN'"
    )
    assert (row.design_decision, int(row.design_next_dose)) == ("stay", 1)


@given(
    patients=st.lists(st.tuples(st.booleans(), st.integers(min_value=0, max_value=3)), max_size=30),
    cohorts=st.lists(
        st.tuples(st.integers(min_value=1, max_value=6), st.integers(min_value=0, max_value=40) | st.none()),
        max_size=6,
    ),
)
def test_cohort_assignment_properties(patients, cohorts) -> None:
    """Every patient is in one cohort or after them all, in infusion order; a cohort has its number of
    letters while patients remain; a patient without a letter inside a cohort is never a counted one; the
    letters go to the first counted patients infused by the decision when there are enough of them, and a
    replaced patient takes a letter only when there are not."""
    start = dt.date(2021, 1, 1)
    counted, days, day = [], [], 0
    for flag, gap in patients:
        day += gap
        counted.append(flag)
        days.append(start + dt.timedelta(day))
    decided = [(size, None if d is None else start + dt.timedelta(d)) for size, d in cohorts]
    spans = assign_cohorts(counted, days, decided)
    at = 0
    for (first, stop, letters), (size, on) in zip(spans, decided, strict=True):
        assert first == at <= stop
        assert list(letters) == sorted(set(letters)) and all(first <= p < stop for p in letters)
        assert len(letters) == min(size, len(counted) - first)
        assert all(not counted[p] for p in range(first, stop) if p not in letters)
        by = [p for p in range(first, len(counted)) if on is None or days[p] <= on]
        evaluable = [p for p in by if counted[p]]
        if len(evaluable) >= size:
            assert list(letters) == evaluable[:size]
        for p in letters:
            if not counted[p]:
                assert len(evaluable) < size
        at = stop
