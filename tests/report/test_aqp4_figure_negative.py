"""The AQP4-IgG figure draws a negative titre at its floor, never drops it or reads "<1:10" as 1:10
(D-19.626), by the one reciprocal rule `cartrial.neuro.titre_reciprocal`, with no lenient fallback
(D-19.628).

The figure read each titre's reciprocal dilution with a text split: "negative" (the engine's index 0, below
the first dilution 1:10, docs/science/neuro-outcomes.md §6) was no number and its sample was dropped, so a
patient whose titre fell to negative — the best PD response, e.g. the example's CT-005, 1:32 at baseline,
negative at day 182 (src/cartrial/examples/ct103a-nmosd/study/pd_samples.csv) — ended its curve at the last
positive titre; "<1:10", also negative, was drawn at 10, the same as a positive 1:10. Text the titre rule
refuses was still read for the number it holds: "1:7" (off the series) as 7, "<1:32" (a "less than", not a
titre) as 32 — a positive titre.

Expected by the titre rule (`cartrial.neuro.parse_titre_step`): negative and "<1:10" → 0 (drawn at the
figure's floor, 1, below 1:10); 1:320 → 320; "1:7" and "<1:32" → refused (InputError), never a number.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from cartrial.analysis import Analysis
from cartrial.errors import InputError
from cartrial.report import figures
from cartrial.store.snapshot import StudySnapshot

from .conftest import drawn_reciprocal as _reciprocal


def test_a_negative_titre_is_drawn_at_the_floor() -> None:
    assert _reciprocal("negative") == 0.0
    assert _reciprocal("<1:10") == 0.0
    assert _reciprocal("Negative") == 0.0


def test_positive_titres_are_unchanged() -> None:
    assert _reciprocal("1:320") == 320.0
    assert _reciprocal(">=1:1000") == 1000.0
    assert math.isnan(_reciprocal(""))


@pytest.mark.parametrize("text", ["1:7", "<1:32", "haemolysed"])
def test_text_the_titre_rule_refuses_is_not_read_as_a_number(text: str) -> None:
    # formerly 7.0, 32.0 (a positive titre from a "less than") and NaN (silently not drawn)
    with pytest.raises(InputError):
        _reciprocal(text)


def _drawn(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The matplotlib figures the report draws (captured instead of written as SVG)."""
    captured: list[Any] = []
    monkeypatch.setattr(figures, "_svg", lambda fig: captured.append(fig) or "")
    return captured


def test_the_figure_draws_ct005s_negative_day_182_at_the_floor(
    snapshot: StudySnapshot, analysis: Analysis, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = _drawn(monkeypatch)
    assert figures.aqp4_figure(analysis, snapshot.tables) is not None
    ax = drawn[0].axes[0]
    # CT-005: 1:32 at baseline (day -7), negative at day 182 (pd_samples.csv); one line per subject, in order
    subjects = sorted(set(snapshot.tables["pd_samples"]["subject_id"].astype(str)))
    line = ax.get_lines()[subjects.index("CT-005")]
    points = dict(zip(line.get_xdata(), line.get_ydata(), strict=True))
    assert points[182.0] == 1.0
    assert points[min(points)] == 32.0
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "neg" and "1:10" in labels
