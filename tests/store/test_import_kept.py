"""An import never deletes, and never keeps silently: per form in the import, the report states how many
stored records of its table are not in the file, with their record ids (decisions D-19.86).

On a real study database of each backend (the example study imported once, `example_imported`): a row
removed from a file, a natural key corrected (the old record kept next to the new one), the partial and
the all-unchanged re-import, a streamed file, a dry run, the CLI table and JSON. Messages name table and
record id only, never a record's values.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from cartrial import examples
from cartrial.store.database import connect
from cartrial.store.importing import import_redcap, import_templates, pipeline
from cartrial.store.tamper import verify_complete

from .conftest import empty_sqlite_copy, empty_study_copy

sys.path.insert(0, str(Path(__file__).parent))
from partial_import_support import STUDY, edit


@pytest.fixture(params=["sqlite", "postgresql"])
def example_imported(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path]:
    """A study database of each backend holding the example study's templates imported once into the empty
    study (a copy of the session's `import_example_study` template: what importing an unchanged copy of the
    folder first gives), and a copy of that folder for the test to edit and import again."""
    url = empty_study_copy(request, request.param, tmp_path, imported=True)
    folder = tmp_path / "study"
    shutil.copytree(STUDY, folder)
    return url, folder


def _rows(folder: Path, form: str) -> list[list[str]]:
    with (folder / f"{form}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _write(folder: Path, form: str, rows: list[list[str]]) -> None:
    with (folder / f"{form}.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def _drop_row(folder: Path, form: str, row: int) -> list[str]:
    """Remove data row `row` (0-based) of `form`.csv; returns its cells."""
    rows = _rows(folder, form)
    removed = rows.pop(row + 1)
    _write(folder, form, rows)
    return removed


def _id_of(url: str, table: str, where: str, **values: Any) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        found = connection.execute(text(f"SELECT id FROM {table} WHERE {where}"), values).scalar_one()
    engine.dispose()
    return int(found)


def _count(url: str, table: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        n = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return int(n)


def _form(report: Any, name: str) -> Any:
    return next(c for c in report.forms if c.form == name)


def _removed_ae(url: str, folder: Path) -> tuple[int, list[str]]:
    """Remove the first adverse event of the file; returns its stored id and cells."""
    removed = _drop_row(folder, "adverse_events", 0)
    record_id = _id_of(url, "adverse_event", "subject_id = :s AND term = :t", s=removed[0], t=removed[1])
    return record_id, removed


def test_a_row_removed_from_a_file_is_reported_as_kept_with_its_record_id(
    example_imported: tuple[str, Path],
) -> None:
    url, folder = example_imported
    stored = _count(url, "adverse_event")
    record_id, removed = _removed_ae(url, folder)
    report = import_templates(url, folder, "admin")
    ae = _form(report, "adverse_events")
    assert (ae.read, ae.inserted, ae.updated, ae.unchanged) == (stored - 1, 0, 0, stored - 1)
    assert ae.kept == 1 and ae.kept_ids == (record_id,)
    assert _count(url, "adverse_event") == stored  # kept, not deleted
    assert all(c.kept == 0 for c in report.forms if c.form != "adverse_events")
    assert report.totals["kept"] == 1
    [message] = report.kept_messages()
    assert "adverse_event" in message and "adverse_events.csv" in message and str(record_id) in message
    assert "cartrial db delete" in message
    for value in (removed[0], removed[1], removed[4]):  # subject id, term, date: never shown
        assert value not in message
    payload = report.as_dict()
    [form] = [f for f in payload["forms"] if f["form"] == "adverse_events"]
    assert form["kept"] == 1 and list(form["kept_ids"]) == [record_id]
    assert payload["kept"] == [message]
    # the byte-identical re-import (nothing read: the manifests) still says so, with the same id
    again = import_templates(url, folder, "admin")
    assert _form(again, "adverse_events").kept_ids == (record_id,)
    assert again.kept_messages() == [message]
    verification = verify_complete(connect(url))  # the manifests with kept ids replay and verify
    assert verification.ok, verification


def test_a_corrected_timestamp_keeps_the_old_record_next_to_the_new_one(
    example_imported: tuple[str, Path],
) -> None:
    url, folder = example_imported
    rows = _rows(folder, "labs")
    subject, collected, analyte = rows[1][0], rows[1][1], rows[1][2]
    old_id = _id_of(
        url,
        "lab_result",
        "subject_id = :s AND analyte = :a AND collected_at = "
        "(SELECT min(collected_at) FROM lab_result WHERE subject_id = :s AND analyte = :a)",
        s=subject,
        a=analyte,
    )
    edit(folder, "labs", 0, "collected_at", collected.replace("07:00:00", "07:30:00"))
    report = import_templates(url, folder, "admin", reason="time corrected")
    labs = _form(report, "labs")
    assert (labs.inserted, labs.updated, labs.kept, labs.kept_ids) == (1, 0, 1, (old_id,))
    assert report.kept_messages()[0].startswith("kept: 1 record of lab_result not in labs.csv")


def test_partial_reimport_reports_the_kept_records_of_the_files_it_does_not_read(
    example_imported: tuple[str, Path],
) -> None:
    url, folder = example_imported
    record_id, _ = _removed_ae(url, folder)
    import_templates(url, folder, "admin")  # reports the kept record (first test)
    edit(folder, "labs", 3, "value", "7.25")  # labs changed: adverse_events.csv is left out
    report = import_templates(url, folder, "admin", reason="lab value corrected")
    ae = _form(report, "adverse_events")
    assert ae.unchanged == ae.read and (ae.kept, ae.kept_ids) == (1, (record_id,))
    assert _form(report, "labs").kept == 0


def test_a_form_not_in_the_import_says_nothing(example_imported: tuple[str, Path], tmp_path: Path) -> None:
    url, folder = example_imported
    only = tmp_path / "only"
    only.mkdir()
    for name in ("sites", "subjects"):
        (only / f"{name}.csv").write_bytes((folder / f"{name}.csv").read_bytes())
    report = import_templates(url, only, "admin")
    assert {c.form for c in report.forms} == {"sites", "subjects"}
    assert report.totals["kept"] == 0 and report.kept_messages() == []


def test_dry_run_lists_the_records_the_import_would_keep(example_imported: tuple[str, Path]) -> None:
    url, folder = example_imported
    record_id, _ = _removed_ae(url, folder)
    report = import_templates(url, folder, "admin", dry_run=True)
    ae = _form(report, "adverse_events")
    assert (ae.kept, ae.kept_ids) == (1, (record_id,))
    assert all(c.kept == 0 for c in report.forms if c.form != "adverse_events")


@pytest.mark.parametrize("dry_run", [False, True])
def test_streamed_file_reports_its_kept_records(example_imported: tuple[str, Path], dry_run: bool) -> None:
    url, folder = example_imported
    record_id, _ = _removed_ae(url, folder)
    report = import_templates(url, folder, "admin", dry_run=dry_run, stream_bytes=1, chunk_rows=7)
    ae = _form(report, "adverse_events")
    assert (ae.kept, ae.kept_ids) == (1, (record_id,))
    assert all(c.kept == 0 for c in report.forms if c.form != "adverse_events")


def test_kept_ids_listed_up_to_the_limit_the_count_exact(
    example_imported: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, folder = example_imported
    rows = _rows(folder, "labs")
    _write(folder, "labs", rows[:1] + rows[6:])
    monkeypatch.setattr(pipeline, "KEPT_LISTED", 2)
    labs = _form(import_templates(url, folder, "admin"), "labs")
    assert labs.kept == 5 and len(labs.kept_ids) == 2
    assert "the first 2" in (labs.kept_message() or "")


def test_cli_table_and_json_state_the_kept_records(
    tmp_path: Path, password_sqlite_template: Path, cli: Any
) -> None:
    url = empty_sqlite_copy(password_sqlite_template, tmp_path / "study.db")
    folder = tmp_path / "study"
    shutil.copytree(STUDY, folder)
    import_templates(url, folder, "admin")
    record_id, _ = _removed_ae(url, folder)
    text_run = cli("import", "templates", str(folder), "--user", "admin", "--url", url)
    assert text_run.exit_code == 0, text_run.stderr
    assert "kept: 1 record of adverse_event not in adverse_events.csv" in " ".join(text_run.stdout.split())
    json_run = cli("import", "templates", str(folder), "--user", "admin", "--url", url, "--json")
    payload = json.loads(json_run.stdout)
    assert payload["totals"]["kept"] == 1
    assert [f["kept_ids"] for f in payload["forms"] if f["form"] == "adverse_events"] == [[record_id]]


def test_redcap_import_reports_the_records_its_export_no_longer_holds(
    example_imported: tuple[str, Path], tmp_path: Path
) -> None:
    url, _ = example_imported
    redcap = tmp_path / "redcap"
    shutil.copytree(examples.path("ct103a-nmosd") / "redcap", redcap)
    lines = (redcap / "records.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    removed = next(i for i in range(len(lines) - 1, 0, -1) if ",adverse_events," in lines[i])
    cells = next(csv.reader([lines[removed]]))
    (redcap / "records.csv").write_text("".join(lines[:removed] + lines[removed + 1 :]), encoding="utf-8")
    header = next(csv.reader([lines[0]]))
    term = cells[header.index("ae_term")] if "ae_term" in header else None
    for dry_run in (True, False):
        report = import_redcap(
            url,
            redcap / "records.csv",
            redcap / "dictionary.csv",
            redcap / "mapping.yaml",
            "admin",
            dry_run=dry_run,
        )
        ae = _form(report, "adverse_events")
        assert ae.kept == 1 and len(ae.kept_ids) == 1, dry_run
        assert all(c.kept == 0 for c in report.forms if c.form != "adverse_events")
        [message] = report.kept_messages()
        assert f"id {ae.kept_ids[0]})" in message and "records.csv" in message
        assert cells[0] not in message and (term is None or term not in message)
