"""Screening defects found by the protocol attack (D-19.808, D-19.809).

1. A laboratory threshold in multiples of the upper limit of normal is compared as the protocol writes it
   (value against threshold × ULN, in decimal): creatinine 1.65 mg/dL with ULN 1.1 mg/dL is exactly
   1.5 × ULN (1.5 × 1.1 = 1.65 by hand), ALT 2.1 µkat/L with ULN 0.7 µkat/L exactly 3 × ULN (3 × 0.7 = 2.1).
   In binary floating point 1.65 / 1.1 = 1.4999999999999998 and 2.1 / 0.7 = 3.0000000000000004, so the
   boundary case fell on the wrong side of ≥ / ≤.
2. Screening as of a date (`screen(..., screening_date)`, ``cartrial screen --screening-date``) uses only the
   records dated on or before it (docs/protocol.md "Candidate files": "records after that date are then not
   used"): an AQP4-IgG test, a diagnosis or an EDSS dated later was used, and a treatment's duration ran to
   a last dose after the date.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.protocol import (
    Candidate,
    CriterionStatus,
    Protocol,
    ScreeningResult,
    Verdict,
    evaluate_criterion,
    load_protocol,
    screen,
)

from .test_protocol_screening import BASE  # the minimal protocol the screening tests vary

MET, NOT_MET, UNKNOWN = CriterionStatus.MET, CriterionStatus.NOT_MET, CriterionStatus.CANNOT_ASSESS
SCREENING = date(2024, 3, 15)


def protocol_with(rule: dict[str, Any], kind: str = "inclusion") -> Protocol:
    criterion = {"id": "c0", "kind": kind, "text": "criterion", "rule": rule}
    return Protocol.model_validate({**BASE, "eligibility": {"criteria": [criterion]}})


def result_of(
    rule: dict[str, Any], candidate: dict[str, Any], kind: str = "inclusion", on: date | None = None
) -> ScreeningResult:
    return screen(protocol_with(rule, kind), Candidate.model_validate({"id": "X", **candidate}), on)


# --------------------------------------------------------------------------- x ULN at the boundary


def uln_rule(analyte: str, comparator: str, value: float) -> dict[str, Any]:
    return {
        "type": "lab_threshold",
        "analyte": analyte,
        "comparator": comparator,
        "value": value,
        "unit": "x ULN",
    }


def lab(analyte: str, value: float, unit: str, uln: float) -> dict[str, Any]:
    return {"labs": [{"analyte": analyte, "value": value, "unit": unit, "upper_limit_normal": uln}]}


def test_exclusion_at_exactly_1_5_uln_excludes() -> None:
    """Exclusion "creatinine ≥ 1.5 × ULN": 1.65 mg/dL with ULN 1.1 mg/dL is 1.5 × 1.1 = 1.65, exactly the
    threshold, so the exclusion is met and the candidate is not eligible (it was eligible: 1.65 / 1.1 is
    1.4999999999999998 in binary floating point)."""
    result = result_of(uln_rule("creatinine", ">=", 1.5), lab("creatinine", 1.65, "mg/dL", 1.1), "exclusion")
    assert result.criteria[0].status is MET
    assert result.verdict is Verdict.NOT_ELIGIBLE
    below = result_of(uln_rule("creatinine", ">=", 1.5), lab("creatinine", 1.64, "mg/dL", 1.1), "exclusion")
    assert below.criteria[0].status is NOT_MET


def test_inclusion_at_exactly_3_uln_is_met() -> None:
    """Inclusion "ALT ≤ 3 × ULN": 2.1 µkat/L with ULN 0.7 µkat/L is 3 × 0.7 = 2.1, exactly 3 × ULN, so it is
    met (2.1 / 0.7 is 3.0000000000000004 in binary floating point); 2.11 is above, not met; "< 3 × ULN" is not
    met at the boundary."""
    assert result_of(uln_rule("alt", "<=", 3), lab("ALT", 2.1, "µkat/L", 0.7)).criteria[0].status is MET
    assert result_of(uln_rule("alt", "<=", 3), lab("ALT", 2.11, "µkat/L", 0.7)).criteria[0].status is NOT_MET
    assert result_of(uln_rule("alt", "<", 3), lab("ALT", 2.1, "µkat/L", 0.7)).criteria[0].status is NOT_MET
    assert result_of(uln_rule("alt", ">", 3), lab("ALT", 2.1, "µkat/L", 0.7)).criteria[0].status is NOT_MET


@settings(max_examples=property_examples(200), deadline=None)
@given(
    uln_hundredths=st.integers(min_value=1, max_value=100_000),
    multiple_tenths=st.integers(min_value=1, max_value=100),
)
def test_a_value_of_exactly_k_uln_is_on_the_boundary(uln_hundredths: int, multiple_tenths: int) -> None:
    """A result equal to k × ULN as written in decimals (ULN with 2 decimals, k with 1; the value is their
    exact product, 3 decimals, computed in integers) meets ≤ k and ≥ k and neither < k nor > k."""
    uln = uln_hundredths / 100
    k = multiple_tenths / 10
    value = (uln_hundredths * multiple_tenths) / 1000  # exact decimal product, read as the lab would type it
    candidate = lab("alt", value, "U/L", uln)
    statuses = {
        op: result_of(uln_rule("alt", op, k), candidate).criteria[0].status for op in ("<=", ">=", "<", ">")
    }
    assert statuses == {"<=": MET, ">=": MET, "<": NOT_MET, ">": NOT_MET}


# --------------------------------------------------------------------------- screening as of a date

EARLIER = date(2024, 1, 15)  # screened as of this date; the records below are dated 2024-02-01


def test_aqp4_igg_test_after_the_screening_date_is_not_used() -> None:
    """The only AQP4-IgG test is dated after the screening date: nothing was known on that day, so the
    criterion cannot be assessed (it was met)."""
    rule = {"type": "aqp4_igg_seropositive"}
    later = {"aqp4_igg": [{"result": "positive", "assay": "live_cell_based", "date": "2024-02-01"}]}
    result = result_of(rule, later, on=EARLIER).criteria[0]
    assert result.status is UNKNOWN and result.missing == ("aqp4_igg",)
    # an earlier negative and a later positive: negative as of the screening date
    both = {
        "aqp4_igg": [
            {"result": "negative", "assay": "live_cell_based", "date": "2023-12-01"},
            {"result": "positive", "assay": "live_cell_based", "date": "2024-02-01"},
        ]
    }
    assert result_of(rule, both, on=EARLIER).criteria[0].status is NOT_MET
    assert result_of(rule, both, on=date(2024, 2, 1)).criteria[0].status is MET


def test_diagnosis_after_the_screening_date_is_not_used() -> None:
    """A diagnosis dated 2024-02-01 had not been made on 2024-01-15: cannot assess (it was met)."""
    rule = {"type": "diagnosis"}
    candidate = {"diagnosis": {"condition": "nmosd", "criteria": "ipnd_2015", "date": "2024-02-01"}}
    result = result_of(rule, candidate, on=EARLIER).criteria[0]
    assert result.status is UNKNOWN and result.missing == ("diagnosis",)
    assert result_of(rule, candidate, on=date(2024, 2, 1)).criteria[0].status is MET


def test_edss_after_the_screening_date_is_not_used() -> None:
    """An EDSS of 9.0 dated 2024-02-01 is not the EDSS at screening on 2024-01-15: cannot assess (the
    candidate was not eligible by a score not yet measured)."""
    rule = {"type": "edss_range", "min_score": 0, "max_score": 8.0}
    candidate = {"edss": {"score": 9.0, "date": "2024-02-01"}}
    result = result_of(rule, candidate, on=EARLIER).criteria[0]
    assert result.status is UNKNOWN and result.missing == ("edss",)
    assert result_of(rule, candidate, on=date(2024, 2, 1)).criteria[0].status is NOT_MET


def test_treatment_duration_stops_at_the_screening_date() -> None:
    """Azathioprine from 2023-01-01 to a last dose on 2024-02-01: on 2024-01-15 it had been taken for 12
    months and 14 days (more than 12 months: met); on 2023-12-15 for 11 months and 14 days, not more than
    12 months, although the record's last dose lies 13 months after the start (it was met)."""
    rule = {"type": "immunosuppressant_refractory"}
    candidate = {
        "treatments": [
            {
                "agent": "azathioprine",
                "therapy_classes": ["immunosuppressant"],
                "start_date": "2023-01-01",
                "last_dose_date": "2024-02-01",
                "poor_control": True,
            }
        ]
    }
    assert result_of(rule, candidate, on=EARLIER).criteria[0].status is MET
    assert result_of(rule, candidate, on=date(2023, 12, 15)).criteria[0].status is NOT_MET


