"""The expansion figure draws each concentration unit of its analyte on its own panel (D-19.758, D-19.759).

The review's case: the example study at cut-off 2022-03-20 with CT-005's car_transgene samples recorded in
copies/mL (values × 1000). Before: one axis labelled with the first row's unit (copies/ug gDNA) and CT-005's
11 samples silently not drawn (11 of the 12 subjects' curves). By hand from
src/cartrial/examples/ct103a-nmosd/study/pk_samples.csv: CT-005's quantifiable transgene samples are (actual)
days 3.86, 7.08, 9.97, 14.09, 20.93, 27.87 with 6084, 3002, 5662, 1320, 997, 351 copies/ug gDNA, so
6,084,000 … 351,000 copies/mL; the other 11 subjects stay in copies/ug gDNA.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pandas as pd
import pytest

from cartrial.analysis import Analysis, analyse
from cartrial.report import figures
from cartrial.store.snapshot import StudySnapshot

CT005 = [(3.86, 6084.0), (7.08, 3002.0), (9.97, 5662.0), (14.09, 1320.0), (20.93, 997.0), (27.87, 351.0)]


def _with_ct005(snapshot: StudySnapshot, unit: str, factor: float) -> StudySnapshot:
    pk = snapshot.tables["pk_samples"].copy()
    mask = (pk["subject_id"] == "CT-005") & (pk["analyte"] == "car_transgene")
    pk.loc[mask, "unit"] = unit
    pk.loc[mask, "value"] = pd.to_numeric(pk.loc[mask, "value"], errors="coerce") * factor
    return dataclasses.replace(snapshot, tables={**snapshot.tables, "pk_samples": pk})


@pytest.fixture(scope="module")
def mixed(snapshot: StudySnapshot) -> tuple[StudySnapshot, Analysis]:
    changed = _with_ct005(snapshot, "copies/mL", 1000.0)
    return changed, analyse(changed)


def _figure(snap: StudySnapshot, analysis: Analysis, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    captured: list[Any] = []
    monkeypatch.setattr(figures, "_svg", lambda fig: captured.append(fig) or "")
    figure = figures.expansion_figure(analysis, snap.tables)
    assert figure is not None
    return figure, captured[0]


def _median_lines(ax: Any) -> list[Any]:
    return [line for line in ax.get_lines() if line.get_label().startswith("dose")]


def _curves(ax: Any) -> list[Any]:
    return [line for line in ax.get_lines() if not line.get_label().startswith(("dose", "LLOQ"))]


def test_a_second_unit_gets_its_own_panel_not_a_silent_skip(
    mixed: tuple[StudySnapshot, Analysis], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failing first against 9d9e8916 (this branch before ab089221): one axis, 11 curves, CT-005 not drawn
    and not mentioned. On main: one axis, CT-005's copies/mL values drawn under the copies/ug gDNA label."""
    figure, fig = _figure(*mixed, monkeypatch)
    axes = fig.axes
    assert [ax.get_ylabel() for ax in axes] == [
        "car transgene (copies/ug gDNA)",  # 11 subjects: the unit of most subjects first
        "car transgene (copies/mL)",
    ]
    assert len(_curves(axes[0])) == 11
    (ct005,) = _curves(axes[1])
    assert list(zip(ct005.get_xdata(), ct005.get_ydata(), strict=True)) == [(d, 1000 * v) for d, v in CT005]
    assert axes[0].get_shared_x_axes().joined(axes[0], axes[1])
    assert "copies/ug gDNA (11 subjects)" in figure.caption
    assert "copies/mL (1 subject)" in figure.caption
    # each panel draws its own unit's medians (the per-panel filter; without it panel 1 drew both units'
    # rows of dose level 2). Panel 2: CT-005 alone, its own values × 1000 at nominal days 4 … 28; its BLQ
    # samples (days 0, 1, 60, 90, 180) are a censored group of one, not estimable (NaN, D-19.627).
    (own,) = _median_lines(axes[1])
    assert own.get_label() == "dose level 2: median"
    assert list(own.get_xdata()) == [0, 1, 4, 7, 10, 14, 21, 28, 60, 90, 180]
    ys = list(own.get_ydata())
    assert all(math.isnan(y) for y in ys[:2] + ys[8:])
    assert ys[2:8] == [1000 * v for _d, v in CT005]
    # Panel 1: dose level 2 without CT-005. Day 7 by hand (pk_samples.csv, nominal day 7, all quantifiable):
    # CT-004 2012, CT-006 709, CT-007 1471, CT-008 7276, CT-009 875, CT-010 8077, CT-011 44698, CT-012 78;
    # sorted, the middle two are 1471 and 2012: median 1741.5 (with CT-005's 3002 it would be 2012).
    level2 = {line.get_label(): line for line in _median_lines(axes[0])}["dose level 2: median"]
    day7 = [y for x, y in zip(level2.get_xdata(), level2.get_ydata(), strict=True) if x == 7]
    assert day7 == [1741.5]
    assert max(y for y in level2.get_ydata() if not math.isnan(y)) < 1e5  # no copies/mL value on panel 1


