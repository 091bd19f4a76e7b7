"""Eligibility rules and the screen (`cartrial.protocol.screen`).

Rule sources: NCT04561557 registry eligibility (ct103a-nmosd-trial.md §2): age 18-75; AQP4-IgG+ NMOSD by
the 2015 IPND criteria; ≥ 1 immunosuppressant > 1 year with poor control; "≥ 2 relapses in the last 12
months, or 3 relapses in the last 24 months with ≥ 1 in the 12 months before screening". Windows are
calendar months with end-of-month clamping (cartrial.protocol.calendar). Expected statuses are worked
out by hand from the dates in each test.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial import examples as cartrial_examples
from cartrial.protocol import (
    Candidate,
    CriterionStatus,
    Protocol,
    Verdict,
    load_candidate,
    load_protocol,
    screen,
)

BASE: dict[str, Any] = {
    "study": {
        "id": "T",
        "title": "t",
        "indication": "NMOSD",
        "phase": "phase_1",
        "sponsor": "s",
        "product": {"name": "x", "target_antigen": "BCMA"},
    },
    "dose_levels": [{"level": 1, "label": "a", "cells_per_kg": 5e5}],
    "escalation": {"design": "3+3", "dlt_window_days": 28},
    "schedule": {"visits": [{"name": "D28", "study_day": 28, "assessments": ["edss"]}]},
}

SCREENING = date(2024, 3, 15)


def protocol_with(*criteria: dict[str, Any]) -> Protocol:
    items = []
    for index, criterion in enumerate(criteria):
        items.append({"id": f"c{index}", "kind": "inclusion", "text": "criterion", **criterion})
    return Protocol.model_validate({**BASE, "eligibility": {"criteria": items}})


def status_of(
    rule: dict[str, Any], candidate: dict[str, Any], kind: str = "inclusion", on: date | None = None
) -> CriterionStatus:
    protocol = protocol_with({"rule": rule, "kind": kind})
    result = screen(protocol, Candidate.model_validate({"id": "X", **candidate}), on)
    return result.criteria[0].status


MET, NOT_MET, UNKNOWN = CriterionStatus.MET, CriterionStatus.NOT_MET, CriterionStatus.CANNOT_ASSESS
RELAPSE_RULE = {"type": "relapse_activity"}


def relapses(*days: str) -> dict[str, Any]:
    return {"screening_date": SCREENING, "relapses": [{"onset_date": d} for d in days]}


# --------------------------------------------------------------------------- relapse activity rule


@pytest.mark.parametrize(
    ("onsets", "expected"),
    [
        (("2023-06-01", "2024-01-10"), MET),  # 2 in 12 months
        (("2022-06-01", "2022-12-01", "2024-01-10"), MET),  # 3 in 24 with 1 in 12
        (("2022-04-01", "2022-06-01", "2022-12-01"), NOT_MET),  # 3 in 24, none in 12
        (("2022-06-01", "2024-01-10"), NOT_MET),  # 2 in 24, 1 in 12
        (("2024-01-10",), NOT_MET),
        ((), NOT_MET),  # an empty list means no relapses
        (("2021-01-01", "2021-06-01", "2021-09-01", "2024-01-10"), NOT_MET),  # old ones outside 24 months
    ],
)
def test_relapse_rule_registry_combinations(onsets: tuple[str, ...], expected: CriterionStatus) -> None:
    """NCT04561557: ≥ 2 in 12 months, or ≥ 3 in 24 months with ≥ 1 in 12 (screening 2024-03-15)."""
    assert status_of(RELAPSE_RULE, relapses(*onsets)) is expected


def test_relapse_exactly_12_months_before_screening() -> None:
    """Window start is 2023-03-15 for screening 2024-03-15: a relapse on that day counts with the default
    inclusive ends ("both", [U] documented choice), not with inclusive="end"; 2023-03-14 never counts."""
    assert status_of(RELAPSE_RULE, relapses("2023-03-15", "2023-09-01")) is MET
    assert status_of({**RELAPSE_RULE, "inclusive": "end"}, relapses("2023-03-15", "2023-09-01")) is NOT_MET
    assert status_of(RELAPSE_RULE, relapses("2023-03-14", "2023-09-01")) is NOT_MET


def test_relapse_on_the_screening_date_counts_and_after_it_does_not() -> None:
    """The window ends on the screening date (inclusive); when screening as of an earlier date, later
    relapses are ignored (counted from dated lists against the screening date, decisions §2). A candidate
    file whose own screening date precedes a record is refused (decisions §19), so the as-of case is run
    with the date given to `screen`."""
    assert status_of(RELAPSE_RULE, relapses("2023-09-01", "2024-03-15")) is MET
    as_of = {"relapses": [{"onset_date": d} for d in ("2023-09-01", "2024-03-16")]}
    assert status_of(RELAPSE_RULE, as_of, on=SCREENING) is NOT_MET


@pytest.mark.parametrize(
    ("first", "expected"),
    [("2023-02-28", MET), ("2023-02-27", NOT_MET), ("2023-03-01", MET)],
)
def test_relapse_window_with_leap_day_screening(first: str, expected: CriterionStatus) -> None:
    """Screening 2024-02-29: 12 months back is 2023-02-28 (no 29 Feb in 2023; clamp), so a relapse on
    2023-02-28 is inside, 2023-02-27 outside, 2023-03-01 inside (second relapse 2023-10-01)."""
    candidate = {"relapses": [{"onset_date": first}, {"onset_date": "2023-10-01"}]}
    assert status_of(RELAPSE_RULE, candidate, on=date(2024, 2, 29)) is expected


@pytest.mark.parametrize(("oldest", "expected"), [("2022-02-28", MET), ("2022-02-27", NOT_MET)])
def test_24_month_window_with_leap_day_screening(oldest: str, expected: CriterionStatus) -> None:
    """Screening 2024-02-29: 24 months back is 2022-02-28; 3 in 24 with 1 in 12 needs the oldest inside."""
    candidate = {"relapses": [{"onset_date": d} for d in (oldest, "2022-08-01", "2023-06-01")]}
    assert status_of(RELAPSE_RULE, candidate, on=date(2024, 2, 29)) is expected


def test_relapse_screening_in_a_common_year_after_a_leap_year() -> None:
    """Screening 2025-02-28: 12 months back is 2024-02-28, so 2024-02-28 counts and 2024-02-27 does not."""
    on = date(2025, 2, 28)
    assert (
        status_of(
            RELAPSE_RULE, {"relapses": [{"onset_date": "2024-02-28"}, {"onset_date": "2024-10-01"}]}, on=on
        )
        is MET
    )
    assert (
        status_of(
            RELAPSE_RULE, {"relapses": [{"onset_date": "2024-02-27"}, {"onset_date": "2024-10-01"}]}, on=on
        )
        is NOT_MET
    )


def test_missing_relapse_history_or_date_cannot_be_assessed() -> None:
    """Missing data gives cannot_assess naming the missing field (relapses, or the screening date)."""
    protocol = protocol_with({"rule": RELAPSE_RULE})
    result = screen(protocol, Candidate(id="X", screening_date=SCREENING)).criteria[0]
    assert result.status is UNKNOWN and result.missing == ("relapses",)
    no_date = screen(protocol, Candidate.model_validate({"id": "X", "relapses": []})).criteria[0]
    assert no_date.status is UNKNOWN and no_date.missing == ("screening_date",)


def test_screening_date_argument_overrides_the_candidates() -> None:
    """Relapses 2023-06-01 and 2024-01-10 are both within 12 months of 2024-03-15, not of 2025-03-15."""
    protocol = protocol_with({"rule": RELAPSE_RULE})
    candidate = Candidate.model_validate({"id": "X", **relapses("2023-06-01", "2024-01-10")})
    assert screen(protocol, candidate).verdict is Verdict.ELIGIBLE
    later = screen(protocol, candidate, date(2025, 3, 15))
    assert later.verdict is Verdict.NOT_ELIGIBLE and later.screening_date_source == "given"


def test_relapse_merging_option() -> None:
    """Default merge_window_days=30, anchor first (neuro-outcomes.md §4.2 [V], named by
    ct103a-nmosd-trial.md §2 for this rule): onsets 2023-09-01 and 2023-09-20 are one attack, so only 1
    in 12 months (not met); counting the records as given (merge_window_days: null), 2 (met)."""
    candidate = relapses("2023-09-01", "2023-09-20")
    assert status_of(RELAPSE_RULE, candidate) is NOT_MET
    assert status_of({**RELAPSE_RULE, "merge_window_days": 30}, candidate) is NOT_MET
    assert status_of({**RELAPSE_RULE, "merge_window_days": None}, candidate) is MET


def test_relapse_merge_window_is_strict_and_anchored() -> None:
    """neuro-outcomes.md §4.2: onsets < 30 days apart are one attack (strict): 2023-09-01 and 2023-10-01
    (30 days) are two attacks, 2023-09-30 (29 days) one. Anchor "first": 2023-09-01, 09-25, 10-15 → the
    third is 44 days after the first, so two attacks (met); anchor "chain": 20 days after the second, so
    one attack (not met)."""
    assert status_of(RELAPSE_RULE, relapses("2023-09-01", "2023-10-01")) is MET
    assert status_of(RELAPSE_RULE, relapses("2023-09-01", "2023-09-30")) is NOT_MET
    three = relapses("2023-09-01", "2023-09-25", "2023-10-15")
    assert status_of(RELAPSE_RULE, three) is MET
    assert status_of({**RELAPSE_RULE, "merge_anchor": "chain"}, three) is NOT_MET


def test_merged_attack_is_dated_by_its_first_onset() -> None:
    """An attack starts at its first onset: onsets 2023-03-01 and 2023-03-20 (19 days apart, one attack)
    date the attack 2023-03-01, outside the 12-month window from 2023-03-15 for screening 2024-03-15; with
    a relapse on 2023-10-01 that is 1 in 12 months and 2 in 24 (not met). Counted as given: 2 in 12
    (met)."""
    candidate = relapses("2023-03-01", "2023-03-20", "2023-10-01")
    assert status_of(RELAPSE_RULE, candidate) is NOT_MET
    assert status_of({**RELAPSE_RULE, "merge_window_days": None}, candidate) is MET


@pytest.mark.parametrize(
    ("onsets", "expected"),
    [
        (("2022-03-15", "2022-09-01", "2023-09-01"), MET),  # oldest exactly 24 months before: inside
        (("2022-03-14", "2022-09-01", "2023-09-01"), NOT_MET),  # one day earlier: outside
    ],
)
def test_relapse_exactly_24_months_before_screening(
    onsets: tuple[str, ...], expected: CriterionStatus
) -> None:
    """Screening 2024-03-15: the 24-month window starts 2022-03-15 (same day, calendar months); "3 in 24
    with ≥ 1 in 12" needs the oldest relapse inside (NCT04561557 registry rule, inclusive ends [U])."""
    assert status_of(RELAPSE_RULE, relapses(*onsets)) is expected


