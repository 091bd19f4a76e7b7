"""Demo step: population fit. Fits the Stein 2019 model to the example study's CAR-T transgene samples by
SAEM with the censored likelihood for BLQ samples (`cartrial.kinetics.popfit.fit_population`), writes the
estimates, EBEs, diagnostics and a short HTML summary (`cartrial.report.popfit.popfit_files`; no figures,
to stay fast) to ``<out>/popfit/`` and
predicts a new patient from two samples by MAP (`map_estimate`). The model is the shipped example's (`kinetics
popfit --help`, docs/popfit.md): IIV on tmax, Cmax, α and F_B, none on FOLDX and β, whose variances the 12
profiles cannot estimate (with IIV on all six the fit is NOT CONVERGED; D-19.324); the status line says
whether the fit converged. Then the CAR-T → plasma cell → AQP4-IgG
model is fitted to the example's AQP4-IgG titres sequentially on those EBEs
(`cartrial.kinetics.popfit.pdmodel`, a short run) into ``<out>/popfit/pd/``, with IIV on the baseline a0 and
the protected fraction, as the documented `kinetics popfit --model pd` example (docs/popfit.md): with IIV on
all four the 12 subjects' 68 titres collapse ω² of k_kill or of the protected fraction and let k_kill run
off, NOT CONVERGED with 60 + 30 and with 250 + 150 iterations (D-19.401)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cartrial.demo import DemoContext

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd


EXAMPLE_IIV = ("tmax_days", "cmax", "alpha_per_day", "fb")
"""The parameters with IIV in the example study's fit (the shipped `kinetics popfit` example; D-19.324)."""
EXAMPLE_PD_IIV = ("a0", "protected_fraction")
"""The parameters with IIV in the example study's PD fit (the `--model pd` example of docs/popfit.md;
D-19.401): the 12 subjects' titres do not estimate the variances of k_kill and the IgG half-life."""


def run(ctx: DemoContext) -> None:
    """Run the population-fit demo step (see the module docstring)."""
    import numpy as np
    from rich.table import Table

    from cartrial.commands.report_commands import write_report
    from cartrial.kinetics.popfit import PopulationData, SaemSettings, fit_population, map_estimate
    from cartrial.report.popfit import map_files, popfit_files
    from cartrial.tabular import read_csv

    pk = read_csv(ctx.examples_dir / "ct103a-nmosd" / "study" / "pk_samples.csv", required=["subject_id"])
    data = PopulationData.from_frame(pk, source="pk_samples.csv")
    fit = fit_population(
        data, "stein2019", iiv=EXAMPLE_IIV, settings=SaemSettings(seed=1, k1=150, k2=80, is_draws=300)
    )
    out_dir = ctx.out_dir / "popfit"
    write_report(out_dir, popfit_files(fit, figures=False, n_sim=100))
    color = "green" if fit.converged else "red"
    ctx.console.print(
        f"Population fit (SAEM, M3): [{color}]{fit.status}[/] — {data.n_subjects} subjects, "
        f"{data.n_observations} samples ({data.n_blq} BLQ); "
        f"-2LL {fit.likelihood['minus_2_log_likelihood']:.1f}"
    )
    table = Table("parameter", "typical", "RSE %", "omega²")
    est = fit.estimates
    for name in fit.model.spec.model.parameters:
        typ = est[(est["kind"] == "typical") & (est["parameter"] == name)].iloc[0]
        om = est[(est["kind"] == "omega2") & (est["parameter"] == name)]
        rse = "–" if typ["rse_percent"] != typ["rse_percent"] else f"{typ['rse_percent']:.0f}"
        table.add_row(name, f"{typ['estimate']:.4g}", rse, f"{om['estimate'].iloc[0]:.3g}" if len(om) else "")
    ctx.console.print(table)
    _why_not_converged(ctx, fit.convergence_problems)
    patient = PopulationData.from_arrays(
        ["NEW-PATIENT"],
        [np.array([7.0, 14.0])],
        [np.array([3100.0, np.nan])],
        lloq=50.0,
        min_subjects=1,
        allow_unquantified=True,
    )
    result = map_estimate(fit.model, patient)
    write_report(out_dir / "map", map_files(result, figures=False))
    cmax = result.parameters.set_index("parameter").loc["cmax"]
    ctx.console.print(
        f"MAP of a new patient (day 7: 3100 copies/µg, day 14: BLQ): Cmax {cmax['map_estimate']:.0f} "
        f"(90 % interval {cmax['p05']:.0f}–{cmax['p95']:.0f}) copies/µg; written to {out_dir}"
    )
    _pd_fit(ctx, fit.ebe, out_dir / "pd")


