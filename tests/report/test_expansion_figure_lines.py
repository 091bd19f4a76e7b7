"""The expansion figure draws the analysis layer's median per dose level and nominal day
(`pk_median_by_day`, D-19.624, D-19.627): no rule of its own, a break where the median is not estimable, and
no legend entry for a dose level with no estimable median.

Example study (src/cartrial/examples/ct103a-nmosd/study/pk_samples.csv): at day 90 dose level 2 (CT-004 …
CT-012) has 6 of 9 car_transgene samples BLQ → not estimable, NaN in the drawn line (the old figure drew
560 copies/ug gDNA).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest

from cartrial.analysis import Analysis
from cartrial.report import figures
from cartrial.store.snapshot import StudySnapshot


def _axes(analysis: Analysis, snapshot: StudySnapshot, monkeypatch: pytest.MonkeyPatch) -> Any:
    captured: list[Any] = []
    monkeypatch.setattr(figures, "_svg", lambda fig: captured.append(fig) or "")
    assert figures.expansion_figure(analysis, snapshot.tables) is not None
    return captured[0].axes[0]


def _median_line(ax: Any, level: int) -> Any:
    return next(line for line in ax.get_lines() if line.get_label() == f"dose level {level}: median")


def test_the_day_90_median_of_dose_level_2_is_not_drawn(
    snapshot: StudySnapshot, analysis: Analysis, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = analysis.datasets["pk_median_by_day"].table
    row = table[
        (table["analyte"] == "car_transgene") & (table["dose_level"] == 2) & (table["nominal_day"] == 90)
    ]
    assert (int(row["n"].iloc[0]), int(row["n_blq"].iloc[0])) == (9, 6)
    assert bool(row["median_below_lloq"].iloc[0])
    line = _median_line(_axes(analysis, snapshot, monkeypatch), 2)
    points = dict(zip(line.get_xdata(), line.get_ydata(), strict=True))
    assert math.isnan(points[90.0])


def test_a_level_without_an_estimable_median_gets_no_legend_entry(
    snapshot: StudySnapshot, analysis: Analysis, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = analysis.datasets["pk_median_by_day"]
    table = dataset.table.copy()
    table.loc[table["dose_level"] == 1, "median"] = math.nan
    changed = dataclasses.replace(
        analysis,
        datasets={**analysis.datasets, "pk_median_by_day": dataclasses.replace(dataset, table=table)},
    )
    labels = [line.get_label() for line in _axes(changed, snapshot, monkeypatch).get_lines()]
    assert "dose level 1: median" not in labels
    assert "dose level 2: median" in labels


def test_the_caption_says_the_line_breaks_where_half_or_more_are_censored(
    snapshot: StudySnapshot, analysis: Analysis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """D-19.627: the median is not estimable where half or more of the samples are censored — BLQ, or
    measured below a BLQ sample's higher LLOQ — not only where half or more are BLQ (the former caption)."""
    monkeypatch.setattr(figures, "_svg", lambda fig: "")
    figure = figures.expansion_figure(analysis, snapshot.tables)
    assert figure is not None
    assert "half or more are censored" in figure.caption and "higher LLOQ" in figure.caption
    assert "half or more are BLQ" not in figure.caption