def test_relapse_on_leap_day_and_screening_the_following_march() -> None:
    """Screening 2025-03-01: 12 calendar months back is 2024-03-01, so a relapse on 2024-02-29 is outside
    and one on 2024-03-01 inside (second relapse 2024-10-01). Screening 2025-02-28: 2024-02-28 is the
    start, so 2024-02-29 is inside."""

    def candidate(first: str) -> dict[str, Any]:
        return {"relapses": [{"onset_date": first}, {"onset_date": "2024-10-01"}]}

    assert status_of(RELAPSE_RULE, candidate("2024-02-29"), on=date(2025, 3, 1)) is NOT_MET
    assert status_of(RELAPSE_RULE, candidate("2024-03-01"), on=date(2025, 3, 1)) is MET
    assert status_of(RELAPSE_RULE, candidate("2024-02-29"), on=date(2025, 2, 28)) is MET


@pytest.mark.parametrize(
    ("first", "calendar", "days"),
    [
        # screening 2024-03-15: calendar start 2023-03-15; 365 days back is 2023-03-16 (2024 is a leap year)
        ("2023-03-15", MET, NOT_MET),
        ("2023-03-16", MET, MET),
        ("2023-03-14", NOT_MET, NOT_MET),
    ],
)
def test_relapse_window_unit_option(first: str, calendar: CriterionStatus, days: CriterionStatus) -> None:
    """window_unit "calendar_months" (default) vs "days" (floor(12 × 365.25 / 12) = 365 days): across the
    leap day 2024-02-29 the two readings of "the last 12 months" differ by one day (hand-counted)."""
    candidate = relapses(first, "2023-10-01")
    assert status_of(RELAPSE_RULE, candidate) is calendar
    assert status_of({**RELAPSE_RULE, "window_unit": "days"}, candidate) is days