def test_relapse_on_treatment_counts_only_relapses_up_to_the_screening_date() -> None:
    """poor_control_evidence relapse_on_treatment: the only relapse on treatment (2024-01-20) is after the
    screening date 2024-01-15, so no relapse on treatment was known: not met (it was met)."""
    rule = {"type": "immunosuppressant_refractory", "poor_control_evidence": "relapse_on_treatment"}
    candidate = {
        "treatments": [
            {
                "agent": "azathioprine",
                "therapy_classes": ["immunosuppressant"],
                "start_date": "2022-01-01",
                "last_dose_date": "2024-02-01",
            }
        ],
        "relapses": [{"onset_date": "2024-01-20"}],
    }
    assert result_of(rule, candidate, on=EARLIER).criteria[0].status is NOT_MET


def test_washout_ignores_a_treatment_started_after_the_screening_date() -> None:
    """Rituximab first given on 2024-02-01: on 2024-01-15 the candidate had never been exposed, so the
    6-month washout is met (it was not met)."""
    rule = {"type": "washout", "therapy_classes": ["anti_cd20"], "min_months": 6}
    candidate = {
        "treatments": [
            {
                "agent": "rituximab",
                "therapy_classes": ["anti_cd20"],
                "start_date": "2024-02-01",
                "last_dose_date": "2024-02-01",
            }
        ]
    }
    assert result_of(rule, candidate, on=EARLIER).criteria[0].status is MET
    # dosed before and after the date: taken during the 6 months before it, so not met
    earlier_start = {"treatments": [{**candidate["treatments"][0], "start_date": "2023-12-01"}]}
    assert result_of(rule, earlier_start, on=EARLIER).criteria[0].status is NOT_MET


