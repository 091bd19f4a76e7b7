"""CLI for protocol as code: ``cartrial protocol check|show FILE`` and ``cartrial screen FILE CANDIDATE…``.

Thin layer: parse options, call `cartrial.protocol`, print with rich (or JSON with ``--json``). Bad files
raise `InputError` (every problem with its line), which the root CLI turns into exit code 2.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cartrial.commands.terminal import terminal
from cartrial.errors import InputError, Problem

if TYPE_CHECKING:
    from cartrial.protocol import Candidate, Protocol, ScreeningResult

#: The BSA formulas of `cartrial.protocol.BsaMethod` (a Literal here so that the module imports no engine;
#: a test keeps the two equal).
BsaMethodName = Literal["mosteller", "dubois"]
#: `cartrial.protocol.summary.REFERENCE_BSA_M2`, for the help text (a test keeps the two equal).
REFERENCE_BSA_HELP_M2 = 1.7

PROTOCOL_HELP = "Validate and summarise a study protocol (YAML)."
SCREEN_HELP = "Screen candidates against a protocol's eligibility criteria."
CHECK_EXAMPLE = "Example: [bold]cartrial protocol check examples/ct103a-nmosd/protocol.yaml[/]"
SHOW_EXAMPLE = (
    "Example: [bold]cartrial protocol show examples/ct103a-nmosd/protocol.yaml --weight 62 --height 168[/]"
)
SCREEN_EXAMPLE = (
    "Example: [bold]cartrial screen examples/ct103a-nmosd/protocol.yaml "
    "examples/ct103a-nmosd/candidates/cand-01-eligible.yaml[/]"
)

protocol_app = typer.Typer(
    help=PROTOCOL_HELP, epilog=CHECK_EXAMPLE, no_args_is_help=True, add_completion=False
)

#: Rich styles by `CriterionStatus` / `Verdict` value.
STATUS_STYLE = {"met": "green", "not_met": "red", "cannot_assess": "yellow"}
VERDICT_STYLE = {"eligible": "bold green", "not_eligible": "bold red", "incomplete": "bold yellow"}


def _cells(value: float) -> str:
    """A number of cells as mantissa×10^exponent with every significant digit of the dose the engine gave
    (its shortest decimal): 36,665,000 is 3.6665×10^7. Four digits, as before, showed 3.666×10^7 while
    the rounding line said "not rounded", and hid the digits of a 5-figure rounding rule (D-19.1015)."""
    from cartrial.rounding import EXACT, written

    mantissa, exponent = f"{written(float(value)).normalize(EXACT):e}".split("e")
    return f"{mantissa}×10^{int(exponent)}"


@protocol_app.command("check", epilog=CHECK_EXAMPLE)
def check(
    file: Path = typer.Argument(..., help="Protocol YAML file."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Validate a protocol file; print every problem with its line number (exit 0 valid, 2 invalid)."""
    from cartrial.analysis.outcomes import underived_endpoints
    from cartrial.protocol import load_protocol
    from cartrial.tabular import dumps_json

    try:
        protocol = load_protocol(file)
    except InputError as exc:
        if not as_json:
            raise
        typer.echo(
            dumps_json({"file": str(file), "valid": False, "problems": [p.as_dict() for p in exc.problems]})
        )
        raise typer.Exit(2) from None
    facts: dict[str, Any] = {
        "study_id": protocol.study.id,
        "dose_levels": protocol.n_dose_levels,
        "design": protocol.escalation.design.value,
        "criteria": len(protocol.eligibility.criteria),
        "visits": len(protocol.schedule.visits),
        "endpoints": len(protocol.endpoints),
    }
    underived = underived_endpoints(protocol)  # D-19.202
    if as_json:
        facts["endpoints_not_derived"] = underived
        typer.echo(dumps_json({"file": str(file), "valid": True, "problems": [], **facts}))
        return
    terminal().print(
        f"[green]ok[/]: {file} is a valid protocol ({facts['study_id']}: {facts['dose_levels']} dose levels, "
        f"design {facts['design']}, {facts['criteria']} eligibility criteria, {facts['visits']} visits, "
        f"{facts['endpoints']} endpoints)"
    )
    if underived:
        named = ", ".join(f"{key} (measure {protocol.endpoints[key].measure})" for key in underived)
        terminal().print(
            f"note: {len(underived)} endpoint(s) not derived by cartrial (no form or engine derives their "
            f"measure; `analyse` and the report name them as such): {named}",
            markup=False,
        )


