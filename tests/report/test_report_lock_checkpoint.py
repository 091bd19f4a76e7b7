"""A locked report carries the audit-chain checkpoint the data lock recorded when it was taken (issue 19
§3b: every lock and report carries the checkpoint; D-19.1054), in report.html and report.pdf.

Before, the title page printed "lock N" and only the audit head at the time the report was read: the
lock's own head (``data_lock.audit_head_id`` / ``audit_head_hash``, filled by the database trigger of
migration 0004, the anchor `cartrial audit verify` checks) was in neither file, and two reports of the same
lock differed in that line as soon as any audit row was written after the lock (here a user added).

Oracle: the lock's row as the database trigger filled it, read by SQL (not by the code under test)."""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from cartrial.analysis import analyse
from cartrial.report import report_files
from cartrial.store import StudyService, connect
from cartrial.store.snapshot import read_snapshot

from ..conftest import run_cartrial
from .conftest import CUTOFF

pypdf = pytest.importorskip("pypdf")

GENERATED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def lock_row(url: str) -> tuple[int, str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            head_id, head_hash = connection.execute(
                text("SELECT audit_head_id, audit_head_hash FROM data_lock WHERE active")
            ).one()
    finally:
        engine.dispose()
    return int(head_id), str(head_hash)


def title_value(page: str, label: str) -> str:
    """The value of the title page's `label` row in report.html (unescaped)."""
    found = re.search(rf"<dt>{re.escape(label)}</dt><dd>(?:<code>)?(.*?)(?:</code>)?</dd>", page)
    assert found, label
    return html.unescape(found.group(1))


def report_of(url: str, *, pdf: bool) -> dict[str, str | bytes]:
    snapshot = read_snapshot(url, dt.date.fromisoformat(CUTOFF))
    return report_files(analyse(snapshot), snapshot.tables, generated_at=GENERATED, pdf=pdf)


def test_a_locked_report_prints_the_locks_checkpoint(report_sqlite: str) -> None:
    service = StudyService(connect(report_sqlite))
    try:
        service.lock("admin", dt.date.fromisoformat(CUTOFF), "interim analysis")
        head_id, head_hash = lock_row(report_sqlite)
        first = report_of(report_sqlite, pdf=True)
        # an audit row after the lock that changes no record of the locked cut-off
        service.add_user("admin", "second_statistician", "statistician", full_name="Second statistician")
    finally:
        service.engine.dispose()
    second = report_of(report_sqlite, pdf=False)
    expected = f"id {head_id}, {head_hash}"
    for files in (first, second):
        assert title_value(str(files["report.html"]), "Audit-chain head at the lock") == expected
    # the head when read moved (one audit row more); the lock's checkpoint did not
    read_1 = title_value(str(first["report.html"]), "Audit-chain head when read")
    read_2 = title_value(str(second["report.html"]), "Audit-chain head when read")
    assert read_1 != read_2
    pages = pypdf.PdfReader(io.BytesIO(bytes(first["report.pdf"]))).pages
    whole = re.sub(r"\s+", "", "".join(page.extract_text() or "" for page in pages))
    assert re.sub(r"\s+", "", f"Audit-chain head at the lock{expected}") in whole


def test_an_unlocked_report_says_it_has_no_lock_checkpoint(report_sqlite: str) -> None:
    files = report_of(report_sqlite, pdf=False)
    assert title_value(str(files["report.html"]), "Audit-chain head at the lock") == "none (unlocked data)"


def test_cartrial_analyse_readme_prints_the_locks_checkpoint(report_sqlite: str, tmp_path: Path) -> None:
    """`cartrial analyse` of a locked copy: its README.md names the head the lock recorded (review finding
    4, D-19.1059). Before, it printed "lock N" and only the head at the snapshot; analysis.json carried the
    lock's keys. Oracle: the lock row read by SQL."""
    service = StudyService(connect(report_sqlite))
    try:
        service.lock("admin", dt.date.fromisoformat(CUTOFF), "interim analysis")
        # an audit row after the lock: the head when read is no longer the lock's
        service.add_user("admin", "second_statistician", "statistician", full_name="Second statistician")
    finally:
        service.engine.dispose()
    head_id, head_hash = lock_row(report_sqlite)
    out = tmp_path / "analysis"
    result = run_cartrial(
        *("analyse", "--url", report_sqlite, "--user", "admin"), *("--cutoff", CUTOFF, "--out", out)
    )
    assert result.exit_code == 0, result.output
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert f"- audit-chain head at the lock: id {head_id}, {head_hash}\n" in readme
    manifest = json.loads((out / "analysis.json").read_text(encoding="utf-8"))
    assert manifest["snapshot"]["lock_audit_head_id"] == head_id
    assert manifest["snapshot"]["lock_audit_head_hash"] == head_hash


def test_a_lock_that_recorded_no_head_says_so(report_sqlite: str) -> None:
    """A lock row without a head (a lock taken before migration 0004 filled it): the title page says the
    lock recorded none instead of printing "id None, None" (review finding 5, D-19.1054)."""
    service = StudyService(connect(report_sqlite))
    try:
        service.lock("admin", dt.date.fromisoformat(CUTOFF), "interim analysis")
    finally:
        service.engine.dispose()
    engine = create_engine(report_sqlite)
    try:
        with engine.begin() as connection:
            lock_id = connection.execute(text("SELECT id FROM data_lock WHERE active")).scalar_one()
            connection.execute(text("UPDATE data_lock SET audit_head_id = NULL, audit_head_hash = NULL"))
    finally:
        engine.dispose()
    files = report_of(report_sqlite, pdf=False)
    assert title_value(str(files["report.html"]), "Audit-chain head at the lock") == (
        f"not recorded by lock {lock_id} (taken before the lock recorded the audit head)"
    )
