"""CLI for cellular kinetics: ``cartrial nca`` and ``cartrial kinetics simulate|fit``, and the demo step.

Thin layer: read and validate the CSV (`cartrial.tabular`), call the engine (`cartrial.kinetics`), write the
table (CSV by default, ``--json`` with options/units/notes) and print notes on stderr.
"""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.progress import track
from rich.table import Table

from cartrial.columns import RowProblems, parse_bool, parse_float, parse_text
from cartrial.demo import DemoContext
from cartrial.errors import ConfigurationError, InputError, NotEstimableError, Problem
from cartrial.kinetics import (
    STEIN_PARAMETERS,
    AucMethod,
    LambdaZOrder,
    NcaOptions,
    PersistenceRule,
    fit_stein2019,
    nca,
    simulate_pd,
    simulate_stein2019,
    stein2019_concentration,
)
from cartrial.kinetics.synthetic import PK_NOMINAL_DAYS, stein_parameters_for_example
from cartrial.tabular import dumps_json, emit_table, read_csv, to_json_records, write_atomic

kinetics_app = typer.Typer(
    help="Cellular kinetics: simulate and fit the Stein 2019 CAR-T model (NCA is `cartrial nca`).",
    no_args_is_help=True,
)


class AucMethodChoice(StrEnum):
    LIN_UP_LOG_DOWN = "lin-up-log-down"
    LINEAR = "linear"
    LOG = "log"


AUC_METHODS = {
    AucMethodChoice.LIN_UP_LOG_DOWN: AucMethod.LIN_UP_LOG_DOWN,
    AucMethodChoice.LINEAR: AucMethod.LINEAR,
    AucMethodChoice.LOG: AucMethod.LIN_LOG,
}


class BlqChoice(StrEnum):
    PKNCA = "pknca"
    ZERO = "zero"
    HALF_LLOQ = "half-lloq"


class LambdaZChoice(StrEnum):
    PKNCA = "pknca"
    PHOENIX = "phoenix"


class ModelChoice(StrEnum):
    STEIN2019 = "stein2019"
    CARTRIAL_PD = "cartrial-pd"


def _err_console() -> Console:
    return Console(stderr=True)


def parse_interval(text: str, option: str = "--interval") -> tuple[float, float]:
    """``"0,28"`` → (0, 28); the end may be ``inf``."""
    parts = [p.strip() for p in text.split(",")]
    try:
        if len(parts) != 2:
            raise ValueError
        start, end = float(parts[0]), float(parts[1])
    except ValueError:
        raise InputError(
            Problem("not an interval", field=option, value=text, allowed="START,END e.g. 0,28 or 0,inf")
        ) from None
    if not (math.isfinite(start) and end > start):
        raise InputError(Problem("interval end must exceed a finite start", field=option, value=text))
    return start, end


def parse_days(text: str) -> np.ndarray:
    """``"0:365"`` (daily, inclusive), ``"0:365:7"`` (step) or ``"0,1,4,7"`` → sorted day array."""
    try:
        if ":" in text:
            parts = [float(p) for p in text.split(":")]
            if len(parts) not in (2, 3):
                raise ValueError
            start, stop = parts[0], parts[1]
            step = parts[2] if len(parts) == 3 else 1.0
            if step <= 0 or stop < start:
                raise ValueError
            days = np.arange(start, stop + step / 2, step)
        else:
            days = np.array(sorted(float(p) for p in text.split(",")))
    except ValueError:
        raise InputError(
            Problem(
                "not a day specification", field="--days", value=text, allowed="START:STOP[:STEP] or a,b,c"
            )
        ) from None
    if days.size == 0 or days[0] < 0:
        raise InputError(Problem("days must be ≥ 0", field="--days", value=text))
    return np.asarray(days, dtype=float)


