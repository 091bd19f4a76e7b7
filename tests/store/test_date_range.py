"""D-19.424: a real calendar date beyond the range the column parser holds (pandas' nanosecond date-times,
1677-09-22 to 2262-04-11) — ``9999-12-31``, a common "no end" placeholder — was refused as "not a date",
which it is. It is refused as out of range, naming the range; an impossible date is still not a date."""

from __future__ import annotations

from pathlib import Path

import pytest

from cartrial.cli import main
from cartrial.errors import InputError
from cartrial.store.fields import validate_record
from cartrial.store.importing import import_templates

from .conftest import StudyDb

RANGE = "a date from 1677-09-22 to 2262-04-11, as YYYY-MM-DD"
"""The range in words: the bounds are pandas.Timestamp.min/max rounded inwards to whole days."""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9999-12-31", "date out of range"),
        ("2262-04-12", "date out of range"),
        ("1677-09-21", "date out of range"),
        ("0001-01-01", "date out of range"),
        ("2021-02-30", "not a date"),
        ("9999-02-30", "not a date"),
        ("31/12/9999", "not a date"),
    ],
)
def test_a_real_date_outside_the_range_is_out_of_range_not_not_a_date(text: str, message: str) -> None:
    (problem,) = validate_record("relapse", {"onset_date": text}, protocol=None, partial=True)
    assert (problem.field, problem.message) == ("onset_date", message)
    assert (problem.allowed == RANGE) == (message == "date out of range")


@pytest.mark.parametrize("text", ["2262-04-11", "1677-09-22"])
def test_the_first_and_last_day_of_the_range_are_accepted(text: str) -> None:
    assert validate_record("relapse", {"onset_date": text}, protocol=None, partial=True) == []


def test_the_import_says_out_of_range_at_its_row(study: StudyDb, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "subjects.csv").write_text(
        "subject_id,site_id,consent_date\nCT-960,TJH,2021-04-01\nCT-961,TJH,9999-12-31\n", encoding="utf-8"
    )
    with pytest.raises(InputError) as caught:
        import_templates(study.url, folder, "admin")
    (problem,) = caught.value.problems
    assert (problem.row, problem.field, problem.message, problem.allowed) == (
        3,
        "consent_date",
        "date out of range",
        RANGE,
    )
    assert study.service.find_records("admin", "subject", subject_id="CT-960") == []


def test_db_edit_says_out_of_range(sqlite_study: StudyDb, capsys: pytest.CaptureFixture[str]) -> None:
    (row,) = sqlite_study.service.find_records("admin", "subject", subject_id="CT-001")
    args = ["db", "edit", "subject", str(row["id"]), "--set", "disposition_date=9999-12-31"]
    args += ["--expected-version", str(row["version"]), "--reason", "typo", "--user", "admin"]
    code = main([*args, "--url", sqlite_study.url])
    err = capsys.readouterr().err
    assert code == 2 and "subject.disposition_date: date out of range" in err and "2262-04-11" in err
    assert "not a date" not in err
