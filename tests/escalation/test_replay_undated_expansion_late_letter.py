"""The replay judges each decision on what was knowable at its date (D-19.747, D-19.750..D-19.752).

Hand-derived expectations:

- 3+3 (de-escalation variant, Storer 1989; docs/science/dose-escalation.md): ``1NNN`` escalates,
  ``1TNN`` (1/3)
  stays at the level for three more patients.
- BOIN target 0.3 (Liu & Yuan 2015, Table 1: lambda_e 0.236): 0/3 <= 0.236 escalates.
- A, B, C infused 2021-06-01..03, 28-day window: on 06-10 A has been followed 9 days (incomplete); on 06-29
  A's window is complete (28 days) while C's (26 days) is not.
"""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from cartrial.escalation import replay_decisions

BOIN = SimpleNamespace(
    escalation=SimpleNamespace(design="boin", target=0.3, dlt_window_days=28, cohort_size=3, no_skip=True),
    dose_levels=[1, 2, 3],
    expansion=None,
)
TPT = SimpleNamespace(
    escalation=SimpleNamespace(design="3+3", variant="deescalation", dlt_window_days=28, no_skip=True),
    dose_levels=[1, 2],
    expansion=SimpleNamespace(dose_level=2, n_patients=3),
)
ABC = pd.DataFrame(
    {
        "subject_id": list("ABC"),
        "dose_level": [1, 1, 1],
        "infused_at": ["2021-06-01", "2021-06-02", "2021-06-03"],
    }
)


def _one(outcomes: str, decided: str, decision: str = "escalate") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cohort": [1],
            "dose_level": [1],
            "decided_on": [decided],
            "outcomes": [outcomes],
            "decision": [decision],
        }
    )


UNDATED = pd.DataFrame({"subject_id": list("ABC"), "dlt": ["true", "false", "false"]})


def test_an_undated_dlt_inside_the_window_at_the_decision_is_a_query_not_a_deviation() -> None:
    """3+3 ``1NNN`` decided 06-10: A's DLT has no onset day and A's window (9 of 28 days) was open. Seen:
    ``1TNN`` stays; not yet: ``1NNN`` escalates. The answers differ: the replay asks for the onset day."""
    result = replay_decisions(_one("1NNN", "2021-06-10"), ABC, UNDATED, TPT)
    row = result.table.iloc[0]
    # a data query, in its own column, not a deviation (D-19.755; changed by design: it was in `deviation`)
    assert "depends on the onset of A's undated DLT: query its onset day" in row.query
    assert "depends on" not in row.deviation
    assert "the outcome letter says no DLT" not in row.deviation
    assert "recorded decision" not in row.deviation
    assert row.design_decision == ""
    assert any("without an onset day" in note for note in result.notes)  # every design, not TITE only


def test_an_undated_dlt_of_a_complete_window_is_counted() -> None:
    """Decided 06-29: A's window is complete (28 days), so its DLT was in by then: ``1TNN`` stays."""
    row = replay_decisions(_one("1NNN", "2021-06-29"), ABC, UNDATED, TPT).table.iloc[0]
    assert row.design_decision == "stay"
    assert "the outcome letter says no DLT, the DLT assessment says DLT" in row.deviation
    assert "query its onset day" not in row.deviation


def test_an_undated_dlt_its_letter_records_is_counted() -> None:
    """``1TNN`` recorded on 06-10 with A's undated DLT: the letter says it was seen: ``1TNN``, stay."""
    row = replay_decisions(_one("1TNN", "2021-06-10", "stay"), ABC, UNDATED, TPT).table.iloc[0]
    assert row.design_decision == "stay"
    assert "query its onset day" not in row.deviation
    assert "outcome letter" not in row.deviation