def _read_profiles(
    file: Path,
    subject: str,
    time: str,
    conc: str,
    *,
    by: list[str],
    dose: str | None,
    blq_col: str | None,
    lloq_col: str | None,
    unit_col: str | None,
    keep_going: bool,
) -> tuple[pd.DataFrame, RowProblems]:
    """Read and validate the sample file; returns the parsed frame (bad rows marked) and the problems."""
    optional = [c for c in (dose, blq_col, lloq_col, unit_col) if c]
    raw = read_csv(file, required=[subject, time, conc, *by, *optional])
    problems = RowProblems(file)
    ids = parse_text(raw, subject, problems)
    times = parse_float(raw, time, problems, required=True)
    flags = parse_bool(raw, blq_col, problems, required=False) if blq_col else np.zeros(len(raw), dtype=bool)
    values = parse_float(raw, conc, problems, required=False, minimum=0.0)
    blank = (raw[conc] == "").to_numpy()
    for i in np.flatnonzero(blank & ~flags):
        problems.add(
            i,
            conc,
            "",
            "value is required unless the sample is flagged BLQ",
            "a number ≥ 0" + (f", or blank with {blq_col}=true" if blq_col else ""),
        )
    frame = pd.DataFrame({"_subject": ids, "_time": times, "_conc": np.where(flags, 0.0, values)})
    for column in by:
        frame[column] = parse_text(raw, column, problems)
    frame["_blq"] = flags
    if lloq_col:
        frame["_lloq"] = parse_float(
            raw, lloq_col, problems, required=False, minimum=0.0, exclusive_minimum=True
        )
    if dose:
        frame["_dose"] = parse_float(raw, dose, problems, required=True, minimum=0.0, exclusive_minimum=True)
    if unit_col:
        frame["_unit"] = parse_text(raw, unit_col, problems)
    frame["_row"] = np.arange(len(raw))
    keys = ["_subject", *by]
    bad = problems.bad_mask(len(raw))
    ok = frame[~bad]
    duplicated = ok.duplicated([*keys, "_time"], keep=False)
    for i in ok.index[duplicated.to_numpy()]:
        problems.add(i, time, raw[time].iat[i], "duplicate time within a subject", "one sample per time")
    for column, label in (("_unit", unit_col), ("_dose", dose)):
        if column in frame.columns:
            ok = frame[~problems.bad_mask(len(raw))]
            counts = ok.groupby(keys, sort=False)[column].transform("nunique")
            for i in ok.index[(counts > 1).to_numpy()]:
                problems.add(
                    i, label, raw[label].iat[i], "differs within one profile", "one value per profile"
                )
    problems.raise_if_any(keep_going)
    frame["_bad"] = problems.bad_mask(len(raw))
    return frame, problems


