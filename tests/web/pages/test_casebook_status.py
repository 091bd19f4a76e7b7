"""Properties of the casebook status of a scheduled form (docs/science/decisions.md D-14.21), on the
example protocol's schedule: without a record a form only moves forward in time (upcoming → due →
overdue → missing) as the day of viewing advances; a record dated inside the visit window makes it
complete whatever the day; before an infusion nothing but consent is expected."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial import examples
from cartrial.protocol.model import load_protocol
from cartrial.web.views import schedule_cells

PROTOCOL = load_protocol(examples.path("ct103a-nmosd") / "protocol.yaml")
ORDER = {"upcoming": 0, "due": 1, "overdue": 2, "missing": 3}
SUBJECT = [{"id": 1, "subject_id": "S-1", "consent_date": dt.date(2021, 1, 1)}]
DAYS = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31))


def _statuses(infused: dt.date | None, today: dt.date, records: dict | None = None) -> dict:
    visits, _ = schedule_cells(PROTOCOL, {"subject": SUBJECT, **(records or {})}, infused, today)
    return {(v.name, c.table): c.status for v in visits for c in v.cells}


@settings(max_examples=property_examples(60), deadline=None)
@given(infused=DAYS, first=DAYS, later=st.integers(min_value=0, max_value=800))
def test_without_records_a_status_only_moves_forward(infused: dt.date, first: dt.date, later: int) -> None:
    before = _statuses(infused, first)
    after = _statuses(infused, first + dt.timedelta(days=later))
    for key, status in before.items():
        if key[1] == "subject":
            assert status == after[key] == "complete"
            continue
        assert ORDER[status] <= ORDER[after[key]], (key, status, after[key])


@settings(max_examples=property_examples(60), deadline=None)
@given(
    infused=DAYS, today=DAYS, visit=st.sampled_from([v for v in PROTOCOL.schedule.visits if v.study_day >= 0])
)
def test_a_record_inside_the_window_completes_the_form(infused: dt.date, today: dt.date, visit) -> None:
    day = infused + dt.timedelta(days=visit.latest_day)
    moment = dt.datetime.combine(day, dt.time(23, 59), tzinfo=dt.UTC)
    records = {"crs_assessment": [{"id": 7, "subject_id": "S-1", "assessed_at": moment}]}
    statuses = _statuses(infused, today, records)
    if (visit.name, "crs_assessment") in statuses:
        assert statuses[(visit.name, "crs_assessment")] == "complete"
    # the day after the window's end belongs to no earlier window: never counted for this visit
    late = {"crs_assessment": [{"id": 8, "subject_id": "S-1", "assessed_at": moment + dt.timedelta(days=1)}]}
    if (visit.name, "crs_assessment") in statuses and today > day + dt.timedelta(days=1):
        assert _statuses(infused, today, late)[(visit.name, "crs_assessment")] == "missing"


@given(today=DAYS)
def test_before_an_infusion_only_consent_is_expected(today: dt.date) -> None:
    statuses = _statuses(None, today)
    assert {s for (_, table), s in statuses.items() if table != "subject"} == {"not_scheduled"}
    assert statuses[("Screening", "subject")] == "complete"
