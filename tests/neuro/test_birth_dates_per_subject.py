"""A subject's birth is its date if given, else its year: a study may record both kinds (D-19.553).

Before: as soon as one subject had a ``birth_date``, the relapse analysis read that column only and every
other subject, with its ``birth_year`` stored, failed "birth_date: value is required".
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pandas as pd

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
