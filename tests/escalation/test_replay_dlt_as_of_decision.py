"""Every design's recorded decision is judged on the DLTs seen by its decision date (D-19.747).

BOIN, target 0.3, 28-day window, cohorts of 3 (Liu & Yuan 2015, Table 1: lambda_e 0.236, lambda_d 0.358).
Cohort 1 `1NNN` (A, B, C infused 2021-06-01..03) decided early on 06-10 ("escalate": a window deviation);
A's DLT comes on day 20 (06-21), after that decision. Cohort 2 `2TTN` at level 2 (07-01..03) decided 08-05:
2/3 = 0.667 > 0.358, de-escalate. Cohort 3 `1TNN` at level 1 (08-10..12) decided 09-15: by then A's DLT has
been seen, level 1 holds 2/6 = 0.333 in [0.236, 0.358]: stay. Fitted with cohort 1's stale letter (1/6 =
0.167 < 0.236) the replay gave "escalate" (level 2: Pr(p > 0.3 | 2/3, beta(1,1)) = 1 - I_0.3(3, 2) = 0.916
< 0.95, not eliminated), so a recorded "escalate" that ignored A's DLT passed silently, and cohort 1's letter,
correct on 06-10, was flagged.
"""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.escalation import replay_decisions

PROTOCOL = SimpleNamespace(
    escalation=SimpleNamespace(design="boin", target=0.3, dlt_window_days=28, cohort_size=3, no_skip=True),
    dose_levels=[1, 2, 3],
    expansion=None,
)
INFUSIONS = pd.DataFrame(
    {
        "subject_id": list("ABCDEFGHI"),
        "dose_level": [1, 1, 1, 2, 2, 2, 1, 1, 1],
        "infused_at": [
            "2021-06-01",
            "2021-06-02",
            "2021-06-03",
            "2021-07-01",
            "2021-07-02",
            "2021-07-03",
            "2021-08-10",
            "2021-08-11",
            "2021-08-12",
        ],
    }
)
DLTS = pd.DataFrame(
    {
        "subject_id": list("ABCDEFGHI"),
        "dlt": ["true", "false", "false", "true", "true", "false", "true", "false", "false"],
        "dlt_onset_day": [20, "", "", 5, 6, "", 4, "", ""],
    }
)


def _decisions(third: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cohort": [1, 2, 3],
            "dose_level": [1, 2, 1],
            "decided_on": ["2021-06-10", "2021-08-05", "2021-09-15"],
            "outcomes": ["1NNN", "2TTN", "1TNN"],
            "decision": ["escalate", "de-escalate", third],
        }
    )


def test_a_later_decision_counts_a_dlt_seen_after_its_cohort_s_letter() -> None:
    table = replay_decisions(_decisions("escalate"), INFUSIONS, DLTS, PROTOCOL).table
    assert list(table["design_decision"]) == ["escalate", "de-escalate", "stay"]
    assert "recorded decision 'escalate', the protocol's design gives 'stay'" in table.iloc[2].deviation
    stayed = replay_decisions(_decisions("stay"), INFUSIONS, DLTS, PROTOCOL).table
    assert stayed.iloc[2].deviation == ""


def test_a_letter_correct_at_its_decision_is_not_flagged() -> None:
    row = replay_decisions(_decisions("stay"), INFUSIONS, DLTS, PROTOCOL).table.iloc[0]
    assert "before the 28-day DLT window was complete" in row.deviation  # decided early: still a deviation
    assert "outcome letter" not in row.deviation
    # a DLT seen by the decision that its letter misses is still a deviation, as for a TITE-CRM
    late = _decisions("stay").assign(decided_on=["2021-06-25", "2021-08-05", "2021-09-15"])
    assert (
        "the outcome letter says no DLT"
        in replay_decisions(late, INFUSIONS, DLTS, PROTOCOL).table.iloc[0].deviation
    )


def test_without_a_dlt_assessment_the_letters_are_fitted() -> None:
    table = replay_decisions(_decisions("escalate"), INFUSIONS, None, PROTOCOL).table
    assert list(table["design_decision"]) == ["escalate", "de-escalate", "escalate"]


