"""The VPC figure draws the LLOQ as a horizontal reference line labelled with its value and unit, and the
BLQ-fraction panel names the same LLOQ (D-19.238)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cartrial import examples as cartrial_examples
from cartrial.kinetics.popfit import PopulationData, SaemSettings, fit_population
from cartrial.kinetics.popfit.diagnostics import fit_tables

PK = Path(cartrial_examples.__file__).resolve().parent / "ct103a-nmosd" / "study" / "pk_samples.csv"
FAST = SaemSettings(k1=5, k2=5, polish_rounds=0, is_draws=100, fim_draws=100, seed=1)


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    fit = fit_population(
        PopulationData.from_frame(pd.read_csv(PK)), "stein2019", settings=FAST, compute_se=False
    )
    return fit_tables(fit, n_sim=20, seed=1)


def _lines(ax: object, start: str) -> list[object]:
    return [line for line in ax.get_lines() if str(line.get_label()).startswith(start)]  # type: ignore[attr-defined]


def test_the_lloq_line_is_drawn_and_labelled_with_value_and_unit(tables: dict[str, pd.DataFrame]) -> None:
    from cartrial.report.popfit_figures import vpc_figure

    raw = pd.read_csv(PK)
    lloq = float(raw.loc[raw["analyte"] == "car_transgene", "lloq"].iloc[0])  # 50 copies/ug gDNA
    fig = vpc_figure(tables["vpc"], tables["diagnostics"], log=True, value_unit="copies/ug gDNA")
    top, bottom = fig.axes[0], fig.axes[1]
    (line,) = _lines(top, "LLOQ")
    assert line.get_label() == f"LLOQ {lloq:g} copies/ug gDNA"
    assert np.allclose(line.get_ydata(), lloq)
    assert "LLOQ" in [t.get_text().split(" ")[0] for t in top.get_legend().get_texts()]
    assert bottom.get_ylabel() == f"fraction < LLOQ\n{lloq:g} copies/ug gDNA"


def test_bins_with_different_lloqs_get_a_step_line(tables: dict[str, pd.DataFrame]) -> None:
    from cartrial.report.popfit_figures import vpc_figure

    vpc = tables["vpc"].copy()
    vpc.loc[vpc.index[-3:], "lloq"] = 100.0
    fig = vpc_figure(vpc, tables["diagnostics"], log=True, value_unit="copies/ug gDNA")
    (line,) = _lines(fig.axes[0], "LLOQ")
    assert line.get_label() == "LLOQ (per bin, 50 to 100 copies/ug gDNA)"


def test_a_vpc_table_without_lloq_draws_no_line(tables: dict[str, pd.DataFrame]) -> None:
    from cartrial.report.popfit_figures import vpc_figure

    fig = vpc_figure(tables["vpc"].drop(columns="lloq"), tables["diagnostics"], log=True)
    assert not _lines(fig.axes[0], "LLOQ")
    assert fig.axes[1].get_ylabel() == "BLQ fraction"


def test_summary_html_says_what_each_covariate_is_relative_to(tmp_path: Path, few_draws: None) -> None:
    from ...conftest import run_cartrial

    study = PK.parent
    out = tmp_path / "o"
    result = run_cartrial(
        "kinetics", "popfit", PK, "--iiv", "tmax_days,cmax", "--covariates", study / "infusions.csv",
        "--covariate", "cmax~dose_level:cat", "--k1", "5", "--k2", "5", "--saem-estimate", "--seed", "1",
        "--no-figures", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    reference = str(pd.read_csv(study / "infusions.csv")["dose_level"].value_counts().index[0])
    html = (out / "summary.html").read_text()
    assert f"relative to the reference level dose_level = {reference}" in html