def test_an_undated_dlt_of_a_window_still_open_is_a_query() -> None:
    """3+3 ``1NNN`` decided 06-29 with C's DLT undated: C (infused 06-03) was followed 26 of 28 days, so its
    DLT may have come after the decision: ``1NNT`` stays, ``1NNN`` escalates - a query, not a deviation."""
    dlts = pd.DataFrame({"subject_id": list("ABC"), "dlt": ["false", "false", "true"]})
    row = replay_decisions(_one("1NNN", "2021-06-29"), ABC, dlts, TPT).table.iloc[0]
    assert "depends on the onset of C's undated DLT" in row.query  # its own column (D-19.755)


def test_a_t_letter_whose_dlt_the_assessment_dates_after_the_decision_is_judged_without_it() -> None:
    """BOIN ``1TNN`` on 06-10; A's DLT onset day 20 (06-21), after it: the letter is a deviation, and the
    decision is judged on what was knowable: 0/3, escalate - the recorded 'escalate' is the design's."""
    dlts = pd.DataFrame(
        {"subject_id": list("ABC"), "dlt": ["true", "false", "false"], "dlt_onset_day": [20, "", ""]}
    )
    row = replay_decisions(_one("1TNN", "2021-06-10"), ABC, dlts, BOIN).table.iloc[0]
    assert (
        "A: the outcome letter says DLT, the DLT assessment says no DLT by the decision date" in row.deviation
    )
    assert row.design_decision == "escalate"
    assert "recorded decision" not in row.deviation


def test_a_same_day_onset_counts_as_seen() -> None:
    """Onset day 9 with the decision 9 days after A's infusion: seen (the same-day convention)."""
    dlts = pd.DataFrame(
        {"subject_id": list("ABC"), "dlt": ["true", "false", "false"], "dlt_onset_day": [9, "", ""]}
    )
    row = replay_decisions(_one("1TNN", "2021-06-10", "stay"), ABC, dlts, BOIN).table.iloc[0]
    assert row.design_decision == "stay"
    assert "outcome letter" not in row.deviation


def test_an_early_expand_starts_no_expansion() -> None:
    """3+3 with a 3-patient expansion at level 2. ``1NNN`` escalate (02-12); ``2NNN`` expand on 03-10,
    16 days after F's infusion (02-22): the design's answer on what was known then, but taken before the
    window was complete, and F's DLT on day 25 (03-19) comes after it. Changed by design (D-19.754; the test
    was `test_patients_after_a_correct_expand_are_expansion_patients`, a guard test that passed before
    D-19.751 too): an expand not fully followed starts no expansion, so G, H, I are judged with the real
    history ``1NNN 2NNT 2NNN``: 1/6 at the top level, MTD level 2 — the design now expands, and the
    recorded 'stop' is a deviation. The fully followed case: test_replay_expansion_conduct.py."""
    infusions = pd.DataFrame(
        {
            "subject_id": list("ABCDEFGHI"),
            "dose_level": [1, 1, 1, 2, 2, 2, 2, 2, 2],
            "infused_at": [
                "2021-01-01", "2021-01-08", "2021-01-15", "2021-02-20", "2021-02-21",
                "2021-02-22", "2021-04-01", "2021-04-02", "2021-04-03",
            ],
        }
    )  # fmt: skip
    decisions = pd.DataFrame(
        {
            "cohort": [1, 2, 3],
            "dose_level": [1, 2, 2],
            "decided_on": ["2021-02-12", "2021-03-10", "2021-05-01"],
            "outcomes": ["1NNN", "2NNN", "2NNN"],
            "decision": ["escalate", "expand", "stop"],
        }
    )
    dlts = pd.DataFrame(
        {"subject_id": list("ABCDEFGHI"), "dlt": ["false"] * 5 + ["true"] + ["false"] * 3,
         "dlt_onset_day": [""] * 5 + [25] + [""] * 3}
    )  # fmt: skip
    table = replay_decisions(decisions, infusions, dlts, TPT).table
    assert list(table["design_decision"]) == ["escalate", "expand", "expand"]
    assert "recorded decision 'stop', the protocol's design gives 'expand' after '1NNN 2NNT 2NNN'" in (
        table.iloc[2].deviation
    )