def test_relapse_result_records_counts_and_windows() -> None:
    """The result records the counts and the window starts used (2023-03-15 and 2022-03-15 for screening
    2024-03-15) and the rule parameters."""
    protocol = protocol_with({"rule": RELAPSE_RULE})
    result = screen(protocol, Candidate.model_validate({"id": "X", **relapses("2022-06-01", "2023-06-01")}))
    value = result.criteria[0].value
    assert value["relapses_last_12_months"] == 1 and value["relapses_last_24_months"] == 2
    assert value["short_window_start"] == date(2023, 3, 15) and value["long_window_start"] == date(
        2022, 3, 15
    )
    assert result.criteria[0].parameters["inclusive"] == "both"


# ------------------------------------------------------------------------------------ other rules

AGE = {"type": "age_range", "min_years": 18, "max_years": 75}


@pytest.mark.parametrize(
    ("born", "expected"),
    [
        ("2006-03-15", MET),  # 18th birthday on the screening day
        ("2006-03-16", NOT_MET),  # 17
        ("1948-03-16", MET),  # 75 years and 364 days
        ("1948-03-15", NOT_MET),  # 76 on the screening day
    ],
)
def test_age_range_inclusive_in_completed_years(born: str, expected: CriterionStatus) -> None:
    """Registry: 18-75 years inclusive, age in completed years at screening 2024-03-15."""
    assert status_of(AGE, {"screening_date": SCREENING, "date_of_birth": born}) is expected


def test_age_from_recorded_age_or_missing() -> None:
    """Without a date of birth the recorded age is used; without either, or without a screening date, the age
    cannot be assessed."""
    assert status_of(AGE, {"age_years": 40}) is MET
    assert status_of(AGE, {"age_years": 80}) is NOT_MET
    assert status_of(AGE, {}) is UNKNOWN
    assert status_of(AGE, {"date_of_birth": "1980-01-01"}) is UNKNOWN  # no screening date


