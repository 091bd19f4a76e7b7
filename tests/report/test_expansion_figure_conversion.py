"""The expansion figure draws an analyte recorded in two units of one dimension on one panel, in the
standard unit (D-19.781).

The case: the example study at cut-off 2022-03-20 with CT-005's car_transgene samples recorded in copies/ng
gDNA (values ÷ 1000). By hand from src/cartrial/examples/ct103a-nmosd/study/pk_samples.csv: CT-005's day-3.86
sample 6084 copies/ug gDNA is 6.084 copies/ng gDNA, drawn back at 6084 (1 ug = 1000 ng). Before: two panels
(copies/ug gDNA, 11 subjects; copies/ng gDNA, 1 subject), CT-005's curve 1000 times lower.
"""

from __future__ import annotations

import math

import pytest

from cartrial.analysis import analyse
from cartrial.store.snapshot import StudySnapshot

from .test_expansion_figure_units import _curves, _figure, _with_ct005


def test_one_panel_in_the_standard_unit_with_the_conversion_named(
    snapshot: StudySnapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = _with_ct005(snapshot, "copies/ng gDNA", 0.001)
    figure, fig = _figure(changed, analyse(changed), monkeypatch)
    (ax,) = fig.axes
    assert ax.get_ylabel() == "car transgene (copies/ug gDNA)"
    assert len(_curves(ax)) == 12
    highest = max(max(y for y in line.get_ydata() if not math.isnan(y)) for line in _curves(ax))
    assert any(math.isclose(y, 6084.0, rel_tol=1e-12) for line in _curves(ax) for y in line.get_ydata()), (
        "CT-005's day-3.86 value in copies/ug gDNA"
    )
    assert highest < 1e6
    assert "Concentrations recorded in copies/ng gDNA converted to copies/ug gDNA (× 1000; D-19.781)." in (
        figure.caption
    )
