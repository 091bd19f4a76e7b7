"""PKNCA's BLQ rules keyed on Tmax (``conc.blq = list(before.tmax=..., after.tmax=...)``; D-19.966).

Source: PKNCA ``R/cleaners.R`` ``clean.conc.blq`` (a BLQ value before the time of the first maximum is
"before.tmax", one at or after it "after.tmax"; each kept, dropped or set to a number) and its test suite
``tests/testthat/test-cleaners.R`` (the rows kept for conc 0, 1, 0, 2, 0 at times 1-5);
docs/science/cellular-kinetics.md §2.3. Expected AUCs are hand calculations with the §2.2 trapezoid rules.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import OptionError
from cartrial.kinetics.nca import NcaOptions, _apply_blq_rules, nca_arrays


@pytest.mark.parametrize("before", ["drop", "keep"])
@pytest.mark.parametrize("after", ["drop", "keep"])
def test_pknca_test_suite_rows_kept(before: str, after: str) -> None:
    """test-cleaners.R: conc 0, 1, 0, 2, 0 at times 1-5 keeps rows (before keep, TRUE, before keep, TRUE,
    after keep): the middle BLQ at time 3 is before Tmax (4) and follows the before.tmax rule."""
    c = np.array([[0.0, 1.0, 0.0, 2.0, 0.0]])
    options = NcaOptions(blq_before_tmax=before, blq_after_tmax=after)
    use, _ = _apply_blq_rules(c, np.ones_like(c, dtype=bool), options, None)
    expected = [before == "keep", True, before == "keep", True, after == "keep"]
    assert use[0].tolist() == expected


def test_a_number_before_tmax_is_substituted() -> None:
    """test-cleaners.R: conc 1, 0, 2 with before.tmax = after.tmax = 0.5 gives 1, 0.5, 2."""
    c = np.array([[1.0, 0.0, 2.0]])
    use, c_used = _apply_blq_rules(
        c, np.ones_like(c, dtype=bool), NcaOptions(blq_before_tmax=0.5, blq_after_tmax=0.5), None
    )
    assert use[0].tolist() == [True, True, True]
    assert c_used[0].tolist() == [1.0, 0.5, 2.0]


def test_every_sample_blq_all_but_the_last_are_before_tmax() -> None:
    """clean.conc.blq: when every value is BLQ, Tmax is the last time, so only the last is after it."""
    c = np.zeros((1, 3))
    use, _ = _apply_blq_rules(
        c, np.ones_like(c, dtype=bool), NcaOptions(blq_before_tmax="drop", blq_after_tmax="keep"), None
    )
    assert use[0].tolist() == [False, False, True]


T = np.array([[0.0, 1.0, 2.0, 4.0, 6.0, 8.0, 12.0, 24.0]])
C = np.array([[0.0, 5.0, 0.0, 20.0, 10.0, 0.0, 4.0, 0.0]])


def _auc(options: NcaOptions) -> tuple[float, float]:
    values, _ = nca_arrays(T, C, np.ones_like(T, dtype=bool), options)
    return float(values["auclast"][0]), float(values["aucall"][0])


def test_auclast_with_blq_after_tmax_dropped() -> None:
    """Tmax 4 (20). before keep, after drop: points (0,0) (1,5) (2,0) (4,20) (6,10) (12,4); lin-up/log-down:
    0.5·5 + 0.5·5 + 2·20/2 + 2·10/ln 2 + 6·(10 − 4)/ln 2.5 = 25 + 28.853901 + 39.288773 = 93.142674; the
    BLQ at 24 is dropped, so AUCall = AUClast."""
    auclast, aucall = _auc(NcaOptions(blq_before_tmax="keep", blq_after_tmax="drop"))
    expected = 25.0 + 20.0 / math.log(2.0) + 36.0 / math.log(2.5)
    assert auclast == pytest.approx(expected, rel=1e-12)
    assert aucall == pytest.approx(expected, rel=1e-12)


def test_auclast_with_a_number_before_tmax() -> None:
    """before.tmax = 1: points (0,1) (1,5) (2,1) (4,20) (6,10) (8,0) (12,4) (24,0) (after kept): 3 +
    4/ln 5 + 21 + 20/ln 2 + 10 + 8 = 73.339241; AUCall adds the triangle 12·4/2 = 24."""
    auclast, aucall = _auc(NcaOptions(blq_before_tmax=1.0, blq_after_tmax="keep"))
    expected = 42.0 + 4.0 / math.log(5.0) + 20.0 / math.log(2.0)
    assert auclast == pytest.approx(expected, rel=1e-12)
    assert aucall == pytest.approx(expected + 24.0, rel=1e-12)


def test_options_record_and_check_the_rules() -> None:
    options = NcaOptions(blq_before_tmax="drop", blq_after_tmax="keep")
    assert options.as_dict()["blq_before_tmax"] == "drop"
    assert options.as_dict()["blq_after_tmax"] == "keep"
    assert NcaOptions().as_dict()["blq_after_tmax"] is None
    assert "blq(before/after tmax)=drop/keep" in options.describe()
    assert options.blq_actions == ("drop", "keep")
    assert NcaOptions().blq_actions == ("keep", "drop", "keep")
    with pytest.raises(OptionError):
        NcaOptions(blq_before_tmax="keep", blq_after_tmax="zero")
    with pytest.raises(OptionError):
        NcaOptions(blq_before_tmax=-1.0, blq_after_tmax="keep")


@pytest.mark.parametrize(
    "parameters",
    [
        {"blq_middle": "half_lloq", "blq_after_tmax": "drop", "blq_before_tmax": "keep"},
        {"blq_middle": "drop", "blq_before_tmax": "keep", "blq_after_tmax": "keep"},  # drop is the default
    ],
)
def test_mixed_blq_specifications_are_refused(parameters: dict[str, str]) -> None:
    """PKNCA.options refuses a conc.blq list mixing first/middle/last with before.tmax/after.tmax; the error
    names the fields of both specifications (D-19.966)."""
    with pytest.raises(OptionError) as raised:
        NcaOptions.from_parameters(parameters)
    problems = raised.value.problems
    assert sorted(str(problem.field) for problem in problems) == ["blq_after_tmax", "blq_before_tmax"]
    assert all("(blq_middle)" in problem.message for problem in problems)
    with pytest.raises(OptionError):
        NcaOptions(blq_middle="half_lloq", blq_before_tmax="keep", blq_after_tmax="drop")


@pytest.mark.parametrize("given", ["blq_before_tmax", "blq_after_tmax"])
def test_one_tmax_side_is_refused(given: str) -> None:
    """PKNCA.options requires both before.tmax and after.tmax in a Tmax-keyed list (D-19.966); the error
    names the missing side."""
    missing = "blq_after_tmax" if given == "blq_before_tmax" else "blq_before_tmax"
    with pytest.raises(OptionError) as raised:
        NcaOptions.from_parameters({given: "drop"})
    assert [problem.field for problem in raised.value.problems] == [missing]


def test_needs_lloq_reads_the_rules_in_use() -> None:
    """half_lloq after Tmax needs the LLOQ (the CLI, API and analysis all read `needs_lloq`)."""
    assert NcaOptions(blq_before_tmax="keep", blq_after_tmax="half_lloq").needs_lloq
    assert NcaOptions(blq_last="half_lloq").needs_lloq
    assert not NcaOptions().needs_lloq


_conc = st.one_of(st.just(0.0), st.floats(min_value=0.01, max_value=1e4))


@settings(max_examples=property_examples(200), deadline=None)
@given(concs=st.lists(_conc, min_size=3, max_size=9), action=st.sampled_from(["keep", "drop", 0.25]))
def test_one_rule_on_both_sides_equals_one_rule_at_every_position(concs: list[float], action: object) -> None:
    """Every BLQ sample is either before or at/after Tmax, and either first, middle or last: the same rule on
    both Tmax sides and at all three positions treats every BLQ sample alike, so every estimate agrees."""
    t = np.arange(len(concs), dtype=float)[None, :] * 2.0
    c = np.array([concs])
    present = np.ones_like(t, dtype=bool)
    by_tmax, _ = nca_arrays(t, c, present, NcaOptions(blq_before_tmax=action, blq_after_tmax=action))
    by_position, _ = nca_arrays(
        t, c, present, NcaOptions(blq_first=action, blq_middle=action, blq_last=action)
    )
    for name, value in by_position.items():
        np.testing.assert_array_equal(by_tmax[name], value, err_msg=name)


def test_cli_blq_rules_keyed_on_tmax(tmp_path, capsys):  # type: ignore[no-untyped-def]
    """`cartrial kinetics nca --blq-before-tmax keep --blq-after-tmax drop` (D-19.966): 0, 10, 5, BLQ at days
    0, 1, 2, 4; the BLQ at 4 is after Tmax and dropped, so AUCall = AUClast = 5 + (10 − 5)/ln 2 (no
    triangle 2·5/2). Mixed with a positional preset, or half-lloq without an LLOQ: exit 2 naming the
    option typed."""
    import io

    import pandas as pd

    from ..conftest import run_cartrial

    file = tmp_path / "p.csv"
    file.write_text("id,t,c\nA,0,0\nA,1,10\nA,2,5\nA,4,0\n")
    base = ["nca", str(file), "--subject", "id", "--time", "t", "--conc", "c", "--conc-unit", "copies/ug"]
    result = run_cartrial(*base, "--blq-before-tmax", "keep", "--blq-after-tmax", "drop", capsys=capsys)
    row = pd.read_csv(io.StringIO(result.stdout)).iloc[0]
    assert row["aucall"] == pytest.approx(5.0 + 5.0 / math.log(2.0), rel=1e-9)
    assert "blq(before/after tmax)=keep/drop" in row["nca_options"]
    mixed = run_cartrial(*base, "--blq", "zero", "--blq-before-tmax", "keep", "--blq-after-tmax", "drop")
    assert mixed.exit_code == 2 and "--blq-before-tmax" in mixed.stderr
    half = run_cartrial(*base, "--blq-before-tmax", "keep", "--blq-after-tmax", "half-lloq")
    assert half.exit_code == 2 and "--lloq" in half.stderr
    assert "--blq-after-tmax" in half.stderr  # the option that chose the rule, never --blq
    before = run_cartrial(*base, "--blq-before-tmax", "half-lloq", "--blq-after-tmax", "keep")
    assert before.exit_code == 2 and "--blq-before-tmax" in before.stderr