AQP4 = {"type": "aqp4_igg_seropositive", "assay": "cell_based"}


@pytest.mark.parametrize(
    ("tests", "expected"),
    [
        ([{"result": "positive", "assay": "fixed_cell_based"}], MET),
        ([{"result": "positive", "assay": "flow_cytometry"}], MET),
        ([{"result": "negative", "assay": "live_cell_based"}], NOT_MET),
        ([{"result": "positive", "assay": "elisa"}], UNKNOWN),  # not by the required assay
        ([{"result": "negative", "assay": "cell_based"}, {"result": "positive", "assay": "cell_based"}], MET),
        ([], UNKNOWN),
        (None, UNKNOWN),
    ],
)
def test_aqp4_igg_by_cell_based_assay(tests: list[dict[str, str]] | None, expected: CriterionStatus) -> None:
    """AQP4-IgG seropositive by a cell-based assay (IPND 2015 recommendation; NCT05828212 wording)."""
    assert status_of(AQP4, {"aqp4_igg": tests}) is expected


def test_aqp4_any_assay_accepts_elisa() -> None:
    """The assay requirement is a parameter: `any` accepts an ELISA result."""
    assert (
        status_of({**AQP4, "assay": "any"}, {"aqp4_igg": [{"result": "positive", "assay": "elisa"}]}) is MET
    )


def test_diagnosis_rule() -> None:
    """2015 IPND criteria (Wingerchuk 2015) for NMOSD; the 2006 criteria do not satisfy the rule."""
    rule = {"type": "diagnosis"}
    assert status_of(rule, {"diagnosis": {"condition": "NMOSD", "criteria": "ipnd_2015"}}) is MET
    assert status_of(rule, {"diagnosis": {"condition": "nmosd", "criteria": "wingerchuk_2006"}}) is NOT_MET
    assert status_of(rule, {}) is UNKNOWN


REFRACTORY = {"type": "immunosuppressant_refractory"}


def treatment(start: str, end: str | None, poor: bool | None = True, ongoing: bool = False) -> dict[str, Any]:
    return {
        "agent": "azathioprine",
        "therapy_classes": ["immunosuppressant"],
        "start_date": start,
        "last_dose_date": end,
        "ongoing": ongoing,
        "poor_control": poor,
    }


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (treatment("2022-01-01", "2023-01-01"), NOT_MET),  # exactly 12 months: not "more than one year"
        (treatment("2022-01-01", "2023-01-02"), MET),
        (treatment("2022-01-01", "2023-06-01", poor=False), NOT_MET),
        (treatment("2022-01-01", "2023-06-01", poor=None), UNKNOWN),
        (treatment("2023-01-01", None, ongoing=True), MET),  # ongoing: to screening 2024-03-15
        (treatment("2023-06-01", None, ongoing=True), NOT_MET),
        (treatment("2022-01-01", None), UNKNOWN),  # stopped, last dose date missing
    ],
)
def test_immunosuppressant_refractory(item: dict[str, Any], expected: CriterionStatus) -> None:
    """Registry: ≥ 1 immunosuppressant used for more than one year (> 12 calendar months) with poorly
    controlled disease (investigator's judgement by default)."""
    assert status_of(REFRACTORY, {"screening_date": SCREENING, "treatments": [item]}) is expected


def test_refractory_other_classes_missing_history_and_relapse_evidence() -> None:
    """Rituximab tagged only anti_cd20 does not count as an immunosuppressant; no history → cannot assess;
    poor_control_evidence=relapse_on_treatment uses a relapse between start and last dose."""
    rituximab = {**treatment("2020-01-01", "2023-01-01"), "therapy_classes": ["anti_cd20"]}
    assert status_of(REFRACTORY, {"treatments": [rituximab]}) is NOT_MET
    assert status_of(REFRACTORY, {}) is UNKNOWN
    by_relapse = {**REFRACTORY, "poor_control_evidence": "relapse_on_treatment"}
    during = {
        "treatments": [treatment("2020-01-01", "2023-01-01", poor=None)],
        "relapses": [{"onset_date": "2022-05-01"}],
    }
    after = {
        "treatments": [treatment("2020-01-01", "2023-01-01", poor=None)],
        "relapses": [{"onset_date": "2023-05-01"}],
    }
    assert status_of(by_relapse, during) is MET
    assert status_of(by_relapse, after) is NOT_MET
    assert status_of({**REFRACTORY, "poor_control_evidence": "either"}, during) is MET
    assert status_of(REFRACTORY, during) is UNKNOWN  # investigator evidence missing


EDSS = {"type": "edss_range", "min_score": 0, "max_score": 8.0}


