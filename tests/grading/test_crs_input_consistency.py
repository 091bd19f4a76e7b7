"""CRS assessment input that contradicts itself, or names a day the calendar does not have, is refused at
its row and cell (D-19.647, D-19.648).

- `oxygen` is the device of supplemental oxygen; ``none`` is room air, whose inspired oxygen fraction is
  21% (the atmosphere's). A `fio2_pct` above 21 with ``oxygen=none`` says oxygen is given and not given:
  before, the row was graded silently (ASTCT ignores FiO2: grade by the device, "none"). Hand-checked:
  21 is room air (allowed), 40 is not.
- ``2026-02-30`` is of the ISO 8601 form but February has no 30th: before, "not an ISO 8601 date or
  date-time", which sent the user looking for a format error.
The rule is `cartrial.grading.tables.parse_crs_frame`'s, the one validator of `grade crs`, the API's CRS
form and the import.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cartrial.columns import RowProblems
from cartrial.grading.tables import parse_crs_frame

from ..conftest import run_captured as run
from ..conftest import write_file as write
from .conftest import CRS_HEADER

HEADER = CRS_HEADER + ",fio2_pct"


def test_fio2_above_room_air_with_oxygen_none_is_refused_at_its_row(capsys, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "crs.csv",
        f"{HEADER}\n"
        "S1,2021-06-02T10:00:00Z,38.5,false,false,0,false,none,,21\n"  # room air: consistent
        "S1,2021-06-03T10:00:00Z,38.5,false,false,0,false,none,,40\n"
        "S1,2021-06-04T10:00:00Z,38.5,false,false,0,false,facemask,,40\n",  # oxygen given: consistent
    )
    out = tmp_path / "graded.csv"
    code, _, err = run(capsys, "grade", "crs", str(path), "--out", str(out))
    assert code == 2 and not out.exists(), err
    (line,) = [line for line in err.splitlines() if "fio2_pct" in line]
    assert "row 3, fio2_pct" in line and "'40'" in line and "oxygen=none" in line, line
    assert "allowed: blank or 21" in line and "room air" in line, line
    assert "row 2," not in err and "row 4," not in err and "Traceback" not in err


def test_the_same_rule_in_the_validator_the_import_and_api_use() -> None:
    problems = RowProblems("crs.csv")
    parse_crs_frame(
        pd.DataFrame(
            {
                "subject_id": ["S1"],
                "assessed_at": ["2021-06-03T10:00:00Z"],
                "temperature_c": ["38.5"],
                "fever_masked": ["false"],
                "hypotension": ["false"],
                "vasopressors": ["0"],
                "vasopressin": ["false"],
                "oxygen": ["none"],
                "oxygen_l_min": [""],
                "fio2_pct": ["40"],
            }
        ),
        problems,
    )
    assert [(p.row, p.field) for p in problems.all()] == [(2, "fio2_pct")]


@pytest.mark.parametrize("moment", ["2026-02-30", "2026-02-30T10:00:00Z", "2025-02-29T08:00:00+01:00"])
def test_an_impossible_day_is_said_to_be_no_real_calendar_date(capsys, tmp_path: Path, moment: str) -> None:
    path = write(tmp_path, "crs.csv", f"{CRS_HEADER}\nS1,{moment},38.5,false,false,0,false,none,\n")
    code, _, err = run(capsys, "grade", "crs", str(path))
    assert code == 2, err
    (line,) = [line for line in err.splitlines() if "assessed_at" in line]
    assert "row 2, assessed_at" in line and "not a real calendar date" in line, line
    assert "ISO 8601 date or date-time" not in line.split("allowed")[0], line
    assert "a day the month has" in line, line


def test_a_malformed_date_keeps_the_format_message(capsys, tmp_path: Path) -> None:
    path = write(tmp_path, "crs.csv", f"{CRS_HEADER}\nS1,03/02/2026,38.5,false,false,0,false,none,\n")
    code, _, err = run(capsys, "grade", "crs", str(path))
    assert code == 2 and "not an ISO 8601 date or date-time" in err, err


def test_an_impossible_cutoff_option_is_said_to_be_no_real_calendar_date(capsys, tmp_path: Path) -> None:
    """The date options (`iso_date`: `--cutoff`, …) tell an impossible day the same way (D-19.648)."""
    relapses = write(
        tmp_path,
        "r.csv",
        "subject_id,onset_date,phenotype,severity,adjudicated\nCT-001,2021-03-01,myelitis,severe,confirmed\n",
    )
    infusions = write(tmp_path, "i.csv", "subject_id,infused_at\nCT-001,2021-01-01T09:00:00Z\n")
    code, _, err = run(
        capsys, "relapses", str(relapses), "--infusion-dates", str(infusions), "--cutoff", "2026-02-30"
    )
    assert code == 2 and "--cutoff: not a real calendar date" in err, err
    code, _, err = run(
        capsys, "relapses", str(relapses), "--infusion-dates", str(infusions), "--cutoff", "20260230"
    )
    assert code == 2 and "--cutoff: not a date" in err, err


def test_full_width_digits_are_no_calendar_date_of_the_iso_form() -> None:
    """`２０２６-02-30` (full-width digits) is not of the ISO 8601 form: a format error, never "not a real
    calendar date" (D-19.648: the form is ASCII digits)."""
    from cartrial.columns import impossible_calendar_date

    assert impossible_calendar_date("２０２６-02-30") is False
    assert impossible_calendar_date("2026-02-30") is True
