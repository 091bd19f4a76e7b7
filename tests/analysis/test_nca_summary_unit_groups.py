"""`nca_summary` summarises each concentration unit of an analyte apart (docs/science/decisions.md D-19.758).

Before: the summary grouped by analyte only, so an analyte recorded in two units (one site reporting the
transgene in copies/ug gDNA, another in copies/mL; the import accepts any unit per sample and no edit check
compares them) had one geometric mean over values of both units, labelled with the unit of the first subject
(example study: a dose-level-1 Cmax geometric mean of 99,980 "copies/mL", CV 321,874 %). Expected values by
hand: Cmax is the highest observed value (PKNCA ``pk.calc.cmax``); the geometric mean of two values is the
square root of their product."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from cartrial.analysis.kinetics import nca_datasets
from cartrial.analysis.model import Population
from cartrial.analysis.populations import SAFETY
from cartrial.protocol.analysis_spec import AnalysisOptions

from .test_interval_auc_coverage import FULL, _tables

PROFILES = {"S1": FULL, "S2": [(d, 2 * c) for d, c in FULL], "M1": [(d, 1000 * c) for d, c in FULL]}


def _summary() -> pd.DataFrame:
    tables = _tables(PROFILES)
    pk = tables["pk_samples"]
    pk.loc[pk["subject_id"] == "M1", "unit"] = "copies/mL"
    populations = {SAFETY: Population(SAFETY, "infused", tuple(PROFILES), {})}
    spec = AnalysisOptions(nca_options={"auc_method": "linear"})  # type: ignore[arg-type]
    return nca_datasets(tables, populations, spec)["nca_summary"].table


def test_two_units_of_one_analyte_are_never_pooled() -> None:
    """Failing first: one 'all' Cmax row with n = 3 over both units."""
    summary = _summary()
    cmax = summary[(summary["parameter"] == "cmax") & (summary["group"] == "all")]
    by_unit = {row.conc_unit: row for row in cmax.itertuples()}
    assert set(by_unit) == {"copies/ug gDNA", "copies/mL"}
    ug, ml = by_unit["copies/ug gDNA"], by_unit["copies/mL"]
    assert (ug.n, ml.n) == (2, 1)
    assert math.isclose(ug.geometric_mean, math.sqrt(1000.0 * 2000.0), rel_tol=1e-12)
    assert (ug.min, ug.max, ug.unit) == (1000.0, 2000.0, "copies/ug gDNA")
    assert math.isclose(ml.geometric_mean, 1_000_000.0, rel_tol=1e-12)
    assert (ml.max, ml.unit) == (1_000_000.0, "copies/mL")


def _summary_by_level(profiles: dict[str, list[tuple[float, float | None]]], units: dict[str, str]) -> Any:
    tables = _tables(profiles)
    pk = tables["pk_samples"]
    for sid, unit in units.items():
        pk.loc[pk["subject_id"] == sid, "unit"] = unit
    tables["infusions"]["dose_level"] = [2 if sid == "M1" else 1 for sid in profiles]
    populations = {SAFETY: Population(SAFETY, "infused", tuple(profiles), {})}
    spec = AnalysisOptions(nca_options={"auc_method": "linear"})  # type: ignore[arg-type]
    return nca_datasets(tables, populations, spec, protocol_levels=(1, 2, 3))["nca_summary"]


def test_a_unit_gets_no_empty_row_for_a_level_dosed_in_another_unit() -> None:
    """Failing first (the old test here only checked the (analyte, conc_unit, group, parameter) keys are
    unique, which main met too): S1, S2 at dose level 1 in copies/ug gDNA, M1 at level 2 in copies/mL,
    protocol levels 1-3. Each unit had a row for every protocol level, so copies/mL showed dose level 1 with
    n_subjects 0 ("not dosed", D-19.108) although level 1 was dosed. By hand: copies/ug gDNA has levels 1
    (2 subjects) and 3 (0: dosed in no unit, shown under the unit of most subjects), copies/mL level 2 (1)."""
    dataset = _summary_by_level(PROFILES, {"M1": "copies/mL"})
    summary = dataset.table
    assert not summary.duplicated(["analyte", "conc_unit", "group", "parameter"]).any()
    cmax = summary[summary["parameter"] == "cmax"]
    assert sorted(zip(cmax["conc_unit"], cmax["group"], cmax["n_subjects"], strict=True)) == [
        ("copies/mL", "all", 1),
        ("copies/mL", "dose level 2", 1),
        ("copies/ug gDNA", "all", 2),
        ("copies/ug gDNA", "dose level 1", 2),
        ("copies/ug gDNA", "dose level 3", 0),
    ]
    (note,) = [n for n in dataset.notes if "concentration units" in n]
    assert "copies/ug gDNA (2 subjects); copies/mL (1 subject)" in note
    assert note.startswith("car_transgene ")


def test_one_unit_spelt_two_ways_is_one_group() -> None:
    """Failing first against 9d9e8916 (this branch before ab089221; main had no per-unit summary at all):
    "copies/µg gDNA" (micro sign, two spaces) and "copies/ug gDNA" were two groups of one subject each.
    By hand: one group, Cmax 1000 and 2000, geometric mean sqrt(2e6); no unit note."""
    profiles = {"S1": PROFILES["S1"], "S2": PROFILES["S2"]}
    dataset = _summary_by_level(profiles, {"S2": "copies/\u00b5g  gDNA"})
    cmax = dataset.table[(dataset.table["parameter"] == "cmax") & (dataset.table["group"] == "all")]
    assert cmax["conc_unit"].tolist() == ["copies/ug gDNA"]
    assert int(cmax["n"].iloc[0]) == 2
    assert math.isclose(float(cmax["geometric_mean"].iloc[0]), math.sqrt(2e6), rel_tol=1e-12)
    assert not [n for n in dataset.notes if "concentration units" in n]


def test_the_median_by_day_is_per_unit() -> None:
    """Failing first: one day-7 median over 1000, 2000 (copies/ug gDNA) and 1e6 (copies/mL): 2000, the middle
    of three values in two units. By hand: per unit, the median of [1000, 2000] is 1500 and of [1e6] 1e6."""
    from cartrial.analysis.kinetics import median_by_day

    pk = _tables(PROFILES)["pk_samples"]
    pk.loc[pk["subject_id"] == "M1", "unit"] = "copies/mL"
    medians = median_by_day(pk, dict.fromkeys(PROFILES, 1))
    day7 = medians[medians["nominal_day"] == 7.0]
    assert sorted(zip(day7["unit"], day7["median"], day7["n"], strict=True)) == [
        ("copies/mL", 1_000_000.0, 1),
        ("copies/ug gDNA", 1500.0, 2),
    ]


def test_the_persistence_table_states_each_values_unit() -> None:
    """Failing first: persistence had no unit column, so M1's last quantifiable value 100,000 (copies/mL)
    stood next to S1's 100 (copies/ug gDNA) with nothing to tell them apart. By hand: each profile's last
    quantifiable sample is day 28, FULL's 100 times the profile's factor (1, 2, 1000)."""
    tables = _tables(PROFILES)
    pk = tables["pk_samples"]
    pk.loc[pk["subject_id"] == "M1", "unit"] = "copies/mL"
    pk.loc[pk["subject_id"] == "S2", "unit"] = "copies/\u00b5g  gDNA"  # the same unit, spelt another way
    populations = {SAFETY: Population(SAFETY, "infused", tuple(PROFILES), {})}
    datasets = nca_datasets(tables, populations, AnalysisOptions())
    persistence = datasets["persistence"].table.sort_values("subject_id")
    assert list(persistence["subject_id"]) == ["M1", "S1", "S2"]
    assert list(persistence["last_quantifiable_value"]) == [100_000.0, 100.0, 200.0]
    assert list(persistence["conc_unit"]) == ["copies/mL", "copies/ug gDNA", "copies/ug gDNA"]
    assert "conc_unit" in datasets["persistence"].columns


def test_a_unit_of_no_dimension_is_not_called_another_dimension() -> None:
    """Review of D-19.781: the note said "units of different dimensions" also for mg/L, which belongs to no
    dimension the analysis knows. It now says the unit is of no known dimension, kept as recorded."""
    dataset = _summary_by_level(PROFILES, {"M1": "mg/L"})
    (note,) = [n for n in dataset.notes if "concentration units" in n]
    assert "different dimensions" not in note
    assert "of no known dimension" in note