def test_edss_range_inclusive_and_freshness() -> None:
    """EDSS range is inclusive (8.0 meets ≤ 8.0); an EDSS older than the freshness limit (30 days: 2024-02-13
    is 31 days before 2024-03-15) cannot be used."""
    assert status_of(EDSS, {"edss": {"score": 8.0}}) is MET
    assert status_of(EDSS, {"edss": {"score": 8.5}}) is NOT_MET
    assert status_of(EDSS, {}) is UNKNOWN
    fresh = {**EDSS, "max_days_before_screening": 30}
    assert status_of(fresh, {"screening_date": SCREENING, "edss": {"score": 3, "date": "2024-02-14"}}) is MET
    assert (
        status_of(fresh, {"screening_date": SCREENING, "edss": {"score": 3, "date": "2024-02-13"}}) is UNKNOWN
    )


ANC = {"type": "lab_threshold", "analyte": "neutrophils", "comparator": ">=", "value": 1.0, "unit": "10^9/L"}


def lab(value: float, unit: str = "10^9/L", on: str = "2024-03-10", **extra: Any) -> dict[str, Any]:
    return {"analyte": "neutrophils", "value": value, "unit": unit, "date": on, **extra}


def test_lab_threshold_boundaries_units_and_latest_value() -> None:
    """Comparators at their boundary, exact unit match (no silent conversion), latest result on or before
    screening."""
    base = {"screening_date": SCREENING}
    assert status_of(ANC, {**base, "labs": [lab(1.0)]}) is MET  # >= boundary
    assert status_of({**ANC, "comparator": ">"}, {**base, "labs": [lab(1.0)]}) is NOT_MET
    # a blood count in another unit of the one count table is converted exactly and shown (by design,
    # D-19.845: before, 1000/µL against ≥ 1.0 × 10^9/L could not be assessed); 999/µL is below
    assert status_of(ANC, {**base, "labs": [lab(1000, unit="/µL")]}) is MET
    assert status_of(ANC, {**base, "labs": [lab(999, unit="/µL")]}) is NOT_MET
    shown = screen(
        protocol_with({"rule": ANC, "kind": "inclusion"}),
        Candidate.model_validate({"id": "X", **base, "labs": [lab(1000, unit="/µL")]}),
    ).criteria[0]
    assert "1000 /µL = 1 10^9/L" in shown.reason
    # any other unit is still never converted
    assert status_of(ANC, {**base, "labs": [lab(1.0, unit="mg/dL")]}) is UNKNOWN  # no silent conversion
    latest_low = {**base, "labs": [lab(2.0, on="2024-03-01"), lab(0.8, on="2024-03-12")]}
    assert status_of(ANC, latest_low) is NOT_MET
    after_screening = {"labs": [lab(2.0, on="2024-03-01"), lab(0.5, on="2024-03-20")]}
    assert status_of(ANC, after_screening, on=SCREENING) is MET  # screening as of 03-15: not used
    assert status_of(ANC, {**base, "labs": []}) is UNKNOWN
    assert status_of(ANC, base) is UNKNOWN


def test_lab_threshold_in_multiples_of_uln() -> None:
    """ALT ≤ 3 × ULN: 120 U/L with ULN 40 is exactly 3 × ULN (met); 121 is not; no ULN → cannot assess."""
    rule = {"type": "lab_threshold", "analyte": "alt", "comparator": "<=", "value": 3, "unit": "x ULN"}

    def alt(value: float, uln: float | None) -> dict[str, Any]:
        return {"labs": [{"analyte": "ALT", "value": value, "unit": "U/L", "upper_limit_normal": uln}]}

    assert status_of(rule, alt(120, 40)) is MET
    assert status_of(rule, alt(121, 40)) is NOT_MET
    assert status_of(rule, alt(50, None)) is UNKNOWN


WASHOUT_6M = {"type": "washout", "therapy_classes": ["b_cell_depleting", "anti_cd20"], "min_months": 6}


def rituximab(last: str | None, ongoing: bool = False) -> dict[str, Any]:
    return {
        "screening_date": SCREENING,
        "treatments": [
            {
                "agent": "rituximab",
                "therapy_classes": ["anti_cd20"],
                "last_dose_date": last,
                "ongoing": ongoing,
            }
        ],
    }


@pytest.mark.parametrize(
    ("last", "expected"),
    [("2023-09-15", MET), ("2023-09-16", NOT_MET), ("2023-01-01", MET)],
)
def test_washout_in_calendar_months(last: str, expected: CriterionStatus) -> None:
    """6 calendar months before 2024-03-15 is 2023-09-15: a last dose on that day completes the washout."""
    assert status_of(WASHOUT_6M, rituximab(last)) is expected


def test_washout_in_days_ongoing_never_exposed_and_missing() -> None:
    """min_days 180: 2024-03-15 − 2023-09-17 = 180 days (met); 2023-09-18 = 179 days (not met)."""
    days_rule = {"type": "washout", "therapy_classes": ["anti_cd20"], "min_days": 180}
    assert status_of(days_rule, rituximab("2023-09-17")) is MET
    assert status_of(days_rule, rituximab("2023-09-18")) is NOT_MET
    assert status_of(WASHOUT_6M, rituximab(None, ongoing=True)) is NOT_MET
    assert status_of(WASHOUT_6M, rituximab(None)) is UNKNOWN
    assert status_of(WASHOUT_6M, {"screening_date": SCREENING, "treatments": []}) is MET
    assert status_of(WASHOUT_6M, {"screening_date": SCREENING}) is UNKNOWN


