"""Bad input that got through (decisions §12 and 19): units validated against the documented list; simulation
limits checked before anything is allocated (each message names the limit and why); non-finite numbers and
negative seeds or LLOQs refused with exit 2; long outputs written in chunks with the same text."""

from __future__ import annotations

import io
import math
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.cli import main
from cartrial.errors import InputError
from cartrial.kinetics import check_days, derive_stein2019_fits, simulate_stein2019, simulate_stein2019_chunks
from cartrial.kinetics.simulation import MAX_DAYS_PER_SUBJECT

from ..conftest import run_cartrial


@pytest.fixture
def profile(tmp_path):  # type: ignore[no-untyped-def]
    file = tmp_path / "p.csv"
    file.write_text("id,t,c\nA,0,0\nA,1,10\nA,2,5\nA,4,2\n")
    return file


def _exit_and_err(args, capsys):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    code = main(args)
    elapsed = time.perf_counter() - started
    return code, capsys.readouterr().err, elapsed


def test_nca_time_unit_must_be_a_documented_unit(profile, capsys):  # type: ignore[no-untyped-def]
    args = ["nca", str(profile), "--subject", "id", "--time", "t", "--conc", "c", "--conc-unit", "u"]
    code, err, _ = _exit_and_err([*args, "--time-unit", "parsecs"], capsys)
    assert code == 2 and "--time-unit" in err and "min | h | day | week" in err
    code, _, _ = _exit_and_err([*args, "--time-unit", "h"], capsys)
    assert code == 0


@pytest.mark.parametrize("bad", ["-5", "0", "nan", "inf"])
def test_lloq_must_be_positive_and_finite(profile, capsys, bad):  # type: ignore[no-untyped-def]
    nca = [
        "nca",
        str(profile),
        "--subject",
        "id",
        "--time",
        "t",
        "--conc",
        "c",
        "--conc-unit",
        "u",
        "--lloq",
        bad,
    ]
    from cartrial.kinetics.templates import LLOQ

    code, err, _ = _exit_and_err(nca, capsys)
    assert code == 2 and "--lloq" in err and f"allowed: {LLOQ.text()}" in err
    fit = ["kinetics", "fit", str(profile), "--subject", "id", "--time", "t", "--conc", "c", "--lloq", bad]
    code, err, _ = _exit_and_err(fit, capsys)
    assert code == 2 and "--lloq" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        (["--days", "0:1e12"], "--days", "100 years"),
        (["--subjects", "100", "--days", "0:10000000"], "--days", "100 years"),
        (["--days", "0:36500:0.1"], "--days", "100,000"),
        (["--subjects", "1000000000"], "--subjects", "1,000,000"),
        (["--subjects", "0"], "--subjects", "at least one"),
        (["--seed", "-1"], "--seed", "allowed: a whole number from 0 to 2^63-1"),
        (["--days", "nan,1,2"], "--days", "finite"),
        (["--days", "0:inf"], "--days", "finite"),
        (["--days", "0,1,1"], "--days", "twice"),
        (["--days", "-1:5"], "--days", "≥ 0"),
        (["--residual-sd", "inf"], "--residual-sd", "0 to 10"),
        (["--residual-sd", "-0.1"], "--residual-sd", "0 to 10"),
        (["--residual-sd", "10.5"], "--residual-sd", "0 to 10"),
        (["--subjects", "1000", "--days", "0:36500:0.5"], "--subjects", "50,000,000"),
        (["--model", "cartrial-pd", "--subjects", "5000"], "--subjects", "Jacobian"),
    ],
)
def test_simulate_limits_are_checked_before_allocation(capsys, extra, field, words):  # type: ignore[no-untyped-def]
    """Each case once grew to gigabytes, hung or raised a traceback; now exit 2 within a second, naming the
    option, the limit and the reason."""
    code, err, elapsed = _exit_and_err(["kinetics", "simulate", *extra], capsys)
    assert code == 2, err
    assert field in err and words in err and "Traceback" not in err
    assert elapsed < 5


def test_chunks_equal_one_simulation():
    """The chunked long table equals one simulate_stein2019 call with the same seed (parameters, values and
    residual errors)."""
    days = np.arange(0, 30.0)
    whole = simulate_stein2019(7, days, seed=11, residual_sd_log=0.5).long_table()
    run = simulate_stein2019_chunks(7, days, seed=11, residual_sd_log=0.5, chunk_samples=40)
    parts = list(run.tables())
    assert len(parts) == 7  # 40 rows per chunk → one 30-day subject per chunk
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)


@pytest.mark.parametrize("as_json", [False, True])
def test_cli_chunked_output_is_the_same_text(monkeypatch, tmp_path, as_json):  # type: ignore[no-untyped-def]
    """A run written in many chunks gives the same CSV / JSON text as one chunk, to stdout and to a file."""
    args = [
        "kinetics",
        "simulate",
        "--subjects",
        "5",
        "--days",
        "0:20",
        "--seed",
        "4",
        "--residual-sd",
        "0.3",
    ]
    if as_json:
        args.append("--json")
    single = run_cartrial(*args)
    assert single.exit_code == 0, single.output
    monkeypatch.setattr("cartrial.kinetics.simulation.CHUNK_SAMPLES", 21)
    chunked = run_cartrial(*args)
    assert chunked.stdout == single.stdout
    out = tmp_path / "sim.out"
    assert run_cartrial(*args, "--out", str(out)).exit_code == 0
    assert out.read_text() == single.stdout
    if not as_json:
        assert len(pd.read_csv(io.StringIO(single.stdout))) == 5 * 21


@settings(max_examples=property_examples(60), deadline=None)
@given(
    start=st.floats(min_value=0, max_value=1000),
    length=st.floats(min_value=0, max_value=2000),
    step=st.floats(min_value=0.01, max_value=50),
)
def test_day_grid_size_is_known_before_it_is_built(start, length, step):  # type: ignore[no-untyped-def]
    """Invariant behind the pre-allocation check: the grid built has the size counted from START:STOP:STEP
    (so the limit applies to what would be allocated), its ends lie within [START, STOP], and a grid over
    the limit is refused without being built."""
    stop = start + length
    count = math.ceil((stop - start) / step + 0.5)
    if count > MAX_DAYS_PER_SUBJECT:
        with pytest.raises(InputError):
            check_days((start, stop, step))
        return
    grid = check_days((start, stop, step))
    assert grid.size == count
    assert grid[0] == start and grid[-1] <= stop + step / 2


def test_day_grid_half_step_end() -> None:
    """0:1.5:1 is the days 0 and 1 (STOP is inclusive only when it falls on the grid)."""
    assert check_days((0, 1.5, 1)).tolist() == [0.0, 1.0]


def test_fit_rows_are_spreadsheet_rows_through_api_and_cli(tmp_path, capsys):  # type: ignore[no-untyped-def]
    """kinetics fit names the same row as the API for a bad sample."""
    file = tmp_path / "pk.csv"
    file.write_text("subject_id,actual_day,value\nA,0,1\nA,1,abc\n")
    with pytest.raises(InputError) as caught:
        derive_stein2019_fits(
            pd.DataFrame({"subject_id": ["A", "A"], "actual_day": [0, 1], "value": ["1", "abc"]})
        )
    assert [p.row for p in caught.value.problems] == [3]
    code, err, _ = _exit_and_err(["kinetics", "fit", str(file)], capsys)
    assert code == 2 and "row 3" in err
