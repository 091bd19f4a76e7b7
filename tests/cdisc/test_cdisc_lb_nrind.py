"""SDTM LB: LBNRIND (Reference Range Indicator, SDTMIG 3.4 LB, Expected; codelist C78736 NRIND, terms HIGH
C78800, LOW C78801, NORMAL C78727, ABNORMAL C78802) was absent although LBSTNRLO/LBSTNRHI exist (D-19.385).
It is now derived from LBSTRESN and the standard range, as admiral's `derive_var_anrind` derives ANRIND
(D-19.474). Expected values are computed here from the collected result and range (LBORRES against
LBORNRLO/LBORNRHI, the same comparison in the original unit), never from the code under test."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartrial.analysis import analyse
from cartrial.cdisc.export import build_all
from cartrial.cdisc.spec import codelists, dataset_specs
from cartrial.store.snapshot import read_snapshot


def _numbers(column: pd.Series) -> np.ndarray:
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)


def _expected(value: np.ndarray, low: np.ndarray, high: np.ndarray) -> list[str]:
    out = []
    for v, lo, hi in zip(value, low, high, strict=True):
        if np.isnan(v) or (np.isnan(lo) and np.isnan(hi)):
            out.append("")
        elif not np.isnan(lo) and v < lo:
            out.append("LOW")
        elif not np.isnan(hi) and v > hi:
            out.append("HIGH")
        else:
            out.append("NORMAL")
    return out


def test_the_codelist_has_the_cdisc_terms() -> None:
    nrind = codelists()["NRIND"]
    assert nrind.nci_code == "C78736" and nrind.extensible
    codes = {t.value: t.nci_code for t in nrind.terms}
    assert {"LOW": "C78801", "NORMAL": "C78727", "HIGH": "C78800"}.items() <= codes.items()
    lbnrind = {v.name: v for v in dataset_specs()["LB"].variables}["LBNRIND"]
    assert lbnrind.codelist == "NRIND" and lbnrind.core == "Exp"


def test_example_lb_nrind_follows_the_collected_range(exported) -> None:  # type: ignore[no-untyped-def]
    lb = exported.frames["LB"]
    orres, lo, hi = _numbers(lb["LBORRES"]), _numbers(lb["LBORNRLO"]), _numbers(lb["LBORNRHI"])
    expected = _expected(orres, lo, hi)
    assert list(lb["LBNRIND"]) == expected
    assert {"LOW", "NORMAL"} <= set(expected)


@dataclasses.dataclass(frozen=True)
class EditedLb:
    """The LB domain of the example study built once from a snapshot with two edits to the labs table, each
    read by its own test: `limits` are the four neutrophil results whose limits were set from themselves
    (name -> row of `labs`); every other neutrophil result has a ULN of 1000 /mm3 (1.0 x 10^9/L)."""

    labs: pd.DataFrame
    limits: dict[str, int]
    lb: pd.DataFrame


ULN_EDIT = {"/mm3": "1000", "other": "1"}
"""The ULN the edit gives a neutrophil result, by unit: 1000 /mm3 and 1 x 10^9/L, the same limit."""


@pytest.fixture(scope="module")
def edited_lb(example_sqlite_template: Path) -> EditedLb:
    """`analyse` + `build_all` of the edited example (see `EditedLb`) once for the module (read only)."""
    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", dt.date(2022, 3, 20))
    labs = snapshot.tables["labs"].copy()
    value = pd.to_numeric(labs["value"], errors="coerce")
    neut = labs["analyte"].eq("neutrophils")
    at_low, at_high, below, above = labs.index[neut & value.gt(0)][:4]
    # a ULN of 1000 /mm3 (1.0 x 10^9/L) on the other neutrophil results: above it is HIGH
    uln = np.where(labs["unit"].eq("/mm3"), ULN_EDIT["/mm3"], ULN_EDIT["other"])
    labs["uln"] = pd.Series(np.where(neut, uln, ""), index=labs.index, dtype=object)
    labs["lln"] = labs["lln"].astype(object)
    # limits equal to a result, or one step past it (the limits are the results themselves)
    labs.loc[at_low, ["lln", "uln"]] = [labs.at[at_low, "value"], ""]
    labs.loc[at_high, ["lln", "uln"]] = ["", labs.at[at_high, "value"]]
    labs.loc[below, ["lln", "uln"]] = [f"{value[below] * 2:g}", ""]
    labs.loc[above, ["lln", "uln"]] = ["", f"{value[above] / 2:g}"]
    changed = dataclasses.replace(snapshot, tables={**snapshot.tables, "labs": labs})
    lb = build_all(changed, analyse(changed))["LB"]
    limits = {"at_low": at_low, "at_high": at_high, "below": below, "above": above}
    return EditedLb(labs, limits, lb)


def test_a_uln_gives_high(edited_lb: EditedLb) -> None:
    rows = edited_lb.lb[edited_lb.lb["LBTESTCD"] == "NEUT"]
    expected = _expected(_numbers(rows["LBORRES"]), _numbers(rows["LBORNRLO"]), _numbers(rows["LBORNRHI"]))
    assert list(rows["LBNRIND"]) == expected
    with_uln = rows["LBORNRHI"].fillna("").isin(ULN_EDIT.values()).to_numpy()
    assert with_uln.any(), "no neutrophil result carries the edited ULN"
    assert "HIGH" in [e for e, edited in zip(expected, with_uln, strict=True) if edited]


FINITE = st.floats(-1e6, 1e6, allow_nan=False)


@given(FINITE, st.one_of(st.just(np.nan), FINITE), st.one_of(st.just(np.nan), FINITE))
def test_reference_range_indicator(value: float, low: float, high: float) -> None:
    from cartrial.cdisc.common import reference_range_indicator

    if not np.isnan(low) and not np.isnan(high) and low > high:
        low, high = high, low
    got = reference_range_indicator(np.array([value, np.nan]), np.array([low, low]), np.array([high, high]))
    assert list(got) == [*_expected(np.array([value]), np.array([low]), np.array([high])), ""]


def test_a_result_at_exactly_its_limit_is_normal(edited_lb: EditedLb) -> None:
    """Worked examples (D-19.474, D-19.435): a neutrophil result equal to its LLN is NORMAL, not LOW; a
    result equal to a ULN is NORMAL, not HIGH; one unit step past either limit is LOW / HIGH. The limits are
    the results themselves (no LBSTNR* value is taken from the code)."""
    labs, lb = edited_lb.labs, edited_lb.lb
    rows = lb[lb["LBTESTCD"] == "NEUT"].reset_index(drop=True)
    got = {}
    for name, i in edited_lb.limits.items():
        [hit] = rows.index[
            (rows["USUBJID"].str.endswith(str(labs.at[i, "subject_id"])))
            & (rows["LBORRES"] == str(labs.at[i, "value"]))
            & ((rows["LBORNRLO"] == labs.at[i, "lln"]) & (rows["LBORNRHI"].fillna("") == labs.at[i, "uln"]))
        ]
        got[name] = rows.at[hit, "LBNRIND"]
    assert got == {"at_low": "NORMAL", "at_high": "NORMAL", "below": "LOW", "above": "HIGH"}


def test_only_an_lln_checks_low_only() -> None:
    """With an LLN and no ULN (most haematology analytes) a high result is NORMAL: admiral
    `derive_var_anrind` compares only the limits that exist (D-19.474, D-19.435)."""
    from cartrial.cdisc.common import reference_range_indicator

    got = reference_range_indicator(
        np.array([1.5, 1.4999, 1e6, 1e6]), np.array([1.5, 1.5, 1.5, np.nan]), np.array([np.nan] * 3 + [2.0])
    )
    assert list(got) == ["NORMAL", "LOW", "NORMAL", "HIGH"]
