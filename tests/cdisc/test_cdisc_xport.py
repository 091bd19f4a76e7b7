"""cartrial's vectorised SAS XPORT v5 writer (`cartrial.cdisc.xport`): numbers survive two independent
readers exactly, every example dataset reads back the same as pyreadstat's own writer's file, character
lengths are those of define.xml, and what does not fit is an error (never cut)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.cdisc.spec import dataset_specs
from cartrial.cdisc.xport import OutsideIbmRange, XptColumn, ibm_double, outside_ibm_range, write_xport
from cartrial.errors import InputError

FINITE = st.one_of(
    st.just(0.0),
    st.floats(min_value=1e-70, max_value=1e70),
    st.floats(min_value=-1e70, max_value=-1e-70),
    st.integers(min_value=-(2**53), max_value=2**53).map(float),
)


@settings(max_examples=property_examples(25), deadline=None)
@given(st.lists(st.one_of(FINITE, st.just(math.nan)), min_size=1, max_size=30))
def test_numbers_round_trip_exactly_through_pyreadstat_and_pandas(tmp_path_factory, values) -> None:  # type: ignore[no-untyped-def]
    import pyreadstat

    path = tmp_path_factory.mktemp("xpt") / "num.xpt"
    frame = pd.DataFrame({"X": values, "C": ["a"] * len(values)})
    columns = [XptColumn("X", "A number", "Num", 8), XptColumn("C", "A text", "Char", 1)]
    write_xport(frame, columns, path, dataset_name="T", dataset_label="Test")
    expected = np.array(values, dtype=float)
    by_pandas = pd.read_sas(path, format="xport", encoding="ascii")["X"].to_numpy(dtype=float)
    # pandas decodes the IBM zero (all bytes 0) as 16**-65 ≈ 5.4e-79, for pyreadstat's files too
    by_pandas[np.abs(by_pandas) < 1e-78] = 0.0
    for back in (pyreadstat.read_xport(str(path))[0]["X"].to_numpy(dtype=float), by_pandas):
        same = (back == expected) | (np.isnan(back) & np.isnan(expected))
        assert same.all(), (expected[~same], back[~same])


def test_ibm_encoding_of_known_values() -> None:
    # TS-140 examples: 1.0 = 0x4110000000000000, -118.625 = 0xC276A00000000000; missing '.' = 0x2E00…
    encoded = ibm_double(np.array([1.0, -118.625, math.nan, 0.0]))
    assert [int(x) for x in encoded] == [0x4110000000000000, 0xC276A00000000000, 0x2E00000000000000, 0]


def test_every_example_dataset_reads_back_as_pyreadstats_own_file(exported, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import pyreadstat

    from cartrial.cdisc.transport import char_lengths, write_xpt

    specs = dataset_specs()
    for name, frame in exported.frames.items():
        ours, theirs = tmp_path / f"{name}_c.xpt", tmp_path / f"{name}_p.xpt"
        write_xpt(frame, specs[name], ours)
        write_xpt(frame, specs[name], theirs, engine="pyreadstat")
        a, meta_a = pyreadstat.read_xport(str(ours))
        b, meta_b = pyreadstat.read_xport(str(theirs))
        pd.testing.assert_frame_equal(a, b, obj=name)
        assert meta_a.file_label == meta_b.file_label and meta_a.table_name == meta_b.table_name == name
        assert meta_a.column_names_to_labels == meta_b.column_names_to_labels
        lengths = char_lengths(frame, specs[name])
        assert {c: meta_a.variable_storage_width[c] for c in lengths} == lengths, name


def test_a_value_longer_than_its_length_or_an_infinite_number_is_an_error(tmp_path: Path) -> None:
    frame = pd.DataFrame({"C": ["abcd"], "X": [1.0]})
    with pytest.raises(ValueError, match="does not fit"):
        write_xport(
            frame,
            [XptColumn("C", "Text", "Char", 3), XptColumn("X", "Number", "Num", 8)],
            tmp_path / "a.xpt",
            dataset_name="T",
            dataset_label="Test",
        )
    with pytest.raises(InputError, match="outside the range SAS XPORT can hold"):
        write_xport(
            pd.DataFrame({"X": [math.inf]}),
            [XptColumn("X", "Number", "Num", 8)],
            tmp_path / "b.xpt",
            dataset_name="T",
            dataset_label="Test",
        )
    assert not (tmp_path / "a.xpt").exists() and not (tmp_path / "b.xpt").exists()


@pytest.mark.parametrize("outside", [1e308, -1e80, 1e-300, -1e-79, math.inf])
def test_a_number_xport_cannot_hold_is_a_located_error_without_its_value(
    tmp_path: Path, outside: float
) -> None:
    """A stored value that passed the field rules with a soft query (cells/kg 1e308) ended `export cdisc`
    in a traceback ("a number outside the IBM floating-point range"); now the file, the variable and the
    record are named, never the value (cli-audit, D-19.498)."""
    path = tmp_path / "ex.xpt"
    with pytest.raises(InputError) as caught:
        write_xport(
            pd.DataFrame({"EXDOSE": [1.0, outside, 2.0, outside]}),
            [XptColumn("EXDOSE", "Dose", "Num", 8)],
            path,
            dataset_name="EX",
            dataset_label="Exposure",
        )
    (problem,) = caught.value.problems
    assert problem.file == str(path) and problem.field == "EXDOSE"
    assert problem.message.startswith("record 2 of 4 (and 1 more record(s))")
    assert "5.4e-79" in str(problem.allowed) and repr(outside) not in str(caught.value)
    assert not path.exists()


def test_the_ibm_range_limits_are_held() -> None:
    # the largest double below 16**63 (fraction 2**56 - 8, exponent 0x7F); 16**-65 (fraction 1/16, exponent 0)
    largest, smallest = 16.0**63 * (1 - 2.0**-53), 16.0**-65
    encoded = ibm_double(np.array([largest, smallest]))
    assert [int(x) for x in encoded] == [0x7FFFFFFFFFFFFFF8, 0x0010000000000000]


def test_the_pyreadstat_comparison_writer_has_the_same_range_check(tmp_path: Path) -> None:
    """D-19.510: `write_xpt(engine="pyreadstat")` wrote a number XPORT cannot hold without the check of the
    default writer; both now refuse it at its record and variable, without its value."""
    from cartrial.cdisc.transport import write_xpt

    spec = dataset_specs()["EX"]
    assert spec.variable("EXDOSE").type != "Char"
    path = tmp_path / "ex.xpt"
    with pytest.raises(InputError) as caught:
        write_xpt(pd.DataFrame({"EXDOSE": [1.0, 1e80]}), spec, path, engine="pyreadstat")
    (problem,) = caught.value.problems
    assert problem.field == "EXDOSE" and problem.message.startswith("record 2 of 2")
    assert "1e+80" not in str(caught.value) and not path.exists()


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_the_range_check_alone_agrees_with_the_encoder(x: float) -> None:
    """D-19.510: the pyreadstat writer calls the range check only (`check_xport_numbers`); it refuses a
    number exactly when the encoder cannot hold it."""
    try:
        ibm_double(np.array([x]))
        held = True
    except OutsideIbmRange:
        held = False
    assert held == (len(outside_ibm_range(np.array([x]))) == 0)
    assert len(outside_ibm_range(np.array([16.0**63, 16.0**-66, -(16.0**-65), 0.0, math.nan]))) == 2
