"""`persistence_days` holds days whatever the time unit of the samples (D-19.405). Before, an NCA of the
Theophylline data in hours (`cartrial nca --time-unit h`, R datasets::Theoph, shared/validation/theoph.csv)
reported subject 1's persistence_days as 24.37 — its Tlast in hours — with unit "h": a column named in days
holding hours. Expected: Tlast 24.37 h (PKNCA's published value, docs cellular-kinetics.md §3) / 24 h per
day = 1.0154 days; minutes / 1440, weeks × 7."""

from __future__ import annotations

import pandas as pd
import pytest

from cartrial.kinetics import nca
from cartrial.kinetics.nca import derived_units


def test_theoph_persistence_in_hours_is_reported_in_days(validation_dir) -> None:  # type: ignore[no-untyped-def]
    data = pd.read_csv(validation_dir / "theoph.csv")
    result = nca(data, subject="Subject", time="Time", conc="conc", time_unit="h", conc_unit="mg/L")
    one = result.table[result.table["Subject"] == 1].iloc[0]
    assert one["tlast"] == pytest.approx(24.37)  # the time columns keep the data's unit
    assert one["persistence_days"] == pytest.approx(24.37 / 24.0, rel=1e-12)
    assert result.units["persistence_days"] == "day" and result.units["tlast"] == "h"


@pytest.mark.parametrize(
    ("unit", "days_per_unit"), [("min", 1 / 1440), ("h", 1 / 24), ("day", 1.0), ("week", 7.0)]
)
def test_every_time_unit_converts(unit: str, days_per_unit: float) -> None:
    frame = pd.DataFrame({"id": "A", "t": [0.0, 1.0, 2.0, 4.0, 6.0], "c": [0.0, 10.0, 8.0, 4.0, 0.0]})
    table = nca(frame, subject="id", time="t", conc="c", time_unit=unit, conc_unit="u").table
    assert table["persistence_days"].iloc[0] == pytest.approx(4.0 * days_per_unit, rel=1e-12)


def test_a_unit_it_cannot_convert_is_said() -> None:
    frame = pd.DataFrame({"id": "A", "t": [0.0, 1.0, 2.0, 4.0], "c": [0.0, 10.0, 8.0, 4.0]})
    result = nca(frame, subject="id", time="t", conc="c", time_unit="fortnight", conc_unit="u")
    assert result.table["persistence_days"].iloc[0] == 4.0
    assert result.units["persistence_days"] == "fortnight"
    assert any("persistence_days is in fortnight" in note for note in result.notes)


@pytest.mark.parametrize(
    ("unit", "days_per_unit"),
    [
        ("d", 1.0),  # UCUM's day, as the NCA tests write it
        ("days", 1.0),
        ("hr", 1 / 24),
        ("hours", 1 / 24),
        ("minute", 1 / 1440),
        ("wk", 7.0),
        ("weeks", 7.0),
    ],
)
def test_the_usual_spellings_of_a_time_unit_convert(unit: str, days_per_unit: float) -> None:
    """`time_unit="d"` (UCUM's day) added "persistence_days is in d … not one cartrial converts to days" and
    left the column in d: the usual spellings of min, h, day and week are one unit each (D-19.405)."""
    frame = pd.DataFrame({"id": "A", "t": [0.0, 1.0, 2.0, 4.0, 6.0], "c": [0.0, 10.0, 8.0, 4.0, 0.0]})
    result = nca(frame, subject="id", time="t", conc="c", time_unit=unit, conc_unit="u")
    assert result.table["persistence_days"].iloc[0] == pytest.approx(4.0 * days_per_unit, rel=1e-12)
    assert result.units["persistence_days"] == "day"
    assert not any("persistence_days is in" in note for note in result.notes)
    assert derived_units("u", unit)["persistence_days"] == "day"
