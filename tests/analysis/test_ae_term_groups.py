"""One term grouping for the analysis and the CDISC export (D-19.932, D-19.933): an adverse event's term
group is its recorded MedDRA code (AE.AEPTCD) when it has one, else its folded text (`term_key`, D-19.927);
an uncoded event joins the one code its text carries. The group's display spelling is its most frequent
verbatim text, on a tie one not all in capitals, then the first by code point.

By hand: "Fever" and "Pyrexia" both coded 10037660 (MedDRA PT Pyrexia) are one term; an uncoded "pyrexia"
joins them (its text carries that one code); the spellings Fever 1, Pyrexia 1, pyrexia 1 tie, none in
capitals, the first by code point is "Fever" (F < P < p).
"""

from __future__ import annotations

import dataclasses

import hypothesis.strategies as st
import pandas as pd
from hypothesis import given, settings
from tests.conftest import property_examples

from cartrial.analysis import analyse
from cartrial.analysis.toxicity import ae_term_groups
from cartrial.protocol.organs import term_key
from cartrial.store.snapshot import StudySnapshot


def test_a_recorded_meddra_code_groups_the_term(snapshot: StudySnapshot) -> None:
    frame = snapshot.tables["adverse_events"]
    base = frame.iloc[0].to_dict() | {
        "category": "non_hematologic",
        "ended_on": "",
        "grade": "1",
        "serious": "false",
    }
    added = pd.DataFrame(
        [
            base
            | {
                "subject_id": "CT-001",
                "term": "Fever",
                "meddra_code": "10037660",
                "started_on": "2021-06-01",
            },
            base
            | {
                "subject_id": "CT-002",
                "term": "Pyrexia",
                "meddra_code": "10037660",
                "started_on": "2021-06-20",
            },
            base | {"subject_id": "CT-003", "term": "pyrexia", "meddra_code": "", "started_on": "2021-07-01"},
        ]
    ).assign(record_id=["99020", "99021", "99022"])
    tables = dict(snapshot.tables) | {"adverse_events": pd.concat([frame, added], ignore_index=True)}
    by_term = analyse(dataclasses.replace(snapshot, tables=tables)).datasets["teae_by_term"].table
    fever = by_term[by_term["term"].str.lower().isin({"fever", "pyrexia"})]
    assert fever[["term", "n_subjects", "n_events"]].to_dict("records") == [
        {"term": "Fever", "n_subjects": 3, "n_events": 3}
    ]


def test_without_a_code_the_text_groups_and_capitals_lose_a_tie() -> None:
    ae = pd.DataFrame(
        {
            "term": ["ANAEMIA", "Anaemia", "anaemia ", "Anemia", "HICCUPS", "Hiccups"],
            "meddra_code": [""] * 6,
        }
    )
    groups, shown = ae_term_groups(ae)
    # 'ANAEMIA', 'Anaemia', 'anaemia ' are one term; "Anemia" another (term_key folds no ae/e, D-19.927)
    assert len(set(groups[:3])) == 1 and groups[3] != groups[0] and len(set(groups[4:])) == 1
    assert shown[:4] == ["Anaemia"] * 3 + ["Anemia"]  # 1-1-1 tie: not all capitals, then by code point
    assert shown[4:] == ["Hiccups", "Hiccups"]


SPELLINGS = st.sampled_from(["Nausea", "NAUSEA", "nausea", "Rash", "RASH", "rash ", "Headache"])
CODES = st.sampled_from(["", "", "10028813", "10037844"])


@settings(max_examples=property_examples(80), deadline=None)
@given(st.lists(st.tuples(SPELLINGS, CODES), min_size=1, max_size=12))
def test_each_group_has_one_display_its_most_frequent_spelling(events: list[tuple[str, str]]) -> None:
    frame = pd.DataFrame(events, columns=["term", "meddra_code"])
    groups, shown = ae_term_groups(frame)
    members: dict[str, list[int]] = {}
    for i, group in enumerate(groups):
        members.setdefault(group, []).append(i)
    for index in members.values():
        displays = {shown[i] for i in index}
        assert len(displays) == 1
        (display,) = displays
        spellings = [events[i][0] for i in index]
        assert display in spellings
        assert spellings.count(display) == max(spellings.count(s) for s in spellings)
    for i, (term, code) in enumerate(events):
        if code:  # a recorded code is its group
            assert groups[i] == f"meddra:{code}"
        for j, (other, other_code) in enumerate(events):
            if not code and not other_code and term_key(term) == term_key(other):
                assert groups[i] == groups[j]
