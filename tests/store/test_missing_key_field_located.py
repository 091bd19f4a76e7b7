"""A row written without a value for a field of its natural key is refused at that field, with its row
(D-19.1042), and the refusal's header counts the rows refused, not their problems: a row missing two key
fields is one bad row (D-19.1042)."""

from __future__ import annotations

from typing import Any

import pytest

from cartrial.errors import InputError


def test_a_batch_names_the_row_and_the_field(sqlite_study: Any) -> None:
    service = sqlite_study.service
    rows = [
        {"subject_id": "CT-004", "site_id": "TJH", "consent_date": "2021-06-01", "sex": "F"},
        {"site_id": "TJH", "consent_date": "2021-06-02", "sex": "M"},
    ]
    with pytest.raises(InputError) as raised, service.transaction("admin", "test") as tx:
        service.upsert_rows(tx, "subject", rows)
    [problem] = raised.value.problems
    assert (problem.field, problem.row, problem.value) == ("subject.subject_id", 2, None)


def test_a_row_missing_two_key_fields_is_one_bad_row(sqlite_study: Any) -> None:
    """crs_assessment's natural key is (subject_id, assessed_at): one row with neither has two problems,
    one per field, and is one bad row (it said "2 bad row(s)")."""
    service = sqlite_study.service
    row = {"temperature_c": 38.5, "hypotension": False, "vasopressors": 0, "oxygen": "none"}
    with pytest.raises(InputError) as raised, service.transaction("admin", "test") as tx:
        service.upsert_rows(tx, "crs_assessment", [row])
    error = raised.value
    assert [(p.field, p.row) for p in error.problems] == [
        ("crs_assessment.subject_id", 1),
        ("crs_assessment.assessed_at", 1),
    ]
    assert error.header is not None and error.header.startswith("1 bad row(s) ")


def test_two_rows_missing_a_key_field_are_two_bad_rows(sqlite_study: Any) -> None:
    service = sqlite_study.service
    rows = [
        {"subject_id": "CT-001", "temperature_c": 38.5},
        {"temperature_c": 38.0},
        {"subject_id": "CT-002", "assessed_at": "2021-05-03T10:00:00Z", "temperature_c": 37.0},
    ]
    with pytest.raises(InputError) as raised, service.transaction("admin", "test") as tx:
        service.upsert_rows(tx, "crs_assessment", rows)
    # row 1: assessed_at missing; row 2: both missing; row 3 is whole
    assert [p.row for p in raised.value.problems] == [1, 2, 2]
    assert str(raised.value.header).startswith("2 bad row(s) ")