def print_summary(console: Console, protocol: Protocol, summary: dict[str, Any], full: bool = True) -> None:
    """Rich rendering of `protocol_summary` output."""
    from cartrial.rounding import exact_text

    study = protocol.study
    console.rule(f"[bold]{study.id}[/] — {study.title}")
    console.print(
        f"{study.indication}; {study.phase}; sponsor {study.sponsor}; registry {study.registry_id or '-'}; "
        f"product {study.product.name} (target {study.product.target_antigen})"
    )
    doses = Table(title="Dose levels and worked doses (total CAR+ T cells)")
    # one row per level and weight, so the table fits 80 columns (Rich's width when piped) without cutting a
    # dose: a column per weight, unwrapped, made Rich shrink the level and label columns to nothing and cut
    # the doses with "…" (D-19.1015 as amended). A column narrower than its text folds, it is never cut.
    doses.add_column("level", min_width=5, overflow="fold")
    doses.add_column("label", min_width=8, max_width=16, overflow="fold")
    doses.add_column("cells/kg", justify="right", overflow="fold")
    doses.add_column("weight kg", justify="right", overflow="fold")
    doses.add_column("total cells, volume", justify="right", overflow="fold")
    weights = sorted({row["weight_kg"] for row in summary["worked_doses"]})
    for level in protocol.dose_levels:
        for index, weight in enumerate(weights):
            row = next(
                r for r in summary["worked_doses"] if r["level"] == level.level and r["weight_kg"] == weight
            )
            if "error" in row:
                text = "outside bounds"
            else:
                text = _cells(row["total_cells"])
                if row["cap_applied"]:
                    text += " (cap)"
                if row["volume_ml"] is not None:
                    text += f", {exact_text(row['volume_ml'])} mL"  # not `:g`'s six digits (D-19.1015)
            first = index == 0
            doses.add_row(
                str(level.level) if first else "",
                escape(level.label) if first else "",
                _cells(level.cells_per_kg) if first else "",
                exact_text(weight),
                text,
                end_section=index == len(weights) - 1,
            )
    console.print(doses)
    console.print(f"[dim]rounding: {summary['dose_rounding']['rule']}[/]")
    example = summary["lymphodepletion_example"]
    if example is not None:
        lympho = Table(
            title=f"Lymphodepletion for a patient of BSA {example['bsa_m2']:.3f} m² ({example['bsa_source']})"
        )
        for column in ("agent", "mg/m²/day", "days", "mg/day", "course total mg"):
            lympho.add_column(column, justify="left" if column in ("agent", "days") else "right")
        assert protocol.lymphodepletion is not None
        for agent in protocol.lymphodepletion.agents:
            rows = [d for d in example["doses"] if d["agent"] == agent.name]
            daily = rows[0]["dose_mg"]
            cap = " (cap)" if rows[0]["cap_applied"] else ""
            lympho.add_row(
                agent.name,
                exact_text(agent.dose_mg_per_m2_per_day),
                ", ".join(str(d) for d in sorted(agent.days)),
                # the dose computed, every digit: `:.1f` showed 30.45 mg as 30.4 (D-19.1018)
                f"{exact_text(daily)}{cap}",
                exact_text(example["course_total_mg"][agent.name]),
            )
        console.print(lympho)
        for agent in protocol.lymphodepletion.agents:
            if agent.renal_adjustment:
                tiers = "; ".join(tier.describe() for tier in agent.renal_adjustment)
                applied = next(d["renal_rule"] for d in example["doses"] if d["agent"] == agent.name)
                console.print(
                    f"[dim]{escape(agent.name)} renal tiers: {escape(tiers)} — {escape(applied)}[/]"
                )
    esc = protocol.escalation
    params = ", ".join(
        f"{k}={v}" for k, v in summary["escalation"]["parameters"].items() if k != "design" and v is not None
    )
    console.print(f"[bold]Escalation[/]: {esc.design.value} ({params})")
    if protocol.expansion is not None:
        console.print(
            f"[bold]Expansion[/]: {protocol.expansion.n_patients} patients at dose level "
            f"{protocol.expansion.dose_level} ({protocol.dose_level(protocol.expansion.dose_level).label})"
        )
    dlt = Table(title=f"DLT rules (window {esc.dlt_window_days} days)")
    dlt.add_column("id", no_wrap=True)
    dlt.add_column("description")
    for rule in esc.dlt_rules:
        dlt.add_row(escape(rule.id), escape(rule.description))
    console.print(dlt)
    if not full:
        return
    schedule = Table(title="Schedule of assessments (day 0 = infusion)")
    for column in ("visit", "day", "window", "assessments"):
        schedule.add_column(column)
    for visit in protocol.schedule.visits:
        schedule.add_row(
            escape(visit.name),
            str(visit.study_day),
            f"-{visit.window_minus_days}/+{visit.window_plus_days}",
            ", ".join(a.value for a in visit.assessments),
        )
    for extra in protocol.schedule.unscheduled:
        schedule.add_row(
            escape(extra.name), "event", escape(extra.trigger), ", ".join(a.value for a in extra.assessments)
        )
    console.print(schedule)
    eligibility = Table(title="Eligibility")
    eligibility.add_column("id", no_wrap=True)
    for column in ("kind", "criterion", "rule"):
        eligibility.add_column(column)
    for criterion in protocol.eligibility.criteria:
        eligibility.add_row(
            escape(criterion.id), criterion.kind.value, escape(criterion.text), criterion.rule.type
        )
    console.print(eligibility)
    endpoints = Table(title="Endpoints")
    for column in ("key", "name", "kind", "role", "timepoints"):
        endpoints.add_column(column)
    for key, spec in protocol.endpoints.items():
        endpoints.add_row(
            key, escape(spec.name), spec.kind.value, spec.role.value, ", ".join(spec.timepoints)
        )
    console.print(endpoints)


