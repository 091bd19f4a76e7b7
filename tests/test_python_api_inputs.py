"""The public Python API as a notebook user calls it (decisions D-19.65 to D-19.69): what a user plausibly
passes wrongly — a `Path` for a URL, a numpy scalar for a number, a `str` or a `datetime` for a cut-off,
None, the wrong object — is either taken for what it plainly means or refused by a `CartrialError` naming
the argument, never a raw TypeError/AttributeError/KeyError from inside nor a silently wrong result."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cartrial import analysis, cdisc, report, simulation, store
from cartrial.errors import CartrialError, InputError
from cartrial.store.snapshot import StudySnapshot, read_snapshot

CUTOFF = dt.date(2025, 1, 1)  # after the example's last record, not after today (D-19.380)


def _path_of(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def _field_problem(error: pytest.ExceptionInfo[InputError], field: str) -> Any:
    problems = [p for p in error.value.problems if p.field == field]
    assert problems, str(error.value)
    return problems[0]


@pytest.fixture(scope="module")
def snapshot(example_sqlite_template: Path) -> StudySnapshot:
    return read_snapshot(f"sqlite:///{example_sqlite_template}", CUTOFF)


# -- store: the database argument (D-19.66) --------------------------------------------------------------


def test_a_path_names_a_sqlite_database_everywhere_a_url_is_taken(example_sqlite: str) -> None:
    path = _path_of(example_sqlite)
    assert store.resolve_url(path) == f"sqlite:///{path}"  # was: AttributeError 'startswith'
    engine = store.connect(path)
    assert store.connect(engine) is engine  # an Engine is taken as it is
    assert store.StudyService(path).as_user("admin").table_counts()["subject"] > 0
    assert read_snapshot(path, CUTOFF).cutoff == CUTOFF  # was: TypeError
    with pytest.raises(InputError) as error:
        store.connect(12)  # type: ignore[arg-type]
    assert "url" in str(error.value) and "int" in str(error.value)
    with pytest.raises(InputError, match="url_or_service"):
        read_snapshot(12, CUTOFF)


def test_derive_takes_the_database_url_as_well_as_a_service(example_sqlite: str) -> None:
    result = store.derive_crs_grades(example_sqlite, "admin")  # type: ignore[arg-type]  # was AttributeError
    assert result.inserted > 0


# -- store: record ids, values and filters (D-19.65) --------------------------------------------------------


def test_numpy_scalars_are_taken_as_the_numbers_they_hold(example_sqlite: str) -> None:
    user = store.StudyService(example_sqlite).as_user("admin")
    by_int = user.find_records("infusion", dose_level=1)
    assert by_int
    assert user.find_records("infusion", dose_level=np.int64(1)) == by_int  # matched nothing before
    record_id = by_int[0]["id"]
    assert user.get_record("infusion", np.int64(record_id))["id"] == record_id  # "no record" before
    subject = user.get_record("subject", 1)
    row = {
        "subject_id": "NB-001",
        "site_id": subject["site_id"],
        "screening_number": "S-NB-001",
        "consent_date": "2021-01-01",
        "sex": subject["sex"],
        "birth_year": np.int64(1980),  # was stored as 8 bytes and refused as "not a number"
    }
    new_id = user.insert_record("subject", pd.Series(row))
    assert user.get_record("subject", new_id)["birth_year"] == 1980
    assert len(user.audit_rows(since_id=np.int64(0), limit=np.int64(2))) == 2


@pytest.mark.parametrize("record_id", ["1", 1.0, None, True])
def test_a_record_id_that_is_not_a_whole_number_is_refused_by_name(
    example_sqlite: str, record_id: Any
) -> None:
    user = store.StudyService(example_sqlite).as_user("admin")
    with pytest.raises(InputError) as error:
        user.get_record("subject", record_id)
    assert "whole number" in _field_problem(error, "id").message


def test_bad_record_values_and_rows_are_refused_by_name(example_sqlite: str) -> None:
    user = store.StudyService(example_sqlite).as_user("admin")
    with pytest.raises(InputError, match="mapping of column to value, not a NoneType"):
        user.insert_record("site", None)  # type: ignore[arg-type]  # was TypeError
    frame = pd.DataFrame({"site_id": ["NB1"]})
    with pytest.raises(InputError, match=r"to_dict\(\"records\"\)"), user.transaction("api") as tx:
        tx.upsert_rows("site", frame)  # type: ignore[arg-type]  # was "truth value … ambiguous"
    with pytest.raises(InputError, match="site"):
        user.add_site(None)  # type: ignore[arg-type]  # was AttributeError 'strip'


def test_audit_reads_refuse_arguments_that_would_read_the_wrong_rows(example_sqlite: str) -> None:
    user = store.StudyService(example_sqlite).as_user("admin")
    with pytest.raises(InputError, match="subject_id"):
        user.audit_history(None)  # type: ignore[arg-type]  # returned every row about no subject
    with pytest.raises(InputError, match="limit"):
        user.audit_rows(limit=-1)  # SQLite read LIMIT -1 as "no limit"
    with pytest.raises(InputError, match="since_id"):
        user.audit_rows(since_id="0")  # type: ignore[arg-type]


def test_an_unknown_snapshot_table_names_the_tables(snapshot: StudySnapshot) -> None:
    with pytest.raises(InputError) as error:
        snapshot.table("subject")  # was KeyError
    assert "subjects" in str(_field_problem(error, "table").allowed)


# -- cut-offs (D-19.67) ------------------------------------------------------------------------------------


def test_an_iso_text_cutoff_is_the_date_it_names(
    example_sqlite_template: Path, snapshot: StudySnapshot
) -> None:
    url = f"sqlite:///{example_sqlite_template}"
    assert read_snapshot(url, "2025-01-01").cutoff == CUTOFF
    by_text = analysis.study_populations(snapshot.tables, snapshot.protocol, "2025-01-01")  # was TypeError
    by_date = analysis.study_populations(snapshot.tables, snapshot.protocol, CUTOFF)
    assert by_text.populations == by_date.populations
    assert dataclasses.replace(snapshot, cutoff="2025-01-01").cutoff == CUTOFF


@pytest.mark.parametrize(
    "cutoff",
    [dt.datetime(2031, 1, 1), pd.Timestamp("2031-01-01"), np.datetime64("2031-01-01"), None, "01/01/2031"],
)
def test_a_cutoff_that_is_not_a_day_is_refused_by_name(snapshot: StudySnapshot, cutoff: Any) -> None:
    with pytest.raises(InputError) as error:
        analysis.study_populations(snapshot.tables, snapshot.protocol, cutoff)  # TypeError inside before
    assert "YYYY-MM-DD" in str(_field_problem(error, "cutoff").allowed)
    with pytest.raises(InputError):
        dataclasses.replace(snapshot, cutoff=cutoff)


def test_a_data_lock_takes_its_cutoff_by_the_same_rule(example_sqlite: str) -> None:
    user = store.StudyService(example_sqlite).as_user("admin")
    for wrong in (dt.datetime(2021, 6, 1), None):
        with pytest.raises(InputError, match="cutoff"):  # TypeError / SQLAlchemy ArgumentError before
            user.lock(wrong, "interim")  # type: ignore[arg-type]
    assert user.lock("2021-06-01", "interim").cutoff == dt.date(2021, 6, 1)  # TypeError before


# -- analysis arguments (D-19.67, D-19.68) -------------------------------------------------------------------


def test_analyse_and_populations_refuse_what_is_not_a_snapshot(snapshot: StudySnapshot) -> None:
    for wrong in (None, {"tables": {}}):
        with pytest.raises(InputError, match="not a study snapshot"):
            analysis.analyse(wrong)  # type: ignore[arg-type]  # was AttributeError
    partial = {k: v for k, v in snapshot.tables.items() if k != "crs_assessments"}
    with pytest.raises(InputError) as error:
        analysis.study_populations(partial, snapshot.protocol, CUTOFF)  # was KeyError
    assert _field_problem(error, "tables").value == "crs_assessments"


def test_proportion_takes_numpy_counts_and_refuses_impossible_ones() -> None:
    p = analysis.proportion(np.int64(3), np.int64(10))
    assert (type(p.k), type(p.n), p.percent) == (int, int, 30.0)
    with pytest.raises(InputError, match="k is more than n"):
        analysis.proportion(3, 2)  # was ValueError
    with pytest.raises(InputError, match=r"0\.95, not 95"):
        analysis.proportion(1, 3, confidence=95)  # was scipy's ValueError
    for wrong in (1.5, float("nan"), None, True):
        with pytest.raises(InputError, match="not a count"):
            analysis.proportion(wrong, 3)  # type: ignore[arg-type]


def test_geometric_summary_refuses_what_is_not_numbers() -> None:
    assert analysis.geometric_summary(pd.Series([1.0, np.nan, 4.0]))["n"] == 2  # NaN left out, as documented
    with pytest.raises(InputError) as error:
        analysis.geometric_summary(pd.Series(["1", "2"]))  # was TypeError
    assert _field_problem(error, "values[0]").value == "1"
    with pytest.raises(InputError, match="not a collection of numbers"):
        analysis.geometric_summary(None)  # type: ignore[arg-type]


# -- files and objects of report, cdisc, simulation (D-19.69) --------------------------------------------


def test_a_str_path_is_taken_and_none_refused(tmp_path: Path) -> None:
    with pytest.raises(CartrialError, match="no dataset files"):  # the folder was read: AttributeError before
        cdisc.check_folder(str(tmp_path))  # type: ignore[arg-type]
    with pytest.raises(InputError, match="cannot read the population fit"):
        report.read_popfit(str(tmp_path / "missing"))  # type: ignore[arg-type]  # was AttributeError
    for call in (cdisc.check_folder, report.read_popfit, simulation.load_scenario):
        with pytest.raises(InputError, match="not a file path"):
            call(None)  # type: ignore[operator]


def test_report_files_refuses_wrong_arguments_by_name(snapshot: StudySnapshot) -> None:
    result = analysis.analyse(snapshot)
    with pytest.raises(InputError) as error:
        report.report_files(result, snapshot.tables, generated_at=dt.date(2031, 1, 1), pdf=False)  # type: ignore[arg-type]
    assert _field_problem(error, "generated_at")
    with pytest.raises(InputError, match="analysis"):
        report.report_files(None, snapshot.tables, pdf=False)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="snapshot table"):
        report.report_files(result, {}, pdf=False)  # wrote a report without its listings before


def test_validate_dataset_refuses_what_is_not_a_frame_and_spec() -> None:
    spec = cdisc.dataset_specs()["DM"]
    with pytest.raises(InputError, match="DataFrame and a DatasetSpec"):
        cdisc.validate_dataset(None, spec)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="DataFrame and a DatasetSpec"):
        cdisc.validate_dataset(pd.DataFrame(), "DM")  # type: ignore[arg-type]


def test_simulation_refuses_wrong_objects_and_sizes(snapshot: StudySnapshot) -> None:
    from cartrial import examples

    scenario_file = examples.path("ct103a-nmosd") / "scenario.yaml"
    scenario, _ = simulation.load_scenario(str(scenario_file))
    with pytest.raises(InputError, match="load_scenario"):
        simulation.parse_scenario(scenario_file)  # type: ignore[arg-type]  # was yaml's TypeError
    with pytest.raises(InputError, match="protocol"):
        simulation.prepare(scenario, None)  # type: ignore[arg-type]  # was AttributeError
    prepared = simulation.prepare(scenario, snapshot.protocol, np.int64(1))
    with pytest.raises(CartrialError, match="batch_size"):
        simulation.simulate_trials(prepared, 5, batch_size=0)  # was range()'s ValueError
    batch = simulation.simulate_trials(prepared, np.int64(5))
    with pytest.raises(InputError, match="one label per dose level"):
        simulation.summarise(batch, labels=["a"])  # was IndexError


def test_the_analysis_knows_every_snapshot_table() -> None:
    from cartrial.analysis.core import SNAPSHOT_TABLES
    from cartrial.store.snapshot import SNAPSHOT_TABLES as STORED

    assert tuple(STORED) == SNAPSHOT_TABLES
