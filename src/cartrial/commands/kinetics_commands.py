"""CLI for cellular kinetics: ``cartrial nca`` and ``cartrial kinetics simulate|fit``.

Thin layer: parse the options, read the CSV (`cartrial.tabular`), call the frame-level derivations of the
engine (`cartrial.kinetics.derive_nca`, `derive_stein2019_fits`, `simulate_*`), write the table (CSV by
default, ``--json`` with options/units/notes) and print notes on stderr. Only the standard library, typer and
rich are imported at module level; pandas, numpy and the engine are imported when a command runs, so the
command line starts fast. The demo step is `cartrial.demo.kinetics`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import typer
from rich.console import Console

from cartrial.allowed import LLOQ, SIMULATED_RESIDUAL_LOG_SD, check_seed, choice_text
from cartrial.commands.auth_commands import USER_HELP
from cartrial.commands.option_names import (
    OPTION_DIGITS,
    names_cli_arguments,
    option_number,
    option_numbers,
    seed_option,
)
from cartrial.commands.terminal import terminal
from cartrial.errors import ConfigurationError, InputError, Problem, stored_rows_errors

if TYPE_CHECKING:
    import pandas as pd

#: The help of every `--lloq`: the range is the rule's own text (`check_lloq`, D-19.375).
_VALUE_COLUMN = "value"
"""The default --conc of `kinetics popfit` and `kinetics map`: the pk_samples template's value column (while
it is the default, a PD titre file is recognised by its titre column; D-19.465)."""

LLOQ_HELP = f"LLOQ for all samples (below it = BLQ). Allowed: {LLOQ.text()}."

kinetics_app = typer.Typer(
    help="Cellular kinetics: simulate and fit the Stein 2019 CAR-T model (NCA is `cartrial nca`).",
    no_args_is_help=True,
    epilog=(
        "Example: [bold]cartrial kinetics simulate --model stein2019 --subjects 100 --seed 1 --days 0:365 "
        "--out sim.csv[/]"
    ),
)


class AucMethodChoice(StrEnum):
    LIN_UP_LOG_DOWN = "lin-up-log-down"
    LINEAR = "linear"
    LOG = "log"


AUC_METHODS = {
    AucMethodChoice.LIN_UP_LOG_DOWN: "lin_up_log_down",
    AucMethodChoice.LINEAR: "linear",
    AucMethodChoice.LOG: "lin_log",
}
"""CLI spelling → `cartrial.kinetics.AucMethod` value."""


class BlqChoice(StrEnum):
    PKNCA = "pknca"
    ZERO = "zero"
    HALF_LLOQ = "half-lloq"


class LambdaZChoice(StrEnum):
    PKNCA = "pknca"
    PHOENIX = "phoenix"


class PersistenceChoice(StrEnum):
    """CLI mirror of `cartrial.kinetics.PersistenceRule` (kept here so the module imports no engine)."""

    TLAST = "tlast"
    LAST_POSITIVE_BEFORE_2_NEGATIVES = "last_positive_before_2_negatives"


class FoldExpansionChoice(StrEnum):
    """CLI mirror of `NcaOptions.fold_expansion_reference` (the denominator of fold_expansion, D-19.1450)."""

    FIRST_QUANTIFIABLE = "first-quantifiable"
    NOMINAL_R0 = "nominal-r0"


class MissingTime0Choice(StrEnum):
    """CLI mirror of `NcaOptions.missing_time0` (the AUCs from the dose without a sample at time 0)."""

    ZERO = "zero"
    NOT_ESTIMABLE = "not-estimable"


class ModelChoice(StrEnum):
    STEIN2019 = "stein2019"
    CARTRIAL_PD = "cartrial-pd"


#: Engine field names (`cartrial.kinetics.NcaOptions`, the simulation checks `check_simulation` /
#: `check_days`, `cartrial.kinetics.popfit.SaemSettings`) -> the option the user typed.
_CLI_NAMES: dict[str, str] = {
    "lambda_z_window": "--lambda-z-window",
    "intervals": "--interval",
    "blq": "--blq",
    "blq_before_tmax": "--blq-before-tmax",
    "blq_after_tmax": "--blq-after-tmax",
    "auc_method": "--auc-method",
    "lambda_z_order": "--lambda-z",
    "persistence_rule": "--persistence",
    "fold_expansion_reference": "--fold-expansion",
    "fold_expansion_r0": "--fold-expansion-r0",
    "missing_time0": "--missing-time0",
    "seed": "--seed",
    "n_subjects": "--subjects",
    "days": "--days",
    "residual_sd_log": "--residual-sd",
    "dose_unit": "--dose-unit",
    "alq_column": "--alq-col",
}
#: `kinetics fit`: also the arguments of `derive_stein2019_fits` it passes on (D-19.1182).
_FIT_NAMES: dict[str, str] = {
    **_CLI_NAMES,
    "lloq": "--lloq",
    "lloq_column": "--lloq-col",
    "time_unit": "--time-unit",
    "conc_unit": "--conc-unit",
    "unit_column": "--unit-col",
}

ALQ_HELP = (
    "Column flagging a level above the upper limit of quantification (true/false); a flagged sample is "
    "refused by its row (its level is a lower bound). Default: the --conc column's own flag <conc>_alq when "
    "the file has it, as `kinetics simulate` writes it (e.g. conc_copies_per_ug_alq); a column named here "
    "is the only flag read (<conc>_alq is then ignored). A file with a flag <Y>_alq but no column <Y> (a "
    "renamed value column) is refused until the flag is named here."
)


def _check_columns(by: list[str], **options: str | None) -> None:
    """The column options name distinct columns (`check_column_roles`, D-19.340), before the file is read;
    `options` by flag without its dashes (``blq_col`` for --blq-col)."""
    from cartrial.kinetics.frames import check_column_roles

    roles = {"--" + name.replace("_", "-"): column for name, column in options.items()}
    check_column_roles(roles, by, by_name="--by")


#: `kinetics popfit`: also `SaemSettings` (``k1``, ``k2``, ``polish_proposal``), the covariate effects
#: (``covariates`` of `fit_population`), the titre likelihood (``censoring`` of `titre_observations`), the
#: interval methods (`check_interval_methods`), `PopulationSpec` (``omega_structure``, ``blq``) and
#: `ErrorModel` (``kind``, ``scale``).
_POPFIT_NAMES: dict[str, str] = {
    **_CLI_NAMES,
    "k1": "--k1",
    "k2": "--k2",
    "initial": "--initial",
    "fix": "--fix",
    "polish_proposal": "--proposal",
    "covariates": "--covariate",
    "censoring": "--titre",
    "ci": "--ci",
    "variance_ci": "--variance-ci",
    "omega_structure": "--omega",
    "kind": "--error",
    "scale": "--scale",
    "model": "--model",
}
#: `kinetics map`: the covariate values of the new subject (``covariates`` of `map_estimate`).
_MAP_NAMES: dict[str, str] = {**_CLI_NAMES, "covariates": "--covariate-value"}


def _err_console() -> Console:
    return terminal(stderr=True)


def parse_interval(text: str, option: str = "--interval") -> tuple[float, float]:
    """``"0,28"`` → (0, 28); the end may be ``inf``."""
    parts = [p.strip() for p in text.split(",")]
    try:
        if len(parts) != 2:
            raise ValueError
        start, end = option_number(parts[0]), option_number(parts[1])
    except ValueError:
        raise InputError(
            Problem(
                "not an interval",
                field=option,
                value=text,
                allowed=f"START,END in {OPTION_DIGITS} e.g. 0,28 or 0,inf",
            )
        ) from None
    if not (math.isfinite(start) and end > start):
        raise InputError(
            Problem(
                "interval end must exceed a finite start",
                field=option,
                value=text,
                allowed="START,END with START < END, e.g. 0,28 or 0,inf",
            )
        )
    return start, end


def parse_days(text: str) -> tuple[float, float, float] | list[float]:
    """``"0:365"`` (daily, inclusive) or ``"0:365:7"`` → (start, stop, step); ``"0,1,4,7"`` → a list of days.

    Only the syntax is checked here; ranges and sizes are checked by the engine (`check_day_grid`,
    `check_days`) before anything is allocated.
    """
    allowed = f"START:STOP[:STEP] or a,b,c (days ≥ 0, {OPTION_DIGITS})"
    try:
        if ":" in text:
            parts = option_numbers(text.split(":"))
            if len(parts) not in (2, 3):
                raise ValueError
            return parts[0], parts[1], parts[2] if len(parts) == 3 else 1.0
        return option_numbers(text.split(","))
    except ValueError:
        raise InputError(
            Problem("not a day specification", field="--days", value=text, allowed=allowed)
        ) from None


@names_cli_arguments(_CLI_NAMES)
def nca_command(
    file: Path = typer.Argument(..., help="CSV with one row per sample."),
    subject: str = typer.Option(..., "--subject", help="Column identifying a subject/profile."),
    time: str = typer.Option(..., "--time", help="Column of time since infusion."),
    conc: str = typer.Option(
        ..., "--conc", help="Column of concentration (0 when BLQ, or blank with --blq-col true)."
    ),
    dose: str | None = typer.Option(None, "--dose", help="Column of dose (adds dose-normalised Cmax/AUC)."),
    dose_unit: str | None = typer.Option(
        None,
        "--dose-unit",
        help='Unit of the dose column, e.g. "cells/kg" or "cells" (required with --dose).',
    ),
    by: list[str] = typer.Option([], "--by", help="Extra grouping column, e.g. analyte (repeatable)."),
    time_unit: str = typer.Option("day", "--time-unit", help="Unit of the time column: min, h, day or week."),
    conc_unit: str | None = typer.Option(
        None, "--conc-unit", help='Concentration unit, e.g. "copies/ug" (or give --unit-col).'
    ),
    unit_col: str | None = typer.Option(None, "--unit-col", help="Column holding the concentration unit."),
    interval: list[str] = typer.Option([], "--interval", help="Partial AUC START,END (repeatable)."),
    auc_method: AucMethodChoice = typer.Option(
        AucMethodChoice.LIN_UP_LOG_DOWN, "--auc-method", help="Trapezoid rule (default PKNCA's)."
    ),
    blq: BlqChoice = typer.Option(BlqChoice.PKNCA, "--blq", help="BLQ rule preset (default PKNCA's)."),
    blq_before_tmax: str | None = typer.Option(
        None,
        "--blq-before-tmax",
        help="BLQ rule before Tmax instead of --blq (PKNCA before.tmax): keep, drop, half-lloq or a number; "
        "needs --blq-after-tmax, and --blq left at pknca.",
    ),
    blq_after_tmax: str | None = typer.Option(
        None,
        "--blq-after-tmax",
        help="BLQ rule at or after Tmax (PKNCA after.tmax): keep, drop, half-lloq or a number.",
    ),
    lloq: float | None = typer.Option(None, "--lloq", help=LLOQ_HELP),
    lloq_col: str | None = typer.Option(None, "--lloq-col", help="Column of per-sample LLOQ."),
    blq_col: str | None = typer.Option(
        None, "--blq-col", help="Column flagging BLQ samples (true/false, or 1/0)."
    ),
    alq_col: str | None = typer.Option(None, "--alq-col", help=ALQ_HELP),
    lambda_z: LambdaZChoice = typer.Option(
        LambdaZChoice.PKNCA, "--lambda-z", help="Terminal window rule (default PKNCA's)."
    ),
    lambda_z_window: str | None = typer.Option(
        None, "--lambda-z-window", help="Manual lambda_z window START,END (e.g. Tmax to day 28)."
    ),
    persistence: PersistenceChoice = typer.Option(
        PersistenceChoice.TLAST, "--persistence", help="Definition of persistence_days."
    ),
    fold_expansion: FoldExpansionChoice = typer.Option(
        FoldExpansionChoice.FIRST_QUANTIFIABLE,
        "--fold-expansion",
        help="Denominator of fold_expansion = Cmax / reference: the first quantifiable sample after the "
        "infusion (time > 0) or a nominal R0 (--fold-expansion-r0); blank when Cmax is at time 0.",
    ),
    fold_expansion_r0: float | None = typer.Option(
        None,
        "--fold-expansion-r0",
        help="Nominal R0 of --fold-expansion nominal-r0 (a number > 0) in the unit the data are recorded in "
        "(--conc-unit or --unit-col), converted with them to the standard unit (1000 cells/mL is 1 "
        "cells/uL); data in more than one unit are refused.",
    ),
    missing_time0: MissingTime0Choice = typer.Option(
        MissingTime0Choice.ZERO,
        "--missing-time0",
        help="No kept sample at time 0 (a dropped time-0 BLQ counts as none): AUCs from a concentration of 0 "
        "at the dose (zero) or not estimable.",
    ),
    exclude_flagged: bool = typer.Option(
        False,
        "--exclude-flagged",
        help="Blank parameters that fail a quality flag (PKNCA exclude_nca_*).",
    ),
    as_json: bool = typer.Option(False, "--json", help="JSON with options, units and notes."),
    out: Path | None = typer.Option(None, "--out", help="Write here instead of stdout."),
    keep_going: bool = typer.Option(False, "--keep-going", help="Skip bad rows and report them."),
) -> None:
    """Non-compartmental analysis per subject (PKNCA rules by default)."""
    from cartrial.kinetics import NcaOptions, derive_nca
    from cartrial.tabular import emit_table, read_csv

    _check_columns(
        by,
        subject=subject,
        time=time,
        conc=conc,
        dose=dose,
        blq_col=blq_col,
        lloq_col=lloq_col,
        unit_col=unit_col,
        alq_col=alq_col,
    )
    intervals = tuple(parse_interval(text) for text in interval)
    options = NcaOptions.from_preset(
        blq.value.replace("-", "_"),
        auc_method=AUC_METHODS[auc_method],
        lambda_z_order=lambda_z.value,
        intervals=intervals,
        persistence_rule=persistence.value,
        fold_expansion_reference=fold_expansion.value.replace("-", "_"),
        fold_expansion_r0=fold_expansion_r0,
        lambda_z_window=parse_interval(lambda_z_window, "--lambda-z-window") if lambda_z_window else None,
        exclude_flagged=exclude_flagged,
        missing_time0=missing_time0.value.replace("-", "_"),
        blq_before_tmax=_blq_rule_text(blq_before_tmax, "--blq-before-tmax"),
        blq_after_tmax=_blq_rule_text(blq_after_tmax, "--blq-after-tmax"),
    )
    arguments: dict[str, Any] = {
        "subject": subject,
        "time": time,
        "conc": conc,
        "by": list(by),
        "time_unit": time_unit,
        "conc_unit": conc_unit,
        "unit_column": unit_col,
        "dose": dose,
        "dose_unit": dose_unit,
        "lloq": lloq,
        "lloq_column": lloq_col,
        "blq_column": blq_col,
        "alq_column": alq_col,
        "options": options,
        "keep_going": keep_going,
        "source": str(file),
    }
    _check_nca_arguments(arguments, file)
    optional = [c for c in (dose, blq_col, lloq_col, unit_col, alq_col) if c]
    raw = read_csv(file, required=[subject, time, conc, *by, *optional])
    result = derive_nca(raw, **arguments)
    meta = result.metadata()
    console = _err_console()
    for note in result.notes:
        console.print(f"[yellow]note[/]: {note}")
    extra = {
        "command": "nca",
        "options": meta["options"],
        "units_by_conc_unit": meta["units_by_conc_unit"],
        "units": meta["units"],
        "notes": meta["notes"],
    }
    emit_table(result.table, out, as_json, extra=extra)
    if out is not None:
        from cartrial.wording import count

        console.print(f"wrote {count(len(result.table), 'profile')} to {out}")


def _check_nca_arguments(arguments: dict[str, Any], file: Path) -> None:
    """Option errors before the file is read, with the CLI's option names."""
    from cartrial.kinetics import check_conc_unit, check_lloq, check_time_unit

    if arguments["lloq"] is not None and arguments["lloq_column"]:
        raise InputError(Problem("give --lloq or --lloq-col, not both", field="--lloq"))
    if arguments["conc_unit"] is None and arguments["unit_column"] is None:
        raise InputError(
            Problem(
                "the concentration unit is missing",
                file=str(file),
                field="--conc-unit",
                allowed='--conc-unit "copies/ug" or --unit-col COLUMN',
            )
        )
    if arguments["dose"] and arguments["dose_unit"] is None:
        raise InputError(
            Problem(
                "the dose unit is missing: a dose-normalised Cmax or AUC is meaningless without it",
                file=str(file),
                field="--dose-unit",
                allowed='--dose-unit "cells/kg" or "cells" (per kg and per total cells differ by the weight)',
            )
        )
    if arguments["dose_unit"] is not None and not arguments["dose"]:
        raise InputError(
            Problem(
                "a dose unit without a dose column is not used",
                field="--dose-unit",
                value=arguments["dose_unit"],
                allowed="--dose-unit together with --dose COLUMN, or neither",
            )
        )
    check_time_unit(arguments["time_unit"], "--time-unit")
    if arguments["conc_unit"] is not None:
        check_conc_unit(arguments["conc_unit"], "--conc-unit")
    if arguments["dose"]:
        check_conc_unit(arguments["dose_unit"], "--dose-unit", "dose")
    check_lloq(arguments["lloq"], "--lloq")
    options = arguments["options"]
    if options.needs_lloq and arguments["lloq"] is None and not arguments["lloq_column"]:
        field = "--blq"  # the option that chose the half-LLOQ rule
        if options.blq_by_tmax:
            field = "--blq-before-tmax" if options.blq_before_tmax == "half_lloq" else "--blq-after-tmax"
        raise InputError(Problem("a half-LLOQ BLQ rule needs --lloq or --lloq-col", field=field))