def test_the_same_unit_spelt_with_the_micro_sign_is_one_panel(
    snapshot: StudySnapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failing first against 9d9e8916 (this branch before ab089221): "copies/µg gDNA" (the micro sign) was
    a second unit of its own, CT-005 not drawn. Main drew every sample on one axis whatever its unit, so
    this test passed there."""
    changed = _with_ct005(snapshot, "copies/\u00b5g  gDNA", 1.0)
    _figure_obj, fig = _figure(changed, analyse(changed), monkeypatch)
    (ax,) = fig.axes
    assert ax.get_ylabel() == "car transgene (copies/ug gDNA)"
    assert len(_curves(ax)) == 12


def test_the_report_nca_table_shows_the_concentration_unit() -> None:
    """Failing first: the report's nca_summary columns had no conc_unit, so the Tmax rows of two units of one
    analyte (unit "day" both) looked identical (D-19.759)."""
    from cartrial.report.render import SECTIONS

    (spec,) = [t for s in SECTIONS for t in s.tables if t.dataset == "nca_summary"]
    assert spec.columns[:2] == ("analyte", "conc_unit")


def test_the_shared_day_axis_is_named_under_the_bottom_panel_only(
    mixed: tuple[StudySnapshot, Analysis], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failing first: each panel repeated "days after infusion" under its own (shared) x axis."""
    _figure_obj, fig = _figure(*mixed, monkeypatch)
    assert [ax.get_xlabel() for ax in fig.axes] == ["", "days after infusion"]


def test_a_unit_with_every_sample_blq_and_no_lloq_says_so(
    snapshot: StudySnapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failing first: CT-005's panel (copies/mL, every sample BLQ, no LLOQ) was an empty axis and the caption
    named the unit as if it had been drawn."""
    pk = snapshot.tables["pk_samples"].copy()
    mask = (pk["subject_id"] == "CT-005") & (pk["analyte"] == "car_transgene")
    pk.loc[mask, ["unit", "blq", "value", "lloq"]] = ["copies/mL", "true", "", ""]
    changed = dataclasses.replace(snapshot, tables={**snapshot.tables, "pk_samples": pk})
    figure, fig = _figure(changed, analyse(changed), monkeypatch)
    texts = [text.get_text() for text in fig.axes[1].texts]
    # "no quantifiable sample" (review round 3, by design: was "every sample BLQ", not true of a sample of
    # value 0 or without a result)
    assert texts == ["no quantifiable sample (no LLOQ recorded)"]
    assert not fig.axes[0].texts
    assert "copies/mL (1 subject, no quantifiable sample)" in figure.caption


def test_a_single_panel_with_no_quantifiable_sample_says_so_in_the_caption(
    snapshot: StudySnapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failing first (review round 3): with one unit, the caption said nothing of an empty panel."""
    pk = snapshot.tables["pk_samples"].copy()
    mask = pk["analyte"] == "car_transgene"
    pk.loc[mask, ["blq", "value", "lloq"]] = ["true", "", ""]
    changed = dataclasses.replace(snapshot, tables={**snapshot.tables, "pk_samples": pk})
    figure, fig = _figure(changed, analyse(changed), monkeypatch)
    (ax,) = fig.axes
    assert [text.get_text() for text in ax.texts] == ["no quantifiable sample (no LLOQ recorded)"]
    assert "No sample is quantifiable." in figure.caption
