"""Every JSON the tool writes is strict JSON: non-finite numbers (NaN, ±inf) are written as null, never as
the invalid tokens NaN / Infinity (engine review: `kinetics fit --json` crashed on a NaN). One writer,
`cartrial.tabular.dumps_json`, serves every command; this file checks the writer and that no command module
or renderer writes JSON another way."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from cartrial.tabular import dumps_json, to_json_records

SRC = Path(__file__).resolve().parents[1] / "src" / "cartrial"


def test_non_finite_numbers_become_null_at_any_depth() -> None:
    payload = {
        "a": float("nan"),
        "b": [1.0, float("inf"), -float("inf")],
        "c": {"d": np.float64("nan"), "e": (np.float32(2.5), None)},
        "f": np.array([1.0, np.nan]),
        "when": datetime(2021, 6, 1, 2, tzinfo=UTC),
        "day": date(2021, 6, 1),
    }
    parsed = json.loads(dumps_json(payload))  # strict parse: NaN/Infinity tokens would fail below
    assert parsed == {
        "a": None,
        "b": [1.0, None, None],
        "c": {"d": None, "e": [2.5, None]},
        "f": [1.0, None],
        "when": "2021-06-01T02:00:00+00:00",
        "day": "2021-06-01",
    }


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=20))
def test_any_float_list_round_trips_as_strict_json(values: list[float]) -> None:
    text = dumps_json({"values": values})
    assert "NaN" not in text and "Infinity" not in text
    parsed = json.loads(text, parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))
    assert [None if not math.isfinite(v) else v for v in values] == parsed["values"]


def test_frame_rows_write_nan_as_null() -> None:
    frame = pd.DataFrame({"x": [1.0, np.nan], "t": [pd.Timestamp("2021-06-01T00:00Z"), pd.NaT]})
    assert json.loads(dumps_json(to_json_records(frame))) == [
        {"x": 1.0, "t": "2021-06-01T00:00:00+00:00"},
        {"x": None, "t": None},
    ]


def test_commands_and_renderers_write_json_only_through_dumps_json() -> None:
    """A command module or renderer calling json.dumps itself could write NaN; the store's own canonical
    record JSON (audit chain, hashes) is a separate, tested path and is not user output."""
    offenders = []
    for folder in ("commands", "report", "demo", "analysis"):
        for path in sorted((SRC / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if re.search(r"\b(json|orjson)\.dumps\(", line):
                    offenders.append(f"{path.relative_to(SRC)}:{number}")
    assert offenders == []
