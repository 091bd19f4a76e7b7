"""A history whose first cohort is not at the design's start dose (D-19.256). The 3+3 rule refuses it (a 3+3
history starts where the rule does); the model-based and interval designs decide from any history, and
`fit` said nothing when the first cohort departed from `start_dose` — a start the design did not make went
unrecorded in the recommendation an investigator files."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.escalation import Boin, Crm, I3plus3, Mtpi2

SKELETON = (0.05, 0.1, 0.2, 0.3, 0.45)


def _designs(start: int) -> list:  # type: ignore[type-arg]
    return [
        Boin(5, 0.3, start_dose=start),
        Mtpi2(5, 0.3, start_dose=start),
        I3plus3(5, 0.3, start_dose=start),
        Crm(SKELETON, 0.3, start_dose=start),
    ]


def _noted(fit) -> list[str]:  # type: ignore[no-untyped-def]
    return [r for r in fit.reasons if "start dose" in r and "first cohort" in r]


@settings(max_examples=property_examples(40), deadline=None)
@given(start=st.integers(1, 5), first=st.integers(1, 5), dlts=st.integers(0, 3))
def test_a_first_cohort_away_from_the_start_dose_is_noted(start: int, first: int, dlts: int) -> None:
    outcomes = f"{first}" + "T" * dlts + "N" * (3 - dlts)
    for design in _designs(start):
        noted = _noted(design.fit(outcomes))
        if first == start:
            assert noted == [], design.name
        else:
            assert len(noted) == 1, design.name
            assert f"level {first}" in noted[0] and f"start dose {start}" in noted[0]


def test_the_note_does_not_change_the_decision() -> None:
    for start, design in zip((3, 1), (Boin(5, 0.3, start_dose=3), Boin(5, 0.3)), strict=True):
        fit = design.fit("1NNN")
        assert fit.next_dose == 2 and bool(_noted(fit)) == (start != 1)
