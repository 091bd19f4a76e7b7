"""`cartrial.store.snapshot.read_snapshot`: the study as of a cut-off, read from a real store."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from cartrial.errors import CartrialError
from cartrial.store import StudyService, connect, init_study
from cartrial.store.snapshot import RECORD_ID, SNAPSHOT_TABLES, read_snapshot

from .conftest import PROTOCOL, STUDY

CUTOFF = date(2022, 3, 20)


def csv_rows(name: str) -> list[dict[str, str]]:
    with (STUDY / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_snapshot_has_every_record_in_the_template_layout(example_sqlite: str) -> None:
    snapshot = read_snapshot(example_sqlite, CUTOFF)
    assert set(snapshot.tables) == set(SNAPSHOT_TABLES)
    for name, frame in snapshot.tables.items():
        rows = csv_rows(name)
        assert len(frame) == len(rows), name
        # every template column is there (the store may have more, e.g. raw CRS fields)
        assert set(rows[0]) <= set(frame.columns), name
        assert frame.columns[-1] == RECORD_ID
    infusions = snapshot.tables["infusions"].set_index("subject_id")
    for row in csv_rows("infusions"):
        assert infusions.loc[row["subject_id"], "infused_at"] == row["infused_at"]
        assert int(infusions.loc[row["subject_id"], "dose_level"]) == int(row["dose_level"])
    assert snapshot.unlocked and snapshot.lock_id is None
    assert snapshot.audit_head_hash is not None and len(snapshot.audit_head_hash) == 64
    assert snapshot.protocol.study.id == snapshot.study_code
    assert all(n == 0 for n in snapshot.after_cutoff.values())


def test_records_after_the_cutoff_are_left_out_and_counted(example_sqlite: str) -> None:
    cutoff = date(2021, 9, 30)
    snapshot = read_snapshot(example_sqlite, cutoff)
    # a subject consented after the cut-off is left out with their records dated before it (D-19.1147)
    later_subjects = {r["subject_id"] for r in csv_rows("subjects") if r["consent_date"] > cutoff.isoformat()}
    for name, model in SNAPSHOT_TABLES.items():
        column = model.clinical_date_column
        rows = csv_rows(name)
        later = [r for r in rows if column and r.get(column, "")[:10] > cutoff.isoformat()]
        theirs = [
            r for r in rows if r not in later and name != "subjects" and r.get("subject_id") in later_subjects
        ]
        assert snapshot.after_cutoff[name] == len(later), name
        assert snapshot.not_enrolled_at_cutoff.get(name, 0) == len(theirs), name
        assert len(snapshot.tables[name]) == len(rows) - len(later) - len(theirs), name
        if later and name != "escalation_decisions":
            assert set(snapshot.after_cutoff_subjects[name]) == {r["subject_id"] for r in later}
    assert snapshot.after_cutoff["crs_assessments"] > 0


def test_a_lock_at_the_cutoff_is_recorded(example_sqlite: str) -> None:
    service = StudyService(connect(example_sqlite))
    info = service.lock("admin", CUTOFF, "interim analysis")
    assert read_snapshot(service, CUTOFF).lock_id == info.id
    assert read_snapshot(service, date(2022, 3, 19)).unlocked


def test_empty_database_and_early_cutoff_are_clear_errors(tmp_path: Path, example_sqlite: str) -> None:
    with pytest.raises(CartrialError, match=r"empty|not a cartrial"):
        read_snapshot(f"sqlite:///{tmp_path / 'none.db'}", CUTOFF)
    url = f"sqlite:///{tmp_path / 'init.db'}"
    init_study(url, PROTOCOL, "admin")
    with pytest.raises(CartrialError, match="no subject"):
        read_snapshot(url, CUTOFF)
    with pytest.raises(CartrialError, match="before the first infusion"):
        read_snapshot(example_sqlite, date(2021, 4, 26))  # first infusion: CT-001 on 2021-04-27


def test_a_protocol_that_does_not_match_the_database_is_refused(example_sqlite: str) -> None:
    text = PROTOCOL.read_text(encoding="utf-8")
    with pytest.raises(CartrialError, match="not the study's stored protocol"):
        read_snapshot(example_sqlite, CUTOFF, protocol_text=text + "\n# amended\n")
    assert read_snapshot(example_sqlite, CUTOFF, protocol_text=text).study_code


@pytest.mark.postgres
def test_postgresql_snapshot_equals_sqlite(example_sqlite: str, example_postgres: str) -> None:
    lite = read_snapshot(example_sqlite, CUTOFF)
    pg = read_snapshot(example_postgres, CUTOFF)
    for name in SNAPSHOT_TABLES:
        left = lite.tables[name].drop(columns=[RECORD_ID])
        right = pg.tables[name].drop(columns=[RECORD_ID])
        assert left.equals(right), name
    assert lite.tables_sha256() == pg.tables_sha256()