def test_manual_rule_and_exclusion_polarity() -> None:
    """An exclusion criterion that is met (investigator: yes) makes the candidate not eligible."""
    protocol = protocol_with(
        {"id": "exc_pregnancy", "kind": "exclusion", "rule": {"type": "manual"}},
    )
    yes = screen(protocol, Candidate(id="X", answers={"exc_pregnancy": True}))
    assert yes.criteria[0].status is MET and yes.verdict is Verdict.NOT_ELIGIBLE
    no = screen(protocol, Candidate(id="X", answers={"exc_pregnancy": False}))
    assert no.criteria[0].status is NOT_MET and no.verdict is Verdict.ELIGIBLE
    missing = screen(protocol, Candidate(id="X"))
    assert missing.verdict is Verdict.INCOMPLETE and missing.criteria[0].missing == ("answers.exc_pregnancy",)


def test_verdict_not_eligible_wins_over_incomplete() -> None:
    """A failed criterion decides the verdict even when another cannot be assessed."""
    protocol = protocol_with({"rule": AGE}, {"rule": RELAPSE_RULE})
    result = screen(protocol, Candidate(id="X", age_years=90, screening_date=SCREENING))
    assert [c.status for c in result.criteria] == [NOT_MET, UNKNOWN]
    assert result.verdict is Verdict.NOT_ELIGIBLE


# ------------------------------------------------------------------------------ shipped examples


@pytest.fixture(scope="module")
def reference() -> Protocol:
    return load_protocol(cartrial_examples.path("ct103a-nmosd") / "protocol.yaml")


@pytest.mark.parametrize(
    ("file", "verdict", "flagged"),
    [
        ("cand-01-eligible.yaml", Verdict.ELIGIBLE, {}),
        ("cand-02-aqp4-negative.json", Verdict.NOT_ELIGIBLE, {"inc_aqp4_igg": NOT_MET}),
        ("cand-03-missing-relapse-history.yaml", Verdict.INCOMPLETE, {"inc_relapse_activity": UNKNOWN}),
    ],
)
def test_example_candidates(
    reference: Protocol, examples_dir: Path, file: str, verdict: Verdict, flagged: dict[str, CriterionStatus]
) -> None:
    """Decisions §2: the shipped candidates are eligible, AQP4-IgG negative, and missing relapse history."""
    candidate = load_candidate(examples_dir / "ct103a-nmosd" / "candidates" / file)
    result = screen(reference, candidate)
    assert result.verdict is verdict
    for item in result.criteria:
        expected = flagged.get(item.id, NOT_MET if item.kind.value == "exclusion" else MET)
        assert item.status is expected, (item.id, item.reason)
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["verdict"] == verdict.value and len(payload["criteria"]) == len(
        reference.eligibility.criteria
    )


def test_bad_candidate_files_report_lines(tmp_path: Path) -> None:
    """Candidate files get the same line-numbered errors as protocols (YAML and JSON)."""
    from cartrial.errors import InputError

    bad_yaml = tmp_path / "c.yaml"
    bad_yaml.write_text("id: X\nrelapses:\n  - onset_date: 2023-02-30\nheight: 170\n")
    with pytest.raises(InputError) as caught:
        load_candidate(bad_yaml)
    lines = {p.line for p in caught.value.problems}
    assert lines == {3, 4}
    bad_json = tmp_path / "c.json"
    bad_json.write_text('{\n  "id": "X",\n  "edss": {"score": 4.25}\n}\n')
    with pytest.raises(InputError) as caught:
        load_candidate(bad_json)
    assert caught.value.problems[0].line == 3 and caught.value.problems[0].field == "edss.score"
    broken = tmp_path / "d.json"
    broken.write_text('{\n  "id": "X",\n}\n')
    with pytest.raises(InputError, match="malformed JSON") as caught:
        load_candidate(broken)
    assert caught.value.problems[0].line == 3


# ------------------------------------------------------------------------------ invariants

# records counted as given: the independent restatement below has no merging
_RELAPSE_PROTOCOL = protocol_with({"rule": {**RELAPSE_RULE, "merge_window_days": None}})
_MERGING_PROTOCOL = protocol_with({"rule": RELAPSE_RULE})
# one relapse per onset date (a repeated date is refused, D-19.18)
_onset_dates = st.lists(
    st.dates(min_value=date(2020, 1, 1), max_value=date(2024, 12, 31)), max_size=6, unique=True
)


