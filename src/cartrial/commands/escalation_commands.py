"""CLI for dose escalation: `cartrial escalate next | table | paths | simulate`, and the demo step.

Thin layer: parse options, build the design (`cartrial.escalation.build_design` + behaviours), call the
engine, print a rich table or JSON. Bad input raises `InputError` (exit 2) naming the option.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from cartrial.demo import DemoContext
from cartrial.errors import InputError, Problem
from cartrial.escalation import (
    DESIGNS,
    BehavingDesign,
    Behaviour,
    CoherentEscalation,
    Design,
    DontSkipDoses,
    ExpansionCohort,
    Fit,
    OperatingCharacteristics,
    StopAtN,
    StopWhenNAtDose,
    build_design,
    decision_table,
    design_from_spec,
    dose_pathways,
    exact_three_plus_three,
    parse_outcomes,
    simulate,
    with_behaviours,
)
from cartrial.escalation.simulation import check_truth
from cartrial.escalation.three_plus_three import ThreePlusThree
from cartrial.tabular import dumps_json, write_atomic

escalate_app = typer.Typer(
    help="Dose escalation: next dose, decision tables, dose pathways, operating characteristics.",
    no_args_is_help=True,
)

DESIGN = typer.Option(..., "--design", help=f"Design: {' | '.join(DESIGNS)}.")
VARIANT = typer.Option(None, "--variant", help="3+3 variant: escalation_only | deescalation (default).")
TARGET = typer.Option(None, "--target", help="Target DLT probability in (0, 1) (not 3+3).")
SKELETON = typer.Option(
    None, "--skeleton", help="CRM skeleton, comma-separated, strictly increasing in (0, 1)."
)
PRIOR_VAR = typer.Option(None, "--prior-var", help="CRM prior variance of beta (default 1.34, dfcrm).")
MODEL = typer.Option(None, "--model", help="CRM model: empiric (default) | logistic.")
METHOD = typer.Option(None, "--method", help="CRM estimation: bayes (default) | mle.")
CUTOFF = typer.Option(None, "--cutoff-eliminate", help="Elimination cut-off P(p > target) (default 0.95).")
MAX_N = typer.Option(None, "--max-n", help="Stop when this many patients are treated.")
STOP_N = typer.Option(
    None, "--stop-n-at-dose", help="Stop when this many patients are at the recommended dose."
)
COHERENT = typer.Option(
    False, "--coherent", help="No escalation right after a cohort with a DLT (dfcrm crmsim coherence)."
)
NO_SKIP = typer.Option(False, "--no-skip", help="Never escalate more than one level above the highest tried.")
FOLLOWUP = typer.Option(None, "--followup", help="TITE-CRM: follow-up days per patient (DLT: time to DLT).")
WINDOW = typer.Option(None, "--window", help="TITE-CRM: DLT observation window, days.")
JSON = typer.Option(False, "--json", help="Print JSON instead of tables.")


# Engine field names -> the CLI option the user typed, so that every error names the argument (issue 5).
_CLI_NAMES = {
    "design": "--design",
    "doses": "--doses",
    "outcomes": "--outcomes",
    "variant": "--variant",
    "target": "--target",
    "skeleton": "--skeleton",
    "prior_var": "--prior-var",
    "model": "--model",
    "method": "--method",
    "cutoff_eliminate": "--cutoff-eliminate",
    "max_n": "--max-n",
    "stop_n_at_dose": "--stop-n-at-dose",
    "cohort_size": "--cohort-size",
    "cohorts": "--cohorts",
    "trials": "--trials",
    "truth": "--truth",
    "window": "--window",
    "followup": "--followup",
    "scheme": "--tite-scheme",
    "accrual_days": "--accrual-days",
    "seed": "--seed",
    "mtd_target": "--mtd-target",
}

_MAX_PATHS = 50_000  # each pathway is a fitted history: beyond this the command would run for minutes

_Command = TypeVar("_Command", bound=Callable[..., None])


def _names_cli_arguments(command: _Command) -> _Command:
    """Re-raise engine `InputError`s with the CLI option names (``--target``, not ``target``)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except InputError as error:
            problems = [
                dataclasses.replace(p, field=_CLI_NAMES.get(p.field, p.field)) if p.field else p
                for p in error.problems
            ]
            raise InputError(problems, header=error.header) from None

    return wrapper  # type: ignore[return-value]