@protocol_app.command("show", epilog=SHOW_EXAMPLE)
def show(
    file: Path = typer.Argument(..., help="Protocol YAML file."),
    bsa: float | None = typer.Option(
        None,
        "--bsa",
        help=f"BSA (m², 0.1-5) for the lymphodepletion example (default {REFERENCE_BSA_HELP_M2}).",
    ),
    weight: float | None = typer.Option(
        None, "--weight", help="Weight (kg, 1-500): added to the worked doses; with --height gives the BSA."
    ),
    height: float | None = typer.Option(
        None, "--height", help="Height (cm, 30-272), with --weight, for the BSA."
    ),
    bsa_method: BsaMethodName | None = typer.Option(
        None, "--bsa-method", help="BSA formula (default: the protocol's)."
    ),
    crcl: float | None = typer.Option(
        None,
        "--crcl",
        help="Creatinine clearance (mL/min, 0-400) for the lymphodepletion example: applies the agents' "
        "renal dose tiers.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Summarise a protocol: worked doses, lymphodepletion, schedule, eligibility, DLT rules, endpoints."""
    from dataclasses import replace

    from cartrial.protocol import BsaMethod, dose_for, load_protocol, protocol_summary
    from cartrial.protocol.summary import WORKED_WEIGHTS_KG
    from cartrial.tabular import dumps_json

    protocol = load_protocol(file)
    if height is not None and weight is None:
        raise InputError(Problem("--height needs --weight to compute the BSA", field="--height"))
    if bsa is not None and height is not None:
        raise InputError(Problem("give --bsa or --weight with --height, not both", field="--bsa"))
    for name, value in (("--weight", weight), ("--height", height), ("--bsa", bsa), ("--crcl", crcl)):
        if value is not None and not math.isfinite(value):
            raise InputError(
                Problem("not a finite number", field=name, value=value, allowed="a positive number")
            )
    weights = list(WORKED_WEIGHTS_KG)
    if weight is not None and weight not in weights:
        weights.append(weight)
    try:
        summary = protocol_summary(
            protocol,
            weights_kg=weights,
            bsa_m2=bsa,
            weight_kg=weight if height is not None else None,
            height_cm=height,
            bsa_method=None if bsa_method is None else BsaMethod(bsa_method),
            creatinine_clearance_ml_min=crcl,
        )
    except InputError as exc:  # name the option the user typed, every patient value (D-19.1017, D-19.1047)
        options = {
            "creatinine_clearance_ml_min": "--crcl",
            "bsa_m2": "--bsa",
            "weight_kg": "--weight",
            "height_cm": "--height",
            "bsa_method": "--bsa-method",
        }
        raise InputError(
            [replace(p, field=options.get(p.field or "", p.field)) for p in exc.problems]
        ) from None
    if weight is not None:
        # the patient's own weight must be valid for every level (the standard weights may fall outside a
        # level's bounds and are then shown as such)
        for level in protocol.dose_levels:
            try:
                dose_for(protocol, weight, level=level.level)
            except InputError as exc:
                raise InputError([replace(p, field="--weight") for p in exc.problems]) from None
    if as_json:
        typer.echo(dumps_json({"file": str(file), **summary}))
        return
    print_summary(terminal(), protocol, summary)


def print_screening(console: Console, result: ScreeningResult) -> None:
    """Rich table of one candidate's screening result."""
    date_text = result.screening_date.isoformat() if result.screening_date else "unknown"
    table = Table(
        title=f"{escape(result.candidate_id)}: [{VERDICT_STYLE[result.verdict]}]{result.verdict.value}[/] "
        f"(screening date {date_text}, {result.screening_date_source})",
        show_lines=False,
    )
    table.add_column("criterion", no_wrap=True)
    for column in ("kind", "status", "reason"):
        table.add_column(column, overflow="fold")
    for item in result.criteria:
        reason = item.reason + (f" [missing: {', '.join(item.missing)}]" if item.missing else "")
        table.add_row(
            escape(item.id),
            item.kind.value,
            f"[{STATUS_STYLE[item.status]}]{item.status.value}[/]",
            escape(reason),
        )
    console.print(table)
    if result.unused_answers:
        console.print(
            f"[yellow]note[/]: answers for {escape(', '.join(result.unused_answers))} were not used "
            "(no manual criterion with that id)"
        )


def screen_files(
    protocol_file: Path, candidate_files: list[Path], screening_date: dt.date | None = None
) -> tuple[Protocol, list[ScreeningResult]]:
    """Load the protocol and every candidate (all problems of all files at once), then screen each."""
    from cartrial.protocol import load_candidate, load_protocol, screen
    from cartrial.protocol.candidate import screening_date_problem

    given = None if screening_date is None else screening_date_problem(screening_date, "--screening-date")
    if given is not None:  # the option is wrong for every candidate: said once
        raise InputError(given)
    protocol = load_protocol(protocol_file)
    problems: list[Problem] = []
    candidates: list[tuple[Path, Candidate]] = []
    first_file: dict[str, Path] = {}
    for path in candidate_files:
        try:
            candidate = load_candidate(path)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        if candidate.id in first_file:
            problems.append(
                Problem(
                    f"candidate id {candidate.id!r} is also used by {first_file[candidate.id]}",
                    file=str(path),
                    field="id",
                    value=candidate.id,
                    allowed="one file per candidate id",
                )
            )
            continue
        first_file[candidate.id] = path
        candidates.append((path, candidate))
    results = []
    for path, candidate in candidates:
        try:
            results.append(screen(protocol, candidate, screening_date))
        except InputError as exc:  # the given date before this candidate's birth: at the candidate's file
            problems.extend(replace(p, file=str(path), field="--screening-date") for p in exc.problems)
    if problems:
        raise InputError(problems, header=f"{len(problems)} problem(s) in the candidate files")
    return protocol, results


def screening_payload(
    protocol_file: Path, protocol: Protocol, results: list[ScreeningResult]
) -> dict[str, Any]:
    return {
        "protocol_file": str(protocol_file),
        "protocol_id": protocol.study.id,
        "verdicts": {r.candidate_id: r.verdict.value for r in results},
        "results": [r.to_dict() for r in results],
    }


def _parse_date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    from cartrial.columns import iso_date

    return iso_date(text, "--screening-date")


def screen_command(
    protocol_file: Path = typer.Argument(..., help="Protocol YAML file."),
    candidates: list[Path] = typer.Argument(..., help="Candidate files (YAML or JSON)."),
    screening_date: str | None = typer.Option(
        None, "--screening-date", help="Screening date YYYY-MM-DD (overrides each candidate's)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    out: Path | None = typer.Option(None, "--out", help="Also write the JSON results to this file."),
) -> None:
    """Screen candidates against a protocol's eligibility criteria (a report: exit 0 even if not eligible)."""
    from cartrial.tabular import dumps_json, write_atomic

    day = _parse_date(screening_date)
    protocol, results = screen_files(protocol_file, candidates, day)
    payload = screening_payload(protocol_file, protocol, results)
    if out is not None:
        write_atomic(out, dumps_json(payload) + "\n")
    if as_json:
        typer.echo(dumps_json(payload))
        return
    console = terminal()
    for result in results:
        print_screening(console, result)


def register(app: typer.Typer) -> None:
    """Add ``protocol check|show`` and ``screen`` to the root app."""
    app.add_typer(protocol_app, name="protocol", help=PROTOCOL_HELP)
    app.command("screen", help=SCREEN_HELP, epilog=SCREEN_EXAMPLE)(screen_command)
