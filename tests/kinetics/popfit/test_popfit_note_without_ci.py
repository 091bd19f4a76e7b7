"""A row of the estimates table without a 95 % CI does not describe the interval it does not have: its note
says why there is none (D-19.275). Before, a typical value with no SE still read "log-normal: CI exp(log θ ±
1.96 SE)"."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.kinetics.popfit import PopulationSpec, Theta
from cartrial.kinetics.popfit.fit import _estimates_table
from cartrial.kinetics.popfit.structural import STEIN2019

N_PAR = 6 + 6 + 1


def _table(missing: list[bool], reason: str = "the Fisher information is not positive definite") -> object:
    theta = Theta(np.log(np.array(STEIN2019.default_typical)), np.zeros(0), np.eye(6) * 0.5, np.array([0.5]))
    se = np.where(np.array(missing), np.nan, 0.1)
    cov = np.diag(se**2)
    return _estimates_table(
        PopulationSpec(STEIN2019), theta, cov, se, np.zeros((4, 6)), False, no_se_reason=reason
    )


@settings(max_examples=property_examples(40), deadline=None)
@given(missing=st.lists(st.booleans(), min_size=N_PAR, max_size=N_PAR))
def test_the_note_describes_the_interval_only_where_there_is_one(missing: list[bool]) -> None:
    table = _table(missing)
    for row in table.itertuples():  # type: ignore[attr-defined]
        has_ci = math.isfinite(row.ci95_low) and math.isfinite(row.ci95_high)
        if has_ci:
            assert "no CI" not in row.note
        else:
            assert row.ci_method == "none"
            assert "1.96 SE" not in row.note and "CI on the log scale" not in row.note
            assert "no CI: the Fisher information is not positive definite" in row.note
    typical = table[table["kind"] == "typical"]  # type: ignore[index]
    for j, row in enumerate(typical.itertuples()):
        assert ("CI exp(log θ ± 1.96 SE)" in row.note) == (not missing[j])


def test_without_any_standard_error_every_row_says_why() -> None:
    table = _table([True] * N_PAR, reason="standard errors not computed (compute_se=False)")
    assert table["note"].str.contains("no CI: standard errors not computed").all()  # type: ignore[index]
