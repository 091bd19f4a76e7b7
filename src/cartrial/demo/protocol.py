"""Demo step: protocol as code — check and show the reference protocol, screen the example candidates.

Writes ``protocol-summary.json`` and ``screening.json`` under the demo's output folder.
"""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from cartrial.commands.protocol_commands import VERDICT_STYLE, print_summary, screen_files, screening_payload
from cartrial.demo import DemoContext
from cartrial.protocol import CriterionStatus, load_protocol, protocol_summary
from cartrial.tabular import dumps_json, write_atomic


def run(ctx: DemoContext) -> None:
    """Check and show the reference protocol, screen the example candidates; write protocol-summary.json
    and screening.json under ``ctx.out_dir``."""
    console = ctx.console
    console.rule("[bold]Protocol as code[/]: check, show, screen")
    protocol_file = ctx.protocol_file
    protocol = load_protocol(protocol_file)
    console.print(f"[green]ok[/]: {protocol_file} is a valid protocol")
    summary = protocol_summary(protocol)
    print_summary(console, protocol, summary, full=False)
    write_atomic(
        ctx.out_dir / "protocol-summary.json", dumps_json({"file": str(protocol_file), **summary}) + "\n"
    )
    candidate_files = sorted(
        p
        for p in (ctx.examples_dir / "ct103a-nmosd" / "candidates").iterdir()
        if p.suffix.lower() in (".yaml", ".yml", ".json")
    )
    protocol, results = screen_files(protocol_file, candidate_files)
    table = Table(title="Screening of the example candidates")
    for column in ("candidate", "verdict", "not met / cannot assess"):
        table.add_column(column)
    for result in results:
        flagged = [
            f"{r.id} ({r.status.value})"
            for r in result.criteria
            if r.blocks_eligibility or r.status is CriterionStatus.CANNOT_ASSESS
        ]
        table.add_row(
            escape(result.candidate_id),
            f"[{VERDICT_STYLE[result.verdict]}]{result.verdict.value}[/]",
            escape(", ".join(flagged)) or "-",
        )
    console.print(table)
    write_atomic(
        ctx.out_dir / "screening.json", dumps_json(screening_payload(protocol_file, protocol, results)) + "\n"
    )
    console.print(
        f"protocol: wrote {ctx.out_dir / 'protocol-summary.json'} and {ctx.out_dir / 'screening.json'}"
    )


__all__ = ["run"]
