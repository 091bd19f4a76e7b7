"""REDCap import: data dictionary, flat export (events, repeating instruments, checkboxes, form status),
mapping, and the example project imported into both backends.

Sources of the rules checked: data-standards.md §6.1 (18 dictionary columns in order, API snake_case names,
choices ``code, label | …``), §6.2 (flat export layout: ``record_id`` first, ``redcap_event_name``,
``redcap_repeat_instrument`` / ``redcap_repeat_instance``, ``<field>___<code>`` checkbox columns with 0/1,
``<form>_complete`` 0/1/2), §6.3 (typed fields, split per instrument, blank vs data, form status, manifest)
and decisions §7 (unknown fields are reported, never silently dropped; atomic; idempotent).
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select, text
from tests.conftest import property_examples

from cartrial import examples as cartrial_examples
from cartrial.errors import InputError
from cartrial.store.importing import (
    convert_export,
    import_redcap,
    import_templates,
    load_mapping,
    read_dictionary,
    read_records,
)
from cartrial.store.importing.redcap_convert import check_mapping
from cartrial.store.importing.redcap_dictionary import (
    API_DICTIONARY_COLUMNS,
    DICTIONARY_COLUMNS,
    checkbox_column,
    parse_choices,
)
from cartrial.store.importing.redcap_mapping import RedcapMapping
from cartrial.store.models import STUDY_TABLES
from cartrial.store.service import StudyService
from cartrial.store.study_setup import init_study

from .conftest import empty_sqlite_copy, empty_study_copy

REPO = Path(__file__).resolve().parents[2]
REDCAP = cartrial_examples.path("ct103a-nmosd") / "redcap"
STUDY = cartrial_examples.path("ct103a-nmosd") / "study"
PROTOCOL = cartrial_examples.path("ct103a-nmosd") / "protocol.yaml"


# ---------------------------------------------------------------------------------------------------------
# dictionary
# ---------------------------------------------------------------------------------------------------------


def write_dictionary(path: Path, rows: list[list[str]], header: tuple[str, ...] = DICTIONARY_COLUMNS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row + [""] * (18 - len(row)))
    return path


def field(
    name: str, form: str, kind: str, choices: str = "", validation: str = "", low: str = "", high: str = ""
):
    return [name, form, "", kind, name, choices, "", validation, low, high]


def test_choices_are_code_label_pairs_and_labels_may_hold_commas() -> None:
    """data-standards.md §6.1: ``1, Yes | 0, No``; the code is before the first comma."""
    assert parse_choices("1, Yes | 0, No") == {"1": "Yes", "0": "No"}
    assert parse_choices("1, 0.5 x10^6/kg, low | 2, high") == {"1": "0.5 x10^6/kg, low", "2": "high"}
    with pytest.raises(ValueError):
        parse_choices("1 Yes | 0, No")
    with pytest.raises(ValueError):
        parse_choices("1, Yes | 1, Again")


def test_dictionary_reads_download_and_api_headers(tmp_path: Path) -> None:
    """Both header forms of §6.1 are accepted; checkbox fields expand to ``<field>___<code>`` columns,
    yes/no fields get REDCap's built-in 1/0 choices, descriptive fields carry no data, calc is derived."""
    rows = [
        field("record_id", "demo", "text"),
        field("sex", "demo", "radio", "1, Female | 2, Male"),
        field("flags", "demo", "checkbox", "1, A | 2, B | -1, Other"),
        field("ok", "demo", "yesno"),
        field("note", "demo", "descriptive"),
        field("bmi", "demo", "calc", "[w]/[h]"),
    ]
    for header in (DICTIONARY_COLUMNS, API_DICTIONARY_COLUMNS):
        dictionary = read_dictionary(write_dictionary(tmp_path / "d.csv", rows, header))
        assert dictionary.record_id_field == "record_id"
        assert dictionary.fields["flags"].export_columns() == ["flags___1", "flags___2", "flags____1"]
        assert dictionary.fields["ok"].choices == {"1": "Yes", "0": "No"}
        assert dictionary.fields["note"].export_columns() == []
        assert dictionary.fields["bmi"].derived
    assert checkbox_column("x", "-1") == "x____1"


