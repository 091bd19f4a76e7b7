"""Every path that runs an engine on the study's stored rows names a refused record without its value
(D-12.2, D-19.500, D-19.507).

Before: only `analyse` dropped `Problem.value`; `kinetics popfit --url` printed "(got '-7.77')" for a
stored PK concentration its reader refuses, and the web safety page showed an engine's refusal of a
stored row with the value. A value a store rule of an older version accepted is put in with SQL, as such a
database holds it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from cartrial.errors import InputError, Problem, stored_rows_errors

from ..conftest import run_cartrial

SENTINEL = "7.77e+300"


def _store_value(url: str, sql: str) -> None:
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        with connection:
            assert connection.execute(sql).rowcount >= 1
    finally:
        connection.close()


def test_the_helper_drops_values_at_rows_only() -> None:
    at_row = Problem("out of range", file="pk_samples", row=3, field="value", value=SENTINEL)
    option = Problem("not an option", field="analysis.options.x", value="quoted")
    with pytest.raises(InputError) as caught, stored_rows_errors():
        raise InputError([at_row, option])
    first, second = caught.value.problems
    # no frame locates it: the table and field remain, not a row of a frame no user sees (D-19.542)
    assert first.value is None and first.row is None and first.file == "pk_samples" and first.field == "value"
    assert second.value == "quoted"
    assert "7.77" not in str(caught.value)


def test_popfit_from_the_store_names_a_refused_stored_value_without_it(
    example_sqlite: str, tmp_path: Path
) -> None:
    _store_value(
        example_sqlite,
        # a negative concentration: the kinetics reader refuses it (a number >= 0)
        "UPDATE pk_sample SET value = -7.77 "
        "WHERE id = (SELECT min(id) FROM pk_sample WHERE value > 0 AND analyte = 'car_transgene')",
    )
    result = run_cartrial(
        "kinetics",
        "popfit",
        "--url",
        example_sqlite,
        "--user",
        "admin",
        "--cutoff",
        "2022-03-20",
        "--no-figures",
        "--out",
        str(tmp_path / "o"),
    )
    assert result.exit_code == 2, result.stderr
    # named by the record id `db edit pk_sample` takes, not a row of the reader's filtered frame (D-19.507)
    assert f"pk_sample record {_refused_id(example_sqlite)}, value" in result.stderr
    assert "7.77" not in result.stderr + result.stdout and "got" not in result.stderr


def _refused_id(url: str) -> int:
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        (record_id,) = connection.execute("SELECT id FROM pk_sample WHERE value < 0").fetchone()
    finally:
        connection.close()
    return int(record_id)


def test_a_pd_fit_from_the_store_names_a_refused_pd_sample_by_its_record(
    example_sqlite: str, tmp_path: Path
) -> None:
    """D-19.507: the PD reader's row of `popfit --model pd --url` is named by the pd_sample record id."""
    _store_value(
        example_sqlite,
        "UPDATE pd_sample SET aqp4_igg_titre = '1:7' "
        "WHERE id = (SELECT max(id) FROM pd_sample WHERE aqp4_igg_titre LIKE '1:%')",
    )
    connection = sqlite3.connect(example_sqlite.removeprefix("sqlite:///"))
    try:
        (record_id,) = connection.execute("SELECT id FROM pd_sample WHERE aqp4_igg_titre = '1:7'").fetchone()
    finally:
        connection.close()
    result = run_cartrial(
        "kinetics",
        "popfit",
        "--model",
        "pd",
        "--url",
        example_sqlite,
        "--user",
        "admin",
        "--cutoff",
        "2030-01-01",
        "--individual-parameters",
        str(tmp_path / "ebe.csv"),
        "--no-figures",
        "--out",
        str(tmp_path / "o"),
    )
    assert result.exit_code == 2, result.stderr
    assert f"pd_sample record {record_id}, aqp4_igg_titre" in result.stderr
    assert "1:7" not in result.stderr and "got" not in result.stderr


