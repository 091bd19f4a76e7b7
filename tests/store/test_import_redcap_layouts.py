"""REDCap import: a value is checked against its field's layout in full (D-19.1231, D-19.1232).

Sources: docs/science/data-standards.md §6.1 (validation types: dates and date-times map to ISO 8601) and
§6.2 (raw exports write every date year first, ``YYYY-MM-DD``, and date-times ``YYYY-MM-DD HH:MM``, with
two-digit month, day, hour and minute whatever the entry format); REDCap's number validation takes ASCII
digits with a decimal point (``number``) or comma (``*_comma_decimal``), no digit grouping.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cartrial import examples as cartrial_examples
from cartrial.errors import InputError
from cartrial.store.importing import read_dictionary, read_records

REDCAP = cartrial_examples.path("ct103a-nmosd") / "redcap"


def example_records() -> list[dict[str, str]]:
    with (REDCAP / "records.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def problems_of(path: Path, row: int, column: str, value: str) -> list[tuple[int | None, str | None, str]]:
    """The export problems after writing `value` into `column` of the export's 0-based `row`."""
    rows = example_records()
    rows[row][column] = value
    try:
        read_records(write_csv(path, rows), read_dictionary(REDCAP / "dictionary.csv"))
    except InputError as exc:
        return [(p.row, p.field, p.allowed or "") for p in exc.problems]
    return []


@pytest.mark.parametrize("value", ["2021-4-1", "2021-04-1", "2021-4-01"])
def test_a_date_without_two_digit_month_or_day_is_refused_at_the_export(tmp_path: Path, value: str) -> None:
    """consent_date (date_ymd) on the first record row (spreadsheet row 2): a raw export writes 2021-04-01;
    strptime's %m/%d also read one digit, so 2021-4-1 passed the export's check."""
    found = problems_of(tmp_path / "r.csv", 0, "consent_date", value)
    assert [(r, f) for r, f, _ in found] == [(2, "consent_date")]
    assert "YYYY-MM-DD" in found[0][2]


@pytest.mark.parametrize("value", ["2021-04-27 2:00", "2021-04-27 02:0", "2021-4-27 02:00"])
def test_a_date_time_without_two_digit_parts_is_refused_at_the_export(tmp_path: Path, value: str) -> None:
    """infused_at (datetime_ymd) on the second record row (spreadsheet row 3): it passed the export's check
    and was then refused by the mapping's conversion as a time 'skipped or repeated by a daylight-saving
    change' in UTC, a zone without one."""
    found = problems_of(tmp_path / "r.csv", 1, "infused_at", value)
    assert [(r, f) for r, f, _ in found] == [(3, "infused_at")]
    assert "YYYY-MM-DD HH:MM" in found[0][2]
    assert all("daylight" not in allowed for _, _, allowed in found)


@pytest.mark.parametrize("value", ["5_8.0", "\uff15\uff18.0", "58.0\u0660"])
def test_a_number_python_reads_but_redcap_does_not_write_is_refused(tmp_path: Path, value: str) -> None:
    """weight_kg (number_1dp, 20-250) on the first record row: float() reads '5_8.0' and full-width digits
    as 58.0, so they passed the export's check, unlike the bounds' reading of the field (D-19.1070)."""
    found = problems_of(tmp_path / "r.csv", 0, "weight_kg", value)
    assert [(r, f) for r, f, _ in found] == [(2, "weight_kg")]


def test_an_ordinary_export_still_reads(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "r.csv", 0, "weight_kg", "58.5") == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_a_date_is_accepted_exactly_when_written_year_month_day_in_full(tmp_path: Path, day: dt.date) -> None:
    """Written without zero padding, a date is accepted exactly when that text is its ISO form (a month and
    a day of two digits already): the independent oracle is `date.isoformat()`."""
    text = f"{day.year}-{day.month}-{day.day}"
    found = problems_of(tmp_path / "r.csv", 0, "consent_date", text)
    assert (found == []) == (text == day.isoformat())