def register(app: typer.Typer) -> None:
    """Add the `escalate` command group to the root app."""
    app.add_typer(escalate_app, name="escalate")


def _floats(text: str | None, field: str) -> list[float] | None:
    if text is None:
        return None
    values: list[float] = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise InputError(
                Problem("not a number", field=field, value=part.strip(), allowed="comma-separated numbers")
            ) from None
        if not math.isfinite(value):
            raise InputError(
                Problem("not a finite number", field=field, value=part.strip(), allowed="finite")
            )
        values.append(value)
    return values


def _design(
    design: str,
    n_doses: int | None,
    *,
    variant: str | None,
    target: float | None,
    skeleton: str | None,
    prior_var: float | None,
    model: str | None,
    method: str | None,
    cutoff: float | None,
    max_n: int | None,
    stop_n: int | None,
    no_skip: bool,
    coherent: bool = False,
    window: float | None = None,
    cohort_size: int | None = None,
    tite_scheme: str | None = None,
    target_for_3plus3: bool = False,
) -> Design:
    name = design.lower()
    crm_like = name in ("crm", "tite-crm")
    applies = {
        "--variant": (variant, name == "3+3", "--design 3+3"),
        "--target": (target, name != "3+3" or target_for_3plus3, "every design but 3+3 (simulate: true MTD)"),
        "--skeleton": (skeleton, crm_like, "--design crm | tite-crm"),
        "--prior-var": (prior_var, crm_like, "--design crm | tite-crm"),
        "--model": (model, crm_like, "--design crm | tite-crm"),
        "--method": (method, crm_like, "--design crm | tite-crm"),
        "--cutoff-eliminate": (cutoff, name in ("boin", "mtpi2", "i3+3"), "--design boin | mtpi2 | i3+3"),
    }
    if name in DESIGNS:
        for option, (value, ok, allowed) in applies.items():
            if value is not None and not ok:
                raise InputError(
                    Problem(
                        f"{option} does not apply to the {name} design (it would be ignored)",
                        field=option,
                        value=value,
                        allowed=allowed,
                    )
                )
    skeleton_values = _floats(skeleton, "--skeleton")
    if n_doses is None:
        n_doses = len(skeleton_values) if skeleton_values else 5
    if n_doses < 1:
        raise InputError(Problem("the number of dose levels must be ≥ 1", field="--doses", value=n_doses))
    if target is not None and not 0 < target < 1:
        raise InputError(
            Problem("target outside (0, 1)", field="--target", value=target, allowed="0 < target < 1")
        )
    bare = build_design(
        design,
        n_doses,
        variant=variant,
        target=target,
        skeleton=skeleton_values,
        prior_var=prior_var,
        model=model,
        method=method,
        cutoff_eliminate=cutoff,
        cohort_size=cohort_size,
        window_days=window,
        tite_scheme=tite_scheme,
    )
    behaviours: list[Behaviour] = []
    if max_n is not None:
        behaviours.append(StopAtN(max_n))
    if stop_n is not None:
        behaviours.append(StopWhenNAtDose(stop_n, "recommended", requires_stay=bare.name == "boin"))
    if no_skip:
        behaviours.append(DontSkipDoses())
    if coherent:
        behaviours.append(CoherentEscalation())
    return with_behaviours(bare, *behaviours) if behaviours else bare


def _tite_only(design: str, *options: tuple[str, Any]) -> None:
    """Refuse TITE-CRM options given with another design (they would be silently ignored)."""
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


