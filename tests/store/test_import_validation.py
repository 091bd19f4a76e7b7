"""One validation path: the import refuses what its docs forbid, and `db edit` / single-record writes apply
the import's field rules, on SQLite and PostgreSQL.

Requirements: decisions §19 The import must refuse naive date-times (docs/store.md), a negative PK value, an
adverse event that ends before it starts, a birth year after consent, a dose level not in the protocol and
an AQP4 titre off the assay grid; `db edit` must refuse `viability_pct=150`, `weight_kg=58000` or `-5`,
`dose_level=9`, `temperature_c=101.3`, `oxygen=helmet`, EDSS ambulation 17, `birth_year=1800`, `sex=X` and
`viability_pct=nan` with located errors, leaving the record unchanged.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cartrial.cli import main
from cartrial.errors import InputError
from cartrial.store.importing import import_templates

from .conftest import StudyDb

HEADERS = {
    "subjects": "subject_id,site_id,consent_date,sex,birth_year,aqp4_igg_status,aqp4_igg_titre",
    "infusions": "subject_id,infused_at,dose_level,weight_kg,cells_per_kg,total_car_t_cells,viability_pct",
    "pk_samples": "subject_id,analyte,assay,matrix,nominal_day,actual_day,sampled_at,value,unit,lloq,blq",
    "adverse_events": "subject_id,term,category,started_on,ended_on,grade",
    "pd_samples": "subject_id,nominal_day,actual_day,sampled_at,aqp4_igg_titre",
    "crs_assessments": "subject_id,assessed_at,temperature_c,fever_masked,hypotension,vasopressors,"
    "vasopressin,oxygen,oxygen_l_min",
}
GOOD = {
    "subjects": "CT-201,TJH,2021-05-06,F,1972,positive,1:320",
    "infusions": "CT-001,2021-06-01T02:00:00Z,1,58.0,500000,29000000,92",
    "pk_samples": "CT-001,car_t_cells,flow_cytometry,peripheral_blood,7,7.0,2021-06-08T02:00:00Z,12.5,"
    "cells/uL,0.5,false",
    "adverse_events": "CT-001,Fever,crs,2021-06-02,2021-06-05,1",
    "pd_samples": "CT-001,28,28.0,2021-06-29T02:00:00Z,1:100",
    "crs_assessments": "CT-001,2021-06-04T10:00:00Z,38.9,false,false,0,false,none,0",
}
BAD_IMPORTS = [
    (
        "crs_assessments",
        "CT-001,2021-06-04T10:00:00,38.9,false,false,0,false,none,0",
        "assessed_at",
        "time zone",
    ),
    (
        "pk_samples",
        "CT-001,car_t_cells,flow_cytometry,peripheral_blood,7,7.0,2021-06-08T02:00:00Z,-12.5,cells/uL,0.5,false",
        "value",
        "out of range",
    ),
    ("adverse_events", "CT-001,Fever,crs,2021-06-05,2021-06-02,1", "ended_on", "ends before it starts"),
    ("subjects", "CT-201,TJH,2021-05-06,F,2022,positive,1:320", "birth_year", "after the consent"),
    ("infusions", "CT-001,2021-06-01T02:00:00Z,9,58.0,500000,29000000,92", "dose_level", "dose level"),
    ("pd_samples", "CT-001,28,28.0,2021-06-29T02:00:00Z,1:50", "aqp4_igg_titre", "dilution grid"),
    ("subjects", "CT-201,TJH,2021-05-06,F,1972,positive,1:640", "aqp4_igg_titre", "dilution grid"),
    ("adverse_events", "CT-001,Fe\x07ver,crs,2021-06-02,2021-06-05,1", "term", "control character"),
]


def write_form(folder: Path, form: str, row: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{form}.csv").write_text(f"{HEADERS[form]}\n{row}\n", encoding="utf-8")


@pytest.mark.parametrize("form", sorted(GOOD))
def test_the_good_row_of_each_form_is_accepted(sqlite_study: StudyDb, tmp_path: Path, form: str) -> None:
    """Control: the same row without the fault passes (so each refusal below is the fault's)."""
    write_form(tmp_path / "in", form, GOOD[form])
    report = import_templates(sqlite_study.url, tmp_path / "in", "admin", dry_run=True)
    assert report.forms[0].read == 1


@pytest.mark.parametrize(("form", "row", "field", "words"), BAD_IMPORTS)
def test_the_import_refuses_what_its_docs_forbid(
    sqlite_study: StudyDb, tmp_path: Path, form: str, row: str, field: str, words: str
) -> None:
    write_form(tmp_path / "in", form, row)
    with pytest.raises(InputError) as caught:
        import_templates(sqlite_study.url, tmp_path / "in", "admin", dry_run=True)
    problems = caught.value.problems
    assert [(p.row, p.field) for p in problems] == [(2, field)], problems
    assert words in problems[0].message + (problems[0].allowed or "")
    assert problems[0].file is not None and problems[0].file.endswith(f"{form}.csv")


def _infusion(study: StudyDb) -> dict[str, object]:
    service = study.service
    record_id = service.insert_record(
        "admin",
        "infusion",
        {
            "subject_id": "CT-001",
            "infused_at": "2021-06-01T02:00:00Z",
            "dose_level": 1,
            "weight_kg": 58.0,
            "cells_per_kg": 5e5,
            "total_car_t_cells": 2.9e7,
            "viability_pct": 92.0,
        },
    )
    return service.get_record("admin", "infusion", record_id)


def _crs(study: StudyDb) -> dict[str, object]:
    record_id = study.service.insert_record(
        "admin",
        "crs_assessment",
        {
            "subject_id": "CT-001",
            "assessed_at": "2021-06-04T10:00:00Z",
            "temperature_c": 38.9,
            "fever_masked": False,
            "hypotension": False,
            "vasopressors": 0,
            "vasopressin": False,
            "oxygen": "none",
            "oxygen_l_min": 0.0,
        },
    )
    return study.service.get_record("admin", "crs_assessment", record_id)


def _edss(study: StudyDb) -> dict[str, object]:
    scores = dict(visual=3, brainstem=1, pyramidal=2, cerebellar=2, sensory=1, bowel_bladder=4, cerebral=1)
    record_id = study.service.insert_record(
        "admin",
        "edss_assessment",
        {"subject_id": "CT-001", "assessed_at": "2021-05-29T09:00:00Z", **scores, "ambulation": 0},
    )
    return study.service.get_record("admin", "edss_assessment", record_id)


def _subject(study: StudyDb) -> dict[str, object]:
    (row,) = study.service.find_records("admin", "subject", subject_id="CT-001")
    return row


RECORDS = {"infusion": _infusion, "crs_assessment": _crs, "edss_assessment": _edss, "subject": _subject}
BAD_EDITS = [
    ("infusion", "viability_pct", 150.0),
    ("infusion", "weight_kg", 58000.0),
    ("infusion", "weight_kg", -5.0),
    ("infusion", "dose_level", 9),
    ("infusion", "viability_pct", float("nan")),
    ("crs_assessment", "temperature_c", 101.3),
    ("crs_assessment", "oxygen", "helmet"),
    ("edss_assessment", "ambulation", 17),
    ("subject", "birth_year", 1800),
    ("subject", "sex", "X"),
]


def test_the_edit_path_refuses_each_bad_value_and_changes_nothing(study: StudyDb) -> None:
    """On each backend: every bad value is refused with `table.field` named; the record keeps its
    version and values; a good edit of the same field still works."""
    service = study.service
    records = {table: make(study) for table, make in RECORDS.items()}
    for table, field, value in BAD_EDITS:
        record = records[table]
        with pytest.raises(InputError) as caught:
            service.update_record(
                "admin", table, int(record["id"]), {field: value}, int(record["version"]), "fix"
            )
        assert [p.field for p in caught.value.problems] == [f"{table}.{field}"], caught.value.problems
        assert caught.value.problems[0].allowed
        assert service.get_record("admin", table, int(record["id"])) == record
    infusion = records["infusion"]
    version = service.update_record(
        "admin", "infusion", int(infusion["id"]), {"viability_pct": 95.0}, int(infusion["version"]), "fix"
    )
    assert version == int(infusion["version"]) + 1


def test_a_new_record_is_checked_like_an_imported_row(study: StudyDb) -> None:
    with pytest.raises(InputError) as caught:
        study.service.insert_record(
            "admin",
            "infusion",
            {"subject_id": "CT-002", "infused_at": "2021-06-22T02:30:00Z", "dose_level": 3},
        )
    assert [p.field for p in caught.value.problems] == ["infusion.dose_level"]
    assert study.service.find_records("admin", "infusion", subject_id="CT-002") == []


@pytest.mark.parametrize("control", ["\x00", "\x1b", "\x7f"])
def test_a_control_character_in_text_is_refused_not_passed_to_the_database(
    study: StudyDb, control: str
) -> None:
    """PostgreSQL cannot store NUL in text and SQLite would keep it for the CDISC export to choke on: the
    field rule refuses it on both backends, naming the field, before anything is written."""
    record = {"subject_id": "CT-001", "term": f"Head{control}ache", "category": "non_hematologic"}
    record |= {"started_on": "2021-06-10", "grade": 1}
    with pytest.raises(InputError) as caught:
        study.service.insert_record("admin", "adverse_event", record)
    assert [(p.field, p.message) for p in caught.value.problems] == [  # a key's own words (D-19.444)
        ("adverse_event.term", f"contains U+{ord(control):04X} <control> (a control character)")
    ]
    assert study.service.find_records("admin", "adverse_event", subject_id="CT-001") == []
    with pytest.raises(InputError) as searched:  # a search for it is refused the same way
        study.service.find_records("admin", "adverse_event", term=record["term"])
    assert [p.field for p in searched.value.problems] == ["adverse_event.term"]
    record["term"] = "Headache"
    record["action_taken"] = "paracetamol\t1 g"  # a tab is free text (a key text holds none: D-19.420)
    assert study.service.insert_record("admin", "adverse_event", record) > 0


def test_db_edit_command_exits_2_naming_the_field(
    sqlite_study: StudyDb, capsys: pytest.CaptureFixture[str]
) -> None:
    record = _infusion(sqlite_study)
    args = ["db", "edit", "infusion", str(record["id"]), "--set", "viability_pct=nan"]
    args += ["--expected-version", str(record["version"]), "--reason", "typo", "--user", "admin"]
    code = main([*args, "--url", sqlite_study.url])
    captured = capsys.readouterr()
    assert code == 2
    assert "infusion.viability_pct" in captured.err + captured.out
    assert "Traceback" not in captured.err


LAB_HEADER = "subject_id,collected_at,analyte,value,unit,lln,life_threatening_anemia"


@pytest.mark.parametrize(
    ("form", "header", "given", "stored"),
    [
        ("labs", LAB_HEADER, "Neutrophils", "neutrophils"),
        ("labs", LAB_HEADER, "NEUTROPHILS", "neutrophils"),
        ("labs", LAB_HEADER, "CRP", "crp"),
        ("labs", LAB_HEADER, "ldh", "ldh"),  # outside the dictionary: kept as given
        ("labs", LAB_HEADER, "Neutrophil", "Neutrophil"),  # not a known name but for case: kept
        ("pk_samples", HEADERS["pk_samples"], "CAR_T_Cells", "car_t_cells"),
    ],
)
def test_a_known_analyte_is_stored_in_its_one_spelling(
    sqlite_study: StudyDb, tmp_path: Path, form: str, header: str, given: str, stored: str
) -> None:
    """A lab test or PK analyte of the dictionary (`cartrial.protocol.lab_tests`) given in another case
    is stored in the dictionary's spelling, on the import and on a single-record write: the analysis selects
    the graded haematology analytes by name, so `Neutrophils` had been stored and then left out of the CTCAE
    grading without a word."""
    folder = tmp_path / "in"
    folder.mkdir()
    if form == "labs":
        row = f"CT-001,2021-06-08T02:00:00Z,{given},1.2,10^9/L,1.8,"
        table = "lab_result"
    else:
        row = GOOD["pk_samples"].replace("car_t_cells", given)
        table = "pk_sample"
    (folder / f"{form}.csv").write_text(f"{header}\n{row}\n", encoding="utf-8")
    import_templates(sqlite_study.url, folder, "admin")
    assert [r["analyte"] for r in sqlite_study.service.find_records("admin", table)] == [stored]


def test_two_spellings_of_one_lab_test_at_one_time_are_one_natural_key(
    sqlite_study: StudyDb, tmp_path: Path
) -> None:
    """`neutrophils` and `Neutrophils` at the same moment are the same result twice (refused as a repeated
    natural key), not two records of two tests."""
    folder = tmp_path / "in"
    folder.mkdir()
    rows = [f"CT-001,2021-06-08T02:00:00Z,{name},1.2,10^9/L,1.8," for name in ("neutrophils", "Neutrophils")]
    (folder / "labs.csv").write_text("\n".join([LAB_HEADER, *rows]) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        import_templates(sqlite_study.url, folder, "admin", dry_run=True)
    assert {p.row for p in caught.value.problems} >= {3}, caught.value.problems
