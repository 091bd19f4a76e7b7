"""No edit check's message, data-query text or located problem quotes a record's value (D-12.2, D-19.102).

Every registered edit check (`CHECKS`: the checks of one subject's records and the study-level
DECISION-BEFORE-DLT-WINDOW) is run on records holding distinctive sentinel values chosen to make it fire.
The texts a user or the study database sees — the finding's message, the data query's text
(`Finding.query_text`), the located problem's message, allowed values and field, and the dry-run listing's
``message`` — are searched for each sentinel, and for the numbers derived from them by hand (a ratio, a
percentage, a count of days). The value given is kept only in `Finding.value` / `Problem.value`.
"""

from __future__ import annotations

import datetime as dt

import pytest

from cartrial.protocol.model import load_protocol
from cartrial.store.edit_checks import (
    CHECKS,
    Finding,
    Record,
    SubjectRecords,
    decision_window_findings,
    left_out_finding,
    run_edit_checks,
)

from .conftest import PROTOCOL

REFERENCE = load_protocol(PROTOCOL)
TODAY = dt.date(2022, 6, 1)
UTC = dt.UTC


def at(day: str, hour: int = 2) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def record(table: str, subject_id: str, **values: object) -> Record:
    return Record(table, {"subject_id": subject_id, **values}, new=True)


def subject_records(subject_id: str, *records: Record) -> SubjectRecords:
    by_table: dict[str, list[Record]] = {}
    for r in records:
        by_table.setdefault(r.table, []).append(r)
    return SubjectRecords(subject_id, by_table)


# Sentinels: each value below appears in no rule, source or constant of the checks.
SENTINELS = (
    # S-H: a lab collected after today (DATE-FUTURE), a PK value below its LLOQ not flagged BLQ and a BLQ
    # sample without its LLOQ (D-19.163, D-19.165)
    "2033-05-21",
    "0.0777",
    "0.3141",
    # S-H: a CAR-T cell sample in a unit of no dimension the analysis converts (PK-UNIT-DIMENSION, D-19.784)
    "cells/qZ",
    # S-I: a leukapheresis before consent, a lymphodepletion after the infusion and one whose relative day
    # (-37) disagrees with its date (day -4) (D-19.167)
    "2020-09-28",
    "2021-01-29",
    "-37",
    # S-I: that lymphodepletion's fludarabine at 3.117 mg/m² (the protocol's 30) (D-19.993)
    "3.117",
    # S-J: a PK sample drawn 9 days after the infusion entered as day 61.5 (D-19.168)
    "61.5",
    # S-K: an adverse event 2020-09-07 before the consent, an infusion weight of 143.21 kg against 65.4
    # kg at enrolment (D-19.169)
    "2020-09-07",
    "143.21",
    "65.4",
    # S-A: consent in the future, an adult of 23.456 kg, two infusions before consent (one at 15.3× the
    # dose of level 1 with a total off by 109 %), a relapse before birth, an EDSS 381 days before the
    # infusion, a platelet count of 876543 10^9/L, a misspelt analyte
    "2031-07-19",
    "1961-03-17",
    "23.456",
    "2021-02-13",
    "2021-04-26",
    "7654321",
    "7.65432e+06",
    "15×",
    "987654321",
    "9.87654e+08",
    "61.7",
    "4.72272e+08",  # 7654321 × 61.7
    "109%",  # |987654321 - 472271605.7| / 472271605.7 = 1.0913
    "1959-11-23",
    "2020-01-29",
    "381 days",  # 2021-02-13 - 2020-01-29
    "876543",
    "neutrophilz",
    "20/63",  # the acuity of two right-eye records on one day (ACUITY-SAME-DAY)
    "2019-13-45",  # a treatment-history start that is no date (HISTORY-DATE, D-19.1216)
    # S-B: an infusion before birth
    "2021-09-05",
    "2021-08-11",
    # S-C: a death (fatal event 2021-03-02 to 2021-03-08) with a disposition date of 2021-05-15, a lab after
    "2021-03-08",
    "2021-05-15",
    "2021-04-12",
    # S-D: a disposition death without a fatal event; S-E: withdrawn on 2021-04-04, a lab after, a fatal
    # event later (a death learnt in follow-up: no query, D-19.124)
    "2021-06-06",
    "2021-04-04",
    "2021-05-05",
    "2021-07-09",
    # S-F: lost on 2021-08-17 after a death on 2021-08-03: the death is the end (FATAL-AE-DISPOSITION)
    "2021-08-03",
    "2021-08-17",
    # S-G: completed on 2032-02-14, after today
    "2032-02-14",
    # S-N: two fatal events dating the death 2021-10-11 and 2021-10-19 (DEATH-DATES-DIFFER, D-19.794)
    "2021-10-11",
    "2021-10-19",
    # the decision: cohort 1 (infused 2021-05-02, -09, -16) decided on 2021-05-23, 7 days after the last
    # infusion, 21 days before the 28-day window ends
    "2021-05-16",
    "2021-05-23",
    "7 days",
    "21 day",
    "escalate",
)