def nca_command(
    file: Path = typer.Argument(..., help="CSV with one row per sample."),
    subject: str = typer.Option(..., "--subject", help="Column identifying a subject/profile."),
    time: str = typer.Option(..., "--time", help="Column of time since infusion."),
    conc: str = typer.Option(..., "--conc", help="Column of concentration (blank or 0 when BLQ)."),
    dose: str | None = typer.Option(None, "--dose", help="Column of dose (adds dose-normalised Cmax/AUC)."),
    by: list[str] = typer.Option([], "--by", help="Extra grouping column, e.g. analyte (repeatable)."),
    time_unit: str = typer.Option("day", "--time-unit", help="Unit of the time column."),
    conc_unit: str | None = typer.Option(
        None, "--conc-unit", help='Concentration unit, e.g. "copies/ug" (or give --unit-col).'
    ),
    unit_col: str | None = typer.Option(None, "--unit-col", help="Column holding the concentration unit."),
    interval: list[str] = typer.Option([], "--interval", help="Partial AUC START,END (repeatable)."),
    auc_method: AucMethodChoice = typer.Option(
        AucMethodChoice.LIN_UP_LOG_DOWN, "--auc-method", help="Trapezoid rule (default PKNCA's)."
    ),
    blq: BlqChoice = typer.Option(BlqChoice.PKNCA, "--blq", help="BLQ rule preset (default PKNCA's)."),
    lloq: float | None = typer.Option(None, "--lloq", help="LLOQ for all samples (below it = BLQ)."),
    lloq_col: str | None = typer.Option(None, "--lloq-col", help="Column of per-sample LLOQ."),
    blq_col: str | None = typer.Option(None, "--blq-col", help="Column flagging BLQ samples (true/false)."),
    lambda_z: LambdaZChoice = typer.Option(
        LambdaZChoice.PKNCA, "--lambda-z", help="Terminal window rule (default PKNCA's)."
    ),
    lambda_z_window: str | None = typer.Option(
        None, "--lambda-z-window", help="Manual lambda_z window START,END (e.g. Tmax to day 28)."
    ),
    persistence: PersistenceRule = typer.Option(
        PersistenceRule.TLAST, "--persistence", help="Definition of persistence_days."
    ),
    as_json: bool = typer.Option(False, "--json", help="JSON with options, units and notes."),
    out: Path | None = typer.Option(None, "--out", help="Write here instead of stdout."),
    keep_going: bool = typer.Option(False, "--keep-going", help="Skip bad rows and report them."),
) -> None:
    """Non-compartmental analysis per subject (PKNCA rules by default)."""
    if lloq is not None and lloq_col:
        raise InputError(Problem("give --lloq or --lloq-col, not both", field="--lloq"))
    if conc_unit is None and unit_col is None:
        raise InputError(
            Problem(
                "the concentration unit is missing",
                file=str(file),
                field="--conc-unit",
                allowed='--conc-unit "copies/ug" or --unit-col COLUMN',
            )
        )
    if not time_unit.strip():
        raise InputError(Problem("the time unit is missing", field="--time-unit", allowed="e.g. day"))
    intervals = tuple(parse_interval(text) for text in interval)
    options = NcaOptions.preset(
        blq.value.replace("-", "_"),
        auc_method=AUC_METHODS[auc_method],
        lambda_z_order=LambdaZOrder(lambda_z.value),
        intervals=intervals,
        persistence_rule=persistence,
        lambda_z_window=parse_interval(lambda_z_window, "--lambda-z-window") if lambda_z_window else None,
    )
    if blq == BlqChoice.HALF_LLOQ and lloq is None and not lloq_col:
        raise InputError(Problem("--blq half-lloq needs --lloq or --lloq-col", field="--blq"))
    frame, problems = _read_profiles(
        file,
        subject,
        time,
        conc,
        by=list(by),
        dose=dose,
        blq_col=blq_col,
        lloq_col=lloq_col,
        unit_col=unit_col,
        keep_going=keep_going,
    )
    good = frame[~frame["_bad"]]
    keys = ["_subject", *by]
    group_unit = ["_unit"] if unit_col and conc_unit is None else []
    results: list[pd.DataFrame] = []
    metadata: dict[str, Any] = {}
    notes: list[str] = []
    groups = good.groupby(group_unit, sort=False) if group_unit else [((conc_unit,), good)]
    for key, part in groups:
        unit = str(key[0] if isinstance(key, tuple) else key)
        result = nca(
            part.rename(columns={"_subject": subject}),
            subject=[subject, *by],
            time="_time",
            conc="_conc",
            time_unit=time_unit,
            conc_unit=unit,
            options=options,
            lloq=lloq,
            lloq_column="_lloq" if lloq_col else None,
        )
        table = result.table
        if dose:
            doses = part.groupby(keys, sort=False)["_dose"].first().reset_index()
            doses = doses.rename(columns={"_subject": subject, "_dose": "dose"})
            table = table.merge(doses, on=[subject, *by], how="left")
            for name in ("cmax", "auclast", "aucinf_obs"):
                table[f"{name}_dn"] = table[name] / table["dose"]
        results.append(table)
        meta = result.metadata()
        metadata["options"] = meta["options"]
        metadata.setdefault("units_by_conc_unit", {})[unit] = meta["units"]
        metadata["units"] = (
            meta["units"] if len(metadata["units_by_conc_unit"]) == 1 else "see units_by_conc_unit"
        )
        notes.extend(result.notes)
    table = pd.concat(results, ignore_index=True) if results else pd.DataFrame()
    if problems and keep_going:
        bad_rows = frame[frame["_bad"]]
        messages = problems.error_column(len(frame))
        per_subject: dict[Any, list[str]] = {}
        for i, row in bad_rows.iterrows():
            per_subject.setdefault(row["_subject"], []).append(f"row {int(i) + 2}: {messages[int(i)]}")
        present = set(table[subject]) if len(table) else set()
        lost = [s for s in per_subject if s not in present]
        if lost:  # every row of these subjects is bad: keep them in the output, with the reason
            reason = "no valid sample: every row of this subject has an input error (see input_errors)"
            table = pd.concat(
                [table, pd.DataFrame({subject: lost, "not_estimable": reason})], ignore_index=True
            )
        table["input_errors"] = ["; ".join(per_subject.get(s, [])) for s in table[subject]]
        notes.append(f"{int(frame['_bad'].sum())} bad row(s) excluded; see input_errors")
    metadata["notes"] = notes
    console = _err_console()
    for note in notes:
        console.print(f"[yellow]note[/]: {note}")
    emit_table(table, out, as_json, extra={"command": "nca", **metadata})
    if out is not None:
        console.print(f"wrote {len(table)} profile(s) to {out}")