def test_dictionary_problems_are_all_reported(tmp_path: Path) -> None:
    """A wrong header, an unknown field type, a duplicate field and unparseable choices are each reported."""
    with pytest.raises(InputError):
        read_dictionary(write_dictionary(tmp_path / "h.csv", [], ("field", "form")))
    rows = [
        field("record_id", "demo", "text"),
        field("sex", "demo", "radiobutton", "1, F"),
        field("sex2", "demo", "radio", "F and M"),
        field("record_id", "demo", "text"),
    ]
    with pytest.raises(InputError) as caught:
        read_dictionary(write_dictionary(tmp_path / "d.csv", rows))
    assert {p.row for p in caught.value.problems} == {3, 4, 5}


# ---------------------------------------------------------------------------------------------------------
# records and mapping, on the shipped example
# ---------------------------------------------------------------------------------------------------------


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def example_records() -> list[dict[str, str]]:
    with (REDCAP / "records.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_records(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_example_export_splits_into_forms_by_event_and_repeating_instrument() -> None:
    """§6.2/§6.3: non-repeating instruments come from rows with blank repeat columns in their event,
    repeating instruments from rows naming them; a row with only a form status is blank, not data;
    checkbox columns become the mapped values; identifiers listed as ignored are reported with counts."""
    dictionary = read_dictionary(REDCAP / "dictionary.csv")
    mapping = load_mapping(REDCAP / "mapping.yaml")
    assert check_mapping(mapping, dictionary, "mapping.yaml") == []
    export = read_records(REDCAP / "records.csv", dictionary)
    forms, summary, problems = convert_export(export, dictionary, mapping, "0" * 64)
    assert problems == []
    rows = example_records()
    by_form = {f.spec.name: f for f in forms}
    assert len(by_form["subjects"].frame) == sum(r["redcap_event_name"] == "screening_arm_1" for r in rows)
    ae_rows = [r for r in rows if r["redcap_repeat_instrument"] == "adverse_events"]
    assert len(by_form["adverse_events"].frame) == len(ae_rows)
    edss_rows = [r for r in rows if r["redcap_repeat_instrument"] == "edss" and r["edss_at"]]
    assert len(by_form["edss"].frame) == len(edss_rows)
    edss_summary = next(s for s in summary.instruments if s.instrument == "edss")
    assert edss_summary.blank_rows_with_status == 1
    # checkbox ae_actions___3 (G-CSF) ticked -> action_taken "G-CSF"; spreadsheet rows traced back
    frame = by_form["adverse_events"].frame
    ticked = [i for i, r in enumerate(ae_rows) if r["ae_actions___3"] == "1"]
    assert ticked and all(frame["action_taken"].iat[i] == "G-CSF" for i in ticked)
    assert by_form["subjects"].frame["sex"].isin(["F", "M"]).all()
    assert summary.ignored_fields == {"initials": 12, "bmi": 12}
    assert by_form["adverse_events"].source_rows is not None
    first_ae_row = (
        next(i for i, r in enumerate(rows) if r["redcap_repeat_instrument"] == "adverse_events") + 2
    )
    assert int(by_form["adverse_events"].source_rows[0]) == first_ae_row


def test_bad_codes_dates_and_checkbox_values_are_reported_with_row_and_field(tmp_path: Path) -> None:
    """Raw codes outside the dictionary's choices, dates not in the validation type's layout, a value
    outside the validation min/max and checkbox cells other than 0/1 are errors naming row, field, value,
    and what is allowed (§6.1 validation types, §6.2 checkbox layout)."""
    rows = example_records()
    rows[0]["sex"] = "3"
    rows[0]["consent_date"] = "06/05/2021"
    rows[0]["birth_year"] = "1890"
    ae = next(i for i, r in enumerate(rows) if r["redcap_repeat_instrument"] == "adverse_events")
    rows[ae]["ae_actions___2"] = "yes"
    dictionary = read_dictionary(REDCAP / "dictionary.csv")
    with pytest.raises(InputError) as caught:
        read_records(write_records(tmp_path / "r.csv", rows), dictionary)
    found = {(p.row, p.field, p.value) for p in caught.value.problems}
    assert (2, "sex", "3") in found
    assert (2, "consent_date", "06/05/2021") in found
    assert (2, "birth_year", "1890") in found
    assert (ae + 2, "ae_actions___2", "yes") in found
    sex = next(p for p in caught.value.problems if p.field == "sex")
    assert "1 (Female)" in (sex.allowed or "")


def test_unknown_columns_duplicate_keys_and_bad_instances_are_errors(tmp_path: Path) -> None:
    """An export column the dictionary does not know, the same record/event/instrument/instance twice and
    a repeating row without instance are all reported (nothing is silently dropped)."""
    rows = example_records()
    for row in rows:
        row["surprise"] = ""
    ae = next(i for i, r in enumerate(rows) if r["redcap_repeat_instrument"] == "adverse_events")
    with pytest.raises(InputError) as caught:
        read_records(write_records(tmp_path / "r.csv", rows), read_dictionary(REDCAP / "dictionary.csv"))
    assert any(p.field == "surprise" for p in caught.value.problems)
    rows = example_records()
    rows.append(dict(rows[ae]))
    rows[ae + 1]["redcap_repeat_instance"] = ""
    with pytest.raises(InputError) as caught:
        read_records(write_records(tmp_path / "r.csv", rows), read_dictionary(REDCAP / "dictionary.csv"))
    messages = " ".join(p.message for p in caught.value.problems)
    assert "earlier row" in messages and "needs its instance" in messages


def test_header_only_and_non_utf8_exports_are_located_errors(tmp_path: Path) -> None:
    """An export with a header but no records used to import nothing silently; a Latin-1 byte was reported
    by byte offset. Both are now errors naming the file (and the spreadsheet row of the bad byte)."""
    dictionary = read_dictionary(REDCAP / "dictionary.csv")
    header = (REDCAP / "records.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    empty = tmp_path / "empty.csv"
    empty.write_text(header + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="no records"):
        read_records(empty, dictionary)
    rows = example_records()
    written = write_records(tmp_path / "latin1.csv", rows)
    lines = written.read_bytes().split(b"\n")
    lines[2] = lines[2] + b"\xe9"
    written.write_bytes(b"\n".join(lines))
    with pytest.raises(InputError) as caught:
        read_records(written, dictionary)
    assert caught.value.problems[0].row == 3 and "UTF-8" in (caught.value.problems[0].allowed or "")


def test_unmapped_field_with_data_is_an_error_by_default_and_listed_when_ignored() -> None:
    """Decisions §7: unknown REDCap fields are reported, not silently dropped. Default `unmapped_fields:
    error`;
    with `ignore` they are listed (with their value counts) as ignored."""
    dictionary = read_dictionary(REDCAP / "dictionary.csv")
    export = read_records(REDCAP / "records.csv", dictionary)
    data = load_mapping(REDCAP / "mapping.yaml").model_dump()
    del data["forms"]["infusions"]["columns"]["product_lot"]
    strict = RedcapMapping.model_validate(data)
    _, _, problems = convert_export(export, dictionary, strict, "0" * 64)
    assert [p.field for p in problems] == ["product_lot"]
    data["unmapped_fields"] = "ignore"
    lenient = RedcapMapping.model_validate(data)
    _, summary, problems = convert_export(export, dictionary, lenient, "0" * 64)
    assert problems == []
    assert summary.ignored_fields["product_lot"] == 12


def test_mapping_errors_name_the_mapping_entry(tmp_path: Path) -> None:
    """A mapping that names an unknown field, a column the form does not have, a code the field does not
    have, or misses a required column is refused with the mapping path of each problem."""
    text_ = (REDCAP / "mapping.yaml").read_text(encoding="utf-8")
    text_ = text_.replace("screening_number: screening_number", "screening_no: screening_number")
    text_ = text_.replace("product_lot: product_lot", "product_lot: lot_number")
    text_ = text_.replace('{field: sex, values: {"1": F, "2": M}}', '{field: sex, values: {"1": F, "3": M}}')
    text_ = text_.replace("      term: ae_term\n", "")
    path = tmp_path / "mapping.yaml"
    path.write_text(text_, encoding="utf-8")
    problems = check_mapping(load_mapping(path), read_dictionary(REDCAP / "dictionary.csv"), str(path))
    fields = {p.field for p in problems}
    assert "forms.subjects.columns.screening_no" in fields
    assert "forms.infusions.columns.product_lot" in fields
    assert "forms.subjects.columns.sex.values" in fields
    assert "forms.adverse_events.columns" in fields


def test_datetimes_are_read_in_the_mapping_time_zone() -> None:
    """REDCap date-times have no offset (§6.1 datetime_ymd); with ``timezone: Asia/Shanghai`` 10:00 local is
    02:00 UTC (UTC+8, no daylight saving)."""
    dictionary = read_dictionary(REDCAP / "dictionary.csv")
    export = read_records(REDCAP / "records.csv", dictionary)
    data = load_mapping(REDCAP / "mapping.yaml").model_dump()
    data["timezone"] = "Asia/Shanghai"
    forms, _, _ = convert_export(export, dictionary, RedcapMapping.model_validate(data), "0" * 64)
    infusions = next(f for f in forms if f.spec.name == "infusions").frame
    first = infusions["infused_at"].iat[0]  # exported as "2021-04-27 02:00" (CT-001)
    # 02:00 at UTC+8 is 18:00 UTC the day before, written in UTC since D-19.1071 (it was written with the
    # zone's offset, "2021-04-27T02:00:00+08:00": the same instant)
    assert first == "2021-04-26T18:00:00Z"


def test_minimum_form_status_skips_and_counts_incomplete_forms(tmp_path: Path) -> None:
    """§6.2 form status: with ``minimum_form_status: complete`` an instrument marked 1 (Unverified) is not
    imported and is counted as skipped."""
    rows = example_records()
    target = next(i for i, r in enumerate(rows) if r["redcap_event_name"] == "day0_arm_1")
    rows[target]["infusion_complete"] = "1"
    dictionary = read_dictionary(REDCAP / "dictionary.csv")
    export = read_records(write_records(tmp_path / "records.csv", rows), dictionary)
    data = load_mapping(REDCAP / "mapping.yaml").model_dump()
    data["minimum_form_status"] = "complete"
    _, summary, problems = convert_export(export, dictionary, RedcapMapping.model_validate(data), "0" * 64)
    assert problems == []
    infusion = next(s for s in summary.instruments if s.instrument == "infusion")
    assert (infusion.rows_with_data, infusion.rows_imported, infusion.skipped_below_status) == (12, 11, 1)
    assert infusion.status_counts == {"Unverified": 1, "Complete": 11}


# ---------------------------------------------------------------------------------------------------------
# the example project into a database
# ---------------------------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def redcap_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An initialised study database with site TJH (sites are set up before a REDCap import)."""
    url = empty_study_copy(request, request.param, tmp_path, "redcap")  # `init_empty_study`, copied
    StudyService(url).add_site("admin", "TJH")
    yield url


def table_rows(url: str, table_name: str) -> list[tuple[object, ...]]:
    """A table's data columns (no id, version, timestamps), sorted: comparable between databases."""
    table = STUDY_TABLES[table_name].__table__  # type: ignore[attr-defined]
    columns = [c for c in table.columns if c.name not in ("id", "version", "created_at", "updated_at")]
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = [tuple(row) for row in connection.execute(select(*columns))]
    engine.dispose()
    return sorted(rows, key=repr)


def test_example_redcap_project_imports_idempotently_and_matches_the_templates(
    redcap_url: str, tmp_path: Path
) -> None:
    """The example export, dictionary and mapping import into subject, infusion, adverse_event and
    edss_assessment; the rows equal those the CSV templates of the same synthetic study give (both encode
    the same data); a second import changes nothing; the manifest keeps all three files with their hashes."""
    args = (REDCAP / "records.csv", REDCAP / "dictionary.csv", REDCAP / "mapping.yaml", "admin")
    report = import_redcap(redcap_url, *args)
    expected = {
        name: len(csv_rows(STUDY / f"{name}.csv"))
        for name in ("subjects", "infusions", "adverse_events", "edss")
    }
    assert {c.form: c.inserted for c in report.forms} == expected
    again = import_redcap(redcap_url, *args)
    assert again.totals["inserted"] == 0 and again.totals["updated"] == 0
    assert StudyService(redcap_url).verify_audit().ok

    template_url = f"sqlite:///{tmp_path / 'templates.db'}"
    init_study(template_url, PROTOCOL, "admin")
    folder = tmp_path / "study"
    folder.mkdir()
    for name in ("sites", "subjects", "infusions", "adverse_events", "edss"):
        shutil.copy(STUDY / f"{name}.csv", folder)
    import_templates(template_url, folder, "admin")
    for table in ("subject", "infusion", "adverse_event", "edss_assessment"):
        assert table_rows(redcap_url, table) == table_rows(template_url, table), table

    engine = create_engine(redcap_url)
    with engine.connect() as connection:
        files = connection.execute(text("SELECT file_name, kind FROM import_manifest")).all()
    engine.dispose()
    assert sorted(Path(f).name for f, _ in files) == sorted(
        ["records.csv", "dictionary.csv", "mapping.yaml"] * 2
    )


def test_forms_are_written_in_dependency_order_whatever_order_the_mapping_lists(
    tmp_path: Path, empty_sqlite_template: Path
) -> None:
    """A mapping that lists the subjects' records before the subjects (YAML dumped with sorted keys) imports
    into a new study as the example mapping does; before, "unknown subject(s)"."""
    import yaml

    url = empty_sqlite_copy(empty_sqlite_template, tmp_path / "sorted.db")
    StudyService(url).add_site("admin", "TJH")
    document = yaml.safe_load((REDCAP / "mapping.yaml").read_text(encoding="utf-8"))
    document["forms"] = dict(sorted(document["forms"].items()))
    assert list(document["forms"]).index("subjects") > 0
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    report = import_redcap(url, REDCAP / "records.csv", REDCAP / "dictionary.csv", mapping, "admin")
    assert report.totals["inserted"] > 0
    assert report.forms[0].form == "subjects"


def test_a_bad_redcap_export_writes_nothing(redcap_url: str, tmp_path: Path) -> None:
    """Atomic and validated first: one bad AE grade code aborts the whole import; nothing changes."""
    rows = example_records()
    ae = next(i for i, r in enumerate(rows) if r["redcap_repeat_instrument"] == "adverse_events")
    rows[ae]["ae_grade"] = "6"
    records = write_records(tmp_path / "records.csv", rows)
    before = StudyService(redcap_url).table_counts()
    with pytest.raises(InputError) as caught:
        import_redcap(redcap_url, records, REDCAP / "dictionary.csv", REDCAP / "mapping.yaml", "admin")
    assert any(p.row == ae + 2 and p.field == "ae_grade" for p in caught.value.problems)
    assert StudyService(redcap_url).table_counts() == before


@settings(max_examples=property_examples(60), deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"[A-Za-z0-9_]{1,6}", fullmatch=True),
        st.text(
            alphabet=st.characters(blacklist_characters="|\r\n", blacklist_categories=("Cs",)), max_size=20
        )
        .map(str.strip)
        .filter(bool),
        min_size=1,
        max_size=8,
    )
)
def test_choices_round_trip(choices: dict[str, str]) -> None:
    """Property (data-standards.md §6.1): writing choices as ``code, label | …`` and parsing them gives the
    same codes and labels, whatever the labels contain (commas included)."""
    text_ = " | ".join(f"{code}, {label}" for code, label in choices.items())
    assert parse_choices(text_) == choices


