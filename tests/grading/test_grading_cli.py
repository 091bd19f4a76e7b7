"""`cartrial grade …` batch commands (decisions §3: batch CLI, bad input rules, templates, demo)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

from cartrial import templates as cartrial_templates
from cartrial.demo import DemoContext
from cartrial.demo import grading as grading_demo

from ..conftest import run_captured as run
from ..conftest import write_file as write
from .conftest import CRS_HEADER


def test_grade_crs_template(capsys: pytest.CaptureFixture[str], repo_root: Path) -> None:
    """The CRS template grades by ASTCT 2019 (grades hand-checked against the CRS table: 4 L/min nasal
    cannula with fever = 2; masked + non-rebreather = 3; masked + one vasopressor + facemask = 3; afebrile and
    resolved = 0) and keeps every input column."""
    template = cartrial_templates.path() / "crs_assessments.csv"
    code, out, err = run(capsys, "grade", "crs", str(template))
    assert code == 0, err
    frame = pd.read_csv(pd.io.common.StringIO(out))
    assert list(frame["grade"]) == [2, 3, 3, 0]
    assert list(frame.columns[: len(pd.read_csv(template).columns)]) == list(pd.read_csv(template).columns)
    assert {
        "grade_reason",
        "scale",
        "post_masking_grade",
        "masking_classes",
        "vasopressin_alone_grade",
    } <= set(frame.columns)


def test_grade_crs_fahrenheit_and_options_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """temperature_f is converted ((F - 32) x 5/9: 101.3 °F = 38.5 °C, fever); --json records the options."""
    header = CRS_HEADER.replace("temperature_c", "temperature_f")
    path = write(tmp_path, "crs.csv", f"{header}\nS1,2021-06-02T10:00:00Z,101.3,false,true,0,true,none,\n")
    code, out, _ = run(capsys, "grade", "crs", str(path), "--json", "--vasopressin-alone-grade", "2")
    assert code == 0
    payload = json.loads(out)
    assert payload["options"]["vasopressin_alone_grade"] == 2
    row = payload["rows"][0]
    assert row["grade"] == 2 and row["temperature_c_used"] == pytest.approx(38.5)


BAD_CRS = f"""{CRS_HEADER}
S1,2021-06-02T10:00:00Z,38.5,false,false,0,false,none,
S1,2021-06-03T10:00:00Z,50,false,false,0,false,none,
S1,2021-06-04T10:00:00Z,38.5,false,false,0,false,nasal_cannula,-1
S1,2021-06-05T10:00:00Z,38.5,false,false,0,false,none,3
S1,2021-06-06T10:00:00Z,38.5,false,false,1,false,none,
S1,2021-06-07T10:00:00Z,38.5,false,false,0,false,helmet,
S1,2021-06-08T10:00:00Z,38.5,maybe,false,0,false,none,
"""


def test_bad_crs_rows_are_all_reported_and_nothing_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Decisions §3 bad-input rules: temperature outside 30-45 °C, negative flow, flow with oxygen=none,
    vasopressors > 0 with hypotension=false, unknown category, bad boolean: each reported with row, column,
    value and what is allowed; exit 2; --out not written."""
    path = write(tmp_path, "crs.csv", BAD_CRS)
    out_file = tmp_path / "graded.csv"
    code, _, err = run(capsys, "grade", "crs", str(path), "--out", str(out_file))
    assert code == 2
    assert not out_file.exists()
    for row, column, value in [
        (3, "temperature_c", "50"),
        (4, "oxygen_l_min", "-1"),
        (5, "oxygen_l_min", "3"),
        (6, "vasopressors", "1"),
        (7, "oxygen", "helmet"),
        (8, "fever_masked", "maybe"),
    ]:
        line = next(line for line in err.splitlines() if f"row {row}, {column}" in line)
        assert repr(value) in line and "allowed" in line
    assert "row 2," not in err
    assert "Traceback" not in err


