"""Property: for any sequence of audited inserts and edits (any finite values), `verify_complete` finds
nothing; after any single direct change of a data row (update, delete, insert) it finds exactly that row."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from tests.conftest import property_examples

from cartrial.store import StudyService, connect
from cartrial.store.bulk import upsert_rows
from cartrial.store.tamper import verify_complete

from .conftest import make_study

# valid cells/kg (the field rule: > 0; the edit checks query 10x the protocol dose): within 1e4 to 5e6
finite = st.floats(min_value=1e4, max_value=5e6, allow_nan=False, allow_infinity=False)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tamper-template") / "study.db"
    make_study(f"sqlite:///{path}").service.engine.dispose()
    return path


@settings(
    max_examples=property_examples(15),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    values=st.lists(finite, min_size=1, max_size=4),
    edits=st.lists(st.tuples(st.integers(0, 3), finite), max_size=4),
    tamper=st.sampled_from(["none", "update", "delete", "insert"]),
    victim=st.integers(0, 3),
)
def test_any_audited_history_verifies_and_any_direct_change_is_found(
    template: Path,
    tmp_path: Path,
    values: list[float],
    edits: list[tuple[int, float]],
    tamper: str,
    victim: int,
) -> None:
    path = tmp_path / f"{uuid.uuid4().hex}.db"
    shutil.copyfile(template, path)
    service = StudyService(connect(f"sqlite:///{path}"))
    start = dt.datetime(2021, 6, 1, tzinfo=dt.UTC)
    # several infusions of one subject (refused by today's INFUSION-ONCE edit check): written through the
    # bulk writer itself, whose audit chain is what is tested
    with service.transaction("admin", "property test") as tx:
        upsert_rows(
            tx,
            "infusion",
            [
                {
                    "subject_id": "CT-001",
                    "infused_at": start + dt.timedelta(hours=i),
                    "dose_level": 1,
                    "cells_per_kg": value,
                }
                for i, value in enumerate(values)
            ],
        )
    records = service.find_records("admin", "infusion")
    for index, value in edits:
        record = service.get_record("admin", "infusion", records[index % len(records)]["id"])
        service.update_record(
            "admin", "infusion", record["id"], {"cells_per_kg": value}, record["version"], "fix"
        )
    target = records[victim % len(records)]["id"]
    with service.engine.begin() as connection:
        if tamper == "update":
            connection.execute(
                text("UPDATE infusion SET cells_per_kg = coalesce(cells_per_kg, 0) + 1 WHERE id = :i"),
                {"i": target},
            )
        elif tamper == "delete":
            connection.execute(text("DELETE FROM infusion WHERE id = :i"), {"i": target})
        elif tamper == "insert":
            connection.execute(
                text(
                    "INSERT INTO infusion (id, subject_id, infused_at, dose_level, created_at, updated_at, "
                    "version) VALUES (:i, 'CT-002', '2021-07-01 00:00:00.000000', 1, "
                    "'2021-07-01 00:00:00.000000', '2021-07-01 00:00:00.000000', 1)"
                ),
                {"i": 10_000},
            )
            target = 10_000
    result = verify_complete(service)
    service.engine.dispose()
    if tamper == "none":
        assert result.ok, [f.message for f in result.findings]
    else:
        assert [(f.kind, f.table, f.record_id) for f in result.findings] == [
            (f"unaudited-{tamper}", "infusion", target)
        ]
