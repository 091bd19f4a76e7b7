"""D-19.707: an adverse event whose relatedness the investigator did not record (blank) counts as related in
the "TEAE possibly, probably or definitely related" count — the conservative convention of safety analysis
plans (a missing causality is not evidence of no causality). Expected values by hand: subject A's only TEAE
has a blank relatedness (related), B's is ``unrelated`` (not), C's ``unlikely`` (not), D's ``possible``."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.analysis.model import Population
from cartrial.analysis.populations import ENROLLED, SAFETY
from cartrial.analysis.toxicity import adverse_event_datasets

SUBJECTS = ("A", "B", "C", "D")


def _tables(relatedness: list[str | None]) -> dict[str, pd.DataFrame]:
    n = len(relatedness)
    ids = [SUBJECTS[i % len(SUBJECTS)] for i in range(n)]
    return {
        "infusions": pd.DataFrame(
            {"subject_id": list(SUBJECTS), "infused_at": ["2021-06-01T10:00:00"] * 4, "dose_level": [1] * 4}
        ),
        "lymphodepletion": pd.DataFrame(
            {"subject_id": list(SUBJECTS), "administered_on": ["2021-05-28"] * 4}
        ),
        "adverse_events": pd.DataFrame(
            {
                "subject_id": ids,
                "term": ["Fatigue"] * n,
                "category": ["other"] * n,
                "grade": ["1"] * n,
                "serious": ["false"] * n,
                "relatedness": relatedness,
                "started_on": ["2021-06-03"] * n,
            }
        ),
    }


def _related(relatedness: list[str | None]) -> dict[str, bool]:
    populations = {
        ENROLLED: Population(ENROLLED, "enrolled", SUBJECTS),
        SAFETY: Population(SAFETY, "infused", SUBJECTS),
    }
    table = adverse_event_datasets(_tables(relatedness), populations)["teae_by_subject"].table
    return dict(zip(table["subject_id"], table["related_teae"].astype(bool), strict=True))


def test_a_blank_relatedness_counts_as_related() -> None:
    assert _related([None, "unrelated", "unlikely", "possible"]) == {
        "A": True,
        "B": False,
        "C": False,
        "D": True,
    }


def test_an_empty_text_relatedness_counts_as_related() -> None:
    assert _related(["", " ", "unrelated", "definite"]) == {"A": True, "B": True, "C": False, "D": True}


@settings(max_examples=property_examples(30), deadline=None)
@given(
    st.lists(
        st.sampled_from([None, "", "unrelated", "unlikely", "possible", "probable", "definite"]),
        min_size=4,
        max_size=4,
    )
)
def test_only_an_assessed_unrelated_or_unlikely_is_not_related(values: list[str | None]) -> None:
    expected = {s: v not in ("unrelated", "unlikely") for s, v in zip(SUBJECTS, values, strict=True)}
    assert _related(values) == expected


ASSESSMENTS = [
    None,
    "",
    "  ",
    "unrelated",
    " Unlikely ",
    "UNRELATED",
    "unlikely",
    "Possible",
    "probable",
    "definite",
]


def _datasets(relatedness: list[str | None]):  # type: ignore[no-untyped-def]
    populations = {
        ENROLLED: Population(ENROLLED, "enrolled", SUBJECTS),
        SAFETY: Population(SAFETY, "infused", SUBJECTS),
    }
    return adverse_event_datasets(_tables(relatedness), populations)


def test_the_summary_notes_the_events_counted_as_related_without_an_assessment() -> None:
    # events 1 and 5 (A, blank and None) and 2 (B, " "): 3 TEAEs in 2 subjects without a relatedness
    notes = _datasets([None, " ", "unrelated", "possible", ""])["teae_summary"].notes
    assert any("3 TEAEs in 2 subjects had no relatedness recorded; counted as related" in n for n in notes)


def test_no_note_when_every_relatedness_is_recorded() -> None:
    notes = _datasets(["unrelated", "possible", "unlikely", "definite"])["teae_summary"].notes
    assert not any("no relatedness recorded" in n for n in notes)


def test_case_and_whitespace_of_an_assessment_are_ignored() -> None:
    assert _related([" Unlikely ", "UNRELATED", " Possible", "definite "]) == {
        "A": False,
        "B": False,
        "C": True,
        "D": True,
    }


def test_one_blank_event_makes_a_subject_related_whatever_its_other_events() -> None:
    # A: unrelated (event 1) + blank (event 5) → related; B: unlikely + unrelated → not related
    assert _related(["unrelated", "unlikely", "possible", "unrelated", None, "unrelated"]) == {
        "A": True,
        "B": False,
        "C": True,
        "D": False,
    }


@settings(max_examples=property_examples(30), deadline=None)
@given(
    st.lists(
        st.sampled_from(ASSESSMENTS),
        min_size=4,
        max_size=12,
    )
)
def test_a_subject_is_related_when_any_event_is_not_assessed_unrelated(values: list[str | None]) -> None:
    # event i belongs to subject SUBJECTS[i % 4]
    expected = {s: False for s in SUBJECTS}
    for i, v in enumerate(values):
        if (v or "").strip().lower() not in ("unrelated", "unlikely"):
            expected[SUBJECTS[i % 4]] = True
    assert _related(values) == expected
