"""The walking responder ``ambulation_score_decrease_1`` ("Neurostatus ambulation score (0-16) fell by
>= 1") on a visit scored by the Kurtzke method (D-19.1006, as amended after review).

A Kurtzke visit records walking distance and aid. Its Neurostatus ambulation score follows from them by the
§1.6 table (docs/science/neuro-outcomes.md §1.6), except walking >= 500 m without aid: score 0
(unrestricted) or 1 (fully ambulatory, not unrestricted). The stand-in score that gives a Kurtzke visit its
EDSS (`kurtzke_walking_step`: 6.0 -> 5, 6.5 -> 8) is never compared. Hand, from the §1.6 rows:

- A: Neurostatus 11 (wheelchair with help), then Kurtzke wheelchair_self = row 10: 11 -> 10, a responder.
- B: Neurostatus 4, then Kurtzke no aid 350 m = row 2 (>= 300 and < 500 m): 4 -> 2, a responder.
- S1: Neurostatus 6, then unilateral aid 150 m = row 6 (unilateral >= 50 m): 6 -> 6, not a responder
  (the stand-in 5 made it one).
- S2: Kurtzke unilateral aid 60 m then 150 m: row 6 both times: 6 -> 6, not a responder (stand-in 8 -> 5).
- C: Neurostatus 1, then no aid 600 m = 0 or 1: a responder if 0, not if 1: not evaluable.
- D: Neurostatus 3, then no aid 600 m = 0 or 1: 3 -> 0 and 3 -> 1 both fall by >= 1: a responder.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import InputError
from cartrial.neuro.derive import derive_responders
from cartrial.neuro.edss_scale import FS_NAMES, neurostatus_ambulation_score

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


def _result(rows: list[dict[str, str]], **kwargs: object):  # type: ignore[no-untyped-def]
    subjects = {r["subject_id"] for r in rows}
    return derive_responders(
        dict.fromkeys(subjects, DAY0),
        edss=pd.DataFrame(rows, dtype=object),
        definitions=["ambulation_score_decrease_1"],
        **kwargs,  # type: ignore[arg-type]
    )


def _by_id(rows: list[dict[str, str]], **kwargs: object):  # type: ignore[no-untyped-def]
    (summary,) = _result(rows, **kwargs).summaries
    return {s.subject_id: s for s in summary.subjects}


ROWS = [
    _row("A", "2021-01-01", ambulation="11"),
    _row("A", "2021-06-01", aid="wheelchair_self"),
    _row("B", "2021-01-01", ambulation="4"),
    _row("B", "2021-06-01", distance="350", aid="none"),
    _row("S1", "2021-01-01", ambulation="6"),
    _row("S1", "2021-06-01", distance="150", aid="unilateral"),
    _row("S2", "2021-01-01", distance="60", aid="unilateral"),
    _row("S2", "2021-06-01", distance="150", aid="unilateral"),
    _row("C", "2021-01-01", ambulation="1"),
    _row("C", "2021-06-01", distance="600", aid="none"),
    _row("D", "2021-01-01", ambulation="3"),
    _row("D", "2021-06-01", distance="600", aid="none"),
]


@pytest.mark.parametrize("method_switch", ["exclude", "include"])
def test_a_kurtzke_visit_is_compared_by_its_section_1_6_score(method_switch: str) -> None:
    by_id = _by_id(ROWS, method_switch=method_switch)
    for sid in ("A", "B", "D"):
        assert by_id[sid].evaluable and by_id[sid].responder is True, sid
    for sid in ("S1", "S2"):
        assert by_id[sid].evaluable and by_id[sid].responder is False, sid
        assert by_id[sid].follow_up["ambulation"] == 6
    assert not by_id["C"].evaluable and by_id["C"].responder is None
    assert "0 or 1" in by_id["C"].reason and "D-19.1006" in by_id["C"].reason


def test_payload_shows_the_section_1_6_score_or_none() -> None:
    """Review finding 2: ``score responders --json`` (`ResponderResult.payload`) shows the §1.6 score of a
    Kurtzke visit (unilateral 150 m: 6, not the stand-in 5), None where none can be derived (600 m, no
    aid)."""
    (row,) = _result(ROWS).payload()
    subjects = {s["subject_id"]: s for s in row["subjects"]}
    assert subjects["S1"]["follow_up"] == {"ambulation": 6.0}
    assert subjects["S2"]["baseline"] == {"ambulation": 6.0}  # unilateral 60 m: row 6 (stand-in 8)
    assert subjects["A"]["follow_up"] == {"ambulation": 10.0}  # wheelchair_self: row 10
    assert subjects["C"]["follow_up"] == {"ambulation": None}
    assert subjects["D"]["follow_up"] == {"ambulation": None}


def test_baseline_0_or_1_is_not_evaluable() -> None:
    """A "0 or 1" baseline leaves room for a decrease of 1 only if it is 1: not evaluable."""
    rows = [_row("E", "2021-01-01", distance="800", aid="none"), _row("E", "2021-06-01", ambulation="0")]
    assert not _by_id(rows)["E"].evaluable


def test_best_follow_up_ranks_by_the_section_1_6_score() -> None:
    """Best follow-up: Neurostatus 5 vs Kurtzke no aid 350 m (row 2): the Kurtzke visit is best (6 -> 2).
    Neurostatus 1 vs "0 or 1": "0 or 1" ranks between 0 and 1, and 3 -> 0 or 1 is a responder either way."""
    rows = [
        _row("F", "2021-01-01", ambulation="6"),
        _row("F", "2021-03-01", distance="350", aid="none"),
        _row("F", "2021-06-01", ambulation="5"),
        _row("G", "2021-01-01", ambulation="3"),
        _row("G", "2021-03-01", distance="700", aid="none"),
        _row("G", "2021-06-01", ambulation="1"),
    ]
    by_id = _by_id(rows, follow_up="best")
    assert by_id["F"].follow_up["ambulation"] == 2 and by_id["F"].responder is True
    assert by_id["G"].follow_up["ambulation"] is None and by_id["G"].responder is True


# §1.6 (docs/science/neuro-outcomes.md), row by row, as (aid, lowest m, below m, score); None: 0 or 1
SECTION_1_6 = [
    ("none", 500, math.inf, None),  # rows 0/1: unrestricted or fully ambulatory >= 500 m
    ("none", 300, 500, 2),
    ("none", 200, 300, 3),
    ("none", 100, 200, 4),
    ("none", 0, 100, 5),  # "< 100 m without assistance" (< 5 m "even with aid" is row 10: aided)
    ("unilateral", 50, math.inf, 6),
    ("bilateral", 120, math.inf, 7),
    ("unilateral", 5, 50, 8),
    ("bilateral", 5, 120, 9),
    ("unilateral", 0, 5, 10),  # "< 5 m even with aid"
    ("bilateral", 0, 5, 10),
]
NOT_WALKING = {
    "wheelchair_self": 10,
    "wheelchair_with_help": 11,
    "bed_chair": 12,
    "bed": 13,
    "helpless_communicates": 14,
    "helpless": 15,
    "death": 16,
}


@settings(max_examples=property_examples(300), deadline=None)
@given(
    st.sampled_from(["none", "unilateral", "bilateral"]),
    st.one_of(st.floats(0, 2000, allow_nan=False), st.sampled_from([0.0, 5.0, 50.0, 100.0, 120.0, 200.0])),
)
def test_property_walking_score_is_its_section_1_6_row(aid: str, distance: float) -> None:
    (row,) = [r for r in SECTION_1_6 if r[0] == aid and r[1] <= distance < r[2]]
    assert neurostatus_ambulation_score(distance, aid) == row[3]


@pytest.mark.parametrize(("level", "score"), sorted(NOT_WALKING.items()))
def test_mobility_levels_are_their_section_1_6_rows(level: str, score: int) -> None:
    assert neurostatus_ambulation_score(None, level) == score


def test_walking_needs_a_distance_and_a_known_aid() -> None:
    with pytest.raises(InputError):
        neurostatus_ambulation_score(None, "unilateral")
    with pytest.raises(InputError):
        neurostatus_ambulation_score(100, "crutches")


@settings(max_examples=property_examples(40), deadline=None)
@given(st.integers(0, 16), st.sampled_from(["none", "unilateral", "bilateral"]), st.integers(0, 1000))
def test_property_a_kurtzke_follow_up_is_compared_by_its_row(
    neurostatus: int, aid: str, distance: int
) -> None:
    """Invariant: a Neurostatus baseline then a Kurtzke follow-up is judged on the §1.6 row of its walking:
    a responder iff the row's score is >= 1 below the baseline; "0 or 1" decided only where both agree."""
    rows = [
        _row("S1", "2021-01-01", ambulation=str(neurostatus)),
        _row("S1", "2021-06-01", distance=str(distance), aid=aid),
    ]
    outcome = _by_id(rows)["S1"]
    (row,) = [r for r in SECTION_1_6 if r[0] == aid and r[1] <= distance < r[2]]
    readings = [0, 1] if row[3] is None else [row[3]]
    verdicts = {neurostatus - score >= 1 for score in readings}
    if neurostatus < 1 or len(verdicts) > 1:
        assert not outcome.evaluable
    else:
        assert outcome.evaluable and outcome.responder is verdicts.pop()
