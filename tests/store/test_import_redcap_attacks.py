"""REDCap import: defects found by attacking the import path (D-19.1070 to D-19.1073).

Sources: docs/science/data-standards.md §6.1 (dictionary: validation types, min/max, ``Identifier?``), §6.2
(flat export: ``<field>___<code>`` checkbox columns; date-times without offset); REDCap lower-cases a
checkbox code in its export column name (``sym___a`` for code ``A``); the IANA rules of
America/New_York (2021: clocks go 02:00 → 03:00 on 14 March and 02:00 → 01:00 on 7 November).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given, settings
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
from cartrial.store.importing.redcap_mapping import RedcapMapping
from cartrial.store.service import StudyService

from .conftest import empty_sqlite_copy

REDCAP = cartrial_examples.path("ct103a-nmosd") / "redcap"


def write_dictionary(path: Path, rows: list[list[str]]) -> Path:
    header = (REDCAP / "dictionary.csv").read_text(encoding="utf-8").splitlines()[0]
    with path.open("w", newline="", encoding="utf-8") as handle:
        handle.write(header + "\n")
        writer = csv.writer(handle, lineterminator="\n")
        for row in rows:
            writer.writerow(row + [""] * (18 - len(row)))
    return path


def field(
    name: str, form: str, kind: str, choices: str = "", validation: str = "", low: str = "", high: str = ""
):
    return [name, form, "", kind, name, choices, "", validation, low, high]


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def example_records() -> list[dict[str, str]]:
    with (REDCAP / "records.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# ---------------------------------------------------------------------------------------------------------
# D-19.1070: a bound the dictionary accepts is the bound the values are checked against
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("validation", "low", "high", "value"),
    [
        # a comma-decimal field's bounds are written with a comma (0,5): 0,1 < 0,5
        ("number_comma_decimal", "0,5", "300,0", "0,1"),
        ("number_1dp_comma_decimal", "0,5", "300,0", "300,5"),
        # a date-time-with-seconds field bounded without seconds: 2020 is before 2021-01-01 00:00
        ("datetime_seconds_ymd", "2021-01-01 00:00", "", "2020-06-01 10:00:00"),
        # a date field bounded with a time of day: 2020-12-31 is before 2021-01-01
        ("date_ymd", "2021-01-01 00:00", "", "2020-12-31"),
        # an ISO 'T' between date and time, as the dictionary check (datetime.fromisoformat) accepts it
        ("datetime_ymd", "", "2021-01-01T00:00", "2021-01-02 00:00"),
    ],
)
def test_a_value_outside_a_bound_the_dictionary_accepted_is_refused(
    tmp_path: Path, validation: str, low: str, high: str, value: str
) -> None:
    """Before: `read_dictionary` accepted these bounds (D-19.1070) but `check_value` could not read them and
    skipped them silently, so the out-of-range value was imported. Not the datetime_ymd / 2021-01-01T00:00
    case: it passes on main too (`check_value` read the 'T' bound with its date part), kept as a case of
    the one reading."""
    dictionary = read_dictionary(
        write_dictionary(
            tmp_path / "d.csv",
            [field("record_id", "vitals", "text"), field("x", "vitals", "text", "", validation, low, high)],
        )
    )
    path = write_csv(tmp_path / "r.csv", [{"record_id": "A", "x": value}])
    with pytest.raises(InputError) as caught:
        read_records(path, dictionary)
    [problem] = caught.value.problems
    assert (problem.row, problem.field) == (2, "x")
    assert problem.message == "outside the field's validation range"


@pytest.mark.parametrize(
    ("validation", "low", "high", "value"),
    [
        ("number_comma_decimal", "0,5", "300,0", "0,5"),
        ("number_comma_decimal", "0,5", "300,0", "300"),
        ("datetime_seconds_ymd", "2021-01-01 00:00", "", "2021-01-01 00:00:00"),
        ("date_ymd", "2021-01-01", "2021-12-31", "2021-12-31"),
        ("datetime_ymd", "", "2021-01-01T00:00", "2021-01-01 00:00"),
    ],
)
def test_a_value_on_its_bound_is_accepted(
    tmp_path: Path, validation: str, low: str, high: str, value: str
) -> None:
    """Bounds are inclusive (REDCap's range check refuses only values below the min or above the max)."""
    dictionary = read_dictionary(
        write_dictionary(
            tmp_path / "d.csv",
            [field("record_id", "vitals", "text"), field("x", "vitals", "text", "", validation, low, high)],
        )
    )
    read_records(write_csv(tmp_path / "r.csv", [{"record_id": "A", "x": value}]), dictionary)


@pytest.mark.parametrize("low", ["2021-01-01T00:00+01:00", "2021-W01-1", "20210101"])
def test_a_date_bound_with_an_offset_or_in_another_iso_form_is_a_dictionary_error(
    tmp_path: Path, low: str
) -> None:
    """REDCap date-times carry no offset: a bound with one was compared with the zone-less maximum
    (TypeError traceback); a week date or a basic-format date is not REDCap's Y-M-D layout."""
    path = write_dictionary(
        tmp_path / "d.csv",
        [field("record_id", "v", "text"), field("x", "v", "text", "", "datetime_ymd", low, "2021-12-31")],
    )
    with pytest.raises(InputError) as caught:
        read_dictionary(path)
    [problem] = caught.value.problems
    assert (problem.row, problem.field) == (3, "Text Validation Min")


@pytest.mark.parametrize("low", ["nan", "1_0", "inf"])
def test_a_number_bound_that_is_no_decimal_is_a_dictionary_error(tmp_path: Path, low: str) -> None:
    """``float()`` reads ``nan`` (every comparison false: the bound never bites), ``1_0`` (10) and ``inf``;
    none is a number REDCap's min/max takes."""
    path = write_dictionary(
        tmp_path / "d.csv", [field("record_id", "v", "text"), field("x", "v", "text", "", "number", low, "")]
    )
    with pytest.raises(InputError) as caught:
        read_dictionary(path)
    [problem] = caught.value.problems
    assert (problem.row, problem.field) == (3, "Text Validation Min")


@pytest.mark.parametrize(
    ("validation", "high"),
    [
        ("number", "1,000"),  # a number's value takes no comma: read as 1.0, every value above 1 was refused
        ("number_1dp", "1,000"),
        ("integer", "1,000"),
        ("integer", "2.5"),  # an integer's value is a whole number
        ("number", "1e400"),  # float() reads infinity, a value the number rule refuses
        ("number_comma_decimal", "1e400"),
    ],
)
def test_a_bound_not_written_as_the_fields_values_is_a_dictionary_error(
    tmp_path: Path, validation: str, high: str
) -> None:
    """A bound is read with its field's own value syntax (`check_value`): a decimal comma only for
    ``*_comma_decimal``, a whole number for ``integer``, a finite number."""
    path = write_dictionary(
        tmp_path / "d.csv",
        [field("record_id", "v", "text"), field("x", "v", "text", "", validation, "", high)],
    )
    with pytest.raises(InputError) as caught:
        read_dictionary(path)
    [problem] = caught.value.problems
    assert (problem.row, problem.field) == (3, "Text Validation Max")


# ---------------------------------------------------------------------------------------------------------
# D-19.1071: a local time that does not exist, or exists twice, in the mapping's time zone
# ---------------------------------------------------------------------------------------------------------


def _infusion_at(tmp_path: Path, local: str, zone: str) -> tuple[list[object], list[object]]:
    rows = example_records()
    target = next(i for i, r in enumerate(rows) if r["redcap_event_name"] == "day0_arm_1")
    rows[target]["infused_at"] = local
    dictionary = read_dictionary(REDCAP / "dictionary.csv")
    export = read_records(write_csv(tmp_path / "r.csv", rows), dictionary)
    data = load_mapping(REDCAP / "mapping.yaml").model_dump()
    data["timezone"] = zone
    forms, _, problems = convert_export(export, dictionary, RedcapMapping.model_validate(data), "0" * 64)
    infusions = next(f for f in forms if f.spec.name == "infusions")
    return [target + 2, infusions.frame["infused_at"].tolist()], list(problems)


@pytest.mark.parametrize("local", ["2021-03-14 02:30", "2021-11-07 01:30"])
def test_a_skipped_or_repeated_local_time_is_refused_not_guessed(tmp_path: Path, local: str) -> None:
    """14 March 2021 02:30 never happened in New York (02:00 EST → 03:00 EDT); 7 November 2021 01:30
    happened twice (EDT, then EST). Before, the first was stored as 07:30 UTC and the second silently as the
    EDT one (05:30 UTC): the web form (`localize_datetime`) refuses both and asks for an offset."""
    (row, _), problems = _infusion_at(tmp_path, local, "America/New_York")
    [problem] = problems
    assert (problem.row, problem.field) == (row, "infused_at")
    assert "daylight-saving" in problem.message


def test_an_ordinary_local_time_is_converted_to_utc(tmp_path: Path) -> None:
    """2021-07-01 10:00 in New York is EDT (UTC-4): 14:00 UTC."""
    (_, values), problems = _infusion_at(tmp_path, "2021-07-01 10:00", "America/New_York")
    assert problems == []
    assert "2021-07-01T14:00:00Z" in values


ZONES_NO_PLACE = ["posix/America/New_York", "right/America/New_York", "localtime", "Factory", "Europe"]
"""Names zoneinfo may load (or, for the folder Europe, fail to with IsADirectoryError) that name no place's
zone: `columns.time_zone_of` (D-19.607) refuses them."""


@pytest.mark.parametrize("zone", ZONES_NO_PLACE)
def test_a_time_zone_the_one_rule_refuses_is_a_mapping_error_at_its_key(tmp_path: Path, zone: str) -> None:
    """The mapping accepted any name ZoneInfo loads: posix/America/New_York then made every date-time a
    'daylight-saving' problem (localize_datetime refuses the zone), and Europe raised IsADirectoryError."""
    text = (REDCAP / "mapping.yaml").read_text(encoding="utf-8")
    assert "\ntimezone: UTC " in text
    mapping = write_text(tmp_path / "m.yaml", text.replace("\ntimezone: UTC ", f"\ntimezone: {zone} "))
    with pytest.raises(InputError) as caught:
        load_mapping(mapping)
    [problem] = caught.value.problems
    assert problem.field == "timezone" and "Europe/Paris" in (problem.message or "")


@pytest.mark.parametrize("zone", ZONES_NO_PLACE)
def test_convert_export_never_blames_a_daylight_saving_change_for_a_bad_zone(
    tmp_path: Path, zone: str
) -> None:
    """A mapping built without `load_mapping`'s check: the zone is refused, no date-time is blamed on DST."""
    dictionary = read_dictionary(REDCAP / "dictionary.csv")
    export = read_records(REDCAP / "records.csv", dictionary)
    mapping = load_mapping(REDCAP / "mapping.yaml").model_copy(update={"timezone": zone})
    with pytest.raises(InputError) as caught:
        convert_export(export, dictionary, mapping, "0" * 64)
    assert [p.field for p in caught.value.problems] == ["timezone"]
    assert "daylight" not in str(caught.value)


def _import_problems(tmp_path: Path, template: Path, rows: list[dict[str, str]], mapping_text: str) -> list:
    records = write_csv(tmp_path / "r.csv", rows)
    mapping = write_text(tmp_path / "m.yaml", mapping_text)
    url = empty_sqlite_copy(template, tmp_path / "redcap.db")
    StudyService(url).add_site("admin", "TJH")
    with pytest.raises(InputError) as caught:
        import_redcap(url, records, REDCAP / "dictionary.csv", mapping, "admin", dry_run=True)
    return list(caught.value.problems)


def test_a_refused_daylight_saving_time_is_one_problem(tmp_path: Path, empty_sqlite_template: Path) -> None:
    """D-19.1075: the refused time was left blank and the forms' validation added "value is required (got
    '')" at the same row for infused_at: one bad cell, two problems."""
    rows = example_records()
    target = next(i for i, r in enumerate(rows) if r["redcap_event_name"] == "day0_arm_1")
    rows[target]["infused_at"] = "2021-03-14 02:30"  # skipped in New York (02:00 EST → 03:00 EDT)
    text = (REDCAP / "mapping.yaml").read_text(encoding="utf-8")
    assert "\ntimezone: UTC " in text
    problems = _import_problems(
        tmp_path,
        empty_sqlite_template,
        rows,
        text.replace("\ntimezone: UTC ", "\ntimezone: America/New_York "),
    )
    [problem] = problems
    assert (problem.row, problem.field) == (target + 2, "infused_at")
    assert "daylight-saving" in problem.message


def test_a_code_without_a_cartrial_value_is_one_problem(tmp_path: Path, empty_sqlite_template: Path) -> None:
    """D-19.1075, the same for a code the mapping does not translate: dose_level (a value every infusion
    needs) read through values {"2": "2"}, the example's three infusions at dose level 1 each gave the
    conversion problem and "value is required" at the same row and field."""
    rows = example_records()
    positions = [
        i for i, r in enumerate(rows) if r["redcap_event_name"] == "day0_arm_1" and r["dose_level"] == "1"
    ]
    assert len(positions) == 3
    text = (REDCAP / "mapping.yaml").read_text(encoding="utf-8")
    old = "      dose_level: dose_level "
    assert old in text
    mapping = text.replace(old, '      dose_level: {field: dose_level, values: {"2": "2"}} ')
    problems = _import_problems(tmp_path, empty_sqlite_template, rows, mapping)
    assert sorted((p.row, p.field) for p in problems) == [(i + 2, "dose_level") for i in positions]
    assert all(p.message == "code has no cartrial value in the mapping" for p in problems)


# ---------------------------------------------------------------------------------------------------------
# D-19.1072: checkbox codes and their export columns
# ---------------------------------------------------------------------------------------------------------


def test_two_checkbox_codes_on_one_export_column_are_a_dictionary_error(tmp_path: Path) -> None:
    """REDCap writes code ``A`` as column ``sym___a`` and ``b-2`` as ``sym___b_2``: codes ``A`` and ``a`` (or
    ``b-2`` and ``b_2``) would share a column, and one of them was silently never read."""
    path = write_dictionary(
        tmp_path / "d.csv",
        [
            field("record_id", "ae", "text"),
            field("sym", "ae", "checkbox", "A, Alpha | a, Other alpha | b-2, Beta | b_2, Other beta"),
        ],
    )
    with pytest.raises(InputError) as caught:
        read_dictionary(path)
    [problem] = caught.value.problems
    assert (problem.row, problem.field) == (3, "Choices, Calculations, OR Slider Labels")
    assert "same export column" in problem.message


def test_a_checkbox_collision_names_every_code_of_the_shared_column(tmp_path: Path) -> None:
    """Review finding 5: the problem listed only the later codes ("a, b_2"), not which code each collides
    with; it names each shared column with all its codes."""
    path = write_dictionary(
        tmp_path / "d.csv",
        [
            field("record_id", "ae", "text"),
            field(
                "sym", "ae", "checkbox", "A, Alpha | a, Other alpha | b-2, Beta | b_2, Other beta | c, Gamma"
            ),
        ],
    )
    with pytest.raises(InputError) as caught:
        read_dictionary(path)
    [problem] = caught.value.problems
    assert problem.value == "A/a → sym___a; b-2/b_2 → sym___b_2"


def test_a_checkbox_problem_names_the_column_of_the_export(tmp_path: Path) -> None:
    """A ticked code with no cartrial value was located at ``ae_actions___X`` (the code as the dictionary
    writes it), a column the export does not have: REDCap's is ``ae_actions___x``."""
    text = (REDCAP / "dictionary.csv").read_text(encoding="utf-8")
    text = text.replace('"1, Tocilizumab | 2, Corticosteroids', '"X, Tocilizumab | 2, Corticosteroids')
    dictionary = read_dictionary(write_text(tmp_path / "d.csv", text))
    rows = [
        {("ae_actions___x" if k == "ae_actions___1" else k): v for k, v in r.items()}
        for r in example_records()
    ]
    ae = next(i for i, r in enumerate(rows) if r["redcap_repeat_instrument"] == "adverse_events")
    rows[ae]["ae_actions___x"] = "1"
    export = read_records(write_csv(tmp_path / "r.csv", rows), dictionary)
    data = load_mapping(REDCAP / "mapping.yaml").model_dump()
    data["forms"]["adverse_events"]["columns"]["action_taken"]["values"].pop("1")
    _, _, problems = convert_export(export, dictionary, RedcapMapping.model_validate(data), "0" * 64)
    [problem] = [p for p in problems if p.row == ae + 2]
    assert problem.field == "ae_actions___x"


def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------------------
# D-19.1073: the values of a field flagged as an identifier are never shown
# ---------------------------------------------------------------------------------------------------------


def test_a_value_of_an_identifier_field_is_never_shown(tmp_path: Path) -> None:
    """With record_id and consent_date flagged ``Identifier? = y``, a duplicated record showed the subject
    id ('CT-001') and a bad date of consent_date showed the date."""
    text = (REDCAP / "dictionary.csv").read_text(encoding="utf-8")
    old = "consent_date,demographics,,text,Date of informed consent,,,date_ymd,2020-01-01,,,"
    record = "record_id,demographics,,text,Subject ID (e.g. CT-001),,,,,,,"
    assert old in text and record in text
    text = text.replace(old, old[:-1] + "y,").replace(record, record[:-1] + "y,")
    dictionary = read_dictionary(write_text(tmp_path / "d.csv", text))
    assert dictionary.fields["consent_date"].identifier and dictionary.fields["record_id"].identifier
    rows = example_records()
    rows.append(dict(rows[0]))
    rows[0]["consent_date"] = "2021-02-30"
    with pytest.raises(InputError) as caught:
        read_records(write_csv(tmp_path / "r.csv", rows), dictionary)
    problems = caught.value.problems
    assert {(p.row, p.field) for p in problems} == {(2, "consent_date"), (len(rows) + 1, "record_id")}
    assert all(p.value is None for p in problems)
    assert "CT-001" not in str(caught.value) and "2021-02-30" not in str(caught.value)


def test_a_value_of_an_identifier_field_is_hidden_in_the_mapping_translation(tmp_path: Path) -> None:
    """A code of an identifier field with no cartrial value in the mapping was shown."""
    text = (REDCAP / "dictionary.csv").read_text(encoding="utf-8")
    old = 'sex,demographics,,radio,Sex,"1, Female | 2, Male",,,,,,'
    assert old in text
    dictionary = read_dictionary(write_text(tmp_path / "d.csv", text.replace(old, old[:-1] + "y,")))
    export = read_records(REDCAP / "records.csv", dictionary)
    data = load_mapping(REDCAP / "mapping.yaml").model_dump()
    data["forms"]["subjects"]["columns"]["sex"]["values"].pop("2")
    _, _, problems = convert_export(export, dictionary, RedcapMapping.model_validate(data), "0" * 64)
    assert problems and all(p.field == "sex" and p.value is None for p in problems)


def test_a_form_rule_on_a_column_read_from_an_identifier_field_does_not_show_it(
    tmp_path: Path, empty_sqlite_template: Path
) -> None:
    """The forms' validation runs after the mapping: a birth year (flagged ``Identifier? = y`` here) after
    the consent year is refused at its export row and field, without the year."""
    text = (REDCAP / "dictionary.csv").read_text(encoding="utf-8")
    old = "birth_year,demographics,,text,Year of birth,,,integer,1920,2010,,"
    assert old in text
    dictionary = write_text(tmp_path / "d.csv", text.replace(old, old.replace("2010,,", "2030,y,")))
    rows = example_records()
    rows[0]["birth_year"] = "2025"  # CT-001 consented on 2021-04-01
    records = write_csv(tmp_path / "r.csv", rows)
    url = empty_sqlite_copy(empty_sqlite_template, tmp_path / "redcap.db")
    StudyService(url).add_site("admin", "TJH")
    with pytest.raises(InputError) as caught:
        import_redcap(url, records, dictionary, REDCAP / "mapping.yaml", "admin", dry_run=True)
    [problem] = caught.value.problems
    assert problem.row == 2 and (problem.field or "").startswith("birth_year")
    assert problem.value is None and "2025" not in str(caught.value)


# ---------------------------------------------------------------------------------------------------------
# D-19.1074: a form status the mapping's minimum needs is never read as Incomplete
# ---------------------------------------------------------------------------------------------------------


def test_an_export_without_the_form_status_the_minimum_needs_is_a_header_error(tmp_path: Path) -> None:
    """With ``minimum_form_status: complete`` an export without ``infusion_complete`` (REDCap: the form
    status not selected) read every row as 0 Incomplete: all 12 infusions skipped, the import a success."""
    from cartrial.store.importing.redcap_convert import mapped_columns

    rows = [{k: v for k, v in r.items() if k != "infusion_complete"} for r in example_records()]
    dictionary = read_dictionary(REDCAP / "dictionary.csv")
    data = load_mapping(REDCAP / "mapping.yaml").model_dump()
    data["minimum_form_status"] = "complete"
    mapping = RedcapMapping.model_validate(data)
    with pytest.raises(InputError) as caught:
        read_records(
            write_csv(tmp_path / "r.csv", rows),
            dictionary,
            needed_columns=mapped_columns(dictionary, mapping),
        )
    [problem] = caught.value.problems
    assert problem.field == "infusion_complete" and problem.row is None
    assert "minimum_form_status" in problem.message


def test_the_default_minimum_needs_no_form_status(tmp_path: Path) -> None:
    """``minimum_form_status: incomplete`` (the default) imports every row with data: no status is read."""
    from cartrial.store.importing.redcap_convert import mapped_columns

    rows = [{k: v for k, v in r.items() if k != "infusion_complete"} for r in example_records()]
    dictionary = read_dictionary(REDCAP / "dictionary.csv")
    mapping = load_mapping(REDCAP / "mapping.yaml")
    export = read_records(
        write_csv(tmp_path / "r.csv", rows), dictionary, needed_columns=mapped_columns(dictionary, mapping)
    )
    _, summary, problems = convert_export(export, dictionary, mapping, "0" * 64)
    infusion = next(s for s in summary.instruments if s.instrument == "infusion")
    assert problems == [] and infusion.rows_imported == 12


@settings(max_examples=property_examples(200), deadline=None)
@given(
    low=st.integers(-10_000, 10_000),
    span=st.integers(0, 10_000),
    value=st.integers(-30_000, 30_000),
    comma=st.booleans(),
)
def test_a_number_is_refused_exactly_when_outside_its_bounds(
    low: int, span: int, value: int, comma: bool
) -> None:
    """Property (D-19.1070): with bounds written to one decimal (point or comma), a value written the same
    way is out of range iff value < min or value > max (integers in tenths: the comparison is exact)."""
    from cartrial.store.importing.redcap_dictionary import FieldSpec
    from cartrial.store.importing.redcap_records import check_value

    def tenths(n: int) -> str:
        text = f"{n / 10:.1f}"
        return text.replace(".", ",") if comma else text

    validation = "number_1dp_comma_decimal" if comma else "number_1dp"
    spec = FieldSpec(
        "x", "v", "text", "x", validation=validation, minimum=tenths(low), maximum=tenths(low + span)
    )
    result = check_value(spec, tenths(value))
    outside = value < low or value > low + span
    assert (result is not None and result[0] == "outside the field's validation range") == outside
    assert result is None or result[0] == "outside the field's validation range"


# ---------------------------------------------------------------------------------------------------------
# D-19.1073 (review finding 1): an edit check on a column read from an identifier field shows no value
# ---------------------------------------------------------------------------------------------------------


def _flagged_dictionary(path: Path, name: str) -> Path:
    """The example dictionary with field `name` flagged ``Identifier? = y`` (its 11th column)."""
    with (REDCAP / "dictionary.csv").open(newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    [row] = [r for r in table if r[0] == name]
    assert row[10] == ""
    row[10] = "y"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(table)
    return path


def _redcap_import(tmp_path: Path, template: Path, rows: list[dict[str, str]], flagged: str):
    records = write_csv(tmp_path / "r.csv", rows)
    dictionary = _flagged_dictionary(tmp_path / "d.csv", flagged)
    assert read_dictionary(dictionary).fields[flagged].identifier
    url = empty_sqlite_copy(template, tmp_path / "redcap.db")
    StudyService(url).add_site("admin", "TJH")
    return import_redcap(url, records, dictionary, REDCAP / "mapping.yaml", "admin", dry_run=True)


def test_a_hard_edit_check_on_an_identifier_field_does_not_show_its_value(
    tmp_path: Path, empty_sqlite_template: Path
) -> None:
    """With consent_date flagged ``Identifier? = y``, a consent dated in the future
    (CONSENT-FUTURE, hard) was refused with "(got '2099-01-01')": the edit checks ran after the filtering."""
    rows = example_records()
    assert rows[0]["consent_date"] == "2021-04-01"
    rows[0]["consent_date"] = "2099-01-01"
    with pytest.raises(InputError) as caught:
        _redcap_import(tmp_path, empty_sqlite_template, rows, "consent_date")
    assert any("CONSENT-FUTURE" in p.message for p in caught.value.problems)
    assert all(p.value is None for p in caught.value.problems if p.field == "consent_date")
    assert "2099" not in str(caught.value)  # what the CLI and the web page print


def test_a_soft_edit_check_on_an_identifier_field_does_not_show_its_value(
    tmp_path: Path, empty_sqlite_template: Path
) -> None:
    """With ae_start (read into adverse_event.started_on) flagged ``Identifier? = y``, an adverse event
    before the consent (AE-BEFORE-CONSENT, soft; CT-001 consented 2021-04-01) was listed by the dry run
    with "(got '2021-03-15')" and the report's edit_checks carried 'value': '2021-03-15'. The finding
    names started_on, not ae_start: it is translated through the mapping."""
    rows = example_records()
    [position] = [i for i, r in enumerate(rows) if r["ae_start"] == "2021-04-27"][:1]
    rows[position]["ae_start"] = "2021-03-15"
    report = _redcap_import(tmp_path, empty_sqlite_template, rows, "ae_start")
    found = [f for f in report.edit_checks if f.check.id == "AE-BEFORE-CONSENT"]
    assert found and all(f.field == "started_on" for f in found)
    assert all(f.problem().value is None for f in found)  # the dry run's listing (import_commands)
    listed = [d for d in report.as_dict()["edit_checks"] if d["check"] == "AE-BEFORE-CONSENT"]
    assert listed and all(d["value"] is None for d in listed)