def test_missing_data_codes_are_blank_and_counted(tmp_path: Path) -> None:
    """data-standards.md §6.3 rule 4 (missing-data codes): with ``missing_data_codes: [UNK]`` an ``UNK`` in an
    integer field is "no value" (blank, counted in the summary); without it, ``UNK`` is not a whole number."""
    rows = example_records()
    rows[0]["birth_year"] = "UNK"
    records = write_records(tmp_path / "records.csv", rows)
    dictionary = read_dictionary(REDCAP / "dictionary.csv")
    with pytest.raises(InputError) as caught:
        read_records(records, dictionary)
    assert any(p.field == "birth_year" and p.value == "UNK" for p in caught.value.problems)
    export = read_records(records, dictionary, ["UNK"])
    data = load_mapping(REDCAP / "mapping.yaml").model_dump()
    data["missing_data_codes"] = ["UNK"]
    forms, summary, problems = convert_export(
        export, dictionary, RedcapMapping.model_validate(data), "0" * 64
    )
    assert problems == [] and summary.missing_codes_found == {"UNK": 1}
    subjects = next(f for f in forms if f.spec.name == "subjects").frame
    assert subjects["birth_year"].iat[0] == ""


# ---------------------------------------------------------------------------------------------------------
# bad-input sweep (issue 19): columns the mapping reads, stray data on repeating rows, long ids
# ---------------------------------------------------------------------------------------------------------


