"""A notebook's own snapshot tables, the store's date values and the simulation's objects, checked where they
enter the Python API (decisions D-19.73, D-19.74, D-19.75): a missing column, a value a column cannot hold,
an unknown table or column name and a wrong argument are `InputError`s naming the table, the column or the
argument and what is allowed — never a KeyError, an AttributeError or a silently different result."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial import examples, simulation, store
from cartrial.analysis import Analysis, analyse, study_populations
from cartrial.analysis.core import SNAPSHOT_TABLES
from cartrial.errors import InputError
from cartrial.store.importing.forms import FORMS_BY_NAME
from cartrial.store.snapshot import RECORD_ID, StudySnapshot, read_snapshot

CUTOFF = dt.date(2025, 1, 1)  # after the example's last record, not after today (D-19.380)
STUDY = examples.path("ct103a-nmosd") / "study"
SETTINGS = settings(
    max_examples=property_examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def snapshot(example_sqlite_template: Path) -> StudySnapshot:
    return read_snapshot(f"sqlite:///{example_sqlite_template}", CUTOFF)


@pytest.fixture(scope="module")
def reference(snapshot: StudySnapshot) -> Analysis:
    return analyse(snapshot)


def _with(snapshot: StudySnapshot, **tables: pd.DataFrame) -> StudySnapshot:
    return dataclasses.replace(snapshot, tables={**snapshot.tables, **tables})


def _csv_tables(**options: Any) -> dict[str, pd.DataFrame]:
    """The example study's template files as a notebook reads them (no record_id)."""
    return {name: pd.read_csv(STUDY / f"{name}.csv", **options) for name in SNAPSHOT_TABLES}


def _same_analysis(one: Analysis, other: Analysis) -> None:
    assert one.datasets.keys() == other.datasets.keys()
    for name in one.datasets:
        # without record_id a record is named by its row; everything else is the same
        a, b = (
            r.datasets[name].table.drop(columns=[RECORD_ID, "source"], errors="ignore") for r in (one, other)
        )
        pd.testing.assert_frame_equal(a.astype(str), b.astype(str), obj=name)
    assert [f.statement for f in one.findings[1:]] == [f.statement for f in other.findings[1:]]


# the required columns, read from the one declaration of the form fields (the templates' FIELDS.md)
REQUIRED = [(name, c.name) for name in SNAPSHOT_TABLES for c in FORMS_BY_NAME[name].columns() if c.required]
ONE_OF = [(name, group) for name in SNAPSHOT_TABLES for group in FORMS_BY_NAME[name].one_of_groups()]


def test_every_required_column_is_in_the_example_snapshot(snapshot: StudySnapshot) -> None:
    assert len(REQUIRED) > len(SNAPSHOT_TABLES)
    for name, column in REQUIRED:
        assert column in snapshot.tables[name].columns, (name, column)


@SETTINGS
@given(data=st.data())
def test_a_missing_required_column_is_named_with_its_table(
    snapshot: StudySnapshot, data: st.DataObject
) -> None:
    name, column = data.draw(st.sampled_from(REQUIRED))
    frame = snapshot.tables[name]
    # keep a random part of the rows (none included): the check is on the columns, not the records
    rows = data.draw(st.lists(st.integers(0, max(len(frame) - 1, 0)), max_size=5, unique=True))
    given_frame = frame.iloc[rows if len(frame) else []].drop(columns=[column])
    with pytest.raises(InputError) as error:  # was KeyError, or a result computed without the column
        analyse(_with(snapshot, **{name: given_frame}))
    problems = [p for p in error.value.problems if p.field == f"{name}.{column}"]
    assert problems, str(error.value)
    assert name in problems[0].message and column in problems[0].message
    assert problems[0].allowed and column in problems[0].allowed
    assert "CT-0" not in str(error.value)  # never a record's value


@pytest.mark.parametrize(("name", "group"), ONE_OF)
def test_a_missing_group_of_columns_is_named(
    snapshot: StudySnapshot, name: str, group: tuple[str, ...]
) -> None:
    with pytest.raises(InputError) as error:
        analyse(_with(snapshot, **{name: snapshot.tables[name].drop(columns=list(group))}))
    assert all(column in str(error.value) for column in group) and name in str(error.value)


def test_a_store_table_name_is_refused_naming_the_snapshot_names(snapshot: StudySnapshot) -> None:
    tables = {("subject" if k == "subjects" else k): v for k, v in snapshot.tables.items()}
    with pytest.raises(InputError) as error:  # was: "snapshot table(s) missing", not naming 'subject'
        study_populations(tables, snapshot.protocol, CUTOFF)
    unknown = [p for p in error.value.problems if p.value == "subject"]
    assert unknown and "'subjects'" in unknown[0].message
    assert unknown[0].allowed and "subjects | infusions" in unknown[0].allowed
    with pytest.raises(InputError, match="unknown snapshot table"):
        analyse(_with(snapshot, extra=snapshot.tables["subjects"]))


