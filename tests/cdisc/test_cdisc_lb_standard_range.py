"""SDTM LB: the reference range in standard units (LBSTNRLO, LBSTNRHI; SDTMIG 3.4 LB, both Expected) was
missing although LBSTRESN/LBSTRESU convert a graded haematology result to the grading engine's canonical
unit, and define.xml said "no unit conversion" (D-19.385). Expected values are computed here from the
collected values (the ratio LBSTRESN / LBORRES of each record), never from the code under test."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from cartrial.analysis import analyse
from cartrial.cdisc.export import build_all
from cartrial.cdisc.spec import dataset_specs
from cartrial.store.snapshot import read_snapshot


def _numbers(column: pd.Series) -> np.ndarray:
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)


def test_lb_has_the_standard_reference_range(exported) -> None:  # type: ignore[no-untyped-def]
    lb = exported.frames["LB"]
    assert {"LBSTNRLO", "LBSTNRHI"} <= set(lb.columns)
    orres, stresn, lo = _numbers(lb["LBORRES"]), _numbers(lb["LBSTRESN"]), _numbers(lb["LBORNRLO"])
    ranged = ~np.isnan(lo) & ~np.isnan(orres) & (orres > 0) & ~np.isnan(stresn)
    converted = ranged & (lb["LBORRESU"] != lb["LBSTRESU"]).to_numpy()
    assert converted.any(), "the example has results collected in another unit (g/dL, cells/uL)"
    factor = stresn[ranged] / orres[ranged]
    np.testing.assert_allclose(_numbers(lb["LBSTNRLO"])[ranged], lo[ranged] * factor, rtol=1e-9)
    assert np.isnan(_numbers(lb["LBSTNRLO"])[np.isnan(lo)]).all()


def test_the_methods_say_the_conversion() -> None:
    variables = {v.name: v for v in dataset_specs()["LB"].variables}
    assert "no unit conversion" not in str(variables["LBSTRESC"].method)
    assert "canonical unit" in str(variables["LBSTRESU"].method)
    names = [v.name for v in dataset_specs()["LB"].variables]
    assert names.index("LBSTRESU") < names.index("LBSTNRLO") < names.index("LBSTNRHI") < names.index("LBNAM")


def test_a_uln_is_converted_like_the_result(example_sqlite_template: Path) -> None:
    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", dt.date(2022, 3, 20))
    labs = snapshot.tables["labs"].copy()
    per_ul = labs["unit"].eq("/mm3")
    assert per_ul.any()
    labs["uln"] = np.where(labs["analyte"].eq("neutrophils"), np.where(per_ul, "7500", "7.5"), "")
    changed = dataclasses.replace(snapshot, tables={**snapshot.tables, "labs": labs})
    lb = build_all(changed, analyse(changed))["LB"]
    neut = lb[lb["LBTESTCD"] == "NEUT"]
    assert set(_numbers(neut["LBSTNRHI"])) == {7.5}  # 7500 /mm3 = 7.5 x 10^9/L
    assert set(neut.loc[neut["LBORRESU"] != neut["LBSTRESU"], "LBORNRHI"].astype(float)) == {7500.0}


def test_a_converted_uln_has_no_float_noise(example_sqlite_template: Path) -> None:
    """350 /mm3 × 0.001 is 0.35000000000000003 in floating point; the grading engine rounds the converted
    ULN to 6 decimals as it does the LLN, so the analysis and LBSTNRHI read 0.35 (D-19.385)."""
    from cartrial.analysis.safety import graded_labs

    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", dt.date(2022, 3, 20))
    labs = snapshot.tables["labs"].copy()
    per_ul = labs["unit"].eq("/mm3")
    assert per_ul.any()
    labs["uln"] = np.where(labs["analyte"].eq("neutrophils"), np.where(per_ul, "350", "0.35"), "")
    tables = {**snapshot.tables, "labs": labs}
    graded = graded_labs(tables).table
    assert set(graded.loc[graded["analyte"] == "neutrophils", "uln_canonical"]) == {0.35}
    changed = dataclasses.replace(snapshot, tables=tables)
    lb = build_all(changed, analyse(changed))["LB"]
    assert set(lb.loc[lb["LBTESTCD"] == "NEUT", "LBSTNRHI"].astype(float)) == {0.35}
