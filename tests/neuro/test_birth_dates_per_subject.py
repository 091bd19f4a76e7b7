"""A subject's birth is its date if given, else its year: a study may record both kinds (D-19.553).

Before: as soon as one subject had a ``birth_date``, the relapse analysis read that column only and every
other subject, with its ``birth_year`` stored, failed "birth_date: value is required".
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cartrial.columns import RowProblems
from cartrial.neuro.tables import parse_birth_dates

from ..conftest import run_cartrial


def test_a_date_for_some_subjects_and_a_year_for_others() -> None:
    form = pd.DataFrame(
        {
            "subject_id": ["S1", "S2", "S3", "S4"],
            "birth_date": ["1980-05-02", "", "", "1990-07-01"],
            "birth_year": ["1980", "1975", "", "not a year"],
        }
    )
    problems = RowProblems("subjects")
    births = parse_birth_dates(form, problems)
    assert births == {"S1": dt.date(1980, 5, 2), "S2": dt.date(1975, 1, 1), "S4": dt.date(1990, 7, 1)}
    # S3 has neither: one of them is required; S4's year is not read (its date is given)
    assert [(p.row, p.field, p.message) for p in problems.all()] == [(4, "birth_year", "value is required")]


def test_a_form_with_one_column_keeps_its_rule() -> None:
    problems = RowProblems("subjects")
    births = parse_birth_dates(
        pd.DataFrame({"subject_id": ["S1", "S2"], "birth_date": ["1980-05-02", ""]}), problems
    )
    assert births == {"S1": dt.date(1980, 5, 2)}
    assert [(p.row, p.field) for p in problems.all()] == [(3, "birth_date")]


def test_the_relapse_analysis_reads_a_birth_date_of_one_subject_among_years(
    example_sqlite: str, tmp_path: Path
) -> None:
    connection = sqlite3.connect(example_sqlite.removeprefix("sqlite:///"))
    try:
        with connection:
            changed = connection.execute(
                "UPDATE subject SET birth_date = birth_year || '-06-01' WHERE subject_id = 'CT-012'"
            ).rowcount
            (others,) = connection.execute(
                "SELECT count(*) FROM subject WHERE birth_date IS NULL AND birth_year IS NOT NULL"
            ).fetchone()
    finally:
        connection.close()
    assert changed == 1 and others > 0
    result = run_cartrial(
        "analyse",
        "--url",
        example_sqlite,
        "--user",
        "admin",
        "--cutoff",
        "2022-03-20",
        "--out",
        str(tmp_path),
    )
    assert result.exit_code == 0, result.stderr


def test_without_required_a_subject_with_no_birth_is_left_out() -> None:
    form = pd.DataFrame(
        {
            "subject_id": ["S1", "S2", "S3"],
            "birth_date": ["1980-05-02", "", ""],
            "birth_year": ["", "1975", ""],
        }
    )
    problems = RowProblems("subjects")
    births = parse_birth_dates(form, problems, required=False)
    assert births == {"S1": dt.date(1980, 5, 2), "S2": dt.date(1975, 1, 1)}
    assert not problems.all()


def _change(example_sqlite: str, *statements: str) -> list[int]:
    connection = sqlite3.connect(example_sqlite.removeprefix("sqlite:///"))
    try:
        with connection:
            return [connection.execute(sql).rowcount for sql in statements]
    finally:
        connection.close()


def _analyse(example_sqlite: str, out: Path) -> Any:
    return run_cartrial(
        "analyse", "--url", example_sqlite, "--user", "admin", "--cutoff", "2022-03-20", "--out", str(out)
    )


def test_a_subject_with_no_birth_among_dates_and_years_is_analysed(
    example_sqlite: str, tmp_path: Path
) -> None:
    # the store lets a subject have neither (both optional): it has no before-birth check, and the others
    # are still checked (before: `subject record 3, birth_year: value is required`, exit 2)
    changed = _change(
        example_sqlite,
        "UPDATE subject SET birth_date = birth_year || '-06-01' WHERE subject_id = 'CT-012'",
        "UPDATE subject SET birth_year = NULL, birth_date = NULL WHERE subject_id = 'CT-003'",
    )
    assert changed == [1, 1]
    result = _analyse(example_sqlite, tmp_path)
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("one_date", [True, False], ids=["a date among years", "years only"])
def test_a_relapse_before_the_birth_year_is_refused(
    example_sqlite: str, tmp_path: Path, one_date: bool
) -> None:
    # CT-001's first relapse (record 1) is dated 2019-07-01; a birth year of 2020 (put in directly, past the
    # store's own check) puts it before birth: the year is read, whether or not another subject has a date
    statements = ["UPDATE subject SET birth_year = 2020, birth_date = NULL WHERE subject_id = 'CT-001'"]
    if one_date:
        statements.append(
            "UPDATE subject SET birth_date = birth_year || '-06-01' WHERE subject_id = 'CT-012'"
        )
    assert _change(example_sqlite, *statements) == [1] * len(statements)
    connection = sqlite3.connect(example_sqlite.removeprefix("sqlite:///"))
    try:
        (onset,) = connection.execute(
            "SELECT onset_date FROM relapse WHERE id = 1 AND subject_id = 'CT-001'"
        ).fetchone()
    finally:
        connection.close()
    assert onset < "2020-01-01"
    result = _analyse(example_sqlite, tmp_path)
    assert result.exit_code == 2, result.stderr
    assert "relapse record 1, onset_date: relapse dated before birth" in result.stderr
    assert "2019" not in result.stderr  # the stored onset is not quoted (D-12.2)
