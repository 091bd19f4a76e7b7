"""Demo step: kinetics. Simulates the example study's 12 patients with the Stein 2019 model (Cmax scaled by
dose level), runs NCA on them and on the shipped ``pk_samples.csv`` through `cartrial.kinetics.derive_nca`,
writes tables (CSV + JSON) and a PNG of the expansion curves to ``<out>/kinetics/`` and prints medians."""

from __future__ import annotations

from cartrial.demo import DemoContext


def run(ctx: DemoContext) -> None:
    """Run the kinetics demo step (see the module docstring)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd
    from rich.table import Table

    from cartrial.kinetics import STEIN_PARAMETERS, NcaOptions, derive_nca, stein2019_concentration
    from cartrial.kinetics.synthetic import stein_parameters_for_example
    from cartrial.kinetics.templates import PK_NCA_COLUMNS, PK_NOMINAL_DAYS
    from cartrial.tabular import csv_text, dumps_json, read_csv, to_json_records, write_atomic

    study = ctx.examples_dir / "ct103a-nmosd" / "study"
    out_dir = ctx.out_dir / "kinetics"
    out_dir.mkdir(parents=True, exist_ok=True)
    infusions = read_csv(study / "infusions.csv", required=["subject_id", "dose_level", "cells_per_kg"])
    params = stein_parameters_for_example(infusions)
    theta = params[list(STEIN_PARAMETERS)].to_numpy().T
    schedule = np.array([d for d in PK_NOMINAL_DAYS if d > 0], dtype=float)
    levels = stein2019_concentration(schedule, *theta)
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
            pd.DataFrame(
                {
                    "subject_id": np.repeat(params["subject"].to_numpy(), len(schedule)),
                    "dose_level": np.repeat(params["dose_level"].to_numpy(), len(schedule)),
                    "day": np.tile(schedule, len(params)),
                    "copies_per_ug": levels.ravel(),
                }
            ),
        ],
        ignore_index=True,
    )
    options = NcaOptions(intervals=((0.0, 28.0),))
    sim_result = derive_nca(
        simulated,
        subject="subject_id",
        by=["dose_level"],
        time="day",
        conc="copies_per_ug",
        time_unit="day",
        conc_unit="copies/ug gDNA",
        options=options,
        source="simulated example study",
    )
    sim_table = sim_result.table
    sim_meta = sim_result.metadata()
    write_atomic(out_dir / "nca_simulated.csv", csv_text(sim_table))
    write_atomic(
        out_dir / "nca_simulated.json",
        dumps_json(
            {
                "source": "Stein 2019 model, example-study parameters",
                "options": sim_meta["options"],
                "units": sim_meta["units"],
                "notes": sim_meta["notes"],
                "rows": to_json_records(sim_table),
            }
        )
        + "\n",
    )

    pk_file = study / "pk_samples.csv"
    pk = read_csv(pk_file)
    pk_result = derive_nca(
        pk,
        **PK_NCA_COLUMNS,
        options=options,
        source=str(pk_file),
    )
    pk_table = pk_result.table
    pk_meta = {
        str(analyte): {
            "options": pk_result.metadata()["options"],
            "units": pk_result.metadata()["units_by_conc_unit"][str(part["conc_unit"].iloc[0])],
            "notes": list(pk_result.notes),
        }
        for analyte, part in pk_table.groupby("analyte", sort=False)
    }
    write_atomic(out_dir / "nca_pk_samples.csv", csv_text(pk_table))
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


__all__ = ["run"]
