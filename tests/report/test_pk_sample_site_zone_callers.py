"""Every caller of the analysis' sample time reads it with the site's zone (D-19.1346): the report's expansion
figure and the kinetic fits from the store called `sample_actual_days` / `stored_pk_samples` without the
zones, so a PK sample typed as a date only (stored 00:00:00Z) at a site west of UTC was timed by its UTC
instant there (pre-dose, negative) while the NCA, SDTM PC and ADaM ADPC keep its stored actual_day
(D-19.947, D-19.1342). The example study with its site moved to America/New_York; CT-002's day-1
car_transgene sample (actual_day 0.89) typed as the date 2021-05-18 without a time (2021-05-18T00:00:00Z,
2 h 30 min before the infusion's UTC instant). Expected values are the stored day typed here."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pandas as pd
import pytest

RECORD = "27"  # CT-002's day-1 car_transgene sample of the example (actual_day 0.89)
STORED_DAY = 0.89


@pytest.fixture(scope="module")
def west(example_sqlite_template: Any) -> tuple[Any, Any]:
    from cartrial.analysis import analyse
    from cartrial.store.snapshot import read_snapshot

    base = read_snapshot(f"sqlite:///{example_sqlite_template}", dt.date(2022, 3, 20))
    pk = base.tables["pk_samples"].copy()
    row = pk["record_id"].astype(str) == RECORD
    assert row.sum() == 1
    assert pk.loc[row, "subject_id"].item() == "CT-002" and pk.loc[row, "analyte"].item() == "car_transgene"
    assert float(pk.loc[row, "actual_day"].item()) == STORED_DAY
    pk.loc[row, "sampled_at"] = "2021-05-18T00:00:00Z"  # the date 2021-05-18 typed without a time
    pk.loc[row, "value"] = "120"  # quantified: a point of the figure's curve
    pk.loc[row, "blq"] = "false"
    snapshot = dataclasses.replace(
        base, tables={**base.tables, "pk_samples": pk}, time_zones={"TJH": "America/New_York"}
    )
    return snapshot, analyse(snapshot)


def test_the_nca_keeps_the_stored_day_of_a_date_only_sample_west_of_utc(west: tuple[Any, Any]) -> None:
    """The reference the figure must agree with: not counted pre-dose by the NCA, whose one pre-dose sample
    of CT-002's car_transgene is the day-0 one drawn at 01:30Z, an hour before the 02:30Z infusion."""
    nca = west[1].datasets["nca_by_subject"].table
    row = (nca["subject_id"] == "CT-002") & (nca["analyte"] == "car_transgene")
    assert int(nca.loc[row, "n_pre_dose"].item()) == 1


def test_the_expansion_figure_places_the_sample_at_the_nca_time(
    west: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from cartrial.report import figures
    from cartrial.report.figures import build_figures

    snapshot, analysis = west
    drawn: list[pd.DataFrame] = []
    panel = figures._expansion_panel

    def spy(ax: Any, pk: pd.DataFrame, *args: Any) -> bool:
        drawn.append(pk.copy())
        return panel(ax, pk, *args)

    monkeypatch.setattr(figures, "_expansion_panel", spy)
    from cartrial.analysis.core import analysed_tables

    assert "expansion" in build_figures(analysis, analysed_tables(analysis, snapshot.tables))
    frame = pd.concat(drawn)
    day = frame.loc[frame["record_id"].astype(str) == RECORD, "day"]
    assert day.tolist() == pytest.approx([STORED_DAY])


def test_a_kinetic_fit_from_the_store_times_the_sample_as_the_nca(west: tuple[Any, Any]) -> None:
    from cartrial.commands.kinetics_commands import _stored_pk_samples

    table = _stored_pk_samples(west[0], "car_transgene")
    day = pd.to_numeric(table.loc[table["record_id"].astype(str) == RECORD, "actual_day"])
    assert day.tolist() == pytest.approx([STORED_DAY])
