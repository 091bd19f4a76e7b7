"""Demo step of the CDISC export: the example study's locked database (the analysis step's copy) as of the
example cut-off, exported as SDTM and ADaM in both formats (SAS XPORT v5 and Dataset-JSON v1.1) with a
define.xml per standard into ``demo-output/cdisc/``, re-checked from the files, and summarised (dataset,
records, variables, validation findings)."""

from __future__ import annotations

from cartrial.demo import DemoContext
from cartrial.errors import CartrialError

__all__ = ["run"]


def run(ctx: DemoContext) -> None:
    """Export the example study's SDTM and ADaM (XPT + Dataset-JSON + define.xml) and print a summary."""
    console = ctx.console
    console.rule("[bold]CDISC export: SDTM 3.4 and ADaM 1.3 (XPT v5, Dataset-JSON 1.1, Define-XML 2.1)")
    try:
        from rich.table import Table

        from cartrial.analysis import analyse
        from cartrial.cdisc.export import check_folder, export_cdisc
        from cartrial.demo.analysis import _locked_database
        from cartrial.demo.store import DEMO_CUTOFF
        from cartrial.store.snapshot import read_snapshot

        url = _locked_database(ctx)
        snapshot = read_snapshot(url, DEMO_CUTOFF)
        out = ctx.out_dir / "cdisc"
        result = export_cdisc(snapshot, analyse(snapshot), out, formats="both")
        findings, _ = check_folder(out)
        by_file: dict[str, int] = {}
        for f in findings:
            by_file[f.dataset.split(":", 1)[-1]] = by_file.get(f.dataset.split(":", 1)[-1], 0) + 1
        table = Table(title=f"CDISC datasets as of {DEMO_CUTOFF} ({out}/)")
        for column in ("standard", "dataset", "records", "variables", "findings"):
            table.add_column(column, justify="left" if column in ("standard", "dataset") else "right")
        for d in result.datasets:
            table.add_row(d.standard, d.name, str(d.records), str(d.variables), str(by_file.get(d.name, 0)))
        console.print(table)
        console.print(
            f"{len(result.datasets)} datasets, {len(findings)} validation findings after re-reading the "
            f"files; define.xml in {out}/sdtm/ and {out}/adam/ (check again with "
            f"`cartrial export cdisc --check {out}`)"
        )
    except CartrialError as exc:
        console.print(f"[red]CDISC demo failed: {exc}[/]")
