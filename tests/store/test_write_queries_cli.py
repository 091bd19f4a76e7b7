"""D-19.130: `cartrial db edit` and `db delete` said nothing of the data queries their edit checks raised
(soft checks: the write is kept and a query opened), so the data manager who made the edit did not know. They
now print each query raised — code, check, table and field, never the value (D-12.2) — and `--json` gives a
``queries`` list; the API's answer to a write lists them too."""

from __future__ import annotations

import json

from cartrial.store import StudyService, connect
from cartrial.store.bulk import upsert_rows

from ..conftest import Cli
from .conftest import PROTOCOL

TEN_TIMES = "5000000"
"""10× the protocol dose of dose level 1 of the example protocol (500000 CAR+ cells/kg): DOSE-10X fires."""


def _study(db_url: str, cli: Cli) -> tuple[StudyService, list[str]]:
    url = ["--url", db_url]
    assert (
        cli("db", "init", *url, "--protocol", str(PROTOCOL), "--admin", "alice", "--admin-site", "TJH")[0]
        == 0
    )
    assert (
        cli("db", "user", "add", "--password", *url, "--user", "alice", "bob", "--role", "data_manager")[0]
        == 0
    )
    service = StudyService(connect(db_url))
    # the setup writes through the bulk writer: its own rows raise no data query, only the edits tested do
    with service.transaction("bob", "test data") as tx:
        upsert_rows(
            tx,
            "subject",
            [
                {"subject_id": "CT-001", "site_id": "TJH", "consent_date": "2021-05-06"},
                {
                    "subject_id": "CT-002",
                    "site_id": "TJH",
                    "consent_date": "2021-05-06",
                    "disposition": "death",
                    "disposition_date": "2021-07-01",
                },
            ],
        )
        upsert_rows(
            tx,
            "infusion",
            [
                {
                    "subject_id": "CT-001",
                    "infused_at": "2021-06-01T02:00:00Z",
                    "dose_level": 1,
                    "cells_per_kg": 500000.0,
                    "viability_pct": 92.0,
                }
            ],
        )
        upsert_rows(
            tx,
            "adverse_event",
            [
                {
                    "subject_id": "CT-002",
                    "term": "Death NOS",
                    "category": "death",
                    "started_on": "2021-07-01",
                    "ended_on": "2021-07-01",
                    "grade": 5,
                    "outcome": "fatal",
                }
            ],
        )
    return service, [*url, "--user", "bob"]


def _edit(cli: Cli, args: list[str], record_id: int, *extra: str) -> tuple[int, str, str]:
    return cli(
        "db",
        "edit",
        "infusion",
        str(record_id),
        "--set",
        f"cells_per_kg={TEN_TIMES}",
        "--expected-version",
        "1",
        "--reason",
        "re-read the certificate",
        *args,
        *extra,
    )


def _queries(service: StudyService) -> list[dict[str, object]]:
    return service.find_records("alice", "data_query")


def test_db_edit_names_the_query_it_raised(db_url: str, cli: Cli) -> None:
    service, args = _study(db_url, cli)
    infusion = service.find_records("alice", "infusion", subject_id="CT-001")[0]
    code, out, err = _edit(cli, args, int(infusion["id"]))
    assert code == 0, err
    stored = _queries(service)
    assert len(stored) == 1  # the first query of the study
    assert out.splitlines() == [
        f"infusion record {infusion['id']} now at version 2",
        f"raised data query Q-000001 (DOSE-10X on infusion.cells_per_kg of infusion record {infusion['id']})",
    ]
    assert stored[0]["query_code"] == "Q-000001"
    assert TEN_TIMES not in out and "5e+06" not in out  # no record value (D-12.2)


def test_db_edit_json_lists_the_queries(db_url: str, cli: Cli) -> None:
    service, args = _study(db_url, cli)
    infusion = service.find_records("alice", "infusion", subject_id="CT-001")[0]
    code, out, err = _edit(cli, args, int(infusion["id"]), "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert payload["version"] == 2
    assert payload["queries"] == [
        {
            "code": "Q-000001",
            "check": "DOSE-10X",
            "table": "infusion",
            "field": "cells_per_kg",
            "record_id": int(infusion["id"]),
        }
    ]
    # an edit that raises nothing: an empty list, and no query line
    code, out, err = cli(
        "db", "edit", "infusion", str(infusion["id"]), "--set", "viability_pct=91", "--expected-version",
        "2", "--reason", "re-read", *args, "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["queries"] == []


def test_db_delete_names_the_query_raised_on_a_remaining_record(db_url: str, cli: Cli) -> None:
    """Deleting CT-002's fatal adverse event leaves its disposition `death` without one:
    DEATH-WITHOUT-FATAL-AE on the subject's disposition (D-19.103)."""
    service, args = _study(db_url, cli)
    event = service.find_records("alice", "adverse_event", subject_id="CT-002")[0]
    code, out, err = cli(
        "db", "delete", "adverse_event", str(event["id"]), "--reason", "entered twice", *args
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"adverse_event record {event['id']} deleted"
    (subject,) = service.find_records("alice", "subject", subject_id="CT-002")
    assert lines[1:] == [  # the record the query is on, not the one deleted (D-19.150)
        "raised data query Q-000001 (DEATH-WITHOUT-FATAL-AE on subject.disposition of subject record "
        f"{subject['id']})"
    ]
    code, out, err = cli("db", "delete", "infusion", "1", "--reason", "entered twice", *args, "--json")
    assert code == 0, err
    assert json.loads(out) == {"table": "infusion", "record_id": 1, "deleted": True, "queries": []}


def test_db_edit_names_the_record_of_each_query(db_url: str, cli: Cli) -> None:
    """An edit of the end of study raises RECORD-AFTER-END-OF-STUDY on every later record of the subject:
    each line named only `table.field`, so several identical lines did not say which record each query is
    on; each now names its record by id (never a value) (D-19.150)."""
    service, args = _study(db_url, cli)
    with service.transaction("bob", "test data") as tx:
        service.upsert_rows(
            tx,
            "lab_result",
            [
                {
                    "subject_id": "CT-001",
                    "collected_at": f"2021-06-{day}T08:00:00Z",
                    "analyte": "platelets",
                    "value": 150.0,
                    "unit": "10^9/L",
                    "lln": 150.0,
                }
                for day in ("10", "20")
            ],
        )
    (subject,) = service.find_records("alice", "subject", subject_id="CT-001")
    code, out, err = cli(
        "db", "edit", "subject", str(subject["id"]), "--set", "disposition=withdrawn", "--set",
        "disposition_date=2021-06-05", "--expected-version", str(subject["version"]), "--reason", "r", *args,
    )  # fmt: skip
    assert code == 0, err
    labs = sorted(int(r["id"]) for r in service.find_records("alice", "lab_result", subject_id="CT-001"))
    lines = out.splitlines()[1:]
    assert len(lines) == 2 and len(set(lines)) == 2, out
    for line, lab in zip(sorted(lines), labs, strict=True):
        assert line.endswith(
            f"(RECORD-AFTER-END-OF-STUDY on lab_result.collected_at of lab_result record {lab})"
        )
    assert "2021-06" not in out