def _blq_rule_text(text: str | None, option: str) -> str | float | None:
    """A BLQ rule as typed (``half-lloq`` spelt as the engine's ``half_lloq``; a number as a number); the
    engine's declaration checks it (`NcaOptions`, D-19.966). Text holding a digit that is no number by the
    import's rule (``０``, ``0.1_0``) is refused here naming `option` and the digits 0-9 (D-19.1425)."""
    if text is None:
        return None
    try:
        return option_number(text)
    except ValueError:
        if any(character.isdigit() for character in text):
            raise InputError(
                Problem(
                    "not a number",
                    field=option,
                    value=text,
                    allowed=f"keep, drop, half-lloq or a number ≥ 0 in {OPTION_DIGITS}",
                )
            ) from None
        return text.strip().replace("-", "_")


@kinetics_app.command(
    "simulate",
    epilog=(
        "Example: [bold]cartrial kinetics simulate --model stein2019 --subjects 100 --seed 1 --days 0:365 "
        "--out sim.csv[/]"
    ),
)
@names_cli_arguments(_CLI_NAMES)
def simulate_command(
    model: ModelChoice = typer.Option(ModelChoice.STEIN2019, "--model", help="Model to simulate."),
    subjects: int = typer.Option(100, "--subjects", help="Number of virtual subjects (1 to 1,000,000)."),
    seed: int = seed_option(1),
    days: str = typer.Option("0:365", "--days", help="Days START:STOP[:STEP] or a,b,c (0 to 36,500)."),
    residual_sd: float = typer.Option(
        0.0,
        "--residual-sd",
        help="Residual SD on the log scale of the CAR-T level (either model); allowed: "
        f"{SIMULATED_RESIDUAL_LOG_SD.text()}. Stein Table 1: 0.56.",
    ),
    no_iiv: bool = typer.Option(False, "--no-iiv", help="Typical subject only (no variability)."),
    params_out: Path | None = typer.Option(None, "--params-out", help="Write individual parameters here."),
    as_json: bool = typer.Option(False, "--json", help="JSON output."),
    out: Path | None = typer.Option(None, "--out", help="Write the samples here instead of stdout."),
) -> None:
    """Simulate virtual subjects (long table: subject, day, level)."""
    from cartrial.kinetics import check_simulation, simulate_pd_table, simulate_stein2019_chunks
    from cartrial.tabular import csv_text, refuse_special_target, write_atomic

    check_seed(seed, "--seed")
    spec = parse_days(days)
    grid = check_simulation(
        subjects, spec, seed=seed, residual_sd_log=residual_sd, model=model.value.replace("-", "_")
    )
    for target in (out, params_out):  # before simulating: a folder, device or FIFO is never written
        if target is not None:
            refuse_special_target(Path(target))
    if model == ModelChoice.STEIN2019:
        chunks = simulate_stein2019_chunks(
            subjects, grid, seed=seed, iiv=not no_iiv, residual_sd_log=residual_sd
        )
        settings = chunks.settings
    else:
        table, params, settings = simulate_pd_table(
            subjects, grid, seed=seed, iiv=not no_iiv, residual_sd_log=residual_sd
        )
        chunks = None
    if params_out is not None:
        parameters = chunks.parameters if chunks is not None else params
        write_atomic(params_out, csv_text(parameters))
    extra = {"command": "kinetics simulate", "settings": settings}
    if chunks is not None:
        run = chunks
        _write_chunks(chunks.tables(), out, as_json, extra, after=lambda: _limited_note(run.limited))
        limited = run.limited
    else:
        from cartrial.tabular import emit_table

        emit_table(table, out, as_json, extra=extra)
        limited = int(settings["limited_to_max_concentration"])
    if limited:
        from cartrial.kinetics.models import alq_flag_column

        flag = alq_flag_column("conc_copies_per_ug" if chunks is not None else "car_t_copies_per_ug")
        _err_console().print(
            f"note: {_limited_text(limited)} (an assay's upper limit; D-19.606) and flagged true in {flag}: "
            "nca and the kinetic fits refuse those rows (D-19.663)",
            highlight=False,
        )
    if out is not None:
        from cartrial.wording import count

        _err_console().print(
            f"wrote {count(subjects * len(grid), 'sample')} of {count(subjects, 'subject')} to {out}"
        )