def sentinel_subjects() -> list[SubjectRecords]:
    a = "S-A"
    subject_a = record(
        "subject",
        a,
        consent_date=dt.date(2031, 7, 19),
        birth_date=dt.date(1961, 3, 17),
        weight_kg=23.456,
        treatment_history=[{"agent": "rituximab", "started_on": "2019-13-45"}],
    )
    infusions_a = [
        record(
            "infusion",
            a,
            infused_at=at("2021-02-13"),
            dose_level=1,
            weight_kg=61.7,
            cells_per_kg=7654321.0,
            total_car_t_cells=987654321.0,
        ),
        record(
            "infusion",
            a,
            infused_at=at("2021-04-26"),
            dose_level=1,
            weight_kg=61.7,
            cells_per_kg=5e5,
            total_car_t_cells=30850000.0,
        ),
    ]
    others_a = [
        record("relapse", a, onset_date=dt.date(1959, 11, 23)),
        record("edss_assessment", a, assessed_at=at("2020-01-29")),
        # a second EDSS and a second right-eye acuity that day (EDSS-SAME-DAY, ACUITY-SAME-DAY, D-19.1101)
        record("edss_assessment", a, assessed_at=at("2020-01-29", 9)),
        record("visual_acuity", a, assessed_at=at("2020-01-29"), eye="OD", acuity="20/63"),
        record("visual_acuity", a, assessed_at=at("2020-01-29", 9), eye="OD", acuity="20/63"),
        record(
            "lab_result", a, analyte="platelets", value=876543.0, unit="10^9/L", collected_at=at("2021-03-01")
        ),
        record(
            "lab_result", a, analyte="neutrophilz", value=1.5, unit="10^9/L", collected_at=at("2021-03-01")
        ),
    ]
    b = "S-B"
    subject_b = record("subject", b, consent_date=dt.date(2021, 8, 1), birth_date=dt.date(2021, 9, 5))
    infusion_b = record(
        "infusion",
        b,
        infused_at=at("2021-08-11"),
        dose_level=1,
        weight_kg=3.5,
        cells_per_kg=5e5,
        total_car_t_cells=1750000.0,
    )
    c = "S-C"
    subject_c = record(
        "subject",
        c,
        consent_date=dt.date(2020, 10, 10),
        birth_year=1970,
        disposition="death",
        disposition_date=dt.date(2021, 5, 15),
    )
    fatal_c = record(
        "adverse_event",
        c,
        grade=5,
        outcome="fatal",
        category="infection",
        started_on=dt.date(2021, 3, 2),
        ended_on=dt.date(2021, 3, 8),
    )
    lab_c = record(
        "lab_result", c, analyte="platelets", value=150.0, unit="10^9/L", collected_at=at("2021-04-12")
    )
    d = "S-D"
    subject_d = record(
        "subject",
        d,
        consent_date=dt.date(2020, 10, 10),
        birth_year=1970,
        disposition="death",
        disposition_date=dt.date(2021, 6, 6),
    )
    e = "S-E"
    subject_e = record(
        "subject",
        e,
        consent_date=dt.date(2020, 10, 10),
        birth_year=1970,
        disposition="withdrawn",
        disposition_date=dt.date(2021, 4, 4),
    )
    lab_e = record(
        "lab_result", e, analyte="platelets", value=150.0, unit="10^9/L", collected_at=at("2021-05-05")
    )
    fatal_e = record(
        "adverse_event",
        e,
        grade=5,
        outcome="fatal",
        category="infection",
        started_on=dt.date(2021, 7, 7),
        ended_on=dt.date(2021, 7, 9),
    )
    f = "S-F"
    subject_f = record(
        "subject",
        f,
        consent_date=dt.date(2020, 10, 10),
        birth_year=1970,
        disposition="lost",
        disposition_date=dt.date(2021, 8, 17),
    )
    fatal_f = record(
        "adverse_event",
        f,
        grade=5,
        outcome="fatal",
        category="infection",
        started_on=dt.date(2021, 7, 30),
        ended_on=dt.date(2021, 8, 3),
    )
    return [
        subject_records(a, subject_a, *infusions_a, *others_a),
        subject_records(b, subject_b, infusion_b),
        subject_records(c, subject_c, fatal_c, lab_c),
        subject_records(d, subject_d),
        subject_records(e, subject_e, lab_e, fatal_e),
        subject_records(f, subject_f, fatal_f),
        # S-G: completed on a date after today (END-OF-STUDY-FUTURE, D-19.162)
        subject_records(
            "S-G",
            record(
                "subject",
                "S-G",
                consent_date=dt.date(2020, 10, 10),
                birth_year=1970,
                disposition="completed",
                disposition_date=dt.date(2032, 2, 14),
            ),
        ),
        subject_records(
            "S-H",
            record("subject", "S-H", consent_date=dt.date(2020, 10, 10), birth_year=1970),
            record(
                "lab_result",
                "S-H",
                analyte="platelets",
                value=150.0,
                unit="10^9/L",
                collected_at=at("2033-05-21"),
            ),
            record(
                "pk_sample",
                "S-H",
                analyte="car_transgene",
                sampled_at=at("2021-05-01"),
                value=0.0777,
                lloq=0.3141,
                blq=False,
            ),
            record(
                "pk_sample",
                "S-H",
                analyte="car_transgene",
                sampled_at=at("2021-05-02"),
                value=None,
                lloq=None,
                blq=True,
            ),
            record(
                "pk_sample",
                "S-H",
                analyte="car_t_cells",
                sampled_at=at("2021-05-03"),
                value=12.0,
                unit="cells/qZ",
                blq=False,
            ),
        ),
        subject_records(
            "S-I",
            record("subject", "S-I", consent_date=dt.date(2020, 10, 10), birth_year=1970),
            record("infusion", "S-I", infused_at=at("2021-01-20"), leukapheresis_on=dt.date(2020, 9, 28)),
            record(
                "lymphodepletion_administration",
                "S-I",
                administered_on=dt.date(2021, 1, 29),
                drug="fludarabine",
                dose_mg_per_m2=3.117,  # a tenth of the protocol's 30 mg/m² (LD-DOSE-PROTOCOL, D-19.993)
            ),
            record(
                "lymphodepletion_administration",
                "S-I",
                administered_on=dt.date(2021, 1, 16),
                day_relative_to_infusion=-37,
            ),
        ),
        subject_records(
            "S-J",
            record("subject", "S-J", consent_date=dt.date(2020, 10, 10), birth_year=1970),
            record("infusion", "S-J", infused_at=at("2021-01-20")),
            record("pk_sample", "S-J", analyte="car_transgene", sampled_at=at("2021-01-29"), actual_day=61.5),
        ),
        subject_records(
            "S-K",
            record("subject", "S-K", consent_date=dt.date(2020, 10, 10), birth_year=1970, weight_kg=65.4),
            record("adverse_event", "S-K", grade=1, started_on=dt.date(2020, 9, 7)),
            record("infusion", "S-K", infused_at=at("2021-01-20"), weight_kg=143.21),
        ),
        subject_records(  # D-19.328: serious with no criterion ticked
            "S-L",
            record("subject", "S-L", consent_date=dt.date(2020, 10, 10), birth_year=1970),
            record("adverse_event", "S-L", grade=3, serious=True, started_on=dt.date(2021, 2, 13)),
        ),
        subject_records(  # D-19.794: two fatal events on different dates of death
            "S-N",
            record("subject", "S-N", consent_date=dt.date(2020, 10, 10), birth_year=1970),
            record(
                "adverse_event",
                "S-N",
                grade=5,
                outcome="fatal",
                started_on=dt.date(2021, 10, 1),
                ended_on=dt.date(2021, 10, 11),
            ),
            record(
                "adverse_event",
                "S-N",
                category="death",
                started_on=dt.date(2021, 10, 2),
                ended_on=dt.date(2021, 10, 19),
            ),
        ),
        subject_records(  # D-19.333: the death criterion on an event the patient recovered from
            "S-M",
            record("subject", "S-M", consent_date=dt.date(2020, 10, 10), birth_year=1970),
            record(
                "adverse_event",
                "S-M",
                grade=3,
                serious=True,
                serious_death=True,
                outcome="recovered",
                started_on=dt.date(2021, 2, 13),
            ),
        ),
    ]