def test_an_unknown_column_is_refused_naming_the_allowed_ones(snapshot: StudySnapshot) -> None:
    labs = snapshot.tables["labs"].rename(columns={"uln": "ULN"})  # would have been graded without its ULN
    with pytest.raises(InputError) as error:
        analyse(_with(snapshot, labs=labs))
    assert "ULN" in str(error.value) and "uln" in str(error.value) and "labs" in str(error.value)


def test_the_template_files_read_as_text_give_the_stores_analysis(
    snapshot: StudySnapshot, reference: Analysis
) -> None:
    tables = _csv_tables(dtype=str, keep_default_na=False)
    # rows in any order: the snapshot's order (natural key) is restored
    tables = {name: frame.iloc[::-1] for name, frame in tables.items()}
    _same_analysis(analyse(dataclasses.replace(snapshot, tables=tables)), reference)  # was a ValueError


def test_numbers_and_blanks_as_pandas_reads_them(snapshot: StudySnapshot, reference: Analysis) -> None:
    tables = _csv_tables(dtype=str, keep_default_na=False)
    text_kinds = {"text", "json", "date", "datetime"}
    for name in ("labs", "adverse_events", "pk_samples", "subjects"):
        typed = pd.read_csv(STUDY / f"{name}.csv")  # numbers as int/float, blanks as NaN, true/false as bool
        frame = tables[name].copy()
        for column in typed.columns:
            rule = next(c.rule for c in FORMS_BY_NAME[name].columns() if c.name == column)
            if rule is not None and rule.kind.value not in text_kinds:
                frame[column] = typed[column]
        tables[name] = frame
    _same_analysis(analyse(dataclasses.replace(snapshot, tables=tables)), reference)


def test_a_number_in_a_text_column_is_refused_naming_how_to_read(snapshot: StudySnapshot) -> None:
    tables = _csv_tables()  # pandas' default: "5.0" of grading_scale_version read as 5.0 (was "CTCAE 5")
    with pytest.raises(InputError) as error:
        analyse(dataclasses.replace(snapshot, tables=tables))
    problem = next(p for p in error.value.problems if p.field == "adverse_events.grading_scale_version")
    assert "adverse_events" in problem.message and problem.allowed and "dtype=str" in problem.allowed


@pytest.mark.parametrize(
    ("name", "column", "value", "why"),
    [
        ("crs_assessments", "assessed_at", pd.Timestamp("2021-04-28 10:00"), "without a time zone"),
        ("adverse_events", "started_on", pd.Timestamp("2021-04-28"), "where a date is expected"),
        ("adverse_events", "grade", [3], "list"),
        ("pk_samples", "value", float("inf"), "not finite"),
        ("adverse_events", "grade", 2.5, "not whole"),
    ],
)
def test_a_value_a_column_cannot_hold_is_named_without_the_value(
    snapshot: StudySnapshot, name: str, column: str, value: Any, why: str
) -> None:
    frame = snapshot.tables[name].astype(object)
    frame.loc[0, column] = value
    with pytest.raises(InputError) as error:
        analyse(_with(snapshot, **{name: frame}))
    problem = error.value.problems[0]
    assert problem.field == f"{name}.{column}" and why in problem.message and problem.allowed
    assert problem.value is None and "2021-04-28" not in str(error.value)


def test_zoned_date_times_and_dates_are_taken_as_the_snapshot_writes_them(
    snapshot: StudySnapshot, reference: Analysis
) -> None:
    crs = snapshot.tables["crs_assessments"].copy()
    crs["assessed_at"] = pd.to_datetime(crs["assessed_at"], utc=True).dt.tz_convert("Asia/Shanghai")
    ae = snapshot.tables["adverse_events"].copy()
    ae["started_on"] = [dt.date.fromisoformat(d) for d in ae["started_on"]]
    _same_analysis(analyse(_with(snapshot, crs_assessments=crs, adverse_events=ae)), reference)


def test_an_assessment_form_whose_every_row_is_refused_gives_no_episode(snapshot: StudySnapshot) -> None:
    # no ICE item: every ICANS assessment is refused by the grading (named), none graded (was KeyError)
    icans = snapshot.tables["icans_assessments"].drop(columns=["ice_naming"])
    result = analyse(_with(snapshot, icans_assessments=icans))
    by_subject = result.datasets["crs_icans_by_subject"].table
    assert not by_subject["icans_any"].any() and by_subject["icans_episodes"].sum() == 0
    assert result.datasets["icans_episodes"].table.empty


