"""A vectorised SAS XPORT version 5 writer (SAS Technical Support document TS-140, "The Record Layout of
a Data Set in SAS Transport (XPORT) Format"): the records are built column by column with numpy instead of
value by value.

Why cartrial writes the bytes itself: pyreadstat 1.3.8 inserts every cell through a Python loop over
narwhals rows (about 20 µs per cell; ~60 s for the 1,000-subject synthetic study, whose 2.5 million records
alone would exceed the issue-15 target of 60 s). The layout is small and fixed: 80-byte header records,
one 140-byte NAMESTR per variable, then fixed-width observations — character values left-aligned and
blank-padded, numbers as 8-byte IBM System/370 hexadecimal floating point (missing = ``.``: 0x2E then
zeros). The files are read back in the tests with pyreadstat and pandas ``read_sas`` (two independent
readers) and compared byte for byte with pyreadstat's own writer on the example study.

The caller validates first (`cartrial.cdisc.validate`): names <= 8, labels <= 40, ASCII, character values
<= 200 bytes; this module checks nothing but the shapes it needs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cartrial.errors import InputError, Problem

RECORD = 80
NAMESTR_LENGTH = 140
MISSING_NUMBER = np.frombuffer(b"\x2e" + b"\x00" * 7, dtype=">u8")[0]


@dataclass(frozen=True)
class XptColumn:
    """One variable: name, label, ``Num`` or ``Char``, length in bytes (8 for numbers), SAS format."""

    name: str
    label: str
    type: str
    length: int
    format_name: str = ""
    format_length: int = 0
    format_decimals: int = 0


IBM_RANGE = "0, or a magnitude from about 5.4e-79 to 7.2e75 (IBM System/370 floating point)"
"""The numbers SAS XPORT can hold, in words."""


class OutsideIbmRange(ValueError):
    """Numbers that IBM floating point cannot hold: `positions` are their indices (0-based)."""

    def __init__(self, positions: np.ndarray) -> None:
        super().__init__(f"a number outside the range of SAS XPORT; allowed: {IBM_RANGE}")
        self.positions = positions


def outside_ibm_range(values: np.ndarray) -> np.ndarray:
    """Positions of the numbers of `values` an IBM double cannot hold (infinite, or a base-16 exponent
    outside -64…63); NaN (SAS missing) and 0 are held."""
    x = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        finite_nonzero = np.isfinite(x) & (x != 0)
    e = np.frexp(np.abs(np.where(finite_nonzero, x, 1.0)))[1]
    exponent = -((-e) // 4)
    outside = finite_nonzero & (((exponent + 64) < 0) | ((exponent + 64) > 127))
    return np.flatnonzero(np.isinf(x) | outside)


def ibm_double(values: np.ndarray) -> np.ndarray:
    """IEEE 754 doubles → 8-byte IBM System/370 floating point (big-endian uint64); NaN → SAS missing ``.``.

    IBM: sign bit, 7-bit exponent of 16 (excess 64), 56-bit fraction f with 1/16 <= f < 1. With
    x = m·2**e (0.5 <= m < 1, `numpy.frexp`), E = ceil(e / 4) and f = m·2**(e − 4E); f·2**56 is an integer
    (m has 53 significant bits and e − 4E >= −3), so the conversion is exact."""
    x = np.asarray(values, dtype=float)
    outside = outside_ibm_range(x)
    if len(outside):
        raise OutsideIbmRange(outside)
    out = np.zeros(len(x), dtype=np.uint64)
    missing = np.isnan(x)
    nonzero = ~missing & (x != 0)
    if nonzero.any():
        a = np.abs(x[nonzero])
        m, e = np.frexp(a)
        exponent = -((-e) // 4)
        fraction = np.ldexp(m, (e - 4 * exponent) + 56).astype(np.uint64)
        sign = (x[nonzero] < 0).astype(np.uint64) << np.uint64(63)
        out[nonzero] = sign | ((exponent + 64).astype(np.uint64) << np.uint64(56)) | fraction
    out[missing] = MISSING_NUMBER
    return out.astype(">u8")


def _text(value: str, width: int) -> bytes:
    data = value.encode("ascii", errors="strict")[:width]
    return data + b" " * (width - len(data))


def _header(kind: str, tail: str = "0" * 30) -> bytes:
    return _text(f"HEADER RECORD*******{kind:<8}HEADER RECORD!!!!!!!{tail}", RECORD)


def _sas_datetime(when: dt.datetime) -> str:
    return when.strftime("%d%b%y:%H:%M:%S").upper()


def _namestr(column: XptColumn, number: int, position: int) -> bytes:
    parts = [
        (1 if column.type == "Num" else 2).to_bytes(2, "big"),
        (0).to_bytes(2, "big"),
        column.length.to_bytes(2, "big"),
        number.to_bytes(2, "big"),
        _text(column.name, 8),
        _text(column.label, 40),
        _text(column.format_name, 8),
        column.format_length.to_bytes(2, "big"),
        column.format_decimals.to_bytes(2, "big"),
        (0).to_bytes(2, "big"),
        b"\x00\x00",
        _text("", 8),
        (0).to_bytes(2, "big"),
        (0).to_bytes(2, "big"),
        position.to_bytes(4, "big"),
        b"\x00" * 52,
    ]
    out = b"".join(parts)
    assert len(out) == NAMESTR_LENGTH
    return out


def _pad(data: bytes, fill: bytes = b" ") -> bytes:
    extra = (-len(data)) % RECORD
    return data + fill * extra


def _character_text(values: pd.Series | np.ndarray, width: int) -> np.ndarray:
    """The values as an object array of ASCII text (missing → blank); a value longer than `width` is an
    error, never cut."""
    text = np.asarray(values, dtype=object)
    if pd.api.types.infer_dtype(text, skipna=False) not in ("string", "empty"):
        text = pd.Series(text).fillna("").astype(str).to_numpy(dtype=object)
    longest = max(map(len, pd.unique(text)), default=0)
    if longest > width:
        raise ValueError(f"a value of {longest} characters does not fit the length {width}")
    return text


def _character_block(text: np.ndarray, width: int) -> np.ndarray:
    """(rows, width) bytes: left-aligned, blank-padded."""
    array = np.asarray(text, dtype=f"S{width}")
    block = array.view(np.uint8).reshape(len(array), width).copy()
    block[block == 0] = 0x20
    return block


CHUNK_ROWS = 65536
"""Observations encoded and written per step (keeps the buffers small and cache-friendly)."""


def xport_numbers(values: Any, name: str, path: Path, n: int) -> np.ndarray:
    """`values` as IBM doubles (`ibm_double`); a number no XPORT can hold is an `InputError` located at its
    record (1-based, of `n`) and variable `name` of `path`, never its value (D-19.498)."""
    try:
        return ibm_double(np.asarray(values, dtype=float))
    except OutsideIbmRange as exc:  # a stored value no XPORT can hold: located, never its value
        raise _outside_error(exc.positions, name, path, n) from None


def check_xport_numbers(values: Any, name: str, path: Path, n: int) -> None:
    """The range check of `xport_numbers` without the conversion, for the pyreadstat writer, which
    converts itself: both XPORT writers check it (`cartrial.cdisc.transport.write_xpt`, D-19.510)."""
    positions = outside_ibm_range(np.asarray(values, dtype=float))
    if len(positions):
        raise _outside_error(positions, name, path, n)


def _outside_error(positions: np.ndarray, name: str, path: Path, n: int) -> InputError:
    first, count = int(positions[0]) + 1, len(positions)
    more = f" (and {count - 1} more record(s))" if count > 1 else ""
    return InputError(
        Problem(
            f"record {first} of {n}{more}: a number outside the range SAS XPORT can hold; "
            "the Dataset-JSON format (--format json) holds any finite number",
            file=str(path),
            field=name,
            allowed=IBM_RANGE,
        )
    )


def write_xport(
    frame: pd.DataFrame | Mapping[str, Any],
    columns: Sequence[XptColumn],
    path: Path,
    *,
    dataset_name: str,
    dataset_label: str,
    created: dt.datetime | None = None,
) -> None:
    """Write `frame` (a DataFrame or a mapping of column arrays; numeric columns as floats, character
    columns as ASCII text) as one SAS XPORT v5 member. `columns` gives the order, labels, lengths and
    formats."""
    created = created or dt.datetime.now(dt.UTC)
    stamp = _sas_datetime(created)
    head = [
        _header("LIBRARY"),
        _text(f"{'SAS':<8}{'SAS':<8}{'SASLIB':<8}{'9.4':<8}{'X64_7PRO':<8}{'':<24}{stamp}", RECORD),
        _text(stamp, RECORD),
        _header("MEMBER", "000000000000000001600000000140"),
        _header("DSCRPTR"),
        _text(f"{'SAS':<8}{dataset_name:<8}{'SASDATA':<8}{'9.4':<8}{'X64_7PRO':<8}{'':<24}{stamp}", RECORD),
        _text(f"{stamp}{'':<16}{dataset_label:<40}{'':<8}", RECORD),
        _header("NAMESTR", f"000000{len(columns):04d}" + "0" * 20),
    ]
    position = 0
    names = []
    for number, column in enumerate(columns, start=1):
        names.append(_namestr(column, number, position))
        position += column.length
    head.append(_pad(b"".join(names)))
    head.append(_header("OBS"))
    n = len(frame[columns[0].name]) if columns else 0
    prepared: list[np.ndarray] = []
    for column in columns:
        if column.type == "Num":
            prepared.append(xport_numbers(frame[column.name], column.name, path, n).view(np.uint8))
        else:
            prepared.append(_character_text(frame[column.name], column.length))
    width = sum(c.length for c in columns)
    with path.open("wb") as handle:
        handle.write(b"".join(head))
        for start in range(0, n, CHUNK_ROWS):
            stop = min(n, start + CHUNK_ROWS)
            buffer = np.empty((stop - start, width), dtype=np.uint8)
            offset = 0
            for column, data in zip(columns, prepared, strict=True):
                if column.type == "Num":
                    buffer[:, offset : offset + 8] = data[start * 8 : stop * 8].reshape(stop - start, 8)
                else:
                    buffer[:, offset : offset + column.length] = _character_block(
                        data[start:stop], column.length
                    )
                offset += column.length
            handle.write(buffer.tobytes())
        handle.write(b" " * ((-(n * width)) % RECORD))


__all__ = ["IBM_RANGE", "OutsideIbmRange", "XptColumn", "ibm_double", "write_xport", "xport_numbers"]