def decision_findings() -> list[Finding]:
    infusions = [
        Record("infusion", {"subject_id": f"D-{i}", "dose_level": 1, "infused_at": at(day)}, new=False)
        for i, day in enumerate(("2021-05-02", "2021-05-09", "2021-05-16"))
    ]
    decision = Record(
        "escalation_decision",
        {
            "cohort": 1,
            "dose_level": 1,
            "decided_on": dt.date(2021, 5, 23),
            "outcomes": "1NNN",
            "decision": "escalate",
        },
        new=True,
        record_id=7,
    )
    return decision_window_findings([decision], infusions, REFERENCE)


@pytest.fixture(scope="module")
def findings() -> list[Finding]:
    # CHECKS-LEFT-OUT is raised by a write whose checks left out a record (D-19.652), on a sentinel record
    event = next(r for s in sentinel_subjects() for r in s.of("adverse_event"))
    left_out = left_out_finding(event.table, event.values, 1, ["subject record 1, consent_date"])
    return [*run_edit_checks(sentinel_subjects(), REFERENCE, TODAY), *decision_findings(), left_out]


def test_every_registered_check_fires_on_the_sentinel_records(findings: list[Finding]) -> None:
    assert {f.check.id for f in findings} == {check.id for check in CHECKS}


def test_no_message_query_or_problem_quotes_a_sentinel(findings: list[Finding]) -> None:
    for finding in findings:
        problem = finding.problem()
        texts = {
            "message": finding.message,
            "query text": finding.query_text(),
            "problem message": problem.message,
            "problem allowed": problem.allowed or "",
            "problem field": str(problem.field or ""),
            "listing": str(finding.as_dict()["message"]),
            "rule": finding.check.rule,
        }
        for what, text in texts.items():
            for sentinel in SENTINELS:
                assert sentinel not in text, (
                    f"{finding.check.id}: {sentinel!r} quoted in its {what}: {text!r}"
                )


def test_the_value_is_kept_in_the_problem_value(findings: list[Finding]) -> None:
    by_check = {f.check.id: f for f in findings}
    assert by_check["CONSENT-FUTURE"].problem().value == "2031-07-19"
    assert by_check["END-OF-STUDY-FUTURE"].problem().value == "2032-02-14"
    assert by_check["LAB-TEST-MISSPELT"].problem().value == "neutrophilz"
    assert by_check["PK-UNIT-DIMENSION"].problem().value == "cells/qZ"
    assert by_check["DOSE-10X"].problem().value == "7.65432e+06"
    assert by_check["DECISION-BEFORE-DLT-WINDOW"].problem().value == "2021-05-23"
