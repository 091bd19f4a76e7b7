"""Crash safety of imports: a process killed with SIGKILL in the middle of a large import leaves the
database exactly as it was (decisions §7, "Reliability tests": both backends, real servers).

The child process imports a synthetic study (~24,000 rows) and reports progress after each batch it has
written inside the import's single transaction; the test kills it (SIGKILL: no cleanup, no rollback by the
child) once thousands of rows have been written and before the end. Then every table's full contents must
equal the snapshot taken before, the audit hash chain must verify, and the database must accept the next
import (no stale lock).
"""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from cartrial import examples as cartrial_examples
from cartrial.store.importing import import_templates, write_synthetic_study
from cartrial.store.models import Base
from cartrial.store.service import StudyService
from cartrial.store.study_setup import init_study

REPO = Path(__file__).resolve().parents[2]
PROTOCOL = cartrial_examples.path("ct103a-nmosd") / "protocol.yaml"
KILL_AFTER_ROWS = 5_000

CHILD = """
import sys
from cartrial.store.importing import import_templates

def progress(form, done, total):
    print(f"PROGRESS {form} {done} {total}", flush=True)

import_templates(sys.argv[1], sys.argv[2], "admin", progress=progress)
print("DONE", flush=True)
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.db'}"
        return
    yield request.getfixturevalue("postgres_url")


def snapshot(url: str) -> dict[str, tuple[int, str]]:
    """Row count and SHA-256 of the full ordered contents of every table."""
    engine = create_engine(url)
    out: dict[str, tuple[int, str]] = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = connection.execute(select(table).order_by(*table.primary_key.columns)).all()
            digest = hashlib.sha256(repr([tuple(row) for row in rows]).encode()).hexdigest()
            out[table.name] = (len(rows), digest)
    engine.dispose()
    return out


def test_sigkill_mid_import_leaves_the_database_exactly_as_before(database_url: str, tmp_path: Path) -> None:
    """SIGKILL during the write phase of a ~24,000-row import: contents unchanged, audit chain intact, and
    the next import succeeds (decisions §7 crash test; atomicity of one transaction per import)."""
    init_study(database_url, PROTOCOL, "admin")
    base = tmp_path / "base"
    write_synthetic_study(base, n_subjects=1, seed=3, prefix="BASE")
    import_templates(database_url, base, "admin")
    before = snapshot(database_url)
    large = tmp_path / "large"
    counts = write_synthetic_study(large, n_subjects=24, seed=7)
    assert sum(counts.values()) > 20_000

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, database_url, str(large)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    written = 0
    deadline = time.monotonic() + 120
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("PROGRESS"):
                written = int(line.split()[2])
                if written >= KILL_AFTER_ROWS:
                    child.send_signal(signal.SIGKILL)
                    break
            assert not line.startswith("DONE"), "the import finished before it could be killed"
            assert time.monotonic() < deadline, "no progress from the importing process"
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=30)
    stderr = child.stderr.read() if child.stderr else ""
    assert written >= KILL_AFTER_ROWS, f"child wrote {written} rows before ending; stderr: {stderr[-2000:]}"
    assert child.returncode == -signal.SIGKILL

    assert snapshot(database_url) == before
    service = StudyService(database_url)
    verification = service.verify_audit()
    assert verification.ok, verification.message
    report = import_templates(database_url, base, "admin")
    assert report.totals["inserted"] == 0 and report.totals["updated"] == 0
