"""Demo step of the import: create `demo-output/study.db` from the example templates and
`demo-output/redcap-study.db` from the example REDCap export; print both reconciliation reports."""

from __future__ import annotations

import shutil
from pathlib import Path

from cartrial.commands.import_commands import print_report
from cartrial.demo import DemoContext

__all__ = ["run"]


def run(ctx: DemoContext) -> None:
    """Create demo-output/study.db from the example templates, and demo-output/redcap-study.db from the
    example REDCap export; print both reconciliation reports."""
    from cartrial.store.importing import import_redcap, import_templates
    from cartrial.store.service import StudyService
    from cartrial.store.study_setup import init_study

    console = ctx.console
    console.rule("[bold]study data import")
    study_db = _fresh_database(ctx.out_dir / "study.db")
    url = f"sqlite:///{study_db}"
    init_study(url, ctx.protocol_file, "admin")
    report = import_templates(url, ctx.examples_dir / "ct103a-nmosd" / "study", "admin")
    console.print(f"created {study_db} from the example study templates")
    print_report(console, report)

    redcap_dir = ctx.examples_dir / "ct103a-nmosd" / "redcap"
    if not redcap_dir.is_dir():
        console.print(f"[yellow]no REDCap example at {redcap_dir}; skipped[/]")
        return
    redcap_db = _fresh_database(ctx.out_dir / "redcap-study.db")
    redcap_url = f"sqlite:///{redcap_db}"
    init_study(redcap_url, ctx.protocol_file, "admin")
    StudyService(redcap_url).add_site(
        "admin", "TJH", "Tongji Hospital (synthetic example site)", "China", "Asia/Shanghai"
    )
    redcap_report = import_redcap(
        redcap_url,
        redcap_dir / "records.csv",
        redcap_dir / "dictionary.csv",
        redcap_dir / "mapping.yaml",
        "admin",
    )
    console.print(f"created {redcap_db} from the example REDCap export")
    print_report(console, redcap_report)


def _fresh_database(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        candidate = path.with_name(path.name + suffix)
        if candidate.is_dir():
            shutil.rmtree(candidate)
        else:
            candidate.unlink(missing_ok=True)
    return path.resolve()
