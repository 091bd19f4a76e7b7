"""The vectorised timing columns (`cartrial.cdisc.common.timing_columns`) equal the record-by-record rules
(`dtc`, `study_day`, `SubjectTimeline.epoch`, the visit windows of `VisitAssigner`), and unscheduled visits
get one number per subject and date in every domain (`number_unscheduled`)."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.cdisc.common import (
    UNSCHEDULED,
    SubjectTimeline,
    TimingTables,
    Visit,
    VisitAssigner,
    dtc,
    is_scheduled_visit,
    number_unscheduled,
    study_day,
    timing_columns,
)

VISITS = (
    Visit(1.0, "SCREENING", -28, 7, 0),
    Visit(2.0, "DAY 1", 0, 0, 0),
    Visit(3.0, "DAY 7", 7, 1, 1),
    Visit(4.0, "DAY 28", 28, 3, 3),
    Visit(5.0, "MONTH 3", 90, 7, 7),
)
INFUSION = dt.datetime(2021, 3, 1, 8, 0)
TIMELINES = {
    "A": SubjectTimeline(INFUSION, dt.date(2021, 2, 25), 28),
    "B": SubjectTimeline(INFUSION + dt.timedelta(days=3), None, 21),
    # consent on day -20: a record before it is pre-study, no EPOCH and no visit (D-19.1211, D-19.1213)
    "D": SubjectTimeline(INFUSION, dt.date(2021, 2, 25), 28, consent=dt.date(2021, 2, 9)),
    "C": SubjectTimeline(None, None, 28),
}

CELL = st.one_of(
    st.integers(min_value=-60, max_value=150).flatmap(
        lambda day: st.sampled_from(
            [
                (INFUSION + dt.timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                (INFUSION + dt.timedelta(days=day, seconds=17)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                (INFUSION + dt.timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                (INFUSION + dt.timedelta(days=day)).date().isoformat(),
            ]
        )
    ),
    st.sampled_from(["", "2021-03", "2021"]),
)


@settings(max_examples=property_examples(60), deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["A", "B", "C", "D", "Z"]), CELL), min_size=1, max_size=40))
def test_timing_columns_equal_the_record_by_record_rules(records) -> None:  # type: ignore[no-untyped-def]
    subjects = pd.Series([s for s, _ in records], dtype=object)
    values = pd.Series([v for _, v in records], dtype=object)
    out = timing_columns(subjects, values, "LB", TimingTables.of(TIMELINES), VISITS)
    assigner = VisitAssigner(VISITS)
    for i, (subject, value) in enumerate(records):
        timeline = TIMELINES.get(subject) or SubjectTimeline()
        text = dtc(value)
        assert out["LBDTC"][i] == text
        expected_day = study_day(text, timeline.reference)
        assert (math.isnan(expected_day) and math.isnan(out["LBDY"][i])) or out["LBDY"][i] == expected_day
        assert out["EPOCH"][i] == timeline.epoch(text)
        number, name = assigner.assign(subject, text, timeline)
        if name.startswith("UNSCHEDULED"):
            # the vectorised form marks it and leaves the numbering to number_unscheduled
            assert out["VISIT"][i] == UNSCHEDULED and math.floor(number) == out["VISITNUM"][i]
        elif math.isnan(number):
            assert out["VISIT"][i] == "" and math.isnan(out["VISITNUM"][i])
        else:
            assert (out["VISITNUM"][i], out["VISIT"][i]) == (number, name)


def test_unscheduled_visits_get_one_number_per_subject_and_date_in_every_domain() -> None:
    lb = pd.DataFrame(
        {
            "USUBJID": ["S-A", "S-A", "S-A", "S-B"],
            "VISITNUM": [3.0, 3.0, 2.0, 3.0],
            "VISIT": [UNSCHEDULED, UNSCHEDULED, "DAY 1", UNSCHEDULED],
            "LBDTC": ["2021-03-15T08:00", "2021-03-12", "2021-03-01", "2021-03-12"],
        }
    )
    fa = pd.DataFrame(
        {
            "USUBJID": ["S-A", "S-A"],
            "VISITNUM": [3.0, 3.0],
            "VISIT": [UNSCHEDULED, UNSCHEDULED],
            "FADTC": ["2021-03-10T20:00", "2021-03-15T09:30"],
        }
    )
    frames = {"LB": lb, "FA": fa}
    number_unscheduled(frames, {"LB": "LBDTC", "FA": "FADTC"})
    # subject A after visit 3: 03-10 → 3.01, 03-12 → 3.02, 03-15 → 3.03 whichever domain holds the date
    assert lb["VISITNUM"].tolist() == [3.03, 3.02, 2.0, 3.01]
    assert fa["VISITNUM"].tolist() == [3.01, 3.03]
    assert lb["VISIT"].tolist() == ["UNSCHEDULED 3.03", "UNSCHEDULED 3.02", "DAY 1", "UNSCHEDULED 3.01"]
    assert fa["VISIT"].tolist() == ["UNSCHEDULED 3.01", "UNSCHEDULED 3.03"]


@pytest.mark.parametrize("count", [99, 100, 150])
def test_many_unscheduled_dates_stay_between_two_protocol_visits(count: int) -> None:
    """By hand: `count` consecutive unscheduled dates after protocol visit 1 (before visit 2). Every number
    stays strictly between 1 and 2, never a protocol visit's number (SV would call it planned and merge it
    with visit 2, D-19.1367), all distinct and increasing in date order, each with its own VISIT
    (D-19.1375)."""
    days = [(dt.date(2021, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(count)]
    lb = pd.DataFrame(
        {"USUBJID": ["S"] * count, "VISITNUM": [1.0] * count, "VISIT": [UNSCHEDULED] * count, "LBDTC": days}
    )
    number_unscheduled({"LB": lb}, {"LB": "LBDTC"})
    numbers = lb["VISITNUM"].tolist()
    assert all(1.0 < x < 2.0 for x in numbers)
    assert all(a < b for a, b in itertools.pairwise(numbers))
    assert not is_scheduled_visit(lb["VISITNUM"], VISITS).any()
    assert lb["VISIT"].nunique() == count
    assert all(v.startswith("UNSCHEDULED 1.") for v in lb["VISIT"])
    assert numbers[0] == (1.01 if count < 100 else 1.001)
    assert numbers[-1] == (1.99 if count < 100 else round(1 + count / 1000, 3))


def test_a_record_before_consent_gets_no_visit_record_by_record_or_vectorised() -> None:
    """By hand: subject D's consent is 2021-02-09 (day -20 from the infusion on 2021-03-01); 2021-02-05 (day
    -24) is before it: no EPOCH, no VISITNUM/VISIT, whichever form computes them; the consent day is in the
    study (D-19.1213)."""
    timeline = TIMELINES["D"]
    number, name = VisitAssigner(VISITS).assign("D", "2021-02-05", timeline)
    assert math.isnan(number) and name == ""
    out = timing_columns(
        pd.Series(["D", "D"]),
        pd.Series(["2021-02-05", "2021-02-09"]),
        "LB",
        TimingTables.of(TIMELINES),
        VISITS,
    )
    assert out["EPOCH"].tolist() == ["", "SCREENING"]
    assert out["VISIT"][0] == "" and math.isnan(out["VISITNUM"][0])
    assert out["VISIT"][1] != ""