def _fit_table(fit: Fit) -> Table:
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
    return table


def _print_fit(console: Console, fit: Fit) -> None:
    mtd = fit.select_mtd()
    console.print(_fit_table(fit))
    console.print(f"outcomes: {fit.outcomes or '(none)'}")
    for reason in fit.reasons:
        console.print(f"  {reason}")
    verdict = f"next dose: [bold]{fit.next_dose}[/]" if fit.next_dose is not None else "next dose: none"
    console.print(
        f"{verdict}; continue: {'yes' if fit.continue_ else 'no'}; admissible: {list(fit.admissible)}"
    )
    console.print(f"final MTD estimate (not the next dose): {mtd.dose_level} — {mtd.rule}")


@escalate_app.command("next")
@_names_cli_arguments
def next_command(
    design: str = DESIGN,
    doses: int = typer.Option(..., "--doses", help="Number of dose levels K."),
    outcomes: str = typer.Option("", "--outcomes", help='Outcomes so far, e.g. "1NNN 2NTN".'),
    variant: str | None = VARIANT,
    target: float | None = TARGET,
    skeleton: str | None = SKELETON,
    prior_var: float | None = PRIOR_VAR,
    model: str | None = MODEL,
    method: str | None = METHOD,
    cutoff_eliminate: float | None = CUTOFF,
    max_n: int | None = MAX_N,
    stop_n_at_dose: int | None = STOP_N,
    no_skip: bool = NO_SKIP,
    coherent: bool = COHERENT,
    followup: str | None = FOLLOWUP,
    window: float | None = WINDOW,
    tite_scheme: str | None = typer.Option(
        None, "--tite-scheme", help="TITE-CRM weights: linear (default, dfcrm) | adaptive."
    ),
    as_json: bool = JSON,
) -> None:
    """Recommend the next dose after the outcomes so far (and, separately, the current MTD estimate)."""
    _tite_only(design, ("--followup", followup), ("--window", window), ("--tite-scheme", tite_scheme))
    built = _design(
        design,
        doses,
        variant=variant,
        target=target,
        skeleton=skeleton,
        prior_var=prior_var,
        model=model,
        method=method,
        cutoff=cutoff_eliminate,
        max_n=max_n,
        stop_n=stop_n_at_dose,
        no_skip=no_skip,
        coherent=coherent,
        window=window,
        tite_scheme=tite_scheme,
    )
    history = parse_outcomes(outcomes, doses, field="--outcomes")
    followup_days = _floats(followup, "--followup")
    if followup_days is not None:
        history = history.with_followup(followup_days)
    fit = built.fit(history)
    if as_json:
        typer.echo(dumps_json(fit.as_dict()))
        return
    _print_fit(Console(), fit)


@escalate_app.command("table")
@_names_cli_arguments
def table_command(
    design: str = DESIGN,
    max_n: int = typer.Option(..., "--max-n", help="Largest number of patients at a dose to tabulate."),
    cohort_size: int | None = typer.Option(None, "--cohort-size", help="Rows every this many patients."),
    variant: str | None = VARIANT,
    target: float | None = TARGET,
    cutoff_eliminate: float | None = CUTOFF,
    doses: int | None = typer.Option(
        None, "--doses", help="Number of dose levels (does not change the table)."
    ),
    as_json: bool = JSON,
) -> None:
    """Decision table: escalate / stay / de-escalate / eliminate by patients and DLTs at the current dose."""
    if max_n < 1:
        raise InputError(Problem("max_n must be ≥ 1", field="--max-n", value=max_n, allowed="≥ 1"))
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
    built = _design(
        design,
        doses or 5,
        variant=variant,
        target=target,
        skeleton=None,
        prior_var=None,
        model=None,
        method=None,
        cutoff=cutoff_eliminate,
        max_n=None,
        stop_n=None,
        no_skip=False,
        cohort_size=cohort_size if design != "3+3" else None,
    )
    table = decision_table(built, max_n, cohort_size if design != "3+3" else 3)
    if as_json:
        typer.echo(dumps_json(table.as_dict()))
        return
    console = Console()
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


