"""A validated form whose natural keys were found unique, written into a table empty when its write begins,
is written as known new (D-19.1152): its keys are not gathered into the transaction's tracked set (a million
tuples for a large import), and a later write of the same table in the transaction looks the stored keys
up instead — the same results as before."""

from __future__ import annotations

import datetime as dt

import pytest

from cartrial.store import bulk
from cartrial.store.bulk import UpsertResult
from cartrial.store.importing import pipeline
from cartrial.store.importing.forms import FORMS_BY_NAME
from cartrial.store.importing.validation import ValidatedForm


def _form(keys_unique: bool) -> ValidatedForm:
    times = [dt.datetime(2021, 6, 1, hour, tzinfo=dt.UTC) for hour in (8, 9, 10)]
    columns = {
        "subject_id": ["CT-001"] * 3,
        "collected_at": times,
        "analyte": ["wbc"] * 3,
        "value": [4.0, 5.0, 6.0],
    }
    return ValidatedForm(
        spec=FORMS_BY_NAME["labs"],
        file="labs.csv",
        sha256="0" * 64,
        columns=columns,
        n_rows=3,
        present=frozenset(columns),
        keys_unique=keys_unique,
    )


@pytest.mark.parametrize("keys_unique", [True, False])
def test_unique_keys_into_an_empty_table_are_not_tracked(study, keys_unique: bool) -> None:
    user = study.service.as_user("dm")
    form = _form(keys_unique)
    with user.transaction("import", "correction") as tx:
        result, done = pipeline.write_form(tx, form, kind="templates", reason=None)
        assert (result, done) == (UpsertResult(3, 0, 0), 3)
        # before D-19.1152 every form's keys went into the tracked set
        assert ("lab_result" in tx._new_table_keys) is (not keys_unique)
        rows = form.rows()
        rows[1] = {**rows[1], "value": 7.0}
        assert bulk.upsert_rows(tx, "lab_result", rows) == UpsertResult(0, 1, 2)
    stored = sorted(r["value"] for r in user.find_records("lab_result"))
    assert stored == [4.0, 6.0, 7.0]


def test_a_table_holding_records_is_not_written_as_known_new(study) -> None:
    """The second write of the same form (the table holds its records) compares them: all unchanged."""
    user = study.service.as_user("dm")
    with user.transaction("import", "correction") as tx:
        pipeline.write_form(tx, _form(True), kind="templates", reason=None)
        result, _done = pipeline.write_form(tx, _form(True), kind="templates", reason=None)
    assert result == UpsertResult(0, 0, 3)
