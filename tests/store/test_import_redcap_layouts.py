"""REDCap import: a value is checked against its field's layout in full (D-19.1231, D-19.1232); a checkbox's
missing-code column is read as no value (D-19.1233).

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
from tests.conftest import property_examples

from cartrial import examples as cartrial_examples
from cartrial.errors import InputError
from cartrial.store.importing import (
    convert_export,
    import_redcap,
    load_mapping,
    read_dictionary,
    read_records,
)
from cartrial.store.importing.redcap_dictionary import FieldSpec, read_bound, read_moment
from cartrial.store.importing.redcap_mapping import RedcapMapping
from cartrial.store.importing.redcap_records import check_value
from cartrial.store.service import StudyService

from .conftest import empty_sqlite_copy

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
    return [(r, f, allowed) for r, f, _, allowed in problems_with_messages(path, row, column, value)]


def problems_with_messages(
    path: Path, row: int, column: str, value: str
) -> list[tuple[int | None, str | None, str, str]]:
    """`problems_of` with each problem's message: (row, field, message, allowed)."""
    rows = example_records()
    rows[row][column] = value
    try:
        read_records(write_csv(path, rows), read_dictionary(REDCAP / "dictionary.csv"))
    except InputError as exc:
        return [(p.row, p.field, p.message, p.allowed or "") for p in exc.problems]
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
    found = problems_with_messages(tmp_path / "r.csv", 1, "infused_at", value)
    assert [(r, f, m) for r, f, m, _ in found] == [(3, "infused_at", "not a datetime_ymd value")]
    assert "YYYY-MM-DD HH:MM" in found[0][3]


@pytest.mark.parametrize("value", ["5_8.0", "\uff15\uff18.0", "58.0\u0660"])
def test_a_number_python_reads_but_redcap_does_not_write_is_refused(tmp_path: Path, value: str) -> None:
    """weight_kg (number_1dp, 20-250) on the first record row: float() reads '5_8.0' and full-width digits
    as 58.0, so they passed the export's check, unlike the bounds' reading of the field (D-19.1070).
    '58.0\u0660' (an Arabic-Indic zero) was refused before too, as "more than 1 decimal places": the
    message says why it is refused."""
    found = problems_with_messages(tmp_path / "r.csv", 0, "weight_kg", value)
    assert [(r, f, m) for r, f, m, _ in found] == [(2, "weight_kg", "not a number")]


@pytest.mark.parametrize("value", ["5_8", "\uff15\uff18"])
def test_a_plain_number_python_reads_but_redcap_does_not_write_is_refused(tmp_path: Path, value: str) -> None:
    """cells_per_kg (``number``, no bounds, no decimal places) on the day-0 row: float() reads '5_8' and
    full-width '５８' as 58.0; REDCap's number validation takes ASCII digits only."""
    found = problems_with_messages(tmp_path / "r.csv", 1, "cells_per_kg", value)
    assert [(r, f, m) for r, f, m, _ in found] == [(3, "cells_per_kg", "not a number")]


def test_an_ordinary_export_still_reads(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "r.csv", 0, "weight_kg", "58.5") == []


