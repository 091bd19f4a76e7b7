"""Outputs a reviewer can read (D-19.215): every axis of the popfit figures names its unit (time in days for
the Stein model, values in the sample table's unit), the VPC and individual-fit panels say which line is
which, the HTML estimates table has the unit column, and the terminal table shows "–" for an interval that
does not exist (never "nan – nan"). A table mixing units is refused at its row."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cartrial import examples as cartrial_examples
from cartrial.errors import InputError
from cartrial.kinetics.popfit import PopulationData, SaemSettings, fit_population
from cartrial.kinetics.popfit.diagnostics import fit_tables

from ...conftest import run_cartrial

PK = Path(cartrial_examples.__file__).resolve().parent / "ct103a-nmosd" / "study" / "pk_samples.csv"
FAST = SaemSettings(k1=5, k2=5, polish_rounds=0, is_draws=100, fim_draws=100, seed=1)


def test_the_value_unit_is_the_sample_tables_unit_of_the_analyte_fitted() -> None:
    raw = pd.read_csv(PK)
    # the example file says so in its unit column, per analyte
    assert set(raw.loc[raw["analyte"] == "car_transgene", "unit"]) == {"copies/ug gDNA"}
    assert PopulationData.from_frame(raw).value_unit == "copies/ug gDNA"
    assert PopulationData.from_frame(raw, analyte="car_t_cells").value_unit == "cells/uL"
    assert PopulationData.from_frame(raw.drop(columns="unit")).value_unit == ""


def test_a_table_mixing_units_is_refused_at_its_row(tmp_path: Path) -> None:
    raw = pd.read_csv(PK)
    raw = raw[raw["analyte"] == "car_transgene"].reset_index(drop=True)
    # another subject's samples in another unit (a unit per profile is consistent, the fit is not)
    other = raw["subject_id"] == raw["subject_id"].iloc[-1]
    raw.loc[other, "unit"] = "copies/uL"
    first_row = int(other.to_numpy().nonzero()[0][0]) + 2
    with pytest.raises(InputError) as err:
        PopulationData.from_frame(raw, source="pk.csv")
    text = str(err.value)
    assert f"pk.csv, row {first_row}, unit" in text and "more than one unit" in text
    assert "copies/uL" not in text  # never the record's value (D-12.2)


@pytest.fixture(scope="module")
def small_fit() -> tuple[object, dict[str, pd.DataFrame]]:
    fit = fit_population(PopulationData.from_frame(pd.read_csv(PK)), "stein2019", settings=FAST)
    return fit, fit_tables(fit, n_sim=20, seed=1)


def test_every_figure_axis_names_its_unit(small_fit: tuple[object, dict[str, pd.DataFrame]]) -> None:
    from cartrial.report.popfit_figures import (
        fit_units,
        gof_figure,
        individual_fits_figure,
        npde_figure,
        vpc_figure,
    )

    fit, tables = small_fit
    obs, vpc = tables["diagnostics"], tables["vpc"]
    # the Stein model's rates are per day, so its time axis is in days
    assert fit_units(fit) == ("day", "copies/ug gDNA")  # type: ignore[arg-type]
    gof = gof_figure(obs, log=True, value_unit="copies/ug gDNA")
    assert [a.get_ylabel() for a in gof.axes] == ["observed (copies/ug gDNA)"] * 2
    assert [a.get_xlabel() for a in gof.axes] == ["PRED (copies/ug gDNA)", "IPRED (copies/ug gDNA)"]
    npde = npde_figure(obs, log=True, time_unit="day", value_unit="copies/ug gDNA")
    assert [a.get_xlabel() for a in npde.axes] == ["time (day)", "PRED (copies/ug gDNA)"]
    v = vpc_figure(vpc, obs, log=True, time_unit="day", value_unit="copies/ug gDNA")
    assert v.axes[0].get_ylabel() == "value (copies/ug gDNA)" and v.axes[1].get_xlabel() == "time (day)"
    upper = [t.get_text() for t in v.axes[0].get_legend().get_texts()]
    assert "observed median" in upper and "simulated median: 90 % interval" in upper
    lower = [t.get_text() for t in v.axes[1].get_legend().get_texts()]
    assert lower == ["simulated: 90 % interval", "observed"]
    ind = individual_fits_figure(fit, obs)  # type: ignore[arg-type]
    assert ind.get_supxlabel() == "time (day)"
    assert ind.get_supylabel() == "value (copies/ug gDNA)"
    assert [t.get_text() for t in ind.axes[0].get_legend().get_texts()] == ["IPRED", "PRED"]


def test_html_has_units_and_the_terminal_table_no_nan(tmp_path: Path) -> None:
    out = tmp_path / "o"
    result = run_cartrial(
        "kinetics",
        "popfit",
        str(PK),
        "--k1",
        "5",
        "--k2",
        "5",
        "--seed",
        "1",
        "--no-figures",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.stderr
    estimates = pd.read_csv(out / "estimates.csv")
    assert estimates["ci95_low"].isna().any()  # this short fit has no Fisher information: no intervals
    assert "nan" not in result.stdout
    assert "-0\n" not in result.stdout and " -0 " not in result.stdout
    html_text = (out / "summary.html").read_text()
    assert "<th>unit</th>" in html_text and "<td>1/day</td>" in html_text
