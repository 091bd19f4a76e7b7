"""The replay's expansion rule, its window check and the TITE-CRM judged on what was knowable (D-19.752,
D-19.754, D-19.755).

Expected values are derived by hand from the 3+3 rules (Storer 1989; Korn 1994: escalate after 0/3, three
more at the level after 1/3, stop escalating after ≥ 2 DLTs at a level; the MTD is the highest level with
≤ 1/6) with the protocol's 3-patient expansion at level 2, and from the CRM's monotone likelihood.
"""

from __future__ import annotations

from types import SimpleNamespace as NS

import pandas as pd

from cartrial.escalation import replay_decisions

TPT = NS(
    escalation=NS(design="3+3", variant="deescalation", dlt_window_days=28, no_skip=True),
    dose_levels=[1, 2],
    expansion=NS(dose_level=2, n_patients=3),
)
TPT_NO_EXPANSION = NS(escalation=TPT.escalation, dose_levels=[1, 2], expansion=None)
TITE = NS(
    escalation=NS(
        design="tite-crm", target=0.25, skeleton=[0.12, 0.25], dlt_window_days=28, cohort_size=1,
        no_skip=True, max_n=12, tite_scheme="linear",
    ),
    dose_levels=[1, 2],
    expansion=None,
)  # fmt: skip
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


def _decisions(dates: list[str], decisions: list[str], last: str = "2NNN") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cohort": [1, 2, 3],
            "dose_level": [1, 2, 2],
            "decided_on": dates,
            "outcomes": ["1NNN", "2NNN", last],
            "decision": decisions,
        }
    )


def _dlts(dlt: list[bool], onset: list[object]) -> pd.DataFrame:
    return pd.DataFrame(
        {"subject_id": list("ABCDEFGHI"), "dlt": [str(d).lower() for d in dlt], "dlt_onset_day": onset}
    )


def test_an_early_expand_does_not_hide_dlts_known_before_the_expansion() -> None:
    """``2NNN`` expand on 03-10, 16 days after F's infusion (02-22): before the window was complete. E and
    F had DLTs on days 25 and 26 (03-17, 03-20), known before the expansion started (G on 04-01): 2 of the
    first 3 at level 2, so the design never treats 3 more there. The expand does not start the expansion
    (not fully followed); cohort 3 is judged on the real history ``1NNN 2NTT 2NNN``: the recorded 'stop'
    is not the design's answer, a deviation. Before: judged on the locked ``2NNN``, no deviation."""
    dlts = _dlts([False] * 4 + [True, True] + [False] * 3, [""] * 4 + [25, 26] + [""] * 3)
    table = replay_decisions(
        _decisions(["2021-02-12", "2021-03-10", "2021-05-01"], ["escalate", "expand", "stop"]),
        NINE,
        dlts,
        TPT,
    ).table
    row = table.iloc[2]
    assert row.deviation != ""
    assert "'1NNN 2NTT 2NNN'" in row.deviation
    # 2 of 3 at level 2: a 3+3 treats no more there, so the design gives no decision after the expansion
    assert row.design_decision == ""
    assert "gives no decision after '1NNN 2NTT 2NNN'" in row.deviation


def test_patients_after_a_fully_followed_expand_are_the_expansion() -> None:
    """Guard test. ``2NNN`` expand on 03-25, after F's window (02-22 + 28 = 03-22) was complete, with no DLT
    at level 2: correct and fully followed (0/3 at the top level: MTD level 2, expansion). G's DLT (day 5)
    falls in the 3-patient expansion: 3 of 3 treated, stop on 05-01 — no deviation. Read as escalation
    (``2NNN 2TNN``: 1/6 at the top) the design would now expand."""
    dlts = _dlts([False] * 6 + [True, False, False], [""] * 6 + [5, "", ""])
    table = replay_decisions(
        _decisions(["2021-02-12", "2021-03-25", "2021-05-01"], ["escalate", "expand", "stop"], "2TNN"),
        NINE,
        dlts,
        TPT,
    ).table
    assert list(table["design_decision"]) == ["escalate", "expand", "stop"]
    assert list(table["deviation"]) == ["", "", ""]