@escalate_app.command("paths")
@_names_cli_arguments
def paths_command(
    design: str = DESIGN,
    doses: int = typer.Option(..., "--doses", help="Number of dose levels K."),
    outcomes: str = typer.Option("", "--outcomes", help='Outcomes so far, e.g. "1NNN 2NTN".'),
    cohorts: int = typer.Option(..., "--cohorts", help="Number of future cohorts to enumerate."),
    cohort_size: int | None = typer.Option(None, "--cohort-size", help="Patients per future cohort."),
    variant: str | None = VARIANT,
    target: float | None = TARGET,
    skeleton: str | None = SKELETON,
    prior_var: float | None = PRIOR_VAR,
    model: str | None = MODEL,
    method: str | None = METHOD,
    cutoff_eliminate: float | None = CUTOFF,
    max_n: int | None = MAX_N,
    stop_n_at_dose: int | None = STOP_N,
    no_skip: bool = NO_SKIP,
    coherent: bool = COHERENT,
    followup: str | None = FOLLOWUP,
    window: float | None = WINDOW,
    tite_scheme: str | None = typer.Option(
        None, "--tite-scheme", help="TITE-CRM weights: linear (default, dfcrm) | adaptive."
    ),
    as_json: bool = JSON,
) -> None:
    """Dose-transition pathways: every outcome of the next k cohorts and the decision after each."""
    _tite_only(design, ("--followup", followup), ("--window", window), ("--tite-scheme", tite_scheme))
    if design == "3+3" and cohort_size not in (None, 3):
        raise InputError(
            Problem("a 3+3 design treats cohorts of 3", field="--cohort-size", value=cohort_size, allowed="3")
        )
    if cohorts < 1 or cohorts > 6:
        raise InputError(
            Problem("number of cohorts to enumerate", field="--cohorts", value=cohorts, allowed="1..6")
        )
    if cohort_size is not None and cohort_size < 1:
        raise InputError(
            Problem("cohort size must be ≥ 1", field="--cohort-size", value=cohort_size, allowed="≥ 1")
        )
    size_for_count = cohort_size or (1 if design in ("crm", "tite-crm") else 3)
    n_paths = (size_for_count + 1) ** cohorts
    if n_paths > _MAX_PATHS:
        raise InputError(
            Problem(
                f"too many pathways to enumerate ((cohort size + 1)^cohorts = {n_paths})",
                field="--cohorts",
                value=cohorts,
                allowed=f"(cohort size + 1)^cohorts <= {_MAX_PATHS}",
            )
        )
    built = _design(
        design,
        doses,
        variant=variant,
        target=target,
        skeleton=skeleton,
        prior_var=prior_var,
        model=model,
        method=method,
        cutoff=cutoff_eliminate,
        max_n=max_n,
        stop_n=stop_n_at_dose,
        no_skip=no_skip,
        coherent=coherent,
        window=window,
        cohort_size=cohort_size if design != "3+3" else None,
        tite_scheme=tite_scheme,
    )
    history = parse_outcomes(outcomes, doses, field="--outcomes")
    followup_days = _floats(followup, "--followup")
    if followup_days is not None:
        history = history.with_followup(followup_days)
    paths = dose_pathways(built, history, cohorts, cohort_size)
    if as_json:
        typer.echo(dumps_json(paths.as_dict()))
        return
    console = Console()
    _print_fit(console, paths.current)
    out = Table(title=f"dose-transition pathways, next {cohorts} cohort(s)")
    out.add_column("path")
    out.add_column("next doses")
    for path in paths.paths:
        out.add_row(
            " ".join(f"{s.dose_level}{s.outcome}" for s in path),
            " → ".join("stop" if not s.continue_ else str(s.next_dose) for s in path),
        )
    console.print(out)


