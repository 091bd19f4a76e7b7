"""A TITE-CRM's fitted history as of a date, per patient (docs/science/dose-escalation.md §8; D-19.696-698).

A TITE-CRM decides before every window has closed, so a patient's DLT often comes after the outcome letter
its cohort recorded. The history the design weighs at a date counts a patient's DLT iff its onset is on or
before that date, each patient without one weighing its follow-up min(u / T, 1) (day 0 = infusion, weight 0)
and, in the adaptive scheme, each DLT placed at its onset (Cheung & Chappell 2000; dfcrm `titecrm`).

Expected values are independent of the engine: the posterior mean of beta by quadrature of the weighted
empiric likelihood with a N(0, 1.34) prior (the reviewer's /tmp/rev-esc/tite.py), and the weights by hand.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartrial.errors import InputError
from cartrial.escalation import TiteCrm, replay_decisions
from cartrial.escalation.conduct import TitePatient, letter_dlts, tite_history

from .conftest import tite_decisions, tite_infusions
from .conftest import tite_protocol as _protocol


def _patients(onset_c: float | None = 4.0) -> list[TitePatient]:
    return [
        TitePatient(1, 1, date(2021, 4, 1)),
        TitePatient(2, 1, date(2021, 4, 2)),
        TitePatient(3, 2, date(2021, 5, 1), dlt=True, dlt_onset_day=onset_c),
        TitePatient(4, 2, date(2021, 5, 29)),
    ]


def test_a_dlt_counts_from_its_onset_and_follow_up_is_the_days_since_infusion() -> None:
    """As of 2021-05-04 C (DLT on day 4, 05-05) has no DLT yet: followed 3 days; as of 06-01 it has, weight 1
    at its onset day 4; D (infused 05-29) is followed 3 days; day 0 weighs 0."""
    early = tite_history(_patients()[:3], date(2021, 5, 4), 28)
    assert [p.dlt for p in early.patients] == [False, False, False]
    assert [p.followup_days for p in early.patients] == [28.0, 28.0, 3.0]
    late = tite_history(_patients(), date(2021, 6, 1), 28)
    assert [p.dlt for p in late.patients] == [False, False, True, False]
    assert [p.followup_days for p in late.patients] == [28.0, 28.0, 4.0, 3.0]
    assert list(TiteCrm([0.12, 0.25], 0.25, window_days=28).weights(late)) == pytest.approx([1, 1, 1, 3 / 28])
    same_day = tite_history(_patients()[3:], date(2021, 5, 29), 28)
    assert same_day.patients[0].followup_days == 0.0
    # no date: every patient fully followed, every DLT counted (the letters alone)
    full = tite_history(_patients(), None, 28)
    assert [p.dlt for p in full.patients] == [False, False, True, False]
    assert [p.followup_days for p in full.patients] == [None] * 4


def test_linear_fit_of_the_history_matches_the_quadrature() -> None:
    """`1N 1N 2T 2N`, follow-up (28, 28, 4, 3): beta-hat -0.367497, p (0.230, 0.383), next dose 1."""
    fit = TiteCrm([0.12, 0.25], 0.25, window_days=28).fit(tite_history(_patients(), date(2021, 6, 1), 28))
    assert [e.estimate for e in fit.estimates] == pytest.approx([0.230338, 0.382908], abs=1e-4)
    assert fit.next_dose == 1


def test_adaptive_weights_place_the_dlt_at_its_onset() -> None:
    """Adaptive scheme (Cheung & Chappell 2000 §3): one DLT at u = 4/28; D at 3/28 < 4/28 weighs
    (0 + (3/28)/(4/28)) / 2 = 0.375. With the DLT taken at the window's end it weighed (3/28)/2 = 0.054.
    Quadrature with weights (1, 1, 1, 0.375): beta-hat -0.326206, p (0.2165, 0.3677)."""
    design = TiteCrm([0.12, 0.25], 0.25, window_days=28, scheme="adaptive")
    history = tite_history(_patients(), date(2021, 6, 1), 28)
    assert list(design.weights(history)) == pytest.approx([1, 1, 1, 0.375])
    assert [e.estimate for e in design.fit(history).estimates] == pytest.approx([0.2165, 0.3677], abs=1e-3)


def test_replay_adaptive_uses_the_dlt_onsets() -> None:
    """The replay hands the adaptive scheme each DLT's onset day (the `dlts` input's `dlt_onset_day`)."""
    infusions = tite_infusions()
    decisions = tite_decisions()
    dlts = pd.DataFrame(
        {
            "subject_id": list("ABCD"),
            "dlt": ["false", "false", "true", "false"],
            "dlt_onset_day": ["", "", 4, ""],
        }
    )
    table = replay_decisions(decisions, infusions, dlts, _protocol("adaptive")).table
    row = table.iloc[3]  # D weighs 0.375 (C's DLT at day 4): level 1, de-escalate, as recorded
    assert (row.design_decision, int(row.design_next_dose), row.deviation) == ("de-escalate", 1, "")
    assert list(table["window_rule"]) == [False] * 4  # a TITE-CRM decides inside the window


def test_replay_refits_a_letter_recorded_before_the_dlt() -> None:
    """A infused 04-01, cohort 1 `1N` decided 04-05 (A's DLT on day 9, 04-10, not yet seen): the design
    weighs A 4/28, beta-hat 0.0384, p (0.110, 0.237): escalate. Cohort 2 `1N` (B) decided 05-20: A has had its
    DLT, the design fits `1T 1N` fully followed, beta-hat -0.8136, p (0.391, 0.541): stay, as recorded. The
    replay fitted the stale letters `1N 1N` (escalate) and flagged cohort 1's letter."""
    infusions = pd.DataFrame(
        {"subject_id": ["A", "B"], "dose_level": [1, 1], "infused_at": ["2021-04-01", "2021-04-05"]}
    )
    decisions = pd.DataFrame(
        {
            "cohort": [1, 2],
            "dose_level": [1, 1],
            "decided_on": ["2021-04-05", "2021-05-20"],
            "outcomes": ["1N", "1N"],
            "decision": ["escalate", "stay"],
        }
    )
    dlts = pd.DataFrame({"subject_id": ["A", "B"], "dlt": ["true", "false"], "dlt_onset_day": [9, ""]})
    table = replay_decisions(decisions, infusions, dlts, _protocol()).table
    assert list(table["design_decision"]) == ["escalate", "stay"]
    assert list(table["deviation"]) == ["", ""]
    # a letter that says no DLT when the DLT was seen by the decision is still a deviation
    late = decisions.assign(decided_on=["2021-04-12", "2021-05-20"])
    row = replay_decisions(late, infusions, dlts, _protocol()).table.iloc[0]
    assert "the outcome letter says no DLT" in row.deviation


def test_replay_refuses_an_onset_outside_the_window_or_without_a_dlt() -> None:
    from cartrial.errors import InputError

    infusions = pd.DataFrame({"subject_id": ["A"], "dose_level": [1], "infused_at": ["2021-04-01"]})
    decisions = pd.DataFrame(
        {
            "cohort": [1],
            "dose_level": [1],
            "decided_on": ["2021-05-05"],
            "outcomes": ["1N"],
            "decision": ["stay"],
        }
    )
    for dlt, onset in (("true", 29), ("false", 3), ("true", -1)):
        dlts = pd.DataFrame({"subject_id": ["A"], "dlt": [dlt], "dlt_onset_day": [onset]})
        with pytest.raises(InputError) as info:
            replay_decisions(decisions, infusions, dlts, _protocol())
        assert info.value.problems[0].field == "dlt_onset_day"


def test_replay_leaves_a_replaced_patient_with_a_letter_out_of_the_fit() -> None:
    """B left the study inside the window without a DLT (not DLT-evaluable, replaced) but cohort 1 was
    recorded `1NN`: B's letter is listed as a deviation and takes no part in the TITE-CRM fit, which is A
    alone fully followed, `1N` (escalate), as the escalation page leaves B out."""
    infusions = pd.DataFrame(
        {"subject_id": ["A", "B"], "dose_level": [1, 1], "infused_at": ["2021-04-01", "2021-04-02"]}
    )
    decisions = pd.DataFrame(
        {
            "cohort": [1],
            "dose_level": [1],
            "decided_on": ["2021-05-20"],
            "outcomes": ["1NN"],
            "decision": ["stay"],
        }
    )
    dlts = pd.DataFrame({"subject_id": ["A", "B"], "dlt": ["false", "false"], "evaluable": ["true", "false"]})
    row = replay_decisions(decisions, infusions, dlts, _protocol()).table.iloc[0]
    assert "B has an outcome letter but is not DLT-evaluable" in row.deviation
    assert "the protocol's design gives 'escalate' after '1N'" in row.deviation


def test_a_recorded_dlt_letter_counts_though_no_protocol_rule_fires() -> None:
    """Cohort 1 recorded `1T` on 2021-04-20 (the investigator's DLT); the DLT assessment by the protocol's
    rules says no DLT. The site's recorded DLT is never dropped: the design weighs `1T` (quadrature, N(0,
    1.34) prior: beta-hat -1.1799, p (0.521, 0.653): level 1, stay), not `1N` (beta-hat 0.3341: escalate)."""
    infusions = pd.DataFrame({"subject_id": ["A"], "dose_level": [1], "infused_at": ["2021-04-01"]})
    decisions = pd.DataFrame(
        {"cohort": [1], "dose_level": [1], "decided_on": ["2021-04-20"]}
        | {"outcomes": ["1T"], "decision": ["stay"]}
    )
    dlts = pd.DataFrame({"subject_id": ["A"], "dlt": ["false"]})
    row = replay_decisions(decisions, infusions, dlts, _protocol()).table.iloc[0]
    assert row.design_decision == "stay"
    assert int(row.design_next_dose) == 1
    assert "'1N'" not in row.deviation
    assert "the outcome letter says DLT, the DLT assessment says no DLT" in row.deviation  # still a finding


def test_a_letter_dlt_counts_from_the_decision_that_recorded_it() -> None:
    """A `T` letter recorded on 2021-04-20 counts as of that date (weight 1), not before it."""
    letter = [TitePatient(1, 1, date(2021, 4, 1), letter_dlt_on=date(2021, 4, 20))]
    assert [(p.dlt, p.followup_days) for p in tite_history(letter, date(2021, 4, 19), 28).patients] == [
        (False, 18.0)
    ]
    assert [(p.dlt, p.followup_days) for p in tite_history(letter, date(2021, 4, 20), 28).patients] == [
        (True, None)
    ]
    assert [p.dlt for p in tite_history(letter, None, 28).patients] == [True]


def test_the_replay_fits_the_letter_s_dose_level_not_the_cohort_s() -> None:
    """Cohort 1 is recorded at level 1 but its letter (and A's infusion) is at level 2: the design weighs the
    patient's level, as the page does: `2T 2N`, never `1T 2N`."""
    infusions = pd.DataFrame(
        {"subject_id": ["A", "B"], "dose_level": [2, 2], "infused_at": ["2021-04-01", "2021-05-10"]}
    )
    decisions = pd.DataFrame(
        {
            "cohort": [1, 2],
            "dose_level": [1, 2],
            "decided_on": ["2021-05-05", "2021-06-20"],
            "outcomes": ["2T", "2N"],
            "decision": ["stay", "expand"],  # expand: the design never gives it, so the fitted text is shown
        }
    )
    row = replay_decisions(decisions, infusions, None, _protocol()).table.iloc[1]
    assert "after '2T 2N'" in row.deviation
    assert "'1T 2N'" not in row.deviation


def test_the_onset_day_is_the_site_calendar_day() -> None:
    """Infusion 2021-04-01 08:00 UTC, a CRS DLT graded from 04-05 20:00 (elapsed 4.5 days): onset day 4, the
    decision of 04-05 (u = 4) sees it. Shanghai: infused 04-01 23:30 UTC (04-02 07:30 local), onset 0.5 days
    later (04-02 19:30 local): day 0 on the site's calendar (day 1 on UTC's)."""
    from cartrial.analysis.dlt import dlt_onset_days

    infusions = pd.DataFrame(
        {
            "subject_id": ["A", "B", "C"],
            "infused_at": ["2021-04-01T08:00:00Z", "2021-04-01T23:30:00Z", "2021-04-01"],
            "time_zone": ["", "Asia/Shanghai", ""],
        }
    )
    days = dlt_onset_days(infusions, {"A": (4.5, 6.0), "B": (0.5,), "C": ()})
    assert days == {"A": 4, "B": 0}


@pytest.mark.parametrize(
    ("onset", "decision", "level"), [(4, "stay", 2), ("", "de-escalate", 1), (28, "de-escalate", 1)]
)
def test_replay_adaptive_decision_turns_on_the_dlt_onset(onset: object, decision: str, level: int) -> None:
    """A, B, C at level 1 fully followed without a DLT; D at level 2 with a DLT; E at level 2 followed 3 days
    on 2021-06-01. Adaptive scheme (Cheung & Chappell 2000 §3), E weighs (0 + (3/28)/(t/28)) / 2: D's DLT
    at day 4: 0.375, quadrature (N(0, 1.34) prior, empiric) beta-hat -0.1782, p (0.170, 0.313): level 2,
    stay; at the window's end (undated, or day 28): 0.054, beta-hat -0.2176, p (0.182, 0.328): level 1."""
    infusions = pd.DataFrame(
        {
            "subject_id": list("ABCDE"),
            "dose_level": [1, 1, 1, 2, 2],
            "infused_at": ["2021-03-01", "2021-03-02", "2021-03-03", "2021-05-01", "2021-05-29"],
        }
    )
    decisions = pd.DataFrame(
        {
            "cohort": [1, 2, 3, 4, 5],
            "dose_level": [1, 1, 1, 2, 2],
            "decided_on": ["2021-03-01", "2021-03-02", "2021-05-01", "2021-05-29", "2021-06-01"],
            "outcomes": ["1N", "1N", "1N", "2T", "2N"],
            "decision": ["stay", "stay", "escalate", "stay", decision],
        }
    )
    dlts = pd.DataFrame(
        {
            "subject_id": list("ABCDE"),
            "dlt": ["false", "false", "false", "true", "false"],
            "dlt_onset_day": ["", "", "", onset, ""],
        }
    )
    row = replay_decisions(decisions, infusions, dlts, _protocol("adaptive")).table.iloc[4]
    assert (row.design_decision, int(row.design_next_dose)) == (decision, level)


def test_replay_notes_a_tite_dlt_without_an_onset_day() -> None:
    """An undated DLT is counted at every decision at weight 1, placed at the window's end (D-19.696): the
    replay says so, with the bias's direction; a dated one takes no note."""
    infusions = pd.DataFrame({"subject_id": ["A"], "dose_level": [1], "infused_at": ["2021-04-01"]})
    decisions = pd.DataFrame(
        {"cohort": [1], "dose_level": [1], "decided_on": ["2021-05-20"]}
        | {"outcomes": ["1T"], "decision": ["stay"]}
    )
    undated = pd.DataFrame({"subject_id": ["A"], "dlt": ["true"], "dlt_onset_day": [""]})
    notes = replay_decisions(decisions, infusions, undated, _protocol("adaptive")).notes
    assert any("1 DLT without an onset day" in n and "toward toxicity" in n for n in notes)
    dated = pd.DataFrame({"subject_id": ["A"], "dlt": ["true"], "dlt_onset_day": [9]})
    notes = replay_decisions(decisions, infusions, dated, _protocol("adaptive")).notes
    assert not any("onset day" in n for n in notes)
    assert not any("onset day" in n for n in replay_decisions(decisions, infusions, None, _protocol()).notes)


def test_a_patient_who_leaves_after_a_decision_counts_at_it() -> None:
    """B (level 1, infused 04-02) left the study on day 20 (04-22) without a DLT: not DLT-evaluable at the
    cut-off, but on study and inside the window at cohort 1's decision of 04-05, which lettered A and B
    (`1NN`). That decision is no deviation and names no replaced patient; at 05-20, after B left, B takes
    no part (replaced, D-19.123) and C's `2N` is fitted with A's `1N`."""
    infusions = pd.DataFrame(
        {
            "subject_id": ["A", "B", "C"],
            "dose_level": [1, 1, 2],
            "infused_at": ["2021-04-01", "2021-04-02", "2021-04-06"],
        }
    )
    decisions = pd.DataFrame(
        {
            "cohort": [1, 2],
            "dose_level": [1, 2],
            "decided_on": ["2021-04-05", "2021-05-20"],
            "outcomes": ["1NN", "2N"],
            "decision": ["escalate", "stay"],
        }
    )
    dlts = pd.DataFrame(
        {
            "subject_id": ["A", "B", "C"],
            "dlt": ["false", "false", "false"],
            "evaluable": ["true", "false", "true"],
            "followup_end_day": ["", 20, ""],
        }
    )
    table = replay_decisions(decisions, infusions, dlts, _protocol()).table
    assert "not DLT-evaluable" not in table.iloc[0].deviation
    assert table.iloc[0].replaced == ""
    assert table.iloc[0].subjects == "A B"
    # after B left (05-20) B takes no part: C's `2N` and A's `1N` fully followed, no deviation for B
    assert "B" not in table.iloc[1].deviation


def test_an_end_of_follow_up_for_an_evaluable_patient_is_refused() -> None:
    infusions = pd.DataFrame({"subject_id": ["A"], "dose_level": [1], "infused_at": ["2021-04-01"]})
    decisions = pd.DataFrame(
        {"cohort": [1], "dose_level": [1], "decided_on": ["2021-05-20"]}
        | {"outcomes": ["1N"], "decision": ["escalate"]}
    )
    dlts = pd.DataFrame({"subject_id": ["A"], "dlt": ["false"], "followup_end_day": [9]})
    with pytest.raises(InputError, match="followup_end_day"):
        replay_decisions(decisions, infusions, dlts, _protocol())


def _two_cohorts(first: str) -> tuple[pd.DataFrame, pd.DataFrame, object]:
    protocol = _protocol()
    protocol.escalation.cohort_size = 2  # type: ignore[attr-defined]
    infusions = pd.DataFrame(
        {"subject_id": ["A", "B", "C"], "dose_level": [1, 1, 1]}
        | {"infused_at": ["2021-04-01", "2021-04-02", "2021-05-10"]}
    )
    decisions = pd.DataFrame(
        {"cohort": [1, 2], "dose_level": [1, 1], "decided_on": [first, "2021-06-20"]}
        | {"outcomes": ["1TN", "1N"], "decision": ["stay", "escalate"]}
    )
    return infusions, decisions, protocol


@pytest.mark.parametrize("end", ["20", None])
def test_a_replaced_patient_s_recorded_dlt_letter_is_never_dropped(end: str | None) -> None:
    """Cohort 1 (A, B) recorded `1TN` on 2021-04-05; the assessment gives no DLT, and A left the study on
    day 20 (not DLT-evaluable: replaced). A's recorded DLT counts from that decision on, replaced or not
    (D-19.698; a DLT in the window makes the patient evaluable, D-19.83): decision 2 weighs `1TN 1N` (it
    weighed `1N 1N` — A dropped — and escalated)."""
    infusions, decisions, protocol = _two_cohorts("2021-04-05")
    dlts = pd.DataFrame(
        {"subject_id": ["A", "B", "C"], "dlt": ["false"] * 3, "evaluable": ["false", "true", "true"]}
        | ({"followup_end_day": [end, "", ""]} if end else {})
    )
    first, second = replay_decisions(decisions, infusions, dlts, protocol).table.itertuples()
    assert "A: the outcome letter says DLT, the DLT assessment says no DLT" in first.deviation
    assert "has an outcome letter but is not DLT-evaluable" not in first.deviation
    assert first.replaced == ""
    assert "after '1TN 1N'" in second.deviation
    assert "'1N 1N'" not in second.deviation


def test_a_cohort_s_dlt_letter_is_matched_by_count_not_position() -> None:
    """Cohort 1 (A, B) recorded `1TN` on 2021-05-05; the assessment's DLT is B's (onset day 3). The cohort
    recorded one DLT and the assessment gives one: no deviation, and decision 2 weighs one DLT (`1NT 1N`),
    not two (`1TT 1N`: A taking the letter's T by its position, B the assessment's DLT)."""
    infusions, decisions, protocol = _two_cohorts("2021-05-05")
    dlts = pd.DataFrame(
        {"subject_id": ["A", "B", "C"], "dlt": ["false", "true", "false"]} | {"dlt_onset_day": ["", "3", ""]}
    )
    first, second = replay_decisions(decisions, infusions, dlts, protocol).table.itertuples()
    assert first.deviation == ""
    assert "'1TT" not in second.deviation
    assert "after '1NT 1N'" in second.deviation


@given(st.lists(st.tuples(st.booleans(), st.sampled_from([None, False, True]), st.booleans()), max_size=6))
def test_letter_dlts_places_exactly_the_cohort_s_t_letters(
    cohort: list[tuple[bool, bool | None, bool]],
) -> None:
    """Per cohort the patients carrying a `T` are as many as its `T`s (D-19.701): a letter is never lost nor
    doubled; a letter-only DLT never goes to a patient whose DLT the assessment saw by the decision, and a
    patient the assessment does not give keeps its own letter."""
    letters = [c[0] for c in cohort]
    assessed = [c[1] for c in cohort]
    seen = [bool(c[1]) and c[2] for c in cohort]
    carries, extra, missed = letter_dlts(letters, assessed, seen)
    assert sum(carries) == sum(letters)
    assert not any(seen[k] for k in extra)
    assert all(carries[k] == letters[k] for k in range(len(cohort)) if assessed[k] is None)
    given = [k for k in range(len(cohort)) if assessed[k] is not None]
    assert len(extra) - len(missed) == sum(letters[k] for k in given) - sum(seen)
