"""`cartrial.store.tables`: the column helpers every write shares (pure: no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from cartrial.errors import InputError
from cartrial.store.models import STUDY_TABLES
from cartrial.store.tables import (
    coerce,
    columns_of,
    data_columns,
    model_of,
    record_json,
    require_identifier,
    require_reason,
    same_value,
)


def test_iso_text_is_parsed_and_date_times_are_stored_in_utc() -> None:
    column = columns_of(STUDY_TABLES["lab_result"])["collected_at"]
    # 10:00 at UTC+08:00 is 02:00 UTC
    assert coerce(column, "2021-06-01T10:00:00+08:00", "lab") == dt.datetime(2021, 6, 1, 2, tzinfo=dt.UTC)
    with pytest.raises(InputError, match="without a time zone"):
        coerce(column, "2021-06-01T10:00:00", "lab")
    with pytest.raises(InputError, match="without a time zone"):
        coerce(column, dt.datetime(2021, 6, 1, 10), "lab")
    date_column = columns_of(STUDY_TABLES["subject"])["consent_date"]
    assert coerce(date_column, "2021-05-06", "subject") == dt.date(2021, 5, 6)
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        coerce(date_column, "06/05/2021", "subject")


def test_values_compare_as_stored() -> None:
    assert same_value(58, 58.0) and same_value(None, None)
    assert not same_value(None, 0) and not same_value("a", None) and not same_value(58.0, "x")


def test_housekeeping_columns_are_not_data_columns_and_unknown_tables_are_refused() -> None:
    names = data_columns(STUDY_TABLES["infusion"])
    assert "subject_id" in names and not {"id", "version", "created_at", "updated_at"} & set(names)
    with pytest.raises(InputError, match="unknown table"):
        model_of("no_such_table")


def test_reason_and_identifier_checks() -> None:
    assert require_reason("  typo  ", "update") == "typo"
    for blank in (None, "", "   "):
        with pytest.raises(InputError, match="reason is required"):
            require_reason(blank, "update")
    for bad in ("", " TJH", "TJH "):
        with pytest.raises(InputError, match="not a usable site"):
            require_identifier(bad, "site")


def test_password_hashes_never_enter_the_audit_json() -> None:
    document = record_json({"username": "a", "password_hash": "$argon2id$secret"})
    assert '"password_hash":"<set sha256:' in document  # a fingerprint of the hash only (D-19.360)
    assert document != record_json({"username": "a", "password_hash": "$argon2id$other"})
    assert "secret" not in record_json({"password_hash": "$argon2id$secret"})