@kinetics_app.command("simulate")
def simulate_command(
    model: ModelChoice = typer.Option(ModelChoice.STEIN2019, "--model", help="Model to simulate."),
    subjects: int = typer.Option(100, "--subjects", min=1, help="Number of virtual subjects."),
    seed: int = typer.Option(1, "--seed", help="Random seed (results are reproducible)."),
    days: str = typer.Option("0:365", "--days", help="Days START:STOP[:STEP] or a,b,c."),
    residual_sd: float = typer.Option(
        0.0, "--residual-sd", min=0.0, help="Residual SD on the log scale (Stein Table 1: 0.56)."
    ),
    no_iiv: bool = typer.Option(False, "--no-iiv", help="Typical subject only (no variability)."),
    params_out: Path | None = typer.Option(None, "--params-out", help="Write individual parameters here."),
    as_json: bool = typer.Option(False, "--json", help="JSON output."),
    out: Path | None = typer.Option(None, "--out", help="Write the samples here instead of stdout."),
) -> None:
    """Simulate virtual subjects (long table: subject, day, level)."""
    grid = parse_days(days)
    settings: dict[str, Any]
    if model == ModelChoice.STEIN2019:
        sim = simulate_stein2019(subjects, grid, seed=seed, iiv=not no_iiv, residual_sd_log=residual_sd)
        samples = sim.long_table()
        params = sim.parameters
        settings = sim.settings
    else:
        pd_sim = simulate_pd(subjects, grid, seed=seed, iiv=not no_iiv)
        n, m = pd_sim.car_t.shape
        params = pd_sim.parameters
        samples = pd.DataFrame(
            {
                "subject": np.repeat(params["subject"].to_numpy(), m),
                "day": np.tile(grid, n),
                "car_t_copies_per_ug": pd_sim.car_t.ravel(),
                "plasma_cells_relative": pd_sim.plasma_cells_relative().ravel(),
                "aqp4_igg_relative": pd_sim.antibody_relative.ravel(),
            }
        )
        settings = {**pd_sim.settings, "note": "cartrial proposed model, not published"}
    if params_out is not None:
        write_atomic(params_out, params.to_csv(index=False, lineterminator="\n"))
    emit_table(samples, out, as_json, extra={"command": "kinetics simulate", "settings": settings})
    if out is not None:
        _err_console().print(f"wrote {len(samples)} samples of {subjects} subject(s) to {out}")


