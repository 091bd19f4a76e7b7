"""The AQP4-IgG figure draws a negative titre at its floor, never drops it or reads "<1:10" as 1:10
(D-19.626).

The figure read each titre's reciprocal dilution with a text split: "negative" (the engine's index 0, below
the first dilution 1:10, docs/science/neuro-outcomes.md §6) was no number and its sample was dropped, so a
patient whose titre fell to negative — the best PD response, e.g. the example's CT-005, 1:32 at baseline,
negative at day 182 (src/cartrial/examples/ct103a-nmosd/study/pd_samples.csv) — ended its curve at the last
positive titre; "<1:10", also negative, was drawn at 10, the same as a positive 1:10.

Expected by the titre rule (`cartrial.neuro.parse_titre_step`): negative and "<1:10" → 0 (drawn at the
figure's floor, 1, below 1:10); 1:320 → 320; "1:7" (not a dilution of the series) is still read as 7.
"""

from __future__ import annotations

import math

from cartrial.report.figures import _reciprocal


def test_a_negative_titre_is_drawn_at_the_floor() -> None:
    assert _reciprocal("negative") == 0.0
    assert _reciprocal("<1:10") == 0.0
    assert _reciprocal("Negative") == 0.0


def test_positive_titres_are_unchanged() -> None:
    assert _reciprocal("1:320") == 320.0
    assert _reciprocal(">=1:1000") == 1000.0
    assert _reciprocal("1:7") == 7.0
    assert math.isnan(_reciprocal(""))
    assert math.isnan(_reciprocal("haemolysed"))