def pd_column(protocol_path: Path) -> str:
    """The PD samples' titre column the protocol at `protocol_path` collects (`pd_titre_column` of its
    `collected_assessments`); a protocol collecting none, or more than one, is an `InputError` naming the
    file."""
    from cartrial.errors import InputError, Problem
    from cartrial.protocol import load_protocol
    from cartrial.protocol.records import pd_titre_column

    try:
        column = pd_titre_column(load_protocol(protocol_path).collected_assessments)
    except InputError as exc:  # more than one titre collected: named with the protocol file
        raise exc.renamed({}, file=str(protocol_path)) from None
    if column is None:
        raise InputError(
            Problem(
                "the protocol collects no antibody titre for the population PD model",
                file=str(protocol_path),
                field="schedule",
                allowed="an assessment recorded as a titre on the PD samples form (e.g. aqp4_igg)",
            )
        )
    return column


def _pd_fit(ctx: DemoContext, ebe: pd.DataFrame, out_dir: Path) -> None:
    """The PD population model on the example's titres, with the kinetic fit's EBEs as fixed inputs."""
    from cartrial.commands.report_commands import write_report
    from cartrial.kinetics.popfit import SaemSettings, fit_population
    from cartrial.kinetics.popfit.pdmodel import pd_fit_inputs, pd_population_data
    from cartrial.report.popfit import popfit_files
    from cartrial.tabular import read_csv

    source = ctx.examples_dir / "ct103a-nmosd" / "study" / "pd_samples.csv"
    # the titre the example's protocol collects (D-19.534), interval-censored on the dilution grid (the
    # default titre likelihood)
    column = pd_column(ctx.examples_dir / "ct103a-nmosd" / "protocol.yaml")
    data = pd_population_data(read_csv(source, required=["subject_id"]), column, source="pd_samples.csv")
    inputs = pd_fit_inputs(data, ebe, source="EBEs of the kinetic fit")  # as `kinetics popfit --model pd`
    fit = fit_population(
        inputs.data,
        inputs.structural,
        iiv=EXAMPLE_PD_IIV,
        settings=SaemSettings(seed=1, k1=60, k2=30, is_draws=200, fim_draws=100),
    )
    write_report(out_dir, popfit_files(fit, figures=False, n_sim=100))
    est = fit.estimates.set_index(["kind", "parameter"])["estimate"]
    color = "green" if fit.converged else "red"
    ctx.console.print(
        f"PD population fit (AQP4-IgG titres on the kinetic EBEs): [{color}]{fit.status}[/] — typical "
        f"protected fraction {est[('typical', 'protected_fraction')]:.2f}, IgG half-life "
        f"{est[('typical', 'igg_half_life_days')]:.0f} days; written to {out_dir}"
    )
    _why_not_converged(ctx, fit.convergence_problems)


def _why_not_converged(ctx: DemoContext, problems: tuple[str, ...]) -> None:
    """The reasons a fit is labelled NOT CONVERGED, one a line (nothing for a converged fit)."""
    for problem in problems:
        ctx.console.print(f"  [red]not converged:[/] {problem}", highlight=False)
