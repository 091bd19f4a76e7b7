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


def test_table_is_empty_answers_by_the_table_alone(study) -> None:
    """`bulk.table_is_empty`: true for a table without records, false once one is written (in the same
    transaction), and for a table holding records from the start (the study's subjects)."""
    user = study.service.as_user("dm")
    with user.transaction("import", "correction") as tx:
        assert bulk.table_is_empty(tx, "lab_result") is True
        assert bulk.table_is_empty(tx, "subject") is False
        pipeline.write_form(tx, _form(False), kind="templates", reason=None)
        assert bulk.table_is_empty(tx, "lab_result") is False


@pytest.fixture
def emptiness_asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tables `bulk.table_is_empty` is asked about (the one check whether a table holds a record)."""
    asked: list[str] = []
    real = bulk.table_is_empty

    def spy(tx: object, table_name: str) -> bool:
        asked.append(table_name)
        return real(tx, table_name)  # type: ignore[arg-type]

    monkeypatch.setattr(bulk, "table_is_empty", spy)
    return asked


@pytest.mark.parametrize("keys_unique", [True, False])
def test_write_form_and_known_keys_ask_the_one_check(
    study, emptiness_asked: list[str], keys_unique: bool
) -> None:
    """`write_form` (a form with unique keys) and `_known_keys` (any other) ask `bulk.table_is_empty`,
    once for the table written (the known-new write needs no tracked set, so `_known_keys` does not ask)."""
    user = study.service.as_user("dm")
    with user.transaction("import", "correction") as tx:
        pipeline.write_form(tx, _form(keys_unique), kind="templates", reason=None)
    assert emptiness_asked == ["lab_result"]


def test_a_streamed_file_asks_the_one_check(tmp_path, request, emptiness_asked: list[str]) -> None:
    """A streamed file (`pipeline._stream_file`) asks `bulk.table_is_empty` whether its table is empty at
    its start (then known new for all its chunks, D-19.13)."""
    from cartrial.store.importing import import_templates, write_synthetic_study

    from .conftest import empty_study_copy

    folder = tmp_path / "study"
    write_synthetic_study(folder, 3)
    url = empty_study_copy(request, "sqlite", tmp_path, "a")
    import_templates(url, folder, "admin", stream_bytes=20_000, chunk_rows=500)
    # labs.csv is streamed (5 chunks): asked once at its start, not by each chunk's write
    assert emptiness_asked.count("lab_result") == 1, emptiness_asked


def test_a_known_new_write_drops_the_tracked_set(study) -> None:
    """A table's keys tracked in the transaction (a first write into the empty table, D-19.934), then a
    known-new write of other keys: the tracked set no longer holds every key the table holds, so
    `_known_keys` drops it (D-19.1152) and a later write of a key the known-new write stored compares it
    with the stored record (an update) instead of taking it as new (a second insert of the same key)."""
    later = dt.datetime(2021, 6, 2, 8, tzinfo=dt.UTC)
    user = study.service.as_user("dm")
    with user.transaction("import", "correction") as tx:
        pipeline.write_form(tx, _form(False), kind="templates", reason=None)  # tracked: 3 keys
        assert "lab_result" in tx._new_table_keys
        new = {"subject_id": ["CT-001"], "collected_at": [later], "analyte": ["wbc"], "value": [8.0]}
        assert bulk.upsert_columns(tx, "lab_result", new, known_new=True) == UpsertResult(1, 0, 0)
        assert "lab_result" not in tx._new_table_keys
        again = {**new, "value": [9.0]}
        assert bulk.upsert_columns(tx, "lab_result", again) == UpsertResult(0, 1, 0)
    stored = sorted(r["value"] for r in user.find_records("lab_result"))
    assert stored == [4.0, 5.0, 6.0, 9.0]