@settings(max_examples=property_examples(150), deadline=None)
@given(_onset_dates, st.dates(min_value=date(2020, 1, 1), max_value=date(2024, 12, 31)))
def test_adding_a_relapse_never_makes_the_relapse_rule_fail(onsets: list[date], extra: date) -> None:
    """The registry rule is monotone in the relapse list: one more relapse can only keep or create
    eligibility on this criterion (both branches are "at least" counts)."""

    def holds(days: list[date]) -> bool:
        candidate = Candidate.model_validate({"id": "X", "relapses": [{"onset_date": d} for d in days]})
        return screen(_RELAPSE_PROTOCOL, candidate, SCREENING).criteria[0].status is MET

    if holds(onsets) and extra not in onsets:
        assert holds([*onsets, extra])


@settings(max_examples=property_examples(150), deadline=None)
@given(_onset_dates)
def test_relapse_rule_matches_a_direct_reading_of_the_registry_text(onsets: list[date]) -> None:
    """Independent restatement: count onsets in [2023-03-15, 2024-03-15] and [2022-03-15, 2024-03-15]
    (12 and 24 calendar months before screening 2024-03-15, hand-derived) and apply "≥ 2 in 12, or ≥ 3
    in 24 with ≥ 1 in 12"."""
    in_12 = sum(1 for d in onsets if date(2023, 3, 15) <= d <= SCREENING)
    in_24 = sum(1 for d in onsets if date(2022, 3, 15) <= d <= SCREENING)
    expected = in_12 >= 2 or (in_24 >= 3 and in_12 >= 1)
    # onsets may fall after the screening date: screened as of it (a file dated so would be refused)
    candidate = Candidate.model_validate({"id": "X", "relapses": [{"onset_date": d} for d in onsets]})
    assert (screen(_RELAPSE_PROTOCOL, candidate, SCREENING).criteria[0].status is MET) == expected


@settings(max_examples=property_examples(150), deadline=None)
@given(_onset_dates)
def test_default_merging_matches_an_independent_restatement(onsets: list[date]) -> None:
    """neuro-outcomes.md §4.2 restated: walk the sorted onsets, start a new attack when an onset is ≥ 30
    days after the first onset of the current attack; then apply the registry rule to the attack dates."""
    attacks: list[date] = []
    for onset in sorted(onsets):
        if not attacks or (onset - attacks[-1]).days >= 30:
            attacks.append(onset)
    in_12 = sum(1 for d in attacks if date(2023, 3, 15) <= d <= SCREENING)
    in_24 = sum(1 for d in attacks if date(2022, 3, 15) <= d <= SCREENING)
    expected = in_12 >= 2 or (in_24 >= 3 and in_12 >= 1)
    # onsets may fall after the screening date: screened as of it (a file dated so would be refused)
    candidate = Candidate.model_validate({"id": "X", "relapses": [{"onset_date": d} for d in onsets]})
    assert (screen(_MERGING_PROTOCOL, candidate, SCREENING).criteria[0].status is MET) == expected


def test_answers_for_unknown_criteria_are_reported_not_dropped() -> None:
    """House rule: nothing given is silently skipped: answers for unknown criterion ids are reported."""
    protocol = protocol_with({"id": "exc_pregnancy", "kind": "exclusion", "rule": {"type": "manual"}})
    result = screen(protocol, Candidate(id="X", answers={"exc_pregnancy": False, "exc_typo": True}))
    assert result.unused_answers == ("exc_typo",)
    assert result.to_dict()["unused_answers"] == ["exc_typo"]


def test_two_relapses_on_one_date_are_refused_at_the_second() -> None:
    """Two relapses with the same onset date counted as two attacks (with merge_window_days: null the
    candidate below met "≥ 2 in 12 months" with one attack). Refused at the repeat's line, naming the
    first, as the relapses form refuses a second row of a subject and onset date (D-19.18)."""
    from cartrial.errors import InputError
    from cartrial.protocol import parse_candidate

    text = (
        "id: SCR-9\nscreening_date: 2024-03-15\nrelapses:\n"
        "  - {onset_date: 2023-09-01, phenotypes: [optic_neuritis]}\n"
        "  - {onset_date: 2023-11-20}\n"
        "  - {onset_date: 2023-09-01, phenotypes: [optic_neuritis]}\n"
        "  - {onset_date: 2023-11-20, phenotypes: [acute_myelitis]}\n"
    )
    with pytest.raises(InputError) as caught:
        parse_candidate(text, "cand.yaml")
    first, second = caught.value.problems
    assert (first.file, first.line, first.field, first.value) == (
        "cand.yaml",
        6,
        "relapses[2].onset_date",
        "2023-09-01",
    )
    assert first.message == "duplicate of relapses[0] at line 4 (same onset_date; identical values)"
    assert first.allowed == "one relapse per onset date"
    assert second.line == 7
    assert second.message == "duplicate of relapses[1] at line 5 (same onset_date; differs in phenotypes)"
    # the same phenotype on different dates: two attacks, read as given
    two = "id: SCR-9\nrelapses:\n  - {onset_date: 2023-09-01}\n  - {onset_date: 2023-09-02}\n"
    assert len(parse_candidate(two).relapses or []) == 2