@settings(max_examples=property_examples(30), deadline=None)
@given(
    letters=st.lists(st.booleans(), min_size=3, max_size=3),
    onsets=st.lists(st.integers(min_value=0, max_value=28), min_size=3, max_size=3),
    gap=st.integers(min_value=0, max_value=60),
)
def test_an_assessment_that_agrees_with_the_letters_changes_nothing(
    letters: list[bool], onsets: list[int], gap: int
) -> None:
    """Cohort 1 decided after its window: every DLT in the window was seen, so the design's decision with
    an agreeing DLT assessment is the letters' own, with no deviation (one rule, D-19.747)."""
    text = "1" + "".join("T" if t else "N" for t in letters)
    decided = (pd.Timestamp("2021-07-01") + pd.Timedelta(days=gap)).date().isoformat()
    decisions = pd.DataFrame(
        {"cohort": [1], "dose_level": [1], "decided_on": [decided], "outcomes": [text], "decision": ["stay"]}
    )
    infusions = INFUSIONS.iloc[:3]
    dlts = pd.DataFrame(
        {
            "subject_id": list("ABC"),
            "dlt": ["true" if t else "false" for t in letters],
            "dlt_onset_day": [o if t else "" for t, o in zip(letters, onsets, strict=True)],
        }
    )
    with_dlts = replay_decisions(decisions, infusions, dlts, PROTOCOL).table.iloc[0]
    letters_only = replay_decisions(decisions, infusions, None, PROTOCOL).table.iloc[0]
    assert with_dlts.design_decision == letters_only.design_decision
    assert "outcome letter" not in with_dlts.deviation


@settings(max_examples=property_examples(25), deadline=None)
@given(
    dlts=st.lists(st.booleans(), min_size=9, max_size=9),
    onsets=st.lists(st.integers(min_value=0, max_value=28), min_size=9, max_size=9),
    gaps=st.lists(st.integers(min_value=0, max_value=40), min_size=3, max_size=3),
)
def test_letters_of_the_dlts_seen_by_each_decision_are_judged_on_the_history_then(
    dlts: list[bool], onsets: list[int], gaps: list[int]
) -> None:
    """Three cohorts of three at level 1, each patient infused a day apart, each cohort decided `gap` days
    after its last infusion, the next cohort infused the day after that decision. Each cohort's letters are
    the DLTs seen by its own decision (T iff infusion + onset <= the decision date): no letter deviation,
    and each decision is the design's on the hand-built cumulative history of that date, where an earlier
    cohort's patient is T iff its DLT's infusion + onset is on or before the later decision date."""
    from cartrial.escalation import PatientOutcome
    from cartrial.escalation.conduct import design_decision
    from cartrial.escalation.outcomes import Outcomes
    from cartrial.escalation.spec import design_from_spec

    start = pd.Timestamp("2021-01-01").date()
    infused: list[object] = []
    decided: list[object] = []
    day = start
    for gap in gaps:
        cohort_days = [day + pd.Timedelta(days=j) for j in range(3)]
        infused += cohort_days
        decided.append(cohort_days[-1] + pd.Timedelta(days=gap))
        day = decided[-1] + pd.Timedelta(days=1)

    def seen(k: int, on: object) -> bool:
        return dlts[k] and infused[k] + pd.Timedelta(days=onsets[k]) <= on  # type: ignore[operator]

    texts = ["1" + "".join("T" if seen(3 * c + j, decided[c]) else "N" for j in range(3)) for c in range(3)]
    design = design_from_spec(PROTOCOL.escalation, 3)
    expected = []
    for c in range(3):
        history = Outcomes(
            tuple(PatientOutcome(k // 3 + 1, 1, seen(k, decided[c])) for k in range(3 * (c + 1)))
        )
        expected.append(design_decision(design.fit(history), 1))
    decisions = pd.DataFrame(
        {
            "cohort": [1, 2, 3],
            "dose_level": [1, 1, 1],
            "decided_on": [str(d) for d in decided],
            "outcomes": texts,
            "decision": expected,
        }
    )
    infusions = pd.DataFrame(
        {
            "subject_id": [f"P{k}" for k in range(9)],
            "dose_level": [1] * 9,
            "infused_at": [str(d) for d in infused],
        }
    )
    assessment = pd.DataFrame(
        {
            "subject_id": [f"P{k}" for k in range(9)],
            "dlt": ["true" if t else "false" for t in dlts],
            "dlt_onset_day": [o if t else "" for t, o in zip(dlts, onsets, strict=True)],
        }
    )
    table = replay_decisions(decisions, infusions, assessment, PROTOCOL).table
    assert not table["deviation"].str.contains("outcome letter").any()
    assert list(table["design_decision"]) == expected
    assert not table["deviation"].str.contains("recorded decision").any()
