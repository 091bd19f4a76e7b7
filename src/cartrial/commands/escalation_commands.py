"""CLI for dose escalation: `cartrial escalate next | table | paths | simulate`.

Thin layer: parse options, assemble the design (`cartrial.escalation.assemble_design`, the one assembly
point), call the engine, print a rich table or JSON. Every design option is declared once in
`cartrial.protocol.design_options.DESIGN_OPTIONS`; `_with_design_options` turns the registry into the
command's flags. Bad input raises `InputError` (exit 2) naming the option as typed. Engines are imported
inside the command functions (fast start-up).
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from cartrial.allowed import check_seed
from cartrial.commands.option_names import OPTION_DIGITS, names_cli_arguments, option_numbers, seed_option
from cartrial.commands.terminal import terminal
from cartrial.errors import InputError, Problem
from cartrial.protocol.design_options import (
    DAYS,
    DESIGN_OPTIONS,
    DESIGNS,
    DOSES,
    TARGET,
    DesignOption,
    check_options,
)

if TYPE_CHECKING:
    from rich.console import Console

    from cartrial.escalation import Fit, OperatingCharacteristics

escalate_app = typer.Typer(
    help="Dose escalation: next dose, decision tables, dose pathways, operating characteristics, replay of "
    "recorded decisions.",
    no_args_is_help=True,
    epilog=(
        'Example: [bold]cartrial escalate next --design boin --target 0.3 --doses 5 --outcomes "1NNN 2NTN"[/]'
    ),
)

DESIGN = typer.Option(..., "--design", help=f"Design: {' | '.join(DESIGNS)}.")
FOLLOWUP = typer.Option(None, "--followup", help="TITE-CRM: follow-up days per patient (DLT: time to DLT).")
JSON = typer.Option(False, "--json", help="Print JSON instead of tables.")

# Engine field names -> the CLI option the user typed, so that every error names the argument.
_CLI_NAMES: dict[str, str] = {
    **{option.name: option.flag for option in DESIGN_OPTIONS},
    "design": "--design",
    "doses": "--doses",
    "outcomes": "--outcomes",
    "cohorts": "--cohorts",
    "trials": "--trials",
    "truth": "--truth",
    "followup": "--followup",
    "window_days": "--window",
    "scheme": "--tite-scheme",
    "accrual_days": "--accrual-days",
    "seed": "--seed",
    "mtd_target": "--mtd-target",
    "trials_out": "--trials-out",
    "eps1/eps2": "--eps1/--eps2",
}

_Command = TypeVar("_Command", bound=Callable[..., None])
_TYPES: dict[str, Any] = {
    "float": float | None,
    "int": int | None,
    "choice": str | None,
    "floats": str | None,
}


_names_cli_arguments = names_cli_arguments(_CLI_NAMES)
"""Re-raise engine `InputError`s with the CLI option names (``--target``, not ``target``)."""


def _cli_parameter(option: DesignOption) -> inspect.Parameter:
    if option.kind == "bool" and option.off_flag is not None:
        # a flag pair whose default is the registry's (None = not given; `--no-skip/--allow-skip`)
        default: Any = typer.Option(None, f"{option.flag}/{option.off_flag}", help=option.help)
        annotation: Any = bool | None
    elif option.kind == "bool":
        default = typer.Option(False, option.flag, help=option.help)
        annotation = bool
    else:
        each = "each value " if option.kind == "floats" else ""
        allowed = f" Allowed: {each}{option.rule.text()}." if option.kind != "choice" else ""
        default = typer.Option(None, option.flag, help=option.help + allowed)
        annotation = _TYPES[option.kind]
    return inspect.Parameter(
        option.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


def _with_design_options(
    exclude: Iterable[str] = (), only: Callable[[DesignOption], bool] | None = None
) -> Callable[[_Command], _Command]:
    """Add one flag per registry option to the command; the command receives them as `design_options`."""
    skipped = set(exclude)
    chosen = [o for o in DESIGN_OPTIONS if o.name not in skipped and (only is None or only(o))]

    def decorate(command: _Command) -> _Command:
        signature = inspect.signature(command, eval_str=True)
        own = [p for p in signature.parameters.values() if p.name != "design_options"]
        names = {o.name for o in chosen}

        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> None:
            values = {name: kwargs.pop(name) for name in list(kwargs) if name in names}
            if values.get("skeleton") is not None:
                values["skeleton"] = _floats(values["skeleton"], "--skeleton")
            command(*args, design_options=values, **kwargs)

        wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*own, *(_cli_parameter(o) for o in chosen)]
        )
        return wrapper  # type: ignore[return-value]

    return decorate


def register(app: typer.Typer) -> None:
    """Add the `escalate` command group to the root app."""
    app.add_typer(escalate_app, name="escalate")


def _floats(text: str | None, field: str) -> list[float] | None:
    if text is None:
        return None
    parts = text.split(",")
    try:
        values = option_numbers(parts)  # one vectorised reading (a long list is not one call per item)
    except ValueError:
        values = []
        for part in parts:  # the first part that is no number, located as before (an error path only)
            try:
                values.extend(option_numbers([part]))
            except ValueError:
                raise InputError(
                    Problem(
                        "not a number",
                        field=field,
                        value=part.strip(),
                        allowed=f"comma-separated numbers in {OPTION_DIGITS}",
                    )
                ) from None
            if not math.isfinite(values[-1]):
                break
    for part, value in zip(parts, values, strict=False):
        if not math.isfinite(value):
            raise InputError(
                Problem("not a finite number", field=field, value=part.strip(), allowed="finite")
            )
    return values


def _tite_only(design: str, *options: tuple[str, Any]) -> None:
    """Refuse TITE-CRM run options given with another design (they would be silently ignored)."""
    if design == "tite-crm":
        return
    for name, value in options:
        if value is not None:
            raise InputError(
                Problem(
                    f"{name} applies to the tite-crm design only",
                    field=name,
                    value=value,
                    allowed="--design tite-crm",
                )
            )


def _fit_table(fit: Fit) -> Any:
    from rich.table import Table

    table = Table(title=f"{fit.design}: per-dose data and toxicity estimates")
    for column in ("level", "n", "DLT", "estimate", "interval", "status"):
        table.add_column(column)
    for est in fit.estimates:
        status = "eliminated" if est.dose_level in fit.eliminated else ""
        if est.dose_level == fit.next_dose:
            status = (status + " next").strip()
        interval = (
            f"{est.lower:.3f}-{est.upper:.3f}" if est.lower is not None and est.upper is not None else ""
        )
        value = f"{est.estimate:.3f}" if est.estimate is not None else ""
        table.add_row(str(est.dose_level), str(est.n), str(est.dlt), value, interval, status)
    # which interval (CRM 90 %, interval designs and 3+3 95 %): the estimates' method says (D-19.395)
    method = next((e.method for e in fit.estimates if e.lower is not None), None)
    if method is not None:
        table.caption = f"estimate and interval: {method}"
    return table


def print_fit(console: Console, fit: Fit) -> None:
    """Print a fitted design: per-dose table, reasons, next dose and the final MTD estimate."""
    mtd = fit.select_mtd()
    console.print(_fit_table(fit))
    console.print(f"outcomes: {fit.outcomes or '(none)'}")
    for reason in fit.reasons:
        console.print(f"  {reason}")
    verdict = f"next dose: [bold]{fit.next_dose}[/]" if fit.next_dose is not None else "next dose: none"
    console.print(
        f"{verdict}; continue: {'yes' if fit.continue_ else 'no'}; admissible: {list(fit.admissible)}"
    )
    if not fit.continue_ and mtd.dose_level is not None:  # stopped with a dose: it is the recommendation
        console.print(f"the trial has stopped; MTD (recommended dose): {mtd.dose_level} — {mtd.rule}")
        return
    level = "none" if mtd.dose_level is None else mtd.dose_level
    console.print(f"final MTD estimate (not the next dose): {level} — {mtd.rule}")


def _history(outcomes: str, doses: int, followup: str | None) -> Any:
    from cartrial.escalation import parse_outcomes

    history = parse_outcomes(outcomes, doses, field="--outcomes")
    followup_days = _floats(followup, "--followup")
    if followup_days is not None:
        history = history.with_followup(followup_days)
    return history


@escalate_app.command(
    "next",
    epilog=(
        'Example: [bold]cartrial escalate next --design boin --target 0.3 --doses 5 --outcomes "1NNN 2NTN"[/]'
    ),
)
@_names_cli_arguments
@_with_design_options()
def next_command(
    design: str = DESIGN,
    doses: int = typer.Option(..., "--doses", help=f"Number of dose levels K ({DOSES.text()})."),
    outcomes: str = typer.Option("", "--outcomes", help='Outcomes so far, e.g. "1NNN 2NTN".'),
    followup: str | None = FOLLOWUP,
    as_json: bool = JSON,
    design_options: dict[str, Any] | None = None,
) -> None:
    """Recommend the next dose after the outcomes so far (and, separately, the current MTD estimate)."""

    from cartrial.escalation import assemble_design
    from cartrial.tabular import dumps_json

    _tite_only(design, ("--followup", followup))
    built = assemble_design(design, doses, design_options)
    fit = built.fit(_history(outcomes, doses, followup))
    if as_json:
        typer.echo(dumps_json(fit.as_dict()))
        return
    print_fit(terminal(), fit)


def _table_option(option: DesignOption) -> bool:
    return not option.behaviour and bool(option.designs & {"3+3", "boin", "mtpi2", "i3+3"})


@escalate_app.command(
    "table", epilog="Example: [bold]cartrial escalate table --design boin --target 0.3 --max-n 12[/]"
)
@_names_cli_arguments
@_with_design_options(only=_table_option)
def table_command(
    design: str = DESIGN,
    max_n: int = typer.Option(
        ..., "--max-n", help="Largest number of patients at a dose to tabulate (one cohort to 200)."
    ),
    doses: int | None = typer.Option(
        None, "--doses", help="Number of dose levels (does not change the table)."
    ),
    as_json: bool = JSON,
    design_options: dict[str, Any] | None = None,
) -> None:
    """Decision table: escalate / stay / de-escalate / eliminate by patients and DLTs at the current dose."""
    from rich.table import Table

    from cartrial.escalation import assemble_design, decision_table
    from cartrial.tabular import dumps_json

    # the design kind first, then --max-n by `decision_table`'s one bound (cohort size to 200; D-19.1118)
    if design in ("crm", "tite-crm"):
        raise InputError(
            Problem(
                "a CRM decision depends on every dose's data, so it has no (n, DLT) decision table; "
                "use `cartrial escalate paths` to see its decisions",
                field="--design",
                value=design,
                allowed="3+3, boin, mtpi2, i3+3",
            )
        )
    options = dict(design_options or {})
    cohort_size = options.get("cohort_size")
    # `doses or 5` would take --doses 0 for "not given": an explicit value is checked like every --doses
    built = assemble_design(design, 5 if doses is None else doses, options)
    table = decision_table(built, max_n, cohort_size if design != "3+3" else 3)
    if as_json:
        typer.echo(dumps_json(table.as_dict()))
        return
    console = terminal()
    out = Table(title=f"{table.design} decision table")
    out.add_column("number treated")
    for row in table.rows:
        out.add_column(str(row.n))
    for label, attr in (
        ("escalate if DLTs <=", "escalate_max"),
        ("de-escalate if DLTs >=", "deescalate_min"),
        ("eliminate if DLTs >=", "eliminate_min"),
    ):
        out.add_row(label, *[_na(getattr(r, attr)) for r in table.rows])
    console.print(out)
    for row in table.rows:
        console.print(f"n={row.n}: " + " ".join(f"{y}:{c}" for y, c in enumerate(row.decisions)))
    console.print("codes: " + "; ".join(f"{k} = {v}" for k, v in table.legend.items()))


def _na(value: int | None) -> str:
    return "NA" if value is None else str(value)


@escalate_app.command(
    "paths",
    epilog="Example: [bold]cartrial escalate paths --design 3+3 --doses 3 --outcomes 1NNN --cohorts 2[/]",
)
@_names_cli_arguments
@_with_design_options()
def paths_command(
    design: str = DESIGN,
    doses: int = typer.Option(..., "--doses", help=f"Number of dose levels K ({DOSES.text()})."),
    outcomes: str = typer.Option("", "--outcomes", help='Outcomes so far, e.g. "1NNN 2NTN".'),
    cohorts: int = typer.Option(
        ..., "--cohorts", help="Number of future cohorts to enumerate (1 to 6; at most 50,000 pathways)."
    ),
    followup: str | None = FOLLOWUP,
    as_json: bool = JSON,
    design_options: dict[str, Any] | None = None,
) -> None:
    """Dose-transition pathways: every outcome of the next k cohorts and the decision after each."""
    from rich.table import Table

    from cartrial.escalation import assemble_design, dose_pathways
    from cartrial.tabular import dumps_json

    _tite_only(design, ("--followup", followup))
    options = dict(design_options or {})
    # the design refuses a bad --cohort-size (and a 3+3 one other than 3); `dose_pathways` a bad --cohorts
    # and too many pathways, before enumerating any
    built = assemble_design(design, doses, options)
    paths = dose_pathways(built, _history(outcomes, doses, followup), cohorts, options.get("cohort_size"))
    if as_json:
        typer.echo(dumps_json(paths.as_dict()))
        return
    console = terminal()
    print_fit(console, paths.current)
    out = Table(title=f"dose-transition pathways, next {cohorts} cohort(s)")
    out.add_column("path")
    out.add_column("next doses")
    for path in paths.paths:
        out.add_row(
            " ".join(f"{s.dose_level}{s.outcome}" for s in path),
            " → ".join("stop" if not s.continue_ else str(s.next_dose) for s in path),
        )
    console.print(out)


@escalate_app.command(
    "simulate",
    epilog=(
        "Example: [bold]cartrial escalate simulate --design 3+3 --truth 0.05,0.15,0.30,0.45,0.60 --exact[/]"
    ),
)
@_names_cli_arguments
@_with_design_options()
def simulate_command(
    design: str = DESIGN,
    truth: str = typer.Option(..., "--truth", help="True DLT probability per dose, comma-separated."),
    cohorts: int | None = typer.Option(
        None,
        "--cohorts",
        help="Maximum number of cohorts (1..1000; default: ceil(--max-n / cohort size) with --max-n, "
        "else 10).",
    ),
    trials: int = typer.Option(
        10000, "--trials", help="Number of simulated trials (Monte Carlo; 1..1,000,000)."
    ),
    seed: int = seed_option(0),
    exact: bool = typer.Option(False, "--exact", help="Exact enumeration instead of Monte Carlo (3+3 only)."),
    mtd_target: float | None = typer.Option(
        None,
        "--mtd-target",
        help=f"Toxicity defining the true MTD ({TARGET.text()}; default: the design's target, 3+3: 0.3).",
    ),
    accrual_days: float | None = typer.Option(
        None,
        "--accrual-days",
        help=f"TITE-CRM: days between consecutive cohorts (simulation); allowed: {DAYS.text()}.",
    ),
    trials_out: Path | None = typer.Option(
        None,
        "--trials-out",
        help="Write one CSV row per simulated trial (MTD, stop reason, n and DLTs per dose).",
    ),
    as_json: bool = JSON,
    design_options: dict[str, Any] | None = None,
) -> None:
    """Operating characteristics under a true toxicity scenario (Monte Carlo, or exact for 3+3)."""
    from rich.progress import Progress

    from cartrial.escalation import assemble_design, exact_three_plus_three, simulate
    from cartrial.escalation.simulation import (
        check_simulation_size,
        check_truth,
        cohorts_for_max_n,
        exact_unsupported,
    )
    from cartrial.escalation.three_plus_three import ThreePlusThree
    from cartrial.tabular import csv_text, dumps_json, write_atomic

    _tite_only(design, ("--accrual-days", accrual_days))
    options = dict(design_options or {})
    if design == "tite-crm" and options.get("safety_stop") is not None:  # D-19.480
        raise InputError(
            Problem(
                "the tite-crm simulation has no safety stop (its weighted posterior is not evaluated per "
                "simulated cohort); --safety-stop applies to escalate next with tite-crm, and to simulate "
                "with crm",
                field="--safety-stop",
                value=options["safety_stop"],
                allowed="--design crm | no --safety-stop",
            )
        )
    truth_values = _floats(truth, "--truth") or []
    skeleton_values = options.get("skeleton")
    if skeleton_values is not None and len(truth_values) != len(skeleton_values):
        raise InputError(
            Problem(
                "the truth needs one probability per dose level",
                field="--truth",
                value=len(truth_values),
                allowed=f"{len(skeleton_values)} values (as the skeleton)",
            )
        )
    if not exact and cohorts is not None:
        check_simulation_size(trials, cohorts, options.get("cohort_size") or 3)
    check_truth(truth_values, len(truth_values))  # before the progress bar starts
    check_seed(seed, "--seed")
    if accrual_days is not None:
        DAYS.check("accrual_days", accrual_days)  # the engine's declaration, before the progress bar
    if design == "3+3" and options.get("target") is not None:
        target = options.pop("target")
        check_options({"target": target})
        if mtd_target is None:
            mtd_target = target  # 3+3 has no target of its own: --target defines the true MTD for the report
    cohort_size = options.get("cohort_size")
    built = assemble_design(design, len(truth_values), options)  # refuses a 3+3 cohort size other than 3
    # without --cohorts, enough for --max-n; a --cohorts that cannot reach it is refused (D-19.481)
    cohorts = cohorts_for_max_n(
        cohorts,
        cohort_size or built.cohort_size,
        options.get("max_n"),
        ("--cohorts", "--cohort-size", "--max-n"),
    )
    if not exact:
        check_simulation_size(trials, cohorts, cohort_size or built.cohort_size)
    if exact:
        if not isinstance(getattr(built, "inner", built), ThreePlusThree) or exact_unsupported(built):
            raise InputError(
                Problem(
                    "--exact is available for the 3+3 design without behaviours only (the default "
                    "no-skipping rule changes no 3+3 decision)",
                    field="--exact",
                    value=design,
                    allowed="--design 3+3",
                )
            )
        if trials_out is not None:
            raise InputError(
                Problem(
                    "exact enumeration has no simulated trials to write",
                    field="--trials-out",
                    value=str(trials_out),
                    allowed="Monte Carlo (without --exact)",
                )
            )
        oc = exact_three_plus_three(built, truth_values, mtd_target=mtd_target)
    else:
        with Progress(transient=True, disable=as_json, console=terminal(stderr=True)) as bar:
            task = bar.add_task(f"simulating {trials} trials", total=1)

            def advance(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            oc = simulate(
                built,
                truth_values,
                cohorts=cohorts,
                trials=trials,
                seed=seed,
                cohort_size=cohort_size,
                mtd_target=mtd_target,
                progress=advance,
                accrual_days=accrual_days,
                keep_trials=trials_out is not None,
            )
    if trials_out is not None:
        write_atomic(trials_out, csv_text(oc.trials_table()))
    if as_json:
        typer.echo(dumps_json(oc.as_dict()))
        return
    print_oc(
        terminal(), oc, cap=None if exact else _cap_text(built, cohorts, cohort_size or built.cohort_size)
    )


def _cap_text(design: Any, cohorts: int, size: int) -> str:
    """``at most N patients per trial (C cohorts of S[, --max-n M])`` (D-19.481), of the cohorts
    `simulate` runs (`simulated_cohorts`)."""
    from cartrial.escalation.simulation import simulated_cohorts

    cohorts = simulated_cohorts(design, cohorts)
    max_n = getattr(design, "max_n", None)
    most = cohorts * size if max_n is None else min(cohorts * size, max_n)
    return f"at most {most} patients per trial ({cohorts} cohorts of {size}" + (
        f", --max-n {max_n})" if max_n is not None else ")"
    )


@escalate_app.command(
    "replay",
    epilog=(
        "Example: [bold]cartrial escalate replay --decisions "
        "examples/ct103a-nmosd/study/escalation_decisions.csv --infusions "
        "examples/ct103a-nmosd/study/infusions.csv --protocol examples/ct103a-nmosd/protocol.yaml[/]"
    ),
)
@_names_cli_arguments
def replay_command(
    decisions: Path = typer.Option(..., "--decisions", help="Recorded decisions (escalation_decisions.csv)."),
    infusions: Path = typer.Option(..., "--infusions", help="Infusions (infusions.csv)."),
    protocol_file: Path = typer.Option(..., "--protocol", help="The study protocol (YAML)."),
    dlts: Path | None = typer.Option(
        None,
        "--dlts",
        help="Optional DLT assessment per subject (CSV: subject_id, dlt; optional evaluable: false for a "
        "patient replaced as not DLT-evaluable, who takes no outcome letter; optional dlt_onset_day: the "
        "DLT's day after the infusion, day 0 = infusion, which a TITE-CRM counts from).",
    ),
    out: Path | None = typer.Option(None, "--out", help="Write the table to this file instead of stdout."),
    as_json: bool = JSON,
) -> None:
    """Check recorded escalation decisions against the protocol: DLT window complete for every patient of
    the cohort, next cohort treated after the decision, the sentinel interval (stagger_days) kept, decision
    as the protocol's design gives it. Every protocol deviation is listed (column `deviation`)."""

    from cartrial.escalation import replay_decisions
    from cartrial.escalation.conduct import deviation_count_note
    from cartrial.protocol import load_protocol
    from cartrial.tabular import emit_table, read_csv

    result = replay_decisions(
        read_csv(decisions, required=("cohort", "dose_level", "decided_on", "outcomes", "decision")),
        read_csv(infusions, required=("subject_id", "dose_level", "infused_at")),
        read_csv(dlts, required=("subject_id", "dlt"), header_only=True) if dlts is not None else None,
        load_protocol(protocol_file),
        decisions_file=decisions,
        infusions_file=infusions,
        dlts_file=dlts or "dlts",
    )
    emit_table(result.table, out, as_json, extra=result.metadata() if as_json else None)
    deviations = int((result.table["deviation"] != "").sum())
    terminal(stderr=True).print(deviation_count_note(deviations, len(result.table)))