@kinetics_app.command("fit")
def fit_command(
    file: Path = typer.Argument(..., help="CSV with one row per sample."),
    model: ModelChoice = typer.Option(ModelChoice.STEIN2019, "--model", help="Model to fit (stein2019)."),
    subject: str = typer.Option("subject_id", "--subject", help="Column identifying a subject."),
    time: str = typer.Option("actual_day", "--time", help="Column of days since infusion."),
    conc: str = typer.Option("value", "--conc", help="Column of transgene level (copies/ug)."),
    lloq: float | None = typer.Option(None, "--lloq", help="LLOQ for all samples."),
    lloq_col: str | None = typer.Option(None, "--lloq-col", help="Column of per-sample LLOQ."),
    blq_col: str | None = typer.Option(None, "--blq-col", help="Column flagging BLQ samples."),
    by: list[str] = typer.Option([], "--by", help="Extra grouping column, e.g. analyte (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="JSON output with diagnostics."),
    out: Path | None = typer.Option(None, "--out", help="Write here instead of stdout."),
    keep_going: bool = typer.Option(False, "--keep-going", help="Skip bad rows and report them."),
) -> None:
    """Fit the Stein 2019 model to each subject's profile (censored likelihood for BLQ)."""
    if model != ModelChoice.STEIN2019:
        raise ConfigurationError("only --model stein2019 can be fitted (the PD model is simulate-only)")
    frame, _ = _read_profiles(
        file,
        subject,
        time,
        conc,
        by=list(by),
        dose=None,
        blq_col=blq_col,
        lloq_col=lloq_col,
        unit_col=None,
        keep_going=keep_going,
    )
    good = frame[~frame["_bad"]]
    rows: list[dict[str, Any]] = []
    details: list[dict[str, Any]] = []
    groups = list(good.groupby(["_subject", *by], sort=False))
    progress = track(
        groups,
        description="fitting",
        console=_err_console(),
        transient=True,
        disable=len(groups) < 20,
    )
    for key, part in progress:
        ident = dict(zip([subject, *by], key if isinstance(key, tuple) else (key,), strict=True))
        part_lloq = part["_lloq"].to_numpy() if lloq_col else lloq
        row: dict[str, Any] = dict(ident)
        try:
            fit = fit_stein2019(
                part["_time"].to_numpy(),
                part["_conc"].to_numpy(),
                lloq=part_lloq,
                blq=part["_blq"].to_numpy(),
            )
        except NotEstimableError as exc:
            row.update({name: float("nan") for name in STEIN_PARAMETERS})
            row["not_estimable"] = str(exc)
            rows.append(row)
            details.append({**ident, "not_estimable": str(exc)})
            continue
        for name in STEIN_PARAMETERS:
            row[name] = fit.estimates[name]
            row[f"{name}_se"] = fit.standard_errors[name]
        row["residual_sd_log"] = fit.residual_sd_log
        for name in ("n_quantifiable", "n_blq", "aic", "r2_log", "converged"):
            row[name] = fit.diagnostics[name]
        row["not_estimable"] = "; ".join(f"{k} SE: {v}" for k, v in fit.se_reasons.items())
        rows.append(row)
        details.append({**ident, **fit.as_dict(), "observations": to_json_records(fit.observations)})
    columns = [
        subject,
        *by,
        *(column for name in STEIN_PARAMETERS for column in (name, f"{name}_se")),
        "residual_sd_log",
        "n_quantifiable",
        "n_blq",
        "aic",
        "r2_log",
        "converged",
        "not_estimable",
    ]
    table = pd.DataFrame(rows).reindex(columns=columns)
    extra = {"command": "kinetics fit", "model": "stein2019", "fits": details}
    emit_table(table, out, as_json, extra=extra)


def register(app: typer.Typer) -> None:
    """Add ``nca`` and the ``kinetics`` group (simulate, fit) to the root app."""
    app.command("nca")(nca_command)
    app.add_typer(kinetics_app, name="kinetics")


def demo(ctx: DemoContext) -> None:
    """Simulate the example study's 12 patients (dose by level), run NCA on them and on the shipped
    pk_samples.csv, write tables (CSV + JSON) and a PNG of the expansion curves to ``<out>/kinetics/``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    study = ctx.examples_dir / "ct103a-nmosd" / "study"
    out_dir = ctx.out_dir / "kinetics"
    out_dir.mkdir(parents=True, exist_ok=True)
    infusions = read_csv(study / "infusions.csv", required=["subject_id", "dose_level", "cells_per_kg"])
    params = stein_parameters_for_example(infusions)
    theta = params[list(STEIN_PARAMETERS)].to_numpy().T
    schedule = np.array([d for d in PK_NOMINAL_DAYS if d > 0], dtype=float)
    levels = stein2019_concentration(schedule, *theta)
    simulated = pd.DataFrame(
        {
            "subject_id": np.repeat(params["subject"].to_numpy(), len(schedule)),
            "dose_level": np.repeat(params["dose_level"].to_numpy(), len(schedule)),
            "day": np.tile(schedule, len(params)),
            "copies_per_ug": levels.ravel(),
        }
    )
    simulated = pd.concat(
        [
            pd.DataFrame(
                {
                    "subject_id": params["subject"],
                    "dose_level": params["dose_level"],
                    "day": 0.0,
                    "copies_per_ug": 0.0,
                }
            ),
            simulated,
        ],
        ignore_index=True,
    )
    options = NcaOptions(intervals=((0.0, 28.0),))
    sim_result = nca(
        simulated,
        subject=["subject_id", "dose_level"],
        time="day",
        conc="copies_per_ug",
        time_unit="day",
        conc_unit="copies/ug gDNA",
        options=options,
    )
    sim_table = sim_result.table
    write_atomic(out_dir / "nca_simulated.csv", sim_table.to_csv(index=False, lineterminator="\n"))
    write_atomic(
        out_dir / "nca_simulated.json",
        dumps_json(
            {
                "source": "Stein 2019 model, example-study parameters",
                **sim_result.metadata(),
                "rows": to_json_records(sim_table),
            }
        )
        + "\n",
    )

    pk = read_csv(study / "pk_samples.csv")
    problems = RowProblems(study / "pk_samples.csv")
    pk_frame = pd.DataFrame(
        {
            "subject_id": pk["subject_id"],
            "analyte": pk["analyte"],
            "actual_day": parse_float(pk, "actual_day", problems),
            "value": parse_float(pk, "value", problems, required=False, minimum=0.0),
            "blq": parse_bool(pk, "blq", problems),
            "unit": pk["unit"],
        }
    )
    problems.raise_if_any()
    pk_tables = []
    pk_meta = {}
    for (analyte, unit), part in pk_frame.groupby(["analyte", "unit"], sort=False):
        result = nca(
            part,
            subject=["subject_id", "analyte"],
            time="actual_day",
            conc="value",
            time_unit="day",
            conc_unit=str(unit),
            options=options,
            blq_column="blq",
        )
        pk_tables.append(result.table)
        pk_meta[str(analyte)] = result.metadata()
    pk_table = pd.concat(pk_tables, ignore_index=True)
    write_atomic(out_dir / "nca_pk_samples.csv", pk_table.to_csv(index=False, lineterminator="\n"))
    write_atomic(
        out_dir / "nca_pk_samples.json",
        dumps_json(
            {
                "source": "examples/ct103a-nmosd/study/pk_samples.csv (synthetic)",
                "analytes": pk_meta,
                "rows": to_json_records(pk_table),
            }
        )
        + "\n",
    )

    grid = np.arange(0, 366.0)
    curves = stein2019_concentration(grid, *theta)
    figure, axis = plt.subplots(figsize=(8, 5))
    colours = {"1": "tab:blue", "2": "tab:red"}
    labels_done: set[str] = set()
    for i, level in enumerate(params["dose_level"].astype(str)):
        label = None
        if level not in labels_done:
            per_kg = float(params["cells_per_kg"].iat[i]) / 1e6
            label = f"dose level {level} ({per_kg:g}×10⁶ CAR+ T cells/kg)"
            labels_done.add(level)
        axis.plot(grid[1:], curves[i, 1:], color=colours.get(level, "grey"), alpha=0.8, label=label)
    axis.axhline(50, color="black", linestyle=":", linewidth=1, label="LLOQ 50 copies/µg")
    axis.set_yscale("log")
    axis.set_xlabel("days after infusion")
    axis.set_ylabel("CAR transgene (copies/µg gDNA)")
    axis.set_title("Simulated CAR-T expansion (Stein 2019 model), example study — synthetic")
    axis.legend()
    figure.tight_layout()
    figure.savefig(out_dir / "expansion_curves.png", dpi=120)
    plt.close(figure)

    summary = Table(title="Kinetics (simulated from the Stein 2019 model, by dose level)")
    for column in (
        "dose level",
        "n",
        "median Cmax (copies/µg)",
        "median Tmax (day)",
        "median AUC0-28 (copies·day/µg)",
    ):
        summary.add_column(column)
    for level, part in sim_table.groupby("dose_level"):
        summary.add_row(
            str(level),
            str(len(part)),
            f"{part['cmax'].median():,.0f}",
            f"{part['tmax'].median():g}",
            f"{part['auc_0_28'].median():,.0f}",
        )
    ctx.console.print(summary)
    transgene = pk_table[pk_table["analyte"] == "car_transgene"]
    late = pk[(pk["analyte"] == "car_transgene") & (pk["blq"] == "false")]
    persisting = late.loc[pd.to_numeric(late["nominal_day"]) >= 180, "subject_id"].nunique()
    ctx.console.print(
        f"NCA of pk_samples.csv: {len(transgene)} transgene profiles, median Cmax "
        f"{transgene['cmax'].median():,.0f} copies/µg at day {transgene['tmax'].median():.1f}; "
        f"quantifiable at the month-6 visit or later in {persisting}/{len(transgene)}"
    )
    ctx.console.print(f"NCA options: {options.describe()}")
    ctx.console.print(f"kinetics: tables and expansion_curves.png in {out_dir}/")