@pytest.mark.parametrize("field", ["aqp4", "diagnosis", "edss"])
def test_records_on_the_screening_date_are_used(field: str) -> None:
    """A record dated on the screening date itself is used (on or before)."""
    rules: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
        "aqp4": (
            {"type": "aqp4_igg_seropositive"},
            {"aqp4_igg": [{"result": "positive", "assay": "cell_based", "date": "2024-01-15"}]},
        ),
        "diagnosis": (
            {"type": "diagnosis"},
            {"diagnosis": {"condition": "nmosd", "criteria": "ipnd_2015", "date": "2024-01-15"}},
        ),
        "edss": ({"type": "edss_range", "max_score": 8.0}, {"edss": {"score": 4.0, "date": "2024-01-15"}}),
    }
    rule, candidate = rules[field]
    assert result_of(rule, candidate, on=EARLIER).criteria[0].status is MET


# --------------------------------------------------------------------------- "more than" vs "at least"


def azathioprine(start: str, last: str) -> dict[str, Any]:
    return {
        "screening_date": SCREENING,
        "treatments": [
            {
                "agent": "azathioprine",
                "therapy_classes": ["immunosuppressant"],
                "start_date": start,
                "last_dose_date": last,
                "poor_control": True,
            }
        ],
    }


@pytest.mark.parametrize(
    ("comparator", "last", "expected"),
    [
        (">", "2023-01-01", NOT_MET),  # NCT04561557 "more than one year": exactly 12 months is not more
        (">", "2023-01-02", MET),
        (">=", "2023-01-01", MET),  # "at least 12 months": 2022-01-01 + 12 calendar months = 2023-01-01
        (">=", "2022-12-31", NOT_MET),
    ],
)
def test_refractory_duration_comparator(comparator: str, last: str, expected: CriterionStatus) -> None:
    """The duration's comparison is the protocol's: "more than 12 months" (">", the default, NCT04561557)
    or "at least 12 months" (">="): azathioprine from 2022-01-01 to 2023-01-01 is exactly 12 calendar months
    (D-19.810)."""
    rule = {"type": "immunosuppressant_refractory", "duration_comparator": comparator}
    assert result_of(rule, azathioprine("2022-01-01", last)).criteria[0].status is expected


