"""`cartrial import templates` meeting records a data lock freezes lists each frozen record (D-19.1331,
D-19.1351): the store's record id, table and column, in a table for people and in ``--json`` for machines,
never a record's values; exit 2, the CLI's code of a refused write (a stale version, a lock: tests/store/
test_store_cli.py). Before, the CLI printed the ConflictError's message only and the per-record problems
were lost."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

from cartrial import examples as cartrial_examples
from cartrial.store import StudyService

from ..conftest import Cli

STUDY = cartrial_examples.path("ct103a-nmosd") / "study"


def _frozen_change(example_sqlite: str, tmp_path: Path, rows: int) -> tuple[Path, list[dict[str, str]]]:
    """The example's templates with the temperature of the first `rows` CRS assessments changed, the study
    locked at 2030-01-01 (every record frozen); the changed rows (as read from the file)."""
    import csv

    folder = tmp_path / "study"
    shutil.copytree(STUDY, folder)
    path = folder / "crs_assessments.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = list(reader.fieldnames or [])
        records = list(reader)
    for record in records[:rows]:
        record["temperature_c"] = "38.1" if record["temperature_c"] != "38.1" else "38.2"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    service = StudyService(example_sqlite)
    service.as_user("admin").lock(dt.date(2030, 1, 1), "interim analysis")
    service.engine.dispose()
    return folder, records[:rows]


def _stored_ids(example_sqlite: str, changed: list[dict[str, str]]) -> list[int]:
    service = StudyService(example_sqlite)
    try:
        stored = service.find_records("admin", "crs_assessment")
    finally:
        service.engine.dispose()
    wanted = {(r["subject_id"], r["assessed_at"][:16]) for r in changed}
    return sorted(
        int(r["id"])
        for r in stored
        if (str(r["subject_id"]), str(r["assessed_at"]).replace(" ", "T")[:16]) in wanted
    )


def test_the_import_lists_each_frozen_record_for_people(
    example_sqlite: str, tmp_path: Path, cli: Cli
) -> None:
    folder, changed = _frozen_change(example_sqlite, tmp_path, 2)
    ids = _stored_ids(example_sqlite, changed)
    assert len(ids) == 2
    code, out, err = cli(
        "import", "templates", folder, "--user", "admin", "--url", example_sqlite, "--reason", "re-import"
    )
    assert code == 2, (out, err)
    assert "frozen by data lock #1" in err, err
    for record_id in ids:
        assert f"crs_assessment record {record_id}" in err, err
    assert err.count("crs_assessment.assessed_at") >= 2, err
    assert "2 frozen record(s)" in err, err
    for record in changed:
        assert record["subject_id"] not in out + err
        assert record["assessed_at"][:10] not in out + err


def test_the_import_lists_each_frozen_record_in_its_json(
    example_sqlite: str, tmp_path: Path, cli: Cli
) -> None:
    folder, changed = _frozen_change(example_sqlite, tmp_path, 3)
    ids = _stored_ids(example_sqlite, changed)
    code, out, err = cli(
        "import",
        "templates",
        folder,
        "--user",
        "admin",
        "--url",
        example_sqlite,
        "--reason",
        "re-import",
        "--json",
    )
    assert code == 2, (out, err)
    body = json.loads(out)
    assert "frozen by data lock #1" in body["error"]
    assert body["problems_total"] == 3
    assert [p["record"] for p in body["problems"]] == [f"crs_assessment record {i}" for i in ids]
    assert {p["field"] for p in body["problems"]} == {"crs_assessment.assessed_at"}
    assert all("value" not in p for p in body["problems"]), body["problems"]
    assert all("unlock" in p["allowed"] for p in body["problems"])
    for record in changed:
        assert record["subject_id"] not in out
        assert record["assessed_at"][:10] not in out


def test_the_listed_problems_are_capped_as_the_api_caps_them() -> None:
    """More than `MAX_PROBLEMS_SHOWN` problems: the first that many listed, all counted (the API's rule,
    `cartrial.web.errors.error_body`)."""
    from cartrial.errors import MAX_PROBLEMS_SHOWN, ConflictError, Problem, conflict_problems

    problems = [
        Problem("frozen", record=f"subject record {i}", field="subject.consent_date") for i in range(1500)
    ]
    shown, total = conflict_problems(ConflictError("frozen", problems=problems))
    assert total == 1500
    assert len(shown) == MAX_PROBLEMS_SHOWN == 1000
    assert shown[0] == {
        "record": "subject record 0",
        "field": "subject.consent_date",
        "message": "frozen",
        "allowed": None,
    }
