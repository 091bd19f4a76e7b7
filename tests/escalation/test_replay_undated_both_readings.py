"""An undated DLT in an open window: a query only when the recorded decision is one of the design's two
answers (D-19.750, D-19.755); a DLT seen by the decision is not waited for (D-19.752, D-19.756).

Expected values by hand from the 3+3 rules (Storer 1989; Korn 1994: escalate after 0/3, three more at the
level after 1/3; ≥ 2 DLTs at a level: de-escalate with the de-escalation variant; MTD the highest level with
≤ 1/6) with the protocol's 3-patient expansion at level 2 and no skipping.
"""

from __future__ import annotations

from types import SimpleNamespace as NS

import pandas as pd

from cartrial.escalation import replay_decisions

SPEC = NS(design="3+3", variant="deescalation", dlt_window_days=28, no_skip=True)
WITH_EXPANSION = NS(escalation=SPEC, dose_levels=[1, 2], expansion=NS(dose_level=2, n_patients=3))
THREE_LEVELS = NS(escalation=SPEC, dose_levels=[1, 2, 3], expansion=None)
TWO_LEVELS = NS(escalation=SPEC, dose_levels=[1, 2], expansion=None)
NINE = pd.DataFrame(
    {
        "subject_id": list("ABCDEFGHI"),
        "dose_level": [1, 1, 1, 2, 2, 2, 2, 2, 2],
        "infused_at": [
            "2021-01-01", "2021-01-08", "2021-01-15", "2021-02-20", "2021-02-21",
            "2021-02-22", "2021-04-01", "2021-04-02", "2021-04-03",
        ],
    }
)  # fmt: skip


def test_a_decision_wrong_under_both_readings_is_a_deviation() -> None:
    """``2NNN`` expand on 03-25 (F's window, 02-22 + 28 = 03-22, complete: F's undated DLT counts — the
    design gives 'stay', a letter and decision deviation). G, H, I (04-01..03) ``2NNN`` 'stop' on 04-10: G
    followed 9 of 28 days, its DLT undated. Seen: ``2NNT 2TNN`` = 2/6 at level 2: de-escalate (level 1 has
    3). Not seen: 1/6 at the top: MTD level 2, expansion: expand. 'stop' is neither: a deviation whatever
    G's onset, not a query. Before: only a query, no deviation."""
    dlts = pd.DataFrame(
        {"subject_id": list("ABCDEFGHI"), "dlt": ["false"] * 5 + ["true", "true"] + ["false"] * 2}
    )
    decisions = pd.DataFrame(
        {
            "cohort": [1, 2, 3],
            "dose_level": [1, 2, 2],
            "decided_on": ["2021-02-12", "2021-03-25", "2021-04-10"],
            "outcomes": ["1NNN", "2NNN", "2NNN"],
            "decision": ["escalate", "expand", "stop"],
        }
    )
    row = replay_decisions(decisions, NINE, dlts, WITH_EXPANSION).table.iloc[2]
    assert row.query == ""
    assert (
        "recorded decision 'stop', the protocol's design gives 'de-escalate' or 'expand' "
        "(depending on the onset of G's undated DLT)" in row.deviation
    )
    assert row.design_decision == ""


INF6 = pd.DataFrame(
    {
        "subject_id": list("ABCDEF"),
        "dose_level": [1, 1, 1, 3, 3, 3],
        "infused_at": ["2021-06-01", "2021-06-02", "2021-06-03", "2021-06-12", "2021-06-13", "2021-06-14"],
    }
)


def test_a_skip_is_a_deviation_under_both_readings() -> None:
    """3+3 without skipping: ``1NNN`` escalate on 06-10, A's DLT undated (A followed 9 days): 'stay' if seen,
    'escalate' if not — the recorded 'escalate' is one of them: a query. Cohort 2 at level 3 on 06-20 (A's
    window still open, 19 days): after ``1NNN`` or ``1TNN`` the design never treats level 3 — no decision
    either way: the skip is a deviation, not a query. Before: only "gives no decision either way: query"."""
    dlts = pd.DataFrame({"subject_id": list("ABCDEF"), "dlt": ["true"] + ["false"] * 5})
    decisions = pd.DataFrame(
        {
            "cohort": [1, 2],
            "dose_level": [1, 3],
            "decided_on": ["2021-06-10", "2021-06-20"],
            "outcomes": ["1NNN", "3NNN"],
            "decision": ["escalate", "escalate"],
        }
    )
    first, second = replay_decisions(decisions, INF6, dlts, THREE_LEVELS).table.itertuples()
    assert "depends on the onset of A's undated DLT" in first.query
    assert "recorded decision" not in first.deviation
    assert second.query == ""
    assert "the protocol's design gives no decision after" in second.deviation
    assert second.design_decision == ""


def test_a_seen_dlt_the_letter_omits_is_not_waited_for() -> None:
    """``1NNN`` escalate on 06-10; A, B infused 05-01, 05-02 (windows complete), C on 06-01 with a DLT on
    day 3 (06-04), seen by the decision: C is DLT-evaluable by its DLT, so the window is complete. The
    letter deviation and the decision deviation ('stay' after ``1NNT``) remain. Before: "decision taken 9
    days after ... C ..., before the 28-day DLT window was complete"."""
    infusions = pd.DataFrame(
        {
            "subject_id": list("ABC"),
            "dose_level": [1, 1, 1],
            "infused_at": ["2021-05-01", "2021-05-02", "2021-06-01"],
        }
    )
    dlts = pd.DataFrame(
        {"subject_id": list("ABC"), "dlt": ["false", "false", "true"], "dlt_onset_day": ["", "", 3]}
    )
    decisions = pd.DataFrame(
        {
            "cohort": [1],
            "dose_level": [1],
            "decided_on": ["2021-06-10"],
            "outcomes": ["1NNN"],
            "decision": ["escalate"],
        }
    )
    row = replay_decisions(decisions, infusions, dlts, TWO_LEVELS).table.iloc[0]
    assert bool(row.window_complete)
    assert "before the 28-day DLT window was complete" not in row.deviation
    assert "C: the outcome letter says no DLT, the DLT assessment says DLT" in row.deviation
    assert "recorded decision 'escalate', the protocol's design gives 'stay' after '1NNT'" in row.deviation