def print_oc(
    console: Console, oc: OperatingCharacteristics, title: str | None = None, cap: str | None = None
) -> None:
    """Print operating characteristics: per-dose table (with Monte Carlo standard errors) and summaries;
    `cap`: the largest trial in words, when the caller knows it (D-19.481)."""
    from rich.table import Table

    from cartrial.escalation.simulation import early_stop_text

    how = "exact enumeration" if oc.method == "exact" else f"{oc.trials} simulated trials, seed {oc.seed}"
    table = Table(title=title or f"{oc.design} operating characteristics ({how})")
    for column in ("level", "true p(DLT)", "selected %", "mean n", "mean DLT"):
        table.add_column(column)
    for i, p in enumerate(oc.truth):
        table.add_row(
            str(i + 1),
            f"{p:.2f}",
            f"{oc.selection_pct[i]:.1f}",
            f"{oc.mean_n[i]:.2f}",
            f"{oc.mean_dlt[i]:.2f}",
        )
    console.print(table)
    console.print(
        f"no MTD: {oc.no_mtd_pct:.1f}%; {early_stop_text(f'{oc.early_stop_pct:.1f}%', oc.safety_stop)}; "
        f"mean total n: {oc.total_n:.2f}; patients at levels with true p(DLT) > {oc.mtd_target}: "
        f"{oc.pct_treated_above_mtd:.1f}% (true MTD: {'none' if oc.true_mtd is None else oc.true_mtd}, the "
        f"highest level with true p(DLT) ≤ {oc.mtd_target}); {oc.seconds:.3f} s" + (f"; {cap}" if cap else "")
    )
    if not oc.truth_non_decreasing:
        console.print(
            "note: the true p(DLT) falls with dose in this scenario, which the designs assume it never does "
            "(a robustness scenario); each level is counted by its own true p(DLT)"
        )
    if oc.method == "monte_carlo" and oc.total_n_se is not None:
        from cartrial.simulation.oc import proportion_text, shows_exact_interval

        trials = oc.trials or 0
        no_mtd = f"no MTD {oc.no_mtd_se_pct:.2f}%"
        if shows_exact_interval(oc.no_mtd_pct, oc.no_mtd_se_pct, trials):  # SE 0 says nothing
            no_mtd = f"no MTD {proportion_text(oc.no_mtd_pct, oc.no_mtd_se_pct, trials)}"
        console.print(
            f"Monte Carlo standard errors: {_selection_se_text(oc)}; "
            f"{no_mtd}; mean total n {oc.total_n_se:.3f}; "
            f"at levels above the target {oc.pct_treated_above_mtd_se:.2f}%"
        )


def _selection_se_text(oc: Any) -> str:
    """The Monte Carlo error of the per-level selection %: the largest binomial SE over the levels selected
    in some but not all trials, and, for the levels selected in none or in all, the count and the exact
    95 % interval (`cartrial.simulation.oc.proportion_text`) instead of an SE of 0.00, which says nothing
    (decisions D-19.393)."""
    from cartrial.simulation.oc import proportion_text, shows_exact_interval

    n = int(oc.trials or 0)
    pairs = list(zip(oc.selection_pct, oc.selection_se_pct, strict=True))
    parts = []
    live = [se for pct, se in pairs if not shows_exact_interval(pct, se, n)]
    if live:
        parts.append(f"selected % ≤ {max(live):.2f}")
    for level, (pct, se) in enumerate(pairs, start=1):
        if shows_exact_interval(pct, se, n):
            parts.append(f"level {level} selected {proportion_text(pct, se, n)}")
    return "; ".join(parts)


__all__ = ["print_fit", "print_oc", "register"]
