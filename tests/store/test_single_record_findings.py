"""A single record's findings (`validate_record`: a web form save, an API write, `cartrial db edit`) are the
import's for the same row (`validate_form` on the file), whether its cells were seen before or not: the
one-row path keeps each cell's verdict (D-19.567) and must give back exactly what the import says."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial import examples
from cartrial.protocol.model import parse_protocol
from cartrial.store.fields import typed_record_values, validate_record
from cartrial.store.importing import validation
from cartrial.store.importing.forms import form_for_table
from cartrial.store.importing.validation import FormData, validate_form

STUDY = examples.path("ct103a-nmosd") / "study"
PROTOCOL = parse_protocol((examples.path("ct103a-nmosd") / "protocol.yaml").read_text(), "protocol.yaml")
TABLES = ("lab_result", "crs_assessment", "infusion", "icans_assessment", "adverse_event", "subject")
BAD = (
    "",
    "abc",
    "-1",
    "0",
    "1.5",
    "150",
    "1e400",
    "2021-02-30",
    "2021-06-01T08:30",
    "2021-06-01T25:00:00Z",
    "9999-12-31",
    "true",
    "Y",
    "1:1000",
    "\u0663",
    "x" * 300,
    "a\tb",
)
"""Cells that break some field's rule (or none: each column draws from these and its good value)."""


def good_row(table: str) -> dict[str, str]:
    """The first row of the example study's file of `table`'s form (template columns, as text)."""
    form = form_for_table(table)
    with (STUDY / form.file_name).open(newline="", encoding="utf-8") as handle:
        return dict(next(csv.DictReader(handle)))


def import_read(
    table: str, row: dict[str, str], protocol: Any
) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    """The import's typed values (table column → value; empty when refused) and problems of `row` as the
    only row of its form's file (located fields, values and what is allowed; the file and row left out, as
    a single record has none)."""
    form = form_for_table(table)
    columns = [c.name for c in form.columns() if c.table_column is not None]
    frame = pd.DataFrame({name: [row.get(name, "")] for name in columns}, dtype=object)
    data = FormData(spec=form, frame=frame, file=form.file_name, sha256="")
    validated, found = validate_form(data, protocol=protocol)
    values = {} if validated is None else {name: column[0] for name, column in validated.columns.items()}
    return values, sorted({(p.field, p.message, p.value, p.allowed) for p in found}, key=repr)


def import_findings(table: str, row: dict[str, str], protocol: Any) -> list[tuple[Any, ...]]:
    return import_read(table, row, protocol)[1]


def record_findings(table: str, row: dict[str, str], protocol: Any) -> list[tuple[Any, ...]]:
    found = validate_record(table, row, protocol=protocol)
    return sorted({(p.field, p.message, p.value, p.allowed) for p in found}, key=repr)


@settings(max_examples=property_examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), table=st.sampled_from(TABLES), with_protocol=st.booleans())
def test_a_single_record_has_the_import_findings_seen_or_not(
    data: st.DataObject, table: str, with_protocol: bool
):
    """Each column of an example row is kept or replaced by a bad cell; `validate_record` of the row, run
    twice (its cells' verdicts then reused), finds exactly what the import finds for the same row in a
    file — with the study's protocol (the dose levels it allows) and without, in any order; a clean row's
    values are read by `typed_record_values` as the import reads them."""
    protocol = PROTOCOL if with_protocol else None
    validation._one_cell_cache.clear()  # the first call below parses every cell afresh
    row = {
        name: data.draw(st.sampled_from((good, *BAD)), label=name) for name, good in good_row(table).items()
    }
    typed, expected = import_read(table, row, protocol)
    assert record_findings(table, row, protocol) == expected
    assert record_findings(table, row, protocol) == expected  # every cell seen now
    if not expected:  # a clean row: the single record's parser reads the values the import reads
        read = typed_record_values(table, row, protocol=protocol)
        assert read == {name: typed[name] for name in read}


def test_the_protocol_of_a_cell_verdict_is_its_own():
    """A dose level the protocol does not allow is refused with the protocol and taken without one, in
    either order: a kept verdict is never another protocol's."""
    row = {**good_row("infusion"), "dose_level": "7"}
    for protocol in (None, PROTOCOL, None):
        found = record_findings("infusion", row, protocol)
        assert found == import_findings("infusion", row, protocol)
        assert any(f[0] == "dose_level" for f in found) == (protocol is not None)


def test_example_rows_are_clean():
    """The good rows the property starts from are clean (else it would compare only problems)."""
    for table in TABLES:
        assert record_findings(table, good_row(table), PROTOCOL) == [], table
    assert Path(STUDY).is_dir()
