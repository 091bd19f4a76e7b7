"""Review of branch floatread (D-19.1099, D-19.1100): a JSON text that is no JSON document is refused by its
record as a NaN is; the bulk write refuses a NaN or an infinity; whole-number and date keys are batched."""

from __future__ import annotations

import datetime as dt
import math
import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ..conftest import EXAMPLE_CUTOFF, run_cartrial


def test_a_json_text_that_is_no_json_is_refused_by_its_record(example_sqlite: str) -> None:
    """Before: ``'[1,'`` in ``treatment_history`` gave a raw ``json.JSONDecodeError`` from `get_record` and
    the snapshot, and a traceback from ``db records`` (D-19.1099)."""
    from cartrial.errors import StoredValueError
    from cartrial.store import StudyService
    from cartrial.store.snapshot import read_snapshot

    connection = sqlite3.connect(example_sqlite.removeprefix("sqlite:///"))
    with connection:
        first = connection.execute("SELECT min(id) FROM subject").fetchone()[0]
        connection.execute("UPDATE subject SET treatment_history = '[1,' WHERE id = ?", (first,))
    connection.close()
    service = StudyService(example_sqlite)
    try:
        with pytest.raises(StoredValueError) as caught:
            service.get_record("admin", "subject", first)
    finally:
        service.engine.dispose()
    where = f"subject record {first}, treatment_history"
    assert where in str(caught.value) and "[1," not in str(caught.value), str(caught.value)
    with pytest.raises(StoredValueError) as snapshot_refusal:
        read_snapshot(example_sqlite, dt.date.fromisoformat(EXAMPLE_CUTOFF))
    assert [(p.record, p.field) for p in snapshot_refusal.value.problems] == [
        (f"subject record {first}", "treatment_history")
    ]
    listed = run_cartrial("db", "records", "subject", "--user", "admin", "--url", example_sqlite)
    assert listed.exit_code == 1, listed.stdout + listed.stderr
    assert where in listed.stderr and "Traceback" not in listed.stderr and "[1," not in listed.stderr
    verified = run_cartrial("audit", "verify", "--url", example_sqlite)
    assert verified.exit_code != 0 and "Traceback" not in verified.stderr, verified.stdout + verified.stderr
    repaired = run_cartrial(
        "db", "edit", "subject", first, "--set", "treatment_history=[]", "--reason", "source checked",
        "--expected-version", "1", "--user", "admin", "--url", example_sqlite,
    )  # fmt: skip
    assert repaired.exit_code == 0, repaired.stdout + repaired.stderr


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("value_number", math.nan),
        ("value_number", math.inf),
        ("value_number", -math.inf),
        ("options", {"a": math.nan}),
        ("options", {"a": [1.0, math.inf]}),
    ],
)
def test_the_bulk_write_refuses_a_non_finite_number(example_sqlite: str, column: str, value: object) -> None:
    """Before: `upsert_rows` (derived values: computed rows, no form checks) inserted a NaN, which every read
    then refused as "changed directly in the database" (D-19.1100). Refused, value-free, nothing written."""
    from cartrial.errors import InputError
    from cartrial.store import StudyService
    from cartrial.store.bulk import upsert_rows

    row = {
        "engine": "test",
        "engine_version": "1",
        "source_table": "subject",
        "source_record_id": 0,
        "parameter": "p",
        "value_number": 1.0,
        "options": {"a": 1.0},
        column: value,
    }
    service = StudyService(example_sqlite)
    try:
        with pytest.raises(InputError) as caught, service.transaction("admin", "test") as tx:
            upsert_rows(tx, "derived_value", [row])
        assert not [r for r in service.find_records("admin", "derived_value") if r["engine"] == "test"]
    finally:
        service.engine.dispose()
    text = str(caught.value)
    assert "derived_value" in text and column in text and "finite" in text, text
    assert "nan" not in text.lower().replace("non-finite", "") and "inf" not in text.replace(
        "infinity", ""
    ), text


def test_the_column_wise_write_refuses_a_non_finite_number(example_sqlite: str) -> None:
    """The column-wise write (`upsert_columns`) takes the same rule (D-19.1100)."""
    from cartrial.errors import InputError
    from cartrial.store import StudyService
    from cartrial.store.bulk import upsert_columns

    columns = {
        "engine": ["test"],
        "engine_version": ["1"],
        "source_table": ["subject"],
        "source_record_id": [0],
        "parameter": ["p"],
        "value_number": [math.nan],
    }
    service = StudyService(example_sqlite)
    try:
        with pytest.raises(InputError), service.transaction("admin", "test") as tx:
            upsert_columns(tx, "derived_value", columns)
    finally:
        service.engine.dispose()


def test_whole_number_and_date_keys_are_plain_keys() -> None:
    """Before: `StoredInteger().python_type` was `object`, so `find_by_keys` looked up escalation
    decisions and derived values one query per row (D-19.1100)."""
    from cartrial.store.models import DerivedValue, EscalationDecision, Infusion
    from cartrial.store.writes import _plain_key

    assert _plain_key(EscalationDecision.__table__.c.cohort, 1)
    assert _plain_key(DerivedValue.__table__.c.source_record_id, 0)
    assert not _plain_key(EscalationDecision.__table__.c.cohort, True)
    assert not _plain_key(EscalationDecision.__table__.c.cohort, "1")
    assert _plain_key(Infusion.__table__.c.leukapheresis_on, dt.date(2024, 1, 2))
    assert not _plain_key(Infusion.__table__.c.leukapheresis_on, dt.datetime(2024, 1, 2))


@given(
    st.lists(
        st.one_of(
            st.none(),
            st.integers(min_value=-(2**40), max_value=2**40),
            st.floats(allow_nan=True, allow_infinity=True),
            st.text(max_size=3),
            st.booleans(),
        ),
        max_size=12,
    )
)
def test_the_vectorised_integer_rule_is_the_per_value_rule(values: list[object]) -> None:
    """`unreadable_integer_cells` (vectorised) is `not readable_integer` value by value: only None or an
    ``int`` from −2³¹ to 2³¹−1 (PostgreSQL INTEGER) is readable (D-19.1097)."""
    from cartrial.store.stored_dates import readable_integer, unreadable_integer_cells

    expected = [not (v is None or (type(v) is int and -(2**31) <= v <= 2**31 - 1)) for v in values]
    assert list(unreadable_integer_cells(values)) == expected
    assert [not readable_integer(v) for v in values] == expected
