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


def _curves(ax: Any) -> list[Any]:
    return [line for line in ax.get_lines() if not line.get_label().startswith(("dose", "LLOQ"))]


def test_a_second_unit_gets_its_own_panel_not_a_silent_skip(
    mixed: tuple[StudySnapshot, Analysis], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failing first: one axis, 11 curves, CT-005 not drawn and not mentioned."""
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


def test_the_same_unit_spelt_with_the_micro_sign_is_one_panel(
    snapshot: StudySnapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failing first: "copies/µg gDNA" (the micro sign) was a second unit of its own, CT-005 not drawn."""
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