@escalate_app.command("simulate")
@_names_cli_arguments
def simulate_command(
    design: str = DESIGN,
    truth: str = typer.Option(..., "--truth", help="True DLT probability per dose, comma-separated."),
    cohorts: int = typer.Option(10, "--cohorts", help="Maximum number of cohorts."),
    cohort_size: int | None = typer.Option(None, "--cohort-size", help="Patients per cohort."),
    trials: int = typer.Option(10000, "--trials", help="Number of simulated trials (Monte Carlo)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same result)."),
    exact: bool = typer.Option(False, "--exact", help="Exact enumeration instead of Monte Carlo (3+3 only)."),
    mtd_target: float | None = typer.Option(None, "--mtd-target", help="Toxicity defining the true MTD."),
    variant: str | None = VARIANT,
    target: float | None = TARGET,
    skeleton: str | None = SKELETON,
    prior_var: float | None = PRIOR_VAR,
    model: str | None = MODEL,
    method: str | None = METHOD,
    cutoff_eliminate: float | None = CUTOFF,
    max_n: int | None = MAX_N,
    stop_n_at_dose: int | None = STOP_N,
    no_skip: bool = NO_SKIP,
    coherent: bool = COHERENT,
    window: float | None = WINDOW,
    accrual_days: float | None = typer.Option(
        None, "--accrual-days", help="TITE-CRM: days between consecutive cohorts (simulation)."
    ),
    as_json: bool = JSON,
) -> None:
    """Operating characteristics under a true toxicity scenario (Monte Carlo, or exact for 3+3)."""
    _tite_only(design, ("--window", window), ("--accrual-days", accrual_days))
    truth_values = _floats(truth, "--truth") or []
    skeleton_values = _floats(skeleton, "--skeleton")
    if skeleton_values is not None and len(truth_values) != len(skeleton_values):
        raise InputError(
            Problem(
                "the truth needs one probability per dose level",
                field="--truth",
                value=len(truth_values),
                allowed=f"{len(skeleton_values)} values (as the skeleton)",
            )
        )
    if trials < 1:
        raise InputError(
            Problem("the number of trials must be ≥ 1", field="--trials", value=trials, allowed="≥ 1")
        )
    if cohorts < 1:
        raise InputError(
            Problem("the number of cohorts must be ≥ 1", field="--cohorts", value=cohorts, allowed="≥ 1")
        )
    check_truth(truth_values, len(truth_values))  # before the progress bar starts
    if seed < 0:
        raise InputError(Problem("the random seed must be ≥ 0", field="--seed", value=seed, allowed="≥ 0"))
    built = _design(
        design,
        len(truth_values),
        variant=variant,
        target=target,
        skeleton=skeleton,
        prior_var=prior_var,
        model=model,
        method=method,
        cutoff=cutoff_eliminate,
        max_n=max_n,
        stop_n=stop_n_at_dose,
        no_skip=no_skip,
        coherent=coherent,
        window=window,
        cohort_size=cohort_size if design != "3+3" else None,
        target_for_3plus3=True,
    )
    if design == "3+3" and mtd_target is None and target is not None:
        mtd_target = target  # 3+3 has no target of its own: --target defines the true MTD for the report
    if exact:
        if not isinstance(built, ThreePlusThree):
            raise InputError(
                Problem(
                    "--exact is available for the 3+3 design without behaviours only",
                    field="--exact",
                    value=design,
                    allowed="--design 3+3",
                )
            )
        oc = exact_three_plus_three(built, truth_values, mtd_target=mtd_target)
    else:
        with Progress(transient=True, disable=as_json, console=Console(stderr=True)) as bar:
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
            )
    if as_json:
        typer.echo(dumps_json(oc.as_dict()))
        return
    _print_oc(Console(), oc)