def sqlite_redcap_url(tmp_path: Path, empty_sqlite_template: Path) -> str:
    url = empty_sqlite_copy(empty_sqlite_template, tmp_path / "redcap.db")
    StudyService(url).add_site("admin", "TJH")
    return url


@pytest.mark.parametrize(
    ("dropped", "entry"),
    [
        ("ae_actions___3", "forms.adverse_events.columns.action_taken"),  # was a StopIteration traceback
        ("ae_pathogen", "forms.adverse_events.columns.pathogen"),  # was read as blank: stored values cleared
        ("redcap_event_name", "forms.subjects.events"),  # was one 'earlier row' error per record
    ],
)
def test_a_column_the_mapping_reads_missing_from_the_export_is_a_header_error(
    tmp_path: Path, empty_sqlite_template: Path, dropped: str, entry: str
) -> None:
    """D-19.50: an export without a column that the mapping reads is refused at the header, naming the column
    and the mapping entry; it is never read as blank (a re-import would clear the stored values)."""
    rows = [{k: v for k, v in row.items() if k != dropped} for row in example_records()]
    records = write_records(tmp_path / "records.csv", rows)
    url = sqlite_redcap_url(tmp_path, empty_sqlite_template)
    with pytest.raises(InputError) as caught:
        import_redcap(url, records, REDCAP / "dictionary.csv", REDCAP / "mapping.yaml", "admin", dry_run=True)
    problems = caught.value.problems
    assert [p.field for p in problems] == [dropped]
    assert problems[0].row is None and entry in problems[0].message and problems[0].file == str(records)


