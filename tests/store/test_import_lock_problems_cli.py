"""`cartrial import templates` meeting records a data lock freezes lists each frozen record (D-19.1331,
D-19.1351): the store's record id, table and column, in a table for people and in ``--json`` for machines,
never a record's values; exit 2, the CLI's code of a refused write (a stale version, a lock: tests/store/
test_store_cli.py). Before, the CLI printed the ConflictError's message only and the per-record problems
were lost."""

from __future__ import annotations

import datetime as dt
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
    """With ``--json`` a refusal is an error as every other: the ``error:`` line on stderr (with the frozen
    records' table), nothing on stdout, exit 2 (`cartrial.cli.main`; tests/store/
    test_user_accounts_read_by_user_admin.py). It wrote a JSON body on stdout and no error line
    (D-19.1365)."""
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
    assert out == ""
    assert "error: 3 record(s) of crs_assessment" in err and "frozen by data lock #1" in err, err
    assert "3 frozen record(s)" in err
    for record_id in ids:
        assert f"crs_assessment record {record_id}" in err, err
    for record in changed:
        assert record["subject_id"] not in err
        assert record["assessed_at"][:10] not in err


def test_more_than_a_hundred_frozen_records_are_counted_with_the_rest_under_the_table(
    example_sqlite: str, tmp_path: Path, cli: Cli, monkeypatch
) -> None:
    """150 frozen records: the store lists 100 (`MAX_LOCKED_LISTED`) and counts 50 in one more problem.
    The title said "101 frozen record(s)" (it counted problems) while the message said 150, and the "50
    more" was a row with a blank record; now the title has the store's count and the 50 are under the
    table, after its last line (D-19.1364)."""
    monkeypatch.setenv("COLUMNS", "200")
    folder, changed = _frozen_change(example_sqlite, tmp_path, 150)
    ids = _stored_ids(example_sqlite, changed)
    assert len(ids) == 150
    code, out, err = cli(
        "import", "templates", folder, "--user", "admin", "--url", example_sqlite, "--reason", "re-import"
    )
    assert code == 2, (out, err)
    assert "error: 150 record(s) of crs_assessment" in err, err
    assert "150 frozen record(s), the first 100 listed" in err, err
    assert sum(f"crs_assessment record {i} " in err for i in ids) == 100
    assert "50 more record(s) of crs_assessment" in err
    assert err.index("50 more record(s)") > err.rindex("└"), err  # under the table, not a row of it
    assert "101 frozen" not in err


def test_a_new_frozen_record_promises_no_key_it_does_not_show(
    example_sqlite: str, tmp_path: Path, cli: Cli, monkeypatch
) -> None:
    """A new row (no store id) dated before the cut-off: its message said "(its key as given)", which no
    list shows (the CLI lists no value, and the import's file and row are not carried: D-19.1330); now it
    says only what is there (D-19.1366)."""
    import csv

    monkeypatch.setenv("COLUMNS", "250")
    folder, _ = _frozen_change(example_sqlite, tmp_path, 0)
    path = folder / "crs_assessments.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        records = list(csv.DictReader(handle))
    added = dict(records[0])
    added["assessed_at"] = "2021-01-02T03:04:00Z"
    with path.open("a", encoding="utf-8", newline="") as handle:
        csv.DictWriter(handle, fieldnames=list(added), lineterminator="\n").writerow(added)
    code, out, err = cli(
        "import", "templates", folder, "--user", "admin", "--url", example_sqlite, "--reason", "re-import"
    )
    assert code == 2, (out, err)
    assert "1 frozen record(s)" in err, err
    assert "a new crs_assessment record (not stored yet: no record id)" in err, err
    assert "key as given" not in err
    assert "2021-01-02" not in err and added["subject_id"] not in err


def test_the_progress_bar_stops_before_the_refusal_table_prints(monkeypatch) -> None:
    """The refusal's table printed while the progress bar was still live (a garbled first line, the bar
    left under the table): the bar now stops first (D-19.1365)."""
    from rich.console import Console
    from rich.progress import Progress

    import cartrial.store.importing as importing
    from cartrial.commands import import_commands
    from cartrial.errors import ConflictError, Problem

    events: list[str] = []

    class Recording(Console):
        def print(self, *objects: object, **kwargs: object) -> None:
            events.append(f"print {type(objects[0]).__name__}")
            super().print(*objects, **kwargs)  # type: ignore[arg-type]

    original_stop = Progress.stop

    def stop(self: Progress) -> None:
        events.append("bar stopped")
        original_stop(self)

    def refused(*args: object, progress, **kwargs: object) -> None:  # type: ignore[no-untyped-def]
        progress("crs_assessment", 1, 2)
        events.append("bar live")
        raise ConflictError(
            "1 record(s) of crs_assessment are frozen",
            problems=[
                Problem("frozen", record="crs_assessment record 1", field="crs_assessment.assessed_at")
            ],
        )

    monkeypatch.setattr(Progress, "stop", stop)
    monkeypatch.setattr(importing, "import_templates", refused)
    monkeypatch.setattr(import_commands, "acting_user", lambda user, url: "admin")
    monkeypatch.setattr(
        import_commands, "terminal", lambda stderr=False: Recording(force_terminal=True, width=100)
    )
    try:
        import_commands.templates_command(
            Path("study"), user="admin", url="sqlite://", dry_run=False, reason=None, as_json=False
        )
    except ConflictError:
        pass
    else:  # pragma: no cover
        raise AssertionError("not refused")
    assert events.index("bar live") < events.index("bar stopped") < events.index("print Table"), events


def test_the_listed_problems_are_capped_as_the_api_caps_them() -> None:
    """More than `MAX_PROBLEMS_SHOWN` problems: the first that many listed, all counted (the API's rule,
    `cartrial.web.errors.error_body`)."""
    from cartrial.errors import MAX_PROBLEMS_SHOWN, ConflictError, Problem, conflict_problems

    problems = [
        Problem("frozen", record=f"subject record {i}", field="subject.consent_date") for i in range(1500)
    ]
    shown, total, more = conflict_problems(ConflictError("frozen", problems=problems))
    assert total == 1500 and more is None
    assert len(shown) == MAX_PROBLEMS_SHOWN == 1000
    # the API's shape (`Problem.as_dict`), its value None (D-19.1365)
    assert shown[0] == {
        "file": None,
        "line": None,
        "row": None,
        "record": "subject record 0",
        "field": "subject.consent_date",
        "value": None,
        "allowed": None,
        "message": "frozen",
    }


def test_the_listing_counts_the_stores_total_and_keeps_its_more_apart() -> None:
    """A refusal of 150 records listing 100 and counting 50 in `more`: total 150 (it counted 101 problems),
    the "50 more" a footer, not one of the records; no value listed, not even a new row's key."""
    from cartrial.errors import ConflictError, Problem, conflict_problems

    problems = [
        Problem("frozen", record=f"subject record {i}", field="subject.consent_date") for i in range(99)
    ]
    problems.append(Problem("a new subject record", field="subject.consent_date", value="CT-999"))
    more = Problem("50 more record(s) of subject", field="subject.consent_date")
    exc = ConflictError("150 frozen", problems=problems, records_total=150, more=more)
    assert exc.problems[-1] is more and len(exc.problems) == 101  # the API lists it as before
    shown, total, footer = conflict_problems(exc)
    assert (len(shown), total, footer) == (100, 150, "50 more record(s) of subject")
    assert all(p["value"] is None for p in shown)