# -- store: dates and date-times of a record (D-19.74) -------------------------------------------------


def test_a_timestamp_for_a_date_is_refused_naming_the_field(example_sqlite: str) -> None:
    user = store.StudyService(example_sqlite).as_user("admin")
    subject = user.find_records("subject")[0]["subject_id"]
    record = {"subject_id": subject, "term": "Headache", "grade": 1}
    for value in (pd.Timestamp("2021-06-01"), dt.datetime(2021, 6, 1), 20210601):
        with pytest.raises(InputError) as error:  # was "a date-time given where a date is expected" alone
            user.insert_record("adverse_event", {**record, "started_on": value})
        problem = error.value.problems[0]
        assert problem.field and problem.field.endswith(".started_on"), str(error.value)
        assert problem.allowed and "YYYY-MM-DD" in problem.allowed and ".date()" in problem.allowed
    record_id = user.insert_record(
        "adverse_event", {**record, "started_on": pd.Timestamp("2021-06-01").date()}
    )
    assert user.get_record("adverse_event", record_id)["started_on"] == dt.date(2021, 6, 1)
    with pytest.raises(InputError, match="natural-key value missing"):  # NaT is no value (was a SQL error)
        user.insert_record("adverse_event", {**record, "term": "Nausea", "started_on": pd.NaT})


def test_a_zoned_timestamp_is_a_date_time_and_a_naive_one_is_refused(example_sqlite: str) -> None:
    user = store.StudyService(example_sqlite).as_user("admin")
    subject = user.find_records("subject")[0]["subject_id"]
    record = {
        "subject_id": subject,
        "fever_masked": False,
        "vasopressors": 0,
        "vasopressin": False,
        "oxygen": "none",
        "temperature_c": 37.0,
        "hypotension": False,
    }
    moment = pd.Timestamp("2021-06-01 18:00", tz="Asia/Shanghai")
    record_id = user.insert_record("crs_assessment", {**record, "assessed_at": moment})  # was a TypeError
    stored = user.get_record("crs_assessment", record_id)["assessed_at"]
    assert stored == dt.datetime(2021, 6, 1, 10, 0, tzinfo=dt.UTC)
    for value, why in (
        (pd.Timestamp("2021-06-02 10:00"), "time zone"),
        (dt.date(2021, 6, 2), "a date given"),
    ):
        with pytest.raises(InputError) as error:  # was SQLAlchemy's StatementError
            user.insert_record("crs_assessment", {**record, "assessed_at": value})
        problem = error.value.problems[0]
        assert problem.field and problem.field.endswith(".assessed_at") and why in problem.message


# -- simulation arguments (D-19.75) -------------------------------------------------------------------------


def test_the_simulation_api_refuses_wrong_arguments_by_name(snapshot: StudySnapshot) -> None:
    scenario, _ = simulation.load_scenario(examples.path("ct103a-nmosd") / "scenario.yaml")
    prepared = simulation.prepare(scenario, snapshot.protocol, 1)
    batch = simulation.simulate_trials(prepared, 4)
    oc = simulation.summarise(batch)
    calls: list[tuple[str, Any]] = [
        ("title", lambda: simulation.html_summary(oc, batch, None)),  # was AttributeError
        ("oc", lambda: simulation.html_summary(batch, oc, "t")),  # was KeyError
        ("batch", lambda: simulation.html_summary(oc, None, "t")),
        ("batch", lambda: simulation.summarise(None)),
        ("batch", lambda: simulation.trials_table(None)),
        ("settings", lambda: simulation.summarise(batch, settings=[1])),
        ("collected", lambda: simulation.summarise(batch, collected="edss")),  # was: read as its letters
        ("labels", lambda: simulation.summarise(batch, labels=5)),
        ("progress", lambda: simulation.simulate_trials(prepared, 4, progress=5)),
        ("scenario_file", lambda: simulation.prepare(scenario, snapshot.protocol, scenario_file=5)),
        ("source", lambda: simulation.parse_scenario("name: x", None)),
    ]
    for field, call in calls:
        with pytest.raises(InputError) as error:
            call()
        assert [p.field for p in error.value.problems] == [field], str(error.value)
        assert error.value.problems[0].allowed
    assert "<title>t</title>" in simulation.html_summary(oc, batch, "t")
    assert (
        simulation.summarise(batch, collected=np.array(["edss"], dtype=object).tolist()).metrics is not None
    )