def test_data_of_another_instrument_on_a_repeating_row_is_an_error(tmp_path: Path) -> None:
    """An EDSS row labelled as another repeating instrument used to be dropped silently (exit 0, one EDSS
    fewer): its data belongs to no row of its own instrument. Now each such cell is located."""
    rows = example_records()
    edss = next(i for i, r in enumerate(rows) if r["redcap_repeat_instrument"] == "edss")
    rows[edss]["redcap_repeat_instrument"] = "adverse_events"
    with pytest.raises(InputError) as caught:
        read_records(write_records(tmp_path / "r.csv", rows), read_dictionary(REDCAP / "dictionary.csv"))
    problems = [p for p in caught.value.problems if "on a row of repeating instrument" in p.message]
    assert problems and all(p.row == edss + 2 for p in problems)
    assert any(p.field == "fs_pyramidal" and "instrument 'edss'" in p.message for p in problems)


def test_a_long_id_in_an_allowed_list_is_shortened(tmp_path: Path, empty_sqlite_template: Path) -> None:
    """The known subject ids listed as allowed used to quote a 100,000-character id in full, on every row
    (a 1 MB message); each listed id is now cut like a value given."""
    rows = example_records()
    first = rows[0]["record_id"]
    for row in rows:
        if row["record_id"] == first:
            row["record_id"] = "C" * 100_000 if row["redcap_event_name"] == "screening_arm_1" else first
    records = write_records(tmp_path / "records.csv", rows)
    url = sqlite_redcap_url(tmp_path, empty_sqlite_template)
    with pytest.raises(InputError) as caught:
        import_redcap(url, records, REDCAP / "dictionary.csv", REDCAP / "mapping.yaml", "admin", dry_run=True)
    unknown = [p for p in caught.value.problems if p.message.startswith("unknown subject_id")]
    assert unknown and all(len(p.allowed or "") < 1_000 for p in unknown)
    assert len(str(caught.value)) < 20_000