@settings(
    max_examples=property_examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_a_date_is_accepted_exactly_when_written_year_month_day_in_full(tmp_path: Path, day: dt.date) -> None:
    """Written without zero padding, a date is accepted exactly when that text is its ISO form (a month and
    a day of two digits already): the independent oracle is `date.isoformat()`."""
    text = f"{day.year}-{day.month}-{day.day}"
    found = problems_of(tmp_path / "r.csv", 0, "consent_date", text)
    assert (found == []) == (text == day.isoformat())


def _with_missing_code_column(tmp_path: Path, cell: str) -> tuple[Path, int]:
    """The example export with REDCap's missing-code column of checkbox ae_actions (``ae_actions___unk``,
    after its choice columns), ticked on the first adverse-event row whose actions are all unticked."""
    rows = example_records()
    ae = next(
        i
        for i, r in enumerate(rows)
        if r["redcap_repeat_instrument"] == "adverse_events"
        and all(r[f"ae_actions___{code}"] == "0" for code in "12345")
    )
    out: list[dict[str, str]] = []
    for i, row in enumerate(rows):
        new: dict[str, str] = {}
        for key, value in row.items():
            new[key] = value
            if key == "ae_actions___5":
                new["ae_actions___unk"] = (cell if i == ae else "0") if row[key] != "" else ""
        out.append(new)
    return write_csv(tmp_path / "r.csv", out), ae


def test_a_checkbox_missing_code_column_is_read_as_no_value_and_counted(tmp_path: Path) -> None:
    """REDCap exports a missing-data code given to a checkbox field as one more column of that field,
    ``<field>___<code>`` holding 1 where the code was chosen (Utah CTSI REDCap guide, "Missing Data Codes":
    the checkbox [family] exported with its missing-code columns, '1' under the chosen code; written only
    when some record has one). With ``UNK`` a missing code the column is the field's "no value", counted
    once; the export was refused ("column is not a field of the data dictionary")."""
    path, _ = _with_missing_code_column(tmp_path, "1")
    export = read_records(path, read_dictionary(REDCAP / "dictionary.csv"), ["UNK"])
    assert export.missing_codes_found == {"UNK": 1}
    assert "ae_actions___unk" not in export.data_columns
    data = load_mapping(REDCAP / "mapping.yaml").model_dump()
    data["missing_data_codes"] = ["UNK"]
    dictionary = read_dictionary(REDCAP / "dictionary.csv")
    _, summary, problems = convert_export(export, dictionary, RedcapMapping.model_validate(data), "0" * 64)
    assert problems == [] and summary.missing_codes_found == {"UNK": 1}


def test_a_checkbox_missing_code_column_without_that_code_is_still_refused(tmp_path: Path) -> None:
    path, _ = _with_missing_code_column(tmp_path, "1")
    with pytest.raises(InputError) as caught:
        read_records(path, read_dictionary(REDCAP / "dictionary.csv"), ["NASK"])
    assert [p.field for p in caught.value.problems] == ["ae_actions___unk"]


def test_a_checkbox_missing_code_cell_other_than_0_or_1_is_located(tmp_path: Path) -> None:
    path, ae = _with_missing_code_column(tmp_path, "yes")
    with pytest.raises(InputError) as caught:
        read_records(path, read_dictionary(REDCAP / "dictionary.csv"), ["UNK"])
    assert [(p.row, p.field) for p in caught.value.problems] == [(ae + 2, "ae_actions___unk")]


def test_a_refused_date_time_shows_no_value_converted_or_not(
    tmp_path: Path, empty_sqlite_template: Path
) -> None:
    """infused_at (datetime_ymd, not an identifier) read in Asia/Shanghai (UTC+8, no daylight saving since
    1991): 2001-04-27 02:00 local is 2001-04-26T18:00:00+00:00, before the subject's consent, so the forms'
    validation refuses it (INFUSION-BEFORE-CONSENT). The problem quoted the converted UTC value, a value of
    the record and not even the exported one; the row and field locate the cell (project rule: no error
    shows a record's values)."""
    rows = example_records()
    rows[1]["infused_at"] = "2001-04-27 02:00"
    text = (REDCAP / "mapping.yaml").read_text(encoding="utf-8")
    assert "\ntimezone: UTC " in text
    records = write_csv(tmp_path / "r.csv", rows)
    mapping = tmp_path / "m.yaml"
    mapping.write_text(text.replace("\ntimezone: UTC ", "\ntimezone: Asia/Shanghai "), encoding="utf-8")
    url = empty_sqlite_copy(empty_sqlite_template, tmp_path / "redcap.db")
    StudyService(url).add_site("admin", "TJH")
    with pytest.raises(InputError) as caught:
        import_redcap(url, records, REDCAP / "dictionary.csv", mapping, "admin", dry_run=True)
    problems = caught.value.problems
    assert [(p.row, (p.field or "").split(" ")[0]) for p in problems] == [(3, "infused_at")]
    assert "INFUSION-BEFORE-CONSENT" in problems[0].message
    assert problems[0].value is None
    shown = str(caught.value)
    assert "2001-04-26" not in shown and "18:00" not in shown and "2001-04-27" not in shown


def _with_code_cells(tmp_path: Path, cells: dict[int, str], edits: dict[tuple[int, str], str]) -> Path:
    """The example export with column ``ae_actions___unk`` after ``ae_actions___5``: `cells` (0-based row →
    cell) where given, else "0" on an adverse-event row and "" elsewhere; `edits` other cells changed."""
    rows = example_records()
    for (i, column), value in edits.items():
        rows[i][column] = value
    out: list[dict[str, str]] = []
    for i, row in enumerate(rows):
        new: dict[str, str] = {}
        for key, value in row.items():
            new[key] = value
            if key == "ae_actions___5":
                new["ae_actions___unk"] = cells.get(i, "0" if row[key] != "" else "")
        out.append(new)
    return write_csv(tmp_path / "r.csv", out)


def _first_row(instrument: str) -> int:
    return next(i for i, r in enumerate(example_records()) if r["redcap_repeat_instrument"] == instrument)


def test_an_identifier_checkbox_missing_code_cell_is_not_quoted(tmp_path: Path) -> None:
    """ae_actions flagged ``Identifier? = y``: a bad cell of its missing-code column is located but not
    quoted, as a bad cell of its choice columns is not (D-19.1073); "yes" was shown."""
    ae = _first_row("adverse_events")
    path = _with_code_cells(tmp_path, {ae: "yes"}, {})
    lines = (REDCAP / "dictionary.csv").read_text(encoding="utf-8").splitlines()
    out = []
    for row in csv.reader(lines):
        if row[0] == "ae_actions":
            row[10] = "y"  # Identifier?
        out.append(row)
    dictionary_path = tmp_path / "dictionary.csv"
    with dictionary_path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(out)
    dictionary = read_dictionary(dictionary_path)
    assert dictionary.fields["ae_actions"].identifier
    with pytest.raises(InputError) as caught:
        read_records(path, dictionary, ["UNK"])
    assert [(p.row, p.field, p.value) for p in caught.value.problems] == [(ae + 2, "ae_actions___unk", None)]
    assert "yes" not in str(caught.value)


def test_a_missing_code_ticked_on_another_instruments_repeating_row_is_stray_data(tmp_path: Path) -> None:
    """A 1 in ``ae_actions___unk`` on an EDSS (repeating instrument) row is data of adverse_events on a row
    of another instrument, refused as a 1 in ``ae_actions___1`` there is; it was counted as a missing
    code of a record that has no adverse event there."""
    edss = _first_row("edss")
    path = _with_code_cells(tmp_path, {edss: "1"}, {})
    with pytest.raises(InputError) as caught:
        read_records(path, read_dictionary(REDCAP / "dictionary.csv"), ["UNK"])
    found = [(p.row, p.field) for p in caught.value.problems]
    assert found == [(edss + 2, "ae_actions___unk")]
    assert "on a row of repeating instrument 'edss'" in caught.value.problems[0].message


def test_a_missing_code_ticked_with_a_choice_is_refused_at_its_row(tmp_path: Path) -> None:
    """The missing code says the field has no value; a ticked choice says it has one: both on one row was
    read as data (tocilizumab given) and counted as missing at once."""
    ae = _first_row("adverse_events")
    path = _with_code_cells(tmp_path, {ae: "1"}, {(ae, "ae_actions___1"): "1"})
    with pytest.raises(InputError) as caught:
        read_records(path, read_dictionary(REDCAP / "dictionary.csv"), ["UNK"])
    [problem] = caught.value.problems
    assert (problem.row, problem.field) == (ae + 2, "ae_actions___unk")
    assert "choice" in problem.message and problem.value is None


DATE_TYPES = {
    # validation type -> how a raw export writes it (data-standards.md §6.2), by hand
    "date_ymd": "{d:%Y}-{d:%m}-{d:%d}",
    "date_dmy": "{d:%Y}-{d:%m}-{d:%d}",
    "datetime_mdy": "{d:%Y}-{d:%m}-{d:%d} {d:%H}:{d:%M}",
    "datetime_seconds_ymd": "{d:%Y}-{d:%m}-{d:%d} {d:%H}:{d:%M}:{d:%S}",
}


@settings(max_examples=property_examples(60), deadline=None)
@given(
    st.sampled_from(sorted(DATE_TYPES)),
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2099, 12, 30)),
)
def test_a_date_value_and_a_bound_written_alike_are_read_alike(validation: str, moment: dt.datetime) -> None:
    """A value and a Text Validation Min/Max of a date field are read from one layout table (D-19.1236): a
    value equal to the field's minimum and maximum passes, and one a day later is above a maximum written
    as the value is. The moment is written by hand from the type's raw-export layout."""
    text = DATE_TYPES[validation].format(d=moment)
    later = DATE_TYPES[validation].format(d=moment + dt.timedelta(days=1))
    spec = FieldSpec("x", "f", "text", "x", validation=validation, minimum=text, maximum=text)
    assert check_value(spec, text) is None
    refused = check_value(spec, later)
    assert refused is not None and refused[0] == "outside the field's validation range"
    assert read_bound(validation, text) == read_moment(validation, text)