def _print_oc(console: Console, oc: OperatingCharacteristics, title: str | None = None) -> None:
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
        f"no MTD: {oc.no_mtd_pct:.1f}%; early stop for toxicity: {oc.early_stop_pct:.1f}%; "
        f"mean total n: {oc.total_n:.2f}; patients above the true MTD: {oc.pct_treated_above_mtd:.1f}% "
        f"(true MTD: {oc.true_mtd}, target {oc.mtd_target}); {oc.seconds:.3f} s"
    )


DEMO_SCENARIOS: tuple[tuple[str, tuple[float, float]], ...] = (
    ("both doses safe", (0.05, 0.10)),
    ("target-like toxicity at level 2", (0.10, 0.25)),
    ("level 2 too toxic", (0.15, 0.45)),
    ("both doses too toxic", (0.40, 0.60)),
)


def demo(ctx: DemoContext) -> None:
    """Replay the CT103A escalation with the protocol's design; write the two-dose design's exact OCs."""
    from cartrial.protocol import load_protocol

    console = ctx.console
    protocol = load_protocol(ctx.protocol_file)
    n_doses = len(protocol.dose_levels)
    design = design_from_spec(protocol.escalation, n_doses, expansion=protocol.expansion)
    console.rule("[bold]escalation[/]: replay of the reference study's escalation")
    console.print(f"design from {ctx.protocol_file.name}: {design.name}, options {design.options()}")
    steps = ["", "1NNN", "1NNN 2NNN", "1NNN 2NNN 2NNNNNN"]
    replay: list[dict[str, Any]] = []
    for history in steps:
        fit = design.fit(parse_outcomes(history, n_doses))
        mtd = fit.select_mtd()
        replay.append({**fit.as_dict(), "mtd": mtd.dose_level})
        console.print(
            f"after [cyan]{history or '(no patients)'}[/]: next dose {fit.next_dose}, "
            f"continue {'yes' if fit.continue_ else 'no'}, MTD estimate {mtd.dose_level} — "
            f"{fit.reasons[-1] if fit.reasons else 'start at the lowest level'}"
        )
    out_dir = ctx.out_dir / "escalation"
    inner = design.inner if isinstance(design, BehavingDesign) else design
    ocs = []
    rows = [
        "scenario,level,true_p_dlt,selection_pct,mean_n,mean_dlt,no_mtd_pct,early_stop_pct,total_n,method"
    ]
    expansion = (
        ExpansionCohort(protocol.expansion.n_patients, protocol.expansion.dose_level)
        if protocol.expansion
        else None
    )
    for label, truth in DEMO_SCENARIOS:
        if isinstance(inner, ThreePlusThree):
            exact_design = with_behaviours(inner, expansion) if expansion else inner
            oc = exact_three_plus_three(exact_design, truth)
        else:
            oc = simulate(design, truth, cohorts=20, trials=10000, seed=6)
        ocs.append({"scenario": label, **oc.as_dict()})
        _print_oc(console, oc, title=f"{label}: truth {truth}")
        for i, p in enumerate(oc.truth):
            rows.append(
                f"{label},{i + 1},{p},{oc.selection_pct[i]:.6f},{oc.mean_n[i]:.6f},{oc.mean_dlt[i]:.6f},"
                f"{oc.no_mtd_pct:.6f},{oc.early_stop_pct:.6f},{oc.total_n:.6f},{oc.method}"
            )
    write_atomic(
        out_dir / "replay.json", dumps_json({"protocol": str(ctx.protocol_file), "steps": replay}) + "\n"
    )
    write_atomic(out_dir / "operating_characteristics.json", dumps_json(ocs) + "\n")
    write_atomic(out_dir / "operating_characteristics.csv", "\n".join(rows) + "\n")
    console.print(f"wrote {out_dir}/replay.json, operating_characteristics.json and .csv")


__all__ = ["demo", "register"]
