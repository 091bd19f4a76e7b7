"""The walking responder ``ambulation_score_decrease_1`` ("Neurostatus ambulation score (0-16) fell by
>= 1") is not evaluable on a visit scored by the Kurtzke method (D-19.1006).

A Kurtzke visit records walking distance and aid, not a Neurostatus ambulation score: its ``ambulation`` is
only the stand-in score giving the same EDSS in the §1.8 table (`kurtzke_walking_step`: 6.0 -> 5, 6.5 -> 8),
whatever the aid. Hand (docs/science/neuro-outcomes.md §1.6 and §1.7):

- S1: Neurostatus baseline, unilateral assistance >= 50 m = ambulation score 6 (EDSS 6.0); Kurtzke follow-up,
  unilateral aid 150 m = Kurtzke 6.0 (stand-in score 5, "< 100 m without assistance"). The Neurostatus score
  of that walking is 6 again: no change. Before: "ambulation 6 -> 5", a responder made by the method alone.
- S2: Kurtzke at both visits, unilateral aid 60 m then 150 m: Neurostatus score 6 both times (unilateral
  >= 50 m). Before: stand-in 8 -> 5, "fell by 3", a responder.
- S3: Neurostatus at both visits, 4 -> 2: a responder, unchanged.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from cartrial.neuro.derive import derive_responders
from cartrial.neuro.edss_scale import FS_NAMES, Assistance

DAY0 = dt.date(2021, 1, 2)


def _row(sid: str, when: str, *, ambulation: str = "", distance: str = "", aid: str = "") -> dict[str, str]:
    method = "kurtzke" if aid else "neurostatus_16"
    return {
        "subject_id": sid,
        "assessed_at": when,
        **dict.fromkeys(FS_NAMES, "0"),
        "pyramidal": "3",
        "ambulation": ambulation,
        "walking_distance_m": distance,
        "assistance": aid,
        "method": method,
    }


def _summary(rows: list[dict[str, str]], **kwargs: object):  # type: ignore[no-untyped-def]
    subjects = {r["subject_id"] for r in rows}
    result = derive_responders(
        dict.fromkeys(subjects, DAY0),
        edss=pd.DataFrame(rows, dtype=object),
        definitions=["ambulation_score_decrease_1"],
        **kwargs,  # type: ignore[arg-type]
    )
    (summary,) = result.summaries
    return summary


def test_a_kurtzke_visit_gives_no_neurostatus_ambulation_score() -> None:
    rows = [
        _row("S1", "2021-01-01", ambulation="6"),
        _row("S1", "2021-06-01", distance="150", aid="unilateral"),
        _row("S2", "2021-01-01", distance="60", aid="unilateral"),
        _row("S2", "2021-06-01", distance="150", aid="unilateral"),
        _row("S3", "2021-01-01", ambulation="4"),
        _row("S3", "2021-06-01", ambulation="2"),
    ]
    summary = _summary(rows)
    by_id = {s.subject_id: s for s in summary.subjects}
    for sid in ("S1", "S2"):
        assert not by_id[sid].evaluable and by_id[sid].responder is None
        assert "Kurtzke" in by_id[sid].reason and "D-19.1006" in by_id[sid].reason
    assert by_id["S3"].evaluable and by_id["S3"].responder is True
    assert (summary.n_evaluable, summary.n_responders) == (1, 1)


def test_method_switch_include_does_not_make_the_stand_in_a_score() -> None:
    """``method_switch=include`` evaluates an EDSS across a switch as scored; a Kurtzke visit still has no
    ambulation score to compare (the stand-in is not one under any option)."""
    rows = [
        _row("S1", "2021-01-01", ambulation="6"),
        _row("S1", "2021-06-01", distance="150", aid="unilateral"),
    ]
    summary = _summary(rows, method_switch="include")
    assert (summary.n_evaluable, summary.n_responders) == (0, 0)


def test_best_follow_up_on_a_kurtzke_visit_is_not_evaluable() -> None:
    """With ``follow_up=best`` the best post-infusion visit is a Kurtzke one (stand-in 5 below the recorded
    6): not evaluable, never compared as a score."""
    rows = [
        _row("S1", "2021-01-01", ambulation="6"),
        _row("S1", "2021-03-01", distance="150", aid="unilateral"),
        _row("S1", "2021-06-01", ambulation="6"),
    ]
    assert _summary(rows, follow_up="best").n_evaluable == 0
    assert _summary(rows, follow_up="last").n_evaluable == 1  # the last visit is Neurostatus: 6 -> 6


WALKING_AIDS = (Assistance.NONE, Assistance.UNILATERAL, Assistance.BILATERAL)
walking_aids = st.sampled_from([aid.value for aid in WALKING_AIDS])


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 16),
    walking_aids,
    st.floats(0, 1000, allow_nan=False).map(lambda x: f"{x:.0f}"),
    st.booleans(),
)
def test_property_no_responder_from_a_kurtzke_visit(
    neurostatus: int, aid: str, distance: str, kurtzke_first: bool
) -> None:
    """Invariant: whichever visit is Kurtzke-scored, the Neurostatus ambulation responder is never evaluated
    on it (the stand-in score of distance and aid is not the recorded score)."""
    ns = _row("S1", "2021-01-01" if not kurtzke_first else "2021-06-01", ambulation=str(neurostatus))
    kz = _row("S1", "2021-06-01" if not kurtzke_first else "2021-01-01", distance=distance, aid=aid)
    summary = _summary([kz, ns] if kurtzke_first else [ns, kz])
    assert summary.n_evaluable == 0 and summary.n_responders == 0