def test_an_undated_dlt_at_an_early_expand_is_a_query_the_later_cohort_firm() -> None:
    """D's DLT has no onset day; the expand of 03-10 came 18 days after D's infusion (window open): the
    design gives 'stay' (1/3, three more) if it was seen, 'expand' if not — a data query, in the ``query``
    column, not a deviation (only the early decision is). The early expand starts no expansion, so cohort 3
    (05-01, D's window complete: counted) is judged on ``1NNN 2TNN 2NNN``: 1/6 at the top level, MTD level
    2, expand; the recorded 'stop' is a deviation that does not depend on D's onset."""
    dlts = _dlts([False] * 3 + [True] + [False] * 5, [""] * 9)
    result = replay_decisions(
        _decisions(["2021-02-12", "2021-03-10", "2021-05-01"], ["escalate", "expand", "stop"]),
        NINE,
        dlts,
        TPT,
    )
    second, third = result.table.iloc[1], result.table.iloc[2]
    assert "depends on the onset of D's undated DLT" in second.query
    assert "depends on" not in second.deviation
    assert "before the 28-day DLT window was complete" in second.deviation
    assert third.design_decision == "expand"
    assert "recorded decision 'stop'" in third.deviation
    assert "1 of 3 decisions with a data query (D-19.755)" in result.notes


def test_a_t_letter_whose_dlt_came_after_the_decision_leaves_the_window_incomplete() -> None:
    """``1NNT`` escalate on 06-10; C (infused 06-01) has its DLT on day 20 (06-21): at the decision C had
    been followed 9 days without a DLT, so the window waited for is C's, incomplete (9 < 28): a
    DECISION-BEFORE-DLT-WINDOW deviation. Before: C's T letter took C out of the window check."""
    inf = pd.DataFrame(
        {
            "subject_id": list("ABC"),
            "dose_level": [1, 1, 1],
            "infused_at": ["2021-05-01", "2021-05-02", "2021-06-01"],
        }
    )
    dec = pd.DataFrame(
        {
            "cohort": [1],
            "dose_level": [1],
            "decided_on": ["2021-06-10"],
            "outcomes": ["1NNT"],
            "decision": ["escalate"],
        }
    )
    dlts = pd.DataFrame(
        {"subject_id": list("ABC"), "dlt": ["false", "false", "true"], "dlt_onset_day": ["", "", 20]}
    )
    row = replay_decisions(dec, inf, dlts, TPT_NO_EXPANSION).table.iloc[0]
    assert not bool(row.window_complete)
    assert "decision taken 9 days after the last infusion of the cohort (C, 2021-06-01)" in row.deviation


def test_a_tite_crm_t_letter_dated_after_the_decision_is_judged_without_it() -> None:
    """TITE-CRM, skeleton (0.12, 0.25), target 0.25. On 05-10 C (level 2, infused 05-01) is recorded ``2T``
    but C's DLT came on day 20 (05-21): at the decision nobody had a DLT. With no DLT the likelihood only
    lowers the estimates below the skeleton: level 2's under 0.25, the closest to the target — 'stay' at 2
    (no higher level), as recorded; the letter is a deviation of its own. Before: the letter counted from
    the decision, 'de-escalate' (main before D-19.752; declared by D-19.752)."""
    inf = pd.DataFrame(
        {"subject_id": list("ABCD"), "dose_level": [1, 1, 2, 2],
         "infused_at": ["2021-04-01", "2021-04-02", "2021-05-01", "2021-05-29"]}
    )  # fmt: skip
    dec = pd.DataFrame(
        {"cohort": [1, 2, 3, 4], "dose_level": [1, 1, 2, 2],
         "decided_on": ["2021-04-01", "2021-05-01", "2021-05-10", "2021-06-01"],
         "outcomes": ["1N", "1N", "2T", "2N"], "decision": ["stay", "escalate", "stay", "de-escalate"]}
    )  # fmt: skip
    dlts = pd.DataFrame(
        {
            "subject_id": list("ABCD"),
            "dlt": ["false", "false", "true", "false"],
            "dlt_onset_day": ["", "", 20, ""],
        }
    )
    row = replay_decisions(dec, inf, dlts, TITE).table.iloc[2]
    assert (row.design_decision, int(row.design_next_dose)) == ("stay", 2)
    assert (
        row.deviation == "C: the outcome letter says DLT, the DLT assessment says no DLT by the decision date"
    )
