"""Bad grading input the review found getting through (decisions §12 and 19): duplicate assessments (same
subject, same date-time; refused on the second row whether identical or contradictory, D-19.18) and
implausible laboratory values in a valid unit."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from cartrial.errors import InputError
from cartrial.grading import LAB_PLAUSIBLE_RANGES, Analyte, derive_crs_grades, derive_lab_grades

from ..conftest import run_captured as run
from ..conftest import write_file as write
from .conftest import CRS_HEADER

LABS_HEADER = "subject_id,collected_at,analyte,value,unit,lln"
ICANS_HEADER = "subject_id,assessed_at,consciousness,seizure,motor,cerebral_edema,ice_total"


def test_contradictory_crs_duplicates_are_a_located_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Two assessments of S1 at the same moment (written two ways) disagree on temperature: exit 2 at both
    rows, each naming the other and the differing field (which temperature is right is not known); with
    --keep-going neither of the two is graded, the third is."""
    path = write(
        tmp_path,
        "crs.csv",
        f"{CRS_HEADER}\nS1,2024-01-11T08:00:00Z,38.5,false,false,0,false,none,\n"
        "S1,2024-01-11T08:00:00+00:00,37.0,false,false,0,false,none,\n"
        "S1,2024-01-12T08:00:00Z,37.0,false,false,0,false,none,\n",
    )
    code, out, err = run(capsys, "grade", "crs", str(path))
    assert code == 2 and out == ""
    assert (
        "row 2, assessed_at: conflicts with row 3" in err and "row 3, assessed_at: duplicate of row 2" in err
    )
    assert "differs in temperature_c" in err
    code, out, _ = run(capsys, "grade", "crs", str(path), "--keep-going")
    table = pd.read_csv(io.StringIO(out), keep_default_na=False)
    assert code == 0 and table["grade"].astype(str).tolist() == ["", "", "0"]
    assert "conflicts with row 3" in table["error"][0] and "duplicate of row 2" in table["error"][1]


def test_identical_duplicates_are_refused_at_the_second_row(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A double export (the same row twice) was graded twice with a note; now refused like every other
    reader and the store's natural key: exit 2 at row 3 naming row 2, and saying the copies are identical."""
    row = "S1,2024-01-11T08:00:00Z,38.5,false,false,0,false,none,\n"
    path = write(tmp_path, "crs.csv", f"{CRS_HEADER}\n{row}{row}")
    code, out, err = run(capsys, "grade", "crs", str(path))
    assert code == 2 and out == ""
    assert "row 3, assessed_at: duplicate of row 2 (same subject_id and assessed_at; identical values)" in err
    assert "row 2, assessed_at" not in err
    code, out, _ = run(capsys, "grade", "crs", str(path), "--keep-going")
    graded = pd.read_csv(io.StringIO(out), keep_default_na=False)
    assert code == 0 and graded["grade"].astype(str).tolist() == ["1", ""]


def test_contradictory_lab_and_icans_duplicates(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Labs: same subject, analyte and time, two values -> error; another analyte at that time is fine.
    ICANS: same subject and time, two ICE scores -> error."""
    labs = write(
        tmp_path,
        "labs.csv",
        f"{LABS_HEADER}\nS1,2024-01-11T07:00:00Z,neutrophils,0.4,10^9/L,1.8\n"
        "S1,2024-01-11T07:00:00Z,neutrophils,1.4,10^9/L,1.8\nS1,2024-01-11T07:00:00Z,platelets,140,10^9/L,150\n",
    )
    code, _, err = run(capsys, "grade", "labs", str(labs))
    assert code == 2 and "row 3, collected_at: duplicate of row 2" in err and "differs in value" in err
    assert "row 2, collected_at: conflicts with row 3" in err and "row 4" not in err
    icans = write(
        tmp_path,
        "icans.csv",
        f"{ICANS_HEADER}\nS1,2024-01-13T08:00:00Z,alert,none,none,none,10\n"
        "S1,2024-01-13T08:00:00Z,alert,none,none,none,6\n",
    )
    code, _, err = run(capsys, "grade", "icans", str(icans))
    assert code == 2 and "differs in ice_total" in err


def test_equal_numbers_written_differently_are_not_a_contradiction() -> None:
    """0.4 and 0.40, neutrophils and Neutrophils: the same result twice, refused as an identical duplicate."""
    frame = pd.DataFrame(
        {
            "subject_id": ["S1", "S1"],
            "collected_at": ["2024-01-11T07:00Z", "2024-01-11T07:00Z"],
            "analyte": ["neutrophils", "Neutrophils"],
            "value": ["0.4", "0.40"],
            "unit": ["10^9/L", "10^9/L"],
            "lln": ["1.8", "1.8"],
        }
    )
    with pytest.raises(InputError) as caught:
        derive_lab_grades(frame)
    [problem] = caught.value.problems
    assert problem.row == 3 and problem.field == "collected_at"
    expected = "duplicate of row 2 (same subject_id, analyte and collected_at; identical values)"
    assert problem.message == expected


def test_duplicates_through_the_python_api_raise_located_errors() -> None:
    frame = pd.DataFrame(
        {
            "subject_id": ["S1", "S1"],
            "assessed_at": pd.to_datetime(["2024-01-11T08:00Z", "2024-01-11T08:00Z"]),
            "temperature_c": [38.5, 39.5],
            "fever_masked": False,
            "hypotension": False,
            "vasopressors": 0,
            "vasopressin": False,
            "oxygen": "none",
            "oxygen_l_min": None,
        }
    )
    with pytest.raises(InputError) as caught:
        derive_crs_grades(frame)
    assert [p.row for p in caught.value.problems] == [2, 3]


def test_implausible_lab_value_warns_and_names_the_row(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """ANC 3720 ×10^9/L (a count per µL entered as ×10^9/L) and haemoglobin 9 g/L (a g/dL value): graded as
    given (exit 0), with a warning on stderr naming file, row, analyte and the plausible range, never the
    value."""
    path = write(
        tmp_path,
        "labs.csv",
        f"{LABS_HEADER}\nS1,2024-01-11T07:00:00Z,neutrophils,3720,10^9/L,1.8\n"
        "S1,2024-01-11T07:00:00Z,hemoglobin,9,g/L,120\nS1,2024-01-12T07:00:00Z,neutrophils,3.7,10^9/L,1.8\n",
    )
    code, out, err = run(capsys, "grade", "labs", str(path))
    assert code == 0 and len(pd.read_csv(io.StringIO(out))) == 3
    assert "row 2: the neutrophils value is outside the plausible range 0-100" in err
    assert "row 3: the hemoglobin value is outside the plausible range 20-250" in err
    assert "3720" not in err and " 9 g/L" not in err
    assert "row 4" not in err


def test_plausible_ranges_cover_every_graded_analyte_with_a_rationale() -> None:
    for analyte in Analyte:
        limits = LAB_PLAUSIBLE_RANGES[analyte]
        assert limits.low < limits.high and len(limits.rationale) > 40
