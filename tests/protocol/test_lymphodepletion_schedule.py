"""The lymphodepletion regimen's days and the schedule's lymphodepletion visits agree (D-19.811).

The reference protocol gives cyclophosphamide and fludarabine on days -4, -3 and -2 (NCT04561557 registry,
docs/science/ct103a-nmosd-trial.md §3) and schedules the visits "Lymphodepletion day -4/-3/-2". A protocol
whose regimen moves to days -5 to -3 (the other common Flu/Cy timing) while its visits stay on -4 to -2 was
valid: the casebook then expected a lymphodepletion form on day -2, when no drug is given, and none on day
-5. `cartrial protocol check` names the day and the visit, with their lines.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cartrial.errors import InputError
from cartrial.protocol import load_protocol, parse_protocol

REFERENCE = Path(__file__).resolve().parents[2] / "examples" / "ct103a-nmosd" / "protocol.yaml"


def _shifted(text: str) -> str:
    """The reference protocol with both agents on days -5, -4, -3 (the schedule unchanged)."""
    assert text.count("days: [-4, -3, -2]") == 2
    return text.replace("days: [-4, -3, -2]", "days: [-5, -4, -3]")


def test_the_reference_protocol_agrees() -> None:
    protocol = load_protocol(REFERENCE)
    assert protocol.lymphodepletion is not None


def test_a_regimen_day_without_a_lymphodepletion_visit_is_refused() -> None:
    text = _shifted(REFERENCE.read_text(encoding="utf-8"))
    with pytest.raises(InputError) as caught:
        parse_protocol(text, "shifted.yaml")
    problems = caught.value.problems
    fields = sorted(p.field or "" for p in problems)
    # day -5 of each agent has no lymphodepletion visit; the day -2 visit lists lymphodepletion on no day
    # of the regimen
    assert fields == [
        "lymphodepletion.agents[0].days[0]",
        "lymphodepletion.agents[1].days[0]",
        "schedule.visits[4]",
    ], [p.as_dict() for p in problems]
    lines = text.splitlines()
    for problem in problems:
        assert problem.file == "shifted.yaml" and problem.line is not None
        if problem.field == "schedule.visits[4]":
            assert "Lymphodepletion day -2" in lines[problem.line - 1]
        else:
            assert "days: [-5, -4, -3]" in lines[problem.line - 1]
        assert problem.allowed


def test_a_schedule_without_lymphodepletion_visits_is_not_checked() -> None:
    """A schedule that lists lymphodepletion at no visit says nothing about its days (nothing to agree)."""
    text = _shifted(REFERENCE.read_text(encoding="utf-8"))
    text = text.replace(
        "assessments: [lymphodepletion, vitals, labs, adverse_events]",
        "assessments: [vitals, labs, adverse_events]",
    )
    text = text.replace(
        "assessments: [lymphodepletion, vitals, adverse_events]", "assessments: [vitals, adverse_events]"
    )
    assert "[lymphodepletion" not in text
    parse_protocol(text, "no-ld-visits.yaml")


def test_a_window_covering_the_regimen_day_is_enough() -> None:
    """A day inside a lymphodepletion visit's window counts (one visit on day -4 with window -1/+2 covers -5
    to -2)."""
    text = REFERENCE.read_text(encoding="utf-8")
    start = text.index("    - name: Lymphodepletion day -4")
    end = text.index("    - name: Day 0 (infusion)")
    one_visit = (
        "    - name: Lymphodepletion\n"
        "      study_day: -4\n"
        "      window_minus_days: 1\n"
        "      window_plus_days: 2\n"
        "      assessments: [lymphodepletion, vitals, labs, adverse_events]\n"
    )
    parse_protocol(_shifted(text[:start] + one_visit + text[end:]), "one-visit.yaml")


def test_a_visit_covers_the_days_of_its_window() -> None:
    """Day 7 with window −1/+2 covers days 6 to 9 inclusive, and no other day."""
    from cartrial.protocol.schedule import Visit

    visit = Visit(name="D7", study_day=7, window_minus_days=1, window_plus_days=2, assessments=["edss"])
    assert [day for day in range(3, 13) if visit.covers(day)] == [6, 7, 8, 9]
