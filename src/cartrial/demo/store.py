"""Demo step of the study database: summarise `demo-output/study.db` (made by the import step), verify its
audit trail, and on a copy show a reasoned correction, a lock at the reference study's cut-off and an edit
refused by the lock."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

from cartrial.commands.store_commands import print_audit, print_summary
from cartrial.demo import DemoContext
from cartrial.errors import CartrialError

DEMO_CUTOFF = dt.date(2022, 3, 20)
"""Data cut-off of the reference study's publication (Qin C et al. 2023;
docs/science/ct103a-nmosd-trial.md)."""

__all__ = ["DEMO_CUTOFF", "run"]


def run(ctx: DemoContext) -> None:
    """Summarise `demo-output/study.db` (made by the import demo) and verify its audit trail; then, on a
    copy (`study-lock-demo.db`), show a reasoned correction by a data manager, a lock at the cut-off
    2022-03-20 and an edit refused by the lock."""
    from cartrial.errors import ConflictError
    from cartrial.store import StudyService, connect

    console = ctx.console
    console.rule("[bold]study database: summary, audit trail, correction and lock")
    study_db = ctx.out_dir / "study.db"
    if not study_db.is_file():
        console.print(
            f"[yellow]{study_db} does not exist (the import demo step creates it); store demo skipped[/]"
        )
        return
    try:
        service = StudyService(connect(f"sqlite:///{study_db.resolve()}"))
        print_summary(console, service)
        result = service.verify_audit()
        console.print(
            ("[green]audit verify: OK[/] " if result.ok else "[red]audit verify: BROKEN[/] ") + result.message
        )
        service.engine.dispose()

        copy = ctx.out_dir / "study-lock-demo.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(study_db, copy)
        console.print(f"\ncorrection and lock on a copy: {copy}")
        demo_service = StudyService(connect(f"sqlite:///{copy.resolve()}"))
        admin = first_admin(demo_service)
        demo_service.add_user(admin, "demo_dm", "data_manager", full_name="Demo data manager")
        demo_service.add_user(admin, "demo_stat", "statistician", full_name="Demo statistician")
        infusion = demo_service.find_records("demo_dm", "infusion", subject_id="CT-004")
        if not infusion:
            console.print("[yellow]no infusion of CT-004 in the example study; correction skipped[/]")
            return
        record = infusion[0]
        corrected = round(float(record["viability_pct"] or 90) - 1, 1)
        demo_service.update_record(
            "demo_dm",
            "infusion",
            record["id"],
            {"viability_pct": corrected},
            record["version"],
            "viability re-read from the certificate of analysis",
            "demo",
        )
        console.print(
            f"  demo_dm corrected infusion {record['id']} (CT-004) viability_pct "
            f"{record['viability_pct']} → {corrected}, reason recorded"
        )
        lock = demo_service.lock("demo_stat", DEMO_CUTOFF, "data cut-off of the primary publication", "demo")
        console.print(f"  demo_stat locked {lock.records_locked} records: {lock.describe()}")
        current = demo_service.get_record("demo_dm", "infusion", record["id"])
        try:
            demo_service.update_record(
                "demo_dm",
                "infusion",
                record["id"],
                {"viability_pct": corrected + 1},
                current["version"],
                "late correction",
                "demo",
            )
            console.print("[red]  edit after the lock was NOT refused[/]")
        except ConflictError as exc:
            console.print(f"  [green]edit after the lock refused[/]: {exc}")
        history = demo_service.audit_history("CT-004", actor="demo_dm")
        print_audit(
            console,
            [row for row in history if row["table_name"] == "infusion" and row["record_id"] == record["id"]],
            f"audit trail of infusion record {record['id']} (CT-004)",
        )
        after = demo_service.verify_audit()
        console.print(
            ("[green]audit verify: OK[/] " if after.ok else "[red]audit verify: BROKEN[/] ") + after.message
        )
        demo_service.engine.dispose()
    except CartrialError as exc:
        console.print(f"[red]store demo failed: {exc}[/]")


def first_admin(service: Any) -> str:
    from sqlalchemy import select

    from cartrial.store.models import User

    with service.engine.connect() as connection:
        name = connection.execute(
            select(User.username).where(User.role == "admin", User.active.is_(True)).order_by(User.id)
        ).scalar()
    if name is None:
        raise CartrialError("the study database has no active admin user")
    return str(name)
