"""An import for a subject with an unreadable stored date (a direct database change) against a single
write of the same record (D-19.728, D-19.796). Verified 2026-12-06: the single write stores the lab and
names the checks it left out (D-19.643–652); the import refused the whole file — the other subject's lab
too — with StoredValueError (recorded as a strict expected failure, D-19.728). The import now takes the
single write's path (one validation path, issue 19 §1): the subject's row is stored with a CHECKS-LEFT-OUT
query naming the record left out; a row whose hard check would compare it with the left-out record is
refused at its file and row, naming the check and the record (the import stays all-or-nothing).
Only SQLite keeps such text: PostgreSQL's typed columns refuse it at the write."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cartrial.errors import InputError, StoredValueError
from cartrial.store import StudyService, connect
from cartrial.store.edit_checks import EDIT_CHECK_USER
from cartrial.store.importing import import_templates

HEADER = "subject_id,collected_at,analyte,value,unit,lln"


def _plant_unreadable_infusion(url: str) -> tuple[str, int]:
    """An unreadable ``infused_at`` on the last infusion (a direct change); returns its subject and id."""
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        with connection:
            record_id, subject = connection.execute(
                "SELECT id, subject_id FROM infusion ORDER BY id DESC LIMIT 1"
            ).fetchone()
            connection.execute("UPDATE infusion SET infused_at = 'zzzz' WHERE id = ?", (record_id,))
    finally:
        connection.close()
    return str(subject), int(record_id)


def _left_out_queries(service: StudyService, table: str, record_id: int) -> list[str]:
    """The texts of the open CHECKS-LEFT-OUT queries on record `record_id` of `table` (D-19.652)."""
    return [
        str(q["text"])
        for q in service.find_records("admin", "data_query")
        if q["raised_by"] == EDIT_CHECK_USER
        and q["table_name"] == table
        and q["record_id"] == record_id
        and q["status"] == "open"
        and "CHECKS-LEFT-OUT" in str(q["text"])
    ]


def test_a_single_write_for_the_subject_is_stored(example_sqlite: str) -> None:
    subject, infusion = _plant_unreadable_infusion(example_sqlite)
    service = StudyService(connect(example_sqlite))
    lab = {
        "subject_id": subject,
        "collected_at": "2021-09-09T07:00:00Z",
        "analyte": "platelets",
        "value": 100,
        "unit": "10^9/L",
        "lln": 125,
    }
    record_id = service.insert_record("admin", "lab_result", lab)
    assert service.get_record("admin", "lab_result", record_id)["subject_id"] == subject
    # the checks it left out are named on the written record (not silently skipped, D-19.652)
    (text,) = _left_out_queries(service, "lab_result", record_id)
    assert f"infusion record {infusion}, infused_at" in text


@pytest.mark.parametrize("stream_bytes", [None, 100], ids=["whole", "streamed"])
def test_an_import_for_the_subject_stores_every_row_as_a_single_write_would(
    example_sqlite: str, tmp_path: Path, stream_bytes: int | None
) -> None:
    subject, infusion = _plant_unreadable_infusion(example_sqlite)
    other = "CT-001" if subject != "CT-001" else "CT-002"
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "labs.csv").write_text(
        f"{HEADER}\n{subject},2021-09-08T07:00:00Z,neutrophils,0.45,10^9/L,1.8\n"
        f"{other},2021-09-08T07:00:00Z,neutrophils,0.45,10^9/L,1.8\n",
        "utf-8",
    )
    report = import_templates(example_sqlite, folder, "admin", stream_bytes=stream_bytes)
    assert report.totals["inserted"] == 2
    # as the single write: the subject's row names the checks it left out (a partial change writing the
    # rows with their checks silently not run must not pass, D-19.728)
    service = StudyService(connect(example_sqlite))
    (lab,) = [
        r
        for r in service.find_records("admin", "lab_result", subject_id=subject)
        if r["analyte"] == "neutrophils" and str(r["collected_at"]).startswith("2021-09-08")
    ]
    (text,) = _left_out_queries(service, "lab_result", int(lab["id"]))
    assert f"infusion record {infusion}, infused_at" in text


@pytest.mark.parametrize("stream_bytes", [None, 100], ids=["whole", "streamed"])
def test_an_imported_row_whose_hard_check_needs_the_left_out_record_is_refused_at_its_row(
    example_sqlite: str, tmp_path: Path, stream_bytes: int | None
) -> None:
    """As the single write (D-19.651): a second infusion of the subject is compared by INFUSION-ONCE with
    the unreadable infusion; the import is refused (all or nothing) naming the file, the row, the check and
    the record to repair, never the stored value; nothing is written."""
    subject, infusion = _plant_unreadable_infusion(example_sqlite)
    service = StudyService(connect(example_sqlite))
    before = service.table_counts()
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "infusions.csv").write_text(
        "subject_id,infused_at,dose_level,weight_kg,cells_per_kg,total_car_t_cells\n"
        f"{subject},2022-03-01T02:00:00Z,1,58.0,500000,29000000\n",
        "utf-8",
    )
    with pytest.raises(InputError) as refused:
        import_templates(example_sqlite, folder, "admin", stream_bytes=stream_bytes)
    assert not isinstance(refused.value, StoredValueError)  # located at the row, not the whole read
    (problem,) = [p for p in refused.value.problems if "INFUSION-ONCE" in p.message]
    assert (Path(str(problem.file)).name, problem.row) == ("infusions.csv", 2)
    assert "INFUSION-ONCE" in str(problem) and f"infusion record {infusion}, infused_at" in str(problem)
    assert "zzzz" not in str(refused.value)
    assert service.table_counts() == before


EXAMPLE = Path(__file__).resolve().parents[2] / "src/cartrial/examples/ct103a-nmosd/study"


def _open_left_out(service: StudyService) -> list[dict[str, object]]:
    return [
        q
        for q in service.find_records("admin", "data_query")
        if q["raised_by"] == EDIT_CHECK_USER and q["status"] == "open" and "CHECKS-LEFT-OUT" in str(q["text"])
    ]


@pytest.mark.parametrize("stream_bytes", [None, 100], ids=["whole", "streamed"])
def test_restating_the_subjects_unchanged_row_is_no_new_record(
    example_sqlite: str, tmp_path: Path, stream_bytes: int | None
) -> None:
    """Review of D-19.796: the example's subjects.csv imported again, the subject's row unchanged, was
    refused whole (INFUSION-BEFORE-CONSENT "compare this subject row with infusion record …") as if the
    row were a new subject. An unchanged stored record is not written: nothing to check, no query."""
    subject, _ = _plant_unreadable_infusion(example_sqlite)
    folder = tmp_path / "in"
    folder.mkdir()
    # another subject's weight changed: the file is read again (a byte-identical one is not)
    text = (EXAMPLE / "subjects.csv").read_text("utf-8")
    assert subject != "CT-001" and "\nCT-001,TJH,S-001,2021-04-01,F,1972,58.0," in text
    text = text.replace(
        "\nCT-001,TJH,S-001,2021-04-01,F,1972,58.0,", "\nCT-001,TJH,S-001,2021-04-01,F,1972,58.5,"
    )
    (folder / "subjects.csv").write_text(text, "utf-8")
    report = import_templates(example_sqlite, folder, "admin", stream_bytes=stream_bytes)
    assert (report.totals["inserted"], report.totals["updated"]) == (0, 1)
    assert _open_left_out(StudyService(connect(example_sqlite))) == []


def test_a_changed_stored_record_is_stored_with_a_query_naming_the_hard_checks_skipped(
    example_sqlite: str, tmp_path: Path
) -> None:
    """An edit of the subject's stored row by import is never refused for the record its checks cannot
    read, as a single edit (D-19.651, D-19.652): stored, with a CHECKS-LEFT-OUT query naming the record
    and the hard check skipped (INFUSION-BEFORE-CONSENT compares the consent with the infusion)."""
    subject, infusion = _plant_unreadable_infusion(example_sqlite)
    lines = (EXAMPLE / "subjects.csv").read_text("utf-8").splitlines()
    (row,) = [n for n, line in enumerate(lines) if line.startswith(f"{subject},")]
    cells = lines[row].split(",")
    cells[6] = "70.5"  # weight_kg (the header's 7th column), not the stored one
    lines[row] = ",".join(cells)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "subjects.csv").write_text("\n".join(lines) + "\n", "utf-8")
    import_templates(example_sqlite, folder, "admin")
    service = StudyService(connect(example_sqlite))
    (stored,) = service.find_records("admin", "subject", subject_id=subject)
    assert float(stored["weight_kg"]) == 70.5
    (query,) = _open_left_out(service)
    assert (query["table_name"], query["record_id"]) == ("subject", stored["id"])
    assert f"infusion record {infusion}, infused_at" in str(query["text"])
    assert "INFUSION-BEFORE-CONSENT" in str(query["text"])


@pytest.mark.parametrize("stream_bytes", [None, 100_000], ids=["whole", "streamed"])
def test_a_reimport_with_one_new_row_of_another_subject_raises_no_query(
    example_sqlite: str, tmp_path: Path, stream_bytes: int | None
) -> None:
    """Review of D-19.796: the example's labs.csv with one new CT-001 row (inserted 1, unchanged 690)
    raised a CHECKS-LEFT-OUT query on every unchanged lab of the subject with the unreadable infusion."""
    subject, _ = _plant_unreadable_infusion(example_sqlite)
    assert subject != "CT-001"
    folder = tmp_path / "in"
    folder.mkdir()
    text = (EXAMPLE / "labs.csv").read_text("utf-8")
    (folder / "labs.csv").write_text(
        text + "CT-001,2021-09-08T07:00:00Z,neutrophils,3.1,10^9/L,1.8\n", "utf-8"
    )
    report = import_templates(example_sqlite, folder, "admin", stream_bytes=stream_bytes)
    assert report.totals["inserted"] == 1
    assert _open_left_out(StudyService(connect(example_sqlite))) == []


def test_the_repair_closes_the_import_raised_query_and_a_reimport_does_not_duplicate_it(
    example_sqlite: str, tmp_path: Path
) -> None:
    """The CHECKS-LEFT-OUT query an import raises is one per record: importing the same file again raises
    no second one; repairing the unreadable date (db edit) closes it, as after a single write (D-19.652)."""
    subject, infusion = _plant_unreadable_infusion(example_sqlite)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "labs.csv").write_text(
        f"{HEADER}\n{subject},2021-12-20T07:00:00Z,neutrophils,0.45,10^9/L,1.8\n", "utf-8"
    )
    import_templates(example_sqlite, folder, "admin")
    service = StudyService(connect(example_sqlite))
    (first,) = _open_left_out(service)
    (folder / "labs.csv").write_text(
        f"{HEADER}\n{subject},2021-12-20T07:00:00Z,neutrophils,0.45,10^9/L,1.8\n"
        f"{subject},2021-12-21T07:00:00Z,neutrophils,0.5,10^9/L,1.8\n",
        "utf-8",
    )
    import_templates(example_sqlite, folder, "admin")
    service = StudyService(connect(example_sqlite))
    assert [q["record_id"] for q in _open_left_out(service)].count(first["record_id"]) == 1
    connection = sqlite3.connect(example_sqlite.removeprefix("sqlite:///"))
    try:
        (version,) = connection.execute("SELECT version FROM infusion WHERE id = ?", (infusion,)).fetchone()
    finally:
        connection.close()
    service.update_record(
        "admin",
        "infusion",
        infusion,
        {"infused_at": "2021-12-07T02:10:00Z"},  # the example's infusions.csv value for CT-012
        int(version),
        reason="repair of the unreadable date",
    )
    assert _open_left_out(service) == []
