"""The subjects form's disposition on every write path (D-19.92): one vocabulary (ongoing, completed,
withdrawn, lost, death, optionally ': reason'), a date whenever the study ended and only then, never before
consent. Refused with the file, row and field, without the record's values."""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
from pathlib import Path

import pytest

from cartrial import examples
from cartrial.errors import InputError
from cartrial.store.fields import validate_record
from cartrial.store.importing import import_templates

from .conftest import empty_sqlite_copy

SUBJECT = {"subject_id": "CT-900", "site_id": "TJH", "consent_date": dt.date(2021, 4, 1)}


@pytest.mark.parametrize(
    ("values", "rule"),
    [
        ({"disposition": "withdrawn"}, "the end of study has no date"),
        (
            {"disposition": "ongoing", "disposition_date": dt.date(2021, 9, 1)},
            "while the disposition is ongoing",
        ),
        ({"disposition_date": dt.date(2021, 9, 1)}, "while the disposition is ongoing"),
        (
            {"disposition": "completed", "disposition_date": dt.date(2021, 3, 1)},
            "the study ended before consent",
        ),
    ],
)
def test_a_record_whose_end_of_study_is_inconsistent_is_refused(values: dict[str, object], rule: str) -> None:
    problems = validate_record("subject", SUBJECT | values, protocol=None)
    assert [p.field for p in problems if rule in p.message] == ["disposition_date"]


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"disposition": "ongoing"},
        {"disposition": "Lost to follow-up: no answer", "disposition_date": dt.date(2021, 9, 1)},
        {"disposition": "death", "disposition_date": dt.date(2021, 4, 1)},  # on the day of consent
    ],
)
def test_a_consistent_end_of_study_is_accepted(values: dict[str, object]) -> None:
    assert validate_record("subject", SUBJECT | values, protocol=None) == []


def _study_with(tmp_path: Path, disposition: str, disposition_date: str) -> Path:
    folder = tmp_path / "study"
    shutil.copytree(examples.path("ct103a-nmosd") / "study", folder)
    path = folder / "subjects.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    rows[2] |= {"disposition": disposition, "disposition_date": disposition_date}
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(
            handle, [*rows[0].keys(), "disposition", "disposition_date"], lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(rows)
    return folder


def test_the_import_refuses_an_undated_withdrawal_naming_file_row_and_field(
    tmp_path: Path, empty_sqlite_template: Path
) -> None:
    url = empty_sqlite_copy(empty_sqlite_template, tmp_path / "study.db")
    with pytest.raises(InputError) as refused:
        import_templates(url, _study_with(tmp_path, "withdrawn: private reason", ""), "admin")
    problem = next(p for p in refused.value.problems if p.field == "disposition_date")
    assert problem.file is not None and problem.file.endswith("subjects.csv") and problem.row == 4
    assert "private reason" not in str(refused.value)  # the record's free text is never repeated


def test_the_import_stores_a_dated_withdrawal(tmp_path: Path, empty_sqlite_template: Path) -> None:
    from cartrial.store.snapshot import read_snapshot

    url = empty_sqlite_copy(empty_sqlite_template, tmp_path / "study.db")
    import_templates(url, _study_with(tmp_path, "withdrawn", "2021-07-01"), "admin")
    subjects = read_snapshot(url, dt.date(2022, 3, 20)).tables["subjects"].set_index("subject_id")
    assert subjects.loc["CT-003", ["disposition", "disposition_date"]].tolist() == ["withdrawn", "2021-07-01"]


def test_every_published_pattern_is_portable_to_api_clients() -> None:
    """The field rules publish their patterns (`FieldRule.as_dict`, the API's field description): no inline
    flag or group syntax of Python's `re` (``(?i)``, ``(?P<…>``), which JSON Schema (ECMA 262) clients cannot
    compile; the disposition pattern was ``(?i)…`` (review of D-19.92)."""
    from cartrial.store.fields import all_field_rules

    patterns = {
        f"{table}.{name}": rule.pattern
        for table, rules in all_field_rules().items()
        for name, rule in rules.items()
        if rule.pattern is not None
    }
    assert "subject.disposition" in patterns
    # ECMA 262 has (?:…), lookahead (?=…)/(?!…) and lookbehind; any other "(?" is Python's own (D-19.1167's
    # subject_id pattern refuses the reserved word `new` with a lookahead)
    python_only = re.compile(r"\(\?(?![:=!]|<[=!])|\\A|\\Z")
    assert {name: p for name, p in patterns.items() if python_only.search(p)} == {}
    assert not python_only.search(patterns["subject.subject_id"])
    assert all(python_only.search(p) for p in ["(?i)a", "(?P<x>a)", "\\Aa\\Z", "(?#c)"])


@pytest.mark.parametrize("text", ["left the study", "Withdrawn\t: moved", "withdrawn; moved abroad"])
def test_a_disposition_outside_the_vocabulary_is_refused_once(text: str) -> None:
    """D-19.114: a dated disposition outside the vocabulary is refused by the field rule (the pattern); the
    record rule DISPOSITION-DATE-WITHOUT-END also fired, telling that the disposition is ongoing — it is not
    ongoing, it is unreadable, and the date may be right once the text is corrected."""
    problems = validate_record(
        "subject", SUBJECT | {"disposition": text, "disposition_date": dt.date(2021, 9, 1)}, protocol=None
    )
    assert [p.field for p in problems] == ["disposition"]