def test_keep_going_grades_good_rows_and_marks_bad_ones(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """--keep-going: good rows graded, bad rows kept with an error column and no grade (no row dropped)."""
    path = write(tmp_path, "crs.csv", BAD_CRS)
    code, out, _ = run(capsys, "grade", "crs", str(path), "--keep-going")
    assert code == 0
    frame = pd.read_csv(pd.io.common.StringIO(out), keep_default_na=False)
    assert len(frame) == 7
    assert frame.loc[0, "grade"] == "1" and frame.loc[0, "error"] == ""
    assert all(frame.loc[1:, "grade"] == "") and all(frame.loc[1:, "error"] != "")
    assert "out of range" in frame.loc[1, "error"]


def test_bad_icans_rows(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """ICE item above its maximum, unknown category, missing ICE for an arousable patient: exit 2, rows
    listed (ICE maxima: PMC8153820 Table 2)."""
    header = (
        "subject_id,assessed_at,ice_orientation,ice_naming,ice_command,ice_writing,ice_attention,"
        "ice_total,consciousness,seizure,motor,cerebral_edema"
    )
    path = write(
        tmp_path,
        "icans.csv",
        f"""{header}
S1,2021-06-02T10:00:00Z,5,3,1,1,1,,alert,none,none,none
S1,2021-06-03T10:00:00Z,4,3,1,1,1,,drowsy,none,none,none
S1,2021-06-04T10:00:00Z,,,,,,,awakens_to_voice,none,none,none
S1,2021-06-05T10:00:00Z,,,,,,,unarousable,none,none,none
""",
    )
    code, _, err = run(capsys, "grade", "icans", str(path))
    assert code == 2
    assert "row 2, ice_orientation" in err and "row 3, consciousness" in err and "row 4, ice_total" in err
    assert "row 5" not in err
    code, out, _ = run(capsys, "grade", "icans", str(path), "--keep-going")
    frame = pd.read_csv(pd.io.common.StringIO(out), keep_default_na=False)
    assert frame.loc[3, "grade"] == "4"  # unarousable, ICE not assessable (ICANS-1)


def test_grade_labs_units_and_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, repo_root: Path
) -> None:
    """CTCAE v5.0 with explicit units (template: 0.45 x10^9/L neutrophils grade 4; 48000/mm³ platelets
    grade 3; Hb 9.4 g/dL grade 2; 4.8 mmol/L = 77 g/L grade 3); unknown unit → exit 2; v6 haemoglobin →
    configuration error exit 2."""
    template = cartrial_templates.path() / "labs.csv"
    code, out, _ = run(capsys, "grade", "labs", str(template))
    assert code == 0
    frame = pd.read_csv(pd.io.common.StringIO(out))
    assert list(frame["grade"]) == [4, 3, 2, 4, 3, 3]
    bad = write(
        tmp_path,
        "labs.csv",
        "subject_id,collected_at,analyte,value,unit,lln\nS1,2021-06-02T07:00:00Z,neutrophils,0.4,mg/dL,1.8\n"
        "S1,2021-06-02T07:00:00Z,neutrophils,0.4,,1.8\n",
    )
    code, _, err = run(capsys, "grade", "labs", str(bad))
    assert code == 2 and "row 2, unit" in err and "row 3, unit" in err
    code, _, err = run(capsys, "grade", "labs", str(template), "--ctcae-version", "6.0")
    assert code == 2 and "not implemented" in err
    code, _, err = run(capsys, "grade", "labs", str(template), "--ctcae-version", "4.03")
    assert code == 2 and "4.03" in err


def test_episodes_with_example_infusions(capsys: pytest.CaptureFixture[str], examples_dir: Path) -> None:
    """`grade episodes` accepts the example infusions.csv as-is; kind detected from the columns; the
    example study has CRS grade 1-2 in all 12 subjects and no ICANS (published summary)."""
    study = examples_dir / "ct103a-nmosd" / "study"
    infusions = str(study / "infusions.csv")
    code, out, err = run(
        capsys,
        "grade",
        "episodes",
        str(study / "crs_assessments.csv"),
        "--infusion-dates",
        infusions,
        "--therapies",
        str(study / "therapies.csv"),
    )
    assert code == 0, err
    crs = pd.read_csv(pd.io.common.StringIO(out))
    assert len(crs) == 12 and set(crs["max_grade"]) <= {1, 2} and (crs["kind"] == "crs").all()
    assert crs["resolution_basis"].eq("recorded").all()
    code, out, err = run(
        capsys, "grade", "episodes", str(study / "icans_assessments.csv"), "--infusion-dates", infusions
    )
    assert code == 0, err
    icans = pd.read_csv(pd.io.common.StringIO(out))
    assert (icans["kind"] == "icans").all() and (icans["max_grade"] == 0).all()


def test_episodes_subject_without_infusion_is_an_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A subject missing from the infusion file is a row problem (exit 2), never a silent skip."""
    crs = write(
        tmp_path, "crs.csv", f"{CRS_HEADER}\nS9,2021-06-02T10:00:00Z,38.5,false,false,0,false,none,\n"
    )
    inf = write(tmp_path, "inf.csv", "subject_id,infused_at\nS1,2021-06-01T02:00:00Z\n")
    code, _, err = run(capsys, "grade", "episodes", str(crs), "--infusion-dates", str(inf))
    assert code == 2 and "row 2, subject_id" in err and "no infusion date" in err


def test_icaht_command(capsys: pytest.CaptureFixture[str], examples_dir: Path) -> None:
    """`grade icaht` grades each subject's ANC series (EHA/EBMT 2023) and records the options used."""
    study = examples_dir / "ct103a-nmosd" / "study"
    code, out, err = run(
        capsys,
        "grade",
        "icaht",
        str(study / "labs.csv"),
        "--infusion-dates",
        str(study / "infusions.csv"),
        "--json",
    )
    assert code == 0, err
    payload = json.loads(out)
    assert payload["options"]["early_g4_min_days"] == 31
    assert len(payload["rows"]) == 12
    assert all(r["early_grade"] in range(5) for r in payload["rows"])


def test_demo_writes_graded_files(tmp_path: Path, examples_dir: Path, repo_root: Path) -> None:
    """Decisions §3 acceptance: the demo grades the shipped example files and writes graded CSVs and
    episodes."""
    ctx = DemoContext(
        examples_dir=examples_dir,
        templates_dir=cartrial_templates.path(),
        out_dir=tmp_path,
        console=Console(file=open(tmp_path / "console.txt", "w"), width=160),  # noqa: SIM115
    )
    grading_demo.run(ctx)
    written = {p.name for p in (tmp_path / "grading").iterdir()}
    assert {
        "crs_graded.csv",
        "crs_episodes.csv",
        "icans_graded.csv",
        "icans_episodes.csv",
        "labs_graded.csv",
        "icaht.csv",
        "graded_events.csv",
    } <= written
    episodes = pd.read_csv(tmp_path / "grading" / "crs_episodes.csv")
    assert set(episodes["max_grade"]) <= {1, 2} and episodes["subject_id"].nunique() == 12


def test_keep_going_episodes_lists_excluded_rows(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """No row is dropped silently: with --keep-going the episode table names the excluded rows per subject,
    including a subject whose only rows were bad."""
    crs = write(
        tmp_path,
        "crs.csv",
        f"{CRS_HEADER}\nS1,2021-06-02T10:00:00Z,38.5,false,false,0,false,none,\n"
        "S1,2021-06-03T10:00:00Z,99,false,false,0,false,none,\nS2,2021-06-03T10:00:00Z,38,maybe,false,0,false,none,\n",
    )
    inf = write(
        tmp_path, "inf.csv", "subject_id,infused_at\nS1,2021-06-01T02:00:00Z\nS2,2021-06-01T02:00:00Z\n"
    )
    code, out, _ = run(capsys, "grade", "episodes", str(crs), "--infusion-dates", str(inf), "--keep-going")
    assert code == 0
    frame = pd.read_csv(pd.io.common.StringIO(out), keep_default_na=False, dtype=str)
    by_subject = dict(zip(frame["subject_id"], frame["excluded_rows"], strict=True))
    assert by_subject == {"S1": "3", "S2": "4"}


def test_systolic_bp_and_temperature_checks(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A4: hypotension derived from systolic_bp_mmhg when the flag is blank (SBP < 90 by default, or
    --sbp-threshold); temperature_c and temperature_f must agree when both are given."""
    header = (
        "subject_id,assessed_at,temperature_c,temperature_f,fever_masked,hypotension,systolic_bp_mmhg,"
        "vasopressors,vasopressin,oxygen,oxygen_l_min"
    )
    path = write(
        tmp_path,
        "crs.csv",
        f"{header}\nS1,2021-06-02T10:00:00Z,38.5,,false,,85,0,false,none,\n"
        "S1,2021-06-03T10:00:00Z,,101.3,false,,95,0,false,none,\n",
    )
    code, out, err = run(capsys, "grade", "crs", str(path))
    assert code == 0, err
    assert list(pd.read_csv(pd.io.common.StringIO(out))["grade"]) == [2, 1]
    code, out, _ = run(capsys, "grade", "crs", str(path), "--sbp-threshold", "100")
    assert list(pd.read_csv(pd.io.common.StringIO(out))["grade"]) == [2, 2]
    bad = write(
        tmp_path, "bad.csv", f"{header}\nS1,2021-06-02T10:00:00Z,38.5,98.6,false,false,,0,false,none,\n"
    )
    code, _, err = run(capsys, "grade", "crs", str(bad))
    assert code == 2 and "row 2, temperature_f" in err and "disagrees" in err


def test_grams_per_litre_count_is_a_row_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Decisions §3 ("a missing or unknown unit is an error, never a guess"): a neutrophil count in 'g/L'
    (grams
    per litre, a haemoglobin unit) is reported with row, column, value and the allowed units (exit 2);
    'G/L' (giga per litre = 10^9/L) is graded."""
    path = write(
        tmp_path,
        "labs.csv",
        "subject_id,collected_at,analyte,value,unit,lln\nS1,2021-06-02T07:00:00Z,neutrophils,0.4,g/L,1.8\n"
        "S1,2021-06-03T07:00:00Z,neutrophils,0.4,G/L,1.8\n",
    )
    code, _, err = run(capsys, "grade", "labs", str(path))
    assert code == 2 and "row 2, unit" in err and "'g/L'" in err and "G/L" in err and "row 3" not in err
    code, out, _ = run(capsys, "grade", "labs", str(path), "--keep-going")
    frame = pd.read_csv(pd.io.common.StringIO(out), keep_default_na=False)
    assert code == 0 and list(frame["grade"].astype(str)) == ["", "4"]
