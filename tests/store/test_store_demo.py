"""The store's `cartrial demo` step: summary, audit verify, reasoned correction, lock, refused edit.

Requirement: decisions §7 acceptance ("`cartrial demo` creates demo-output/study.db from the example
templates,
prints a data summary per table, and runs `audit verify`"); the demo must say clearly when study.db is
missing rather than fail.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console

from cartrial import examples as cartrial_examples
from cartrial import templates as cartrial_templates
from cartrial.demo import DemoContext
from cartrial.demo import store as store_demo
from cartrial.store import StudyService, connect


def context(out_dir: Path) -> tuple[DemoContext, Console]:
    console = Console(record=True, width=140)
    return DemoContext(
        examples_dir=cartrial_examples.path("ct103a-nmosd").parent,
        templates_dir=cartrial_templates.path(),
        out_dir=out_dir,
        console=console,
    ), console


def test_demo_without_database_says_so(tmp_path: Path) -> None:
    ctx, console = context(tmp_path)
    store_demo.run(ctx)
    assert "does not exist" in console.export_text()


def test_demo_summarises_verifies_corrects_and_locks(tmp_path: Path, sqlite_template: Path) -> None:
    """On a copy of study.db: the correction is audited, the lock refuses the later edit, the original
    study.db is left unchanged."""
    shutil.copyfile(sqlite_template, tmp_path / "study.db")
    service = StudyService(connect(f"sqlite:///{tmp_path / 'study.db'}"))
    with service.transaction("admin", "test") as tx:
        service.upsert_rows(
            tx, "subject", [{"subject_id": "CT-004", "site_id": "TJH", "consent_date": "2021-07-08"}]
        )
        service.upsert_rows(
            tx,
            "infusion",
            [
                {
                    "subject_id": "CT-004",
                    "infused_at": "2021-08-03T02:00:00Z",
                    "dose_level": 2,
                    "viability_pct": 91.0,
                }
            ],
        )
    before = service.table_counts()
    service.engine.dispose()
    ctx, console = context(tmp_path)
    store_demo.run(ctx)
    text = console.export_text()
    assert "audit verify: OK" in text
    assert "viability_pct 91.0 → 90.0" in text
    assert "edit after the lock refused" in text and "cut-off 2022-03-20" in text
    assert StudyService(connect(f"sqlite:///{tmp_path / 'study.db'}")).table_counts() == before
    copy = StudyService(connect(f"sqlite:///{tmp_path / 'study-lock-demo.db'}"))
    assert copy.active_lock() is not None and copy.verify_audit().ok
