"""`grade_icans` refuses an ICE above 0 for an unarousable patient, as the ICANS form does (review of branch
grad; D-19.963).

ASTCT 2019 ICANS (Lee DW et al., BBMT 2019;25:625-638; PMC9327779 Table 2): the ICE domain is grade 4 when
"the patient is unarousable and unable to perform ICE" (ICANS-1); an unarousable patient has no ICE score
above 0. The form refuses the pair (`parse_icans_frame`), but `grade_icans` graded it: with
``consciousness_other_cause=True`` (the unarousability is sedation, ICANS-5) ICE 1 was graded 3 and ICE 5
graded 2, grades of a score the patient cannot have.
"""

from __future__ import annotations

import pytest

from cartrial.columns import RowProblems
from cartrial.errors import InputError
from cartrial.grading import grade_icans
from cartrial.grading.icans import SCORED_UNAROUSABLE, SCORED_UNAROUSABLE_ALLOWED


@pytest.mark.parametrize("other_cause", [False, True])
@pytest.mark.parametrize("ice", [1, 5, 10])
def test_grade_icans_refuses_an_unarousable_ice_above_zero(ice: int, other_cause: bool) -> None:
    with pytest.raises(InputError) as raised:
        grade_icans(consciousness="unarousable", ice_total=ice, consciousness_other_cause=other_cause)
    (problem,) = raised.value.problems
    assert (problem.field, problem.message, problem.allowed) == (
        "consciousness",
        SCORED_UNAROUSABLE,
        SCORED_UNAROUSABLE_ALLOWED,
    )
    assert str(ice) not in problem.message


def test_grade_icans_keeps_an_unarousable_ice_of_zero_or_none() -> None:
    """ICE 0 or not assessable with an unarousable patient: grade 4 (ICANS-1); attributed to another cause,
    neither the consciousness nor the ICE domain counts (ICANS-5): grade 0."""
    assert grade_icans(consciousness="unarousable", ice_total=0).grade == 4
    assert grade_icans(consciousness="unarousable", ice_total=None).grade == 4
    assert grade_icans(consciousness="unarousable", ice_total=0, consciousness_other_cause=True).grade == 0


def test_the_form_and_the_grader_share_one_message() -> None:
    """The form's problem is the grader's constant (one rule, two readers)."""
    import pandas as pd

    from cartrial.grading.tables import parse_icans_frame

    frame = pd.DataFrame(
        {
            "subject_id": ["S1"],
            "assessed_at": ["2024-01-15T08:00Z"],
            "consciousness": ["unarousable"],
            "ice_total": ["5"],
            "seizure": ["none"],
            "motor": ["none"],
            "cerebral_edema": ["none"],
        }
    )
    problems = RowProblems("icans.csv")
    parse_icans_frame(frame, problems)
    assert [(p.field, p.message, p.allowed) for p in problems.all()] == [
        ("consciousness", SCORED_UNAROUSABLE, SCORED_UNAROUSABLE_ALLOWED)
    ]