@pytest.mark.parametrize(
    ("old", "new", "entry"),
    [
        ("site_id: {constant: TJH}", "site_id: {constant: [TJH]}", "forms.subjects.columns.site_id.constant"),
        ('values: {"1": F, "2": M}', 'values: {"1": [F], "2": M}', "forms.subjects.columns.sex.values"),
    ],
)
def test_a_list_where_the_mapping_takes_one_value_is_refused_at_its_entry(
    tmp_path: Path, old: str, new: str, entry: str
) -> None:
    """A list given as a constant or a translated value used to become its Python text ("['TJH']"): stored
    as such in a free-text column, or one error per export row. Now refused at the mapping entry."""
    text = (REDCAP / "mapping.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "mapping.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_mapping(path)
    assert [p.field for p in caught.value.problems] == [entry]
    assert "not a list" in caught.value.problems[0].message


@pytest.mark.parametrize(
    ("bound", "message"),
    [("abc", "not a bound for validation type integer"), ("2050", "the minimum is above the maximum")],
)
def test_an_unreadable_or_crossed_validation_bound_is_a_dictionary_error(
    tmp_path: Path, bound: str, message: str
) -> None:
    """A Text Validation Min that is not a number was skipped silently (the values went unchecked against
    it); a minimum above the maximum made every value of the export an error. Both are now one error at the
    dictionary row."""
    text = (REDCAP / "dictionary.csv").read_text(encoding="utf-8")
    old = "birth_year,demographics,,text,Year of birth,,,integer,1920,2010,"
    assert old in text
    path = tmp_path / "dictionary.csv"
    path.write_text(text.replace(old, old.replace("1920", bound)), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_dictionary(path)
    [problem] = caught.value.problems
    assert problem.field == "Text Validation Min" and problem.value == bound and message in problem.message
    assert problem.row == 7


@pytest.mark.parametrize(
    ("new", "entry"),
    [
        ("{visit: screening, day: 99999999999999999999}", "events.screening_arm_1.day"),
        ("{visit: '  ', day: -28}", "events.screening_arm_1.visit"),
    ],
)
def test_an_event_day_beyond_a_century_or_a_blank_visit_is_refused(
    tmp_path: Path, new: str, entry: str
) -> None:
    """An event's nominal day was unbounded (a protocol visit's is ±36525, D-19.34) and its visit could be
    blank; both were accepted. Now refused at the mapping entry."""
    text = (REDCAP / "mapping.yaml").read_text(encoding="utf-8")
    old = "{visit: screening, day: -28}"
    assert old in text
    path = tmp_path / "mapping.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_mapping(path)
    assert [p.field for p in caught.value.problems] == [entry]


# ---------------------------------------------------------------------------------------------------------
# data access groups (decisions D-19.77): read, checked against the site, or ignored by decision — never
# dropped without a word
# ---------------------------------------------------------------------------------------------------------

DAG = "redcap_data_access_group"


def records_with_groups(path: Path, group_of: dict[str, str]) -> Path:
    """The example export with REDCap's data-access-group column (after the repeat columns): the group of
    each record (`group_of`, default 'tjh', REDCap's lower-case unique group name)."""
    rows = []
    for row in example_records():
        out: dict[str, str] = {}
        for key, value in row.items():
            out[key] = value
            if key == "redcap_repeat_instance":
                out[DAG] = group_of.get(row["record_id"], "tjh")
        rows.append(out)
    return write_records(path, rows)


def _mapping(**changes: object) -> RedcapMapping:
    data = load_mapping(REDCAP / "mapping.yaml").model_dump(exclude_none=True)
    data.update(changes)
    return RedcapMapping.model_validate(data)


def test_a_data_access_group_is_checked_against_the_subjects_site(tmp_path: Path) -> None:
    """The site comes from a constant (TJH): a record in group 'tjh' agrees (case aside); a record in group
    'pumch' is refused at its row and column, without the group's or the site's name (the group was
    ignored without a word before)."""
    dictionary = read_dictionary(REDCAP / "dictionary.csv")
    records = records_with_groups(tmp_path / "records.csv", {"CT-002": "pumch"})
    export = read_records(records, dictionary)
    _, summary, problems = convert_export(export, dictionary, _mapping(), "0" * 64)
    rows = example_records()
    ct002 = next(
        i
        for i, r in enumerate(rows)
        if r["record_id"] == "CT-002" and r["redcap_event_name"] == "screening_arm_1"
    )
    assert [(p.file, p.row, p.field) for p in problems] == [(str(records), ct002 + 2, DAG)]
    assert "site" in problems[0].message and problems[0].value is None
    assert "pumch" not in str(problems[0]).lower() and "TJH" not in str(problems[0])
    assert "ignore_fields" in (problems[0].allowed or "")
    assert summary.data_access_group.startswith("checked against forms.subjects.columns.site_id")
    agreeing = read_records(records_with_groups(tmp_path / "ok.csv", {}), dictionary)
    _, summary, problems = convert_export(agreeing, dictionary, _mapping(), "0" * 64)
    assert problems == [] and DAG not in summary.ignored_fields


def test_a_data_access_group_with_no_site_to_check_is_an_unmapped_field(tmp_path: Path) -> None:
    """Without a subjects form (subjects already in the database) the groups are an unmapped field: an error
    by default, ignored and counted with `unmapped_fields: ignore` or when listed under `ignore_fields`."""
    dictionary = read_dictionary(REDCAP / "dictionary.csv")
    export = read_records(records_with_groups(tmp_path / "records.csv", {}), dictionary)
    data = load_mapping(REDCAP / "mapping.yaml").model_dump(exclude_none=True)
    del data["forms"]["subjects"]
    data["ignore_fields"] = [*data["ignore_fields"], *_demographics_fields(dictionary)]
    _, _, problems = convert_export(export, dictionary, RedcapMapping.model_validate(data), "0" * 64)
    assert [p.field for p in problems] == [DAG] and problems[0].row is None
    assert "feeds no cartrial column" in problems[0].message
    n = len(example_records())
    for change in ({"unmapped_fields": "ignore"}, {"ignore_fields": [*data["ignore_fields"], DAG]}):
        mapping = RedcapMapping.model_validate(data | change)
        assert check_mapping(mapping, dictionary, "mapping.yaml") == []
        _, summary, problems = convert_export(export, dictionary, mapping, "0" * 64)
        assert problems == [] and summary.ignored_fields[DAG] == n
        assert summary.data_access_group.startswith("ignored")


def _demographics_fields(dictionary: object) -> list[str]:
    return [
        name
        for name, spec in dictionary.fields.items()  # type: ignore[attr-defined]
        if spec.form == "demographics" and name != dictionary.record_id_field  # type: ignore[attr-defined]
    ]


def test_a_site_read_from_the_data_access_group_must_be_a_known_site(
    tmp_path: Path, empty_sqlite_template: Path
) -> None:
    """`site_id: {source: redcap_data_access_group, values: …}`: the group is the subject's site; a group
    naming a site the study does not have is refused at its export row and column (the import's site
    check)."""
    records = records_with_groups(tmp_path / "records.csv", {"CT-002": "pumch"})
    data = load_mapping(REDCAP / "mapping.yaml").model_dump(mode="json", exclude_none=True)
    data["forms"]["subjects"]["columns"]["site_id"] = {
        "source": DAG,
        "values": {"tjh": "TJH", "pumch": "PUMCH"},
    }
    mapping = tmp_path / "mapping.yaml"
    import yaml

    mapping.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    url = sqlite_redcap_url(tmp_path, empty_sqlite_template)
    with pytest.raises(InputError) as caught:
        import_redcap(url, records, REDCAP / "dictionary.csv", mapping, "admin", dry_run=True)
    rows = example_records()
    ct002 = next(
        i
        for i, r in enumerate(rows)
        if r["record_id"] == "CT-002" and r["redcap_event_name"] == "screening_arm_1"
    )
    # located at the export's row and column (the group the site was read from)
    assert [(p.file, p.row, p.field) for p in caught.value.problems] == [(str(records), ct002 + 2, DAG)]
    assert "unknown site_id" in caught.value.problems[0].message
    StudyService(url).add_site("admin", "PUMCH")
    report = import_redcap(url, records, REDCAP / "dictionary.csv", mapping, "admin")
    assert report.redcap is not None
    assert report.redcap.data_access_group == "read by forms.subjects.columns.site_id"
    # the manifest of the export records what the groups were used for
    with create_engine(url).connect() as connection:
        counts = connection.execute(
            text("SELECT row_counts FROM import_manifest WHERE kind = 'redcap' AND file_name = :f"),
            {"f": str(records)},
        ).scalar_one()
        sites = dict(connection.execute(text("SELECT subject_id, site_id FROM subject")).all())
    assert '"data_access_group": "read by forms.subjects.columns.site_id"' in str(counts).replace("'", '"')
    assert sites["CT-002"] == "PUMCH" and sites["CT-001"] == "TJH"


def test_an_unmapped_ambulation_is_refused_when_no_method_is_mapped(tmp_path: Path) -> None:
    """D-19.746: `ambulation` is optional on the EDSS form (a Kurtzke row has none, D-19.741), but a mapping
    without a ``method`` column reads every row as Neurostatus, which needs it: the mapping check names the
    entry (before: not caught until every imported row was refused)."""
    text_ = (REDCAP / "mapping.yaml").read_text(encoding="utf-8")
    lines = [line for line in text_.splitlines(keepends=True) if not line.strip().startswith("ambulation:")]
    assert len(lines) == len(text_.splitlines()) - 1
    path = tmp_path / "mapping.yaml"
    path.write_text("".join(lines), encoding="utf-8")
    problems = check_mapping(load_mapping(path), read_dictionary(REDCAP / "dictionary.csv"), str(path))
    assert [(p.field, p.value) for p in problems] == [("forms.edss.columns", "ambulation")]


def test_a_cell_over_the_limit_is_one_problem_among_the_exports_others(tmp_path: Path) -> None:
    """Review of D-19.793: the REDCap reader still stopped at a cell over 1,000,000 characters (the
    reader's limit, docs/store.md). Now, as the templates: the long cell (row 2, `initials`) is named with
    the limit, never its text, beside the bad code of another row (row 3's `sex`)."""
    rows = example_records()
    rows[0]["initials"] = "x" * 1_000_001
    other = next(i for i, r in enumerate(rows) if i > 0 and r["sex"])
    rows[other]["sex"] = "3"
    dictionary = read_dictionary(REDCAP / "dictionary.csv")
    with pytest.raises(InputError) as caught:
        read_records(write_records(tmp_path / "r.csv", rows), dictionary)
    found = {(p.row, p.field) for p in caught.value.problems}
    assert (2, "initials") in found and (other + 2, "sex") in found
    (long,) = [p for p in caught.value.problems if p.field == "initials"]
    assert long.allowed == "at most 1,000,000 characters per cell" and "xxxx" not in str(caught.value)