def test_gmg_protocol_at_least_12_months_admits_exactly_12() -> None:
    """The gMG example protocol (tests/data/indication-gmg) states "Refractory to at least two
    immunosuppressants each used for at least 12 months": two agents each taken exactly 12 calendar months
    (2020-01-10 to 2021-01-10 and 2021-02-01 to 2022-02-01) meet it. The rule applied NCT04561557's
    "more than one year" to every indication, so this candidate was not met."""
    protocol = load_protocol(
        Path(__file__).resolve().parents[1] / "data" / "indication-gmg" / "protocol.yaml"
    )
    criterion = next(c for c in protocol.eligibility.criteria if c.id == "inc_refractory")
    candidate = Candidate.model_validate(
        {
            "id": "MG-X",
            "screening_date": SCREENING,
            "treatments": [
                {
                    "agent": agent,
                    "therapy_classes": ["immunosuppressant"],
                    "start_date": start,
                    "last_dose_date": last,
                    "poor_control": True,
                }
                for agent, start, last in (
                    ("azathioprine", "2020-01-10", "2021-01-10"),
                    ("mycophenolate mofetil", "2021-02-01", "2022-02-01"),
                )
            ],
        }
    )
    assert evaluate_criterion(criterion, candidate, SCREENING).status is MET


# --------------------------------------------------------------------------- agents, not courses


def course(agent: str, start: str, last: str, poor: bool | None = True) -> dict[str, Any]:
    return {
        "agent": agent,
        "therapy_classes": ["immunosuppressant"],
        "start_date": start,
        "last_dose_date": last,
        "poor_control": poor,
    }


TWO_AGENTS = {"type": "immunosuppressant_refractory", "min_agents": 2}


def test_two_courses_of_one_agent_are_one_agent() -> None:
    """ "At least two immunosuppressants" (the gMG and SLE example protocols, min_agents 2) counts agents: two
    courses of azathioprine, each more than 12 months with poor control, are one agent, so not met (they
    counted as two)."""
    one_agent = {
        "screening_date": SCREENING,
        "treatments": [
            course("azathioprine", "2018-01-01", "2019-06-01"),
            course("Azathioprine ", "2021-01-01", "2022-06-01"),  # the same agent, as typed again
        ],
    }
    result = result_of(TWO_AGENTS, one_agent).criteria[0]
    assert result.status is NOT_MET
    two_agents = {
        "screening_date": SCREENING,
        "treatments": [
            course("azathioprine", "2018-01-01", "2019-06-01"),
            course("mycophenolate mofetil", "2021-01-01", "2022-06-01"),
        ],
    }
    assert result_of(TWO_AGENTS, two_agents).criteria[0].status is MET


