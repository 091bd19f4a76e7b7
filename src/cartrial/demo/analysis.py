"""Demo step of the analysis and the interim report: the example study's database locked at the example
cut-off (2022-03-20), analysed (`cartrial.analysis.analyse`) and reported (`cartrial.report.report_files`)
into ``demo-output/report/``; the key findings are printed.

The database is the store step's locked copy (``demo-output/study-lock-demo.db``) when it exists and is
locked at that cut-off; otherwise ``demo-output/analysis-study.db`` is built from the example templates and
locked here."""

from __future__ import annotations

import shutil
from pathlib import Path

from cartrial.demo import DemoContext
from cartrial.demo.store import DEMO_CUTOFF
from cartrial.errors import CartrialError

__all__ = ["run"]


def run(ctx: DemoContext) -> None:
    """Analyse and report the example study as of 2022-03-20 (locked); write demo-output/report/."""
    console = ctx.console
    console.rule("[bold]analysis and interim report (data cut-off 2022-03-20)")
    try:
        url = _locked_database(ctx)
        from cartrial.analysis import analyse
        from cartrial.analysis.output import analysis_files
        from cartrial.commands.report_commands import write_report
        from cartrial.report import report_files
        from cartrial.store.snapshot import read_snapshot
        from cartrial.tabular import write_atomic

        snapshot = read_snapshot(url, DEMO_CUTOFF)
        analysis = analyse(snapshot)
        analysis_dir = ctx.out_dir / "analysis"
        for name, text in analysis_files(analysis).items():
            write_atomic(analysis_dir / name, text)
        report_dir = ctx.out_dir / "report"
        write_report(report_dir, report_files(analysis, snapshot.tables))
        meta = analysis.snapshot
        status = "DRAFT — unlocked data" if meta["unlocked"] else f"locked (lock {meta['lock_id']})"
        console.print(f"{meta['study']} — data cut-off {meta['cutoff']}: {status}")
        console.print("key findings:")
        for finding in analysis.findings:
            console.print(f"  • {finding.statement}")
        console.print(
            f"analysis datasets in {analysis_dir}/; report in {report_dir}/ "
            "(report.html, report.pdf, tables/, figures/)"
        )
    except CartrialError as exc:
        console.print(f"[red]analysis demo failed: {exc}[/]")


def _locked_database(ctx: DemoContext) -> str:
    """URL of a copy of the example study locked at `DEMO_CUTOFF` (see the module docstring)."""
    from cartrial.store import StudyService, connect
    from cartrial.store.importing import import_templates
    from cartrial.store.snapshot import read_snapshot
    from cartrial.store.study_setup import init_study

    store_copy = ctx.out_dir / "study-lock-demo.db"
    if store_copy.is_file():
        url = f"sqlite:///{store_copy.resolve()}"
        if read_snapshot(url, DEMO_CUTOFF).lock_id is not None:
            ctx.console.print(f"using the store step's locked database {store_copy}")
            return url
    path = ctx.out_dir / "analysis-study.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        candidate = Path(f"{path}{suffix}")
        if candidate.is_dir():
            shutil.rmtree(candidate)
        else:
            candidate.unlink(missing_ok=True)
    url = f"sqlite:///{path.resolve()}"
    init_study(url, ctx.protocol_file, "admin")
    import_templates(url, ctx.examples_dir / "ct103a-nmosd" / "study", "admin")
    service = StudyService(connect(url))
    lock = service.lock("admin", DEMO_CUTOFF, "data cut-off of the primary publication", "demo")
    service.engine.dispose()
    ctx.console.print(f"built {path} from the example templates; {lock.describe()}")
    return url