def _limited_text(limited: int) -> str:
    from cartrial.allowed import MAX_CONCENTRATION
    from cartrial.wording import count

    return f"{count(limited, 'sample')} above {MAX_CONCENTRATION:g} written as {MAX_CONCENTRATION:g}"


def _limited_note(limited: int) -> dict[str, Any]:
    """What a JSON output says after its rows about the observations limited to `MAX_CONCENTRATION`."""
    return {"limited_to_max_concentration": limited}


def _write_chunks(
    tables: Any,
    out: Path | None,
    as_json: bool,
    extra: dict[str, Any],
    after: Callable[[], dict[str, Any]] | None = None,
) -> None:
    """Write a stream of tables as one CSV (header once) or one JSON document ``{**extra, "rows": [...],
    **after()}``, chunk by chunk, so memory stays bounded; the text is the same as
    `cartrial.tabular.emit_table` would write for the whole table. `after` is called once every row is
    written (a count known only then). A file is written to a temporary name beside it and renamed at the
    end."""
    import os
    import sys
    import tempfile

    from cartrial.tabular import csv_text, dumps_json, refuse_special_target, to_json_records

    def pieces() -> Any:
        if not as_json:
            for i, table in enumerate(tables):
                yield csv_text(table, header=i == 0)
            return
        marker = '"@@rows@@"'
        head = dumps_json({**extra, "rows": ["@@rows@@"]}).split(marker)[0]
        yield head
        first = True
        for table in tables:
            records = [dumps_json(record).replace("\n", "\n    ") for record in to_json_records(table)]
            if records:
                yield ("" if first else ",\n    ") + ",\n    ".join(records)
                first = False
        tail = dumps_json({**extra, "rows": ["@@rows@@"], **(after() if after else {})}).split(marker)[1]
        yield tail + "\n"  # a simulation has at least one row, so the list is never empty

    if out is None:
        for piece in pieces():
            sys.stdout.write(piece)
        return
    target = Path(out)
    refuse_special_target(target)  # a folder, a device or a FIFO is refused, never replaced by the rename
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise InputError(Problem(f"cannot write the file: {exc.strerror or exc}", file=str(target))) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            for piece in pieces():
                handle.write(piece)
        os.replace(tmp, target)
    except OSError as exc:  # e.g. disk full: nothing half-written is left behind
        Path(tmp).unlink(missing_ok=True)
        raise InputError(Problem(f"cannot write the file: {exc.strerror or exc}", file=str(target))) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@kinetics_app.command(
    "fit",
    epilog=(
        "Example: [bold]cartrial kinetics fit examples/ct103a-nmosd/study/pk_samples.csv --by analyte "
        "--blq-col blq --lloq-col lloq[/]"
    ),
)
@names_cli_arguments(_FIT_NAMES)
def fit_command(
    file: Path = typer.Argument(..., help="CSV with one row per sample."),
    model: ModelChoice = typer.Option(ModelChoice.STEIN2019, "--model", help="Model to fit (stein2019)."),
    subject: str = typer.Option("subject_id", "--subject", help="Column identifying a subject."),
    time: str = typer.Option("actual_day", "--time", help="Column of time since infusion (--time-unit)."),
    time_unit: str = typer.Option(
        "day",
        "--time-unit",
        help="Unit of the time column: min, h, day or week. The stein2019 model is in days (its rates are "
        "per day): other units are converted to days.",
    ),
    conc: str = typer.Option("value", "--conc", help="Column of the level (transgene or cell count)."),
    conc_unit: str | None = typer.Option(
        None, "--conc-unit", help='Unit of the level, e.g. "copies/ug gDNA" (or give --unit-col).'
    ),
    unit_col: str | None = typer.Option(
        None,
        "--unit-col",
        help="Column holding each profile's unit (default: the file's 'unit' column when it has one; "
        "without either, copies/ug gDNA).",
    ),
    lloq: float | None = typer.Option(None, "--lloq", help=LLOQ_HELP),
    lloq_col: str | None = typer.Option(None, "--lloq-col", help="Column of per-sample LLOQ."),
    blq_col: str | None = typer.Option(None, "--blq-col", help="Column flagging BLQ samples."),
    alq_col: str | None = typer.Option(None, "--alq-col", help=ALQ_HELP),
    by: list[str] = typer.Option([], "--by", help="Extra grouping column, e.g. analyte (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="JSON output with diagnostics."),
    out: Path | None = typer.Option(None, "--out", help="Write here instead of stdout."),
    keep_going: bool = typer.Option(False, "--keep-going", help="Skip bad rows and report them."),
) -> None:
    """Fit the Stein 2019 model to each subject's profile (censored likelihood for BLQ)."""
    if model != ModelChoice.STEIN2019:
        raise ConfigurationError("only --model stein2019 can be fitted (the PD model is simulate-only)")
    from rich.progress import track

    from cartrial.kinetics import check_conc_unit, check_lloq, check_time_unit, derive_stein2019_fits
    from cartrial.tabular import emit_table, read_csv

    if lloq is not None and lloq_col:
        raise InputError(Problem("give --lloq or --lloq-col, not both", field="--lloq"))
    check_lloq(lloq, "--lloq")
    time_unit = check_time_unit(time_unit, "--time-unit")  # before the file is read, as popfit (D-19.241)
    if conc_unit is not None and unit_col:
        raise InputError(Problem("give --conc-unit or --unit-col, not both", field="--conc-unit"))
    if conc_unit is not None:
        check_conc_unit(conc_unit, "--conc-unit")
    _check_columns(
        by,
        subject=subject,
        time=time,
        conc=conc,
        blq_col=blq_col,
        lloq_col=lloq_col,
        unit_col=unit_col,
        alq_col=alq_col,
    )
    optional = [c for c in (blq_col, lloq_col, unit_col, alq_col) if c]
    raw = read_csv(file, required=[subject, time, conc, *by, *optional])
    if conc_unit is None and unit_col is None and "unit" in raw.columns:
        unit_col = "unit"  # the sample templates' column, read as popfit reads it (D-19.242)

    def progress(groups: list[Any]) -> Any:
        return track(
            groups, description="fitting", console=_err_console(), transient=True, disable=len(groups) < 20
        )

    result = derive_stein2019_fits(
        raw,
        subject=subject,
        time=time,
        conc=conc,
        by=list(by),
        lloq=lloq,
        lloq_column=lloq_col,
        blq_column=blq_col,
        keep_going=keep_going,
        source=str(file),
        progress=progress,
        time_unit=time_unit,
        conc_unit=conc_unit,
        unit_column=unit_col,
        alq_column=alq_col,
        lloq_names="--lloq or --lloq-col",  # a not-estimable profile names the options (D-19.1182)
    )
    meta = result.metadata()
    console = _err_console()
    for note in result.notes:
        console.print(f"[yellow]note[/]: {note}")
    extra = {
        "command": "kinetics fit",
        "model": "stein2019",
        "time_unit": meta["time_unit"],
        "model_time_unit": meta["model_time_unit"],
        "units": meta["units"],
        "summary": meta["summary"],
        "notes": meta["notes"],
        "fits": meta["fits"],
    }
    emit_table(result.table, out, as_json, extra=extra)


POPFIT_METHODS = ("saem", "focei", "laplace")
"""Estimation methods of `kinetics popfit` (`cartrial.kinetics.popfit.fit_population`)."""
FIGURE_FORMATS = ("png", "svg")
"""Figure file formats of the population-fit diagnostics."""
POPFIT_EXAMPLE = (
    "Example: [bold]cartrial kinetics popfit examples/ct103a-nmosd/study/pk_samples.csv --model stein2019 "
    "--iiv tmax_days,cmax,alpha_per_day,fb --seed 1 --out popfit-out[/]"
)
MAP_EXAMPLE = (
    "Example: [bold]cartrial kinetics map examples/ct103a-nmosd/study/pk_samples.csv --patient CT-001 "
    "--population popfit-out/estimates.json[/]  (after the popfit example)"
)


def _parse_named_values(items: list[str], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise InputError(
                Problem("expected NAME=VALUE", field=option, value=item, allowed="e.g. cmax=20000")
            )
        name, value = item.split("=", 1)
        if name.strip() in out:  # given twice: never silently the last one
            raise InputError(
                Problem("NAME given more than once", field=option, value=item, allowed="each NAME once")
            )
        out[name.strip()] = value.strip()
    return out


def _parse_named_numbers(
    items: list[str], option: str, *, comma_separated: bool = False
) -> tuple[dict[str, float], dict[str, str]]:
    """The one parse of a NAME=NUMBER option (`--initial`, `--fix`): the numbers and each value as typed (the
    engine's checks quote it so, D-19.372). `comma_separated`: an item may hold several, NAME=VALUE[,…]
    (`--fix`). Not NAME=VALUE, a NAME twice or a VALUE not a number: an `InputError` naming the option.
    Each number is read by `option_number`, as every number in an option's text (the import's rule: `float`
    took "1_000"; D-19.372, D-19.1425); NaN is not a number here."""
    parts = [part for item in items for part in item.split(",")] if comma_separated else items
    typed = _parse_named_values(parts, option)
    out: dict[str, float] = {}
    for name, value in typed.items():
        try:
            number = option_number(value)
        except ValueError:
            number = math.nan
        if number != number:
            raise InputError(
                Problem(
                    "not a number",
                    field=option,
                    value=f"{name}={value}",
                    allowed=f"NAME=NUMBER in {OPTION_DIGITS}",
                )
            )
        out[name] = number
    return out, typed


@kinetics_app.command("popfit", epilog=POPFIT_EXAMPLE)
@names_cli_arguments(_POPFIT_NAMES)
def popfit_command(
    file: Path | None = typer.Argument(None, help="PK sample CSV (the pk_samples template); or use --url."),
    model: str = typer.Option(
        "stein2019",
        "--model",
        help="stein2019, one_compartment_oral, one_compartment_oral_ke, biexponential, or cartrial_pd "
        "(alias pd: the CAR-T → plasma cell → AQP4-IgG model, with --individual-parameters).",
    ),
    individual_parameters: Path | None = typer.Option(
        None,
        "--individual-parameters",
        help="With --model cartrial_pd: ebe.csv of a stein2019 popfit (each subject's kinetic parameters); "
        "with --url it may be left out: the store's PK samples are fitted first in the same run.",
    ),
    titre: str = typer.Option(
        "interval",
        "--titre",
        help="Titre likelihood (PD model): interval (interval-censored, default) or centre.",
    ),
    method: str = typer.Option("saem", "--method", help="saem, focei (FOCE-I) or laplace (Laplacian)."),
    covariates_file: Path | None = typer.Option(None, "--covariates", help="CSV, one row per subject."),
    covariate: list[str] = typer.Option([], "--covariate", help="Effect PARAM~COVARIATE[:power|cat|linear]."),
    iiv: str | None = typer.Option(None, "--iiv", help="Comma-separated parameters with IIV (default all)."),
    omega: str = typer.Option("diagonal", "--omega", help="Omega structure: diagonal or full."),
    error: str = typer.Option("additive", "--error", help="additive, proportional or combined."),
    scale: str = typer.Option("log", "--scale", help="Residual scale: log or linear."),
    blq: str = typer.Option("m3", "--blq", help="BLQ method: m3 (censored likelihood) or m1 (drop)."),
    subject: str = typer.Option("subject_id", "--subject", help="Subject column."),
    time: str = typer.Option("actual_day", "--time", help="Time column."),
    time_unit: str = typer.Option(
        "day",
        "--time-unit",
        help="Unit of the time column: min, h, day or week. The stein2019 and PD models are in days (their "
        "rates are per day): other units are converted to days; the other models keep the unit given.",
    ),
    conc: str = typer.Option(_VALUE_COLUMN, "--conc", help="Value column."),
    dose_col: str | None = typer.Option(None, "--dose-col", help="Dose column (models with a dose)."),
    alq_col: str | None = typer.Option(None, "--alq-col", help=ALQ_HELP + " PK samples only."),
    analyte: str = typer.Option("car_transgene", "--analyte", help="Analyte to fit (template files)."),
    lloq: float | None = typer.Option(None, "--lloq", help=LLOQ_HELP),
    initial: list[str] = typer.Option(
        [],
        "--initial",
        help="Initial typical value NAME=VALUE (repeatable; allowed: within a factor 10^6 of the model's "
        "default, e.g. cmax 0.024 to 2.4e+10 copies/ug for stein2019). A concentration-scale value (cmax) is "
        "in the standard unit of the samples' dimension (cells/uL, copies/ug gDNA, copies/mL), the unit "
        "samples in cells/mL etc. are converted into (D-19.781); --lloq is in each sample's recorded unit.",
    ),
    fix: list[str] = typer.Option(
        [],
        "--fix",
        help="Fix typical values NAME=VALUE[,NAME=VALUE] (repeatable; NONMEM's FIX): not estimated (no SE or "
        "CI; 'fixed' in estimates.csv/json), no IIV unless --iiv names them; allowed as for --initial, e.g. "
        "--fix beta_per_day=0.0032 (Stein 2019 Table 1) when β runs off to 0. Concentration-scale values in "
        "the standard unit, as for --initial (D-19.781).",
    ),
    k1: int = typer.Option(250, "--k1", help="SAEM exploration iterations (allowed: 1 to 5000)."),
    k2: int = typer.Option(150, "--k2", help="SAEM smoothing iterations (allowed: 1 to 5000)."),
    seed: int = seed_option(12345),
    final_maximisation: bool = typer.Option(
        True,
        "--final-maximisation/--saem-estimate",
        help="SAEM: report the maximum of the importance-sampled likelihood found from SAEM's result "
        "(default), or SAEM's last iterate as saemix and Monolix do (with --proposal laplace the final "
        "maximisation shifts FOLDX by about -6 % and omega2 of tmax by -6 % whatever the number of "
        "subjects: docs/popfit.md section 7, D-17.23, D-17.24).",
    ),
    proposal: str = typer.Option(
        "mixture",
        "--proposal",
        help="SAEM: importance-sampling proposal of the final maximisation, -2LL and standard errors: "
        "laplace (t at the conditional modes), mcmc (t with the conditional moments of MCMC draws, as "
        "saemix) or mixture (default: mcmc with 10 % Laplace draws; D-17.24).",
    ),
    url: str | None = typer.Option(None, "--url", help="Fit the store's PK samples (study database URL)."),
    cutoff: str | None = typer.Option(None, "--cutoff", help="Data cut-off (YYYY-MM-DD) with --url."),
    user: str | None = typer.Option(None, "--user", help=USER_HELP + " With --url: whose view is read."),
    allow_unquantified: bool = typer.Option(False, "--allow-unquantified", help="Keep all-BLQ subjects."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    no_figures: bool = typer.Option(False, "--no-figures", help="Skip the figures."),
    figure_format: str = typer.Option("png", "--figure-format", help="png or svg."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary and estimates as JSON."),
    ci: str = typer.Option(
        "wald",
        "--ci",
        help="95 % CIs of typical values: wald (default), auto (Wald, profile likelihood where Wald is not "
        "available; can take minutes on a non-identifiable fit), or profile (profile likelihood for all).",
    ),
    variance_ci: str = typer.Option(
        "satterthwaite",
        "--variance-ci",
        help="95 % CIs of the variances and residual error parameters: satterthwaite (default; chi-square "
        "with 2 (estimate/SE)^2 df, as SAS PROC MIXED; calibrated with few subjects) or wald (log scale, as "
        "nlme's intervals; docs/popfit.md section 3, D-17.28).",
    ),
) -> None:
    """Population (mixed-effects) fit by SAEM with BLQ censoring (M3).

    Writes estimates (CSV + JSON), EBEs, diagnostics (NPDE, VPC), figures and summary.html to --out; a fit
    that did not converge is labelled NOT CONVERGED in every output (docs/popfit.md)."""
    import pandas as pd

    from cartrial.allowed import declared
    from cartrial.commands.report_commands import write_report
    from cartrial.kinetics.popfit import (
        ErrorModel,
        PopulationSpec,
        SaemSettings,
        fit_population,
        parse_covariate_spec,
        read_covariates,
    )
    from cartrial.kinetics.popfit.diagnostics import clean
    from cartrial.kinetics.popfit.fit import check_fixed, check_interval_methods, check_typical_values
    from cartrial.kinetics.popfit.newpatient import pre_dose_note
    from cartrial.report.popfit import file_listing, popfit_files
    from cartrial.tabular import dumps_json, read_csv

    if method not in POPFIT_METHODS:
        raise InputError(
            Problem(
                "estimation method not available",
                field="--method",
                value=method,
                allowed=choice_text(POPFIT_METHODS)
                + " (focei: first-order conditional with interaction; laplace: Laplacian conditional with "
                "interaction)",
            )
        )
    from cartrial.kinetics import check_lloq, check_time_unit

    check_lloq(lloq, "--lloq")
    check_seed(seed, "--seed")
    _check_folder(out)  # before any data is read or fitted (D-19.874)
    if cutoff is not None and url is None:
        raise InputError(
            Problem("--cutoff applies to the store only", field="--cutoff", value=cutoff, allowed="--url")
        )
    _check_figure_format(figure_format)
    _check_columns([], subject=subject, time=time, conc=conc, dose_col=dose_col, alq_col=alq_col)  # D-19.340
    # the engine's rules, before any data is read (its fields renamed to the options by _POPFIT_NAMES):
    # --ci/--variance-ci, --omega/--blq (`PopulationSpec`), --error/--scale (`ErrorModel`, with its rule that
    # the log scale takes an additive error only)
    check_interval_methods(ci, variance_ci)
    fixed, typed_fix = _parse_named_numbers(fix, "--fix", comma_separated=True)
    spec_rules = declared(PopulationSpec)
    for field, value in (("omega_structure", omega), ("blq", blq)):
        spec_rules[field].check(field, value)
    ErrorModel(error, scale)
    # --k1, --k2 and --proposal as the engine declares them (`SaemSettings`), before any data is read
    settings = SaemSettings(k1=k1, k2=k2, seed=seed, polish_proposal=proposal)  # type: ignore[arg-type]
    if not final_maximisation:
        settings = dataclasses.replace(settings, polish_rounds=0)
    from cartrial.kinetics.popfit import get_model
    from cartrial.kinetics.popfit.pdmodel import TITRE_LIKELIHOOD, is_pd_model

    pd_model = is_pd_model(model)
    init, typed_initial = _parse_named_numbers(initial, "--initial")
    if not pd_model:  # --fix and --initial as the engine checks them (names, ranges, not both), before any
        # data is read; each value quoted as typed (D-19.372). A range in the data's concentration unit is
        # stated in it, so `fit_population` checks it once the data are read (D-19.463)
        from cartrial.kinetics.popfit.structural import data_unit_parameters, parameter_units

        struct = get_model(model)
        units = parameter_units(
            struct, "", _model_time_unit(model) or check_time_unit(time_unit, "--time-unit")
        )
        later = data_unit_parameters(struct)
        check_typical_values(struct, init, "initial", typed_initial, units, later)
        check_fixed(struct, fixed, init, typed_fix, units, later)
    if pd_model and individual_parameters is None and url is None:
        raise InputError(
            Problem(
                f"the {model} model is fitted on each subject's kinetic parameters",
                field="--individual-parameters",
                allowed="the ebe.csv of a `cartrial kinetics popfit --model stein2019` of the same subjects "
                "(or --url: the store's PK samples are fitted first)",
            )
        )
    TITRE_LIKELIHOOD.check("censoring", titre)  # the engine's declaration, before any data is read
    if not pd_model and titre != "interval":
        raise InputError(
            Problem(
                "--titre applies to the PD model only (it would be ignored)",
                field="--titre",
                value=titre,
                allowed="--model cartrial_pd (alias pd)",
            )
        )
    if covariates_file is not None and not covariate:
        raise InputError(
            Problem(
                "--covariates gives the values; name the effects to fit (the file would be ignored)",
                field="--covariate",
                allowed="--covariate PARAM~COVARIATE[:power|cat|linear], repeatable",
            )
        )
    iiv_names = None if iiv is None else [name.strip() for name in iiv.split(",")]
    if iiv_names is not None and (
        "" in iiv_names or len(set(iiv_names)) < len(iiv_names)
    ):  # "" was taken as 'all', a name twice was fitted as given
        raise InputError(
            Problem(
                "a comma-separated list of distinct parameter names",
                field="--iiv",
                value=iiv,
                allowed="e.g. cmax,foldx (leave --iiv out for IIV on every parameter)",
            )
        )
    if not pd_model and individual_parameters is not None:
        raise InputError(
            Problem(
                "--individual-parameters applies to the PD model only",
                field="--individual-parameters",
                value=str(individual_parameters),
                allowed="--model cartrial_pd (alias pd)",
            )
        )
    if not pd_model and get_model(model).uses_dose and dose_col is None:
        raise InputError(
            Problem(
                f"the {model} model needs each subject's dose", field="--dose-col", allowed="a dose column"
            )
        )
    effects = [parse_covariate_spec(c) for c in covariate]
    covariates = None
    if file is not None and url is not None:
        raise InputError(Problem("give a FILE or --url, not both", field="--url"))
    if file is None and url is None and cutoff is None:
        raise InputError(Problem("no data: give a PK sample FILE or --url URL --cutoff DATE", field="FILE"))
    snapshot: Any = None
    stored_frames: dict[str, tuple[Any, str]] = {}
    samples = _SampleOptions(subject, time, conc, dose_col, analyte, lloq, alq_col)
    if file is not None:
        table = _read_samples(file, pd_model, samples, model, "popfit")
        source = str(file)
    else:
        from cartrial.analysis.populations import dose_levels
        from cartrial.commands.auth_commands import user_snapshot

        if cutoff is None:
            raise InputError(Problem("--url needs --cutoff", field="--cutoff", allowed="YYYY-MM-DD"))
        from cartrial.columns import iso_date

        cut = iso_date(cutoff, "--cutoff")
        # only selects the samples dated up to it, no follow-up is counted: a later date is allowed (D-19.380)
        snapshot = user_snapshot(user, url, cut, allow_future_cutoff=True)
        name = "pd_samples" if pd_model else "pk_samples"
        table = snapshot.table(name) if pd_model else _stored_pk_samples(snapshot, samples.analyte)
        source = f"store {name} (cut-off {cutoff}; {snapshot.view()['statement']})"
        # the reader's row N is position N - 2 of `table`: named by its record id, `db edit` takes (D-19.507)
        stored_frames = {source: (table, "pd_sample" if pd_model else "pk_sample")}
        levels = dose_levels(snapshot.table("infusions"))
        covariates = pd.DataFrame(
            {"subject_id": list(levels), "dose_level": [str(v) for v in levels.values()]}
        )
    # the store's rows are not the user's file: a refused one is named without its value (D-19.507)
    with stored_rows_errors(stored_frames) if snapshot is not None else contextlib.nullcontext():
        data = _population_data(
            table,
            samples,
            pd_model=pd_model,
            titre=titre,
            source=source,
            allow_unquantified=allow_unquantified,
            zero_is_blq=scale == "log",
            time_unit=time_unit,
        )
    if snapshot is not None:
        data = _of_snapshot(data, snapshot)
    data = _in_model_time_unit(data, time_unit, "day" if pd_model else _model_time_unit(model))
    if not pd_model:  # the ranges in the data's unit, each value quoted as typed (D-19.463)
        units = parameter_units(struct, data.value_unit, data.time_unit)
        check_typical_values(struct, init, "initial", typed_initial, units)
        check_fixed(struct, fixed, init, typed_fix, units)
    structural: Any = model
    kinetic_notes: list[str] = [pre_dose_note(data.n_pre_dose)] if data.n_pre_dose else []
    n_without_result = 0 if pd_model else int(table.attrs.get("n_without_result", 0))
    if n_without_result:
        kinetic_notes.append(without_result_note(n_without_result))
    if not pd_model:  # concentration-scale --initial/--fix are in the standard unit (D-19.781)
        from cartrial.kinetics.popfit.data import typed_values_note

        typed_note = typed_values_note(struct, [*init, *fixed], data)
        if typed_note:
            kinetic_notes.append(typed_note)
    pd_settings: dict[str, Any] = {}
    kinetic_outputs: dict[str, str | bytes] = {}  # OUT/kinetics/, written with the PD fit's files (D-19.501)
    if pd_model:
        from cartrial.kinetics.popfit.pdmodel import pd_fit_inputs

        if individual_parameters is not None:
            ip_table = read_csv(individual_parameters)
            ip_source = str(individual_parameters)
        else:
            ip_table, ip_source, kinetic_outputs = _store_kinetic_fit(
                snapshot,
                cutoff,
                out,
                settings,
                analyte,
                not no_figures,
                figure_format,
                allow_unquantified,
                as_json,
            )
        inputs = pd_fit_inputs(data, ip_table, source=ip_source)
        kinetic_notes.extend(inputs.notes)
        pd_settings = {
            "titre_censoring": titre,
            "individual_parameters": str(Path(ip_source).resolve())
            if individual_parameters is not None
            else ip_source,
        }
        data, structural = inputs.data, inputs.structural
    if covariates_file is not None:
        covariates = read_csv(covariates_file, required=[subject]).rename(columns={subject: "subject_id"})
    if effects:
        if covariates is None:
            raise InputError(Problem("--covariate needs --covariates FILE (or --url)", field="--covariates"))
        data = data.with_covariates(read_covariates(covariates, source=str(covariates_file or "store")))
    err_console = _err_console()
    from rich.progress import BarColumn, Progress, TextColumn

    with Progress(
        TextColumn("SAEM"),
        BarColumn(),
        TextColumn("iteration {task.completed}/{task.total}"),
        TextColumn("complete-data LL {task.fields[ll]:.1f}"),
        console=err_console,
        transient=True,
        disable=as_json,
    ) as bar:
        task = bar.add_task("saem", total=k1 + k2, ll=float("nan"))

        def progress(it: int, total: int, ll: float) -> None:
            bar.update(task, completed=it, ll=ll)

        fit = fit_population(
            data,
            structural,
            error=ErrorModel(error, scale),
            iiv=iiv_names,
            omega=omega,
            blq=blq,
            covariates=effects,
            initial=init,
            fix=fixed,
            settings=settings,
            progress=progress,
            method=method,
            ci=ci,
            variance_ci=variance_ci,
        )
    fit.settings.update(pd_settings)
    if kinetic_notes:
        fit.settings["notes"] = kinetic_notes
    _make_folder(out)
    outputs = popfit_files(fit, figures=not no_figures, figure_format=figure_format, seed=seed)
    # one stage for the whole run: the kinetic step's files and the PD fit's, all or none (D-19.501)
    write_report(
        out, {**outputs, **{f"kinetics/{name}": content for name, content in kinetic_outputs.items()}}
    )
    files = file_listing(outputs, out)
    kinetic_folder = out / "kinetics" if pd_model and individual_parameters is None else None
    if kinetic_folder is not None:
        files["kinetic_fit"] = str(kinetic_folder)
    if as_json:
        summary = {**fit.summary(), "estimates": fit.to_dict()["estimates"], "files": files}
        if kinetic_notes:
            summary["notes"] = kinetic_notes
        print(dumps_json(clean(summary)))
        return
    from rich.table import Table

    console = terminal()
    color = "green" if fit.converged else "red"
    left_out = fit.settings.get("left_out", [])
    # the counts are of the file (the JSON's n_subjects is of the fit): the header says how many the fit left
    # out, so the two read alike (D-19.1176)
    subjects = f"{data.n_subjects} subjects" + (f" ({len(left_out)} left out of the fit)" if left_out else "")
    console.print(
        f"[bold {color}]{fit.status}[/]: {model}, {subjects}, "
        f"{data.n_observations} samples ({data.n_blq} BLQ, {blq.upper()})"
    )
    for p in fit.convergence_problems:
        console.print(f"[red]- {p}[/]")
    for left in left_out:  # not in the fit, with why (D-19.1173)
        console.print(f"- left out of the fit: {left['subject']} ({left['reason']})", markup=False)
    for note in kinetic_notes:
        console.print(f"[red]- {note}[/]")
    grid = Table("kind", "parameter", "estimate", "unit", "RSE %", "95 % CI", "shrinkage %")
    for row in popfit_console_rows(fit.estimates):
        grid.add_row(*row)
    console.print(grid)
    for r in fit.estimates[fit.estimates["kind"] == "covariate"].itertuples():
        console.print(f"{r.parameter}: {r.note}")  # what the coefficient is relative to (D-19.239)
    console.print(likelihood_line(fit.likelihood))
    console.print(f"written to {out}/ (summary.html, estimates.csv/json, ebe.csv, diagnostics.csv, vpc.csv)")
    if kinetic_folder is not None:
        console.print(f"the kinetic fit whose EBEs this PD fit used: {kinetic_folder}/")


def popfit_console_rows(estimates: pd.DataFrame) -> list[tuple[str, ...]]:
    """The rows of `kinetics popfit`'s console table (kind, parameter, estimate, unit, RSE %, 95 % CI,
    shrinkage %) from the fit's estimates table, every number through the report's one formatter
    (`cartrial.report.popfit.number_text`: a tie half away from zero, a zero unsigned; D-19.1058), so the
    console reads as estimates.csv's summary.html and the report do."""
    from cartrial.report.popfit import number_text

    rows: list[tuple[str, ...]] = []
    for r in estimates.itertuples():
        no_ci = not (math.isfinite(_float(r.ci95_low)) and math.isfinite(_float(r.ci95_high)))
        held = bool(r.fixed)  # --fix: not estimated (D-19.273)
        shrinkage = _float(r.shrinkage_percent)
        interval = "–" if no_ci else f"{number_text(r.ci95_low)} – {number_text(r.ci95_high)}"
        rows.append(
            (
                str(r.kind),
                str(r.parameter),
                number_text(r.estimate),
                "" if str(r.unit) in ("-", "nan") else str(r.unit),
                "fixed" if held else number_text(r.rse_percent, ".1f"),
                "fixed" if held else interval,
                "" if math.isnan(shrinkage) else number_text(shrinkage, ".0f"),
            )
        )
    return rows


def likelihood_line(likelihood: Mapping[str, Any]) -> str:
    """The console's −2LL / AIC / BIC line, two decimals through `number_text` (D-19.1058)."""
    from cartrial.report.popfit import number_text

    return (
        f"-2LL {number_text(likelihood.get('minus_2_log_likelihood'), '.2f')} (IS), "
        f"AIC {number_text(likelihood.get('aic'), '.2f')}, BIC {number_text(likelihood.get('bic'), '.2f')}"
    )


def map_console_rows(parameters: pd.DataFrame) -> list[tuple[str, ...]]:
    """The rows of `kinetics map`'s console table (parameter, MAP, typical, 90 % interval, unit), four
    significant digits through `number_text` (D-19.1058)."""
    from cartrial.report.popfit import number_text

    return [
        (
            str(r.parameter),
            number_text(r.map_estimate),
            number_text(r.typical),
            (
                "– (no IIV)"
                if not r.iiv
                else f"{number_text(r.p05)} – {number_text(r.p95)}"
                if math.isfinite(_float(r.p05)) and math.isfinite(_float(r.p95))
                else "– (not a mode)"  # no Laplace interval without one (D-19.1143)
            ),
            str(r.unit),
        )
        for r in parameters.itertuples()
    ]


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


class _SampleOptions(NamedTuple):
    """The sample-table options `kinetics popfit` and `kinetics map` share (--subject, --time, --conc,
    --dose-col, --analyte, --lloq, --alq-col)."""

    subject: str
    time: str
    conc: str
    dose_col: str | None
    analyte: str
    lloq: float | None
    alq_col: str | None = None


def _model_time_unit(model: str) -> str:
    """The time unit of a structural model named on the command line ("" when it takes the data's own)."""
    from cartrial.kinetics.popfit.structural import MODELS, time_unit_of

    return time_unit_of(MODELS[model].units) if model in MODELS else ""


def _in_model_time_unit(data: Any, given: str, model_unit: str) -> Any:
    """`data` with its times converted from --time-unit `given` to the model's unit (`model_unit`; kept as
    given when the model has none), which is recorded as `PopulationData.time_unit` (D-19.216)."""
    from cartrial.kinetics import check_time_unit

    given = check_time_unit(given, "--time-unit")
    return data.in_time_unit(given, model_unit or given)


def _read_samples(file: Path, pd_model: bool, samples: _SampleOptions, model: str, command: str) -> Any:
    """The sample CSV of `kinetics popfit` / `kinetics map` (`command`): the subject and time columns are
    required, the value column too unless the samples are PD samples (whose value column `_population_data`
    resolves and checks). While --conc is left at its default, a file of the other kind — the PK template's
    (an ``analyte`` column, no titres) for a PD model, the PD template's (titres, no value column) for a PK
    model — is said so, naming `model`, a model name already checked (D-19.465); a --conc given is read."""
    from cartrial.kinetics.popfit.pdmodel import PD_MODEL_NAME
    from cartrial.kinetics.templates import PD_TITRE_COLUMN
    from cartrial.tabular import read_csv

    subject, time, conc = samples.subject, samples.time, samples.conc
    what = "the model" if command == "popfit" else "the population model"
    guess = conc == _VALUE_COLUMN
    try:
        table = read_csv(file, required=[subject, time] if pd_model else [subject, time, conc])
    except InputError as exc:
        missing = {p.field for p in exc.problems if p.message == "required column is missing"}
        if pd_model or not guess or conc not in missing or PD_TITRE_COLUMN not in read_csv(file).columns:
            raise
        pd_fit = (
            "--model pd" if command == "popfit" else "a PD estimates.json (from `kinetics popfit --model pd`)"
        )
        raise InputError(
            Problem(
                f"{what} is a PK model ({model}), and these look like PD samples (titres, no {conc} column)",
                file=str(file),
                allowed=f"PK samples (the pk_samples template: value, unit, lloq per analyte), or {pd_fit} "
                "for titres",
            )
        ) from None
    if pd_model and guess and "analyte" in table.columns and PD_TITRE_COLUMN not in table.columns:
        raise InputError(
            Problem(
                f"{what} is a PD model ({PD_MODEL_NAME}), and these look like PK samples (an analyte column, "
                "no titres)",
                file=str(file),
                allowed=f"PD samples (the pd_samples template: {PD_TITRE_COLUMN} per visit, or --conc naming "
                "the titre column), or a kinetic (PK) population model for PK samples",
            )
        )
    return table


def _population_data(
    table: Any,
    samples: _SampleOptions,
    *,
    pd_model: bool,
    titre: str,
    source: str,
    allow_unquantified: bool,
    min_subjects: int = 2,
    zero_is_blq: bool = True,
    time_unit: str = "day",
) -> Any:
    """The `PopulationData` of a sample table for `kinetics popfit` and `kinetics map`: PD samples by
    `pd_population_data` (value column `PD_TITRE_COLUMN` when the default `value` is missing; titres
    censored as `titre` says), PK samples by `PopulationData.from_frame` (one analyte, dose column, the
    flag of a level above the upper limit, --alq-col: D-19.668)."""
    subject, time, conc, lloq = samples.subject, samples.time, samples.conc, samples.lloq
    if pd_model and samples.alq_col:
        raise InputError(
            Problem(
                "a PD model's titres have no upper-limit flag: --alq-col is not used",
                field="--alq-col",
                value=samples.alq_col,
                allowed="--alq-col with PK samples (a kinetic model), or without it",
            )
        )
    if pd_model:
        from cartrial.kinetics import check_time_unit
        from cartrial.kinetics.popfit.pdmodel import pd_population_data
        from cartrial.kinetics.templates import PD_TITRE_COLUMN

        if conc == _VALUE_COLUMN and conc not in table.columns and PD_TITRE_COLUMN in table.columns:
            conc = PD_TITRE_COLUMN
        for column, option in ((conc, "--conc"), (subject, "--subject"), (time, "--time")):
            if column not in table.columns:
                raise InputError(
                    Problem("no such column", file=source, field=option, value=column, allowed="a column")
                )
        return pd_population_data(
            table,
            conc,
            subject=subject,
            time=time,
            censoring=titre,
            lloq=lloq,
            source=source,
            allow_unquantified=allow_unquantified,
            min_subjects=min_subjects,
            zero_is_blq=zero_is_blq,
            # the PD model's horizon is in days: a sample past it is refused at its row (D-19.1184)
            time_unit=check_time_unit(time_unit, "--time-unit"),
        )
    from cartrial.kinetics.popfit import PopulationData

    return PopulationData.from_frame(
        table,
        subject=subject,
        time=time,
        conc=conc,
        lloq=lloq,
        dose_column=samples.dose_col,
        analyte=samples.analyte,
        alq_column=samples.alq_col,
        source=source,
        allow_unquantified=allow_unquantified,
        min_subjects=min_subjects,
        zero_is_blq=zero_is_blq,
        drop_pre_dose=True,
    )


def _pk_sample_times(snapshot: Any) -> Any:
    """The snapshot's PK samples at the analysis layer's sample time (a sample drawn before the infusion is
    pre-dose whatever its ``actual_day``; D-19.304), as the NCA, ADPC and the report read them."""
    from cartrial.analysis.kinetics import stored_pk_samples
    from cartrial.analysis.populations import site_calendar

    # each sample on its subject's site clock, the analysis' calendar (`site_calendar`: the infusions'
    # time_zone column from the snapshot's site zones): a date typed without a time west of UTC keeps its
    # stored day, as in the NCA (D-19.1342, D-19.1346)
    infusions = site_calendar(
        {"subjects": snapshot.table("subjects"), "infusions": snapshot.table("infusions")},
        dict(getattr(snapshot, "time_zones", None) or {}),
    )["infusions"]
    # a sample without a result (no value, not flagged BLQ) is left out, as the NCA leaves it out, and
    # counted in the frame's attrs for the fit's note (D-19.1280): the analyte of each, so that a fit of one
    # analyte counts its own (`_stored_pk_samples`, D-19.1343)
    pk, pending = stored_pk_samples(snapshot.table("pk_samples"), infusions)
    pk.attrs["n_without_result"] = len(pending)
    analytes = pending["analyte"] if "analyte" in pending.columns else []
    pk.attrs["pending_analytes"] = [str(a).strip() for a in analytes]
    return pk


def _stored_pk_samples(snapshot: Any, analyte: str | None) -> Any:
    """The snapshot's PK samples (`_pk_sample_times`) as the population reader uses them: only `analyte`'s
    rows, renumbered, when there are any (the reader's own selection, which then keeps every row in place),
    so that the reader's row N is position N - 2 of this frame, whose ``record_id`` names the sample
    (D-19.507). With none the whole table, for the reader's "no sample of this analyte" naming the others."""
    table = _pk_sample_times(snapshot)
    if analyte is None or "analyte" not in table.columns:
        return table
    rows = table[table["analyte"].astype(str).str.strip() == analyte].reset_index(drop=True)
    # only the chosen analyte's samples without a result are left out of its fit (D-19.1343)
    rows.attrs["n_without_result"] = sum(a == analyte for a in table.attrs.get("pending_analytes", []))
    return rows if len(rows) else table


def without_result_note(count: int) -> str:
    """The note of the `count` stored PK samples a fit from the store left out for having no result
    (D-19.1280)."""
    from cartrial.wording import count as count_of

    return (
        f"{count_of(count, 'stored PK sample')} without a result (no value, not flagged BLQ) left out, as "
        "the NCA leaves it out (D-19.1280)"
    )


def _of_snapshot(data: Any, snapshot: Any) -> Any:
    """`data` read from the study store, marked with whose view of the study it is (D-19.459) and the data
    cut-off it was read at (ISO date, D-19.1148), as estimates.json and summary.html record them: every fit
    of the store (the PD fit's kinetic step too, D-19.1149) is marked here."""
    return dataclasses.replace(data, view=snapshot.view(), cutoff=snapshot.cutoff.isoformat())


def _stored_kinetic_data(snapshot: Any, cutoff: str | None, analyte: str, allow_unquantified: bool) -> Any:
    """The PK samples of `snapshot` as the kinetic step of a PD fit from the store reads them
    (`PopulationData`, marked with the snapshot's view and cut-off by `_of_snapshot`; D-19.1149)."""
    from cartrial.kinetics.popfit import PopulationData

    table = _stored_pk_samples(snapshot, analyte)
    n_without_result = int(table.attrs.get("n_without_result", 0))
    # the fit's source says the samples left out without a result (D-19.1280)
    left_out = f"; {without_result_note(n_without_result)}" if n_without_result else ""
    source = f"store pk_samples (cut-off {cutoff}{left_out})"
    with stored_rows_errors({source: (table, "pk_sample")}):  # a store's row, by its record id (D-19.507)
        data = PopulationData.from_frame(
            table,
            analyte=analyte,
            source=source,
            allow_unquantified=allow_unquantified,
            drop_pre_dose=True,
        )
    return _of_snapshot(data, snapshot)


def _store_kinetic_fit(
    snapshot: Any,
    cutoff: str | None,
    out: Path,
    settings: Any,
    analyte: str,
    figures: bool,
    figure_format: str,
    allow_unquantified: bool,
    quiet: bool,
) -> tuple[Any, str, dict[str, str | bytes]]:
    """The kinetic step of a sequential PD fit from the store: a stein2019 popfit of the snapshot's PK
    samples (same cut-off, SAEM settings and seed); its EBEs (with its status) are the PD fit's kinetic
    parameters (docs/popfit.md, "PD fit from the store"). Returns them, the path of OUT/kinetics/ebe.csv and
    the kinetic fit's files, which the caller writes to OUT/kinetics/ with the PD fit's own, in one stage:
    an error of the PD fit leaves OUT as it was (D-19.501)."""
    from cartrial.kinetics.popfit import fit_population
    from cartrial.report.popfit import popfit_files

    data = _stored_kinetic_data(snapshot, cutoff, analyte, allow_unquantified)
    if not quiet:
        _err_console().print(
            f"fitting the kinetics first (stein2019, {data.n_subjects} subjects, {data.source})"
        )
    fit = fit_population(data, "stein2019", settings=settings)
    files = popfit_files(fit, figures=figures, figure_format=figure_format)
    return fit.ebe.assign(status=fit.status), str((out / "kinetics" / "ebe.csv").resolve()), files


@kinetics_app.command("map", epilog=MAP_EXAMPLE)
@names_cli_arguments(_MAP_NAMES)
def map_command(
    file: Path = typer.Argument(
        ..., help="The new patient's samples (pk_samples template; pd_samples for a PD population)."
    ),
    population: Path = typer.Option(..., "--population", help="estimates.json of `kinetics popfit`."),
    individual_parameters: Path | None = typer.Option(
        None,
        "--individual-parameters",
        help="PD population: the patient's kinetic parameters (ebe.csv of a stein2019 popfit, or the "
        "map_parameters.csv of a kinetic MAP); default: the file the PD fit used.",
    ),
    subject: str = typer.Option("subject_id", "--subject", help="Subject column."),
    time: str = typer.Option("actual_day", "--time", help="Time column."),
    time_unit: str = typer.Option(
        "day",
        "--time-unit",
        help="Unit of the time column: min, h, day or week; converted to the population model's time unit "
        "(days for stein2019 and PD models; estimates.json data.time_unit).",
    ),
    conc: str = typer.Option(_VALUE_COLUMN, "--conc", help="Value column."),
    dose_col: str | None = typer.Option(None, "--dose-col", help="Dose column (models with a dose)."),
    alq_col: str | None = typer.Option(None, "--alq-col", help=ALQ_HELP + " PK samples only."),
    analyte: str = typer.Option("car_transgene", "--analyte", help="Analyte (template files)."),
    lloq: float | None = typer.Option(None, "--lloq", help=LLOQ_HELP),
    patient: str | None = typer.Option(None, "--patient", help="Subject id when the file has several."),
    covariate_value: list[str] = typer.Option([], "--covariate-value", help="NAME=VALUE (repeatable)."),
    out: Path | None = typer.Option(
        None, "--out", help="Folder for map_parameters.csv, map_profile.csv, map.json and the figure map_fit."
    ),
    no_figures: bool = typer.Option(False, "--no-figures", help="Skip the figure of the MAP fit."),
    figure_format: str = typer.Option("png", "--figure-format", help="png or svg (default png)."),
    as_json: bool = typer.Option(False, "--json", help="JSON output."),
) -> None:
    """MAP Bayesian estimate of a new patient (even 1-2 samples) with the predicted profile and 90 % band."""

    from cartrial.kinetics import check_lloq, check_time_unit
    from cartrial.kinetics.popfit import map_from_fit
    from cartrial.kinetics.popfit.diagnostics import clean
    from cartrial.tabular import dumps_json

    check_lloq(lloq, "--lloq")
    _check_figure_format(figure_format)
    _check_columns([], subject=subject, time=time, conc=conc, dose_col=dose_col, alq_col=alq_col)  # D-19.340

    from cartrial.sources import load_json_file

    try:
        doc = load_json_file(population)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError(
            Problem(
                f"cannot read the population model: {reason}",
                file=str(population),
                allowed="estimates.json of `cartrial kinetics popfit`",
            )
        ) from None
    from cartrial.kinetics.popfit.pdmodel import PD_MODEL_NAME, is_pd_model

    name = doc.get("model") if isinstance(doc, dict) else None
    pd_population = isinstance(name, str) and is_pd_model(name)
    if isinstance(doc, dict) and not pd_population:  # checked at its key before the samples are read, its
        # text never quoted: the file's text is no option the user typed (D-12.2)
        from cartrial.kinetics.popfit.structural import MODELS

        if not (isinstance(name, str) and name in MODELS):
            raise InputError(
                Problem(
                    "not a population model of cartrial",
                    file=str(population),
                    field="model",
                    allowed=choice_text([*sorted(MODELS), PD_MODEL_NAME]),
                )
            )
    if individual_parameters is not None and not pd_population:
        raise InputError(
            Problem(
                "--individual-parameters applies to a PD population model only",
                file=str(population),
                field="--individual-parameters",
                allowed="the estimates.json of a `kinetics popfit --model pd`",
            )
        )
    if pd_population:
        from cartrial.kinetics.popfit.pdmodel import titre_censoring_of

        titre = titre_censoring_of(doc)
    else:
        titre = "interval"
    samples = _SampleOptions(subject, time, conc, dose_col, analyte, lloq, alq_col)
    data = _population_data(
        _read_samples(file, pd_population, samples, str(name), "map"),
        samples,
        pd_model=pd_population,
        titre=titre,
        source=str(file),
        allow_unquantified=True,
        min_subjects=1,
        time_unit=time_unit,
    )
    if patient is None and data.n_subjects > 1:
        raise InputError(
            Problem(
                "the file has several subjects; choose one",
                field="--patient",
                allowed=choice_text(data.subjects[:10]),
            )
        )
    index = 0 if patient is None else (data.subjects.index(patient) if patient in data.subjects else -1)
    if index < 0:
        raise InputError(
            Problem(
                "subject not in the file",
                field="--patient",
                value=patient,
                allowed=choice_text(data.subjects[:10]),
            )
        )
    check_time_unit(time_unit, "--time-unit")
    if out is not None:
        _check_folder(out)  # before the MAP fit (D-19.874)
    kinetic_table, kinetic_source = (
        _pd_kinetic_parameters(doc, population, individual_parameters) if pd_population else (None, "")
    )
    result = map_from_fit(
        doc,
        data,
        subject=index,
        time_unit=time_unit,
        covariates=_parse_named_values(covariate_value, "--covariate-value"),
        kinetic_parameters=kinetic_table,
        source=str(population),
        kinetic_source=kinetic_source,
    )
    files: dict[str, str] | None = None
    if out is not None:
        from cartrial.commands.report_commands import write_report
        from cartrial.report.popfit import file_listing, map_files

        _make_folder(out)
        outputs = map_files(result, figures=not no_figures, figure_format=figure_format)
        write_report(out, outputs)
        files = file_listing(outputs, out)
    if as_json:
        print(dumps_json(clean(result.to_dict() if files is None else {**result.to_dict(), "files": files})))
        return
    from rich.table import Table

    console = terminal()
    console.print(
        f"[bold]MAP estimate[/] for {result.subject}"
        + ("" if result.status == "converged" else f" [red]{result.status_text}[/]")
    )
    grid = Table("parameter", "MAP", "typical", "90 % interval", "unit")
    for row in map_console_rows(result.parameters):
        grid.add_row(*row)
    console.print(grid)
    for note in result.notes:
        console.print(f"note: {note}")
    if files is not None:
        console.print(f"written to {out}/ ({', '.join(Path(p).name for p in files.values())})")


def _pd_kinetic_parameters(
    doc: dict[str, Any], population: Path, individual_parameters: Path | None
) -> tuple[Any, str]:
    """(table, its name) of a PD MAP's kinetic parameters: `individual_parameters`, or by default the file
    the PD fit used (recorded in its estimates.json as ``settings.individual_parameters``)."""
    from cartrial.tabular import read_csv

    if individual_parameters is None:
        settings = doc.get("settings") if isinstance(doc.get("settings"), dict) else {}
        recorded = settings.get("individual_parameters") if settings else None
        if not recorded or not Path(str(recorded)).is_file():
            raise InputError(
                Problem(
                    "the patient's kinetic parameters are needed (the PD fit's own file is not available)",
                    file=str(population),
                    field="--individual-parameters",
                    allowed="the patient's ebe.csv row, or the map_parameters.csv of `cartrial kinetics map` "
                    "on the patient's PK samples",
                )
            )
        individual_parameters = Path(str(recorded))
    return read_csv(individual_parameters), str(individual_parameters)


def _check_figure_format(figure_format: str) -> None:
    """`InputError` for a ``--figure-format`` other than png or svg (popfit and map)."""
    if figure_format not in FIGURE_FORMATS:
        raise InputError(
            Problem(
                "unknown figure format",
                field="--figure-format",
                value=figure_format,
                allowed=choice_text(FIGURE_FORMATS),
            )
        )


def _make_folder(out: Path) -> None:
    """Create the output folder; one that cannot be created is an `InputError` naming it."""
    _check_folder(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            Problem(f"cannot create the output folder: {exc.strerror or exc}", file=str(out))
        ) from None


def _check_folder(out: Path) -> None:
    """The refusal of `_make_folder` for a folder that exists as a file or lies under one, creating nothing:
    asked before the work, so a bad --out is not refused only after the fit (D-19.874)."""
    from cartrial.tabular import folder_creation_error

    error = folder_creation_error(out)
    if error is not None:
        raise InputError(Problem(f"cannot create the output folder: {error.strerror}", file=str(out)))


def register(app: typer.Typer) -> None:
    """Add ``nca`` and the ``kinetics`` group (simulate, fit, popfit, map) to the root app."""
    app.command(
        "nca",
        epilog=(
            "Example: [bold]cartrial nca examples/ct103a-nmosd/study/pk_samples.csv --subject subject_id "
            "--time actual_day --conc value --by analyte --unit-col unit --blq-col blq --interval 0,28[/]"
        ),
    )(nca_command)
    app.add_typer(kinetics_app, name="kinetics")