def test_an_agent_qualifies_by_any_of_its_courses() -> None:
    """A short course and a qualifying course of the same agent: the agent qualifies once; with a second agent
    whose poor control is not recorded, the rule cannot be decided (one qualifying agent, one unknown)."""
    candidate = {
        "screening_date": SCREENING,
        "treatments": [
            course("azathioprine", "2017-01-01", "2017-04-01"),  # 3 months
            course("azathioprine", "2018-01-01", "2019-06-01"),  # 17 months
            course("tacrolimus", "2021-01-01", "2022-06-01", poor=None),
        ],
    }
    result = result_of(TWO_AGENTS, candidate).criteria[0]
    assert result.status is UNKNOWN and result.missing == ("treatments[].poor_control",)
    # the unknown agent is the short course's agent, already qualifying: it is not a second agent
    repeat_unknown = {
        "screening_date": SCREENING,
        "treatments": [
            course("azathioprine", "2018-01-01", "2019-06-01"),
            course("azathioprine", "2020-01-01", "2021-06-01", poor=None),
        ],
    }
    assert result_of(TWO_AGENTS, repeat_unknown).criteria[0].status is NOT_MET


@pytest.mark.parametrize("unit", ["x ULN", "× ULN", "xULN", "X ULN", "x uln", "×ULN"])
def test_uln_unit_spellings(unit: str) -> None:
    """The unit of "ALT ≤ 3 × ULN" as protocols type it (× or x, with or without a space, any case) is the
    multiple of the upper limit of normal: ALT 120 U/L with ULN 40 U/L is 3 × ULN, met (written "× ULN" the
    rule compared units and could never be assessed; D-19.813)."""
    rule = {"type": "lab_threshold", "analyte": "alt", "comparator": "<=", "value": 3, "unit": unit}
    assert result_of(rule, lab("alt", 120, "U/L", 40)).criteria[0].status is MET
    assert result_of(rule, lab("alt", 121, "U/L", 40)).criteria[0].status is NOT_MET


# --------------------------------------------------------------------------- a recorded age on another day

AGE_18_75 = {"type": "age_range", "min_years": 18, "max_years": 75}


def aged(years: int) -> dict[str, Any]:
    return {"screening_date": SCREENING, "age_years": years}


def test_a_recorded_age_is_moved_to_another_screening_date() -> None:
    """age_years is the age on the candidate's screening date (2024-03-15). Screened as of 2026-06-01, two
    years and 2½ months later, a candidate aged 74 is 76 or 77 (the birthday is unknown): over 75, not met
    (it used 74, met). Aged 72: 74 or 75, met. Aged 73: 75 or 76, cannot be decided without the date of
    birth. Exactly two years later (2026-03-15) a birthday has passed exactly twice: aged 73 is 75, met."""
    later = date(2026, 6, 1)
    assert result_of(AGE_18_75, aged(74), on=later).criteria[0].status is NOT_MET
    assert result_of(AGE_18_75, aged(72), on=later).criteria[0].status is MET
    undecided = result_of(AGE_18_75, aged(73), on=later).criteria[0]
    assert undecided.status is UNKNOWN and undecided.missing == ("date_of_birth",)
    assert result_of(AGE_18_75, aged(73), on=date(2026, 3, 15)).criteria[0].status is MET
    assert result_of(AGE_18_75, aged(74), on=date(2026, 3, 15)).criteria[0].status is NOT_MET


def test_a_recorded_age_moved_back_to_an_earlier_screening_date() -> None:
    """Screened as of 2023-01-10, one year and 2 months before the recorded age (2024-03-15): a recorded 19
    is 17 or 18 then, cannot be decided; a recorded 20 is 18 or 19, met; a recorded 18 is 16 or 17, not met.
    On its own date the age is used as recorded."""
    earlier = date(2023, 1, 10)
    undecided = result_of(AGE_18_75, aged(19), on=earlier).criteria[0]
    assert undecided.status is UNKNOWN and undecided.missing == ("date_of_birth",)
    assert result_of(AGE_18_75, aged(20), on=earlier).criteria[0].status is MET
    assert result_of(AGE_18_75, aged(18), on=earlier).criteria[0].status is NOT_MET
    assert result_of(AGE_18_75, aged(18), on=SCREENING).criteria[0].status is MET
    assert result_of(AGE_18_75, aged(75)).criteria[0].status is MET