def test_the_web_safety_page_shows_an_engine_refusal_without_the_value(
    example_sqlite: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    from cartrial.analysis import core
    from cartrial.store import StudyService, connect
    from cartrial.web import views

    real = core.safety_derivations

    def refusing(*args: Any, **kwargs: Any) -> Any:
        derive = dict(real(*args, **kwargs))

        def refuse() -> Any:
            raise InputError(
                Problem("out of range", file="labs", row=5, field="value", value=SENTINEL, allowed="0 to 1e6")
            )

        derive["lab_datasets"] = refuse
        return derive

    monkeypatch.setattr(core, "safety_derivations", refusing)
    service = StudyService(connect(example_sqlite))
    try:
        view = views.safety_view(service.as_user("admin"), None, dt.date(2022, 3, 20))
    finally:
        service.engine.dispose()
    text = " ".join(view.notes)
    # a row of a frame the page does not know: the table and field only, never a guessed record (D-19.542)
    assert "labs, value: out of range" in text and "row 5" not in text
    assert "7.77" not in text and "got" not in text


def _planted_edss(url: str) -> int:
    """An EDSS pyramidal score of 9 (the engine allows 0 to 6) in the last record of the study, and no
    infusion for CT-001 any more (nor escalation decisions): the engines are handed the infused subjects'
    rows only, so the refused record is no longer at its place in the snapshot's table (a mapping from the
    snapshot's rows would name another record). Returns the planted record's id."""
    _store_value(
        url, "UPDATE edss_assessment SET pyramidal = 9 WHERE id = (SELECT max(id) FROM edss_assessment)"
    )
    _store_value(url, "DELETE FROM infusion WHERE subject_id = 'CT-001'")
    _store_value(url, "DELETE FROM escalation_decision")  # cohort 1 no longer adds up without CT-001
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        (record_id,) = connection.execute("SELECT id FROM edss_assessment WHERE pyramidal = 9").fetchone()
        (before,) = connection.execute(
            "SELECT count(*) FROM edss_assessment WHERE subject_id = 'CT-001'"
        ).fetchone()
    finally:
        connection.close()
    assert before > 0  # rows of the left-out subject come first: the handed frame is shifted
    return int(record_id)


def _assert_named_by_record(text: str, record_id: int) -> None:
    line = next(line for line in text.splitlines() if "pyramidal" in line)
    assert f"edss_assessment record {record_id}, pyramidal: out of range" in line, text
    assert "row" not in line and "(got" not in line, line  # no frame row number, no value
    assert "edss, " not in line


@pytest.mark.parametrize(
    "command", [("analyse",), ("report", "--no-pdf"), ("export", "cdisc")], ids=["analyse", "report", "cdisc"]
)
def test_a_refused_stored_record_is_named_by_its_id(
    command: tuple[str, ...], example_sqlite: str, tmp_path: Path
) -> None:
    """D-19.542: `analyse`, `report` and `export cdisc` located an engine's refusal at "edss, row 50,
    pyramidal": row 50 of the frame the engine was given (the safety population's rows), a row no user can
    find, and of the snapshot's table another record. It is the record `db edit` takes."""
    record_id = _planted_edss(example_sqlite)
    result = run_cartrial(
        *command,
        "--url",
        example_sqlite,
        "--user",
        "admin",
        "--cutoff",
        "2022-03-20",
        "--out",
        str(tmp_path / "out"),
    )
    assert result.exit_code == 2, result.stderr
    _assert_named_by_record(result.stderr, record_id)


def test_the_web_safety_page_names_a_refused_stored_record_by_its_id(example_sqlite: str) -> None:
    """D-19.542: a therapy category the grading refuses (stored before a store rule refused it), on the
    safety page: the therapy record, never "therapies, row N" nor the value."""
    import datetime as dt

    from cartrial.store import StudyService, connect
    from cartrial.web import views

    _store_value(
        example_sqlite, "UPDATE therapy SET therapy = 'zzzz' WHERE id = (SELECT max(id) FROM therapy)"
    )
    connection = sqlite3.connect(example_sqlite.removeprefix("sqlite:///"))
    try:
        (record_id,) = connection.execute("SELECT id FROM therapy WHERE therapy = 'zzzz'").fetchone()
    finally:
        connection.close()
    service = StudyService(connect(example_sqlite))
    try:
        view = views.safety_view(service.as_user("admin"), None, dt.date(2022, 3, 20))
    finally:
        service.engine.dispose()
    text = " ".join(view.notes)
    assert f"therapy record {record_id}, therapy: unknown category" in text, text
    assert "zzzz" not in text and "row" not in text and "got" not in text


def test_a_row_of_the_engines_frame_is_named_by_its_record_id() -> None:
    """D-19.507: row 3 of the (filtered) frame an engine was given is its second row: record 41 here."""
    import pandas as pd

    frame = pd.DataFrame({"value": ["1", SENTINEL, "2"], "record_id": [17, 41, 5]})
    with pytest.raises(InputError) as caught, stored_rows_errors({"pk_samples": (frame, "pk_sample")}):
        raise InputError(Problem("out of range", file="pk_samples", row=3, field="value", value=SENTINEL))
    (problem,) = caught.value.problems
    assert problem.record == "pk_sample record 41" and problem.row is None and problem.value is None
    assert str(problem) == "pk_sample record 41, value: out of range"


def test_a_problem_at_a_record_keeps_its_place_in_json_and_the_api() -> None:
    """D-19.539: `Problem.as_dict` had no `record`, so a problem moved to a record (file and row None) lost
    its place in --json, results.py and the API's problems[]."""
    from cartrial.web.api import ProblemOut
    from cartrial.web.errors import error_body

    problem = Problem("out of range", field="value", record="pk_sample record 41")
    assert problem.as_dict()["record"] == "pk_sample record 41"
    assert ProblemOut(**problem.as_dict()).record == "pk_sample record 41"
    assert error_body(InputError(problem))["problems"][0]["record"] == "pk_sample record 41"
    assert "record" in ProblemOut.model_json_schema()["properties"]


def test_a_row_no_frame_can_place_keeps_its_table_and_field_only() -> None:
    """D-19.542: a row outside the frame, or of a frame without record ids, names no record (never a guessed
    one) and no row: the table and field remain."""
    import pandas as pd

    from cartrial.analysis.model import stored_rows

    with_ids = pd.DataFrame({"pyramidal": ["1", "2"], "record_id": [17, 41]})
    without_ids = pd.DataFrame({"subject_id": ["S1"], "assessed_at": ["2021-01-01"]})
    outside = Problem("out of range", file="edss", row=4, field="pyramidal", value=SENTINEL)
    no_ids = Problem("not a date", file="osis", row=2, field="assessed_at", value=SENTINEL)
    with pytest.raises(InputError) as caught, stored_rows({"edss": with_ids, "osis": without_ids}):
        raise InputError([outside, no_ids])
    # named by the store table (`db records` takes it; `stored_record` without a record id names it too)
    assert [(p.file, p.row, p.record, p.field, p.value) for p in caught.value.problems] == [
        ("edss_assessment", None, None, "pyramidal", None),
        ("osis_assessment", None, None, "assessed_at", None),
    ]
    with pytest.raises(InputError) as caught, stored_rows({"edss": with_ids}):
        raise InputError(Problem("out of range", file="edss", row=3, field="pyramidal", value=SENTINEL))
    # the store table `db edit` names, from the snapshot's table name
    assert str(caught.value.problems[0]) == "edss_assessment record 41, pyramidal: out of range"


def _one(url: str, query: str) -> Any:
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        (value,) = connection.execute(query).fetchone()
    finally:
        connection.close()
    return value


def _analyse(url: str, out: Path, cutoff: str = "2022-03-20") -> Any:
    return run_cartrial("analyse", "--url", url, "--user", "admin", "--cutoff", cutoff, "--out", str(out))


def test_a_refused_pd_titre_is_named_by_its_record_without_the_value(
    example_sqlite: str, tmp_path: Path
) -> None:
    """D-19.542: the AQP4-IgG titre change parses one titre at a time (no frame row): `analyse` printed
    "titre: dilution not in the assay series (got '1:7')", no record and the value."""
    _store_value(
        example_sqlite,
        "UPDATE pd_sample SET aqp4_igg_titre = '1:7' "
        "WHERE id = (SELECT max(id) FROM pd_sample WHERE aqp4_igg_titre LIKE '1:%')",
    )
    record_id = _one(example_sqlite, "SELECT id FROM pd_sample WHERE aqp4_igg_titre = '1:7'")
    result = _analyse(example_sqlite, tmp_path / "out", cutoff="2026-01-01")
    assert result.exit_code == 2, result.stderr
    assert f"pd_sample record {record_id}, aqp4_igg_titre: " in result.stderr, result.stderr
    assert "1:7" not in result.stderr and "(got" not in result.stderr


def test_a_birth_after_the_infusion_is_named_by_its_record_not_the_infusion_date(
    example_sqlite: str, tmp_path: Path
) -> None:
    """D-19.542: the age engine compared the birth with the infusion day and `analyse` printed the
    infusion date, "(got 2021-12-07)", another record's value, with no record."""
    _store_value(example_sqlite, "UPDATE subject SET birth_year = 2024 WHERE subject_id = 'CT-012'")
    # its relapses would now be refused first, dated before that birth year (D-19.553): none here
    _store_value(example_sqlite, "DELETE FROM relapse WHERE subject_id = 'CT-012'")
    record_id = _one(example_sqlite, "SELECT id FROM subject WHERE subject_id = 'CT-012'")
    infused = str(_one(example_sqlite, "SELECT infused_at FROM infusion WHERE subject_id = 'CT-012'"))[:10]
    result = _analyse(example_sqlite, tmp_path / "out")
    assert result.exit_code == 2, result.stderr
    assert f"subject record {record_id}, birth_year: after the infusion day" in result.stderr, result.stderr
    assert infused not in result.stderr and "2024" not in result.stderr and "(got" not in result.stderr


def test_a_row_without_a_file_is_dropped_too() -> None:
    """D-19.542: a problem at a row but of no file kept the row ("row 7, value"): a row of no frame."""
    with pytest.raises(InputError) as caught, stored_rows_errors():
        raise InputError(Problem("out of range", row=7, field="value", value=SENTINEL))
    (problem,) = caught.value.problems
    assert (problem.row, problem.value, problem.field) == (None, None, "value")
    assert str(problem) == "value: out of range"


def test_a_repeated_stored_record_names_the_other_record_not_a_frame_row(
    example_sqlite: str, tmp_path: Path
) -> None:
    """D-19.542: a copy of a therapy record (its category upper-cased, the same key) stopped `analyse` with
    "conflicts with row 20" / "duplicate of row 19", rows of the grading's frame, and "differs in
    record_id": the id is no cell of the record, so every copy differed in it."""
    connection = sqlite3.connect(example_sqlite.removeprefix("sqlite:///"))
    try:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(therapy)") if row[1] != "id"]
        copied = ", ".join("upper(therapy)" if c == "therapy" else c for c in columns)
        with connection:
            (original,) = connection.execute("SELECT max(id) FROM therapy").fetchone()
            copy = connection.execute(
                f"INSERT INTO therapy ({', '.join(columns)}) SELECT {copied} FROM therapy WHERE id = ?",
                (original,),
            ).lastrowid
    finally:
        connection.close()
    result = _analyse(example_sqlite, tmp_path / "out")
    assert result.exit_code == 2, result.stderr
    assert f"therapy record {copy}, given_at: duplicate of record {original} (same " in result.stderr, (
        result.stderr
    )
    assert "row" not in result.stderr.replace("one row per", "") and "record_id" not in result.stderr


def test_repeated_keys_of_stored_records_and_of_a_users_file() -> None:
    """A frame with record ids names the other records by id and never compares the id; a user's file (no
    record_id column) keeps its row numbers (D-19.542)."""
    import pandas as pd

    from cartrial.columns import RowProblems, check_repeated_keys

    frame = pd.DataFrame({"subject_id": "S1", "day": ["1", "1", "1"], "c": ["5", "5", "7"]})
    keys = pd.DataFrame({"subject_id": frame["subject_id"], "day": frame["day"].astype(float)})
    stored = RowProblems("pk_samples")
    check_repeated_keys(keys, frame.assign(record_id=["41", "17", "9"]), stored, "day")
    user = RowProblems("pk.csv")
    check_repeated_keys(keys, frame, user, "day")
    assert [(p.row, p.message) for p in stored.all()] == [
        (2, "conflicts with record 9 (same subject_id and day; differs in c)"),
        (3, "duplicate of record 41 (same subject_id and day; identical values)"),
        (4, "duplicate of records 41, 17 (same subject_id and day; differs in c)"),
    ]
    assert [p.message for p in user.all()] == [
        "conflicts with row 4 (same subject_id and day; differs in c)",
        "duplicate of row 2 (same subject_id and day; identical values)",
        "duplicate of rows 2, 3 (same subject_id and day; differs in c)",
    ]


_WITHOUT_CT001 = ("DELETE FROM infusion WHERE subject_id = 'CT-001'", "DELETE FROM escalation_decision")
"""CT-001's rows come first and are no longer handed to the engines (not infused): a frame row is then
another record of the table (and cohort 1 no longer adds up without CT-001, so no decisions)."""

PLANTED = [
    # (store table, field, planted value, statements after it): each stops `analyse` in another wrapper
    ("relapse", "phenotype", "'zzzz'", _WITHOUT_CT001),  # relapse_datasets
    ("visual_acuity", "acuity", "'zzzz'", _WITHOUT_CT001),  # responder_datasets
    ("timed_walk", "trial_1_seconds", "999", _WITHOUT_CT001),  # responder_datasets
    ("osis_assessment", "motor", "9", _WITHOUT_CT001),  # the OSIS derivation
    ("escalation_decision", "outcomes", "'zz'", ()),  # the DLT replay
]


@pytest.mark.parametrize(
    ("table", "field", "value", "after"), PLANTED, ids=[f"{t}.{f}" for t, f, _, _ in PLANTED]
)
def test_each_engine_call_names_a_refused_stored_record_by_its_id(
    table: str, field: str, value: str, after: tuple[str, ...], example_sqlite: str, tmp_path: Path
) -> None:
    """D-19.542: every wrapped engine call on stored rows; removing a wrapper names "<form>, row N" (a row
    of the engine's frame, another record after CT-001's rows are left out) or no record."""
    _store_value(
        example_sqlite, f"UPDATE {table} SET {field} = {value} WHERE id = (SELECT max(id) FROM {table})"
    )
    record_id = _one(example_sqlite, f"SELECT max(id) FROM {table}")
    for statement in after:
        _store_value(example_sqlite, statement)
    result = _analyse(example_sqlite, tmp_path / "out")
    assert result.exit_code == 2, result.stderr
    line = next((line for line in result.stderr.splitlines() if f", {field}:" in line), result.stderr)
    assert f"{table} record {record_id}, {field}: " in line, result.stderr
    said = line.split(f"{field}: ", 1)[1].split("; allowed", 1)[0]  # the message, not the allowed values
    assert " row " not in line and "(got" not in line and value.strip("'") not in said


def test_the_osis_derivation_names_a_refused_stored_record_by_its_id(example_sqlite: str) -> None:
    """D-19.542: the OSIS change's own engine call (`analyse` meets an OSIS score first in the responders,
    so this calls the dataset itself)."""
    import datetime as dt

    from cartrial.analysis import study_populations
    from cartrial.analysis.efficacy import osis_dataset
    from cartrial.store.snapshot import read_snapshot

    table, field = "osis_assessment", "motor"
    _store_value(example_sqlite, f"UPDATE {table} SET {field} = 9 WHERE id = (SELECT max(id) FROM {table})")
    record_id = _one(example_sqlite, f"SELECT max(id) FROM {table}")
    for statement in _WITHOUT_CT001:
        _store_value(example_sqlite, statement)
    cutoff = dt.date(2022, 3, 20)
    snapshot = read_snapshot(example_sqlite, cutoff)
    populations = study_populations(snapshot.tables, snapshot.protocol, cutoff).populations
    with pytest.raises(InputError) as caught:
        osis_dataset(snapshot.tables, cutoff, populations)
    (problem,) = caught.value.problems
    assert str(problem).startswith(f"{table} record {record_id}, {field}: out of range"), str(problem)
    assert problem.row is None and problem.value is None


def test_the_last_contact_names_a_forms_own_date_column(example_sqlite: str) -> None:
    """D-19.542: the last contact hands the engine each form's date as ``assessed_at``; a refusal named
    "lab_result record N, assessed_at", a field the table lacks. (A cell the snapshot would refuse itself,
    D-19.543, put in the read tables to reach the engine.)"""
    import datetime as dt

    from cartrial.analysis.populations import last_contact
    from cartrial.store.snapshot import read_snapshot

    cutoff = dt.date(2022, 3, 20)
    tables = dict(read_snapshot(example_sqlite, cutoff).tables)
    labs = tables["labs"].copy()
    labs.loc[labs.index[-1], "collected_at"] = "zzzz"
    tables["labs"] = labs
    record_id = labs["record_id"].iloc[-1]
    with pytest.raises(InputError) as caught:
        last_contact(tables, sorted(set(tables["infusions"]["subject_id"])), cutoff)
    text = str(caught.value)
    assert f"lab_result record {record_id}, collected_at: " in text, text
    assert "assessed_at" not in text and "zzzz" not in text


def test_a_stored_value_without_its_record_is_named_by_the_same_table_either_way() -> None:
    """A table-and-field-only problem names the store table (`db records` takes it, a record's name uses
    it) whether one value (`stored_record`) or a frame's row (`stored_rows`) had no record id."""
    import pandas as pd

    from cartrial.analysis.model import stored_record, stored_rows

    with pytest.raises(InputError) as one, stored_record("pd_sample", None, "aqp4_igg_titre"):
        raise InputError(Problem("dilution not in the assay series", value=SENTINEL))
    no_ids = pd.DataFrame({"subject_id": ["S1"], "aqp4_igg_titre": ["1:7"]})
    with pytest.raises(InputError) as row, stored_rows({"pd_samples": no_ids}):
        raise InputError(
            Problem(
                "dilution not in the assay series",
                file="pd_samples",
                row=2,
                field="aqp4_igg_titre",
                value=SENTINEL,
            )
        )
    for caught in (one, row):
        (problem,) = caught.value.problems
        assert (problem.file, problem.record, problem.row, problem.value) == ("pd_sample", None, None, None)
    assert str(one.value) == "pd_sample, aqp4_igg_titre: dilution not in the assay series"
