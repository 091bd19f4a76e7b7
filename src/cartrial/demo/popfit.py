"""Demo step: population fit. Fits the Stein 2019 model to the example study's CAR-T transgene samples by
SAEM with the censored likelihood for BLQ samples (`cartrial.kinetics.popfit.fit_population`), writes the
estimates, EBEs, diagnostics and a short HTML summary (`cartrial.report.popfit.popfit_files`; no figures,
to stay fast) to ``<out>/popfit/`` and
predicts a new patient from two samples by MAP (`map_estimate`). The status line says whether the fit
converged (12 subjects is little for 13 population parameters)."""

from __future__ import annotations

from cartrial.demo import DemoContext


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
    fit = fit_population(data, "stein2019", settings=SaemSettings(seed=1, k1=150, k2=80, is_draws=300))
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
    patient = PopulationData.from_arrays(
        ["NEW-PATIENT"],
        [np.array([7.0, 14.0])],
        [np.array([3100.0, np.nan])],
        lloq=50.0,
        min_subjects=1,
        allow_unquantified=True,
    )
    result = map_estimate(fit.model, patient)
    write_report(out_dir / "map", dict(map_files(result)))
    cmax = result.parameters.set_index("parameter").loc["cmax"]
    ctx.console.print(
        f"MAP of a new patient (day 7: 3100 copies/µg, day 14: BLQ): Cmax {cmax['map_estimate']:.0f} "
        f"(90 % interval {cmax['p05']:.0f}–{cmax['p95']:.0f}) copies/µg; written to {out_dir}"
    )