# --------------------------------------------------------------------------- two results on the latest day

ANC_1 = {
    "type": "lab_threshold",
    "analyte": "neutrophils",
    "comparator": ">=",
    "value": 1.0,
    "unit": "10^9/L",
}


def anc(*values: float, on: str = "2024-03-10") -> dict[str, Any]:
    return {
        "screening_date": SCREENING,
        "labs": [{"analyte": "neutrophils", "value": v, "unit": "10^9/L", "date": on} for v in values],
    }


@pytest.mark.parametrize("order", [(1.2, 0.9), (0.9, 1.2)])
def test_same_day_results_that_disagree_cannot_be_assessed(order: tuple[float, float]) -> None:
    """Two neutrophil counts on the latest day, 1.2 and 0.9 × 10^9/L, against ">= 1.0": one meets it, one
    does not, and a date has no time to say which is later. The criterion cannot be assessed, naming the lab
    (it took whichever was listed first: met one way round, not met the other; D-19.815)."""
    result = result_of(ANC_1, anc(*order)).criteria[0]
    assert result.status is UNKNOWN and result.missing == ("labs[neutrophils]",)


def test_same_day_results_that_agree_decide() -> None:
    """Two counts on the latest day that both meet (1.2, 1.5) or both fail (0.8, 0.9) decide the criterion;
    an older result is not the latest and does not count."""
    assert result_of(ANC_1, anc(1.2, 1.5)).criteria[0].status is MET
    assert result_of(ANC_1, anc(0.8, 0.9)).criteria[0].status is NOT_MET
    older_low = {
        "screening_date": SCREENING,
        "labs": [
            {"analyte": "neutrophils", "value": 0.5, "unit": "10^9/L", "date": "2024-03-01"},
            {"analyte": "neutrophils", "value": 1.5, "unit": "10^9/L", "date": "2024-03-10"},
        ],
    }
    assert result_of(ANC_1, older_low).criteria[0].status is MET


# --------------------------------------------------------------------------- a recorded age and 29 February


def test_a_recorded_age_of_a_29_february_birthday_is_not_decided_by_whole_years() -> None:
    """Under the clamping rule (`completed_years`: born 29 February 2000 is 18 on 28 February 2018) a whole
    number of years between the dates does not fix the age. Aged 75 on 2023-02-28: born 1947-03-01 to
    1948-02-28, or 1948-02-29 (75 on 2023-02-28, whose birthday falls on the 28th). On 2024-02-28 those
    born up to 1948-02-28 are 76, the one born 1948-02-29 is still 75 (2024 has a 29th): 75 or 76, so
    "18-75" cannot be decided (it was not met, "so 76", though born 1948-02-29 meets it)."""
    candidate = {"screening_date": "2023-02-28", "age_years": 75}
    on = date(2024, 2, 28)
    result = result_of(AGE_18_75, candidate, on=on).criteria[0]
    assert result.status is UNKNOWN and result.missing == ("date_of_birth",)
    assert result_of(AGE_18_75, {"date_of_birth": "1948-02-29"}, on=on).criteria[0].status is MET
    # Aged 15 on 2024-02-28: born 2008-03-01 to 2009-02-28 (17 on 2026-02-28) or 2008-02-29 (18 on
    # 2026-02-28, the clamped birthday): "≥ 18" cannot be decided (it was not met, "so 17").
    adult = {"type": "age_range", "min_years": 18}
    teen = {"screening_date": "2024-02-28", "age_years": 15}
    on = date(2026, 2, 28)
    result = result_of(adult, teen, on=on).criteria[0]
    assert result.status is UNKNOWN and result.missing == ("date_of_birth",)
    assert result_of(adult, {"date_of_birth": "2008-02-29"}, on=on).criteria[0].status is MET