# --------------------------------------------------------------------------- look-back bounds (D-19.24)


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"type": "relapse_activity", "long_window_months": 1561}, "long_window_months"),
        (
            {"type": "relapse_activity", "short_window_months": 1561, "long_window_months": 1562},
            "short_window_months",
        ),
        ({"type": "relapse_activity", "merge_window_days": 366}, "merge_window_days"),
        ({"type": "immunosuppressant_refractory", "min_duration_months": 1561}, "min_duration_months"),
        ({"type": "washout", "therapy_classes": ["anti_cd20"], "min_months": 1561}, "min_months"),
        ({"type": "washout", "therapy_classes": ["anti_cd20"], "min_days": 47483}, "min_days"),
        ({"type": "edss_range", "max_days_before_screening": 47483}, "max_days_before_screening"),
    ],
)
def test_a_look_back_beyond_100_years_is_refused(rule: dict[str, Any], field: str) -> None:
    """`long_window_months: 100000` passed `protocol check` and `screen` ended in a traceback (the window
    left the calendar); every look-back is at most 130 years (1560 months, 47482 days; D-19.24, D-19.32)."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as caught:
        protocol_with({"rule": rule})
    assert any(error["loc"][-1] == field for error in caught.value.errors()), caught.value.errors()


@settings(max_examples=property_examples(60), deadline=None)
@given(
    long_months=st.integers(2, 1200),
    washout_months=st.integers(1, 1200),
    refractory_months=st.integers(1, 1200),
    on=st.dates(date(1900, 1, 1), date(9999, 12, 31)),
    with_birth=st.booleans(),
)
def test_every_accepted_look_back_screens_on_every_accepted_date(
    long_months: int, washout_months: int, refractory_months: int, on: date, with_birth: bool
) -> None:
    """A protocol that loads and a screening date in range always screen: no look-back leaves the
    calendar, whatever the candidate (invariant, D-19.24)."""
    protocol = protocol_with(
        {"rule": {"type": "relapse_activity", "short_window_months": 1, "long_window_months": long_months}},
        {"rule": {"type": "washout", "therapy_classes": ["anti_cd20"], "min_months": washout_months}},
        {"rule": {"type": "immunosuppressant_refractory", "min_duration_months": refractory_months}},
        {"rule": {"type": "age_range", "min_years": 18}},
    )
    candidate = Candidate.model_validate(
        {
            "id": "X",
            **({"date_of_birth": "1900-01-01"} if with_birth else {"age_years": 40}),
            "relapses": [{"onset_date": "1950-06-01"}],
            "treatments": [
                {"agent": "rituximab", "therapy_classes": ["anti_cd20"], "last_dose_date": "1950-01-01"},
                {
                    "agent": "azathioprine",
                    "therapy_classes": ["immunosuppressant"],
                    "start_date": "1920-01-01",
                    "ongoing": True,
                    "poor_control": True,
                },
            ],
        }
    )
    result = screen(protocol, candidate, on)
    assert result.screening_date == on and len(result.criteria) == 4


@pytest.mark.parametrize("on", [date(1, 1, 1), date(1899, 12, 31)])
def test_a_screening_date_out_of_range_is_refused(on: date) -> None:
    from cartrial.errors import InputError

    protocol = protocol_with({"rule": RELAPSE_RULE})
    with pytest.raises(InputError) as caught:
        screen(protocol, Candidate.model_validate({"id": "X", "age_years": 40}), on)
    assert [(p.field, p.allowed) for p in caught.value.problems] == [
        ("screening_date", "1900-01-01 to 9999-12-31")
    ]
    with pytest.raises(Exception) as in_file:
        Candidate.model_validate({"id": "X", "screening_date": on})
    assert "the screening date is out of range" in str(in_file.value)


def test_a_screening_date_before_the_candidates_birth_is_refused_without_the_birth_date() -> None:
    from cartrial.errors import InputError

    protocol = protocol_with({"rule": {"type": "age_range", "min_years": 18}})
    candidate = Candidate.model_validate({"id": "X", "date_of_birth": "1975-06-10"})
    with pytest.raises(InputError) as caught:
        screen(protocol, candidate, date(1950, 1, 1))
    (problem,) = caught.value.problems
    assert problem.field == "screening_date" and problem.value == "1950-01-01"
    assert "1975" not in str(caught.value)  # the candidate's date of birth is not shown


def test_screen_cli_names_the_option_once_or_each_candidate_file(capsys: pytest.CaptureFixture[str]) -> None:
    from cartrial.cli import main

    example = cartrial_examples.path("ct103a-nmosd")
    files = [str(example / "candidates" / "cand-01-eligible.yaml")]
    protocol = str(example / "protocol.yaml")
    assert main(["screen", protocol, *files, "--screening-date", "0001-01-01"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "--screening-date: the screening date is out of range (got '0001-01-01')" in err
    assert main(["screen", protocol, *files, "--screening-date", "1950-01-01"]) == 2
    err = capsys.readouterr().err
    assert f"{files[0]}, --screening-date: the screening date is before the candidate's date of birth" in err