_LEAP_YEARS = range(1940, 2030, 4)
_LEAP_BIRTHS = st.sampled_from([date(y, 2, d) for y in _LEAP_YEARS for d in (28, 29)])
_DAYS = st.dates(min_value=date(1940, 1, 1), max_value=date(2040, 12, 31))
_FEBRUARY_ENDS = st.sampled_from(
    [date(y, 2, 28) for y in range(1990, 2041)]
    + [date(y, 2, 29) for y in range(1992, 2041, 4)]
    + [date(y, 3, 1) for y in range(1990, 2041)]
)


@settings(max_examples=property_examples(250), deadline=None)
@given(
    born=st.one_of(_LEAP_BIRTHS, _DAYS),
    recorded=st.one_of(_FEBRUARY_ENDS, _DAYS),
    on=st.one_of(_FEBRUARY_ENDS, _DAYS),
    low=st.integers(-2, 2),
    span=st.integers(0, 3),
)
def test_a_moved_recorded_age_never_contradicts_the_date_of_birth(
    born: date, recorded: date, on: date, low: int, span: int
) -> None:
    """Any date of birth (weighted to 28/29 February) and two dates after it (weighted to the end of
    February): the age the date of birth gives on the screening date (`completed_years`, the project's rule)
    is among the ages a recorded age moves to, and the verdict from the recorded age, against bounds around
    the true age, is the verdict from the date of birth or cannot assess."""
    from cartrial.protocol.calendar import completed_years
    from cartrial.protocol.screening import _recorded_age_on

    if recorded < born or on < born or completed_years(born, recorded) > 130:
        return
    age = completed_years(born, recorded)
    true_age = completed_years(born, on)
    assert true_age in _recorded_age_on(age, recorded, on)
    minimum = max(true_age + low, 0)
    rule = {"type": "age_range", "min_years": minimum, "max_years": minimum + span}
    by_age = result_of(rule, {"screening_date": recorded, "age_years": age}, on=on).criteria[0].status
    by_birth = result_of(rule, {"date_of_birth": born}, on=on).criteria[0].status
    assert by_age in (by_birth, UNKNOWN)


# --------------------------------------------------------------------------- washout wording


def test_washout_reason_names_the_screening_date_when_the_treatment_started_later() -> None:
    """Rituximab is recorded but first given after the screening date: the reason must not say that no
    anti-CD20 treatment is recorded; it says none started on or before the screening date (the refractoriness
    rule's wording)."""
    rule = {"type": "washout", "therapy_classes": ["anti_cd20"], "min_months": 6}
    candidate = {
        "treatments": [
            {
                "agent": "rituximab",
                "therapy_classes": ["anti_cd20"],
                "start_date": "2024-02-01",
                "last_dose_date": "2024-02-01",
            }
        ]
    }
    result = result_of(rule, candidate, on=EARLIER).criteria[0]
    assert result.status is MET
    assert "(started on or before the screening date)" in result.reason


# --------------------------------------------------------------------------- agent spelling


def test_an_agent_written_with_hyphens_or_spaces_is_one_agent() -> None:
    """ "mycophenolate-mofetil" and "mycophenolate mofetil" are one agent (the generic name, spelled with a
    hyphen or a space): with min_agents 2, not met (they counted as two)."""
    candidate = {
        "screening_date": SCREENING,
        "treatments": [
            course("mycophenolate-mofetil", "2018-01-01", "2019-06-01"),
            course("Mycophenolate  Mofetil", "2021-01-01", "2022-06-01"),
        ],
    }
    assert result_of(TWO_AGENTS, candidate).criteria[0].status is NOT_MET


def test_age_years_is_documented_as_the_age_on_the_screening_date() -> None:
    """The field's description (JSON schema, docs) says which day the recorded age is on (D-19.814)."""
    description = Candidate.model_json_schema()["properties"]["age_years"].get("description", "")
    assert "screening_date" in description
